# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The match input (model/match.py): its computations equal a direct search, and a model that reads it
keeps every equivalence: sub-linear gradients == autodiff, chunked == whole == step by step."""

import jax
import jax.numpy as jnp
from model_testing import COMPONENTS, forward, init_variables, jit, make_config, perturbed
import numpy as np
import pytest

from genome_transformer.genomics import tokenizer
from genome_transformer.model import inference, losses, match, sublinear
from genome_transformer.model import performer as model_lib

B, L = 3, 90


def _tokens(seed=0, length=L):
  """Bases from a skewed distribution (short repeats are common), some N and PAD, and a planted copy."""
  rng = np.random.default_rng(seed)
  tokens = rng.choice(6, size=(B, length), p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04]).astype(np.int32)
  tokens[:, length - 20 :] = tokens[:, 10:30]  # A long exact repeat: every order matches there.
  return tokens


def _direct_search(tokens_BL: np.ndarray, order: int) -> np.ndarray:
  """For each t: scan back for the latest p < t whose m-mer equals t's (all m bases), and read p + 1."""
  out = np.zeros(tokens_BL.shape, np.int32)
  for b, row in enumerate(tokens_BL):
    for t in range(order - 1, len(row)):
      mer = row[t - order + 1 : t + 1]
      if np.any(mer >= tokenizer.NUM_BASES):
        continue
      for p in range(t - 1, order - 2, -1):
        if np.array_equal(row[p - order + 1 : p + 1], mer):
          out[b, t] = row[p + 1] + 1 if row[p + 1] < tokenizer.NUM_BASES else 0
          break
  return out


@pytest.mark.parametrize("order", [1, 2, 3, 6])
def test_followers_equal_a_direct_search(order):
  tokens = _tokens()
  want = _direct_search(tokens, order)
  assert np.count_nonzero(want) >= 10  # The comparison covers matches (order 6: mostly the planted copy).
  np.testing.assert_array_equal(match.followers(jnp.asarray(tokens), order), want)


@pytest.mark.parametrize("order", [1, 3])
def test_steps_from_any_state_after_equal_followers(order):
  """The recurrent form: state after a prefix of any length (0, short, at a non-base, whole), then steps."""
  tokens = jnp.asarray(_tokens(1))
  want = np.asarray(match.followers(tokens, order))
  step = jax.jit(match.step, static_argnums=2)
  for split in (0, 1, order, 37, 61, L):
    state = match.state_after(tokens, split, order)
    got = []
    for t in range(split, L):
      match_B, state = step(state, tokens[:, t], order)
      got.append(match_B)
    if got:
      np.testing.assert_array_equal(np.stack(got, axis=1), want[:, split:], err_msg=f"split {split}")
  # A length per row, as generation's prefill passes it.
  lengths = jnp.array([5, 40, 77])
  state = match.state_after(tokens, lengths, order)
  for b, length in enumerate(np.asarray(lengths)):
    row_state = jax.tree.map(lambda x: x[b : b + 1], state)
    match_1, _ = match.step(row_state, tokens[b : b + 1, length], order)
    assert int(match_1[0]) == want[b, length]
  np.testing.assert_array_equal(match.initial_state(order, B).table_BK, match.state_after(tokens, 0, order).table_BK)


def test_model_inputs_pack_the_match_beside_the_token():
  tokens = jnp.asarray(_tokens(2))
  config = make_config(match_order=3)
  ids = match.model_inputs(config, tokens)
  np.testing.assert_array_equal(match.tokens_of(ids), tokens)
  np.testing.assert_array_equal(ids // tokenizer.VOCAB_SIZE, match.followers(tokens, 3))
  np.testing.assert_array_equal(match.model_inputs(make_config(), tokens), tokens)  # Off: the tokens.


def _model(dtype=jnp.float32, **overrides):
  config = make_config(match_order=2, **overrides)
  model = model_lib.SLiMPerformer(config)
  params = init_variables(model, jnp.zeros((1, 8), jnp.int32))["params"]
  # Moved off init: the match embedding starts at zero and must be seen to work.
  return model, perturbed(params, dtype)


def test_starts_as_the_model_without_it_and_then_reads_it():
  tokens = jnp.asarray(_tokens(3))
  plain = model_lib.SLiMPerformer(make_config(conv_width=3))
  with_match = model_lib.SLiMPerformer(make_config(conv_width=3, match_order=2))
  plain_params = init_variables(plain, tokens)["params"]
  match_params = init_variables(with_match, tokens)["params"]
  assert float(jnp.max(jnp.abs(match_params["match_embed"]["embedding"]))) == 0.0
  ids = match.model_inputs(with_match.config, tokens)
  np.testing.assert_array_equal(
    forward(with_match, {"params": match_params}, ids), forward(plain, {"params": plain_params}, tokens)
  )
  moved = perturbed(match_params)
  with_ids, without = forward(with_match, {"params": moved}, ids), forward(with_match, {"params": moved}, tokens)
  first = int(np.argmax(np.any(np.asarray(ids) >= tokenizer.VOCAB_SIZE, axis=0)))
  np.testing.assert_array_equal(with_ids[:, :first], without[:, :first])  # Causal: nothing changes before.
  assert not np.allclose(with_ids[:, first:], without[:, first:])


_full = jit(
  lambda model, params, tokens: jax.value_and_grad(lambda p: losses.full_loss(model, p, tokens))(params),
  static_argnums=0,
)
_slim = jit(sublinear.loss_and_grad, static_argnums=(0, 3))


# The match input alone, and beside the other components together (COMPONENTS["all"]) with a ragged last
# chunk; their chunk-size sweep (C = 1 ... L) is test_sublinear.py's, and the match input is sliced like the tokens.
@pytest.mark.parametrize("component,chunk_size", [("none", 7), ("all", L - 1)])
def test_sublinear_gradient_equals_autodiff_float64(component, chunk_size):
  with jax.enable_x64(True):
    model, params = _model(jnp.float64, **COMPONENTS.get(component, {}))
    tokens = jnp.asarray(_tokens(4))
    (loss, grads), (loss_ref, grads_ref) = _slim(model, params, tokens, chunk_size), _full(model, params, tokens)
    np.testing.assert_allclose(loss, loss_ref, rtol=1e-10)
    for g, g_ref in zip(jax.tree.leaves(grads), jax.tree.leaves(grads_ref)):
      np.testing.assert_allclose(g, g_ref, rtol=1e-9, atol=1e-11 * float(jnp.max(jnp.abs(g_ref))))
    # The match embedding learns (its gradient is not zero), through the chunks too.
    assert float(jnp.max(jnp.abs(grads["match_embed"]["embedding"]))) > 1e-4


def test_sublinear_gradient_equals_autodiff_float32():
  model, params = _model(**COMPONENTS["hedgehog"])
  tokens = jnp.asarray(_tokens(5))
  (loss, grads), (loss_ref, grads_ref) = _slim(model, params, tokens, 16), _full(model, params, tokens)
  np.testing.assert_allclose(loss, loss_ref, rtol=1e-4)
  for g, g_ref in zip(jax.tree.leaves(grads), jax.tree.leaves(grads_ref)):
    np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-5 * float(jnp.max(jnp.abs(g_ref))))


def _whole_logp(model, params, tokens):
  logits = forward(model, {"params": params}, match.model_inputs(model.config, tokens))
  return np.asarray(jax.nn.log_softmax(logits, -1))


@pytest.mark.parametrize("attention", ["linear", "softmax"])
def test_step_by_step_and_chunked_scoring_equal_the_whole_sequence(attention):
  overrides = COMPONENTS["all"] if attention == "linear" else dict(attention="softmax", conv_width=3)
  model, params = _model(**overrides)
  tokens = jnp.asarray(_tokens(6))
  logp_LV = _whole_logp(model, params, tokens)
  want = np.take_along_axis(logp_LV[:, :-1], np.asarray(tokens)[:, 1:, None], -1)[..., 0]
  chunked = inference.chunked_log_likelihood(model, params, tokens, 16)
  np.testing.assert_allclose(chunked[:, 1:], want, rtol=1e-4, atol=1e-4)

  if attention == "linear":
    states = model_lib.init_states(model.config, B)
  else:
    states = model_lib.init_kv_cache(model.config, B, L)
  states = inference.with_match_state(model.config, states)
  step = jax.jit(inference.step, static_argnums=0)
  logits = []
  for t in range(L):
    logits_BV, states = step(model, params, tokens[:, t], states, jnp.int32(t))
    logits.append(logits_BV)
  np.testing.assert_allclose(jax.nn.log_softmax(jnp.stack(logits, 1), -1), logp_LV, rtol=1e-4, atol=1e-4)


def test_step_continues_from_a_prefix():
  """Generation's prefill: chunked states and match state after a prefix, then steps."""
  model, params = _model(**COMPONENTS["conv"])
  tokens = jnp.asarray(_tokens(7))
  logp_LV = _whole_logp(model, params, tokens)
  split = 48
  ids = match.model_inputs(model.config, tokens)
  _, states = model.apply({"params": params}, ids[:, :split], model_lib.init_states(model.config, B), 0, method="chunk")
  states = inference.with_match_state(model.config, states, tokens, split)
  for t in range(split, L):
    logits_BV, states = inference.step(model, params, tokens[:, t], states, jnp.int32(t))
    np.testing.assert_allclose(jax.nn.log_softmax(logits_BV, -1), logp_LV[:, t], rtol=1e-4, atol=1e-4)


def test_config_refuses_an_order_past_the_table():
  from genome_transformer import config_lib

  config = config_lib.base_config()
  config.model.match_order = config_lib.MAX_MATCH_ORDER + 1
  with pytest.raises(config_lib.ConfigError, match="model.match_order"):
    config_lib.validate(config)
