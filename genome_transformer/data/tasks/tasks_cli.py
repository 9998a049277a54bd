# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Command line of the labelled tasks (`python -m genome_transformer.tasks list | build NAME`)."""

from __future__ import annotations

from collections.abc import Sequence
import sys

from absl import app, flags

from genome_transformer import cli
from genome_transformer.data import tasks
from genome_transformer.genomics import files, tokenizer
from genome_transformer.genomics.download import FetchError

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defined at run time, not at import: importing this module cannot clash with another program's flags."""
  flags.DEFINE_string("cache_dir", None, f"Cache root (default ${files.CACHE_ENV}, else {files.DEFAULT_CACHE_DIR}).")
  flags.DEFINE_integer("flank", None, "chrx-splice, ecoli-coding: bases each side of the site (their default: 100).")


def _listing() -> str:
  lines = []
  for task in tasks.TASKS.values():
    options = ", ".join(f"--{k}={v}" for k, v in task.options.items())
    lines.append(f"{task.name}  ({task.genome}{'; ' + options if options else ''})\n  {task.summary}\n  {task.source}")
  return "\n".join(lines)


def main(argv: Sequence[str]) -> None:
  args = list(argv[1:])
  if not args or args[0] not in ("list", "build"):
    raise app.UsageError("give a subcommand: list, or build NAME")
  if args[0] == "list":
    print(_listing())
    return
  if len(args) != 2:
    raise app.UsageError(f"build takes one task name, one of {', '.join(tasks.TASKS)}")
  options = {} if FLAGS.flank is None else {"flank": FLAGS.flank}
  try:
    built = tasks.build(args[1], FLAGS.cache_dir, **options)
  except (tasks.TaskError, FetchError, tokenizer.GenomeInputError, OSError) as error:
    sys.exit(f"tasks: error: {error}")
  for fold in built.folds:
    print(f"{fold.name}\t{fold.train}\t{fold.validation}\t{fold.test}", flush=True)


COMMAND = cli.Command(
  usage="list | build NAME [flags]",
  summary=(
    "Real labelled DNA for fine-tuning (docs/tasks.md), built on first use from Debian packages into the cache. "
    "build prints one line per fold: its name and its train, validation and test TSV files."
  ),
  flags=["cache_dir", "flank"],
  examples=[
    "{prog} list",
    "{prog} build uci-splice",
    "{prog} build ecoli-coding",
    "{prog} build chrx-splice --flank=1000",
  ],
  subcommands=[("list", "The tasks, their genome and source."), ("build", "Build a task's TSV files; print them.")],
)


def run(argv: Sequence[str] | None = None, prog: str = "python -m genome_transformer.tasks") -> None:
  define_flags()
  cli.run(main, COMMAND, prog=prog, argv=argv)
