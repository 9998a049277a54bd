# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""A model card per release, rendered from its files so that no figure in it can drift from them.

`render_card(export_dir)` reads the export's export.json and train_metrics.jsonl, and in a source
checkout the held-out comparisons of benchmarks/bits_per_base.py (benchmarks/results/
bits_per_base_*.json) and the softmax twin those name (its own export.json); `render_index()` is
MODEL_CARD.md's table of releases, between INDEX_BEGIN and INDEX_END. `write_cards()` writes both,
`stale_cards()` lists what differs from what the code renders now (`python -m
genome_transformer.pretrained cards [--check]`; tests/test_cards.py runs the check). What the files do
not record (the hardware, why a release exists) is ABOUT's prose, free of figures the files hold.
"""

from __future__ import annotations

import glob
import json
import os

from genome_transformer.genomics import files
from genome_transformer.training import export_reader

CARD = "README.md"
MODEL_CARD = "MODEL_CARD.md"
INDEX_BEGIN = "<!-- release index: written by `python -m genome_transformer.pretrained cards`; do not edit -->"
INDEX_END = "<!-- end of release index -->"
TRAIN_METRICS = "train_metrics.jsonl"
RESULTS_GLOB = os.path.join("benchmarks", "results", "bits_per_base_*.json")
DATA_LICENCE = {
  "fetch:smalt-chrX": (
    "the sequence is public GRC data; it reaches this project inside Debian's `smalt-examples` package (GPL-3), so "
    "it is fetched on demand (`python -m genome_transformer.fetch smalt-chrX`) and never shipped"
  ),
}
# What the export does not record: where and why each release was trained. No figure a file holds.
ABOUT = {
  "bacteria4-slim": (
    "The faithful CPU release: the SLiM Performer with the reference's semantics (post-LN, `sqr` feature map, "
    "heads of 64) at `configs/release_bacteria.py`, trained on this project's 2-core CPU machine (its cores "
    "shared for most of the run)."
  ),
  "bacteria4-slim-conv": (
    "`bacteria4-slim`'s config with local mixing (`configs/release_bacteria_local.py`): a depthwise causal "
    "convolution on q, k and v in every layer, and one head per layer running exact causal softmax over the "
    "last positions instead of linear attention (docs/model.md, local mixing). Trained on the 2 CPU cores over "
    "two sessions."
  ),
  "bacteria4-slim-gpu": (
    "A larger model (`configs/release_bacteria_gpu.py`) trained on one lent NVIDIA H200 GPU, in TF32 matrix "
    "multiplies (XLA's default there); its step count was set to fit the lent device time."
  ),
  "human-chrx-slim": (
    "The faithful CPU release for human DNA (`configs/release_human_chrx.py`), trained on the 2 CPU cores (shared)."
  ),
  "human-chrx-slim-conv": (
    "`human-chrx-slim` with local mixing (`configs/release_human_chrx_local.py:conv4+window64`): the causal "
    "convolution, and one of the two heads a sliding-window softmax head. Trained on the 2 CPU cores."
  ),
  "human-chrx-slim-window3": (
    "`human-chrx-slim`'s size with D cut into four heads of 32 "
    "(`configs/release_human_chrx_local.py:conv4+window64x3+hedgehog+floor+4heads`, `seed=1`): in every layer "
    "three sliding-window softmax heads and one linear head with the learned Hedgehog feature map, after the "
    "causal convolution. Its linear head carries the state, so training memory stays flat in the window and "
    "generation is O(1) per base. It is the weaker of the two seeds of the ablation (docs/model.md); seed 0's "
    "checkpoint did not survive the session that trained it. Its training log was lost before exports bundled "
    "them. Trained on the 2 CPU cores."
  ),
  "human-chrx-match-16k": (
    "A point of the context sweep (`configs/context.py:conv4+hedgehog+match12,chrx,16384`, before the Hedgehog "
    "floor existed): trained on 16,384-base windows at equal tokens, with the match input (each position also "
    "gets a learned vector for the base that followed the previous occurrence of its last 12 bases in the "
    "window; docs/model.md). Released as the project's first model trained at 16 k context, not as a better one. "
    "Trained on the 2 CPU cores."
  ),
  "human-chrx-slim-gpu": (
    "A larger model (`configs/release_human_chrx_gpu.py`) trained on one lent NVIDIA H200 GPU, in TF32 matrix "
    "multiplies (XLA's default there); its step count was set to fit the lent device time."
  ),
}
_COMPARED = (
  ("gzip_conditional", "gzip cond."),
  ("bzip2_conditional", "bzip2 cond."),
  ("xz_conditional", "xz cond."),
  ("xz_plain", "xz alone"),
)


def _bits(value) -> str:
  return "NA" if value is None else f"{value:.4f}"


def measured_on(meta: dict) -> str:
  """Which held-out bases export.json's test_bits_per_base was measured on (`list` prints the same)."""
  bases, per_record = meta.get("test_bases"), meta.get("heldout_max_bases_per_record")
  if bases is None or meta.get("test_bits_per_base") is None:
    return "-"
  if not per_record:
    return f"whole test split ({bases:,} scored bases)"
  return f"test split's first {per_record:,} bases per record"


def _read_json(path: str):
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def _train_metrics(export_dir: str) -> list[dict]:
  path = os.path.join(export_dir, TRAIN_METRICS)
  if not os.path.isfile(path):
    return []
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def benchmark_entry(name: str, checkout: str = export_reader.CHECKOUT_DIR) -> tuple[str, dict, dict] | None:
  """(results file relative to the checkout, its document, the model's entry) from benchmarks/results, or None.

  A release scored in several files (its own evaluation, later studies on other sequence) is read from the first
  that scores its softmax twin beside it on its own genome: the release's evaluation; else from the first.
  """
  found = []
  for path in sorted(glob.glob(os.path.join(checkout, RESULTS_GLOB))):
    document = _read_json(path)
    for entry in document.get("models", []):
      if entry.get("model") == name:
        found.append((os.path.relpath(path, checkout), document, entry))
  with_twin = [
    f for f in found if any(r.get("own_genome") and r.get("softmax_baseline") is not None for r in f[2]["rows"])
  ]
  return (with_twin or found or [None])[0]


def _genome_lines(genome: dict) -> list[str]:
  spec = genome.get("spec", "?")
  lines = []
  for g in genome.get("genomes", []):
    accessions = ", ".join(g.get("accessions", []))
    source = g.get("provenance", {})
    lines.append(
      f"- {g['organism']} {g.get('strain', '')} ({accessions}): {g['bases']:,} bases, GC {g['gc_fraction']:.3f}; "
      f"from Debian `{source.get('package', '?')}` {source.get('version', '')} (upstream {source.get('upstream', '?')}); "
      f"licence {g.get('license', '?')}."
    )
  preset = genome.get("preset")
  if preset:
    lines.append(f"- {preset['description']}")
    lines.append(f"- Licence: {DATA_LICENCE.get(spec, preset.get('license', '?'))}.")
  return lines


def _architecture_lines(model: dict, params: dict, files_bytes: int) -> list[str]:
  heads = model["num_heads"]
  attention = model["attention"]
  mixing = []
  if model.get("conv_width"):
    mixing.append(f"a depthwise causal convolution of width {model['conv_width']} on q, k and v")
  if model.get("window_heads"):
    mixing.append(
      f"{model['window_heads']} of the {heads} heads per layer exact causal softmax over the last "
      f"{model['window_size']} positions"
    )
  if model.get("match_order"):
    mixing.append(f"the match input of order {model['match_order']}")
  lines = [
    f"- {model['num_layers']} layers, D = {model['d_model']}, {heads} heads, d_ff = {model['d_ff']}; "
    f"{attention} attention"
    + (f" with the `{model['feature_map']}` feature map" if attention == "linear" else "")
    + f", {model.get('positions', 'sinusoid')} positions, {'post' if model.get('on_gptln') else 'pre'}-LN.",
    f"- Local mixing: {'; '.join(mixing)}." if mixing else "- No local mixing (the reference architecture).",
    f"- {params['count']:,} parameters, stored as {params.get('dtype', 'float32')} ({files_bytes / 1e6:.1f} MB); "
    "computed in float32 after loading.",
    f"- Vocabulary of {model['vocab_size']}: one token per nucleotide (A C G T N, PAD BOS EOS); IUPAC codes read as "
    "N, soft-masking folded.",
  ]
  return lines


def _comparison(name: str, checkout: str) -> tuple[list[str], dict | None]:
  found = benchmark_entry(name, checkout)
  if not found:
    return [], None
  results_path, document, entry = found
  twin_path = entry.get("softmax_baseline")
  header = ["bases", "this model"] + (["softmax twin"] if twin_path else [])
  header += [label for _, label in _COMPARED] + ["Markov (best k)"]
  lines = [
    f"Every method on the same A/C/G/T bases (`python -m benchmarks.bits_per_base`, `{results_path}`; "
    "MODEL_CARD.md explains the columns):",
    "",
    "| " + " | ".join(header) + " |",
    "|" + "---|" * len(header),
  ]
  for row in entry["rows"]:
    own = "own genome's test split" if row.get("own_genome") else f"{row['genome']} test (an organism it never saw)"
    if row.get("own_genome") and document.get("max_test_bases"):
      own = f"own test split, its first {document['max_test_bases']:,} bases"
    cells = [f"{own}: {row['test_bases']:,}", _bits(row["model"])]
    if twin_path:
      cells.append(_bits(row.get("softmax_baseline")))
    cells += [_bits(row.get(key)) for key, _ in _COMPARED]
    cells.append(f"{_bits(row.get('markov_best'))} (k={row.get('markov_best_k')})")
    lines.append("| " + " | ".join(cells) + " |")
  twin = None
  if twin_path:
    twin_dir = os.path.join(checkout, twin_path)
    twin_json = os.path.join(twin_dir, export_reader.EXPORT_JSON)
    twin = {"path": twin_path, "document": _read_json(twin_json) if os.path.isfile(twin_json) else None}
  return lines, twin


def _twin_lines(twin: dict | None, document: dict) -> list[str]:
  if twin is None:
    return ["No softmax model of this config was trained."]
  lines = [f"`{twin['path']}`: this release's config with softmax attention, same data, steps, batch and optimizer."]
  other = twin["document"]
  if other is None:
    return lines
  differences = export_reader.model_config_mismatches(document["model_config"], other["model_config"])
  if differences:
    lines[0] += " Its model differs in: " + "; ".join(d.replace(" here", " in the twin") for d in differences) + "."
  meta = other["metadata"]
  lines.append(
    f"Its own held-out figures: test {_bits(meta.get('test_bits_per_base'))} on the {measured_on(meta)}, "
    f"validation {_bits(meta.get('validation_bits_per_base'))}; {meta.get('num_params', 0):,} parameters."
  )
  return lines


def render_card(export_dir: str, checkout: str = export_reader.CHECKOUT_DIR) -> str:
  """The README.md of the release in `export_dir`, from its files (and the checkout's benchmark results)."""
  document = export_reader.read_export_json(export_dir)
  name = os.path.basename(os.path.normpath(export_dir))
  meta, config, model = document["metadata"], document["config"], document["model_config"]
  data, train = config.get("data", {}), config.get("train", {})
  genome = meta.get("genome", {})
  aliases = [alias for alias, release in export_reader.RECOMMENDED.items() if release == name]
  files_bytes = sum(f["bytes"] for f in document["params"].get("files", {}).values())
  lines = [f"# {name}", ""]
  lines.append(
    f"A SLiM Performer DNA language model of genome-transformer, trained on `{genome.get('spec', '?')}` with "
    f"{data.get('window_length', '?'):,}-base windows."
    + (f" The recommended release of its genome: `pretrained.load({aliases[0]!r})` loads it." if aliases else "")
  )
  if name in ABOUT:
    lines += ["", ABOUT[name]]
  lines += ["", "## Held-out bits per base", ""]
  lines.append(
    f"- Test: **{_bits(meta.get('test_bits_per_base'))}** on the {measured_on(meta)}, at step "
    f"{meta.get('test_evaluated_at_step', '?')} (what `python -m genome_transformer.pretrained list` prints)."
  )
  lines.append(
    f"- Validation: {_bits(meta.get('validation_bits_per_base'))} on {meta.get('validation_bases', 0):,} scored bases; "
    f"training (last logged step): {_bits(meta.get('train_bits_per_base'))}."
  )
  lines.append(
    "- Scored in half-overlapping windows of the training window (every base sees at least half a window of "
    "context); N is never scored. The split: " + meta.get("split_rule", "?")
  )
  curve = [(r["step"], r.get("validation_bits_per_base")) for r in _train_metrics(export_dir)]
  curve = [(s, v) for s, v in curve if v is not None]
  if curve:
    lines.append("- Validation by step: " + ", ".join(f"{v:.4f} at {s:,}" for s, v in curve) + ".")
  comparison, twin = _comparison(name, checkout)
  if comparison:
    lines += [""] + comparison
  lines += ["", "## Architecture", ""] + _architecture_lines(model, document["params"], files_bytes)
  tokens = meta.get("tokens_seen")
  seconds = meta.get("train_step_seconds_approx")
  lines += ["", "## Training", ""]
  lines.append(
    f"- {meta.get('steps', '?'):,} steps of batch {train.get('batch_size', '?')} x {data.get('window_length', '?'):,} "
    f"bases ({tokens:,} tokens seen), windows every {data.get('stride', '?'):,} bases; AdamW, peak learning rate "
    f"{train.get('learning_rate', '?')} after {train.get('warmup_steps', '?')} warmup steps, cosine decay, gradient "
    f"clipping at {train.get('grad_clip_norm', '?')}; the sub-linear memory step over chunks of "
    f"{train.get('chunk_size', '?')}; seed {config.get('seed', '?')}."
  )
  if seconds:
    took = f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"
    lines.append(f"- About {took} of training steps (the trainer's own timing, evaluations and saves left out).")
  versions = meta.get("versions", {})
  lines.append(
    f"- Exported {meta.get('export_date', '?')[:10]} from step {meta.get('source', {}).get('step', '?')} with "
    + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    + "."
  )
  lines += ["", "## Data", ""] + _genome_lines(genome)
  lines += ["", "## Softmax twin", ""] + _twin_lines(twin, document)
  lines += [
    "",
    "## Load and use",
    "",
    "```python",
    "from genome_transformer import pretrained",
    "",
    f'model = pretrained.load("{name}")' + (f'  # or "{aliases[0]}"' if aliases else ""),
    'print(model.bits_per_base("ACGTTGCATGCA" * 100))',
    "```",
    "",
    f"From the command line: `genome-transformer score --model={name} --fasta=seqs.fa` (also `variants`, `embed`, "
    "`generate`; `-h` on each), or `python -m genome_transformer.pretrained score ...` from a clone.",
    "",
    "## Intended use and limits",
    "",
    "- Intended: trying the library's API (scoring, variant effect, embeddings, generation) on DNA; a starting "
    "point for fine-tuning; a reference point for larger runs.",
    "- Not intended: any biological or clinical conclusion. It is a small model trained briefly on one genome "
    "(or a few); its variant scores are log-likelihood ratios, not effect predictions; on an organism it never "
    "saw it is near 2 bits per base.",
    f"- Positions past the {data.get('window_length', '?'):,}-base training window were never trained on: the "
    "default scoring stays within it; `context=None` (one recurrence) scores further, at a cost.",
    "- Soft-masking is ignored (case folded); N and IUPAC codes are never scored.",
    "",
    "This card is written by `python -m genome_transformer.pretrained cards` from the files beside it; edit the code "
    "(genome_transformer/release/cards.py), not the card.",
  ]
  return "\n".join(lines) + "\n"


def release_names(checkout: str = export_reader.CHECKOUT_DIR) -> list[str]:
  """The releases bundled in the checkout's pretrained/ (not those of $GENOME_TRANSFORMER_PRETRAINED)."""
  root = os.path.join(checkout, "pretrained")
  return sorted(n for n in os.listdir(root) if os.path.isfile(os.path.join(root, n, export_reader.EXPORT_JSON)))


def render_index(checkout: str = export_reader.CHECKOUT_DIR) -> str:
  """MODEL_CARD.md's table of releases, between its markers: one row per release, linking its card."""
  aliases = {release: alias for alias, release in export_reader.RECOMMENDED.items()}
  lines = [
    INDEX_BEGIN,
    "| release | genome | context | parameters | stored | steps | tokens seen | test bits/base | measured on | alias |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ]
  for name in release_names(checkout):
    document = export_reader.read_export_json(os.path.join(checkout, "pretrained", name))
    meta, data = document["metadata"], document["config"].get("data", {})
    files_bytes = sum(f["bytes"] for f in document["params"].get("files", {}).values())
    cells = [
      f"[`{name}`](pretrained/{name}/{CARD})",
      f"`{meta.get('genome', {}).get('spec', '?')}`",
      f"{data.get('window_length', '?'):,}",
      f"{meta.get('num_params', 0):,}",
      f"{document['params'].get('dtype', 'float32')}, {files_bytes / 1e6:.1f} MB",
      f"{meta.get('steps', 0):,}",
      f"{meta.get('tokens_seen', 0) / 1e6:.1f} M",
      _bits(meta.get("test_bits_per_base")),
      measured_on(meta),
      f"`{aliases[name]}`" if name in aliases else "-",
    ]
    lines.append("| " + " | ".join(cells) + " |")
  lines.append(INDEX_END)
  return "\n".join(lines)


def _with_index(text: str, index: str, path: str) -> str:
  if INDEX_BEGIN not in text or INDEX_END not in text:
    raise ValueError(f"{path} lacks the release index markers ({INDEX_BEGIN!r} ... {INDEX_END!r}); put them back.")
  head, rest = text.split(INDEX_BEGIN, 1)
  return head + index + rest.split(INDEX_END, 1)[1]


def expected_files(checkout: str = export_reader.CHECKOUT_DIR) -> dict[str, str]:
  """path -> the text the code renders now: each release's card and MODEL_CARD.md with its index."""
  out = {
    os.path.join(checkout, "pretrained", name, CARD): render_card(os.path.join(checkout, "pretrained", name), checkout)
    for name in release_names(checkout)
  }
  model_card = os.path.join(checkout, MODEL_CARD)
  with open(model_card, encoding="utf-8") as f:
    out[model_card] = _with_index(f.read(), render_index(checkout), model_card)
  return out


def stale_cards(checkout: str = export_reader.CHECKOUT_DIR) -> list[str]:
  """The files (cards, MODEL_CARD.md) whose text differs from what the code renders now, or that are missing."""
  stale = []
  for path, text in expected_files(checkout).items():
    current = None
    if os.path.isfile(path):
      with open(path, encoding="utf-8") as f:
        current = f.read()
    if current != text:
      stale.append(path)
  return stale


def write_cards(checkout: str = export_reader.CHECKOUT_DIR) -> list[str]:
  """Writes every stale card and MODEL_CARD.md's index; returns the paths written."""
  expected = expected_files(checkout)
  written = []
  for path in stale_cards(checkout):
    files.write_bytes_atomic(path, expected[path].encode("utf-8"))
    written.append(path)
  return written
