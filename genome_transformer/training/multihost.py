# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""What the processes of one run agree on: who builds the dataset, and the step a preempted run saves.

One process (a laptop, one GPU machine) needs no agreement: SIGTERM sets a flag, the loop reads it at
the next step boundary, saves that step and exits. With several processes (`main.py --distributed` on
a TPU pod slice or multi-node GPU) every process must save the same step, since an Orbax save is a
collective that waits for all of them: JAX's coordination service then owns SIGTERM (its preemption
notifier, started by `jax.distributed.initialize`), and a notice to any one process makes every process
agree on one step, the furthest any of them has reached plus one, at which all save and exit.

Only process 0 builds the TFDS shards; the others wait for it through the coordination service's
key-value store (which carries process 0's error to them if the build fails), then read its shards.
A process that cannot see them (a data_dir on each host's own disk rather than shared storage) builds
its own copy, and everyone waits until every copy exists before the first collective.
"""

from __future__ import annotations

import itertools
import signal

from absl import logging
import jax
from jax.experimental import multihost_utils
import ml_collections
import orbax.checkpoint as ocp

from genome_transformer.data import dataset

# How long the other processes wait for process 0's data preparation (a 3 Gb genome's download and
# shards take tens of minutes). A process that dies is noticed sooner: the coordination service's
# heartbeats end the job.
DATA_WAIT_TIMEOUT_S = 24 * 3600
_KEY_PREFIX = "genome_transformer"
_rounds = itertools.count()  # Every process prepares in the same order, so the counters agree.


def agrees_on_preemption() -> bool:
  """Whether SIGTERM goes through the coordination service (every process stops at one agreed step)."""
  return jax.distributed.is_initialized() and bool(jax.config.jax_enable_preemption_service)


class Preemption:
  """Tells the loop, after each step, whether to save that step and stop."""

  def __init__(self):
    self._agreed = agrees_on_preemption()
    self._signalled = False

  def install(self) -> None:
    if self._agreed:
      # Python's handler would replace the coordination service's: leave SIGTERM to it.
      return
    if jax.process_count() > 1:
      logging.warning(
        "The preemption service is off (jax_enable_preemption_service): on SIGTERM each process saves the step "
        "it has reached, and processes that disagree wait for each other."
      )

    def handler(signum, frame):
      del frame
      logging.warning("Received signal %d: saving a checkpoint before exiting.", signum)
      self._signalled = True

    signal.signal(signal.SIGTERM, handler)

  def should_stop(self, step: int) -> bool:
    """True at the step to save before exiting: this process's next one, or the one all processes agreed.

    Call it once after every step with that step's number, on every process.
    """
    if not self._agreed:
      return self._signalled
    if multihost_utils.reached_preemption_sync_point(step):
      logging.warning("Preemption notice: all %d processes save step %d and exit.", jax.process_count(), step)
      return True
    return False


def _builder_args(data_config: ml_collections.ConfigDict, data_dir: str) -> tuple:
  return data_config.genome, data_dir, data_config.window_length, data_config.stride, data_config.max_n_fraction


def prepare_dataset(data_config: ml_collections.ConfigDict, data_dir: str) -> None:
  """Builds the run's shards once: on process 0, while the others wait; then every process can read them."""
  args = _builder_args(data_config, data_dir)
  if jax.process_count() == 1:
    dataset.prepare(*args)
    return
  client = ocp.multihost.get_jax_distributed_client()
  round_ = next(_rounds)
  outcome_key = f"{_KEY_PREFIX}/dataset/{round_}"
  timeout_ms = DATA_WAIT_TIMEOUT_S * 1000
  if jax.process_index() == 0:
    logging.info("Process 0 prepares the dataset; the other %d processes wait.", jax.process_count() - 1)
    try:
      dataset.prepare(*args)
    except BaseException as error:
      # The others would otherwise wait out the timeout; they stop with process 0's reason instead.
      client.key_value_set(outcome_key, f"{type(error).__name__}: {error}")
      raise
    client.key_value_set(outcome_key, "")
  else:
    logging.info("Waiting for process 0 to prepare the dataset.")
    failure = client.blocking_key_value_get(outcome_key, timeout_ms)
    if failure:
      raise dataset.DatasetConfigError(f"process 0 could not prepare the dataset ({failure})")
    if dataset.make_builder(*args).prepared:
      logging.info("Reading the shards process 0 prepared in %s.", data_dir)
    else:
      logging.warning(
        "Process %d does not see the shards process 0 prepared in %s (not storage shared by the hosts): building "
        "this host's own copy. Set config.data.data_dir to shared storage to build once.",
        jax.process_index(),
        data_dir,
      )
      dataset.prepare(*args)
  # No process enters a collective, whose timeouts are short, while another still builds.
  client.wait_at_barrier(f"{_KEY_PREFIX}/dataset_ready/{round_}", timeout_ms)
