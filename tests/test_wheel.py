# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""An installed wheel, outside any checkout, loads the bundled releases by name and finds the bundled configs.

The wheel is built offline from a copy of the checkout (no build isolation, so no download), installed
with --no-deps into a fresh venv that sees this environment's packages, and run from a directory that
is not a checkout.
"""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = ("setup.py", "pyproject.toml", "LICENSE", "README.md", "genome_transformer", "pretrained", "configs")
MAX_WHEEL_MB = 60  # the releases' parameters are most of it; PyPI's default limit is 100 MB


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory):
  # Building a wheel offline needs the `wheel` package: setup.py's [test] extra installs it.
  assert importlib.util.find_spec("wheel") is not None, "pip install -e '.[test]' (it brings `wheel`)"
  root = tmp_path_factory.mktemp("wheel")
  source = root / "source"
  source.mkdir()
  for name in SOURCES:
    path = os.path.join(REPO, name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(path, source / name, ignore=ignore) if os.path.isdir(path) else shutil.copy(path, source / name)
  build = subprocess.run(
    [
      sys.executable,
      "-m",
      "pip",
      "wheel",
      "--no-deps",
      "--no-build-isolation",
      "--no-index",
      "-w",
      root / "dist",
      source,
    ],
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert build.returncode == 0, build.stderr[-3000:]
  (wheel,) = (root / "dist").glob("genome_transformer-*.whl")
  size_mb = wheel.stat().st_size / 1e6
  print(f"wheel {wheel.name}: {size_mb:.1f} MB")
  assert size_mb < MAX_WHEEL_MB
  subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", root / "venv"], check=True, timeout=300)
  python = str(root / "venv" / "bin" / "python")
  install = subprocess.run(
    [python, "-m", "pip", "install", "--no-deps", "--no-index", wheel], capture_output=True, text=True, timeout=600
  )
  assert install.returncode == 0, install.stderr[-3000:]
  return python, root


def _run(venv, *args):
  python, root = venv
  outside = root / "elsewhere"
  outside.mkdir(exist_ok=True)
  env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GENOME_TRANSFORMER_PRETRAINED")}
  env["JAX_PLATFORMS"] = "cpu"
  return subprocess.run([python, *args], cwd=outside, env=env, capture_output=True, text=True, timeout=300)


def test_installed_wheel_lists_and_loads_the_bundled_releases(venv_python):
  result = _run(venv_python, "-m", "genome_transformer.pretrained", "list")
  assert result.returncode == 0, result.stderr[-3000:]
  names = [line.split()[0] for line in result.stdout.split("\n\n")[0].splitlines()[1:]]
  bundled = {
    n for n in os.listdir(os.path.join(REPO, "pretrained")) if os.path.isdir(os.path.join(REPO, "pretrained", n))
  }
  assert set(names) == bundled
  code = (
    "import genome_transformer; from genome_transformer import pretrained; m = pretrained.load('bacteria'); "
    "print(genome_transformer.__file__); print(m.name, m.num_params)"
  )
  result = _run(venv_python, "-c", code)
  assert result.returncode == 0, result.stderr[-3000:]
  package_file, loaded = result.stdout.splitlines()[-2:]
  assert package_file.startswith(str(venv_python[1] / "venv")), package_file  # the wheel's copy, not the checkout
  assert loaded == "bacteria4-slim-conv 1642760"


def test_installed_wheel_finds_a_bundled_config_or_lists_them(venv_python):
  # A field that does not exist: the error says the config loaded (it names the field), so the file was found.
  result = _run(
    venv_python, "-m", "genome_transformer.main", "--config=configs/tiny.py", "--workdir=w", "--config.train.nosuch=1"
  )
  assert result.returncode == 1
  assert "--config=configs/tiny.py: no such file here; using the bundled " in result.stderr, result.stderr[-2000:]
  assert "bundled_configs/tiny.py" in result.stderr
  assert "no such config field" in result.stderr, result.stderr[-2000:]
  result = _run(venv_python, "-m", "genome_transformer.main", "--config=configs/nosuch.py", "--workdir=w")
  assert result.returncode == 1
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith("Config error: --config=configs/nosuch.py: cannot load it") and "tiny.py" in last, last
