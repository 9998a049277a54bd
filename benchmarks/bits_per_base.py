# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Held-out bits per base: released models against compressors and Markov models, same bases.

  python -m benchmarks.bits_per_base --model=bacteria4-slim --model=human-chrx-slim
  python -m benchmarks.bits_per_base --model=/path/to/export --cross_genome=fetch:pyrodigal-cdiphtheriae

For each model, on the test split of the genome it was trained on (the last 5% of each record, see
the README's split rule), and on the test split of every `--cross_genome` it was not trained on:
- the model: ln p of every A/C/G/T base of its record's test region given the bases before it
  within the model's training window W, the trainer's held-out protocol (pretrained.log_likelihood's
  default: half-overlapping windows of W, so no base is scored at a position the model never saw
  in training; W is recorded as `model_context`). The first base of each region has no context
  and is not scored: one base per record;
- gzip -9, bzip2 -9, xz -9e: the extra bits to compress the test text after the model's training
  text (conditional) and the test text alone (plain);
- adaptive order-k Markov models with counts from the model's training split, k = 1..16, and the
  best k (chosen on the test data itself, which flatters the baseline).
All figures count the same A/C/G/T bases (genome_transformer.baselines). Prints a markdown table
and writes benchmarks/results/bits_per_base.json.
"""

from __future__ import annotations

import functools
import math
import os
import platform
import time

from absl import app, flags
import numpy as np

from genome_transformer import pretrained
from genome_transformer.data import input_pipeline
from genome_transformer.evaluation import baselines
from genome_transformer.genomics import files

_MODELS = flags.DEFINE_multi_string("model", [], "Release name or export directory (repeatable).")
_CROSS = flags.DEFINE_multi_string(
  "cross_genome",
  ["fetch:pyrodigal-cdiphtheriae"],
  "Genome specs to score every model on as well (skipped for the model trained on it).",
)
_OUT = flags.DEFINE_string(
  "out", os.path.join(os.path.dirname(__file__), "results", "bits_per_base.json"), "JSON output path."
)
_MAX_ORDER = flags.DEFINE_integer("max_order", 16, "Largest Markov order tried.")
_MAX_TEST_BASES = flags.DEFINE_integer(
  "max_test_bases",
  0,
  "Score only the first N bases of each record's test region, for every method "
  "alike (0 = the whole region): CPU time for a large model on human chrX's 3.5 Mb test region.",
)
_CONTEXTS = flags.DEFINE_list(
  "contexts",
  [],
  "Scoring contexts in bases (comma-separated) to score every model with as well, in half-overlapping "
  "windows as at its default; each row's model_by_context maps context -> bits per base, its own window included.",
)
_SOFTMAX = flags.DEFINE_multi_string(
  "softmax_baseline",
  [],
  "MODEL=EXPORT: the softmax-attention model trained with MODEL's config "
  "(same data, steps and optimizer), scored as another baseline of MODEL's rows (repeatable).",
)

LN2 = math.log(2.0)


@functools.lru_cache(maxsize=None)  # Models trained on one genome share its splits: read each once.
def split_regions(genome: str, split: str) -> list[tuple[str, np.ndarray]]:
  return input_pipeline.heldout_sequences({"genome": genome}, split)


def model_bits(model: pretrained.PretrainedModel, regions, context: int = 0) -> tuple[float, int]:
  """Bits per base over all regions, each scored in windows of `context` bases (0: the training window)."""
  total, count = 0.0, 0
  for logp_L in model.log_likelihood({name: tokens for name, tokens in regions}, context=context):
    scored = np.isfinite(logp_L)
    total -= float(np.sum(logp_L[scored], dtype=np.float64))
    count += int(scored.sum())
  return total / count / LN2, count


def test_regions_of(genome: str) -> list[tuple[str, np.ndarray]]:
  limit = _MAX_TEST_BASES.value
  return [(name, tokens[:limit] if limit else tokens) for name, tokens in split_regions(genome, "test")]


_BASELINE_CACHE: dict[tuple[str, str], dict] = {}


def fixed_baselines(train_genome: str, train_regions, genome: str, test_regions) -> dict:
  """Compressors and Markov models for (training data, test data): computed once per pair."""
  key = (train_genome, genome)
  if key not in _BASELINE_CACHE:
    train_tokens = [tokens for _, tokens in train_regions]
    test_tokens = [tokens for _, tokens in test_regions]
    row = {}
    for name, figures in baselines.compressor_report(train_tokens, test_tokens).items():
      row[f"{name}_conditional"] = figures["conditional"]
      row[f"{name}_plain"] = figures["plain"]
    best_k, best_bpb, by_order = baselines.best_markov(train_tokens, test_tokens, ks=range(1, _MAX_ORDER.value + 1))
    row["markov_best_k"], row["markov_best"] = int(best_k), float(best_bpb)
    row["markov_by_k"] = {int(k): float(v) for k, v in by_order.items()}
    _BASELINE_CACHE[key] = row
  return dict(_BASELINE_CACHE[key])


def evaluate(
  model: pretrained.PretrainedModel,
  train_regions,
  genome: str,
  softmax_baseline: pretrained.PretrainedModel | None = None,
) -> dict:
  test_regions = test_regions_of(genome)
  row = {"genome": genome, "test_bases": int(sum(int(np.sum(t < 4)) for _, t in test_regions))}
  start = time.perf_counter()
  row["model"], row["model_scored_bases"] = model_bits(model, test_regions)
  row["model_context"] = model.window_length  # log_likelihood's default context.
  row["model_seconds"] = time.perf_counter() - start
  if _CONTEXTS.value:
    row["model_by_context"] = {str(model.window_length): row["model"]}
    for context in sorted({int(c) for c in _CONTEXTS.value} - {model.window_length}):
      row["model_by_context"][str(context)], _ = model_bits(model, test_regions, context)
  if softmax_baseline is not None:
    row["softmax_baseline"], _ = model_bits(softmax_baseline, test_regions)
  row.update(fixed_baselines(model.config.data.genome, train_regions, genome, test_regions))
  baseline_keys = [k for k in row if k.endswith(("_conditional", "_plain")) or k in ("markov_best", "softmax_baseline")]
  row["best_baseline"] = min(baseline_keys, key=lambda k: row[k])
  row["model_wins"] = bool(row["model"] < row[row["best_baseline"]])
  return row


def main(argv):
  del argv
  if not _MODELS.value:
    raise app.UsageError(f"Pass --model (releases found: {', '.join(pretrained.list_releases()) or 'none'}).")
  softmax_exports = {}
  for item in _SOFTMAX.value:
    name, sep, path = item.partition("=")
    if not sep or name not in _MODELS.value:
      raise app.UsageError(f"--softmax_baseline={item!r}: expected MODEL=EXPORT with MODEL one of --model.")
    softmax_exports[name] = path
  results = {
    "machine": platform.machine(),
    "cpus": os.cpu_count(),
    "max_test_bases": _MAX_TEST_BASES.value,
    "contexts": [int(c) for c in _CONTEXTS.value],
    "models": [],
  }
  for name in _MODELS.value:
    model = pretrained.load(name)
    own_genome = model.config.data.genome
    train_regions = split_regions(own_genome, "train")
    softmax = pretrained.load(softmax_exports[name]) if name in softmax_exports else None
    if softmax is not None and softmax.config.model.attention != "softmax":
      raise app.UsageError(f"--softmax_baseline for {name}: {softmax_exports[name]} is not a softmax model.")
    entry = {
      "model": name,
      "trained_on": own_genome,
      "num_params": model.num_params,
      "softmax_baseline": softmax_exports.get(name),
      "metadata": {
        k: model.metadata.get(k) for k in ("steps", "tokens_seen", "validation_bits_per_base", "test_bits_per_base")
      },
      "rows": [],
    }
    for genome in [own_genome] + [g for g in _CROSS.value if g != own_genome]:
      row = evaluate(model, train_regions, genome, softmax)
      row["own_genome"] = genome == own_genome
      entry["rows"].append(row)
      by_context = ", ".join(f"@{c} {b:.4f}" for c, b in row.get("model_by_context", {}).items())
      print(
        f"{name} on {genome}: model {row['model']:.4f}{f' ({by_context})' if by_context else ''}, best baseline "
        f"{row['best_baseline']} {row[row['best_baseline']]:.4f} (Markov k={row['markov_best_k']})",
        flush=True,
      )
    results["models"].append(entry)

  columns = [
    "model",
    "softmax_baseline",
    "gzip_conditional",
    "bzip2_conditional",
    "xz_conditional",
    "gzip_plain",
    "bzip2_plain",
    "xz_plain",
    "markov_best",
  ]
  print("\n| model | test genome | bases | " + " | ".join(columns) + " | best k | model wins |")
  print("|---|---|---|" + "---|" * (len(columns) + 2))
  for entry in results["models"]:
    for row in entry["rows"]:
      cells = " | ".join(f"{row[c]:.4f}" if c in row else "-" for c in columns)
      own = "" if row["own_genome"] else " (other organism)"
      print(
        f"| {entry['model']} | {row['genome']}{own} | {row['test_bases']:,} | {cells} | {row['markov_best_k']} | "
        f"{'yes' if row['model_wins'] else 'no'} |"
      )
  os.makedirs(os.path.dirname(_OUT.value), exist_ok=True)
  files.write_json_atomic(_OUT.value, results, indent=1)
  print(f"\nWrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
