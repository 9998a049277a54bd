# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Builds the TFDS `genome_windows` shards for a genome (the CLI over `dataset.prepare`).

  python -m genome_transformer.prepare --genome=builtin:bacteria4 --data_dir=DIR
  python -m genome_transformer.prepare --fasta=a.fa --fasta=b.fa.gz --data_dir=DIR \
      --window_length=1024 --stride=1024 --max_n_fraction=0.5

Prints, per split, the windows written (and dropped for N) and their bases. Reuses existing
shards for the same genome content and window settings. On bad input it prints one error line
naming the file (and line/record where there is one), exits with status 1, and leaves nothing
half-written under --data_dir.
"""

from __future__ import annotations

from collections.abc import Sequence
import sys

from absl import app, flags

from genome_transformer import cli
from genome_transformer.data import dataset
from genome_transformer.genomics import tokenizer
from genome_transformer.genomics.download import FetchError

_FASTA = flags.DEFINE_multi_string("fasta", [], "A FASTA file (plain or gzipped).")
_GENOME = flags.DEFINE_string(
  "genome", None, "A genome spec instead of --fasta, e.g. builtin:bacteria4, builtin:ecoli, or comma-separated paths."
)
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data directory for the shards.")
_CACHE_DIR = flags.DEFINE_string(
  "cache_dir", None, "Genome cache (default $GENOME_TRANSFORMER_CACHE or ~/.cache/genome_transformer)."
)
_WINDOW_LENGTH = flags.DEFINE_integer("window_length", 1024, "Tokens per window (L).")
_STRIDE = flags.DEFINE_integer("stride", None, "Bases between window starts; default = window_length (no overlap).")
_MAX_N_FRACTION = flags.DEFINE_float(
  "max_n_fraction", 0.5, "Drop windows with more than floor(max_n_fraction * L) N bases; in [0, 1]."
)


def summary_table(builder: dataset.GenomeWindows) -> str:
  """What a prepared builder holds, one line per split."""
  meta = builder.info.metadata
  lines = [
    f"genome:   {meta['genome']}",
    f"shards:   {builder.data_dir}",
    f"windows:  L={meta['window_length']} stride={meta['stride']} "
    f"max N per window={meta['max_n_count']} (max_n_fraction={meta['max_n_fraction']})",
    f"{'split':<11}{'windows':>12}{'dropped(N)':>12}{'window tokens':>15}{'split bases':>15}",
  ]
  for split, row in meta["splits"].items():
    lines.append(
      f"{split:<11}{row['windows']:>12,}{row['dropped_n']:>12,}{row['window_bases']:>15,}{row['region_bases']:>15,}"
    )
  return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  if bool(_FASTA.value) == bool(_GENOME.value):
    raise app.UsageError("give either --fasta (one or more) or --genome, not both or neither")
  if not _DATA_DIR.value:
    raise app.UsageError("--data_dir is required")
  genome = list(_FASTA.value) if _FASTA.value else _GENOME.value
  stride = _WINDOW_LENGTH.value if _STRIDE.value is None else _STRIDE.value
  try:
    existed = dataset.make_builder(
      genome, _DATA_DIR.value, _WINDOW_LENGTH.value, stride, _MAX_N_FRACTION.value, cache_dir=_CACHE_DIR.value
    ).prepared
    builder = dataset.prepare(
      genome, _DATA_DIR.value, _WINDOW_LENGTH.value, stride, _MAX_N_FRACTION.value, cache_dir=_CACHE_DIR.value
    )
  except (tokenizer.GenomeInputError, FetchError, OSError) as e:
    print(f"prepare: error: {e}", file=sys.stderr)
    sys.exit(1)
  print("reused existing shards" if existed else "wrote new shards")
  print(summary_table(builder))


COMMAND = cli.Command(
  usage="(--fasta=FILE... | --genome=SPEC) --data_dir=DIR [flags]",
  summary="Writes a genome's training windows as TFDS shards, split per record into train, validation and test.",
  flags=["fasta", "genome", "data_dir", "window_length", "stride", "max_n_fraction", "cache_dir"],
  examples=[
    "{prog} --genome=builtin:bacteria4 --data_dir=/tmp/data",
    "{prog} --fasta=a.fa --fasta=b.fa.gz --data_dir=/tmp/data --window_length=1024 --stride=512",
  ],
)


def run(argv: Sequence[str] | None = None, prog: str = "python -m genome_transformer.prepare") -> None:
  cli.run(main, COMMAND, prog=prog, argv=argv)
