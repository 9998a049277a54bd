# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""One record's sequence out of a GenBank flat file, written as FASTA.

Some sequences reachable offline come only as GenBank flat files (the EMBOSS test data in Debian).
Only what turns a record into FASTA is read: the LOCUS line (name and length), the ACCESSION and
VERSION lines (to find the record) and the ORIGIN section up to `//`, whose lines are a 1-based
position followed by blocks of bases. Features and annotations are skipped. The record's bases
are checked against its LOCUS length and each ORIGIN line's position, so a truncated or spliced
file is an error naming the file and line, never a shorter sequence. The letters themselves are
left to the FASTA validation every fetched genome goes through (fasta.write_indexed).
"""

from __future__ import annotations

import dataclasses
import os
import re

from genome_transformer.genomics import textio, tokenizer

FASTA_LINE_BASES = 60
_LOCUS_RE = re.compile(r'^LOCUS\s+(\S+)\s+(\d+)\s+(?:bp|aa)\b')
_ORIGIN_LINE_RE = re.compile(r'^\s*(\d+)((?:\s+[A-Za-z]+)*)\s*$')


class GenBankFormatError(tokenizer.GenomeInputError):
  """A GenBank file that does not hold the asked-for record in a readable form."""


@dataclasses.dataclass(frozen=True)
class GenBankRecord:
  """The fields of one record that a FASTA copy needs."""

  locus: str
  accessions: tuple[str, ...]  # primary first, as on the ACCESSION line
  version: str | None
  definition: str
  sequence: str

  def names(self) -> set[str]:
    """What a caller may ask for the record by: LOCUS name, any accession, the versioned accession."""
    return {self.locus, *self.accessions, *([self.version] if self.version else [])}


def read_record(path: str, name: str) -> GenBankRecord:
  """The record of `path` whose LOCUS name, accession or versioned accession is `name`.

  Raises GenBankFormatError naming the file and line for a malformed record, and listing the
  records there are when none is called `name`.
  """
  display = textio.display_name(path)
  seen: list[str] = []
  record: dict | None = None  # the record being read
  for line_no, line in textio.read_lines(path, 'GenBank file'):
    if record is None:
      match = _LOCUS_RE.match(line)
      if match:
        record = {
          'line': line_no,
          'locus': match.group(1),
          'length': int(match.group(2)),
          'accessions': (),
          'version': None,
          'definition': '',
          'in_origin': False,
          'wanted': False,
          'parts': [],
          'bases': 0,
        }
      elif line.strip() and not seen:
        raise GenBankFormatError(
          f'{display}:{line_no}: expected a LOCUS line to start a GenBank record, got {line[:60]!r}'
        )
      continue
    if line.startswith('//'):
      if record['wanted']:
        return _finish(record, display, line_no)
      seen.append(record['locus'])
      record = None
      continue
    if record['in_origin']:
      if record['wanted']:
        _read_origin_line(record, line, display, line_no)
      continue
    keyword = line[:12].strip()
    if keyword == 'ACCESSION':
      record['accessions'] = tuple(line[12:].split())
    elif keyword == 'VERSION':
      fields = line[12:].split()
      record['version'] = fields[0] if fields else None
    elif keyword == 'DEFINITION':
      record['definition'] = line[12:].strip()
    elif keyword == 'ORIGIN':
      record['in_origin'] = True
      names = {record['locus'], *record['accessions'], *([record['version']] if record['version'] else [])}
      record['wanted'] = name in names
  if record is not None:
    raise GenBankFormatError(
      f"{display}: the record {record['locus']} (LOCUS at line {record['line']}) has no closing '//': "
      'the file is truncated; fetch it again.'
    )
  raise GenBankFormatError(
    f'{display}: no record named {name!r} (LOCUS, ACCESSION or VERSION); its records: {", ".join(seen) or "none"}.'
  )


def _read_origin_line(record: dict, line: str, display: str, line_no: int) -> None:
  if not line.strip():
    return
  match = _ORIGIN_LINE_RE.match(line)
  if not match:
    raise GenBankFormatError(
      f'{display}:{line_no}: not an ORIGIN sequence line (a position, then blocks of bases): {line[:60]!r}'
    )
  position = int(match.group(1))
  if position != record['bases'] + 1:
    raise GenBankFormatError(
      f"{display}:{line_no}: the ORIGIN line starts at base {position}, but {record['bases']} bases came before "
      'it: lines are missing or repeated.'
    )
  bases = ''.join(match.group(2).split())
  record['parts'].append(bases)
  record['bases'] += len(bases)


def _finish(record: dict, display: str, line_no: int) -> GenBankRecord:
  if not record['in_origin']:
    raise GenBankFormatError(f"{display}:{line_no}: the record {record['locus']} has no ORIGIN section.")
  if record['bases'] != record['length']:
    raise GenBankFormatError(
      f"{display}:{line_no}: the record {record['locus']} holds {record['bases']} bases, its LOCUS line "
      f"(line {record['line']}) says {record['length']}: the file is damaged; fetch it again."
    )
  return GenBankRecord(
    locus=record['locus'],
    accessions=record['accessions'],
    version=record['version'],
    definition=record['definition'],
    sequence=''.join(record['parts']),
  )


def write_fasta(path: str, name: str, out_path: str) -> GenBankRecord:
  """Writes the record `name` of the GenBank file `path` as one FASTA record at `out_path`.

  The FASTA header is the versioned accession (else the primary accession, else the LOCUS name)
  and the definition; the bases keep their case, 60 to a line. The file appears only complete.
  """
  record = read_record(path, name)
  header = record.version or (record.accessions[0] if record.accessions else record.locus)
  with textio.atomic_output(os.fspath(out_path)) as out:
    out.write(f'>{header} {record.definition}'.rstrip() + '\n')
    for start in range(0, len(record.sequence), FASTA_LINE_BASES):
      out.write(record.sequence[start : start + FASTA_LINE_BASES] + '\n')
  return record
