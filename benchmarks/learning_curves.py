# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Plots training and held-out bits per base against tokens seen, one panel per training genome.

  python -m benchmarks.learning_curves --run=bacteria4-slim=pretrained/bacteria4-slim \
      --run=my-run=/path/to/workdir --out=/tmp/curves.png

pretrained/learning_curves.png: every release but the 16k match model, beside the softmax models trained
with the same configs (all bundled, so the figure rebuilds from a clone):

  python -m benchmarks.learning_curves \
      --run=bacteria4-slim=pretrained/bacteria4-slim \
      --run=bacteria4-slim-conv=pretrained/bacteria4-slim-conv \
      --run=bacteria4-slim-gpu=pretrained/bacteria4-slim-gpu \
      "--run=bacteria4 softmax baseline=benchmarks/baseline_models/bacteria4-softmax" \
      "--run=bacteria4-slim-conv's softmax twin=benchmarks/baseline_models/bacteria4-softmax-conv" \
      --run=human-chrx-slim=pretrained/human-chrx-slim \
      --run=human-chrx-slim-conv=pretrained/human-chrx-slim-conv \
      --run=human-chrx-slim-gpu=pretrained/human-chrx-slim-gpu \
      "--run=human softmax baseline=benchmarks/baseline_models/human-chrx-softmax" \
      "--run=human-chrx-slim-conv's softmax twin=benchmarks/baseline_models/human-chrx-softmax-conv" \
      --out=pretrained/learning_curves.png

A run is a training workdir (its metrics.jsonl) or an export directory (its train_metrics.jsonl,
bundled with the releases; its export.json names the genome). The last line written for a step
wins, as after a resume. Training bits per base are smoothed over 10 logged points.
"""

from __future__ import annotations

import json
import os

from absl import app, flags
import numpy as np

from benchmarks import common
from genome_transformer.release import export
from genome_transformer.training import metrics_writer

_RUNS = flags.DEFINE_multi_string("run", [], "LABEL=WORKDIR (repeatable).")
_OUT = flags.DEFINE_string("out", "pretrained/learning_curves.png", "PNG output path.")


def read_rows(path: str) -> list[dict]:
  bundled = os.path.join(path, export.TRAIN_METRICS_JSONL)
  if os.path.isfile(bundled):
    with open(bundled, encoding="utf-8") as f:
      return [json.loads(line) for line in f if line.strip()]
  return metrics_writer.read_metrics(path)


def genome_of(path: str) -> str:
  try:
    with open(os.path.join(path, "export.json"), encoding="utf-8") as f:
      return json.load(f)["config"]["data"]["genome"]
  except (OSError, KeyError, ValueError):
    return "(workdir)"


def curves(path: str) -> dict[str, dict[int, float]]:
  by_step: dict[int, dict] = {}
  for row in read_rows(path):
    by_step.setdefault(row["step"], {}).update(row)
  series: dict[str, dict[int, float]] = {"train": {}, "validation": {}, "validation_one_recurrence": {}}
  for step, row in sorted(by_step.items()):
    if "bits_per_base" in row:
      series["train"][row.get("tokens_seen", step)] = row["bits_per_base"]
    tokens = row.get("tokens_seen") or step
    if "validation_bits_per_base" in row:
      series["validation"][tokens] = row["validation_bits_per_base"]
    if "validation_bits_per_base_one_recurrence" in row:  # Scored before the windowed protocol.
      series["validation_one_recurrence"][tokens] = row["validation_bits_per_base_one_recurrence"]
  return series


def main(argv):
  del argv
  if not _RUNS.value:
    raise app.UsageError("Pass --run=LABEL=WORKDIR at least once.")
  runs = [spec.partition("=")[::2] for spec in _RUNS.value]
  genomes = list(dict.fromkeys(genome_of(path) for _, path in runs))
  fig, axes = common.pyplot().subplots(1, len(genomes), figsize=(6.5 * len(genomes), 4.5), squeeze=False)
  for number, (label, path) in enumerate(runs):
    ax = axes[0][genomes.index(genome_of(path))]
    series = curves(path)
    color = f"C{number}"
    tokens = np.array(list(series["train"]), dtype=float)
    bits = np.array(list(series["train"].values()), dtype=float)
    if len(bits) >= 10:
      bits = np.convolve(bits, np.ones(10) / 10, mode="valid")
      tokens = tokens[9:]
    ax.plot(tokens / 1e6, bits, color=color, alpha=0.45, label=f"{label} train (smoothed)")
    held = series["validation"]
    ax.plot([t / 1e6 for t in held], list(held.values()), "o-", color=color, label=f"{label} validation")
    old = series["validation_one_recurrence"]
    if old:
      ax.plot(
        [t / 1e6 for t in old],
        list(old.values()),
        "o--",
        color=color,
        markerfacecolor="none",
        label=f"{label} validation, one recurrence (earlier protocol)",
      )
  for ax, genome in zip(axes[0], genomes):
    ax.set_xscale("log")
    ax.set_xlabel("tokens seen (millions, log scale)")
    ax.set_ylabel("bits per base")
    ax.set_title(genome)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
  common.save_figure(fig, _OUT.value)
  print(f"Wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
