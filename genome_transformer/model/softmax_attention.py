# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Exact causal softmax attention: the twins' attention, the window heads' kernel and cached decoding.

Scores in at least float32 and scaled by 1/sqrt(d). `masked_softmax_attention` carries its own
flash-style gradient (the window heads'); `causal_softmax` is a tiled flash-style kernel; `cached_softmax` scores a
chunk against a key/value cache (performer.init_kv_cache).
"""

import functools
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


# Score elements of one tile (query block x keys x grouped heads): 512 KiB of float32, so the tile's score,
# weight and gradient arrays stay in a core's L2 cache between the ops that pass over them.
SCORE_TILE_ELEMENTS = 2**17


def _query_blocks(rows: int, num_blocks: int):
  block = -(-rows // num_blocks)
  return [(start, min(start + block, rows)) for start in range(0, rows, block)]


def _causal_mask(start: int, stop: int) -> jax.Array:
  return jnp.arange(stop)[None, :] <= jnp.arange(start, stop)[:, None]


def _group_forward(q_GLd, k_GLd, v_GLd, num_blocks):
  """One tile group's causal softmax: out [G, L, d] and each row's log-sum-exp [G, L]."""
  scale = 1.0 / math.sqrt(q_GLd.shape[-1])
  outs, log_sums = [], []
  for start, stop in _query_blocks(q_GLd.shape[1], num_blocks):
    scores_GQK = jnp.einsum("gqd,gkd->gqk", q_GLd[:, start:stop], k_GLd[:, :stop]) * scale
    scores_GQK = jnp.where(_causal_mask(start, stop), scores_GQK, -jnp.inf)
    max_GQ1 = jnp.max(scores_GQK, axis=-1, keepdims=True)  # Finite: every row sees itself.
    unnormalised_GQK = jnp.exp(scores_GQK - max_GQ1)
    sum_GQ1 = jnp.sum(unnormalised_GQK, axis=-1, keepdims=True)
    # Contracted to a [G, d, Q] result: XLA's CPU matmul is far faster with the short d outside the row.
    out_GdQ = jnp.einsum("gkd,gqk->gdq", v_GLd[:, :stop], unnormalised_GQK)
    outs.append(jnp.swapaxes(out_GdQ, 1, 2) / sum_GQ1)
    log_sums.append((max_GQ1 + jnp.log(sum_GQ1))[..., 0])
  return jnp.concatenate(outs, axis=1), jnp.concatenate(log_sums, axis=1)


def _group_backward(q_GLd, k_GLd, v_GLd, d_out_GLd, out_GLd, log_sum_GL, num_blocks):
  """The weights recomputed from the log-sum-exp, block by block (flash attention's backward)."""
  scale = 1.0 / math.sqrt(q_GLd.shape[-1])
  row_term_GL = jnp.sum(d_out_GLd * out_GLd, axis=-1)  # sum_k P dP = dO . O
  d_q_blocks = []
  group, rows, dim = k_GLd.shape
  d_k_GdL = jnp.zeros((group, dim, rows), k_GLd.dtype)
  d_v_GdL = jnp.zeros_like(d_k_GdL)
  for start, stop in _query_blocks(rows, num_blocks):
    q_GQd, d_out_GQd = q_GLd[:, start:stop], d_out_GLd[:, start:stop]
    scores_GQK = jnp.einsum("gqd,gkd->gqk", q_GQd, k_GLd[:, :stop]) * scale
    weights_GQK = jnp.where(_causal_mask(start, stop), jnp.exp(scores_GQK - log_sum_GL[:, start:stop, None]), 0.0)
    d_v_GdL = d_v_GdL.at[:, :, :stop].add(jnp.einsum("gqd,gqk->gdk", d_out_GQd, weights_GQK))
    d_weights_GQK = jnp.einsum("gqd,gkd->gqk", d_out_GQd, v_GLd[:, :stop])
    d_scores_GQK = weights_GQK * (d_weights_GQK - row_term_GL[:, start:stop, None]) * scale
    d_q_blocks.append(jnp.einsum("gqk,gkd->gqd", d_scores_GQK, k_GLd[:, :stop]))
    d_k_GdL = d_k_GdL.at[:, :, :stop].add(jnp.einsum("gqd,gqk->gdk", q_GQd, d_scores_GQK))
  return jnp.concatenate(d_q_blocks, axis=1), jnp.swapaxes(d_k_GdL, 1, 2), jnp.swapaxes(d_v_GdL, 1, 2)


def _group_size(num_pairs: int, rows: int, num_blocks: int) -> int:
  """The most (batch, head) pairs per tile, a divisor of their number, that keep a tile within SCORE_TILE_ELEMENTS."""
  block = -(-rows // num_blocks)
  fits = max(1, SCORE_TILE_ELEMENTS // (block * rows))
  return max(g for g in range(1, min(fits, num_pairs) + 1) if num_pairs % g == 0)


def _to_groups(x_BLHd, group, dtype):
  batch, rows, heads, dim = x_BLHd.shape
  return jnp.swapaxes(x_BLHd, 1, 2).reshape(-1, group, rows, dim).astype(dtype)


def _from_groups(x_NGLd, like_BLHd):
  batch, rows, heads, dim = like_BLHd.shape
  return jnp.swapaxes(x_NGLd.reshape(batch, heads, rows, dim), 1, 2).astype(like_BLHd.dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _tiled_causal_softmax(q_BLHd, k_BLHd, v_BLHd, num_blocks):
  return _tiled_causal_softmax_fwd(q_BLHd, k_BLHd, v_BLHd, num_blocks)[0]


def _tiled_causal_softmax_fwd(q_BLHd, k_BLHd, v_BLHd, num_blocks):
  batch, rows, heads, _ = q_BLHd.shape
  group = _group_size(batch * heads, rows, num_blocks)
  dtype = jnp.promote_types(q_BLHd.dtype, jnp.float32)
  groups = tuple(_to_groups(x, group, dtype) for x in (q_BLHd, k_BLHd, v_BLHd))
  out_NGLd, log_sum_NGL = jax.lax.map(lambda qkv: _group_forward(*qkv, num_blocks), groups)
  return _from_groups(out_NGLd, v_BLHd), (q_BLHd, k_BLHd, v_BLHd, out_NGLd, log_sum_NGL)


def _tiled_causal_softmax_bwd(num_blocks, residuals, d_out_BLHd):
  q_BLHd, k_BLHd, v_BLHd, out_NGLd, log_sum_NGL = residuals
  group, dtype = out_NGLd.shape[1], out_NGLd.dtype
  groups = tuple(_to_groups(x, group, dtype) for x in (q_BLHd, k_BLHd, v_BLHd, d_out_BLHd))
  d_q, d_k, d_v = jax.lax.map(lambda a: _group_backward(*a, num_blocks), groups + (out_NGLd, log_sum_NGL))
  return _from_groups(d_q, q_BLHd), _from_groups(d_k, k_BLHd), _from_groups(d_v, v_BLHd)


_tiled_causal_softmax.defvjp(_tiled_causal_softmax_fwd, _tiled_causal_softmax_bwd)


@jax.named_scope("causal_softmax")
def causal_softmax(q_BLHd: jax.Array, k_BLHd: jax.Array, v_BLHd: jax.Array, num_blocks: int = 16) -> jax.Array:
  """Exact causal softmax attention of every row over the rows up to it (itself included): the softmax twin.

  A tiled kernel in the manner of flash attention, written in JAX for XLA's CPU backend: (batch, head)
  pairs go in groups, one group at a time (lax.map), and within a group the rows go in `num_blocks`
  query blocks, each scored against the keys up to its last row only (the upper triangle, 15/32 of the
  scores at 16 blocks, is never formed). A tile's scores stay cache-resident across the passes over them
  (SCORE_TILE_ELEMENTS); the backward pass recomputes the weights from each row's log-sum-exp, so what is
  kept for it is O(L), not O(L^2), and the working memory is one group's tile (at least one pair's
  L / num_blocks x L scores). The blocks are unrolled, so their number, not L, sets the program's
  size. Why not jax.nn.dot_product_attention: slower on the CPU backend (`python -m
  benchmarks.softmax_attention`, docs/speed.md).
  """
  return _tiled_causal_softmax(q_BLHd, k_BLHd, v_BLHd, num_blocks)


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
