# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""TFDS genome_windows shards: contents, splits, N policy, idempotence, failed builds, H. pylori."""

import errno
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from genome_transformer.data import dataset
from genome_transformer.genomics import genomes, tokenizer


def _all_examples(builder):
  sources = builder.as_data_source()
  return {split: [sources[split][i] for i in range(len(sources[split]))] for split in sources}


def _expected_windows(seqs, window_length, stride, max_n_fraction):
  """Brute force: {split: {(record, start)}} from the written policy."""
  max_n = math.floor(max_n_fraction * window_length + 1e-9)
  out = {s: set() for s in genomes.SPLITS}
  for name, seq in seqs.items():
    for split, (lo, hi) in genomes.split_bounds(len(seq)).items():
      for start in range(lo, hi - window_length + 1, stride):
        window = seq[start : start + window_length].upper()
        if sum(c not in "ACGT" for c in window) <= max_n:
          out[split].add((name, start))
  return out


def test_small_genome_windows_match_fasta(genome_small_windows, genome_small_fasta, genome_small_window_settings):
  _, seqs = genome_small_fasta
  settings = genome_small_window_settings
  length = settings["window_length"]
  examples = _all_examples(genome_small_windows)
  expected = _expected_windows(seqs, **settings)
  for split in genomes.SPLITS:
    got = {(ex["record"].decode(), int(ex["start"])) for ex in examples[split]}
    assert got == expected[split], split  # Exactly the windows the policy keeps.
    assert len(got) == len(examples[split])  # No duplicates.
    for ex in examples[split]:
      assert ex["tokens"].dtype == np.uint8 and ex["tokens"].shape == (length,)
      name, start = ex["record"].decode(), int(ex["start"])
      np.testing.assert_array_equal(ex["tokens"], tokenizer.encode(seqs[name][start : start + length]))
  meta = genome_small_windows.info.metadata
  assert meta["splits"]["train"]["windows"] == len(expected["train"])
  assert meta["tokenizer"]["vocab_size"] == tokenizer.VOCAB_SIZE


def test_splits_never_overlap(genome_small_windows, genome_small_fasta, genome_small_window_settings):
  _, seqs = genome_small_fasta
  length = genome_small_window_settings["window_length"]
  covered = {split: {name: np.zeros(len(seq), bool) for name, seq in seqs.items()} for split in genomes.SPLITS}
  for split, examples in _all_examples(genome_small_windows).items():
    for ex in examples:
      name, start = ex["record"].decode(), int(ex["start"])
      lo, hi = genomes.split_bounds(len(seqs[name]))[split]
      assert lo <= start and start + length <= hi  # Inside its own split region.
      covered[split][name][start : start + length] = True
  for name in seqs:
    for a in genomes.SPLITS:
      for b in genomes.SPLITS:
        if a < b:
          assert not (covered[a][name] & covered[b][name]).any(), (name, a, b)


def test_n_policy_drops_exactly_the_n_heavy_windows(genome_small_fasta, genome_cache_dir, tmp_path, monkeypatch):
  path, seqs = genome_small_fasta
  for fraction, max_n in [(0.0, 0), (0.29, 29), (0.5, 50), (1.0, 100)]:
    assert dataset.max_n_count(100, fraction) == max_n
  monkeypatch.setattr(dataset, "_PLAN_BLOCK_BASES", 700)  # Count N over several blocks.
  builder = dataset.prepare(path, str(tmp_path), 100, 130, 0.0, cache_dir=genome_cache_dir)
  kept = {(ex["record"].decode(), int(ex["start"])) for ex in _all_examples(builder)["train"]}
  assert kept == _expected_windows(seqs, 100, 130, 0.0)["train"]
  for name, start in kept:  # max_n_fraction=0: not one N or ambiguity code in a kept window.
    assert set(seqs[name][start : start + 100].upper()) <= set("ACGT")
  summary = builder.info.metadata["splits"]["train"]
  candidates = len(_expected_windows(seqs, 100, 130, 1.0)["train"])
  assert summary["windows"] == len(kept) and summary["dropped_n"] == candidates - len(kept) > 0


def test_prepare_is_idempotent_and_configs_do_not_collide(
  genome_small_fasta, genome_cache_dir, genome_write_fasta, tmp_path
):
  path, seqs = genome_small_fasta
  data_dir = str(tmp_path / "tfds")
  first = dataset.prepare(path, data_dir, 128, 128, 0.5, cache_dir=genome_cache_dir)
  info = os.path.join(first.data_dir, "dataset_info.json")
  stamp = os.stat(info).st_mtime_ns
  again = dataset.prepare(path, data_dir, 128, 128, 0.5, cache_dir=genome_cache_dir)
  assert again.data_dir == first.data_dir and os.stat(info).st_mtime_ns == stamp
  other_window = dataset.prepare(path, data_dir, 128, 64, 0.5, cache_dir=genome_cache_dir)
  # Same file name, other content: a different corpus, so a different directory.
  other = genome_write_fasta([("chrA", seqs["chrA"][::-1])], name="small.fa")
  other_genome = dataset.prepare(other, data_dir, 128, 128, 0.5, cache_dir=genome_cache_dir)
  dirs = {first.data_dir, other_window.data_dir, other_genome.data_dir}
  assert len(dirs) == 3
  assert len(os.listdir(os.path.join(data_dir, dataset.DATASET_NAME))) == 3
  assert not [n for n in os.listdir(data_dir) if n != dataset.DATASET_NAME]  # No temp leftovers.


@pytest.mark.parametrize("exception", [RuntimeError, KeyboardInterrupt])
def test_failed_build_leaves_nothing(genome_small_fasta, genome_cache_dir, tmp_path, monkeypatch, exception):
  original = dataset.GenomeWindows._shard_examples

  def failing(self, pieces):
    split = self._plan.regions[pieces[0].region_index].split
    for i, example in enumerate(original(self, pieces)):
      if split == "validation" and i == 3:  # After the train split was fully written.
        raise exception("simulated failure mid-build")
      yield example

  monkeypatch.setattr(dataset.GenomeWindows, "_shard_examples", failing)
  data_dir = tmp_path / "deep" / "tfds"
  with pytest.raises(exception, match="simulated"):
    dataset.prepare(genome_small_fasta[0], str(data_dir), 64, 64, 0.5, cache_dir=genome_cache_dir)
  assert not os.path.exists(tmp_path / "deep")  # Every directory prepare made is gone.
  monkeypatch.undo()
  builder = dataset.make_builder(genome_small_fasta[0], str(data_dir), 64, 64, 0.5, cache_dir=genome_cache_dir)
  assert not builder.prepared
  with pytest.raises(dataset.DatasetConfigError, match="run `python -m genome_transformer.prepare"):
    dataset.load(genome_small_fasta[0], str(data_dir), 64, 64, 0.5, cache_dir=genome_cache_dir)


def test_large_corpus_path_many_small_shards_in_genome_order(
  genome_small_fasta, genome_cache_dir, tmp_path, monkeypatch
):
  """The path a gigabase corpus takes, on a small genome: many bounded shards, no write-time shuffle.

  TFDS's shuffler spills to disk through TensorFlow (not installed) once its memory buffer is
  full; a zero-byte buffer makes any build that goes through it fail here, as hg38 did.
  """
  from tensorflow_datasets.core import shuffle  # pylint: disable=g-import-not-at-top

  monkeypatch.setattr(shuffle, "MAX_MEM_BUFFER_SIZE", 0)
  monkeypatch.setattr(dataset, "_SHARD_TOKEN_BYTES", 64 * 7)  # 7 windows per shard.
  monkeypatch.setattr(dataset, "_PIECE_WINDOWS", 3)  # Several reads per shard, shards across records.
  path, seqs = genome_small_fasta
  builder = dataset.prepare(path, str(tmp_path), 64, 50, 0.5, cache_dir=genome_cache_dir)
  expected = _expected_windows(seqs, 64, 50, 0.5)
  record_order = list(seqs)
  for split, examples in _all_examples(builder).items():
    got = [(ex["record"].decode(), int(ex["start"])) for ex in examples]
    assert got == sorted(expected[split], key=lambda k: (record_order.index(k[0]), k[1]))  # Genome order.
    for ex in examples:
      name, start = ex["record"].decode(), int(ex["start"])
      np.testing.assert_array_equal(ex["tokens"], tokenizer.encode(seqs[name][start : start + 64]))
    lengths = builder.info.splits[split].shard_lengths
    assert max(lengths) == 7 and sum(lengths) == len(got)
    assert len(lengths) == math.ceil(len(got) / 7)


def test_killed_build_leftovers_are_removed_and_never_read_as_finished(genome_small_fasta, genome_cache_dir, tmp_path):
  path = genome_small_fasta[0]
  builder = dataset.make_builder(path, str(tmp_path), 64, 64, 0.5, cache_dir=genome_cache_dir)
  config_dir = os.path.dirname(builder.data_dir)
  stale = os.path.join(config_dir, f"incomplete.ABC123_{dataset.GenomeWindows.VERSION}")
  live = os.path.join(config_dir, f"incomplete.XYZ789_{dataset.GenomeWindows.VERSION}")
  stale_tmp = os.path.join(str(tmp_path), dataset._TMP_PREFIX + "dead")
  for d in (stale, live, stale_tmp):
    os.makedirs(d)
    with open(os.path.join(d, "genome_windows-train.array_record-00000-of-00002"), "wb") as f:
      f.write(b"half a shard")
  old = time.time() - 2 * dataset._STALE_BUILD_SECONDS
  for d in (stale, stale_tmp):
    os.utime(d, (old, old))
  assert not builder.prepared  # A killed build's shards are not a dataset.
  built = dataset.prepare(path, str(tmp_path), 64, 64, 0.5, cache_dir=genome_cache_dir)
  assert built.prepared and len(built.as_data_source()["train"]) > 0
  assert not os.path.exists(stale) and not os.path.exists(stale_tmp)
  assert os.path.exists(live)  # Touched recently: maybe another process's build; left alone.


def test_full_disk_is_one_clear_error_before_writing(genome_small_fasta, genome_cache_dir, tmp_path, monkeypatch):
  real = shutil.disk_usage
  monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
  data_dir = tmp_path / "tfds"
  with pytest.raises(dataset.DatasetConfigError, match=r"GB free; the shards need about .* GB\. Free space"):
    dataset.prepare(genome_small_fasta[0], str(data_dir), 64, 64, 0.5, cache_dir=genome_cache_dir)
  assert not os.path.exists(data_dir)


def test_write_error_mid_build_is_one_clear_error(genome_small_fasta, genome_cache_dir, tmp_path, monkeypatch):
  def no_space(self, pieces):
    raise OSError(errno.ENOSPC, "No space left on device")
    yield  # pylint: disable=unreachable

  monkeypatch.setattr(dataset.GenomeWindows, "_shard_examples", no_space)
  data_dir = tmp_path / "tfds"
  with pytest.raises(dataset.DatasetConfigError, match="No space left on device.*nothing of this build is kept"):
    dataset.prepare(genome_small_fasta[0], str(data_dir), 64, 64, 0.5, cache_dir=genome_cache_dir)
  assert not os.path.exists(data_dir)


def test_shipped_hpylori_build(genome_cache_dir, tmp_path):
  length = 8192
  builder = dataset.prepare("builtin:hpylori", str(tmp_path), length, length, 0.5, cache_dir=genome_cache_dir)
  n = genomes.load_manifest()["genomes"]["hpylori"]["bases"]
  bounds = genomes.split_bounds(n)
  expected = {s: (hi - lo) // length for s, (lo, hi) in bounds.items()}  # No N in H. pylori.
  sources = builder.as_data_source()
  assert {s: len(sources[s]) for s in genomes.SPLITS} == expected
  with genomes.open_genome("builtin:hpylori", cache_dir=genome_cache_dir)[0] as f:
    for split in genomes.SPLITS:
      for i in range(0, len(sources[split]), 7):
        ex = sources[split][i]
        start = int(ex["start"])
        assert (start - bounds[split][0]) % length == 0
        np.testing.assert_array_equal(ex["tokens"], f.fetch(ex["record"].decode(), start, start + length))


def test_prepare_cli_prints_summary(genome_small_fasta, genome_cache_dir, tmp_path):
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "genome_transformer.prepare",
      f"--fasta={genome_small_fasta[0]}",
      f"--data_dir={tmp_path}",
      "--window_length=256",
      "--stride=200",
      f"--cache_dir={genome_cache_dir}",
    ],
    capture_output=True,
    text=True,
    check=False,
    cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
  )
  assert result.returncode == 0, result.stderr
  expected = _expected_windows(genome_small_fasta[1], 256, 200, 0.5)
  row = [line for line in result.stdout.splitlines() if line.startswith("train ")][0]
  assert int(row.split()[1].replace(",", "")) == len(expected["train"])
