# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The command lines' logs say what happened and nothing that is not a problem: no TPU-probe line on a
machine without a TPU runtime, the config as a short summary, no Orbax warnings on a good export."""

import importlib.util
import logging
import os
import re
import subprocess
import sys

import pytest

from genome_transformer import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NO_TPU_RUNTIME = importlib.util.find_spec("libtpu") is None and not os.environ.get("TPU_LIBRARY_PATH")
WARNING_OR_ERROR = re.compile(r"^[WEF]\d{4} ", re.MULTILINE)  # absl's log prefix of those levels


@pytest.mark.skipif(not NO_TPU_RUNTIME, reason="with a TPU runtime installed, its probe's failure is kept")
def test_tpu_probe_line_dropped_other_backends_kept(caplog):
  cli.quiet_tpu_probe()
  logger = logging.getLogger("jax._src.xla_bridge")
  with caplog.at_level(logging.INFO, logger=logger.name):
    logger.info("Unable to initialize backend 'tpu': INTERNAL: Failed to open libtpu.so")
    logger.warning("Unable to initialize backend 'cuda': no CUDA-capable device is detected")
  assert [r.getMessage() for r in caplog.records] == [
    "Unable to initialize backend 'cuda': no CUDA-capable device is detected"
  ]


def _run(module, *args, cache):
  env = dict(os.environ, GENOME_TRANSFORMER_CACHE=str(cache))
  env.pop("JAX_PLATFORMS", None)  # as a user runs it: JAX probes every backend, TPU included
  return subprocess.run(
    [sys.executable, "-m", f"genome_transformer.{module}", *args],
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
    cwd=REPO,
  )


@pytest.mark.skipif(not NO_TPU_RUNTIME, reason="with a TPU runtime installed, its probe's failure is kept")
def test_training_and_export_logs_are_quiet(tmp_path):
  workdir = tmp_path / "workdir"
  train = _run(
    "main", f"--config={REPO}/configs/tiny.py", f"--workdir={workdir}", "--config.train.num_steps=6", cache=tmp_path
  )
  assert train.returncode == 0, train.stderr[-4000:]
  assert "Unable to initialize backend" not in train.stderr, train.stderr[-4000:]
  assert f"Config {REPO}/configs/tiny.py (--verbosity=1 logs all of it):" in train.stderr, train.stderr[-4000:]
  assert "weight_decay" not in train.stderr  # the whole config is not dumped
  assert not WARNING_OR_ERROR.search(train.stderr), train.stderr[-4000:]

  export = _run("export", f"--workdir={workdir}", f"--out={tmp_path / 'export'}", cache=tmp_path)
  assert export.returncode == 0, export.stderr[-4000:]
  assert not WARNING_OR_ERROR.search(export.stderr), export.stderr
  assert "Unable to initialize backend" not in export.stderr, export.stderr
