# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Causal linear attention of the SLiM Performer: its state and three equal ways to compute it.

Notation (as in the SLiM paper, arXiv 2012.11346): B batch, L length, C chunk length, H heads, d head
size, M features per head (model/feature_maps.py). Layout is batch-major with heads after length:
phi_BLHM, v_BLHd. A layer's recurrent state is the pair (S_BHMd, z_BHM) of the SLiM paper:

  S_t = S_0 + sum_{tau <= t} phi(k_tau) v_tau^T,   z_t = z_0 + sum_{tau <= t} phi(k_tau),
  out_t = phi(q_t)^T S_t / (phi(q_t)^T z_t + eps),   eps = 1e-16 as in the reference.

The prefix sum materialises S_t for every t (memory L H M d, the reference's `ps` mode); the chunked
form carries (S, z) across chunks and inside a chunk uses the masked product phi(Q) phi(K)^T, which is
the same sum ordered differently. A chunk longer than the sub-chunk c is itself split in sub-chunks:
masked products within them (memory C c H) and the state at each sub-chunk's start across them
(memory (C / c) H M d), instead of one C x C product whose cost grows as C^2. The explicit masked form
is model/naive.py's oracle. `split_by_position` widens the features by a class of each key's position.
"""

from typing import Optional, Sequence, Tuple

import jax
import jax.numpy as jnp

from genome_transformer.model.feature_maps import EPSILON

State = Tuple[jax.Array, jax.Array]  # (S_BHMd, z_BHM)


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


def zero_state(batch_size: int, num_heads: int, num_feats: int, head_dim: int, dtype=jnp.float32) -> State:
  return (
    jnp.zeros((batch_size, num_heads, num_feats, head_dim), dtype),
    jnp.zeros((batch_size, num_heads, num_feats), dtype),
  )


@jax.named_scope("state_delta")
def state_delta(phi_k_BCHM: jax.Array, v_BCHd: jax.Array) -> State:
  """One chunk's contribution (sum_tau phi(k_tau) v_tau^T, sum_tau phi(k_tau)) to the state."""
  return (jnp.einsum("bchm,bchd->bhmd", phi_k_BCHM, v_BCHd), jnp.sum(phi_k_BCHM, axis=1))


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
