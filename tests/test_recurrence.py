# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The chunk recurrence and the decode loop reproduce the whole-sequence forward and each other."""

import jax
import jax.numpy as jnp
from model_testing import COMPONENTS, forward, init_variables, jit, make_config, perturbed
import numpy as np
import pytest

from genome_transformer.model import inference, match, recurrence
from genome_transformer.model import performer as model_lib

B, L, C = 2, 37, 8  # L is not a multiple of C: the last chunk is ragged.

# The plain model, one whose layers read rows before a chunk (convolution and a window head), and
# one with the match input, which `step` carries a state of its own for.
VARIANTS = {
  "plain": {},
  "context_rows": dict(COMPONENTS["window"], conv_width=3),
  "match": dict(match_order=2),
}


def _setup(variant):
  model = model_lib.SLiMPerformer(make_config(**VARIANTS[variant]))
  tokens = jax.random.randint(jax.random.PRNGKey(3), (B, L), 0, 6)  # Some N and PAD among them.
  # Moved off init: the convolution starts as the identity and the match embedding at zero.
  params = perturbed(init_variables(model, tokens)["params"])
  return model, params, tokens


def _allclose(got, want):
  for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
    np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("variant", ["plain", "context_rows"])
def test_scan_chunks_callback_sees_the_whole_sequence_forward(variant):
  model, params, tokens = _setup(variant)
  chunks, _ = recurrence.chunked_inputs(tokens, C)
  states0 = model_lib.init_states(model.config, B)

  def per_chunk(acc, logits_BCV, chunk, start_states):
    # acc sums each chunk's first logits; y keeps the logits, the offset and the start states.
    return acc + jnp.sum(logits_BCV[:, 0]), (logits_BCV, chunk.offset, start_states)

  run = jit(lambda p: recurrence.scan_chunks(model, p, states0, chunks, per_chunk, jnp.zeros(())))
  _, acc, (logits_NBCV, offsets_N, starts) = run(params)
  num_chunks = -(-L // C)
  assert logits_NBCV.shape == (num_chunks, B, C, model.config.vocab_size)
  np.testing.assert_array_equal(offsets_N, np.arange(num_chunks) * C)
  want_BLV = forward(model, {"params": params}, tokens)
  got_BLV = jnp.moveaxis(logits_NBCV, 0, 1).reshape(B, num_chunks * C, -1)[:, :L]
  _allclose(got_BLV, want_BLV)
  _allclose(acc, jnp.sum(want_BLV[:, ::C]))
  # The start states handed to chunk 2 are the states after the first 2 C tokens.
  _, want_states = model.apply({"params": params}, tokens[:, : 2 * C], states0, 0, method="chunk")
  _allclose(jax.tree.map(lambda s: s[2], starts), want_states)


def test_scan_chunks_past_num_valid_leave_the_states():
  model, params, tokens = _setup("context_rows")
  states0 = model_lib.init_states(model.config, B)
  ids_NBC = jnp.moveaxis(tokens[:, : 4 * C].reshape(B, 4, C), 1, 0)
  chunks = recurrence.stacked_chunks(ids_NBC)
  run = jit(lambda p, n: recurrence.scan_chunks(model, p, states0, chunks, num_valid=n)[0])
  _, want = model.apply({"params": params}, tokens[:, : 2 * C], states0, 0, method="chunk")
  _allclose(run(params, 2), want)
  # The last two chunks do move the states when they count.
  _, all_four = model.apply({"params": params}, tokens[:, : 4 * C], states0, 0, method="chunk")
  _allclose(run(params, 4), all_four)
  assert not np.allclose(all_four[0][0], want[0][0])


@pytest.mark.parametrize("variant", ["plain", "context_rows", "match"])
def test_decode_fed_the_tokens_equals_chunked_scoring(variant):
  model, params, tokens = _setup(variant)
  states0 = recurrence.with_match_state(model.config, model_lib.init_states(model.config, B))
  rows_B = jnp.arange(B)

  def per_step(logits_BV, position, next_B):
    return next_B, jax.nn.log_softmax(logits_BV, -1)[rows_B, next_B]

  run = jit(
    lambda p, n: recurrence.decode(model, p, states0, tokens[:, 0], 0, per_step, xs=tokens[:, 1:].T, num_valid=n)
  )
  states, token_B, position, logp_TB = run(params, L)
  want_BL = jit(inference.chunked_log_likelihood, static_argnums=(0, 3))(model, params, tokens, C)
  _allclose(logp_TB.T, want_BL[:, 1:])
  np.testing.assert_array_equal(token_B, tokens[:, -1])
  assert int(position) == L - 1
  # The states after the L - 1 fed tokens continue the sequence: the last token's logits.
  logits_BV, _ = recurrence.step(model, params, token_B, states, position)
  want_BV = forward(model, {"params": params}, match.model_inputs(model.config, tokens))[:, -1]
  _allclose(logits_BV, want_BV)
  # Steps past num_valid leave the states as they were after num_valid steps.
  short_states, *_ = jit(
    lambda p: recurrence.decode(model, p, states0, tokens[:, 0], 0, per_step, xs=tokens[:, 1:6].T)
  )(params)
  masked_states, *_ = run(params, 5)
  _allclose(masked_states, short_states)


def test_decode_feeds_back_what_per_step_returns():
  model, params, tokens = _setup("plain")
  states0 = model_lib.init_states(model.config, B)

  def greedy(logits_BV, position, _):
    token_B = jnp.argmax(logits_BV[:, :4], -1).astype(tokens.dtype)
    return token_B, token_B

  _, _, position, generated_TB = jit(
    lambda p: recurrence.decode(model, p, states0, tokens[:, 0], 0, greedy, length=12)
  )(params)
  assert int(position) == 12
  # Each generated token is the whole forward's argmax after the sequence it continues.
  sequence_BL = jnp.concatenate([tokens[:, :1], generated_TB.T], axis=1)
  want_BL = jnp.argmax(forward(model, {"params": params}, sequence_BL)[:, :-1, :4], -1)
  np.testing.assert_array_equal(generated_TB.T, want_BL)
