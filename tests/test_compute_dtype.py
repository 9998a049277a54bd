# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""train.compute_dtype bfloat16: float32 parameters and states, a bfloat16 forward, and a sub-linear step
whose subtraction adds no error beyond what bfloat16 costs plain autodiff."""

import jax
import jax.numpy as jnp
import pytest

from genome_transformer import config_lib
from genome_transformer.model import performer as model_lib
from genome_transformer.training import train

LENGTH = 256


def _config(local: bool, chunk_size: int, compute_dtype: str):
  config = config_lib.base_config()
  config.model.update(dict(d_model=32, num_layers=2, num_heads=2, d_ff=64))
  if local:
    config.model.update(dict(conv_width=4, feature_map="hedgehog", hedgehog_floor=0.01, window_heads=1, window_size=16))
  config.data.window_length = LENGTH
  config.train.chunk_size = chunk_size
  config.train.compute_dtype = compute_dtype
  return config


def _relative_error(grads, reference) -> float:
  flat = lambda tree: jnp.concatenate([x.ravel() for x in jax.tree.leaves(tree)])
  return float(jnp.linalg.norm(flat(grads) - flat(reference)) / jnp.linalg.norm(flat(reference)))


@pytest.mark.parametrize("local", [False, True], ids=["faithful", "local_mixing"])
def test_bfloat16_sublinear_step_is_as_close_to_float32_as_autodiff(local):
  model = model_lib.SLiMPerformer(_config(local, LENGTH, "float32").model)
  params = train.init_params(model, jax.random.PRNGKey(0))
  tokens_BL = jax.random.randint(jax.random.PRNGKey(1), (2, LENGTH), 0, 4)
  rng = jax.random.PRNGKey(2)

  def step(chunk_size, compute_dtype):
    config = _config(local, chunk_size, compute_dtype)
    return jax.jit(train.make_loss_and_grad(model, config))(params, tokens_BL, rng)

  loss32, grads32 = step(LENGTH, "float32")  # Plain float32 autodiff: the reference.
  loss_slim, grads_slim = step(64, "bfloat16")  # Four chunks: the subtraction runs.
  loss_autodiff, grads_autodiff = step(LENGTH, "bfloat16")
  assert loss_slim.dtype == jnp.float32
  assert all(g.dtype == jnp.float32 for g in jax.tree.leaves(grads_slim))
  assert abs(float(loss_slim) - float(loss32)) < 0.02
  slim_error, autodiff_error = _relative_error(grads_slim, grads32), _relative_error(grads_autodiff, grads32)
  assert slim_error < 0.05
  assert slim_error < 1.5 * autodiff_error + 1e-3  # The subtraction in float32 states costs nothing extra.
  assert _relative_error(grads_slim, grads_autodiff) < 0.02


def test_compute_dtype_is_validated():
  config = _config(False, 64, "float16")
  with pytest.raises(config_lib.ConfigError, match="train.compute_dtype"):
    config_lib.validate(config)
