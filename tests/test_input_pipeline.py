# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Grain loader: shapes, seeded shuffle, per-process shares, Orbax save/restore; held-out data."""

import grain
import numpy as np
import orbax.checkpoint as ocp
import pytest

from genome_transformer.data import dataset, input_pipeline
from genome_transformer.genomics import genomes, tokenizer


@pytest.fixture
def data_config(genome_small_fasta, genome_small_windows, genome_small_window_settings):
  del genome_small_windows  # Prepared once per session; the loader finds it in data_dir.
  return dict(genome=genome_small_fasta[0], data_dir="", **genome_small_window_settings)


@pytest.fixture
def make_iterator(data_config, genome_small_windows, genome_cache_dir):
  data_dir = genome_small_windows.data_dir.split("/genome_windows/")[0]

  def make(batch_size=4, seed=0, process_index=0, process_count=1, include_index=True, **kwargs):
    return input_pipeline.make_train_iterator(
      data_config,
      data_dir,
      batch_size_per_process=batch_size,
      seed=seed,
      process_index=process_index,
      process_count=process_count,
      cache_dir=genome_cache_dir,
      include_index=include_index,
      **kwargs,
    )

  return make


def _take(iterator, n):
  return [next(iterator) for _ in range(n)]


def test_batches_shape_dtype_and_content(make_iterator, genome_small_windows, genome_small_window_settings):
  length = genome_small_window_settings["window_length"]
  source = genome_small_windows.as_data_source()["train"]
  for batch in _take(make_iterator(batch_size=5), 3):
    assert batch["tokens"].shape == (5, length) and batch["tokens"].dtype == np.uint8
    assert batch["tokens"].max() <= tokenizer.N_ID
    for index, tokens in zip(batch["index"], batch["tokens"]):
      np.testing.assert_array_equal(tokens, source[int(index)]["tokens"])
  plain = next(make_iterator(batch_size=2, include_index=False))
  assert set(plain) == {"tokens"}  # What the trainer gets: tokens only.


def test_seeded_shuffle_is_deterministic_and_reshuffles_each_epoch(make_iterator, genome_small_windows):
  n = len(genome_small_windows.as_data_source()["train"])
  first = np.concatenate([b["index"] for b in _take(make_iterator(batch_size=1, seed=3), 2 * n)])
  again = np.concatenate([b["index"] for b in _take(make_iterator(batch_size=1, seed=3), 2 * n)])
  other = np.concatenate([b["index"] for b in _take(make_iterator(batch_size=1, seed=4), n)])
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first[:n], other)
  epoch1, epoch2 = first[:n], first[n:]
  assert sorted(epoch1) == list(range(n)) == sorted(epoch2)  # Each epoch is a permutation...
  assert not np.array_equal(epoch1, epoch2)  # ...a different one.
  assert not np.array_equal(epoch1, np.arange(n))  # ...and actually shuffled.


@pytest.mark.parametrize("process_count", [2, 3])
def test_process_shares_are_disjoint_and_cover(make_iterator, genome_small_windows, process_count):
  n = len(genome_small_windows.as_data_source()["train"])
  shares = []
  for process_index in range(process_count):
    share_size = len(range(process_index, n, process_count))
    batches = _take(
      make_iterator(batch_size=1, seed=9, process_index=process_index, process_count=process_count), share_size
    )
    shares.append({int(b["index"][0]) for b in batches})
    assert len(shares[-1]) == share_size  # One epoch of the share, no repeats.
  assert sum(len(share) for share in shares) == n == len(set().union(*shares))  # Disjoint, cover.


def test_default_process_share_comes_from_jax(make_iterator, data_config, genome_small_windows, genome_cache_dir):
  data_dir = genome_small_windows.data_dir.split("/genome_windows/")[0]
  implicit = input_pipeline.make_train_iterator(
    data_config, data_dir, batch_size_per_process=4, seed=2, cache_dir=genome_cache_dir
  )
  explicit = make_iterator(batch_size=4, seed=2, include_index=False)  # jax: process 0 of 1.
  for _ in range(3):
    np.testing.assert_array_equal(next(implicit)["tokens"], next(explicit)["tokens"])


def test_orbax_save_restore_resumes_exactly(make_iterator, tmp_path):
  iterator = make_iterator(batch_size=3, seed=11)
  _take(iterator, 7)
  manager = ocp.CheckpointManager(str(tmp_path / "ckpt"))
  params = {"w": np.arange(6, dtype=np.float32)}
  manager.save(
    7, args=ocp.args.Composite(params=ocp.args.StandardSave(params), data=grain.checkpoint.CheckpointSave(iterator))
  )
  manager.wait_until_finished()
  expected = _take(iterator, 25)  # The uninterrupted continuation (crosses an epoch boundary).

  fresh = make_iterator(batch_size=3, seed=11)
  restored = manager.restore(
    7, args=ocp.args.Composite(params=ocp.args.StandardRestore(params), data=grain.checkpoint.CheckpointRestore(fresh))
  )
  np.testing.assert_array_equal(restored["params"]["w"], params["w"])
  resumed = _take(restored["data"], 25)
  for want, got in zip(expected, resumed):
    np.testing.assert_array_equal(got["index"], want["index"])
    np.testing.assert_array_equal(got["tokens"], want["tokens"])
  manager.close()


def test_in_thread_reading_gives_the_same_batches(make_iterator):
  threaded = _take(make_iterator(batch_size=4, seed=5), 6)
  inline = _take(make_iterator(batch_size=4, seed=5, read_threads=0), 6)
  for a, b in zip(threaded, inline):
    np.testing.assert_array_equal(a["tokens"], b["tokens"])


def test_several_processes_need_prepared_shards(data_config, genome_cache_dir, tmp_path):
  with pytest.raises(dataset.DatasetConfigError, match="run `python -m genome_transformer.prepare"):
    input_pipeline.make_train_iterator(
      data_config,
      str(tmp_path),
      batch_size_per_process=2,
      seed=0,
      process_index=1,
      process_count=2,
      cache_dir=genome_cache_dir,
    )
  with pytest.raises(ValueError, match="process_index"):
    input_pipeline.make_train_iterator(
      data_config, str(tmp_path), batch_size_per_process=2, seed=0, process_index=2, process_count=2
    )


def test_heldout_sequences(data_config, genome_small_fasta, genome_cache_dir):
  _, seqs = genome_small_fasta
  for split in ("validation", "test"):
    heldout = input_pipeline.heldout_sequences(data_config, split, cache_dir=genome_cache_dir)
    assert [name for name, _ in heldout] == list(seqs)
    for name, tokens in heldout:
      lo, hi = genomes.split_bounds(len(seqs[name]))[split]
      assert tokens.dtype == np.uint8
      np.testing.assert_array_equal(tokens, tokenizer.encode(seqs[name][lo:hi]))
  with pytest.raises(ValueError, match="split"):
    input_pipeline.heldout_sequences(data_config, "dev", cache_dir=genome_cache_dir)


@pytest.fixture
def make_strand_iterator(data_config, genome_small_windows, genome_cache_dir):
  """make_iterator with data.reverse_complement_prob set."""
  data_dir = genome_small_windows.data_dir.split("/genome_windows/")[0]

  def make(prob, batch_size=4, seed=0):
    return input_pipeline.make_train_iterator(
      {**data_config, "reverse_complement_prob": prob},
      data_dir,
      batch_size_per_process=batch_size,
      seed=seed,
      process_index=0,
      process_count=1,
      cache_dir=genome_cache_dir,
      include_index=True,
    )

  return make


def test_reverse_complement_reads_windows_on_the_other_strand(make_strand_iterator, genome_small_windows):
  source = genome_small_windows.as_data_source()["train"]
  for batch in _take(make_strand_iterator(1.0), 3):
    for index, tokens in zip(batch["index"], batch["tokens"]):
      np.testing.assert_array_equal(tokens, tokenizer.reverse_complement(source[int(index)]["tokens"]))
  flipped = []
  for batch in _take(make_strand_iterator(0.5, seed=2), 10):
    for index, tokens in zip(batch["index"], batch["tokens"]):
      window = source[int(index)]["tokens"]
      is_flipped = np.array_equal(tokens, tokenizer.reverse_complement(window))
      assert is_flipped or np.array_equal(tokens, window)
      flipped.append(is_flipped)
  assert 0 < sum(flipped) < len(flipped)  # Both strands occur at p = 0.5 (40 windows).
  # The same seed draws the same strands.
  again = _take(make_strand_iterator(0.5, seed=2), 10)
  first = _take(make_strand_iterator(0.5, seed=2), 10)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a["tokens"], b["tokens"])


def test_reverse_complement_draws_resume_exactly(make_strand_iterator, tmp_path):
  iterator = make_strand_iterator(0.5, batch_size=3, seed=11)
  _take(iterator, 5)
  manager = ocp.CheckpointManager(str(tmp_path / "ckpt"))
  manager.save(5, args=ocp.args.Composite(data=grain.checkpoint.CheckpointSave(iterator)))
  manager.wait_until_finished()
  expected = _take(iterator, 12)
  restored = manager.restore(
    5,
    args=ocp.args.Composite(data=grain.checkpoint.CheckpointRestore(make_strand_iterator(0.5, batch_size=3, seed=11))),
  )
  for want, got in zip(expected, _take(restored["data"], 12)):
    np.testing.assert_array_equal(got["tokens"], want["tokens"])
  manager.close()
