# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""One Orbax CheckpointManager per workdir: train state, data iterator and config in one checkpoint.

Orbax writes each step into a temporary directory and renames it when complete, so a process killed
mid-save leaves no step that looks finished. A step that is finished but unreadable (disk damage, a
file truncated by hand) is skipped with a warning naming it, and the previous step is used.
"""

from __future__ import annotations

import logging as python_logging
import os
import time
from typing import Any

from absl import logging
import grain
import jax
import ml_collections
import orbax.checkpoint as ocp

from genome_transformer import config_lib


def quiet_orbax_info() -> None:
  """Orbax logs tens of INFO lines per checkpoint read or write: keep its warnings, drop the rest from the log."""
  logging.get_absl_handler().addFilter(
    lambda record: record.levelno >= python_logging.WARNING or "/orbax/" not in record.pathname
  )


class CheckpointConfigMismatchError(ValueError):
  """The workdir's checkpoint was made with a config that cannot continue under this one."""


class Checkpointer:
  """Saves and restores {state, data iterator, config} under <workdir>/checkpoints."""

  def __init__(self, workdir: str, config: ml_collections.ConfigDict, *, max_to_keep: int):
    self.directory = os.path.join(os.path.abspath(workdir), "checkpoints")
    self._config_dict = config.to_dict()
    self._manager = ocp.CheckpointManager(
      self.directory,
      options=ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, create=True, cleanup_tmp_directories=True, enable_async_checkpointing=True
      ),
    )

  def save(self, step: int, state: Any, data_iterator: grain.DataLoaderIterator | Any) -> None:
    # The iterator's state is captured now (synchronously); the arrays are written in the background.
    self._manager.save(
      step,
      args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        data=grain.checkpoint.CheckpointSave(data_iterator),
        config=ocp.args.JsonSave(self._config_dict),
      ),
      force=True,
    )

  def restore_latest(self, abstract_state: Any, data_iterator) -> Any | None:
    """The newest readable checkpoint's state (and the iterator restored in place), or None if none."""
    steps = sorted(self._manager.all_steps(), reverse=True)
    for position, step in enumerate(steps):
      path = os.path.join(self.directory, str(step))
      try:
        saved_config = self._manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))["config"]
      except Exception as error:  # pylint: disable=broad-except
        self._warn_unreadable(path, error, steps[position + 1 :])
        continue
      mismatches = config_lib.resume_mismatches(saved_config, self._config_dict)
      if mismatches:
        raise CheckpointConfigMismatchError(
          f"The checkpoint in {path} was made with another config; it cannot resume under this one:\n  "
          + "\n  ".join(mismatches)
          + "\nUse a new --workdir, or the config the checkpoint was made with."
        )
      try:
        restored = self._manager.restore(
          step,
          args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_state),
            data=grain.checkpoint.CheckpointRestore(data_iterator),
          ),
        )
      except Exception as error:  # pylint: disable=broad-except
        self._warn_unreadable(path, error, steps[position + 1 :])
        continue
      if position:
        logging.warning(
          "Resumed from %s instead of the newer, unreadable checkpoint(s) %s.",
          path,
          ", ".join(os.path.join(self.directory, str(s)) for s in steps[:position]),
        )
      return restored["state"]
    if steps:
      raise RuntimeError(
        f"No checkpoint in {self.directory} is readable (steps {steps}); move the directory "
        "away to start over, or restore it from a copy."
      )
    return None

  def _warn_unreadable(self, path: str, error: Exception, older_steps: list[int]) -> None:
    fallback = f"falling back to step {older_steps[0]}" if older_steps else "no older checkpoint is left"
    # Moved aside, not deleted: it can be inspected, and the step can be saved again when it is redone.
    quarantine = os.path.join(
      os.path.dirname(self.directory), "checkpoints_unreadable", f"{os.path.basename(path)}-{int(time.time())}"
    )
    if jax.process_index() == 0:
      os.makedirs(os.path.dirname(quarantine), exist_ok=True)
      os.replace(path, quarantine)
    self._manager.reload()
    logging.warning(
      "Checkpoint %s is corrupted or half-written (%s: %s); moved to %s; %s.",
      path,
      type(error).__name__,
      str(error).splitlines()[0] if str(error) else "",
      quarantine,
      fallback,
    )

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
