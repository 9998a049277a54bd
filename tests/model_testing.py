# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The tiny model config shared by the model, sublinear and inference tests."""

import ml_collections


def make_config(**overrides) -> ml_collections.ConfigDict:
  """A 2-layer, D=16 linear-attention model section; keyword arguments override fields."""
  config = ml_collections.ConfigDict(
    dict(
      vocab_size=8,
      d_model=16,
      num_layers=2,
      num_heads=2,
      d_ff=32,
      attention="linear",
      feature_map="sqr",
      num_feature_blocks=1,
      on_gptln=True,
    )
  )
  config.update(overrides)
  return config
