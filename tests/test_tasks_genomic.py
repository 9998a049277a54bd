# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Genomic labelled tasks on synthetic genomes: sites where the annotation puts them, on the right strand,
negatives that are no annotated site, no window across a split boundary, skipped windows counted."""

import numpy as np

from genome_transformer.data import tasks
from genome_transformer.data.tasks import chrx_splice
from genome_transformer.genomics import genomes

_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}


def _rc(sequence: str) -> str:
  return "".join(_COMPLEMENT[b] for b in reversed(sequence))


def _random_dna(length: int, seed: int) -> list[str]:
  return list(np.random.default_rng(seed).choice(list("ACGT"), length))


def _all_rows(folds):
  return {split: rows for split, rows in folds["fold0"].items()}


def _splits_of(folds, label):
  return {split: [r for r in rows if r[2] == label] for split, rows in _all_rows(folds).items()}


def _assert_windows_inside_one_region(folds, length, flank, position_of):
  bounds = genomes.split_bounds(length)
  for split, rows in _all_rows(folds).items():
    lo, hi = bounds[split]
    for row in rows:
      start, end = position_of(row)
      assert lo <= start and end <= hi, (row[0], split)


# A gene on + with exons [1000, 1100) and [1400, 1500) (0-based): donor boundary 1100, acceptor 1400;
# a gene on - with exons [3000, 3100), [3080, 3300) overlapping into one, and [3600, 3700): its intron
# [3300, 3600) has an acceptor at 3300 and a donor at 3600 (read on the - strand).
_LENGTH = 10_000
_FLANK = 20


def _splice_genome() -> tuple[str, list]:
  genome = _random_dna(_LENGTH, 0)
  genome[1100:1102] = "GT"  # + donor: exon|GT.
  genome[1398:1400] = "AG"  # + acceptor: AG|exon.
  genome[3300:3302] = "CT"  # - acceptor: reverse complement of AG|exon, read leftwards from the exon.
  genome[3598:3600] = "AC"  # - donor: exon|GT on the - strand.
  genome[5100:5102] = "CA"  # A + donor with no GT: not canonical.
  genome[7050:7052] = "GT"  # g4's sites are canonical but their windows hold N.
  genome[7098:7100] = "AG"
  genome[7069:7081] = "N" * 12
  exons = [
    ("g1", 1001, 1100, "+"),
    ("g1", 1401, 1500, "+"),
    ("g2", 3001, 3100, "-"),
    ("g2", 3081, 3300, "-"),
    ("g2", 3601, 3700, "-"),
    ("g3", 5001, 5100, "+"),
    ("g3", 5301, 5400, "+"),
    ("g4", 7001, 7050, "+"),
    ("g4", 7101, 7150, "+"),
    ("g5", 9901, 10_001, "+"),  # Ends past the sequence.
  ]
  genome[5298:5300] = "AG"  # g3's acceptor is canonical, its donor is not.
  return "".join(genome).lower(), exons  # Lower case: soft-masked input comes out upper case.


def test_splice_sites_are_where_the_exons_put_them_oriented_to_the_gene():
  genome, exons = _splice_genome()
  folds, notes = chrx_splice.splice_folds(genome, "chrT", exons, _FLANK)
  upper = genome.upper()
  rows = {r[0]: r for split_rows in _all_rows(folds).values() for r in split_rows}
  assert rows["chrT:1100:+:donor"][1] == upper[1080:1120] and rows["chrT:1100:+:donor"][1][20:22] == "GT"
  assert rows["chrT:1400:+:acceptor"][1] == upper[1380:1420] and rows["chrT:1400:+:acceptor"][1][18:20] == "AG"
  assert rows["chrT:3600:-:donor"][1] == _rc(upper[3580:3620]) and rows["chrT:3600:-:donor"][1][20:22] == "GT"
  assert rows["chrT:3300:-:acceptor"][1] == _rc(upper[3280:3320])
  assert rows["chrT:3300:-:acceptor"][1][18:20] == "AG"
  assert rows["chrT:5300:+:acceptor"][2] == "acceptor"
  positives = sorted(r[0] for r in rows.values() if r[2] != "none")
  assert positives == ["chrT:1100:+:donor", "chrT:1400:+:acceptor", "chrT:3300:-:acceptor", "chrT:3600:-:donor",
                       "chrT:5300:+:acceptor"]  # fmt: skip
  assert notes["donors_not_canonical"] == 1 and notes["exon_rows_outside_the_sequence"] == 1
  assert notes["sites_whose_window_holds_N"] == 2  # g4's donor (7050) and acceptor (7100).
  assert all(len(r[1]) == 2 * _FLANK and set(r[1]) <= set("ACGT") for r in rows.values())


def test_splice_negatives_are_unannotated_dinucleotides_matched_per_split_and_kind():
  genome, exons = _splice_genome()
  folds, notes = chrx_splice.splice_folds(genome, "chrT", exons, _FLANK)
  annotated = {1100, 1400, 3300, 3600, 5100, 5300, 7050, 7100}
  for split, rows in _all_rows(folds).items():
    negatives = [r for r in rows if r[2] == "none"]
    for kind in ("donor", "acceptor"):
      assert sum(r[2] == kind for r in rows) == sum(r[0].endswith(f"none-{kind}-like") for r in negatives), split
    for name, window, _ in negatives:
      _, boundary, strand, kind = name.split(":")
      assert int(boundary) not in annotated
      expected = "GT" if kind == "none-donor-like" else "AG"
      assert (window[20:22] if kind == "none-donor-like" else window[18:20]) == expected
      assert window == (genome.upper()[int(boundary) - 20 : int(boundary) + 20] if strand == "+" else
                        _rc(genome.upper()[int(boundary) - 20 : int(boundary) + 20]))  # fmt: skip
  assert chrx_splice.splice_folds(genome, "chrT", exons, _FLANK) == (folds, notes)  # Fixed seed.
  assert chrx_splice.splice_folds(genome, "chrT", exons, _FLANK, seed=1)[0] != folds


def test_splice_windows_never_cross_a_split_boundary():
  genome = _random_dna(_LENGTH, 2)
  validation_start = genomes.split_bounds(_LENGTH)["validation"][0]  # 9000.
  genome[validation_start - 5 : validation_start - 3] = "GT"  # A donor whose window crosses into validation.
  genome[9700:9702] = "GT"
  genome = "".join(genome)
  exons = [("g", 8000, validation_start - 5, "+"), ("g", 9300, 9700, "+"), ("g", 9800, 9850, "+")]
  folds, notes = chrx_splice.splice_folds(genome, "chrT", exons, _FLANK)
  names = [r[0] for rows in _all_rows(folds).values() for r in rows]
  assert "chrT:9700:+:donor" in [r[0] for r in folds["fold0"]["test"]]
  assert f"chrT:{validation_start - 5}:+:donor" not in names
  assert notes["sites_whose_window_crosses_a_split_boundary_or_the_record_end"] >= 1

  def span(row):
    boundary = int(row[0].split(":")[1])
    return boundary - _FLANK, boundary + _FLANK

  _assert_windows_inside_one_region(folds, _LENGTH, _FLANK, span)


def test_dinucleotide_candidates_match_a_plain_scan():
  genome = "".join(_random_dna(500, 3))
  for pattern, offset in chrx_splice.SITE_PATTERNS.values():
    plain = [i + offset for i in range(len(genome) - 1) if genome[i : i + 2] == pattern]
    assert chrx_splice.candidate_boundaries(genome, pattern, offset).tolist() == plain


def test_both_tasks_are_registered_with_their_options():
  assert tasks.TASKS["chrx-splice"].options == {"flank": 100} and tasks.TASKS["chrx-splice"].genome == "human"
  assert tasks.TASKS["ecoli-coding"].options == {"flank": 100} and tasks.TASKS["ecoli-coding"].genome == "bacteria"
