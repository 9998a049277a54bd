# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The task baselines (k-mer logistic regression, CNN) and benchmarks/finetune.py --quick.

The synthetic task: random sequences of varied lengths, half of them carrying a planted motif at a
random position; a k-mer model and a CNN separate it far above chance, a broken one does not.
"""

import itertools
import json
import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from genome_transformer.evaluation import task_baselines
from genome_transformer.genomics import tokenizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOTIF = "TATAGGCCGA"


def _rows(rng, n, lengths=(30, 61)):
  rows = []
  for i in range(n):
    length = int(rng.integers(*lengths))
    seq = list(rng.choice(list("ACGT"), length))
    if i % 2:
      at = int(rng.integers(0, length - len(MOTIF) + 1))
      seq[at : at + len(MOTIF)] = MOTIF
    rows.append((f"s{i}", "".join(seq), "motif" if i % 2 else "background"))
  return rows


def _write(path, rows):
  path.write_text("id\tsequence\tlabel\n" + "".join("\t".join(r) + "\n" for r in rows))
  return str(path)


@pytest.fixture(scope="module")
def motif_task(tmp_path_factory):
  rng = np.random.default_rng(0)
  root = tmp_path_factory.mktemp("motif")
  return {
    "train": _write(root / "train.tsv", _rows(rng, 240)),
    "validation": _write(root / "validation.tsv", _rows(rng, 60)),
    "test": _write(root / "test.tsv", _rows(rng, 80)),
  }


def test_kmer_counts_match_a_hand_count():
  # ACGTNACGA: 2-mers AC CG GT (TN NA skipped) AC CG GA -> AC 2, CG 2, GT 1, GA 1.
  tokens = tokenizer.encode("ACGTNACGA")
  counts = task_baselines.kmer_counts(tokens, 2)
  expected = np.zeros(16)
  for kmer, n in {"AC": 2, "CG": 2, "GT": 1, "GA": 1}.items():
    expected["ACGT".index(kmer[0]) * 4 + "ACGT".index(kmer[1])] = n
  np.testing.assert_array_equal(counts, expected)


def test_kmer_features_equal_an_independent_string_count():
  seq = "GATTACANCCGGTTAGCA"
  features = task_baselines.kmer_features([tokenizer.encode(seq)], ks=(1, 2, 3), both_strands=True)[0]
  rc = seq[::-1].translate(str.maketrans("ACGTN", "TGCAN"))
  expected = []
  for k in (1, 2, 3):
    counts = {"".join(p): 0 for p in itertools.product("ACGT", repeat=k)}  # Lexicographic = base-4 order.
    for strand in (seq, rc):
      for i in range(len(strand) - k + 1):
        if "N" not in strand[i : i + k]:
          counts[strand[i : i + k]] += 1
    total = sum(counts.values())
    expected.extend(v / total for v in counts.values())
  np.testing.assert_allclose(features, expected, rtol=1e-6)
  assert features.shape == (4 + 16 + 64,)


def test_kmer_logreg_learns_a_motif_and_is_deterministic(motif_task):
  a = task_baselines.kmer_logreg(**motif_task, seed=0)
  b = task_baselines.kmer_logreg(**motif_task, seed=0)
  assert a["accuracy"] > 0.8, a
  assert a["classes"] == ["background", "motif"]
  assert a["settings"]["C"] in task_baselines.DEFAULT_C_GRID
  for key in ("accuracy", "mcc", "macro_f1", "auroc", "loss"):
    assert a[key] == b[key]
    assert key in a["validation"]


QUICK_CNN = task_baselines.CNNConfig(filters=32, filters2=32, hidden=32, num_steps=300, eval_every=50, patience=3)


def test_cnn_learns_a_motif_and_is_deterministic(motif_task):
  a = task_baselines.cnn(**motif_task, seed=1, config=QUICK_CNN)
  b = task_baselines.cnn(**motif_task, seed=1, config=QUICK_CNN)
  assert a["accuracy"] > 0.8, a
  assert a["mcc"] > 0.6, a
  assert "train_seconds" in a  # Recorded; its size is a benchmark matter, not a test's.
  for key in ("accuracy", "mcc", "macro_f1", "auroc", "loss"):
    assert a[key] == b[key]


def test_cnn_padding_never_changes_a_prediction():
  model = task_baselines.CNN(QUICK_CNN, 3)
  rng = np.random.default_rng(2)
  lengths = np.array([5, 13, 17, 24], np.int32)  # Not multiples of the pool: the last window is partial.
  rows = [rng.integers(0, 5, n) for n in lengths]  # With N bases.
  import jax  # pylint: disable=g-import-not-at-top

  params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 4), jnp.int32), jnp.ones((1,), jnp.int32))
  outputs = []
  for total, filler in ((24, tokenizer.PAD_ID), (40, tokenizer.PAD_ID), (40, tokenizer.A_ID)):
    tokens = np.full((len(rows), total), filler, np.int32)
    for i, r in enumerate(rows):
      tokens[i, : len(r)] = r
    outputs.append(np.asarray(model.apply(params, jnp.asarray(tokens), jnp.asarray(lengths))))
  # Whatever follows a sequence's length (padding of any extent, or bases) is not read.
  np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(outputs[2], outputs[0], rtol=1e-6, atol=1e-6)
  # One row alone (its own length) scores as in the batch.
  alone = model.apply(params, jnp.asarray(rows[0][None].astype(np.int32)), jnp.asarray(lengths[:1]))
  np.testing.assert_allclose(np.asarray(alone)[0], outputs[0][0], rtol=1e-6, atol=1e-6)


def _tiny_export(task_files, workdir) -> str:
  """A tiny from-scratch backbone's export: what the fine-tuner writes after two steps."""
  from benchmarks import common  # pylint: disable=g-import-not-at-top
  from genome_transformer.release import finetune  # pylint: disable=g-import-not-at-top

  config = common.load_config_module("configs/finetune.py").get_config()
  config.model.update(d_model=16, num_layers=1, num_heads=2, d_ff=32)
  config.task.train, config.task.validation = task_files["train"], task_files["validation"]
  config.train.update(num_steps=2, warmup_steps=0, batch_size=8, eval_every=2, checkpoint_every=2)
  finetune.finetune(config, str(workdir))
  return str(workdir / finetune.EXPORT_DIR)


@pytest.mark.slow  # Three fine-tuning compiles in a subprocess, twice.
def test_benchmark_quick_runs_every_method_and_resumes(motif_task, tmp_path):
  out = tmp_path / "finetune.json"
  backbone = _tiny_export(motif_task, tmp_path / "tiny")
  command = [
    sys.executable,
    "-m",
    "benchmarks.finetune",
    "--quick",
    f"--tsv_task=motif:{motif_task['train']},{motif_task['validation']},{motif_task['test']}",
    f"--tsv_backbone={backbone}",
    "--seeds=1",
    f"--out={out}",
    f"--workdir_root={tmp_path / 'work'}",
  ]
  env = {**os.environ, "PYTHONPATH": REPO}
  first = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert first.returncode == 0, first.stderr[-3000:]
  runs = json.loads(out.read_text())["runs"]
  methods = {run["method"] for run in runs.values()}
  assert methods == {"kmer_logreg", "cnn", "slim_scratch", "slim_probe", "slim_full"}, methods
  for run in runs.values():
    assert 0 <= run["test"]["accuracy"] <= 1 and "train_seconds" in run
  assert runs["motif/fold0/kmer_logreg/seed0"]["test"]["accuracy"] > 0.8
  assert "motif" in first.stdout and "kmer_logreg" in first.stdout  # The printed table.
  assert (tmp_path / "finetune.png").exists()
  second = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert second.returncode == 0, second.stderr[-3000:]
  assert "0 to run" in second.stdout
  assert json.loads(out.read_text())["runs"] == runs
