# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Two real trainer processes as one run (`main.py --distributed` on 127.0.0.1, CPU collectives).

As on a pod slice: one process builds the dataset while the other waits; SIGTERM to one process
makes both save the same step and exit; the pair started again resumes and ends exactly where an
uninterrupted pair ends (every loss, the evaluation and the parameters, compared with ==: both runs
sum the gradient over the same two processes in the same way). The dataset's hand-over, its other
paths included (a host that does not see the shards, a failed build), also runs in this process against
a stand-in for the coordination service's key-value store.
"""

import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import time

import ml_collections
import orbax.checkpoint as ocp
import pytest
from training_testing import REPO, assert_trees_equal, env, losses_by_step, saved_params

from genome_transformer.data import dataset
from genome_transformer.training import metrics_writer, multihost

NUM_PROCESSES = 2
NUM_STEPS = 16
# A batch of 64 windows keeps a step near 0.3 s on 2 cores: SIGTERM reaches the coordination service
# through a listener that polls once a second, and the agreed step must come before the last one.
# Checkpoints only on preemption and at the end, so the preemption save is the only one mid-run.
RUN_FLAGS = [
  f"--config={REPO}/configs/tiny.py",
  f"--config.train.num_steps={NUM_STEPS}",
  "--config.train.batch_size=64",
  f"--config.train.checkpoint_every={NUM_STEPS}",
  f"--config.train.eval_every={NUM_STEPS}",
]
TIMEOUT_S = 300


def _free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


class _Pair:
  """The two processes of one run, each logging to its own file."""

  def __init__(self, name, workdir, cache_dir, log_dir, *extra):
    port = _free_port()
    # The coordination service listens on 127.0.0.1 only (by default it binds every interface).
    process_env = env(cache_dir, JAX_COORDINATOR_BIND_ADDRESS=f"127.0.0.1:{port}")
    self.log_paths = [os.path.join(log_dir, f"{name}-{i}.log") for i in range(NUM_PROCESSES)]
    self.processes = []
    for i, log_path in enumerate(self.log_paths):
      command = [
        sys.executable,
        "-m",
        "genome_transformer.main",
        *RUN_FLAGS,
        f"--workdir={workdir}",
        "--distributed",
        f"--coordinator_address=127.0.0.1:{port}",
        f"--num_processes={NUM_PROCESSES}",
        f"--process_id={i}",
        *extra,
      ]
      with open(log_path, "w", encoding="utf-8") as log:
        self.processes.append(
          subprocess.Popen(command, env=process_env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        )

  def logs(self) -> list[str]:
    out = []
    for path in self.log_paths:
      with open(path, encoding="utf-8", errors="replace") as f:
        out.append(f.read())
    return out

  def wait(self, returncode=0) -> list[str]:
    """Each process's log, once both have exited with `returncode`."""
    deadline = time.time() + TIMEOUT_S
    for process in self.processes:
      try:
        process.wait(timeout=max(deadline - time.time(), 1))
      except subprocess.TimeoutExpired:
        pass
    self.kill()
    logs = self.logs()
    for i, (process, log) in enumerate(zip(self.processes, logs)):
      assert process.returncode == returncode, f"process {i} ended with {process.returncode}:\n{log[-4000:]}"
    return logs

  def kill(self):
    for process in self.processes:
      if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture
def pairs():
  """Starts pairs of processes; any left running by a failing test are killed."""
  started = []

  def start(*args):
    pair = _Pair(*args)
    started.append(pair)
    return pair

  yield start
  for pair in started:
    pair.kill()


def _agreed_step(log: str) -> int:
  (step,) = re.findall(rf"Preemption notice: all {NUM_PROCESSES} processes save step (\d+) and exit", log)
  return int(step)


def _final_eval(workdir) -> dict:
  return [r for r in metrics_writer.read_metrics(str(workdir)) if "test_bits_per_base" in r][-1]


def test_two_processes_agree_on_preemption_and_resume_exactly(pairs, tmp_path):
  cache_dir = tmp_path / "cache"  # Empty: the first pair builds the dataset.
  logs_dir = str(tmp_path)

  # An uninterrupted pair, the reference. Process 0 builds the shards; process 1 waits and reads them.
  reference = tmp_path / "reference"
  logs = pairs("reference", reference, cache_dir, logs_dir).wait()
  builds = [i for i, log in enumerate(logs) if "Building genome_windows/" in log]
  assert builds == [0], f"processes that built the dataset: {builds}"
  assert "Reading the shards process 0 prepared" in logs[1]
  assert sorted(losses_by_step(reference)) == list(range(1, NUM_STEPS + 1))

  # SIGTERM to process 1 only, once process 0 has logged step 2.
  workdir = tmp_path / "preempted"
  pair = pairs("preempted", workdir, cache_dir, logs_dir)
  deadline = time.time() + TIMEOUT_S
  while time.time() < deadline and all(p.poll() is None for p in pair.processes):
    logged = (workdir / "metrics.jsonl").exists() and metrics_writer.read_metrics(str(workdir))
    if logged and any(r.get("step", 0) >= 2 for r in logged):
      pair.processes[1].send_signal(signal.SIGTERM)
      break
    time.sleep(0.005)
  logs = pair.wait()  # Both exit cleanly, process 0 without a signal of its own.
  assert not any("Building genome_windows/" in log for log in logs)
  agreed = [_agreed_step(log) for log in logs]
  assert agreed[0] == agreed[1], agreed
  saved = agreed[0]
  assert 2 <= saved < NUM_STEPS, f"the run ended at step {saved}, before the preemption could be tested"
  for log in logs:
    assert f"Stopped at step {saved} on SIGTERM" in log
  with ocp.CheckpointManager(os.path.join(workdir, "checkpoints")) as manager:
    assert list(manager.all_steps()) == [saved]  # The agreed step, and no other.
  # Both processes' data positions went into it.
  data_dir = os.path.join(workdir, "checkpoints", str(saved), "data")
  assert sorted(f for f in os.listdir(data_dir) if f.startswith("process_")) == [
    f"process_{i}-of-{NUM_PROCESSES}.json" for i in range(NUM_PROCESSES)
  ]
  assert max(losses_by_step(workdir)) == saved  # Stopped right after the step it saved.

  # The same command again: both resume from the agreed step and end as the reference ended.
  logs = pairs("resumed", workdir, cache_dir, logs_dir).wait()
  for log in logs:
    assert f"Resumed from step {saved}." in log
  assert losses_by_step(workdir) == losses_by_step(reference)
  final, final_reference = _final_eval(workdir), _final_eval(reference)
  for key in ("validation_bits_per_base", "test_bits_per_base"):
    assert final[key] == final_reference[key]
  assert_trees_equal(saved_params(workdir, NUM_STEPS), saved_params(reference, NUM_STEPS))


def test_a_failed_dataset_build_stops_every_process(pairs, tmp_path):
  """Process 0 cannot build the dataset: the process waiting for it stops too, with process 0's reason."""
  missing = tmp_path / "missing.fa"
  pair = pairs("missing", tmp_path / "workdir", tmp_path / "cache", str(tmp_path), f"--config.data.genome={missing}")
  logs = pair.wait(returncode=1)
  assert f"{missing}: no such file" in logs[0].strip().splitlines()[-1]
  assert "process 0 could not prepare the dataset" in logs[1].strip().splitlines()[-1]
  assert f"{missing}: no such file" in logs[1].strip().splitlines()[-1]
  assert not any("Traceback" in log for log in logs)


class _FakeCoordinationService:
  """The key-value store and barriers of JAX's coordination service, as multihost.prepare_dataset uses them."""

  def __init__(self):
    self.values, self.barriers = {}, []

  def key_value_set(self, key, value):
    assert key not in self.values, key  # JAX refuses to overwrite a key too.
    self.values[key] = value

  def blocking_key_value_get(self, key, timeout_ms):
    assert timeout_ms >= 3600 * 1000  # Long enough for a whole genome's download and build.
    return self.values[key]  # Run in order here: a missing key would have waited forever.

  def wait_at_barrier(self, barrier_id, timeout_ms):
    self.barriers.append(barrier_id)


@pytest.fixture
def as_process(monkeypatch, tmp_path):
  """as_process(i, data_dir, genome): prepare_dataset as process i of 2, all sharing one fake service.

  Returns the data directories dataset.prepare was called for.
  """
  monkeypatch.setenv("GENOME_TRANSFORMER_CACHE", str(tmp_path / "genome_cache"))
  service = _FakeCoordinationService()
  monkeypatch.setattr(ocp.multihost, "get_jax_distributed_client", lambda: service)
  monkeypatch.setattr(multihost.jax, "process_count", lambda: 2)
  real_prepare, prepared = dataset.prepare, []

  def prepare(*args, **kwargs):
    prepared.append(args[1])
    return real_prepare(*args, **kwargs)

  monkeypatch.setattr(dataset, "prepare", prepare)

  def run(index, data_dir, genome):
    monkeypatch.setattr(multihost.jax, "process_index", lambda: index)
    monkeypatch.setattr(multihost, "_rounds", itertools.count())  # Each process counts its own rounds.
    data_config = ml_collections.ConfigDict(dict(genome=genome, window_length=64, stride=48, max_n_fraction=0.25))
    prepared.clear()
    multihost.prepare_dataset(data_config, str(data_dir))
    return list(prepared)

  run.service = service
  return run


def test_process_0_builds_and_the_others_read_its_shards(as_process, genome_small_fasta, tmp_path):
  shared = tmp_path / "shared"
  assert as_process(0, shared, genome_small_fasta[0]) == [str(shared)]
  assert as_process(1, shared, genome_small_fasta[0]) == []  # Waited, then read what process 0 built.
  assert as_process.service.values == {"genome_transformer/dataset/0": ""}
  assert as_process.service.barriers == ["genome_transformer/dataset_ready/0"] * 2


def test_a_host_that_does_not_see_the_shards_builds_its_own(as_process, genome_small_fasta, tmp_path):
  as_process(0, tmp_path / "host0", genome_small_fasta[0])
  # Process 1's data_dir is on its own disk: it builds there, and still meets the others at the barrier.
  assert as_process(1, tmp_path / "host1", genome_small_fasta[0]) == [str(tmp_path / "host1")]
  assert dataset.load(genome_small_fasta[0], str(tmp_path / "host1"), 64, 48, 0.25).prepared
  assert len(as_process.service.barriers) == 2


def test_process_0_failure_reaches_the_others(as_process, tmp_path):
  missing = str(tmp_path / "missing.fa")
  with pytest.raises(Exception, match="no such file") as raised:
    as_process(0, tmp_path / "data", missing)
  with pytest.raises(dataset.DatasetConfigError, match=r"process 0 could not prepare the dataset \(.*no such file"):
    as_process(1, tmp_path / "data", missing)
  assert type(raised.value).__name__ in as_process.service.values["genome_transformer/dataset/0"]
