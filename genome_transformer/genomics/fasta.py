# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""FASTA validation, indexing and random access through pyfaidx.

`open_fasta(path)` is the entry point: it validates the whole file once, makes sure a plain,
faidx-indexable copy with a fresh `.fai` exists, and returns an `IndexedFasta` that fetches
any region as uint8 tokens (see tokenizer.py for the policy).

What "indexable" means and what we do about it:

* A plain FASTA whose lines are regular (every sequence line of a record has the same length
  except the last; at most one blank line, after a record's last line) is read in place. Its
  index is never written beside the user's file: it goes to `<cache>/fai/<hash of the real
  path>/FILE.fai` (written to a temp name by pyfaidx and renamed into place). A fresh `FILE.fai`
  that agrees with the file (samtools faidx's) is read instead; files inside the cache keep
  theirs beside them. Windows (CRLF) line endings are regular and read as is.
* An index is rebuilt when it is older than the FASTA (the staleness rule of samtools and
  pyfaidx) and also when it is newer but disagrees with the file (names, lengths, offsets or
  line widths differ from what the validation pass measured: a half-written or foreign index).
* `-` is standard input (plain or gzip/bgzip), validated while it is copied to a private
  folder of the cache that is removed when the file is closed.
* gzip/bgzip input (detected by its magic bytes, whatever the name), irregular line layouts,
  and files whose directory is not writable are rewritten once, validated, as a plain FASTA
  with 60-base lines in the cache (`<cache>/fasta/<sha256 of the input, 16 hex>/NAME.fasta`),
  via a temp file and an atomic rename, and indexed there. The content hash in the path means
  an edited input never reuses a stale copy.
* The validation pass (about a minute per 3 Gb) is remembered in `<cache>/layouts/` per
  (path, size, mtime, inode) of a plain file that was last modified well before it was
  scanned, so reopening an unchanged genome does not read it again; cache copies keep their
  validation result next to them.

Validation errors (`FastaFormatError`, a `GenomeInputError`) name the file and, where there is
one, the 1-based line, the record and the 1-based position in the record. Checked: missing
file, directory, empty file, binary data, other compressions (bzip2/xz/zstd/zip), corrupt or
truncated gzip, sequence before the first header, header without a name, duplicate record
names, empty records, illegal characters, a file with no records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
import dataclasses
import gzip
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from typing import BinaryIO
import zlib

import numpy as np
import pyfaidx

from genome_transformer.genomics import files, tokenizer

NORMALIZED_LINE_BASES = 60  # Line width of the plain copies written to the cache.
_SNIFF_BYTES = 8192
_COMPRESSION_MAGIC = {
  b"BZh": "bzip2",
  b"\xfd7zXZ\x00": "xz",
  b"\x28\xb5\x2f\xfd": "zstd",
  b"PK\x03\x04": "zip",
}
_GZIP_MAGIC = b"\x1f\x8b"
_MTIME_SLACK_NS = 2_000_000_000  # See _remember_layout.
_UPPER_LEGAL = bytes(c for c in tokenizer.LEGAL_SEQUENCE_BYTES if not chr(c).islower())
_DEFINITE_BASES = b"ACGTUacgtu"  # Everything else that passes validation is N or IUPAC.


class FastaFormatError(tokenizer.GenomeInputError):
  """A FASTA file is missing, unreadable or malformed; the message says where and what to do."""


@dataclasses.dataclass(frozen=True)
class FastaRecord:
  """One record as the validation pass measured it (the .fai fields plus a few counts)."""

  name: str  # Key used by pyfaidx: the header up to the first whitespace.
  description: str  # The whole header line without '>'.
  length: int  # Bases.
  header_line: int  # 1-based line number of the header in the (decompressed) input.
  offset: int  # Byte offset of the first base (meaningful for plain files only).
  line_bases: int  # Bases per full line.
  line_bytes: int  # Bytes per full line, line ending included.
  num_lines: int  # Non-blank sequence lines.
  ambiguous: int  # N or IUPAC ambiguity codes.
  softmasked: int  # Lowercase bases.

  def fai_fields(self) -> tuple[str, int, int, int, int]:
    return (self.name, self.length, self.offset, self.line_bases, self.line_bytes)


@dataclasses.dataclass(frozen=True)
class FastaLayout:
  """The result of validating a whole file."""

  path: str
  records: tuple[FastaRecord, ...]
  regular: bool  # True if pyfaidx can index the file as it is.
  irregular_at: str  # Where the first irregularity is (for logs), "" if regular.


class _RecordState:
  """Mutable per-record accumulator of the scan."""

  __slots__ = (
    "name",
    "description",
    "header_line",
    "offset",
    "length",
    "line_bases",
    "line_bytes",
    "num_lines",
    "ambiguous",
    "softmasked",
    "last_seen",
    "blanks",
    "irregular_line",
  )

  def __init__(self, name: str, description: str, header_line: int, offset: int):
    self.name = name
    self.description = description
    self.header_line = header_line
    self.offset = offset
    self.length = 0
    self.line_bases = 0
    self.line_bytes = 0
    self.num_lines = 0
    self.ambiguous = 0
    self.softmasked = 0
    self.last_seen = False  # A short (or differently terminated) line was seen: must be last.
    self.blanks = 0
    self.irregular_line = 0

  def freeze(self) -> FastaRecord:
    return FastaRecord(
      self.name,
      self.description,
      self.length,
      self.header_line,
      self.offset,
      self.line_bases,
      self.line_bytes,
      self.num_lines,
      self.ambiguous,
      self.softmasked,
    )


def check_path(path: str) -> None:
  """Raises FastaFormatError unless `path` is an existing, readable, non-empty regular file."""
  if not os.path.exists(path):
    raise FastaFormatError(f"{path}: no such file. Check the path (given as {path!r}).")
  if os.path.isdir(path):
    raise FastaFormatError(f"{path}: is a directory, not a FASTA file. Name the FASTA file inside it instead.")
  if not os.access(path, os.R_OK):
    raise FastaFormatError(f"{path}: not readable (permission denied).")
  if os.path.getsize(path) == 0:
    raise FastaFormatError(
      f"{path}: empty file (0 bytes); a FASTA file starts with a '>' header line followed by sequence lines."
    )


def _sniff_compression(path: str) -> str | None:
  """'gzip', another compression's name, or None for (supposedly) plain text."""
  with open(path, "rb") as f:
    head = f.read(8)
  if head.startswith(_GZIP_MAGIC):
    return "gzip"
  for magic, name in _COMPRESSION_MAGIC.items():
    if head.startswith(magic):
      return name
  return None


def _check_text(block: bytes, display: str) -> None:
  """Rejects binary data early, before it produces a confusing per-line error."""
  if b"\x00" in block:
    raise FastaFormatError(
      f"{display}: binary data (NUL bytes in the first {len(block)} bytes); this is not a FASTA text file."
    )
  # Bytes >= 0x80 may be UTF-8 in a header, so only control characters count as binary.
  control = len(block.translate(None, bytes(range(32, 127)) + bytes(range(128, 256)) + b"\t\n\r"))
  if control > 0.1 * len(block):
    raise FastaFormatError(
      f"{display}: binary data ({control} of the first {len(block)} bytes "
      f"are control characters); this is not a FASTA text file."
    )


def _decode_header(raw: bytes, display: str, line_no: int) -> tuple[str, str]:
  try:
    description = raw[1:].decode("utf-8").rstrip("\r\n")
  except UnicodeDecodeError:
    raise FastaFormatError(f"{display}: line {line_no}: header is not UTF-8 text (binary data?).") from None
  if "\r" in description:
    raise FastaFormatError(
      f"{display}: line {line_no}: carriage return inside a line: old Mac "
      f"(CR-only) line endings are not supported; convert them to LF "
      f"(e.g. tr '\\r' '\\n')."
    )
  words = description.split()
  if not words:
    raise FastaFormatError(
      f"{display}: line {line_no}: header '>' has no record name; write a name right after '>' (e.g. '>chr1')."
    )
  return words[0], description


def _illegal_in_line(seq: bytes, state: _RecordState, display: str, line_no: int) -> None:
  bad = seq.translate(None, tokenizer.LEGAL_SEQUENCE_BYTES)
  index = seq.index(bad[:1])
  raise tokenizer.illegal_character_error(
    chr(bad[0]), source=display, record=state.name, position=state.length + index + 1, line=line_no
  )


class _LineWriter:
  """Writes a normalized FASTA (60-base lines, LF endings) while the scan streams the input."""

  def __init__(self, out: BinaryIO):
    self._out = out
    self._pending = bytearray()
    self.written = 0  # Bytes written so far.
    self.offsets: list[int] = []  # Byte offset of each record's first base in the output.

  def header(self, description: str) -> None:
    self.flush_record()
    line = b">" + description.encode("utf-8") + b"\n"
    self._out.write(line)
    self.written += len(line)
    self.offsets.append(self.written)

  def layout(self, scanned: FastaLayout, out_path: str) -> FastaLayout:
    """The layout of what was written, from the layout of what was read."""
    width = NORMALIZED_LINE_BASES
    records = tuple(
      dataclasses.replace(
        r,
        offset=offset,
        line_bases=min(width, r.length),
        line_bytes=min(width, r.length) + 1,
        num_lines=-(-r.length // width),
      )
      for r, offset in zip(scanned.records, self.offsets)
    )
    return FastaLayout(path=out_path, records=records, regular=True, irregular_at="")

  def sequence(self, seq: bytes) -> None:
    self._pending += seq
    if len(self._pending) >= 1 << 20:
      self._emit(final=False)

  def flush_record(self) -> None:
    self._emit(final=True)

  def _emit(self, final: bool) -> None:
    width = NORMALIZED_LINE_BASES
    full = len(self._pending) // width * width
    end = len(self._pending) if final else full
    if end == 0:
      return
    block = bytes(self._pending[:end])
    del self._pending[:end]
    text = b"\n".join(block[i : i + width] for i in range(0, len(block), width)) + b"\n"
    self._out.write(text)
    self.written += len(text)


def _scan_lines(lines: Iterable[bytes], display: str, writer: _LineWriter | None, path: str) -> FastaLayout:
  """Validates FASTA lines; optionally writes a normalized copy as it goes."""
  records: list[FastaRecord] = []
  seen: dict[str, int] = {}
  state: _RecordState | None = None
  position = 0
  line_no = 0
  irregular_at = ""

  def finish(state: _RecordState) -> None:
    nonlocal irregular_at
    if state.length == 0:
      raise FastaFormatError(
        f"{display}: line {state.header_line}: record {state.name!r} has "
        f"no sequence (a header followed by no sequence lines); remove the "
        f"header or add its sequence."
      )
    if state.irregular_line and not irregular_at:
      irregular_at = f"record {state.name!r}, line {state.irregular_line}"
    records.append(state.freeze())

  for raw in lines:
    line_no += 1
    if raw[:1] == b">":
      if state is not None:
        finish(state)
      name, description = _decode_header(raw, display, line_no)
      if name in seen:
        raise FastaFormatError(
          f"{display}: line {line_no}: duplicate record name {name!r} (first "
          f"defined on line {seen[name]}); record names (the header up to "
          f"the first space) must be unique."
        )
      seen[name] = line_no
      position += len(raw)
      state = _RecordState(name, description, line_no, position)
      if writer is not None:
        writer.header(description)
      continue
    position += len(raw)
    seq = raw.rstrip(b"\r\n")
    if state is None:
      # Before the first header, faidx tolerates blank lines and ';' comments; nothing else.
      if not raw.strip() or raw[:1] == b";":
        continue
      raise FastaFormatError(
        f"{display}: line {line_no}: sequence data before the first '>' "
        f"header; a FASTA file must start with a header line such as "
        f"'>chr1'."
      )
    num_bases = len(seq)
    if num_bases == 0:
      state.blanks += 1
      if state.blanks > 1 and not state.irregular_line:
        state.irregular_line = line_no
      continue
    if seq.translate(None, tokenizer.LEGAL_SEQUENCE_BYTES):
      _illegal_in_line(seq, state, display, line_no)
    if state.num_lines == 0:
      state.line_bases, state.line_bytes = num_bases, len(raw)
      if state.blanks and not state.irregular_line:
        state.irregular_line = line_no  # Blank line between header and sequence.
    elif state.last_seen or state.blanks:
      # A line after a short line or a blank line breaks the fixed-width layout faidx needs.
      if not state.irregular_line:
        state.irregular_line = line_no
    elif num_bases > state.line_bases or (
      num_bases == state.line_bases and len(raw) != state.line_bytes and raw.endswith(b"\n")
    ):
      if not state.irregular_line:
        state.irregular_line = line_no
    elif num_bases < state.line_bases or len(raw) != state.line_bytes:
      state.last_seen = True
    state.num_lines += 1
    state.length += num_bases
    state.ambiguous += len(seq.translate(None, _DEFINITE_BASES))
    state.softmasked += len(seq.translate(None, _UPPER_LEGAL))
    if writer is not None:
      writer.sequence(seq)
  if state is None:
    raise FastaFormatError(
      f"{display}: no FASTA records (no line starts with '>'); a FASTA file "
      f"starts with a header line such as '>chr1' followed by sequence "
      f"lines."
    )
  finish(state)
  if writer is not None:
    writer.flush_record()
  return FastaLayout(path=path, records=tuple(records), regular=not irregular_at, irregular_at=irregular_at)


def _gzip_lines(path: str, display: str) -> Iterator[bytes]:
  try:
    with gzip.open(path, "rb") as f:
      _check_text(f.peek(_SNIFF_BYTES)[:_SNIFF_BYTES], display)
      yield from f
  except EOFError:
    raise FastaFormatError(
      f"{display}: truncated gzip file (the compressed stream ends early); download or copy it again."
    ) from None
  except (gzip.BadGzipFile, zlib.error) as e:
    raise FastaFormatError(f"{display}: corrupt gzip data ({e}); download or copy it again.") from None


def _plain_lines(path: str, display: str) -> Iterator[bytes]:
  with open(path, "rb") as f:
    _check_text(f.peek(_SNIFF_BYTES)[:_SNIFF_BYTES], display)
    yield from f


def _readable_compression(path: str, display: str) -> str | None:
  """'gzip' or None (plain); FastaFormatError for a missing or empty file or another compression."""
  check_path(path)
  compression = _sniff_compression(path)
  if compression not in (None, "gzip"):
    raise FastaFormatError(
      f"{display}: {compression}-compressed; decompress it first (or "
      f"recompress with gzip/bgzip, which is read directly)."
    )
  return compression


def _lines(path: str, display: str, compression: str | None) -> Iterator[bytes]:
  return _gzip_lines(path, display) if compression == "gzip" else _plain_lines(path, display)


def scan_fasta(path: str, *, display: str | None = None) -> FastaLayout:
  """Validates a plain or gzipped FASTA file completely; raises FastaFormatError if malformed."""
  path = os.fspath(path)
  display = display or path
  compression = _readable_compression(path, display)
  return _scan_lines(_lines(path, display, compression), display, None, path)


def _read_fai(fai_path: str) -> list[tuple[str, int, int, int, int]] | None:
  try:
    with open(fai_path, "r", encoding="utf-8") as f:
      rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows]
  except (OSError, ValueError, IndexError, UnicodeDecodeError):
    return None


def _fai_matches(fai_rows: list[tuple[str, int, int, int, int]] | None, layout: FastaLayout) -> bool:
  if fai_rows is None or len(fai_rows) != len(layout.records):
    return False
  for row, record in zip(fai_rows, layout.records):
    if row[:3] != record.fai_fields()[:3]:
      return False
    # Line geometry only matters for records that span several lines.
    if record.num_lines > 1 and row[3:] != record.fai_fields()[3:]:
      return False
  return True


def _build_fai(fasta_path: str, layout: FastaLayout, fai_path: str | None = None) -> None:
  """pyfaidx builds the index to a temp name; it is checked against the scan, then renamed to `fai_path`."""
  fai_path = fai_path or fasta_path + ".fai"
  fd, tmp = tempfile.mkstemp(
    prefix=os.path.basename(fai_path) + ".", suffix=".tmp", dir=os.path.dirname(os.path.abspath(fai_path))
  )
  os.close(fd)
  try:
    os.unlink(tmp)  # pyfaidx must see no index there, or it would read the empty file.
    pyfaidx.Faidx(fasta_path, indexname=tmp, rebuild=True, build_index=True).close()
    if not _fai_matches(_read_fai(tmp), layout):
      raise FastaFormatError(
        f"{fasta_path}: pyfaidx's index disagrees with the validation pass; please report this file."
      )
    # A FASTA stamped in the future (clock skew, copied mtimes) would make the new index look
    # stale at once, to us and to pyfaidx: never date the index before its FASTA.
    fasta_mtime_ns = os.stat(fasta_path).st_mtime_ns
    if os.stat(tmp).st_mtime_ns < fasta_mtime_ns:
      os.utime(tmp, ns=(fasta_mtime_ns, fasta_mtime_ns))
    os.replace(tmp, fai_path)
  finally:
    if os.path.exists(tmp):
      os.unlink(tmp)


def _index_fresh(fasta_path: str, layout: FastaLayout, fai_path: str | None = None) -> bool:
  fai_path = fai_path or fasta_path + ".fai"
  return (
    os.path.exists(fai_path)
    and os.stat(fai_path).st_mtime_ns >= os.stat(fasta_path).st_mtime_ns
    and _fai_matches(_read_fai(fai_path), layout)
  )


def cache_index_path(path: str, cache_dir: str) -> str:
  """Where the index of a FASTA outside the cache goes: under the cache, keyed by the file's real path."""
  key = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:24]
  return os.path.join(cache_dir, "fai", key, os.path.basename(path) + ".fai")


def _in_cache(path: str, cache_dir: str) -> bool:
  real, root = os.path.realpath(path), os.path.realpath(cache_dir)
  return os.path.commonpath([real, root]) == root


def _layout_to_json(layout: FastaLayout) -> dict:
  return {
    "records": [dataclasses.asdict(r) for r in layout.records],
    "regular": layout.regular,
    "irregular_at": layout.irregular_at,
  }


def _layout_from_json(saved: dict, path: str) -> FastaLayout:
  return FastaLayout(
    path=path,
    records=tuple(FastaRecord(**r) for r in saved["records"]),
    regular=saved["regular"],
    irregular_at=saved["irregular_at"],
  )


def _normalized_copy(path: str, display: str, compression: str | None, cache_dir: str) -> tuple[str, FastaLayout]:
  """Writes a validated plain copy with regular lines into the cache; returns it and its layout.

  The entry is content-addressed (sha256 of the input) and immutable: NAME.fasta, its .fai and
  NAME.fasta.layout.json (the validation result), each renamed into place; the layout file
  last, so its presence marks a complete entry.
  """
  digest = files.sha256_file(path)[:16]
  base = os.path.basename(path)
  for suffix in (".gz", ".bgz", ".gzip"):
    if base.lower().endswith(suffix):
      base = base[: -len(suffix)]
  stem = base.rsplit(".", 1)[0] if "." in base else base
  out_dir = os.path.join(cache_dir, "fasta", digest)
  out_path = os.path.join(out_dir, stem + ".fasta")
  layout_path = out_path + ".layout.json"
  if os.path.exists(layout_path):
    try:
      with open(layout_path, encoding="utf-8") as f:
        layout = _layout_from_json(json.load(f), out_path)
      if os.path.exists(out_path) and _index_fresh(out_path, layout):
        return out_path, layout
    except (OSError, ValueError, KeyError, TypeError):
      pass  # Damaged entry: write it again.
  made_dir = not os.path.isdir(out_dir)
  try:
    os.makedirs(out_dir, exist_ok=True)
  except OSError as e:
    raise FastaFormatError(
      f"{display}: cannot create the cache directory {out_dir} ({e}); set "
      f"$GENOME_TRANSFORMER_CACHE to a writable directory."
    ) from None
  try:
    layout = _write_regular(path, out_path, display, compression)
    files.write_json_atomic(layout_path, _layout_to_json(layout), indent=None)
  except BaseException:
    files.remove(layout_path, out_path + ".fai", out_path)
    if made_dir:
      try:
        os.rmdir(out_dir)  # Only if empty: never half a cache entry.
      except OSError:
        pass
    raise
  logging.info("%s: wrote a plain indexed copy to %s", display, out_path)
  return out_path, layout


def _write_regular(path: str, out_path: str, display: str, compression: str | None) -> FastaLayout:
  """Validates `path` while writing it to `out_path` with 60-base lines (temp file + rename), then indexes it.

  `out_path` may be `path` itself: it is replaced only once the copy is complete. If indexing
  fails afterwards, the new file and its index are removed.
  """
  fd, tmp = tempfile.mkstemp(
    prefix=os.path.basename(out_path) + ".", suffix=".tmp", dir=os.path.dirname(os.path.abspath(out_path))
  )
  try:
    with os.fdopen(fd, "wb") as out:
      lines = _lines(path, display, compression)
      writer = _LineWriter(out)
      layout = writer.layout(_scan_lines(lines, display, writer, path), out_path)
    os.replace(tmp, out_path)
    try:
      _build_fai(out_path, layout)  # Also checks the written layout against pyfaidx's index.
    except BaseException:
      files.remove(out_path + ".fai", out_path)
      raise
  finally:
    files.remove(tmp)
  return layout


def write_indexed(path: str, out_path: str, *, display: str | None = None, cache_dir: str | None = None) -> FastaLayout:
  """Validates a plain or gzipped FASTA and writes it as a plain, regular, indexed FASTA at `out_path`.

  The validation is remembered in `cache_dir` as for a scanned file, so opening `out_path`
  later (open_fasta) does not read it again. `out_path` may equal `path`.
  """
  display = display or path
  compression = _readable_compression(path, display)
  layout = _write_regular(path, out_path, display, compression)
  _remember_layout(files.cache_root(cache_dir), out_path, layout, scan_started_ns=None)
  return layout


def _layout_record_path(cache_dir: str, path: str) -> str:
  key = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:24]
  return os.path.join(cache_dir, "layouts", key + ".json")


def _stat_key(path: str) -> list[int | str]:
  st = os.stat(path)
  return [os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ino]


def _cached_scan(path: str, cache_dir: str, display: str | None = None) -> FastaLayout:
  """scan_fasta, remembered in the cache per (real path, size, mtime, inode) of the file.

  A full validation pass costs about a minute per 3 Gb; reopening an unchanged file (each
  training start, each held-out evaluation) reuses the recorded result instead. The .fai is
  still checked against the recorded layout every time.
  """
  record_path = _layout_record_path(cache_dir, path)
  key = _stat_key(path)
  try:
    with open(record_path, encoding="utf-8") as f:
      saved = json.load(f)
    if saved["key"] == key:
      return _layout_from_json(saved, path)
  except (OSError, ValueError, KeyError, TypeError):
    pass  # No usable record: scan.
  scan_started_ns = time.time_ns()
  layout = scan_fasta(path, display=display)
  _remember_layout(cache_dir, path, layout, scan_started_ns)
  return layout


def _remember_layout(cache_dir: str, path: str, layout: FastaLayout, scan_started_ns: int | None) -> None:
  """scan_started_ns=None: `path` was written from `layout` by this process (write_indexed)."""
  # File times are coarse (a few ms on Linux, 2 s on FAT): two writes within one tick leave the
  # same mtime. Like git's "racy clean" rule, only a file last modified well before the scan
  # began is remembered, so a remembered (size, mtime) always describes the scanned content.
  # A file this process has just written and renamed into place has no such race.
  if scan_started_ns is not None and os.stat(path).st_mtime_ns > scan_started_ns - _MTIME_SLACK_NS:
    return
  record_path = _layout_record_path(cache_dir, path)
  try:
    os.makedirs(os.path.dirname(record_path), exist_ok=True)
    files.write_json_atomic(record_path, {"key": _stat_key(path), **_layout_to_json(layout)}, indent=None)
  except OSError as e:
    logging.info("cannot record the validation of %s in %s (%s)", path, record_path, e)


def _ensure_indexed(path: str, cache_dir: str | None) -> tuple[str, FastaLayout, str | None]:
  """(plain FASTA to read, its layout, its .fai): the file itself where it is plain and regular, else a copy."""
  path = os.fspath(path)
  cache_dir = files.cache_root(cache_dir)
  compression = _readable_compression(path, path)
  if compression == "gzip":
    return (*_normalized_copy(path, path, compression, cache_dir), None)
  layout = _cached_scan(path, cache_dir)
  # pyfaidx treats names ending in .gz/.bgz as BGZF; a plain file so named goes to the cache.
  if not layout.regular or path.lower().endswith((".gz", ".bgz")):
    if not layout.regular:
      logging.info("%s: irregular line layout at %s; writing a regular copy", path, layout.irregular_at)
    return (*_normalized_copy(path, path, None, cache_dir), None)
  if _index_fresh(path, layout):
    return path, layout, None  # Beside it, made by samtools, by fetch or by us: read, never rewritten.
  if _in_cache(path, cache_dir):
    fai_path = None  # The package's own files keep their index beside them, as samtools would.
  else:
    # The user's directory is theirs: no file is written beside their FASTA.
    fai_path = cache_index_path(path, cache_dir)
    if _index_fresh(path, layout, fai_path):
      return path, layout, fai_path
    try:
      os.makedirs(os.path.dirname(fai_path), exist_ok=True)
    except OSError as e:
      raise FastaFormatError(
        f"{path}: cannot create {os.path.dirname(fai_path)} for its index ({e}); set "
        f"${files.CACHE_ENV} to a writable directory."
      ) from None
  try:
    _build_fai(path, layout, fai_path)
  except OSError as e:
    logging.info("%s: cannot write its index (%s); indexing a copy in the cache", path, e)
    return (*_normalized_copy(path, path, None, cache_dir), None)
  except pyfaidx.FastaIndexingError as e:
    logging.info("%s: pyfaidx cannot index it as is (%s); writing a regular copy", path, e)
    return (*_normalized_copy(path, path, None, cache_dir), None)
  return path, layout, fai_path


class IndexedFasta:
  """Random access to a validated, indexed FASTA; regions come back as uint8 tokens."""

  def __init__(
    self,
    path: str,
    *,
    source: str | None = None,
    layout: FastaLayout | None = None,
    index_path: str | None = None,
    cleanup: Callable[[], None] | None = None,
  ):
    self.path = os.fspath(path)
    self.source = source or self.path  # The user's file name, for error messages.
    self.layout = layout or scan_fasta(self.path, display=self.source)
    self.index_path = index_path or self.path + ".fai"
    self._cleanup = cleanup
    self._fasta = pyfaidx.Fasta(
      self.path,
      indexname=self.index_path,
      as_raw=True,
      rebuild=False,
      build_index=False,
      sequence_always_upper=False,
    )
    self._lengths = {r.name: r.length for r in self.layout.records}

  @property
  def records(self) -> tuple[FastaRecord, ...]:
    return self.layout.records

  @property
  def names(self) -> list[str]:
    return [r.name for r in self.layout.records]

  def length(self, name: str) -> int:
    return self._lengths[name]

  def _check_region(self, name: str, start: int, end: int) -> None:
    if name not in self._lengths:
      raise KeyError(f"{self.source}: no record named {name!r}")
    if not 0 <= start <= end <= self._lengths[name]:
      raise ValueError(f"{self.source}: record {name!r}: region [{start}, {end}) is outside [0, {self._lengths[name]})")

  def fetch_chars(self, name: str, start: int = 0, end: int | None = None) -> str:
    """The raw characters of [start, end) (0-based, end exclusive), case preserved."""
    end = self._lengths.get(name, 0) if end is None else end
    self._check_region(name, start, end)
    if start == end:
      return ""
    return self._fasta[name][start:end]

  def fetch(self, name: str, start: int = 0, end: int | None = None) -> np.ndarray:
    """Tokens (uint8) of [start, end) of record `name` (0-based, end exclusive)."""
    return tokenizer.encode(self.fetch_chars(name, start, end), source=self.source, record=name, offset=start)

  def fetch_with_mask(self, name: str, start: int = 0, end: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    return tokenizer.encode_with_mask(self.fetch_chars(name, start, end), source=self.source, record=name, offset=start)

  def close(self) -> None:
    self._fasta.close()
    if self._cleanup is not None:
      self._cleanup()
      self._cleanup = None

  def __enter__(self) -> IndexedFasta:
    return self

  def __exit__(self, *exc) -> None:
    self.close()


def _stdin_lines(stream: BinaryIO, display: str) -> Iterator[bytes]:
  """Lines of a plain or gzip/bgzip stream (told apart by its first bytes, as for files)."""
  head = stream.peek(2)[:2] if hasattr(stream, "peek") else b""
  if head == _GZIP_MAGIC:
    try:
      with gzip.GzipFile(fileobj=stream, mode="rb") as f:
        first = f.readline()
        _check_text(first, display)
        yield first
        yield from f
    except EOFError:
      raise FastaFormatError(f"{display}: truncated gzip stream (it ends early).") from None
    except (gzip.BadGzipFile, zlib.error) as e:
      raise FastaFormatError(f"{display}: corrupt gzip data ({e}).") from None
    return
  _check_text(stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if hasattr(stream, "peek") else b"", display)
  yield from stream


def _open_stdin(cache_dir: str | None, stream: BinaryIO | None = None) -> IndexedFasta:
  """Standard input, validated while it is written to a private cache folder, indexed, removed on close.

  A stream cannot be read twice nor indexed in place; the copy lives only as long as the handle.
  """
  display = "<stdin>"
  root = files.cache_root(cache_dir)
  try:
    os.makedirs(os.path.join(root, "stdin"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="fasta-", dir=os.path.join(root, "stdin"))
  except OSError as e:
    raise FastaFormatError(
      f"{display}: cannot create a folder for it under {root} ({e}); set ${files.CACHE_ENV} to a writable directory."
    ) from None
  out_path = os.path.join(work, "stdin.fasta")
  try:
    with open(out_path, "wb") as out:
      writer = _LineWriter(out)
      lines = _stdin_lines(stream or sys.stdin.buffer, display)
      layout = writer.layout(_scan_lines(lines, display, writer, out_path), out_path)
    _build_fai(out_path, layout)
  except BaseException:
    shutil.rmtree(work, ignore_errors=True)
    raise
  return IndexedFasta(out_path, source=display, layout=layout, cleanup=lambda: shutil.rmtree(work, ignore_errors=True))


def open_fasta(path: str, cache_dir: str | None = None) -> IndexedFasta:
  """Validates, indexes (or refreshes a stale .fai) and opens a plain or gzipped FASTA; '-' reads stdin."""
  if os.fspath(path) == "-":
    return _open_stdin(cache_dir)
  indexed, layout, index_path = _ensure_indexed(path, cache_dir)
  return IndexedFasta(indexed, source=os.fspath(path), layout=layout, index_path=index_path)
