# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Scoring and embedding of arbitrarily long sequences with the recurrent form of the model.

Causal linear attention is a recurrence whose state per layer is (S, z) plus the layer's last R
input rows (linear_attention.py, performer.py), so a sequence of any length can be scored chunk by chunk
(recurrence.scan_chunks), or one token at a time (recurrence.step), in memory that does not grow
with its length. Both equal the whole-sequence forward up to round-off (tests). The softmax
baseline runs through the same loops from a key/value cache (performer.init_kv_cache), whose size
and per-token work grow with the context. Generation is generation.py's.

Held-out scoring uses `windowed_log_likelihood`: windows of the training length, so that no
position is scored past the absolute positions the model was trained on.
"""

from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from genome_transformer.genomics import tokenizer
from genome_transformer.model import losses, match, recurrence
from genome_transformer.model import performer as model_lib


def chunked_log_likelihood(
  model: model_lib.SLiMPerformer, params, tokens_BL: jax.Array, chunk_size: int, rng: Optional[jax.Array] = None
) -> jax.Array:
  """logp_BL[:, t] = ln p(token t | tokens < t); position 0 has no context: NaN.

  The convention of every public scoring function (windowed_log_likelihood, the pretrained API):
  entry t scores token t.

  Every position is scored, whatever its target (base, N or padding): callers choose what
  counts (the training loss counts targets < 4). Both attentions run through recurrence.scan_chunks:
  linear attention carries the per-layer states, so activation memory is one chunk's, flat in L
  (the result itself is O(L)); softmax carries a key/value cache of the whole (chunk-padded)
  sequence, so memory is O(L (C + layers D)) where one full forward's scores would be O(L^2)
  (16 windows of 16 k in one call needed 52 GB that way). A softmax sequence that fits in one chunk
  runs as one causal forward: every chunk reads the whole cache, masked, so a lone chunk would do
  twice the work for nothing (benchmarks/inference.py: 2.6x slower at 1 k). jit with `model` and
  `chunk_size` static.
  """
  batch, length = tokens_BL.shape
  chunks, _ = recurrence.chunked_inputs(match.model_inputs(model.config, tokens_BL), chunk_size)

  def score(acc, logits_BCV, chunk, _):
    targets_BC, _ = losses.chunk_targets(chunk.ids, chunk.next_ids)
    return acc, losses.target_log_probs(logits_BCV, targets_BC)

  dtype = recurrence.float_dtype(params)
  num_chunks = chunks.ids.shape[0]
  if model.config.attention == "linear":
    states0 = model_lib.init_states(model.config, batch, dtype)
  elif num_chunks == 1:
    states0 = None  # No cache to read or fill.
  else:
    # The ragged last chunk is padded: the cache holds it whole, so its write is not clamped back.
    states0 = model_lib.init_kv_cache(model.config, batch, num_chunks * chunks.ids.shape[2], dtype)
  _, _, logp_NBC = recurrence.scan_chunks(model, params, states0, chunks, score, rng=rng)
  logp_BL = jnp.moveaxis(logp_NBC, 0, 1).reshape(batch, -1)[:, :length]
  # Entry t of the scan scores token t + 1: move it to t + 1, where its token is.
  return jnp.concatenate([jnp.full((batch, 1), jnp.nan, logp_BL.dtype), logp_BL[:, :-1]], axis=1)


# One compiled kernel per (model, chunk size, input shape), shared by the trainer's evaluation and
# the pretrained API.
chunked_log_likelihood_jit = jax.jit(chunked_log_likelihood, static_argnums=(0, 3))


def windowed_log_likelihood(
  model: model_lib.SLiMPerformer,
  params,
  tokens_L: np.ndarray,
  context: int,
  chunk_size: int,
  *,
  batch_size: int = 8,
  rng: Optional[jax.Array] = None,
) -> np.ndarray:
  """logp_L[t] = ln p(token t | at most `context` - 1 tokens before it): held-out scoring.

  The model's positions are absolute and it was trained on windows of data.window_length
  tokens, so one recurrence over a long sequence scores positions it never saw (the bundled
  bacteria4-slim on bacteria4's test split: 1.9639 bits per base in one recurrence, 1.9532 in
  these windows of W = 1024), and a softmax model cannot run one forward over a chromosome.
  With W = `context` and h = W // 2, windows of W tokens start at 0, h, 2h, ... and each is
  scored from position 0, independently of the others: window 0 gives tokens [0, W), window
  k >= 1 only tokens [k h + W - h, k h + W), so each token t >= W is scored once, after
  between W - h and W - 1 tokens, and a sequence of n <= W tokens is one window: the plain
  scoring. The last windows, cut at n, are padded with PAD (never a target; causality keeps it
  from what comes before). `batch_size` windows per call of `chunked_log_likelihood` (chunks
  of min(`chunk_size`, W); linear and softmax models alike): memory is one batch's whatever n,
  and one compilation per power-of-two number of rows. Each token goes through the model about twice
  (the overlap), so this costs about twice one recurrence.

  Returns float32 [n]: NaN at position 0 (no context) and where token t is not A/C/G/T, the
  convention of pretrained.log_likelihood.
  """
  tokens_L = np.asarray(tokens_L)
  if tokens_L.ndim != 1:
    raise ValueError(f"tokens_L must be 1-D, got shape {tokens_L.shape}.")
  if context < 2:
    raise ValueError(f"context={context} must be at least 2 (one input and one target).")
  if chunk_size < 1 or batch_size < 1:
    raise ValueError(f"chunk_size={chunk_size} and batch_size={batch_size} must be positive.")
  length = len(tokens_L)
  logp_L = np.full(length, np.nan, np.float32)
  if length < 2:
    return logp_L
  half = context // 2
  num_windows = 1 if length <= context else 1 + -(-(length - context) // half)
  starts_K = np.arange(num_windows) * half
  chunk = min(chunk_size, context)
  for begin in range(0, num_windows, batch_size):
    starts = starts_K[begin : begin + batch_size]
    rows = min(batch_size, 1 << (len(starts) - 1).bit_length())
    tokens_BW = np.full((rows, context), tokenizer.PAD_ID, np.int32)
    for row, start in enumerate(starts):
      window_W = tokens_L[start : start + context]
      tokens_BW[row, : len(window_W)] = window_W
    window_logp_BW = np.asarray(chunked_log_likelihood_jit(model, params, jnp.asarray(tokens_BW), chunk, rng))
    for row, start in enumerate(starts):
      first = 1 if start == 0 else context - half  # Within the window: the first token it scores.
      stop = min(context, length - start)
      logp_L[start + first : start + stop] = window_logp_BW[row, first:stop]
  logp_L[tokens_L >= tokenizer.NUM_BASES] = np.nan
  return logp_L


def hidden_states(
  model: model_lib.SLiMPerformer,
  params,
  tokens_BL: jax.Array,
  lengths_B: jax.Array,
  chunk_size: int,
  rng: Optional[jax.Array] = None,
  pool: Optional[str] = None,
) -> jax.Array:
  """The last layer's output (before the head): [B, L, D] (pool None), or pooled [B, D].

  pool="mean" averages h over positions < lengths_B, "last" takes h at lengths_B - 1. A linear
  model runs chunk by chunk with carried states, pooling as it goes, so with a pool memory is one
  chunk's; a softmax model runs one whole-sequence forward. jit with `model`, `chunk_size` and
  `pool` static.
  """
  batch, length = tokens_BL.shape
  ids_BL = match.model_inputs(model.config, tokens_BL)
  if model.config.attention != "linear":
    variables, _ = recurrence.as_variables(params)
    h_BLD = model.apply(variables, ids_BL, return_hidden=True, rngs=recurrence.feature_rngs(rng))
    return _pool(h_BLD, jnp.arange(length), lengths_B, pool)

  def per_chunk(pooled_BD, h_BCD, chunk, _):
    if pool is None:
      return pooled_BD, h_BCD
    positions_C = chunk.offset + jnp.arange(chunk.ids.shape[-1])
    return pooled_BD + _pool(h_BCD, positions_C, lengths_B, pool), None

  chunks, _ = recurrence.chunked_inputs(ids_BL, chunk_size)
  dtype = recurrence.float_dtype(params)
  states0 = model_lib.init_states(model.config, batch, dtype)
  width = model.config.d_model
  pooled0 = jnp.zeros((batch, width), jnp.promote_types(dtype, jnp.float32))
  _, pooled_BD, h_NBCD = recurrence.scan_chunks(
    model, params, states0, chunks, per_chunk, pooled0, rng=rng, return_hidden=True
  )
  if pool is None:
    return jnp.moveaxis(h_NBCD, 0, 1).reshape(batch, -1, width)[:, :length]
  return pooled_BD


hidden_states_jit = jax.jit(hidden_states, static_argnums=(0, 4, 6))


def _pool(h_BLD, positions_L, lengths_B, pool):
  """Mean pool: the chunk's share of the mean (sum / length); last: h at position length-1; None: h."""
  if pool is None:
    return h_BLD
  h_BLD = h_BLD.astype(jnp.promote_types(h_BLD.dtype, jnp.float32))
  if pool == "mean":
    weights_BL = (positions_L[None, :] < lengths_B[:, None]) / lengths_B[:, None].astype(h_BLD.dtype)
  else:
    weights_BL = (positions_L[None, :] == lengths_B[:, None] - 1).astype(h_BLD.dtype)
  return jnp.einsum("bl,bld->bd", weights_BL.astype(h_BLD.dtype), h_BLD)


# The one-token recurrence is recurrence.py's; these names are kept for callers of this module.
step = recurrence.step
with_match_state = recurrence.with_match_state
