# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""One Orbax CheckpointManager per workdir: train state, data iterator and config in one checkpoint.

Orbax writes each step into a temporary directory and renames it when complete, so a process killed
mid-save leaves no step that looks finished (in a gs:// bucket, which has no rename, Orbax writes the
step in place and marks it finished with a commit_success.txt written last). A step that is finished
but unreadable (disk damage, a file truncated by hand) is skipped with a warning naming it, and the
previous step is used; a read that fails only for a while (a storage hiccup) is retried and moves
nothing (see `restore_latest`). The layout (<workdir>/checkpoints/<step>/{state, data, config}) is known
here only: the exporter and the studies read a step's parameters with `read_params`.
"""

from __future__ import annotations

import contextlib
import logging as python_logging
import time
from typing import Any

from absl import logging
from etils import epath
import grain
import jax
import ml_collections
import numpy as np
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


class CheckpointReadError(ValueError):
  """read_params could not read the asked step of a workdir; the message says what to pass instead."""


CHECKPOINTS_DIR = "checkpoints"  # Under the workdir; one directory per saved step.
STATE_ITEM, DATA_ITEM, CONFIG_ITEM = "state", "data", "config"  # A step's items.


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
    self.directory = files.as_path(workdir) / CHECKPOINTS_DIR
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
        **{
          STATE_ITEM: ocp.args.StandardSave(state),
          DATA_ITEM: grain.checkpoint.CheckpointSave(data_iterator),
          CONFIG_ITEM: ocp.args.JsonSave(self._config_dict),
        }
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
      return restored[STATE_ITEM]
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
    saved_config = self._manager.restore(step, args=ocp.args.Composite(**{CONFIG_ITEM: ocp.args.JsonRestore()}))[
      CONFIG_ITEM
    ]
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
        **{
          STATE_ITEM: ocp.args.StandardRestore(abstract_state),
          DATA_ITEM: grain.checkpoint.CheckpointRestore(data_iterator),
        }
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


# ----------------------------------------------------------------------------------------------
# Reading one step's parameters, read-only (export, studies).


def _checkpoint_manager(workdir: str) -> tuple[epath.Path, ocp.CheckpointManager]:
  if not workdir:
    raise CheckpointReadError("--workdir is empty: name the directory a training run wrote.")
  workdir = files.as_path(workdir)
  if not workdir.is_dir():
    raise CheckpointReadError(
      f"workdir {workdir} does not exist (or is not a directory): pass the --workdir of a "
      "training run (python -m genome_transformer.main --workdir=...)."
    )
  directory = workdir / CHECKPOINTS_DIR
  if not directory.is_dir():
    raise CheckpointReadError(
      f"workdir {workdir} has no checkpoints/ directory: train first, or pass the workdir the "
      "trainer wrote its checkpoints into."
    )
  # read_only: a read must never clean up, create or quarantine anything in the workdir (and so it saves
  # nothing: save_interval_steps=0 says so, where Orbax would warn that it set it).
  options = ocp.CheckpointManagerOptions(read_only=True, create=False, save_interval_steps=0)
  manager = ocp.CheckpointManager(directory, options=options)
  return directory, manager


@contextlib.contextmanager
def _expected_orbax_warnings_dropped(directory: epath.Path) -> Any:
  """Drops the two warnings Orbax logs on every read-only restore of a training workdir, neither a problem.

  The read-only manager announces that its directory is read-only, and the partial restore of a step's
  `state` item finds no metadata file of the item's own (the step's is one directory up, where the
  trainer's manager wrote it). Both are matched with their paths; any other warning is kept.
  """
  expected = (f"Given directory is read only={directory}", "Metadata file does not exist: ")

  def keep(record: python_logging.LogRecord) -> bool:
    message = record.getMessage()
    if message.startswith(expected[1]):
      path = message[len(expected[1]) :]
      return not (path.startswith(f"{directory}/") and path.endswith(f"/{STATE_ITEM}/_CHECKPOINT_METADATA"))
    return message != expected[0]

  logger = python_logging.getLogger("absl")  # Orbax logs through absl's logger.
  logger.addFilter(keep)
  try:
    yield
  finally:
    logger.removeFilter(keep)


def has_checkpoint(workdir: str) -> bool:
  """Whether the workdir holds a finished checkpoint step (Orbax names them by step number)."""
  directory = epath.Path(workdir) / CHECKPOINTS_DIR
  return directory.is_dir() and any(p.name.isdigit() and p.is_dir() for p in directory.iterdir())


def read_params(workdir: str, step: int | None = None) -> tuple[int, Any, dict]:
  """(step, parameter tree of numpy arrays, training config dict) from a workdir's checkpoint, read-only.

  Only the parameters are read (Orbax partial restore of the state item); the optimizer state stays on disk.
  """
  with _expected_orbax_warnings_dropped(files.as_path(workdir or ".") / CHECKPOINTS_DIR):
    return _read_params(workdir, step)


def _read_params(workdir: str, step: int | None) -> tuple[int, Any, dict]:
  directory, manager = _checkpoint_manager(workdir)
  try:
    steps = sorted(manager.all_steps())
    if not steps:
      raise CheckpointReadError(
        f"{directory} holds no finished checkpoint: train longer (checkpoints are saved every "
        "train.checkpoint_every steps and at the end), or pass another --workdir."
      )
    if step is None:
      step = steps[-1]
    elif step not in steps:
      raise CheckpointReadError(
        f"{directory} has no checkpoint at step {step}; available steps: {', '.join(map(str, steps))}."
      )
    step_dir = directory / str(step)
    try:
      config_dict = manager.restore(step, args=ocp.args.Composite(**{CONFIG_ITEM: ocp.args.JsonRestore()}))[CONFIG_ITEM]
    except Exception as error:  # pylint: disable=broad-except
      raise _unreadable("config", step_dir, error, steps) from error
  finally:
    manager.close()
  params = _restore_params_only(step_dir / STATE_ITEM, step_dir, steps)
  return step, params, config_dict


def _restore_params_only(state_dir: epath.Path, step_dir: epath.Path, steps: list[int]) -> Any:
  checkpointer = ocp.PyTreeCheckpointer()
  try:
    tree = checkpointer.metadata(state_dir).item_metadata.tree
    if not isinstance(tree, dict) or "params" not in tree:
      found = sorted(tree) if isinstance(tree, dict) else type(tree).__name__
      raise CheckpointReadError(
        f"{state_dir} has no `params` entry (found {found}); is this a genome-transformer training checkpoint?"
      )
    abstract = {"params": jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), tree["params"])}
    restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), abstract)
    restored = checkpointer.restore(
      state_dir, args=ocp.args.PyTreeRestore(item=abstract, restore_args=restore_args, partial_restore=True)
    )
  except CheckpointReadError:
    raise
  except Exception as error:  # pylint: disable=broad-except
    raise _unreadable("parameters", step_dir, error, steps) from error
  return restored["params"]


def _unreadable(what: str, step_dir, error: Exception, steps) -> CheckpointReadError:
  return CheckpointReadError(
    f"The {what} of checkpoint {step_dir} could not be read ({files.error_summary(error)}); export another step "
    f"with --step (available: {', '.join(map(str, steps))})."
  )
