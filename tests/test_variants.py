# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Model recipes compose by name, refuse what cannot be, and configs built on a parent change only what they say."""

import os

import pytest
import test_configs

from genome_transformer import config_lib, variants

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_recipe_composes_its_parts():
  got = variants.fields("conv4+hedgehog+floor+codon+split+16heads+window64x2+dff496")
  assert got == {
    "model.conv_width": 4,
    "model.feature_map": "hedgehog",
    "model.hedgehog_floor": 0.01,
    "model.phase_period": 3,
    "model.phase_split_state": True,
    "model.num_heads": 16,
    "model.window_heads": 2,
    "model.window_size": 64,
    "model.d_ff": 496,
  }
  assert variants.fields("window64") == {"model.window_heads": 1, "model.window_size": 64}
  assert variants.fields("faithful") == {}


@pytest.mark.parametrize(
  ("recipe", "named"),
  [("conv4+softplus", "softplus"), ("window64+window32", "window_size"), ("4heads+8heads", "num_heads")],
)
def test_bad_recipe_is_refused_naming_the_part(recipe, named):
  with pytest.raises(variants.RecipeError, match=named):
    variants.fields(recipe)


def test_softmax_recipe_trains_on_whole_windows():
  config = config_lib.base_config()
  variants.apply(config, "softmax+conv4")
  assert config.model.attention == "softmax" and config.train.chunk_size == config.data.window_length


def test_every_config_variant_is_a_recipe_of_known_parts():
  for path, variant in test_configs.VARIANT_CASES:
    recipe = test_configs.load_namespace(path)["VARIANTS"][variant]
    variants.fields(recipe)  # Raises on an unknown part.


@pytest.mark.parametrize(
  ("child", "parent"),
  [
    ("ablation.py", "slim.py"),
    ("release_human_chrx_local.py", "release_human_chrx.py"),
    ("release_bacteria_local.py", "release_bacteria.py"),
    ("release_bacteria_gpu.py", "release_bacteria.py"),
  ],
)
def test_config_built_on_its_parent_keeps_the_parents_data_section(child, parent):
  # The data section is what a child built on its parent must not drift from (same genome, windows, split).
  child_config = test_configs.load_config(os.path.join(REPO, "configs", child))
  parent_config = test_configs.load_config(os.path.join(REPO, "configs", parent))
  assert child_config.data.to_dict() == parent_config.data.to_dict()
  assert child_config.eval.to_dict() == parent_config.eval.to_dict()


def test_retired_model_fields_read_only_at_their_off_value():
  # Bundled exports were written while the removed options existed, at their off value.
  old = {**config_lib.base_config().model.to_dict(), "qk_head_dim": 0, "recency_slots": 0, "recency_block": 0}
  assert config_lib.ModelConfig.of(old) == config_lib.ModelConfig.of(config_lib.base_config().model)
  with pytest.raises(config_lib.ConfigError, match="recency_slots: this option was removed"):
    config_lib.ModelConfig.of({**old, "recency_slots": 4})
  with pytest.raises(config_lib.ConfigError, match="not_a_field"):
    config_lib.ModelConfig.of({**old, "not_a_field": 1})
