# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Held-out bits-per-base baselines a genome language model must beat: compressors and Markov.

Every function takes the training data and the held-out data as lists of 1-D token arrays
(one per record, ids from `tokenizer`: A=0 C=1 G=2 T=3 N=4; a single 1-D array is read as a
one-record list) and scores exactly the held-out A/C/G/T bases: bits per base is total bits
divided by the number of held-out tokens that are A, C, G or T. N (which also stands for every
IUPAC ambiguity code) carries no sequence information and is never a scored target. PAD, BOS
and EOS are rejected: they are not sequence.

Compressors (`compressor_bits_per_base`, `compressor_report`): gzip -9, bzip2 -9 and xz -9e
(python's gzip, bz2 and lzma modules) on the sequence written as uppercase ACGT ASCII text, one
byte per base, N dropped (from training and held-out alike), records concatenated in list order
with no separator. Two figures per compressor:

* conditional: 8 * (len(C(train + heldout)) - len(C(train))) / n_heldout_acgt, the extra bits
  the compressor spends on the held-out text once it has seen the training text. This is the
  honest comparison for a model trained on `train`: the compressor may use as much of the
  training data as its format can reach. gzip's window is 32 kB, so for gzip the training prefix
  barely helps; bzip2 works on independent 900 kB blocks, so it helps only through the block
  the two texts share; xz -9e has a 64 MiB dictionary and can reach all of ~13 Mb of training.
* plain: 8 * len(C(heldout)) / n_heldout_acgt, the held-out text compressed alone, container
  headers included (tens of bytes: negligible beyond ~10^4 bases).

Markov models (`markov_bits_per_base`, `markov_per_base_bits`, `best_markov`): order-k over
ACGT, add-alpha smoothing (alpha = 0.5, the Krichevsky-Trofimov estimator; fixed, never tuned
on held-out data): p(x | c) = (n(c, x) + alpha) / (n(c) + 4 alpha), where n counts the training
data and, when `adaptive=True`, also every held-out base scored before this one (the held-out
records are read in list order, each left to right). Adaptive is how an adaptive compressor
works: the cost of held-out base i uses only training data and held-out bases before i, never
i itself or anything after it. Contexts never span an N or a record boundary: a base with only
j < k A/C/G/T bases before it since the last N or record start (the first bases of every record,
training or held-out, and the bases just after an N) is predicted from its order-j context,
counted separately from the order-k contexts (order 0 = base frequencies). Held-out records
start with an empty context even where they continue a training record; that touches k bases
per record.

The adaptive model is computed exactly and without a Python loop over bases: the count that
held-out base i sees for context c (or context-symbol pair (c, x)) is the training count, read
from a bincount table (k <= 10) or from the sorted training keys with `searchsorted`, plus the
number of held-out positions before i with the same context (pair), which is i's rank within
its group after a stable sort of the held-out contexts (pairs). Context ids are rolling base-4
hashes of up to k preceding bases in bijective numeration (digits 1..4), so contexts of
different lengths never collide; ids are exact in int64 up to `MAX_ORDER`.

`best_markov` picks k on the held-out data itself. That flatters the Markov baseline (a real
compressor would have to choose k without seeing the held-out bases), which is the conservative
direction for a model that has to beat it.
"""

from __future__ import annotations

import bz2
from collections.abc import Iterable, Iterator, Sequence
import gzip
import lzma
import math

import numpy as np

from genome_transformer.genomics import tokenizer

COMPRESSORS = ("gzip", "bzip2", "xz")
DEFAULT_ALPHA = 0.5  # Krichevsky-Trofimov add-1/2 smoothing; fixed, not tuned on held-out data.
# Context ids take values below 4^(k+1)/3 and pair keys 4 times that: k = 24 stays under 2^53,
# so the ids are exact in int64 with a wide margin.
MAX_ORDER = 24
DEFAULT_ORDERS = range(1, 17)

_ACGT_BYTES = np.frombuffer(b"ACGT", dtype=np.uint8)

TokensList = Sequence[np.ndarray] | np.ndarray


def _as_records(tokens_list: TokensList, name: str) -> list[np.ndarray]:
  """Validates a list of 1-D token arrays (ids 0..4) and returns them as uint8 arrays."""
  if isinstance(tokens_list, np.ndarray):
    tokens_list = [tokens_list]
  if isinstance(tokens_list, (str, bytes)):
    raise TypeError(
      f"{name}: expected a list of token arrays (tokenizer.encode output), got "
      f"{type(tokens_list).__name__}; encode the sequence first"
    )
  records = []
  for index, tokens in enumerate(tokens_list):
    tokens_L = np.asarray(tokens)
    if tokens_L.ndim != 1:
      raise ValueError(
        f"{name}[{index}]: expected a 1-D token array, got shape {tokens_L.shape}; pass one array per record"
      )
    if tokens_L.size and tokens_L.dtype.kind not in "iu":
      raise TypeError(f"{name}[{index}]: expected integer token ids, got dtype {tokens_L.dtype}")
    if tokens_L.size:
      bad_L = (tokens_L < 0) | (tokens_L > tokenizer.N_ID)
      if bad_L.any():
        position = int(np.argmax(bad_L))
        raise ValueError(
          f"{name}[{index}]: token id {int(tokens_L[position])} at position {position} is not "
          f"a base or N (ids 0..{tokenizer.N_ID}); strip PAD/BOS/EOS before scoring"
        )
    records.append(tokens_L.astype(np.uint8, copy=False))
  return records


def _count_acgt(records: list[np.ndarray]) -> int:
  return sum(int(np.count_nonzero(r < tokenizer.N_ID)) for r in records)


def _require_heldout_bases(records: list[np.ndarray]) -> int:
  n = _count_acgt(records)
  if n == 0:
    raise ValueError("heldout: no A/C/G/T base to score (empty, or all N); bits per base is undefined")
  return n


# --------------------------------------------------------------------------------------------
# Compressors.


def acgt_text(tokens_list: TokensList) -> bytes:
  """The records as uppercase ACGT ASCII, N dropped, concatenated with no separator."""
  records = _as_records(tokens_list, "tokens_list")
  parts = [_ACGT_BYTES[r[r < tokenizer.N_ID]].tobytes() for r in records]
  return b"".join(parts)


def compressed_size(data: bytes, compressor: str) -> int:
  """Bytes of `data` compressed by gzip -9, bzip2 -9 or xz -9e (deterministic output)."""
  if compressor == "gzip":
    # mtime=0 keeps the header fixed, so the size does not depend on the clock.
    return len(gzip.compress(data, compresslevel=9, mtime=0))
  if compressor == "bzip2":
    return len(bz2.compress(data, compresslevel=9))
  if compressor == "xz":
    return len(lzma.compress(data, format=lzma.FORMAT_XZ, preset=9 | lzma.PRESET_EXTREME))
  raise ValueError(f"compressor: unknown {compressor!r}; choose one of {', '.join(COMPRESSORS)}")


def compressor_report(
  train_tokens_list: TokensList, heldout_tokens_list: TokensList, compressors: Iterable[str] = COMPRESSORS
) -> dict[str, dict[str, float]]:
  """{compressor: {"conditional": bpb, "plain": bpb, ...sizes}} on the held-out ACGT bases.

  See the module docstring for exactly what is measured. Each compressor compresses the
  training text once, training + held-out once and the held-out text once.
  """
  compressors = list(compressors)
  for compressor in compressors:
    if compressor not in COMPRESSORS:
      raise ValueError(f"compressor: unknown {compressor!r}; choose from {', '.join(COMPRESSORS)}")
  heldout = _as_records(heldout_tokens_list, "heldout")
  n_heldout = _require_heldout_bases(heldout)
  train_text = acgt_text(_as_records(train_tokens_list, "train"))
  heldout_text = acgt_text(heldout)
  report = {}
  for compressor in compressors:
    train_bytes = compressed_size(train_text, compressor) if train_text else 0
    joint_bytes = compressed_size(train_text + heldout_text, compressor)
    plain_bytes = compressed_size(heldout_text, compressor)
    report[compressor] = {
      "conditional": 8.0 * (joint_bytes - train_bytes) / n_heldout,
      "plain": 8.0 * plain_bytes / n_heldout,
      "train_bytes": train_bytes,
      "joint_bytes": joint_bytes,
      "plain_bytes": plain_bytes,
      "heldout_bases": n_heldout,
      "train_bases": len(train_text),
    }
  return report


def compressor_bits_per_base(
  train_tokens_list: TokensList, heldout_tokens_list: TokensList, compressor: str, *, conditional: bool = True
) -> float:
  """Held-out bits per ACGT base for gzip -9 / bzip2 -9 / xz -9e.

  conditional=True: 8 * (size(C(train + heldout)) - size(C(train))) / n, the cost of the
  held-out text given the training text as far as the compressor's window reaches.
  conditional=False: 8 * size(C(heldout)) / n. Text is ACGT ASCII with N dropped from both
  sides; n counts the held-out A/C/G/T tokens. Details in the module docstring.
  """
  if compressor not in COMPRESSORS:
    raise ValueError(f"compressor: unknown {compressor!r}; choose one of {', '.join(COMPRESSORS)}")
  heldout = _as_records(heldout_tokens_list, "heldout")
  n_heldout = _require_heldout_bases(heldout)
  heldout_text = acgt_text(heldout)
  if not conditional:
    return 8.0 * compressed_size(heldout_text, compressor) / n_heldout
  train_text = acgt_text(_as_records(train_tokens_list, "train"))
  train_bytes = compressed_size(train_text, compressor) if train_text else 0
  joint_bytes = compressed_size(train_text + heldout_text, compressor)
  return 8.0 * (joint_bytes - train_bytes) / n_heldout


# --------------------------------------------------------------------------------------------
# Order-k Markov models.


def _check_order(k: int) -> int:
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= MAX_ORDER:
    raise ValueError(f"k: Markov order must be an integer in 0..{MAX_ORDER}, got {k!r}")
  return int(k)


def _check_alpha(alpha: float) -> float:
  if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
    raise ValueError(f"alpha: smoothing must be a finite number > 0, got {alpha!r}")
  return float(alpha)


def _join(records: list[np.ndarray]) -> np.ndarray:
  """One stream with an N between records: an N resets the context just like a record start."""
  parts = []
  for record in records:
    parts.append(record)
    parts.append(np.array([tokenizer.N_ID], dtype=np.uint8))
  if not parts:
    return np.zeros(0, dtype=np.uint8)
  return np.concatenate(parts[:-1])


def _bases_before(x_L: np.ndarray) -> np.ndarray:
  """For each position, how many consecutive A/C/G/T tokens immediately precede it."""
  valid_L = x_L < tokenizer.N_ID
  seen_L = np.cumsum(valid_L, dtype=np.int64)
  # Count of valid tokens up to the latest N at or before i; the difference is the run length.
  at_last_n_L = np.maximum.accumulate(np.where(valid_L, 0, seen_L))
  run_L = seen_L - at_last_n_L  # Run of valid tokens ending at i, inclusive (0 where x_i is N).
  before_L = np.zeros_like(run_L)
  before_L[1:] = run_L[:-1]
  return before_L


def _context_ids(x_L: np.ndarray, max_order: int) -> Iterator[np.ndarray]:
  """Yields, for k = 0..max_order, each position's order-k context id (int64).

  The context of position i is the m = min(k, bases_before_i) bases before it, and its id is
  sum_{j=1..m} (x_{i-j} + 1) 4^(j-1): bijective base-4 numeration, so contexts of different
  lengths never collide (length m occupies [(4^m - 1)/3, (4^(m+1) - 1)/3)), and order k extends
  order k - 1 with one term. The yielded array is updated in place for the next order: use it
  before advancing the generator.
  """
  before_L = _bases_before(x_L)
  digit_L = x_L.astype(np.int64) + 1
  id_L = np.zeros(x_L.shape, dtype=np.int64)
  for k in range(max_order + 1):
    if 0 < k < x_L.size:
      # Where the k-th previous base belongs to the context (no N or record start in between).
      term_L = np.where(before_L[k:] >= k, digit_L[:-k], 0)
      term_L <<= 2 * (k - 1)
      id_L[k:] += term_L
    yield id_L


def _context_bound(k: int) -> int:
  """Context ids of order <= k lie in [0, (4^(k+1) - 1) / 3)."""
  return (4 ** (k + 1) - 1) // 3


# Up to this many pair keys (k <= 10) the training counts are a dense bincount table (at most
# 64 MiB of int64); beyond, sorted keys and binary search.
_DENSE_KEYS = 1 << 23


def _group_rank(keys_N: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(stable sort order, rank): rank = how many earlier elements (lower index) share the key."""
  order_N = np.argsort(keys_N, kind="stable")
  sorted_N = keys_N[order_N]
  index_N = np.arange(keys_N.size, dtype=np.int64)
  starts_N = np.ones(keys_N.size, dtype=bool)
  starts_N[1:] = sorted_N[1:] != sorted_N[:-1]
  group_start_N = np.maximum.accumulate(np.where(starts_N, index_N, 0))
  rank_N = np.empty_like(index_N)
  rank_N[order_N] = index_N - group_start_N
  return order_N, rank_N


def _count_in_sorted(sorted_T: np.ndarray, lo_H: np.ndarray, hi_H: np.ndarray, order_H: np.ndarray) -> np.ndarray:
  """How many of sorted_T lie in [lo, hi) per query; queries visited in `order_H`, which sorts
  them (binary search on sorted queries walks memory in order: ~20x faster on 10^7 keys)."""
  count_H = np.empty(lo_H.shape, dtype=np.int64)
  count_H[order_H] = np.searchsorted(sorted_T, hi_H[order_H], side="left") - np.searchsorted(
    sorted_T, lo_H[order_H], side="left"
  )
  return count_H


def _score_order(
  k: int,
  train_ctx_T: np.ndarray,
  train_sym_T: np.ndarray,
  held_ctx_H: np.ndarray,
  held_sym_H: np.ndarray,
  adaptive: bool,
  alpha: float,
) -> np.ndarray:
  """-log2 p of each held-out target (already restricted to A/C/G/T targets)."""
  # Pair key (c, x) = 4c + x, so the keys of one context c fill [4c, 4c + 4).
  train_keys_T = train_ctx_T * 4 + train_sym_T
  held_keys_H = held_ctx_H * 4 + held_sym_H
  pair_order_H, pair_rank_H = _group_rank(held_keys_H)
  ctx_order_H, ctx_rank_H = _group_rank(held_ctx_H)
  n_keys = 4 * _context_bound(k)
  if n_keys <= _DENSE_KEYS:
    pair_table = np.bincount(train_keys_T, minlength=n_keys)
    pair_count_H = pair_table[held_keys_H]
    ctx_count_H = pair_table.reshape(-1, 4).sum(axis=1)[held_ctx_H]
  else:
    sorted_T = np.sort(train_keys_T)
    pair_count_H = _count_in_sorted(sorted_T, held_keys_H, held_keys_H + 1, pair_order_H)
    ctx_count_H = _count_in_sorted(sorted_T, held_ctx_H * 4, held_ctx_H * 4 + 4, ctx_order_H)
  if adaptive:
    # Held-out bases scored before i with the same pair / context: the adaptive update.
    pair_count_H = pair_count_H + pair_rank_H
    ctx_count_H = ctx_count_H + ctx_rank_H
  return -np.log2((pair_count_H + alpha) / (ctx_count_H + 4 * alpha))


def _markov_costs_by_order(
  train_records: list[np.ndarray], heldout_records: list[np.ndarray], ks: Sequence[int], adaptive: bool, alpha: float
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
  """Yields (k, costs of the held-out ACGT targets in stream order, their stream mask)."""
  train_x = _join(train_records)
  held_x = _join(heldout_records)
  train_valid = train_x < tokenizer.N_ID
  held_valid = held_x < tokenizer.N_ID
  train_sym = train_x[train_valid].astype(np.int64)
  held_sym = held_x[held_valid].astype(np.int64)
  wanted = set(ks)
  max_order = max(wanted)
  for k, (train_ctx, held_ctx) in enumerate(zip(_context_ids(train_x, max_order), _context_ids(held_x, max_order))):
    if k in wanted:
      costs = _score_order(k, train_ctx[train_valid], train_sym, held_ctx[held_valid], held_sym, adaptive, alpha)
      yield k, costs, held_valid


def _split_costs(costs: np.ndarray, held_valid: np.ndarray, heldout_records: list[np.ndarray]) -> list[np.ndarray]:
  """Costs back on the records' positions (NaN where the target is N)."""
  full = np.full(held_valid.shape, np.nan)
  full[held_valid] = costs
  out, start = [], 0
  for record in heldout_records:
    out.append(full[start : start + record.size])
    start += record.size + 1  # Skips the N that _join put between records.
  return out


def markov_per_base_bits(
  train_tokens_list: TokensList,
  heldout_tokens_list: TokensList,
  k: int,
  adaptive: bool = True,
  *,
  alpha: float = DEFAULT_ALPHA,
) -> list[np.ndarray]:
  """Per-base cost -log2 p(x_i | context) of each held-out token, one float64 array per record.

  NaN where the held-out token is N (not a scored target). With adaptive=True the counts behind
  the cost of base i include training data and held-out bases before i only (module docstring).
  """
  k = _check_order(k)
  alpha = _check_alpha(alpha)
  train = _as_records(train_tokens_list, "train")
  heldout = _as_records(heldout_tokens_list, "heldout")
  if _count_acgt(heldout) == 0:
    return [np.full(r.shape, np.nan) for r in heldout]
  ((_, costs, held_valid),) = _markov_costs_by_order(train, heldout, [k], bool(adaptive), alpha)
  return _split_costs(costs, held_valid, heldout)


def markov_bits_per_base(
  train_tokens_list: TokensList,
  heldout_tokens_list: TokensList,
  k: int,
  adaptive: bool = True,
  *,
  alpha: float = DEFAULT_ALPHA,
) -> float:
  """Held-out bits per ACGT base of the order-k add-alpha Markov model (module docstring)."""
  k = _check_order(k)
  alpha = _check_alpha(alpha)
  train = _as_records(train_tokens_list, "train")
  heldout = _as_records(heldout_tokens_list, "heldout")
  n = _require_heldout_bases(heldout)
  ((_, costs, _),) = _markov_costs_by_order(train, heldout, [k], bool(adaptive), alpha)
  return float(np.sum(costs) / n)


def best_markov(
  train_tokens_list: TokensList,
  heldout_tokens_list: TokensList,
  ks: Iterable[int] = DEFAULT_ORDERS,
  adaptive: bool = True,
  *,
  alpha: float = DEFAULT_ALPHA,
) -> tuple[int, float, dict[int, float]]:
  """(best k, its held-out bits per base, {k: bits per base}) over the orders `ks`.

  k is chosen on the held-out data, which flatters this baseline: the conservative direction
  for a model that must beat it. The context hashes are built once, one order at a time.
  """
  ks = sorted({_check_order(k) for k in ks})
  if not ks:
    raise ValueError("ks: give at least one Markov order")
  alpha = _check_alpha(alpha)
  train = _as_records(train_tokens_list, "train")
  heldout = _as_records(heldout_tokens_list, "heldout")
  n = _require_heldout_bases(heldout)
  table = {
    k: float(np.sum(costs) / n) for k, costs, _ in _markov_costs_by_order(train, heldout, ks, bool(adaptive), alpha)
  }
  best_k = min(table, key=lambda k: (table[k], k))
  return best_k, table[best_k], table
