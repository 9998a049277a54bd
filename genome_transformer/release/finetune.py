# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Fine-tuning a backbone as a sequence classifier: `finetune(config, workdir)` (configs/finetune.py).

The backbone is a release or an export (config.init_from), or the same architecture from scratch.
Its last-layer hidden states are pooled per sequence by the release layer's hidden-state path
(`inference.hidden_states`: the chunked recurrence, padding masked out of the pool), and a linear
head maps the pooled vector to class logits. Mode "probe" trains the head alone on a frozen backbone;
"full" trains both.

Exact resume: the rows of step s are a permutation drawn from (seed, epoch of s), so the data order is
a function of the step; the checkpoint holds the parameters, the optimizer state and the early-stopping
state (best parameters, best score, evaluations since it), so a run stopped at any point and resumed
from its last checkpoint computes the same steps, evaluations and files as one that never stopped.

Everything that can be wrong with the config or the files is found before anything is compiled or
the workdir is created, and the outputs are written whole or not at all (temp file + rename).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import signal
import time
from typing import Any

from absl import logging
import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import tqdm

from genome_transformer import config_lib
from genome_transformer.data import labelled
from genome_transformer.evaluation.classification import classification_metrics
from genome_transformer.genomics import files
from genome_transformer.model import inference
from genome_transformer.model import performer as model_lib
from genome_transformer.release import export as export_lib
from genome_transformer.training import checkpointing, export_reader, metrics_writer, multihost, train

MODES = ("probe", "full")
POOLS = ("mean", "last")
CLASS_WEIGHTS = ("none", "balanced")
METRICS = ("loss", "accuracy", "mcc", "macro_f1", "auroc")
DEFAULT_CHUNK = 256  # Recurrence chunk of a from-scratch backbone (configs' train.chunk_size default).
# The train fields make_optimizer reads: runs that agree on them share compiled steps.
OPTIMIZER_FIELDS = (
  "mode",
  "probe_learning_rate",
  "full_learning_rate",
  "warmup_steps",
  "num_steps",
  "grad_clip_norm",
  "weight_decay",
)
TASK_JSON = "task.json"
TEST_METRICS = "test_metrics.json"
TEST_PREDICTIONS = "test_predictions.tsv"
EXPORT_DIR = "export"  # <workdir>/export: the best parameters, loadable with pretrained.load.


class FinetuneError(ValueError):
  """A workdir that cannot continue this run; the message says what to do."""


@flax.struct.dataclass
class FinetuneState:
  step: jax.Array
  params: Any  # {"backbone": the model's parameters, "head": {"kernel": [D, K], "bias": [K]}}.
  opt_state: Any
  best_params: Any
  best_score: jax.Array  # Higher is better (minus the loss when early stopping on the loss).
  best_step: jax.Array
  evals_since_best: jax.Array
  stopped: jax.Array  # Early stopping ended the run: a rerun only rescores the test file.


class _NoIterator:
  """The Checkpointer saves a data iterator's state; the row order here is a function of the step."""

  def get_state(self) -> bytes:
    return b"{}"

  def set_state(self, state: bytes) -> None:
    del state

  def start_prefetch(self) -> None:
    pass


# ----------------------------------------------------------------------------------------------
# Config.


def _fail(field: str, value, why: str):
  raise config_lib.ConfigError(f"config.{field}={value!r}: {why}")


def _pretraining_shell(model_config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A pretraining config around `model_config`, so config_lib.validate checks the architecture."""
  shell = config_lib.base_config()
  shell.model = ml_collections.ConfigDict(model_config.to_dict())
  shell.train.chunk_size = shell.data.window_length  # Softmax models have no chunked training.
  return shell


def validate(config: ml_collections.ConfigDict, *, files_required: bool = True) -> None:
  """Raises ConfigError naming the first field that cannot work (files_required=False: a shipped config)."""
  t, r = config.task, config.train
  init_from = config.init_from
  if not isinstance(init_from, str) or init_from != init_from.strip():
    _fail("init_from", init_from, '"" (from scratch), an export directory or a release name, without spaces around')
  if config.random_init and not init_from:
    _fail("random_init", True, "copies config.init_from's architecture: name one (from scratch, config.model is used)")
  for field in ("train", "validation"):
    if files_required and not str(t[field]).strip():
      _fail(f"task.{field}", t[field], "give a TSV file with a header holding 'sequence' and 'label'")
  if t.pool not in POOLS:
    _fail("task.pool", t.pool, f"must be one of {POOLS}")
  if t.both_strands and t.rc_average:
    _fail("task.rc_average", True, "task.both_strands already averages the two strands: set one of them")
  if t.chunk_size < 0:
    _fail("task.chunk_size", t.chunk_size, "must be >= 0 (0: the export's train.chunk_size)")
  if r.mode not in MODES:
    _fail("train.mode", r.mode, f"must be one of {MODES}")
  for field in ("probe_learning_rate", "full_learning_rate"):
    if not r[field] > 0:
      _fail(f"train.{field}", r[field], "must be positive")
  for field in ("batch_size", "num_steps", "log_every", "eval_every", "checkpoint_every", "max_to_keep"):
    if r[field] < 1:
      _fail(f"train.{field}", r[field], "must be at least 1")
  if not 0 <= r.warmup_steps < r.num_steps:
    _fail("train.warmup_steps", r.warmup_steps, f"must lie in [0, train.num_steps={r.num_steps})")
  if r.weight_decay < 0:
    _fail("train.weight_decay", r.weight_decay, "must be >= 0")
  if r.grad_clip_norm < 0:
    _fail("train.grad_clip_norm", r.grad_clip_norm, "must be >= 0 (0 turns clipping off)")
  if r.class_weights not in CLASS_WEIGHTS:
    _fail("train.class_weights", r.class_weights, f"must be one of {CLASS_WEIGHTS}")
  if r.early_stopping_metric not in METRICS:
    _fail("train.early_stopping_metric", r.early_stopping_metric, f"must be one of {METRICS}")
  if r.patience < 0:
    _fail("train.patience", r.patience, "must be >= 0 (0 never stops early)")
  if r.matmul_precision not in config_lib.MATMUL_PRECISIONS:
    _fail("train.matmul_precision", r.matmul_precision, f"must be one of {config_lib.MATMUL_PRECISIONS}")
  if not init_from:
    config_lib.validate(_pretraining_shell(config.model))


def _export_model_config(config: ml_collections.ConfigDict) -> tuple[str, dict]:
  """(export path, its export.json) of config.init_from, refusing config.model fields set to differ."""
  try:
    path = export_reader.resolve(config.init_from)
    document = export_reader.read_export_json(path)
  except export_reader.ExportError as error:
    raise config_lib.ConfigError(f"config.init_from={config.init_from!r}: {error}") from None
  defaults = config_lib.base_config().model
  exported = config_lib.ModelConfig.of(document["model_config"]).to_dict()
  for field, value in config.model.items():
    if value != defaults[field] and value != exported.get(field):
      raise config_lib.ConfigError(
        f"config.model.{field}={value!r}: the architecture is config.init_from's, which has {exported.get(field)!r}; "
        "drop the override, or set config.init_from='' to train config.model from scratch."
      )
  return path, document


# ----------------------------------------------------------------------------------------------
# Metrics.


def _score(metrics: dict, name: str) -> float:
  """Higher is better; NaN counts as the worst."""
  value = -metrics[name] if name == "loss" else metrics[name]
  return -math.inf if math.isnan(value) else value


def _jsonable(metrics: dict) -> dict:
  return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}


# ----------------------------------------------------------------------------------------------
# Data on the host.


class _Split:
  """A split as padded arrays: forward and reverse-complement tokens, lengths, labels."""

  def __init__(self, data: labelled.LabelledSet, classes: list[str], *, with_rc: bool):
    self.data = data
    self.tokens_NL, self.lengths_N = labelled.padded(data.tokens)
    self.rc_NL = labelled.padded(labelled.reverse_complements(data.tokens))[0] if with_rc else None
    self.labels_N = data.label_ids(classes)

  def __len__(self) -> int:
    return len(self.labels_N)

  def batch(self, rows: np.ndarray, batch_size: int) -> dict:
    """Rows padded to batch_size with weight-0 filler rows (length 1, so a mean pool stays finite)."""
    fill = batch_size - len(rows)
    index = np.concatenate([rows, np.zeros(fill, rows.dtype)])
    weights = np.concatenate([np.ones(len(rows)), np.zeros(fill)]).astype(np.float32)
    lengths = np.where(weights > 0, self.lengths_N[index], 1).astype(np.int32)
    batch = {
      "tokens": self.tokens_NL[index].astype(np.int32),
      "lengths": lengths,
      "labels": self.labels_N[index],
      "weights": weights,
    }
    batch["rc"] = None if self.rc_NL is None else self.rc_NL[index].astype(np.int32)
    return batch


def rows_for_step(step: int, num_rows: int, batch_size: int, seed: int) -> np.ndarray:
  """The training rows of `step`: epoch e's permutation, drawn from (seed, e); the last batch is short."""
  per_epoch = -(-num_rows // batch_size)
  epoch, index = divmod(step, per_epoch)
  order = np.random.default_rng([seed, epoch]).permutation(num_rows)
  return order[index * batch_size : (index + 1) * batch_size]


# ----------------------------------------------------------------------------------------------
# The model: backbone features, head, loss.


@dataclasses.dataclass(frozen=True)
class Classifier:
  """Pooled backbone features and a linear head. Hashable: the compiled steps are cached by it."""

  model: model_lib.SLiMPerformer
  num_classes: int
  pool: str
  both_strands: bool
  rc_average: bool
  chunk_size: int
  probe: bool

  @classmethod
  def from_config(cls, model_config, num_classes: int, config, chunk_size: int) -> Classifier:
    return cls(
      model=model_lib.SLiMPerformer(model_config),
      num_classes=num_classes,
      pool=config.task.pool,
      both_strands=bool(config.task.both_strands),
      rc_average=bool(config.task.rc_average),
      chunk_size=int(chunk_size),
      probe=config.train.mode == "probe",
    )

  def features(self, backbone, tokens_BL, rc_BL, lengths_B, features_rng):
    chunk = min(self.chunk_size, tokens_BL.shape[1])

    def pooled(tokens):
      return inference.hidden_states(self.model, backbone, tokens, lengths_B, chunk, features_rng, self.pool)

    h_BD = pooled(tokens_BL)
    return 0.5 * (h_BD + pooled(rc_BL)) if self.both_strands else h_BD

  @staticmethod
  def logits(head, h_BD):
    return h_BD.astype(jnp.float32) @ head["kernel"] + head["bias"][None, :]

  def loss(self, params, batch, class_weights_K, features_rng):
    backbone = jax.lax.stop_gradient(params["backbone"]) if self.probe else params["backbone"]
    h_BD = self.features(backbone, batch["tokens"], batch["rc"], batch["lengths"], features_rng)
    logits_BK = self.logits(params["head"], h_BD)
    nll_B = -jnp.take_along_axis(jax.nn.log_softmax(logits_BK), batch["labels"][:, None], axis=1)[:, 0]
    weights_B = batch["weights"] * class_weights_K[batch["labels"]]
    return jnp.sum(weights_B * nll_B) / jnp.maximum(jnp.sum(weights_B), 1e-12)

  def probabilities(self, params, batch, features_rng):
    backbone, head = params["backbone"], params["head"]

    def strand(tokens, rc):
      return jax.nn.softmax(self.logits(head, self.features(backbone, tokens, rc, batch["lengths"], features_rng)))

    probs_BK = strand(batch["tokens"], batch["rc"])
    return 0.5 * (probs_BK + strand(batch["rc"], None)) if self.rc_average else probs_BK

  def init_state(self, tx, backbone) -> FinetuneState:
    head = {
      "kernel": jnp.zeros((self.model.config.d_model, self.num_classes), jnp.float32),
      "bias": jnp.zeros((self.num_classes,), jnp.float32),
    }
    params = {"backbone": backbone, "head": head}
    return FinetuneState(
      step=jnp.zeros((), jnp.int32),
      params=params,
      opt_state=tx.init(params),
      best_params=params,
      best_score=jnp.asarray(-jnp.inf, jnp.float32),
      best_step=jnp.zeros((), jnp.int32),
      evals_since_best=jnp.zeros((), jnp.int32),
      stopped=jnp.zeros((), jnp.bool_),
    )

  def random_backbone(self, rng):
    dummy_BL = jnp.zeros((1, 16), jnp.int32)
    return self.model.init({"params": rng, "features": rng}, dummy_BL)["params"]


def make_optimizer(train_config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  """The pretraining optimizer at the mode's rate; in "probe" mode the backbone never moves."""
  probe = train_config.mode == "probe"
  schedule = ml_collections.ConfigDict(
    {
      "learning_rate": train_config.probe_learning_rate if probe else train_config.full_learning_rate,
      "warmup_steps": train_config.warmup_steps,
      "num_steps": train_config.num_steps,
      "grad_clip_norm": train_config.grad_clip_norm,
      "weight_decay": train_config.weight_decay,
    }
  )
  tx = train.make_optimizer(schedule)
  if not probe:
    return tx

  def labels(params):
    return {
      "backbone": jax.tree.map(lambda _: "frozen", params["backbone"]),
      "head": jax.tree.map(lambda _: "train", params["head"]),
    }

  return optax.multi_transform({"train": tx, "frozen": optax.set_to_zero()}, labels)


@dataclasses.dataclass(frozen=True)
class Compiled:
  tx: optax.GradientTransformation
  init_from_backbone: Any  # backbone -> FinetuneState
  init_random: Any  # rng -> FinetuneState
  train_step: Any  # (state, batch, class_weights_K, features_rng) -> (state, metrics)
  probabilities: Any  # (params, batch, features_rng) -> [B, K]


@functools.lru_cache(maxsize=8)
def compiled(classifier: Classifier, train_fields: tuple) -> Compiled:
  """The jitted functions of one classifier and optimizer, shared by every run of them in a process."""
  tx = make_optimizer(ml_collections.ConfigDict(dict(train_fields)))

  def train_step(state: FinetuneState, batch: dict, class_weights_K, features_rng):
    loss, grads = jax.value_and_grad(classifier.loss)(state.params, batch, class_weights_K, features_rng)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    finite = jnp.isfinite(loss) & jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(params)]))
    metrics = {"loss": loss, "grad_norm": optax.tree.norm(grads), "finite": finite}
    return state.replace(step=state.step + 1, params=params, opt_state=opt_state), metrics

  return Compiled(
    tx=tx,
    init_from_backbone=jax.jit(functools.partial(classifier.init_state, tx)),
    init_random=jax.jit(lambda rng: classifier.init_state(tx, classifier.random_backbone(rng))),
    train_step=jax.jit(train_step),
    probabilities=jax.jit(classifier.probabilities),
  )


def predict(probabilities, params, split: _Split, batch_size: int, features_rng) -> np.ndarray:
  """Class probabilities [N, K] of every row, in batches of the training batch's shape."""
  out = []
  for begin in range(0, len(split), batch_size):
    rows = np.arange(begin, min(begin + batch_size, len(split)))
    batch = split.batch(rows, batch_size)
    out.append(np.asarray(probabilities(params, batch, features_rng))[: len(rows)])
  return np.concatenate(out).astype(np.float64)


# ----------------------------------------------------------------------------------------------
# The run.


def _read_splits(config) -> tuple[list[str], dict]:
  """Every file read and checked, before any model is built: (classes, {split: LabelledSet})."""
  sets = {"train": labelled.read_labelled(config.task.train)}
  classes = labelled.classes_of(sets["train"])
  for name in ("validation", "test"):
    path = config.task[name]
    if name == "test" and not path:
      continue
    sets[name] = labelled.read_labelled(path)
    labelled.check_labels(sets[name], classes, config.task.train)
  return classes, sets


def _class_weights(config, train_set: _Split, num_classes: int) -> np.ndarray:
  if config.train.class_weights == "none":
    return np.ones(num_classes, np.float32)
  counts = np.bincount(train_set.labels_N, minlength=num_classes)
  return (len(train_set) / (num_classes * counts)).astype(np.float32)


def _write_predictions(path: str, split: _Split, classes: list[str], probs_NK: np.ndarray) -> None:
  lines = ["\t".join(["id", "label", "predicted"] + [f"p_{c}" for c in classes])]
  predicted = probs_NK.argmax(axis=1)
  for i, row_id in enumerate(split.data.ids):
    probabilities = [f"{p:.6g}" for p in probs_NK[i]]
    lines.append("\t".join([row_id, split.data.labels[i], classes[predicted[i]], *probabilities]))
  files.write_bytes_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"))


def _export(out, state, config, export_config: dict, model_config, classes, chunk_size) -> None:
  """The best parameters as an export: the backbone as any export, the head in metadata["classifier"]."""
  backbone = jax.tree.map(np.asarray, state.best_params["backbone"])
  head = jax.tree.map(np.asarray, state.best_params["head"])
  config_dict = {
    **export_config,
    "model": model_config.to_dict(),
    "seed": int(export_config.get("seed", config.seed)),  # The FAVOR+ feature key: the one fine-tuning used.
    "eval": {**export_config.get("eval", {}), "chunk_size": chunk_size},
    "finetune": config.to_dict(),
  }
  metadata = {
    "classifier": {
      "classes": classes,
      "pool": config.task.pool,
      "both_strands": bool(config.task.both_strands),
      "rc_average": bool(config.task.rc_average),
      # float32 values written as float64 decimals read back bit for bit.
      "kernel": head["kernel"].astype(np.float64).tolist(),
      "bias": head["bias"].astype(np.float64).tolist(),
      "best_step": int(state.best_step),
    },
    "source": {"init_from": config.init_from, "random_init": bool(config.random_init)},
  }
  export_lib.write_export(out, backbone, config_dict, metadata, overwrite=True)


def finetune(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Fine-tunes in `workdir`, resuming from its latest checkpoint; returns the test metrics ({} without test).

  SIGTERM saves the step it arrives in and returns {} (no export, no test): the same call resumes there.
  """
  validate(config)
  previous_handler = signal.getsignal(signal.SIGTERM)
  try:
    with jax.default_matmul_precision(config.train.matmul_precision):
      return _finetune(config, workdir)
  finally:
    signal.signal(signal.SIGTERM, previous_handler)


def _task_description(config, classes, model_config, chunk_size, source) -> dict:
  return {
    "classes": classes,
    "model_config": model_config.to_dict(),
    "chunk_size": chunk_size,
    "pool": config.task.pool,
    "both_strands": bool(config.task.both_strands),
    "rc_average": bool(config.task.rc_average),
    "init_from": source,
    "random_init": bool(config.random_init),
    "mode": config.train.mode,
  }


def _finetune(config: ml_collections.ConfigDict, workdir: str) -> dict:
  task_path = os.path.join(workdir, TASK_JSON)
  saved_task = files.read_json(task_path) if checkpointing.has_checkpoint(workdir) else None
  export_path, document = None, None
  if saved_task is not None:
    model_config = ml_collections.ConfigDict(saved_task["model_config"])
    logging.info("config.init_from is not read: %s has a checkpoint, which resumes.", workdir)
  elif config.init_from:
    export_path, document = _export_model_config(config)
    model_config = ml_collections.ConfigDict(document["model_config"])
  else:
    model_config = config.model
  export_config = (document or {}).get("config", {})
  chunk_size = int(config.task.chunk_size or export_config.get("train", {}).get("chunk_size") or DEFAULT_CHUNK)
  classes, sets = _read_splits(config)
  if saved_task is not None and saved_task.get("classes") != classes:
    raise FinetuneError(
      f"--workdir={workdir}: its checkpoint was trained on the classes {saved_task.get('classes')}, "
      f"{config.task.train} has {classes}; use a new --workdir for another task."
    )

  with_rc = bool(config.task.both_strands or config.task.rc_average)
  splits = {name: _Split(data, classes, with_rc=with_rc) for name, data in sets.items()}
  train.make_workdir(workdir)
  source = export_path or ""
  files.write_json_atomic(task_path, _task_description(config, classes, model_config, chunk_size, source))

  favor = model_config.attention == "linear" and model_config.feature_map == "favor+"
  # The key the trainer evaluated the export with (pretrained.PretrainedModel's), fixed for the run.
  features_seed = int(export_config.get("seed", config.seed))
  features_rng = jax.random.split(jax.random.PRNGKey(features_seed), 3)[2] if favor else None
  classifier = Classifier.from_config(model_config, len(classes), config, chunk_size)
  fns = compiled(classifier, tuple((f, config.train[f]) for f in OPTIMIZER_FIELDS))
  class_weights_K = jnp.asarray(_class_weights(config, splits["train"], len(classes)))
  init_rng = jax.random.split(jax.random.PRNGKey(config.seed), 3)[0]

  is_primary = jax.process_index() == 0
  with contextlib.ExitStack() as on_exit:
    writer = on_exit.enter_context(contextlib.closing(metrics_writer.MetricWriter(workdir, enabled=is_primary)))
    ckpt = on_exit.enter_context(
      contextlib.closing(checkpointing.Checkpointer(workdir, config, max_to_keep=config.train.max_to_keep))
    )
    abstract = jax.eval_shape(fns.init_random, init_rng)
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=device), abstract)
    state = ckpt.restore_latest(abstract, _NoIterator())
    if state is not None:
      logging.info("Resumed from step %d.", int(state.step))
    elif export_path and not config.random_init:
      try:
        exported = export_reader.load_export(export_path, dtype=jnp.float32)
      except export_reader.ExportError as error:
        raise config_lib.ConfigError(f"config.init_from={config.init_from!r}: {error}") from None
      backbone = jax.tree.map(lambda v, s: jnp.asarray(v, s.dtype), exported.params, abstract.params["backbone"])
      state = fns.init_from_backbone(backbone)
      logging.info("Starting from the parameters of %s (config.init_from).", export_path)
    else:
      state = fns.init_random(init_rng)
      logging.info("Starting from random parameters (%s).", "config.random_init" if export_path else "from scratch")

    batch_size = config.train.batch_size
    num_steps, first_step = config.train.num_steps, int(state.step)
    train_split = splits["train"]
    metric_name = config.train.early_stopping_metric
    logging.info(
      "Fine-tuning (%s) %d parameters on %d training sequences of %d classes; %d validation sequences.",
      config.train.mode,
      sum(x.size for x in jax.tree.leaves(state.params)),
      len(train_split),
      len(classes),
      len(splits["validation"]),
    )
    preemption = multihost.Preemption()
    preemption.install()
    window_start, window_steps = time.perf_counter(), 0
    for step in range(first_step, num_steps):
      if bool(state.stopped):
        break
      batch = train_split.batch(rows_for_step(step, len(train_split), batch_size, config.seed), batch_size)
      state, metrics = fns.train_step(state, batch, class_weights_K, features_rng)
      done, window_steps = step + 1, window_steps + 1
      log_now = done % config.train.log_every == 0 or done == num_steps
      eval_now = done % config.train.eval_every == 0 or done == num_steps
      preempted = preemption.should_stop(done)
      save_now = done % config.train.checkpoint_every == 0 or done == num_steps or preempted
      if log_now or eval_now or save_now:
        train.check_finite(metrics, done, first_step, ckpt.directory)
      if log_now:
        steps_per_s = window_steps / max(time.perf_counter() - window_start, 1e-9)
        loss = float(metrics["loss"])
        writer.write(done, {"loss": loss, "grad_norm": float(metrics["grad_norm"]), "steps_per_s": steps_per_s})
        logging.info(
          "step %d/%d  loss %.4f  %.2f steps/s  ETA %s",
          done,
          num_steps,
          loss,
          steps_per_s,
          tqdm.tqdm.format_interval((num_steps - done) / max(steps_per_s, 1e-9)),
        )
        window_start, window_steps = time.perf_counter(), 0
      if eval_now:
        validation = classification_metrics(
          splits["validation"].labels_N,
          predict(fns.probabilities, state.params, splits["validation"], batch_size, features_rng),
        )
        # Rounded as it is stored, so that a resumed run compares against the same number.
        score = float(np.float32(_score(validation, metric_name)))
        better = score > float(state.best_score)
        state = state.replace(
          best_params=state.params if better else state.best_params,
          best_score=jnp.asarray(score if better else state.best_score, jnp.float32),
          best_step=jnp.asarray(done if better else state.best_step, jnp.int32),
          evals_since_best=jnp.asarray(0 if better else state.evals_since_best + 1, jnp.int32),
        )
        patience = config.train.patience
        if patience and int(state.evals_since_best) >= patience:
          state = state.replace(stopped=jnp.asarray(True))
          save_now = True
        writer.write(done, {f"validation_{k}": v for k, v in validation.items()})
        logging.info(
          "validation at step %d: %s; best %s at step %d",
          done,
          "  ".join(f"{k} {v:.4f}" for k, v in validation.items()),
          metric_name,
          int(state.best_step),
        )
        window_start = time.perf_counter()
      if save_now:
        ckpt.save(done, state, _NoIterator())
      if preempted:
        logging.warning("Stopped at step %d on SIGTERM; the same command resumes from here.", done)
        return {}
      if bool(state.stopped):
        logging.info(
          "Early stopping at step %d: validation %s has not improved for %d evaluations.", done, metric_name, patience
        )
        break

    _export(os.path.join(workdir, EXPORT_DIR), state, config, export_config, model_config, classes, chunk_size)
    results: dict = {}
    if "test" in splits:
      test = splits["test"]
      probs_NK = predict(fns.probabilities, state.best_params, test, batch_size, features_rng)
      results = classification_metrics(test.labels_N, probs_NK)
      results.update(num_sequences=len(test), classes=classes, best_step=int(state.best_step))
      _write_predictions(os.path.join(workdir, TEST_PREDICTIONS), test, classes, probs_NK)
      files.write_json_atomic(os.path.join(workdir, TEST_METRICS), _jsonable(results))
      writer.write(int(state.step), {f"test_{k}": results[k] for k in METRICS})
    return results
