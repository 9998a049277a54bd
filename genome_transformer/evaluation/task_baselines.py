# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Baselines for the labelled-sequence tasks, scored as the fine-tuner scores (docs/finetune.md).

  kmer_logreg  normalised k-mer frequencies (k = 1..6, optionally both strands), standardised, and a
               scikit-learn LogisticRegression whose C is chosen on the validation loss
  cnn          a small convolutional network on one-hot DNA trained from scratch (DeepBind/Basset-like:
               conv, ReLU, max pool, conv, ReLU, global max pool, dense head), AdamW, early stopping
               on the validation loss

Both read the same TSV files as release/finetune.py, take the same class order (the training labels,
sorted), and return evaluation/classification.py's `classification_metrics` of the test split with the
validation metrics and the training time beside them, so every method is scored by one function.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from genome_transformer.data import labelled
from genome_transformer.evaluation import classification
from genome_transformer.genomics import tokenizer

DEFAULT_KS = (1, 2, 3, 4, 5, 6)
DEFAULT_C_GRID = (1e-3, 1e-2, 1e-1, 1.0)


@dataclasses.dataclass
class Splits:
  classes: list[str]
  train: labelled.LabelledSet
  validation: labelled.LabelledSet
  test: labelled.LabelledSet | None


def read_splits(train: str, validation: str, test: str = "") -> Splits:
  """The three files read and checked as the fine-tuner reads them (classes: the training labels, sorted)."""
  train_set = labelled.read_labelled(train)
  classes = labelled.classes_of(train_set)
  validation_set = labelled.read_labelled(validation)
  labelled.check_labels(validation_set, classes, train)
  test_set = None
  if test:
    test_set = labelled.read_labelled(test)
    labelled.check_labels(test_set, classes, train)
  return Splits(classes, train_set, validation_set, test_set)


def _result(splits: Splits, validation: dict, test_probs_NK, train_seconds: float, settings: dict) -> dict:
  results: dict[str, Any] = {}
  if splits.test is not None:
    results = classification.classification_metrics(splits.test.label_ids(splits.classes), test_probs_NK)
    results.update(num_sequences=len(splits.test), classes=splits.classes)
  results.update(validation=validation, train_seconds=train_seconds, settings=settings)
  return results


# ----------------------------------------------------------------------------------------------
# k-mer frequencies and logistic regression.


def kmer_counts(tokens_L: np.ndarray, k: int) -> np.ndarray:
  """Counts [4^k] of the k-mers of one sequence (index: the k-mer in base 4, A=0 C=1 G=2 T=3), skipping
  k-mers that hold an N or a special token."""
  tokens_L = np.asarray(tokens_L, np.int64)
  if len(tokens_L) < k:
    return np.zeros(4**k, np.float64)
  windows = np.lib.stride_tricks.sliding_window_view(tokens_L, k)
  valid = np.all(windows < tokenizer.NUM_BASES, axis=1)
  index = windows[valid] @ (4 ** np.arange(k - 1, -1, -1))
  return np.bincount(index, minlength=4**k).astype(np.float64)


def kmer_features(tokens: list[np.ndarray], ks=DEFAULT_KS, both_strands: bool = False) -> np.ndarray:
  """[N, sum 4^k]: per k, the k-mer counts of each sequence over their total (zeros when it has none);
  both_strands adds the reverse complement's counts before normalising."""
  rows = []
  for tokens_L in tokens:
    strands = [tokens_L, tokenizer.reverse_complement(tokens_L)] if both_strands else [tokens_L]
    parts = []
    for k in ks:
      counts = sum(kmer_counts(s, k) for s in strands)
      total = counts.sum()
      parts.append(counts / total if total else counts)
    rows.append(np.concatenate(parts))
  return np.stack(rows).astype(np.float32)


def kmer_logreg(
  train: str,
  validation: str,
  test: str = "",
  *,
  seed: int = 0,
  ks=DEFAULT_KS,
  both_strands: bool = False,
  c_grid=DEFAULT_C_GRID,
  max_iter: int = 2000,
) -> dict:
  """k-mer frequencies, standardised on the training rows, and the LogisticRegression of the C (from
  c_grid) with the lowest validation loss; test metrics, validation metrics and train time."""
  from sklearn import linear_model, pipeline, preprocessing  # pylint: disable=g-import-not-at-top

  splits = read_splits(train, validation, test)
  start = time.perf_counter()
  x_train = kmer_features(splits.train.tokens, ks, both_strands)
  y_train = splits.train.label_ids(splits.classes)
  x_val = kmer_features(splits.validation.tokens, ks, both_strands)
  y_val = splits.validation.label_ids(splits.classes)
  best = None
  by_c = {}
  for c in c_grid:
    model = pipeline.make_pipeline(
      preprocessing.StandardScaler(),
      linear_model.LogisticRegression(C=c, max_iter=max_iter, random_state=seed),
    )
    model.fit(x_train, y_train)
    metrics = classification.classification_metrics(y_val, _full_probs(model, x_val, len(splits.classes)))
    by_c[str(c)] = metrics["loss"]
    if best is None or metrics["loss"] < best[1]["loss"]:
      best = (c, metrics, model)
  c, val_metrics, model = best
  train_seconds = time.perf_counter() - start
  probs = None
  if splits.test is not None:
    probs = _full_probs(model, kmer_features(splits.test.tokens, ks, both_strands), len(splits.classes))
  settings = dict(ks=list(ks), both_strands=both_strands, C=c, validation_loss_by_C=by_c, seed=seed)
  return _result(splits, val_metrics, probs, train_seconds, settings)


def _full_probs(model, x_NF: np.ndarray, num_classes: int) -> np.ndarray:
  """predict_proba in the column order of the class ids (sklearn orders by the labels it saw)."""
  probs = np.zeros((len(x_NF), num_classes), np.float64)
  probs[:, model.classes_] = model.predict_proba(x_NF)
  return probs


# ----------------------------------------------------------------------------------------------
# A small CNN on one-hot DNA.


@dataclasses.dataclass(frozen=True)
class CNNConfig:
  filters: int = 64
  width: int = 11  # First convolution: motif-sized.
  pool: int = 4
  filters2: int = 64
  width2: int = 5
  hidden: int = 64
  learning_rate: float = 1e-3
  weight_decay: float = 1e-2
  batch_size: int = 32
  num_steps: int = 2000
  eval_every: int = 50
  patience: int = 5


def one_hot(tokens_BL: jax.Array) -> jax.Array:
  """[B, L, 4]: bases one-hot, N a quarter on each base, padding and special tokens zero."""
  bases = jax.nn.one_hot(tokens_BL, tokenizer.NUM_BASES, dtype=jnp.float32)
  return jnp.where((tokens_BL == tokenizer.N_ID)[..., None], 0.25, bases)


class CNN(nn.Module):
  """Predictions depend on the first `length` tokens only: later positions are zero before each convolution
  (what SAME padding would add anyway) and ReLU outputs are >= 0, so zeros never win a max."""

  config: CNNConfig
  num_classes: int

  @nn.compact
  def __call__(self, tokens_BL, lengths_B):
    c = self.config
    batch, length = tokens_BL.shape
    mask_BL = jnp.arange(length)[None, :] < lengths_B[:, None]
    x_BLC = one_hot(tokens_BL) * mask_BL[..., None]
    x_BLC = nn.relu(nn.Conv(c.filters, (c.width,), padding="SAME")(x_BLC)) * mask_BL[..., None]
    pooled_len = -(-length // c.pool)
    x_BLC = jnp.pad(x_BLC, ((0, 0), (0, pooled_len * c.pool - length), (0, 0)))
    x_BPC = x_BLC.reshape(batch, pooled_len, c.pool, c.filters).max(axis=2)
    mask_BP = jnp.arange(pooled_len)[None, :] < -(-lengths_B[:, None] // c.pool)
    x_BPC = nn.relu(nn.Conv(c.filters2, (c.width2,), padding="SAME")(x_BPC)) * mask_BP[..., None]
    h_BC = x_BPC.max(axis=1)
    h_BH = nn.relu(nn.Dense(c.hidden)(h_BC))
    return nn.Dense(self.num_classes)(h_BH)


def _padded_split(data: labelled.LabelledSet, pool: int) -> tuple[np.ndarray, np.ndarray]:
  longest = max(len(t) for t in data.tokens)
  return labelled.padded(data.tokens, -(-longest // pool) * pool)


def _batches(tokens_NL, lengths_N, batch_size: int):
  """Fixed-shape batches (one compile per split); the short last batch is filled with weight-0 rows."""
  for begin in range(0, len(lengths_N), batch_size):
    rows = np.arange(begin, min(begin + batch_size, len(lengths_N)))
    index = np.concatenate([rows, np.zeros(batch_size - len(rows), rows.dtype)])
    yield len(rows), tokens_NL[index].astype(np.int32), lengths_N[index]


def cnn(train: str, validation: str, test: str = "", *, seed: int = 0, config: CNNConfig = CNNConfig()) -> dict:
  """The CNN trained from scratch with AdamW, the parameters of the best validation loss kept (checked
  every eval_every steps, stopping after `patience` checks without a better one); metrics as kmer_logreg."""
  splits = read_splits(train, validation, test)
  num_classes = len(splits.classes)
  model = CNN(config, num_classes)
  tokens, lengths = _padded_split(splits.train, config.pool)
  labels = splits.train.label_ids(splits.classes)
  val_tokens, val_lengths = _padded_split(splits.validation, config.pool)
  val_labels = splits.validation.label_ids(splits.classes)

  params = model.init(jax.random.PRNGKey(seed), jnp.zeros((1, config.pool), jnp.int32), jnp.ones((1,), jnp.int32))
  schedule = optax.warmup_cosine_decay_schedule(
    0.0, config.learning_rate, min(100, config.num_steps // 10), config.num_steps, config.learning_rate * 0.1
  )
  tx = optax.adamw(schedule, weight_decay=config.weight_decay)
  opt_state = tx.init(params)

  @jax.jit
  def train_step(params, opt_state, tokens_BL, lengths_B, labels_B, weights_B):
    def loss_fn(p):
      logits_BK = model.apply(p, tokens_BL, lengths_B)
      nll_B = optax.softmax_cross_entropy_with_integer_labels(logits_BK, labels_B)
      return jnp.sum(weights_B * nll_B) / jnp.sum(weights_B)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  probabilities = jax.jit(lambda p, t, n: jax.nn.softmax(model.apply(p, t, n)))

  def predict(p, tokens_NL, lengths_N):
    out = [np.asarray(probabilities(p, t, n))[:k] for k, t, n in _batches(tokens_NL, lengths_N, config.batch_size)]
    return np.concatenate(out).astype(np.float64)

  start = time.perf_counter()
  order_rng = np.random.default_rng(seed)
  order = np.zeros(0, np.int64)
  best_params, best_loss, best_step, best_metrics, since_best = params, np.inf, 0, None, 0
  for step in range(1, config.num_steps + 1):
    if len(order) < config.batch_size:
      order = np.concatenate([order, order_rng.permutation(len(labels))])
    rows, order = order[: config.batch_size], order[config.batch_size :]
    weights = np.ones(config.batch_size, np.float32)
    if len(rows) < config.batch_size:  # Fewer training rows than one batch.
      weights[len(rows) :] = 0
      rows = np.concatenate([rows, np.zeros(config.batch_size - len(rows), rows.dtype)])
    params, opt_state, _ = train_step(params, opt_state, tokens[rows], lengths[rows], labels[rows], weights)
    if step % config.eval_every == 0 or step == config.num_steps:
      metrics = classification.classification_metrics(val_labels, predict(params, val_tokens, val_lengths))
      if metrics["loss"] < best_loss:
        best_params, best_loss, best_step, best_metrics, since_best = params, metrics["loss"], step, metrics, 0
      else:
        since_best += 1
        if config.patience and since_best >= config.patience:
          break
  train_seconds = time.perf_counter() - start
  probs = None
  if splits.test is not None:
    probs = predict(best_params, *_padded_split(splits.test, config.pool))
  settings = dict(dataclasses.asdict(config), seed=seed, best_step=best_step, steps_run=step)
  return _result(splits, best_metrics, probs, train_seconds, settings)
