# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The feature-map registry: what each entry declares is what the model builds and computes."""

import math

import jax
import jax.numpy as jnp
from model_testing import make_config
import numpy as np
import pytest

from genome_transformer import config_lib
from genome_transformer.model import feature_maps, performer

HEAD_DIM = 8


def test_registry_names_are_the_configs_choices():
  assert tuple(feature_maps.REGISTRY) == config_lib.FEATURE_MAPS


@pytest.mark.parametrize("name", config_lib.FEATURE_MAPS)
def test_declared_width_is_the_maps_output_and_the_models_state(name):
  spec = feature_maps.get(name)
  blocks = 2 if spec.blocks else 1
  x_BLHd = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 3, HEAD_DIM))
  weights = None
  if spec.weights == feature_maps.WEIGHTS_DRAWN:
    weights = feature_maps.orthogonal_features(jax.random.PRNGKey(1), 3, HEAD_DIM, blocks)
  elif spec.weights == feature_maps.WEIGHTS_LEARNED:
    weights = jax.random.normal(jax.random.PRNGKey(1), (3, HEAD_DIM, blocks * HEAD_DIM))
  phi = feature_maps.feature_map(x_BLHd, name, weights)
  want = spec.num_features(HEAD_DIM, blocks)
  assert phi.shape == (2, 5, 3, want)
  assert bool(jnp.all(phi >= 0)), "attention weights phi(q) . phi(k) must be non-negative"
  config = make_config(feature_map=name, num_feature_blocks=blocks)
  S_BHMd, z_BHM, _ = performer.init_states(performer.SLiMPerformer(config).config, 1)[0]
  assert S_BHMd.shape[2] == z_BHM.shape[2] == spec.num_features(config.d_model // config.num_heads, blocks)


def test_maps_with_weights_refuse_to_run_without_them():
  x = jnp.ones((1, 2, 1, HEAD_DIM))
  for name in ("favor+", "hedgehog"):
    with pytest.raises(ValueError, match="needs its"):
      feature_maps.feature_map(x, name)
  with pytest.raises(ValueError, match="is not one of"):
    feature_maps.get("taylor")


def test_favor_guard_cancels_its_shift():
  # num / (den + eps): the shift c scales num and den by e^(-2c), so eps must carry the same factor.
  assert feature_maps.denominator_epsilon("favor+", HEAD_DIM) == pytest.approx(
    feature_maps.EPSILON * math.exp(-2 * HEAD_DIM / 4)
  )
  assert feature_maps.denominator_epsilon("relu", HEAD_DIM) == feature_maps.EPSILON
  x = jax.random.normal(jax.random.PRNGKey(2), (1, 4, 1, HEAD_DIM))
  w = feature_maps.orthogonal_features(jax.random.PRNGKey(3), 1, HEAD_DIM, 1)
  unshifted = jnp.exp(
    jnp.einsum("blhd,hdm->blhm", x * HEAD_DIM**-0.25, w) - 0.5 * jnp.sum((x * HEAD_DIM**-0.25) ** 2, -1, keepdims=True)
  )
  np.testing.assert_allclose(feature_maps.feature_map(x, "favor+", w), unshifted * math.exp(-HEAD_DIM / 4), rtol=1e-5)
