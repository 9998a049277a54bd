# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""TFDS builder `genome_windows`: fixed-length token windows of a genome in array_record shards.

Each example is one window of `window_length` (L) tokens:
  tokens: uint8 [L] (tokenizer.py ids), record: the FASTA record name, start: 0-based offset of
  the window's first base in that record. So `tokens == encode(record[start:start + L])`.

Windows policy (the README quotes it):
* Splits follow `genomes.split_bounds`: per record, [0, 90%) train, [90%, 95%) validation,
  [95%, 100%) test. Windows start at the first base of a split region and every `stride` bases
  after; a window never crosses a split boundary, so the last partial window of each region
  (fewer than L bases left) is dropped, as is a region shorter than L.
* A window is dropped when it holds more than floor(max_n_fraction * L) N tokens (N and IUPAC
  ambiguity codes): with the default 0.5, windows inside assembly gaps go, windows straddling a
  gap's edge stay. 0 keeps only N-free windows, 1 keeps everything.
* A split with no windows is left out of the dataset (with a warning); a genome with no train
  window at all is an error, raised before anything is written.

Builder configs are made on the fly, one per (genome content, L, stride, N threshold): the config
name `<label>_<sha256 of the FASTA contents, 10 hex>_l<L>_s<stride>_n<max N per window>` means
two corpora or two window settings never share a directory under one data_dir.

`prepare()` is idempotent: an existing complete build is reused without reading the genome. A
build runs in TFDS's `incomplete.*` directory and is renamed into place only when complete; on
any failure that directory, the temp download directory and every directory prepare created are
removed, so a failed build leaves nothing under data_dir. Read the shards back with
`builder.as_data_source()` (array_record random access, no tensorflow needed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import contextlib
import dataclasses
import functools
import glob
import io
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import time
from typing import Any

import numpy as np
import tensorflow_datasets as tfds
import tqdm

from genome_transformer.genomics import fasta, files, genomes, tokenizer
from genome_transformer.genomics.genomes import SPLITS, split_bounds  # Re-exported for convenience.

DATASET_NAME = "genome_windows"
MIN_WINDOW_LENGTH = 2  # One next-token target needs two tokens.
_PLAN_BLOCK_BASES = 1 << 24  # Bases read at a time when counting N per window.
# Token bytes per shard: bounds what a shard's writer holds (its windows until it is counted).
_SHARD_TOKEN_BYTES = 64 << 20
_PIECE_WINDOWS = 4096  # Windows per FASTA read while writing (and per progress-bar update).
_RECORD_OVERHEAD_BYTES = 96  # Serialized bytes per window besides its tokens (record name, start, framing).
_TMP_PREFIX = ".genome_windows_tmp."
_STALE_BUILD_SECONDS = 600
_PROGRESS_LOG_SECONDS = 60

__all__ = [
  "SPLITS",
  "split_bounds",
  "DatasetConfigError",
  "GenomeWindows",
  "GenomeWindowsConfig",
  "WindowPlan",
  "plan_windows",
  "make_builder",
  "prepare",
  "default_data_dir",
  "max_n_count",
  "validate_window_params",
]


class DatasetConfigError(tokenizer.GenomeInputError):
  """Window parameters, data_dir or genome cannot give a dataset; the message says why."""


def default_data_dir() -> str:
  """Where shards go when no data_dir is given: <cache>/tfds."""
  return os.path.join(files.cache_root(), "tfds")


def validate_window_params(window_length: Any, stride: Any, max_n_fraction: Any) -> None:
  for name, value in (("window_length", window_length), ("stride", stride)):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
      raise DatasetConfigError(f"{name} must be an integer, got {value!r}")
  if window_length < MIN_WINDOW_LENGTH:
    raise DatasetConfigError(
      f"window_length must be >= {MIN_WINDOW_LENGTH} (a window needs a next-token target), got {window_length}"
    )
  if stride <= 0:
    raise DatasetConfigError(f"stride must be a positive number of bases, got {stride}")
  if (
    isinstance(max_n_fraction, bool)
    or not isinstance(max_n_fraction, (int, float, np.floating))
    or not math.isfinite(max_n_fraction)
    or not 0.0 <= max_n_fraction <= 1.0
  ):
    raise DatasetConfigError(f"max_n_fraction must be a number in [0, 1], got {max_n_fraction!r}")


def max_n_count(window_length: int, max_n_fraction: float) -> int:
  """The most N tokens a kept window may hold: floor(max_n_fraction * L)."""
  # The epsilon absorbs float error such as 0.29 * 100 = 28.999999999999996.
  return min(window_length, int(math.floor(max_n_fraction * window_length + 1e-9)))


@dataclasses.dataclass(eq=False)
class GenomeWindowsConfig(tfds.core.BuilderConfig):
  """One genome at one window setting."""

  genome: str = ""  # The spec as given (for the record; the content hash decides identity).
  fasta_paths: tuple[str, ...] = ()  # Inputs as resolved from the spec (maybe gzipped).
  genome_sha256: str = ""  # `genomes.fingerprint(fasta_paths)`.
  window_length: int = 0
  stride: int = 0
  max_n_fraction: float = 0.5
  cache_dir: str = ""


def _label(genome: str | Sequence[str]) -> str:
  """A readable prefix for the config name: the built-in/preset name or the first file's stem."""
  if isinstance(genome, str):
    scheme, sep, arg = genome.partition(":")
    if sep and scheme in genomes.RESOLVERS:
      return re.sub(r"[^a-z0-9]+", "_", arg.lower()).strip("_")[:32] or scheme
    paths = [p.strip() for p in genome.split(",") if p.strip()]
  else:
    paths = [os.fspath(p) for p in genome]
  stem = re.sub(r"(\.(fa|fasta|fna|fas|txt))?(\.(b?gz|gzip))?$", "", os.path.basename(paths[0]).lower())
  stem = re.sub(r"[^a-z0-9]+", "_", stem).strip("_")[:32] or "genome"
  return stem + (f"_{len(paths)}files" if len(paths) > 1 else "")


def make_builder(
  genome_spec_or_paths: str | Sequence[str],
  data_dir: str | None,
  window_length: int,
  stride: int,
  max_n_fraction: float,
  *,
  cache_dir: str | None = None,
) -> GenomeWindows:
  """The builder for these settings (prepared or not); reads nothing but file hashes."""
  validate_window_params(window_length, stride, max_n_fraction)
  cache_dir = files.cache_root(cache_dir)
  if isinstance(genome_spec_or_paths, str):
    paths = genomes.genome_files(genome_spec_or_paths, cache_dir)
    spec = genome_spec_or_paths
  else:
    paths = [os.fspath(p) for p in genome_spec_or_paths]
    if not paths:
      raise DatasetConfigError("no FASTA files given")
    for p in paths:
      fasta.check_path(p)
    spec = ",".join(paths)
  digest = genomes.fingerprint(paths)
  name = (
    f"{_label(genome_spec_or_paths)}_{digest[:10]}_l{int(window_length)}_s{int(stride)}"
    f"_n{max_n_count(int(window_length), float(max_n_fraction))}"
  )
  config = GenomeWindowsConfig(
    name=name,
    description=f"{spec}: windows of {window_length}, stride {stride}",
    genome=spec,
    fasta_paths=tuple(os.path.abspath(p) for p in paths),
    genome_sha256=digest,
    window_length=int(window_length),
    stride=int(stride),
    max_n_fraction=float(max_n_fraction),
    cache_dir=cache_dir,
  )
  return _new_builder(config, data_dir or default_data_dir())


class _DropCustomConfigWarning(logging.Filter):
  """TFDS warns on every builder whose config is not in BUILDER_CONFIGS; ours never are."""

  def filter(self, record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Using custom data configuration")


def _new_builder(config: GenomeWindowsConfig, data_dir: str) -> GenomeWindows:
  absl_logger = logging.getLogger("absl")
  quiet = _DropCustomConfigWarning()
  absl_logger.addFilter(quiet)
  try:
    with _tfds_info_quiet():  # "Load dataset info from ..." on every open.
      return GenomeWindows(config=config, data_dir=data_dir, file_format="array_record")
  finally:
    absl_logger.removeFilter(quiet)


@dataclasses.dataclass
class RegionPlan:
  """The kept windows of one split region of one record."""

  file_index: int
  source: str
  record: str
  split: str
  start: int
  end: int
  candidates: int  # Windows that fit in the region before the N filter.
  window_starts: np.ndarray  # int64 starts (record coordinates) of the kept windows.


@dataclasses.dataclass(frozen=True)
class ShardPiece:
  """Windows [lo, hi) of one region's kept starts, written to one shard."""

  region_index: int
  lo: int
  hi: int


def windows_per_shard(window_length: int) -> int:
  return max(1, _SHARD_TOKEN_BYTES // window_length)


@dataclasses.dataclass
class WindowPlan:
  window_length: int
  stride: int
  max_n_count: int
  regions: list[RegionPlan]

  def windows(self, split: str) -> int:
    return sum(len(r.window_starts) for r in self.regions if r.split == split)

  def candidates(self, split: str) -> int:
    return sum(r.candidates for r in self.regions if r.split == split)

  def region_bases(self, split: str) -> int:
    return sum(r.end - r.start for r in self.regions if r.split == split)

  def shards(self, split: str, per_shard: int) -> list[list[ShardPiece]]:
    """The split's windows in genome order, cut into shards of `per_shard` windows (the last fewer).

    A shard may span regions, so a genome of many small contigs still gets few shards.
    """
    shards, current, filled = [], [], 0
    for index, region in enumerate(self.regions):
      if region.split != split:
        continue
      lo, n = 0, len(region.window_starts)
      while lo < n:
        hi = min(n, lo + per_shard - filled, lo + _PIECE_WINDOWS)
        current.append(ShardPiece(index, lo, hi))
        filled += hi - lo
        lo = hi
        if filled == per_shard:
          shards.append(current)
          current, filled = [], 0
    if current:
      shards.append(current)
    return shards

  def summary(self) -> dict[str, dict[str, int]]:
    """Per split: kept windows, windows dropped for N, bases in kept windows, region bases."""
    return {
      split: {
        "windows": self.windows(split),
        "dropped_n": self.candidates(split) - self.windows(split),
        "window_bases": self.windows(split) * self.window_length,
        "region_bases": self.region_bases(split),
      }
      for split in SPLITS
    }


def _kept_starts(
  f: fasta.IndexedFasta, record: fasta.FastaRecord, starts: np.ndarray, window_length: int, stride: int, max_n: int
) -> np.ndarray:
  if record.ambiguous == 0 or max_n >= window_length or len(starts) == 0:
    return starts  # No N in the record (known from the validation pass): nothing to count.
  kept = []
  per_block = max(1, _PLAN_BLOCK_BASES // stride)  # Bounds the memory of one N count.
  for i in range(0, len(starts), per_block):
    block = starts[i : i + per_block]
    lo, hi = int(block[0]), int(block[-1]) + window_length
    is_n = f.fetch(record.name, lo, hi) >= tokenizer.N_ID
    cumsum = np.concatenate([[0], np.cumsum(is_n, dtype=np.int64)])
    n_per_window = cumsum[block - lo + window_length] - cumsum[block - lo]
    kept.append(block[n_per_window <= max_n])
  return np.concatenate(kept)


def plan_windows(
  files: Sequence[fasta.IndexedFasta], window_length: int, stride: int, max_n_fraction: float
) -> WindowPlan:
  """Every kept window start of every split; raises DatasetConfigError if train is empty."""
  validate_window_params(window_length, stride, max_n_fraction)
  max_n = max_n_count(window_length, max_n_fraction)
  regions = []
  for file_index, f in enumerate(files):
    for record in f.records:
      for split, (start, end) in split_bounds(record.length).items():
        starts = np.arange(start, end - window_length + 1, stride, dtype=np.int64)
        kept = _kept_starts(f, record, starts, window_length, stride, max_n)
        regions.append(RegionPlan(file_index, f.source, record.name, split, start, end, len(starts), kept))
  plan = WindowPlan(window_length, stride, max_n, regions)
  if plan.windows("train") == 0:
    sources = ", ".join(f.source for f in files)
    if plan.candidates("train") == 0:
      longest = max((r for r in regions if r.split == "train"), key=lambda r: r.end - r.start)
      raise DatasetConfigError(
        f"{sources}: window_length={window_length} is longer than the train region of every "
        f"record; the longest, {longest.record!r} in {longest.source}, has "
        f"{longest.end - longest.start:,} train bases (90% of the record). Use a "
        f"window_length <= {longest.end - longest.start} or a longer genome."
      )
    raise DatasetConfigError(
      f"{sources}: all {plan.candidates('train'):,} train windows hold more than {max_n} N "
      f"bases (max_n_fraction={max_n_fraction}); the genome is (almost) all N. Check the "
      f"input, or raise max_n_fraction."
    )
  for split in SPLITS[1:]:
    if plan.windows(split) == 0:
      logging.warning(
        "genome %s: no %s windows of length %d (records too short or all N); the %s split is left out",
        ", ".join(f.source for f in files),
        split,
        window_length,
        split,
      )
  return plan


class GenomeWindows(tfds.core.ShardBasedBuilder):
  """Fixed-length token windows of a genome; configs come from `make_builder`.

  Shards are written one at a time in genome order, each from its own slice of the plan: TFDS's
  write-time shuffle would hold (or spill through TensorFlow) the whole corpus, and the loader
  shuffles by index at read time anyway.
  """

  VERSION = tfds.core.Version("2.0.0")
  RELEASE_NOTES = {
    "1.0.0": "Single-nucleotide windows; 90/5/5 split by position per record.",
    "2.0.0": "The same windows, stored in genome order in bounded-size shards (no write-time shuffle).",
  }

  def __init__(self, *args, **kwargs):
    self._plan: WindowPlan | None = None
    self._files: list[fasta.IndexedFasta] | None = None
    self._progress: Any = None
    super().__init__(*args, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config
    return tfds.core.DatasetInfo(
      builder=self,
      description=("Windows of genome tokens (A=0 C=1 G=2 T=3 N=4). " + config.description),
      features=tfds.features.FeaturesDict(
        {
          "tokens": tfds.features.Tensor(shape=(config.window_length,), dtype=np.uint8),
          "record": tfds.features.Text(),
          "start": tfds.features.Scalar(dtype=np.int64),
        }
      ),
      metadata=tfds.core.MetadataDict(),
    )

  def set_plan(self, files: list[fasta.IndexedFasta], plan: WindowPlan, progress: Any = None) -> None:
    """The plan to write; `progress` (a tqdm bar or None) is advanced once per written window."""
    self._files, self._plan, self._progress = files, plan, progress

  def _ensure_plan(self) -> None:
    if self._plan is None:
      config = self.builder_config
      files = genomes.open_genome(list(config.fasta_paths), config.cache_dir or None)
      self.set_plan(files, plan_windows(files, config.window_length, config.stride, config.max_n_fraction))

  def _shard_iterators_per_split(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Any]:
    del dl_manager  # Nothing to download: the genome is local.
    self._ensure_plan()
    config = self.builder_config
    self.info.metadata.update(
      {
        "genome": config.genome,
        "fasta_paths": list(config.fasta_paths),
        "genome_sha256": config.genome_sha256,
        "window_length": config.window_length,
        "stride": config.stride,
        "max_n_fraction": config.max_n_fraction,
        "max_n_count": self._plan.max_n_count,
        "split_rule": "per record: [0, 90%) train, [90%, 95%) validation, [95%, 100%) test",
        "splits": self._plan.summary(),
        "tokenizer": tokenizer.spec(),
      }
    )
    per_shard = windows_per_shard(config.window_length)
    return {
      split: [functools.partial(self._shard_examples, pieces) for pieces in self._plan.shards(split, per_shard)]
      for split in SPLITS
      if self._plan.windows(split) > 0
    }

  def _shard_examples(self, pieces: Sequence[ShardPiece]) -> Iterator[tuple[str, dict[str, Any]]]:
    length = self.builder_config.window_length
    for piece in pieces:
      region = self._plan.regions[piece.region_index]
      starts = region.window_starts[piece.lo : piece.hi]
      f = self._files[region.file_index]
      lo = int(starts[0])
      # One read per piece: a shard's windows are views of a few buffers, not one copy each.
      tokens = f.fetch(region.record, lo, int(starts[-1]) + length)
      for start in starts.tolist():
        yield (
          f"{region.record}:{start}",
          {
            "tokens": tokens[start - lo : start - lo + length],
            "record": region.record,
            "start": start,
          },
        )
      if self._progress is not None:
        self._progress.update(len(starts))

  @property
  def prepared(self) -> bool:
    return os.path.exists(os.path.join(self.data_dir, "dataset_info.json"))


def _make_data_dir(data_dir: str) -> list[str]:
  """Creates data_dir (returns the directories it created) or says clearly why it cannot."""
  data_dir = os.path.abspath(data_dir)
  probe = data_dir
  while not os.path.exists(probe):
    probe = os.path.dirname(probe)
  if not os.path.isdir(probe):
    raise DatasetConfigError(f"data_dir {data_dir}: {probe} is a file, not a directory; choose another --data_dir.")
  created = []
  path = data_dir
  while not os.path.exists(path):
    created.append(path)
    path = os.path.dirname(path)
  try:
    os.makedirs(data_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".write_probe.", dir=data_dir)
    os.close(fd)
    os.unlink(tmp)
  except OSError as e:
    _remove_empty_dirs(created)
    raise DatasetConfigError(
      f"data_dir {data_dir} is not a writable directory ({e.strerror}); choose another --data_dir."
    ) from None
  return created


def _remove_empty_dirs(paths: Sequence[str]) -> None:
  """Removes the given directories, deepest first, where they are empty."""
  for path in sorted(paths, key=len, reverse=True):
    try:
      os.rmdir(path)
    except OSError:
      pass


def prepare(
  genome_spec_or_paths: str | Sequence[str],
  data_dir: str | None,
  window_length: int,
  stride: int,
  max_n_fraction: float,
  *,
  cache_dir: str | None = None,
) -> GenomeWindows:
  """Builds the array_record shards if they do not exist yet; returns the (prepared) builder.

  Args:
    genome_spec_or_paths: a genome spec (see genomes.py) or a list of FASTA paths.
    data_dir: TFDS data directory; None or "" = default_data_dir().
    window_length: tokens per window (L).
    stride: bases between consecutive window starts (L = no overlap).
    max_n_fraction: windows with more than floor(max_n_fraction * L) N are dropped.
    cache_dir: genome cache (decompressed copies), default files.cache_root().

  Raises:
    GenomeInputError (and subclasses): bad FASTA, genome spec, window parameters or data_dir,
      always before anything is written.
  """
  builder = make_builder(genome_spec_or_paths, data_dir, window_length, stride, max_n_fraction, cache_dir=cache_dir)
  if builder.prepared:
    return builder
  config = builder.builder_config
  files = genomes.open_genome(list(config.fasta_paths), config.cache_dir)
  plan = plan_windows(files, config.window_length, config.stride, config.max_n_fraction)
  root = os.path.abspath(data_dir or default_data_dir())
  dataset_dir = os.path.join(root, DATASET_NAME)
  config_dir = os.path.join(dataset_dir, config.name)
  _remove_stale_builds(root, config_dir)
  total = sum(plan.windows(split) for split in SPLITS)
  _check_free_space(root, total * (config.window_length + _RECORD_OVERHEAD_BYTES))
  created = _make_data_dir(root)
  created += [d for d in (dataset_dir, config_dir) if not os.path.exists(d)]
  download_dir = tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=root)
  # Said once per build (a reused build says nothing): on a pod it shows which host built the shards.
  logging.info("Building %s/%s in %s: %d train windows.", DATASET_NAME, config.name, root, plan.windows("train"))
  progress = _Progress(total, f"prepare {config.name}")
  builder.set_plan(files, plan, progress)
  try:
    with _quiet_tfds():
      builder.download_and_prepare(
        download_dir=download_dir,
        download_config=tfds.download.DownloadConfig(try_download_gcs=False),
        file_format="array_record",
      )
  except BaseException as e:
    progress.close()
    shutil.rmtree(download_dir, ignore_errors=True)
    if builder.prepared:  # Another process finished the same build first: use it.
      return _reload(builder)
    _remove_empty_dirs(created)
    if isinstance(e, OSError) and not isinstance(e, tokenizer.GenomeInputError):
      raise DatasetConfigError(
        f"writing the shards under {config_dir} failed ({e.strerror or e}); free space or choose another --data_dir, "
        "then run again (nothing of this build is kept)."
      ) from e
    raise
  finally:
    shutil.rmtree(download_dir, ignore_errors=True)
    for f in files:
      f.close()
  progress.close()
  logging.info(
    "Wrote %d windows in %.0f s (%.0f windows/s).", total, progress.elapsed, total / max(progress.elapsed, 1e-9)
  )
  return _reload(builder)


class _Progress:
  """Windows written: a tqdm bar on a terminal, and a log line now and then where there is none (pods)."""

  def __init__(self, total: int, desc: str):
    self._total, self._done = total, 0
    self._started = self._logged = time.monotonic()
    self._bar = tqdm.tqdm(total=total, unit="windows", unit_scale=True, desc=desc, disable=None, file=sys.stderr)

  @property
  def elapsed(self) -> float:
    return time.monotonic() - self._started

  def update(self, n: int) -> None:
    self._done += n
    self._bar.update(n)
    now = time.monotonic()
    if self._bar.disable and now - self._logged >= _PROGRESS_LOG_SECONDS:
      self._logged = now
      rate = self._done / max(now - self._started, 1e-9)
      eta = tqdm.tqdm.format_interval((self._total - self._done) / max(rate, 1e-9))
      logging.info("prepare: %d / %d windows (%.0f windows/s, %s left).", self._done, self._total, rate, eta)

  def close(self) -> None:
    self._bar.close()


@contextlib.contextmanager
def _quiet_tfds():
  """Our progress replaces TFDS's bars and its per-shard log lines; warnings and errors still show."""
  tfds.disable_progress_bar()
  try:
    with _tfds_info_quiet(), contextlib.redirect_stdout(io.StringIO()):  # "Downloading and preparing dataset ..."
      yield
  finally:
    tfds.enable_progress_bar()


@contextlib.contextmanager
def _tfds_info_quiet():
  """TFDS's INFO lines (absl's logger) off for a while; its warnings and errors still show."""
  absl_logger = logging.getLogger("absl")
  previous = absl_logger.level
  absl_logger.setLevel(max(previous, logging.WARNING))
  try:
    yield
  finally:
    absl_logger.setLevel(previous)


def _remove_stale_builds(root: str, config_dir: str) -> None:
  """Removes what killed builds left (TFDS's incomplete.* shard directories, our temp directories).

  A live build touches its directory at every shard it writes, so one untouched for
  `_STALE_BUILD_SECONDS` is dead; a concurrent build of the same dataset is never removed.
  """
  leftovers = glob.glob(os.path.join(config_dir, "incomplete.*")) + glob.glob(os.path.join(root, _TMP_PREFIX + "*"))
  now = time.time()
  for path in leftovers:
    try:
      age = now - os.path.getmtime(path)
    except OSError:
      continue
    if age > _STALE_BUILD_SECONDS:
      logging.info("Removing %s, left by a build that did not finish.", path)
      shutil.rmtree(path, ignore_errors=True)


def _check_free_space(root: str, needed_bytes: int) -> None:
  probe = root
  while not os.path.exists(probe):  # data_dir may not exist yet: ask its file system.
    probe = os.path.dirname(probe)
  free = shutil.disk_usage(probe).free
  if free < needed_bytes:
    raise DatasetConfigError(
      f"data_dir {root} has {free / 1e9:.1f} GB free; the shards need about {needed_bytes / 1e9:.1f} GB. "
      "Free space or choose another --data_dir."
    )


def _reload(builder: GenomeWindows) -> GenomeWindows:
  """A fresh builder object reading the finished directory (the written DatasetInfo)."""
  return _new_builder(builder.builder_config, os.path.dirname(os.path.dirname(os.path.dirname(builder.data_dir))))


def load(
  genome_spec_or_paths: str | Sequence[str],
  data_dir: str | None,
  window_length: int,
  stride: int,
  max_n_fraction: float,
  *,
  cache_dir: str | None = None,
) -> GenomeWindows:
  """The prepared builder for these settings; a clear error if `prepare` has not run."""
  builder = make_builder(genome_spec_or_paths, data_dir, window_length, stride, max_n_fraction, cache_dir=cache_dir)
  if not builder.prepared:
    raise DatasetConfigError(
      f"no prepared shards for {builder.builder_config.genome} (L={window_length}, "
      f"stride={stride}, max_n_fraction={max_n_fraction}) under {builder.data_dir}; run "
      f"`python -m genome_transformer.prepare` (or dataset.prepare) first."
    )
  return builder
