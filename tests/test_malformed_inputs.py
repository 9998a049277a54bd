# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Malformed inputs: each gets a clear error naming the file (and line/record), a non-zero exit
from the prepare CLI, and leaves nothing half-written in data_dir or the genome cache."""

import bz2
import gzip
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from genome_transformer.data import dataset
from genome_transformer.genomics import fasta, tokenizer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOOD = "".join(np.random.default_rng(3).choice(list("ACGT"), 2000))
GOOD_FASTA = ">chr1\n" + "\n".join(GOOD[i : i + 60] for i in range(0, 2000, 60)) + "\n"

# name -> (file content (str or bytes), gzip it?, regex the error must match after the file name).
BAD_FILES = {
  "empty_file": ("", False, r": empty file \(0 bytes\)"),
  "no_header": ("ACGTACGT\nACGT\n", False, r": line 1: sequence data before the first '>'"),
  "sequence_before_first_header": (
    ";comment\n\nACGT\n>chr1\nACGT\n",
    False,
    r": line 3: sequence data before the first '>'",
  ),
  "only_comments": (";nothing here\n\n", False, r": no FASTA records"),
  "duplicate_record_names": (
    ">chr1 a\nACGT\n>chr2\nAC\n>chr1 b\nGG\n",
    False,
    r": line 5: duplicate record name 'chr1' \(first defined on line 1\)",
  ),
  "illegal_character": (
    ">chr1\nACGTACGT\nACGT-ACG\n",
    False,
    r": line 3: record 'chr1': illegal character '-' at position 13 ",
  ),
  "digits_in_sequence": (
    ">chr1\nACGT\n1 acgt\n",
    False,
    r": line 3: record 'chr1': illegal character '1' at position 5 ",
  ),
  "gap_dot_in_gzip": (">chrZ\nAC.T\n", True, r": line 2: record 'chrZ': illegal character '.' at position 3 "),
  "binary_data": (bytes(range(256)) * 8, False, r": binary data"),
  "binary_in_gzip": (b">x\n" + bytes(range(256)) * 8, True, r": binary data"),
  "empty_record": (">chr1\n>chr2\nACGT\n", False, r": line 1: record 'chr1' has no sequence"),
  "empty_last_record": (">chr1\nACGT\n>chr2\n\n", False, r": line 3: record 'chr2' has no sequence"),
  "header_without_name": (">\nACGT\n", False, r": line 1: header '>' has no record name"),
  "non_utf8_header": (b">chr\xff\xfe\nACGT\n", False, r": line 1: header is not UTF-8"),
  "old_mac_line_endings": (">chr1\rACGT\rACGT\r", False, r": line 1: carriage return inside"),
}


def _write(tmp_path, name, content, gz):
  data = content.encode() if isinstance(content, str) else content
  path = tmp_path / (name + (".fa.gz" if gz else ".fa"))
  path.write_bytes(gzip.compress(data) if gz else data)
  return str(path)


def _at(path, message):
  """Regex: the error starts with the file name, then says `message` (a regex)."""
  return "^" + re.escape(str(path)) + message


def _files_under(root):
  return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]


def _prepare(spec, tmp_path, window_length=64, stride=64, max_n_fraction=0.5, data_dir=None):
  return dataset.prepare(
    spec, data_dir or str(tmp_path / "data"), window_length, stride, max_n_fraction, cache_dir=str(tmp_path / "cache")
  )


def _assert_nothing_written(tmp_path, data_dir=None):
  data_dir = data_dir or tmp_path / "data"
  assert not os.path.exists(data_dir), _files_under(data_dir)
  assert _files_under(tmp_path / "cache") == []


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_rejected_with_location(name, tmp_path):
  content, gz, message = BAD_FILES[name]
  path = _write(tmp_path, name, content, gz)
  with pytest.raises(tokenizer.GenomeInputError, match=_at(path, message)):
    _prepare(path, tmp_path)
  _assert_nothing_written(tmp_path)


def test_truncated_gzip(tmp_path):
  path = tmp_path / "cut.fa.gz"
  path.write_bytes(gzip.compress(GOOD_FASTA.encode())[:-30])
  with pytest.raises(tokenizer.GenomeInputError, match=_at(path, r": truncated gzip file")):
    _prepare(str(path), tmp_path)
  _assert_nothing_written(tmp_path)


def test_corrupt_gzip_checksum(tmp_path):
  data = bytearray(gzip.compress(GOOD_FASTA.encode()))
  data[-8:-4] = bytes(4)  # Zero the CRC32 trailer: the data decompresses, the check fails.
  path = tmp_path / "crc.fa.gz"
  path.write_bytes(bytes(data))
  with pytest.raises(tokenizer.GenomeInputError, match=_at(path, r": corrupt gzip data .*CRC")):
    _prepare(str(path), tmp_path)
  _assert_nothing_written(tmp_path)


def test_other_compression_is_named(tmp_path):
  path = tmp_path / "g.fa.bz2"
  path.write_bytes(bz2.compress(GOOD_FASTA.encode()))
  with pytest.raises(tokenizer.GenomeInputError, match=_at(path, r": bzip2-compressed; decompr")):
    _prepare(str(path), tmp_path)
  _assert_nothing_written(tmp_path)


def test_directory_instead_of_file(tmp_path):
  folder = tmp_path / "genome_dir"
  folder.mkdir()
  with pytest.raises(tokenizer.GenomeInputError, match=_at(folder, r": is a directory")):
    _prepare(str(folder), tmp_path)
  _assert_nothing_written(tmp_path)


def test_missing_file(tmp_path):
  missing = tmp_path / "nowhere.fa"
  with pytest.raises(tokenizer.GenomeInputError, match=_at(missing, r": no such file")):
    _prepare([str(missing)], tmp_path)
  with pytest.raises(tokenizer.GenomeInputError, match=_at(missing, r": no such file")):
    _prepare(f"{_write(tmp_path, 'ok', GOOD_FASTA, False)},{missing}", tmp_path)
  _assert_nothing_written(tmp_path)


@pytest.mark.parametrize("sub", ["", "below"])
def test_data_dir_blocked_by_a_file(tmp_path, sub):
  # Tests run as root, so chmod cannot make a directory unwritable: a regular file in the way can.
  path = _write(tmp_path, "ok", GOOD_FASTA, False)
  blocker = tmp_path / "blocker"
  blocker.write_text("not a directory")
  data_dir = blocker / sub if sub else blocker
  message = re.escape(f"data_dir {data_dir}: {blocker} is a file")
  with pytest.raises(tokenizer.GenomeInputError, match=message):
    _prepare(path, tmp_path, data_dir=str(data_dir))
  assert blocker.read_text() == "not a directory"
  assert sorted(os.listdir(tmp_path)) == ["blocker", "cache", "ok.fa"]  # The index is in the cache.


def test_window_longer_than_every_record(tmp_path):
  path = _write(tmp_path, "short", GOOD_FASTA + ">chr2\nACGTACGT\n", False)
  with pytest.raises(
    tokenizer.GenomeInputError,
    match=r"window_length=4096 is longer than the train region of every record; "
    r"the longest, 'chr1' .* has 1,800 train bases",
  ):
    _prepare(path, tmp_path, window_length=4096)
  assert not os.path.exists(tmp_path / "data")


@pytest.mark.parametrize(
  "window_length,stride,max_n_fraction,message",
  [
    (64, 0, 0.5, r"stride must be a positive number of bases, got 0"),
    (64, -5, 0.5, r"stride must be a positive number of bases, got -5"),
    (64, 64, 1.5, r"max_n_fraction must be a number in \[0, 1\], got 1\.5"),
    (64, 64, -0.1, r"max_n_fraction must be a number in \[0, 1\], got -0\.1"),
    (64, 64, float("nan"), r"max_n_fraction must be a number in \[0, 1\], got nan"),
    (1, 1, 0.5, r"window_length must be >= 2"),
    (64.5, 64, 0.5, r"window_length must be an integer"),
  ],
)
def test_bad_window_parameters(tmp_path, window_length, stride, max_n_fraction, message):
  path = _write(tmp_path, "ok", GOOD_FASTA, False)
  with pytest.raises(dataset.DatasetConfigError, match=message):
    _prepare(path, tmp_path, window_length, stride, max_n_fraction)
  assert not os.path.exists(tmp_path / "data")


def test_all_n_genome(tmp_path):
  path = _write(tmp_path, "alln", ">gap\n" + "N" * 3000 + "\n>gap2\n" + "n" * 500 + "\n", False)
  with pytest.raises(tokenizer.GenomeInputError, match=_at(path, r": all 49 train windows hold more than 32 N bases")):
    _prepare(path, tmp_path)
  assert not os.path.exists(tmp_path / "data")


def test_duplicate_record_across_files(tmp_path):
  a = _write(tmp_path, "a", GOOD_FASTA, False)
  b = _write(tmp_path, "b", GOOD_FASTA.replace("ACGT", "TTTT"), True)
  message = r": record name 'chr1' also occurs in " + re.escape(a)
  with pytest.raises(tokenizer.GenomeInputError, match=_at(b, message)):
    _prepare([a, b], tmp_path)
  assert not os.path.exists(tmp_path / "data")


@pytest.mark.parametrize(
  "spec,message",
  [
    ("builtin:nosuch", r"builtin:nosuch: no such built-in genome; known: builtin:bacteria4"),
    ("s3:bucket/genome.fa", r"unknown scheme 's3:'"),
    ("  ", r"empty genome spec"),
    ("a.fa,,b.fa", r"empty entry between commas"),
  ],
)
def test_bad_genome_spec(tmp_path, spec, message):
  with pytest.raises(tokenizer.GenomeInputError, match=message):
    _prepare(spec, tmp_path)
  _assert_nothing_written(tmp_path)


def test_windows_line_endings_stale_and_foreign_fai_are_accepted(tmp_path):
  path = _write(tmp_path, "crlf", GOOD_FASTA.replace("\n", "\r\n"), False)
  with open(path + ".fai", "w") as f:
    f.write("chr1\t5\t6\t60\t62\nother\t10\t100\t60\t62\n")  # Foreign index, newer than the file.
  stat = os.stat(path)
  os.utime(path + ".fai", (stat.st_atime + 5, stat.st_mtime + 5))
  builder = _prepare(path, tmp_path, window_length=100, stride=100)
  source = builder.as_data_source()["train"]
  assert len(source) == 18
  for i in range(len(source)):
    ex = source[i]
    start = int(ex["start"])
    np.testing.assert_array_equal(ex["tokens"], tokenizer.encode(GOOD[start : start + 100]))
  assert open(path + ".fai").read().split("\t")[:2] == ["chr1", "5"]  # Not trusted, and not rewritten.
  assert open(fasta.cache_index_path(path, str(tmp_path / "cache"))).read().split("\t")[:2] == ["chr1", "2000"]
  # Now stale: the FASTA changes after its index was written.
  with open(path, "wb") as f:
    f.write((">chr1\r\n" + GOOD[::-1] + "\r\n").encode())
  os.utime(path, (stat.st_atime + 60, stat.st_mtime + 60))
  builder = _prepare(path, tmp_path, window_length=100, stride=100)
  ex = builder.as_data_source()["train"][0]
  np.testing.assert_array_equal(ex["tokens"], tokenizer.encode(GOOD[::-1][int(ex["start"]) : int(ex["start"]) + 100]))


def _cli(*args):
  return subprocess.run(
    [sys.executable, "-m", "genome_transformer.prepare", *args], capture_output=True, text=True, check=False, cwd=REPO
  )


def test_cli_errors_exit_nonzero_with_one_clear_line(tmp_path):
  bad = _write(tmp_path, "bad", ">chr1\nACGTNNX\n", False)
  good = _write(tmp_path, "good", GOOD_FASTA, False)
  blocker = tmp_path / "blocker"
  blocker.write_text("x")
  data = tmp_path / "data"
  cases = [
    ([f"--fasta={bad}"], f"{bad}: line 2: record 'chr1': illegal character 'X' at position 7"),
    ([f"--fasta={tmp_path / 'missing.fa'}"], f"{tmp_path / 'missing.fa'}: no such file"),
    ([f"--fasta={good}", "--stride=0"], "stride must be a positive number"),
    ([f"--fasta={good}", f"--data_dir={blocker}"], f"data_dir {blocker}: {blocker} is a file, not a directory"),
  ]
  for args, message in cases:
    if not any(a.startswith("--data_dir") for a in args):
      args = [*args, f"--data_dir={data}"]
    result = _cli(*args, "--window_length=64", f"--cache_dir={tmp_path / 'cache'}")
    assert result.returncode == 1, (args, result.stderr)
    assert f"prepare: error: {message}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not os.path.exists(data)
  usage = _cli(f"--fasta={good}", "--genome=builtin:ecoli", f"--data_dir={data}")
  assert usage.returncode != 0 and "either --fasta" in usage.stderr
