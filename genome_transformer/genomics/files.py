# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The cache root, file digests and crash-safe JSON files: what every layer that writes to disk shares."""

from __future__ import annotations

from collections.abc import Iterable
import contextlib
import hashlib
import json
import os
import tempfile
from typing import Any

CACHE_ENV = "GENOME_TRANSFORMER_CACHE"
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "genome_transformer")
_BLOCK_BYTES = 1 << 22


def cache_root(cache_dir: str | None = None) -> str:
  """The cache root: `cache_dir`, else $GENOME_TRANSFORMER_CACHE, else ~/.cache/genome_transformer (absolute)."""
  root = cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR
  return os.path.abspath(os.path.expanduser(root))


def file_digests(path: str, algorithms: Iterable[str] = ("sha256",)) -> dict[str, str]:
  """{algorithm: hex digest} of a file, read once whatever the number of algorithms."""
  hashers = {a: hashlib.new(a) for a in algorithms}
  with open(path, "rb") as f:
    while block := f.read(_BLOCK_BYTES):
      for h in hashers.values():
        h.update(block)
  return {a: h.hexdigest() for a, h in hashers.items()}


def sha256_file(path: str) -> str:
  """Hex sha256 of a file."""
  return file_digests(path, ("sha256",))["sha256"]


def read_json(path: str) -> dict | None:
  """The JSON object in `path`, or None when it is missing, damaged or not an object."""
  try:
    with open(path, encoding="utf-8") as f:
      value = json.load(f)
  except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
    return None
  return value if isinstance(value, dict) else None


def write_json_atomic(path: str, value: Any, *, indent: int | None = 2, **dump_kwargs) -> None:
  """Writes JSON to a unique temp file beside `path` and renames it into place.

  Readers (and a process killed halfway) see the old file or the new one, never half of one; the
  unique temp name lets two writers race without writing into each other's temp file.
  """
  fd, tmp = tempfile.mkstemp(
    prefix=os.path.basename(path) + ".", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path))
  )
  try:
    with os.fdopen(fd, "w", encoding="utf-8") as f:
      json.dump(value, f, indent=indent, **dump_kwargs)
      f.write("\n")
    os.replace(tmp, path)
  finally:
    remove(tmp)


def remove(*paths: str) -> None:
  """Deletes each file that exists."""
  for path in paths:
    with contextlib.suppress(FileNotFoundError):
      os.remove(path)
