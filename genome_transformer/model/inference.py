# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Scoring and generation of arbitrarily long sequences with the recurrent form of the model.

Causal linear attention is a recurrence whose state per layer is (S, z) (attention.py), so a
sequence of any length can be scored chunk by chunk, or one token at a time, in memory that
does not grow with its length. Both equal the whole-sequence forward up to round-off (tests).
The softmax baseline decodes from a key/value cache (`softmax_cached_step`), whose size and
per-token work grow with the context.

Held-out scoring uses `windowed_log_likelihood`: windows of the training length, so that no
position is scored past the absolute positions the model was trained on.
"""

import math
from typing import Optional, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from genome_transformer.genomics import tokenizer
from genome_transformer.model import performer as model_lib
from genome_transformer.model import sublinear


def chunked_log_likelihood(
  model: model_lib.SLiMPerformer, params, tokens_BL: jax.Array, chunk_size: int, rng: Optional[jax.Array] = None
) -> jax.Array:
  """logp_BL[:, t] = ln p(token t | tokens < t); position 0 has no context: NaN.

  The convention of every public scoring function (windowed_log_likelihood, the pretrained API):
  entry t scores token t.

  Every position is scored, whatever its target (base, N or padding): callers choose what
  counts (the training loss counts targets < 4). Linear attention runs as a lax.scan over
  chunks carrying the per-layer states: activation memory is one chunk's, flat in L (the
  result itself is O(L)). A softmax model has no recurrence; it is scored with one full forward
  (memory O(L^2)). jit with `model` and `chunk_size` static.
  """
  variables, _ = sublinear.as_variables(params)
  rngs = sublinear.feature_rngs(rng)
  batch, length = tokens_BL.shape
  if model.config.attention != "linear":
    logits_BLV = model.apply(variables, tokens_BL, rngs=rngs)
    targets_BL = jnp.concatenate([tokens_BL[:, 1:], tokens_BL[:, :1]], axis=1)
    logp_BL = sublinear.target_log_probs(logits_BLV, targets_BL)
  else:
    chunks, _ = sublinear.chunked_inputs(tokens_BL, chunk_size)

    def body(states, xs):
      tokens_BC, next_B, offset = xs
      logits_BCV, states = model.apply(variables, tokens_BC, position_offset=offset, states=states, rngs=rngs)
      targets_BC, _ = sublinear.chunk_targets(tokens_BC, next_B)
      return states, sublinear.target_log_probs(logits_BCV, targets_BC)

    states0 = model_lib.init_states(model.config, batch, sublinear.float_dtype(variables))
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
  logits at `position`. Start from model.init_states(config, B); favor+ needs the same `rng`
  at every step of a sequence.
  """
  variables, _ = sublinear.as_variables(params)
  logits_B1V, new_states = model.apply(
    variables, token_B[:, None], position_offset=position, states=states, rngs=sublinear.feature_rngs(rng)
  )
  return logits_B1V[:, 0], new_states


# -- Softmax baseline: decoding from a key/value cache ---------------------------------------------

KVCache = Tuple[Tuple[jax.Array, jax.Array], ...]  # Per layer (k_BHTd, v_BHTd), T the cache length.


def init_kv_cache(config, batch_size: int, max_length: int, dtype=jnp.float32) -> KVCache:
  """Empty per-layer key/value caches of `max_length` positions for `softmax_cached_step`.

  Memory 2 s T D floats, growing with the context, where the linear model's state is constant.
  Heads before positions, so that a query reads each head's keys and values contiguously (with
  positions first, XLA copied the whole cache into that layout at every token).
  """
  if config.attention != "softmax":
    raise ValueError(
      f"model.attention={config.attention!r}: a key/value cache is for 'softmax'; a linear "
      "model decodes from its constant-size state (model.init_states and step)."
    )
  shape = (batch_size, config.num_heads, max_length, config.d_model // config.num_heads)
  return tuple((jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)) for _ in range(config.num_layers))


def softmax_cached_step(
  model: model_lib.SLiMPerformer, params, token_B: jax.Array, cache: KVCache, position
) -> Tuple[jax.Array, KVCache]:
  """Consumes one token of a softmax model at `position` from its key/value cache: (logits_BV, cache).

  The cache holds the keys and values of positions < `position` (init_kv_cache, then this step
  for each earlier token); this token's are written at `position`, and its query attends to
  positions <= `position`. logits_BV equal the whole-sequence forward's logits at `position`
  (the model's layers applied to one position, with the same parameters). Work and memory per
  token grow with the cache length T (the query reads all T slots, masked): the baseline that
  the linear model's `step` is compared with (benchmarks/inference.py). jit with `model` static.
  """
  cfg = model.config
  if cfg.attention != "softmax":
    raise ValueError(f"model.attention={cfg.attention!r}: use inference.step for a linear model.")
  p = sublinear.as_variables(params)[0]["params"]
  batch, width, heads = token_B.shape[0], cfg.d_model, cfg.num_heads
  dim = width // heads
  dense = lambda x, q: nn.Dense(q["kernel"].shape[-1]).apply({"params": q}, x)
  norm = lambda x, q: nn.LayerNorm(epsilon=model_lib.LAYER_NORM_EPS).apply({"params": q}, x)

  emb_BE = jnp.take(p["embed"]["embedding"], token_B, axis=0)
  pos_1E = model_lib.sinusoid_positions(jnp.reshape(position, (1,)), width // 2, emb_BE.dtype)
  x_BD = jnp.concatenate([emb_BE, jnp.broadcast_to(pos_1E, emb_BE.shape)], axis=-1)
  new_cache = []
  for i, (k_BHTd, v_BHTd) in enumerate(cache):
    lp = p[f"layer_{i}"]
    h_BD = x_BD if cfg.on_gptln else norm(x_BD, lp["ln_attention"])
    q_BHd, k_BHd, v_BHd = (dense(h_BD, lp[n]).reshape(batch, heads, dim) for n in ("query", "key", "value"))
    # Causal softmax attention of the one query over the cached positions and itself, scaled by
    # 1/sqrt(d) as jax.nn.dot_product_attention. The cache is read before this token's key and
    # value are written into it: reading the updated cache made XLA copy it at every token.
    scale = 1.0 / math.sqrt(dim)
    cached_BHT = jnp.einsum("bhd,bhtd->bht", q_BHd, k_BHTd.astype(q_BHd.dtype)).astype(jnp.float32) * scale
    cached_BHT = jnp.where(jnp.arange(k_BHTd.shape[2]) < position, cached_BHT, -jnp.inf)
    self_BH1 = jnp.sum(q_BHd * k_BHd, axis=-1, keepdims=True).astype(jnp.float32) * scale
    max_BH1 = jnp.maximum(jnp.max(cached_BHT, axis=-1, keepdims=True), self_BH1)
    w_BHT, w_BH1 = jnp.exp(cached_BHT - max_BH1), jnp.exp(self_BH1 - max_BH1)
    den_BH1 = jnp.sum(w_BHT, axis=-1, keepdims=True) + w_BH1
    a_BHd = (
      jnp.einsum("bht,bhtd->bhd", w_BHT.astype(q_BHd.dtype), v_BHTd.astype(q_BHd.dtype))
      + w_BH1.astype(q_BHd.dtype) * v_BHd
    ) / den_BH1.astype(q_BHd.dtype)
    a_BD = a_BHd.reshape(batch, width)
    write = lambda c_BHTd, x_BHd: jax.lax.dynamic_update_slice_in_dim(
      c_BHTd, x_BHd[:, :, None].astype(c_BHTd.dtype), position, axis=2
    )
    new_cache.append((write(k_BHTd, k_BHd), write(v_BHTd, v_BHd)))
    x_BD = x_BD + (norm(a_BD, lp["ln_attention"]) if cfg.on_gptln else a_BD)
    h_BD = x_BD if cfg.on_gptln else norm(x_BD, lp["ln_ffn"])
    h_BD = dense(nn.gelu(dense(h_BD, lp["ffn_in"]), approximate=False), lp["ffn_out"])
    x_BD = x_BD + (norm(h_BD, lp["ln_ffn"]) if cfg.on_gptln else h_BD)
  return dense(x_BD, p["head"]), tuple(new_cache)
