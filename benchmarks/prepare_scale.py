# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Preparing a human-size genome: wall time, peak memory and windows/s, then the loader and training on it.

  python -m benchmarks.prepare_scale [--scale=1.0] [--work_dir=DIR] [--data_from=configs/hg38_tpu.py]

Writes a synthetic genome with hg38's 24 chromosome lengths times --scale (random ACGT, N
telomeres and one N gap per chromosome, 60-base lines, a plain .fa; made here, never committed),
then measures, each as a user runs it:
  1. `python -m genome_transformer.prepare` in a fresh data dir: wall time, peak RSS, windows/s,
     shard bytes on disk;
  2. the training loader's start-up on the built shards (builder opened, first batch read);
  3. `python -m genome_transformer.main` on it (configs/tiny.py's model, the data settings here),
     a few steps;
  4. the two-process path: two `main.py --distributed` processes on 127.0.0.1 with a fresh
     data dir (process 0 builds, the other waits, both train).
--data_from takes the window settings from a config file's data section (e.g. the hg38 TPU
config) instead of --window_length/--stride/--max_n_fraction. Prints a table and writes
benchmarks/results/prepare_scale[_TAG].json. The story is in docs/data.md.
"""

import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from absl import app, flags
import numpy as np

from benchmarks import common
from genome_transformer.data import dataset, input_pipeline
from genome_transformer.genomics import files

_SCALE = flags.DEFINE_float("scale", 1.0, "Chromosome lengths are hg38's times this.")
_WORK_DIR = flags.DEFINE_string("work_dir", None, "Genome, shards and workdirs go here (default: a temp dir).")
_DATA_FROM = flags.DEFINE_string("data_from", None, "Config file whose data section sets the window settings.")
_WINDOW_LENGTH = flags.DEFINE_integer("window_length", 1024, "Tokens per window.")
_STRIDE = flags.DEFINE_integer("stride", None, "Bases between window starts (default: window_length).")
_MAX_N_FRACTION = flags.DEFINE_float("max_n_fraction", 0.5, "Windows with more N than this fraction are dropped.")
_TRAIN_STEPS = flags.DEFINE_integer("train_steps", 3, "Training steps of each main.py run.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 8, "Windows per training step (split over two processes in 4.).")
_SKIP_TWO_PROCESS = flags.DEFINE_bool("skip_two_process", False, "Leave out the two-process run (a second build).")
_TAG = flags.DEFINE_string("tag", "", "Suffix of the results file name.")

# GRCh38 primary chromosomes (UCSC hg38 chrom.sizes), 3,088,269,832 bases in all.
HG38_LENGTHS = {
  "chr1": 248956422,
  "chr2": 242193529,
  "chr3": 198295559,
  "chr4": 190214555,
  "chr5": 181538259,
  "chr6": 170805979,
  "chr7": 159345973,
  "chr8": 145138636,
  "chr9": 138394717,
  "chr10": 133797422,
  "chr11": 135086622,
  "chr12": 133275309,
  "chr13": 114364328,
  "chr14": 107043718,
  "chr15": 101991189,
  "chr16": 90338345,
  "chr17": 83257441,
  "chr18": 80373285,
  "chr19": 58617616,
  "chr20": 64444167,
  "chr21": 46709983,
  "chr22": 50818468,
  "chrX": 156040895,
  "chrY": 57227415,
}
TELOMERE_N = 10_000
GAP_N = 1_000_000  # One assembly gap per chromosome, at 40% of its length.
LINE_WIDTH = 60
RSS_POLL_SECONDS = 0.2
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "benchmarks", "results")


def write_synthetic_genome(path: str, scale: float, seed: int = 0) -> int:
  """Writes the genome (temp file, then rename); returns its bases. Gaps and telomeres scale too."""
  rng = np.random.default_rng(seed)
  letters = np.frombuffer(b"ACGT", np.uint8)
  total = 0
  tmp = path + ".tmp"
  with open(tmp, "wb") as out:
    for name, hg38_length in HG38_LENGTHS.items():
      n = max(int(hg38_length * scale), 1000)
      seq = letters[rng.integers(0, 4, n, dtype=np.uint8)]
      telomere, gap = min(TELOMERE_N, n // 10), min(max(int(GAP_N * scale), 1), n // 10)
      seq[:telomere] = seq[n - telomere :] = ord("N")
      seq[int(n * 0.4) : int(n * 0.4) + gap] = ord("N")
      out.write(f">{name} synthetic, hg38 length x {scale:g}\n".encode())
      full = n // LINE_WIDTH * LINE_WIDTH
      lines = np.empty((full // LINE_WIDTH, LINE_WIDTH + 1), np.uint8)
      lines[:, :LINE_WIDTH] = seq[:full].reshape(-1, LINE_WIDTH)
      lines[:, LINE_WIDTH] = ord("\n")
      out.write(lines.tobytes())
      if n > full:
        out.write(seq[full:].tobytes() + b"\n")
      total += n
  os.replace(tmp, path)
  return total


def _window_settings() -> tuple[int, int, float]:
  if _DATA_FROM.value:
    data = common.load_config_module(_DATA_FROM.value).get_config().data
    return int(data.window_length), int(data.stride), float(data.max_n_fraction)
  length = _WINDOW_LENGTH.value
  return length, _STRIDE.value or length, _MAX_N_FRACTION.value


def _timed_process(command: list[str], env: dict, log_path: str) -> dict:
  """Runs one process to its end; wall time, peak RSS (this process alone) and exit status.

  The peak is the kernel's high-water mark of the process's own memory, polled: the rusage of a
  child counts the memory it shared with this (larger) process between fork and exec.
  """
  start = time.perf_counter()
  peak_kb = 0
  with open(log_path, "w", encoding="utf-8") as log:
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    while process.poll() is None:
      peak_kb = max(peak_kb, _high_water_kb(process.pid))
      time.sleep(RSS_POLL_SECONDS)
  return {
    "seconds": time.perf_counter() - start,
    "peak_rss_gb": peak_kb * 1024 / 1e9,
    "rc": process.returncode,
  }


def _high_water_kb(pid: int) -> int:
  try:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
      for line in f:
        if line.startswith("VmHWM:"):
          return int(line.split()[1])
  except OSError:  # Exited between poll() and the read.
    pass
  return 0


def _dir_bytes(path: str) -> int:
  return sum(os.path.getsize(os.path.join(d, f)) for d, _, names in os.walk(path) for f in names)


def _free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _train_command(genome: str, data_dir: str, workdir: str, settings, batch_size: int) -> list[str]:
  length, stride, max_n_fraction = settings
  return [
    sys.executable,
    "-m",
    "genome_transformer.main",
    f"--config={REPO}/configs/tiny.py",
    f"--workdir={workdir}",
    f"--config.data.genome={genome}",
    f"--config.data.data_dir={data_dir}",
    f"--config.data.window_length={length}",
    f"--config.data.stride={stride}",
    f"--config.data.max_n_fraction={max_n_fraction}",
    f"--config.train.batch_size={batch_size}",
    f"--config.train.num_steps={_TRAIN_STEPS.value}",
    f"--config.train.chunk_size={min(length, 2048)}",
    f"--config.train.warmup_steps={_TRAIN_STEPS.value // 2}",
    f"--config.train.eval_every={_TRAIN_STEPS.value}",
    f"--config.train.checkpoint_every={_TRAIN_STEPS.value}",
    f"--config.eval.chunk_size={min(length, 2048)}",
  ]


def _losses(workdir: str) -> list[float]:
  return [row["loss"] for row in common.read_metrics(workdir) if "loss" in row]


def main(argv):
  del argv
  settings = _window_settings()
  length, stride, max_n_fraction = settings
  work = _WORK_DIR.value or tempfile.mkdtemp(prefix="prepare_scale.")
  os.makedirs(work, exist_ok=True)
  cache_dir = os.path.join(work, "cache")
  env = dict(os.environ, GENOME_TRANSFORMER_CACHE=cache_dir, JAX_PLATFORMS="cpu")
  genome = os.path.join(work, f"hg38_synthetic_x{_SCALE.value:g}.fa")
  start = time.perf_counter()
  bases = write_synthetic_genome(genome, _SCALE.value)
  result = {
    "scale": _SCALE.value,
    "bases": bases,
    "fasta_bytes": os.path.getsize(genome),
    "window_length": length,
    "stride": stride,
    "max_n_fraction": max_n_fraction,
    "genome_write_seconds": time.perf_counter() - start,
    "machine": platform.processor() or platform.machine(),
    "cpus": os.cpu_count(),
  }
  print(f"synthetic genome: {bases:,} bases in {result['genome_write_seconds']:.0f} s -> {genome}")

  data_dir = os.path.join(work, "tfds")
  shutil.rmtree(data_dir, ignore_errors=True)
  prepare = _timed_process(
    [
      sys.executable,
      "-m",
      "genome_transformer.prepare",
      f"--fasta={genome}",
      f"--data_dir={data_dir}",
      f"--window_length={length}",
      f"--stride={stride}",
      f"--max_n_fraction={max_n_fraction}",
    ],
    env,
    os.path.join(work, "prepare.log"),
  )
  result["prepare"] = prepare
  print(f"prepare: rc {prepare['rc']}, {prepare['seconds']:.0f} s, peak RSS {prepare['peak_rss_gb']:.2f} GB")
  if prepare["rc"] != 0:
    print(open(os.path.join(work, "prepare.log"), encoding="utf-8").read()[-3000:])
    sys.exit(1)

  start = time.perf_counter()
  builder = dataset.load(genome, data_dir, length, stride, max_n_fraction, cache_dir=cache_dir)
  windows = {split: info.num_examples for split, info in builder.info.splits.items()}
  prepare["windows"] = windows
  prepare["windows_per_s"] = sum(windows.values()) / prepare["seconds"]
  prepare["shard_bytes"] = _dir_bytes(builder.data_dir)
  prepare["shards"] = {split: len(info.shard_lengths) for split, info in builder.info.splits.items()}
  data_config = dict(
    genome=genome, data_dir=data_dir, window_length=length, stride=stride, max_n_fraction=max_n_fraction
  )
  iterator = input_pipeline.make_train_iterator(
    data_config, data_dir, batch_size_per_process=_BATCH_SIZE.value, seed=0, process_index=0, process_count=1,
    cache_dir=cache_dir,
  )  # fmt: skip
  next(iterator)
  result["loader_first_batch_seconds"] = time.perf_counter() - start
  print(f"loader: first batch {result['loader_first_batch_seconds']:.1f} s after opening the shards")

  workdir = os.path.join(work, "train")
  shutil.rmtree(workdir, ignore_errors=True)
  train = _timed_process(
    _train_command(genome, data_dir, workdir, settings, _BATCH_SIZE.value), env, os.path.join(work, "train.log")
  )
  train["losses"] = _losses(workdir)
  result["train"] = train
  print(f"main.py: rc {train['rc']}, {train['seconds']:.0f} s, losses {train['losses']}")

  if not _SKIP_TWO_PROCESS.value:
    pair_data_dir = os.path.join(work, "tfds_two_process")
    shutil.rmtree(pair_data_dir, ignore_errors=True)
    port = _free_port()
    pair_env = dict(env, JAX_COORDINATOR_BIND_ADDRESS=f"127.0.0.1:{port}")
    processes, logs = [], []
    start = time.perf_counter()
    for i in range(2):
      pair_workdir = os.path.join(work, "train_two_process")
      command = _train_command(genome, pair_data_dir, pair_workdir, settings, _BATCH_SIZE.value) + [
        "--distributed",
        f"--coordinator_address=127.0.0.1:{port}",
        "--num_processes=2",
        f"--process_id={i}",
      ]
      logs.append(os.path.join(work, f"train_two_process_{i}.log"))
      with open(logs[-1], "w", encoding="utf-8") as log:
        processes.append(subprocess.Popen(command, env=pair_env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO))
    rcs = [p.wait() for p in processes]
    result["two_process"] = {
      "seconds": time.perf_counter() - start,
      "rc": rcs,
      "losses": _losses(os.path.join(work, "train_two_process")),
    }
    print(f"two processes: rc {rcs}, {result['two_process']['seconds']:.0f} s (build included)")

  print()
  print(f"{'genome':<28}{'L':>8}{'stride':>8}{'windows':>12}{'prepare':>10}{'peak RSS':>10}{'windows/s':>11}"
        f"{'shards':>10}{'loader':>8}{'train rc':>9}{'2-proc rc':>10}")  # fmt: skip
  two = result.get("two_process", {}).get("rc", "-")
  print(
    f"{f'{bases / 1e9:.2f} Gb (x{_SCALE.value:g})':<28}{length:>8}{stride:>8}{sum(windows.values()):>12,}"
    f"{prepare['seconds']:>9.0f}s{prepare['peak_rss_gb']:>8.2f}GB{prepare['windows_per_s']:>11,.0f}"
    f"{prepare['shard_bytes'] / 1e9:>8.2f}GB{result['loader_first_batch_seconds']:>7.1f}s{train['rc']:>9}"
    f"{str(two):>10}"
  )
  os.makedirs(RESULTS, exist_ok=True)
  out = os.path.join(RESULTS, f"prepare_scale{'_' + _TAG.value if _TAG.value else ''}.json")
  files.write_json_atomic(out, result, indent=2)
  print(f"wrote {out}")
  if train["rc"] != 0 or any(result.get("two_process", {}).get("rc", [])):
    sys.exit(1)


if __name__ == "__main__":
  app.run(main)
