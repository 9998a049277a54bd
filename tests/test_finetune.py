# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Fine-tuning (python -m genome_transformer.finetune): a tiny task end to end, exact resume, bad input.

The task: GC-rich against AT-rich sequences of varied lengths, which a mean-pooled tiny model
separates in a few dozen steps, so a working pipeline is far above chance and a broken one
(labels shuffled, padding scored, the head unused) is not.
"""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import training_testing

from genome_transformer import config_lib, pretrained
from genome_transformer.data import labelled
from genome_transformer.genomics import tokenizer
from genome_transformer.release import export, finetune
from genome_transformer.training import metrics_writer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_MODEL = {"d_model": 32, "num_layers": 2, "num_heads": 2, "d_ff": 64}
QUICK = {
  "train.num_steps": 40,
  "train.warmup_steps": 2,
  "train.batch_size": 16,
  "train.full_learning_rate": 3e-3,
  "train.eval_every": 10,
  "train.log_every": 5,
  "train.checkpoint_every": 10,
  "task.chunk_size": 16,  # Shorter than most sequences: the recurrence carries state across chunks.
}


def _rows(rng, n, lengths=(20, 70)):
  rows = []
  for i in range(n):
    gc = i % 2 == 0
    p = [0.15, 0.35, 0.35, 0.15] if gc else [0.35, 0.15, 0.15, 0.35]
    seq = "".join(rng.choice(list("ACGT"), int(rng.integers(*lengths)), p=p))
    rows.append((f"seq{i}", seq, "gc_rich" if gc else "at_rich"))
  return rows


def _write_tsv(path, rows, header=("id", "sequence", "label"), gz=False):
  text = "\t".join(header) + "\n" + "".join("\t".join(r) + "\n" for r in rows)
  data = text.encode()
  with open(path, "wb") as f:
    f.write(gzip.compress(data) if gz else data)
  return str(path)


@pytest.fixture(scope="module")
def task(tmp_path_factory):
  rng = np.random.default_rng(0)
  root = tmp_path_factory.mktemp("task")
  return {
    "train": _write_tsv(root / "train.tsv.gz", _rows(rng, 96), gz=True),
    "validation": _write_tsv(root / "val.tsv", _rows(rng, 32)),
    "test": _write_tsv(root / "test.tsv", _rows(rng, 40)),
  }


def _config(task_files, **overrides):
  sys.path.insert(0, os.path.join(REPO, "configs"))
  import finetune as finetune_config  # pylint: disable=g-import-not-at-top

  config = finetune_config.get_config()
  config.unlock()
  for field, value in TINY_MODEL.items():
    config.model[field] = value
  for name, path in task_files.items():
    config.task[name] = path
  for dotted, value in {**QUICK, **overrides}.items():
    section, _, field = dotted.rpartition(".")
    (config[section] if section else config)[field] = value
  return config


def _flags(config_overrides: dict) -> list[str]:
  return [f"--config.{k}={v}" for k, v in config_overrides.items()]


def _cli(workdir, *flags):
  command = [sys.executable, "-m", "genome_transformer.finetune", f"--config={REPO}/configs/finetune.py"]
  command += [f"--workdir={workdir}", *flags]
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=REPO)
  return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=REPO)


def _classify(export_dir, *flags):
  command = [sys.executable, "-m", "genome_transformer.pretrained", "classify", f"--model={export_dir}", *flags]
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=REPO)
  return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=REPO)


def test_tiny_task_end_to_end(task, tmp_path):
  workdir = tmp_path / "run"
  flags = _flags({f"model.{k}": v for k, v in TINY_MODEL.items()}) + _flags(QUICK)
  flags += [f"--config.task.{name}={path}" for name, path in task.items()]
  result = _cli(workdir, "--config.init_from=", "--config.task.rc_average=True", *flags)
  assert result.returncode == 0, result.stderr[-4000:]
  assert "test: loss" in result.stdout and "accuracy" in result.stdout
  assert "step 40/40" in result.stderr  # The progress line.

  metrics = json.loads((workdir / finetune.TEST_METRICS).read_text())
  assert set(finetune.METRICS) <= set(metrics)
  assert metrics["classes"] == ["at_rich", "gc_rich"]
  assert metrics["accuracy"] > 0.8 and metrics["auroc"] > 0.85  # Chance is 0.5.

  lines = (workdir / finetune.TEST_PREDICTIONS).read_text().splitlines()
  assert lines[0].split("\t") == ["id", "label", "predicted", "p_at_rich", "p_gc_rich"]
  assert len(lines) == 41 and lines[1].startswith("seq0\tgc_rich\t")
  probs = np.array([[float(x) for x in line.split("\t")[3:]] for line in lines[1:]])
  np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)

  # The export classifies as the run scored the test file (same parameters, head and strand averaging).
  model = pretrained.load(str(workdir / finetune.EXPORT_DIR))
  assert model.classes == ["at_rich", "gc_rich"]
  test_rows = labelled.read_labelled(task["test"])
  np.testing.assert_allclose(model.classify(test_rows.tokens), probs, atol=2e-5)
  assert model.classify("GCGCGCGCGGCCGCGCGC").shape == (2,)

  # The command line classifies the test file as the run scored it: the TSV, and its sequences as FASTA.
  test_fasta = tmp_path / "test.fa"
  test_fasta.write_text("".join(f">{i}\n{tokenizer.decode(t)}\n" for i, t in zip(test_rows.ids, test_rows.tokens)))
  out_path = tmp_path / "predictions.tsv"
  for given, out in ((task["test"], []), (str(test_fasta), [f"--out={out_path}"])):
    result = _classify(workdir / finetune.EXPORT_DIR, f"--input={given}", *out)
    assert result.returncode == 0, result.stderr[-4000:]
    rows = [line.split("\t") for line in (out_path.read_text() if out else result.stdout).splitlines()]
    assert rows[0] == ["id", "predicted", "p_at_rich", "p_gc_rich"]
    assert [r[0] for r in rows[1:]] == test_rows.ids
    assert [r[1] for r in rows[1:]] == [line.split("\t")[2] for line in lines[1:]]
    np.testing.assert_allclose([[float(x) for x in r[2:]] for r in rows[1:]], probs, atol=2e-5)

  rows = metrics_writer.read_metrics(str(workdir))
  assert any("validation_mcc" in r for r in rows) and any("loss" in r for r in rows)
  assert (workdir / "tensorboard").is_dir()
  assert json.loads((workdir / finetune.TASK_JSON).read_text())["classes"] == ["at_rich", "gc_rich"]


def _without_timing(rows):
  by_step = {}
  for row in rows:
    by_step.setdefault(row["step"], {}).update({k: v for k, v in row.items() if k not in ("time", "steps_per_s")})
  return by_step


def test_interrupted_then_resumed_equals_uninterrupted(task, tmp_path, monkeypatch):
  overrides = {"train.patience": 2, "train.early_stopping_metric": "mcc", "train.class_weights": "balanced"}
  reference = tmp_path / "reference"
  expected = finetune.finetune(_config(task, **overrides), str(reference))

  interrupted = tmp_path / "interrupted"
  real_rows = finetune.rows_for_step

  def crash_at_step_25(step, *args):
    if step == 25:  # After the checkpoint of step 20, before that of step 30.
      raise KeyboardInterrupt
    return real_rows(step, *args)

  monkeypatch.setattr(finetune, "rows_for_step", crash_at_step_25)
  with pytest.raises(KeyboardInterrupt):
    finetune.finetune(_config(task, **overrides), str(interrupted))
  assert sorted(os.listdir(interrupted / "checkpoints")) == ["10", "20"]
  monkeypatch.setattr(finetune, "rows_for_step", real_rows)
  resumed = finetune.finetune(_config(task, **overrides), str(interrupted))

  assert resumed == expected
  for name in (finetune.TEST_METRICS, finetune.TEST_PREDICTIONS):
    assert (interrupted / name).read_bytes() == (reference / name).read_bytes()
  assert _without_timing(metrics_writer.read_metrics(str(interrupted))) == _without_timing(
    metrics_writer.read_metrics(str(reference))
  )


def test_sigterm_saves_the_step_and_the_same_call_resumes_exactly(task, tmp_path, monkeypatch):
  reference = tmp_path / "reference"
  expected = finetune.finetune(_config(task), str(reference))

  preempted = tmp_path / "preempted"
  real_rows = finetune.rows_for_step

  def sigterm_at_step_25(step, *args):
    if step == 25:
      os.kill(os.getpid(), signal.SIGTERM)  # The handler sets a flag; the loop saves step 26 and returns.
    return real_rows(step, *args)

  monkeypatch.setattr(finetune, "rows_for_step", sigterm_at_step_25)
  assert finetune.finetune(_config(task), str(preempted)) == {}
  assert sorted(os.listdir(preempted / "checkpoints")) == ["20", "26"]  # max_to_keep 2.
  assert not (preempted / finetune.TEST_METRICS).exists()
  monkeypatch.setattr(finetune, "rows_for_step", real_rows)
  assert finetune.finetune(_config(task), str(preempted)) == expected
  assert (preempted / finetune.TEST_PREDICTIONS).read_bytes() == (reference / finetune.TEST_PREDICTIONS).read_bytes()


def _tiny_export(tmp_path) -> str:
  config = config_lib.base_config()
  config.model.update(TINY_MODEL)
  model = finetune.model_lib.SLiMPerformer(config.model)
  key = jax.random.PRNGKey(7)
  params = model.init({"params": key, "features": key}, jnp.zeros((1, 16), jnp.int32))["params"]
  return export.write_export(str(tmp_path / "tiny-export"), jax.tree.map(np.asarray, params), config, {})


def test_probe_starts_from_the_export_and_keeps_it_frozen(task, tmp_path):
  exported = _tiny_export(tmp_path)
  config = _config(task, init_from=exported, **{"train.mode": "probe", "train.num_steps": 10})
  for field in TINY_MODEL:  # The architecture is the export's; config.model stays at its defaults.
    config.model[field] = config_lib.base_config().model[field]
  workdir = tmp_path / "probe"
  finetune.finetune(config, str(workdir))
  params = training_testing.params_at_step(str(workdir), 10)
  backbone = export.load_export(exported).params
  assert jax.tree.structure(params["backbone"]) == jax.tree.structure(backbone)
  for a, b in zip(jax.tree.leaves(params["backbone"]), jax.tree.leaves(backbone)):
    np.testing.assert_array_equal(a, b)
  assert np.any(params["head"]["kernel"] != 0)

  with pytest.raises(pretrained.PretrainedInputError, match="has no classification head"):
    pretrained.load(exported).classify("ACGT")
  task_file = task["test"]
  result = _classify(exported, f"--input={task_file}")
  assert result.returncode == 1 and result.stdout == ""
  assert result.stderr.strip().splitlines()[-1] == (
    f"Error: --model={exported} has no classification head; classify needs a fine-tuned export "
    "(python -m genome_transformer.finetune writes one to WORKDIR/export)."
  )

  # A model field set to differ from the export's is refused, not silently ignored.
  config.model.d_ff = 96
  with pytest.raises(config_lib.ConfigError, match=r"config\.model\.d_ff=96: the architecture is config\.init_from"):
    finetune.finetune(config, str(tmp_path / "refused"))
  assert not (tmp_path / "refused").exists()


def test_padding_changes_nothing(task):
  config = _config(task)
  classifier = finetune.Classifier.from_config(config.model, 2, config, 16)
  key = jax.random.PRNGKey(0)
  backbone = classifier.model.init({"params": key, "features": key}, jnp.zeros((1, 16), jnp.int32))["params"]
  params = {"backbone": backbone, "head": {"kernel": jax.random.normal(key, (32, 2)), "bias": jnp.zeros(2)}}
  seq = np.random.default_rng(1).integers(0, 4, 37).astype(np.uint8)
  alone, _ = labelled.padded([seq])
  with_long, lengths = labelled.padded([seq, np.zeros(150, np.uint8)])
  batch = {"rc": None, "lengths": jnp.asarray(lengths[:1]), "labels": None, "weights": None}
  p_alone = classifier.probabilities(params, {**batch, "tokens": jnp.asarray(alone, jnp.int32)}, None)
  p_padded = classifier.probabilities(params, {**batch, "tokens": jnp.asarray(with_long[:1], jnp.int32)}, None)
  np.testing.assert_allclose(np.asarray(p_alone), np.asarray(p_padded), rtol=1e-5, atol=1e-6)


def test_metrics_on_known_cases():
  probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.2, 0.8]])
  m = finetune.classification_metrics(np.array([0, 0, 1, 1]), probs)
  assert m["accuracy"] == 0.5 and m["mcc"] == 0.0 and m["macro_f1"] == 0.5
  assert m["auroc"] == 0.75  # Of the 4 (positive, negative) pairs, 3 are ranked right.
  three = finetune.classification_metrics(np.array([0, 1, 2, 2]), np.eye(3)[[0, 1, 2, 2]] * 0.9 + 0.1 / 3)
  assert three["accuracy"] == 1.0 and three["mcc"] == pytest.approx(1.0) and three["auroc"] == 1.0
  assert np.isnan(finetune.classification_metrics(np.array([1, 1]), probs[:2])["auroc"])


BAD_INPUTS = {
  "missing column": ("id\tsequence\tclass\na\tACGT\tx\n", r"line 1: the header has no 'label' column"),
  "empty file": ("", r"line 1: the file is empty"),
  "header only": ("sequence\tlabel\n", r"line 1: the file has a header but no rows"),
  "illegal character": (
    "sequence\tlabel\nACGT\tx\nAC-GT\ty\n",
    r"line 3: record '3': illegal character '-' at position 3",
  ),
  "empty sequence": ("id\tsequence\tlabel\na\tACGT\tx\nb\t\ty\n", r"line 3: the sequence of 'b' is empty"),
  "wrong field count": ("sequence\tlabel\nACGT\tx\tz\n", r"line 2: 3 tab-separated fields, but the header has 2"),
  "single class": ("sequence\tlabel\nACGT\tx\nGGCC\tx\n", r"lines 2-3: every row has the label 'x'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_training_file_is_refused_before_anything_is_written(task, tmp_path, case):
  text, message = BAD_INPUTS[case]
  bad = tmp_path / "bad.tsv"
  bad.write_text(text)
  workdir = tmp_path / "never"
  with pytest.raises(labelled.TaskInputError, match=f"^{bad}: {message}"):
    finetune.finetune(_config({**task, "train": str(bad)}), str(workdir))
  assert not workdir.exists()


@pytest.mark.parametrize("split", ["validation", "test"])
def test_unseen_label_is_refused(task, tmp_path, split):
  bad = _write_tsv(tmp_path / "bad.tsv", [("a", "ACGT", "gc_rich"), ("b", "ACGT", "neither")])
  with pytest.raises(labelled.TaskInputError, match=f"^{bad}: line 3: label 'neither' does not occur in the training"):
    finetune.finetune(_config({**task, split: bad}), str(tmp_path / "never"))
  assert not (tmp_path / "never").exists()


def test_bad_input_on_the_command_line_is_one_line(task, tmp_path):
  bad = _write_tsv(tmp_path / "bad.tsv", [("a", "ACGT", "gc_rich"), ("b", "ACXT", "at_rich")])
  workdir = tmp_path / "never"
  result = _cli(workdir, f"--config.task.train={bad}", f"--config.task.validation={task['validation']}")
  assert result.returncode == 1
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith(f"Input error: {bad}: line 3: record 'b': illegal character 'X' at position 3")
  assert "Traceback" not in result.stderr
  assert not workdir.exists()


@pytest.mark.parametrize(
  "overrides, message",
  [
    ({"train.mode": "linear"}, r"config\.train\.mode='linear': must be one of"),
    ({"task.validation": ""}, r"config\.task\.validation='': give a TSV file"),
    ({"task.pool": "max"}, r"config\.task\.pool='max'"),
    ({"task.both_strands": True, "task.rc_average": True}, r"config\.task\.rc_average=True"),
    ({"random_init": True}, r"config\.random_init=True: copies config\.init_from"),
    ({"model.d_model": 30}, r"config\.model\.d_model=30"),
  ],
)
def test_config_is_validated(task, overrides, message):
  with pytest.raises(config_lib.ConfigError, match=message):
    finetune.validate(_config(task, **overrides))


def test_rerun_of_a_finished_run_rescores_and_changes_nothing(task, tmp_path):
  workdir = tmp_path / "done"
  config = _config(task)
  first = finetune.finetune(config, str(workdir))
  predictions = (workdir / finetune.TEST_PREDICTIONS).read_bytes()
  assert finetune.finetune(config, str(workdir)) == first
  assert (workdir / finetune.TEST_PREDICTIONS).read_bytes() == predictions
  shutil.rmtree(workdir)
