# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Pretrained genome language models: load a release or an export; score, embed, generate.

  from genome_transformer.release import pretrained
  model = pretrained.load("bacteria")              # a genome's recommended release, a release, an export
  model.bits_per_base("ATGAAACGCATTAGCACCACC")     # bits per base of a sequence
  model.log_likelihood(["ACGT...", "GGC..."])      # per-base natural-log probabilities
  model.score_variants(seq, [(101, "A", "G"), (230, "CT", "C")], both_strands=True)
  model.embed(seqs, pool="mean")                   # [N, D] embeddings
  model.generate("ATG", 300, temperature=0.8, top_k=3, seed=1)
  model.classify(seqs)                             # [N, K] class probabilities (a fine-tuned export)

The command line for all of these is `python -m genome_transformer.pretrained` (release/pretrained_cli.py).

Conventions (the README and MODEL_CARD quote them):

* Sequences are str or bytes (A C G T U N and the IUPAC codes, any case: the tokenizer's
  policy, so IUPAC codes read as N) or uint8 token arrays with ids 0..4. Several sequences are
  a list (items named `seqs[i]` in errors), a {name: sequence} mapping, or a FASTA path (a str
  with '.', '/' or '~', or a pathlib.Path; `read_fasta` reads it): its records, in file order,
  as a mapping would give them. A call that takes one sequence refuses a path. An empty sequence or
  an illegal character is an error naming the sequence (and the 1-based position).
* `log_likelihood(seq)[t] = ln p(base t | bases before t)`, natural log, one entry per base.
  By default "bases before t" are at most the model's training window W (data.window_length):
  a longer sequence is scored in half-overlapping windows of W, as the trainer scores its
  held-out splits, because absolute positions past W were never seen in training (`context=`
  sets another window, `context=None` runs one recurrence over everything before t; see
  log_likelihood). The models have no begin-of-sequence token (they were trained on windows cut
  from chromosomes, the first base of a window only ever being context), so position 0 is
  conditioned on nothing and is NaN. Positions whose base is not A/C/G/T (N, IUPAC codes) are
  NaN too, as the training loss never scores them. `bits_per_base` is -mean(finite entries) /
  ln 2, the figure the trainer reports for its held-out splits.
* Variants are (pos, ref, alt) with `pos` 1-based, as in VCF: the alt sequence replaces
  seq[pos-1 : pos-1+len(ref)] by alt. SNVs, MNVs and indels, VCF-style with an anchor base
  (pos 10, "A" -> "AT") or without one ("" or "-" is an empty allele: pos 10, "-" -> "T" inserts
  before base 10). The score is the log-likelihood ratio ln p(alt region) - ln p(ref region) in
  nats, each the sum of `log_likelihood(region, context=context)`: the same scoring protocol and
  the same default (context=0: half-overlapping windows of the training window W) as
  log_likelihood and bits_per_base. The region is [pos-1-window, pos-1+len(ref)+window) clipped
  to the sequence, the same in ref and alt: by default (window=0) W bases each side, which holds
  every base whose windowed score can see the variant; window=None is the whole sequence. The
  command line has the same defaults. A change of the first base of the region is scored only
  through its effect on the later bases, since position 0 is unscored. `both_strands=True`
  averages the forward score with the same score on the reverse complements of both regions.
* `embed` returns the last layer's output (before the head) at each base: h[t] has seen bases
  0..t. pool="mean" averages over the bases, "last" takes h[L-1] (the only one that has seen the
  whole sequence), None returns all of them [L, D].
* `generate` feeds the prompt through the recurrence (whole chunks, then single steps), then
  samples one base at a time among A C G T only (N, PAD, BOS and EOS are never produced), from the
  carried state: time and memory per token do not grow with the context. The prompt must hold at
  least one base (no begin-of-sequence token to start from). temperature=0 is greedy decoding.
  The sample at position t draws from fold_in(PRNGKey(seed), t): a seed gives one sequence.
* Any length is scored, in windows of W or by the chunked recurrence: memory flat in length.
  Windows are compiled once per power-of-two number of them per call. Whole sequences (up to W
  bases, or any length with context=None) are compiled once per length bucket: they are padded
  with PAD to a power of two up to the chunk size, then to a power-of-two number of chunks up
  to 8, then to 8 buckets per doubling (at most 1/8 of padding); padding follows the end, and
  causality keeps it from changing anything before it.
* FAVOR+ models draw their random features from a fixed key, the trainer's evaluation key
  (split(PRNGKey(config.seed), 3)[2]), so results are deterministic and match the held-out
  figures in the export's metadata.
* Softmax-attention models (the baseline) have no recurrence: log_likelihood and embed use the
  whole-sequence forward (memory quadratic in length; in W when scored in windows) and generate
  recomputes the forward over the whole context for every token (time per token grows with the
  context).

Releases: `load(NAME)` looks for `NAME/export.json` in each directory of
$GENOME_TRANSFORMER_PRETRAINED (os.pathsep-separated), then `pretrained/` at the root of a
source checkout (next to the package directory; a wheel does not carry them). `list_releases()`
lists the names found. `load("bacteria")` and `load("human")` load the recommended release of
each genome (`RECOMMENDED`; `python -m genome_transformer.pretrained list` says which).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import math
import os
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from genome_transformer import config_lib
from genome_transformer.evaluation import heldout
from genome_transformer.genomics import fasta, tokenizer
from genome_transformer.model import generation, inference
from genome_transformer.model import performer as model_lib
from genome_transformer.release import export as export_lib
from genome_transformer.training import export_reader

# Finding releases by name is the export reader's (the trainer's config.init_from takes names too).
RELEASES_ENV = export_reader.RELEASES_ENV
ReleaseNotFoundError = export_reader.ReleaseNotFoundError
release_dirs = export_reader.release_dirs
list_releases = export_reader.list_releases
resolve = export_reader.resolve
release_name = export_reader.release_name
RECOMMENDED = export_reader.RECOMMENDED
POOLS = ("mean", "last", None)
MIN_BUCKET = 16  # Shortest padded length: tiny inputs share one compilation.
BUCKETS_PER_OCTAVE = 8  # Length buckets per doubling of the number of chunks (see bucket_length).
DEFAULT_BATCH_SIZE = 8  # Sequences per compiled call (same length bucket).
DEFAULT_MAX_BATCH_TOKENS = 1 << 20  # Caps batch x padded length per call.
GENERATE_BLOCK = 128  # Tokens sampled per compiled decoding call.


class PretrainedInputError(tokenizer.GenomeInputError):
  """Bad input to a pretrained model: the message names the sequence or variant."""


class Variant(NamedTuple):
  """A sequence variant: `pos` 1-based (VCF), `ref` replaced by `alt`; "" or "-" = empty allele."""

  pos: int
  ref: str
  alt: str
  id: Optional[str] = None


# ----------------------------------------------------------------------------------------------
# Finding and loading releases.


def load(path_or_name: str, *, dtype: Any = jnp.float32, verify: bool = True) -> PretrainedModel:
  """Loads a bundled release by name or alias (`bacteria`, `human`), or an export directory.

  See the module docstring. An alias's model is named by its release, which outputs record.
  """
  path = resolve(path_or_name)
  name = os.fspath(path_or_name)
  return PretrainedModel(export_lib.load_export(path, dtype=dtype, verify=verify), name=release_name(name))


# ----------------------------------------------------------------------------------------------
# Input handling.


def _next_pow2(n: int) -> int:
  return 1 << max(0, int(n) - 1).bit_length()


def bucket_length(length: int, chunk_size: int) -> int:
  """Padded length of a sequence: a power of two up to the chunk, then whole chunks in buckets.

  Up to 8 chunks the number of chunks is a power of two; beyond, it is rounded up to a multiple
  of 1/8 of the largest power of two not above it, so padding adds at most 1/8 to a long
  sequence's memory while the number of distinct compilations grows only by 8 per doubling.
  """
  if length <= chunk_size:
    return min(chunk_size, max(MIN_BUCKET, _next_pow2(length)))
  num_chunks = -(-length // chunk_size)
  if num_chunks <= BUCKETS_PER_OCTAVE:
    return chunk_size * _next_pow2(num_chunks)
  step = (1 << (num_chunks.bit_length() - 1)) // BUCKETS_PER_OCTAVE
  return chunk_size * (-(-num_chunks // step) * step)


# Characters of a file path that no sequence holds: a str with one of them (and no whitespace) is a path.
_PATH_CHARACTERS = frozenset("./\\~")


def fasta_path(value: Any) -> Optional[str]:
  """`value` as a FASTA path if it is one (an os.PathLike, or a str that reads as a path), else None.

  A str of letters is always a sequence, even if a file of that name exists: a sequence is never
  mistaken for a file. A path-like str that names no file is an error rather than a sequence, since
  the tokenizer would only say that '.' or '/' is no base.
  """
  if isinstance(value, os.PathLike):
    return os.fspath(value)
  if not isinstance(value, str) or not _PATH_CHARACTERS.intersection(value) or any(c.isspace() for c in value):
    return None
  try:
    fasta.check_path(os.path.expanduser(value))
  except fasta.FastaFormatError as error:
    raise PretrainedInputError(
      f"{value!r} reads as a FASTA path (it holds '.', '/', '\\' or '~'), but: {error} A sequence is a str of "
      "bases only."
    ) from None
  return value


def read_fasta(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """{record name: uint8 tokens} of a FASTA file (plain or gzipped), validated by the package's reader.

  Every API call taking sequences takes the result, and also the path itself
  (`model.bits_per_base("my.fa")`: one result per record, in file order).
  """
  path = os.path.expanduser(os.fspath(path))
  with fasta.open_fasta(path) as fa:
    return {record.name: fa.fetch(record.name) for record in fa.records}


def encode_sequence(seq: Any, name: str) -> np.ndarray:
  """uint8 token ids of one sequence (str, bytes or ids 0..4); errors name `name`."""
  path = fasta_path(seq)
  if path is not None:
    raise PretrainedInputError(
      f"{name}: {path!r} is a FASTA file; this takes one sequence, not a file: pass one of its records, "
      f"e.g. pretrained.read_fasta({path!r})[NAME]."
    )
  if isinstance(seq, np.ndarray) and seq.dtype.kind in "iu":
    tokens_L = seq.reshape(-1)
    if tokens_L.size and (tokens_L.min() < 0 or tokens_L.max() > tokenizer.N_ID):
      bad = int(np.flatnonzero((tokens_L < 0) | (tokens_L > tokenizer.N_ID))[0])
      raise PretrainedInputError(
        f"{name}: token id {int(tokens_L[bad])} at position {bad + 1:,} (1-based) is not a "
        f"base or N (ids 0..{tokenizer.N_ID}); PAD, BOS and EOS are not sequence."
      )
    tokens_L = tokens_L.astype(np.uint8)
  elif isinstance(seq, (str, bytes, bytearray, np.ndarray)):
    tokens_L = tokenizer.encode(seq, source="input", record=name)
  else:
    raise PretrainedInputError(
      f"{name}: a sequence is a str, bytes or an array of token ids, got {type(seq).__name__}."
    )
  if tokens_L.size == 0:
    raise PretrainedInputError(f"{name}: the sequence is empty; give at least one base.")
  return tokens_L


def _named_sequences(seqs: Any) -> tuple[list[tuple[str, np.ndarray]], bool]:
  """([(name, tokens)], whether a single sequence was given); a FASTA path gives its records."""
  path = fasta_path(seqs)
  if path is not None:
    records = read_fasta(path)
    if not records:
      raise PretrainedInputError(f"{path}: no FASTA records.")
    return [(name, encode_sequence(tokens, f"{path}: record {name!r}")) for name, tokens in records.items()], False
  if isinstance(seqs, (str, bytes, bytearray)) or (isinstance(seqs, np.ndarray) and seqs.ndim <= 1):
    return [("sequence", encode_sequence(seqs, "sequence"))], True
  if isinstance(seqs, Mapping):
    items = [(str(k), v) for k, v in seqs.items()]
  elif isinstance(seqs, (Sequence, np.ndarray)) or hasattr(seqs, "__iter__"):
    items = [(f"seqs[{i}]", v) for i, v in enumerate(seqs)]
  else:
    raise PretrainedInputError(
      f"sequences must be a str, a list of them or a {{name: sequence}} mapping, got {type(seqs).__name__}."
    )
  if not items:
    raise PretrainedInputError("no sequences given (an empty list).")
  return [(name, encode_sequence(v, name)) for name, v in items], False


def _allele(value: Any, what: str, label: str) -> np.ndarray:
  if not isinstance(value, str):
    raise PretrainedInputError(f"{label}: {what} allele must be a str of bases, got {value!r}.")
  text = value.strip()
  if text in ("", "-"):
    return np.zeros(0, np.uint8)
  if text == "." or text.startswith("<") or text == "*":
    raise PretrainedInputError(
      f"{label}: {what} allele {value!r} is not a sequence: only SNVs, MNVs and small "
      "indels with explicit alleles can be scored (use '-' or '' for an empty allele)."
    )
  return tokenizer.encode(text, source="variant", record=label)


def _variant_fields(variant: Any, index: int) -> tuple[Any, Any, Any, str]:
  if isinstance(variant, Mapping):
    pos, ref, alt, vid = variant.get("pos"), variant.get("ref"), variant.get("alt"), variant.get("id")
  elif hasattr(variant, "pos") and hasattr(variant, "ref") and hasattr(variant, "alt"):
    pos, ref, alt, vid = variant.pos, variant.ref, variant.alt, getattr(variant, "id", None)
  elif isinstance(variant, (tuple, list)) and len(variant) in (3, 4):
    pos, ref, alt = variant[:3]
    vid = variant[3] if len(variant) == 4 else None
  else:
    raise PretrainedInputError(f"variant {index}: expected (pos, ref, alt) with pos 1-based, got {variant!r}.")
  label = f"variant {vid if vid else index} (pos {pos}, {ref!r}>{alt!r})"
  return pos, ref, alt, label


def parse_variant(
  variant: Any, index: int, tokens_L: np.ndarray, seq_name: str = "the sequence"
) -> tuple[int, np.ndarray, np.ndarray, str]:
  """(0-based start, ref ids, alt ids, label), checked against the sequence; errors name the variant."""
  pos, ref, alt, label = _variant_fields(variant, index)
  if not _is_int(pos):
    raise PretrainedInputError(f"{label}: pos must be an integer (1-based, as in VCF), got {pos!r}.")
  pos = int(pos)
  ref_ids, alt_ids = _allele(ref, "ref", label), _allele(alt, "alt", label)
  if not ref_ids.size and not alt_ids.size:
    raise PretrainedInputError(f"{label}: ref and alt are both empty; nothing changes.")
  length = len(tokens_L)
  start = pos - 1
  last_pos = length if ref_ids.size else length + 1  # An insertion may go after the last base.
  if pos < 1 or start + len(ref_ids) > length or pos > last_pos:
    raise PretrainedInputError(
      f"{label}: lies outside {seq_name}, which has {length:,} bases (positions 1..{length:,}, 1-based as in VCF)."
    )
  held = tokens_L[start : start + len(ref_ids)]
  if not np.array_equal(held, ref_ids):
    raise PretrainedInputError(
      f"{label}: ref {ref!r} does not match {seq_name}, which holds {tokenizer.decode(held)!r} at "
      f"{pos:,}..{pos + len(ref_ids) - 1:,} (1-based). Check the reference sequence and that positions are "
      "1-based as in VCF."
    )
  return start, ref_ids, alt_ids, label


# ----------------------------------------------------------------------------------------------
# The model.


class PretrainedModel:
  """A loaded export: the model, its parameters on the default device, and its metadata."""

  def __init__(self, exported: export_lib.Export, name: str = ""):
    self.name = name or exported.path
    self.path = exported.path
    self.config: ml_collections.ConfigDict = exported.config
    self.model_config: config_lib.ModelConfig = exported.model_config
    self.metadata: dict = exported.metadata
    self.tokenizer_spec: dict = exported.tokenizer_spec
    self.stored_dtype = exported.stored_dtype
    _check_tokenizer(exported.tokenizer_spec, exported.path)
    self.model = model_lib.SLiMPerformer(exported.model_config)
    self.params = jax.device_put(exported.params)
    self.recurrent = exported.model_config.attention == "linear"
    eval_config = exported.config.get("eval", {})
    self.chunk_size = int(eval_config.get("chunk_size", 0) or 1024)
    self.window_length = int(exported.config.get("data", {}).get("window_length", 0) or self.chunk_size)
    favor = self.recurrent and exported.model_config.feature_map == "favor+"
    # The trainer's evaluation key: split(PRNGKey(seed), 3) = (init, step, eval).
    seed_key = jax.random.PRNGKey(int(exported.config.get("seed", 0)))
    self.features_rng = jax.random.split(seed_key, 3)[2] if favor else None
    self.max_batch_tokens = DEFAULT_MAX_BATCH_TOKENS

  def __repr__(self) -> str:
    m = self.model_config
    return (
      f"PretrainedModel({self.name!r}: {m.attention} attention, {m.num_layers} layers, D={m.d_model}, "
      f"{self.num_params:,} parameters, stored {self.stored_dtype})"
    )

  @property
  def num_params(self) -> int:
    return int(sum(x.size for x in jax.tree.leaves(self.params)))

  @property
  def d_model(self) -> int:
    return int(self.model_config.d_model)

  def _chunk(self, chunk_size: Optional[int]) -> int:
    chunk = self.chunk_size if chunk_size is None else chunk_size
    if not _is_int(chunk) or chunk < 1:
      raise PretrainedInputError(f"chunk_size={chunk_size!r} must be a positive integer.")
    return int(chunk)

  def _context(self, context: Optional[int]) -> Optional[int]:
    """The scoring context W in bases (0: the training window), or None: unbounded."""
    if context is None:
      return None
    if not _is_int(context) or context == 1 or context < 0:
      raise PretrainedInputError(
        f"context={context!r} must be 0 (the training window, {self.window_length} "
        "bases), a number of bases >= 2, or None (unbounded)."
      )
    return int(context) or self.window_length

  def _batches(self, token_lists: list[np.ndarray], chunk: int, batch_size: int, indices: Optional[list[int]] = None):
    """Yields (indices, padded tokens int32 [B, Lb]) grouping sequences of one length bucket.

    `indices` restricts the batches to those items of token_lists (default: all).
    """
    _check_batch_size(batch_size)
    buckets: dict[int, list[int]] = {}
    for i in range(len(token_lists)) if indices is None else indices:
      buckets.setdefault(bucket_length(len(token_lists[i]), chunk), []).append(i)
    for length, indices in sorted(buckets.items()):
      per_call = max(1, min(int(batch_size), self.max_batch_tokens // length))
      for begin in range(0, len(indices), per_call):
        part = indices[begin : begin + per_call]
        rows = min(per_call, _next_pow2(len(part)))  # Few distinct batch shapes: few compilations.
        tokens_BL = np.full((rows, length), tokenizer.PAD_ID, np.int32)
        for row, i in enumerate(part):
          tokens_BL[row, : len(token_lists[i])] = token_lists[i]
        yield part, tokens_BL

  # -- Scoring -----------------------------------------------------------------------------------

  def _log_likelihoods(
    self,
    token_lists: list[np.ndarray],
    chunk_size: Optional[int] = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    context: Optional[int] = None,
  ) -> list[np.ndarray]:
    """Per-base ln p of each sequence; `context` None: one recurrence, else windows of `context`."""
    chunk = self._chunk(chunk_size)
    _check_batch_size(batch_size)
    results: list[Optional[np.ndarray]] = [None] * len(token_lists)
    # A sequence that fits in one window is the windowed protocol's first window: scored whole,
    # batched with others of its length bucket.
    fits = [context is None or len(t) <= context for t in token_lists]
    for i in (i for i, fit in enumerate(fits) if not fit):
      windows_per_call = max(1, min(int(batch_size), self.max_batch_tokens // context))
      results[i] = inference.windowed_log_likelihood(
        self.model, self.params, token_lists[i], context, chunk, batch_size=windows_per_call, rng=self.features_rng
      )
    for indices, tokens_BL in self._batches(token_lists, chunk, batch_size, [i for i, fit in enumerate(fits) if fit]):
      logp_BL = np.asarray(
        inference.chunked_log_likelihood_jit(
          self.model, self.params, jnp.asarray(tokens_BL), min(chunk, tokens_BL.shape[1]), self.features_rng
        )
      )
      for row, i in enumerate(indices):
        tokens_L = token_lists[i]
        out_L = logp_BL[row, : len(tokens_L)].astype(np.float32)
        out_L[tokens_L >= tokenizer.NUM_BASES] = np.nan
        results[i] = out_L
    return results  # type: ignore[return-value]

  def log_likelihood(
    self,
    seqs: Any,
    *,
    context: Optional[int] = 0,
    chunk_size: Optional[int] = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
  ) -> np.ndarray | list[np.ndarray]:
    """Per-base ln p(base t | bases before it) (float32, NaN at position 0 and at non-ACGT bases).

    One array for one sequence, a list for a list or mapping. Any length. `context` is how many
    bases before each base it sees:
    * 0 (default): the model's training window W (`window_length`, the config's
      data.window_length), as the trainer scores its held-out splits. Positions are absolute and
      the model never saw one past W in training, so a longer sequence is scored in
      half-overlapping windows of W, each from position 0 (inference.windowed_log_likelihood):
      each base after the first W sees between W - W//2 and W - 1 bases before it. One
      recurrence over a long sequence costs more: 1.9639 against 1.9532 bits per base on
      bacteria4's test split (655 kb in 5 regions, W = 1024) for the bundled bacteria4-slim.
    * an int >= 2: the same windows, of that many bases.
    * None: every base before it, in one recurrence from position 0 (memory flat in length for
      a linear model, quadratic for softmax).
    A sequence of at most `context` bases is scored the same way by all three. The recurrence
    runs in chunks of `chunk_size` (default: the training config's eval.chunk_size), which
    changes only round-off. `batch_size` sequences, or windows of one sequence, per call.
    """
    named, single = _named_sequences(seqs)
    out = self._log_likelihoods([t for _, t in named], chunk_size, batch_size, self._context(context))
    return out[0] if single else out

  def bits_per_base(
    self,
    seqs: Any,
    *,
    context: Optional[int] = 0,
    chunk_size: Optional[int] = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
  ) -> float | list[float]:
    """-mean ln p / ln 2 over the scored bases (NaN if a sequence has none: one base, or all N).

    `context` as in log_likelihood: by default the training window, the trainer's protocol.
    """
    named, single = _named_sequences(seqs)
    values = [
      heldout.bits_per_base(*heldout.scored_log_likelihood(logp_L))
      for logp_L in self._log_likelihoods([t for _, t in named], chunk_size, batch_size, self._context(context))
    ]
    return values[0] if single else values

  def variant_scores_by_strand(
    self,
    seq: Any,
    variants: Sequence[Any],
    *,
    both_strands: bool = False,
    window: Optional[int] = 0,
    context: Optional[int] = 0,
    chunk_size: Optional[int] = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    seq_name: str = "the sequence",
  ) -> np.ndarray:
    """Log-likelihood ratios [V, 1] (forward) or [V, 2] (forward, reverse complement), in nats.

    `window` bases each side of the variant (0: the training window W; None: the whole sequence),
    each region scored by log_likelihood with `context` (0: windows of W; see the module docstring).
    """
    if window is not None and (not _is_int(window) or window < 0):
      raise PretrainedInputError(
        f"window={window!r} must be 0 (the training window, {self.window_length} bases each side), a number of "
        "bases >= 1, or None (the whole sequence)."
      )
    window = None if window is None else int(window) or self.window_length
    context = self._context(context)
    tokens_L = encode_sequence(seq, seq_name)
    if isinstance(variants, (str, bytes, Mapping)) or not hasattr(variants, "__iter__"):
      raise PretrainedInputError(
        f"variants must be a list of (pos, ref, alt) with pos 1-based, got {type(variants).__name__}."
      )
    variants = list(variants)
    parsed = [parse_variant(v, i, tokens_L, seq_name) for i, v in enumerate(variants)]
    if not parsed:
      return np.zeros((0, 2 if both_strands else 1))

    # Distinct sequences to score: ref regions are shared (one when window is None).
    to_score: list[np.ndarray] = []
    ref_index: dict[tuple[int, int], int] = {}
    pairs = []
    for start, ref_ids, alt_ids, _ in parsed:
      lo, hi = (
        (0, len(tokens_L))
        if window is None
        else (max(0, start - window), min(len(tokens_L), start + len(ref_ids) + window))
      )
      if (lo, hi) not in ref_index:
        ref_index[(lo, hi)] = len(to_score)
        to_score.append(tokens_L[lo:hi])
      alt_region = np.concatenate([tokens_L[lo:start], alt_ids, tokens_L[start + len(ref_ids) : hi]]).astype(np.uint8)
      pairs.append((ref_index[(lo, hi)], len(to_score)))
      to_score.append(alt_region)

    strands = [to_score]
    if both_strands:
      strands.append([tokenizer.reverse_complement(t) for t in to_score])
    scores = np.zeros((len(parsed), len(strands)))
    for s, sequences in enumerate(strands):
      nonempty = [i for i, t in enumerate(sequences) if len(t)]
      totals = np.zeros(len(sequences))
      logps = self._log_likelihoods([sequences[i] for i in nonempty], chunk_size, batch_size, context)
      for i, logp_L in zip(nonempty, logps):
        totals[i] = heldout.scored_log_likelihood(logp_L)[0]
      for v, (r, a) in enumerate(pairs):
        scores[v, s] = totals[a] - totals[r]
    return scores

  def score_variants(
    self,
    seq: Any,
    variants: Sequence[Any],
    *,
    both_strands: bool = False,
    window: Optional[int] = 0,
    context: Optional[int] = 0,
    chunk_size: Optional[int] = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
  ) -> np.ndarray:
    """ln p(alt) - ln p(ref) per variant [V] (float64, nats); see the module docstring."""
    return self.variant_scores_by_strand(
      seq,
      variants,
      both_strands=both_strands,
      window=window,
      context=context,
      chunk_size=chunk_size,
      batch_size=batch_size,
    ).mean(axis=1)

  # -- Embeddings --------------------------------------------------------------------------------

  def embed(
    self,
    seqs: Any,
    pool: Optional[str] = "mean",
    *,
    chunk_size: Optional[int] = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
  ) -> np.ndarray | list[np.ndarray]:
    """Last-layer hidden states: [L, D] per sequence (pool=None), or pooled [D] / [N, D]."""
    if pool not in POOLS:
      raise PretrainedInputError(f"pool={pool!r} must be one of 'mean', 'last' or None.")
    named, single = _named_sequences(seqs)
    token_lists = [t for _, t in named]
    chunk = self._chunk(chunk_size)
    results: list[Optional[np.ndarray]] = [None] * len(token_lists)
    for indices, tokens_BL in self._batches(token_lists, chunk, batch_size):
      lengths_B = np.ones(tokens_BL.shape[0], np.int32)
      lengths_B[: len(indices)] = [len(token_lists[i]) for i in indices]
      out = np.asarray(
        inference.hidden_states_jit(
          self.model,
          self.params,
          jnp.asarray(tokens_BL),
          jnp.asarray(lengths_B),
          min(chunk, tokens_BL.shape[1]),
          self.features_rng,
          pool,
        ),
        np.float32,
      )
      for row, i in enumerate(indices):
        results[i] = out[row, : len(token_lists[i])] if pool is None else out[row]
    if single:
      return results[0]  # type: ignore[return-value]
    return results if pool is None else np.stack(results)  # type: ignore[return-value]

  def classify(
    self, seqs: Any, *, chunk_size: Optional[int] = None, batch_size: int = DEFAULT_BATCH_SIZE
  ) -> np.ndarray:
    """Class probabilities of a fine-tuned export: [K] for one sequence, [N, K] for several (order: `classes`)."""
    head = self.metadata.get("classifier")
    if not head:
      raise PretrainedInputError(
        f"{self.name} has no classification head; fine-tune it first (python -m genome_transformer.finetune)."
      )
    named, single = _named_sequences(seqs)
    kernel_DK, bias_K = np.asarray(head["kernel"], np.float32), np.asarray(head["bias"], np.float32)

    def features(token_lists):
      return np.stack(self.embed(token_lists, pool=head["pool"], chunk_size=chunk_size, batch_size=batch_size))

    def probabilities(h_ND):
      logits_NK = h_ND @ kernel_DK + bias_K
      e_NK = np.exp(logits_NK - logits_NK.max(axis=1, keepdims=True))
      return e_NK / e_NK.sum(axis=1, keepdims=True)

    forward = [t for _, t in named]
    reverse = [tokenizer.reverse_complement(t) for t in forward]
    if head.get("both_strands"):
      probs_NK = probabilities(0.5 * (features(forward) + features(reverse)))
    else:
      probs_NK = probabilities(features(forward))
      if head.get("rc_average"):
        probs_NK = 0.5 * (probs_NK + probabilities(features(reverse)))
    return probs_NK[0] if single else probs_NK

  @property
  def classes(self) -> list[str]:
    """The labels of `classify`'s columns (empty for a model without a classification head)."""
    return list((self.metadata.get("classifier") or {}).get("classes", []))

  # -- Generation --------------------------------------------------------------------------------

  def _prefill(self, tokens_P: np.ndarray, chunk_size: Optional[int] = None):
    """Per-layer states after consuming tokens_P (any length >= 0) through the recurrence."""
    chunk = self._chunk(chunk_size)
    num_chunks, num_tail = divmod(len(tokens_P), chunk)
    chunks_NC = np.full((_next_pow2(num_chunks) if num_chunks else 0, chunk), tokenizer.PAD_ID, np.int32)
    chunks_NC[:num_chunks] = tokens_P[: num_chunks * chunk].reshape(num_chunks, chunk)
    tail_T = np.full(chunk, tokenizer.PAD_ID, np.int32)
    tail_T[:num_tail] = tokens_P[num_chunks * chunk :]
    return generation.prefill_jit(
      self.model, self.params, jnp.asarray(chunks_NC), num_chunks, jnp.asarray(tail_T), num_tail, self.features_rng
    )

  def next_token_logits(self, prompt: Any, *, chunk_size: Optional[int] = None) -> np.ndarray:
    """Logits [V] of the token after `prompt`, from the recurrent state (what generate samples from)."""
    tokens_P = encode_sequence(prompt, "prompt").astype(np.int32)
    if not self.recurrent:
      padded = np.full(bucket_length(len(tokens_P), self._chunk(chunk_size)), tokenizer.PAD_ID, np.int32)
      padded[: len(tokens_P)] = tokens_P
      return np.asarray(
        generation.full_logits_at_jit(
          self.model, self.params, jnp.asarray(padded), len(tokens_P) - 1, self.features_rng
        )
      )
    states = self._prefill(tokens_P[:-1], chunk_size)
    logits_V, _ = generation.step_logits_jit(
      self.model, self.params, states, jnp.asarray(tokens_P[-1]), len(tokens_P) - 1, self.features_rng
    )
    return np.asarray(logits_V)

  def generate(
    self,
    prompt: Any,
    n: int,
    *,
    temperature: float = 1.0,
    top_k: Optional[int] = None,
    seed: int = 0,
    chunk_size: Optional[int] = None,
  ) -> str:
    """The n bases (A C G T) sampled after `prompt`; see the module docstring."""
    tokens_P = encode_sequence(prompt, "prompt").astype(np.int32)
    if not _is_int(n) or n < 0:
      raise PretrainedInputError(f"n={n!r} must be a number of bases >= 0.")
    if not isinstance(temperature, (int, float, np.floating)) or not math.isfinite(temperature) or temperature < 0:
      raise PretrainedInputError(f"temperature={temperature!r} must be a finite number >= 0 (0: greedy).")
    if top_k is not None and (not _is_int(top_k) or not 1 <= top_k <= tokenizer.NUM_BASES):
      raise PretrainedInputError(f"top_k={top_k!r} must be None or 1..{tokenizer.NUM_BASES} (bases A C G T).")
    if not _is_int(seed):
      raise PretrainedInputError(f"seed={seed!r} must be an integer.")
    if n == 0:
      return ""
    if temperature == 0:
      temperature, top_k = 1.0, 1  # Greedy: only the most likely base survives the top-k mask.
    top_k = tokenizer.NUM_BASES if top_k is None else int(top_k)
    key = jax.random.PRNGKey(int(seed))
    temperature_arr, top_k_arr = jnp.float32(temperature), jnp.int32(top_k)
    if not self.recurrent:
      return self._generate_full_forward(tokens_P, int(n), key, temperature_arr, top_k_arr, chunk_size)
    states = self._prefill(tokens_P[:-1], chunk_size)
    token, position = jnp.asarray(tokens_P[-1], jnp.int32), jnp.int32(len(tokens_P) - 1)
    pieces = []
    for _ in range(-(-int(n) // GENERATE_BLOCK)):
      states, token, position, tokens_T = generation.sample_block_jit(
        self.model,
        GENERATE_BLOCK,
        self.params,
        states,
        token,
        position,
        key,
        temperature_arr,
        top_k_arr,
        self.features_rng,
      )
      pieces.append(np.asarray(tokens_T))
    return tokenizer.decode(np.concatenate(pieces)[:n].astype(np.uint8))

  def _generate_full_forward(self, tokens_P, n, key, temperature, top_k, chunk_size) -> str:
    """Softmax attention has no recurrent state: each token reruns the forward over the context."""
    total = len(tokens_P) + n
    buffer_L = np.full(bucket_length(total, self._chunk(chunk_size)), tokenizer.PAD_ID, np.int32)
    buffer_L[: len(tokens_P)] = tokens_P
    for position in range(len(tokens_P) - 1, total - 1):
      logits_V = generation.full_logits_at_jit(
        self.model, self.params, jnp.asarray(buffer_L), position, self.features_rng
      )
      buffer_L[position + 1] = int(
        generation.sample_jit(logits_V, jax.random.fold_in(key, position), temperature, top_k)
      )
    return tokenizer.decode(buffer_L[len(tokens_P) : total].astype(np.uint8))


def _is_int(value: Any) -> bool:
  """Whether `value` is an integer (Python or NumPy); bool is not, though Python makes it one."""
  return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_batch_size(batch_size: Any) -> None:
  if not _is_int(batch_size) or batch_size < 1:
    raise PretrainedInputError(f"batch_size={batch_size!r} must be a positive integer.")


def _check_tokenizer(spec: dict, path: str) -> None:
  current = tokenizer.spec()
  for field in ("vocab", "vocab_size", "pad_id", "bos_id", "eos_id", "n_id"):
    if spec.get(field) != current[field]:
      raise export_lib.ExportError(
        f"Export {path} was made with another tokenizer: {field}={spec.get(field)!r}, this genome-transformer "
        f"has {current[field]!r}. Use the genome-transformer version that made it "
        f"({spec.get('version')!r} tokenizer)."
      )
