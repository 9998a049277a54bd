# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""BED regions (plain, gzip/bgzip or stdin): chrom, start, end (0-based, end exclusive), optional name."""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses

from genome_transformer.genomics import textio


@dataclasses.dataclass(frozen=True)
class Region:
  chrom: str
  start: int  # 0-based
  end: int  # exclusive
  name: str  # the BED name column, else chrom:start+1-end (1-based, inclusive, as samtools writes regions)

  @property
  def length(self) -> int:
    return self.end - self.start


def read_bed(path: str, lengths: Mapping[str, int], fasta_name: str) -> list[Region]:
  """The regions of a BED file, in file order, each checked against the FASTA's records `lengths`."""
  display = textio.display_name(path)
  regions = []
  for number, line in textio.read_lines(path, "BED"):
    if not line.strip() or line.startswith(("#", "track", "browser")):
      continue
    fields = line.split("\t")
    where = f"{display} line {number}"
    if len(fields) < 3:
      raise textio.InputFileError(
        f"{where}: {len(fields)} tab-separated column(s); a BED line has at least chrom, start, end (tab-separated)."
      )
    chrom = fields[0].strip()
    try:
      start, end = int(fields[1]), int(fields[2])
    except ValueError:
      raise textio.InputFileError(
        f"{where}: start {fields[1]!r} and end {fields[2]!r} must be integers (0-based start, end exclusive)."
      ) from None
    if chrom not in lengths:
      shown = ", ".join(list(lengths)[:10]) + (" ..." if len(lengths) > 10 else "")
      raise textio.InputFileError(f"{where}: chromosome {chrom!r} is not a record of {fasta_name} (records: {shown}).")
    if not 0 <= start < end <= lengths[chrom]:
      raise textio.InputFileError(
        f"{where}: region {chrom}:{start}-{end} is empty or outside {chrom!r}, which has {lengths[chrom]:,} bases; "
        "BED starts are 0-based and ends exclusive, 0 <= start < end <= length."
      )
    name = fields[3].strip() if len(fields) > 3 and fields[3].strip() not in ("", ".") else f"{chrom}:{start + 1}-{end}"
    regions.append(Region(chrom, start, end, name))
  if not regions:
    raise textio.InputFileError(f"{display}: no regions (only comments, track lines or blank lines).")
  return regions
