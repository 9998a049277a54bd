# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Recurrent scoring and stepping equal the whole-sequence forward."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genome_transformer import inference
from genome_transformer import model as model_lib
from model_testing import make_config

B, L = 2, 23


def _setup(**overrides):
  model = model_lib.SLiMPerformer(make_config(**overrides))
  tokens = jax.random.randint(jax.random.PRNGKey(1), (B, L), 0, 6)
  params = model.init(jax.random.PRNGKey(0), tokens)["params"]
  return model, params, tokens


def _full_logp(model, params, tokens, rng=None):
  logits = model.apply({"params": params}, tokens, rngs={} if rng is None else {"features": rng})
  logp = jax.nn.log_softmax(logits, -1)
  return jnp.take_along_axis(logp[:, :-1], tokens[:, 1:, None], -1)[..., 0]


_chunked = jax.jit(inference.chunked_log_likelihood, static_argnums=(0, 3))


@pytest.mark.parametrize("feature_map,chunk_size", [("sqr", 1), ("sqr", 5), ("elu+1", L), ("favor+", 8)])
def test_chunked_log_likelihood_equals_full_forward(feature_map, chunk_size):
  model, params, tokens = _setup(feature_map=feature_map)
  rng = jax.random.PRNGKey(9) if feature_map == "favor+" else None
  logp = _chunked(model, params, tokens, chunk_size, rng)
  assert logp.shape == (B, L)
  assert bool(jnp.all(jnp.isnan(logp[:, -1])))  # No next token after the last one.
  np.testing.assert_allclose(logp[:, :-1], _full_logp(model, params, tokens, rng), rtol=1e-4, atol=1e-5)
  assert bool(jnp.all(logp[:, :-1] <= 0.0))


def test_softmax_model_is_scored_by_its_full_forward():
  model, params, tokens = _setup(attention="softmax")
  logp = _chunked(model, params, tokens, 5, None)
  np.testing.assert_allclose(logp[:, :-1], _full_logp(model, params, tokens), rtol=1e-5, atol=1e-6)
  assert bool(jnp.all(jnp.isnan(logp[:, -1])))


@pytest.mark.parametrize("feature_map", ["sqr", "favor+"])
def test_step_recurrence_equals_full_logits(feature_map):
  model, params, tokens = _setup(feature_map=feature_map)
  rng = jax.random.PRNGKey(9) if feature_map == "favor+" else None
  full = model.apply({"params": params}, tokens, rngs={} if rng is None else {"features": rng})
  step = jax.jit(lambda tok, states, pos: inference.step(model, params, tok, states, pos, rng))
  states = model_lib.init_states(model.config, B)
  for t in range(L):
    logits_BV, states = step(tokens[:, t], states, t)
    np.testing.assert_allclose(logits_BV, full[:, t], rtol=1e-4, atol=1e-5, err_msg=f"position {t}")


@pytest.mark.parametrize("on_gptln", [True, False])
def test_softmax_cached_decode_equals_full_logits(on_gptln):
  model, params, tokens = _setup(attention="softmax", on_gptln=on_gptln)
  full = model.apply({"params": params}, tokens)
  step = jax.jit(lambda tok, cache, pos: inference.softmax_cached_step(model, params, tok, cache, pos))
  cache = inference.init_kv_cache(model.config, B, L + 5)  # Slots past the current position stay masked.
  assert cache[0][0].shape == (B, 2, L + 5, 8) and len(cache) == 2
  for t in range(L):
    logits_BV, cache = step(tokens[:, t], cache, t)
    np.testing.assert_allclose(logits_BV, full[:, t], rtol=1e-4, atol=1e-5, err_msg=f"position {t}")
  # The cache now holds every position's keys; the spare slots were never written.
  assert float(jnp.max(jnp.abs(cache[0][0][:, :, L - 1]))) > 0.0
  np.testing.assert_array_equal(cache[0][0][:, :, L:], 0.0)


def test_kv_cache_is_for_softmax_models_only():
  model, params, tokens = _setup()
  with pytest.raises(ValueError, match="constant-size state"):
    inference.init_kv_cache(model.config, B, 8)
  with pytest.raises(ValueError, match="inference.step"):
    inference.softmax_cached_step(model, params, tokens[:, 0], (), 0)
