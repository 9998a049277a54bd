# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Labelled tasks: StatLog's encoding decodes, the splits are the fixed ones, a build is written whole once."""

import os

import numpy as np
import pytest

from genome_transformer.data import labelled, tasks
from genome_transformer.data.tasks import base, uci
from genome_transformer.genomics import files, sources


def _statlog_encode(sequence: str) -> list[int]:
  """StatLog's published encoding, written out independently of uci.decode_statlog."""
  table = {"A": [1, 0, 0], "C": [0, 1, 0], "G": [0, 0, 1], "T": [0, 0, 0]}
  return [bit for base_ in sequence for bit in table[base_]]


def test_statlog_indicators_decode_to_the_bases():
  rng = np.random.default_rng(0)
  sequences = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(5)]
  assert uci.decode_statlog(np.array([_statlog_encode(s) for s in sequences])) == sequences
  with pytest.raises(ValueError, match="not StatLog's base encoding"):
    uci.decode_statlog(np.ones((1, 180), int))  # 111 encodes no base.


def test_splice_split_is_statlogs_with_a_stratified_validation_part():
  rng = np.random.default_rng(1)
  classes = list(rng.choice(["ei", "ie", "n"], 2500, p=[0.25, 0.25, 0.5]))
  sequences = [f"S{i}" for i in range(2500)]
  fold = uci.splice_folds(sequences, classes)["fold0"]
  assert [r[0] for r in fold["test"]] == [f"statlog{i + 1}" for i in range(2000, 2500)]
  assert len(fold["validation"]) == uci.SPLICE_VALIDATION_ROWS
  assert len(fold["train"]) + len(fold["validation"]) == 2000
  assert not {r[0] for r in fold["train"]} & {r[0] for r in fold["validation"]}
  train_share = np.mean([r[2] == "neither" for r in fold["train"]])
  validation_share = np.mean([r[2] == "neither" for r in fold["validation"]])
  assert abs(train_share - validation_share) < 0.01  # Stratified.
  assert uci.splice_folds(sequences, classes) == uci.splice_folds(sequences, classes)  # Fixed.


def test_promoter_folds_test_each_row_once_and_never_train_on_it():
  classes = ["+"] * 53 + ["-"] * 53
  folds = uci.promoter_folds([f"S{i}" for i in range(106)], classes)
  tested = [r[0] for fold in folds.values() for r in fold["test"]]
  assert sorted(tested) == sorted(f"promoter{i + 1}" for i in range(106))
  for fold in folds.values():
    ids = {split: {r[0] for r in rows} for split, rows in fold.items()}
    assert not ids["train"] & ids["test"] and not ids["train"] & ids["validation"]
    assert not ids["validation"] & ids["test"]
    assert sum(map(len, ids.values())) == 106


def _toy_task(calls):
  def rows(cache_dir, size):
    calls.append(size)
    made = [(f"r{i}", "ACGT" * (i + 1), "yes" if i % 2 else "no") for i in range(size)]
    return {"fold0": {"train": made, "validation": made[:2], "test": made[2:4]}}, {"made": size}

  return base.Task("toy", "A toy.", "made here", "none", "yes/no", "all", "bacteria", rows, {"size": 6})


def test_build_writes_tsvs_the_fine_tuner_reads_once(tmp_path):
  calls = []
  task = _toy_task(calls)
  built = base.build(task, str(tmp_path))
  assert built.directory == os.path.join(files.cache_root(str(tmp_path)), "tasks", "toy-size=6")
  train = labelled.read_labelled(built.folds[0].train)
  assert train.labels == ["no", "yes", "no", "yes", "no", "yes"] and len(train.tokens[3]) == 16
  assert built.card["counts"]["fold0"]["test"] == {"no": 1, "yes": 1} and built.card["notes"] == {"made": 6}
  assert base.build(task, str(tmp_path)).card == built.card and calls == [6]  # Cached: not rebuilt.
  assert base.build(task, str(tmp_path), size=8).directory.endswith("toy-size=8") and calls == [6, 8]
  with pytest.raises(base.TaskError, match="no option 'flank'"):
    base.build(task, str(tmp_path), flank=3)
  assert not [n for n in os.listdir(os.path.dirname(built.directory)) if n.startswith(".")]  # No temp dirs left.


def test_failed_build_leaves_no_directory(tmp_path):
  def broken(cache_dir):
    raise OSError("disk full")

  task = base.Task("broken", "", "", "", "", "", "human", broken)
  with pytest.raises(OSError):
    base.build(task, str(tmp_path))
  assert not os.path.exists(os.path.join(str(tmp_path), "tasks", "broken"))


def test_a_source_file_that_is_not_the_pinned_one_is_refused(tmp_path, monkeypatch):
  def fake_download(package, workdir):
    path = os.path.join(workdir, "p.deb")
    open(path, "wb").close()
    return path

  def fake_extract(deb, member, workdir):
    path = os.path.join(workdir, "member")
    with open(path, "wb") as f:
      f.write(b"something else")
    return path

  monkeypatch.setattr(sources, "obtain_debian_archive", fake_download)
  monkeypatch.setattr(sources, "extract_debian_member", fake_extract)
  member = base.DebianMember("pkg=1", "usr/share/x.rda", "0" * 64)
  with pytest.raises(base.TaskError, match="not the pinned"):
    member.path(str(tmp_path))


def test_unknown_task_names_the_known_ones():
  with pytest.raises(tasks.TaskError, match="uci-splice"):
    tasks.build("no-such-task")
