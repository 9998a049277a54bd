# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Grain input pipeline over the `genome_windows` shards, and the held-out sequences.

Training batches (`make_train_iterator`):
  window indices 0..n-1 of the train split
    -> this process's share: indices i with i % process_count == process_index (disjoint, and
       together covering every window; shares differ in size by at most one)
    -> shuffled with the seed, a fresh permutation every epoch (grain's per-epoch index shuffle)
    -> repeated forever -> batches of `batch_size_per_process` indices (batches run across
       epoch boundaries, so nothing is dropped)
    -> one batched array_record read per batch (tfds' data source reads a batch in parallel,
       several times faster than one record at a time)
    -> {"tokens": uint8 [B_local, L]}, prefetched by a small thread pool in this process (no
       worker processes: the equivalent of grain's worker_count=0).
  Each process reads only its share; the global batch is assembled by the trainer (e.g. with
  `jax.make_array_from_process_local_data`). The iterator is a grain `DatasetIterator`: its
  state (a step count) goes into an Orbax checkpoint with
  `ocp.args.Composite(..., data=grain.checkpoint.CheckpointSave(iterator))` and comes back with
  `grain.checkpoint.CheckpointRestore(iterator)`, after which it yields exactly the batches an
  uninterrupted iterator would have yielded.

Held-out evaluation (`heldout_sequences`): the whole validation or test region of every record,
as one token array each, for bits-per-base of long sequences (no windowing, no N filter).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grain
import numpy as np

from genome_transformer.data import dataset
from genome_transformer.genomics import genomes, tokenizer

DEFAULT_READ_THREADS = 2  # Threads that prefetch whole batches (each read is itself parallel).
DEFAULT_PREFETCH_BATCHES = 4


_REQUIRED = object()


def _field(data_config: Any, name: str, default: Any = _REQUIRED) -> Any:
  """data_config[name] for a Mapping or a ConfigDict; `default` where given and the field is absent."""
  if isinstance(data_config, Mapping):
    return data_config[name] if default is _REQUIRED else data_config.get(name, default)
  return getattr(data_config, name) if default is _REQUIRED else getattr(data_config, name, default)


def _builder_args(data_config: Any, data_dir: str | None) -> tuple[Any, ...]:
  data_dir = data_dir or _field(data_config, "data_dir") or dataset.default_data_dir()
  return (
    _field(data_config, "genome"),
    data_dir,
    int(_field(data_config, "window_length")),
    int(_field(data_config, "stride")),
    float(_field(data_config, "max_n_fraction")),
  )


class _ReadWindows:
  """Maps a batch of window indices to {"tokens": uint8 [B, L]} with one batched read."""

  def __init__(self, source: Any, include_index: bool):
    self._source = source
    self._include_index = include_index

  def __call__(self, indices_B: np.ndarray) -> dict[str, np.ndarray]:
    examples = self._source.__getitems__(indices_B.tolist())
    batch = {"tokens": np.stack([ex["tokens"] for ex in examples]).astype(np.uint8, copy=False)}
    if self._include_index:
      batch["index"] = np.asarray(indices_B, dtype=np.int64)
    return batch


class _ReverseComplement:
  """Reads each window of a batch on the other strand with probability `prob`.

  DNA is read on both strands, and a genome's sequence is one strand by convention only: the
  model should not learn which one the assembly happens to list. A grain random map, so the
  draws follow from the seed and the batch index, and a resumed iterator repeats them.
  """

  def __init__(self, prob: float):
    self._prob = prob

  def __call__(self, batch: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    flip_B = rng.random(batch["tokens"].shape[0]) < self._prob
    if not flip_B.any():
      return batch
    tokens_BL = batch["tokens"].copy()
    tokens_BL[flip_B] = tokenizer.reverse_complement(tokens_BL[flip_B])
    return {**batch, "tokens": tokens_BL}


def make_train_iterator(
  data_config: Any,
  data_dir: str | None,
  *,
  batch_size_per_process: int,
  seed: int,
  process_index: int | None = None,
  process_count: int | None = None,
  cache_dir: str | None = None,
  read_threads: int = DEFAULT_READ_THREADS,
  prefetch_batches: int = DEFAULT_PREFETCH_BATCHES,
  include_index: bool = False,
) -> grain.DatasetIterator:
  """An endless, seeded, checkpointable iterator of this process's training batches.

  Args:
    data_config: config.data (genome, data_dir, window_length, stride, max_n_fraction,
      reverse_complement_prob).
    data_dir: TFDS data dir; falls back to data_config.data_dir, then the default cache.
    batch_size_per_process: windows per batch on this process (B_local).
    seed: shuffle seed (taken modulo 2**32).
    process_index, process_count: this process's share; default jax.process_index/count().
    cache_dir: genome cache for the FASTA copies (default files.cache_root()).
    read_threads, prefetch_batches: thread prefetch (0 threads = read in the caller's thread).
    include_index: also yield "index" [B_local], the train-split indices (for tests/debugging).

  The only process (process_count == 1) builds the shards if needed; with several processes,
  run `dataset.prepare` on one of them first (shared data_dir) and this raises if they are
  missing rather than letting every host build the same directory at once.
  """
  if process_index is None or process_count is None:
    import jax  # pylint: disable=g-import-not-at-top  # Only for the defaults.

    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
  if not 0 <= process_index < process_count:
    raise ValueError(f"process_index must be in [0, {process_count}), got {process_index}")
  if batch_size_per_process < 1:
    raise ValueError(f"batch_size_per_process must be >= 1, got {batch_size_per_process}")
  args = _builder_args(data_config, data_dir)
  if process_count == 1:
    builder = dataset.prepare(*args, cache_dir=cache_dir)
  else:
    builder = dataset.load(*args, cache_dir=cache_dir)
  source = builder.as_data_source(split="train")
  num_windows = len(source)
  if num_windows < process_count:
    raise dataset.DatasetConfigError(
      f"{builder.builder_config.genome}: {num_windows} train windows cannot be shared by "
      f"{process_count} processes; use a shorter window_length/stride or fewer hosts."
    )
  indices = grain.MapDataset.range(num_windows)[process_index::process_count]
  batches = (
    indices.shuffle(seed=int(seed) % 2**32)
    .repeat(None)
    .batch(batch_size_per_process, drop_remainder=True)
    .map(_ReadWindows(source, include_index))
  )
  # Configs from before the field existed read one strand.
  reverse_complement_prob = float(_field(data_config, "reverse_complement_prob", 0.0))
  if reverse_complement_prob > 0.0:
    batches = batches.random_map(_ReverseComplement(reverse_complement_prob), seed=(int(seed) + 1) % 2**32)
  read_options = grain.ReadOptions(
    num_threads=read_threads, prefetch_buffer_size=prefetch_batches if read_threads else 0
  )
  return iter(batches.to_iter_dataset(read_options))


def heldout_sequences(
  data_config: Any, split: str, cache_dir: str | None = None, *, with_mask: bool = False
) -> list[tuple]:
  """[(record name, uint8 tokens of the record's whole `split` region)] for every record.

  with_mask=True adds a third item, the soft mask (bool, True where the FASTA has the base in
  lowercase: repeats, in soft-masked assemblies), which the tokens themselves fold away.
  """
  if split not in genomes.SPLITS:
    raise ValueError(f"split must be one of {genomes.SPLITS}, got {split!r}")
  files = genomes.open_genome(_field(data_config, "genome"), cache_dir)
  out = []
  try:
    for f in files:
      for record in f.records:
        start, end = genomes.split_bounds(record.length)[split]
        if end > start:
          if with_mask:
            out.append((record.name, *f.fetch_with_mask(record.name, start, end)))
          else:
            out.append((record.name, f.fetch(record.name, start, end)))
  finally:
    for f in files:
      f.close()
  return out
