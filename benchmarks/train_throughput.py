# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Training throughput (tokens/s of a full optimizer step) of the four training methods, side by side.

Methods (benchmarks/common.py): slim (sublinear.loss_and_grad) at several chunk sizes C, autodiff
(plain autodiff of the whole-sequence prefix-sum model), scan_ckpt (lax.scan + jax.checkpoint
over chunks, no subtraction) at the same C, and softmax (the softmax twin, softmax_attention.causal_softmax).

A step is loss_and_grad + an optax AdamW update, jitted with the train state donated, as the
trainer runs it. Each point: compile ahead of time (XLA's memory estimate decides whether it
runs: over --max_gib it is skipped), one warm-up step (not timed), then the median of
--steps timed steps (block_until_ready on each; --slow_steps where the warm-up took more than
--slow_s); a step whose warm-up took more than --max_step_s is reported from that single step
and not repeated. The timed steps of one setting's points are taken in turns (one step of each
point, then the next round), so that other processes' load falls on every method alike. Same model and data (random
bases, fixed seed) for every method of a setting.

Settings:
  ptb       the reference PTB preset: L=1024, D=512, 3 layers, 8 heads, d_ff=2048
  enwik8    the reference enwik8 preset: L=4096, D=1024, 3 layers, 16 heads, d_ff=4096
  small     D=256, 3 layers, 4 heads, d_ff=1024 (benchmarks/memory.py's model) at L = 1k .. 64k
  configs   (only when named) the trainer's own step (training/train.py, what `python -m genome_transformer.main`
            runs: batch and L of the config, its optimizer and matmul precision) of each config in
            --configs (default common.RELEASE_CANDIDATES), before and after: the "before" is the package at commit
            --before (extracted with git archive) on one CPU device, the "after" this checkout's on one device and
            with the host's CPU split into --cpu_devices devices that share the batch (main.py --cpu_devices; 1
            leaves it out), each in a worker process holding its compiled step; they take their steps in turns.
            Writes --configs_out; docs/speed.md has the table.
Methods that need more than --max_gib (autodiff and softmax at long L) or a step over
--max_step_s (softmax at enwik8) are skipped or timed once; the table says which.
All batch 1, sqr feature map (M = d = 64), float32.

  python -m benchmarks.train_throughput            # everything (~15 min on 2 CPU cores)
  python -m benchmarks.train_throughput --quick    # PTB-like at C=256 and small at 4k, 16k (~2 min)
  python -m benchmarks.train_throughput --settings=configs   # before/after of the release candidates (~10 min)
Writes benchmarks/results/train_throughput.json and .png; prints a table and the ratios.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags
import jax
import optax

from benchmarks import common
from genome_transformer.training import train

_QUICK = flags.DEFINE_bool("quick", False, "A few-minute subset.")
_SETTINGS = flags.DEFINE_list("settings", [], "Run only these settings (ptb, enwik8, small); default all.")
_METHODS = flags.DEFINE_list("methods", [], "Run only these methods; default all.")
_LENGTHS = flags.DEFINE_list("lengths", [], "Run only these L; default all.")
_STEPS = flags.DEFINE_integer("steps", 3, "Timed steps per point (the median is reported).")
_SLOW_STEPS = flags.DEFINE_integer("slow_steps", 2, "Timed steps where the warm-up step took over --slow_s.")
_SLOW_S = flags.DEFINE_float("slow_s", 10.0, "A step slower than this is timed --slow_steps times.")
_MAX_STEP_S = flags.DEFINE_float("max_step_s", 60.0, "A step slower than this is timed once, not repeated.")
_MAX_GIB = flags.DEFINE_float("max_gib", 16.0, "Skip points whose compiled memory estimate exceeds this.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/train_throughput.json", "JSON path (the PNG goes beside it).")
_BEFORE = flags.DEFINE_string("before", "8eb166f", "--settings=configs: the commit whose package is 'before'.")
_CONFIGS = flags.DEFINE_list(
  "configs", list(common.RELEASE_CANDIDATES), "--settings=configs: config files, each optionally :VARIANT."
)
_CONFIG_STEPS = flags.DEFINE_integer("config_steps", 7, "--settings=configs: timed steps per config and version.")
_CONFIGS_OUT = flags.DEFINE_string(
  "configs_out", "benchmarks/results/train_throughput_configs.json", "--settings=configs: JSON path."
)
_CPU_DEVICES = flags.DEFINE_integer(
  "cpu_devices", 2, "--settings=configs: the CPU devices of the split 'after' run (1: no split run)."
)
_PLOT_ONLY = flags.DEFINE_bool("plot_only", False, "Redraw the PNG from an existing --out JSON; run nothing.")

SMALL = dict(d_model=256, num_layers=3, num_heads=4, d_ff=1024)


def settings(quick: bool):
  """[(setting, L, model dims, chunk sizes, methods or None for all)]; the presets' chunk sizes are
  the reference's (PTB: full, 512, 256; enwik8: full, 2048, 1366), full being autodiff."""
  ptb = dict(d_model=512, num_layers=3, num_heads=8, d_ff=2048)
  if quick:
    return [
      ("ptb", 1024, ptb, (256,), None),
      ("small", 4096, SMALL, (1024,), None),
      ("small", 16384, SMALL, (1024,), ("slim", "scan_ckpt")),
    ]
  return [
    ("ptb", 1024, ptb, (512, 256, 128), None),
    ("enwik8", 4096, dict(d_model=1024, num_layers=3, num_heads=16, d_ff=4096), (2048, 1366), None),
    ("small", 1024, SMALL, (256,), None),
    ("small", 4096, SMALL, (1024, 256), None),
    ("small", 16384, SMALL, (1024, 256), None),
    ("small", 65536, SMALL, (1024,), None),
  ]


def prepare(method: str, length: int, dims: dict, chunk_size: int) -> dict:
  """Compiles one point and runs its warm-up step: a row, and the point's live state under "_run"."""
  model = common.make_model(method, **dims)
  tx = optax.adamw(1e-4)
  state = common.train_state(model, tx)
  tokens_BL = jax.random.randint(jax.random.PRNGKey(1), (1, length), 0, 4)
  step = common.make_train_step(model, tx, common.loss_and_grad_fn(method, model, chunk_size))
  row = dict(
    method=method,
    length=length,
    chunk_size=chunk_size if method in common.CHUNKED else None,
    num_params=common.num_params(state.params),
    tokens_per_s=None,
    step_s=None,
    step_times_s=[],
  )
  start = time.perf_counter()
  compiled = step.lower(state, tokens_BL).compile()
  row["compile_s"] = time.perf_counter() - start
  row["compiled_bytes"] = train.compiled_memory(compiled)
  if row["compiled_bytes"]["total"] > _MAX_GIB.value * 2**30:
    row["note"] = f"not run: needs {row['compiled_bytes']['total'] / 2**30:.1f} GiB > {_MAX_GIB.value:g}"
    return row
  start = time.perf_counter()
  state, metrics = compiled(state, tokens_BL)
  jax.block_until_ready(state)
  row["warmup_s"] = time.perf_counter() - start
  row["loss"] = float(metrics["loss"])
  if row["warmup_s"] > _MAX_STEP_S.value:
    row["step_times_s"] = [row["warmup_s"]]
    row["note"] = f"timed once: a step takes {row['warmup_s']:.0f} s > {_MAX_STEP_S.value:g}"
  else:
    row["steps"] = _SLOW_STEPS.value if row["warmup_s"] > _SLOW_S.value else _STEPS.value
    row["note"] = f"median of {row['steps']}"
    row["_run"] = [compiled, state, tokens_BL]
  return row


def time_round_robin(rows) -> None:
  """Timed steps taken in turns across the points of one setting (one step of each, then again),
  so that load from other processes on the machine falls on every method alike."""
  live = [r for r in rows if "_run" in r]
  for i in range(max((r["steps"] for r in live), default=0)):
    for r in live:
      if i >= r["steps"]:
        continue
      compiled, state, tokens_BL = r["_run"]
      start = time.perf_counter()
      state, _ = compiled(state, tokens_BL)
      jax.block_until_ready(state)
      r["step_times_s"].append(time.perf_counter() - start)
      r["_run"][1] = state
  for r in rows:
    r.pop("_run", None)


def finish(row: dict, dims: dict) -> dict:
  if not row["step_times_s"]:
    return row
  row["step_s"] = statistics.median(row["step_times_s"])
  row["tokens_per_s"] = row["length"] / row["step_s"]
  # Model FLOP/s counts 6 N per token (N the matmul parameters, the usual MFU numerator): the
  # same work for every method, so it is tokens/s rescaled, comparable across model sizes.
  matmul_params = row["num_params"] - dims["d_model"] // 2 * 8
  row["model_gflop_per_s"] = 6 * matmul_params * row["tokens_per_s"] / 1e9
  return row


def ratios(rows):
  """slim step time / autodiff and / scan_ckpt at the same setting, L and C (> 1: slim is slower)."""
  out = []
  for r in rows:
    if r["method"] != "slim" or not r["step_s"]:
      continue
    same = lambda m, c=None: next(
      (
        x
        for x in rows
        if x["setting"] == r["setting"]
        and x["length"] == r["length"]
        and x["method"] == m
        and x["chunk_size"] == c
        and x["step_s"]
      ),
      None,
    )
    auto, ckpt = same("autodiff"), same("scan_ckpt", r["chunk_size"])
    out.append(
      dict(
        setting=r["setting"],
        length=r["length"],
        chunk_size=r["chunk_size"],
        slim_over_autodiff=r["step_s"] / auto["step_s"] if auto else None,
        slim_over_scan_ckpt=r["step_s"] / ckpt["step_s"] if ckpt else None,
      )
    )
  return out


def plot(rows, path: str) -> None:
  plt = common.pyplot()
  fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.5))
  small = [r for r in rows if r["setting"] == "small" and r["tokens_per_s"]]
  series = sorted({(r["method"], r["chunk_size"]) for r in small}, key=lambda s: (s[0], s[1] or 0))
  styles = dict(slim="-o", scan_ckpt="--s", autodiff="-^", softmax="-v")
  for method, chunk in series:
    pts = sorted((r["length"], r["tokens_per_s"]) for r in small if (r["method"], r["chunk_size"]) == (method, chunk))
    label = method if chunk is None else f"{method} C={chunk}"
    ax.plot(*zip(*pts), styles[method], label=label)
  ax.set_xscale("log", base=2)
  ax.set_yscale("log")
  ax.set_xlabel("sequence length L")
  ax.set_ylabel("tokens / s (full AdamW step)")
  ax.set_title("D=256, 3 layers, d_ff=1024, H=4, sqr, batch 1")
  ax.grid(True, which="both", alpha=0.3)
  if series:
    ax.legend(fontsize=7)
  presets = [r for r in rows if r["setting"] in ("ptb", "enwik8") and r["tokens_per_s"]]
  labels = [f"{r['setting']}\n{r['method']}" + (f"\nC={r['chunk_size']}" if r["chunk_size"] else "") for r in presets]
  colors = dict(slim="C0", scan_ckpt="C1", autodiff="C2", softmax="C3")
  bx.bar(range(len(presets)), [r["tokens_per_s"] for r in presets], color=[colors[r["method"]] for r in presets])
  bx.set_xticks(range(len(presets)), labels, fontsize=6, rotation=90)
  bx.set_ylabel("tokens / s")
  bx.set_yscale("log")
  bx.set_title("reference presets: PTB-like (L=1024, D=512), enwik8-like (L=4096, D=1024)", fontsize=9)
  bx.grid(True, axis="y", which="both", alpha=0.3)
  common.save_figure(fig, path)


# A worker: builds one config's training step as training/train.py does, with whichever package its
# PYTHONPATH holds, runs one warm-up step, then one timed step per line read. argv: config file[:variant],
# the tree the config file is read from (the version's own configs: they build on its package).
WORKER = r"""
import importlib.util, json, os, sys, time
import jax, jax.numpy as jnp
from genome_transformer.model import performer as model_lib
from genome_transformer.training import train
import numpy as np
path, _, variant = sys.argv[1].partition(":")
spec = importlib.util.spec_from_file_location("config", os.path.join(sys.argv[2], path))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
config = module.get_config(variant) if variant else module.get_config()
model = model_lib.SLiMPerformer(config.model)
tx = train.make_optimizer(config.train)
key = jax.random.PRNGKey(config.seed)  # As train.init_params of either version: same shapes, same draw.
params = model.init({"params": key, "features": key}, jnp.zeros((1, 16), jnp.int32))["params"]
# As training/train.py: the state replicated and the batch sharded over a "data" mesh of every device.
mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("data",))
replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
state = jax.device_put(train.TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params)), replicated)
shape = (config.train.batch_size, config.data.window_length)
tokens = jax.random.randint(jax.random.PRNGKey(1), shape, 0, 4).astype(jnp.uint8)
tokens = jax.device_put(tokens, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data")))
rng = jax.device_put(jax.random.PRNGKey(2), replicated)
start = time.perf_counter()
with jax.default_matmul_precision(config.train.matmul_precision):
  # The mesh only where it is split: the "before" package, always on one device, has no mesh argument.
  split = dict(mesh=mesh) if jax.device_count() > 1 else {}
  step = jax.jit(
    train.make_train_step(model, tx, config, **split), donate_argnums=0, out_shardings=(replicated, replicated)
  ).lower(state, tokens, rng).compile()
compile_s = time.perf_counter() - start
state, metrics = jax.block_until_ready(step(state, tokens, rng))
print(json.dumps(dict(
  package=os.path.dirname(os.path.dirname(train.__file__)), compile_s=compile_s, loss=float(metrics["loss"]),
  grad_norm=float(metrics["grad_norm"]), num_params=sum(int(x.size) for x in jax.tree.leaves(params)),
  tokens_per_step=tokens.size, devices=jax.device_count(),
)), flush=True)
for _ in sys.stdin:
  start = time.perf_counter()
  state, metrics = jax.block_until_ready(step(state, tokens, rng))
  print(json.dumps(dict(step_s=time.perf_counter() - start)), flush=True)
"""


def start_worker(package_root: str, config_arg: str, cpu_devices: int = 1) -> subprocess.Popen:
  env = dict(os.environ, PYTHONPATH=package_root, JAX_NUM_CPU_DEVICES=str(cpu_devices))
  return subprocess.Popen(
    [sys.executable, "-c", WORKER, config_arg, package_root],
    cwd=package_root,
    env=env,
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    text=True,
  )


def read_reply(worker: subprocess.Popen, what: str) -> dict:
  line = worker.stdout.readline()
  if not line:
    raise RuntimeError(f"the {what} worker exited (code {worker.wait()}); its stderr is above.")
  return json.loads(line)


def time_configs_side_by_side(versions: dict) -> list:
  """Per config: one worker per version {name: (package root, CPU devices)}, compiled and warmed up, then
  --config_steps steps each, in turns. Each later version's speedup is its tokens/s over the first's."""
  first, *later = list(versions)
  columns = "".join(f" {name:>16}" for name in versions) + "".join(f" {'x ' + name:>18}" for name in later)
  print(f"{'config':>72}{columns} {'first-step losses':>18}")
  rows = []
  for config_arg in _CONFIGS.value:
    workers = {name: start_worker(root, config_arg, devices) for name, (root, devices) in versions.items()}
    try:
      info = {name: read_reply(w, name) for name, w in workers.items()}
      times = {name: [] for name in workers}
      for _ in range(_CONFIG_STEPS.value):
        for name, w in workers.items():
          w.stdin.write("step\n")
          w.stdin.flush()
          times[name].append(read_reply(w, name)["step_s"])
    finally:
      for w in workers.values():
        w.stdin.close()
        w.wait()
    row = dict(config=config_arg, num_params=info[first]["num_params"])
    for name in workers:
      step_s = statistics.median(times[name])
      row[name] = dict(
        info[name], step_s=step_s, step_times_s=times[name], tokens_per_s=info[name]["tokens_per_step"] / step_s
      )
    row["speedup"] = {name: row[name]["tokens_per_s"] / row[first]["tokens_per_s"] for name in later}
    rows.append(row)
    losses = " / ".join(f"{row[name]['loss']:.6f}" for name in versions)
    print(
      f"{config_arg:>72}"
      + "".join(f" {row[name]['tokens_per_s']:>16.0f}" for name in versions)
      + "".join(f" {row['speedup'][name]:>18.2f}" for name in later)
      + f" {losses}",
      flush=True,
    )
  return rows


def run_configs_setting() -> None:
  """The package at --before against this checkout, on one CPU device and on --cpu_devices, each worker
  sharding the batch as the trainer does."""
  load_before = os.getloadavg()
  split = _CPU_DEVICES.value
  print(
    f"device {jax.devices()[0].platform}, {os.cpu_count()} CPUs (load average {load_before[0]:.1f}); the trainer's "
    f"step, tokens/s (median of {_CONFIG_STEPS.value}); before = commit {_BEFORE.value} on 1 CPU device, after = "
    f"this checkout on 1" + (f" and on {split}" if split > 1 else "")
  )
  with tempfile.TemporaryDirectory() as before_root:
    archive = subprocess.run(
      ["git", "archive", "--format=tar", _BEFORE.value, "genome_transformer", "configs"],
      cwd=common.REPO,
      capture_output=True,
      check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", before_root], input=archive, check=True)
    versions = dict(before=(before_root, 1), after=(common.REPO, 1))
    if split > 1:
      versions[f"after_{split}_devices"] = (common.REPO, split)
    rows = time_configs_side_by_side(versions)
  result = dict(
    device=str(jax.devices()[0]),
    cpu_count=os.cpu_count(),
    load_average=[load_before, os.getloadavg()],
    steps=_CONFIG_STEPS.value,
    before_commit=_BEFORE.value,
    cpu_devices=split,
    rows=rows,
  )
  common.write_json(_CONFIGS_OUT.value, result)
  print(f"wrote {_CONFIGS_OUT.value}")


def main(argv):
  del argv
  if "configs" in _SETTINGS.value:
    run_configs_setting()
  if _SETTINGS.value == ["configs"]:
    return
  png = os.path.splitext(_OUT.value)[0] + ".png"
  if _PLOT_ONLY.value:
    with open(_OUT.value) as f:
      plot(json.load(f)["rows"], png)
    print(f"wrote {png}")
    return
  methods = _METHODS.value or list(common.METHODS)
  rows = []
  load_before = os.getloadavg()
  print(
    f"device {jax.devices()[0].platform}, {os.cpu_count()} CPUs (load average {load_before[0]:.1f}); "
    "batch 1, sqr, float32, AdamW step"
  )
  header = (
    f"{'setting':>8} {'L':>6} {'method':>10} {'C':>5} {'tokens/s':>9} {'step s':>7} {'GFLOP/s':>8} "
    f"{'GiB':>6} {'compile':>7}  note"
  )
  print(header)
  for setting, length, dims, chunks, only in settings(_QUICK.value):
    if (_SETTINGS.value and setting not in _SETTINGS.value) or (_LENGTHS.value and str(length) not in _LENGTHS.value):
      continue
    points = [(m, c) for m in methods if not only or m in only for c in (chunks if m in common.CHUNKED else (None,))]
    setting_rows = [
      dict(setting=setting, dims=dims, **prepare(method, length, dims, chunk or length)) for method, chunk in points
    ]
    time_round_robin(setting_rows)
    for row in setting_rows:
      rows.append(finish(row, dims))
      fmt = lambda v, spec: "-" if v is None else format(v, spec)
      print(
        f"{setting:>8} {length:>6} {row['method']:>10} {fmt(row['chunk_size'], 'd'):>5} "
        f"{fmt(row['tokens_per_s'], '.0f'):>9} {fmt(row['step_s'], '.3f'):>7} "
        f"{fmt(row.get('model_gflop_per_s'), '.1f'):>8} {row['compiled_bytes']['total'] / 2**30:>6.2f} "
        f"{row['compile_s']:>7.1f}  {row['note']}",
        flush=True,
      )
  summary = ratios(rows)
  print("\nslim step time over autodiff's and over scan_ckpt's at the same C (1.00 = same speed)")
  print(f"{'setting':>8} {'L':>6} {'C':>5} {'/autodiff':>10} {'/scan_ckpt':>11}")
  for s in summary:
    fmt = lambda v: "-" if v is None else f"{v:.2f}"
    print(
      f"{s['setting']:>8} {s['length']:>6} {s['chunk_size']:>5} {fmt(s['slim_over_autodiff']):>10} "
      f"{fmt(s['slim_over_scan_ckpt']):>11}"
    )
  # Other processes on the machine slow every method alike; the load average says how busy it was.
  result = dict(
    device=str(jax.devices()[0]),
    cpu_count=os.cpu_count(),
    load_average=[load_before, os.getloadavg()],
    quick=_QUICK.value,
    steps=_STEPS.value,
    max_step_s=_MAX_STEP_S.value,
    max_gib=_MAX_GIB.value,
    rows=rows,
    ratios=summary,
  )
  common.write_json(_OUT.value, result)
  plot(rows, png)
  print(f"wrote {_OUT.value} and {png}")


if __name__ == "__main__":
  app.run(main)
