# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The bundled releases load by name from a fresh clone and score held-out DNA as the card says."""

import json
import os

import numpy as np
import pytest

from genome_transformer import pretrained
from genome_transformer.data import input_pipeline

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (genome it was trained on, steps, bits per base on the first 8 kb of H. pylori's test
# region in half-overlapping windows of the training window (the default), and in one recurrence).
# Golden values of the bundled exports (CPU, float32 compute); 2 bits per base is knowing nothing.
RELEASES = {
  "bacteria4-slim": ("builtin:bacteria4", 4000, 1.9050, 1.9068),
  "bacteria4-slim-gpu": ("builtin:bacteria4", 4300, 1.8825, 1.9247),
  "human-chrx-slim": ("fetch:smalt-chrX", 2400, 1.9934, 2.0052),
  "human-chrx-slim-gpu": ("fetch:smalt-chrX", 3800, 2.0026, 2.2101),
}


@pytest.fixture(scope="module")
def hpylori_test_8kb():
  regions = dict(input_pipeline.heldout_sequences({"genome": "builtin:hpylori"}, "test"))
  (tokens_L,) = regions.values()
  return tokens_L[:8192]


def test_every_bundled_release_is_listed():
  assert sorted(RELEASES) == sorted(pretrained.list_releases())


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_bundled_release_loads_with_its_metadata(name):
  genome, steps, _, _ = RELEASES[name]
  model = pretrained.load(name)
  assert model.model_config.attention == "linear" and model.model_config.feature_map == "sqr"
  assert model.config.data.genome == genome
  with open(os.path.join(REPO, "pretrained", name, "export.json"), encoding="utf-8") as f:
    metadata = json.load(f)["metadata"]
  assert metadata["steps"] == steps
  assert metadata["num_params"] == model.num_params


@pytest.mark.parametrize("name", sorted(RELEASES))
def test_bundled_release_golden_heldout_bits(name, hpylori_test_8kb):
  """Never-trained-on bases (H. pylori's test split), 8x the 1024-base training window."""
  _, _, windowed, one_recurrence = RELEASES[name]
  model = pretrained.load(name)
  bits = model.bits_per_base(hpylori_test_8kb)
  np.testing.assert_allclose(bits, windowed, atol=2e-3)
  # Scoring does not depend on the recurrence's chunk size, up to float32 round-off.
  np.testing.assert_allclose(model.bits_per_base(hpylori_test_8kb, chunk_size=256), bits, rtol=1e-5)
  # One recurrence over all 8 kb scores positions never seen in training: a different (worse) figure.
  np.testing.assert_allclose(model.bits_per_base(hpylori_test_8kb, context=None), one_recurrence, atol=2e-3)
