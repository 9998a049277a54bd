# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""What every labelled task shares: its description, the package file it is read from, and how it is written.

A task's `rows(cache_dir, **options)` returns its folds, each a dict of splits holding (id, sequence, label)
rows, and notes for its card (counts of what was skipped and why). `build` writes them once per option set
as TSV files that labelled.py reads (columns id, sequence, label), under
<cache>/tasks/<name>[-<option>=<value>...]/<fold>/{train,validation,test}.tsv with card.json beside the folds,
in a temp directory renamed into place, so a directory that exists is complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from typing import Any, Callable

from genome_transformer.genomics import files, sources

SPLITS = ("train", "validation", "test")
Row = tuple[str, str, str]  # (id, sequence, label)
Folds = dict[str, dict[str, list[Row]]]


class TaskError(ValueError):
  """A task that cannot be built: an unknown name or option, or a source file that is not what was pinned."""


_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def reverse_complement(sequence: str) -> str:
  """The other strand of an upper-case sequence, read 5' to 3'."""
  return sequence.translate(_COMPLEMENT)[::-1]


def region_of(start: int, end: int, bounds: dict[str, tuple[int, int]]) -> str | None:
  """The split whose region (of `genomes.split_bounds`) holds [start, end) wholly, or None.

  None for a window that crosses a split boundary or an end of the record: the tasks on pretraining genomes keep
  only windows inside one region, so no held-out window shares a base with a pretraining training window.
  """
  for split, (lo, hi) in bounds.items():
    if lo <= start and end <= hi:
      return split
  return None


@dataclasses.dataclass(frozen=True)
class DebianMember:
  """A file inside a Debian package, pinned by the package version and the file's sha256."""

  package: str  # name=version, as apt-get download takes it.
  member: str  # Path inside the package.
  sha256: str

  def path(self, cache_dir: str | None = None) -> str:
    """The member in the cache (<cache>/tasks/sources/), obtained and checked on first use."""
    target = os.path.join(files.cache_root(cache_dir), "tasks", "sources", self.package, os.path.basename(self.member))
    if os.path.exists(target) and files.sha256_file(target) == self.sha256:
      return target
    with tempfile.TemporaryDirectory(prefix="task-source-") as work:
      deb = sources.obtain_debian_archive(self.package, work)
      extracted = sources.extract_debian_member(deb, self.member, work)
      digest = files.sha256_file(extracted)
      if digest != self.sha256:
        raise TaskError(
          f"{self.package}:{self.member} has sha256 {digest}, not the pinned {self.sha256}: the archive changed; "
          "update the pin in genome_transformer/data/tasks after checking the file."
        )
      os.makedirs(os.path.dirname(target), exist_ok=True)
      with open(extracted, "rb") as f:
        files.write_bytes_atomic(target, f.read())
    return target


@dataclasses.dataclass(frozen=True)
class Task:
  """A labelled task: where it comes from, what a label means, how it is split, and how its rows are made."""

  name: str
  summary: str  # One line.
  source: str  # Package, version and file (and the genome, where the labels are coordinates).
  licence: str
  labels: str  # What each label means.
  split: str  # The fixed rule that assigns rows to folds and splits.
  genome: str  # The pretraining genome a release should fit: "human" or "bacteria".
  rows: Callable[..., tuple[Folds, dict]]  # (cache_dir, **options) -> (folds, notes for the card).
  options: dict = dataclasses.field(default_factory=dict)  # name -> default.


@dataclasses.dataclass(frozen=True)
class Fold:
  name: str
  train: str
  validation: str
  test: str


@dataclasses.dataclass(frozen=True)
class TaskFiles:
  directory: str
  folds: list[Fold]
  card: dict


def directory_name(task: Task, options: dict) -> str:
  """The task's name and its options: chrx-splice-flank=1000."""
  return "-".join([task.name, *(f"{key}={options[key]}" for key in sorted(options))])


def _write_tsv(path: str, rows: list[Row]) -> None:
  with open(path, "w", encoding="utf-8") as f:
    f.write("id\tsequence\tlabel\n")
    for row in rows:
      f.write("\t".join(row) + "\n")


def _counts(rows: list[Row]) -> dict[str, int]:
  counts: dict[str, int] = {}
  for _, _, label in rows:
    counts[label] = counts.get(label, 0) + 1
  return dict(sorted(counts.items()))


def _task_files(directory: str, card: dict) -> TaskFiles:
  folds = [Fold(name, *(os.path.join(directory, name, f"{split}.tsv") for split in SPLITS)) for name in card["folds"]]
  return TaskFiles(directory=directory, folds=folds, card=card)


def build(task: Task, cache_dir: str | None = None, **options: Any) -> TaskFiles:
  unknown = sorted(set(options) - set(task.options))
  if unknown:
    raise TaskError(f"task {task.name}: no option {unknown[0]!r}; its options are {sorted(task.options) or 'none'}.")
  options = {**task.options, **options}
  directory = os.path.join(files.cache_root(cache_dir), "tasks", directory_name(task, options))
  card_path = os.path.join(directory, "card.json")
  if os.path.exists(card_path):
    return _task_files(directory, files.read_json(card_path))
  folds, notes = task.rows(cache_dir, **options)
  card = dict(
    name=task.name,
    summary=task.summary,
    source=task.source,
    licence=task.licence,
    labels=task.labels,
    split=task.split,
    genome=task.genome,
    options=options,
    folds=list(folds),
    counts={fold: {split: _counts(rows) for split, rows in splits.items()} for fold, splits in folds.items()},
    notes=notes,
  )
  os.makedirs(os.path.dirname(directory), exist_ok=True)
  tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}-", dir=os.path.dirname(directory))
  try:
    for fold, splits in folds.items():
      os.makedirs(os.path.join(tmp, fold))
      for split in SPLITS:
        _write_tsv(os.path.join(tmp, fold, f"{split}.tsv"), splits[split])
    with open(os.path.join(tmp, "card.json"), "w", encoding="utf-8") as f:
      json.dump(card, f, indent=1)
    os.replace(tmp, directory)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return _task_files(directory, card)
