# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Human splice sites on the pretraining chrX: RefSeq exons (subread's SAF) on GRCh37, sites of consecutive exons.

A site is an exon-intron boundary: a donor is exon|GT and an acceptor AG|exon on the gene's strand. Each site
and each unannotated GT / AG (the negatives) is named by its boundary b, the 0-based position of the first base
after it on the forward strand, and its window is the record's bases [b - flank, b + flank), reverse-complemented
for the - strand. A window lies wholly inside one split region of the language model's split rule, so no
held-out window overlaps pretraining bases (docs/tasks.md).
"""

from __future__ import annotations

import collections
import gzip

import numpy as np

from genome_transformer.data.tasks.base import SPLITS, DebianMember, Folds, Task, region_of, reverse_complement
from genome_transformer.genomics import genomes

EXON_SOURCE = DebianMember(
  "subread-data=2.0.3+dfsg-1",
  "usr/share/doc/subread/examples/annotation/hg19_RefSeq_exon.txt.gz",
  "7b970b2fe11fda7adb5c1f107b17494ade5d8c1aed5040bc91f36ba6d17cc1e4",
)
GENOME = "fetch:smalt-chrX"
CHROMOSOME = "chrX"
SEED = 0
# Forward-strand dinucleotides of each (kind, strand) and the boundary's offset from the dinucleotide's first
# base: a + donor is exon|GT, a + acceptor AG|exon; on - the same read from the other strand.
SITE_PATTERNS = {
  ("donor", "+"): ("GT", 0),
  ("acceptor", "+"): ("AG", 2),
  ("donor", "-"): ("AC", 2),
  ("acceptor", "-"): ("CT", 0),
}
Exon = tuple[str, int, int, str]  # (gene, start, end, strand): 1-based, inclusive, as SAF writes them.


def acgt_mask(sequence: str) -> np.ndarray:
  """True where the (upper-case) base is A, C, G or T."""
  table = np.zeros(256, bool)
  table[np.frombuffer(b"ACGT", np.uint8)] = True
  return table[np.frombuffer(sequence.encode("ascii"), np.uint8)]


def read_saf(path: str, chromosome: str) -> tuple[list[Exon], dict]:
  """The rows of one chromosome; rows that do not parse are skipped and counted."""
  exons: list[Exon] = []
  malformed = 0
  with gzip.open(path, "rt", encoding="ascii") as f:
    header = f.readline().split()
    if header[:5] != ["GeneID", "Chr", "Start", "End", "Strand"]:
      raise ValueError(f"{path}: line 1 is {header}, not the SAF header GeneID Chr Start End Strand.")
    for line in f:
      fields = line.split("\t")
      if len(fields) < 5 or fields[1] != chromosome:
        malformed += len(fields) < 5
        continue
      try:
        gene, start, end, strand = fields[0], int(fields[2]), int(fields[3]), fields[4].strip()
      except ValueError:
        malformed += 1
        continue
      if strand not in ("+", "-") or not 1 <= start <= end:
        malformed += 1
        continue
      exons.append((gene, start, end, strand))
  return exons, {"saf_rows_malformed": malformed}


def annotated_sites(exons: list[Exon], sequence: str) -> tuple[dict[tuple[str, str], set[int]], set[int], dict]:
  """{(kind, strand): boundaries} of the canonical sites that consecutive merged exons of each gene imply, and
  every annotated boundary, canonical or not (no negative may sit on one: its window would be a site's)."""
  notes = collections.Counter()
  by_gene: dict[tuple[str, str], list[tuple[int, int]]] = collections.defaultdict(list)
  for gene, start, end, strand in exons:
    if end > len(sequence):
      notes["exon_rows_outside_the_sequence"] += 1
      continue
    by_gene[(gene, strand)].append((start - 1, end))  # 0-based, end exclusive.
  sites: dict[tuple[str, str], set[int]] = {key: set() for key in SITE_PATTERNS}
  boundaries: set[int] = set()
  for (_, strand), spans in by_gene.items():
    merged: list[list[int]] = []
    for start, end in sorted(spans):
      if merged and start <= merged[-1][1]:  # Overlapping (or abutting) exons are one exon.
        merged[-1][1] = max(merged[-1][1], end)
      else:
        merged.append([start, end])
    for (_, left_end), (right_start, _) in zip(merged, merged[1:]):
      # The intron is [left_end, right_start): on + its left boundary is a donor, on - an acceptor.
      left_kind, right_kind = ("donor", "acceptor") if strand == "+" else ("acceptor", "donor")
      for kind, boundary in ((left_kind, left_end), (right_kind, right_start)):
        pattern, offset = SITE_PATTERNS[(kind, strand)]
        first = boundary - offset
        boundaries.add(boundary)
        if sequence[first : first + 2] == pattern:
          sites[(kind, strand)].add(boundary)
        else:
          notes[f"{kind}s_not_canonical"] += 1
  return sites, boundaries, dict(notes)


def candidate_boundaries(sequence: str, pattern: str, offset: int) -> np.ndarray:
  """Boundaries of every occurrence of a dinucleotide, found on the byte array (sorted)."""
  bytes_L = np.frombuffer(sequence.encode("ascii"), np.uint8)
  first, second = np.frombuffer(pattern.encode("ascii"), np.uint8)
  return np.flatnonzero((bytes_L[:-1] == first) & (bytes_L[1:] == second)) + offset


def _window(sequence: str, boundary: int, flank: int, strand: str) -> str:
  window = sequence[boundary - flank : boundary + flank]
  return window if strand == "+" else reverse_complement(window)


def splice_folds(sequence: str, record: str, exons: list[Exon], flank: int, seed: int = SEED) -> tuple[Folds, dict]:
  """Annotated sites and as many unannotated GT / AG of each kind per split, as (id, window, label) rows."""
  if flank < 1:
    raise ValueError(f"flank must be >= 1, got {flank}")
  sequence = sequence.upper()
  acgt_L = acgt_mask(sequence)
  bounds = genomes.split_bounds(len(sequence))
  sites, annotated_boundaries, site_notes = annotated_sites(exons, sequence)
  annotated_B = np.fromiter(annotated_boundaries, np.int64, len(annotated_boundaries))
  notes = collections.Counter(site_notes)
  rng = np.random.default_rng(seed)
  folds: Folds = {"fold0": {split: [] for split in SPLITS}}
  rows = folds["fold0"]
  for (kind, strand), (pattern, offset) in SITE_PATTERNS.items():
    wanted = collections.Counter()
    for boundary in sorted(sites[(kind, strand)]):
      split = region_of(boundary - flank, boundary + flank, bounds)
      if split is None:
        notes["sites_whose_window_crosses_a_split_boundary_or_the_record_end"] += 1
      elif not acgt_L[boundary - flank : boundary + flank].all():
        notes["sites_whose_window_holds_N"] += 1
      else:
        rows[split].append((f"{record}:{boundary}:{strand}:{kind}", _window(sequence, boundary, flank, strand), kind))
        wanted[split] += 1
    candidates = candidate_boundaries(sequence, pattern, offset)
    candidates = candidates[~np.isin(candidates, annotated_B)]
    for split in SPLITS:
      lo, hi = bounds[split]
      inside = candidates[(candidates - flank >= lo) & (candidates + flank <= hi)]
      drawn = 0
      for boundary in rng.permutation(inside):
        if drawn == wanted[split]:
          break
        if not acgt_L[boundary - flank : boundary + flank].all():
          notes["negatives_whose_window_holds_N"] += 1
          continue
        name = f"{record}:{boundary}:{strand}:none-{kind}-like"
        rows[split].append((name, _window(sequence, boundary, flank, strand), "none"))
        drawn += 1
      if drawn < wanted[split]:
        notes[f"negatives_short_in_{split}"] += wanted[split] - drawn
  for split in SPLITS:
    rows[split].sort(key=lambda row: row[0])
  return folds, dict(sorted(notes.items()))


def _splice_rows(cache_dir, flank: int) -> tuple[Folds, dict]:
  exons, notes = read_saf(EXON_SOURCE.path(cache_dir), CHROMOSOME)
  (genome,) = genomes.open_genome(GENOME, cache_dir)
  try:
    # The preset names the record X; the SAF file says chrX.
    (record,) = [n for n in genome.names if n in (CHROMOSOME, CHROMOSOME.removeprefix("chr"))]
    sequence = genome.fetch_chars(record)
  finally:
    genome.close()
  folds, fold_notes = splice_folds(sequence, CHROMOSOME, exons, int(flank))
  return folds, {**notes, "saf_rows_on_chromosome": len(exons), **fold_notes}


TASKS = (
  Task(
    name="chrx-splice",
    summary="Human splice sites on the pretraining chrX (GRCh37, first 70 Mb): donor, acceptor or none, 2 x flank nt.",
    source=(f"Debian {EXON_SOURCE.package}, {EXON_SOURCE.member} (RefSeq exons, SAF, hg19) on the genome {GENOME}"),
    licence="GPL-3+ (the subread-data package); the exons from NCBI RefSeq, the sequence GRCh37 (public)",
    labels=(
      "donor: exon|GT, acceptor: AG|exon, both between consecutive merged RefSeq exons of one gene, canonical only; "
      "none: a GT or AG (either strand) that is no annotated site, as many donor-like and acceptor-like as there are "
      "donors and acceptors in each split; the window is oriented to the site's strand"
    ),
    split=(
      "by position, the language model's rule (90 / 5 / 5 % of the record): a window lies wholly inside the train, "
      "validation or test region, or is dropped; one fold"
    ),
    genome="human",
    rows=_splice_rows,
    options={"flank": 100},
  ),
)
