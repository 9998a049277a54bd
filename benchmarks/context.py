# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Issue 13's context sweep: one model trained at windows L = 1k ... 64k on equal tokens, side by side.

Each L is one run of the trainer (`python -m genome_transformer.main
--config=configs/context.py:VARIANT,GENOME,L,BUDGET --workdir=WORKDIR/GENOME-VARIANT-L{L}-T{BUDGET}`),
one after another. Runs span sessions: a finished run (its final test evaluation logged) is read, not
repeated; an interrupted one resumes from its checkpoint; the scores at longer contexts are cached in
each run's context_eval.json. For each L the table gives held-out test bits per base on the same bases
(eval.max_bases per record) scored at the run's own context and at every longer context of
--eval_contexts (absolute positions past the training window are a known weakness: this measures it),
the compiled memory of one training step (flat in L: the point of SLiM) and training tokens/s.

  python -m benchmarks.context --workdir=/tmp/context --genome=bacteria4 --variant=faithful
  python -m benchmarks.context --workdir=/tmp/context --genome=chrx --variant=conv4+window64
  python -m benchmarks.context --workdir=/tmp/context --collect_only --speed_steps=3   # table and plot

A quick check of the whole path at a tiny size (a minute on 2 cores):

  python -m benchmarks.context --workdir=/tmp/context-tiny --lengths=256,1024 --budget_tokens=16384 \
      --overrides=model.d_model=32,model.num_layers=1,model.d_ff=64,eval.max_bases=2048 --out=/tmp/context-tiny.json

Writes benchmarks/results/context_GENOME_VARIANT.json (--out) and a PNG beside it: held-out bits per
base against training context, step memory and tokens/s beside it.
"""

import json
import os

from absl import app, flags
import jax
import ml_collections

from benchmarks import common
from genome_transformer.data import input_pipeline
from genome_transformer.evaluation import heldout
from genome_transformer.model import performer as model_lib
from genome_transformer.release import export

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG_FILE = "configs/context.py"

_WORKDIR = flags.DEFINE_string("workdir", None, "One subdirectory per run (kept out of git).", required=True)
_GENOME = flags.DEFINE_string("genome", "bacteria4", "A GENOMES name of configs/context.py: bacteria4 or chrx.")
_VARIANT = flags.DEFINE_string("variant", "faithful", "A VARIANTS name of configs/context.py, e.g. conv4+window64.")
_LENGTHS = flags.DEFINE_list("lengths", ["1024", "4096", "16384", "65536"], "Training windows L.")
_BUDGET = flags.DEFINE_integer(
  "budget_tokens", 1 << 24, "Training tokens of every run, in equal steps (configs/context.py's TOKENS_PER_STEP)."
)
_EVAL_CONTEXTS = flags.DEFINE_list(
  "eval_contexts", [], "Contexts every run is also scored at when >= its L (default: --lengths)."
)
_MAX_SOFTMAX_CONTEXT = flags.DEFINE_integer(
  "max_softmax_context", 16384, "Softmax runs are not scored past this context (quadratic memory)."
)
_OVERRIDES = flags.DEFINE_list(
  "overrides", [], "FIELD=VALUE config overrides for every run (e.g. a tiny model to check the path)."
)
_COLLECT_ONLY = flags.DEFINE_bool("collect_only", False, "Only read finished runs; train nothing.")
_SPEED_STEPS = flags.DEFINE_integer(
  "speed_steps", 0, "If > 0, time this many steps of each run here for tokens/s; else the runs' logged median."
)
_OUT = flags.DEFINE_string(
  "out", "", "JSON path (PNG beside it); default benchmarks/results/context_GENOME_VARIANT.json."
)


def run_name(length: int) -> str:
  return f"{_GENOME.value}-{_VARIANT.value}-L{length}-T{_BUDGET.value}"


def finished(rows: list[dict]) -> bool:
  """The trainer scores the test split only after its last step."""
  return any("test_bits_per_base" in r for r in rows)


def failure(workdir: str) -> str:
  """The last line of a run's train.log: why it stopped (e.g. a step that does not fit in memory)."""
  try:
    with open(os.path.join(workdir, "train.log"), encoding="utf-8") as f:
      lines = [line.strip() for line in f if line.strip()]
  except OSError:
    return "no train.log"
  return lines[-1] if lines else "empty train.log"


def scores_at_contexts(workdir: str, config, contexts: list[int], test_sequences) -> dict:
  """{context: {"test_bits_per_base", "test_bases"} or {"status"}}, cached in context_eval.json."""
  cache_path = os.path.join(workdir, "context_eval.json")
  cache = {}
  if os.path.exists(cache_path):
    with open(cache_path, encoding="utf-8") as f:
      cache = json.load(f)
  todo = [c for c in contexts if str(c) not in cache]
  if todo:
    step, params, _ = export.read_checkpoint(workdir)
    model = model_lib.SLiMPerformer(config.model)
    # The trainer's evaluation key (FAVOR+ draws); the other feature maps ignore it.
    rng = jax.random.split(jax.random.PRNGKey(config.seed), 3)[2]
    for context in todo:
      if config.model.attention == "softmax" and context > _MAX_SOFTMAX_CONTEXT.value:
        cache[str(context)] = {"status": f"not scored: softmax past --max_softmax_context={_MAX_SOFTMAX_CONTEXT.value}"}
        continue
      bits, bases = heldout.heldout_bits_per_base(
        model,
        params,
        test_sequences,
        context=context,
        chunk_size=min(config.eval.chunk_size, context),
        max_bases=config.eval.max_bases,
        rng=rng,
      )
      cache[str(context)] = {"test_bits_per_base": bits, "test_bases": bases, "step": step}
      print(f"  L={config.data.window_length} scored at context {context}: {bits:.4f} bits/base", flush=True)
      common.write_json(cache_path, cache)
  return {c: cache[str(c)] for c in contexts}


def summarize(length: int, config, workdir: str, contexts: list[int], test_sequences) -> dict:
  rows = common.read_metrics(workdir)
  result = {
    "window_length": length,
    "batch_size": config.train.batch_size,
    "steps": config.train.num_steps,
    "tokens": config.train.num_steps * config.train.batch_size * length,
    "workdir": workdir,
  }
  if not finished(rows):
    result["status"] = f"not finished: {failure(workdir)}"
    return result
  final = [r for r in rows if "test_bits_per_base" in r][-1]
  speeds = sorted(r["tokens_per_s"] for r in rows if "tokens_per_s" in r)
  memory, params, speed = common.step_memory_params_and_speed(config, _SPEED_STEPS.value)
  # The batch shrinks as L grows (equal tokens a step): memory against L is read at one window a step.
  one_window = ml_collections.ConfigDict(config.to_dict())
  one_window.train.batch_size = 1
  memory_one, _, _ = common.step_memory_params_and_speed(one_window, 0)
  result.update(
    status="ok",
    test_bits_per_base=final["test_bits_per_base"],
    validation_bits_per_base=final.get("validation_bits_per_base"),
    test_bases=final.get("test_bases"),
    logged_tokens_per_s=speeds[len(speeds) // 2] if speeds else None,
    tokens_per_s=speed if speed is not None else (speeds[len(speeds) // 2] if speeds else None),
    step_memory_bytes=memory["total"],
    step_memory_bytes_one_window=memory_one["total"],
    params=params,
    curve=[
      {"step": r["step"], "validation_bits_per_base": r["validation_bits_per_base"]}
      for r in rows
      if "validation_bits_per_base" in r
    ],
    at_context={str(c): v for c, v in scores_at_contexts(workdir, config, contexts, test_sequences).items()},
  )
  return result


def plot(results: list[dict], contexts: list[int], path: str, title: str) -> None:
  plt = common.pyplot()
  done = [r for r in results if r["status"] == "ok"]
  fig, (bits_ax, memory_ax, speed_ax) = plt.subplots(1, 3, figsize=(15, 4.5))
  lengths = [r["window_length"] for r in done]
  bits_ax.plot(lengths, [r["test_bits_per_base"] for r in done], "-o", color="k", label="at its own context")
  for context in contexts:
    points = [
      (r["window_length"], r["at_context"][str(context)]["test_bits_per_base"])
      for r in done
      if context > r["window_length"] and "test_bits_per_base" in r["at_context"].get(str(context), {})
    ]
    if points:
      bits_ax.plot(*zip(*points), "--", marker=".", label=f"scored at context {context}")
  bits_ax.set_ylabel("held-out test bits per base")
  bits_ax.legend(fontsize=7)
  memory_ax.plot(lengths, [r["step_memory_bytes_one_window"] / 2**20 for r in done], "-o", label="one window a step")
  memory_ax.plot(lengths, [r["step_memory_bytes"] / 2**20 for r in done], "--", marker=".", label="the run's batch")
  memory_ax.set_ylabel("training step memory (MiB, XLA compiled)")
  memory_ax.legend(fontsize=7)
  memory_ax.set_ylim(bottom=0)
  speed_ax.plot(lengths, [r["tokens_per_s"] / 1e3 for r in done], "-o")
  speed_ax.set_ylabel("training tokens/s (thousands)")
  speed_ax.set_ylim(bottom=0)
  for ax in (bits_ax, memory_ax, speed_ax):
    ax.set_xscale("log", base=2)
    ax.set_xlabel("training context L (bases)")
    ax.grid(alpha=0.3)
  fig.suptitle(title)
  common.save_figure(fig, path)


def main(argv):
  del argv
  module = common.load_config_module(CONFIG_FILE)
  lengths = sorted(int(x) for x in _LENGTHS.value)
  contexts = sorted(int(x) for x in (_EVAL_CONTEXTS.value or _LENGTHS.value))
  configs = {
    length: common.apply_overrides(
      module.get_config(f"{_VARIANT.value},{_GENOME.value},{length},{_BUDGET.value}"), _OVERRIDES.value
    )
    for length in lengths
  }
  workdirs = {length: os.path.join(_WORKDIR.value, run_name(length)) for length in lengths}
  if not _COLLECT_ONLY.value:
    for length in lengths:
      if finished(common.read_metrics(workdirs[length])):
        print(f"[L={length}] finished: {workdirs[length]}", flush=True)
        continue
      config_arg = f"{CONFIG_FILE}:{_VARIANT.value},{_GENOME.value},{length},{_BUDGET.value}"
      if not common.train_run(config_arg, workdirs[length], label=f"L={length}", overrides=_OVERRIDES.value):
        print(f"[L={length}] failed: {failure(workdirs[length])}", flush=True)
  test_sequences = input_pipeline.heldout_sequences(configs[lengths[0]].data, "test")
  results = [
    summarize(length, configs[length], workdirs[length], [c for c in contexts if c >= length], test_sequences)
    for length in lengths
  ]

  genome = configs[lengths[0]].data.genome
  print(f"\n{genome}, {_VARIANT.value}, {_BUDGET.value} training tokens per run; held-out test bits per base")
  print(
    f"{'L':>6s} {'steps':>6s} {'own':>7s} "
    + " ".join(f"{'@' + str(c):>7s}" for c in contexts)
    + f" {'tok/s':>7s} {'step MiB':>8s} {'B=1 MiB':>8s}"
  )
  for r in results:
    if r["status"] != "ok":
      print(f"{r['window_length']:6d} {r['status']}")
      continue
    cells = []
    for c in contexts:
      value = r["at_context"].get(str(c), {}).get("test_bits_per_base")
      cells.append(f"{value:7.4f}" if value is not None else "     --")
    print(
      f"{r['window_length']:6d} {r['steps']:6d} {r['test_bits_per_base']:7.4f} {' '.join(cells)} "
      f"{r['tokens_per_s']:7.0f} {r['step_memory_bytes'] / 2**20:8.1f} {r['step_memory_bytes_one_window'] / 2**20:8.1f}"
    )
  out = _OUT.value or os.path.join("benchmarks", "results", f"context_{_GENOME.value}_{_VARIANT.value}.json")
  out = os.path.join(REPO, out)
  common.write_json(
    out,
    {
      "config": CONFIG_FILE,
      "genome": genome,
      "variant": _VARIANT.value,
      "budget_tokens": _BUDGET.value,
      "overrides": _OVERRIDES.value,
      "eval_contexts": contexts,
      "runs": results,
    },
  )
  print(f"wrote {out}")
  if not any(r["status"] == "ok" for r in results):
    print("no finished run yet: no plot")  # Nothing to draw on the log axes.
    return
  plot(
    results, contexts, os.path.splitext(out)[0] + ".png", f"{genome}, {_VARIANT.value}, {_BUDGET.value} tokens a run"
  )


if __name__ == "__main__":
  app.run(main)
