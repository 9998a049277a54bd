# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Helpers of the tests that run the trainer as users do: real processes, then their workdirs read back."""

import os
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp

from genome_transformer.training import metrics_writer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_STEPS = 40
# Flags shared by the reference run (conftest.py's reference_run) and every run compared with it.
RUN_FLAGS = [f"--config={REPO}/configs/tiny.py", f"--config.train.num_steps={NUM_STEPS}"]


def env(cache_dir, **extra):
  """A trainer process's environment: its own genome cache, CPU only, one CPU device unless its flags say
  otherwise (main.py --cpu_devices)."""
  out = dict(os.environ, GENOME_TRANSFORMER_CACHE=str(cache_dir), JAX_PLATFORMS="cpu")
  out["XLA_FLAGS"] = "--xla_force_host_platform_device_count=1"
  out.update(extra)
  return out


def command(workdir, *extra):
  """The trainer's command line for RUN_FLAGS in `workdir` (a local path or a gs:// URI)."""
  return [sys.executable, "-m", "genome_transformer.main", *RUN_FLAGS, f"--workdir={workdir}", *extra]


def run(workdir, cache_dir, *extra, check=True):
  """Runs `command` to its end (10 minutes at most); with `check`, asserts it succeeded."""
  result = subprocess.run(
    command(workdir, *extra), env=env(cache_dir), capture_output=True, text=True, timeout=600, cwd=REPO
  )
  if check:
    assert result.returncode == 0, result.stderr[-4000:]
  return result


def losses_by_step(workdir):
  """The last logged loss of each step (a resumed run logs the steps after its checkpoint again)."""
  losses = {}
  for row in metrics_writer.read_metrics(str(workdir)):
    if "loss" in row:
      losses[row["step"]] = row["loss"]
  return losses


def saved_params(workdir, step):
  """The parameters saved at `step`, restored onto this process's one device whatever devices saved them."""
  path = os.path.join(workdir, "checkpoints", str(step), "state")
  checkpointer = ocp.StandardCheckpointer()
  tree = checkpointer.metadata(path).item_metadata
  tree = getattr(tree, "tree", tree)
  device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), tree)
  return checkpointer.restore(path, target)["params"]


def params_at_step(workdir, step):
  """The "params" subtree saved at `step`, restored alone (partial restore) as numpy arrays."""
  path = os.path.join(workdir, "checkpoints", str(step), "state")
  checkpointer = ocp.PyTreeCheckpointer()
  tree = checkpointer.metadata(path).item_metadata.tree
  abstract = {"params": jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), tree["params"])}
  restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), abstract)
  restored = checkpointer.restore(
    path, args=ocp.args.PyTreeRestore(item=abstract, restore_args=restore_args, partial_restore=True)
  )
  return restored["params"]


def leaves(tree):
  return jax.tree.leaves(tree)


def assert_trees_equal(a, b):
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b)
  for x, y in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
