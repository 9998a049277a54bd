# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""FASTA reading: pyfaidx index built and refreshed, CRLF, gzip and irregular files, genomes."""

import gzip
import io
import os
import time

import numpy as np
import pytest

from genome_transformer.genomics import fasta, files, genomes, tokenizer

RNG = np.random.default_rng(7)
SEQ1 = "".join(RNG.choice(list("ACGTacgtN"), 1234))
SEQ2 = "".join(RNG.choice(list("ACGT"), 300))


def _fai_rows(fai_path):
  with open(fai_path) as f:
    return [line.rstrip("\n").split("\t") for line in f]


def _bump_mtime(path, seconds):
  stat = os.stat(path)
  os.utime(path, (stat.st_atime + seconds, stat.st_mtime + seconds))


def test_index_built_with_samtools_fields(genome_write_fasta, tmp_path):
  path = genome_write_fasta([("chr1 first", SEQ1), ("chr2", SEQ2)], width=60)
  cache = str(tmp_path / "cache")
  with fasta.open_fasta(path, cache_dir=cache) as f:
    assert f.path == path  # Regular plain file: read in place, no copy; its index in the cache.
    assert f.index_path == fasta.cache_index_path(path, cache) and f.index_path.startswith(cache)
    assert f.names == ["chr1", "chr2"]
    assert [r.length for r in f.records] == [1234, 300]
    assert f.records[0].description == "chr1 first"
    assert f.records[0].ambiguous == SEQ1.upper().count("N")
    assert f.records[0].softmasked == sum(c.islower() for c in SEQ1)
    assert f.fetch_chars("chr1", 100, 200) == SEQ1[100:200]
    np.testing.assert_array_equal(f.fetch("chr2"), tokenizer.encode(SEQ2))
    tokens, mask = f.fetch_with_mask("chr1", 0, 500)
    assert tokenizer.decode(tokens, mask) == SEQ1[:500]
  offset2 = len(">chr1 first\n") + 1234 + 21 + len(">chr2\n")  # 21 lines of 60 + newline.
  assert _fai_rows(fasta.cache_index_path(path, cache)) == [
    ["chr1", "1234", "12", "60", "61"],
    ["chr2", "300", str(offset2), "60", "61"],
  ]
  assert not os.path.exists(tmp_path / "cache" / "fasta")
  assert sorted(os.listdir(os.path.dirname(path))) == ["cache", "genome.fa"]  # Nothing beside the user's file.


def test_stale_fai_is_rebuilt(genome_write_fasta, tmp_path):
  path = genome_write_fasta([("chr1", SEQ1)])
  fasta.open_fasta(path, cache_dir=str(tmp_path / "cache")).close()
  index = fasta.cache_index_path(path, str(tmp_path / "cache"))
  assert _fai_rows(index)[0][1] == "1234"
  genome_write_fasta([("chr1", SEQ1 + "ACGT"), ("chrX", SEQ2)])
  _bump_mtime(path, 10)  # The FASTA is now newer than its .fai: stale.
  with fasta.open_fasta(path, cache_dir=str(tmp_path / "cache")) as f:
    assert f.names == ["chr1", "chrX"]
    assert f.fetch_chars("chr1", 1230, 1238) == (SEQ1 + "ACGT")[1230:]
  assert [row[:2] for row in _fai_rows(index)] == [["chr1", "1238"], ["chrX", "300"]]


def test_newer_but_inconsistent_fai_is_not_trusted(genome_write_fasta, tmp_path):
  path = genome_write_fasta([("chr1", SEQ1)])
  with open(path + ".fai", "w") as f:
    f.write("chr1\t99\t6\t60\t61\n")  # Wrong length, though newer than the FASTA.
  _bump_mtime(path + ".fai", 10)
  with fasta.open_fasta(path, cache_dir=str(tmp_path / "cache")) as f:
    assert f.length("chr1") == 1234
    assert f.fetch_chars("chr1", 1200, 1234) == SEQ1[1200:]
    assert f.index_path == fasta.cache_index_path(path, str(tmp_path / "cache"))
  assert _fai_rows(f.index_path)[0][1] == "1234"
  assert _fai_rows(path + ".fai")[0][1] == "99"  # The user's file is left as it was.


def test_fresh_consistent_fai_beside_is_read_not_rewritten(genome_write_fasta, tmp_path):
  path = genome_write_fasta([("chr1", SEQ1), ("chr2", SEQ2)])
  with open(path + ".fai", "w") as f:  # What samtools faidx writes.
    f.write(f"chr1\t1234\t6\t60\t61\nchr2\t300\t{6 + 1234 + 21 + 6}\t60\t61\n")
  _bump_mtime(path + ".fai", 10)
  before = os.stat(path + ".fai").st_mtime_ns
  with fasta.open_fasta(path, cache_dir=str(tmp_path / "cache")) as f:
    assert f.index_path == path + ".fai" and f.fetch_chars("chr2") == SEQ2
  assert os.stat(path + ".fai").st_mtime_ns == before
  assert not os.path.exists(tmp_path / "cache" / "fai")


def test_fresh_consistent_fai_is_kept(genome_write_fasta, tmp_path):
  path = genome_write_fasta([("chr1", SEQ1)])
  fasta.open_fasta(path, cache_dir=str(tmp_path / "cache")).close()
  index = fasta.cache_index_path(path, str(tmp_path / "cache"))
  before = os.stat(index).st_mtime_ns
  time.sleep(0.01)
  fasta.open_fasta(path, cache_dir=str(tmp_path / "cache")).close()
  assert os.stat(index).st_mtime_ns == before


def test_windows_line_endings_accepted(genome_write_fasta, tmp_path):
  path = genome_write_fasta([("chr1", SEQ1), ("chr2", SEQ2)], newline="\r\n")
  with fasta.open_fasta(path, cache_dir=str(tmp_path)) as f:
    assert f.path == path  # CRLF is regular: pyfaidx indexes it in place.
    assert f.records[0].line_bytes == 62 and f.records[0].line_bases == 60
    assert f.fetch_chars("chr1") == SEQ1
    assert f.fetch_chars("chr2", 55, 65) == SEQ2[55:65]


def test_gzip_input_goes_to_cache_copy(genome_write_fasta, tmp_path, monkeypatch):
  path = genome_write_fasta([("chr1", SEQ1)], name="g.fa.gz", width=80, gz=True)
  cache = str(tmp_path / "cache")
  with fasta.open_fasta(path, cache_dir=cache) as f:
    copy = f.path
    assert copy.startswith(os.path.join(cache, "fasta")) and copy.endswith("g.fasta")
    assert f.source == path and f.fetch_chars("chr1") == SEQ1
  stamp = os.stat(copy).st_mtime_ns
  with monkeypatch.context() as patch:  # Reused: neither rewritten nor read again.
    patch.setattr(fasta, "_scan_lines", lambda *a: pytest.fail("copy was scanned again"))
    with fasta.open_fasta(path, cache_dir=cache) as f:
      assert f.path == copy and f.records[0].length == len(SEQ1)
  assert os.stat(copy).st_mtime_ns == stamp
  assert not [n for n in os.listdir(os.path.dirname(copy)) if n.endswith(".tmp")]


def test_irregular_lines_get_a_regular_copy(genome_write_fasta, tmp_path):
  lines = [SEQ1[:50], SEQ1[50:130], SEQ1[130:131], SEQ1[131:]]  # Ragged widths.
  path = genome_write_fasta(">chr1\n" + "\n".join(lines) + "\n\n>chr2\n" + SEQ2 + "\n")
  with fasta.open_fasta(path, cache_dir=str(tmp_path / "cache")) as f:
    assert f.path != path and f.layout.regular
    assert f.fetch_chars("chr1") == SEQ1 and f.fetch_chars("chr2") == SEQ2
  assert not os.path.exists(path + ".fai")


@pytest.mark.parametrize("gz", [False, True])
def test_stdin_is_read_through_a_private_copy_removed_on_close(gz, tmp_path):
  text = f">chr1 x\n{SEQ1[:500]}\n{SEQ1[500:]}\n>chr2\n{SEQ2}\n".encode()
  stream = io.BufferedReader(io.BytesIO(gzip.compress(text) if gz else text))
  cache = str(tmp_path / "cache")
  with fasta._open_stdin(cache, stream) as f:  # pylint: disable=protected-access
    assert f.source == "<stdin>" and f.names == ["chr1", "chr2"]
    assert f.fetch_chars("chr1") == SEQ1 and f.fetch_chars("chr2", 10, 20) == SEQ2[10:20]
    assert f.path.startswith(os.path.join(cache, "stdin"))
  assert os.listdir(os.path.join(cache, "stdin")) == []
  bad = io.BufferedReader(io.BytesIO(b">chr1\nACGX\n"))
  with pytest.raises(tokenizer.IllegalCharacterError, match=r"<stdin>: line 2: record 'chr1'"):
    fasta._open_stdin(cache, bad)  # pylint: disable=protected-access
  assert os.listdir(os.path.join(cache, "stdin")) == []


def test_scan_reports_irregularity_and_blank_lines(genome_write_fasta):
  regular = genome_write_fasta(">a\nACGT\nAC\n\n>b\nAAAA\n", name="r.fa")
  assert fasta.scan_fasta(regular).regular  # One blank line between records is faidx-legal.
  ragged = genome_write_fasta(">a\nACGT\nAC\nACGT\n", name="i.fa")
  layout = fasta.scan_fasta(ragged)
  assert not layout.regular and "line 4" in layout.irregular_at
  gap = genome_write_fasta(">a\n\nACGT\nAC\n", name="g.fa")  # Blank line before the bases.
  assert "line 3" in fasta.scan_fasta(gap).irregular_at


def test_region_bounds_checked(genome_write_fasta, tmp_path):
  path = genome_write_fasta([("chr1", SEQ2)])
  with fasta.open_fasta(path, cache_dir=str(tmp_path)) as f:
    with pytest.raises(ValueError, match=r"\[290, 301\)"):
      f.fetch("chr1", 290, 301)
    with pytest.raises(KeyError, match="chr9"):
      f.fetch("chr9")
    assert f.fetch("chr1", 5, 5).shape == (0,)


def test_split_bounds_rule():
  assert genomes.split_bounds(1000) == {"train": (0, 900), "validation": (900, 950), "test": (950, 1000)}
  assert genomes.split_bounds(0) == {"train": (0, 0), "validation": (0, 0), "test": (0, 0)}
  for n in [1, 7, 19, 20, 21, 999, 4_639_675, 248_956_422, 10**12 + 3]:
    b = genomes.split_bounds(n)
    assert b["train"][1] == n * 9 // 10 == b["validation"][0]  # floor(0.90 n), exactly.
    assert b["validation"][1] == n * 19 // 20 == b["test"][0]  # floor(0.95 n), exactly.
    assert b["test"][1] == n and b["train"][0] == 0


def test_builtin_genomes_resolve_and_match_manifest(genome_cache_dir):
  manifest = genomes.load_manifest()
  assert set(manifest["collections"]["bacteria4"]) == set(manifest["genomes"])
  for entry in manifest["genomes"].values():
    assert len(entry["sha256"]) == 64 and entry["license"] == "BSD-3-clause"
    assert entry["provenance"]["package"] == "ragout-examples"
  paths = genomes.resolve_genome("builtin:bacteria4", cache_dir=genome_cache_dir)
  assert len(paths) == 4
  files = genomes.open_genome("builtin:vcholerae", cache_dir=genome_cache_dir)
  entry = manifest["genomes"]["vcholerae"]
  assert [(r.name, r.length) for r in files[0].records] == [(r["name"], r["length"]) for r in entry["records"]]
  assert sum(r.ambiguous for r in files[0].records) == 37  # 2 N + 35 IUPAC codes.
  files[0].close()


def test_builtin_checksum_mismatch_is_refused(monkeypatch, genome_cache_dir):
  manifest = genomes.load_manifest()
  damaged = {
    **manifest,
    "genomes": {**manifest["genomes"], "hpylori": {**manifest["genomes"]["hpylori"], "sha256": "0" * 64}},
  }
  monkeypatch.setattr(genomes, "load_manifest", lambda: damaged)
  with pytest.raises(genomes.GenomeSpecError, match=r"hpylori_g27\.fasta\.gz has sha256 80dd2ad4"):
    genomes.resolve_genome("builtin:hpylori", cache_dir=genome_cache_dir)


def test_registered_resolver_hook(genome_write_fasta, tmp_path, monkeypatch):
  path = genome_write_fasta([("chr1", SEQ2)])
  monkeypatch.setitem(genomes.RESOLVERS, "testpreset", lambda arg, cache: [path] if arg == "x" else [])
  assert genomes.resolve_genome("testpreset:x", cache_dir=str(tmp_path)) == [path]
  with pytest.raises(ValueError, match="already registered"):
    genomes.register_resolver("builtin", lambda arg, cache: [])


def test_default_cache_dir_follows_environment(monkeypatch, tmp_path):
  monkeypatch.setenv("GENOME_TRANSFORMER_CACHE", str(tmp_path))
  assert files.cache_root() == str(tmp_path)
  assert files.cache_root("elsewhere") == os.path.abspath("elsewhere")
  monkeypatch.delenv("GENOME_TRANSFORMER_CACHE")
  assert files.cache_root() == os.path.expanduser("~/.cache/genome_transformer")


def test_utf8_header_and_comment_lines_accepted(genome_write_fasta, tmp_path):
  path = genome_write_fasta(";made by hand\n\n>chr1 Escherichia coli (Müller isolate)\n" + SEQ2 + "\n")
  with fasta.open_fasta(path, cache_dir=str(tmp_path)) as f:
    assert f.records[0].description == "chr1 Escherichia coli (Müller isolate)"
    assert f.records[0].header_line == 3 and f.fetch_chars("chr1") == SEQ2


def test_validation_is_remembered_only_for_unchanged_settled_files(genome_write_fasta, tmp_path, monkeypatch):
  cache = str(tmp_path / "cache")
  path = genome_write_fasta([("chr1", SEQ1)])
  scans = []
  real_scan = fasta.scan_fasta
  monkeypatch.setattr(fasta, "scan_fasta", lambda *a, **k: scans.append(a[0]) or real_scan(*a, **k))
  fasta.open_fasta(path, cache_dir=cache).close()
  fasta.open_fasta(path, cache_dir=cache).close()
  assert len(scans) == 2  # Just written (mtime within the slack): never trusted from memory.
  _bump_mtime(path, -3600)  # Settled: last modified an hour before the scan.
  fasta.open_fasta(path, cache_dir=cache).close()
  with fasta.open_fasta(path, cache_dir=cache) as f:
    assert f.records[0].ambiguous == SEQ1.upper().count("N")  # Counts come back from memory.
  assert len(scans) == 3
  genome_write_fasta([("chr1", SEQ1[:600] + "X" + SEQ1[601:])])  # Same size, new content.
  with pytest.raises(tokenizer.IllegalCharacterError, match="line 12: record 'chr1'.*position 601 "):
    fasta.open_fasta(path, cache_dir=cache)
  assert len(scans) == 4


def test_fetch_scheme_goes_through_the_fetcher(genome_write_fasta, tmp_path, monkeypatch):
  from genome_transformer.genomics import sources  # pylint: disable=g-import-not-at-top

  path = genome_write_fasta([("chr1", SEQ2)])
  calls = []

  def fake_fetch(source, cache_dir=None, **kwargs):
    calls.append((source, cache_dir))
    if source == "gone":
      raise sources.FetchError("HTTP 404 Not Found for https://example.org/gone.fa.gz")
    return path

  monkeypatch.setattr(sources, "fetch", fake_fetch)
  assert genomes.resolve_genome("fetch:smalt-chrX", cache_dir=str(tmp_path)) == [path]
  assert calls == [("smalt-chrX", str(tmp_path))]
  with pytest.raises(genomes.GenomeSpecError, match="fetch:gone: HTTP 404 .*gone.fa.gz"):
    genomes.resolve_genome("fetch:gone", cache_dir=str(tmp_path))
