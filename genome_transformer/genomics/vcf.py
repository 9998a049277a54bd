# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Variant tables in and out: VCF (plain, bgzip or stdin) or a TSV of chrom, pos, ref, alt; VCF written back.

Read: a TSV (chrom pos ref alt, pos 1-based, extra columns ignored, '#' lines comments), or a VCF,
recognised by its `##fileformat=VCF` line or its `#CHROM POS ID REF ALT` header. Each ALT allele of a
record is one variant. Alleles that name no sequence (symbolic `<DEL>`, `*`, `.`, breakends, letters
outside the alphabet) are kept with the reason they cannot be scored, so a caller can skip them and
count them rather than stop at the first.

Written: the input's own header and records, byte for byte apart from the INFO column, which gains
(or has replaced) one key per score, with `Number=A` (one value per ALT allele, '.' for an allele
not scored) and its `##INFO` line before `#CHROM`. VCFs without QUAL, FILTER or INFO columns get
them ('.').

Parsing is by hand rather than through htslib (pysam, cyvcf2): htslib refuses the minimal VCFs and
the TSVs this reads, writes only records whose contig its header declares, prints its own warnings
to stderr, and its errors name no line; every error here names the file, line and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import dataclasses
import re

from genome_transformer.genomics import textio, tokenizer

_VCF_COLUMNS = ["chrom", "pos", "id", "ref", "alt"]
_INFO = 7  # 0-based column of INFO in a VCF record
_LEGAL = frozenset(chr(c) for c in tokenizer.LEGAL_SEQUENCE_BYTES)

# Why an allele is not scored, in the order the warning lists them.
SYMBOLIC = "symbolic (<...>)"
SPANNING = "'*' (spanning deletion)"
MISSING = "'.' (no allele)"
BREAKEND = "breakend"
NOT_BASES = "not bases"
OTHER_RECORD = "chromosome not in the FASTA"
OUTSIDE = "outside its record"
REF_MISMATCH = "REF differs from the reference"
REASONS = (SYMBOLIC, SPANNING, MISSING, BREAKEND, NOT_BASES, OTHER_RECORD, OUTSIDE, REF_MISMATCH)


@dataclasses.dataclass
class VariantRecord:
  """One line of the table, with one or more ALT alleles."""

  line: int  # 1-based line number in the input
  chrom: str
  pos: int  # 1-based
  vid: str  # the VCF ID, '.' for none (TSV)
  ref: str
  alts: list[str]
  skip: list[str | None]  # per ALT: why it is not scored (a REASONS entry), None if it may be
  fields: list[str] | None = None  # the VCF columns, to write the record back

  def label(self, path: str) -> str:
    where = f"{textio.display_name(path)} line {self.line}"
    return where if self.vid in ("", ".") else f"{where} ({self.vid})"


@dataclasses.dataclass
class VariantTable:
  path: str
  is_vcf: bool
  header: list[str]  # VCF: the '##' lines, then the '#CHROM' line; TSV: empty
  records: list[VariantRecord]

  @property
  def num_alleles(self) -> int:
    return sum(len(r.alts) for r in self.records)


def allele_problem(allele: str, *, vcf: bool) -> str | None:
  """Why `allele` names no sequence that can be scored, or None. A TSV may write an empty allele as '-'."""
  text = allele.strip()
  if text.startswith("<"):
    return SYMBOLIC
  if text == "*":
    return SPANNING
  if text == ".":
    return MISSING
  if "[" in text or "]" in text:
    return BREAKEND
  if not vcf and text in ("", "-"):
    return None
  if not text or not set(text) <= _LEGAL:
    return NOT_BASES
  return None


def read_variants(path: str) -> VariantTable:
  """The variants of a TSV or VCF at `path` ('-': stdin; plain, gzip or bgzip); errors name file, line and field."""
  display = textio.display_name(path)
  columns = (0, 1, None, 2, 3)  # chrom, pos, id, ref, alt
  is_vcf, header, records = False, [], []
  for number, line in textio.read_lines(path, "variants"):
    if line.startswith("##"):
      is_vcf = is_vcf or line.startswith("##fileformat=VCF")
      header.append(line)
      continue
    if not line.strip():
      continue
    fields = line.split("\t")
    if line.startswith("#"):
      names = [x.strip().lstrip("#").lower() for x in fields]
      if names[:5] == _VCF_COLUMNS:
        columns, is_vcf = (0, 1, 2, 3, 4), True
        header.append(line)
      continue
    if is_vcf and columns[2] is None:
      raise textio.InputFileError(
        f"{display} line {number}: a VCF record before the '#CHROM POS ID REF ALT ...' header line; add that line."
      )
    needed = max(c for c in columns if c is not None) + 1
    if len(fields) < needed:
      raise textio.InputFileError(
        f"{display} line {number}: {len(fields)} tab-separated column(s); expected at least {needed} "
        f"({'CHROM POS ID REF ALT' if is_vcf else 'chrom pos ref alt'}). Columns are separated by tabs."
      )
    chrom, pos_text = fields[columns[0]].strip(), fields[columns[1]].strip()
    try:
      pos = int(pos_text)
    except ValueError:
      raise textio.InputFileError(
        f"{display} line {number}: POS {pos_text!r} is not an integer (a 1-based position)."
      ) from None
    vid = (fields[columns[2]].strip() or ".") if columns[2] is not None else "."
    ref = fields[columns[3]].strip()
    alts = fields[columns[4]].strip().split(",")
    ref_problem = allele_problem(ref, vcf=is_vcf)
    skip = [ref_problem or allele_problem(alt, vcf=is_vcf) for alt in alts]
    records.append(VariantRecord(number, chrom, pos, vid, ref, alts, skip, fields if is_vcf else None))
  if not records:
    raise textio.InputFileError(f"{display}: no variants (only comments, header or blank lines).")
  return VariantTable(path, is_vcf, header, records)


@dataclasses.dataclass(frozen=True)
class InfoField:
  key: str
  description: str


def _format_value(value: float) -> str:
  return "." if value != value else f"{value:.6f}"  # NaN: an allele not scored


def _escape(text: str) -> str:
  return text.replace("\\", "\\\\").replace('"', '\\"')


def write_vcf(
  out,
  table: VariantTable,
  fields: Sequence[InfoField],
  values: Sequence[Sequence[Sequence[float]]],
  contig_lengths: Mapping[str, int] | None = None,
):
  """Writes `table` back with `values[f][r][a]` (NaN: not scored) as INFO key `fields[f].key` of record r, allele a.

  Contigs of the records that the header does not declare get a `##contig` line from `contig_lengths`
  (the reference's records): htslib tools (bcftools, tabix) want every contig declared.
  """
  keys = {f.key for f in fields}
  *meta, columns = table.header
  own_line = re.compile(r"^##INFO=<ID=([^,>]+)")
  declared = {m.group(1) for line in meta if (m := re.match(r"^##contig=<ID=([^,>]+)", line))}
  for line in meta:
    match = own_line.match(line)
    if not (match and match.group(1) in keys):  # an earlier run's definition is replaced, not repeated
      out.write(line + "\n")
  for chrom in dict.fromkeys(r.chrom for r in table.records):
    if chrom not in declared and contig_lengths and chrom in contig_lengths:
      out.write(f"##contig=<ID={chrom},length={contig_lengths[chrom]}>\n")
  for f in fields:
    out.write(f'##INFO=<ID={f.key},Number=A,Type=Float,Description="{_escape(f.description)}">\n')
  names = columns.split("\t")
  if len(names) <= _INFO:
    names += ["QUAL", "FILTER", "INFO"][len(names) - 5 :]
  out.write("\t".join(names) + "\n")
  for r, record in enumerate(table.records):
    row = list(record.fields) + ["."] * max(0, _INFO + 1 - len(record.fields))
    info = [item for item in row[_INFO].split(";") if item and item != "." and item.split("=", 1)[0] not in keys]
    for f, field in enumerate(fields):
      allele_values = values[f][r]
      if any(v == v for v in allele_values):  # no key at all when no allele of the record was scored
        info.append(f"{field.key}={','.join(_format_value(v) for v in allele_values)}")
    row[_INFO] = ";".join(info) or "."
    out.write("\t".join(row) + "\n")
