# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""E. coli gene starts on the pretraining genome: seqinr's ec999 CDS located in the embedded MG1655 chromosome.

ec999 is 999 E. coli coding sequences (start codon to stop codon) with no coordinates; the ones `locate` finds in
`builtin:ecoli` (either strand) get a position there, and their bases are read from the genome. The task is to tell a gene's annotated start codon
from an in-frame ATG / GTG / TTG further inside the same gene: both labels are sure, unlike "coding or not"
(E. coli is mostly coding and ec999 names only a fifth of its genes, so a window outside ec999 may well be coding).
A codon's window is the strand's bases [c - flank, c + flank), c the codon's first base, read on the gene's
strand, so the codon sits at positions flank..flank+2 of the window. A window lies wholly inside one split region
of the language model's split rule or is dropped, as in chrx-splice (docs/tasks.md).
"""

from __future__ import annotations

import collections
import dataclasses

import numpy as np

from genome_transformer.data.tasks import uci
from genome_transformer.data.tasks.base import (
  SPLITS,
  DebianMember,
  Folds,
  Row,
  Task,
  TaskError,
  region_of,
  reverse_complement,
)
from genome_transformer.genomics import genomes

CDS_SOURCE = DebianMember(
  "r-cran-seqinr=4.2-23-1",
  "usr/lib/R/site-library/seqinr/data/ec999.RData",
  "bcdf7cea17f45c725031cde5609d9b3497de0fd90a5791aefe4dfe043dd95e8f",
)
GENOME = "builtin:ecoli"
SEED = 0
START_CODONS = ("ATG", "GTG", "TTG")
STOP_CODONS = ("TAA", "TAG", "TGA")
# Internal codons closer than this to the annotated start are left out: alternative starts of one gene, where a
# gene has them, lie in its first codons, and an internal codon counts as surely no start only beyond them.
MIN_INTERNAL_OFFSET = 90
_PREFIX = 31  # Bases of each CDS matched by code (2 bits a base, one uint64) before the whole CDS is compared.
_NOT_ACGT = np.uint64(1 << 63)  # The code of a prefix that holds a base other than A, C, G, T: matches no CDS.
_BASE_CODES = np.full(256, 4, np.uint8)
_BASE_CODES[np.frombuffer(b"ACGT", np.uint8)] = np.arange(4)


@dataclasses.dataclass(frozen=True)
class Gene:
  """A CDS found in the genome (`locate`): on `strand`, its start codon's first base at `start` of that strand's
  sequence (the forward one for +, its reverse complement for -), `length` bases to the end of its stop codon."""

  name: str
  strand: str
  start: int
  length: int


def cds_sequences(table: dict) -> tuple[dict[str, str], dict]:
  """ec999's R list (name -> vector of one-letter strings) as upper-case strings; other letters skip the CDS."""
  sequences, skipped = {}, 0
  for name, letters in table.items():
    sequence = "".join(np.asarray(letters, str).tolist()).upper()
    if sequence and set(sequence) <= set("ACGT"):
      sequences[str(name)] = sequence
    else:
      skipped += 1
  return sequences, {"cds_with_letters_other_than_acgt": skipped}


def _prefix_codes(sequence: str) -> np.ndarray:
  """The uint64 code of the _PREFIX bases from each position of `sequence` (upper case)."""
  codes_L = _BASE_CODES[np.frombuffer(sequence.encode("ascii"), np.uint8)]
  count = len(codes_L) - _PREFIX + 1
  if count <= 0:
    return np.zeros(0, np.uint64)
  out = np.zeros(count, np.uint64)
  for offset in range(_PREFIX):
    out = (out << np.uint64(2)) | (codes_L[offset : offset + count] & 3).astype(np.uint64)
  not_acgt = np.concatenate([[0], np.cumsum(codes_L == 4)])
  out[not_acgt[_PREFIX : _PREFIX + count] > not_acgt[:count]] = _NOT_ACGT
  return out


def locate(cds: dict[str, str], genome: str) -> tuple[list[Gene], dict]:
  """The CDS found in `genome` (upper case, either strand), in name order; the others counted.

  A CDS is found when it occurs exactly once, or, occurring nowhere exactly, when its first and its last _PREFIX
  bases each occur exactly once, on one strand, as far apart as in the CDS: the same gene with base substitutions
  (ec999's entries come from several GenBank submissions, not all from MG1655). Its start codon is then still
  where the CDS's first bases are, and its frame is the CDS's.
  """
  texts = {"+": genome, "-": reverse_complement(genome)}
  notes = collections.Counter(cds_shorter_than_the_prefix=sum(len(seq) < _PREFIX for seq in cds.values()))
  cds = {name: seq for name, seq in cds.items() if len(seq) >= _PREFIX}
  ends = {name: tuple(int(_prefix_codes(s)[0]) for s in (seq[:_PREFIX], seq[-_PREFIX:])) for name, seq in cds.items()}
  wanted = np.array(sorted({code for pair in ends.values() for code in pair}), np.uint64)
  where: dict[int, list[tuple[str, int]]] = collections.defaultdict(list)
  for strand, text in texts.items():
    codes = _prefix_codes(text)
    for position in np.flatnonzero(np.isin(codes, wanted)):
      where[int(codes[position])].append((strand, int(position)))
  genes: list[Gene] = []
  for name in sorted(cds):
    sequence, (first, last) = cds[name], ends[name]
    exact = [(strand, p) for strand, p in where[first] if texts[strand].startswith(sequence, p)]
    if len(exact) == 1:
      genes.append(Gene(name, *exact[0], len(sequence)))
      notes["cds_found_exactly"] += 1
    elif exact:
      notes["cds_found_more_than_once"] += 1
    elif (
      len(where[first]) == 1
      and len(where[last]) == 1
      and where[first][0][0] == where[last][0][0]
      and where[last][0][1] - where[first][0][1] == len(sequence) - _PREFIX
    ):
      genes.append(Gene(name, *where[first][0], len(sequence)))
      notes["cds_found_with_substitutions"] += 1
    else:
      notes["cds_not_found"] += 1
  return genes, dict(notes)


def start_folds(genome: str, record: str, cds: dict[str, str], flank: int, seed: int = SEED) -> tuple[Folds, dict]:
  """Each found gene's start codon (label start) and as many in-frame internal start-like codons (label internal)
  of each codon per split, drawn with a fixed seed, as (id, window, label) rows sorted by position; ids are
  record:position:strand:gene:codonK, position the forward-strand 0-based first base of the codon."""
  if flank < 2:
    raise TaskError(f"ecoli-coding: flank must be >= 2 (the window holds the codon), got {flank}.")
  genome = genome.upper()
  genes, found_notes = locate(cds, genome)
  dropped = ("starts_whose_window_crosses_a_split_boundary_or_the_record_end", "starts_whose_window_holds_N")
  notes = collections.Counter({**found_notes, **dict.fromkeys(dropped, 0)})
  length = len(genome)
  strands = {"+": genome, "-": reverse_complement(genome)}
  bounds = genomes.split_bounds(length)
  annotated = {(gene.strand, gene.start) for gene in genes}

  def placed(gene: Gene, codon: int) -> tuple[str | None, str, int]:
    """(split or None, window, forward position of the codon's first base) of the codon at `codon` of `gene`."""
    centre = gene.start + codon
    lo, hi = centre - flank, centre + flank
    span, position = ((lo, hi), centre) if gene.strand == "+" else ((length - hi, length - lo), length - 1 - centre)
    return region_of(*span, bounds), strands[gene.strand][max(lo, 0) : hi], position

  # Keyed by (split, codon): internal codons are drawn codon by codon, as many ATG as there are ATG starts and so
  # on, so that the centre codon alone (most starts are ATG, most in-frame start-like codons are not) tells nothing.
  kept: dict[tuple[str, str], list[tuple[int, Row]]] = collections.defaultdict(list)
  pool: dict[tuple[str, str], list[tuple[int, Row]]] = collections.defaultdict(list)
  for gene in genes:
    sequence = strands[gene.strand][gene.start : gene.start + gene.length]
    codons = [sequence[i : i + 3] for i in range(0, gene.length, 3)]
    if gene.length % 3 or codons[0] not in START_CODONS or codons[-1] not in STOP_CODONS:
      notes["cds_skipped_no_start_or_stop_codon_or_frame"] += 1
      continue
    if any(codon in STOP_CODONS for codon in codons[:-1]):
      notes["cds_skipped_stop_codon_inside"] += 1
      continue
    split, window, position = placed(gene, 0)
    if split is None:
      notes["starts_whose_window_crosses_a_split_boundary_or_the_record_end"] += 1
    elif not set(window) <= set("ACGT"):
      notes["starts_whose_window_holds_N"] += 1
    else:
      row = (f"{record}:{position}:{gene.strand}:{gene.name}:codon1", window, "start")
      kept[(split, codons[0])].append((position, row))
    for offset in range(MIN_INTERNAL_OFFSET, gene.length - 3, 3):
      codon = codons[offset // 3]
      if codon not in START_CODONS or (gene.strand, gene.start + offset) in annotated:
        continue
      split, window, position = placed(gene, offset)
      if split is not None and set(window) <= set("ACGT"):
        row = (f"{record}:{position}:{gene.strand}:{gene.name}:codon{offset // 3 + 1}", window, "internal")
        pool[(split, codon)].append((position, row))
  rng = np.random.default_rng(seed)
  folds: Folds = {"fold0": {}}
  for split in SPLITS:
    rows: list[tuple[int, Row]] = []
    for codon in START_CODONS:
      starts, candidates = kept[(split, codon)], sorted(pool[(split, codon)])
      drawn = [candidates[i] for i in rng.permutation(len(candidates))[: len(starts)]]
      notes[f"internal_{codon}_to_draw_from_in_{split}"] = len(candidates)
      if len(drawn) < len(starts):
        notes[f"internal_{codon}_short_in_{split}"] = len(starts) - len(drawn)
      rows += starts + drawn
    folds["fold0"][split] = [row for _, row in sorted(rows)]
  return folds, dict(sorted(notes.items()))


def _start_rows(cache_dir, flank: int) -> tuple[Folds, dict]:
  path = CDS_SOURCE.path(cache_dir)
  objects = uci.read_rda(path)
  if "ec999" not in objects:
    raise TaskError(
      f"{path} holds no R object 'ec999' (it holds {', '.join(map(str, objects)) or 'none'}): not seqinr's "
      "data file; delete it so that the next build obtains it again."
    )
  cds, notes = cds_sequences(objects["ec999"])
  (genome,) = genomes.open_genome(GENOME, cache_dir)
  try:
    (record,) = genome.names
    sequence = genome.fetch_chars(record)
  finally:
    genome.close()
  folds, fold_notes = start_folds(sequence, record, cds, int(flank))
  return folds, {"cds_in_ec999": len(cds), **notes, **fold_notes}


TASKS = (
  Task(
    name="ecoli-coding",
    summary="E. coli gene starts on the pretraining MG1655 genome: a CDS's start codon or an in-frame one inside it.",
    source=f"Debian {CDS_SOURCE.package}, {CDS_SOURCE.member} (R data ec999: 999 CDS) located in the genome {GENOME}",
    licence="GPL-2+ (the r-cran-seqinr package); the genome BSD-3-clause (ragout-examples), public NCBI data",
    labels=(
      "start: the annotated start codon of an ec999 CDS found in MG1655 (once); internal: an in-frame ATG, GTG "
      f"or TTG at least {MIN_INTERNAL_OFFSET} nt into such a CDS, as many of each codon as there are starts with it "
      "in each split; "
      "2 x flank nt around the codon on the gene's strand, the codon at positions flank..flank+2"
    ),
    split=(
      "by position, the language model's rule (90 / 5 / 5 % of the record): a window lies wholly inside the train, "
      "validation or test region, or is dropped; one fold"
    ),
    genome="bacteria",
    rows=_start_rows,
    options={"flank": 100},
  ),
)
