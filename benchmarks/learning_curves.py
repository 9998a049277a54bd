# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Plots training and held-out bits per base against tokens seen, from training workdirs.

  python benchmarks/learning_curves.py --run=bacteria4-slim=/work/runs/release_bacteria \
      --run=human-chrx-slim=/work/runs/release_human_chrx --out=pretrained/learning_curves.png

Reads each workdir's metrics.jsonl (the last line written for a step wins, as after a resume).
"""

from __future__ import annotations

import os

from absl import app
from absl import flags
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

from genome_transformer import metrics_writer

_RUNS = flags.DEFINE_multi_string("run", [], "LABEL=WORKDIR (repeatable).")
_OUT = flags.DEFINE_string("out", "pretrained/learning_curves.png", "PNG output path.")


def curves(workdir: str) -> dict[str, dict[int, float]]:
  by_step: dict[int, dict] = {}
  for row in metrics_writer.read_metrics(workdir):
    by_step.setdefault(row["step"], {}).update(row)
  series: dict[str, dict[int, float]] = {"train": {}, "validation": {}}
  for step, row in sorted(by_step.items()):
    if "bits_per_base" in row:
      series["train"][row.get("tokens_seen", step)] = row["bits_per_base"]
    if "validation_bits_per_base" in row:
      tokens = row.get("tokens_seen") or step
      series["validation"][tokens] = row["validation_bits_per_base"]
  return series


def main(argv):
  del argv
  if not _RUNS.value:
    raise app.UsageError("Pass --run=LABEL=WORKDIR at least once.")
  fig, ax = plt.subplots(figsize=(8, 4.5))
  for number, spec in enumerate(_RUNS.value):
    label, _, workdir = spec.partition("=")
    series = curves(workdir)
    color = f"C{number}"
    train = series["train"]
    ax.plot([t / 1e6 for t in train], list(train.values()), color=color, alpha=0.35, label=f"{label} train")
    held = series["validation"]
    ax.plot([t / 1e6 for t in held], list(held.values()), "o-", color=color, label=f"{label} validation")
  ax.axhline(2.0, color="gray", linestyle=":", linewidth=1)
  ax.set_xlabel("tokens seen (millions)")
  ax.set_ylabel("bits per base")
  ax.set_title("Learning curves of the released models")
  ax.grid(alpha=0.3)
  ax.legend(fontsize=8)
  os.makedirs(os.path.dirname(_OUT.value) or ".", exist_ok=True)
  fig.tight_layout()
  fig.savefig(_OUT.value, dpi=110)
  print(f"Wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
