# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Inputs and outputs of the pretrained command line: VCF/TSV/BED/FASTA from a path, gzip, bgzip or stdin;
TSV, bedGraph, VCF, .npz and .npy out. The readers and writers in process, the commands as real processes
on the smallest bundled release, their scores checked against the API in process."""

import gzip
import io
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from genome_transformer.genomics import bed, textio, vcf
from genome_transformer.release import pretrained

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = "bacteria4-slim"
RNG = np.random.default_rng(11)
R1 = "".join(RNG.choice(list("ACGT"), 300))
R2 = "".join(RNG.choice(list("ACGT"), 200))
WRONG = "A" if R2[29] != "A" else "C"  # Not the reference base at r2:30.
VCF_TEXT = (
  "##fileformat=VCFv4.2\n"
  '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
  f"r1\t10\trs1\t{R1[9]}\tA,<DEL>\t50\tPASS\tDP=3\n"
  f"r1\t20\t.\t{R1[19]}\t*\t.\t.\t.\n"
  f"r2\t30\trs3\t{WRONG}\tG\t.\t.\t.\n"
  f"r2\t40\trs4\t{R2[39:41]}\t{R2[39]}\t.\t.\t.\n"
)


def _bgzip(data: bytes) -> bytes:
  out = io.BytesIO()
  with textio.BgzfWriter(out) as writer:
    writer.write(data)
  return out.getvalue()


def _bgzf_blocks(data: bytes) -> list[bytes]:
  """The blocks of a BGZF file, each checked against the header fields the SAM specification (4.1) fixes."""
  blocks, offset = [], 0
  while offset < len(data):
    assert data[offset : offset + 4] == b"\x1f\x8b\x08\x04"  # gzip, deflate, FEXTRA
    xlen, si1, si2, slen, bsize = struct.unpack("<HBBHH", data[offset + 10 : offset + 18])
    assert (xlen, si1, si2, slen) == (6, 66, 67, 2)
    block = data[offset : offset + bsize + 1]
    assert zlib.decompress(block[18:-8], -15) == b"" or len(block) <= 65536
    blocks.append(block)
    offset += bsize + 1
  assert offset == len(data) and blocks[-1] == textio.BGZF_EOF
  return blocks


def test_bgzf_output_is_blocked_gzip_with_an_eof_marker(tmp_path):
  text = "".join(f"r1\t{i}\t{i + 1}\t{i * 0.001:.6f}\n" for i in range(20000))  # Several 64 KiB blocks.
  with textio.atomic_output(str(tmp_path / "x.bedgraph.gz")) as f:
    f.write(text)
  data = (tmp_path / "x.bedgraph.gz").read_bytes()
  assert len(_bgzf_blocks(data)) > 3
  assert gzip.decompress(data).decode() == text
  assert [name for name in os.listdir(tmp_path)] == ["x.bedgraph.gz"]  # The temp file was renamed.
  pysam = pytest.importorskip("pysam")  # Where htslib is installed: tabix indexes what we wrote.
  pysam.tabix_index(str(tmp_path / "x.bedgraph.gz"), preset="bed", force=True)
  assert len(list(pysam.TabixFile(str(tmp_path / "x.bedgraph.gz")).fetch("r1", 100, 103))) == 3


@pytest.mark.parametrize("compress", [None, gzip.compress, _bgzip])
def test_vcf_read_plain_gzip_or_bgzip_with_unscorable_alleles_marked(tmp_path, compress):
  path = tmp_path / ("v.vcf" + (".gz" if compress else ""))
  path.write_bytes(compress(VCF_TEXT.encode()) if compress else VCF_TEXT.encode())
  table = vcf.read_variants(str(path))
  assert table.is_vcf and len(table.records) == 4 and table.num_alleles == 5
  assert [(r.chrom, r.pos, r.vid, r.alts) for r in table.records][:2] == [
    ("r1", 10, "rs1", ["A", "<DEL>"]),
    ("r1", 20, ".", ["*"]),
  ]
  assert [r.skip for r in table.records] == [[None, vcf.SYMBOLIC], [vcf.SPANNING], [None], [None]]
  assert table.records[0].label(str(path)) == f"{path} line 4 (rs1)"


def test_variant_allele_problems():
  for allele, reason in [("<INS:ME>", vcf.SYMBOLIC), ("*", vcf.SPANNING), (".", vcf.MISSING)]:
    assert vcf.allele_problem(allele, vcf=True) == reason
  assert vcf.allele_problem("G]17:198982]", vcf=True) == vcf.BREAKEND
  assert vcf.allele_problem("AC-T", vcf=True) == vcf.NOT_BASES
  assert vcf.allele_problem("acgtNR", vcf=True) is None
  assert vcf.allele_problem("-", vcf=False) is None and vcf.allele_problem("-", vcf=True) == vcf.NOT_BASES


def test_vcf_written_back_with_its_info_key_replaced_and_columns_completed(tmp_path):
  path = tmp_path / "v.vcf"
  path.write_text(
    '##fileformat=VCFv4.2\n##INFO=<ID=GT_LLR,Number=A,Type=Float,Description="old">\n#CHROM\tPOS\tID\tREF\tALT\n'
    "r1\t5\t.\tA\tC,G\nr1\t9\t.\tT\t<DEL>\n"
  )
  table = vcf.read_variants(str(path))
  out = io.StringIO()
  vcf.write_vcf(out, table, [vcf.InfoField("GT_LLR", 'new "one"')], [[[0.5, float("nan")], [float("nan")]]])
  lines = out.getvalue().splitlines()
  assert lines[:3] == [
    "##fileformat=VCFv4.2",
    '##INFO=<ID=GT_LLR,Number=A,Type=Float,Description="new \\"one\\"">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
  ]
  assert lines[3:] == ["r1\t5\t.\tA\tC,G\t.\t.\tGT_LLR=0.500000,.", "r1\t9\t.\tT\t<DEL>\t.\t.\t."]


def test_table_errors_name_file_line_and_field(tmp_path):
  (tmp_path / "bad_pos.tsv").write_text("r1\t10\tA\tG\nr1\tten\tA\tG\n")
  with pytest.raises(textio.InputFileError, match=r"bad_pos\.tsv line 2: POS 'ten' is not an integer"):
    vcf.read_variants(str(tmp_path / "bad_pos.tsv"))
  (tmp_path / "v.vcf.bz2").write_bytes(b"BZh91AY&SY")
  with pytest.raises(textio.InputFileError, match=r"v\.vcf\.bz2: bzip2-compressed; decompress it"):
    vcf.read_variants(str(tmp_path / "v.vcf.bz2"))
  (tmp_path / "cut.vcf.gz").write_bytes(gzip.compress(VCF_TEXT.encode())[:-30])
  with pytest.raises(textio.InputFileError, match=r"cut\.vcf\.gz: (truncated|corrupt) gzip data after line"):
    vcf.read_variants(str(tmp_path / "cut.vcf.gz"))
  lengths = {"r1": 300}
  for text, message in [
    ("r1\t0\n", r"line 1: 2 tab-separated column\(s\)"),
    ("r1\t5\tx\n", r"line 1: start '5' and end 'x' must be integers"),
    ("chr9\t0\t10\n", r"line 1: chromosome 'chr9' is not a record of ref\.fa \(records: r1\)"),
    ("track name=t\nr1\t290\t301\n", r"line 2: region r1:290-301 is empty or outside 'r1', which has 300 bases"),
  ]:
    (tmp_path / "r.bed").write_text(text)
    with pytest.raises(textio.InputFileError, match=message):
      bed.read_bed(str(tmp_path / "r.bed"), lengths, "ref.fa")
  (tmp_path / "r.bed").write_text("# comment\nr1\t0\t10\tgene1\nr1\t20\t30\n")
  assert bed.read_bed(str(tmp_path / "r.bed"), lengths, "ref.fa") == [
    bed.Region("r1", 0, 10, "gene1"),
    bed.Region("r1", 20, 30, "r1:21-30"),
  ]


# -- The commands, as real processes. ----------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
  return pretrained.load(RELEASE)


@pytest.fixture
def inputs(tmp_path):
  """A folder holding the user's FASTA alone, and a cache elsewhere."""
  folder = tmp_path / "inputs"
  folder.mkdir()
  (folder / "ref.fa").write_text(f">r1 first\n{R1}\n>r2\n{R2}\n")
  return folder


def _cli(tmp_path, *args, stdin: bytes | None = None):
  env = dict(os.environ, JAX_PLATFORMS="cpu", GENOME_TRANSFORMER_CACHE=str(tmp_path / "cache"))
  return subprocess.run(
    [sys.executable, "-m", "genome_transformer.pretrained", *args, f"--model={RELEASE}"],
    env=env,
    input=stdin,
    capture_output=True,
    timeout=300,
    cwd=REPO,
    check=False,
  )


def _info(vcf_text: str) -> list[dict[str, str]]:
  rows = [line.split("\t") for line in vcf_text.splitlines() if not line.startswith("#")]
  return [dict(item.split("=", 1) for item in row[7].split(";") if "=" in item) for row in rows]


def test_vcf_gz_in_vcf_out_with_unscorable_alleles_skipped_and_counted(model, inputs, tmp_path):
  (inputs / "calls.vcf.gz").write_bytes(_bgzip(VCF_TEXT.encode()))
  out = tmp_path / "scored.vcf"
  result = _cli(tmp_path, "variants", f"--fasta={inputs}/ref.fa", f"--variants={inputs}/calls.vcf.gz", f"--out={out}")
  assert result.returncode == 0, result.stderr[-3000:]
  warnings = [line for line in result.stderr.decode().splitlines() if "not scored" in line]
  assert warnings == [
    f"Warning: {inputs}/calls.vcf.gz: 3 of 5 alleles not scored, left NA: 1 symbolic (<...>) (first at line 4); "
    "1 '*' (spanning deletion) (first at line 5); 1 REF differs from the reference (first at line 6)."
  ]
  text = out.read_text()
  assert '##INFO=<ID=GT_LLR,Number=A,Type=Float,Description="ln p(alt) - ln p(ref) in nats' in text
  assert text.index("##INFO=<ID=GT_LLR") < text.index("#CHROM")
  assert "##contig=<ID=r1,length=300>\n##contig=<ID=r2,length=200>\n" in text  # As bcftools wants them.
  want = model.score_variants(R1, [(10, R1[9], "A")])[0], model.score_variants(R2, [(40, R2[39:41], R2[39])])[0]
  info = _info(text)
  assert info[0]["DP"] == "3" and info[0]["GT_LLR"].endswith(",.") and "GT_LLR" not in info[1]
  assert "GT_LLR" not in info[2]
  np.testing.assert_allclose(
    [float(info[0]["GT_LLR"].split(",")[0]), float(info[3]["GT_LLR"])], want, rtol=0, atol=1e-5
  )
  records = [line.split("\t")[:7] for line in text.splitlines() if not line.startswith("#")]
  assert records == [line.split("\t")[:7] for line in VCF_TEXT.splitlines() if not line.startswith("#")]
  assert sorted(os.listdir(inputs)) == ["calls.vcf.gz", "ref.fa"]  # No index beside the user's FASTA.


def test_stdin_variants_to_bgzf_vcf_and_a_file_of_nothing_scorable(inputs, tmp_path):
  out = tmp_path / "scored.vcf.gz"
  result = _cli(
    tmp_path,
    "variants",
    f"--fasta={inputs}/ref.fa",
    "--variants=-",
    f"--out={out}",
    stdin=gzip.compress(VCF_TEXT.encode()),
  )
  assert result.returncode == 0, result.stderr[-3000:]
  assert "Warning: <stdin>: 3 of 5 alleles not scored" in result.stderr.decode()
  _bgzf_blocks(out.read_bytes())
  assert len(_info(gzip.decompress(out.read_bytes()).decode())) == 4
  only_bad = f"r2\t30\t{WRONG}\tG\nr1\t10\t{R1[9]}\t<DEL>\n"
  result = _cli(tmp_path, "variants", f"--fasta={inputs}/ref.fa", "--variants=-", stdin=only_bad.encode())
  assert result.returncode == 1
  assert (
    result.stderr.decode()
    .strip()
    .splitlines()[-1]
    .startswith("Error: no allele of <stdin> could be scored; the first: variant <stdin> line 1 (pos 30, ")
  )
  assert sorted(os.listdir(inputs)) == ["ref.fa"]


def test_score_stdin_fasta_with_regions_to_bedgraph(model, inputs, tmp_path):
  (tmp_path / "r.bed").write_text("track name=x\nr1\t0\t120\tfirst\nr2\t50\t180\n")
  scores, per_base = tmp_path / "scores.tsv", tmp_path / "per_base.bedgraph"
  result = _cli(
    tmp_path,
    "score",
    "--fasta=-",
    f"--regions={tmp_path}/r.bed",
    f"--out={scores}",
    f"--per_base={per_base}",
    stdin=gzip.compress((inputs / "ref.fa").read_bytes()),
  )
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [line.split("\t") for line in scores.read_text().splitlines()]
  assert rows[0][0] == "record" and [r[:2] for r in rows[1:]] == [["first", "120"], ["r2:51-180", "130"]]
  np.testing.assert_allclose(
    [float(r[3]) for r in rows[1:]], model.bits_per_base([R1[:120], R2[50:180]]), rtol=0, atol=1e-5
  )
  track, *lines = per_base.read_text().splitlines()
  assert track.startswith("track type=bedGraph ")
  cells = [line.split("\t") for line in lines]
  assert len(cells) == 119 + 129  # Every base but each region's first, which is conditioned on nothing.
  assert cells[0][:3] == ["r1", "1", "2"] and cells[119][:3] == ["r2", "51", "52"]  # The record's coordinates.
  want = model.log_likelihood(R2[50:180])
  np.testing.assert_allclose([float(c[3]) for c in cells[119:]], want[1:], rtol=0, atol=1e-5)


def test_embed_writes_npy_or_npz_by_the_extension(model, inputs, tmp_path):
  npy, npz = tmp_path / "emb.npy", tmp_path / "emb.npz"
  result = _cli(tmp_path, "embed", f"--fasta={inputs}/ref.fa", f"--out={npy}")
  assert result.returncode == 0, result.stderr[-3000:]
  assert npy.read_bytes()[:6] == b"\x93NUMPY"  # .npy content, not a zip
  np.testing.assert_allclose(np.load(npy), model.embed({"r1": R1, "r2": R2}), rtol=1e-5, atol=1e-5)
  (tmp_path / "r.bed").write_text("r2\t10\t90\tpart\n")
  result = _cli(tmp_path, "embed", f"--fasta={inputs}/ref.fa", f"--regions={tmp_path}/r.bed", f"--out={npz}")
  assert result.returncode == 0, result.stderr[-3000:]
  assert npz.read_bytes()[:2] == b"PK"
  with np.load(npz) as saved:
    assert list(saved["names"]) == ["part"]
    np.testing.assert_allclose(saved["embeddings"][0], model.embed(R2[10:90]), rtol=1e-5, atol=1e-5)


def test_unwritable_output_extensions_refused(inputs, tmp_path):
  for args, message in [
    (["score", f"--out={tmp_path}/s.csv"], f"--out={tmp_path}/s.csv: cannot write '.csv'; `score` --out writes .tsv"),
    (["embed", f"--out={tmp_path}/e.npy", "--pool=none"], "an .npy file holds one array"),
  ]:
    result = _cli(tmp_path, *args, f"--fasta={inputs}/ref.fa")
    assert result.returncode == 1
    assert message in result.stderr.decode().strip().splitlines()[-1], result.stderr[-3000:]
  assert not [name for name in os.listdir(tmp_path) if name.startswith((".", "s.", "v.", "e."))]
  assert sorted(os.listdir(inputs)) == ["ref.fa"]  # No index beside the user's FASTA.
