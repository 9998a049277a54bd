# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Local mixing: a layer's depthwise causal convolution and its heads of softmax over a sliding window.

Both read a few rows of the layer's input before each position, R = (K - 1) + (window - 1) in all
(performer.context_rows), which chunked and sub-linear passes carry or recompute. Each has its own
gradient; model/naive.py has the direct forms under plain autodiff that tests check them against.
`CausalConv` is the convolution as a submodule a layer composes (its taps a parameter of that layer).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

from genome_transformer.model import softmax_attention


@jax.named_scope("causal_depthwise_conv")
def causal_depthwise_conv(x_BEF: jax.Array, kernel_KF: jax.Array) -> jax.Array:
  """out[t] = sum_j kernel[j] * x[t - j], per channel, with x = 0 before the first row.

  K shifted multiply-adds instead of a grouped convolution: for K <= 8 this is a few passes over
  the array, where XLA's CPU grouped convolution ran the first probe of this model at a sixth of
  the plain model's speed. Its own gradient, the same shifts run backwards (model/naive.py has the
  form under plain autodiff, which pads the cotangent once per tap).
  """
  return _causal_depthwise_conv(x_BEF, kernel_KF.astype(x_BEF.dtype)).astype(x_BEF.dtype)


def identity_taps(key, shape, dtype=jnp.float32):
  """A convolution that starts as the identity (tap 0 = 1): the model starts as the faithful one."""
  del key
  return jnp.zeros(shape, dtype).at[0].set(1.0)


class CausalConv(nn.Module):
  """A depthwise causal convolution of `width` taps; rows where `valid_E` is False (before the sequence)
  read as zero.

  A layer composes it with nn.share_scope, so the taps are the layer's parameter `taps_name` (the path
  every checkpoint and release holds: layer_i/conv_query, not layer_i/<submodule>/...).
  """

  width: int
  taps_name: str

  @nn.compact
  def __call__(self, x_BEF: jax.Array, valid_E: jax.Array) -> jax.Array:
    taps_KF = self.param(self.taps_name, identity_taps, (self.width, x_BEF.shape[-1]))
    return causal_depthwise_conv(x_BEF * valid_E[None, :, None].astype(x_BEF.dtype), taps_KF)


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
  out_BNbHd = softmax_attention.masked_softmax_attention(q_BNbHd, k_BNKHd, v_BNKHd, allowed_NbK[None, :, None])
  out_BQHd = out_BNbHd.reshape((out_BNbHd.shape[0], num_blocks * block) + out_BNbHd.shape[3:])
  return out_BQHd[:, :num_queries]
