# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Round-off of the SLiM gradient at long L: float32 against a float64 reference.

The sub-linear backward pass rebuilds each chunk's start state as end state minus the chunk's
contribution. In float32 every subtraction rounds at the scale of the end state, which grows
with L (with `sqr` all features are non-negative, so S and z grow linearly), while the early
chunks' states are small: the relative error of the rebuilt states, and so of the gradient,
grows with L. This script measures it on real DNA (E. coli, shipped with the package) for an
untrained 1-layer model:

  slim_f32       loss_and_grad in float32 (the default)
  scan_f32       plain autodiff of a checkpointed lax.scan in float32: no subtraction, the
                 float32 floor that any float32 method has
  slim_f32_s64   loss_and_grad with float32 model and float64 carried states (the remedy)

each as ||g - g64|| / ||g64|| over all parameters (global) and the worst single parameter
array, where g64 is loss_and_grad entirely in float64. Prints a table and writes JSON.

  python -m benchmarks.roundoff                       # L = 2^10 .. 2^20, about 10 min on 2 cores
  python -m benchmarks.roundoff --max_log2_len=14     # quick
"""

import os
import time

from absl import app, flags
import jax

jax.config.update("jax_enable_x64", True)  # The reference and the remedy need float64.

import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from benchmarks import common  # pylint: disable=g-import-not-at-top
from genome_transformer.genomics import files  # pylint: disable=g-import-not-at-top
from genome_transformer.model import losses, sublinear  # pylint: disable=g-import-not-at-top
from genome_transformer.model import performer as model_lib  # pylint: disable=g-import-not-at-top

_MIN = flags.DEFINE_integer("min_log2_len", 10, "Shortest sequence, log2.")
_MAX = flags.DEFINE_integer("max_log2_len", 20, "Longest sequence, log2.")
_STEP = flags.DEFINE_integer("log2_step", 2, "Step between lengths, in log2.")
_CHUNK = flags.DEFINE_integer("chunk_size", 1024, "C.")
_D = flags.DEFINE_integer("d_model", 32, "D (head size D / heads).")
_HEADS = flags.DEFINE_integer("num_heads", 2, "H.")
_LAYERS = flags.DEFINE_integer("num_layers", 1, "s.")
_FEATURES = flags.DEFINE_string("feature_map", "sqr", "phi.")
_SKIP_SCAN = flags.DEFINE_bool("skip_scan", False, "Skip the checkpointed-scan float32 floor.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/roundoff.json", "JSON output path.")

THRESHOLD = 1e-3


def relative_errors(grads, reference):
  diffs = [
    np.asarray(g, np.float64) - np.asarray(r) for g, r in zip(jax.tree.leaves(grads), jax.tree.leaves(reference))
  ]
  refs = [np.asarray(r) for r in jax.tree.leaves(reference)]
  total = np.sqrt(sum(float(np.sum(d * d)) for d in diffs) / sum(float(np.sum(r * r)) for r in refs))
  worst = max(float(np.linalg.norm(d)) / max(float(np.linalg.norm(r)), 1e-300) for d, r in zip(diffs, refs))
  return float(total), worst


def main(argv):
  del argv
  config = common.model_config("linear", _D.value, _LAYERS.value, _HEADS.value, 2 * _D.value, _FEATURES.value)
  model = model_lib.SLiMPerformer(config)
  lengths = [2**k for k in range(_MIN.value, _MAX.value + 1, _STEP.value)]
  bases = common.genome_tokens(max(lengths))
  params32 = jax.tree.map(lambda p: p.astype(jnp.float32), common.init_params(model))
  params64 = jax.tree.map(lambda p: p.astype(jnp.float64), params32)
  chunk = _CHUNK.value
  rng = jax.random.PRNGKey(1) if _FEATURES.value == "favor+" else None

  slim = jax.jit(sublinear.loss_and_grad, static_argnums=(0, 3, 5))
  scan = jax.jit(lambda p, t: jax.value_and_grad(lambda q: losses.checkpointed_scan_loss(model, q, t, chunk, rng))(p))
  rows = []
  header = f"{'L':>9} {'chunks':>6} {'loss':>8} {'slim_f32':>10} {'scan_f32':>10} {'slim_f32_s64':>12} {'worst_leaf_f32':>14} {'sec':>6}"
  print(
    f"feature_map={_FEATURES.value} D={_D.value} H={_HEADS.value} layers={_LAYERS.value} C={chunk}; "
    "relative gradient error ||g - g64|| / ||g64||"
  )
  print(header)
  for length in lengths:
    start = time.time()
    tokens = jnp.asarray(bases[:length].reshape(1, length), jnp.int32)
    loss64, g64 = slim(model, params64, tokens, chunk, rng, None)
    _, g32 = slim(model, params32, tokens, chunk, rng, None)
    assert jax.tree.leaves(g32)[0].dtype == jnp.float32
    _, g_remedy = slim(model, params32, tokens, chunk, rng, jnp.float64)
    slim_err, slim_worst = relative_errors(g32, g64)
    remedy_err, remedy_worst = relative_errors(g_remedy, g64)
    scan_err = scan_worst = None
    if not _SKIP_SCAN.value:
      _, g_scan = scan(params32, tokens)
      scan_err, scan_worst = relative_errors(g_scan, g64)
    row = dict(
      length=length,
      num_chunks=-(-length // chunk),
      loss_nats=float(loss64),
      slim_f32=slim_err,
      slim_f32_worst_leaf=slim_worst,
      scan_f32=scan_err,
      scan_f32_worst_leaf=scan_worst,
      slim_f32_states_f64=remedy_err,
      slim_f32_states_f64_worst_leaf=remedy_worst,
      seconds=time.time() - start,
    )
    rows.append(row)
    fmt = lambda x: "-" if x is None else f"{x:.2e}"
    print(
      f"{length:>9} {row['num_chunks']:>6} {row['loss_nats']:>8.4f} {fmt(slim_err):>10} {fmt(scan_err):>10} "
      f"{fmt(remedy_err):>12} {fmt(slim_worst):>14} {row['seconds']:>6.1f}",
      flush=True,
    )
  worst = max(r["slim_f32"] for r in rows)
  verdict = (
    f"float32 SLiM worst relative gradient error {worst:.2e} "
    f"{'exceeds' if worst > THRESHOLD else 'stays within'} {THRESHOLD:g}"
  )
  print(verdict)
  os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
  result = dict(
    config=config.to_dict(),
    chunk_size=chunk,
    threshold=THRESHOLD,
    device=str(jax.devices()[0]),
    genome="E. coli K-12 MG1655 (shipped), first L bases",
    rows=rows,
    verdict=verdict,
  )
  files.write_json_atomic(_OUT.value, result, indent=1)
  print(f"wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
