# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Where a training step's time goes: the package's jitted train step of each config, profiled per op.

For each config (default: the release candidates with local mixing, their softmax twins and the faithful
bacterial release) this builds the step exactly as `python -m genome_transformer.main` does
(training/train.py: its optimizer, parameters, step function and matmul precision; batch and L from the
config), times --steps steps, then records --trace_steps more under jax.profiler and sums the time of
every XLA thunk (one executed op or fusion). Each thunk is attributed through its op_name (the compiled
HLO's metadata) to a piece of the model (the named scopes of the model's attention modules, the Dense layers of
model/performer.py) and to a pass: the forward scan, the forward recomputed under autodiff (jvp) or the
backward (transpose). Thunks on the two cores overlap, so the table scales each piece's share of the summed
thunk time to the untraced step time. The same run times a 1024^3 float32 matmul: the rate the step's
6 x parameters FLOPs per token is measured against.

  python -m benchmarks.profile_step                     # the five configs (~5 min on 2 CPU cores)
  python -m benchmarks.profile_step --configs=configs/release_bacteria.py
Writes benchmarks/results/profile_step.json; prints a table per config.
"""

import collections
import glob
import os
import re
import statistics
import tempfile
import time

from absl import app, flags
import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import common
from genome_transformer.model import performer as model_lib
from genome_transformer.training import train

_CONFIGS = flags.DEFINE_list("configs", list(common.RELEASE_CANDIDATES), "Config files, each optionally :VARIANT.")
_STEPS = flags.DEFINE_integer("steps", 3, "Untimed-profiler steps timed per config (the median is reported).")
_TRACE_STEPS = flags.DEFINE_integer("trace_steps", 2, "Steps recorded under the profiler per config.")
_TOP = flags.DEFINE_integer("top", 8, "Slowest single thunks listed per config.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/profile_step.json", "JSON path.")

# (piece, pattern in a thunk's op_name), first match wins: the named scopes of the attention modules before the
# performer modules that call them.
PIECES = (
  ("split_by_position", "split_by_position"),
  ("feature_map", "feature_map"),
  ("depthwise_conv", "causal_depthwise_conv"),
  ("window_softmax", "sliding_window_softmax"),
  ("causal_softmax", "causal_softmax"),
  ("linear_attention", "causal_linear_attention_"),
  ("state_delta", "state_delta"),
  ("qkv_dense", r"/(query|key|value)/"),
  ("ffn_dense", r"/ffn_(in|out)/"),
  ("head_dense", r"/head/"),
  ("layer_norm", r"/ln_(attention|ffn)/"),
  ("linear_attention_rest", "_linear_attention"),
  ("model_other", "SLiMPerformer"),
)


def load_config(config_arg: str):
  path, _, variant = config_arg.partition(":")
  module = common.load_config_module(path)
  return module.get_config(variant) if variant else module.get_config()


def piece_of(op_name: str) -> str:
  for piece, pattern in PIECES:
    if re.search(pattern, op_name):
      return piece
  return "loss_optimizer_other"


def pass_of(op_name: str) -> str:
  if "transpose(" in op_name:
    return "backward"
  if "jvp(" in op_name:
    return "forward_under_autodiff"
  return "forward"


def op_names(hlo_text: str) -> dict:
  """Instruction name -> op_name, for every instruction of the compiled module that carries one."""
  pattern = re.compile(r'^\s*(?:ROOT )?%?([\w.\-]+) = .*?metadata=\{[^}]*?op_name="([^"]*)"', re.M)
  return {m.group(1): m.group(2) for m in pattern.finditer(hlo_text)}


def thunk_times_ns(trace_dir: str, steps: int, instructions) -> collections.Counter:
  """Mean time per step of each XLA thunk (events named as an HLO instruction), summed over the threads."""
  (path,) = glob.glob(os.path.join(trace_dir, "**", "*.xplane.pb"), recursive=True)
  profile = jax.profiler.ProfileData.from_file(path)
  total = collections.Counter()
  for plane in profile.planes:
    if plane.name != "/host:CPU":
      continue
    for line in plane.lines:
      for event in line.events:
        if event.name in instructions:
          total[event.name] += event.duration_ns / steps
  return total


def matmul_gflop_per_s(size: int = 1024, repeats: int = 5) -> float:
  """This machine's float32 matmul rate now: the yardstick of the step's FLOP rate."""
  a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32)
  matmul = jax.jit(lambda x, y: x @ y)
  jax.block_until_ready(matmul(a, a))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(matmul(a, a))
    times.append(time.perf_counter() - start)
  return 2 * size**3 / statistics.median(times) / 1e9


def build_step(config):
  """The trainer's compiled step, a fresh train state, a batch of random bases and the step's rng."""
  model = model_lib.SLiMPerformer(config.model)
  tx = train.make_optimizer(config.train)
  params = train.init_params(model, jax.random.PRNGKey(config.seed), min(config.data.window_length, 16))
  state = train.TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))
  shape = (config.train.batch_size, config.data.window_length)
  tokens_BL = jax.random.randint(jax.random.PRNGKey(1), shape, 0, 4).astype(jnp.uint8)
  rng = jax.random.PRNGKey(2)
  step = jax.jit(train.make_train_step(model, tx, config), donate_argnums=0)
  with jax.default_matmul_precision(config.train.matmul_precision):
    compiled = step.lower(state, tokens_BL, rng).compile()
  return compiled, state, tokens_BL, rng


def profile_config(config_arg: str) -> dict:
  config = load_config(config_arg)
  compiled, state, tokens_BL, rng = build_step(config)
  run = lambda state: jax.block_until_ready(compiled(state, tokens_BL, rng))[0]
  state = run(state)  # Warm-up.
  rate_before = matmul_gflop_per_s()
  step_times = []
  for _ in range(_STEPS.value):
    start = time.perf_counter()
    state = run(state)
    step_times.append(time.perf_counter() - start)
  rate = statistics.median([rate_before, matmul_gflop_per_s()])
  with tempfile.TemporaryDirectory() as trace_dir:
    jax.profiler.start_trace(trace_dir)
    for _ in range(_TRACE_STEPS.value):
      state = run(state)
    jax.profiler.stop_trace()
    names = op_names(compiled.as_text())
    thunks_ns = thunk_times_ns(trace_dir, _TRACE_STEPS.value, names)
  step_s = statistics.median(step_times)
  tokens = config.train.batch_size * config.data.window_length
  params = common.init_params(model_lib.SLiMPerformer(config.model))
  # 6 N FLOPs per token, N without the embedding tables (lookups, not matmuls), as train_throughput.py.
  flat = jax.tree_util.tree_flatten_with_path(params)[0]
  num_matmul = sum(int(np.size(x)) for path, x in flat if "embed" not in jax.tree_util.keystr(path))
  model_gflop_per_s = 6 * num_matmul * tokens / step_s / 1e9
  summed_ns = sum(thunks_ns.values())
  by_piece = collections.Counter()
  for name, ns in thunks_ns.items():
    op_name = names.get(name, "")
    by_piece[(piece_of(op_name), pass_of(op_name))] += ns
  pieces = [
    dict(piece=piece, pass_=phase, share=ns / summed_ns, ms_per_step=1e3 * step_s * ns / summed_ns)
    for (piece, phase), ns in by_piece.most_common()
  ]
  top = [
    dict(thunk=name, op_name=names.get(name, ""), ms_per_step=1e3 * step_s * ns / summed_ns)
    for name, ns in thunks_ns.most_common(_TOP.value)
  ]
  return dict(
    config=config_arg,
    batch_size=config.train.batch_size,
    length=config.data.window_length,
    chunk_size=config.train.chunk_size,
    sublinear=train.uses_sublinear_step(config),
    num_params=common.num_params(params),
    step_s=step_s,
    step_times_s=step_times,
    tokens_per_s=tokens / step_s,
    model_gflop_per_s=model_gflop_per_s,
    matmul_gflop_per_s=rate,
    fraction_of_matmul_rate=model_gflop_per_s / rate,
    thunk_parallelism=summed_ns / 1e9 / step_s,
    pieces=pieces,
    top_thunks=top,
  )


def print_profile(row: dict) -> None:
  print(
    f"\n{row['config']}: {row['num_params'] / 1e6:.2f} M params, "
    f"{'sub-linear C=' + str(row['chunk_size']) if row['sublinear'] else 'plain autodiff'}, "
    f"{row['tokens_per_s']:.0f} tokens/s ({row['step_s']:.3f} s/step), {row['model_gflop_per_s']:.1f} GFLOP/s "
    f"= {100 * row['fraction_of_matmul_rate']:.1f}% of the {row['matmul_gflop_per_s']:.1f} GFLOP/s matmul rate"
  )
  by_piece = collections.defaultdict(dict)
  for p in row["pieces"]:
    by_piece[p["piece"]][p["pass_"]] = p["ms_per_step"]
  passes = ("forward", "forward_under_autodiff", "backward")
  print(f"  {'piece':>22} {'forward':>8} {'fwd(jvp)':>8} {'backward':>8} {'total ms':>9} {'share':>6}")
  total = sum(sum(v.values()) for v in by_piece.values())
  for piece, ms in sorted(by_piece.items(), key=lambda kv: -sum(kv[1].values())):
    cells = " ".join(f"{ms.get(p, 0.0):8.0f}" for p in passes)
    print(f"  {piece:>22} {cells} {sum(ms.values()):9.0f} {100 * sum(ms.values()) / total:5.1f}%")
  print("  slowest thunks:")
  for t in row["top_thunks"]:
    print(f"    {t['ms_per_step']:7.1f} ms  {t['thunk'][:28]:28} {t['op_name'][-100:]}")


def main(argv):
  del argv
  load_before = os.getloadavg()
  print(f"device {jax.devices()[0].platform}, {os.cpu_count()} CPUs (load average {load_before[0]:.1f})")
  rows = []
  for config_arg in _CONFIGS.value:
    rows.append(profile_config(config_arg))
    print_profile(rows[-1])
  result = dict(
    device=str(jax.devices()[0]),
    cpu_count=os.cpu_count(),
    load_average=[load_before, os.getloadavg()],
    steps=_STEPS.value,
    trace_steps=_TRACE_STEPS.value,
    rows=rows,
  )
  common.write_json(_OUT.value, result)
  print(f"\nwrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
