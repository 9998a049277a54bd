# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The fast paths (docs/speed.md) compute the same numbers as the plain ones.

- linear_attention.causal_linear_attention_block splits a chunk longer than linear_attention.SUBCHUNK into
  sub-chunks (masked product inside, carried prefix states across): equal to the prefix sum
  from the same start state, values and gradients, ragged or not.
- sublinear.loss_and_grad takes the loss from its reverse pass and runs a states-only forward:
  equal to plain autodiff with chunks long enough to take the sub-chunked path.
"""

import jax
import jax.numpy as jnp
from model_testing import jit, make_config
import numpy as np
import pytest

from genome_transformer.model import feature_maps, linear_attention, losses, sublinear
from genome_transformer.model import performer as model_lib

B, H, D_HEAD = 2, 2, 8


def _inputs(length, kind, blocks, dtype, seed=0):
  keys = jax.random.split(jax.random.PRNGKey(seed), 6)
  q, k, v = (jax.random.normal(key, (B, length, H, D_HEAD), dtype) for key in keys[:3])
  w_HdM = feature_maps.orthogonal_features(keys[3], H, D_HEAD, blocks, dtype) if kind == "favor+" else None
  phi_q, phi_k = feature_maps.feature_map(q, kind, w_HdM), feature_maps.feature_map(k, kind, w_HdM)
  feats = phi_q.shape[-1]
  # A non-trivial start state, as after earlier chunks: a sum of positive features.
  s0 = jnp.abs(jax.random.normal(keys[4], (B, H, feats, D_HEAD), dtype)) * 3.0
  z0 = jnp.abs(jax.random.normal(keys[5], (B, H, feats), dtype)) * 3.0
  return phi_q, phi_k, v, (s0, z0), feature_maps.denominator_epsilon(kind, D_HEAD)


def _oracle(phi_q, phi_k, v, state, eps):
  out = linear_attention.causal_linear_attention_prefix_sum(phi_q, phi_k, v, initial_state=state, eps=eps)
  s0, z0 = state
  return out, (s0 + jnp.einsum("blhm,blhd->bhmd", phi_k, v), z0 + jnp.sum(phi_k, axis=1))


# 3 whole sub-chunks; a ragged one (2 x 64 + 17); favor+ with M = 2 d.
@pytest.mark.parametrize(
  "length,kind,blocks",
  [
    (3 * linear_attention.SUBCHUNK, "sqr", 1),
    (2 * linear_attention.SUBCHUNK + 17, "sqr", 1),
    (2 * linear_attention.SUBCHUNK + 17, "favor+", 2),
  ],
)
def test_subchunked_block_equals_prefix_sum_float64(length, kind, blocks):
  assert length > linear_attention.SUBCHUNK  # The sub-chunked path runs.
  with jax.enable_x64(True):
    phi_q, phi_k, v, state, eps = _inputs(length, kind, blocks, jnp.float64)
    out, end = jit(linear_attention.causal_linear_attention_block)(phi_q, phi_k, v, state, eps)
    want_out, want_end = jit(_oracle)(phi_q, phi_k, v, state, eps)
    assert out.shape == (B, length, H, D_HEAD) and out.dtype == jnp.float64
    np.testing.assert_allclose(out, want_out, rtol=1e-11, atol=0)
    for got, want in zip(end, want_end):
      np.testing.assert_allclose(got, want, rtol=1e-11, atol=0)


def test_subchunked_block_float32_and_gradients():
  length = 2 * linear_attention.SUBCHUNK + 17
  phi_q, phi_k, v, state, eps = _inputs(length, "sqr", 1, jnp.float32, seed=3)
  weights = jax.random.normal(jax.random.PRNGKey(7), (B, length, H, D_HEAD))

  def objective(fn):
    def f(phi_q, phi_k, v, state):
      out, (s, z) = fn(phi_q, phi_k, v, state, eps)
      return jnp.sum(out * weights) + 1e-3 * (jnp.sum(s) + jnp.sum(z))

    return f

  got_v, got_g = jit(
    jax.value_and_grad(objective(linear_attention.causal_linear_attention_block), argnums=(0, 1, 2, 3))
  )(phi_q, phi_k, v, state)
  want_v, want_g = jit(jax.value_and_grad(objective(_oracle), argnums=(0, 1, 2, 3)))(phi_q, phi_k, v, state)
  np.testing.assert_allclose(got_v, want_v, rtol=1e-5)
  for got, want in zip(jax.tree.leaves(got_g), jax.tree.leaves(want_g)):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * float(jnp.max(jnp.abs(want))))


def test_sublinear_with_subchunked_chunks_equals_autodiff():
  model = model_lib.SLiMPerformer(make_config())
  tokens = jax.random.randint(jax.random.PRNGKey(1), (B, 300), 0, 6)  # Some N/pad targets, which do not count.
  params = model.init(jax.random.PRNGKey(0), tokens[:, :8])["params"]
  chunk = linear_attention.SUBCHUNK * 2  # 300 = 2 x 128 + 44: sub-chunked, ragged, and a short last chunk.
  loss, grads = jit(lambda p: sublinear.loss_and_grad(model, p, tokens, chunk))(params)
  want_loss, want_grads = jit(jax.value_and_grad(lambda p: losses.full_loss(model, p, tokens)))(params)
  assert float(want_loss) > 1.0
  np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
  for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(want_grads)):
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * float(jnp.max(jnp.abs(want))))
