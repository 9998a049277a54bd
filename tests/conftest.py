# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Shared pytest fixtures. Data fixtures (FASTA files, prepared shards) are prefixed `genome_`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
import gzip
import os
import shutil
import tempfile

import jax
import numpy as np
import pytest
import training_testing

# Implicit rank promotion hides shape bugs (a [B] added to a [B, L] broadcasts silently): fail on it.
jax.config.update("jax_numpy_rank_promotion", "raise")
# The tolerances here assume float32 products. On a GPU or TPU the backend's default is TF32 or bfloat16
# (the sub-linear gradients then differ from autodiff by up to 1.2%); CPUs compute float32 either way.
jax.config.update("jax_default_matmul_precision", "highest")

# A small genome that exercises the tokenizer policy: soft-masked (lowercase) stretches, an
# N run long enough to drop windows, and a few IUPAC codes. Window settings for its shards.
GENOME_SMALL_RECORDS = {"chrA": 6000, "chrB": 2500}
GENOME_SMALL_WINDOW = dict(window_length=64, stride=48, max_n_fraction=0.25)


def _format_fasta(records: Sequence[tuple[str, str]], width: int, newline: str) -> str:
  out = []
  for header, seq in records:
    out.append(">" + header)
    out.extend(seq[i : i + width] for i in range(0, len(seq), width))
  return newline.join(out) + newline


@pytest.fixture
def genome_write_fasta(tmp_path) -> Callable[..., str]:
  """write_fasta(records or raw text/bytes, name=..., width=60, newline='\\n', gz=False) -> path."""

  def write(
    records: Sequence[tuple[str, str]] | str | bytes,
    name: str = "genome.fa",
    width: int = 60,
    newline: str = "\n",
    gz: bool = False,
  ) -> str:
    if isinstance(records, (str, bytes)):
      data = records.encode() if isinstance(records, str) else records
    else:
      data = _format_fasta(records, width, newline).encode()
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return str(path)

  return write


def _random_sequence(rng: np.random.Generator, length: int) -> str:
  """ACGT with lowercase stretches, one N run and a few IUPAC codes."""
  seq = rng.choice(np.array(list("ACGT")), length)
  for start in rng.integers(0, length - 200, 3):
    seq[start : start + 150] = np.char.lower(seq[start : start + 150])
  run = length // 2
  seq[run : run + 300] = "N"
  for pos in rng.integers(0, length, 5):
    seq[pos] = rng.choice(list("RYKMSW"))
  return "".join(seq)


@pytest.fixture(scope="session")
def genome_cache_dir(tmp_path_factory) -> str:
  """One genome cache (decompressed copies of the shipped genomes) for the whole session."""
  return str(tmp_path_factory.mktemp("genome_cache"))


@pytest.fixture(scope="session")
def genome_small_fasta(tmp_path_factory) -> tuple[str, dict[str, str]]:
  """(path, {record: sequence}) of a two-record random genome, 8.5 kb."""
  rng = np.random.default_rng(20260101)
  seqs = {name: _random_sequence(rng, n) for name, n in GENOME_SMALL_RECORDS.items()}
  path = tmp_path_factory.mktemp("genome_small") / "small.fa"
  path.write_text(_format_fasta([(f"{k} test record", v) for k, v in seqs.items()], 70, "\n"))
  return str(path), seqs


@pytest.fixture(scope="session")
def genome_small_windows(genome_small_fasta, genome_cache_dir, tmp_path_factory):
  """The prepared `genome_windows` builder of genome_small_fasta (GENOME_SMALL_WINDOW)."""
  from genome_transformer.data import dataset  # pylint: disable=g-import-not-at-top

  data_dir = str(tmp_path_factory.mktemp("genome_small_tfds"))
  return dataset.prepare(genome_small_fasta[0], data_dir, cache_dir=genome_cache_dir, **GENOME_SMALL_WINDOW)


@pytest.fixture(scope="session")
def genome_small_window_settings() -> dict:
  """window_length, stride, max_n_fraction of genome_small_windows."""
  return dict(GENOME_SMALL_WINDOW)


# The trainer's real-process tests (test_train.py, test_bucket.py).


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> str:
  """The genome cache of the trainer processes."""
  return str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, cache_dir):
  """(workdir, finished process) of one uninterrupted run, made once: every killed, preempted or bucket run equals it."""
  workdir = tmp_path_factory.mktemp("reference") / "workdir"
  return workdir, training_testing.run(workdir, cache_dir)


@pytest.fixture(autouse=True, scope="module")
def _drop_compiled_executables():
  """Frees each test module's compiled XLA executables when the module ends.

  One pytest process compiles hundreds of programs, and each compiled CPU executable keeps its own
  memory mappings: past ~540 tests the process ran into the kernel's 65,530-mapping limit and XLA's
  compiler segfaulted (at test_sublinear's float64 component test, the same place every run).
  """
  yield
  jax.clear_caches()


# The fast tier (`python -m pytest -m "not slow" tests`) leaves out these files: real trainer and
# command-line processes (resume, preemption, two processes, the bucket emulator), the bundled releases'
# pinned scores, and the equivalence sweeps over every variant. CI runs every tier.
SLOW_FILES = frozenset(
  {
    "test_attention.py",
    "test_bucket.py",
    "test_cli_help.py",
    "test_export.py",
    "test_finetune.py",
    "test_inference.py",
    "test_init_from.py",
    "test_match.py",
    "test_multiprocess.py",
    "test_pretrained.py",
    "test_pretrained_io.py",
    "test_release.py",
    "test_sublinear.py",
    "test_train.py",
    "test_wheel.py",
  }
)


# One persistent compilation cache per test session, shared by the xdist workers and by every process a test
# starts (they inherit the variable): the real-process tests compile the same train step in each run they
# start, and the equivalence tests the same programs across files. A compiled program is the same program
# whether it comes from the cache or not, so no result changes; the directory goes when the session ends.
_CACHE_VARIABLE = "JAX_COMPILATION_CACHE_DIR"


def pytest_configure(config):
  if os.environ.get(_CACHE_VARIABLE) or hasattr(config, "workerinput"):
    return  # Set by the user, or by the session's main process before it started this worker.
  config.compilation_cache_dir = tempfile.mkdtemp(prefix="genome_transformer_test_jax_cache_")
  os.environ[_CACHE_VARIABLE] = config.compilation_cache_dir
  jax.config.update("jax_compilation_cache_dir", config.compilation_cache_dir)  # This process (-n 0) too.


def pytest_unconfigure(config):
  directory = getattr(config, "compilation_cache_dir", None)
  if directory:
    shutil.rmtree(directory, ignore_errors=True)
    del os.environ[_CACHE_VARIABLE]


def pytest_collection_modifyitems(config, items):
  del config
  for item in items:
    if item.path.name in SLOW_FILES:
      item.add_marker(pytest.mark.slow)
