# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The pretrained-model API and command line on a real exported tiny run.

Oracles are computed independently: the whole-sequence forward (`model.apply` on the entire
sequence) for scores, embeddings and next-token logits; string edits and reverse complements
scored separately for variants. Tolerances are float32 round-off: 1e-5 absolute on log-
probabilities of order 1 (the chunked recurrence sums the same terms in another order).
"""

import functools
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
from model_testing import perturbed
import numpy as np
import pytest

from genome_transformer.evaluation import heldout
from genome_transformer.genomics import tokenizer
from genome_transformer.model import match
from genome_transformer.model import performer as model_lib
from genome_transformer.release import export, pretrained

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WINDOW = 128  # configs/tiny.py's training window; the sequences below are longer.
ATOL = 1e-5


def _trained_workdir(tmp_path_factory, cache_dir) -> str:
  # The same session-wide run as test_export.py (same directory, made once).
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  import test_export  # pylint: disable=g-import-not-at-top

  return test_export.trained_workdir(tmp_path_factory, cache_dir)


@pytest.fixture(scope="module")
def release_root(tmp_path_factory, genome_cache_dir):
  """A `pretrained/` folder holding the tiny run's export under the release name `tiny`."""
  root = tmp_path_factory.mktemp("pretrained")
  export.export(_trained_workdir(tmp_path_factory, genome_cache_dir), str(root / "tiny"))
  return str(root)


@pytest.fixture(scope="module")
def model(release_root):
  return pretrained.load(os.path.join(release_root, "tiny"))


def _random_bases(seed, length):
  return "".join(np.random.default_rng(seed).choice(list("ACGT"), length))


# Longer than the training window, with an N run, an IUPAC code and soft-masked (lowercase) bases.
LONG = _random_bases(1, 300) + "NNNNN" + "acgtR" + _random_bases(2, 290)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _whole_sequence_forward(net, params, tokens_1L, return_hidden=False, rng=None):
  """The oracle: one forward over the entire sequence, no chunks, no carried state (jit for speed)."""
  return net.apply(
    {"params": params},
    match.model_inputs(net.config, tokens_1L),  # Found by one sort; generation's steps keep a table.
    return_hidden=return_hidden,
    rngs={} if rng is None else {"features": rng},
  )


def _full_forward_logp(m, seq):
  tokens_L = tokenizer.encode(seq).astype(np.int32)
  logits_LV = _whole_sequence_forward(m.model, m.params, jnp.asarray(tokens_L)[None], False, m.features_rng)[0]
  logp_LV = np.asarray(jax.nn.log_softmax(logits_LV, axis=-1))
  return tokens_L, logp_LV, np.asarray(logits_LV)


def test_load_by_release_name_from_env(release_root, monkeypatch):
  monkeypatch.setenv(pretrained.RELEASES_ENV, release_root)
  assert "tiny" in pretrained.list_releases()
  m = pretrained.load("tiny")
  assert m.path == os.path.join(release_root, "tiny")
  assert m.metadata["steps"] == 10
  with pytest.raises(pretrained.ReleaseNotFoundError, match=r"named 'nosuch'. Releases found: .*tiny"):
    pretrained.load("nosuch")


def test_genome_aliases_load_the_recommended_releases(tmp_path, monkeypatch):
  assert pretrained.RECOMMENDED == {"bacteria": "bacteria4-slim-conv", "human": "human-chrx-slim-window3"}
  for alias, release in pretrained.RECOMMENDED.items():
    m = pretrained.load(alias)
    assert m.name == release  # outputs name the release, not the alias
    assert m.path == pretrained.resolve(release)
  # A release or directory of the alias's name comes first: an alias never shadows one.
  (tmp_path / "human").mkdir()
  monkeypatch.setenv(pretrained.RELEASES_ENV, str(tmp_path))
  assert pretrained.release_name("human") == "human"
  assert pretrained.resolve("human") == str(tmp_path / "human")
  monkeypatch.setenv(pretrained.RELEASES_ENV, str(tmp_path / "nowhere"))
  monkeypatch.setattr(export.export_reader, "CHECKOUT_DIR", str(tmp_path / "no_checkout"))
  with pytest.raises(
    pretrained.ReleaseNotFoundError, match="'bacteria4-slim-conv' \\(what the alias 'bacteria' names\\)"
  ):
    pretrained.resolve("bacteria")


def test_a_fasta_path_reads_its_records_or_is_refused(tmp_path, monkeypatch):
  records = {"r1": _random_bases(7, 70), "r2": _random_bases(8, 40) + "NNacgt"}
  (tmp_path / "my.fa").write_text("".join(f">{name} description\n{seq}\n" for name, seq in records.items()))
  m = pretrained.load("bacteria4-slim")
  want = m.bits_per_base(records)
  monkeypatch.chdir(tmp_path)
  for path in ("my.fa", str(tmp_path / "my.fa"), tmp_path / "my.fa"):
    assert m.bits_per_base(path) == want
  assert {k: v.tolist() for k, v in pretrained.read_fasta("my.fa").items()} == {
    k: tokenizer.encode(v).tolist() for k, v in records.items()
  }
  np.testing.assert_array_equal(m.log_likelihood("my.fa")[1], m.log_likelihood(records["r2"]))
  with pytest.raises(pretrained.PretrainedInputError, match=r"'nosuch\.fa' reads as a FASTA path .* no such file"):
    m.bits_per_base("nosuch.fa")
  with pytest.raises(
    pretrained.PretrainedInputError, match=r"prompt: 'my\.fa' is a FASTA file; this takes one sequence"
  ):
    m.generate("my.fa", 4)
  (tmp_path / "ACGT").write_text(">x\nTTTT\n")  # A str of bases is a sequence, whatever files exist.
  assert m.bits_per_base("ACGT") == m.bits_per_base(np.asarray(tokenizer.encode("ACGT")))


def test_list_names_the_recommended_release_of_each_genome():
  result = _cli(os.path.join(REPO, "pretrained"), "list")
  assert result.returncode == 0, result.stderr[-3000:]
  table = result.stdout.split("\n\n")[0].splitlines()
  recommended = sorted(row.split()[0] for row in table[1:] if row.rstrip().endswith(")"))
  assert recommended == ["bacteria4-slim-conv", "human-chrx-slim-window3"]
  assert [row.split()[-1] for row in table if row.startswith("human-chrx-slim-window3 ")] == ["(human)"]
  assert "bacteria = bacteria4-slim-conv, human = human-chrx-slim-window3" in result.stdout


def test_log_likelihood_chunked_equals_full_forward(model):
  """context=None: one recurrence over the whole sequence, the behaviour before windowed scoring."""
  tokens_L, logp_LV, _ = _full_forward_logp(model, LONG)
  want_L = logp_LV[np.arange(len(LONG) - 1), tokens_L[1:]]
  scored_L = tokens_L[1:] < 4
  results = {}
  for chunk in (None, 64, 100):  # None: the config's eval.chunk_size (128); 100 does not divide the length.
    got_L = model.log_likelihood(LONG, context=None, chunk_size=chunk)
    assert got_L.shape == (len(LONG),)
    assert np.isnan(got_L[0])  # Conditioned on nothing: not scored.
    np.testing.assert_array_equal(np.isnan(got_L[1:]), ~scored_L)  # N and IUPAC bases are not scored.
    np.testing.assert_allclose(got_L[1:][scored_L], want_L[scored_L], rtol=0, atol=ATOL)
    results[chunk] = got_L
  np.testing.assert_allclose(results[64], results[100], rtol=0, atol=ATOL)
  # A batch of different lengths gives each sequence what it gets alone.
  batch = model.log_likelihood([LONG[:40], LONG, LONG[:200]], context=None)
  np.testing.assert_allclose(batch[1], results[None], rtol=0, atol=ATOL)
  np.testing.assert_allclose(batch[0], results[None][:40], rtol=0, atol=ATOL)
  np.testing.assert_allclose(batch[2], results[None][:200], rtol=0, atol=ATOL)
  bits = model.bits_per_base(LONG, context=None)
  np.testing.assert_allclose(bits, -np.mean(want_L[scored_L]) / np.log(2), rtol=1e-6)


def test_default_context_is_the_training_window(model):
  """Past the training window each base is scored in a window of WINDOW bases, from position 0."""
  assert model.window_length == WINDOW
  tokens_L, logp_LV, _ = _full_forward_logp(model, LONG)
  half = WINDOW // 2
  # The oracle: the whole-sequence forward of window 0 for bases < WINDOW; after that, of the
  # window starting at k*half for the bases [k*half + WINDOW - half, k*half + WINDOW).
  want_L = np.full(len(LONG), np.nan, np.float32)
  want_L[1:WINDOW] = logp_LV[np.arange(WINDOW - 1), tokens_L[1:WINDOW]]
  for start in range(half, len(LONG) - WINDOW + half, half):
    window_L, window_logp_LV, _ = _full_forward_logp(model, LONG[start : start + WINDOW])
    for t in range(start + WINDOW - half, min(start + WINDOW, len(LONG))):
      want_L[t] = window_logp_LV[t - start - 1, window_L[t - start]]
  want_L[tokens_L >= 4] = np.nan
  got_L = model.log_likelihood(LONG)
  np.testing.assert_array_equal(np.isnan(got_L), np.isnan(want_L))
  np.testing.assert_allclose(got_L, want_L, rtol=0, atol=ATOL)
  np.testing.assert_allclose(model.log_likelihood(LONG, context=WINDOW), got_L, rtol=0, atol=ATOL)
  scored = np.isfinite(want_L)
  np.testing.assert_allclose(model.bits_per_base(LONG), -np.mean(want_L[scored]) / np.log(2), rtol=1e-6)
  # A sequence that fits in the window is scored whole, whatever the context.
  np.testing.assert_array_equal(model.log_likelihood(LONG[:WINDOW]), model.log_likelihood(LONG[:WINDOW], context=None))
  # Another context: windows of 50 (chunk 32 divides no window), several windows per call or one.
  for batch_size in (1, 8):
    other_L = model.log_likelihood({"long": LONG, "short": LONG[:45]}, context=50, chunk_size=32, batch_size=batch_size)
    np.testing.assert_allclose(other_L[1], model.log_likelihood(LONG[:45], context=None), rtol=0, atol=ATOL)
    np.testing.assert_allclose(other_L[0][:50], model.log_likelihood(LONG[:50], context=None), rtol=0, atol=ATOL)
    assert np.nanmax(np.abs(other_L[0][50:] - got_L[50:])) > 1e-4  # Less context: other scores.
  for bad in (1, -2, 2.5, True, "128"):
    with pytest.raises(pretrained.PretrainedInputError, match=r"context=.* must be 0 \(the training window, 128 "):
      model.log_likelihood(LONG, context=bad)


def test_embed_chunked_equals_full_forward(model):
  tokens_L = jnp.asarray(tokenizer.encode(LONG).astype(np.int32))
  h_LD = np.asarray(_whole_sequence_forward(model.model, model.params, tokens_L[None], True)[0])
  per_base = model.embed(LONG, pool=None, chunk_size=64)
  assert per_base.shape == (len(LONG), model.d_model)
  np.testing.assert_allclose(per_base, h_LD, rtol=1e-4, atol=ATOL)
  pooled = model.embed({"a": LONG, "b": LONG[:77]}, pool="mean", chunk_size=64)
  assert pooled.shape == (2, model.d_model)
  np.testing.assert_allclose(pooled[0], h_LD.mean(axis=0), rtol=1e-4, atol=ATOL)
  # Causal: the first 77 hidden states of LONG are those of its 77-base prefix.
  np.testing.assert_allclose(pooled[1], h_LD[:77].mean(axis=0), rtol=1e-4, atol=ATOL)
  np.testing.assert_allclose(model.embed(LONG, pool="last", chunk_size=64), h_LD[-1], rtol=1e-4, atol=ATOL)


def test_recurrent_state_after_prompt_gives_full_forward_logits(model):
  # 300-base prompt, chunk 128: two whole chunks and a tail of single steps feed the state.
  prompt = LONG[:300]
  _, _, logits_LV = _full_forward_logp(model, prompt)
  np.testing.assert_allclose(model.next_token_logits(prompt), logits_LV[-1], rtol=1e-4, atol=ATOL)
  np.testing.assert_allclose(model.next_token_logits(prompt[:5]), logits_LV[4], rtol=1e-4, atol=ATOL)


def test_greedy_generation_follows_the_full_forward_argmax(model):
  prompt = LONG[:150]
  generated = model.generate(prompt, 20, temperature=0)
  assert len(generated) == 20 and set(generated) <= set("ACGT")
  _, _, logits_LV = _full_forward_logp(model, prompt + generated)
  # Each generated base is the most likely base (among A C G T) after everything before it.
  argmax = np.argmax(logits_LV[len(prompt) - 1 : -1, :4], axis=-1)
  assert tokenizer.decode(argmax.astype(np.uint8)) == generated
  assert model.generate(prompt, 20, top_k=1, seed=7) == generated  # top_k=1 is greedy too.


def test_seeded_generation_is_reproducible(model):
  a = model.generate("ACGTNacgt", 300, temperature=1.0, top_k=3, seed=11)
  assert len(a) == 300 and set(a) <= set("ACGT")  # Never N, PAD, BOS or EOS.
  assert model.generate("ACGTNacgt", 300, temperature=1.0, top_k=3, seed=11) == a
  assert model.generate("ACGTNacgt", 300, temperature=1.0, top_k=3, seed=12) != a
  # The same seed gives the same first bases whatever the length asked for (per-position keys).
  assert model.generate("ACGTNacgt", 100, temperature=1.0, top_k=3, seed=11) == a[:100]


def _total(m, seq, context=0):
  """ln p(seq): the sum of log_likelihood, the protocol variant scores are differences of."""
  return heldout.scored_log_likelihood(m.log_likelihood(seq, context=context))[0]


def _revcomp(seq):
  return tokenizer.decode(tokenizer.reverse_complement(tokenizer.encode(seq)))


def test_variant_scores_equal_differences_of_total_log_likelihoods(model):
  seq = _random_bases(3, 400)
  snv_alt = "A" if seq[99] != "A" else "C"
  variants = [
    (100, seq[99], snv_alt),  # SNV at 1-based 100 (index 99).
    (200, seq[199], seq[199] + "GT"),  # VCF-style insertion after 200.
    (300, seq[299:303], seq[299]),  # VCF-style deletion of 301..303.
    (50, "-", "TT"),  # Anchor-less insertion before base 50.
  ]
  # (0-based start, bases replaced, replacement), written out by hand from the variants above.
  edits = [(99, 1, snv_alt), (199, 1, seq[199] + "GT"), (299, 4, seq[299]), (49, 0, "TT")]

  def want(window, context, strand):
    """ln p(alt region) - ln p(ref region) from string edits and log_likelihood alone."""
    scores = []
    for start, replaced, replacement in edits:
      lo = 0 if window is None else max(0, start - window)
      hi = len(seq) if window is None else min(len(seq), start + replaced + window)
      ref, alt = seq[lo:hi], seq[lo:start] + replacement + seq[start + replaced : hi]
      scores.append(strand(model, alt, context) - strand(model, ref, context))
    return np.array(scores)

  def reverse(m, text, context):
    return _total(m, _revcomp(text), context)

  # Defaults, as log_likelihood's: WINDOW bases each side, each region (up to 2 WINDOW + 4 bases)
  # scored in half-overlapping windows of WINDOW.
  want_forward, want_reverse = want(WINDOW, 0, _total), want(WINDOW, 0, reverse)
  np.testing.assert_allclose(model.score_variants(seq, variants), want_forward, rtol=0, atol=1e-4)
  np.testing.assert_allclose(
    model.score_variants(seq, variants, window=WINDOW, context=WINDOW), want_forward, atol=1e-4
  )
  assert np.all(np.abs(want_forward) > 1e-3)  # Each edit changes the likelihood measurably.
  both = model.variant_scores_by_strand(seq, variants, both_strands=True)
  np.testing.assert_allclose(both[:, 0], want_forward, rtol=0, atol=1e-4)
  np.testing.assert_allclose(both[:, 1], want_reverse, rtol=0, atol=1e-4)
  np.testing.assert_allclose(
    model.score_variants(seq, variants, both_strands=True), (want_forward + want_reverse) / 2, rtol=0, atol=1e-4
  )
  # The whole sequence in one recurrence (window=None, context=None): sums of ~400 float32 terms.
  unbounded = model.score_variants(seq, variants, window=None, context=None)
  np.testing.assert_allclose(unbounded, want(None, None, _total), rtol=0, atol=1e-4)
  assert np.max(np.abs(unbounded - want_forward)) > 1e-3  # Another protocol: other scores.
  # A window of 30 bases each side: regions of 61 bases, within one training window.
  np.testing.assert_allclose(model.score_variants(seq, variants, window=30), want(30, 0, _total), rtol=0, atol=1e-4)
  with pytest.raises(pretrained.PretrainedInputError, match=r"window=-1 must be 0 \(the training window, 128 bases"):
    model.score_variants(seq, variants, window=-1)
  with pytest.raises(pretrained.PretrainedInputError, match=r"context=1 must be 0"):
    model.score_variants(seq, variants, context=1)


def test_bad_inputs_name_the_item(model):
  with pytest.raises(tokenizer.IllegalCharacterError, match=r"record 'seqs\[1\]': illegal character 'X' at position 3"):
    model.log_likelihood(["ACGT", "ACXGT"])
  with pytest.raises(pretrained.PretrainedInputError, match=r"seqs\[1\]: the sequence is empty"):
    model.log_likelihood(["ACGT", ""])
  with pytest.raises(pretrained.PretrainedInputError, match=r"chr2: the sequence is empty"):
    model.embed({"chr1": "ACGT", "chr2": ""})
  with pytest.raises(pretrained.PretrainedInputError, match=r"token id 6 at position 2"):
    model.bits_per_base(np.array([0, 6, 1], np.uint8))
  seq = "ACGTACGTAC"
  with pytest.raises(
    pretrained.PretrainedInputError,
    match=r"variant 1 \(pos 11, 'A'>'G'\): lies outside the sequence, which has 10 bases",
  ):
    model.score_variants(seq, [(2, "C", "G"), (11, "A", "G")])
  with pytest.raises(pretrained.PretrainedInputError, match=r"variant 0 \(pos 0, 'A'>'G'\): lies outside"):
    model.score_variants(seq, [(0, "A", "G")])
  with pytest.raises(
    pretrained.PretrainedInputError,
    match=r"variant rs7 \(pos 3, 'GA'>'G'\): ref 'GA' does not match the sequence, which "
    r"holds 'GT' at 3..4 \(1-based\)",
  ):
    model.score_variants(seq, [pretrained.Variant(3, "GA", "G", "rs7")])
  with pytest.raises(pretrained.PretrainedInputError, match=r"alt allele '<DEL>' is not a sequence"):
    model.score_variants(seq, [(3, "G", "<DEL>")])
  with pytest.raises(pretrained.PretrainedInputError, match=r"prompt: the sequence is empty"):
    model.generate("", 5)
  with pytest.raises(pretrained.PretrainedInputError, match=r"top_k=5 must be None or 1..4"):
    model.generate("ACGT", 5, top_k=5)
  with pytest.raises(pretrained.PretrainedInputError, match=r"pool='max'"):
    model.embed("ACGT", pool="max")


@pytest.mark.parametrize(
  "attention,feature_map,match_order", [("softmax", "sqr", 0), ("linear", "favor+", 0), ("linear", "sqr", 3)]
)
def test_softmax_favor_and_match_models(attention, feature_map, match_order, tmp_path):
  """Softmax runs by its full forward; FAVOR+ uses one fixed feature key in every chunk and step; the
  match input is found by a table in prefill and generation."""
  config = ml_collections.ConfigDict(
    dict(
      seed=0,
      data=dict(genome="builtin:hpylori", window_length=64),
      eval=dict(chunk_size=32),
      model=dict(
        vocab_size=8,
        d_model=16,
        num_layers=1,
        num_heads=2,
        d_ff=32,
        attention=attention,
        feature_map=feature_map,
        num_feature_blocks=1,
        on_gptln=True,
        match_order=match_order,
      ),
    )
  )
  net = model_lib.SLiMPerformer(config.model)
  key = jax.random.PRNGKey(3)
  params = jax.jit(net.init)({"params": key, "features": key}, jnp.zeros((1, 8), jnp.int32))["params"]
  if match_order:
    params = perturbed(params)  # The match embedding starts at zero.
  path = export.write_export(str(tmp_path / "model"), params, config, {"note": "random init"})
  m = pretrained.load(path)
  assert m.recurrent == (attention == "linear")
  assert (m.features_rng is not None) == (feature_map == "favor+")
  seq = _random_bases(4, 90)  # Three chunks of 32 for the recurrent model.
  if match_order:
    seq = seq[:60] + seq[5:35]  # A copy: the match input is set along it.
  tokens_L, logp_LV, logits_LV = _full_forward_logp(m, seq)
  whole_L = logp_LV[np.arange(89), tokens_L[1:]]
  np.testing.assert_allclose(m.log_likelihood(seq, context=None)[1:], whole_L, rtol=0, atol=ATOL)
  # By default, windows of the training length 64: window 0 for bases < 64, then the window at 32.
  window_L, window_logp_LV, _ = _full_forward_logp(m, seq[32:])
  windowed_L = m.log_likelihood(seq)
  np.testing.assert_allclose(windowed_L[1:64], whole_L[:63], rtol=0, atol=ATOL)
  np.testing.assert_allclose(windowed_L[64:], window_logp_LV[np.arange(31, 57), window_L[32:]], rtol=0, atol=ATOL)
  np.testing.assert_allclose(m.next_token_logits(seq), logits_LV[-1], rtol=1e-4, atol=ATOL)
  generated = m.generate(seq[:40], 8, temperature=0)
  _, _, logits_LV = _full_forward_logp(m, seq[:40] + generated)
  assert tokenizer.decode(np.argmax(logits_LV[39:-1, :4], -1).astype(np.uint8)) == generated


def _cli(release_root, *args):
  env = dict(os.environ, JAX_PLATFORMS="cpu", **{pretrained.RELEASES_ENV: release_root})
  return subprocess.run(
    [sys.executable, "-m", "genome_transformer.pretrained", *args],
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
    cwd=REPO,
  )


def test_command_line_score_and_variants(model, release_root, tmp_path):
  records = {"r1": LONG[:250], "r2": _random_bases(5, 180)}
  fasta_path = tmp_path / "in.fa"
  fasta_path.write_text("".join(f">{name} test\n{seq}\n" for name, seq in records.items()))
  variants_path = tmp_path / "variants.vcf"
  variants_path.write_text(
    "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"
    f"r2\t40\trsA\t{records['r2'][39]}\tA,C\n"
    f"r1\t120\t.\t{records['r1'][119:121]}\t{records['r1'][119]}\n"
  )
  scores_path, per_base_path = tmp_path / "scores.tsv", tmp_path / "per_base.tsv"
  result = _cli(
    release_root,
    "score",
    "--model=tiny",
    f"--fasta={fasta_path}",
    f"--out={scores_path}",
    f"--per_base={per_base_path}",
  )
  assert result.returncode == 0, result.stderr[-3000:]
  lines = scores_path.read_text().splitlines()
  assert lines[0] == "record\tlength\tscored_bases\tbits_per_base\tlog_likelihood_nats"
  for line, (name, seq) in zip(lines[1:], records.items()):
    fields = line.split("\t")
    assert fields[:2] == [name, str(len(seq))]
    np.testing.assert_allclose(float(fields[3]), model.bits_per_base(seq), rtol=0, atol=1e-5)
  per_base = per_base_path.read_text().splitlines()
  assert len(per_base) == 1 + sum(len(s) for s in records.values())
  assert per_base[1] == f"r1\t1\t{LONG[0]}\tNA"
  result = _cli(release_root, "score", "--model=tiny", f"--fasta={fasta_path}", f"--out={scores_path}", "--context=-1")
  assert result.returncode == 0, result.stderr[-3000:]
  for line, seq in zip(scores_path.read_text().splitlines()[1:], records.values()):
    np.testing.assert_allclose(float(line.split("\t")[3]), model.bits_per_base(seq, context=None), rtol=0, atol=1e-5)

  out_path = tmp_path / "variants.tsv"
  result = _cli(
    release_root,
    "variants",
    "--model=tiny",
    f"--fasta={fasta_path}",
    f"--variants={variants_path}",
    "--both_strands",
    f"--out={out_path}",
  )
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [line.split("\t") for line in out_path.read_text().splitlines()]
  assert rows[0] == ["chrom", "pos", "id", "ref", "alt", "llr", "llr_forward", "llr_reverse"]
  assert [r[:5] for r in rows[1:]] == [
    ["r2", "40", "rsA", records["r2"][39], "A"],
    ["r2", "40", "rsA", records["r2"][39], "C"],
    ["r1", "120", ".", records["r1"][119:121], records["r1"][119]],
  ]
  want = model.score_variants(records["r1"], [(120, records["r1"][119:121], records["r1"][119])], both_strands=True)
  np.testing.assert_allclose(float(rows[3][5]), want[0], rtol=0, atol=1e-5)

  scores = {}
  # No --window or --context: the API's defaults (W each side, windows of W), and their explicit values.
  for flags_given, kwargs in (
    ([], {}),
    (["--window=0", "--context=0"], {}),
    (["--window=-1", "--context=-1"], {"window": None, "context": None}),
    (["--window=30", "--context=50"], {"window": 30, "context": 50}),
  ):
    result = _cli(
      release_root,
      "variants",
      "--model=tiny",
      f"--fasta={fasta_path}",
      f"--variants={variants_path}",
      f"--out={out_path}",
      *flags_given,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("\t") for line in out_path.read_text().splitlines()]
    assert rows[0] == ["chrom", "pos", "id", "ref", "alt", "llr"]
    want = [
      *model.score_variants(records["r2"], [(40, records["r2"][39], "A"), (40, records["r2"][39], "C")], **kwargs),
      *model.score_variants(records["r1"], [(120, records["r1"][119:121], records["r1"][119])], **kwargs),
    ]
    np.testing.assert_allclose([float(r[5]) for r in rows[1:]], want, rtol=0, atol=1e-5)
    scores[tuple(flags_given)] = want
  assert scores[()] == scores[("--window=0", "--context=0")]
  assert np.max(np.abs(np.subtract(scores[()], scores[("--window=-1", "--context=-1")]))) > 1e-4

  bad_path = tmp_path / "bad.tsv"
  bad_path.write_text(f"r1\t5\t{'A' if records['r1'][4] != 'A' else 'C'}\tG\n")
  result = _cli(release_root, "variants", "--model=tiny", f"--fasta={fasta_path}", f"--variants={bad_path}")
  assert result.returncode == 1
  assert f"variant {bad_path} line 1 (pos 5," in result.stderr
  assert f"which holds '{records['r1'][4]}' at 5..5" in result.stderr


def test_command_line_embed_generate_and_list(model, release_root, tmp_path):
  records = {"r1": LONG[:250], "r2": _random_bases(6, 90)}
  fasta_path = tmp_path / "in.fa"
  fasta_path.write_text("".join(f">{name}\n{seq}\n" for name, seq in records.items()))
  emb_path = tmp_path / "emb.npz"
  result = _cli(release_root, "embed", "--model=tiny", f"--fasta={fasta_path}", f"--out={emb_path}")
  assert result.returncode == 0, result.stderr[-3000:]
  with np.load(emb_path) as saved:
    assert list(saved["names"]) == ["r1", "r2"]
    np.testing.assert_allclose(saved["embeddings"], model.embed(records), rtol=1e-5, atol=ATOL)
  result = _cli(release_root, "embed", "--model=tiny", f"--fasta={fasta_path}", f"--out={emb_path}", "--pool=none")
  assert result.returncode == 0, result.stderr[-3000:]
  with np.load(emb_path) as saved:
    for i, seq in enumerate(records.values()):
      np.testing.assert_allclose(saved[f"embedding_{i}"], model.embed(seq, pool=None), rtol=1e-5, atol=ATOL)
  result = _cli(release_root, "embed", "--model=tiny", f"--fasta={fasta_path}")
  assert result.returncode == 1 and result.stderr.strip().endswith("`embed` writes an .npz file: pass --out=FILE.npz.")

  gen_path = tmp_path / "gen.fa"
  args = ("--prompt=ACGTNacgtTTGA", "--n=130", "--temperature=0.8", "--top_k=3", "--seed=5")
  result = _cli(release_root, "generate", "--model=tiny", f"--out={gen_path}", *args)
  assert result.returncode == 0, result.stderr[-3000:]
  header, *lines = gen_path.read_text().splitlines()
  assert header == ">generated model=tiny prompt_length=13 n=130 temperature=0.8 top_k=3 seed=5"
  assert all(len(line) == 60 for line in lines[:-1])
  assert "".join(lines) == model.generate("ACGTNacgtTTGA", 130, temperature=0.8, top_k=3, seed=5)
  result = _cli(release_root, "generate", "--model=tiny", "--prompt=ACGT", "--top_k=7")
  assert result.returncode == 1 and "top_k=7 must be None or 1..4" in result.stderr

  result = _cli(release_root, "list")
  assert result.returncode == 0, result.stderr[-3000:]
  header, *rows = result.stdout.split("\n\n")[0].splitlines()
  assert header.split() == "name genome context parameters test bits/base measured on recommended".split()
  (line,) = [row for row in rows if row.startswith("tiny ")]
  held = model.metadata["test_bits_per_base"]
  per_record = model.metadata["heldout_max_bases_per_record"]
  assert (
    line.split()
    == (
      f"tiny builtin:hpylori 128 {model.num_params:,} {held:.4f} test split's first {per_record:,} bases per record -"
    ).split()
  )
  assert any(row.startswith("bacteria4-slim ") for row in rows)  # The bundled releases are listed beside it.


def test_variants_write_vcf_to_stdout_with_logs_on_stderr(model, release_root, tmp_path):
  record = _random_bases(7, 200)
  fasta_path = tmp_path / "ref.fa"
  fasta_path.write_text(f">chr1\n{record}\n")
  variants_path = tmp_path / "calls.vcf"
  variants_path.write_text(
    "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    f"chr1\t50\tv1\t{record[49]}\t{'A' if record[49] != 'A' else 'C'}\t.\tPASS\t.\n"
    f"chr1\t90\tv2\t{record[89]}\t<DEL>\t.\tPASS\t.\n"  # not scorable: counted in the warning, on stderr
  )
  common = ("variants", "--model=tiny", f"--fasta={fasta_path}", f"--variants={variants_path}")
  result = _cli(release_root, *common, "--out=-", "--format=vcf")
  assert result.returncode == 0, result.stderr[-3000:]
  lines = result.stdout.splitlines()
  assert lines[0] == "##fileformat=VCFv4.2" and all(line.startswith("#") or line.startswith("chr1\t") for line in lines)
  body = [line.split("\t") for line in lines if not line.startswith("#")]
  assert [fields[2] for fields in body] == ["v1", "v2"]
  want = model.score_variants(record, [(50, record[49], body[0][4])])[0]
  info = dict(item.split("=") for item in body[0][7].split(";") if "=" in item)
  np.testing.assert_allclose(float(info["GT_LLR"]), want, rtol=0, atol=1e-5)
  assert "GT_LLR" not in body[1][7]
  assert "1 of 2 alleles not scored" in result.stderr and "alleles not scored" not in result.stdout

  tsv = _cli(release_root, *common)  # no --format: stdout stays TSV
  assert tsv.returncode == 0 and tsv.stdout.splitlines()[0] == "chrom\tpos\tid\tref\talt\tllr"
  result = _cli(release_root, *common, f"--out={tmp_path / 'x.tsv'}", "--format=vcf")
  assert result.returncode == 1 and "--format=vcf and --out=" in result.stderr and "disagree" in result.stderr
  result = _cli(release_root, *common, "--format=bedgraph")
  assert result.returncode == 1 and result.stderr.strip().endswith("`variants` --out writes tsv or vcf.")
