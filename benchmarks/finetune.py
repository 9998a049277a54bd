# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""What pretraining is worth on labelled DNA: baselines, from-scratch and pretrained backbones (docs/finetune.md).

  python -m benchmarks.finetune --tasks=uci-splice,uci-promoters --seeds=3
  python -m benchmarks.finetune --quick --tsv_task=NAME:train.tsv,validation.tsv,test.tsv --tsv_backbone=DIR

For every task (each chrx-splice flank, each fold), method and seed, one run:

  kmer_logreg    k-mer frequencies (k = 1..6) + logistic regression, C chosen on validation
  cnn            a small CNN on one-hot DNA from scratch (evaluation/task_baselines.py)
  slim_scratch   the SLiM backbone's architecture from random parameters, fully trained (random_init)
  slim_probe     the pretrained SLiM backbone frozen, a linear head trained
  slim_full      the pretrained SLiM backbone and head trained together
  softmax_probe  the softmax twin (same data, softmax attention) frozen, head trained
  softmax_full   the softmax twin fully trained

The backbones follow the task's genome: human tasks use release human-chrx-slim-window3 and its twin
benchmarks/baseline_models/human-chrx-softmax-conv4heads, bacterial tasks bacteria4-slim-conv and
benchmarks/baseline_models/bacteria4-softmax-conv. Every method is scored by release/finetune.py's
classification_metrics. The JSON holds each run (test and validation metrics, settings, wall time)
and is rewritten after every run; a rerun skips the runs it already holds at the same learning rates and budget.
"""

from __future__ import annotations

import math
import os
import shutil
import time

from absl import app, flags
import numpy as np
import tqdm

from benchmarks import common
from genome_transformer.evaluation import task_baselines
from genome_transformer.genomics import files
from genome_transformer.release import finetune
from genome_transformer.training import metrics_writer

METHODS = ("kmer_logreg", "cnn", "slim_scratch", "slim_probe", "slim_full", "softmax_probe", "softmax_full")
TASKS = ("uci-splice", "uci-promoters", "ecoli-coding", "chrx-splice")
BACKBONES = {
  "human": {"slim": "human-chrx-slim-window3", "softmax": "benchmarks/baseline_models/human-chrx-softmax-conv4heads"},
  "bacteria": {"slim": "bacteria4-slim-conv", "softmax": "benchmarks/baseline_models/bacteria4-softmax-conv"},
}
REPORTED = ("accuracy", "mcc", "macro_f1", "auroc")
# Fine-tuning budget per task, fixed for every backbone method (docs/finetune.md says how it was chosen):
# steps, batch, evaluation interval; max_train_rows subsamples the training file (0 = all rows).
BUDGETS = {
  "uci-splice": dict(num_steps=300, batch_size=32, eval_every=50, max_train_rows=0, max_eval_rows=0),
  "uci-promoters": dict(num_steps=100, batch_size=16, eval_every=20, max_train_rows=0, max_eval_rows=0),
  "ecoli-coding": dict(num_steps=150, batch_size=32, eval_every=25, max_train_rows=4000, max_eval_rows=1000),
  # The flanks share one budget (rows and steps), so that only the context differs between them.
  "chrx-splice-flank100": dict(num_steps=100, batch_size=8, eval_every=25, max_train_rows=1600, max_eval_rows=400),
  "chrx-splice-flank1000": dict(num_steps=100, batch_size=8, eval_every=25, max_train_rows=1600, max_eval_rows=400),
  "chrx-splice-flank8000": dict(num_steps=100, batch_size=8, eval_every=25, max_train_rows=1600, max_eval_rows=400),
}
# --long: a longer budget where the shared one is short for the task (results keyed VARIANT-long).
LONG_BUDGETS = {
  "chrx-splice-flank100": dict(num_steps=300, batch_size=16, eval_every=50, max_train_rows=4000, max_eval_rows=1000),
}
DEFAULT_BUDGET = dict(num_steps=300, batch_size=32, eval_every=50, max_train_rows=0, max_eval_rows=0)
QUICK_BUDGET = dict(num_steps=4, batch_size=8, eval_every=2, max_train_rows=64, max_eval_rows=32)
QUICK_CNN = task_baselines.CNNConfig(filters=16, filters2=16, hidden=16, num_steps=20, eval_every=10, patience=0)
QUICK_KS = (1, 2, 3)

_TASKS = flags.DEFINE_list("tasks", ["uci-splice", "uci-promoters"], f"Tasks of data/tasks.py: {', '.join(TASKS)}.")
_METHODS = flags.DEFINE_list("methods", list(METHODS), f"Methods, of {', '.join(METHODS)}.")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds 0..N-1 per task, fold and method.")
_FLANKS = flags.DEFINE_list("chrx_flanks", ["100", "1000"], "chrx-splice flanks (100, 1000, 8000).")
_QUICK = flags.DEFINE_bool("quick", False, "Tiny budgets: a smoke test of every method, not a measurement.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/finetune.json", "JSON path (the PNG goes beside it).")
_WORKDIR_ROOT = flags.DEFINE_string(
  "workdir_root", "/tmp/genome_transformer_finetune_bench", "Fine-tuning workdirs and subsampled files (not in git)."
)
_CACHE_DIR = flags.DEFINE_string("cache_dir", None, "data/tasks.py's download cache (default: its own).")
_PROBE_LR = flags.DEFINE_float("probe_lr", 1e-3, "Peak rate of the probe methods.")
_FULL_LR = flags.DEFINE_float("full_lr", 1e-3, "Peak rate of the full and from-scratch methods.")
_MARKDOWN = flags.DEFINE_bool("markdown", False, "Also print the tables as Markdown.")
_LONG = flags.DEFINE_bool("long", False, "Run the variants of LONG_BUDGETS at their long budget (as VARIANT-long).")
_TSV_TASK = flags.DEFINE_multi_string(
  "tsv_task", [], "NAME:TRAIN,VALIDATION,TEST: a task from your own TSV files instead of data/tasks.py."
)
_TSV_BACKBONE = flags.DEFINE_string(
  "tsv_backbone", "human", "Backbone of the --tsv_task tasks: a genome of BACKBONES, or an export dir (SLiM only)."
)


# ----------------------------------------------------------------------------------------------
# Tasks as (variant, fold, files, backbones).


def _variants() -> list[dict]:
  """Every (variant, fold) to run: name, fold, train/validation/test paths, the backbones by family."""
  out = []
  for spec in _TSV_TASK.value:
    name, _, paths = spec.partition(":")
    parts = paths.split(",")
    if not name or len(parts) != 3:
      raise app.UsageError(f"--tsv_task={spec!r}: give NAME:TRAIN,VALIDATION,TEST.")
    backbone = _TSV_BACKBONE.value
    backbones = BACKBONES[backbone] if backbone in BACKBONES else {"slim": backbone}
    out.append(dict(variant=name, fold="fold0", files=parts, backbones=backbones, budget_name=name))
  if _TSV_TASK.value:
    return out
  from genome_transformer.data import tasks  # pylint: disable=g-import-not-at-top

  for name in _TASKS.value:
    if name not in tasks.TASKS:
      raise app.UsageError(f"--tasks: {name!r} is not one of {', '.join(tasks.TASKS)}.")
    options = [{"flank": int(f)} for f in _FLANKS.value] if name == "chrx-splice" else [{}]
    for option in options:
      variant = name + "".join(f"-{k}{v}" for k, v in option.items())
      if _LONG.value and variant not in LONG_BUDGETS:
        continue
      budget_name = variant + ("-long" if _LONG.value else "")
      built = tasks.build(name, cache_dir=_CACHE_DIR.value, **option)
      for fold in built.folds:
        out.append(
          dict(
            variant=budget_name,
            fold=fold.name,
            files=[fold.train, fold.validation, fold.test],
            backbones=BACKBONES[_genome(tasks.TASKS[name])],
            budget_name=budget_name,
            card=built.card,
          )
        )
  return out


def _genome(spec) -> str:
  """The genome ("human" or "bacteria") a task of data/tasks.py fits: an attribute or a key of its entry."""
  return spec["genome"] if isinstance(spec, dict) else spec.genome


def _budget(variant: str) -> dict:
  if _QUICK.value:
    return QUICK_BUDGET
  if variant.endswith("-long"):
    return LONG_BUDGETS[variant.removesuffix("-long")]
  return BUDGETS.get(variant, DEFAULT_BUDGET)


def _subsampled(path: str, max_rows: int, directory: str) -> tuple[str, int]:
  """(path, rows): the file itself, or max_rows of its rows drawn with a fixed seed (every method and
  seed sees the same subset), written once under `directory`."""
  from genome_transformer.data import labelled  # pylint: disable=g-import-not-at-top

  data = labelled.read_labelled(path)
  if not max_rows or len(data) <= max_rows:
    return path, len(data)
  out = os.path.join(directory, f"{os.path.basename(path).split('.')[0]}_{max_rows}.tsv")
  if not os.path.exists(out):
    keep = np.sort(np.random.default_rng(0).choice(len(data), max_rows, replace=False))
    from genome_transformer.genomics import tokenizer  # pylint: disable=g-import-not-at-top

    lines = ["id\tsequence\tlabel"]
    lines += [f"{data.ids[i]}\t{tokenizer.decode(data.tokens[i])}\t{data.labels[i]}" for i in keep]
    os.makedirs(directory, exist_ok=True)
    files.write_bytes_atomic(out, ("\n".join(lines) + "\n").encode())
  return out, max_rows


# ----------------------------------------------------------------------------------------------
# One run.


def _finetune_config(method: str, init_from: str, paths: list[str], seed: int, budget: dict):
  config = common.load_config_module("configs/finetune.py").get_config()
  config.seed = seed
  config.init_from = init_from
  config.random_init = method == "slim_scratch"
  config.task.train, config.task.validation, config.task.test = paths
  t = config.train
  t.mode = "probe" if method.endswith("_probe") else "full"
  t.probe_learning_rate, t.full_learning_rate = _PROBE_LR.value, _FULL_LR.value
  t.batch_size, t.num_steps, t.eval_every = budget["batch_size"], budget["num_steps"], budget["eval_every"]
  t.warmup_steps = max(1, budget["num_steps"] // 10)
  t.checkpoint_every = budget["num_steps"]  # Resume granularity is one run; its workdir goes afterwards.
  t.log_every = budget["eval_every"]
  t.patience = 3
  return config


def _backbone_run(method: str, init_from: str, paths: list[str], seed: int, budget: dict, workdir: str) -> dict:
  config = _finetune_config(method, init_from, paths, seed, budget)
  shutil.rmtree(workdir, ignore_errors=True)  # A run is atomic here: a half-finished one starts again.
  start = time.perf_counter()
  test = finetune.finetune(config, workdir)
  seconds = time.perf_counter() - start
  best = {}
  for row in metrics_writer.read_metrics(workdir):
    if row.get("step") == test["best_step"] and "validation_loss" in row:
      best = {k[len("validation_") :]: v for k, v in row.items() if k.startswith("validation_")}
  shutil.rmtree(workdir, ignore_errors=True)
  settings = dict(
    init_from=init_from,
    random_init=bool(config.random_init),
    mode=config.train.mode,
    learning_rate=config.train.probe_learning_rate if config.train.mode == "probe" else config.train.full_learning_rate,
    **{k: config.train[k] for k in ("batch_size", "num_steps", "eval_every", "warmup_steps", "patience")},
    best_step=test["best_step"],
  )
  return dict(test=test, validation=best, train_seconds=seconds, settings=settings)


def _run(method: str, variant: dict, paths: list[str], seed: int, budget: dict, workdir: str) -> dict:
  """One run's record: test and validation metrics, wall time, settings."""
  if method == "kmer_logreg":
    ks = QUICK_KS if _QUICK.value else task_baselines.DEFAULT_KS
    result = task_baselines.kmer_logreg(*paths, seed=seed, ks=ks)
  elif method == "cnn":
    result = task_baselines.cnn(*paths, seed=seed, config=QUICK_CNN if _QUICK.value else task_baselines.CNNConfig())
  else:
    init_from = variant["backbones"][method.split("_")[0]]
    return _backbone_run(method, init_from, paths, seed, budget, workdir)
  validation, seconds, settings = result.pop("validation"), result.pop("train_seconds"), result.pop("settings")
  return dict(test=result, validation=validation, train_seconds=seconds, settings=settings)


# ----------------------------------------------------------------------------------------------
# Tables and the plot.


def _summary(values: list[float]) -> tuple[float, float, float]:
  values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
  if not values:
    return math.nan, math.nan, math.nan
  return float(np.mean(values)), float(np.min(values)), float(np.max(values))


def summarise(runs: dict) -> dict:
  """{variant: {method: {metric: (mean, min, max), "runs": n, "seconds": mean wall time}}}."""
  table: dict = {}
  for run in runs.values():
    table.setdefault(run["variant"], {}).setdefault(run["method"], []).append(run)
  out = {}
  for variant, by_method in table.items():
    out[variant] = {}
    for method in [m for m in METHODS if m in by_method]:
      group = by_method[method]
      row = {metric: _summary([r["test"].get(metric) for r in group]) for metric in REPORTED}
      row["runs"] = len(group)
      row["seconds"] = float(np.mean([r["train_seconds"] for r in group]))
      out[variant][method] = row
  return out


def print_tables(summary: dict) -> None:
  for variant, rows in summary.items():
    print(f"\n{variant}: test metrics, mean [min, max] over seeds and folds")
    print(f"{'method':<14}" + "".join(f"{m:>22}" for m in REPORTED) + f"{'runs':>6}{'s/run':>8}")
    for method, row in rows.items():
      cells = "".join(f"{f'{a:.3f} [{lo:.3f}, {hi:.3f}]':>22}" for a, lo, hi in (row[m] for m in REPORTED))
      print(f"{method:<14}{cells}{row['runs']:>6}{row['seconds']:>8.0f}")


def markdown_tables(summary: dict) -> str:
  """The tables of print_tables as Markdown, for docs/finetune.md."""
  out = []
  for variant, rows in summary.items():
    out += [f"### {variant}", "", "| method | " + " | ".join(REPORTED) + " | runs | s/run |"]
    out.append("|---" * (len(REPORTED) + 3) + "|")
    for method, row in rows.items():
      cells = " | ".join(f"{a:.3f} [{lo:.3f}, {hi:.3f}]" for a, lo, hi in (row[m] for m in REPORTED))
      out.append(f"| {method} | {cells} | {row['runs']} | {row['seconds']:.0f} |")
    out.append("")
  return "\n".join(out)


def plot(summary: dict, path: str) -> None:
  plt = common.pyplot()
  variants = list(summary)
  fig, axes = plt.subplots(1, len(variants), figsize=(4.5 * len(variants), 4), squeeze=False)
  for ax, variant in zip(axes[0], variants):
    rows = summary[variant]
    x = np.arange(len(rows))
    for offset, metric in ((-0.2, "accuracy"), (0.2, "mcc")):
      mean = np.array([rows[m][metric][0] for m in rows])
      low = mean - np.array([rows[m][metric][1] for m in rows])
      high = np.array([rows[m][metric][2] for m in rows]) - mean
      ax.bar(x + offset, mean, 0.4, yerr=[low, high], capsize=3, label=metric)
    ax.set_xticks(x, list(rows), rotation=45, ha="right")
    ax.set_title(variant)
    ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.0)
    ax.grid(axis="y", alpha=0.3)
  axes[0][0].set_ylabel("test metric (bars: range over seeds, folds)")
  axes[0][0].legend(loc="lower left")
  common.save_figure(fig, path)
  plt.close(fig)


# ----------------------------------------------------------------------------------------------


def _stale(record: dict, method: str, budget: dict) -> bool:
  """A held backbone run trained at another peak rate or budget than asked for now is run again."""
  if method in ("kmer_logreg", "cnn"):
    return False
  settings = record["settings"]
  wanted = _PROBE_LR.value if method.endswith("_probe") else _FULL_LR.value
  same_budget = all(settings[k] == budget[k] for k in ("num_steps", "batch_size", "eval_every"))
  return not (math.isclose(settings["learning_rate"], wanted) and same_budget)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  for method in _METHODS.value:
    if method not in METHODS:
      raise app.UsageError(f"--methods: {method!r} is not one of {', '.join(METHODS)}.")
  out_path = _OUT.value
  results = files.read_json(out_path) if os.path.exists(out_path) else None
  results = results or {"runs": {}}
  runs = results["runs"]
  variants = _variants()
  todo = []
  for variant in variants:
    for method in _METHODS.value:
      if method not in ("kmer_logreg", "cnn") and method.split("_")[0] not in variant["backbones"]:
        continue  # A --tsv_backbone export has no softmax twin.
      for seed in range(_SEEDS.value):
        key = f"{variant['variant']}/{variant['fold']}/{method}/seed{seed}"
        if key not in runs or _stale(runs[key], method, _budget(variant["budget_name"])):
          todo.append((key, variant, method, seed))
  print(f"{len(todo)} to run, {sum(1 for _ in runs)} already in {out_path}", flush=True)
  for key, variant, method, seed in tqdm.tqdm(todo, desc="runs"):
    budget = _budget(variant["budget_name"])
    scratch = os.path.join(_WORKDIR_ROOT.value, variant["variant"], variant["fold"])
    train, rows = _subsampled(variant["files"][0], budget["max_train_rows"], scratch)
    validation, _ = _subsampled(variant["files"][1], budget["max_eval_rows"], scratch)
    test, _ = _subsampled(variant["files"][2], budget["max_eval_rows"], scratch)
    record = _run(method, variant, [train, validation, test], seed, budget, os.path.join(scratch, method))
    record.update(
      variant=variant["variant"], fold=variant["fold"], method=method, seed=seed, train_rows=rows, quick=_QUICK.value
    )
    runs[key] = record
    tqdm.tqdm.write(
      f"{key}: accuracy {record['test']['accuracy']:.3f}  mcc {record['test']['mcc']:.3f}  "
      f"{record['train_seconds']:.0f} s"
    )
    common.write_json(out_path, results)
  summary = summarise(runs)
  print(markdown_tables(summary) if _MARKDOWN.value else "", end="")
  print_tables(summary)
  results["summary"] = summary
  common.write_json(out_path, results)
  if summary:
    plot(summary, os.path.splitext(out_path)[0] + ".png")


if __name__ == "__main__":
  app.run(main)
