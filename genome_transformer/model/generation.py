# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Compiled generation kernels: a prompt's states, the next token's logits, sampled continuations.

A linear model consumes the prompt through the recurrence (whole chunks, then single steps) and
samples from the carried state, so time and memory per token do not grow with the context. A
softmax model has no recurrent state here: `full_logits_at_jit` reruns the forward over the
context for every token. The pretrained API pads its inputs to a few shapes, so each kernel is
compiled once per shape bucket (release/pretrained.py).
"""

import functools

import jax
import jax.numpy as jnp

from genome_transformer.genomics import tokenizer
from genome_transformer.model import match, recurrence
from genome_transformer.model import performer as model_lib


def sample(logits_V, key, temperature, top_k):
  """A base id 0..3: only A C G T logits are kept; top_k of them; softmax at `temperature`."""
  logits_4 = logits_V[: tokenizer.NUM_BASES].astype(jnp.float32) / temperature
  kth = jnp.sort(logits_4)[tokenizer.NUM_BASES - top_k]
  logits_4 = jnp.where(logits_4 >= kth, logits_4, -jnp.inf)
  return jax.random.categorical(key, logits_4).astype(jnp.int32)


sample_jit = jax.jit(sample)


@functools.partial(jax.jit, static_argnums=(0,))
def prefill_jit(model, params, chunks_NC, num_chunks, tail_T, num_tail, rng):
  """Per-layer states after consuming num_chunks whole chunks, then num_tail single tokens.

  The padded chunks and tail steps past the counts run but their states are discarded (a pad
  must not enter the sums S and z), so one compilation serves every prompt length in a bucket.
  """
  chunk = chunks_NC.shape[1]
  states = model_lib.init_states(model.config, 1, recurrence.float_dtype(params))
  # A position's match depends on everything before it, so the ids come from the whole prompt.
  prompt_1P = chunks_NC.reshape(1, -1)
  ids_N1C = match.model_inputs(model.config, prompt_1P).reshape(chunks_NC.shape)[:, None]
  states, _, _ = recurrence.scan_chunks(
    model, params, states, recurrence.stacked_chunks(ids_N1C), rng=rng, num_valid=num_chunks
  )
  states = recurrence.with_match_state(model.config, states, prompt_1P, num_chunks * chunk)
  # The tail is fed as given: each step's next token is the prompt's following one.
  following_T = jnp.concatenate([tail_T[1:], jnp.full((1,), tokenizer.PAD_ID, tail_T.dtype)])
  states, _, _, _ = recurrence.decode(
    model,
    params,
    states,
    tail_T[:1],
    num_chunks * chunk,
    lambda logits_1V, position, next_token: (next_token[None], None),
    xs=following_T,
    rng=rng,
    num_valid=num_tail,
  )
  return states


@functools.partial(jax.jit, static_argnums=(0,))
def step_logits_jit(model, params, states, token, position, rng):
  """(logits [V] after `token` at `position`, the states after it), for one sequence."""
  logits_1V, states = recurrence.step(model, params, token[None], states, position, rng)
  return logits_1V[0], states


@functools.partial(jax.jit, static_argnums=(0, 1))
def sample_block_jit(model, block, params, states, token, position, key, temperature, top_k, rng):
  """Feeds `token` at `position`, samples the next, and so on `block` times, from the carried state.

  The sample after position t draws from fold_in(key, t), so a key gives one sequence however it
  is cut into blocks. Returns (states, the token to feed next, its position, the block's tokens).
  """

  def pick(logits_1V, position, _):
    token = sample(logits_1V[0], jax.random.fold_in(key, position), temperature, top_k)
    return token[None], token

  states, token_1, position, tokens_T = recurrence.decode(
    model, params, states, token[None], position, pick, length=block, rng=rng
  )
  return states, token_1[0], position, tokens_T


@functools.partial(jax.jit, static_argnums=(0,))
def full_logits_at_jit(model, params, tokens_L, position, rng):
  """Logits [V] after `position`, from one whole-sequence forward over tokens_L (any attention)."""
  ids_1L = match.model_inputs(model.config, tokens_L[None])
  logits_1LV = model.apply({"params": params}, ids_1L, rngs=recurrence.feature_rngs(rng))
  return jax.lax.dynamic_index_in_dim(logits_1LV[0], position, keepdims=False)
