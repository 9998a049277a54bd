# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The SLiM Performer module: reference semantics, chunked == full, causality, FAVOR+ keys."""

import math

import jax
import jax.numpy as jnp
from model_testing import COMPONENTS, forward, init_variables, jit, make_config, perturbed
import numpy as np
import pytest

from genome_transformer.model import performer as model_lib

B, L = 2, 13


def _tokens(seed=1, length=L):
  return jax.random.randint(jax.random.PRNGKey(seed), (B, length), 0, 8)


def _init(config, dtype=jnp.float32):
  model = model_lib.SLiMPerformer(config)
  variables = init_variables(model, _tokens())
  return model, jax.tree.map(lambda p: p.astype(dtype), variables)


def _reference_forward(params, tokens_BL, config):
  """The reference PyTorch model's semantics, restated in NumPy float64 (sqr features), with the local-mixing
  additions written from their definitions: a causal convolution as np.convolve, Hedgehog attention weights
  as sums of the +/- softmax products, window heads as a banded softmax."""
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
  tokens_BL = np.asarray(tokens_BL)
  width, heads = config.d_model, config.num_heads
  length = tokens_BL.shape[1]
  conv_width, window_heads = config.get("conv_width", 0), config.get("window_heads", 0)
  erf = np.vectorize(math.erf)

  def dense(x, q):
    return x @ q["kernel"] + q["bias"]

  def layer_norm(x, q):  # torch.nn.LayerNorm: biased variance, eps 1e-5.
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5) * q["scale"] + q["bias"]

  def conv(y, taps):  # Per channel, zero before position 0.
    return np.stack(
      [
        np.stack([np.convolve(y[b, :, f], taps[:, f])[:length] for f in range(y.shape[-1])], -1)
        for b in range(y.shape[0])
      ]
    )

  x = p["embed"]["embedding"][tokens_BL]
  positions = np.arange(length, dtype=np.float64)
  if config.get("phase_period", 0):  # The frame as an angle: position t of period P at 2 pi (t mod P) / P.
    angle = 2.0 * np.pi * (positions % config.phase_period) / config.phase_period
    x = np.concatenate([x, np.broadcast_to(np.stack([np.sin(angle), np.cos(angle)], -1), tokens_BL.shape + (2,))], -1)
  if config.get("positions", "sinusoid") == "sinusoid":
    half = width // 2
    freqs = np.exp(np.arange(0, half, 2) * (-np.log(10000.0) / half))
    args = positions[:, None] * freqs[None, :]
    pos = np.concatenate([np.sin(args), np.cos(args)], -1)
    x = np.concatenate([x, np.broadcast_to(pos, tokens_BL.shape + (half,))], -1)
  lag = np.arange(length)[:, None] - np.arange(length)[None, :]
  mask = (lag >= 0).astype(np.float64)
  for i in range(config.num_layers):
    q = p[f"layer_{i}"]
    skip = x
    h = x if config.on_gptln else layer_norm(x, q["ln_attention"])
    qh, kh, vh = (dense(h, q[n]) for n in ("query", "key", "value"))
    if conv_width:
      qh, kh, vh = (conv(y, q[f"conv_{n}"]) for y, n in ((qh, "query"), (kh, "key"), (vh, "value")))
    split = lambda y: y.reshape(y.shape[:2] + (heads, -1))
    qh, kh, vh = split(qh), split(kh), split(vh)
    dot = np.einsum("blhm,bshm->bhls", qh, kh)
    if config.feature_map == "hedgehog":  # Sum over features of the +/- softmax products, per head.
      w = q["feature_projection"]  # (linear heads, d, blocks * d); the first window_heads heads have none.
      u_q = np.einsum("blhd,hdm->blhm", qh[:, :, window_heads:], w)
      u_k = np.einsum("blhd,hdm->blhm", kh[:, :, window_heads:], w)
      weights = np.zeros((qh.shape[0], heads, length, length))
      for sign in (1.0, -1.0):
        eq, ek = np.exp(sign * u_q), np.exp(sign * u_k)
        eq, ek = eq / eq.sum(-1, keepdims=True), ek / ek.sum(-1, keepdims=True)
        weights[:, window_heads:] += np.einsum("blhm,bshm->bhls", eq, ek)
      weights *= mask
    else:
      weights = np.einsum("blhm,bshm->bhls", qh**2, kh**2) * mask
    if config.get("phase_split_state", False):  # A learned positive factor per relative phase (t - s) mod P.
      weights[:, window_heads:] *= np.exp(q["phase_log_weights"])[:, lag % config.phase_period]
    out = np.einsum("bhls,bshd->blhd", weights, vh) / (weights.sum(-1).transpose(0, 2, 1)[..., None] + 1e-16)
    if window_heads:
      scores = np.where((lag >= 0) & (lag < config.window_size), dot / np.sqrt(qh.shape[-1]), -np.inf)
      soft = np.exp(scores - scores.max(-1, keepdims=True))
      soft /= soft.sum(-1, keepdims=True)
      out[:, :, :window_heads] = np.einsum("bhls,bshd->blhd", soft, vh)[:, :, :window_heads]
    out = out.reshape(x.shape)
    x = skip + (layer_norm(out, q["ln_attention"]) if config.on_gptln else out)
    skip = x
    h = x if config.on_gptln else layer_norm(x, q["ln_ffn"])
    u = dense(h, q["ffn_in"])
    u = 0.5 * u * (1.0 + erf(u / np.sqrt(2.0)))  # Exact GELU.
    f = dense(u, q["ffn_out"])
    x = skip + (layer_norm(f, q["ln_ffn"]) if config.on_gptln else f)
  return dense(x, p["head"])


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_components_match_their_definitions_in_float64(component):
  config = make_config(**COMPONENTS[component])
  with jax.enable_x64(True):
    model, variables = _init(config, jnp.float64)
    variables = perturbed(variables, jnp.float64)
    np.testing.assert_allclose(
      forward(model, variables, _tokens()), _reference_forward(variables, _tokens(), config), rtol=1e-10, atol=1e-10
    )


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_components_chunked_with_states_equal_full(component):
  """Chunks of 5 (ragged last) and of 1, from carried states and context rows, equal the whole sequence."""
  config = make_config(**COMPONENTS[component])
  model, variables = _init(config)
  variables = perturbed(variables, jnp.float32)
  full = forward(model, variables, _tokens())
  apply_chunk = jit(lambda t, off, s: model.apply(variables, t, s, off, method="chunk"))
  for chunk in (5, 1):
    states, pieces = model_lib.init_states(config, B), []
    for start in range(0, L, chunk):
      logits, states = apply_chunk(_tokens()[:, start : start + chunk], jnp.int32(start), states)
      pieces.append(logits)
    np.testing.assert_allclose(jnp.concatenate(pieces, axis=1), full, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("component", ["conv", "window", "all"])
def test_components_are_causal(component):
  config = make_config(**COMPONENTS[component])
  model, variables = _init(config)
  tokens = _tokens()
  changed = tokens.at[:, 8:].set((tokens[:, 8:] + 3) % 8)
  before, after = forward(model, variables, tokens), forward(model, variables, changed)
  np.testing.assert_array_equal(before[:, :8], after[:, :8])
  assert not np.allclose(before[:, 8:], after[:, 8:])


@pytest.mark.parametrize("on_gptln", [True, False])
def test_matches_reference_semantics_in_float64(on_gptln):
  config = make_config(on_gptln=on_gptln)
  with jax.enable_x64(True):
    model, variables = _init(config, jnp.float64)
    logits = forward(model, variables, _tokens())
    assert logits.dtype == jnp.float64
    np.testing.assert_allclose(logits, _reference_forward(variables, _tokens(), config), rtol=1e-10, atol=1e-10)


def test_shapes_and_parameters():
  config = make_config()
  model, variables = _init(config)
  logits = forward(model, variables, _tokens())
  assert logits.shape == (B, L, config.vocab_size)
  p = variables["params"]
  assert p["embed"]["embedding"].shape == (8, 8)  # D/2: the other half is the sin/cos block.
  assert set(p["layer_0"]) == {"query", "key", "value", "ffn_in", "ffn_out", "ln_attention", "ln_ffn"}
  assert "out" not in p["layer_0"]  # No attention output projection, as in the reference.
  assert p["head"]["kernel"].shape == (16, 8) and p["head"]["bias"].shape == (8,)  # Untied head.
  # PyTorch init: uniform(+-1/sqrt(fan_in)) for kernels and biases, N(0, 1) embedding.
  for name, fan_in in (("query", 16), ("ffn_in", 16), ("ffn_out", 32)):
    for leaf in p["layer_0"][name].values():
      assert float(jnp.max(jnp.abs(leaf))) <= 1 / math.sqrt(fan_in)
      assert float(jnp.max(jnp.abs(leaf))) > 0.5 / math.sqrt(fan_in)
  assert 0.5 < float(jnp.std(p["embed"]["embedding"])) < 1.5
  np.testing.assert_array_equal(p["layer_0"]["ln_ffn"]["scale"], 1.0)
  # Hedgehog two blocks wide starts as [identity | a rotation], never two equal blocks that would stay equal.
  _, variables = _init(make_config(feature_map="hedgehog", num_feature_blocks=2))
  w_HdM = np.asarray(variables["params"]["layer_0"]["feature_projection"], np.float64)
  assert w_HdM.shape == (2, 8, 16)
  np.testing.assert_array_equal(w_HdM[..., :8], np.broadcast_to(np.eye(8), (2, 8, 8)))
  np.testing.assert_allclose(
    np.einsum("hdm,hdn->hmn", w_HdM[..., 8:], w_HdM[..., 8:]), np.broadcast_to(np.eye(8), (2, 8, 8)), atol=1e-5
  )
  assert np.abs(w_HdM[..., 8:] - np.eye(8)).max() > 0.1


def test_hidden_states_and_hashable_module():
  config = make_config()
  model, variables = _init(config)
  h_BLD = model.apply(variables, _tokens(), return_hidden=True)
  assert h_BLD.shape == (B, L, 16)
  head = variables["params"]["head"]
  np.testing.assert_allclose(
    h_BLD @ head["kernel"] + head["bias"][None, None], model.apply(variables, _tokens()), rtol=1e-5, atol=1e-5
  )
  # The trainer jits with the model as a static argument: equal configs give equal hashes.
  assert hash(model) == hash(model_lib.SLiMPerformer(make_config()))
  jitted = jit(lambda m, v, t: m.apply(v, t), static_argnums=0)
  np.testing.assert_allclose(jitted(model, variables, _tokens()), model.apply(variables, _tokens()), atol=1e-5)


@pytest.mark.parametrize("on_gptln,feature_map", [(True, "sqr"), (False, "elu+1"), (True, "favor+")])
def test_chunked_forward_with_states_equals_full(on_gptln, feature_map):
  config = make_config(on_gptln=on_gptln, feature_map=feature_map)
  model, variables = _init(config)
  rngs = {"features": jax.random.PRNGKey(4)}
  full = model.apply(variables, _tokens(), rngs=rngs)
  states = model_lib.init_states(config, B)
  apply_chunk = jit(lambda t, off, s: model.apply(variables, t, s, off, rngs=rngs, method="chunk"))
  pieces = []
  for start in range(0, L, 5):  # 5 + 5 + 3: a ragged last chunk; the offset is a traced int.
    logits, states = apply_chunk(_tokens()[:, start : start + 5], jnp.int32(start), states)
    pieces.append(logits)
  np.testing.assert_allclose(jnp.concatenate(pieces, axis=1), full, rtol=1e-4, atol=1e-5)
  assert len(states) == 2 and states[0][0].shape == (B, 2, 8, 8) and states[0][1].shape == (B, 2, 8)


def test_rebuild_mode_recovers_start_states():
  config = make_config()
  model, variables = _init(config)
  tokens = _tokens()
  start = model_lib.init_states(config, B)
  _, mid = model.apply(variables, tokens[:, :6], start, 0, method="chunk")
  logits, end = model.apply(variables, tokens[:, 6:], mid, 6, method="chunk")
  logits_r, end_r, start_r = model.apply(variables, tokens[:, 6:], end, 6, False, method="rebuild_chunk")
  np.testing.assert_allclose(logits_r, logits, rtol=1e-4, atol=1e-5)
  for got, want in zip(jax.tree.leaves((start_r, end_r)), jax.tree.leaves((mid, end))):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
  first = model.apply(variables, tokens[:, :6], mid, 0, True, method="rebuild_chunk").start_states
  for leaf in jax.tree.leaves(first):
    np.testing.assert_array_equal(leaf, 0.0)  # The first chunk starts from exact zeros.


@pytest.mark.parametrize("attention,feature_map", [("softmax", "sqr"), ("linear", "sqr"), ("linear", "favor+")])
def test_causal(attention, feature_map):
  config = make_config(attention=attention, feature_map=feature_map)
  model, variables = _init(config)
  rngs = {"features": jax.random.PRNGKey(2)}
  tokens = _tokens()
  changed = tokens.at[:, 8:].set((tokens[:, 8:] + 3) % 8)
  before = model.apply(variables, tokens, rngs=rngs)
  after = model.apply(variables, changed, rngs=rngs)
  np.testing.assert_array_equal(before[:, :8], after[:, :8])
  assert not np.allclose(before[:, 8:], after[:, 8:])


def test_softmax_variant_has_a_cache_not_a_state():
  config = make_config(attention="softmax")
  model, variables = _init(config)
  assert model.apply(variables, _tokens()).shape == (B, L, 8)
  with pytest.raises(ValueError, match="no recurrence to rebuild"):
    model.apply(variables, _tokens(), model_lib.init_kv_cache(config, B, L), 0, False, method="rebuild_chunk")
  with pytest.raises(ValueError, match="no constant-size state"):
    model_lib.init_states(config, B)


def test_favor_features_follow_the_key():
  config = make_config(feature_map="favor+", num_feature_blocks=2)
  model, variables = _init(config)  # init needs no "features" rng.
  apply = jit(lambda key: model.apply(variables, _tokens(), rngs={"features": key}))
  a, b, c = apply(jax.random.PRNGKey(1)), apply(jax.random.PRNGKey(1)), apply(jax.random.PRNGKey(2))
  np.testing.assert_array_equal(a, b)
  assert float(jnp.max(jnp.abs(a - c))) > 1e-3
  assert model_lib.init_states(config, B)[0][0].shape == (B, 2, 16, 8)  # M = N d = 16.
  with pytest.raises(ValueError, match="rngs=\\{'features'"):
    model.apply(variables, _tokens())


def test_position_offset_shifts_the_sinusoids():
  pos = model_lib.sinusoid_positions(jnp.arange(5) + 3, 8, jnp.float32)
  np.testing.assert_allclose(pos, model_lib.sinusoid_positions(jnp.arange(8), 8, jnp.float32)[3:], atol=1e-6)
  assert pos.shape == (5, 8)
  np.testing.assert_allclose(pos[:, 0], np.sin(np.arange(3, 8)), atol=1e-6)  # Frequency 1 first.
  np.testing.assert_allclose(pos[:, 4], np.cos(np.arange(3, 8)), atol=1e-6)
