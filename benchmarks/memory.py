# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Peak memory of one training step against sequence length L, the ways of benchmarks/common.py
(slim, autodiff, scan_ckpt, softmax, and slim_local: the SLiM step of the model with the local-mixing additions).

"compiled" is XLA's own account of the compiled step (`.memory_analysis()`: temporaries +
arguments + outputs - aliased), obtained by compiling against abstract inputs, nothing run,
so it is available at every L. "rss" is the growth of the resident memory of a subprocess that
compiles and then runs the step once: its peak during the step (the peak is reset after compiling)
minus its RSS before the step, only where the compiled estimate is small enough to run on this
machine in reasonable time.

  python -m benchmarks.memory                 # L = 2^10 .. 2^20 (step 2^2); RSS up to 2^18 for the
                                              # chunked methods, 2^14 for the others (~20 min, 2 cores)
  python -m benchmarks.memory --log2_step=1   # every power of two
  python -m benchmarks.memory --methods=slim,slim_local --min_log2_len=12 --out=/tmp/memory_local.json
Writes benchmarks/results/memory.json and memory.png.
"""

import json
import os
import subprocess
import sys
import time

from absl import app, flags
import jax
import jax.numpy as jnp
import ml_collections

from benchmarks import common
from genome_transformer.training import train

_MIN = flags.DEFINE_integer("min_log2_len", 10, "Shortest L, log2.")
_MAX = flags.DEFINE_integer("max_log2_len", 20, "Longest L, log2.")
_STEP = flags.DEFINE_integer("log2_step", 2, "Step between lengths, log2.")
_CHUNK = flags.DEFINE_integer("chunk_size", 1024, "C for slim and scan_ckpt.")
_D = flags.DEFINE_integer("d_model", 256, "D.")
_HEADS = flags.DEFINE_integer("num_heads", 4, "H (d = D / H = M for sqr).")
_LAYERS = flags.DEFINE_integer("num_layers", 3, "s.")
_DFF = flags.DEFINE_integer("d_ff", 1024, "FFN width.")
_RSS_MAX_LOG2 = flags.DEFINE_integer("rss_max_log2_len", 14, "Measure RSS up to this L (it runs the step).")
_CHUNKED_RSS_MAX_LOG2 = flags.DEFINE_integer(
  "chunked_rss_max_log2_len", 18, "The same for slim and scan_ckpt, whose steps fit at any L."
)
_RSS_MAX_BYTES = flags.DEFINE_float("rss_max_bytes", 4e9, "Skip RSS where the compiled estimate exceeds this.")
_RSS_TIMEOUT = flags.DEFINE_integer("rss_timeout_s", 300, "Give up on one RSS point after this long.")
_METHODS = flags.DEFINE_list("methods", list(common.METHODS), "Which of common.METHODS to measure.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/memory.json", "JSON path (the PNG goes beside it).")
_POINT = flags.DEFINE_string("rss_point", "", "Internal: 'method,L' runs one step and prints its RSS.")

METHODS = common.METHODS


def model_config(attention: str) -> ml_collections.ConfigDict:
  return common.model_config(attention, _D.value, _LAYERS.value, _HEADS.value, _DFF.value)


def step_fn(method: str):
  """(model, fn(params, tokens_BL) -> (loss, grads)) for one method."""
  model = common.make_model(method, d_model=_D.value, num_layers=_LAYERS.value, num_heads=_HEADS.value, d_ff=_DFF.value)
  return model, common.loss_and_grad_fn(method, model, _CHUNK.value)


def abstract_inputs(model, length: int):
  return common.abstract_params(model), jax.ShapeDtypeStruct((1, length), jnp.int32)


def compiled_bytes(method: str, length: int) -> dict:
  model, fn = step_fn(method)
  params, tokens = abstract_inputs(model, length)
  start = time.time()
  result = train.compiled_memory(jax.jit(fn).lower(params, tokens).compile())
  return dict(result, tokens=4 * length, compile_s=time.time() - start)


def _status_bytes(field: str) -> int:
  with open("/proc/self/status") as f:
    line = next(line for line in f if line.startswith(field + ":"))
  return int(line.split()[1]) * 1024  # Reported in kB.


def _reset_peak_rss() -> bool:
  """Sets this process's peak RSS (VmHWM) back to its current RSS: Linux does so on writing 5 to clear_refs.

  Without the reset the peak after the step is a high-water mark since the process began, and the
  compiler's own peak, which can exceed the step's, hides the step's growth (it read as 0)."""
  try:
    with open("/proc/self/clear_refs", "w") as f:
      f.write("5")
  except OSError:
    return False
  return True


def run_point(method: str, length: int) -> None:
  """Subprocess body: compile, note RSS, run one step, print the peak RSS growth as JSON."""
  model, fn = step_fn(method)
  params = common.init_params(model)
  tokens = jax.random.randint(jax.random.PRNGKey(1), (1, length), 0, 4)
  compiled = jax.jit(fn).lower(params, tokens).compile()
  if _reset_peak_rss():
    before, peak = _status_bytes("VmRSS"), lambda: _status_bytes("VmHWM")
  else:  # No clear_refs (not Linux): the high-water mark since the start, which may hide the step's growth.
    before, peak = common.peak_rss_bytes(), common.peak_rss_bytes
  start = time.time()
  jax.block_until_ready(compiled(params, tokens))
  step_s = time.time() - start
  peak_rss = peak()
  print(json.dumps(dict(peak_rss=peak_rss, rss_before_step=before, step_rss=peak_rss - before, step_s=step_s)))


def measure_rss(method: str, length: int):
  cmd = [
    sys.executable,
    os.path.abspath(__file__),
    f"--rss_point={method},{length}",
    f"--chunk_size={_CHUNK.value}",
    f"--d_model={_D.value}",
    f"--num_heads={_HEADS.value}",
    f"--num_layers={_LAYERS.value}",
    f"--d_ff={_DFF.value}",
  ]
  try:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=_RSS_TIMEOUT.value)
  except subprocess.TimeoutExpired:
    return None, f"timed out after {_RSS_TIMEOUT.value} s"
  if result.returncode != 0:
    return None, f"failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}"
  return json.loads(result.stdout.strip().splitlines()[-1]), ""


def plot(rows, path: str) -> None:
  plt = common.pyplot()
  fig, ax = plt.subplots(figsize=(7, 4.5))
  for method, color in zip(METHODS, ("C0", "C1", "C2", "C3", "C4")):
    pts = [(r["length"], r["compiled"]["total"] / 2**20) for r in rows if r["method"] == method]
    if not pts:
      continue
    ax.plot(*zip(*pts), "-o", color=color, label=f"{method} (compiled)")
    rss = [(r["length"], r["rss"]["step_rss"] / 2**20) for r in rows if r["method"] == method and r.get("rss")]
    if rss:
      ax.plot(*zip(*rss), "x", color=color, markersize=9, label=f"{method} (measured RSS)")
  ax.set_xscale("log", base=2)
  ax.set_yscale("log")
  ax.set_xlabel("sequence length L")
  ax.set_ylabel("peak memory of one training step (MiB)")
  ax.set_title(
    f"{_LAYERS.value} layers, D={_D.value}, d_ff={_DFF.value}, H={_HEADS.value}, sqr, C={_CHUNK.value}, batch 1"
  )
  ax.grid(True, which="both", alpha=0.3)
  ax.legend(fontsize=8)
  common.save_figure(fig, path)


def main(argv):
  del argv
  if _POINT.value:
    method, length = _POINT.value.split(",")
    run_point(method, int(length))
    return
  lengths = [2**k for k in range(_MIN.value, _MAX.value + 1, _STEP.value)]
  rows = []
  print(
    f"{_LAYERS.value} layers, D={_D.value}, d_ff={_DFF.value}, H={_HEADS.value}, sqr, C={_CHUNK.value}, "
    f"batch 1, device {jax.devices()[0].platform}; MiB"
  )
  print(f"{'method':>10} {'L':>8} {'compiled':>11} {'temp':>11} {'args':>8} {'rss_step':>9}  note")
  for method in _METHODS.value:
    for length in lengths:
      compiled = compiled_bytes(method, length)
      rss, note = None, ""
      chunked = method in common.CHUNKED
      if compiled["total"] > _RSS_MAX_BYTES.value:
        note = f"rss: not run (needs {compiled['total'] / 2**30:.1f} GiB)"
      elif length > 2 ** (_CHUNKED_RSS_MAX_LOG2.value if chunked else _RSS_MAX_LOG2.value):
        note = "rss: not run (too slow on this machine at this L)"
      else:
        rss, note = measure_rss(method, length)
        note = f"rss: {note}" if note else f"step {rss['step_s']:.1f} s"
      rows.append(dict(method=method, length=length, compiled=compiled, rss=rss, note=note))
      mib = lambda b: f"{b / 2**20:.1f}"
      print(
        f"{method:>10} {length:>8} {mib(compiled['total']):>11} {mib(compiled['temp']):>11} "
        f"{mib(compiled['argument']):>8} {mib(rss['step_rss']) if rss else '-':>9}  {note}",
        flush=True,
      )

  def total_without_tokens(method, length):
    row = next(r for r in rows if r["method"] == method and r["length"] == length)
    return row["compiled"]["total"] - row["compiled"]["tokens"]

  summary = {}
  lo, hi = max(2**12, lengths[0]), lengths[-1]
  for method in ("slim", "slim_local"):
    if lo in lengths and method in _METHODS.value:
      ratio = total_without_tokens(method, hi) / total_without_tokens(method, lo)
      summary[method] = dict(ratio=ratio, from_length=lo, to_length=hi, flat=ratio <= 1.5)
      print(
        f"{method} compiled peak (int32 tokens aside) grows {ratio:.3f}x from L={lo} to L={hi} "
        f"({'flat: within 1.5x' if ratio <= 1.5 else 'NOT flat'})"
      )
  result = dict(
    config=model_config("linear").to_dict(),
    local_mixing=common.LOCAL_MIXING,
    chunk_size=_CHUNK.value,
    batch_size=1,
    device=str(jax.devices()[0]),
    rows=rows,
    summary=summary,
  )
  common.write_json(_OUT.value, result)
  png = os.path.splitext(_OUT.value)[0] + ".png"
  plot(rows, png)
  print(f"wrote {_OUT.value} and {png}")


if __name__ == "__main__":
  app.run(main)
