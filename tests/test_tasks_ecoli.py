# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""ecoli-coding: CDS are found where they are planted, windows are the genome's bases around the codon on the gene's
strand, internal codons are matched codon by codon, and no window leaves its split region."""

import collections
import os

import numpy as np
import pytest
import rdata

from genome_transformer.data import labelled, tasks
from genome_transformer.data.tasks import base, ecoli_coding, uci

FLANK = 20
LENGTH = 40_000  # Validation is [36000, 38000), test [38000, 40000).
SENSE = ("ATG", "GTG", "TTG", "TAA", "TAG", "TGA")
BODY_CODONS = [a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in SENSE]
_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


def _other_strand(sequence):
  """Written out here, apart from base.reverse_complement."""
  return "".join(_COMPLEMENT[b] for b in reversed(sequence))


def _cds(rng, start, codons=100, internal=()):
  """A CDS: `start`, random codons that are no start-like or stop codon, `internal` {codon index: codon}, TAA."""
  body = [BODY_CODONS[i] for i in rng.integers(0, len(BODY_CODONS), codons - 2)]
  for index, codon in internal:
    body[index - 1] = codon
  return start + "".join(body) + "TAA"


def _plant(genome, position, cds, strand):
  """The genome with `cds` written on `strand`, its start codon's first base at forward `position`."""
  if strand == "+":
    return genome[:position] + cds + genome[position + len(cds) :]
  lo = position + 1 - len(cds)
  return genome[:lo] + _other_strand(cds) + genome[position + 1 :]


def _genome_and_cds():
  rng = np.random.default_rng(0)
  genome = "".join(rng.choice(list("ACGT"), LENGTH))
  internal = ((35, "ATG"), (40, "GTG"), (45, "TTG"), (50, "ATG"), (60, "GTG"), (70, "ATG"))
  planted = {  # name -> (forward position of the start codon's first base, strand, start codon)
    "train_plus": (1_000, "+", "ATG"),
    "train_minus": (5_999, "-", "GTG"),
    "train_ttg": (9_000, "+", "TTG"),
    "edge_train": (35_979, "-", "ATG"),  # Its start window is [35960, 36000): the last bases of train.
    "edge_validation": (36_020, "+", "ATG"),  # [36000, 36040): the first bases of validation.
    "crossing": (37_980, "-", "ATG"),  # [37961, 38001): one base into test; dropped.
    "validation_plus": (36_500, "+", "ATG"),
    "test_minus": (39_499, "-", "ATG"),
    "test_plus": (38_300, "+", "GTG"),
  }
  cds = {}
  for name, (position, strand, start) in planted.items():
    cds[name] = _cds(rng, start, internal=internal)
    genome = _plant(genome, position, cds[name], strand)
  substituted = _cds(rng, "ATG", internal=internal)
  genome = _plant(genome, 20_000, substituted, "+")
  cds["substituted"] = substituted[:150] + ("A" if substituted[150] != "A" else "C") + substituted[151:]
  planted["substituted"] = (20_000, "+", "ATG")
  twice = _cds(rng, "ATG")
  genome = _plant(_plant(genome, 25_000, twice, "+"), 30_000, twice, "+")
  cds["twice"] = twice
  cds["absent"] = _cds(rng, "ATG")
  with_indel = _cds(rng, "ATG")
  genome = _plant(genome, 15_000, with_indel, "+")
  cds["indel"] = with_indel[:150] + with_indel[151:]  # One base shorter than in the genome: not the same frame.
  assert len(genome) == LENGTH
  return genome, cds, planted


def test_locate_finds_exact_and_substituted_cds_on_either_strand():
  genome, cds, planted = _genome_and_cds()
  genes, notes = ecoli_coding.locate(cds, genome)
  found = {g.name: g for g in genes}
  assert sorted(found) == sorted(planted)
  for name, (position, strand, _) in planted.items():
    gene = found[name]
    assert gene.strand == strand and gene.length == len(cds[name])
    assert gene.start == (position if strand == "+" else LENGTH - 1 - position)
  assert notes == {
    "cds_shorter_than_the_prefix": 0,
    "cds_found_exactly": 9,
    "cds_found_with_substitutions": 1,
    "cds_found_more_than_once": 1,
    "cds_not_found": 2,  # absent, indel
  }


def test_windows_are_the_genome_around_the_codon_on_the_genes_strand_and_stay_in_their_region():
  genome, cds, planted = _genome_and_cds()
  folds, notes = ecoli_coding.start_folds(genome, "chr", cds, FLANK)
  assert list(folds) == ["fold0"]
  regions = {"train": (0, 36_000), "validation": (36_000, 38_000), "test": (38_000, 40_000)}  # 90 / 5 / 5 %.
  starts = collections.defaultdict(set)
  for split, rows in folds["fold0"].items():
    for row_id, window, label in rows:
      record, position, strand, name, codon = row_id.split(":")
      position, codon_index = int(position), int(codon.removeprefix("codon"))
      lo = position - FLANK if strand == "+" else position + 1 - FLANK
      expected = genome[lo : lo + 2 * FLANK]
      assert window == (expected if strand == "+" else _other_strand(expected))
      assert regions[split][0] <= lo and lo + 2 * FLANK <= regions[split][1]  # No leakage across splits.
      assert window[FLANK : FLANK + 3] in ecoli_coding.START_CODONS
      gene_start, gene_strand, start_codon = planted[name]
      assert strand == gene_strand
      offset = (position - gene_start) if strand == "+" else (gene_start - position)
      assert offset == 3 * (codon_index - 1)  # In frame.
      if label == "start":
        assert codon_index == 1 and window[FLANK : FLANK + 3] == start_codon
        starts[split].add(name)
      else:
        assert label == "internal" and offset >= ecoli_coding.MIN_INTERNAL_OFFSET
  assert starts == {
    "train": {"train_plus", "train_minus", "train_ttg", "substituted", "edge_train"},
    "validation": {"validation_plus", "edge_validation"},
    "test": {"test_minus", "test_plus"},
  }
  assert notes["starts_whose_window_crosses_a_split_boundary_or_the_record_end"] == 1  # crossing
  for split, rows in folds["fold0"].items():
    codons = collections.Counter((label, window[FLANK : FLANK + 3]) for _, window, label in rows)
    for codon in ecoli_coding.START_CODONS:
      assert codons[("start", codon)] == codons[("internal", codon)]  # Matched codon by codon.
  assert ecoli_coding.start_folds(genome, "chr", cds, FLANK) == (folds, notes)  # Fixed seed.
  with pytest.raises(base.TaskError, match="flank must be >= 2"):
    ecoli_coding.start_folds(genome, "chr", cds, 1)


def test_cds_from_an_r_data_file_as_seqinr_writes_it(tmp_path):
  path = str(tmp_path / "ec999.RData")
  letters = {"ECA.A": np.array(list("atgaaataa")), "ECB.B": np.array(list("gtgnnntga"))}
  rdata.write_rda(path, {"ec999": letters})
  sequences, notes = ecoli_coding.cds_sequences(uci.read_rda(path)["ec999"])
  assert sequences == {"ECA.A": "ATGAAATAA"} and notes == {"cds_with_letters_other_than_acgt": 1}


class _FileSource:
  def __init__(self, path):
    self.package, self.member, self.file = "r-cran-seqinr=test", "ec999.RData", path

  def path(self, cache_dir):
    return self.file


def _fake_sources(tmp_path, monkeypatch, objects):
  genome, cds, _ = _genome_and_cds()
  fasta_path = tmp_path / "genome.fa"
  fasta_path.write_text(">chr\n" + "\n".join(genome[i : i + 60] for i in range(0, LENGTH, 60)) + "\n")
  rda_path = str(tmp_path / "ec999.RData")
  rdata.write_rda(rda_path, {name: {k: np.array(list(v.lower())) for k, v in cds.items()} for name in objects})
  monkeypatch.setattr(ecoli_coding, "CDS_SOURCE", _FileSource(rda_path))
  monkeypatch.setattr(ecoli_coding, "GENOME", str(fasta_path))
  return rda_path


def test_build_writes_the_fine_tuners_tsvs_once(tmp_path, monkeypatch):
  rda_path = _fake_sources(tmp_path, monkeypatch, ["ec999"])
  cache = str(tmp_path / "cache")
  built = tasks.build("ecoli-coding", cache, flank=FLANK)
  assert built.directory == os.path.join(cache, "tasks", f"ecoli-coding-flank={FLANK}")
  assert [f.name for f in built.folds] == ["fold0"]
  test = labelled.read_labelled(built.folds[0].test)
  assert sorted(test.labels) == ["internal", "internal", "start", "start"]
  assert all(len(tokens) == 2 * FLANK for tokens in test.tokens)
  assert built.card["counts"]["fold0"]["train"] == {"internal": 5, "start": 5}
  assert built.card["genome"] == "bacteria" and built.card["notes"]["cds_in_ec999"] == len(_genome_and_cds()[1])
  os.remove(rda_path)  # A second build reads the cache, not the sources.
  assert tasks.build("ecoli-coding", cache, flank=FLANK).card == built.card


def test_a_data_file_without_ec999_is_refused_by_name(tmp_path, monkeypatch):
  _fake_sources(tmp_path, monkeypatch, ["other"])
  with pytest.raises(base.TaskError, match="no R object 'ec999' .*holds other"):
    tasks.build("ecoli-coding", str(tmp_path / "cache"))
  assert not os.path.exists(tmp_path / "cache" / "tasks" / "ecoli-coding-flank=100")
