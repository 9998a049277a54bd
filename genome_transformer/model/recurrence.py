# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The model as a recurrence: a sequence run chunk by chunk, or token by token, from carried states.

Causal linear attention remembers the past only through each layer's state ((S, z) and the last R
input rows, performer.init_states), so a sequence of any length is a loop over chunks that carries
them, and generation is a loop over tokens. A softmax model carries a key/value cache through the
same loops (performer.init_kv_cache). Every forward pass over chunks in the package (the SLiM
forward and its checkpointed baseline, scoring, embeddings, prefill) is `scan_chunks` with its own
per-chunk callback, and every pass over tokens (the end of a prefill, generation) is `decode`,
which calls `step` once per token. The SLiM reverse pass (sublinear.py) runs chunks from their end
states instead and keeps its own loop.

`params` is accepted either as the linen variables {"params": tree} or as the bare tree (what
`model.init(...)["params"]` returns).
"""

from typing import Any, Callable, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp

from genome_transformer.genomics.tokenizer import NUM_BASES, PAD_ID
from genome_transformer.model import match
from genome_transformer.model import performer as model_lib


def as_variables(params) -> Tuple[Any, bool]:
  """Linen variables for `params`, and whether the caller passed the bare parameter tree."""
  if isinstance(params, dict) or hasattr(params, "keys"):
    if set(params.keys()) == {"params"}:
      return params, False
  return {"params": params}, True


def feature_rngs(rng: Optional[jax.Array]) -> dict:
  """The `rngs` argument of apply: FAVOR+ draws from "features"; other maps need none."""
  return {} if rng is None else {"features": rng}


def float_dtype(tree) -> jnp.dtype:
  """The dtype of the first floating leaf (the compute dtype of the parameters)."""
  for leaf in jax.tree.leaves(tree):
    if jnp.issubdtype(leaf.dtype, jnp.floating):
      return leaf.dtype
  return jnp.float32


class Chunks(NamedTuple):
  """A batch of sequences cut into N chunks of C input ids, stacked on a leading axis for lax.scan.

  Inside a `scan_chunks` callback the same fields hold one chunk (the leading N axis gone).
  """

  ids: jax.Array  # [N, B, C] the model's input ids.
  next_ids: Optional[jax.Array]  # [N, B] the id after each chunk (PAD after the end), or None.
  offset: jax.Array  # [N] absolute position of each chunk's first id.


def chunked_inputs(ids_BL: jax.Array, chunk_size: int) -> Tuple[Chunks, jax.Array]:
  """(the chunks of ids_BL, the count of base targets in the whole sequence).

  `ids_BL`: the model's input ids (match.model_inputs of the tokens; the tokens themselves for a
  model without the match input).

  The ragged end is padded with PAD, and the token after the last is PAD: padding tokens only
  feed positions after the end (causality) and are never targets, so they change neither the
  loss nor the gradient. Chunk targets are derived inside each chunk from `ids` and `next_ids`,
  so the only O(L) arrays are the tokens themselves.
  """
  if chunk_size < 1:
    raise ValueError(f"chunk_size={chunk_size} must be >= 1.")
  batch, length = ids_BL.shape
  chunk_size = min(chunk_size, length)
  num_chunks = -(-length // chunk_size)
  pad = num_chunks * chunk_size - length
  padded_BL = jnp.pad(ids_BL, [(0, 0), (0, pad + 1)], constant_values=PAD_ID)
  ids_NBC = jnp.moveaxis(padded_BL[:, :-1].reshape(batch, num_chunks, chunk_size), 1, 0)
  next_NB = padded_BL[:, chunk_size::chunk_size].T
  # The normaliser is known before any chunk runs, so each chunk's loss term is exact.
  count = jnp.sum(match.tokens_of(ids_BL[:, 1:]) < NUM_BASES)
  return Chunks(ids_NBC, next_NB, jnp.arange(num_chunks) * chunk_size), count


def stacked_chunks(ids_NBC: jax.Array, start=0) -> Chunks:
  """Chunks of ids already cut into [N, B, C], the first at absolute position `start`: no targets."""
  return Chunks(ids_NBC, None, start + jnp.arange(ids_NBC.shape[0]) * ids_NBC.shape[2])


def _keep_if(condition, new, old):
  return jax.tree.map(lambda n, o: jnp.where(condition, n, o), new, old)


# per_chunk(acc, out_BC, chunk, start_states) -> (acc, y): out_BC is the chunk's logits [B, C, V] (or
# hidden states [B, C, D] with return_hidden), chunk one chunk of the Chunks.
ChunkFn = Callable[[Any, jax.Array, Chunks, Any], Tuple[Any, Any]]


def scan_chunks(
  model: model_lib.SLiMPerformer,
  params,
  states,
  chunks: Chunks,
  per_chunk: Optional[ChunkFn] = None,
  init: Any = None,
  *,
  rng: Optional[jax.Array] = None,
  return_hidden: bool = False,
  checkpoint: bool = False,
  num_valid: Any = None,
):
  """Runs the chunks in order from `states`, carrying the states: (final states, acc, stacked ys).

  `per_chunk` folds each chunk's output into `acc` (starting from `init`) and may emit a y per
  chunk; without it only the states come out, and XLA drops the work that does not feed them
  (the head and, in the last layer, everything after its keys and values).

  `states`: per-layer states (performer.init_states, or init_kv_cache for a softmax model), or
  None to run each chunk as a whole sequence, with no state in or out (a softmax sequence that
  fits in one chunk, whose cache would only be read back by itself).
  `checkpoint`: jax.checkpoint on each chunk, so plain autodiff of the scan stores only every
  chunk's carry (O(L / C) states) and recomputes the chunk's activations.
  `num_valid`: the chunks at index >= num_valid run but leave the states as they were, so padded
  chunks let one compilation serve any number of real ones (a pad must not enter S and z).
  """
  variables, _ = as_variables(params)
  rngs = feature_rngs(rng)

  def body(carry, xs):
    states, acc = carry
    index, chunk = xs
    if states is None:
      out_BC = model.apply(variables, chunk.ids, position_offset=chunk.offset, rngs=rngs, return_hidden=return_hidden)
      new_states = None
    else:
      out_BC, new_states = model.apply(
        variables, chunk.ids, states, chunk.offset, return_hidden=return_hidden, rngs=rngs, method="chunk"
      )
      if num_valid is not None:
        new_states = _keep_if(index < num_valid, new_states, states)
    acc, y = (acc, None) if per_chunk is None else per_chunk(acc, out_BC, chunk, states)
    return (new_states, acc), y

  if checkpoint:
    body = jax.checkpoint(body)
  indices = None if num_valid is None else jnp.arange(chunks.ids.shape[0])
  (states, acc), ys = jax.lax.scan(body, (states, init), (indices, chunks))
  return states, acc, ys


def step(
  model: model_lib.SLiMPerformer, params, token_B: jax.Array, states, position, rng: Optional[jax.Array] = None
) -> Tuple[jax.Array, tuple]:
  """Consumes one token per sequence at absolute `position` from `states`: (logits_BV, new states).

  logits_BV are the next-token logits after `token_B`, equal to the whole-sequence forward's
  logits at `position`. Start a linear model from performer.init_states(config, B) (O(1) per
  token), a softmax model from performer.init_kv_cache(config, B, max_length) (its cache holds
  positions < `position`; work and memory grow with max_length). A model with the match input
  carries (those states, match.MatchState) (`with_match_state`). favor+ needs the same `rng` at
  every step of a sequence. jit with `model` static.
  """
  variables, _ = as_variables(params)
  order = model.config.match_order
  ids_B = token_B
  if order:
    states, match_state = states
    match_B, match_state = match.step(match_state, token_B, order)
    ids_B = match.pack(token_B, match_B)
  logits_B1V, new_states = model.apply(
    variables, ids_B[:, None], states, position, rngs=feature_rngs(rng), method="chunk"
  )
  return logits_B1V[:, 0], ((new_states, match_state) if order else new_states)


def with_match_state(model_config, states, tokens_BL: Optional[jax.Array] = None, length=0):
  """The `step` states of a model with the match input: (states, match state after tokens [0, length)).

  A model without it steps from `states` alone, which are returned as they are.
  """
  order = model_config.match_order
  if not order:
    return states
  if tokens_BL is None:
    return states, match.initial_state(order, jax.tree.leaves(states)[0].shape[0])
  return states, match.state_after(tokens_BL, length, order)


# per_step(logits_BV, position, x) -> (next token_B, y): logits after the token fed at `position`;
# x is the step's slice of `xs` (None without xs).
StepFn = Callable[[jax.Array, jax.Array, Any], Tuple[jax.Array, Any]]


def decode(
  model: model_lib.SLiMPerformer,
  params,
  states,
  token_B: jax.Array,
  position,
  per_step: StepFn,
  *,
  length: Optional[int] = None,
  xs: Any = None,
  rng: Optional[jax.Array] = None,
  num_valid: Any = None,
):
  """Feeds token_B at `position`, then the token per_step returns at the next position, and so on.

  `length` steps, or one per leading entry of `xs`. Sampling returns a token drawn from the
  logits; a loop over given tokens (teacher forcing) passes the tokens after the first as `xs` and
  returns x. `states` as `step` takes them (with_match_state for a model with the match input).
  `num_valid`: steps at index >= num_valid run but leave the states as they were (padding).
  Returns (states after the fed tokens, the token to feed next, its position, stacked ys).
  """

  def body(carry, inputs):
    states, token_B, position = carry
    index, x = inputs
    logits_BV, new_states = step(model, params, token_B, states, position, rng)
    if num_valid is not None:
      new_states = _keep_if(index < num_valid, new_states, states)
    token_B, y = per_step(logits_BV, position, x)
    return (new_states, token_B, position + 1), y

  if length is None:
    length = jax.tree.leaves(xs)[0].shape[0]
  carry = (states, token_B, jnp.asarray(position, jnp.int32))
  (states, token_B, position), ys = jax.lax.scan(body, carry, (jnp.arange(length), xs), length=length)
  return states, token_B, position, ys
