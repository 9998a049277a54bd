# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Issue 12's ablation: each model variant of configs/ablation.py trained at an equal budget, side by side.

Each variant is one run of the trainer (`python -m genome_transformer.main
--config=configs/ablation.py:VARIANT --workdir=WORKDIR/VARIANT`), one after another, so that the runs
share the machine fairly; a run that already finished is read, not repeated, and an interrupted one
resumes from its checkpoint. For each variant the table gives the held-out bits per base (test and
validation, windowed protocol) after the same tokens; the validation point reached at equal training
time (the fastest run's whole training time; a slower run is read at its last validation point within
it); training tokens/s on this machine; parameters; the compiled memory of one training step.
Training time is tokens / (tokens/s), the tokens/s measured by --speed_steps alone on the machine
(the runs' own logged throughput is noisy when they share it); with --speed_steps, variants with no run
in WORKDIR are timed too, beside the others ("timed_only" in the JSON).

  python -m benchmarks.ablation --workdir=/tmp/ablation                      # every variant
  python -m benchmarks.ablation --workdir=/tmp/ablation --variants=faithful,conv4
  python -m benchmarks.ablation --workdir=/tmp/ablation --collect_only --speed_steps=10  # table
  python -m benchmarks.ablation --workdir=/tmp/ablation --variants=conv4,softmax+conv4 --seeds=0,1,2

With --seeds each variant is trained once per seed (config.seed: parameter init, data order, feature
draws); the config's own seed reuses the run in WORKDIR/VARIANT, another seed N trains in
WORKDIR/VARIANT@seedN, and a second table gives each variant's mean and range over its seeds: the
spread that says whether two variants differ at all. --overrides changes every run's config (give it
its own --workdir), e.g. a longer budget: --overrides=train.num_steps=2000.

Writes benchmarks/results/ablation_bacteria.json (--out) and a PNG of the learning curves beside it.
Any config module with VARIANTS and get_config(variant) works, e.g. the release candidates and their
softmax twins:

  python -m benchmarks.ablation --config=configs/release_human_chrx_local.py --workdir=/tmp/human \
      --reference=conv4 --out=benchmarks/results/ablation_human_chrx.json
"""

import json
import os

from absl import app, flags

from benchmarks import common

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_WORKDIR = flags.DEFINE_string("workdir", None, "One subdirectory per variant (kept out of git).", required=True)
_CONFIG = flags.DEFINE_string("config", "configs/ablation.py", "The ablation config file with VARIANTS.")
_VARIANTS = flags.DEFINE_list("variants", [], "Variants to run (default: all in the config's VARIANTS).")
_COLLECT_ONLY = flags.DEFINE_bool("collect_only", False, "Only read finished or partial runs.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/ablation_bacteria.json", "JSON path (PNG beside it).")
_SPEED_STEPS = flags.DEFINE_integer(
  "speed_steps",
  0,
  "If > 0, time this many steps of each variant here, one at a time, for the tokens/s and equal-time "
  "columns; otherwise the runs' logged median throughput is used (noisy if the runs shared the machine).",
)
_REFERENCE = flags.DEFINE_string("reference", "faithful", "The variant others are compared with.")
_SEEDS = flags.DEFINE_list("seeds", [], "Seeds to train each variant with (default: the config's own seed).")
_CURVES_FROM = flags.DEFINE_list(
  "curves_from",
  [],
  "Earlier --out JSONs of this script: their runs stand in for runs missing from WORKDIR (curves and held-out "
  "figures as recorded, speed from this run's --speed_steps), so that a table re-times every row in one run.",
)
_OVERRIDES = flags.DEFINE_list(
  "overrides", [], "FIELD=VALUE config overrides for every run, e.g. train.num_steps=2000."
)


def variant_config(module, variant: str):
  return common.apply_overrides(module.get_config(variant), _OVERRIDES.value)


def seed_name(variant: str, seed: int) -> str:
  """A run's name when a variant trains with several seeds, and its workdir's for seeds other than the config's."""
  return f"{variant}@seed{seed}"


def seed_runs(variant: str, config) -> list[tuple[int, str, list[str]]]:
  """(seed, workdir, trainer overrides) of each run of `variant`: the config's own seed in WORKDIR/VARIANT."""
  runs = []
  for seed in [int(s) for s in _SEEDS.value] or [config.seed]:
    if seed == config.seed:
      runs.append((seed, os.path.join(_WORKDIR.value, variant), list(_OVERRIDES.value)))
    else:
      runs.append((seed, os.path.join(_WORKDIR.value, seed_name(variant, seed)), [*_OVERRIDES.value, f"seed={seed}"]))
  return runs


def summarize(variant: str, seed: int, config, rows: list[dict]) -> dict:
  """The run's final held-out figures, its validation curve against tokens and training seconds, speed."""
  train_rows = [r for r in rows if "tokens_per_s" in r]
  eval_rows = [r for r in rows if "validation_bits_per_base" in r]
  tokens_per_step = config.train.batch_size * config.data.window_length
  speeds = sorted(r["tokens_per_s"] for r in train_rows[1:]) or [float("nan")]
  final = eval_rows[-1] if eval_rows else {}
  finished = bool(final) and final["step"] == config.train.num_steps and "test_bits_per_base" in final
  return {
    "variant": variant,
    "seed": seed,
    "finished": finished,
    "steps": final.get("step", 0),
    "tokens": final.get("step", 0) * tokens_per_step,
    "test_bits_per_base": final.get("test_bits_per_base"),
    "validation_bits_per_base": final.get("validation_bits_per_base"),
    "tokens_per_s": speeds[len(speeds) // 2],
    "curve": [
      {
        "step": r["step"],
        "tokens": r["step"] * tokens_per_step,
        "validation_bits_per_base": r["validation_bits_per_base"],
      }
      for r in eval_rows
    ],
  }


def recorded_runs(module, paths: list[str]) -> dict[tuple[str, int], dict]:
  """(variant, seed) -> the run as an earlier JSON recorded it, without the fields that came from its speed."""
  runs = {}
  for path in paths:
    with open(os.path.join(REPO, path)) as f:
      record = json.load(f)
    if record.get("config") != _CONFIG.value or "runs" not in record:
      raise ValueError(
        f"--curves_from={path} holds runs of {record.get('config')!r}, not of --config={_CONFIG.value}: give JSONs "
        "that benchmarks/ablation.py wrote for the same config."
      )
    for run in record["runs"]:
      # Runs recorded before they named their seed trained with the config's own.
      seed = run.get("seed", variant_config(module, run["variant"]).seed)
      kept = {k: v for k, v in run.items() if k not in ("validation_at_equal_time", "step_memory_bytes", "params")}
      kept["seed"] = seed
      kept["curve"] = [{k: v for k, v in point.items() if k != "train_seconds"} for point in run["curve"]]
      kept["tokens_per_s"] = kept.pop("logged_tokens_per_s", kept["tokens_per_s"])
      runs.setdefault((run["variant"], seed), kept)
  return runs


def validation_at_seconds(curve: list[dict], budget: float):
  """The last validation point reached within `budget` training seconds (None if none was)."""
  within = [p for p in curve if p["train_seconds"] <= budget * 1.0001]
  return within[-1]["validation_bits_per_base"] if within else None


def over_seeds(results: list[dict]) -> list[dict]:
  """Each variant's finished runs: mean and range of the held-out figures over its seeds."""
  summaries = []
  for variant in dict.fromkeys(r["variant"] for r in results):
    runs = [r for r in results if r["variant"] == variant and r["finished"]]
    if not runs:
      continue
    summary = {"variant": variant, "seeds": [r["seed"] for r in runs]}
    for split in ("test", "validation"):
      values = [r[f"{split}_bits_per_base"] for r in runs]
      summary.update(
        {f"{split}_mean": sum(values) / len(values), f"{split}_min": min(values), f"{split}_max": max(values)}
      )
    summaries.append(summary)
  return summaries


def run_label(result: dict, several_seeds: bool) -> str:
  return seed_name(result["variant"], result["seed"]) if several_seeds else result["variant"]


def plot(results: list[dict], path: str, title: str, several_seeds: bool) -> None:
  plt = common.pyplot()
  fig, (by_tokens, by_time) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
  colors = plt.get_cmap("tab20").colors  # More variants than the default cycle's 10 colours.
  for i, r in enumerate(results):
    curve = r["curve"]
    if not curve:
      continue
    style = "--" if r["variant"].startswith("softmax") else "-"
    bits = [p["validation_bits_per_base"] for p in curve]
    color = colors[i % len(colors)]
    label = run_label(r, several_seeds)
    by_tokens.plot([p["tokens"] / 1e6 for p in curve], bits, style, color=color, marker="o", label=label)
    by_time.plot([p["train_seconds"] / 60 for p in curve], bits, style, color=color, marker="o", label=label)
  by_tokens.set_xlabel("training tokens (M)")
  by_time.set_xlabel("training minutes on 2 CPU cores")
  by_tokens.set_ylabel("validation bits per base (windowed)")
  by_tokens.legend(fontsize=7)
  for ax in (by_tokens, by_time):
    ax.grid(alpha=0.3)
  fig.suptitle(title)
  common.save_figure(fig, path)


def main(argv):
  del argv
  module = common.load_config_module(_CONFIG.value)
  variants = _VARIANTS.value or list(module.VARIANTS)
  if not _COLLECT_ONLY.value:
    # One retry of a failed run, after the others: a resumed run continues from its checkpoint.
    for attempt in range(2):
      for variant in variants:
        config = variant_config(module, variant)
        for seed, workdir, overrides in seed_runs(variant, config):
          label = seed_name(variant, seed)
          if not summarize(variant, seed, config, common.read_metrics(workdir))["finished"]:
            if not common.train_run(f"{_CONFIG.value}:{variant}", workdir, label=label, overrides=overrides):
              print(f"[{label}] failed (attempt {attempt + 1}); see {workdir}/train.log", flush=True)
  results, timed_only = [], []
  recorded = recorded_runs(module, _CURVES_FROM.value)
  for variant in variants:
    config = variant_config(module, variant)
    measured = None  # Every seed runs the same step: measured once per variant.
    for seed, workdir, _ in seed_runs(variant, config):
      summary = summarize(variant, seed, config, common.read_metrics(workdir))
      if not summary["curve"] and (variant, seed) in recorded:
        summary = dict(recorded[(variant, seed)])
      if not summary["curve"]:
        continue
      measured = measured or common.step_memory_params_and_speed(config, _SPEED_STEPS.value)
      memory, params, speed = measured
      if speed is not None:
        summary.update(logged_tokens_per_s=summary["tokens_per_s"], tokens_per_s=speed)
      # Training time at the variant's own speed: the equal-time comparison on this machine.
      for point in summary["curve"]:
        point["train_seconds"] = point["tokens"] / summary["tokens_per_s"]
      summary.update(step_memory_bytes=memory["total"], params=params)
      results.append(summary)
    if measured is None and _SPEED_STEPS.value > 0:
      # No run here (trained elsewhere, or its workdir is gone): timed beside the others all the same, so
      # that speed ratios come from one machine in one run.
      memory, params, speed = common.step_memory_params_and_speed(config, _SPEED_STEPS.value)
      timed_only.append(dict(variant=variant, params=params, step_memory_bytes=memory["total"], tokens_per_s=speed))
  several_seeds = len({r["seed"] for r in results}) > 1

  genome = variant_config(module, variants[0]).data.genome
  reference = next((r for r in results + timed_only if r["variant"] == _REFERENCE.value), None)
  budget = min((r["curve"][-1]["train_seconds"] for r in results if r["finished"]), default=None)
  print(
    f"\n{genome}, {_CONFIG.value}; bits per base on held-out bases (windowed); equal-time column: "
    f"validation after {budget or 0:.0f} s of training"
  )
  header = (
    f"{'variant':40s} {'params':>8s} {'ratio':>6s} {'tokens':>6s} {'test':>7s} {'valid':>7s} "
    f"{'valid@t':>7s} {'tok/s':>6s} {'step MiB':>8s}"
  )
  print(header)
  for r in results:
    r["validation_at_equal_time"] = validation_at_seconds(r["curve"], budget) if budget else None
    ratio = r["params"] / reference["params"] if reference else float("nan")
    fmt = lambda x: f"{x:7.4f}" if x is not None else "     --"
    print(
      f"{run_label(r, several_seeds):40s} {r['params']:8d} {ratio:6.3f} {r['tokens'] / 1e6:5.1f}M {fmt(r['test_bits_per_base'])} "
      f"{fmt(r['validation_bits_per_base'])} {fmt(r['validation_at_equal_time'])} {r['tokens_per_s']:6.0f} "
      f"{r['step_memory_bytes'] / 2**20:8.1f}"
    )
  seed_summaries = over_seeds(results) if several_seeds else []
  if seed_summaries:
    print(f"\nover seeds (finished runs): mean [min, max]\n{'variant':40s} {'seeds':>8s} {'test':>24s} {'valid':>24s}")
    for s in seed_summaries:
      print(
        f"{s['variant']:40s} {','.join(map(str, s['seeds'])):>8s} "
        + " ".join(f"{s[k + '_mean']:.4f} [{s[k + '_min']:.4f}, {s[k + '_max']:.4f}]" for k in ("test", "validation"))
      )
  if timed_only:
    print(f"\ntimed only (no run in {_WORKDIR.value})\n{'variant':40s} {'params':>8s} {'tokens/s':>8s} {'MiB':>8s}")
    for t in timed_only:
      print(f"{t['variant']:40s} {t['params']:8d} {t['tokens_per_s']:8.0f} {t['step_memory_bytes'] / 2**20:8.1f}")
  out = os.path.join(REPO, _OUT.value)
  record = {"config": _CONFIG.value, "genome": genome, "equal_time_seconds": budget, "runs": results}
  if _OVERRIDES.value:
    record["overrides"] = _OVERRIDES.value
  if seed_summaries:
    record["over_seeds"] = seed_summaries
  if timed_only:
    record["timed_only"] = timed_only
  common.write_json(out, record)
  plot(results, os.path.splitext(out)[0] + ".png", f"{genome}, {_CONFIG.value} variants", several_seeds)
  print(f"wrote {out}")


if __name__ == "__main__":
  app.run(main)
