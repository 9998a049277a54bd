# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The context probes: where the copy goes, what is pooled, bucket and region counts, Markov.

Fake scorers record what they were given and return known bits, so each figure is checked against
a NumPy computation written here from the definition; the adaptive Markov model is the real
scorer whose behaviour is known (it saves bits on a copy longer than its order, none on a shorter
one, and learns a skewed composition along a window).
"""

import jax
import numpy as np
import pytest

from genome_transformer import config_lib
from genome_transformer.data import input_pipeline
from genome_transformer.evaluation import probes
from genome_transformer.genomics import tokenizer
from genome_transformer.model import inference
from genome_transformer.model import performer as model_lib


def _random_tokens(seed, length):
  return np.random.default_rng(seed).integers(0, 4, length).astype(np.uint8)


class _Recorder:
  """A fake scorer: bits[t] = weights[t] (NaN at 0 and at N), and every input kept."""

  def __init__(self, weights, context=None):
    self.weights = np.asarray(weights, dtype=np.float64)
    self.calls = []
    self.scorer = probes.Scorer("fake", self._bits, context)

  def _bits(self, tokens_L):
    self.calls.append(np.array(tokens_L))
    bits_L = self.weights[: len(tokens_L)].copy()
    bits_L[0] = np.nan
    bits_L[np.asarray(tokens_L) >= tokenizer.N_ID] = np.nan
    return bits_L


def test_recall_plants_the_copy_at_the_distance_and_reports_the_rest_as_beyond_window():
  window, n = 1000, 50
  sequence = _random_tokens(0, 4 * window)
  sequence[window - 10] = tokenizer.N_ID  # Window 0's segment holds an N: window 0 is skipped.
  fake = _Recorder(np.linspace(1.0, 3.0, window))
  result = probes.recall_probe(
    fake.scorer, [sequence], window=window, segment_length=n, distances=(0, 100, 900, 901), num_segments=2
  )
  assert result["segments"] == 2
  # Windows 1, 2, 3 qualify; two evenly spread: 1 and 3. Scored plain first, then one per distance.
  originals = [sequence[window : 2 * window], sequence[3 * window :]]
  for original, call in zip(originals, fake.calls[:2]):
    np.testing.assert_array_equal(call, original)
  planted_calls = fake.calls[2:]
  assert len(planted_calls) == 2 * 3  # d = 901 needs 1001 bases: not scored.
  for i, d in enumerate((0, 100, 900)):
    for j, original in enumerate(originals):
      call = planted_calls[2 * i + j]
      copy_start = window - n - d - n
      expected = original.copy()
      expected[copy_start : copy_start + n] = original[-n:]
      np.testing.assert_array_equal(call, expected)
  assert result["distances"][3] == {"distance": 901, "status": "beyond_window", "needs_window": 1001}
  # The fake's bits depend on position only: the copy saves nothing, the segment costs its mean weight.
  segment_mean = float(np.mean(fake.weights[window - n :]))
  assert result["bits_without_copy"] == pytest.approx(segment_mean)
  for row in result["distances"][:3]:
    assert row["status"] == "ok"
    assert row["bits_with_copy"] == pytest.approx(segment_mean)
    assert row["saved_bits_per_base"] == pytest.approx(0.0, abs=1e-12)


def test_recall_refuses_a_window_longer_than_the_scorers_context():
  fake = _Recorder(np.ones(100), context=64)
  with pytest.raises(ValueError, match="longer than scorer 'fake'"):
    probes.recall_probe(fake.scorer, [_random_tokens(1, 1000)], window=100, segment_length=10)


def test_markov_saves_bits_on_a_copy_longer_than_its_order_and_none_on_a_shorter_one():
  # i.i.d. bases: without a copy every order-12 context is new (2 bits a base); with one, each
  # segment base past the first 12 has its context seen once before, with that base: p = 1.5 / 3.
  k, window = 12, 3000
  scorer = probes.markov_scorer([], k)
  sequences = [_random_tokens(2, 2 * window)]
  long_copy = probes.recall_probe(
    scorer, sequences, window=window, segment_length=200, distances=(100, 1000), num_segments=2
  )
  assert long_copy["bits_without_copy"] == pytest.approx(2.0, abs=0.02)
  for row in long_copy["distances"]:
    # (200 - 12) of 200 bases drop from 2 bits to 1: 0.94 saved, up to chance context repeats.
    assert row["saved_bits_per_base"] == pytest.approx((200 - k) / 200, abs=0.03)
  short_copy = probes.recall_probe(
    scorer, sequences, window=window, segment_length=k - 4, distances=(100,), num_segments=2
  )
  assert abs(short_copy["distances"][0]["saved_bits_per_base"]) < 0.05


def test_adaptation_buckets_against_numpy():
  window = 100
  weights = np.random.default_rng(3).uniform(0.5, 2.5, window)
  fake = _Recorder(weights)
  sequence = _random_tokens(4, 350)  # Three whole windows; the last 50 bases are never read.
  sequence[[5, 120, 250]] = tokenizer.N_ID
  buckets = ((0, 10), (10, 40), (40, 100), (60, 160))
  result = probes.adaptation_probe(fake.scorer, [sequence], window=window, buckets=buckets)
  assert result["windows"] == 3
  bits_KW = np.stack([fake._bits(sequence[i * window : (i + 1) * window]) for i in range(3)])
  for row, (start, end) in zip(result["buckets"], buckets):
    if end > window:
      assert row == {"start": start, "end": end, "status": "beyond_window"}
      continue
    block = bits_KW[:, start:end]
    assert row["bases"] == np.isfinite(block).sum()
    assert row["bits_per_base"] == pytest.approx(np.nanmean(block))
  # Position 0 of each window and the three N are not scored: 10 + 30 + 60 - 3 - 3 scored of 300.
  assert sum(row.get("bases", 0) for row in result["buckets"]) == 300 - 3 - 3


def test_markov_adapts_to_a_skewed_composition_along_the_window():
  rng = np.random.default_rng(5)
  sequence = rng.choice(4, 8192, p=[0.7, 0.1, 0.1, 0.1]).astype(np.uint8)
  result = probes.adaptation_probe(
    probes.markov_scorer([], 2), [sequence], window=4096, buckets=((0, 256), (1024, 4096))
  )
  first, late = (row["bits_per_base"] for row in result["buckets"])
  entropy = -(0.7 * np.log2(0.7) + 3 * 0.1 * np.log2(0.1))  # 1.357 bits.
  assert first > late > entropy - 0.05
  assert late == pytest.approx(entropy, abs=0.05)


def test_region_bits_against_numpy():
  rng = np.random.default_rng(6)
  fake = _Recorder(rng.uniform(0.1, 3.0, 500))
  pairs = []
  for length in (500, 321):
    tokens_L = _random_tokens(length, length)
    tokens_L[rng.integers(0, length, 7)] = tokenizer.N_ID
    pairs.append((tokens_L, rng.random(length) < 0.3))
  result = probes.region_probe(fake.scorer, pairs)
  bits = np.concatenate([fake._bits(t) for t, _ in pairs])
  masks = np.concatenate([m for _, m in pairs])
  for region, select in (("masked", masks), ("unique", ~masks), ("all", np.ones_like(masks))):
    chosen = bits[select]
    assert result[region]["bases"] == np.isfinite(chosen).sum()
    assert result[region]["bits_per_base"] == pytest.approx(np.nanmean(chosen))
  assert result["masked_fraction"] == pytest.approx(result["masked"]["bases"] / result["all"]["bases"])


def test_heldout_masks_are_the_fastas_lowercase(genome_small_fasta, genome_cache_dir):
  path, records = genome_small_fasta
  config = config_lib.base_config()
  config.data.genome = path
  # The train split: the fixture's lowercase stretches fall there (the function reads any split).
  plain = input_pipeline.heldout_sequences(config.data, "train", genome_cache_dir)
  masked = input_pipeline.heldout_sequences(config.data, "train", genome_cache_dir, with_mask=True)
  assert [name for name, _ in plain] == [name for name, _, _ in masked]
  lowercase_seen = 0
  for (_, tokens_L), (name, tokens_again_L, mask_L) in zip(plain, masked):
    np.testing.assert_array_equal(tokens_L, tokens_again_L)
    text = records[name]
    end = len(text) * 90 // 100
    np.testing.assert_array_equal(mask_L, np.array([c.islower() for c in text[:end]]))
    lowercase_seen += int(mask_L.sum())
  assert lowercase_seen


def test_model_scorer_is_held_out_scoring_in_bits():
  config = config_lib.base_config().model
  config.update(d_model=16, num_layers=1, num_heads=2, d_ff=32)
  model = model_lib.SLiMPerformer(config)
  tokens_L = _random_tokens(7, 300)
  params = model.init({"params": jax.random.PRNGKey(0), "features": jax.random.PRNGKey(0)}, tokens_L[None, :16])[
    "params"
  ]
  scorer = probes.model_scorer("tiny", model, params, context=128, chunk_size=64)
  expected = -inference.windowed_log_likelihood(model, params, tokens_L, 128, 64) / np.log(2.0)
  np.testing.assert_allclose(scorer.bits(tokens_L), expected, rtol=1e-6)
  assert scorer.context == 128


def test_kmer_repeat_mask_against_a_direct_count():
  rng = np.random.default_rng(8)
  k = 6
  first = _random_tokens(9, 400)
  second = _random_tokens(10, 300)
  second[100:130] = first[50:80]  # A 30-base repeat across sequences.
  first[200:220] = first[300:320]  # And one within a sequence.
  first[rng.integers(0, 400, 4)] = tokenizer.N_ID
  reference = _random_tokens(11, 200)
  reference[20:40] = second[250:270]  # Repeated only with the reference.
  masks = probes.kmer_repeat_mask([first, second], k=k, reference=[reference])

  def kmers(tokens):
    return [
      tuple(tokens[i : i + k]) if np.all(tokens[i : i + k] < tokenizer.N_ID) else None
      for i in range(len(tokens) - k + 1)
    ]

  counts = {}
  for tokens in (first, second, reference):
    for kmer in kmers(tokens):
      if kmer is not None:
        counts[kmer] = counts.get(kmer, 0) + 1
  for tokens, mask in zip((first, second), masks):
    expected = np.zeros(len(tokens), bool)
    for i, kmer in enumerate(kmers(tokens)):
      if kmer is not None and counts[kmer] >= 2:
        expected[i : i + k] = True
    np.testing.assert_array_equal(mask, expected)
  assert masks[1][100:130].all() and masks[1][250:270].all() and masks[0][200:220].all()
