# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Next-token loss and its exact gradient in memory that does not grow with L (SLiM, Alg. 1).

Likhosherstov et al., "Sub-Linear Memory: How to Make Performers SLiM" (NeurIPS 2021), Sec. 3:
the causal linear-attention model is a recurrence over chunks whose only carried state is each
layer's (S, z). So the loss of a length-L sequence is a sum over chunks, and its gradient can be
computed chunk by chunk in reverse, rebuilding each chunk's start state from its end state by
subtracting the chunk's own contribution. A model with a convolution or window heads also reads
each layer's last R rows before a chunk: the forward pass carries them, and the reverse pass
recomputes them from the T tokens before the chunk (performer.prefix_length), so they are never
stored per chunk. Live memory: the tokens, per-layer states, one chunk's activations (with its
prefix), and the gradient accumulator; nothing else grows with L.

Loss convention (shared by every function here and by inference.py): position t predicts token
t+1; only targets that are bases (A, C, G, T: id < 4) count, since N and padding carry no
sequence information; the loss is sum(nll) / max(count, 1) in nats. The last position of the
sequence has no target; the last position of a chunk predicts the first token of the next one.

`params` is accepted either as the linen variables {"params": tree} or as the bare tree (what
`model.init(...)["params"]` returns); gradients come back in the structure that was passed.
"""

from typing import Optional, Tuple

import jax
import jax.numpy as jnp

from genome_transformer.genomics.tokenizer import (
  NUM_BASES,  # Ids below it (A, C, G, T) are the only targets that count.
  PAD_ID,  # Never a target; fills ragged chunks and prefixes.
)
from genome_transformer.model import match, recurrence
from genome_transformer.model import performer as model_lib
from genome_transformer.model.recurrence import as_variables, chunked_inputs, feature_rngs, float_dtype


def target_log_probs(logits_BLV: jax.Array, targets_BL: jax.Array) -> jax.Array:
  """log p(target) at every position, in at least float32."""
  logits_BLV = logits_BLV.astype(jnp.promote_types(logits_BLV.dtype, jnp.float32))
  logp_BLV = jax.nn.log_softmax(logits_BLV, axis=-1)
  return jnp.take_along_axis(logp_BLV, targets_BL[..., None].astype(jnp.int32), axis=-1)[..., 0]


def _weighted_nll(logits_BLV: jax.Array, targets_BL: jax.Array, weights_BL: jax.Array) -> jax.Array:
  nll_BL = -target_log_probs(logits_BLV, targets_BL)
  # where, not multiply: a masked position must not turn an inf into nan.
  return jnp.sum(jnp.where(weights_BL, nll_BL, 0.0))


def next_token_loss(logits_BLV: jax.Array, tokens_BL: jax.Array) -> Tuple[jax.Array, jax.Array]:
  """(sum of next-token nll over base targets, their count); the mean is sum / max(count, 1)."""
  targets_BL = tokens_BL[:, 1:]
  weights_BL = targets_BL < NUM_BASES
  sum_nll = _weighted_nll(logits_BLV[:, :-1], targets_BL, weights_BL)
  return sum_nll, jnp.sum(weights_BL).astype(sum_nll.dtype)


def full_loss(
  model: model_lib.SLiMPerformer, params, tokens_BL: jax.Array, rng: Optional[jax.Array] = None
) -> jax.Array:
  """Mean next-token loss from one whole-sequence forward (plain autodiff applies)."""
  variables, _ = as_variables(params)
  logits_BLV = model.apply(variables, match.model_inputs(model.config, tokens_BL), rngs=feature_rngs(rng))
  sum_nll, count = next_token_loss(logits_BLV, tokens_BL)
  return sum_nll / jnp.maximum(count, 1)


def chunk_targets(ids_BC: jax.Array, next_B: jax.Array) -> Tuple[jax.Array, jax.Array]:
  """(targets, weights): position t predicts t+1; the chunk's last predicts the next chunk's first."""
  targets_BC = match.tokens_of(jnp.concatenate([ids_BC[:, 1:], next_B[:, None]], axis=1))
  return targets_BC, targets_BC < NUM_BASES


def _chunk_nll(logits_BCV: jax.Array, tokens_BC: jax.Array, next_B: jax.Array) -> jax.Array:
  return _weighted_nll(logits_BCV, *chunk_targets(tokens_BC, next_B))


def _check_linear(model: model_lib.SLiMPerformer) -> None:
  if model.config.attention != "linear":
    raise ValueError(
      f"model.attention={model.config.attention!r} has no chunk recurrence: use "
      "jax.value_and_grad(full_loss) for it (the sub-linear step needs linear attention)."
    )


def _prefix_reader(model: model_lib.SLiMPerformer, ids_BL: jax.Array):
  """offset -> the T = model_lib.prefix_length input ids before a chunk starting there ([B, T]), or None.

  Positions before the sequence start read PAD (the model treats them as absent). One padded copy
  of the tokens, sliced inside the reverse scan: the tokens stay the only O(L) arrays.
  """
  num_prefix = model_lib.prefix_length(model.config)
  if not num_prefix:
    return lambda offset: None
  padded_BL = jnp.pad(ids_BL, [(0, 0), (num_prefix, 0)], constant_values=PAD_ID)
  return lambda offset: jax.lax.dynamic_slice_in_dim(padded_BL, offset, num_prefix, axis=1)


def _forward_states(model, variables, chunks, rng, states, collect: bool = False):
  """Forward over chunks keeping only the per-layer states: (final states, stacked start states or None).

  Nothing but the states leaves the loop, so XLA drops the work that does not feed them: the head
  and the loss (the reverse pass recomputes every chunk's loss anyway) and, in the last layer, the
  queries, the attention output and the FFN.
  """
  per_chunk = (lambda acc, out, chunk, start_states: (acc, start_states)) if collect else None
  final_states, _, starts = recurrence.scan_chunks(
    model, variables, states, chunks, per_chunk, rng=rng, return_hidden=True
  )
  return final_states, starts


def loss_and_grad(
  model: model_lib.SLiMPerformer,
  params,
  tokens_BL: jax.Array,
  chunk_size: int,
  rng: Optional[jax.Array] = None,
  state_dtype: Optional[jnp.dtype] = None,
):
  """(mean next-token loss, its gradient w.r.t. params) by the SLiM algorithm for the whole model.

  1. A forward lax.scan over chunks carries only the per-layer (S, z), and computes nothing else.
  2. A reverse lax.scan visits the chunks last to first. For each it runs the chunk from its END
     states: every layer subtracts the chunk's own contribution to get its start state, runs
     from there, and jax.vjp of that one chunk gives the chunk's loss, the parameter gradient and
     the cotangent of the start states, which is the cotangent of the previous chunk's end
     states. The loss is the sum of the chunks' losses from this pass (from the rebuilt states).
  The gradient is exact (no approximation), up to round-off in the rebuilt states. Measured by
  benchmarks/roundoff.py (sqr, E. coli, float32 vs float64, L = 2^20): relative gradient error
  3.0e-6 with C = 1024 (1 layer; 3.0e-6 without any subtraction) and 6.0e-6 with C = 64 and 3
  layers (4.3e-6 without), far inside 1e-3. `state_dtype` keeps the carried states and the
  subtraction in a wider dtype (jnp.float64 under jax_enable_x64) for cases that need it; it
  brings the error down to the no-subtraction floor. Default: the parameters' dtype. jit with
  `chunk_size` (and `state_dtype`) static.
  """
  _check_linear(model)
  variables, bare = as_variables(params)
  rngs = feature_rngs(rng)
  ids_BL = match.model_inputs(model.config, tokens_BL)
  chunks, count = chunked_inputs(ids_BL, chunk_size)
  batch = tokens_BL.shape[0]
  dtype = float_dtype(variables)
  norm = jnp.maximum(count, 1).astype(jnp.promote_types(dtype, jnp.float32))
  states0 = model_lib.init_states(model.config, batch, state_dtype or dtype, dtype)
  final_states, _ = _forward_states(model, variables, chunks, rng, states0)

  num_chunks = chunks[0].shape[0]
  is_first = jnp.arange(num_chunks) == 0
  prefix_of = _prefix_reader(model, ids_BL)

  def reverse_body(carry, xs):
    end_states, d_end_states, grads, loss = carry
    tokens_BC, next_B, offset, first = xs
    prefix_BT = prefix_of(offset)

    def chunk(v, given_end_states):
      logits_BCV, new_end_states, start_states = model.apply(
        v,
        tokens_BC,
        position_offset=offset,
        states=given_end_states,
        states_at_end=True,
        first_chunk=first,
        prefix_BT=prefix_BT,
        rngs=rngs,
      )
      return (_chunk_nll(logits_BCV, tokens_BC, next_B) / norm, new_end_states), start_states

    (chunk_loss, _), vjp_fn, start_states = jax.vjp(chunk, variables, end_states, has_aux=True)
    d_vars, d_start_states = vjp_fn((jnp.ones_like(chunk_loss), d_end_states))
    grads = jax.tree.map(lambda g, d: g + d.astype(g.dtype), grads, d_vars)
    return (start_states, d_start_states, grads, loss + chunk_loss), None

  zeros_like = lambda tree: jax.tree.map(jnp.zeros_like, tree)
  # Gradients add up over the chunks in at least float32, whatever the compute dtype.
  grads0 = jax.tree.map(lambda v: jnp.zeros(v.shape, jnp.promote_types(v.dtype, jnp.float32)), variables)
  loss0 = jnp.zeros((), norm.dtype)
  (_, _, grads, loss), _ = jax.lax.scan(
    reverse_body,
    (final_states, zeros_like(final_states), grads0, loss0),
    chunks + (is_first,),
    reverse=True,
  )
  return loss, (grads["params"] if bare else grads)


def chunk_start_states(
  model: model_lib.SLiMPerformer,
  params,
  tokens_BL: jax.Array,
  chunk_size: int,
  rng: Optional[jax.Array] = None,
  rebuilt: bool = False,
  state_dtype: Optional[jnp.dtype] = None,
):
  """Every chunk's per-layer start states, stacked [N, ...]: a diagnostic (memory O(L / C)).

  rebuilt=False: as the forward pass computes them; rebuilt=True: as loss_and_grad's reverse
  pass rebuilds them by subtraction from the final states.
  """
  _check_linear(model)
  variables, _ = as_variables(params)
  rngs = feature_rngs(rng)
  ids_BL = match.model_inputs(model.config, tokens_BL)
  chunks, _ = chunked_inputs(ids_BL, chunk_size)
  dtype = float_dtype(variables)
  states0 = model_lib.init_states(model.config, tokens_BL.shape[0], state_dtype or dtype, dtype)
  final_states, starts = _forward_states(model, variables, chunks, rng, states0, collect=True)
  if not rebuilt:
    return starts
  is_first = jnp.arange(chunks[0].shape[0]) == 0
  prefix_of = _prefix_reader(model, ids_BL)

  def body(end_states, xs):
    tokens_BC, _, offset, first = xs
    _, _, start_states = model.apply(
      variables,
      tokens_BC,
      position_offset=offset,
      states=end_states,
      states_at_end=True,
      first_chunk=first,
      prefix_BT=prefix_of(offset),
      rngs=rngs,
    )
    return start_states, start_states

  _, rebuilt_starts = jax.lax.scan(body, final_states, chunks + (is_first,), reverse=True)
  return rebuilt_starts


def checkpointed_scan_loss(
  model: model_lib.SLiMPerformer, params, tokens_BL: jax.Array, chunk_size: int, rng: Optional[jax.Array] = None
) -> jax.Array:
  """The mean loss as a lax.scan over chunks with jax.checkpoint on the chunk: a baseline.

  Differentiated by plain autodiff it needs no subtraction, but stores every chunk's carried
  states for the backward pass: memory O(L / C) states (benchmarks/memory.py compares).
  """
  _check_linear(model)
  chunks, count = chunked_inputs(match.model_inputs(model.config, tokens_BL), chunk_size)
  dtype = float_dtype(params)
  states0 = model_lib.init_states(model.config, tokens_BL.shape[0], dtype)
  add_nll = lambda sum_nll, logits_BCV, chunk, _: (sum_nll + _chunk_nll(logits_BCV, chunk.ids, chunk.next_ids), None)
  sum0 = jnp.zeros((), jnp.promote_types(dtype, jnp.float32))
  _, sum_nll, _ = recurrence.scan_chunks(model, params, states0, chunks, add_nll, sum0, rng=rng, checkpoint=True)
  return sum_nll / jnp.maximum(count, 1)
