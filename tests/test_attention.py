# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Causal linear attention: explicit == prefix sum == chunked scan, and the feature maps."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genome_transformer.model import feature_maps, linear_attention, local_mixing, naive, softmax_attention

B, L, H, D_HEAD = 2, 13, 2, 8
# (feature map, blocks): favor+ with N = 2 has M = 2 d features.
MAPS = [("relu", 1), ("elu+1", 1), ("sqr", 1), ("favor+", 1), ("favor+", 2)]


def _phis(kind, blocks, dtype=jnp.float32, seed=0):
  kq, kk, kv, kf = jax.random.split(jax.random.PRNGKey(seed), 4)
  q_BLHd = jax.random.normal(kq, (B, L, H, D_HEAD), dtype)
  k_BLHd = jax.random.normal(kk, (B, L, H, D_HEAD), dtype)
  v_BLHd = jax.random.normal(kv, (B, L, H, D_HEAD), dtype)
  w_HdM = feature_maps.orthogonal_features(kf, H, D_HEAD, blocks, dtype) if kind == "favor+" else None
  eps = feature_maps.denominator_epsilon(kind, D_HEAD)
  return (feature_maps.feature_map(q_BLHd, kind, w_HdM), feature_maps.feature_map(k_BLHd, kind, w_HdM), v_BLHd, eps)


@functools.partial(jax.jit, static_argnums=(3,))
def _chunked(phi_q, phi_k, v, chunk_size, eps):
  return linear_attention.causal_linear_attention_chunked(phi_q, phi_k, v, chunk_size, eps=eps)


@pytest.mark.parametrize("kind,blocks", MAPS)
def test_explicit_prefix_sum_and_chunked_agree(kind, blocks):
  phi_q, phi_k, v, eps = _phis(kind, blocks)
  assert phi_q.shape == (B, L, H, blocks * D_HEAD)
  explicit = naive.causal_linear_attention_explicit(phi_q, phi_k, v, eps)
  prefix = linear_attention.causal_linear_attention_prefix_sum(phi_q, phi_k, v, eps=eps)
  np.testing.assert_allclose(prefix, explicit, rtol=2e-5, atol=2e-6)
  # 1: fully sequential; 5: ragged last chunk (13 = 5 + 5 + 3); 13: one chunk; 32 > L.
  for chunk_size in (1, 5, L, 32):
    out, (s_BHMd, z_BHM) = _chunked(phi_q, phi_k, v, chunk_size, eps)
    np.testing.assert_allclose(out, explicit, rtol=2e-5, atol=2e-6, err_msg=f"chunk_size={chunk_size}")
    # The final state is the full sum (padding of the ragged chunk adds nothing).
    np.testing.assert_allclose(s_BHMd, jnp.einsum("blhm,blhd->bhmd", phi_k, v), rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(z_BHM, jnp.sum(phi_k, axis=1), rtol=2e-5, atol=1e-5)


def test_agreement_is_tight_in_float64():
  with jax.enable_x64(True):
    phi_q, phi_k, v, eps = _phis("sqr", 1, jnp.float64)
    explicit = naive.causal_linear_attention_explicit(phi_q, phi_k, v, eps)
    prefix = linear_attention.causal_linear_attention_prefix_sum(phi_q, phi_k, v, eps=eps)
    out, _ = linear_attention.causal_linear_attention_chunked(phi_q, phi_k, v, 4, eps=eps)
    assert out.dtype == jnp.float64
    np.testing.assert_allclose(prefix, explicit, rtol=1e-12, atol=0)
    np.testing.assert_allclose(out, explicit, rtol=1e-12, atol=0)


def test_initial_state_is_a_prefix():
  """Running the second half from the first half's final state equals running the whole."""
  phi_q, phi_k, v, eps = _phis("elu+1", 1)
  whole = naive.causal_linear_attention_explicit(phi_q, phi_k, v, eps)
  _, state = linear_attention.causal_linear_attention_chunked(phi_q[:, :6], phi_k[:, :6], v[:, :6], 4, eps=eps)
  tail, _ = linear_attention.causal_linear_attention_chunked(phi_q[:, 6:], phi_k[:, 6:], v[:, 6:], 3, state, eps=eps)
  tail_ps = linear_attention.causal_linear_attention_prefix_sum(phi_q[:, 6:], phi_k[:, 6:], v[:, 6:], state, eps=eps)
  np.testing.assert_allclose(tail, whole[:, 6:], rtol=2e-5, atol=2e-6)
  np.testing.assert_allclose(tail_ps, whole[:, 6:], rtol=2e-5, atol=2e-6)


def test_chunked_gradient_equals_prefix_sum_gradient():
  """jax.checkpoint on the scan body changes memory, not the gradient."""
  phi_q, phi_k, v, eps = _phis("sqr", 1)
  w = jax.random.normal(jax.random.PRNGKey(7), v.shape)

  def loss(fn, args):
    return jnp.sum(fn(*args) * w)

  chunked = lambda q, k, vv: linear_attention.causal_linear_attention_chunked(q, k, vv, 5, eps=eps)[0]
  prefix = lambda q, k, vv: linear_attention.causal_linear_attention_prefix_sum(q, k, vv, eps=eps)
  g_chunked = jax.grad(functools.partial(loss, chunked))((phi_q, phi_k, v))
  g_prefix = jax.grad(functools.partial(loss, prefix))((phi_q, phi_k, v))
  for a, b in zip(g_chunked, g_prefix):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_causality_of_every_form():
  phi_q, phi_k, v, eps = _phis("relu", 1)
  changed = [x.at[:, 9:].set(x[:, 9:] * 3.0 + 1.0) for x in (phi_q, phi_k, v)]
  for fn in (
    lambda *a: naive.causal_linear_attention_explicit(*a, eps),
    lambda *a: linear_attention.causal_linear_attention_prefix_sum(*a, eps=eps),
    lambda *a: linear_attention.causal_linear_attention_chunked(*a, 4, eps=eps)[0],
  ):
    before, after = fn(phi_q, phi_k, v), fn(*changed)
    np.testing.assert_array_equal(before[:, :9], after[:, :9])
    assert not np.allclose(before[:, 9:], after[:, 9:])


def test_simple_feature_maps():
  x = jnp.array([-2.0, -0.5, 0.0, 0.5, 2.0]).reshape(1, 5, 1, 1)
  np.testing.assert_allclose(feature_maps.feature_map(x, "relu").ravel(), [0, 0, 0, 0.5, 2.0])
  np.testing.assert_allclose(feature_maps.feature_map(x, "sqr").ravel(), [4.0, 0.25, 0, 0.25, 4.0])
  np.testing.assert_allclose(
    feature_maps.feature_map(x, "elu+1").ravel(), [math.exp(-2.0), math.exp(-0.5), 1.0, 1.5, 3.0], rtol=1e-6
  )
  with pytest.raises(ValueError, match="favor\\+"):
    feature_maps.feature_map(x, "favor+")
  with pytest.raises(ValueError, match="is not one of"):
    feature_maps.feature_map(x, "cos")


@pytest.mark.parametrize("blocks", [1, 3])
def test_orthogonal_features(blocks):
  w_HdM = feature_maps.orthogonal_features(jax.random.PRNGKey(3), H, D_HEAD, blocks)
  assert w_HdM.shape == (H, D_HEAD, blocks * D_HEAD)
  for h in range(H):
    for n in range(blocks):
      block_dd = np.asarray(w_HdM[h, :, n * D_HEAD : (n + 1) * D_HEAD])
      # Orthogonal columns of norm sqrt(d): W^T W = d I.
      np.testing.assert_allclose(block_dd.T @ block_dd, D_HEAD * np.eye(D_HEAD), atol=1e-4)
  # Distinct heads and blocks are independent draws, not copies.
  assert not np.allclose(w_HdM[0], w_HdM[1])


def test_favor_shift_cancels_exactly():
  """Shifted features with the scaled guard give the reference's unshifted ratio (float64)."""
  with jax.enable_x64(True):
    kq, kk, kv, kf = jax.random.split(jax.random.PRNGKey(11), 4)
    q_BLHd, k_BLHd, v_BLHd = (jax.random.normal(k, (B, L, H, D_HEAD), jnp.float64) for k in (kq, kk, kv))
    w_HdM = feature_maps.orthogonal_features(kf, H, D_HEAD, 2, jnp.float64)

    def unshifted(x_BLHd):  # The reference: exp(x~ W - |x~|^2 / 2), no stabiliser.
      x_BLHd = x_BLHd * D_HEAD**-0.25
      return jnp.exp(jnp.einsum("blhd,hdm->blhm", x_BLHd, w_HdM) - 0.5 * jnp.sum(x_BLHd**2, -1, keepdims=True))

    reference = naive.causal_linear_attention_explicit(unshifted(q_BLHd), unshifted(k_BLHd), v_BLHd, 1e-16)
    ours = naive.causal_linear_attention_explicit(
      feature_maps.feature_map(q_BLHd, "favor+", w_HdM),
      feature_maps.feature_map(k_BLHd, "favor+", w_HdM),
      v_BLHd,
      feature_maps.denominator_epsilon("favor+", D_HEAD),
    )
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=0)


def test_favor_features_are_bounded_for_any_input():
  """w.x~ - |x~|^2/2 <= d/2, so with the shift d/4 no feature exceeds e^(d/4), however large x."""
  d = 64
  w_HdM = feature_maps.orthogonal_features(jax.random.PRNGKey(5), 1, d, 1)
  x_BLHd = 1e3 * jax.random.normal(jax.random.PRNGKey(6), (1, 256, 1, d))
  # Inputs aligned with a feature vector reach the bound: the worst case, x~ = w.
  aligned_BLHd = (w_HdM[0, :, :4].T * d**0.25).reshape(1, 4, 1, d)
  for x in (x_BLHd, aligned_BLHd):
    phi = feature_maps.feature_map(x, "favor+", w_HdM)
    assert bool(jnp.all(jnp.isfinite(phi)))
    assert float(jnp.max(phi)) <= math.exp(d / 4) * (1 + 1e-4)
  phi_aligned = feature_maps.feature_map(aligned_BLHd, "favor+", w_HdM)
  np.testing.assert_allclose(jnp.max(phi_aligned, axis=-1).ravel(), math.exp(d / 4), rtol=1e-3)


def test_favor_estimates_the_softmax_kernel():
  """E[phi(q).phi(k)] e^(2c) / M = exp(q.k / sqrt(d)) (Performer Lemma 1): checked over 400 draws."""
  d = 8
  q_d = 0.5 * jax.random.normal(jax.random.PRNGKey(0), (d,))
  k_d = 0.5 * jax.random.normal(jax.random.PRNGKey(1), (d,))

  def estimate(key):
    w_HdM = feature_maps.orthogonal_features(key, 1, d, 1)
    phi_q = feature_maps.feature_map(q_d.reshape(1, 1, 1, d), "favor+", w_HdM)
    phi_k = feature_maps.feature_map(k_d.reshape(1, 1, 1, d), "favor+", w_HdM)
    return jnp.sum(phi_q * phi_k) * math.exp(2 * feature_maps.favor_shift(d)) / d

  draws = jax.vmap(estimate)(jax.random.split(jax.random.PRNGKey(2), 400))
  exact = float(jnp.exp(q_d @ k_d / math.sqrt(d)))
  # Standard error of the mean of 400 draws is well under 2% here; 5% leaves no flakiness
  # for this fixed seed while catching a wrong scale (sqrt(d)) or a missing |x|^2/2 term.
  np.testing.assert_allclose(float(jnp.mean(draws)), exact, rtol=0.05)


def test_num_features_and_errors():
  assert feature_maps.num_features("sqr", 16) == 16
  assert feature_maps.num_features("favor+", 16, 3) == 48
  with pytest.raises(ValueError, match="feature_map"):
    feature_maps.num_features("tanh", 16)
  with pytest.raises(ValueError, match="chunk_size"):
    linear_attention.causal_linear_attention_chunked(*_phis("sqr", 1)[:3], 0)


def test_hedgehog_features_are_two_softmaxes_of_the_projection():
  """phi(x) = [softmax(x W), softmax(-x W)], computed here in NumPy from the definition; W two blocks wide."""
  x_BLHd = jax.random.normal(jax.random.PRNGKey(0), (B, L, H, 4), jnp.float32)
  w_HdM = jax.random.normal(jax.random.PRNGKey(1), (H, 4, 8), jnp.float32)
  got = feature_maps.feature_map(x_BLHd, "hedgehog", w_HdM)
  assert got.shape[-1] == feature_maps.num_features("hedgehog", 4, num_feature_blocks=2) == 16
  assert feature_maps.num_features("hedgehog", 4) == 8
  u = np.einsum("blhd,hdm->blhm", np.asarray(x_BLHd, np.float64), np.asarray(w_HdM, np.float64))
  plus, minus = np.exp(u), np.exp(-u)
  want = np.concatenate([plus / plus.sum(-1, keepdims=True), minus / minus.sum(-1, keepdims=True)], -1)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="hedgehog"):
    feature_maps.feature_map(x_BLHd, "hedgehog")


def test_causal_depthwise_conv_equals_numpy_convolve():
  x_BEF = jax.random.normal(jax.random.PRNGKey(0), (B, L, 3), jnp.float32)
  kernel_KF = jax.random.normal(jax.random.PRNGKey(1), (4, 3), jnp.float32)
  got = local_mixing.causal_depthwise_conv(x_BEF, kernel_KF)
  x, w = np.asarray(x_BEF, np.float64), np.asarray(kernel_KF, np.float64)
  want = np.stack([np.stack([np.convolve(x[b, :, f], w[:, f])[:L] for f in range(3)], -1) for b in range(B)])
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_sliding_window_softmax_equals_explicit_loop():
  """Each query's softmax over the keys at lags 0..w-1 that lie at or after the sequence start."""
  kq, kk, kv = jax.random.split(jax.random.PRNGKey(0), 3)
  q, k, v = (jax.random.normal(key, (B, L, H, D_HEAD), jnp.float32) for key in (kq, kk, kv))
  valid_E = jnp.arange(L) >= 2  # The first two rows lie before the sequence start.
  window, num_queries = 4, 9
  got = np.asarray(local_mixing.sliding_window_softmax(q, k, v, window, valid_E, num_queries))
  q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
  for row in range(L - num_queries, L):
    keys = [j for j in range(max(0, row - window + 1), row + 1) if j >= 2 or j == row]
    scores = np.einsum("bhd,bjhd->bhj", q[:, row], k[:, keys]) / math.sqrt(D_HEAD)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    np.testing.assert_allclose(
      got[:, row - (L - num_queries)], np.einsum("bhj,bjhd->bhd", weights, v[:, keys]), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("num_blocks", [1, 3, 8, 20])
def test_causal_softmax_equals_explicit_loop(num_blocks):
  """Every row's softmax over the rows up to it, whatever the query blocks (ragged: 13 rows in 3, 8 or 20)."""
  kq, kk, kv = jax.random.split(jax.random.PRNGKey(1), 3)
  q, k, v = (jax.random.normal(key, (B, L, H, D_HEAD), jnp.float32) for key in (kq, kk, kv))
  got = np.asarray(softmax_attention.causal_softmax(q, k, v, num_blocks))
  assert got.shape == (B, L, H, D_HEAD)
  q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
  for row in range(L):
    scores = np.einsum("bhd,bjhd->bhj", q[:, row], k[:, : row + 1]) / math.sqrt(D_HEAD)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    np.testing.assert_allclose(got[:, row], np.einsum("bhj,bjhd->bhd", weights, v[:, : row + 1]), rtol=1e-5, atol=1e-5)


def _full_causal_softmax(q_BLHd, k_BLHd, v_BLHd):
  """The textbook form: all L x L scores, the upper triangle masked."""
  scores_BHQK = jnp.einsum("bqhd,bkhd->bhqk", q_BLHd, k_BLHd) / math.sqrt(q_BLHd.shape[-1])
  scores_BHQK = jnp.where(jnp.tril(jnp.ones((L, L), bool)), scores_BHQK, -jnp.inf)
  return jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(scores_BHQK, axis=-1), v_BLHd)


def _value_and_grads(implementation, dtype, seed=2):
  q, k, v = (jax.random.normal(key, (B, L, H, D_HEAD), dtype) for key in jax.random.split(jax.random.PRNGKey(seed), 3))
  value_and_grad = jax.value_and_grad(lambda q, k, v: jnp.sum(jnp.sin(implementation(q, k, v))), argnums=(0, 1, 2))
  return jax.jit(value_and_grad)(q, k, v)


def test_causal_softmax_gradient_equals_the_full_forms_in_float64():
  """Query blocks change the order of no sum, only which scores are formed: equal to round-off."""
  with jax.enable_x64(True):
    want_loss, want_grads = _value_and_grads(_full_causal_softmax, jnp.float64)
    got_loss, got_grads = _value_and_grads(
      functools.partial(softmax_attention.causal_softmax, num_blocks=3), jnp.float64
    )
    assert got_loss.dtype == jnp.float64
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-13)
    for got, want in zip(got_grads, want_grads, strict=True):
      np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)


def test_causal_softmax_agrees_with_the_library_it_replaced():
  """jax.nn.dot_product_attention (float32 softmax inside): same loss and gradients to float32 round-off."""
  want_loss, want_grads = _value_and_grads(
    lambda q, k, v: jax.nn.dot_product_attention(q, k, v, is_causal=True), jnp.float32
  )
  got_loss, got_grads = _value_and_grads(softmax_attention.causal_softmax, jnp.float32)
  np.testing.assert_allclose(got_loss, want_loss, rtol=1e-5)
  for got, want in zip(got_grads, want_grads, strict=True):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_causal_softmax_keeps_no_square_for_its_backward():
  """The tiled kernel recomputes the weights: its gradient's compiled working memory at L = 4096 is a small
  fraction of the blocked form that keeps every block's weights for the backward pass (naive.causal_softmax)."""

  def temp_bytes(implementation, rows):
    shape = jax.ShapeDtypeStruct((2, rows, 4, 16), jnp.float32)
    grad = jax.jit(jax.grad(lambda q, k, v: jnp.sum(implementation(q, k, v) ** 2), argnums=(0, 1, 2)))
    return grad.lower(shape, shape, shape).compile().memory_analysis().temp_size_in_bytes

  tiled, kept = temp_bytes(softmax_attention.causal_softmax, 4096), temp_bytes(naive.causal_softmax, 4096)
  scores_bytes = 2 * 4 * 4096 * 4096 * 4 // 2  # Half of the float32 square, what keeping the weights costs.
  assert kept > scores_bytes / 2, (kept, scores_bytes)  # The measure sees the kept weights.
  assert tiled < kept / 4, (tiled, kept)
