# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Real labelled DNA for fine-tuning, built on demand from Debian packages into the cache (docs/tasks.md).

  tasks.build("uci-splice")                    # -> TaskFiles(directory, folds=[Fold(name, train, validation, test)], card)
  python -m genome_transformer.tasks list
  python -m genome_transformer.tasks build uci-splice

Nothing here is committed data: each task reads its package's file (pinned by version and sha256) and writes
TSV files that `python -m genome_transformer.finetune` takes.
"""

from __future__ import annotations

import importlib
from typing import Any

from genome_transformer.data.tasks.base import Fold, Task, TaskError, TaskFiles

# Modules that define tasks (each a TASKS tuple), in the order `list` shows them.
_MODULES = ("uci", "chrx_splice", "ecoli_coding")


def _registry() -> dict[str, Task]:
  tasks: dict[str, Task] = {}
  for module in _MODULES:
    for task in importlib.import_module(f"genome_transformer.data.tasks.{module}").TASKS:
      tasks[task.name] = task
  return tasks


TASKS = _registry()


def build(name: str, cache_dir: str | None = None, **options: Any) -> TaskFiles:
  """The task's TSV files in the cache, built on first use."""
  if name not in TASKS:
    raise TaskError(f"no task {name!r}; the tasks are {', '.join(TASKS)} (python -m genome_transformer.tasks list).")
  from genome_transformer.data.tasks import base  # pylint: disable=g-import-not-at-top

  return base.build(TASKS[name], cache_dir, **options)


__all__ = ["TASKS", "Fold", "Task", "TaskError", "TaskFiles", "build"]
