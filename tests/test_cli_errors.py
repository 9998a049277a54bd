# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Every command line, given bad input, ends with one line naming what is wrong, exit status 1 and no
traceback. Real processes, as users run them (prepare's own FASTA cases are in test_malformed_inputs.py)."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = f"--config={REPO}/configs/tiny.py"


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
  root = tmp_path_factory.mktemp("cli_errors")
  (root / "a_file").write_text("not a directory")
  (root / "illegal.fa").write_text(">chr1\nACGTACGT\nACGT-ACG\n")
  (root / "raises.py").write_text("def get_config():\n  return undefined_name\n")
  (root / "empty_workdir").mkdir()
  # A workdir whose only checkpoint is damaged: nothing to resume from, nothing to move aside.
  step = root / "damaged_workdir" / "checkpoints" / "5"
  step.mkdir(parents=True)
  (step / "_CHECKPOINT_METADATA").write_text("{not json")
  (step / "state").mkdir()
  (step / "state" / "_METADATA").write_bytes(b"\x00garbage")
  return root


def _run(module, *args, cache):
  env = dict(os.environ, JAX_PLATFORMS="cpu", GENOME_TRANSFORMER_CACHE=str(cache))
  return subprocess.run(
    [sys.executable, "-m", f"genome_transformer.{module}", *args],
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
    cwd=REPO,
  )


# (id, module, args with {root} for the fixture's folder, what the last line of stderr must contain).
CASES = [
  (
    "main-unknown-builtin-genome",
    "main",
    [TINY, "--workdir={root}/w", "--config.data.genome=builtin:nosuch"],
    "Genome error: config.data.genome='builtin:nosuch': builtin:nosuch: no such built-in genome; known: builtin:",
  ),
  (
    "main-unknown-genome-scheme",
    "main",
    [TINY, "--workdir={root}/w", "--config.data.genome=s3:bucket/x.fa"],
    "Genome error: config.data.genome='s3:bucket/x.fa': ",
  ),
  (
    "main-missing-fasta",
    "main",
    [TINY, "--workdir={root}/w", "--config.data.genome={root}/missing.fa"],
    "Genome error: config.data.genome='{root}/missing.fa': {root}/missing.fa: no such file",
  ),
  (
    "main-malformed-fasta",
    "main",
    [TINY, "--workdir={root}/w", "--config.data.genome={root}/illegal.fa"],
    "{root}/illegal.fa: line 3: record 'chr1': illegal character '-' at position 13",
  ),
  (
    "main-missing-config-file",
    "main",
    ["--config={root}/nosuch.py", "--workdir={root}/w"],
    "Config error: --config={root}/nosuch.py: cannot load it ([Errno 2] No such file or directory",
  ),
  (
    "main-config-file-raises",
    "main",
    ["--config={root}/raises.py", "--workdir={root}/w"],
    "Config error: --config={root}/raises.py: cannot load it: NameError: name 'undefined_name' is not defined",
  ),
  (
    "main-override-of-no-field",
    "main",
    [TINY, "--workdir={root}/w", "--config.train.num_stepz=5"],
    "Config error: --config.train.num_stepz: no such config field ('num_stepz'); did you mean 'num_steps'? ",
  ),
  (
    "main-override-of-wrong-type",
    "main",
    [TINY, "--workdir={root}/w", "--config.train.num_steps=many"],
    "Flag error: flag --config.train.num_steps=many: invalid literal for int()",
  ),
  (
    "main-bad-matmul-precision",
    "main",
    [TINY, "--workdir={root}/w", "--config.train.matmul_precision=tf32"],
    "Config error: config.train.matmul_precision='tf32': must be one of ('default', 'high', 'highest')",
  ),
  (
    "main-workdir-is-a-file",
    "main",
    [TINY, "--workdir={root}/a_file"],
    "Error: --workdir={root}/a_file: cannot use it (it is a file, not a directory); choose another directory.",
  ),
  (
    "main-only-checkpoint-unreadable",
    "main",
    [TINY, "--workdir={root}/damaged_workdir"],
    "Error: No checkpoint in {root}/damaged_workdir/checkpoints could be read (step 5: ",
  ),
  ("fetch-unknown-source", "fetch", ["nosuch-preset"], "fetch: error: unknown genome source 'nosuch-preset'"),
  (
    "fetch-cache-is-a-file",
    "fetch",
    ["--cache_dir={root}/a_file", "smalt-chrX"],
    "fetch: error: cannot create the genome cache {root}/a_file/genomes",
  ),
  (
    "prepare-unknown-genome",
    "prepare",
    ["--genome=builtin:nosuch", "--data_dir={root}/data"],
    "prepare: error: builtin:nosuch: no such built-in genome",
  ),
  (
    "export-missing-workdir",
    "export",
    ["--workdir={root}/nosuch", "--out={root}/export"],
    "Error: workdir {root}/nosuch does not exist",
  ),
  (
    "export-workdir-without-checkpoints",
    "export",
    ["--workdir={root}/empty_workdir", "--out={root}/export"],
    "Error: ",
  ),
  (
    "pretrained-unknown-model",
    "pretrained",
    ["score", "--model=nosuch", "--fasta={root}/illegal.fa"],
    "Error: No export directory or release named 'nosuch'.",
  ),
  (
    "pretrained-missing-fasta",
    "pretrained",
    ["score", "--model=bacteria4-slim", "--fasta={root}/missing.fa"],
    "Error: {root}/missing.fa: no such file",
  ),
  (
    "pretrained-malformed-fasta",
    "pretrained",
    ["score", "--model=bacteria4-slim", "--fasta={root}/illegal.fa"],
    "Error: {root}/illegal.fa: line 3: record 'chr1': illegal character '-'",
  ),
  (
    "pretrained-output-is-a-directory",
    "pretrained",
    ["generate", "--model=bacteria4-slim", "--prompt=ACGT", "--n=4", "--out={root}"],
    "Error: {root} is a directory; name the output file to write",
  ),
  (
    "pretrained-bad-window",
    "pretrained",
    ["variants", "--model=bacteria4-slim", "--fasta={root}/illegal.fa", "--variants={root}/v.tsv", "--window=-2"],
    "Error: --window=-2: must be 0 (the model's training window), -1 (the whole record) or positive.",
  ),
  (
    "pretrained-missing-variants-file",
    "pretrained",
    ["variants", "--model=bacteria4-slim", "--fasta={root}/illegal.fa", "--variants={root}/v.tsv"],
    "Error: {root}/v.tsv: no such variants file.",
  ),
  (
    "pretrained-bad-context",
    "pretrained",
    ["score", "--model=bacteria4-slim", "--fasta={root}/illegal.fa", "--context=1"],
    "Error: --context=1: must be 0 (the model's training window), -1 (unbounded) or at least 2.",
  ),
  (
    "main-override-of-no-section",
    "main",
    [TINY, "--workdir={root}/w", "--config.optim.lr=5"],
    "Config error: --config.optim.lr: no such config field ('optim'); the fields are in",
  ),
  ("pretrained-unknown-command", "pretrained", ["bogus"], "Give one command: score | variants |"),
]


@pytest.mark.parametrize("module,args,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_ends_with_one_clear_line(paths, module, args, message):
  result = _run(module, *(a.format(root=paths) for a in args), cache=paths / "cache")
  assert result.returncode == 1, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  last_line = result.stderr.strip().splitlines()[-1]
  assert message.format(root=paths) in last_line, result.stderr[-3000:]
  assert not (paths / "w").exists()  # Stopped before it made a workdir.
  assert not (paths / "export").exists()
