# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""One Orbax CheckpointManager per workdir: train state, data iterator and config in one checkpoint.

Orbax writes each step into a temporary directory and renames it when complete, so a process killed
mid-save leaves no step that looks finished (in a gs:// bucket, which has no rename, Orbax writes the
step in place and marks it finished with a commit_success.txt written last). A step that is finished
but unreadable (disk damage, a file truncated by hand) is skipped with a warning naming it, and the
previous step is used; a read that fails only for a while (a storage hiccup) is retried and moves
nothing (see `restore_latest`).
"""

from __future__ import annotations

import logging as python_logging
import time
from typing import Any

from absl import logging
from etils import epath
import grain
import jax
import ml_collections
import orbax.checkpoint as ocp

from genome_transformer import config_lib
from genome_transformer.genomics import files


def quiet_orbax_info() -> None:
  """Orbax logs tens of INFO lines per checkpoint read or write: keep its warnings, drop the rest from the log."""
  logging.get_absl_handler().addFilter(
    lambda record: record.levelno >= python_logging.WARNING or "/orbax/" not in record.pathname
  )


class CheckpointConfigMismatchError(ValueError):
  """The workdir's checkpoint was made with a config that cannot continue under this one."""


class CheckpointUnreadableError(RuntimeError):
  """No checkpoint of the workdir could be read; the message names each step's failure."""


# Reads of one step before it counts as unreadable, and the first pause between them (doubling).
RESTORE_ATTEMPTS = 3
RESTORE_BACKOFF_S = 0.5


class _CheckpointManager(ocp.CheckpointManager):
  """Orbax's manager, except that it leaves JAX's preemption sync point to the training loop.

  Orbax asks the sync point at each save and again from its background finalize thread, with the saved
  step. JAX takes the last step any caller passed as this process's position, so that late call could
  report a step the loop has already left, and the processes could agree on a step none of them will
  reach again: no preemption save. The loop asks once per step (multihost.Preemption); the save it then
  makes is an ordinary forced save.
  """

  def reached_preemption(self, step: int) -> bool:
    del step
    return False


class Checkpointer:
  """Saves and restores {state, data iterator, config} under <workdir>/checkpoints."""

  def __init__(self, workdir: str, config: ml_collections.ConfigDict, *, max_to_keep: int):
    self.directory = files.as_path(workdir) / "checkpoints"
    self._config_dict = config.to_dict()
    self._manager = _CheckpointManager(
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
    """The newest readable checkpoint's state (and the iterator restored in place), or None if none.

    A step whose read fails is retried (RESTORE_ATTEMPTS in all, backing off): a storage hiccup must
    not cost a good checkpoint. A step that still fails is moved to checkpoints_unreadable/ only once
    an older step has been read: then the failure is that step's own. When no step can be read, the
    cause is more likely the storage or this installation than every checkpoint at once, so nothing
    is moved and the error names each step's failure.
    """
    steps = sorted(self._manager.all_steps(), reverse=True)
    failed: list[tuple[int, Exception]] = []
    for step in steps:
      try:
        restored = self._restore_with_retries(step, abstract_state, data_iterator)
      except CheckpointConfigMismatchError:
        raise
      except Exception as error:  # pylint: disable=broad-except
        failed.append((step, error))
        continue
      for bad_step, error in failed:
        self._move_unreadable(bad_step, error, step)
      if failed:
        logging.warning(
          "Resumed from %s instead of the newer, unreadable checkpoint(s) %s.",
          self._step_path(step),
          ", ".join(str(self._step_path(s)) for s, _ in failed),
        )
      return restored["state"]
    if failed:
      raise CheckpointUnreadableError(
        f"No checkpoint in {self.directory} could be read ("
        + "; ".join(f"step {s}: {files.error_summary(e)}" for s, e in failed)
        + "). Nothing was moved. If the storage is reachable and the checkpoints are damaged, move the directory "
        "away to start over or restore it from a copy; otherwise rerun when the storage is back."
      )
    return None

  def _step_path(self, step: int) -> epath.Path:
    return self.directory / str(step)

  def _restore_with_retries(self, step: int, abstract_state: Any, data_iterator) -> Any:
    for attempt in range(RESTORE_ATTEMPTS):
      try:
        return self._restore(step, abstract_state, data_iterator)
      except CheckpointConfigMismatchError:
        raise
      except Exception as error:  # pylint: disable=broad-except
        if attempt + 1 == RESTORE_ATTEMPTS:
          raise
        delay = RESTORE_BACKOFF_S * 2**attempt
        logging.warning(
          "Reading checkpoint %s failed (%s); retrying in %.1f s (attempt %d of %d).",
          self._step_path(step),
          files.error_summary(error),
          delay,
          attempt + 2,
          RESTORE_ATTEMPTS,
        )
        time.sleep(delay)
    raise AssertionError("unreachable")

  def _restore(self, step: int, abstract_state: Any, data_iterator) -> Any:
    saved_config = self._manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))["config"]
    mismatches = config_lib.resume_mismatches(saved_config, self._config_dict)
    if mismatches:
      raise CheckpointConfigMismatchError(
        f"The checkpoint in {self._step_path(step)} was made with another config; it cannot resume under this one:\n  "
        + "\n  ".join(mismatches)
        + "\nUse a new --workdir, or the config the checkpoint was made with."
      )
    return self._manager.restore(
      step,
      args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state),
        data=grain.checkpoint.CheckpointRestore(data_iterator),
      ),
    )

  def _move_unreadable(self, step: int, error: Exception, fallback_step: int) -> None:
    path = self._step_path(step)
    # Moved aside, not deleted: it can be inspected, and the step can be saved again when it is redone.
    quarantine = self.directory.parent / "checkpoints_unreadable" / f"{path.name}-{int(time.time())}"
    if jax.process_index() == 0:
      files.move_tree(path, quarantine)
    self._manager.reload()
    logging.warning(
      "Checkpoint %s is corrupted or half-written (%s; %d attempts); moved to %s; resuming from step %d.",
      path,
      files.error_summary(error),
      RESTORE_ATTEMPTS,
      quarantine,
      fallback_step,
    )

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
