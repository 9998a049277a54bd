# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The two classic UCI DNA tasks, from the R data files Debian packages: splice junctions and E. coli promoters.

R data files are read with PyPI `rdata` (no R needed). StatLog's splice-junction table stores each of the
60 bases as three indicator columns (A 100, C 010, G 001, T 000); decoded that way, 759 of the 767 donor
(ei) rows have GT right after the junction and 761 of the 765 acceptor (ie) rows AG right before it,
which is what a donor and an acceptor are, so the decoding is the right one.
"""

from __future__ import annotations

import warnings

import numpy as np

from genome_transformer.data.tasks.base import DebianMember, Folds, Row, Task

SPLICE_SOURCE = DebianMember(
  "r-cran-mlbench=2.1-3-1",
  "usr/lib/R/site-library/mlbench/data/DNA.rda",
  "df941ad89a49f705a29bf38e52c91dc34029539cedb13fa24f803f1224278c9e",
)
PROMOTER_SOURCE = DebianMember(
  "r-cran-kernlab=0.9-32-1",
  "usr/lib/R/site-library/kernlab/data/promotergene.rda",
  "60a4f650f412129d9b7a776243cebe3bf0c845a0fbb79c31121344f48c89233c",
)
STATLOG_TRAIN_ROWS = 2000  # StatLog's training set is the table's first 2,000 rows, its test set the other 1,186.
SPLICE_VALIDATION_ROWS = 400  # Held out of StatLog's training rows, stratified, for early stopping.
PROMOTER_FOLDS = 5
_INDICATORS = {(1, 0, 0): "A", (0, 1, 0): "C", (0, 0, 1): "G", (0, 0, 0): "T"}
SPLICE_LABELS = {"ei": "donor", "ie": "acceptor", "n": "neither"}
PROMOTER_LABELS = {"+": "promoter", "-": "non_promoter"}


def read_rda(path: str) -> dict:
  import rdata  # pylint: disable=g-import-not-at-top

  with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # rdata warns that old R files declare no string encoding (they are ASCII).
    return rdata.conversion.convert(rdata.parser.parse_file(path))


def decode_statlog(indicators_N180: np.ndarray) -> list[str]:
  """StatLog's 180 indicator columns per row back to 60 bases."""
  triples = np.asarray(indicators_N180, np.int64).reshape(len(indicators_N180), -1, 3)
  patterns = {tuple(p) for p in np.unique(triples.reshape(-1, 3), axis=0)}
  if not patterns <= set(_INDICATORS):
    raise ValueError(f"indicator triples {sorted(patterns - set(_INDICATORS))} are not StatLog's base encoding.")
  return ["".join(_INDICATORS[tuple(t)] for t in row) for row in triples]


def stratified_holdout(labels: list[str], count: int, seed: int) -> np.ndarray:
  """A fixed, class-stratified boolean mask of `count` held-out rows."""
  labels_N = np.asarray(labels)
  held = np.zeros(len(labels_N), bool)
  rng = np.random.default_rng(seed)
  classes, totals = np.unique(labels_N, return_counts=True)
  quotas = np.floor(totals / len(labels_N) * count).astype(int)
  quotas[: count - quotas.sum()] += 1  # Remainders to the first classes, so the total is exact.
  for label, quota in zip(classes, quotas):
    rows = np.flatnonzero(labels_N == label)
    held[rng.choice(rows, quota, replace=False)] = True
  return held


def splice_folds(sequences: list[str], classes: list[str]) -> Folds:
  """StatLog's split: its training rows (less a stratified validation part) and its test rows."""
  rows = [(f"statlog{i + 1}", seq, SPLICE_LABELS[c]) for i, (seq, c) in enumerate(zip(sequences, classes))]
  train_rows = rows[:STATLOG_TRAIN_ROWS]
  held = stratified_holdout([r[2] for r in train_rows], SPLICE_VALIDATION_ROWS, seed=0)
  return {
    "fold0": {
      "train": [r for r, h in zip(train_rows, held) if not h],
      "validation": [r for r, h in zip(train_rows, held) if h],
      "test": rows[STATLOG_TRAIN_ROWS:],
    }
  }


def _splice_rows(cache_dir) -> tuple[Folds, dict]:
  table = read_rda(SPLICE_SOURCE.path(cache_dir))["DNA"]
  sequences = decode_statlog(table.iloc[:, :180].astype(int).to_numpy())
  classes = table["Class"].astype(str).tolist()
  donors = [s for s, c in zip(sequences, classes) if c == "ei"]
  notes = {"donors_with_GT_after_the_junction": sum(s[30:32] == "GT" for s in donors), "donors": len(donors)}
  return splice_folds(sequences, classes), notes


def promoter_folds(sequences: list[str], classes: list[str], num_folds: int = PROMOTER_FOLDS) -> Folds:
  """Fixed stratified folds: fold k tests on the k-th fifth, validates on the next, trains on the rest."""
  rows: list[Row] = [
    (f"promoter{i + 1}", seq, PROMOTER_LABELS[c]) for i, (seq, c) in enumerate(zip(sequences, classes))
  ]
  part_N = np.zeros(len(rows), int)
  rng = np.random.default_rng(0)
  for label in sorted(set(classes)):
    members = rng.permutation(np.flatnonzero(np.asarray(classes) == label))
    part_N[members] = np.arange(len(members)) % num_folds
  folds: Folds = {}
  for k in range(num_folds):
    test_part, validation_part = k, (k + 1) % num_folds
    folds[f"fold{k}"] = {
      "train": [r for r, p in zip(rows, part_N) if p not in (test_part, validation_part)],
      "validation": [r for r, p in zip(rows, part_N) if p == validation_part],
      "test": [r for r, p in zip(rows, part_N) if p == test_part],
    }
  return folds


def _promoter_rows(cache_dir) -> tuple[Folds, dict]:
  table = read_rda(PROMOTER_SOURCE.path(cache_dir))["promotergene"]
  sequences = ["".join(row).upper() for row in table.iloc[:, 1:].astype(str).to_numpy()]
  return promoter_folds(sequences, table["Class"].astype(str).tolist()), {}


TASKS = (
  Task(
    name="uci-splice",
    summary="Primate splice junctions (UCI / StatLog DNA): donor, acceptor or neither, 60 nt around the site.",
    source=f"Debian {SPLICE_SOURCE.package}, {SPLICE_SOURCE.member} (R data DNA, StatLog's encoding)",
    licence="GPL-2 (the r-cran-mlbench package); the data from GenBank 64.1 via the UCI repository",
    labels="donor: exon-intron boundary at the centre (StatLog ei); acceptor: intron-exon (ie); neither (n)",
    split="StatLog's: its 2,000 training rows (400 of them, stratified, for validation) and its 1,186 test rows",
    genome="human",
    rows=_splice_rows,
  ),
  Task(
    name="uci-promoters",
    summary="E. coli sigma-70 promoters (UCI): 57 nt, 53 promoters and 53 non-promoters.",
    source=f"Debian {PROMOTER_SOURCE.package}, {PROMOTER_SOURCE.member} (R data promotergene)",
    licence="GPL-2 (the r-cran-kernlab package); the data via the UCI repository",
    labels="promoter: a sequence holding a sigma-70 promoter; non_promoter: one that holds none",
    split="5 fixed stratified folds: fold k tests on part k, validates on part k+1 (mod 5), trains on the other 3",
    genome="bacteria",
    rows=_promoter_rows,
  ),
)
