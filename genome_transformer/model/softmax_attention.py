# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Exact causal softmax attention: the twins' attention, the window heads' kernel and cached decoding.

Scores in at least float32 and scaled by 1/sqrt(d). `masked_softmax_attention` carries its own
flash-style gradient; `causal_softmax` skips the upper triangle in blocks; `cached_softmax` scores a
chunk against a key/value cache (performer.init_kv_cache).
"""

import math
from typing import Tuple

import jax
import jax.numpy as jnp


@jax.custom_vjp
def masked_softmax_attention(q_XQHd, k_XKHd, v_XKHd, allowed_XHQK: jax.Array) -> jax.Array:
  """Softmax attention of each query over the keys `allowed_XHQK` lets it see (at least one per query).

  X: any leading (batch) dimensions; `allowed_XHQK` broadcasts against [X, H, Q, K]. Scores in at least
  float32 and scaled by 1/sqrt(d), as the softmax baseline. Its own gradient (flash attention's, from the
  unnormalised weights and the output) instead of autodiff through jax.nn.softmax: the output is divided by
  the weights' sum rather than the Q x K weights, and the backward's row term sum_k P dP is the Q x d product
  dO . O, so each pass over the Q x K scores that is not a matmul is one fused elementwise pass.
  """
  return _masked_softmax_attention_fwd(q_XQHd, k_XKHd, v_XKHd, allowed_XHQK)[0]


def _masked_softmax_attention_fwd(q_XQHd, k_XKHd, v_XKHd, allowed_XHQK):
  scale = 1.0 / math.sqrt(q_XQHd.shape[-1])
  score_dtype = jnp.promote_types(q_XQHd.dtype, jnp.float32)
  scores_XHQK = jnp.einsum("...qhd,...khd->...hqk", q_XQHd, k_XKHd).astype(score_dtype) * scale
  scores_XHQK = jnp.where(allowed_XHQK, scores_XHQK, -jnp.inf)
  # Finite: every query sees at least itself.
  unnormalised_XHQK = jnp.exp(scores_XHQK - jnp.max(scores_XHQK, axis=-1, keepdims=True))
  inverse_sum_XQH1 = jnp.swapaxes(1.0 / jnp.sum(unnormalised_XHQK, axis=-1), -1, -2)[..., None]
  out_XQHd = jnp.einsum("...hqk,...khd->...qhd", unnormalised_XHQK.astype(v_XKHd.dtype), v_XKHd)
  out_XQHd = out_XQHd * inverse_sum_XQH1.astype(v_XKHd.dtype)
  return out_XQHd, (q_XQHd, k_XKHd, v_XKHd, unnormalised_XHQK, inverse_sum_XQH1, out_XQHd)


def _masked_softmax_attention_bwd(residuals, d_out_XQHd):
  q_XQHd, k_XKHd, v_XKHd, unnormalised_XHQK, inverse_sum_XQH1, out_XQHd = residuals
  scale = 1.0 / math.sqrt(q_XQHd.shape[-1])
  score_dtype = unnormalised_XHQK.dtype
  # With P = unnormalised / sum: dV = P^T dO, dS = P (dP - sum_k P dP), dP = dO V^T, sum_k P dP = dO . O.
  d_out_XQHd = d_out_XQHd.astype(score_dtype)
  d_v_XKHd = jnp.einsum("...hqk,...qhd->...khd", unnormalised_XHQK, d_out_XQHd * inverse_sum_XQH1)
  d_weights_XHQK = jnp.einsum("...qhd,...khd->...hqk", d_out_XQHd, v_XKHd.astype(score_dtype))
  row_term_XHQ1 = jnp.swapaxes(jnp.sum(d_out_XQHd * out_XQHd.astype(score_dtype), axis=-1), -1, -2)[..., None]
  row_scale_XHQ1 = jnp.swapaxes(inverse_sum_XQH1[..., 0], -1, -2)[..., None] * scale
  d_scores_XHQK = unnormalised_XHQK * (d_weights_XHQK - row_term_XHQ1) * row_scale_XHQ1
  d_q_XQHd = jnp.einsum("...hqk,...khd->...qhd", d_scores_XHQK, k_XKHd.astype(score_dtype))
  d_k_XKHd = jnp.einsum("...hqk,...qhd->...khd", d_scores_XHQK, q_XQHd.astype(score_dtype))
  return (
    d_q_XQHd.astype(q_XQHd.dtype),
    d_k_XKHd.astype(k_XKHd.dtype),
    d_v_XKHd.astype(v_XKHd.dtype),
    None,
  )


masked_softmax_attention.defvjp(_masked_softmax_attention_fwd, _masked_softmax_attention_bwd)


@jax.named_scope("causal_softmax")
def causal_softmax(q_BLHd: jax.Array, k_BLHd: jax.Array, v_BLHd: jax.Array, num_blocks: int = 16) -> jax.Array:
  """Exact causal softmax attention of every row over the rows up to it (itself included): the softmax twin.

  Computed in `num_blocks` blocks of query rows, each scored against the keys up to its last row only,
  so the key blocks after it (the upper triangle, 15/32 of the scores at 16 blocks) are neither computed
  nor kept for the backward pass. Why not jax.nn.dot_product_attention: on XLA's CPU backend its forward
  and backward ran 3.4x slower with two heads of 64 and 4.7x slower with sixteen heads of 8 at L = 1024
  (`python -m benchmarks.softmax_attention`). The blocks are unrolled, so their number, not L, sets the
  program's size. Sixteen blocks rather than eight: smaller score blocks stay nearer the cache (docs/speed.md).
  """
  rows = q_BLHd.shape[1]
  block = -(-rows // num_blocks)
  outs = []
  for start in range(0, rows, block):
    stop = min(start + block, rows)
    allowed_QK = jnp.arange(stop)[None, :] <= jnp.arange(start, stop)[:, None]
    outs.append(
      masked_softmax_attention(q_BLHd[:, start:stop], k_BLHd[:, :stop], v_BLHd[:, :stop], allowed_QK[None, None])
    )
  return jnp.concatenate(outs, axis=1)


def cached_softmax(q_BCHd, k_BCHd, v_BCHd, cache, start) -> Tuple[jax.Array, Tuple[jax.Array, jax.Array]]:
  """Causal softmax of a chunk at positions start.. over a key/value cache of the positions before it.

  Returns (out_BCHd, (k cache, v cache) with the chunk written at `start`). Scores in at least float32,
  scaled by 1/sqrt(d) as causal_softmax. The cache is read before the chunk's keys and
  values are written into it: reading the updated cache made XLA copy it at every token.
  """
  k_BHTd, v_BHTd = cache[0], cache[1]
  length = q_BCHd.shape[1]
  dtype = jnp.promote_types(q_BCHd.dtype, jnp.float32)
  scale = 1.0 / math.sqrt(q_BCHd.shape[-1])
  cached_BHCT = jnp.einsum("bchd,bhtd->bhct", q_BCHd, k_BHTd.astype(q_BCHd.dtype)).astype(dtype) * scale
  cached_BHCT = jnp.where((jnp.arange(k_BHTd.shape[2]) < start)[None, None, None, :], cached_BHCT, -jnp.inf)
  own_BHCC = jnp.einsum("bchd,bshd->bhcs", q_BCHd, k_BCHd).astype(dtype) * scale
  own_BHCC = jnp.where(jnp.tril(jnp.ones((length, length), bool))[None, None], own_BHCC, -jnp.inf)
  weights_BHCX = jax.nn.softmax(jnp.concatenate([cached_BHCT, own_BHCC], axis=-1), axis=-1).astype(q_BCHd.dtype)
  cached_w_BHCT, own_w_BHCC = weights_BHCX[..., : k_BHTd.shape[2]], weights_BHCX[..., k_BHTd.shape[2] :]
  out_BCHd = jnp.einsum("bhct,bhtd->bchd", cached_w_BHCT, v_BHTd.astype(q_BCHd.dtype)) + jnp.einsum(
    "bhcs,bshd->bchd", own_w_BHCC, v_BCHd
  )
  write = lambda cache_BHTd, x_BCHd: jax.lax.dynamic_update_slice_in_dim(
    cache_BHTd, x_BCHd.swapaxes(1, 2).astype(cache_BHTd.dtype), start, axis=2
  )
  return out_BCHd, (write(k_BHTd, k_BCHd), write(v_BHTd, v_BCHd))
