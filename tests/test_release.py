# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The bundled releases load by name from a fresh clone and score held-out DNA as the card says."""

import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genome_transformer import pretrained
from genome_transformer.data import input_pipeline
from genome_transformer.genomics import tokenizer
from genome_transformer.model import match

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name -> (genome it was trained on, steps, bits per base on the first 8 kb of H. pylori's test
# region in half-overlapping windows of the training window (the default), and in one recurrence).
# Golden values of the bundled exports (CPU, float32 compute); 2 bits per base is knowing nothing.
RELEASES = {
  "bacteria4-slim": ("builtin:bacteria4", 4000, 1.9050, 1.9068),
  "bacteria4-slim-conv": ("builtin:bacteria4", 4000, 1.8172, 1.8329),
  "bacteria4-slim-gpu": ("builtin:bacteria4", 4300, 1.8825, 1.9247),
  "human-chrx-slim": ("fetch:smalt-chrX", 2400, 1.9934, 2.0052),
  "human-chrx-slim-conv": ("fetch:smalt-chrX", 2400, 1.9960, 2.0355),
  "human-chrx-slim-window3": ("fetch:smalt-chrX", 2400, 1.9955, 1.9995),
  # Trained on 16 k windows: the 8 kb fit in one, so both protocols are one forward.
  "human-chrx-match-16k": ("fetch:smalt-chrX", 256, 1.9872, 1.9872),
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
  assert model.model_config.attention == "linear"
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
  # One recurrence over all 8 kb scores positions never seen in training: a different (worse) figure.
  np.testing.assert_allclose(model.bits_per_base(hpylori_test_8kb, context=None), one_recurrence, atol=2e-3)
  # Beside the golden values, both figures from whole-window forwards alone (no recurrence, no chunks).
  scored = int(np.sum(hpylori_test_8kb[1:] < tokenizer.NUM_BASES))
  to_bits = lambda total: -total / scored / math.log(2.0)
  width = model.window_length
  np.testing.assert_allclose(to_bits(_windowed_total(model, hpylori_test_8kb, width)), bits, rtol=1e-5)
  whole = _windowed_total(model, hpylori_test_8kb, len(hpylori_test_8kb))  # One window: the whole 8 kb.
  np.testing.assert_allclose(to_bits(whole), one_recurrence, atol=2e-3)


# name -> ln p(alt) - ln p(ref) in nats of the SNV A>G at base 4097 of the 8 kb above, by default
# (the training window W = 1024 bases each side, scored in half-overlapping windows of W), and in one
# recurrence over all 8 kb (window=None, context=None: positions past W, never seen in training).
VARIANT_SNV = (4097, "A", "G")
VARIANT_GOLDEN = {"bacteria4-slim": (-0.07169, -0.04952), "bacteria4-slim-gpu": (0.32402, -0.12084)}


def _windowed_total(model, tokens_L, width):
  """sum ln p(base t | its window) in float64, from the whole-window forward of each window: windows of
  `width` start at 0, h, 2h (h = width/2); window 0 scores bases 1..width-1, window k the last h of its
  bases. Written from the protocol's definition, apart from inference.windowed_log_likelihood."""
  half, length, total = width // 2, len(tokens_L), 0.0
  starts = [0, *range(half, length - width + half, half)]
  # The match input (if the model has one) by its whole-sequence sort, not the recurrent table.
  inputs = lambda window_1L: match.model_inputs(model.model_config, window_1L)
  forward = jax.jit(lambda params, window_1L: model.model.apply({"params": params}, inputs(window_1L))[0])
  for start in starts:
    window_L = tokens_L[start : start + width].astype(np.int32)
    logits_LV = forward(model.params, jnp.asarray(window_L)[None])
    logp_LV = np.asarray(jax.nn.log_softmax(logits_LV.astype(jnp.float32), axis=-1), np.float64)
    first = 1 if start == 0 else width - half
    for t in range(first, len(window_L)):
      if window_L[t] < tokenizer.NUM_BASES:
        total += logp_LV[t - 1, window_L[t]]
  return total


@pytest.mark.parametrize("name", sorted(VARIANT_GOLDEN))
def test_bundled_release_golden_variant_score(name, hpylori_test_8kb):
  windowed, one_recurrence = VARIANT_GOLDEN[name]
  model = pretrained.load(name)
  pos, ref, alt = VARIANT_SNV
  seq = tokenizer.decode(hpylori_test_8kb)
  assert seq[pos - 1] == ref
  got = model.score_variants(seq, [VARIANT_SNV])[0]
  np.testing.assert_allclose(got, windowed, atol=2e-4)
  # Beside the golden value, the same score from string edits and whole-window forwards alone.
  width = model.window_length
  lo, hi = pos - 1 - width, pos + width
  ref_region = hpylori_test_8kb[lo:hi]
  alt_region = tokenizer.encode(seq[lo : pos - 1] + alt + seq[pos:hi])
  independent = _windowed_total(model, alt_region, width) - _windowed_total(model, ref_region, width)
  np.testing.assert_allclose(got, independent, atol=1e-4)
  np.testing.assert_allclose(
    model.score_variants(seq, [VARIANT_SNV], window=None, context=None)[0], one_recurrence, atol=2e-4
  )
