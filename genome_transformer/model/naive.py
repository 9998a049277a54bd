# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Reference forms of the attention ops: the plain code that the model's faster forms replaced, kept as the
test oracles they are checked against (forward and gradients; tests/test_local_mixing.py, test_attention.py).

Each computes the same function as its namesake in local_mixing.py, softmax_attention.py or
linear_attention.py, written the direct way: the window as one masked softmax of every query over every
given row, softmax attention through jax.nn.softmax under plain autodiff, and linear attention as the
explicit masked L x L product. docs/speed.md says what changed and what it bought.
"""

import math

import jax
import jax.numpy as jnp


def causal_depthwise_conv(x_BEF: jax.Array, kernel_KF: jax.Array) -> jax.Array:
  """local_mixing.causal_depthwise_conv as K shifted multiply-adds under plain autodiff."""
  width = kernel_KF.shape[0]
  length = x_BEF.shape[1]
  padded_BEF = jnp.pad(x_BEF, [(0, 0), (width - 1, 0), (0, 0)])
  kernel_K11F = kernel_KF.astype(x_BEF.dtype)[:, None, None, :]
  out_BEF = x_BEF * kernel_K11F[0]
  for j in range(1, width):
    out_BEF = out_BEF + padded_BEF[:, width - 1 - j : width - 1 - j + length] * kernel_K11F[j]
  return out_BEF


def sliding_window_softmax(
  q_BEHd: jax.Array, k_BEHd: jax.Array, v_BEHd: jax.Array, window: int, valid_E: jax.Array, num_queries: int
) -> jax.Array:
  """local_mixing.sliding_window_softmax as one num_queries x E masked softmax per head."""
  rows = k_BEHd.shape[1]
  query_rows_Q = jnp.arange(rows - num_queries, rows)
  key_rows_E = jnp.arange(rows)
  lag_QE = query_rows_Q[:, None] - key_rows_E[None, :]
  allowed_QE = (lag_QE >= 0) & (lag_QE < window) & (valid_E[None, :] | (lag_QE == 0))
  return masked_softmax_attention(q_BEHd[:, rows - num_queries :], k_BEHd, v_BEHd, allowed_QE)


def masked_softmax_attention(q_BQHd, k_BKHd, v_BKHd, allowed_QK: jax.Array) -> jax.Array:
  """Softmax attention of each query over the keys `allowed_QK` lets it see, through jax.nn.softmax."""
  scale = 1.0 / math.sqrt(q_BQHd.shape[-1])
  score_dtype = jnp.promote_types(q_BQHd.dtype, jnp.float32)
  scores_BHQK = jnp.einsum("bqhd,bkhd->bhqk", q_BQHd, k_BKHd).astype(score_dtype) * scale
  scores_BHQK = jnp.where(allowed_QK[None, None], scores_BHQK, -jnp.inf)
  weights_BHQK = jax.nn.softmax(scores_BHQK, axis=-1).astype(v_BKHd.dtype)
  return jnp.einsum("bhqk,bkhd->bqhd", weights_BHQK, v_BKHd)


def causal_softmax(q_BLHd: jax.Array, k_BLHd: jax.Array, v_BLHd: jax.Array, num_blocks: int = 8) -> jax.Array:
  """softmax_attention.causal_softmax in blocks of query rows, each block's softmax through jax.nn.softmax."""
  rows = q_BLHd.shape[1]
  block = -(-rows // num_blocks)
  outs = []
  for start in range(0, rows, block):
    stop = min(start + block, rows)
    allowed_QK = jnp.arange(stop)[None, :] <= jnp.arange(start, stop)[:, None]
    outs.append(masked_softmax_attention(q_BLHd[:, start:stop], k_BLHd[:, :stop], v_BLHd[:, :stop], allowed_QK))
  return jnp.concatenate(outs, axis=1)


def causal_linear_attention_explicit(
  phi_q_BLHM: jax.Array, phi_k_BLHM: jax.Array, v_BLHd: jax.Array, eps: float = 1e-16
) -> jax.Array:
  """tril(phi(Q) phi(K)^T) V row-normalised: O(L^2) memory, a test oracle only."""
  length = phi_q_BLHM.shape[1]
  a_BHLL = jnp.einsum("blhm,bshm->bhls", phi_q_BLHM, phi_k_BLHM)
  a_BHLL = jnp.where(jnp.tril(jnp.ones((length, length), bool)), a_BHLL, 0.0)
  num_BLHd = jnp.einsum("bhls,bshd->blhd", a_BHLL, v_BLHd)
  den_BLH = jnp.sum(a_BHLL, axis=-1).swapaxes(1, 2)
  return num_BLHd / (den_BLH[..., None] + eps)
