# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Helpers shared by the training benchmarks (memory.py, train_throughput.py, ablation.py, context.py)
and inference.py.

The four ways to get a training step's loss and gradient that the benchmarks compare:

  slim        sublinear.loss_and_grad: the SLiM algorithm (forward scan keeping only the states,
              reverse scan rebuilding them by subtraction)
  autodiff    jax.value_and_grad of the whole-sequence prefix-sum model
  scan_ckpt   jax.value_and_grad of a lax.scan over chunks with jax.checkpoint on the chunk
              (no subtraction: every chunk's carried states are stored for the backward pass)
  softmax     jax.value_and_grad of the same model with causal softmax attention
  slim_local  the SLiM algorithm for the model with every local-mixing addition (docs/model.md)
              (LOCAL_MIXING: convolution, Hedgehog map, a sliding-window head), whose reverse pass
              also recomputes each chunk's prefix of s R tokens
"""

import importlib.util
import os
import resource
import subprocess
import sys
import time
from typing import Callable, Sequence

import jax
import ml_collections
import numpy as np
import optax

from genome_transformer import config_lib
from genome_transformer.genomics import files, genomes
from genome_transformer.model import losses, sublinear
from genome_transformer.model import performer as model_lib
from genome_transformer.training import metrics_writer, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

METHODS = ("slim", "autodiff", "scan_ckpt", "softmax", "slim_local")
CHUNKED = ("slim", "scan_ckpt", "slim_local")  # The methods that take a chunk size.
# The E. coli chromosome shipped in the package: the sequence the speed and round-off benchmarks run on.
ECOLI = "builtin:ecoli"
# The release candidates whose local mixing docs/speed.md times (the sixteen-head model with window heads, the
# human three-window model), their softmax twins, and the faithful bacterial release for scale.
RELEASE_CANDIDATES = (
  "configs/release_bacteria.py",
  "configs/ablation.py:conv4+hedgehog+floor+codon+split+16heads+window64x2",
  "configs/ablation.py:softmax+conv4+codon+16heads",
  "configs/release_human_chrx_local.py:conv4+window64x3+hedgehog+floor+4heads",
  "configs/release_human_chrx_local.py:softmax+conv4+4heads",
)
# configs/ablation.py's adopted components, all at once.
LOCAL_MIXING = dict(conv_width=4, feature_map="hedgehog", hedgehog_floor=0.01, window_heads=1, window_size=64)


def model_config(
  attention: str, d_model: int, num_layers: int, num_heads: int, d_ff: int, feature_map: str = "sqr"
) -> ml_collections.ConfigDict:
  """config_lib's model section with these sizes (every other field at its default: the reference model)."""
  config = config_lib.base_config().model
  config.update(
    dict(
      d_model=d_model,
      num_layers=num_layers,
      num_heads=num_heads,
      d_ff=d_ff,
      attention=attention,
      feature_map=feature_map,
    )
  )
  return config


def make_model(method: str, **dims) -> model_lib.SLiMPerformer:
  """The model a method trains: the softmax twin for 'softmax', linear attention otherwise."""
  config = model_config("softmax" if method == "softmax" else "linear", **dims)
  if method == "slim_local":
    config.update(LOCAL_MIXING)
  return model_lib.SLiMPerformer(config)


def loss_and_grad_fn(method: str, model: model_lib.SLiMPerformer, chunk_size: int) -> Callable:
  """fn(params, tokens_BL) -> (loss, grads) for one method; chunk_size is ignored where unused."""
  if method not in METHODS:
    raise ValueError(f"method={method!r} is not one of {METHODS}.")
  if method in ("slim", "slim_local"):
    return lambda p, t: sublinear.loss_and_grad(model, p, t, chunk_size)
  if method == "scan_ckpt":
    return lambda p, t: jax.value_and_grad(lambda q: losses.checkpointed_scan_loss(model, q, t, chunk_size))(p)
  return lambda p, t: jax.value_and_grad(lambda q: losses.full_loss(model, q, t))(p)


def init_params(model: model_lib.SLiMPerformer, seed: int = 0):
  return train.init_params(model, jax.random.PRNGKey(seed))


def abstract_params(model: model_lib.SLiMPerformer):
  """The parameters' shapes and dtypes, nothing allocated."""
  return jax.eval_shape(lambda: init_params(model))


def num_params(tree) -> int:
  return sum(int(x.size) for x in jax.tree.leaves(tree))


def train_state(model: model_lib.SLiMPerformer, tx: optax.GradientTransformation, seed: int = 0) -> train.TrainState:
  params = init_params(model, seed)
  return train.TrainState(step=0, params=params, opt_state=tx.init(params))


def make_train_step(model, tx, loss_and_grad: Callable) -> Callable:
  """The trainer's full optimizer step (train.make_train_step) with one method's loss and gradient,
  (state, tokens_BL) -> (state, metrics), jitted with the state donated as the trainer runs it."""
  step = train.make_train_step(model, tx, None, lambda params, tokens_BL, rng: loss_and_grad(params, tokens_BL))
  rng = jax.random.PRNGKey(0)
  return jax.jit(lambda state, tokens_BL: step(state, tokens_BL, rng), donate_argnums=0)


def genome_tokens(n: int, genome: str = ECOLI) -> np.ndarray:
  """The first n bases of a genome's first record (the package's reader and tokenizer), as int32 ids."""
  (fasta,) = genomes.open_genome(genome)
  with fasta:
    name = fasta.names[0]
    if fasta.length(name) < n:
      raise ValueError(f"{genome} record {name} has {fasta.length(name)} bases; asked for {n}.")
    return fasta.fetch(name, 0, n).astype(np.int32)


def peak_rss_bytes() -> int:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB.


def write_json(path: str, obj) -> None:
  """Writes to a temporary path and renames, so a reader never sees half a file."""
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  files.write_json_atomic(path, obj, indent=1)


def save_figure(fig, path: str) -> None:
  """Writes to a temporary path and renames, as write_json."""
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  fig.tight_layout()
  fig.savefig(path + ".tmp.png", dpi=120)
  os.replace(path + ".tmp.png", path)


def pyplot():
  """matplotlib.pyplot on the Agg backend (no display needed)."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  return plt


def load_config_module(path: str):
  """A configs/*.py file (path from the repository root) as a module: its get_config and VARIANTS."""
  spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], os.path.join(REPO, path))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def read_metrics(workdir: str) -> list[dict]:
  """A run's metrics rows; none for a run that has not started."""
  if not os.path.exists(os.path.join(workdir, "metrics.jsonl")):
    return []
  return metrics_writer.read_metrics(workdir)


def apply_overrides(config: ml_collections.ConfigDict, overrides: list[str]) -> ml_collections.ConfigDict:
  """FIELD=VALUE strings, each cast to the field's type, as --config.FIELD=VALUE would be."""
  config = ml_collections.ConfigDict(config.to_dict())
  for override in overrides:
    field, sep, text = override.partition("=")
    if not sep:
      raise ValueError(f"--overrides: {override!r} is not FIELD=VALUE.")
    section, _, name = field.rpartition(".")
    parent = config[section] if section else config
    if name not in parent:
      raise ValueError(f"--overrides: {field} is not a config field.")
    current = parent[name]
    parent[name] = text.lower() in ("1", "true") if isinstance(current, bool) else type(current)(text)
  return config


def train_run(config_arg: str, workdir: str, *, label: str, overrides: Sequence[str] = ()) -> bool:
  """Runs (or resumes) one training run as users do, `python -m genome_transformer.main
  --config=CONFIG_ARG --workdir=WORKDIR --config.FIELD=VALUE...`; False if it failed (its train.log,
  appended to by every attempt, says why)."""
  os.makedirs(workdir, exist_ok=True)
  command = [
    sys.executable,
    "-m",
    "genome_transformer.main",
    f"--config={config_arg}",
    f"--workdir={workdir}",
    *(f"--config.{override}" for override in overrides),
  ]
  print(f"[{label}] {' '.join(command)}", flush=True)
  with open(os.path.join(workdir, "train.log"), "a") as log:
    return subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT).returncode == 0


def step_memory_params_and_speed(config, speed_steps: int) -> tuple[dict, int, float | None]:
  """XLA's compiled memory of one training step, the parameter count, and (speed_steps > 0) the
  tokens/s of the loss-and-gradient step timed here over `speed_steps` steps after one warm-up."""
  model = model_lib.SLiMPerformer(config.model)
  loss_and_grad = jax.jit(train.make_loss_and_grad(model, config))
  params = init_params(model)
  shape = (config.train.batch_size, config.data.window_length)
  tokens = jax.random.randint(jax.random.PRNGKey(1), shape, 0, 4)
  rng = jax.random.PRNGKey(2)
  compiled = loss_and_grad.lower(params, tokens, rng).compile()
  speed = None
  if speed_steps > 0:
    jax.block_until_ready(compiled(params, tokens, rng))
    start = time.perf_counter()
    for _ in range(speed_steps):
      jax.block_until_ready(compiled(params, tokens, rng))
    speed = speed_steps * tokens.size / (time.perf_counter() - start)
  return train.compiled_memory(compiled), num_params(params), speed
