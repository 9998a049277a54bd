# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Training-loader throughput (tokens/s) on a shipped genome, at realistic window/batch sizes.

  python -m benchmarks.loader_throughput [--genome=builtin:bacteria4] [--data_dir=DIR]

Prepares the shards once per setting (reused afterwards; the build time is printed), then times
`input_pipeline.make_train_iterator` batches after a warm-up. Compare the tokens/s with the
trainer's own tokens/s figure (its progress line): the loader must be far faster. Prints a
table and writes benchmarks/results/loader_throughput.json.
"""

import os
import platform
import tempfile
import time

from absl import app, flags

from genome_transformer.data import dataset, input_pipeline
from genome_transformer.genomics import files

_GENOME = flags.DEFINE_string("genome", "builtin:bacteria4", "Genome spec.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data dir (default: a temp dir).")
_CACHE_DIR = flags.DEFINE_string("cache_dir", None, "Genome cache (default: the user cache).")
_SECONDS = flags.DEFINE_float("seconds", 5.0, "Timed seconds per setting.")
# (window_length, batch_size_per_process, read_threads): the SLiM reference trains at L=1024
# (PTB) and 4096 (enwik8); batches here are per host.
SETTINGS = [(1024, 32, 2), (1024, 32, 0), (4096, 8, 2), (16384, 2, 2)]
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _measure(data_config, data_dir, batch, threads, seconds):
  iterator = input_pipeline.make_train_iterator(
    data_config,
    data_dir,
    batch_size_per_process=batch,
    seed=0,
    process_index=0,
    process_count=1,
    cache_dir=_CACHE_DIR.value,
    read_threads=threads,
  )
  for _ in range(5):
    next(iterator)
  batches = 0
  start = time.perf_counter()
  while time.perf_counter() - start < seconds:
    next(iterator)
    batches += 1
  elapsed = time.perf_counter() - start
  return batches / elapsed


def main(argv):
  del argv
  rows = []
  with tempfile.TemporaryDirectory() as tmp:
    data_dir = _DATA_DIR.value or tmp
    for length, batch, threads in SETTINGS:
      data_config = dict(
        genome=_GENOME.value, data_dir=data_dir, window_length=length, stride=length, max_n_fraction=0.5
      )
      start = time.perf_counter()
      builder = dataset.prepare(_GENOME.value, data_dir, length, length, 0.5, cache_dir=_CACHE_DIR.value)
      build_s = time.perf_counter() - start
      windows = builder.info.splits["train"].num_examples
      per_s = _measure(data_config, data_dir, batch, threads, _SECONDS.value)
      rows.append(
        {
          "window_length": length,
          "batch_size": batch,
          "read_threads": threads,
          "train_windows": windows,
          "prepare_seconds": build_s,
          "batches_per_s": per_s,
          "tokens_per_s": per_s * batch * length,
        }
      )
  print(f"genome {_GENOME.value}; one process, in-process reading (worker_count=0)")
  print(f"{'L':>7}{'batch':>7}{'threads':>9}{'windows':>10}{'prepare s':>11}{'batches/s':>11}{'tokens/s':>14}")
  for r in rows:
    print(
      f"{r['window_length']:>7}{r['batch_size']:>7}{r['read_threads']:>9}"
      f"{r['train_windows']:>10,}{r['prepare_seconds']:>11.1f}{r['batches_per_s']:>11.1f}"
      f"{r['tokens_per_s']:>14,.0f}"
    )
  print(
    "Training consumption: see the trainer's tokens/s progress line; the loader figures above "
    "are per host and must exceed it by far."
  )
  os.makedirs(RESULTS, exist_ok=True)
  out = os.path.join(RESULTS, "loader_throughput.json")
  files.write_json_atomic(
    out,
    {
      "genome": _GENOME.value,
      "machine": platform.processor() or platform.machine(),
      "cpus": os.cpu_count(),
      "rows": rows,
    },
    indent=2,
  )
  print(f"wrote {out}")


if __name__ == "__main__":
  app.run(main)
