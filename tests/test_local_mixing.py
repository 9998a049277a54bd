# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The fast local-mixing and softmax ops (model/local_mixing.py, softmax_attention.py) equal their reference forms in model/naive.py.

Forward and gradients (of a random linear function of the output, so every output element counts), float32
at float32 tolerances and float64 to round-off; odd lengths, lengths across block boundaries, batch > 1.
"""

import functools

import jax
import jax.numpy as jnp
import model_testing
import numpy as np
import pytest

from genome_transformer.model import local_mixing, losses, naive, softmax_attention, sublinear
from genome_transformer.model import performer as model_lib


def _value_and_grads(fn, arrays, cotangent):
  # Jitted: op by op, the unrolled query blocks dispatch thousands of tiny ops and take several times longer.
  value_and_grad = jax.value_and_grad(lambda *xs: jnp.sum(fn(*xs) * cotangent), argnums=tuple(range(len(arrays))))
  return jax.jit(value_and_grad)(*arrays)


def _assert_same(got, want, dtype):
  rtol, atol = (2e-5, 2e-5) if dtype == jnp.float32 else (1e-11, 1e-11)
  for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
    scale = max(float(jnp.max(jnp.abs(w))), 1.0)
    np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=rtol, atol=atol * scale)


def _normal(seed, shape, dtype):
  return jax.random.normal(jax.random.PRNGKey(seed), shape, dtype)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("length,width", [(1, 4), (3, 4), (37, 4), (37, 1), (130, 2)])
def test_depthwise_conv_equals_reference(length, width, dtype):
  with jax.enable_x64(dtype == jnp.float64):
    x = _normal(0, (2, length, 6), dtype)
    kernel = _normal(1, (width, 6), dtype)
    cotangent = _normal(2, (2, length, 6), dtype)
    got = _value_and_grads(local_mixing.causal_depthwise_conv, (x, kernel), cotangent)
    want = _value_and_grads(naive.causal_depthwise_conv, (x, kernel), cotangent)
    _assert_same(got, want, dtype)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize(
  "rows,num_queries,window,first_valid",
  [
    (1, 1, 64, 0),  # One row.
    (37, 37, 5, 0),  # The whole sequence, one ragged block.
    (454, 256, 64, 0),  # A chunk after its recomputed prefix, as the sub-linear reverse pass runs it.
    (322, 256, 64, 40),  # A chunk after its context rows, some before the sequence start.
    (300, 300, 64, 0),  # Several blocks, the last ragged.
    (200, 131, 90, 7),  # A window wider than a block: the blocks widen to hold its halo.
  ],
)
def test_sliding_window_softmax_equals_reference(rows, num_queries, window, first_valid, dtype):
  with jax.enable_x64(dtype == jnp.float64):
    q, k, v = (_normal(seed, (2, rows, 3, 8), dtype) for seed in range(3))
    cotangent = _normal(3, (2, num_queries, 3, 8), dtype)
    valid_E = jnp.arange(rows) >= first_valid
    fn = lambda impl, q, k, v: impl(q, k, v, window, valid_E, num_queries)
    got = _value_and_grads(functools.partial(fn, local_mixing.sliding_window_softmax), (q, k, v), cotangent)
    want = _value_and_grads(functools.partial(fn, naive.sliding_window_softmax), (q, k, v), cotangent)
    _assert_same(got, want, dtype)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
@pytest.mark.parametrize("rows,num_blocks", [(1, 16), (17, 3), (130, 16), (130, 1), (257, 16)])
def test_causal_softmax_equals_reference(rows, num_blocks, dtype):
  with jax.enable_x64(dtype == jnp.float64):
    q, k, v = (_normal(seed, (2, rows, 4, 8), dtype) for seed in range(3))
    cotangent = _normal(3, (2, rows, 4, 8), dtype)
    got = _value_and_grads(
      functools.partial(softmax_attention.causal_softmax, num_blocks=num_blocks), (q, k, v), cotangent
    )
    want = _value_and_grads(naive.causal_softmax, (q, k, v), cotangent)
    _assert_same(got, want, dtype)


def test_window_ignores_keys_outside_it():
  """A key that moves outside every query's window changes nothing; one inside does."""
  rows, window = 150, 64
  q, k, v = (_normal(seed, (1, rows, 2, 8), jnp.float32) for seed in range(3))
  valid_E = jnp.ones(rows, bool)
  out = local_mixing.sliding_window_softmax(q, k, v, window, valid_E, 10)
  # The 10 queries are rows 140..149; row 140 - 64 = 76 is just outside the first one's window.
  far = local_mixing.sliding_window_softmax(q, k.at[:, 76].set(50.0), v.at[:, 76].set(50.0), window, valid_E, 10)
  near = local_mixing.sliding_window_softmax(q, k, v.at[:, 77].set(50.0), window, valid_E, 10)
  np.testing.assert_array_equal(np.asarray(far), np.asarray(out))
  assert not np.allclose(np.asarray(near[:, 0]), np.asarray(out[:, 0]))


@pytest.mark.parametrize("length,chunk_size", [(67, 16), (130, 64)])
def test_sublinear_step_with_every_local_mixing_addition_equals_autodiff(length, chunk_size):
  """The reverse pass that hands each layer its prefix less the rows used as context: the same gradient."""
  config = model_testing.make_config(
    conv_width=4,
    window_heads=1,
    window_size=6,
    feature_map="hedgehog",
    hedgehog_floor=0.01,
    phase_period=3,
    phase_split_state=True,
    num_layers=3,
  )
  model = model_lib.SLiMPerformer(config)
  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8), jnp.int32))["params"]
  tokens_BL = jax.random.randint(jax.random.PRNGKey(1), (2, length), 0, 5)
  want_loss, want_grads = jax.jit(jax.value_and_grad(lambda p: losses.full_loss(model, p, tokens_BL)))(params)
  got_loss, got_grads = jax.jit(sublinear.loss_and_grad, static_argnums=(0, 3))(model, params, tokens_BL, chunk_size)
  np.testing.assert_allclose(float(got_loss), float(want_loss), rtol=1e-5)
  for got, want in zip(jax.tree.leaves(got_grads), jax.tree.leaves(want_grads)):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-4, atol=2e-5)
