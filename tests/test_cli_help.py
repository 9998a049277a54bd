# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Every command line answers -h and --help with its own usage, its own flags and an example, exit 0.

Real processes, as users run them; the help page is printed before absl parses anything, so these
need no model, genome or workdir.
"""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (module run with -m, its arguments, the usage line's program, flags the page must list).
PAGES = [
  ("genome_transformer.main", [], "python -m genome_transformer.main", ["config", "workdir", "distributed"]),
  ("genome_transformer.fetch", [], "python -m genome_transformer.fetch", ["list", "url", "sha256", "cache_dir"]),
  ("genome_transformer.prepare", [], "python -m genome_transformer.prepare", ["fasta", "genome", "data_dir", "stride"]),
  ("genome_transformer.export", [], "python -m genome_transformer.export", ["workdir", "out", "step", "dtype"]),
  ("genome_transformer.pretrained", [], "python -m genome_transformer.pretrained", []),
  (
    "genome_transformer.pretrained",
    ["score"],
    "python -m genome_transformer.pretrained score",
    ["model", "fasta", "out", "per_base", "context"],
  ),
  (
    "genome_transformer.pretrained",
    ["variants"],
    "python -m genome_transformer.pretrained variants",
    ["model", "fasta", "variants", "both_strands", "window"],
  ),
  ("genome_transformer.pretrained", ["embed"], "python -m genome_transformer.pretrained embed", ["model", "pool"]),
  (
    "genome_transformer.pretrained",
    ["generate"],
    "python -m genome_transformer.pretrained generate",
    ["model", "prompt", "n", "temperature", "top_k", "seed"],
  ),
  ("genome_transformer.pretrained", ["list"], "python -m genome_transformer.pretrained list", []),
  (
    "genome_transformer.pretrained",
    ["classify"],
    "python -m genome_transformer.pretrained classify",
    ["model", "input", "out"],
  ),
  ("genome_transformer.pretrained", ["cards"], "python -m genome_transformer.pretrained cards", ["check"]),
  ("genome_transformer.finetune", [], "python -m genome_transformer.finetune", ["config", "workdir"]),
  ("genome_transformer", ["classify"], "genome-transformer classify", ["model", "input"]),
  ("genome_transformer", ["finetune"], "genome-transformer finetune", ["config", "workdir"]),
  ("genome_transformer", [], "genome-transformer", []),
  ("genome_transformer", ["train"], "genome-transformer train", ["config", "workdir"]),
  ("genome_transformer", ["score"], "genome-transformer score", ["model", "fasta", "context"]),
]
# Flags of the libraries (absl, JAX) that a command's own page must not list.
LIBRARY_FLAGS = ("--verbosity=", "--jax_", "--logtostderr", "--pdb")


def _help(module, args, flag):
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  return subprocess.run(
    [sys.executable, "-m", module, *args, flag], env=env, capture_output=True, text=True, timeout=120, cwd=REPO
  )


@pytest.mark.parametrize("module,args,prog,names", PAGES, ids=[" ".join([p[0].split(".")[-1], *p[1]]) for p in PAGES])
def test_help_lists_the_commands_own_flags_and_exits_0(module, args, prog, names):
  pages = []
  for flag in ("-h", "--help"):
    result = _help(module, args, flag)
    assert result.returncode == 0, (flag, result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    pages.append(result.stdout)
  assert pages[0] == pages[1]
  page = pages[0]
  assert (page.splitlines()[0] + " ").startswith(f"usage: {prog} "), page
  flag_lines = [line.strip() for line in page.splitlines() if line.startswith("  --")]
  for name in names:
    assert any(line.startswith((f"--{name}=", f"--[no]{name} ", f"--{name} ")) for line in flag_lines), (name, page)
  assert len(flag_lines) <= 12, page  # Its own flags, not every library's.
  assert not any(line.startswith(LIBRARY_FLAGS) for line in flag_lines), page
  examples = page.split("\nexamples:\n", 1)[1].splitlines()
  assert examples[0].strip().startswith(prog), page


def test_help_after_other_flags():
  # -h anywhere among the flags asks for help, whatever the other flags say.
  result = _help("genome_transformer.pretrained", ["score", "--model=nosuch", "--context=5"], "-h")
  assert result.returncode == 0 and result.stdout.startswith("usage: python -m genome_transformer.pretrained score")


def test_unknown_flag_is_one_line_naming_the_command():
  result = _help("genome_transformer.fetch", [], "--nosuch_flag")
  assert result.returncode == 1, result.stderr
  assert result.stderr.strip().splitlines() == [
    "python -m genome_transformer.fetch: error: Unknown command line flag 'nosuch_flag'; -h lists the flags."
  ]


def test_dispatcher_unknown_command():
  result = _help("genome_transformer", [], "bogus")
  assert result.returncode == 1
  assert "genome-transformer: error: unknown command 'bogus'; the commands: train, fetch," in result.stderr


def test_console_script_is_the_dispatcher(tmp_path):
  # What an install puts on PATH: setup.py's metadata, as pip reads it, names the dispatcher's main.
  subprocess.run(
    [sys.executable, "setup.py", "-q", "egg_info", f"--egg-base={tmp_path}"],
    cwd=REPO,
    check=True,
    capture_output=True,
    timeout=120,
  )
  (entry_points,) = tmp_path.glob("*.egg-info/entry_points.txt")
  lines = [line.replace(" ", "") for line in entry_points.read_text().splitlines()]
  assert "genome-transformer=genome_transformer.__main__:main" in lines
