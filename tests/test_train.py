# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The trainer as users run it: real processes, real checkpoints, SIGKILL, corruption, 8 devices.

One uninterrupted reference run of configs/tiny.py (conftest.py's reference_run, which
test_bucket.py shares too) is compared with every other run. Exactness claims are exact (==) on
CPU; the 8-device run is compared within float32 round-off because its gradient all-reduce sums in
another order.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import orbax.checkpoint as ocp
from training_testing import (
  NUM_STEPS,
  REPO,
  assert_trees_equal,
  command,
  env,
  leaves,
  losses_by_step,
  run,
  saved_params,
)

from genome_transformer.training import metrics_writer

# Largest parameter difference measured after 40 steps: 9e-7 (one element; most are below 1e-7).
PARAMS_ATOL_8_DEVICES = 1e-5


def _final_params(workdir, step=NUM_STEPS):
  return saved_params(workdir, step)


def test_reference_run_trains_and_reports(reference_run):
  workdir, result = reference_run
  rows = metrics_writer.read_metrics(str(workdir))
  losses = losses_by_step(workdir)
  assert sorted(losses) == list(range(1, NUM_STEPS + 1))
  assert np.mean([losses[s] for s in range(NUM_STEPS - 4, NUM_STEPS + 1)]) < np.mean([losses[s] for s in range(1, 6)])
  final = [r for r in rows if "test_bits_per_base" in r]
  assert final and final[-1]["step"] == NUM_STEPS
  assert 0.5 < final[-1]["validation_bits_per_base"] < 3.0
  assert final[-1]["validation_bases"] > 2 * 128  # Scored past the training window.
  assert all("tokens_per_s" in r for r in rows if "loss" in r)
  assert "sub-linear step" in result.stderr
  assert "Training step needs" in result.stderr  # The memory estimate is printed before the first step.
  assert "ETA" in result.stderr
  assert "Matmul precision: highest." in result.stderr  # config.train.matmul_precision's default, applied.
  assert os.listdir(os.path.join(workdir, "tensorboard"))


def test_sigkill_then_resume_equals_uninterrupted(reference_run, cache_dir, tmp_path):
  reference_dir, _ = reference_run
  workdir = tmp_path / "killed"
  process = subprocess.Popen(
    command(workdir), env=env(cache_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO
  )
  metrics = workdir / "metrics.jsonl"
  deadline = time.time() + 300
  killed_after = None
  first_checkpoint = workdir / "checkpoints" / "5"  # Orbax renames it into place once complete.
  while time.time() < deadline and process.poll() is None:
    if metrics.exists() and first_checkpoint.exists():
      steps = [row["step"] for row in metrics_writer.read_metrics(str(workdir)) if "loss" in row]
      if steps and max(steps) >= 7:  # Mid-way between checkpoints: steps after 5 are lost and redone.
        process.send_signal(signal.SIGKILL)
        killed_after = max(steps)
        break
    time.sleep(0.005)
  process.wait()
  assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
  assert killed_after < NUM_STEPS

  result = run(workdir, cache_dir)
  assert "Resumed from step" in result.stderr, result.stderr[-3000:]
  reference = losses_by_step(reference_dir)
  resumed = losses_by_step(workdir)
  assert resumed == reference  # Every logged loss, exactly.
  assert_trees_equal(_final_params(workdir), _final_params(reference_dir))


def test_corrupted_latest_checkpoint_falls_back(reference_run, cache_dir, tmp_path):
  reference_dir, _ = reference_run
  workdir = tmp_path / "corrupt"
  shutil.copytree(reference_dir, workdir)
  latest = workdir / "checkpoints" / str(NUM_STEPS) / "state"
  damaged = 0
  for root, _, files in os.walk(latest):
    for name in files:
      with open(os.path.join(root, name), "wb") as f:
        f.write(b"\x00garbage")
      damaged += 1
  assert damaged
  # The run must restore step 35 and redo steps 36..40.
  result = run(workdir, cache_dir, f"--config.train.num_steps={NUM_STEPS}")
  assert f"Checkpoint {workdir}/checkpoints/{NUM_STEPS} is corrupted or half-written" in result.stderr
  assert f"Resumed from {workdir}/checkpoints/{NUM_STEPS - 5}" in result.stderr
  assert "retrying in" in result.stderr  # Read again before it was judged unreadable.
  (moved,) = os.listdir(workdir / "checkpoints_unreadable")
  assert moved.startswith(f"{NUM_STEPS}-")
  assert (workdir / "checkpoints_unreadable" / moved / "state").is_dir()  # Kept for inspection, not deleted.
  # The redone steps rebuild the same final state as the reference, saved again at the same step.
  assert_trees_equal(_final_params(workdir), _final_params(reference_dir))


def test_config_mismatch_with_checkpoint_names_fields(reference_run, cache_dir, tmp_path):
  reference_dir, _ = reference_run
  workdir = tmp_path / "mismatch"
  shutil.copytree(reference_dir, workdir)
  result = run(workdir, cache_dir, "--config.model.d_model=64", "--config.model.d_ff=128", check=False)
  assert result.returncode != 0
  assert "config.model.d_model: checkpoint has 32, this config has 64" in result.stderr
  assert "config.model.d_ff: checkpoint has 64, this config has 128" in result.stderr
  assert "Traceback" not in result.stderr


def _preempted_run(cache_dir, tmp_path):
  """A run sent SIGTERM after step 2: (workdir, the step it saved)."""
  workdir = tmp_path / "preempted"
  process = subprocess.Popen(
    command(workdir), env=env(cache_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO
  )
  deadline = time.time() + 300
  while time.time() < deadline and process.poll() is None:
    metrics = workdir / "metrics.jsonl"
    if metrics.exists() and any(r.get("step", 0) >= 2 for r in metrics_writer.read_metrics(str(workdir))):
      process.send_signal(signal.SIGTERM)
      break
    time.sleep(0.005)
  _, stderr = process.communicate(timeout=300)
  assert process.returncode == 0, stderr[-3000:]
  assert "on SIGTERM" in stderr
  with ocp.CheckpointManager(os.path.join(workdir, "checkpoints")) as manager:
    saved = manager.latest_step()
  logged = max(r["step"] for r in metrics_writer.read_metrics(str(workdir)) if "loss" in r)
  assert saved == logged < NUM_STEPS  # Saved exactly where it stopped, not at the last periodic step.
  return workdir, saved


def test_sigterm_saves_and_exits_cleanly(cache_dir, tmp_path):
  _preempted_run(cache_dir, tmp_path)


def test_resume_after_sigterm_equals_uninterrupted(reference_run, cache_dir, tmp_path):
  reference_dir, _ = reference_run
  workdir, saved = _preempted_run(cache_dir, tmp_path)
  result = run(workdir, cache_dir)
  assert f"Resumed from step {saved}." in result.stderr, result.stderr[-3000:]
  assert losses_by_step(workdir) == losses_by_step(reference_dir)
  assert_trees_equal(_final_params(workdir), _final_params(reference_dir))


def _data_state(workdir, step):
  """The data iterator's saved position (grain's JSON) in a checkpoint."""
  with open(os.path.join(workdir, "checkpoints", str(step), "data", "process_0-of-1.json"), encoding="utf-8") as f:
    return json.load(f)


def test_extending_num_steps_on_resume_continues_the_run(reference_run, cache_dir, tmp_path):
  """A finished run of 20 steps, rerun with num_steps=40, trains steps 21..40 on the data's next batches."""
  reference_dir, _ = reference_run
  workdir = tmp_path / "extended"
  run(workdir, cache_dir, "--config.train.num_steps=20")
  first = losses_by_step(workdir)
  assert sorted(first) == list(range(1, 21))
  params_20 = _final_params(workdir, 20)
  result = run(workdir, cache_dir, f"--config.train.num_steps={NUM_STEPS}")
  assert "Resumed from step 20." in result.stderr, result.stderr[-3000:]
  rows = metrics_writer.read_metrics(str(workdir))
  second = [r["step"] for r in rows if "loss" in r][len(first) :]
  assert second == list(range(21, NUM_STEPS + 1))  # Not restarted: only the new steps ran.
  assert [r["step"] for r in rows if "test_bits_per_base" in r] == [20, NUM_STEPS]
  # The same data stream as one 40-step run: the iterator went on from its saved position (had it
  # started over with the restored parameters, it would stand at batch 20).
  assert _data_state(workdir, NUM_STEPS) == _data_state(reference_dir, NUM_STEPS)
  params_40 = _final_params(workdir, NUM_STEPS)
  assert all(np.all(np.isfinite(np.asarray(x))) for x in leaves(params_40))
  assert any(not np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(leaves(params_20), leaves(params_40)))


def test_eight_devices_match_one(reference_run, cache_dir, tmp_path):
  reference_dir, _ = reference_run
  workdir = tmp_path / "sharded"
  result = run(workdir, cache_dir, "--cpu_devices=8")  # The host's CPU split as a user splits it.
  assert "of 8:" in result.stderr  # Really ran on 8 devices.
  reference = losses_by_step(reference_dir)
  sharded = losses_by_step(workdir)
  assert sorted(sharded) == sorted(reference)
  np.testing.assert_allclose(
    [sharded[s] for s in sorted(sharded)], [reference[s] for s in sorted(reference)], rtol=2e-4
  )
  # Evaluation runs on one device's copy of the parameters (train._evaluation_params): the same figures.
  evaluations = [
    [
      (r["step"], r["validation_bits_per_base"])
      for r in metrics_writer.read_metrics(str(d))
      if "validation_bits_per_base" in r
    ]
    for d in (workdir, reference_dir)
  ]
  assert [s for s, _ in evaluations[0]] == [s for s, _ in evaluations[1]] and evaluations[0]
  np.testing.assert_allclose([b for _, b in evaluations[0]], [b for _, b in evaluations[1]], rtol=2e-4)
  # And the state they end in: every parameter after 40 AdamW steps, within the round-off of an
  # all-reduce that sums the gradient in another order (one AdamW step moves a parameter by up to the
  # learning rate, 3e-3: a wrong shard or a missed reduction is far outside).
  for x, y in zip(leaves(_final_params(workdir)), leaves(_final_params(reference_dir))):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=PARAMS_ATOL_8_DEVICES)


def test_nan_loss_stops_naming_the_step(cache_dir, tmp_path):
  workdir = tmp_path / "nan"
  # A checkpoint every step and a progress line only at the end: the state must be checked before
  # each save, not only where the loss is logged.
  result = run(
    workdir,
    cache_dir,
    "--config.train.learning_rate=1e30",
    "--config.train.grad_clip_norm=0",
    "--config.train.checkpoint_every=1",
    "--config.train.log_every=1000",
    "--config.train.max_to_keep=100",
    check=False,
  )
  assert result.returncode != 0
  last_line = result.stderr.strip().splitlines()[-1]
  match = re.match(
    r"Error: Loss is (nan|inf|-inf|[-+0-9.e]+) \(or the train state is not finite\) at step (\d+), ", last_line
  )
  assert match, result.stderr[-2000:]
  bad_step = int(match.group(2))
  assert bad_step < NUM_STEPS  # Caught at a save, long before the only log point.
  assert "Traceback" not in result.stderr
  with ocp.CheckpointManager(os.path.join(workdir, "checkpoints")) as manager:
    steps = manager.all_steps()
    assert list(steps) == list(range(1, bad_step))  # Every step before it was saved, that one was not.
    for step in steps:
      state = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))["state"]
      assert all(np.all(np.isfinite(np.asarray(x))) for x in leaves(state)), step


def test_heldout_eval_scores_windows_of_the_context():
  """evaluate() scores the first eval.max_bases of each region in windows of eval.context or data.window_length."""
  import jax  # pylint: disable=g-import-not-at-top
  import ml_collections  # pylint: disable=g-import-not-at-top
  from model_testing import make_config  # pylint: disable=g-import-not-at-top

  from genome_transformer.evaluation import heldout  # pylint: disable=g-import-not-at-top
  from genome_transformer.model import inference  # pylint: disable=g-import-not-at-top
  from genome_transformer.model import performer as model_lib  # pylint: disable=g-import-not-at-top

  model = model_lib.SLiMPerformer(make_config())
  params = model.init(jax.random.PRNGKey(0), np.zeros((1, 8), np.int32))["params"]
  rng = np.random.default_rng(3)
  regions = [
    ("a", rng.integers(0, 4, 100).astype(np.uint8)),
    ("b", rng.integers(0, 5, 40).astype(np.uint8)),
    ("c", np.array([2], np.uint8)),
  ]  # One base: nothing to score.

  def want(context, max_bases):
    nll, count = 0.0, 0
    for _, tokens_L in regions:
      logp_L = inference.windowed_log_likelihood(model, params, tokens_L[: max_bases or None], context, 8)
      nll -= float(np.nansum(logp_L, dtype=np.float64))
      count += int(np.sum(np.isfinite(logp_L)))
    return nll / count / np.log(2), count

  config = ml_collections.ConfigDict(
    dict(data=dict(window_length=16), eval=dict(context=0, chunk_size=8, max_bases=64))
  )
  results = {}
  for context, max_bases in ((0, 64), (24, 64), (0, 0)):
    config.eval.context, config.eval.max_bases = context, max_bases
    got = heldout.evaluate(model, params, config, {"validation": regions}, None)
    bits, count = want(context or 16, max_bases)
    assert got["validation_bases"] == count
    np.testing.assert_allclose(got["validation_bits_per_base"], bits, rtol=1e-6)
    results[(context, max_bases)] = got
  assert results[(0, 64)]["validation_bases"] == 63 + int(np.sum(regions[1][1][1:] < 4))
  assert results[(0, 0)]["validation_bases"] == 99 + int(np.sum(regions[1][1][1:] < 4))
  assert results[(24, 64)]["validation_bits_per_base"] != results[(0, 64)]["validation_bits_per_base"]


def test_rerun_of_a_finished_run_repeats_its_figures_without_training(reference_run, cache_dir, tmp_path):
  reference_dir, _ = reference_run
  workdir = tmp_path / "workdir"
  shutil.copytree(reference_dir, workdir)
  metrics_before = (workdir / metrics_writer.METRICS_JSONL).read_text()
  steps_before = sorted(os.listdir(workdir / "checkpoints"))
  result = run(workdir, cache_dir)
  assert f"The run in {workdir} is complete: its checkpoint is at step {NUM_STEPS}" in result.stderr, result.stderr
  final = [r for r in metrics_writer.read_metrics(str(reference_dir)) if "test_bits_per_base" in r][-1]
  for split in ("validation", "test"):
    line = (
      f"{split}: {final[f'{split}_bits_per_base']:.4f} bits per base over {final[f'{split}_bases']} held-out "
      f"bases (context {final[f'{split}_context']})."
    )
    assert line in result.stderr, result.stderr[-3000:]
  assert "Training step needs" not in result.stderr  # the step was not compiled
  assert "step 1/" not in result.stderr and "Resumed from" not in result.stderr
  assert (workdir / metrics_writer.METRICS_JSONL).read_text() == metrics_before
  assert sorted(os.listdir(workdir / "checkpoints")) == steps_before
