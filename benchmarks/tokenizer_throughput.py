# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Tokenizer and FASTA-validation throughput; extrapolates to a 3 Gb (human-sized) genome.

  python -m benchmarks.tokenizer_throughput [--megabases=200] [--fasta_megabases=50]

Encodes a random soft-masked ACGTN sequence (str input, as pyfaidx returns it), with and
without the soft mask, reverse-complements and decodes it, and validates a written FASTA file
of --fasta_megabases with fasta.scan_fasta (the one full pass prepare makes over a new file).
Prints a table and writes benchmarks/results/tokenizer_throughput.json.
"""

import os
import platform
import tempfile
import time

from absl import app, flags
import numpy as np

from genome_transformer.genomics import (
  fasta,
  files,
  tokenizer,
)

_MEGABASES = flags.DEFINE_integer("megabases", 200, "Length of the random sequence (Mb).")
_FASTA_MEGABASES = flags.DEFINE_integer("fasta_megabases", 50, "FASTA file for the scan (Mb).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed repeats; the best is reported.")
HUMAN_BASES = 3.1e9
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _best_seconds(fn, repeats):
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    best = min(best, time.perf_counter() - start)
  return best


def main(argv):
  del argv
  n = _MEGABASES.value * 1_000_000
  rng = np.random.default_rng(0)
  chars_C = np.frombuffer(b"ACGTNacgtn", np.uint8)[rng.integers(0, 10, n)]
  text = chars_C.tobytes().decode("ascii")
  tokens_C, mask_C = tokenizer.encode_with_mask(text)
  cases = {
    "encode (str)": lambda: tokenizer.encode(text),
    "encode (bytes)": lambda: tokenizer.encode(chars_C),
    "encode_with_mask (str)": lambda: tokenizer.encode_with_mask(text),
    "reverse_complement": lambda: tokenizer.reverse_complement(tokens_C),
    "decode (with mask)": lambda: tokenizer.decode(tokens_C, mask_C),
  }
  rows = []
  for name, fn in cases.items():
    seconds = _best_seconds(fn, _REPEATS.value)
    rows.append(
      {
        "operation": name,
        "bases": n,
        "seconds": seconds,
        "mb_per_s": n / seconds / 1e6,
        "seconds_for_3.1gb": HUMAN_BASES / n * seconds,
      }
    )

  m = _FASTA_MEGABASES.value * 1_000_000
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "bench.fa")
    with open(path, "wb") as f:
      body = chars_C[:m].tobytes()
      f.write(b">bench\n" + b"\n".join(body[i : i + 60] for i in range(0, m, 60)) + b"\n")
    seconds = _best_seconds(lambda: fasta.scan_fasta(path), 1)
  rows.append(
    {
      "operation": "fasta.scan_fasta (validate file)",
      "bases": m,
      "seconds": seconds,
      "mb_per_s": m / seconds / 1e6,
      "seconds_for_3.1gb": HUMAN_BASES / m * seconds,
    }
  )

  print(f"{'operation':<34}{'bases':>14}{'seconds':>10}{'MB/s':>10}{'3.1 Gb (s)':>12}")
  for r in rows:
    print(
      f"{r['operation']:<34}{r['bases']:>14,}{r['seconds']:>10.3f}{r['mb_per_s']:>10.0f}{r['seconds_for_3.1gb']:>12.1f}"
    )
  os.makedirs(RESULTS, exist_ok=True)
  out = os.path.join(RESULTS, "tokenizer_throughput.json")
  files.write_json_atomic(
    out,
    {
      "machine": platform.processor() or platform.machine(),
      "cpus": os.cpu_count(),
      "numpy": np.__version__,
      "rows": rows,
    },
    indent=2,
  )
  print(f"wrote {out}")


if __name__ == "__main__":
  app.run(main)
