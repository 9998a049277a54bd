# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Export of a real training run: round trip, bfloat16, step choice, config checks, bad inputs.

One 10-step run of configs/tiny.py (a real trainer process) is shared by the session; its
export is made by the command line, as users make it.
"""

import json
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import genome_transformer
from genome_transformer.genomics import tokenizer
from genome_transformer.release import export
from genome_transformer.training import metrics_writer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_STEPS = 10  # tiny.py checkpoints every 5 steps and evaluates every 10: steps 5 and 10 exist.


def _env(cache_dir):
  return dict(os.environ, GENOME_TRANSFORMER_CACHE=cache_dir, JAX_PLATFORMS="cpu")


def trained_workdir(tmp_path_factory, cache_dir) -> str:
  """A finished tiny run, made once per session (test_pretrained.py reuses the same directory)."""
  base = tmp_path_factory.getbasetemp() / "tiny_trained_run"
  workdir = base / "workdir"
  if not (base / "DONE").exists():
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir()
    result = subprocess.run(
      [
        sys.executable,
        "-m",
        "genome_transformer.main",
        f"--config={REPO}/configs/tiny.py",
        f"--workdir={workdir}",
        f"--config.train.num_steps={NUM_STEPS}",
      ],
      env=_env(cache_dir),
      capture_output=True,
      text=True,
      timeout=600,
      cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (base / "DONE").touch()
  return str(workdir)


def _run_export(cache_dir, *flags):
  return subprocess.run(
    [sys.executable, "-m", "genome_transformer.export", *flags],
    env=_env(cache_dir),
    capture_output=True,
    text=True,
    timeout=300,
    cwd=REPO,
  )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, genome_cache_dir):
  return trained_workdir(tmp_path_factory, genome_cache_dir)


@pytest.fixture(scope="module")
def exported(workdir, tmp_path_factory, genome_cache_dir):
  """The float32 export of the last step, made by the command line."""
  out = str(tmp_path_factory.mktemp("exports") / "tiny")
  result = _run_export(genome_cache_dir, f"--workdir={workdir}", f"--out={out}")
  assert result.returncode == 0, result.stderr[-4000:]
  return out


def _flat(tree):
  return {jax.tree_util.keystr(k): np.asarray(v) for k, v in jax.tree_util.tree_flatten_with_path(tree)[0]}


def test_round_trip_keeps_params_and_records_metadata(workdir, exported):
  step, checkpoint_params, config_dict = export.read_checkpoint(workdir)
  assert step == NUM_STEPS
  loaded = export.load_export(exported)
  want, got = _flat(checkpoint_params), _flat(loaded.params)
  assert set(got) == set(want)  # Parameters only: no optimizer state, no step counter.
  for name in want:
    np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    assert got[name].dtype == np.float32
  assert loaded.model_config.to_dict() == config_dict["model"]
  assert loaded.config.to_dict() == config_dict
  assert loaded.tokenizer_spec == json.loads(json.dumps(tokenizer.spec()))
  meta = loaded.metadata
  last_eval = [r for r in metrics_writer.read_metrics(workdir) if "test_bits_per_base" in r][-1]
  assert meta["steps"] == NUM_STEPS
  assert meta["tokens_seen"] == NUM_STEPS * config_dict["train"]["batch_size"] * config_dict["data"]["window_length"]
  assert meta["validation_bits_per_base"] == last_eval["validation_bits_per_base"]
  assert meta["test_bits_per_base"] == last_eval["test_bits_per_base"]
  assert meta["test_evaluated_at_step"] == NUM_STEPS
  assert meta["genome"]["spec"] == "builtin:hpylori"
  assert meta["genome"]["genomes"][0]["organism"] == "Helicobacter pylori"
  assert "n*90//100" in meta["split_rule"]
  assert meta["versions"]["genome_transformer"] == genome_transformer.__version__
  assert meta["num_params"] == sum(v.size for v in want.values())
  assert meta["export_date"].startswith("20")
  # The training log travels with the export, so learning curves outlive the workdir.
  with open(os.path.join(exported, export.TRAIN_METRICS_JSONL)) as f:
    bundled = [json.loads(line) for line in f]
  assert bundled == metrics_writer.read_metrics(workdir)
  assert any("loss" in row for row in bundled) and bundled[-1]["step"] == NUM_STEPS
  # Nothing but the export itself was left in its parent (the temp dir was renamed into place).
  assert os.listdir(os.path.dirname(exported)) == ["tiny"]


def test_bfloat16_export_is_smaller_and_loads_as_rounded_float32(workdir, exported, tmp_path):
  out = export.export(workdir, str(tmp_path / "bf16"), dtype="bfloat16")
  size = lambda path: sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
  assert size(os.path.join(out, "params")) < size(os.path.join(exported, "params"))
  full = _flat(export.load_export(exported).params)
  as_f32 = _flat(export.load_export(out).params)
  stored = _flat(export.load_export(out, dtype=None).params)
  for name, value in full.items():
    assert stored[name].dtype == jnp.bfloat16, name
    assert as_f32[name].dtype == np.float32, name
    np.testing.assert_array_equal(as_f32[name], value.astype(jnp.bfloat16).astype(np.float32), err_msg=name)


def test_step_option_exports_that_step(workdir, exported, tmp_path):
  out = export.export(workdir, str(tmp_path / "step5"), step=5)
  early = export.load_export(out)
  assert early.metadata["steps"] == 5
  assert early.metadata["tokens_seen"] == 5 * 8 * 128
  # tiny.py evaluates at step 10 only: nothing held out was measured by step 5, and it says so.
  assert early.metadata["validation_bits_per_base"] is None
  assert early.metadata["test_bits_per_base"] is None
  with open(os.path.join(out, export.TRAIN_METRICS_JSONL)) as f:
    bundled = [json.loads(line) for line in f]
  assert bundled == [r for r in metrics_writer.read_metrics(workdir) if r["step"] <= 5] and bundled
  late = _flat(export.load_export(exported).params)
  assert any(not np.array_equal(v, late[k]) for k, v in _flat(early.params).items())
  with pytest.raises(export.ExportError, match=r"no checkpoint at step 7; available steps: 5, 10"):
    export.export(workdir, str(tmp_path / "step7"), step=7)


def _copy_with_model_config(exported, tmp_path, **changes):
  copy = str(tmp_path / "edited")
  shutil.copytree(exported, copy)
  path = os.path.join(copy, "export.json")
  with open(path) as f:
    document = json.load(f)
  document["model_config"].update(changes)
  with open(path, "w") as f:
    json.dump(document, f)
  return copy


def test_config_that_disagrees_with_params_names_the_parameter(exported, tmp_path):
  wider = _copy_with_model_config(exported, tmp_path, d_ff=128)
  with pytest.raises(
    export.ParamsConfigMismatchError,
    match=r"parameter layer_0/ffn_in/bias has shape \(64,\) but the model config implies \(128,\)",
  ):
    export.load_export(wider)
  shutil.rmtree(wider)
  deeper = _copy_with_model_config(exported, tmp_path, num_layers=3)
  with pytest.raises(export.ParamsConfigMismatchError, match=r"parameter layer_2/\S+ .* is missing"):
    export.load_export(deeper)


def test_corrupted_export_is_named(exported, tmp_path):
  copy = str(tmp_path / "corrupt")
  shutil.copytree(exported, copy)
  document = export.read_export_json(copy)
  biggest = max(document["params"]["files"], key=lambda rel: document["params"]["files"][rel]["bytes"])
  with open(os.path.join(copy, biggest), "r+b") as f:
    f.truncate(document["params"]["files"][biggest]["bytes"] // 2)
  with pytest.raises(export.ExportError, match=f"is corrupted: {biggest} has .* bytes"):
    export.load_export(copy)
  with open(os.path.join(copy, biggest), "r+b") as f:
    f.truncate(document["params"]["files"][biggest]["bytes"])  # Right size, zeroed tail: wrong content.
  with pytest.raises(export.ExportError, match=f"is corrupted: {biggest} has another sha256"):
    export.load_export(copy)
  os.remove(os.path.join(copy, biggest))
  with pytest.raises(export.ExportError, match=f"is corrupted: {biggest} is missing"):
    export.load_export(copy)
  with open(os.path.join(copy, "export.json"), "w") as f:
    f.write('{"format": "genome-transformer-export", "format_')
  with pytest.raises(export.ExportError, match=r"export.json is corrupted"):
    export.load_export(copy)
  os.remove(os.path.join(copy, "export.json"))
  with pytest.raises(export.ExportError, match=r"is not a genome-transformer export: it has no export.json"):
    export.load_export(copy)
  with pytest.raises(export.ExportError, match=r"does not exist"):
    export.load_export(str(tmp_path / "nowhere"))


def test_bad_workdirs_and_outputs_give_clear_errors(workdir, exported, tmp_path):
  with pytest.raises(export.ExportError, match=r"workdir .*missing does not exist"):
    export.export(str(tmp_path / "missing"), str(tmp_path / "a"))
  (tmp_path / "empty").mkdir()
  with pytest.raises(export.ExportError, match=r"has no checkpoints/ directory"):
    export.export(str(tmp_path / "empty"), str(tmp_path / "a"))
  (tmp_path / "empty" / "checkpoints").mkdir()
  with pytest.raises(export.ExportError, match=r"holds no finished checkpoint"):
    export.export(str(tmp_path / "empty"), str(tmp_path / "a"))
  with pytest.raises(export.ExportError, match=r"dtype='float16'"):
    export.export(workdir, str(tmp_path / "a"), dtype="float16")
  with pytest.raises(export.ExportError, match=r"already exists; pass --overwrite"):
    export.export(workdir, exported)
  assert not os.path.exists(tmp_path / "a")  # Failures leave nothing behind.


def test_overwrite_replaces_in_place(workdir, tmp_path):
  out = str(tmp_path / "model")
  export.export(workdir, out, step=5)
  export.export(workdir, out, overwrite=True)
  assert export.load_export(out).metadata["steps"] == NUM_STEPS
  assert os.listdir(tmp_path) == ["model"]  # Neither the temp dir nor the old export is left.


def test_command_line_refuses_existing_out(exported, workdir, genome_cache_dir):
  result = _run_export(genome_cache_dir, f"--workdir={workdir}", f"--out={exported}")
  assert result.returncode != 0
  assert f"{exported} already exists; pass --overwrite" in result.stderr
