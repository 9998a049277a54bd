# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Scoring and generation of arbitrarily long sequences with the recurrent form of the model.

Causal linear attention is a recurrence whose state per layer is (S, z) (attention.py), so a
sequence of any length can be scored chunk by chunk, or one token at a time, in memory that
does not grow with its length. Both equal the whole-sequence forward up to round-off (tests).
"""

from typing import Optional, Tuple

import jax
import jax.numpy as jnp

from genome_transformer import model as model_lib
from genome_transformer import sublinear


def chunked_log_likelihood(model: model_lib.SLiMPerformer, params, tokens_BL: jax.Array, chunk_size: int,
                           rng: Optional[jax.Array] = None) -> jax.Array:
  """logp_BL[:, t] = log p(token t+1 | tokens <= t); the last position has no next token: NaN.

  Every position is scored, whatever its target (base, N or padding): callers choose what
  counts (the training loss counts targets < 4). Linear attention runs as a lax.scan over
  chunks carrying the per-layer states: activation memory is one chunk's, flat in L (the
  result itself is O(L)). A softmax model has no recurrence; it is scored with one full forward
  (memory O(L^2)). jit with `model` and `chunk_size` static.
  """
  variables, _ = sublinear.as_variables(params)
  rngs = sublinear.feature_rngs(rng)
  batch, length = tokens_BL.shape
  if model.config.attention != "linear":
    logits_BLV = model.apply(variables, tokens_BL, rngs=rngs)
    targets_BL = jnp.concatenate([tokens_BL[:, 1:], tokens_BL[:, :1]], axis=1)
    logp_BL = _target_logp(logits_BLV, targets_BL)
  else:
    chunks, _ = sublinear.chunked_inputs(tokens_BL, chunk_size)

    def body(states, xs):
      tokens_BC, next_B, offset = xs
      logits_BCV, states = model.apply(variables, tokens_BC, position_offset=offset, states=states, rngs=rngs)
      targets_BC, _ = sublinear.chunk_targets(tokens_BC, next_B)
      return states, _target_logp(logits_BCV, targets_BC)

    states0 = model_lib.init_states(model.config, batch, sublinear.float_dtype(variables))
    _, logp_NBC = jax.lax.scan(body, states0, chunks)
    logp_BL = jnp.moveaxis(logp_NBC, 0, 1).reshape(batch, -1)[:, :length]
  return logp_BL.at[:, -1].set(jnp.nan)


def _target_logp(logits_BLV: jax.Array, targets_BL: jax.Array) -> jax.Array:
  logits_BLV = logits_BLV.astype(jnp.promote_types(logits_BLV.dtype, jnp.float32))
  logp_BLV = jax.nn.log_softmax(logits_BLV, axis=-1)
  return jnp.take_along_axis(logp_BLV, targets_BL[..., None].astype(jnp.int32), axis=-1)[..., 0]


def step(model: model_lib.SLiMPerformer, params, token_B: jax.Array, states, position,
         rng: Optional[jax.Array] = None) -> Tuple[jax.Array, tuple]:
  """Consumes one token per sequence at absolute `position` from `states`: (logits_BV, new states).

  logits_BV are the next-token logits after `token_B`, equal to the whole-sequence forward's
  logits at `position`. Start from model.init_states(config, B); favor+ needs the same `rng`
  at every step of a sequence.
  """
  variables, _ = sublinear.as_variables(params)
  logits_B1V, new_states = model.apply(variables, token_B[:, None], position_offset=position, states=states,
                                       rngs=sublinear.feature_rngs(rng))
  return logits_B1V[:, 0], new_states
