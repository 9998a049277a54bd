# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Bits per base: the one definition the trainer, the pretrained API and its command line share.

Per-base scores follow `pretrained.log_likelihood`'s convention: entry t is ln p(base t | bases
before it), NaN where nothing is scored (the first base, N and the IUPAC codes). Bits per base
is -mean(finite entries) / ln 2, summed in float64.
"""

from __future__ import annotations

from collections.abc import Iterable
import math

from absl import logging
import ml_collections
import numpy as np

from genome_transformer.model import inference

LN2 = math.log(2.0)
EVAL_BATCH_TOKENS = 1 << 15  # Tokens per evaluation call: windows per call = this // eval context.


def scored_log_likelihood(logp_L: np.ndarray) -> tuple[float, int]:
  """(sum of the scored, i.e. finite, entries in nats, their number)."""
  logp_L = np.asarray(logp_L)
  scored_L = np.isfinite(logp_L)
  return float(np.sum(logp_L[scored_L], dtype=np.float64)), int(scored_L.sum())


def bits_per_base(log_likelihood_nats: float, scored: int) -> float:
  """-log_likelihood / scored / ln 2; NaN when nothing was scored."""
  return -log_likelihood_nats / scored / LN2 if scored else float("nan")


def eval_context(config: ml_collections.ConfigDict) -> int:
  """W of held-out scoring: eval.context, or the training window when it is 0."""
  return int(config.eval.context or config.data.window_length)


def heldout_bits_per_base(
  model, params, sequences: Iterable, *, context: int, chunk_size: int, max_bases: int, rng
) -> tuple[float, int]:
  """Bits per ACGT base over held-out regions of any length, in windows of `context` bases.

  Positions are absolute and training never goes past data.window_length, so scoring a whole
  region in one recurrence would score positions the model never saw (see
  inference.windowed_log_likelihood); windows keep every base within the training context.
  """
  total_nats, total_count = 0.0, 0
  for _, tokens_L in sequences:
    if max_bases:
      tokens_L = tokens_L[:max_bases]
    if len(tokens_L) < 2:
      continue
    logp_L = inference.windowed_log_likelihood(
      model, params, tokens_L, context, chunk_size, batch_size=max(1, EVAL_BATCH_TOKENS // context), rng=rng
    )
    nats, count = scored_log_likelihood(logp_L)
    total_nats += nats
    total_count += count
  # 0.0, not NaN, for no bases: the figure goes into export.json, which allows no NaN.
  return (bits_per_base(total_nats, total_count) if total_count else 0.0), total_count


def evaluate(model, params, config: ml_collections.ConfigDict, splits: dict, rng) -> dict:
  """{split}_bits_per_base, {split}_bases and {split}_context for each {split: [(name, tokens)]}."""
  context = eval_context(config)
  results = {}
  for split, sequences in splits.items():
    bpb, count = heldout_bits_per_base(
      model,
      params,
      sequences,
      context=context,
      chunk_size=config.eval.chunk_size,
      max_bases=config.eval.max_bases,
      rng=rng,
    )
    results[f"{split}_bits_per_base"] = bpb
    results[f"{split}_bases"] = count
    results[f"{split}_context"] = context  # Makes each curve point say how it was scored.
    logging.info("%s: %.4f bits per base over %d held-out bases (context %d).", split, bpb, count, context)
  return results
