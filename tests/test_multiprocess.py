# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Two real trainer processes as one run (`main.py --distributed` on 127.0.0.1, CPU collectives).

As on a pod slice: one process builds the dataset while the other waits; SIGTERM to one process
makes both save the same step and exit; the pair started again resumes and ends exactly where an
uninterrupted pair ends (every loss, the evaluation and the parameters, compared with ==: both runs
sum the gradient over the same two processes in the same way).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import orbax.checkpoint as ocp
import pytest
from training_testing import REPO, assert_trees_equal, env, losses_by_step, saved_params

from genome_transformer.training import metrics_writer

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
