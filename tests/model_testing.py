# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The tiny model config shared by the model, sublinear and inference tests."""

import functools

import jax
import jax.numpy as jnp
import ml_collections

from genome_transformer import config_lib
from genome_transformer.model import losses, match, recurrence, sublinear
from genome_transformer.model import performer as model_lib


def make_config(**overrides) -> ml_collections.ConfigDict:
  """A 2-layer, D=16 linear-attention model section (every other field at config_lib's default);
  keyword arguments override fields."""
  config = config_lib.base_config().model
  config.update(dict(d_model=16, num_layers=2, num_heads=2, d_ff=32, attention="linear", feature_map="sqr"))
  config.update(overrides)
  return config


# The local-mixing additions to the model, alone and together: convolution width 3, one window head of 4
# positions, no sinusoids; the learned Hedgehog map beside the window head and the convolution. The codon
# phase pair rides in "hedgehog" (beside the sinusoids) and "all" (without them) rather than in cases of its own;
# "hedgehog" has a projection two blocks wide (identity, then a random rotation); "all" splits its state by phase.
COMPONENTS = {
  "conv": dict(conv_width=3),
  "window": dict(window_heads=1, window_size=4),
  "nopos": dict(positions="none"),
  "hedgehog": dict(
    feature_map="hedgehog",
    num_feature_blocks=2,
    conv_width=3,
    window_heads=1,
    window_size=4,
    phase_period=3,
  ),
  "all": dict(
    conv_width=3,
    window_heads=1,
    window_size=4,
    positions="none",
    phase_period=3,
    phase_split_state=True,
  ),
}


def perturbed(tree, dtype=None, seed: int = 7, scale: float = 0.2):
  """Parameters moved away from init: the convolution starts as the identity, and tests must see its taps work."""
  leaves, treedef = jax.tree.flatten(tree)
  keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
  moved = [p + scale * jax.random.normal(k, p.shape, p.dtype) for p, k in zip(leaves, keys)]
  return jax.tree.unflatten(treedef, [m.astype(dtype) if dtype else m for m in moved])


def jit(fun, **jit_kwargs):
  """jax.jit for programs that a test compiles once and runs for milliseconds: without LLVM's optimizer.

  Most of the suite's time is XLA compiling such programs, and LLVM's passes are a third of each compile:
  test_sublinear.py's components tests at C = 1 went 19.6 s -> 12.9 s (float32, all) and 17.0 s -> 10.9 s
  (float64, conv) with the whole process at level 0. The HLO passes still run, so the program is the same,
  but LLVM's code rounds differently (e.g. no fused multiply-adds): the float32 random features of a
  float64 FAVOR+ model moved its loss by 4e-9 relative. So a tight comparison compiles both sides with this.
  Not for the library's own jits nor long runs (the release goldens ran 4x slower at level 0).
  """
  return jax.jit(fun, compiler_options={"xla_backend_optimization_level": 0}, **jit_kwargs)


# Flax's init and apply called bare run op by op, and every op of a new shape or dtype is an XLA compilation of
# its own: 12 s (init) and 9 s (apply) for COMPONENTS["all"] in float64 in a fresh process, against 2.5 s and
# 2 s as one program each; test_model.py with test_match.py went 420 s -> 354 s. Same numbers either way: the
# float64 definitions in test_model.py hold to 1e-10 through these.
@functools.partial(jit, static_argnums=0)
def init_variables(model, tokens_BL):
  """model.init at PRNGKey(0), compiled as one program."""
  return model.init(jax.random.PRNGKey(0), tokens_BL)


@functools.partial(jit, static_argnums=0)
def forward(model, variables, tokens_BL):
  """model.apply(variables, tokens) (whole-sequence logits), compiled as one program."""
  return model.apply(variables, tokens_BL)


def chunk_start_states(
  model,
  params,
  tokens_BL,
  chunk_size: int,
  rng=None,
  rebuilt: bool = False,
  state_dtype=None,
):
  """Every chunk's per-layer start states, stacked [N, ...]: a diagnostic (memory O(L / C)).

  rebuilt=False: as the forward pass computes them; rebuilt=True: as loss_and_grad's reverse
  pass rebuilds them by subtraction from the final states.
  """
  losses.check_linear(model)
  variables, _ = recurrence.as_variables(params)
  rngs = recurrence.feature_rngs(rng)
  ids_BL = match.model_inputs(model.config, tokens_BL)
  chunks, _ = recurrence.chunked_inputs(ids_BL, chunk_size)
  dtype = recurrence.float_dtype(variables)
  states0 = model_lib.init_states(model.config, tokens_BL.shape[0], state_dtype or dtype, dtype)
  final_states, starts = sublinear.forward_states(model, variables, chunks, rng, states0, collect=True)
  if not rebuilt:
    return starts
  is_first = jnp.arange(chunks[0].shape[0]) == 0
  prefix_of = sublinear.prefix_reader(model, ids_BL)

  def body(end_states, xs):
    tokens_BC, _, offset, first = xs
    start_states = model.apply(
      variables, tokens_BC, end_states, offset, first, prefix_of(offset), rngs=rngs, method="rebuild_chunk"
    ).start_states
    return start_states, start_states

  _, rebuilt_starts = jax.lax.scan(body, final_states, chunks + (is_first,), reverse=True)
  return rebuilt_starts
