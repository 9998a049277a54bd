# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Every shipped config validates; each wrong value is refused with a line naming its field."""

import glob
import importlib.util
import os
import subprocess
import sys

import pytest

from genome_transformer import config_lib
from genome_transformer.release import finetune
from genome_transformer.training import train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_FILES = sorted(glob.glob(os.path.join(REPO, "configs", "*.py")))


def load_namespace(path):
  namespace = {"__file__": path}  # As ml_collections loads a config file: configs built on a parent need it.
  with open(path, encoding="utf-8") as f:
    exec(compile(f.read(), path, "exec"), namespace)  # pylint: disable=exec-used
  return namespace


def load_config(path):
  return load_namespace(path)["get_config"]()


# Configs with `:VARIANT` arguments (the ablation and the release candidates with their softmax twins).
VARIANT_CASES = [(path, variant) for path in CONFIG_FILES for variant in load_namespace(path).get("VARIANTS", {})]


def validate(config):
  """Fine-tuning configs (a task section) have their own validation; the task files are given at run time."""
  if "task" in config:
    finetune.validate(config, files_required=False)
  else:
    config_lib.validate(config)


def test_configs_exist():
  names = {os.path.basename(p) for p in CONFIG_FILES}
  assert {"slim.py", "tiny.py", "ptb_like.py", "enwik8_like.py", "copy_like.py", "hg38_tpu.py", "gpu.py"} <= names


@pytest.mark.parametrize("path", CONFIG_FILES, ids=os.path.basename)
def test_shipped_config_is_valid_and_locked(path):
  config = load_config(path)
  validate(config)
  with pytest.raises(AttributeError):
    config.train.not_a_field = 1  # Locked: a typo in an override cannot add a new field silently.


@pytest.mark.parametrize(("path", "variant"), VARIANT_CASES, ids=lambda x: os.path.basename(x) if "/" in x else x)
def test_every_config_variant_is_valid(path, variant):
  config = load_namespace(path)["get_config"](variant)
  config_lib.validate(config)
  if config.model.attention == "softmax":
    assert config.train.chunk_size == config.data.window_length  # Softmax has no chunked step.


@pytest.mark.parametrize("path", CONFIG_FILES, ids=os.path.basename)
def test_every_field_has_a_comment(path):
  """Each field set in a config file carries a comment saying why."""
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      stripped = line.strip()
      if stripped.startswith("config.") and "=" in stripped and not stripped.startswith("config.lock"):
        assert "#" in stripped, f"{path}:{number} sets a field without a comment: {stripped}"


BAD_VALUES = [
  ("model.num_heads", 3, "model.d_model"),
  ("model.d_model", 30, "model.d_model"),
  ("model.feature_map", "softplus", "model.feature_map"),
  ("model.attention", "sparse", "model.attention"),
  ("model.vocab_size", 5, "model.vocab_size"),
  ("model.num_layers", 0, "model.num_layers"),
  ("data.window_length", 1, "data.window_length"),
  ("data.stride", 0, "data.stride"),
  ("data.max_n_fraction", 1.5, "data.max_n_fraction"),
  ("data.genome", "", "data.genome"),
  ("train.chunk_size", 4096, "train.chunk_size"),
  ("train.chunk_size", 0, "train.chunk_size"),
  ("train.batch_size", 0, "train.batch_size"),
  ("train.learning_rate", -1.0, "train.learning_rate"),
  ("train.warmup_steps", 10_000, "train.warmup_steps"),
  ("train.warmup_steps", 20, "train.warmup_steps"),  # tiny.py's num_steps: no step left for the decay.
  ("train.num_steps", 0, "train.num_steps"),
  ("train.grad_clip_norm", -1.0, "train.grad_clip_norm"),
  ("train.matmul_precision", "float64", "train.matmul_precision"),
  ("model.conv_width", -1, "model.conv_width"),
  ("model.positions", "rotary", "model.positions"),
  ("model.phase_period", 1, "model.phase_period"),
  ("model.phase_split_state", True, "model.phase_split_state"),  # tiny.py has no phase_period.
  ("model.window_heads", 3, "model.window_heads"),
  ("model.window_size", 8, "model.window_size"),
  ("model.hedgehog_floor", 0.01, "model.hedgehog_floor"),  # tiny.py's map is sqr.
  ("model.hedgehog_floor", 1.0, "model.hedgehog_floor"),
  ("data.reverse_complement_prob", 1.5, "data.reverse_complement_prob"),
  ("eval.max_bases", -5, "eval.max_bases"),
  ("eval.context", 1, "eval.context"),
  ("eval.context", -1, "eval.context"),
]


@pytest.mark.parametrize("field,value,named", BAD_VALUES, ids=[f"{f}={v}" for f, v, _ in BAD_VALUES])
def test_bad_value_is_refused_naming_the_field(field, value, named):
  config = load_config(os.path.join(REPO, "configs", "tiny.py"))
  with config.unlocked():
    section, name = field.split(".")
    config[section][name] = value
  with pytest.raises(config_lib.ConfigError, match=f"config\\.{named.replace('.', '[.]')}="):
    config_lib.validate(config)


def test_ablation_variants_are_valid_and_unknown_ones_refused():
  spec = importlib.util.spec_from_file_location("ablation_config", os.path.join(REPO, "configs", "ablation.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  for variant in module.VARIANTS:
    config_lib.validate(module.get_config(variant))
  with pytest.raises(ValueError, match="not a variant"):
    module.get_config("conv5")


@pytest.mark.parametrize("field,value", [("window_heads", 1), ("feature_map", "hedgehog")])
def test_linear_only_fields_are_refused_for_softmax(field, value):
  config = load_config(os.path.join(REPO, "configs", "tiny.py"))
  with config.unlocked():
    config.model.attention = "softmax"
    config.train.chunk_size = config.data.window_length
    config.model[field] = value
    if field == "window_heads":
      config.model.window_size = 8
  with pytest.raises(config_lib.ConfigError, match=f"config[.]model[.]{field}="):
    config_lib.validate(config)


def test_batch_must_divide_over_devices():
  config = load_config(os.path.join(REPO, "configs", "tiny.py"))
  with pytest.raises(config_lib.ConfigError, match=r"config\.train\.batch_size=8: .*device count 3"):
    config_lib.validate(config, device_count=3)


def test_softmax_needs_full_window_chunk():
  config = load_config(os.path.join(REPO, "configs", "tiny.py"))
  with config.unlocked():
    config.model.attention = "softmax"
  with pytest.raises(config_lib.ConfigError, match=r"config\.train\.chunk_size=32: softmax"):
    config_lib.validate(config)


def test_cli_refuses_bad_value_before_compiling(tmp_path):
  """One clear line, non-zero exit, nothing compiled or written to the workdir."""
  workdir = tmp_path / "workdir"
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "genome_transformer.main",
      f"--config={REPO}/configs/tiny.py",
      f"--workdir={workdir}",
      "--config.model.num_heads=3",
    ],
    capture_output=True,
    text=True,
    timeout=120,
    cwd=REPO,
  )
  assert result.returncode != 0
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith("Config error: config.model.d_model=32: must be divisible by model.num_heads=3"), (
    result.stderr
  )
  assert not workdir.exists()


def test_resume_mismatch_names_fields():
  saved = load_config(os.path.join(REPO, "configs", "tiny.py")).to_dict()
  current = load_config(os.path.join(REPO, "configs", "tiny.py"))
  with current.unlocked():
    current.model.d_model = 64
    current.train.num_steps = 99  # Schedule changes are allowed on resume.
  lines = config_lib.resume_mismatches(saved, current.to_dict())
  assert lines == ["config.model.d_model: checkpoint has 32, this config has 64"]


def test_checkpoint_from_before_a_field_existed_resumes_under_its_default():
  """A checkpoint's config without the newer model fields was made under their defaults."""
  current = load_config(os.path.join(REPO, "configs", "tiny.py"))
  saved = current.to_dict()
  for field in ("conv_width", "window_heads", "window_size", "positions"):
    del saved["model"][field]
  saved["model"].update(qk_head_dim=0, recency_slots=0, recency_block=0)  # Removed since, saved while off.
  assert config_lib.resume_mismatches(saved, current.to_dict()) == []
  with current.unlocked():
    current.model.conv_width = 4
  assert config_lib.resume_mismatches(saved, current.to_dict()) == [
    "config.model.conv_width: checkpoint has 0, this config has 4"
  ]


class _FakeAnalysis:
  temp_size_in_bytes = 64 * 2**30
  argument_size_in_bytes = 2**20
  output_size_in_bytes = 2**20
  alias_size_in_bytes = 2**20


class _FakeCompiled:
  def memory_analysis(self):
    return _FakeAnalysis()


def test_memory_check_refuses_with_the_number():
  # The step needs 64 GiB + 1 MiB (temp + arguments + output - aliased): the memory given decides,
  # not this machine's.
  needed = 64 * 2**30 + 2**20
  with pytest.raises(MemoryError, match=r"needs 64\.00 GiB per device but the device has 63\.00 GiB"):
    train.check_memory(_FakeCompiled(), what="Training step", available_bytes=63 * 2**30)
  with pytest.raises(MemoryError, match=r"needs 64\.00 GiB"):
    train.check_memory(_FakeCompiled(), what="Training step", available_bytes=needed - 1)
  assert train.check_memory(_FakeCompiled(), what="Training step", available_bytes=needed) == needed
  assert train.check_memory(_FakeCompiled(), what="Training step", available_bytes=2**40) == needed


class _FakeDevice:
  def __init__(self, stats):
    self._stats = stats

  def memory_stats(self):
    return self._stats


def test_memory_check_reads_the_device_limit_else_the_host_memory(monkeypatch):
  needed = 64 * 2**30 + 2**20
  monkeypatch.setattr(train, "host_memory_bytes_per_device", lambda: needed - 1)
  # A CPU device has no limit of its own: the host's memory per device decides.
  monkeypatch.setattr(train.jax, "local_devices", lambda: [_FakeDevice(None)])
  with pytest.raises(MemoryError, match=r"needs 64\.00 GiB"):
    train.check_memory(_FakeCompiled(), what="Training step")
  # An accelerator's own limit comes first.
  monkeypatch.setattr(train.jax, "local_devices", lambda: [_FakeDevice({"bytes_limit": needed})])
  assert train.check_memory(_FakeCompiled(), what="Training step") == needed
  monkeypatch.setattr(train.jax, "local_devices", lambda: [_FakeDevice({"bytes_limit": needed - 1})])
  with pytest.raises(MemoryError, match=r"needs 64\.00 GiB"):
    train.check_memory(_FakeCompiled(), what="Training step")
