# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""E. coli gene starts: seqinr's ec999 coding sequences located in the embedded K-12 MG1655 genome.

E. coli is mostly coding and ec999 names only 999 genes, so a base outside them is no non-coding base; the
task is instead gene-start recognition: the annotated start codon of a located CDS against an in-frame
ATG / GTG / TTG well inside the same CDS. A codon is named by the 0-based forward position of its first base
(the highest of its three positions for a - strand gene); its window is 100 bases upstream of that base and
100 from it, on the gene's strand. A window lies wholly inside one split region of the language model's rule
(docs/tasks.md).
"""

from __future__ import annotations

import collections

import numpy as np

from genome_transformer.data.tasks import uci
from genome_transformer.data.tasks.base import SPLITS, DebianMember, Folds, Task
from genome_transformer.data.tasks.chrx_splice import acgt_mask, region_of, reverse_complement
from genome_transformer.genomics import genomes

CDS_SOURCE = DebianMember(
  "r-cran-seqinr=4.2-23-1",
  "usr/lib/R/site-library/seqinr/data/ec999.RData",
  "bcdf7cea17f45c725031cde5609d9b3497de0fd90a5791aefe4dfe043dd95e8f",
)
GENOME = "builtin:ecoli"
SEED = 0
UPSTREAM = 100  # Bases before the codon's first base.
DOWNSTREAM = 100  # Bases from it on.
MIN_INTERNAL_CODONS = 30  # An internal codon this far from the annotated start is surely not the gene's start.
START_CODONS = ("ATG", "GTG", "TTG")


def _hits(genome: str, pattern: str) -> list[int]:
  found, at = [], genome.find(pattern)
  while at != -1:
    found.append(at)
    at = genome.find(pattern, at + 1)
  return found


def locate(genome: str, cds: dict[str, str]) -> tuple[list[tuple[str, str, int, int]], dict]:
  """(name, strand, start, end) of each CDS found exactly once on either strand (forward, 0-based, end
  exclusive); missing and multi-hit ones are counted."""
  notes = collections.Counter()
  located = []
  for name, sequence in cds.items():
    sequence = sequence.upper()
    hits = [("+", at) for at in _hits(genome, sequence)]
    reverse = reverse_complement(sequence)
    if reverse != sequence:
      hits += [("-", at) for at in _hits(genome, reverse)]
    if not hits:
      notes["cds_not_found"] += 1
    elif len(hits) > 1:
      notes["cds_found_more_than_once"] += 1
    else:
      ((strand, at),) = hits
      located.append((name, strand, at, at + len(sequence)))
  return located, dict(notes)


def start_folds(genome: str, record: str, cds: dict[str, str], seed: int = SEED) -> tuple[Folds, dict]:
  """A `start` row per located CDS and an `internal` row from the same CDS, as (id, window, label) rows."""
  genome = genome.upper()
  n = len(genome)
  reverse_genome = reverse_complement(genome)
  acgt_L = acgt_mask(genome)
  bounds = genomes.split_bounds(n)
  located, locate_notes = locate(genome, cds)
  notes = collections.Counter(locate_notes, cds=len(cds), cds_located=len(located))
  starts = {(strand, start if strand == "+" else n - end) for _, strand, start, end in located}
  rng = np.random.default_rng(seed)
  folds: Folds = {"fold0": {split: [] for split in SPLITS}}
  rows = folds["fold0"]

  def window(strand: str, oriented_at: int) -> tuple[str | None, int, str | None]:
    """(split, forward position, window) of the codon at `oriented_at` on its strand's coordinates."""
    lo, hi = oriented_at - UPSTREAM, oriented_at + DOWNSTREAM
    forward_lo, forward_hi = (lo, hi) if strand == "+" else (n - hi, n - lo)
    forward_at = oriented_at if strand == "+" else n - 1 - oriented_at
    split = region_of(forward_lo, forward_hi, bounds) if 0 <= forward_lo else None
    if split is None or not acgt_L[forward_lo:forward_hi].all():
      return split, forward_at, None
    return split, forward_at, (genome if strand == "+" else reverse_genome)[lo:hi]

  for name, strand, start, end in sorted(located, key=lambda row: (row[2], row[1])):
    strand_genome = genome if strand == "+" else reverse_genome
    at = start if strand == "+" else n - end  # The CDS on its own strand's coordinates.
    notes[f"start_codon_{strand_genome[at : at + 3]}"] += 1
    split, forward_at, sequence = window(strand, at)
    if split is None:
      notes["starts_whose_window_crosses_a_split_boundary_or_the_genome_end"] += 1
      continue
    if sequence is None:
      notes["starts_whose_window_holds_N"] += 1
      continue
    rows[split].append((f"{record}:{forward_at}:{strand}:start:{name}", sequence, "start"))
    internal = []
    for codon_at in range(at + 3 * MIN_INTERNAL_CODONS, at + (end - start) - 2, 3):
      if strand_genome[codon_at : codon_at + 3] in START_CODONS and (strand, codon_at) not in starts:
        internal_split, internal_forward_at, internal_sequence = window(strand, codon_at)
        if internal_split == split and internal_sequence is not None:
          internal.append((internal_forward_at, internal_sequence))
    if not internal:
      notes["starts_without_an_internal_codon_in_their_region"] += 1
      continue
    forward_at, sequence = internal[rng.integers(len(internal))]
    rows[split].append((f"{record}:{forward_at}:{strand}:internal:{name}", sequence, "internal"))
  for split in SPLITS:
    rows[split].sort(key=lambda row: row[0])
  return folds, dict(sorted(notes.items()))


def _start_rows(cache_dir) -> tuple[Folds, dict]:
  table = uci.read_rda(CDS_SOURCE.path(cache_dir))["ec999"]
  cds = {str(name): "".join(bases) for name, bases in table.items()}
  (genome,) = genomes.open_genome(GENOME, cache_dir)
  try:
    (record,) = genome.names
    sequence = genome.fetch_chars(record)
  finally:
    genome.close()
  return start_folds(sequence, record, cds)


TASKS = (
  Task(
    name="ecoli-coding",
    summary="E. coli gene starts (seqinr ec999 CDS in K-12 MG1655): the annotated start codon or an internal one, 200 nt.",
    source=f"Debian {CDS_SOURCE.package}, {CDS_SOURCE.member} (R data ec999) located in the genome {GENOME}",
    licence="GPL-2+ (the r-cran-seqinr package); the sequences from GenBank via seqinr",
    labels=(
      "start: the annotated start codon of a CDS found exactly once in the genome; internal: an in-frame ATG, GTG "
      "or TTG of the same CDS at least 30 codons after its start (one per start, fixed seed); 100 nt upstream of "
      "the codon and 100 from it, on the gene's strand"
    ),
    split=(
      "by position, the language model's rule (90 / 5 / 5 % of the genome): a window lies wholly inside the train, "
      "validation or test region, or is dropped, and a gene's internal codon is drawn from its start's region; one fold"
    ),
    genome="bacteria",
    rows=_start_rows,
  ),
)
