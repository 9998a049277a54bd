# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Fine-tuning from an export (config.init_from): exact start, longer window, precedence, errors.

The tiny run of test_export.py (shared by the session) is exported, and a second run starts from
that export with twice the training window. Its first step has learning rate 0 (warmup starts at
0), so the parameters it saves after that step are the ones it started from, bit for bit (Adam's
update times 0), and the loss it logs for that step is the export's loss on that step's batch.
"""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
import training_testing

from genome_transformer import config_lib
from genome_transformer.data import input_pipeline
from genome_transformer.model import losses
from genome_transformer.model import performer as model_lib
from genome_transformer.release import export
from genome_transformer.training import export_reader, metrics_writer, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LONGER_WINDOW = 256  # configs/tiny.py trains at 128.


def _trained_workdir(tmp_path_factory, cache_dir) -> str:
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  import test_export  # pylint: disable=g-import-not-at-top

  return test_export.trained_workdir(tmp_path_factory, cache_dir)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, genome_cache_dir):
  out = tmp_path_factory.mktemp("init_from") / "tiny-export"
  return export.export(_trained_workdir(tmp_path_factory, genome_cache_dir), str(out))


def _main(workdir, cache_dir, *flags):
  command = [
    sys.executable,
    "-m",
    "genome_transformer.main",
    f"--config={REPO}/configs/tiny.py",
    f"--workdir={workdir}",
    *flags,
  ]
  env = dict(os.environ, GENOME_TRANSFORMER_CACHE=cache_dir, JAX_PLATFORMS="cpu")
  return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=REPO)


def _tiny_config(**overrides) -> ml_collections.ConfigDict:
  sys.path.insert(0, os.path.join(REPO, "configs"))
  import tiny  # pylint: disable=g-import-not-at-top

  config = tiny.get_config()
  config.unlock()
  for dotted, value in overrides.items():
    section, _, field = dotted.rpartition(".")
    (config[section] if section else config)[field] = value
  return config


def _assert_trees_equal(a, b):
  flat_a = jax.tree_util.tree_flatten_with_path(a)[0]
  flat_b = jax.tree_util.tree_flatten_with_path(b)[0]
  assert [p for p, _ in flat_a] == [p for p, _ in flat_b]
  for (path, x), (_, y) in zip(flat_a, flat_b):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=jax.tree_util.keystr(path))


def test_run_at_a_longer_window_starts_from_the_export(exported, genome_cache_dir, tmp_path):
  workdir = tmp_path / "finetune"
  flags = [
    f"--config.init_from={exported}",
    f"--config.data.window_length={LONGER_WINDOW}",
    f"--config.data.stride={LONGER_WINDOW}",
    "--config.train.num_steps=2",  # optax's cosine decay needs a step after the warmup.
    "--config.train.warmup_steps=1",  # Step 0's learning rate is the warmup's start, 0.
    "--config.train.checkpoint_every=1",
  ]
  result = _main(workdir, genome_cache_dir, *flags)
  assert result.returncode == 0, result.stderr[-4000:]
  assert "from the parameters of" in result.stderr

  exported_params = export.load_export(exported).params
  _assert_trees_equal(training_testing.params_at_step(str(workdir), 1), exported_params)
  # Not vacuous: the export is not what a fresh run of the same config would start from.
  config = _tiny_config(**{"data.window_length": LONGER_WINDOW, "data.stride": LONGER_WINDOW})
  model = model_lib.SLiMPerformer(config.model)
  fresh = train.init_params(
    model, jax.random.split(jax.random.PRNGKey(config.seed), 3)[0], min(config.data.window_length, 16)
  )
  assert any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(fresh), jax.tree.leaves(exported_params)))

  # The logged step-1 loss is the loss before the first update: the export's, on that batch.
  logged = [row["loss"] for row in metrics_writer.read_metrics(str(workdir)) if row.get("step") == 1 and "loss" in row]
  iterator = input_pipeline.make_train_iterator(
    config.data,
    os.path.join(genome_cache_dir, "tfds"),
    batch_size_per_process=config.train.batch_size,
    seed=config.seed,
    cache_dir=genome_cache_dir,
  )
  tokens_BL = jnp.asarray(next(iterator)["tokens"], jnp.int32)
  assert tokens_BL.shape == (config.train.batch_size, LONGER_WINDOW)
  expected = float(losses.full_loss(model, jax.tree.map(jnp.asarray, exported_params), tokens_BL))
  assert logged and logged[-1] == pytest.approx(expected, rel=1e-5)

  # A checkpoint in the workdir takes precedence: the export is not even read when resuming.
  flags[0] = f"--config.init_from={tmp_path / 'no-such-export'}"
  flags[3] = "--config.train.num_steps=3"
  resumed = _main(workdir, genome_cache_dir, *flags)
  assert resumed.returncode == 0, resumed.stderr[-4000:]
  assert "Resumed from step 2" in resumed.stderr
  assert "is not read" in resumed.stderr


def test_other_architecture_is_refused_in_one_line_before_anything_is_built(exported, genome_cache_dir, tmp_path):
  workdir = tmp_path / "refused"
  result = _main(workdir, genome_cache_dir, f"--config.init_from={exported}", "--config.model.d_ff=96")
  assert result.returncode == 1
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("Config error: config.init_from=")
  assert "model.d_ff is 64 in the export, 96 here" in last
  assert not workdir.exists()  # Stopped before data preparation and the workdir.


def test_bundled_release_name_resolves_and_is_checked(tmp_path):
  document = export_reader.read_export_json(os.path.join(REPO, "pretrained", "bacteria4-slim"))
  config = config_lib.base_config()
  config.model = ml_collections.ConfigDict(document["model_config"])
  config.init_from = "bacteria4-slim"
  config.data.window_length = 4 * document["config"]["data"]["window_length"]  # Longer windows are fine.
  assert train.init_from_source(config, str(tmp_path)) == os.path.join(REPO, "pretrained", "bacteria4-slim")

  config.model.num_layers += 1
  with pytest.raises(config_lib.ConfigError, match=r"model\.num_layers is 4 in the export, 5 here"):
    train.init_from_source(config, str(tmp_path))
  config.init_from = "no-such-release"
  with pytest.raises(config_lib.ConfigError, match=r"config\.init_from='no-such-release': No export directory"):
    train.init_from_source(config, str(tmp_path))
  config.init_from = ""
  assert train.init_from_source(config, str(tmp_path)) is None


def test_fields_an_export_predates_count_at_their_defaults():
  current = config_lib.base_config().model.to_dict()
  old = {k: v for k, v in current.items() if k not in ("conv_width", "positions")}
  assert export_reader.model_config_mismatches(old, current) == []
  assert export_reader.model_config_mismatches(old, {**current, "conv_width": 4}) == [
    "model.conv_width is 0 in the export, 4 here"
  ]


def test_validate_refuses_a_padded_init_from():
  config = config_lib.base_config()
  config.init_from = " bacteria4-slim"
  with pytest.raises(config_lib.ConfigError, match=r"config\.init_from=' bacteria4-slim'"):
    config_lib.validate(config)
