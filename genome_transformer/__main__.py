# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""`genome-transformer COMMAND [flags]` (console script) or `python -m genome_transformer COMMAND [flags]`.

One name on PATH for every command: each is the command line behind a `python -m
genome_transformer.MODULE` entry point, run with the same flags; pretrained's commands (score,
variants, embed, generate, classify, list) are commands of their own here.
"""

from __future__ import annotations

from collections.abc import Sequence
import importlib
import sys

from genome_transformer import cli

PROG = "genome-transformer"

# name -> (module whose run(argv=, prog=) it calls, one-line summary, whether it is pretrained's command line,
# which takes the command's name as its first argument). Imported only when chosen: each defines absl flags.
COMMANDS = {
  "train": ("genome_transformer.main", "Train a model (or resume one) from a config into a workdir.", False),
  "fetch": (
    "genome_transformer.genomics.fetch_cli",
    "Download a genome (preset, accession or URL) to the cache.",
    False,
  ),
  "prepare": ("genome_transformer.data.prepare", "Write a genome's training windows (TFDS shards).", False),
  "export": ("genome_transformer.release.export", "Export a training workdir for inference.", False),
  "tasks": ("genome_transformer.data.tasks.tasks_cli", "Build labelled fine-tuning tasks (list | build NAME).", False),
  "finetune": ("genome_transformer.finetune", "Fine-tune a release as a sequence classifier.", False),
  "score": ("genome_transformer.release.pretrained_cli", "Bits per base of each FASTA record.", True),
  "variants": ("genome_transformer.release.pretrained_cli", "Log-likelihood ratio of each variant.", True),
  "embed": ("genome_transformer.release.pretrained_cli", "Embeddings of FASTA records (.npz or .npy).", True),
  "generate": ("genome_transformer.release.pretrained_cli", "Sample bases after a prompt.", True),
  "classify": (
    "genome_transformer.release.pretrained_cli",
    "Class probabilities of sequences (a fine-tuned export).",
    True,
  ),
  "list": ("genome_transformer.release.pretrained_cli", "The bundled releases and the recommended ones.", True),
}

COMMAND = cli.Command(
  usage="COMMAND [flags]",
  summary="SLiM Performer genome language models: train, export, and score DNA with a release.",
  subcommands=[(name, summary) for name, (_, summary, _) in COMMANDS.items()],
  notes=["`{prog} COMMAND -h` lists a command's flags."],
  examples=[
    "{prog} train --config=configs/tiny.py --workdir=/tmp/tiny",
    "{prog} list",
    "{prog} score --model=bacteria --fasta=seqs.fa --out=scores.tsv",
  ],
)


def main(argv: Sequence[str] | None = None) -> None:
  argv = list(sys.argv if argv is None else argv)
  name = argv[1] if len(argv) > 1 else None
  if name not in COMMANDS:
    if name is None or name in cli.HELP_ARGS:
      cli.print_help(COMMAND, PROG)
      sys.exit(0 if name else 1)
    sys.exit(f"{PROG}: error: unknown command {name!r}; the commands: {', '.join(COMMANDS)}.")
  module, _, takes_name = COMMANDS[name]
  run = importlib.import_module(module).run
  if takes_name:
    run(argv=[PROG, *argv[1:]], prog=PROG)
  else:
    run(argv=[f"{PROG} {name}", *argv[2:]], prog=f"{PROG} {name}")


if __name__ == "__main__":
  main()
