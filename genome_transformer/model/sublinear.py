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

The loss is losses.py's convention (position t predicts t + 1, base targets only, mean in nats);
losses.full_loss and losses.checkpointed_scan_loss are the plain-autodiff forms it is checked against.

`params` is accepted either as the linen variables {"params": tree} or as the bare tree (what
`model.init(...)["params"]` returns); gradients come back in the structure that was passed.
"""

from typing import Optional

import jax
import jax.numpy as jnp

from genome_transformer.genomics.tokenizer import PAD_ID  # Fills the prefix before the sequence start.
from genome_transformer.model import losses, match, recurrence
from genome_transformer.model import performer as model_lib
from genome_transformer.model.recurrence import as_variables, chunked_inputs, feature_rngs, float_dtype


def prefix_reader(model: model_lib.SLiMPerformer, ids_BL: jax.Array):
  """offset -> the T = model_lib.prefix_length input ids before a chunk starting there ([B, T]), or None.

  Positions before the sequence start read PAD (the model treats them as absent). One padded copy
  of the tokens, sliced inside the reverse scan: the tokens stay the only O(L) arrays.
  """
  num_prefix = model_lib.prefix_length(model.config)
  if not num_prefix:
    return lambda offset: None
  padded_BL = jnp.pad(ids_BL, [(0, 0), (num_prefix, 0)], constant_values=PAD_ID)
  return lambda offset: jax.lax.dynamic_slice_in_dim(padded_BL, offset, num_prefix, axis=1)


def forward_states(model, variables, chunks, rng, states, collect: bool = False):
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
  losses.check_linear(model)
  variables, bare = as_variables(params)
  rngs = feature_rngs(rng)
  ids_BL = match.model_inputs(model.config, tokens_BL)
  chunks, count = chunked_inputs(ids_BL, chunk_size)
  batch = tokens_BL.shape[0]
  dtype = float_dtype(variables)
  norm = jnp.maximum(count, 1).astype(jnp.promote_types(dtype, jnp.float32))
  states0 = model_lib.init_states(model.config, batch, state_dtype or dtype, dtype)
  final_states, _ = forward_states(model, variables, chunks, rng, states0)

  num_chunks = chunks[0].shape[0]
  is_first = jnp.arange(num_chunks) == 0
  prefix_of = prefix_reader(model, ids_BL)

  def reverse_body(carry, xs):
    end_states, d_end_states, grads, loss = carry
    tokens_BC, next_B, offset, first = xs
    prefix_BT = prefix_of(offset)

    def chunk(v, given_end_states):
      logits_BCV, new_end_states, start_states = model.apply(
        v, tokens_BC, given_end_states, offset, first, prefix_BT, rngs=rngs, method="rebuild_chunk"
      )
      return (losses.chunk_nll(logits_BCV, tokens_BC, next_B) / norm, new_end_states), start_states

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
