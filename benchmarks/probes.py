# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Issue 13's context probes for trained models and the adaptive Markov model: one JSON table.

For every model (an export directory, a release name or a training workdir) at each context, and for
the adaptive order-k Markov model trained on the models' training split, runs the probes of
genome_transformer/evaluation/probes.py:

  recall      bits per base saved on a 200-base held-out segment by an exact copy planted d bases
              before it (d = 100, 1k, 10k, 100k; a d that does not fit in the context is reported so)
  adaptation  bits per base at positions [0, 1k), [1k, 4k), [4k, 16k), [16k, 64k) of windows of a
              genome of a phylum none of the models saw (C. diphtheriae by default); with
              --adaptation_split=test and finer --adaptation_buckets, the same on the training genome's
              held-out bases: where in its window a model gains or loses against another
  regions     bits per base on repeat and unique bases of human chrX's test split: soft-masked
              (lowercase) bases, or (--region_mask=kmer24, the default, since the offline chrX has no
              soft-masking) bases inside a 24-mer that occurs twice in the test bases and the train split

  python -m benchmarks.probes --models=slim=bacteria4-slim,long=/tmp/context/bacteria4-faithful-L16384-T16777216 \
      --contexts=0,16384,131072 --out=benchmarks/results/probes_bacteria.json

--contexts: 0 is each model's own training window; a model is scored at every listed context (windows
of that many bases, the held-out protocol), softmax models only up to --max_softmax_context. The
Markov model has no context limit: its recall and adaptation windows are the longest model context.
"""

import os
import time

from absl import app, flags
import jax
import ml_collections
import numpy as np

from benchmarks import common
from genome_transformer.data import input_pipeline
from genome_transformer.evaluation import probes
from genome_transformer.genomics import genomes
from genome_transformer.model import performer as model_lib
from genome_transformer.release import export
from genome_transformer.training import checkpointing, export_reader

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBES = ("recall", "adaptation", "regions")

_MODELS = flags.DEFINE_list("models", [], "NAME=PATH: an export directory, a release name or a training workdir.")
_CONTEXTS = flags.DEFINE_list("contexts", ["0"], "Scoring contexts; 0 = the model's own training window.")
_PROBES = flags.DEFINE_list("probes", list(PROBES), f"Which of {', '.join(PROBES)}.")
_MARKOV_K = flags.DEFINE_list(
  "markov_k", ["7", "12"], "Orders of the adaptive Markov baselines (best on bacteria4: 7; human chrX: 15); [] = none."
)
_MARKOV_TRAIN_BASES = flags.DEFINE_integer(
  "markov_train_bases", 0, "Training bases the Markov model counts (0 = the whole train split)."
)
_RECALL_GENOME = flags.DEFINE_string("recall_genome", "", "Genome whose test split is probed (default: the models').")
_SEGMENTS = flags.DEFINE_integer("segments", 8, "Recall: segments (windows) per distance.")
_SEGMENT_LENGTH = flags.DEFINE_integer("segment_length", probes.DEFAULT_SEGMENT_LENGTH, "Recall: segment bases.")
_DISTANCES = flags.DEFINE_list(
  "distances", [str(d) for d in probes.DEFAULT_DISTANCES], "Recall: bases between copy and segment."
)
_ADAPTATION_GENOME = flags.DEFINE_string(
  "adaptation_genome", "fetch:pyrodigal-cdiphtheriae", "A genome none of the models was trained on (all its bases)."
)
_ADAPTATION_WINDOW = flags.DEFINE_integer("adaptation_window", 65536, "Adaptation: longest window (bases).")
_ADAPTATION_WINDOWS = flags.DEFINE_integer("adaptation_windows", 8, "Adaptation: windows, evenly spread (0 = all).")
_ADAPTATION_SPLIT = flags.DEFINE_enum(
  "adaptation_split", "all", ["all", "test"], "Adaptation: every base of the genome, or its test split only."
)
_ADAPTATION_BUCKETS = flags.DEFINE_list(
  "adaptation_buckets",
  [f"{start}:{end}" for start, end in probes.DEFAULT_BUCKETS],
  "Adaptation: position buckets START:END within each window.",
)
_REGION_GENOME = flags.DEFINE_string("region_genome", "fetch:smalt-chrX", "Soft-masked genome; its test split.")
_REGION_MAX_BASES = flags.DEFINE_integer("region_max_bases", 262144, "Regions: first bases of each test record.")
_REGION_MASK = flags.DEFINE_string(
  "region_mask",
  "kmer24",
  "softmask: the FASTA's lowercase; kmerK: bases in a K-mer occurring twice in the test bases and the train split "
  "(smalt-chrX has no soft-masking).",
)
_MAX_SOFTMAX_CONTEXT = flags.DEFINE_integer("max_softmax_context", 16384, "Softmax models: longest context.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/probes.json", "JSON path.")


def load_model(path: str) -> tuple[model_lib.SLiMPerformer, dict, ml_collections.ConfigDict]:
  """(model, params, training config) of a training workdir (latest checkpoint) or an export / release."""
  if checkpointing.has_checkpoint(path):
    _, params, config_dict = export.read_checkpoint(path)
    config = ml_collections.ConfigDict(config_dict)
  else:
    exported = export_reader.load_export(export_reader.resolve(path))
    params, config = exported.params, exported.config
  return model_lib.SLiMPerformer(ml_collections.ConfigDict(config.model.to_dict())), params, config


def model_scorers(name: str, path: str, contexts: list[int]) -> tuple[list[probes.Scorer], ml_collections.ConfigDict]:
  model, params, config = load_model(path)
  params = jax.device_put(params)
  own = int(config.data.window_length)
  # The trainer's evaluation key (FAVOR+ draws); the other feature maps ignore it.
  rng = jax.random.split(jax.random.PRNGKey(int(config.get("seed", 0))), 3)[2]
  scorers = []
  for context in sorted({c or own for c in contexts}):
    if config.model.attention == "softmax" and context > _MAX_SOFTMAX_CONTEXT.value:
      print(f"[{name}] softmax: context {context} skipped (> --max_softmax_context)", flush=True)
      continue
    scorers.append(
      probes.model_scorer(
        f"{name}@{context}",
        model,
        params,
        context=context,
        chunk_size=int(config.get("eval", {}).get("chunk_size", 1024)),
        rng=rng,
      )
    )
  return scorers, config


def whole_genome(spec: str) -> list[np.ndarray]:
  files = genomes.open_genome(spec)
  try:
    return [f.fetch(name) for f in files for name in f.names]
  finally:
    for f in files:
      f.close()


def _timed(label: str, fn, *args, **kwargs):
  start = time.perf_counter()
  result = fn(*args, **kwargs)
  print(f"  {label}: {time.perf_counter() - start:.1f} s", flush=True)
  return result


def main(argv):
  del argv
  if not _MODELS.value:
    raise app.UsageError("--models: name at least one NAME=PATH.")
  unknown = set(_PROBES.value) - set(PROBES)
  if unknown:
    raise app.UsageError(f"--probes: {sorted(unknown)} are not among {PROBES}.")
  contexts = [int(c) for c in _CONTEXTS.value]
  try:
    buckets = [tuple(int(x) for x in b.split(":")) for b in _ADAPTATION_BUCKETS.value]
  except ValueError:
    buckets = []
  if not buckets or any(len(b) != 2 or not 0 <= b[0] < b[1] for b in buckets):
    raise app.UsageError(f"--adaptation_buckets={_ADAPTATION_BUCKETS.value}: START:END pairs, e.g. 0:1024,1024:4096.")
  scorers, info, train_genome = [], {}, None
  for item in _MODELS.value:
    name, sep, path = item.partition("=")
    if not sep:
      raise app.UsageError(f"--models: {item!r} is not NAME=PATH.")
    model_scorers_, config = model_scorers(name, path, contexts)
    scorers += model_scorers_
    info[name] = {
      "path": path,
      "genome": config.data.genome,
      "window_length": int(config.data.window_length),
      "attention": config.model.attention,
      "contexts": [s.context for s in model_scorers_],
    }
    train_genome = train_genome or config.data.genome
  longest = max(s.context for s in scorers)
  recall_genome = _RECALL_GENOME.value or train_genome
  markov = []
  if _MARKOV_K.value:
    train = [t for _, t in input_pipeline.heldout_sequences({"genome": train_genome}, "train")]
    if _MARKOV_TRAIN_BASES.value:
      train = [np.concatenate(train)[: _MARKOV_TRAIN_BASES.value]]
    markov = [probes.markov_scorer(train, int(k)) for k in _MARKOV_K.value]
  result = {"models": info, "markov": {"orders": [int(k) for k in _MARKOV_K.value], "train_genome": train_genome}}

  if "recall" in _PROBES.value:
    sequences = [t for _, t in input_pipeline.heldout_sequences({"genome": recall_genome}, "test")]
    kwargs = dict(
      segment_length=_SEGMENT_LENGTH.value,
      distances=[int(d) for d in _DISTANCES.value],
      num_segments=_SEGMENTS.value,
    )
    rows = []
    for scorer in scorers + markov:
      window = scorer.context or longest
      rows.append(_timed(f"recall {scorer.name}", probes.recall_probe, scorer, sequences, window=window, **kwargs))
      print(
        f"recall {scorer.name:28s} without copy {rows[-1]['bits_without_copy']:.4f}; saved "
        + ", ".join(
          f"d={r['distance']}: " + (f"{r['saved_bits_per_base']:.4f}" if r["status"] == "ok" else r["status"])
          for r in rows[-1]["distances"]
        ),
        flush=True,
      )
    result["recall"] = {"genome": recall_genome, "split": "test", "rows": rows}

  if "adaptation" in _PROBES.value:
    if _ADAPTATION_SPLIT.value == "test":
      sequences = [t for _, t in input_pipeline.heldout_sequences({"genome": _ADAPTATION_GENOME.value}, "test")]
    else:
      sequences = whole_genome(_ADAPTATION_GENOME.value)
    rows = []
    for scorer in scorers + markov:
      window = min(scorer.context or longest, _ADAPTATION_WINDOW.value)
      rows.append(
        _timed(
          f"adaptation {scorer.name}",
          probes.adaptation_probe,
          scorer,
          sequences,
          window=window,
          buckets=buckets,
          num_windows=_ADAPTATION_WINDOWS.value or None,
        )
      )
      print(
        f"adaptation {scorer.name:24s} "
        + ", ".join(
          f"[{b['start']},{b['end']}): " + (f"{b['bits_per_base']:.4f}" if b["status"] == "ok" else b["status"])
          for b in rows[-1]["buckets"]
        ),
        flush=True,
      )
    result["adaptation"] = {"genome": _ADAPTATION_GENOME.value, "split": _ADAPTATION_SPLIT.value, "rows": rows}

  if "regions" in _PROBES.value:
    regions = input_pipeline.heldout_sequences({"genome": _REGION_GENOME.value}, "test", with_mask=True)
    limit = _REGION_MAX_BASES.value or None
    tokens = [t[:limit] for _, t, _ in regions]
    if _REGION_MASK.value == "softmask":
      masks = [m[:limit] for _, _, m in regions]
    elif _REGION_MASK.value.startswith("kmer"):
      reference = [t for _, t in input_pipeline.heldout_sequences({"genome": _REGION_GENOME.value}, "train")]
      masks = _timed("k-mer repeat mask", probes.kmer_repeat_mask, tokens, int(_REGION_MASK.value[4:]), reference)
    else:
      raise app.UsageError(f"--region_mask={_REGION_MASK.value!r}: softmask or kmerK (e.g. kmer24).")
    pairs = list(zip(tokens, masks))
    rows = []
    for scorer in scorers + markov:
      rows.append(_timed(f"regions {scorer.name}", probes.region_probe, scorer, pairs))
      r = rows[-1]
      print(
        f"regions {scorer.name:27s} masked {r['masked']['bits_per_base']} ({r['masked']['bases']} bases), "
        f"unique {r['unique']['bits_per_base']} ({r['unique']['bases']} bases)",
        flush=True,
      )
    result["regions"] = {
      "genome": _REGION_GENOME.value,
      "split": "test",
      "max_bases": _REGION_MAX_BASES.value,
      "mask": _REGION_MASK.value,
      "rows": rows,
    }

  out = os.path.join(REPO, _OUT.value)
  common.write_json(out, result)
  print(f"wrote {out}")


if __name__ == "__main__":
  app.run(main)
