# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Probes of what a genome model does with its context (docs/model.md, the context sweep): recall, adaptation, regions.

Every probe takes a `Scorer`, so the same probe runs on a SLiM model, its softmax twin and the
adaptive Markov baseline. A scorer maps a 1-D token array (tokenizer ids, A=0 C=1 G=2 T=3 N=4) to
per-position bits, `bits[t] = -log2 p(token t | the tokens before t)`, NaN where nothing is scored
(position 0, N): `pretrained.log_likelihood`'s convention in bits. `context` is the longest
sequence it scores as one context (None: any length, e.g. the adaptive Markov model); a model
scorer cuts a longer sequence into the half-overlapping windows of held-out scoring
(`inference.windowed_log_likelihood`). The recall and adaptation probes need one context per
scored sequence, so they refuse a window longer than the scorer's context instead of letting it
be cut into pieces; distances and positions that do not fit in the window are reported as
`beyond_window`, never dropped.

* `recall_probe`: how many bits per base an exact earlier copy saves. From each of several
  windows of held-out sequence, the last `segment_length` bases are the segment; a copy of it is
  planted (overwriting) so that it ends `d` bases before the segment starts, so each segment base
  has its copy d + segment_length bases back. Bits per base on the segment with the copy minus
  without it (the same window, unchanged) is what the copy saved. Overwriting, not inserting,
  keeps the segment at the same position with the same amount of context in both.
* `adaptation_probe`: bits per base by position in long windows, in buckets [0, 1k), [1k, 4k),
  [4k, 16k), [16k, 64k): on a genome the model never saw, falling bits per base along the
  window mean it learns the organism from its context, as an adaptive Markov model does.
* `region_probe`: bits per base on soft-masked (lowercase: repeats) against unique (uppercase)
  bases, with the soft mask the FASTA reader keeps (`input_pipeline.heldout_sequences(...,
  with_mask=True)`, `tokenizer.encode_with_mask`). A FASTA without soft-masking (the offline
  human chrX, smalt-chrX, is all uppercase) can be split by `kmer_repeat_mask` instead: bases
  covered by a k-mer that occurs more than once in the genome, which is what a compressor exploits.

Figures are pooled: the sum of the bits of every scored base over their number, in float64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
from typing import Any, Optional

import numpy as np

from genome_transformer.evaluation import baselines, heldout
from genome_transformer.genomics import tokenizer
from genome_transformer.model import inference

DEFAULT_DISTANCES = (100, 1_000, 10_000, 100_000)
DEFAULT_SEGMENT_LENGTH = 200
DEFAULT_BUCKETS = ((0, 1_024), (1_024, 4_096), (4_096, 16_384), (16_384, 65_536))
BEYOND_WINDOW = "beyond_window"


@dataclasses.dataclass(frozen=True)
class Scorer:
  """`bits(tokens_L) -> bits_L` (float64, NaN where unscored); one context up to `context` bases."""

  name: str
  bits: Callable[[np.ndarray], np.ndarray]
  context: Optional[int]  # None: any length in one context.


def model_scorer(
  name: str, model, params, *, context: int, chunk_size: int, rng: Any = None, batch_size: int = 8
) -> Scorer:
  """A SLiM or softmax model scored as held-out data is: windows of `context` bases."""

  def bits(tokens_L: np.ndarray) -> np.ndarray:
    logp_L = inference.windowed_log_likelihood(
      model, params, np.asarray(tokens_L), context, min(chunk_size, context), batch_size=batch_size, rng=rng
    )
    return -logp_L.astype(np.float64) / heldout.LN2

  return Scorer(name=name, bits=bits, context=context)


def markov_scorer(train_tokens_list: Sequence[np.ndarray], k: int, *, name: str = "") -> Scorer:
  """The adaptive order-k Markov model: counts of `train_tokens_list` plus the sequence read so far.

  Each scored sequence starts again from the training counts, so what it learns from one window
  does not carry to the next, as for a model's state.
  """
  train = list(train_tokens_list)

  def bits(tokens_L: np.ndarray) -> np.ndarray:
    return baselines.markov_per_base_bits(train, [np.asarray(tokens_L)], k, adaptive=True)[0]

  return Scorer(name=name or f"markov-k{k}", bits=bits, context=None)


def _pooled(bits_L: np.ndarray, select_L: np.ndarray) -> tuple[float, int]:
  """(sum of the finite bits where `select_L`, their number)."""
  keep_L = select_L & np.isfinite(bits_L)
  return float(np.sum(bits_L[keep_L], dtype=np.float64)), int(keep_L.sum())


def _ratio(total: float, count: int) -> Optional[float]:
  return total / count if count else None


def _scored(scorer: Scorer, tokens_L: np.ndarray) -> np.ndarray:
  bits_L = np.asarray(scorer.bits(tokens_L), dtype=np.float64)
  if bits_L.shape != tokens_L.shape:
    raise ValueError(f"scorer {scorer.name!r} returned shape {bits_L.shape} for {tokens_L.shape} tokens")
  return bits_L


def _check_window(scorer: Scorer, window: int) -> None:
  if window < 2:
    raise ValueError(f"window={window} must be at least 2 bases.")
  if scorer.context is not None and window > scorer.context:
    raise ValueError(
      f"window={window} is longer than scorer {scorer.name!r}'s context {scorer.context}: it would be scored "
      "in pieces. Pass window <= its context, or build the scorer with a longer context."
    )


def _windows(
  sequences: Sequence[np.ndarray], window: int, count: Optional[int], keep: Callable[[np.ndarray], bool]
) -> list[np.ndarray]:
  """Up to `count` (None: all) of the non-overlapping windows that `keep` accepts, evenly spread."""
  candidates = []
  for tokens_L in sequences:
    tokens_L = np.asarray(tokens_L)
    for start in range(0, len(tokens_L) - window + 1, window):
      if keep(tokens_L[start : start + window]):
        candidates.append(tokens_L[start : start + window])
  if not candidates:
    longest = max((len(s) for s in sequences), default=0)
    raise ValueError(
      f"no window of {window} bases to probe: the longest sequence has {longest} bases (or every window "
      "had an N where the probe needs bases). Pass longer sequences or a shorter window."
    )
  if count is not None and count < len(candidates):
    picks = np.linspace(0, len(candidates) - 1, count).round().astype(int)
    candidates = [candidates[i] for i in picks]
  return candidates


def recall_probe(
  scorer: Scorer,
  sequences: Sequence[np.ndarray],
  *,
  window: int,
  segment_length: int = DEFAULT_SEGMENT_LENGTH,
  distances: Sequence[int] = DEFAULT_DISTANCES,
  num_segments: int = 8,
) -> dict:
  """Bits per base an exact earlier copy saves, per distance (module docstring).

  Args:
    scorer: what to probe.
    sequences: held-out token arrays; the probe reads non-overlapping windows of `window` bases
      whose last `segment_length` bases are all A/C/G/T.
    window: bases per scored sequence; at most the scorer's context. A distance d needs
      d + 2 * segment_length <= window (the copy, the gap, the segment), else it is reported as
      beyond_window.
    segment_length: n, the length of the segment and of its copy.
    distances: d, bases between the end of the copy and the start of the segment.
    num_segments: windows used (evenly spread over those available).

  Returns:
    {"scorer", "window", "segment_length", "segments", "bits_without_copy", "distances": [{
    "distance", "status": "ok" | "beyond_window", "bits_with_copy", "saved_bits_per_base",
    "saved_per_segment"} ...]}; a beyond_window entry says the window it would need.
  """
  _check_window(scorer, window)
  n = int(segment_length)
  if not 1 <= n < window:
    raise ValueError(f"segment_length={segment_length} must lie in [1, window={window}).")
  windows = _windows(sequences, window, num_segments, lambda w: bool(np.all(w[window - n :] < tokenizer.N_ID)))
  segment_L = np.zeros(window, dtype=bool)
  segment_L[window - n :] = True
  without = [_pooled(_scored(scorer, w), segment_L) for w in windows]
  rows = []
  for d in distances:
    d = int(d)
    needed = d + 2 * n
    if d < 0:
      raise ValueError(f"distance {d} must be >= 0 (bases between the copy's end and the segment's start).")
    if needed > window:
      rows.append({"distance": d, "status": BEYOND_WINDOW, "needs_window": needed})
      continue
    with_copy = []
    for w in windows:
      planted = w.copy()
      planted[window - needed : window - needed + n] = w[window - n :]
      with_copy.append(_pooled(_scored(scorer, planted), segment_L))
    rows.append(
      {
        "distance": d,
        "status": "ok",
        "bits_with_copy": _ratio(sum(t for t, _ in with_copy), sum(c for _, c in with_copy)),
        "saved_bits_per_base": _ratio(
          sum(t for t, _ in without) - sum(t for t, _ in with_copy), sum(c for _, c in without)
        ),
        "saved_per_segment": [(a - b) / c for (a, c), (b, _) in zip(without, with_copy)],
      }
    )
  return {
    "scorer": scorer.name,
    "window": window,
    "segment_length": n,
    "segments": len(windows),
    "bits_without_copy": _ratio(sum(t for t, _ in without), sum(c for _, c in without)),
    "distances": rows,
  }


def adaptation_probe(
  scorer: Scorer,
  sequences: Sequence[np.ndarray],
  *,
  window: int,
  buckets: Sequence[tuple[int, int]] = DEFAULT_BUCKETS,
  num_windows: Optional[int] = None,
) -> dict:
  """Bits per base by position [start, end) within windows of `window` bases, each one context.

  A bucket that ends past the window is reported as beyond_window (a partial bucket would mix
  positions the other rows do not have). Windows are non-overlapping, all of them or
  `num_windows` evenly spread.
  """
  _check_window(scorer, window)
  for start, end in buckets:
    if not 0 <= start < end:
      raise ValueError(f"bucket [{start}, {end}) must have 0 <= start < end.")
  windows = _windows(sequences, window, num_windows, lambda w: True)
  sums = np.zeros(len(buckets))
  counts = np.zeros(len(buckets), dtype=np.int64)
  position_L = np.arange(window)
  for w in windows:
    bits_L = _scored(scorer, w)
    for i, (start, end) in enumerate(buckets):
      total, count = _pooled(bits_L, (position_L >= start) & (position_L < end))
      sums[i] += total
      counts[i] += count
  rows = []
  for i, (start, end) in enumerate(buckets):
    if end > window:
      rows.append({"start": start, "end": end, "status": BEYOND_WINDOW})
    else:
      rows.append(
        {
          "start": start,
          "end": end,
          "status": "ok",
          "bits_per_base": _ratio(float(sums[i]), int(counts[i])),
          "bases": int(counts[i]),
        }
      )
  return {"scorer": scorer.name, "window": window, "windows": len(windows), "buckets": rows}


def region_probe(scorer: Scorer, sequences_with_masks: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict:
  """Bits per base on soft-masked (mask True) and unique bases; each sequence scored whole.

  The scorer applies its own protocol to a long sequence (a model: windows of its context), so
  these are the held-out figures split by region.
  """
  totals = {"masked": [0.0, 0], "unique": [0.0, 0]}
  for tokens_L, mask_L in sequences_with_masks:
    tokens_L, mask_L = np.asarray(tokens_L), np.asarray(mask_L, dtype=bool)
    if mask_L.shape != tokens_L.shape:
      raise ValueError(f"mask shape {mask_L.shape} differs from the tokens' {tokens_L.shape}.")
    bits_L = _scored(scorer, tokens_L)
    for region, select_L in (("masked", mask_L), ("unique", ~mask_L)):
      total, count = _pooled(bits_L, select_L)
      totals[region][0] += total
      totals[region][1] += count
  result: dict[str, Any] = {"scorer": scorer.name}
  for region, (total, count) in totals.items():
    result[region] = {"bits_per_base": _ratio(total, count), "bases": count}
  all_count = totals["masked"][1] + totals["unique"][1]
  result["all"] = {
    "bits_per_base": _ratio(totals["masked"][0] + totals["unique"][0], all_count),
    "bases": all_count,
  }
  result["masked_fraction"] = totals["masked"][1] / all_count if all_count else None
  return result


def _kmer_keys(tokens_L: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
  """(base-4 key of the k-mer starting at each position, whether it holds only A/C/G/T)."""
  n = len(tokens_L) - k + 1
  if n <= 0:
    return np.zeros(0, np.int64), np.zeros(0, bool)
  tokens_L = np.asarray(tokens_L).astype(np.int64)
  keys_N = np.zeros(n, np.int64)
  for j in range(k):
    keys_N = keys_N * 4 + np.minimum(tokens_L[j : j + n], 3)
  is_base_L = (tokens_L < tokenizer.N_ID).astype(np.int64)
  bases_in_window_N = np.convolve(is_base_L, np.ones(k, np.int64), mode="valid")
  return keys_N, bases_in_window_N == k


def kmer_repeat_mask(
  sequences: Sequence[np.ndarray], k: int = 24, reference: Sequence[np.ndarray] = ()
) -> list[np.ndarray]:
  """Per sequence, True where a base is covered by a k-mer (A/C/G/T only) that occurs at least twice
  among `sequences` and `reference` together (both strands not folded: a copy on the other strand
  does not count). A stand-in for repeat soft-masking where a FASTA has none; k <= 31 (int64 keys).
  """
  if not 1 <= k <= 31:
    raise ValueError(f"k={k} must lie in [1, 31] (k-mers are packed into int64 keys).")
  keyed = [_kmer_keys(t, k) for t in list(sequences) + list(reference)]
  all_keys = np.concatenate([keys[valid] for keys, valid in keyed] or [np.zeros(0, np.int64)])
  unique_keys, counts = np.unique(all_keys, return_counts=True)
  repeated_keys = unique_keys[counts >= 2]
  masks = []
  for tokens_L, (keys_N, valid_N) in zip(sequences, keyed):
    repeated_N = valid_N & np.isin(keys_N, repeated_keys)
    # A base is covered when a repeated k-mer starts in (i - k, i]: a difference array of the starts.
    delta = np.zeros(len(tokens_L) + 1, np.int64)
    starts = np.flatnonzero(repeated_N)
    np.add.at(delta, starts, 1)
    np.add.at(delta, starts + k, -1)
    masks.append(np.cumsum(delta[:-1]) > 0)
  return masks
