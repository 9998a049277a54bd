# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Model FLOPs per token and MFU of the training step, for a few model sizes, on whatever device runs it.

For each config: the model FLOPs per token counted from its shapes (`forward_flops_per_token`: the
projections, FFN, convolution, feature maps, linear-attention state reads and writes, window and softmax
attention, output logits; a multiply-add is 2 FLOPs), the training step's model FLOPs (3 x forward:
forward and backward) and its hardware FLOPs for the sub-linear step (4 x forward: the reverse pass runs
each chunk's forward again), XLA's own count of the compiled step (cost_analysis) beside them where the
step has no scan (XLA counts a loop's body once, not once per chunk), and the
step timed as the trainer runs it (train.make_train_step, median of --steps after a warm-up). MFU is
model FLOP/s over the device's peak: on a CPU the float32 matmul rate measured in the same run; on a GPU
or TPU the peak from PEAK_TFLOPS for its kind, compute dtype and matmul precision (and the measured
matmul rate beside it).

  python -m benchmarks.flops --quick                   # two small configs, ~2 min on 2 CPU cores
  python -m benchmarks.flops                           # every config in CONFIGS
  python -m benchmarks.flops --compute_dtype=bfloat16 --out=benchmarks/results/flops_gpu.json   # on a GPU

Writes benchmarks/results/flops_<platform>.json (--out) and prints a table.
"""

from __future__ import annotations

import os
import statistics
import time

from absl import app, flags
import jax
import jax.numpy as jnp
import optax

from benchmarks import common
from genome_transformer import config_lib
from genome_transformer.model import performer as model_lib
from genome_transformer.training import train

# config argument (as --config takes it), window length (0 = the config's own), batch (0 = the config's).
CONFIGS = (
  ("configs/slim.py", 0, 0),
  ("configs/release_bacteria.py", 0, 0),
  ("configs/release_bacteria_local.py:conv4+hedgehog+codon+split+16heads", 0, 0),
  ("configs/release_human_chrx_local.py:conv4+window64x3+hedgehog+floor+4heads", 0, 0),
  ("configs/release_human_chrx_local.py:softmax+conv4+4heads", 0, 0),
  ("configs/ptb_like.py", 0, 0),
  ("configs/gpu.py", 4096, 8),
)
QUICK = CONFIGS[:2]
# Dense peak TFLOP/s by device kind substring, compute dtype and matmul precision ("default" float32 is TF32
# on NVIDIA GPUs); vendor data sheets.
PEAK_TFLOPS = {
  "H100": {"bfloat16": 989.4, "tf32": 494.7, "float32": 66.9},
  "H200": {"bfloat16": 989.4, "tf32": 494.7, "float32": 66.9},
  "A100": {"bfloat16": 312.0, "tf32": 156.0, "float32": 19.5},
  "TPU v4": {"bfloat16": 275.0, "tf32": 275.0, "float32": 275.0 / 6},
  "TPU v5 lite": {"bfloat16": 197.0, "tf32": 197.0, "float32": 197.0 / 6},
}

_QUICK = flags.DEFINE_bool("quick", False, "Only the first two configs.")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps per config (median).")
_COMPUTE_DTYPE = flags.DEFINE_enum("compute_dtype", "float32", list(config_lib.COMPUTE_DTYPES), "train.compute_dtype.")
_PRECISION = flags.DEFINE_enum(
  "matmul_precision", "highest", list(config_lib.MATMUL_PRECISIONS), "train.matmul_precision."
)
_OUT = flags.DEFINE_string("out", "", "JSON path (default benchmarks/results/flops_<platform>.json).")


def forward_flops_per_token(model_config, window_length: int) -> dict[str, float]:
  """FLOPs of one token's forward pass, by part (a multiply-add counts 2)."""
  m = config_lib.ModelConfig.of(model_config)
  d_model, layers = m.d_model, m.num_layers
  d = d_qk = model_lib.head_dim(m)
  parts = dict(
    projections=layers * 2 * d_model * (2 * m.num_heads * d_qk + 2 * d_model),  # q, k, v and the output.
    ffn=layers * 2 * 2 * d_model * m.d_ff,
    convolution=layers * 2 * m.conv_width * (2 * m.num_heads * d_qk + d_model),
    logits=2 * d_model * m.vocab_size,
  )
  if m.attention == "softmax":
    # Causal: a token attends to (L + 1) / 2 positions on average, for scores and for values.
    parts["attention"] = layers * m.num_heads * 2 * 2 * d * (window_length + 1) / 2
    return parts
  linear = model_lib.linear_heads(m)
  features = model_lib.num_features(m)
  feature_map = 2 * 2 * d_qk * d_qk * m.num_feature_blocks if m.feature_map == "hedgehog" else 0
  # Writing phi(k) v and phi(k) into (S, z) and reading them with phi(q): 2 x (2 M d + 2 M) per head.
  parts["feature_maps"] = layers * linear * feature_map
  parts["linear_attention"] = layers * linear * 2 * (2 * features * d + 2 * features)
  window = min(m.window_size, window_length)
  parts["window_attention"] = layers * m.window_heads * 2 * 2 * d * window
  return parts


def device_peak_tflops(compute_dtype: str, precision: str) -> float | None:
  device = jax.devices()[0]
  if device.platform == "cpu":
    return None
  kind = "bfloat16" if compute_dtype == "bfloat16" else ("float32" if precision == "highest" else "tf32")
  for name, peaks in PEAK_TFLOPS.items():
    if name.lower() in device.device_kind.lower():
      return peaks[kind]
  return None


def matmul_tflops(dtype, size: int = 2048, repeats: int = 10) -> float:
  """The measured rate of one size x size matmul in `dtype` (median of `repeats`)."""
  a = jax.random.normal(jax.random.PRNGKey(0), (size, size), jnp.float32).astype(dtype)
  f = jax.jit(lambda x: x @ x)
  jax.block_until_ready(f(a))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(f(a))
    times.append(time.perf_counter() - start)
  return 2 * size**3 / statistics.median(times) / 1e12


def measure(config_arg: str, window_length: int, batch: int) -> dict:
  path, _, variant = config_arg.partition(":")
  module = common.load_config_module(path)
  config = module.get_config(variant) if variant else module.get_config()
  config.unlock()
  if window_length:
    config.data.window_length = window_length
    config.train.chunk_size = min(config.train.chunk_size, window_length)
    if config.model.attention == "softmax":
      config.train.chunk_size = window_length
  if batch:
    config.train.batch_size = batch
  config.train.compute_dtype = _COMPUTE_DTYPE.value
  config.train.matmul_precision = _PRECISION.value
  length, batch = config.data.window_length, config.train.batch_size
  model = model_lib.SLiMPerformer(config.model)
  tx = optax.adamw(1e-4)
  state = common.train_state(model, tx)
  step = jax.jit(train.make_train_step(model, tx, config), donate_argnums=0)
  tokens_BL = jax.random.randint(jax.random.PRNGKey(1), (batch, length), 0, 4)
  rng = jax.random.PRNGKey(2)
  with jax.default_matmul_precision(_PRECISION.value):
    compiled = step.lower(state, tokens_BL, rng).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    state, metrics = compiled(state, tokens_BL, rng)
    jax.block_until_ready(state)
    times = []
    for _ in range(_STEPS.value):
      start = time.perf_counter()
      state, metrics = compiled(state, tokens_BL, rng)
      jax.block_until_ready(state)
      times.append(time.perf_counter() - start)
  parts = forward_flops_per_token(config.model, length)
  forward = sum(parts.values())
  sublinear = train.uses_sublinear_step(config)
  tokens = batch * length
  step_s = statistics.median(times)
  return dict(
    config=config_arg,
    window_length=length,
    batch=batch,
    chunk_size=config.train.chunk_size,
    sublinear=sublinear,
    num_params=common.num_params(state.params),
    forward_flops_per_token=forward,
    forward_flops_by_part=parts,
    model_flops_per_token=3 * forward,
    hardware_flops_per_token=(4 if sublinear else 3) * forward,
    xla_flops_per_token=float(cost.get("flops", 0.0)) / tokens if cost and not sublinear else None,
    step_s=step_s,
    tokens_per_s=tokens / step_s,
    model_tflops_per_s=3 * forward * tokens / step_s / 1e12,
    loss=float(metrics["loss"]),
  )


def main(argv):
  del argv
  device = jax.devices()[0]
  compute = jnp.bfloat16 if _COMPUTE_DTYPE.value == "bfloat16" else jnp.float32
  with jax.default_matmul_precision(_PRECISION.value):
    matmul = matmul_tflops(compute)
  peak = device_peak_tflops(_COMPUTE_DTYPE.value, _PRECISION.value)
  reference = peak or matmul
  print(
    f"device {device.platform} ({device.device_kind}), compute {_COMPUTE_DTYPE.value}, precision {_PRECISION.value}: "
    f"measured matmul {matmul:.3f} TFLOP/s; peak {'%.1f' % peak if peak else 'n/a (CPU: the measured rate)'}"
  )
  rows = []
  header = (
    f"{'config':<74} {'L':>6} {'B':>3} {'params':>9} {'model':>7} {'hardw.':>7} {'XLA':>7} {'tok/s':>9} "
    f"{'TF/s':>7} {'MFU':>6}"
  )
  print(f"{'':<74} {'':>6} {'':>3} {'':>9} {'GFLOP per token of a step':^23}")
  print(header)
  for config_arg, length, batch in QUICK if _QUICK.value else CONFIGS:
    row = measure(config_arg, length, batch)
    row["mfu"] = row["model_tflops_per_s"] / reference
    rows.append(row)
    xla = f"{row['xla_flops_per_token'] / 1e9:7.4f}" if row["xla_flops_per_token"] else "      -"
    print(
      f"{config_arg:<74} {row['window_length']:>6} {row['batch']:>3} {row['num_params']:>9,} "
      f"{row['model_flops_per_token'] / 1e9:7.4f} {row['hardware_flops_per_token'] / 1e9:7.4f} {xla} "
      f"{row['tokens_per_s']:9.0f} "
      f"{row['model_tflops_per_s']:7.4f} {row['mfu']:6.1%}"
    )
  out = _OUT.value or os.path.join("benchmarks", "results", f"flops_{device.platform}.json")
  common.write_json(
    out,
    dict(
      device=f"{device.platform} ({device.device_kind})",
      cpu_count=os.cpu_count(),
      compute_dtype=_COMPUTE_DTYPE.value,
      matmul_precision=_PRECISION.value,
      measured_matmul_tflops=matmul,
      peak_tflops=peak,
      mfu_reference="peak" if peak else "measured matmul rate",
      rows=rows,
    ),
  )
  print(f"wrote {out}")


if __name__ == "__main__":
  app.run(main)
