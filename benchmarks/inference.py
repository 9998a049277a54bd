# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Inference speed: per-token generation time and memory against context length, and scoring throughput.

Generation. For each context c (1k .. 1M bases of E. coli K-12, the embedded genome):
  linear    the recurrent model: the prompt runs through the chunked recurrence (recurrence.scan_chunks
            over chunks of --prefill_chunk carrying the per-layer (S, z)) to get the state at c, then
            a jitted recurrence.decode of --decode_tokens steps (greedy, feeding back its
            own token) is timed; per-token time is the median over --repeats such scans.
            The state, 2 s H M (d + 1) floats, is the same at every c.
  softmax   the softmax twin decoding from a key/value cache (inference.step from performer.init_kv_cache),
            cache length c + the tokens decoded, in the same kind of scan. The cache's first c
            slots hold random keys and values: the work per token does not depend on their
            values, and a real prefill would cost O(c^2). It stops where the cache would exceed
            --max_cache_gib or a timed scan would exceed --max_decode_s (the table says which).
            Timed over --softmax_repeats scans of --softmax_decode_tokens (its tokens are slow).
Memory: the state or cache bytes, and XLA's compiled estimate of the decode scan (arguments +
temporaries + outputs - aliased).

Scoring. inference.chunked_log_likelihood (jitted) over --score_bases of the genome at several
chunk sizes: bases/s of one call after compilation (compile time reported apart).

Softmax scoring. The softmax twin scores one window of W bases (--softmax_score_windows) two ways:
chunked_log_likelihood over a key/value cache in chunks of --softmax_score_chunk (what the library
does: each of the N chunks reads the whole padded cache, masked, so (1 + 1/N) times the scores of one
forward, plus the cache writes; one chunk runs as a plain forward) against one whole-window forward
(its L^2 scores in memory at once). Both give the same log-probabilities (max difference reported);
the rows say what the chunking costs in time and saves in compiled memory.

Model: D=256, 3 layers, 4 heads, d_ff=1024, sqr (M = d = 64), float32, batch 1, random weights
(speed does not depend on them).

  python -m benchmarks.inference           # contexts 2^10 .. 2^20, scoring 1 Mb (~5 min on 2 CPU cores)
  python -m benchmarks.inference --quick   # contexts up to 2^16, scoring 128 kb (~1-2 min)
Writes benchmarks/results/inference.json and .png.
"""

import functools
import json
import os
import statistics
import time

from absl import app, flags
import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import common
from genome_transformer.genomics import tokenizer
from genome_transformer.model import inference, recurrence
from genome_transformer.model import performer as model_lib
from genome_transformer.training import train

_QUICK = flags.DEFINE_bool("quick", False, "Contexts up to 2^16 and 128 kb of scoring.")
_MAX_LOG2 = flags.DEFINE_integer("max_log2_context", 20, "Longest context, log2 (--quick: 16).")
_DECODE = flags.DEFINE_integer("decode_tokens", 256, "Tokens per timed decode scan of the linear model.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed decode scans per linear point (the median is reported).")
_SOFTMAX_DECODE = flags.DEFINE_integer("softmax_decode_tokens", 32, "Tokens per timed softmax decode scan.")
_SOFTMAX_REPEATS = flags.DEFINE_integer("softmax_repeats", 3, "Timed decode scans per softmax point.")
_PREFILL_CHUNK = flags.DEFINE_integer("prefill_chunk", 1024, "Chunk length of the prompt's recurrence.")
_SCORE_BASES = flags.DEFINE_integer("score_bases", 2**20, "Bases scored (--quick: 2^17).")
_SCORE_CHUNKS = flags.DEFINE_list("score_chunks", ["256", "1024", "4096"], "Chunk sizes for scoring.")
_SOFTMAX_SCORE_WINDOWS = flags.DEFINE_list(
  "softmax_score_windows", ["1024", "4096", "16384"], "Windows the softmax twin scores both ways."
)
_SOFTMAX_SCORE_CHUNK = flags.DEFINE_integer("softmax_score_chunk", 1024, "Chunk of the softmax cached scoring.")
_SECTIONS = flags.DEFINE_list(
  "sections",
  ["generation", "scoring", "softmax_scoring"],
  "Sections to run; the others are kept from an existing --out JSON (rerun one without the rest).",
)
_MAX_CACHE_GIB = flags.DEFINE_float("max_cache_gib", 4.0, "Largest softmax KV cache tried (XLA holds ~2 copies).")
_MAX_DECODE_S = flags.DEFINE_float("max_decode_s", 60.0, "Stop softmax when a timed scan would take longer.")
_OUT = flags.DEFINE_string("out", "benchmarks/results/inference.json", "JSON path (the PNG goes beside it).")
_PLOT_ONLY = flags.DEFINE_bool("plot_only", False, "Redraw the PNG from an existing --out JSON; run nothing.")

DIMS = dict(d_model=256, num_layers=3, num_heads=4, d_ff=1024)


@functools.partial(jax.jit, static_argnums=(0,), donate_argnums=(2,))
def prefill(model, params, states, tokens_NC, offset):
  """The states after the chunks tokens_NC starting at absolute position `offset`."""
  chunks = recurrence.stacked_chunks(tokens_NC[:, None], offset)
  states, _, _ = recurrence.scan_chunks(model, params, states, chunks, return_hidden=True)
  return states


def decode_fn(model, num_tokens: int):
  """jit((params, memory, token_B, position) -> (memory, token_B, position, tokens)), memory donated."""

  def greedy(logits_BV, position, _):
    # Greedy over the bases A C G T, fed back: a real generation loop's dependence chain.
    token_B = jnp.argmax(logits_BV[:, : tokenizer.NUM_BASES], axis=-1).astype(jnp.int32)
    return token_B, token_B

  def run(params, memory, token_B, position):
    return recurrence.decode(model, params, memory, token_B, position, greedy, length=num_tokens)

  return jax.jit(run, donate_argnums=(1,))


def nbytes(tree) -> int:
  return sum(int(x.size) * x.dtype.itemsize for x in jax.tree.leaves(tree))


def time_decode(fn, params, memory, token_B, position: int, num_tokens: int, repeats: int):
  """(per-token seconds of each timed scan, compiled bytes, compile s); memory is consumed."""
  start = time.perf_counter()
  compiled = fn.lower(params, memory, token_B, jnp.int32(position)).compile()
  compile_s = time.perf_counter() - start
  mem = train.compiled_memory(compiled)
  pos = jnp.int32(position)
  memory, token_B, pos, _ = compiled(params, memory, token_B, pos)  # Warm-up.
  jax.block_until_ready(token_B)
  per_token = []
  for _ in range(repeats):
    start = time.perf_counter()
    memory, token_B, pos, tokens = compiled(params, memory, token_B, pos)
    jax.block_until_ready(tokens)
    per_token.append((time.perf_counter() - start) / num_tokens)
  return per_token, mem, compile_s


def random_cache(config, length: int, filled: int, seed: int):
  """A KV cache of `length` slots whose first `filled` hold random keys and values."""
  cache = model_lib.init_kv_cache(config, 1, length)
  key = jax.random.PRNGKey(seed)
  out = []
  for i, (k, v, context) in enumerate(cache):
    kk, kv = jax.random.split(jax.random.fold_in(key, i))
    fill = lambda c, key: c.at[:, :, :filled].set(
      jax.random.normal(key, c.shape[:2] + (filled,) + c.shape[3:], c.dtype)
    )
    out.append((fill(k, kk), fill(v, kv), context))
  return tuple(out)


def generation(tokens_L: np.ndarray, contexts):
  rows = []
  linear = common.make_model("slim", **DIMS)
  params = common.init_params(linear)
  softmax = common.make_model("softmax", **DIMS)
  softmax_params = common.init_params(softmax)
  n, n_softmax = _DECODE.value, _SOFTMAX_DECODE.value
  chunk = _PREFILL_CHUNK.value
  linear_decode = decode_fn(linear, n)
  softmax_decode = decode_fn(softmax, n_softmax)
  states = model_lib.init_states(linear.config, 1)
  done = 0
  softmax_stop = ""
  last_softmax = None  # (context, seconds per token) of the last softmax point timed.
  print(
    f"{'model':>8} {'context':>8} {'ms/token':>9} {'min':>7} {'state/cache MiB':>16} {'compiled MiB':>13} "
    f"{'prefill s':>9}  note"
  )
  for context in contexts:
    # Linear: advance the recurrence from the previous context to this one (whole chunks).
    start = time.perf_counter()
    segment = tokens_L[done:context].reshape(-1, chunk)
    states = prefill(linear, params, states, jnp.asarray(segment), done)
    jax.block_until_ready(states)
    prefill_s = time.perf_counter() - start
    done = context
    # Decoding consumes a copy (donated), so the prefilled state survives for the next context.
    per_token, mem, compile_s = time_decode(
      linear_decode,
      params,
      jax.tree.map(jnp.copy, states),
      jnp.asarray(tokens_L[context - 1 : context]),
      context - 1,
      n,
      _REPEATS.value,
    )
    rows.append(
      dict(
        model="linear",
        context=context,
        ms_per_token=1e3 * statistics.median(per_token),
        ms_per_token_all=[1e3 * t for t in per_token],
        state_bytes=nbytes(states),
        compiled_bytes=mem,
        compile_s=compile_s,
        prefill_s=prefill_s,
        prefill_bases=segment.size,
        note="",
      )
    )
    _print_row(rows[-1])
    # Softmax: a KV cache of the context plus the tokens about to be decoded.
    length = context + (_SOFTMAX_REPEATS.value + 1) * n_softmax
    cache_bytes = 2 * DIMS["num_layers"] * length * DIMS["d_model"] * 4
    if not softmax_stop and cache_bytes > _MAX_CACHE_GIB.value * 2**30:
      softmax_stop = f"stopped: a cache of {cache_bytes / 2**30:.1f} GiB > --max_cache_gib={_MAX_CACHE_GIB.value:g}"
    if not softmax_stop and last_softmax is not None:
      # Per-token work is linear in the cache length: extrapolate from the last context.
      expect = last_softmax[1] * context / last_softmax[0] * n_softmax
      if expect > _MAX_DECODE_S.value:
        softmax_stop = f"stopped: a timed scan would take ~{expect:.0f} s > --max_decode_s={_MAX_DECODE_S.value:g}"
    if softmax_stop:
      rows.append(dict(model="softmax", context=context, ms_per_token=None, state_bytes=cache_bytes, note=softmax_stop))
      _print_row(rows[-1])
      continue
    cache = random_cache(softmax.config, length, context - 1, seed=context)
    per_token, mem, compile_s = time_decode(
      softmax_decode,
      softmax_params,
      cache,
      jnp.asarray(tokens_L[context - 1 : context]),
      context - 1,
      n_softmax,
      _SOFTMAX_REPEATS.value,
    )
    last_softmax = (context, statistics.median(per_token))
    rows.append(
      dict(
        model="softmax",
        context=context,
        ms_per_token=1e3 * last_softmax[1],
        ms_per_token_all=[1e3 * t for t in per_token],
        state_bytes=cache_bytes,
        compiled_bytes=mem,
        compile_s=compile_s,
        note="cache: random keys/values (timing does not depend on them)",
      )
    )
    _print_row(rows[-1])
    del cache
  return rows


def _print_row(r):
  fmt = lambda v, spec: "-" if v is None else format(v, spec)
  mem = r.get("compiled_bytes")
  print(
    f"{r['model']:>8} {r['context']:>8} {fmt(r['ms_per_token'], '.3f'):>9} "
    f"{fmt(min(r['ms_per_token_all']) if r.get('ms_per_token_all') else None, '.3f'):>7} "
    f"{r['state_bytes'] / 2**20:>16.2f} {fmt(mem['total'] / 2**20 if mem else None, '.1f'):>13} "
    f"{fmt(r.get('prefill_s'), '.2f'):>9}  {r['note']}",
    flush=True,
  )


def scoring(tokens_L: np.ndarray, chunks):
  model = common.make_model("slim", **DIMS)
  params = common.init_params(model)
  fn = jax.jit(inference.chunked_log_likelihood, static_argnums=(0, 3))
  tokens_BL = jnp.asarray(tokens_L)[None]
  rows = []
  print(f"\nscoring {tokens_BL.shape[1]} bases with inference.chunked_log_likelihood")
  print(f"{'chunk':>6} {'bases/s':>9} {'s':>7} {'compile s':>9} {'compiled MiB':>13} {'bits/base':>9}")
  for chunk in chunks:
    start = time.perf_counter()
    compiled = fn.lower(model, params, tokens_BL, chunk).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    logp_BL = compiled(params, tokens_BL)
    jax.block_until_ready(logp_BL)
    seconds = time.perf_counter() - start
    bits = float(-jnp.nanmean(logp_BL) / np.log(2))  # Random weights: a sanity number, not a result.
    rows.append(
      dict(
        chunk_size=chunk,
        bases=int(tokens_BL.shape[1]),
        seconds=seconds,
        bases_per_s=tokens_BL.shape[1] / seconds,
        compile_s=compile_s,
        compiled_bytes=train.compiled_memory(compiled),
        bits_per_base_random_weights=bits,
      )
    )
    r = rows[-1]
    print(
      f"{chunk:>6} {r['bases_per_s']:>9.0f} {seconds:>7.2f} {compile_s:>9.1f} "
      f"{r['compiled_bytes']['total'] / 2**20:>13.1f} {bits:>9.3f}",
      flush=True,
    )
  return rows


def softmax_scoring(tokens_L: np.ndarray, windows, chunk: int):
  """One window per W: chunked_log_likelihood over a cache against one whole-window forward."""
  model = common.make_model("softmax", **DIMS)
  params = common.init_params(model)
  # A chunk as long as the window is chunked_log_likelihood's own one-forward path: no cache.
  scorer = jax.jit(inference.chunked_log_likelihood, static_argnums=(0, 3))
  rows = []
  print(f"\nsoftmax twin scoring one window (median of 3 calls): chunked over a cache (chunk {chunk}), one forward")
  print(f"{'window':>7} {'method':>12} {'bases/s':>9} {'compile s':>9} {'compiled MiB':>13} {'max |diff|':>10}")
  for window in windows:
    tokens_BL = jnp.asarray(tokens_L[:window])[None]
    results = {}
    for method, chunk_size in (("chunked", chunk), ("one_forward", window)):
      start = time.perf_counter()
      compiled = scorer.lower(model, params, tokens_BL, chunk_size).compile()
      compile_s = time.perf_counter() - start
      compiled(params, tokens_BL).block_until_ready()  # Warm: the first call also allocates.
      times = []
      for _ in range(3):
        start = time.perf_counter()
        results[method] = compiled(params, tokens_BL).block_until_ready()
        times.append(time.perf_counter() - start)
      seconds = statistics.median(times)
      rows.append(
        dict(
          window=window,
          method=method,
          chunk_size=chunk_size,
          seconds=seconds,
          bases_per_s=window / seconds,
          compile_s=compile_s,
          compiled_bytes=train.compiled_memory(compiled),
        )
      )
    diff = float(jnp.nanmax(jnp.abs(results["chunked"] - results["one_forward"])))
    for r in rows[-2:]:
      r["max_abs_logp_difference"] = diff
      print(
        f"{window:>7} {r['method']:>12} {r['bases_per_s']:>9.0f} {r['compile_s']:>9.1f} "
        f"{r['compiled_bytes']['total'] / 2**20:>13.1f} {diff:>10.2e}",
        flush=True,
      )
  return rows


def plot(gen_rows, score_rows, path: str) -> None:
  plt = common.pyplot()
  fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(15, 4.3))
  for model, style in (("linear", "-o"), ("softmax", "-s")):
    pts = [(r["context"], r["ms_per_token"]) for r in gen_rows if r["model"] == model and r["ms_per_token"]]
    ax.plot(*zip(*pts), style, label=f"{model} ({'inference.step' if model == 'linear' else 'KV cache'})")
    mem = [(r["context"], r["state_bytes"] / 2**20) for r in gen_rows if r["model"] == model and r["ms_per_token"]]
    bx.plot(*zip(*mem), style, label=f"{model} ({'state' if model == 'linear' else 'KV cache'})")
    size_only = [
      (r["context"], r["state_bytes"] / 2**20) for r in gen_rows if r["model"] == model and not r["ms_per_token"]
    ]
    if size_only:
      bx.plot(*zip(*size_only), style[-1], mfc="none", color="C1", label=f"{model} (size only: not run)")
  for a, ylabel in ((ax, "ms per generated token"), (bx, "state / cache memory (MiB)")):
    a.set_xscale("log", base=2)
    a.set_yscale("log")
    a.set_xlabel("context (bases)")
    a.set_ylabel(ylabel)
    a.grid(True, which="both", alpha=0.3)
    a.legend(fontsize=8)
  ax.set_title("generation, D=256, 3 layers, batch 1")
  cx.bar(range(len(score_rows)), [r["bases_per_s"] for r in score_rows], color="C0")
  cx.set_xticks(range(len(score_rows)), [str(r["chunk_size"]) for r in score_rows])
  cx.set_xlabel("chunk size")
  cx.set_ylabel("bases / s")
  cx.set_title(f"scoring {score_rows[0]['bases'] if score_rows else 0} bases (chunked_log_likelihood)")
  cx.grid(True, axis="y", alpha=0.3)
  common.save_figure(fig, path)


def main(argv):
  del argv
  png = os.path.splitext(_OUT.value)[0] + ".png"
  if _PLOT_ONLY.value:
    with open(_OUT.value) as f:
      result = json.load(f)
    plot(result["generation"], result["scoring"], png)
    print(f"wrote {png}")
    return
  unknown = set(_SECTIONS.value) - {"generation", "scoring", "softmax_scoring"}
  if unknown:
    raise app.UsageError(f"--sections: {sorted(unknown)} not among generation, scoring, softmax_scoring.")
  kept = {}
  if len(_SECTIONS.value) < 3:
    if not os.path.exists(_OUT.value):
      raise app.UsageError(f"--sections runs only some sections and keeps the rest from {_OUT.value}: not found.")
    with open(_OUT.value) as f:
      kept = json.load(f)
  max_log2 = min(_MAX_LOG2.value, 16) if _QUICK.value else _MAX_LOG2.value
  score_bases = min(_SCORE_BASES.value, 2**17) if _QUICK.value else _SCORE_BASES.value
  contexts = [2**k for k in range(10, max_log2 + 1, 2)]
  if contexts[0] % _PREFILL_CHUNK.value:
    raise ValueError(f"--prefill_chunk={_PREFILL_CHUNK.value} must divide the contexts (from 1024).")
  windows = [int(w) for w in _SOFTMAX_SCORE_WINDOWS.value]
  tokens_L = common.genome_tokens(max(contexts[-1], score_bases, *windows))
  print(
    f"device {jax.devices()[0].platform}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}); "
    f"model {DIMS}, sqr, float32, batch 1; per-token time: median of {_REPEATS.value} scans of "
    f"{_DECODE.value} tokens (softmax: {_SOFTMAX_REPEATS.value} of {_SOFTMAX_DECODE.value})"
  )
  result = dict(kept, device=str(jax.devices()[0]), cpu_count=os.cpu_count(), dims=DIMS)
  # Load average [before, after] per section: sections may run at different times (--sections).
  loads = result.get("load_average", {})
  if not isinstance(loads, dict):  # A JSON from before --sections: one pair for its two sections.
    loads = {"generation": loads, "scoring": loads}
  for section in _SECTIONS.value:
    load_before = os.getloadavg()
    if section == "generation":
      gen_rows = generation(tokens_L, contexts)
      linear = [r for r in gen_rows if r["model"] == "linear"]
      flat = linear[-1]["ms_per_token"] / linear[0]["ms_per_token"]
      print(
        f"linear: per-token time at {linear[-1]['context']} / at {linear[0]['context']} = {flat:.2f}; "
        f"state {linear[0]['state_bytes']} bytes at every context"
      )
      result.update(
        decode_tokens=_DECODE.value,
        repeats=_REPEATS.value,
        softmax_decode_tokens=_SOFTMAX_DECODE.value,
        softmax_repeats=_SOFTMAX_REPEATS.value,
        prefill_chunk=_PREFILL_CHUNK.value,
        generation=gen_rows,
        linear_flatness=dict(ratio=flat, from_context=linear[0]["context"], to_context=linear[-1]["context"]),
      )
    elif section == "scoring":
      result["scoring"] = scoring(tokens_L[:score_bases], [int(c) for c in _SCORE_CHUNKS.value])
    else:
      result["softmax_scoring"] = softmax_scoring(tokens_L, windows, _SOFTMAX_SCORE_CHUNK.value)
    loads[section] = [load_before, os.getloadavg()]
  result["load_average"] = loads
  common.write_json(_OUT.value, result)
  plot(result["generation"], result["scoring"], png)
  print(f"wrote {_OUT.value} and {png}")


if __name__ == "__main__":
  app.run(main)
