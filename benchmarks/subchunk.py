# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The linear-attention chunk block's sub-chunk length c, timed for the heads the configs use.

`linear_attention.causal_linear_attention_block` splits a chunk into sub-chunks of SUBCHUNK rows: masked
products within them, carried states across them. A smaller c cuts the multiply-adds of small heads (the
sixteen-head model's M = 48, d = 8) but makes the batched matmuls smaller. This times one layer's block,
value and gradient with respect to every input, jitted, for each c in turns (one call of each, then again,
so load falls on all alike), and prints the median and the speed relative to the shipped SUBCHUNK.

  python -m benchmarks.subchunk               # ~2 min on 2 CPU cores
Writes benchmarks/results/subchunk.json.
"""

import statistics
import time

from absl import app, flags
import jax
import jax.numpy as jnp

from benchmarks import common
from genome_transformer.model import linear_attention

_SUBCHUNKS = flags.DEFINE_list("subchunks", ["16", "32", "64", "128"], "Sub-chunk lengths c to time.")
_CHUNK = flags.DEFINE_integer("chunk", 256, "Chunk length C (the configs' train.chunk_size).")
_BATCH = flags.DEFINE_integer("batch", 8, "Batch size.")
_STEPS = flags.DEFINE_integer("steps", 15, "Timed calls per sub-chunk length (the median is reported).")
_OUT = flags.DEFINE_string("out", "benchmarks/results/subchunk.json", "JSON path.")

# (heads H, features M, head width d) of the linear heads of the configs in question.
SHAPES = {
  "16heads: 14 linear heads, M=48, d=8": (14, 48, 8),
  "faithful: 2 heads, M=d=64": (2, 64, 64),
}


def _compiled(heads: int, features: int, head_dim: int, subchunk: int):
  """The jitted value and gradient of one block, traced with SUBCHUNK = subchunk, and its inputs."""
  shipped = linear_attention.SUBCHUNK
  linear_attention.SUBCHUNK = subchunk  # Read at trace time: set for this trace only.
  try:

    def loss(q, k, v, s, z):
      out, (s1, z1) = linear_attention.causal_linear_attention_block(q, k, v, (s, z))
      return jnp.sum(out * out) + jnp.sum(s1) + jnp.sum(z1)

    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    shape = (_BATCH.value, _CHUNK.value, heads)
    args = (
      jax.random.uniform(keys[0], shape + (features,)),
      jax.random.uniform(keys[1], shape + (features,)),
      jax.random.normal(keys[2], shape + (head_dim,)),
      jnp.zeros((_BATCH.value, heads, features, head_dim)),
      jnp.ones((_BATCH.value, heads, features)),
    )
    fn = jax.jit(jax.value_and_grad(loss, argnums=tuple(range(5)))).lower(*args).compile()
  finally:
    linear_attention.SUBCHUNK = shipped
  jax.block_until_ready(fn(*args))
  return fn, args


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  subchunks = [int(c) for c in _SUBCHUNKS.value]
  rows = []
  for name, (heads, features, head_dim) in SHAPES.items():
    compiled = {c: _compiled(heads, features, head_dim, c) for c in subchunks}
    seconds = {c: [] for c in subchunks}
    for _ in range(_STEPS.value):
      for c, (fn, args) in compiled.items():
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        seconds[c].append(time.perf_counter() - start)
    median = {c: statistics.median(s) for c, s in seconds.items()}
    base = median.get(linear_attention.SUBCHUNK, min(median.values()))
    row = {"shape": name, "heads": heads, "features": features, "head_dim": head_dim}
    row["ms"] = {str(c): 1e3 * m for c, m in median.items()}
    row["speed_vs_shipped"] = {str(c): base / m for c, m in median.items()}
    rows.append(row)
    cells = "  ".join(f"c={c}: {1e3 * m:6.2f} ms ({base / m:.2f}x)" for c, m in median.items())
    print(f"{name:<40} {cells}", flush=True)
  common.write_json(
    _OUT.value,
    {
      "chunk": _CHUNK.value,
      "batch": _BATCH.value,
      "steps": _STEPS.value,
      "shipped_subchunk": linear_attention.SUBCHUNK,
      "device": jax.devices()[0].device_kind,
      "rows": rows,
    },
  )


if __name__ == "__main__":
  app.run(main)
