# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The match input (docs/model.md, the context sweep): the base that followed the previous occurrence of the last m bases.

An order-m adaptive Markov model copies repeats because it looks its context up; a linear-attention
model with a fixed-size state does not (README, recall probe: an exact 200-base copy 100 bases back
saves it at most 0.015 bits per base, an order-12 Markov model 0.81). This input hands the model
the lookup: at position t, with u = tokens[t-m+1 .. t] all bases, the match is the token that
followed the most recent earlier occurrence of u (ending at some p < t, so its follower t' = p+1 <= t
is already read), or "none". It is a function of the tokens at positions <= t only, so the model
stays causal and the sub-linear step stays exact: it is computed once per sequence and travels in
the model's input ids, id = token + VOCAB_SIZE * match, match in {0: none, 1 + b: base b}; every
chunk and prefix slice of the ids carries it, and targets are `tokens_of(ids)`.

Two ways to compute it, equal by construction and by test:
- `followers`: whole sequence, by one stable sort of the m-mer codes (O(L log L) time, O(L) memory).
- `state_after` + `step`: token by token, from a table of the last follower of every m-mer (4^m
  entries per sequence, so order <= config_lib.MAX_MATCH_ORDER), the recurrent form for generation.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from genome_transformer import config_lib
from genome_transformer.genomics.tokenizer import NUM_BASES, VOCAB_SIZE

NUM_VALUES = NUM_BASES + 1  # none, or one of the four bases.


class MatchState(NamedTuple):
  """The recurrent form: per sequence, the last follower value of every m-mer, and the last m-mer."""

  table_BK: jax.Array  # int8 [B, 4^m]: 0 = not seen (or followed by a non-base), 1 + b = followed by base b.
  code_B: jax.Array  # int32: base-4 code of the last min(run, m) bases.
  run_B: jax.Array  # int32: consecutive bases ending at the last token, capped at m.


def tokens_of(ids):
  """The token of each input id (an id without a match is its token)."""
  return ids % VOCAB_SIZE


def _follower_value(token):
  """0 for a non-base follower (it predicts nothing), 1 + b for base b."""
  return jnp.where(token < NUM_BASES, token + 1, 0).astype(jnp.int32)


def _mer_codes(tokens_BL: jax.Array, order: int):
  """(code of the m-mer ending at each position, whether it is m bases inside the sequence)."""
  batch, length = tokens_BL.shape
  is_base_BL = tokens_BL < NUM_BASES
  code_BL = jnp.zeros((batch, length), jnp.int32)
  valid_BL = jnp.ones((batch, length), bool)
  for back in range(order):  # The base `back` positions before t is digit `back` of the code.
    shifted = jnp.pad(tokens_BL, [(0, 0), (back, 0)])[:, :length].astype(jnp.int32)
    shifted_base = jnp.pad(is_base_BL, [(0, 0), (back, 0)], constant_values=False)[:, :length]
    code_BL = code_BL + jnp.where(shifted_base, shifted, 0) * (NUM_BASES**back)
    valid_BL = valid_BL & shifted_base
  return code_BL, valid_BL


def followers(tokens_BL: jax.Array, order: int) -> jax.Array:
  """match_BL in {0, ..., 4}: the follower value of the previous occurrence of the m-mer ending at t.

  A stable sort of the codes puts each occurrence right after the previous one of the same m-mer;
  m-mers that are not m bases get distinct negative keys, so they match nothing.
  """
  batch, length = tokens_BL.shape
  code_BL, valid_BL = _mer_codes(tokens_BL, order)
  keys_BL = jnp.where(valid_BL, code_BL, -1 - jnp.arange(length, dtype=jnp.int32)[None, :])
  order_BL = jnp.argsort(keys_BL, axis=1, stable=True)
  sorted_keys_BL = jnp.take_along_axis(keys_BL, order_BL, axis=1)
  same_BK = sorted_keys_BL[:, 1:] == sorted_keys_BL[:, :-1]
  # Clipped: only a pair of equal keys reads its follower, and its earlier position is never the last.
  follower_BK = jnp.take_along_axis(tokens_BL, jnp.minimum(order_BL[:, :-1] + 1, length - 1), axis=1)
  value_BK = jnp.where(same_BK, _follower_value(follower_BK), 0)
  rows_B1 = jnp.arange(batch)[:, None]
  return jnp.zeros((batch, length), jnp.int32).at[rows_B1, order_BL[:, 1:]].set(value_BK)


def model_inputs(model_config: config_lib.ModelConfig, tokens_BL: jax.Array) -> jax.Array:
  """The ids the model reads: the tokens, with each position's match packed in when match_order > 0."""
  order = model_config.match_order
  if not order:
    return tokens_BL
  return pack(tokens_BL, followers(tokens_BL, order))


def pack(tokens, match_values):
  """The model's input ids: each token with its match value (0 none, 1 + b base b) packed in."""
  return tokens + VOCAB_SIZE * match_values.astype(tokens.dtype)


def initial_state(order: int, batch_size: int) -> MatchState:
  """The state before the first token: nothing seen."""
  return MatchState(
    jnp.zeros((batch_size, NUM_BASES**order), jnp.int8),
    jnp.zeros((batch_size,), jnp.int32),
    jnp.zeros((batch_size,), jnp.int32),
  )


def state_after(tokens_BL: jax.Array, length, order: int) -> MatchState:
  """The state after tokens [0, length) of each row (length: scalar or [B]; later tokens are ignored).

  Each m-mer ending at p <= length - 2 records its follower p + 1 (the latest p wins), as `step` has.
  """
  batch, width = tokens_BL.shape
  if not width:
    return initial_state(order, batch)
  length_B = jnp.broadcast_to(jnp.asarray(length, jnp.int32), (batch,))
  positions_L = jnp.arange(width, dtype=jnp.int32)
  code_BL, valid_BL = _mer_codes(tokens_BL, order)
  recorded_BL = valid_BL & (positions_L[None, :] <= length_B[:, None] - 2)
  rows_B1 = jnp.arange(batch)[:, None]
  latest_BK = (
    jnp.full((batch, NUM_BASES**order), -1, jnp.int32)
    .at[rows_B1, jnp.where(recorded_BL, code_BL, 0)]
    .max(jnp.where(recorded_BL, positions_L[None, :], -1))
  )
  follower_BK = jnp.take_along_axis(tokens_BL, jnp.clip(latest_BK + 1, 0, width - 1), axis=1)
  table_BK = jnp.where(latest_BK >= 0, _follower_value(follower_BK), 0).astype(jnp.int8)

  # The last m-mer: its code and the run of bases before `length`.
  is_base_BL = (tokens_BL < NUM_BASES) & (positions_L[None, :] < length_B[:, None])
  last_non_base_B = jnp.max(jnp.where(~is_base_BL & (positions_L[None, :] < length_B[:, None]), positions_L, -1), 1)
  run_B = jnp.minimum(length_B - 1 - last_non_base_B, order)
  last_B = jnp.clip(length_B - 1, 0, width - 1)
  code_B = jnp.take_along_axis(code_BL, last_B[:, None], axis=1)[:, 0]
  # With a run shorter than m the code's high digits may hold bases from before a non-base: `step`
  # shifts them out before the run reaches m, the first time the code is read.
  return MatchState(table_BK, jnp.where(length_B > 0, code_B, 0), run_B.astype(jnp.int32))


def step(state: MatchState, token_B: jax.Array, order: int):
  """(match of `token_B`'s position, the state after it): one token, O(1) work per sequence.

  First the previous m-mer (ending one position back) records `token_B` as its follower, then the
  m-mer ending here is looked up: an occurrence ending one position back counts as earlier.
  """
  rows_B = jnp.arange(token_B.shape[0])
  table_BK = state.table_BK.at[rows_B, state.code_B].set(
    jnp.where(state.run_B >= order, _follower_value(token_B), state.table_BK[rows_B, state.code_B]).astype(jnp.int8)
  )
  is_base_B = token_B < NUM_BASES
  code_B = jnp.where(is_base_B, (state.code_B * NUM_BASES + token_B) % (NUM_BASES**order), 0).astype(jnp.int32)
  run_B = jnp.where(is_base_B, jnp.minimum(state.run_B + 1, order), 0).astype(jnp.int32)
  match_B = jnp.where(run_B >= order, table_BK[rows_B, code_B].astype(jnp.int32), 0)
  return match_B, MatchState(table_BK, code_B, run_B)
