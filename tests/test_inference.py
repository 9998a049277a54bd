# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Recurrent scoring and stepping equal the whole-sequence forward."""

import jax
import jax.numpy as jnp
from model_testing import COMPONENTS, forward, init_variables, jit, make_config, perturbed
import numpy as np
import pytest

from genome_transformer.model import inference
from genome_transformer.model import performer as model_lib

B, L = 2, 23


def _setup(**overrides):
  model = model_lib.SLiMPerformer(make_config(**overrides))
  tokens = jax.random.randint(jax.random.PRNGKey(1), (B, L), 0, 6)
  params = init_variables(model, tokens)["params"]
  return model, params, tokens


def _full_logp(model, params, tokens, rng=None):
  logits = model.apply({"params": params}, tokens, rngs={} if rng is None else {"features": rng})
  logp = jax.nn.log_softmax(logits, -1)
  return jnp.take_along_axis(logp[:, :-1], tokens[:, 1:, None], -1)[..., 0]


_chunked = jit(inference.chunked_log_likelihood, static_argnums=(0, 3))


@pytest.mark.parametrize("feature_map,chunk_size", [("sqr", 1), ("sqr", 5), ("elu+1", L), ("favor+", 8)])
def test_chunked_log_likelihood_equals_full_forward(feature_map, chunk_size):
  model, params, tokens = _setup(feature_map=feature_map)
  rng = jax.random.PRNGKey(9) if feature_map == "favor+" else None
  logp = _chunked(model, params, tokens, chunk_size, rng)
  assert logp.shape == (B, L)
  assert bool(jnp.all(jnp.isnan(logp[:, 0])))  # No context before the first token.
  np.testing.assert_allclose(logp[:, 1:], _full_logp(model, params, tokens, rng), rtol=1e-4, atol=1e-5)
  assert bool(jnp.all(logp[:, 1:] <= 0.0))


@pytest.mark.parametrize("chunk_size,conv_width", [(5, 0), (5, 3), (L, 0), (40, 3)])
def test_softmax_model_scored_in_chunks_from_its_cache_equals_full_forward(chunk_size, conv_width):
  """Chunks over a key/value cache (a ragged last chunk at 5; the context rows with a convolution);
  a sequence within one chunk (L, or padded into 40) is one forward, with no cache."""
  model, params, tokens = _setup(attention="softmax", conv_width=conv_width)
  logp = _chunked(model, params, tokens, chunk_size, None)
  np.testing.assert_allclose(logp[:, 1:], _full_logp(model, params, tokens), rtol=1e-5, atol=1e-6)
  assert bool(jnp.all(jnp.isnan(logp[:, 0])))


@pytest.mark.parametrize("feature_map", ["sqr", "favor+"])
def test_step_recurrence_equals_full_logits(feature_map):
  model, params, tokens = _setup(feature_map=feature_map)
  rng = jax.random.PRNGKey(9) if feature_map == "favor+" else None
  full = model.apply({"params": params}, tokens, rngs={} if rng is None else {"features": rng})
  step = jit(lambda tok, states, pos: inference.step(model, params, tok, states, pos, rng))
  states = model_lib.init_states(model.config, B)
  for t in range(L):
    logits_BV, states = step(tokens[:, t], states, t)
    np.testing.assert_allclose(logits_BV, full[:, t], rtol=1e-4, atol=1e-5, err_msg=f"position {t}")


@pytest.mark.parametrize("on_gptln", [True, False])
def test_softmax_cached_decode_equals_full_logits(on_gptln):
  model, params, tokens = _setup(attention="softmax", on_gptln=on_gptln)
  full = forward(model, {"params": params}, tokens)
  step = jit(lambda tok, cache, pos: inference.step(model, params, tok, cache, pos))
  cache = model_lib.init_kv_cache(model.config, B, L + 5)  # Slots past the current position stay masked.
  assert cache[0][0].shape == (B, 2, L + 5, 8) and len(cache) == 2
  for t in range(L):
    logits_BV, cache = step(tokens[:, t], cache, t)
    np.testing.assert_allclose(logits_BV, full[:, t], rtol=1e-4, atol=1e-5, err_msg=f"position {t}")
  # The cache now holds every position's keys; the spare slots were never written.
  assert float(jnp.max(jnp.abs(cache[0][0][:, :, L - 1]))) > 0.0
  np.testing.assert_array_equal(cache[0][0][:, :, L:], 0.0)


def test_softmax_with_convolution_steps_from_its_cache():
  """The softmax twin of a convolution model carries the context rows beside its cache."""
  model, params, tokens = _setup(attention="softmax", conv_width=3)
  params = perturbed(params)
  full = forward(model, {"params": params}, tokens)
  step = jit(lambda tok, cache, pos: inference.step(model, params, tok, cache, pos))
  cache = model_lib.init_kv_cache(model.config, B, L)
  for t in range(L):
    logits_BV, cache = step(tokens[:, t], cache, t)
    np.testing.assert_allclose(logits_BV, full[:, t], rtol=1e-4, atol=1e-4, err_msg=f"position {t}")


def test_kv_cache_is_for_softmax_models_only():
  model, _, _ = _setup()
  with pytest.raises(ValueError, match="constant-size state"):
    model_lib.init_kv_cache(model.config, B, 8)
  softmax_model, _, _ = _setup(attention="softmax")
  with pytest.raises(ValueError, match="init_kv_cache"):
    model_lib.init_states(softmax_model.config, B)


# -- Held-out scoring in windows of the training context ---------------------------------------------

W = 16  # Context of the windowed tests; odd W = 15 leaves windows of unequal halves.


def _windows_one_by_one(model, params, tokens_L, context, chunk_size, rng=None):
  """The oracle: each window scored alone and unpadded; ([n] log-probabilities, [n] times each base is scored)."""
  n, half = len(tokens_L), context // 2
  logp_L, times_L = np.full(n, np.nan, np.float32), np.zeros(n, int)
  start = 0
  while True:
    window = tokens_L[start : start + context].astype(np.int32)[None]
    logp_W = np.asarray(_chunked(model, params, jnp.asarray(window), min(chunk_size, context), rng))[0]
    first = 1 if start == 0 else start + context - half  # Window 0 gives [0, W); window k [kh + W - h, kh + W).
    for t in range(first, min(start + context, n)):
      logp_L[t] = logp_W[t - start]  # Entry j is ln p(window token j | window tokens < j).
      times_L[t] += 1
    if start + context >= n:
      break
    start += half
  logp_L[tokens_L >= 4] = np.nan
  return logp_L, times_L


def _tokens(n, seed=5):
  tokens_L = np.asarray(jax.random.randint(jax.random.PRNGKey(seed), (n,), 0, 4), np.uint8)
  tokens_L[n // 3] = 4  # An N: never a target.
  return tokens_L


@pytest.mark.parametrize("attention", ["linear", "softmax"])
@pytest.mark.parametrize("context", [W, W - 1])
# n = W - 1 is within one window of either context, as in test_sequence_within_one_window_is_scored_whole.
@pytest.mark.parametrize("n", [W, W + 1, int(2.5 * W), 5 * W + 3])
def test_windowed_log_likelihood_equals_windows_scored_one_by_one(attention, context, n):
  model, params, _ = _setup(attention=attention)
  tokens_L = _tokens(n)
  # chunk 5 divides no window; 3 windows per call leave the last call with padding rows.
  got_L = inference.windowed_log_likelihood(model, params, tokens_L, context, 5, batch_size=3)
  want_L, times_L = _windows_one_by_one(model, params, tokens_L, context, 5)
  assert got_L.shape == (n,) and got_L.dtype == np.float32
  np.testing.assert_array_equal(times_L[1:], 1)  # The oracle scores each base once...
  np.testing.assert_array_equal(np.isnan(got_L), (np.arange(n) == 0) | (tokens_L >= 4))  # ...and so does this.
  np.testing.assert_allclose(got_L, want_L, rtol=1e-5, atol=1e-6)
  if n > context:
    # Past the first window each base sees W - W//2 to W - 1 bases, not all before it.
    unbounded_L = inference.windowed_log_likelihood(model, params, tokens_L, n, 5)
    assert np.nanmax(np.abs(got_L[context:] - unbounded_L[context:])) > 1e-4


@pytest.mark.parametrize("attention,feature_map", [("linear", "sqr"), ("linear", "favor+"), ("softmax", "sqr")])
@pytest.mark.parametrize("n", [2, W - 1, W])
def test_sequence_within_one_window_is_scored_whole(attention, feature_map, n):
  model, params, _ = _setup(attention=attention, feature_map=feature_map)
  rng = jax.random.PRNGKey(9) if feature_map == "favor+" else None
  tokens_L = _tokens(n)
  whole_L = np.asarray(_chunked(model, params, jnp.asarray(tokens_L.astype(np.int32))[None], 4, rng))[0]
  want_L = whole_L.astype(np.float32)  # Both put token t's score at entry t.
  want_L[tokens_L >= 4] = np.nan
  got_L = inference.windowed_log_likelihood(model, params, tokens_L, W, 4, batch_size=2, rng=rng)
  np.testing.assert_allclose(got_L, want_L, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(np.isnan(got_L), np.isnan(want_L))


def test_windowed_log_likelihood_refuses_bad_arguments():
  model, params, _ = _setup()
  with pytest.raises(ValueError, match="context=1 must be at least 2"):
    inference.windowed_log_likelihood(model, params, _tokens(8), 1, 4)
  with pytest.raises(ValueError, match="must be 1-D"):
    inference.windowed_log_likelihood(model, params, _tokens(8)[None], W, 4)
  assert np.isnan(inference.windowed_log_likelihood(model, params, _tokens(1), W, 4)).all()


def _moved_setup(**overrides):
  model, params, tokens = _setup(**overrides)
  return model, perturbed(params), tokens


@pytest.mark.parametrize("component", ["conv", "window", "all", "hedgehog"])
def test_components_step_and_chunked_equal_full(component):
  """The carried state holds each layer's context rows; stepping and chunks equal the whole sequence."""
  model, params, tokens = _moved_setup(**COMPONENTS[component])
  full = forward(model, {"params": params}, tokens)
  step = jit(lambda tok, states, pos: inference.step(model, params, tok, states, pos))
  states = model_lib.init_states(model.config, B)
  assert states[0][2].shape[1] == model_lib.context_rows(model.config)  # O(1) per token: R rows per layer.
  for t in range(L):
    logits_BV, states = step(tokens[:, t], states, t)
    np.testing.assert_allclose(logits_BV, full[:, t], rtol=1e-4, atol=1e-4, err_msg=f"position {t}")
  for chunk_size in (1, 5):
    logp = _chunked(model, params, tokens, chunk_size, None)
    np.testing.assert_allclose(logp[:, 1:], _full_logp(model, params, tokens), rtol=1e-4, atol=1e-4)
