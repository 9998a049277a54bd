# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Restoring: a read that fails for a while moves nothing; only a checkpoint that stays unreadable while
an older one reads is moved to checkpoints_unreadable/ (the real-process test is in test_train.py)."""

import os

import grain
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genome_transformer import config_lib
from genome_transformer.training import checkpointing

STEPS = (1, 2)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
  monkeypatch.setattr(checkpointing, "RESTORE_BACKOFF_S", 0.0)


def _iterator():
  return iter(grain.MapDataset.range(100).to_iter_dataset())


def _state(step):
  return {"w": jnp.full((4,), float(step)), "step": jnp.int32(step)}


def _abstract():
  sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding), _state(0))


def _save_steps(directory):
  """Checkpoints at steps 1 and 2 in `directory`; the iterator had yielded `step` items at each."""
  ckpt = checkpointing.Checkpointer(str(directory), config_lib.base_config(), max_to_keep=5)
  iterator = _iterator()
  for step in STEPS:
    next(iterator)
    ckpt.save(step, _state(step), iterator)
  ckpt.close()
  return directory


@pytest.fixture
def workdir(tmp_path):
  return _save_steps(tmp_path)


def _restore(workdir, fail=None):
  """(state, next iterator item, restore calls) of a fresh Checkpointer; fail(call_number) may raise."""
  ckpt = checkpointing.Checkpointer(str(workdir), config_lib.base_config(), max_to_keep=5)
  real_restore, calls = ckpt._manager.restore, []  # pylint: disable=protected-access

  def restore(*args, **kwargs):
    calls.append(args[0])
    if fail:
      fail(len(calls))
    return real_restore(*args, **kwargs)

  ckpt._manager.restore = restore  # pylint: disable=protected-access
  iterator = _iterator()
  try:
    state = ckpt.restore_latest(_abstract(), iterator)
    return state, next(iterator), calls
  finally:
    ckpt.close()


def _listing(workdir):
  quarantine = workdir / "checkpoints_unreadable"
  steps = sorted(int(n) for n in os.listdir(workdir / "checkpoints") if n.isdigit())
  return steps, sorted(os.listdir(quarantine)) if quarantine.exists() else []


def test_good_checkpoints_restore_the_latest(workdir):
  state, following, calls = _restore(workdir)
  assert int(state["step"]) == 2 and following == 2  # The iterator resumes after its 2 items.
  np.testing.assert_array_equal(state["w"], np.full(4, 2.0))
  assert calls == [2, 2]  # Config, then state and iterator.


@pytest.mark.parametrize("failures", [1, checkpointing.RESTORE_ATTEMPTS - 1])
def test_transient_read_error_is_retried_and_moves_nothing(workdir, failures):
  def fail(call):
    if call <= failures:
      raise OSError("503 Service Unavailable (simulated)")

  state, following, calls = _restore(workdir, fail)
  assert int(state["step"]) == 2 and following == 2
  assert calls == [2] * (failures + 2)
  assert _listing(workdir) == ([1, 2], [])


def test_persistent_failure_of_every_step_moves_nothing(workdir):
  def fail(call):
    raise OSError("storage unreachable (simulated)")

  with pytest.raises(
    checkpointing.CheckpointUnreadableError, match=r"step 2: OSError: storage unreachable .*Nothing was moved"
  ):
    _restore(workdir, fail)
  assert _listing(workdir) == ([1, 2], [])


def _damage(step_dir):
  damaged = 0
  for root, _, files in os.walk(step_dir / "state"):
    for name in files:
      with open(os.path.join(root, name), "wb") as f:
        f.write(b"\x00garbage")
      damaged += 1
  assert damaged


def test_really_unreadable_checkpoint_is_moved_aside(workdir):
  _damage(workdir / "checkpoints" / "2")
  state, following, calls = _restore(workdir)
  assert int(state["step"]) == 1 and following == 1
  np.testing.assert_array_equal(state["w"], np.full(4, 1.0))
  assert calls.count(2) >= checkpointing.RESTORE_ATTEMPTS  # Retried before it was judged unreadable.
  steps, moved = _listing(workdir)
  assert steps == [1] and len(moved) == 1 and moved[0].startswith("2-")


def test_only_checkpoint_unreadable_is_not_moved(workdir):
  _damage(workdir / "checkpoints" / "2")
  _damage(workdir / "checkpoints" / "1")
  with pytest.raises(checkpointing.CheckpointUnreadableError, match=r"step 2: .*step 1: "):
    _restore(workdir)
  assert _listing(workdir) == ([1, 2], [])


def test_saves_leave_the_preemption_sync_point_to_the_loop(monkeypatch, tmp_path):
  """Orbax would ask JAX's sync point with the saved step, from its finalize thread too, after the loop
  has moved on; JAX would take that step as this process's position. Only the loop may ask."""
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top

  asked = []
  monkeypatch.setattr(multihost_utils, "reached_preemption_sync_point", lambda step: asked.append(step) or False)
  _save_steps(tmp_path)
  assert sorted(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit()) == list(STEPS)
  assert asked == []
