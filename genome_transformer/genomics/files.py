# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The cache root, file digests and crash-safe files: what every layer that writes to disk shares.

Workdirs, exports and metrics may be local paths or bucket URIs (gs://bucket/run): `as_path` gives
both as an `etils.epath.Path`, the path type Orbax takes, whose gs:// backend is gcsfs (or
tf.io.gfile where TensorFlow is installed). Local paths keep the plain `open`/`os.replace` code.
"""

from __future__ import annotations

from collections.abc import Iterable
import contextlib
import hashlib
import json
import os
import tempfile
from typing import Any

from etils import epath

CACHE_ENV = "GENOME_TRANSFORMER_CACHE"
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "genome_transformer")
_BLOCK_BYTES = 1 << 22


def error_summary(error: BaseException) -> str:
  """'TypeName: first line of the message' (or the type name alone): how one-line errors quote a cause."""
  text = str(error).strip()
  return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def cache_root(cache_dir: str | None = None) -> str:
  """The cache root: `cache_dir`, else $GENOME_TRANSFORMER_CACHE, else ~/.cache/genome_transformer (absolute)."""
  root = cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR
  return os.path.abspath(os.path.expanduser(root))


def is_uri(path: str | os.PathLike) -> bool:
  """True for a bucket or other URI path (gs://bucket/run), False for a local one."""
  return "://" in os.fspath(path)


def as_path(path: str | os.PathLike) -> epath.Path:
  """`path` as an epath.Path: a URI as it is, a local path with ~ expanded and made absolute."""
  text = os.fspath(path)
  return epath.Path(text if is_uri(text) else os.path.abspath(os.path.expanduser(text)))


def size(path: str | os.PathLike) -> int:
  """Bytes in a file, local or in a bucket."""
  return epath.Path(path).stat().length if is_uri(path) else os.path.getsize(path)


def file_digests(path: str | os.PathLike, algorithms: Iterable[str] = ("sha256",)) -> dict[str, str]:
  """{algorithm: hex digest} of a file (local or in a bucket), read once whatever the number of algorithms."""
  hashers = {a: hashlib.new(a) for a in algorithms}
  with epath.Path(path).open("rb") if is_uri(path) else open(path, "rb") as f:
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


def write_json_atomic(path: str | os.PathLike, value: Any, *, indent: int | None = 2, **dump_kwargs) -> None:
  """Writes JSON to `path` (local or in a bucket) with `write_bytes_atomic`."""
  write_bytes_atomic(path, (json.dumps(value, indent=indent, **dump_kwargs) + "\n").encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
  """Writes `data` so that readers, and a process killed halfway, see the old file or the new one, never half.

  Locally: a unique temp file beside `path`, renamed into place (the unique name lets two writers race
  without writing into each other's temp file). In a bucket: one object upload, which GCS makes
  visible whole or not at all; objects cannot be renamed, and need not be.
  """
  if is_uri(path):
    epath.Path(path).write_bytes(data)
    return
  path = os.fspath(path)
  fd, tmp = tempfile.mkstemp(
    prefix=os.path.basename(path) + ".", suffix=".tmp", dir=os.path.dirname(os.path.abspath(path))
  )
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
    os.replace(tmp, path)
  finally:
    remove(tmp)


def files_under(root: str | os.PathLike) -> list[epath.Path]:
  """Every file below `root`, local or in a bucket, sorted (epath's walk drops the gs:// of bucket paths)."""
  found = []
  for child in sorted(as_path(root).iterdir()):
    found.extend(files_under(child) if child.is_dir() else [child])
  return found


def move_tree(source: str | os.PathLike, target: str | os.PathLike) -> None:
  """Moves a directory to `target`, creating its parent: one rename locally, object by object in a bucket.

  Objects cannot be renamed: every object is copied first and the source deleted after, so a move
  cut short leaves the source whole (with a partial copy at `target`), never half of it.
  """
  source, target = as_path(source), as_path(target)
  if not is_uri(source):
    os.makedirs(target.parent, exist_ok=True)
    os.replace(source, target)
    return
  for path in files_under(source):
    path.copy(target / os.path.relpath(os.fspath(path), os.fspath(source)))
  source.rmtree()


def remove(*paths: str) -> None:
  """Deletes each file that exists."""
  for path in paths:
    with contextlib.suppress(FileNotFoundError):
      os.remove(path)
