# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Causal linear attention of the SLiM Performer: feature maps and three equal ways to compute it.

Notation (as in the SLiM paper, arXiv 2012.11346): B batch, L length, C chunk length, H heads, d head
size, M features per head (M = d for relu/elu+1/sqr, M = N d for favor+ with N blocks,
M = 2 N d for hedgehog).
Layout is batch-major with heads after length: phi_BLHM, v_BLHd. A layer's recurrent state is the
pair (S_BHMd, z_BHM) of the SLiM paper:

  S_t = S_0 + sum_{tau <= t} phi(k_tau) v_tau^T,   z_t = z_0 + sum_{tau <= t} phi(k_tau),
  out_t = phi(q_t)^T S_t / (phi(q_t)^T z_t + eps),   eps = 1e-16 as in the reference.

The explicit masked form is a test oracle; the prefix sum materialises S_t for every t (memory
L H M d, the reference's `ps` mode); the chunked form carries (S, z) across chunks and inside a
chunk uses the masked product phi(Q) phi(K)^T, which is the same sum ordered differently. A chunk
longer than SUBCHUNK = c is itself split in sub-chunks: masked products within them (memory C c H)
and the state at each sub-chunk's start across them (memory (C / c) H M d), instead of one C x C
product whose cost grows as C^2.

FAVOR+ (Choromanski et al., "Rethinking Attention with Performers", Lemma 1): with x~ = x d^-1/4
and w_m orthogonal rows of norm sqrt(d), phi(x)_m = exp(w_m . x~ - |x~|^2 / 2 - c). The reference
has c = 0 and no stabiliser; the Performer JAX code subtracts a max over the whole sequence,
which a chunked pass cannot know. We use the fixed shift c = d / 4 for both q and k. Because
w_m . x~ - |x~|^2/2 <= |w_m|^2 / 2 = d/2 for every x~, each feature is at most e^(d/4) and each
product phi(q)_m phi(k)_m at most e^(d/2) (the reference: e^d), so float32 stays finite for
d up to about 140 at L = 2^20. The shift multiplies numerator and denominator alike by e^(-2c);
we scale the 1e-16 guard by the same factor (`denominator_epsilon`), so the ratio is exactly the
reference's, not an approximation (up to round-off; for d > 100 that guard falls below float32's
normal range and may flush to 0, which matters only if a denominator underflows too).
"""

import math
from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp

from genome_transformer.config_lib import FEATURE_MAPS

# The reference's guard against 0/0 in out = num / (den + eps).
EPSILON = 1e-16

State = Tuple[jax.Array, jax.Array]  # (S_BHMd, z_BHM)


def num_features(feature_map: str, head_dim: int, num_feature_blocks: int = 1) -> int:
  """M, the number of features per head (`head_dim` is the width of q and k per head)."""
  if feature_map not in FEATURE_MAPS:
    raise ValueError(f"model.feature_map={feature_map!r} is not one of {FEATURE_MAPS}.")
  if feature_map in ("favor+", "hedgehog") and num_feature_blocks < 1:
    raise ValueError(f"model.num_feature_blocks={num_feature_blocks} must be >= 1 for {feature_map}.")
  if feature_map == "favor+":
    return num_feature_blocks * head_dim
  if feature_map == "hedgehog":
    return 2 * num_feature_blocks * head_dim
  return head_dim


def favor_shift(head_dim: int) -> float:
  """The fixed shift c subtracted inside exp for FAVOR+ (see module docstring)."""
  return head_dim / 4.0


def denominator_epsilon(feature_map: str, head_dim: int) -> float:
  """The guard added to the denominator, scaled so that the FAVOR+ shift cancels exactly."""
  if feature_map == "favor+":
    return EPSILON * math.exp(-2.0 * favor_shift(head_dim))
  return EPSILON


def orthogonal_features(key: jax.Array, num_heads: int, head_dim: int, num_blocks: int, dtype=jnp.float32) -> jax.Array:
  """Draws W_HdM: per head, N independent d x d orthogonal blocks, columns scaled to norm sqrt(d).

  Each block is the Q of a Gaussian matrix's QR with the signs of R's diagonal folded in, which
  makes Q Haar-distributed (a plain QR is biased towards R with positive diagonal).
  """
  g_HNdd = jax.random.normal(key, (num_heads, num_blocks, head_dim, head_dim), jnp.float32)
  q_HNdd, r_HNdd = jnp.linalg.qr(g_HNdd)
  signs_HNd = jnp.sign(jnp.diagonal(r_HNdd, axis1=-2, axis2=-1))
  signs_HNd = jnp.where(signs_HNd == 0, 1.0, signs_HNd)
  q_HNdd = q_HNdd * signs_HNd[..., None, :]
  # Columns of each block are the feature vectors w_m; lay the blocks side by side along M.
  w_HdM = jnp.transpose(q_HNdd, (0, 2, 1, 3)).reshape(num_heads, head_dim, num_blocks * head_dim)
  return (w_HdM * math.sqrt(head_dim)).astype(dtype)


@jax.named_scope("feature_map")
def feature_map(
  x_BLHd: jax.Array, kind: str, features_HdM: Optional[jax.Array] = None, hedgehog_floor: float = 0.0
) -> jax.Array:
  """phi(x) for queries or keys (the same map for both, as in the reference)."""
  if kind == "relu":
    return jax.nn.relu(x_BLHd)
  if kind == "elu+1":
    return jax.nn.elu(x_BLHd) + 1.0
  if kind == "sqr":
    return jnp.square(x_BLHd)
  if kind == "favor+":
    if features_HdM is None:
      raise ValueError("feature_map='favor+' needs the random features W_HdM (orthogonal_features).")
    head_dim = x_BLHd.shape[-1]
    x_BLHd = x_BLHd * head_dim**-0.25
    proj_BLHM = jnp.einsum("blhd,hdm->blhm", x_BLHd, features_HdM.astype(x_BLHd.dtype))
    sq_norm_BLH1 = 0.5 * jnp.sum(jnp.square(x_BLHd), axis=-1, keepdims=True)
    return jnp.exp(proj_BLHM - sq_norm_BLH1 - favor_shift(head_dim))
  if kind == "hedgehog":
    if features_HdM is None:
      raise ValueError("feature_map='hedgehog' needs its learned projection W_HdM (a parameter of each layer).")
    return hedgehog_features(x_BLHd, features_HdM, hedgehog_floor)
  raise ValueError(f"Unknown feature map {kind!r}; expected one of {FEATURE_MAPS}.")


def hedgehog_features(x_BLHd: jax.Array, projection_HdM: jax.Array, floor: float = 0.0) -> jax.Array:
  """phi(x) = [softmax(x W), softmax(-x W)] over the features: Hedgehog's learned map.

  Zhang et al. (arXiv 2402.04347) show that linear attention loses to softmax because its weights are
  neither spiky nor monotone in q.k, and that a learned projection under exp gives both back. The
  softmax over features is exp(u) divided by a per-position sum: for a query it cancels between
  numerator and denominator, for a key it is a learned per-key weight; either way it keeps exp finite.
  The map is per position, so chunked, sub-linear and step-by-step attention all see the same phi.

  `floor` = f mixes in the uniform distribution, (1 - f) softmax + f / d' per half, so that every
  feature is at least f / d' of a sum of 1. Exp lets a feature fall to 1e-9 of the others, and then a
  query's denominator can rest on a state entry z_m that small, while the sub-linear reverse pass
  rebuilds z_m as z_end - dz_m from entries up to a chunk long: the cancellation leaves an error of
  float32's eps times those, orders of magnitude above z_m (measured: a human chrX run's gradient went
  NaN at step 1472; README, "Hedgehog and the rebuilt states"). The floor bounds the entries' range to
  d' / f.
  """
  u_BLHM = jnp.einsum("blhd,hdm->blhm", x_BLHd, projection_HdM.astype(x_BLHd.dtype))
  phi_BLHM = jnp.concatenate([jax.nn.softmax(u_BLHM, axis=-1), jax.nn.softmax(-u_BLHM, axis=-1)], axis=-1)
  if not floor:
    return phi_BLHM
  return (1.0 - floor) * phi_BLHM + floor / u_BLHM.shape[-1]


@jax.named_scope("split_by_position")
def split_by_position(
  phi_q_BOHM: jax.Array,
  phi_k_BEHM: jax.Array,
  positions_O: jax.Array,
  positions_E: jax.Array,
  cycles: Sequence[Tuple[int, int, jax.Array]],
) -> Tuple[jax.Array, jax.Array]:
  """Features of a state kept per class of the key's position: phi(q) . phi(k) gains a learned positive factor.

  Each cycle (period P, block B, log_weights_HP) gives position t the coordinate c(t) = floor(t / B) mod P
  (B = 1, P = 3: the codon phase; B = 256, P = 4: which of the last four 256-base blocks). A key fills
  only the block of features of its coordinates (one of prod P); a query at t reads the block of
  coordinates j with the weight prod over cycles of exp(log_weights[h, (c(t) - j) mod P]), so attention's
  weight becomes that factor of the relative coordinates times phi(q) . phi(k). The products are functions
  of each position alone, like the feature map, so every chunked, sub-linear and stepping path carries them
  unchanged; every factor is positive, so the denominator keeps the sign of the unsplit one.
  """
  slots_E = jnp.zeros(positions_E.shape, jnp.int32)
  log_query_weights_OHS = jnp.zeros((positions_O.shape[0], phi_q_BOHM.shape[2], 1), phi_q_BOHM.dtype)
  for period, block, log_weights_HP in cycles:
    slots_E = slots_E * period + jnp.mod(jnp.floor_divide(positions_E, block), period)
    relative_OP = jnp.mod(jnp.floor_divide(positions_O, block)[:, None] - jnp.arange(period)[None, :], period)
    log_factor_OHP = log_weights_HP.astype(phi_q_BOHM.dtype)[:, relative_OP].transpose(1, 0, 2)
    # Slots in mixed radix, this cycle's coordinate last: (.., S, 1) + (.., 1, P) -> S P.
    log_query_weights_OHS = (log_query_weights_OHS[..., :, None] + log_factor_OHP[..., None, :]).reshape(
      log_query_weights_OHS.shape[:2] + (-1,)
    )
  num_slots = log_query_weights_OHS.shape[-1]
  by_slot = lambda phi, w: (w[..., None] * phi[..., None, :]).reshape(phi.shape[:-1] + (-1,))
  key_slot_E1S = jax.nn.one_hot(slots_E, num_slots, dtype=phi_k_BEHM.dtype)[:, None]
  return by_slot(phi_q_BOHM, jnp.exp(log_query_weights_OHS)[None]), by_slot(phi_k_BEHM, key_slot_E1S[None])


@jax.named_scope("causal_depthwise_conv")
def causal_depthwise_conv(x_BEF: jax.Array, kernel_KF: jax.Array) -> jax.Array:
  """out[t] = sum_j kernel[j] * x[t - j], per channel, with x = 0 before the first row.

  K shifted multiply-adds instead of a grouped convolution: for K <= 8 this is a few passes over
  the array, where XLA's CPU grouped convolution ran the first probe of this model at a sixth of
  the plain model's speed. Its own gradient, the same shifts run backwards (model/naive.py has the
  form under plain autodiff, which pads the cotangent once per tap).
  """
  return _causal_depthwise_conv(x_BEF, kernel_KF.astype(x_BEF.dtype)).astype(x_BEF.dtype)


def _shifted_sum(x_BEF: jax.Array, kernel_KF: jax.Array, direction: int) -> jax.Array:
  """sum_j kernel[j] * x[t - direction j], x = 0 outside its rows."""
  width, length = kernel_KF.shape[0], x_BEF.shape[1]
  lead, trail = (width - 1, 0) if direction > 0 else (0, width - 1)
  padded_BEF = jnp.pad(x_BEF, [(0, 0), (lead, trail), (0, 0)])
  kernel_K11F = kernel_KF[:, None, None, :]
  out_BEF = x_BEF * kernel_K11F[0]
  for j in range(1, width):
    begin = lead - direction * j
    out_BEF = out_BEF + padded_BEF[:, begin : begin + length] * kernel_K11F[j]
  return out_BEF


@jax.custom_vjp
def _causal_depthwise_conv(x_BEF: jax.Array, kernel_KF: jax.Array) -> jax.Array:
  return _shifted_sum(x_BEF, kernel_KF, 1)


def _causal_depthwise_conv_fwd(x_BEF, kernel_KF):
  return _shifted_sum(x_BEF, kernel_KF, 1), (x_BEF, kernel_KF)


def _causal_depthwise_conv_bwd(residuals, d_out_BEF):
  x_BEF, kernel_KF = residuals
  width, length = kernel_KF.shape[0], x_BEF.shape[1]
  # d x[t] = sum_j kernel[j] d_out[t + j]; d kernel[j] = sum over batch and t of d_out[t] x[t - j].
  d_x_BEF = _shifted_sum(d_out_BEF, kernel_KF, -1)
  padded_BEF = jnp.pad(x_BEF, [(0, 0), (width - 1, 0), (0, 0)])
  d_kernel_KF = jnp.stack(
    [jnp.sum(d_out_BEF * padded_BEF[:, width - 1 - j : width - 1 - j + length], axis=(0, 1)) for j in range(width)]
  )
  return d_x_BEF, d_kernel_KF


_causal_depthwise_conv.defvjp(_causal_depthwise_conv_fwd, _causal_depthwise_conv_bwd)


# Query rows per block of the sliding window (at least window - 1, the halo each block reads before it).
WINDOW_BLOCK = 64


@jax.named_scope("sliding_window_softmax")
def sliding_window_softmax(
  q_BEHd: jax.Array, k_BEHd: jax.Array, v_BEHd: jax.Array, window: int, valid_E: jax.Array, num_queries: int
) -> jax.Array:
  """Exact causal softmax of the last `num_queries` rows over the `window` rows up to each (itself included).

  Keys on invalid rows (positions before the sequence start) are masked out; a query always sees
  itself, so no row is all masked. Scores in at least float32 and scaled by 1/sqrt(d), as the softmax
  baseline. The queries go in blocks of b = max(WINDOW_BLOCK, window - 1) rows, each scored against
  its own rows and the b rows before them (which hold its halo of window - 1), so the cost is 2 b
  scores per query, not one per given row (model/naive.py has the direct form).
  """
  rows = k_BEHd.shape[1]
  block = max(WINDOW_BLOCK, window - 1)
  num_blocks = -(-num_queries // block)
  first = rows - num_queries
  # One block of absent rows in front (the halo of the first block) and the last block's ragged end.
  pad = [(0, 0), (block, num_blocks * block - num_queries)]
  span = slice(first, first + (num_blocks + 1) * block)

  def blocks(x):  # [B, E, ...] -> [B, N + 1, b, ...]: rows first - b .. first + N b, padded where absent.
    x = jnp.pad(x, pad + [(0, 0)] * (x.ndim - 2))[:, span]
    return x.reshape((x.shape[0], num_blocks + 1, block) + x.shape[2:])

  q_BNbHd = blocks(q_BEHd)[:, 1:]
  with_halo = lambda x: jnp.concatenate([x[:, :-1], x[:, 1:]], axis=2)  # Block j's keys: blocks j - 1 and j.
  k_BNKHd, v_BNKHd = with_halo(blocks(k_BEHd)), with_halo(blocks(v_BEHd))
  valid_NK = with_halo(blocks(valid_E[None])[..., None])[0, ..., 0]
  lag_bK = block + jnp.arange(block)[:, None] - jnp.arange(2 * block)[None, :]
  in_window_bK = (lag_bK >= 0) & (lag_bK < window)
  allowed_NbK = in_window_bK[None] & (valid_NK[:, None, :] | (lag_bK == 0)[None])
  out_BNbHd = _masked_softmax_attention(q_BNbHd, k_BNKHd, v_BNKHd, allowed_NbK[None, :, None])
  out_BQHd = out_BNbHd.reshape((out_BNbHd.shape[0], num_blocks * block) + out_BNbHd.shape[3:])
  return out_BQHd[:, :num_queries]


@jax.custom_vjp
def _masked_softmax_attention(q_XQHd, k_XKHd, v_XKHd, allowed_XHQK: jax.Array) -> jax.Array:
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


_masked_softmax_attention.defvjp(_masked_softmax_attention_fwd, _masked_softmax_attention_bwd)


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
      _masked_softmax_attention(q_BLHd[:, start:stop], k_BLHd[:, :stop], v_BLHd[:, :stop], allowed_QK[None, None])
    )
  return jnp.concatenate(outs, axis=1)


def zero_state(batch_size: int, num_heads: int, num_feats: int, head_dim: int, dtype=jnp.float32) -> State:
  return (
    jnp.zeros((batch_size, num_heads, num_feats, head_dim), dtype),
    jnp.zeros((batch_size, num_heads, num_feats), dtype),
  )


@jax.named_scope("state_delta")
def state_delta(phi_k_BCHM: jax.Array, v_BCHd: jax.Array) -> State:
  """One chunk's contribution (sum_tau phi(k_tau) v_tau^T, sum_tau phi(k_tau)) to the state."""
  return (jnp.einsum("bchm,bchd->bhmd", phi_k_BCHM, v_BCHd), jnp.sum(phi_k_BCHM, axis=1))


def causal_linear_attention_explicit(
  phi_q_BLHM: jax.Array, phi_k_BLHM: jax.Array, v_BLHd: jax.Array, eps: float = EPSILON
) -> jax.Array:
  """tril(phi(Q) phi(K)^T) V row-normalised: O(L^2) memory, a test oracle only."""
  length = phi_q_BLHM.shape[1]
  a_BHLL = jnp.einsum("blhm,bshm->bhls", phi_q_BLHM, phi_k_BLHM)
  a_BHLL = jnp.where(jnp.tril(jnp.ones((length, length), bool)), a_BHLL, 0.0)
  num_BLHd = jnp.einsum("bhls,bshd->blhd", a_BHLL, v_BLHd)
  den_BLH = jnp.sum(a_BHLL, axis=-1).swapaxes(1, 2)
  return num_BLHd / (den_BLH[..., None] + eps)


def _prefix_sum(x_BL: jax.Array) -> jax.Array:
  """Inclusive cumulative sum along axis 1."""
  return jax.lax.associative_scan(jnp.add, x_BL, axis=1)


@jax.named_scope("causal_linear_attention_prefix_sum")
def causal_linear_attention_prefix_sum(
  phi_q_BLHM: jax.Array,
  phi_k_BLHM: jax.Array,
  v_BLHd: jax.Array,
  initial_state: Optional[State] = None,
  eps: float = EPSILON,
) -> jax.Array:
  """Cumulative sums of phi(k) v^T and phi(k) over the whole sequence: memory L H M d.

  The sums are a parallel prefix (lax.associative_scan): the same S_t, in a tree order. XLA's CPU
  cumsum (reduce_window) took 10x the time of a pass over the L H M d array, and made plain
  autodiff of this form 3x slower (benchmarks/train_throughput.py).
  """
  s_BLHMd = _prefix_sum(jnp.einsum("blhm,blhd->blhmd", phi_k_BLHM, v_BLHd))
  z_BLHM = _prefix_sum(phi_k_BLHM)
  if initial_state is not None:
    s0_BHMd, z0_BHM = initial_state
    s_BLHMd = s_BLHMd + s0_BHMd[:, None].astype(s_BLHMd.dtype)
    z_BLHM = z_BLHM + z0_BHM[:, None].astype(z_BLHM.dtype)
  num_BLHd = jnp.einsum("blhm,blhmd->blhd", phi_q_BLHM, s_BLHMd)
  den_BLH = jnp.einsum("blhm,blhm->blh", phi_q_BLHM, z_BLHM)
  return num_BLHd / (den_BLH[..., None] + eps)


# Sub-chunk length of the two-level chunk (`_block_subchunked`). A chunk's masked product costs
# C^2 (M + d) multiply-adds per head and C^2 H floats; in sub-chunks of c it costs C c (M + d) for
# the masked products, 2 C M d to make and read the sub-chunk states, and (C / c)^2 M d for their
# prefix sums. With M = d = 64 (every reference preset), c = 64 was the fastest of 32, 64 and 128
# on CPU (D=256, C=1024 and 4096; docs/speed.md).
SUBCHUNK = 64


@jax.named_scope("causal_linear_attention_block")
def causal_linear_attention_block(
  phi_q_BCHM: jax.Array, phi_k_BCHM: jax.Array, v_BCHd: jax.Array, state: State, eps: float = EPSILON
) -> Tuple[jax.Array, State]:
  """One chunk from its start state: (out_BCHd, end state).

  The state may be kept in a wider dtype than the activations (a round-off remedy): it is read in
  the activations' dtype and updated in its own. A chunk longer than SUBCHUNK is computed in
  sub-chunks (`_block_subchunked`): the same sums, with the quadratic part confined to
  SUBCHUNK x SUBCHUNK blocks.
  """
  if phi_q_BCHM.shape[1] > SUBCHUNK:
    return _block_subchunked(phi_q_BCHM, phi_k_BCHM, v_BCHd, state, eps)
  s0_BHMd, z0_BHM = state
  length = phi_q_BCHM.shape[1]
  a_BHCC = jnp.einsum("bchm,bshm->bhcs", phi_q_BCHM, phi_k_BCHM)
  a_BHCC = jnp.where(jnp.tril(jnp.ones((length, length), bool)), a_BHCC, 0.0)
  num_BCHd = jnp.einsum("bhcs,bshd->bchd", a_BHCC, v_BCHd) + jnp.einsum(
    "bchm,bhmd->bchd", phi_q_BCHM, s0_BHMd.astype(phi_q_BCHM.dtype)
  )
  den_BCH = jnp.sum(a_BHCC, axis=-1).swapaxes(1, 2) + jnp.einsum(
    "bchm,bhm->bch", phi_q_BCHM, z0_BHM.astype(phi_q_BCHM.dtype)
  )
  out_BCHd = num_BCHd / (den_BCH[..., None] + eps)
  ds_BHMd, dz_BHM = state_delta(phi_k_BCHM, v_BCHd)
  return out_BCHd, (s0_BHMd + ds_BHMd.astype(s0_BHMd.dtype), z0_BHM + dz_BHM.astype(z0_BHM.dtype))


def _block_subchunked(
  phi_q_BCHM: jax.Array, phi_k_BCHM: jax.Array, v_BCHd: jax.Array, state: State, eps: float
) -> Tuple[jax.Array, State]:
  """causal_linear_attention_block for C > SUBCHUNK: a chunk split into n sub-chunks of c.

  Within a sub-chunk, the masked product tril(phi(Q) phi(K)^T) V; across sub-chunks, each
  sub-chunk's queries read the state at its start, s0 + the exclusive prefix sum of the earlier
  sub-chunks' phi(K)^T V (the recurrence of paper Eq. 5 at sub-chunk granularity). A ragged
  chunk is zero-padded to n c: a padded key adds nothing; padded rows are cut before the
  division, so they never divide 0 by 0.
  """
  s0_BHMd, z0_BHM = state
  batch, length, heads, feats = phi_q_BCHM.shape
  head_dim = v_BCHd.shape[-1]
  sub = SUBCHUNK
  n = -(-length // sub)
  pad = n * sub - length

  def split(x):
    x = jnp.pad(x, [(0, 0), (0, pad), (0, 0), (0, 0)]) if pad else x
    return x.reshape((batch, n, sub) + x.shape[2:])

  q_BNcHM, k_BNcHM, v_BNcHd = split(phi_q_BCHM), split(phi_k_BCHM), split(v_BCHd)
  dtype = q_BNcHM.dtype
  a_BNHcc = jnp.einsum("bnchm,bnshm->bnhcs", q_BNcHM, k_BNcHM)
  a_BNHcc = jnp.where(jnp.tril(jnp.ones((sub, sub), bool)), a_BNHcc, 0.0)
  ds_BNHMd = jnp.einsum("bnchm,bnchd->bnhmd", k_BNcHM, v_BNcHd)
  dz_BNHM = jnp.sum(k_BNcHM, axis=2)
  # Exclusive prefix: sub-chunk j starts from s0 + sum_{i < j} ds_i. A product with the strictly
  # lower triangular n x n matrix is one small matmul; XLA's CPU cumsum (reduce_window) was slower.
  before_NN = jnp.tril(jnp.ones((n, n), dtype), -1)
  s_BNHMd = s0_BHMd.astype(dtype)[:, None] + jnp.einsum("ij,bjhmd->bihmd", before_NN, ds_BNHMd)
  z_BNHM = z0_BHM.astype(dtype)[:, None] + jnp.einsum("ij,bjhm->bihm", before_NN, dz_BNHM)
  num_BNcHd = jnp.einsum("bnhcs,bnshd->bnchd", a_BNHcc, v_BNcHd) + jnp.einsum("bnchm,bnhmd->bnchd", q_BNcHM, s_BNHMd)
  den_BNcH = jnp.sum(a_BNHcc, axis=-1).swapaxes(2, 3) + jnp.einsum("bnchm,bnhm->bnch", q_BNcHM, z_BNHM)
  num_BCHd = num_BNcHd.reshape(batch, n * sub, heads, head_dim)[:, :length]
  den_BCH = den_BNcH.reshape(batch, n * sub, heads)[:, :length]
  out_BCHd = num_BCHd / (den_BCH[..., None] + eps)
  ds_BHMd, dz_BHM = jnp.sum(ds_BNHMd, axis=1), jnp.sum(dz_BNHM, axis=1)
  return out_BCHd, (s0_BHMd + ds_BHMd.astype(s0_BHMd.dtype), z0_BHM + dz_BHM.astype(z0_BHM.dtype))


def causal_linear_attention_chunked(
  phi_q_BLHM: jax.Array,
  phi_k_BLHM: jax.Array,
  v_BLHd: jax.Array,
  chunk_size: int,
  initial_state: Optional[State] = None,
  eps: float = EPSILON,
) -> Tuple[jax.Array, State]:
  """lax.scan over chunks of `chunk_size` carrying (S, z); returns (out_BLHd, final state).

  A ragged last chunk is zero-padded: phi(k) = 0 there adds nothing to the state, so the final
  state is exact. The chunk body is rematerialised under autodiff (jax.checkpoint), so the
  backward pass stores one carry per chunk rather than every chunk's activations.
  """
  if chunk_size < 1:
    raise ValueError(f"chunk_size={chunk_size} must be >= 1.")
  batch, length, heads, feats = phi_q_BLHM.shape
  head_dim = v_BLHd.shape[-1]
  if initial_state is None:
    initial_state = zero_state(batch, heads, feats, head_dim, phi_q_BLHM.dtype)
  num_chunks = -(-length // chunk_size)
  pad = num_chunks * chunk_size - length

  def to_chunks(x):
    x = jnp.pad(x, [(0, 0), (0, pad)] + [(0, 0)] * (x.ndim - 2))
    return jnp.moveaxis(x.reshape((batch, num_chunks, chunk_size) + x.shape[2:]), 1, 0)

  @jax.checkpoint
  def body(state, xs):
    phi_q_BCHM, phi_k_BCHM, v_BCHd = xs
    out_BCHd, state = causal_linear_attention_block(phi_q_BCHM, phi_k_BCHM, v_BCHd, state, eps)
    return state, out_BCHd

  final_state, out_NBCHd = jax.lax.scan(
    body, initial_state, (to_chunks(phi_q_BLHM), to_chunks(phi_k_BLHM), to_chunks(v_BLHd))
  )
  out_BLHd = jnp.moveaxis(out_NBCHd, 0, 1).reshape(batch, num_chunks * chunk_size, heads, head_dim)
  return out_BLHd[:, :length], final_state
