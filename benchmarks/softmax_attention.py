# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The softmax twin's attention, forward and backward: the model's causal_softmax against jax.nn's.

`softmax_attention.causal_softmax` (query blocks, each scored against the keys up to it) replaced
`jax.nn.dot_product_attention(..., is_causal=True)` in the softmax models. This times both, jitted,
on the same random q, k, v: the value and gradient of sum(out^2) with respect to q, k and v, which is
what one layer's attention costs in a training step. The shapes are the ablation's twins (batch 8,
L = 1024, D = 128 split into 2 to 16 heads). Timed steps are taken in turns (one call of each, then
again), so load from other processes falls on both alike; the table gives the median seconds, the
ratio, and the largest difference of the gradients relative to their largest entry.

  python -m benchmarks.softmax_attention                 # heads 2, 4, 8, 16 (~2 min on 2 CPU cores)
  python -m benchmarks.softmax_attention --heads=16 --steps=3
Writes benchmarks/results/softmax_attention.json.
"""

import statistics
import time

from absl import app, flags
import jax
import jax.numpy as jnp

from benchmarks import common
from genome_transformer.model import softmax_attention

_HEADS = flags.DEFINE_list("heads", ["2", "4", "8", "16"], "Head counts; each head has d = width / heads.")
_WIDTH = flags.DEFINE_integer("width", 128, "Model width D (configs/ablation.py's).")
_LENGTH = flags.DEFINE_integer("length", 1024, "Sequence length L.")
_BATCH = flags.DEFINE_integer("batch", 8, "Batch size.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed calls per implementation (the median is reported).")
_OUT = flags.DEFINE_string("out", "benchmarks/results/softmax_attention.json", "JSON path.")

IMPLEMENTATIONS = {
  "jax.nn.dot_product_attention": lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=True),
  "softmax_attention.causal_softmax": softmax_attention.causal_softmax,
}


def value_and_grads(implementation):
  return jax.jit(jax.value_and_grad(lambda q, k, v: jnp.sum(implementation(q, k, v) ** 2), argnums=(0, 1, 2)))


def measure(heads: int) -> dict:
  head_dim = _WIDTH.value // heads
  keys = jax.random.split(jax.random.PRNGKey(heads), 3)
  q, k, v = (jax.random.normal(key, (_BATCH.value, _LENGTH.value, heads, head_dim)) for key in keys)
  functions = {name: value_and_grads(f) for name, f in IMPLEMENTATIONS.items()}
  results = {name: jax.block_until_ready(f(q, k, v)) for name, f in functions.items()}  # Compile and warm up.
  times = {name: [] for name in functions}
  for _ in range(_STEPS.value):
    for name, f in functions.items():
      start = time.perf_counter()
      jax.block_until_ready(f(q, k, v))
      times[name].append(time.perf_counter() - start)
  (_, library_grads), (_, own_grads) = results.values()
  difference = max(
    float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b))) for a, b in zip(own_grads, library_grads, strict=True)
  )
  seconds = {name: statistics.median(t) for name, t in times.items()}
  library, own = seconds.values()
  return dict(
    heads=heads, head_dim=head_dim, seconds=seconds, speedup=library / own, max_relative_difference=difference
  )


def main(argv):
  del argv
  rows = []
  print(f"B = {_BATCH.value}, L = {_LENGTH.value}, D = {_WIDTH.value}; seconds per value-and-gradient call (median)")
  print(f"{'heads':>5s} {'d':>3s} {'jax.nn':>8s} {'blocks':>8s} {'ratio':>6s} {'grad diff':>10s}")
  for heads in map(int, _HEADS.value):
    if _WIDTH.value % heads:
      raise ValueError(f"--heads={heads} does not divide --width={_WIDTH.value}; give head counts that divide it.")
    row = measure(heads)
    rows.append(row)
    library, own = row["seconds"].values()
    print(
      f"{heads:5d} {row['head_dim']:3d} {library:8.3f} {own:8.3f} {row['speedup']:6.2f} "
      f"{row['max_relative_difference']:10.1e}",
      flush=True,
    )
  common.write_json(
    _OUT.value,
    dict(batch=_BATCH.value, length=_LENGTH.value, width=_WIDTH.value, steps=_STEPS.value, rows=rows),
  )


if __name__ == "__main__":
  app.run(main)
