# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Scoring and generation of arbitrarily long sequences with the recurrent form of the model.

Causal linear attention is a recurrence whose state per layer is (S, z) plus the layer's last R
input rows (attention.py, performer.py), so a sequence of any length can be scored chunk by chunk,
or one token at a time, in memory that does not grow with its length. Both equal the
whole-sequence forward up to round-off (tests). The softmax baseline steps through the same model
from a key/value cache (performer.init_kv_cache), whose size and per-token work grow with the
context.

Held-out scoring uses `windowed_log_likelihood`: windows of the training length, so that no
position is scored past the absolute positions the model was trained on.
"""

from typing import Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from genome_transformer import config_lib
from genome_transformer.genomics import tokenizer
from genome_transformer.model import match, sublinear
from genome_transformer.model import performer as model_lib


def chunked_log_likelihood(
  model: model_lib.SLiMPerformer, params, tokens_BL: jax.Array, chunk_size: int, rng: Optional[jax.Array] = None
) -> jax.Array:
  """logp_BL[:, t] = ln p(token t | tokens < t); position 0 has no context: NaN.

  The convention of every public scoring function (windowed_log_likelihood, the pretrained API):
  entry t scores token t.

  Every position is scored, whatever its target (base, N or padding): callers choose what
  counts (the training loss counts targets < 4). Both attentions run as a lax.scan over chunks:
  linear attention carries the per-layer states, so activation memory is one chunk's, flat in L
  (the result itself is O(L)); softmax carries a key/value cache of the whole (chunk-padded)
  sequence, so memory is O(L (C + layers D)) where one full forward's scores would be O(L^2)
  (16 windows of 16 k in one call needed 52 GB that way). A softmax sequence that fits in one chunk
  runs as one causal forward: every chunk reads the whole cache, masked, so a lone chunk would do
  twice the work for nothing (benchmarks/inference.py: 2.6x slower at 1 k). jit with `model` and
  `chunk_size` static.
  """
  variables, _ = sublinear.as_variables(params)
  rngs = sublinear.feature_rngs(rng)
  batch, length = tokens_BL.shape
  ids_BL = match.model_inputs(model.config, tokens_BL)
  chunks, _ = sublinear.chunked_inputs(ids_BL, chunk_size)

  def body(states, xs):
    ids_BC, next_B, offset = xs
    if states is None:  # A softmax sequence in one chunk: no cache to read or fill.
      logits_BCV = model.apply(variables, ids_BC, position_offset=offset, rngs=rngs)
    else:
      logits_BCV, states = model.apply(variables, ids_BC, position_offset=offset, states=states, rngs=rngs)
    targets_BC, _ = sublinear.chunk_targets(ids_BC, next_B)
    return states, sublinear.target_log_probs(logits_BCV, targets_BC)

  dtype = sublinear.float_dtype(variables)
  if model.config.attention == "linear":
    states0 = model_lib.init_states(model.config, batch, dtype)
  elif chunks[0].shape[0] == 1:
    states0 = None
  else:
    # The ragged last chunk is padded: the cache holds it whole, so its write is not clamped back.
    states0 = model_lib.init_kv_cache(model.config, batch, chunks[0].shape[0] * chunks[0].shape[2], dtype)
  _, logp_NBC = jax.lax.scan(body, states0, chunks)
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


def step(
  model: model_lib.SLiMPerformer, params, token_B: jax.Array, states, position, rng: Optional[jax.Array] = None
) -> Tuple[jax.Array, tuple]:
  """Consumes one token per sequence at absolute `position` from `states`: (logits_BV, new states).

  logits_BV are the next-token logits after `token_B`, equal to the whole-sequence forward's
  logits at `position`. Start a linear model from performer.init_states(config, B) (O(1) per
  token), a softmax model from performer.init_kv_cache(config, B, max_length) (its cache holds
  positions < `position`; work and memory grow with max_length). A model with the match input
  carries (those states, match.MatchState) (`with_match_state`). favor+ needs the same `rng` at
  every step of a sequence. jit with `model` static.
  """
  variables, _ = sublinear.as_variables(params)
  order = config_lib.model_option(model.config, "match_order")
  ids_B = token_B
  if order:
    states, match_state = states
    match_B, match_state = match.step(match_state, token_B, order)
    ids_B = match.pack(token_B, match_B)
  logits_B1V, new_states = model.apply(
    variables, ids_B[:, None], position_offset=position, states=states, rngs=sublinear.feature_rngs(rng)
  )
  return logits_B1V[:, 0], ((new_states, match_state) if order else new_states)


def with_match_state(model_config, states, tokens_BL: Optional[jax.Array] = None, length=0):
  """The `step` states of a model with the match input: (states, match state after tokens [0, length)).

  A model without it steps from `states` alone, which are returned as they are.
  """
  order = config_lib.model_option(model_config, "match_order")
  if not order:
    return states
  if tokens_BL is None:
    return states, match.initial_state(order, jax.tree.leaves(states)[0].shape[0])
  return states, match.state_after(tokens_BL, length, order)
