# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Pretrained genome language models: load a release or an export; score, embed, generate.

  from genome_transformer import pretrained
  model = pretrained.load("bacteria")  # the recommended bacterial release; "human"; any name of `list`
  model.bits_per_base("ATGAAACGCATTAGCACCACC")
  model.bits_per_base("my.fa")  # a FASTA path: one figure per record

The API is release/pretrained.py (its docstring has the conventions); `python -m
genome_transformer.pretrained` is its command line, release/pretrained_cli.py.
"""

from genome_transformer.release.pretrained import (
  RECOMMENDED,
  RELEASES_ENV,
  PretrainedInputError,
  PretrainedModel,
  ReleaseNotFoundError,
  Variant,
  list_releases,
  load,
  read_fasta,
  release_dirs,
  release_name,
  resolve,
)

__all__ = [
  "RECOMMENDED",
  "RELEASES_ENV",
  "PretrainedInputError",
  "PretrainedModel",
  "ReleaseNotFoundError",
  "Variant",
  "list_releases",
  "load",
  "read_fasta",
  "release_dirs",
  "release_name",
  "resolve",
]

if __name__ == "__main__":
  # Imported only when run: it defines absl flags, which a library import must not.
  from genome_transformer.release import pretrained_cli  # pylint: disable=g-import-not-at-top

  pretrained_cli.run()
