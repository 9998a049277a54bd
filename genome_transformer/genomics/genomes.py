# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Genome specs -> validated, indexed FASTA files; the embedded corpus; the split rule.

A genome spec is one of:

* `builtin:bacteria4`: the four complete bacterial genomes shipped in `builtin/` (13.1 Mb;
  E. coli K-12 MG1655, S. aureus N315, H. pylori G27, V. cholerae N16961 with 2 chromosomes),
  from Debian's ragout-examples 2.3-4 (BSD-3-clause). `builtin/manifest.json` records each
  file's sha256, organism, accession, provenance and license; the sha256 is checked before use.
* `builtin:NAME` for one of them: `builtin:ecoli`, `builtin:saureus`, `builtin:hpylori`,
  `builtin:vcholerae`.
* Comma-separated paths of the user's FASTA files, plain or gzipped (`a.fa,b.fa.gz`).
* `fetch:SOURCE`: a genome that sources.py downloads once into the cache (a preset such as
  `fetch:smalt-chrX`, an NCBI accession `fetch:GCF_000005845.2`, or `fetch:https://...`).
* `SCHEME:ARG` for any scheme added with `register_resolver`.

Split rule (stable; the README quotes it): for each record of length n, bases
[0, floor(0.90 n)) are train, [floor(0.90 n), floor(0.95 n)) validation and
[floor(0.95 n), n) test (boundaries in exact integer arithmetic: n * 90 // 100, n * 95 // 100).
Training windows never cross a split boundary, so no held-out base is ever inside a training
window. Record names must be unique across all files of a genome.
"""

from __future__ import annotations

from collections.abc import Callable
import functools
import hashlib
import json
import os
from typing import Any

from genome_transformer.genomics import fasta, files, tokenizer

SPLITS = ("train", "validation", "test")
# Fractions of each record where validation and test begin; see `split_bounds`.
VALIDATION_START = 0.90
TEST_START = 0.95

BUILTIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "builtin")
MANIFEST_PATH = os.path.join(BUILTIN_DIR, "manifest.json")

# A resolver maps the part after "SCHEME:" and the cache directory to plain indexed FASTA paths.
Resolver = Callable[[str, str], list[str]]
RESOLVERS: dict[str, Resolver] = {}


class GenomeSpecError(tokenizer.GenomeInputError):
  """A genome spec that names nothing usable (unknown name, failed checksum, ...)."""


def split_bounds(record_length: int) -> dict[str, tuple[int, int]]:
  """{split: (start, end)} for one record: 90% / 5% / 5% by position (see module docstring)."""
  if record_length < 0:
    raise ValueError(f"record_length must be >= 0, got {record_length}")
  # Integer arithmetic, so the boundaries do not depend on float rounding for long records.
  validation_start = record_length * 90 // 100
  test_start = record_length * 95 // 100
  return {
    "train": (0, validation_start),
    "validation": (validation_start, test_start),
    "test": (test_start, record_length),
  }


@functools.lru_cache(maxsize=1)
def load_manifest() -> dict[str, Any]:
  with open(MANIFEST_PATH, encoding="utf-8") as f:
    return json.load(f)


def builtin_names() -> list[str]:
  """Names usable after 'builtin:': single genomes and collections."""
  manifest = load_manifest()
  return sorted(manifest["collections"]) + sorted(manifest["genomes"])


def register_resolver(scheme: str, resolver: Resolver, *, replace: bool = False) -> None:
  """Makes `SCHEME:ARG` specs resolve through `resolver(arg, cache_dir) -> list of paths`.

  The paths a resolver returns go through `fasta.open_fasta` like user paths, so it may
  return gzipped or unindexed files.
  """
  if not scheme.isidentifier():
    raise ValueError(f"resolver scheme must be an identifier, got {scheme!r}")
  if scheme in RESOLVERS and not replace:
    raise ValueError(f"a resolver for {scheme!r} is already registered")
  RESOLVERS[scheme] = resolver


def _resolve_builtin(name: str, cache_dir: str) -> list[str]:
  manifest = load_manifest()
  if name in manifest["collections"]:
    members = manifest["collections"][name]
  elif name in manifest["genomes"]:
    members = [name]
  else:
    raise GenomeSpecError(
      f"builtin:{name}: no such built-in genome; known: {', '.join('builtin:' + n for n in builtin_names())}"
    )
  paths = []
  for member in members:
    entry = manifest["genomes"][member]
    path = os.path.join(BUILTIN_DIR, entry["file"])
    if not os.path.exists(path):
      raise GenomeSpecError(
        f"builtin:{member}: {path} is missing from the installed package; reinstall genome-transformer."
      )
    digest = files.sha256_file(path)
    if digest != entry["sha256"]:
      raise GenomeSpecError(
        f"builtin:{member}: {path} has sha256 {digest}, the manifest says "
        f"{entry['sha256']}; the file is damaged, reinstall the package."
      )
    paths.append(path)
  return paths


def _resolve_fetch(source: str, cache_dir: str) -> list[str]:
  """`fetch:SOURCE`: a sources.py preset, NCBI accession or URL, downloaded once into the cache."""
  # Imported here: the download code is only needed by specs that name it.
  from genome_transformer.genomics import sources  # pylint: disable=g-import-not-at-top

  if not source:
    raise GenomeSpecError(
      f"fetch: names no source; known presets: {', '.join(sorted(sources.PRESETS))}, or an accession or URL"
    )
  try:
    return [sources.fetch(source, cache_dir)]
  except sources.FetchError as e:
    raise GenomeSpecError(f"fetch:{source}: {e}") from None


RESOLVERS["builtin"] = _resolve_builtin
RESOLVERS["fetch"] = _resolve_fetch


def genome_files(spec: str, cache_dir: str | None = None) -> list[str]:
  """The files a spec names, as given (maybe gzipped, not yet validated or indexed)."""
  cache_dir = files.cache_root(cache_dir)
  spec = spec.strip()
  if not spec:
    raise GenomeSpecError("empty genome spec; use builtin:bacteria4, builtin:NAME or FASTA paths")
  scheme, sep, arg = spec.partition(":")
  if sep and scheme in RESOLVERS:
    paths = [os.fspath(p) for p in RESOLVERS[scheme](arg.strip(), cache_dir)]
  else:
    paths = [p.strip() for p in spec.split(",")]
    if any(not p for p in paths):
      raise GenomeSpecError(f"genome spec {spec!r} has an empty entry between commas")
    if sep and len(paths) == 1 and not os.path.exists(spec) and scheme.isidentifier():
      raise GenomeSpecError(
        f"genome spec {spec!r}: unknown scheme {scheme + ':'!r} and no such "
        f"file; known schemes: {', '.join(s + ':' for s in sorted(RESOLVERS))}"
      )
    paths = [os.path.expanduser(p) for p in paths]
  if not paths:
    raise GenomeSpecError(f"genome spec {spec!r} names no files")
  for path in paths:
    fasta.check_path(path)
  return paths


def open_genome(spec: str | list[str] | tuple[str, ...], cache_dir: str | None = None) -> list[fasta.IndexedFasta]:
  """Resolves, validates, indexes and opens every FASTA of a genome spec (or list of paths)."""
  cache_dir = files.cache_root(cache_dir)
  if isinstance(spec, str):
    raw = genome_files(spec, cache_dir)
  else:
    raw = [os.fspath(p) for p in spec]
    if not raw:
      raise GenomeSpecError("no FASTA files given")
  opened: list[fasta.IndexedFasta] = []
  owners: dict[str, str] = {}
  try:
    for path in raw:
      opened.append(fasta.open_fasta(path, cache_dir))
      for name in opened[-1].names:
        if name in owners:
          raise fasta.FastaFormatError(
            f"{opened[-1].source}: record name {name!r} also occurs in {owners[name]}; record "
            f"names must be unique across the files of one genome (rename one of them)."
          )
        owners[name] = opened[-1].source
  except BaseException:
    for f in opened:
      f.close()
    raise
  return opened


def resolve_genome(spec: str, cache_dir: str | None = None) -> list[str]:
  """Plain, validated, faidx-indexed FASTA paths for a genome spec (see module docstring)."""
  files = open_genome(spec, cache_dir)
  for f in files:
    f.close()
  return [f.path for f in files]


def fingerprint(paths: list[str]) -> str:
  """Content hash of the resolved plain FASTA files, in order (names the TFDS config)."""
  digest = hashlib.sha256()
  for path in paths:
    digest.update(files.sha256_file(path).encode())
  return digest.hexdigest()
