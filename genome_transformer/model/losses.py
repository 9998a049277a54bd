# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The next-token loss convention, and the losses that plain autodiff differentiates.

Convention (shared by the SLiM step in sublinear.py, scoring in inference.py and the trainer): position
t predicts token t+1; only targets that are bases (A, C, G, T: id < 4) count, since N and padding carry
no sequence information; the loss is sum(nll) / max(count, 1) in nats. The last position of the
sequence has no target; the last position of a chunk predicts the first token of the next one.
`full_loss` (one whole-sequence forward) and `checkpointed_scan_loss` (a scan over chunks with
jax.checkpoint) are what sublinear.loss_and_grad's gradient is checked against.
"""

from typing import Optional, Tuple

import jax
import jax.numpy as jnp

from genome_transformer.genomics.tokenizer import NUM_BASES  # Ids below it (A, C, G, T) are the only targets.
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


def target_count(tokens_BL: jax.Array) -> jax.Array:
  """How many targets of these rows count: the bases among tokens 1.. of each row."""
  return jnp.sum(tokens_BL[:, 1:] < NUM_BASES)


def next_token_loss(logits_BLV: jax.Array, tokens_BL: jax.Array) -> Tuple[jax.Array, jax.Array]:
  """(sum of next-token nll over base targets, their count); the mean is sum / max(count, 1)."""
  targets_BL = tokens_BL[:, 1:]
  sum_nll = _weighted_nll(logits_BLV[:, :-1], targets_BL, targets_BL < NUM_BASES)
  return sum_nll, target_count(tokens_BL).astype(sum_nll.dtype)


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


def chunk_nll(logits_BCV: jax.Array, tokens_BC: jax.Array, next_B: jax.Array) -> jax.Array:
  return _weighted_nll(logits_BCV, *chunk_targets(tokens_BC, next_B))


def check_linear(model: model_lib.SLiMPerformer) -> None:
  """Chunked training needs the recurrence of linear attention."""
  if model.config.attention != "linear":
    raise ValueError(
      f"model.attention={model.config.attention!r} has no chunk recurrence: use "
      "jax.value_and_grad(losses.full_loss) for it (the sub-linear step needs linear attention)."
    )


def checkpointed_scan_loss(
  model: model_lib.SLiMPerformer, params, tokens_BL: jax.Array, chunk_size: int, rng: Optional[jax.Array] = None
) -> jax.Array:
  """The mean loss as a lax.scan over chunks with jax.checkpoint on the chunk: a baseline.

  Differentiated by plain autodiff it needs no subtraction, but stores every chunk's carried
  states for the backward pass: memory O(L / C) states (benchmarks/memory.py compares).
  """
  check_linear(model)
  chunks, count = chunked_inputs(match.model_inputs(model.config, tokens_BL), chunk_size)
  dtype = float_dtype(params)
  states0 = model_lib.init_states(model.config, tokens_BL.shape[0], dtype)
  add_nll = lambda sum_nll, logits_BCV, chunk, _: (sum_nll + chunk_nll(logits_BCV, chunk.ids, chunk.next_ids), None)
  sum0 = jnp.zeros((), jnp.promote_types(dtype, jnp.float32))
  _, sum_nll, _ = recurrence.scan_chunks(model, params, states0, chunks, add_nll, sum0, rng=rng, checkpoint=True)
  return sum_nll / jnp.maximum(count, 1)
