# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Tabular text in and out: a path, gzip/bgzip or stdin ('-') read as lines; BGZF and atomic writes.

Reading: gzip and BGZF (bgzip's blocked gzip, as in `.vcf.gz`) are both gzip members one after
another, which Python's gzip module reads as one stream; they are told apart from plain text by
their first bytes, whatever the name. Writing: `atomic_output` writes a temp file beside the target
and renames it into place only when the block completes, so a failed run leaves no half file; a
name ending in `.gz` is written as BGZF (SAM/BAM specification, section 4.1), which gzip reads and
tabix can index.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import gzip
import io
import os
import struct
import sys
from typing import BinaryIO, TextIO
import uuid
import zlib

from genome_transformer.genomics import tokenizer

_GZIP_MAGIC = b"\x1f\x8b"
_OTHER_COMPRESSIONS = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd", b"PK\x03\x04": "zip"}
STDIN = "-"
STDIN_NAME = "<stdin>"

# A block's input is at most 0xff00 bytes, so that even incompressible data fits the 64 KiB block bgzip allows.
_BGZF_BLOCK_INPUT = 0xFF00
# The empty block every BGZF file ends with; readers use it to tell a complete file from a truncated one.
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


class InputFileError(tokenizer.GenomeInputError):
  """A table (VCF, TSV, BED) that is missing, unreadable or malformed; the message names file and line."""


def display_name(path: str) -> str:
  return STDIN_NAME if path == STDIN else path


def _binary_stream(path: str, what: str) -> BinaryIO:
  if path == STDIN:
    return sys.stdin.buffer
  if not os.path.exists(path):
    raise InputFileError(f"{path}: no such {what} file. Check the path (given as {path!r}).")
  if os.path.isdir(path):
    raise InputFileError(f"{path}: is a directory, not a {what} file; name the file inside it.")
  try:
    return open(path, "rb")
  except OSError as e:
    raise InputFileError(f"{path}: cannot be read ({e.strerror}).") from None


def read_lines(path: str, what: str) -> Iterator[tuple[int, str]]:
  """(1-based line number, line without its line ending) of a plain, gzip or bgzip file, or stdin ('-')."""
  display = display_name(path)
  raw = _binary_stream(path, what)
  buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
  try:
    head = buffered.peek(8)[:8]
    for magic, name in _OTHER_COMPRESSIONS.items():
      if head.startswith(magic):
        raise InputFileError(f"{display}: {name}-compressed; decompress it, or compress it with gzip or bgzip.")
    stream = gzip.GzipFile(fileobj=buffered, mode="rb") if head.startswith(_GZIP_MAGIC) else buffered
    number = 0
    try:
      for number, line in enumerate(stream, 1):
        if b"\x00" in line:
          raise InputFileError(f"{display}: line {number}: binary data (NUL bytes); this is not a {what} text file.")
        yield number, line.decode("utf-8", errors="replace").rstrip("\r\n")
    except EOFError:
      raise InputFileError(
        f"{display}: truncated gzip data after line {number} (the compressed stream ends early); copy it again."
      ) from None
    except (gzip.BadGzipFile, zlib.error) as e:
      raise InputFileError(f"{display}: corrupt gzip data after line {number} ({e}); copy it again.") from None
  finally:
    if path != STDIN:
      raw.close()


class BgzfWriter(io.RawIOBase):
  """Writes BGZF: deflate blocks of at most 64 KiB, each a gzip member with its size in a 'BC' field."""

  def __init__(self, out: BinaryIO, level: int = 6):
    super().__init__()
    self._out, self._level, self._pending = out, level, bytearray()

  def writable(self) -> bool:
    return True

  def write(self, data) -> int:
    self._pending += data
    while len(self._pending) >= _BGZF_BLOCK_INPUT:
      self._block(bytes(self._pending[:_BGZF_BLOCK_INPUT]))
      del self._pending[:_BGZF_BLOCK_INPUT]
    return len(data)

  def _block(self, data: bytes) -> None:
    compressor = zlib.compressobj(self._level, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush()
    size = 18 + len(body) + 8  # header with the 6-byte extra field, deflate data, CRC32 and ISIZE
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00" + struct.pack("<H", size - 1)
    self._out.write(header + body + struct.pack("<II", zlib.crc32(data), len(data)))

  def close(self) -> None:
    if not self.closed:
      if self._pending:
        self._block(bytes(self._pending))
        self._pending.clear()
      self._out.write(BGZF_EOF)
    super().close()


def compression_suffix(path: str) -> str:
  return ".gz" if path.lower().endswith((".gz", ".bgz")) else ""


@contextlib.contextmanager
def atomic_output(path: str, mode: str = "w") -> Iterator[TextIO | BinaryIO]:
  """Yields a file to write; renamed to `path` only if the block completes ('-' = stdout; '.gz' = BGZF)."""
  if path == STDIN:
    yield sys.stdout if "b" not in mode else sys.stdout.buffer
    sys.stdout.flush()
    return
  path = os.path.abspath(os.path.expanduser(path))
  if os.path.isdir(path):
    raise InputFileError(f"{path} is a directory; name the output file to write, e.g. {path}/out.tsv.")
  directory = os.path.dirname(path)
  if not os.path.isdir(directory):
    raise InputFileError(f"{path}: the directory {directory} does not exist.")
  tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:8]}")
  try:
    with open(tmp, "wb") as raw:
      if compression_suffix(path):
        binary = io.BufferedWriter(BgzfWriter(raw), buffer_size=_BGZF_BLOCK_INPUT)
      else:
        binary = raw
      if "b" in mode:
        yield binary
      else:
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="\n", write_through=False)
        yield text
        text.flush()
        text.detach()
      if binary is not raw:
        binary.close()
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
