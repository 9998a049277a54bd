# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The SLiM Performer (Likhosherstov et al., NeurIPS 2021) as a Flax linen module.

Faithful to the reference PyTorch model (google-research performer/models/slim_performer):
- Input: a token embedding of width D/2 concatenated with a sin block and a cos block of width
  D/4 each, at absolute positions (a chunk's `position_offset` is added), frequencies
  exp(-j ln(10000) / (D/2)) for j = 0, 2, 4, ...
- Each layer: attention then FFN, each residual. `on_gptln=True`: x + LN(f(x)) (post-LN, the
  reference's PTB/enwik8 setting); False: x + f(LN(x)) (pre-LN). No final LayerNorm.
- Attention: q, k, v Dense(D, D) with bias, no output projection, no dropout; causal linear
  attention with phi in {relu, elu+1, sqr, favor+} (feature_maps.py; hedgehog is an addition), or causal softmax
  attention (`attention="softmax"`, the quality baseline; 1/sqrt(d) scaling).
- FFN: Dense(D, d_ff), exact erf GELU, Dense(d_ff, D). Head: Dense(D, vocab) with bias, untied.
- Init as PyTorch: Dense kernels and biases uniform(+-1/sqrt(fan_in)); embedding N(0, 1)
  (torch.nn.Embedding's default); LayerNorm scale 1, bias 0, eps 1e-5.

Where we differ, and why:
- FAVOR+ features are drawn with QR of a Gaussian matrix (sign-corrected, so Haar), as the
  Performer JAX code does, instead of the reference's product of random Householder reflections
  (compact WY form); both give random orthogonal d x d blocks, scaled by sqrt(d). They
  come from `self.make_rng("features")`, one draw per layer (`fold_in(key, layer)`), so a caller
  that passes the same key to every chunk gets the same features in every chunk. The reference
  samples once per `loss_with_grad`; the trainer folds the step into the key, which is the same.
  A fixed shift keeps exp finite; the ratio is unchanged (feature_maps.py docstring).
- Inside a chunk, linear attention uses masked products phi(Q) phi(K)^T over sub-chunks of 64
  plus the state carried to each sub-chunk, instead of the reference's per-chunk cumulative sum:
  the same sums in a different order, with memory 64 C H + (C / 64) H M d instead of C H M d
  (linear_attention.py). The whole-sequence path (`__call__`) is the reference's prefix sum.
- Weights are float32 and activations follow the parameter dtype (cast the params to float64 to
  run everything in float64).

Additions (docs/model.md; each off by default, so the default config is the reference model): a
depthwise causal convolution of width K on q, k and v (`conv_width`), the learned Hedgehog feature map,
`window_heads` heads of exact softmax over the last `window_size`
positions, `positions="none"`, the codon frame's phase pair (`phase_period`) and a state split by it
(`phase_split_state`); the `match_order` input (model/match.py: the model reads input ids that
carry each position's match; every caller builds them with match.model_inputs). The convolution and the window read R = context_rows rows of
each layer's input before a chunk: forward calls carry them in the state, and `rebuild_chunk`
recomputes them from T = prefix_length tokens before the chunk (Layer docstring).

Call forms (linen `apply`, with `method=` for all but the first; favor+ needs `rngs={"features": key}`,
other maps no rng). Each returns one type:
  apply(v, tokens_BL, position_offset=t0) -> logits_BLV        a whole sequence, no state in or out.
  apply(v, tokens_BC, states, t0, method="chunk") -> ChunkOutput(logits_BCV, end_states)
                                                            one chunk from per-layer start states (a
                                                            decode step is a chunk of one token).
  apply(v, tokens_BC, end_states, t0, first_chunk, prefix_BT, method="rebuild_chunk")
      -> RebuiltChunk(logits_BCV, end_states, start_states)  the SLiM backward's chunk: each layer
                                                            rebuilds its start state by subtraction
                                                            (prefix_BT: the T tokens before the chunk, when T > 0).
  A softmax model's `chunk` takes `states=init_kv_cache(...)` (cached decoding). `return_hidden=True`
  gives the final hidden states h_BLD in place of the logits.
"""

import math
from typing import Any, NamedTuple, Optional, Sequence, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from genome_transformer import config_lib
from genome_transformer.model import feature_maps, linear_attention, local_mixing, match, softmax_attention

LAYER_NORM_EPS = 1e-5  # PyTorch's default; Flax's is 1e-6.

# Per layer: (S_BHMd, z_BHM, context_BRD): the linear-attention state of the layer's linear heads,
# and the last R rows of the layer's input, which its convolution and window read (R may be 0).
LayerState = Tuple[jax.Array, jax.Array, jax.Array]
LayerStates = Sequence[LayerState]

WHOLE, CHUNK, REBUILD = "whole", "chunk", "rebuild"  # How a layer runs (Layer docstring).


class ChunkOutput(NamedTuple):
  """A chunk run from its start states."""

  out: jax.Array  # logits_BCV, or the final hidden states h_BCD (return_hidden).
  end_states: Tuple[LayerState, ...]


class RebuiltChunk(NamedTuple):
  """A chunk run from its end states, each layer's start state rebuilt by subtraction."""

  out: jax.Array  # logits_BCV, or h_BCD (return_hidden).
  end_states: Tuple[LayerState, ...]  # Recomputed from the rebuilt start states (their vjp carries the gradient).
  start_states: Tuple[LayerState, ...]


def _torch_uniform(fan_in: int):
  """PyTorch's Linear init for weights and biases alike: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
  bound = 1.0 / math.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def _dense(features: int, fan_in: int, name: str) -> nn.Dense:
  return nn.Dense(features, kernel_init=_torch_uniform(fan_in), bias_init=_torch_uniform(fan_in), name=name)


def head_dim(config: config_lib.ModelConfig) -> int:
  """d: the value width per head."""
  return config.d_model // config.num_heads


def linear_heads(config: config_lib.ModelConfig) -> int:
  """Heads that run causal linear attention; the first model.window_heads run windowed softmax."""
  return config.num_heads - config.window_heads


def num_features(config: config_lib.ModelConfig) -> int:
  """M, features per head of every layer's state (times the classes when the state is split by position)."""
  per_class = feature_maps.num_features(config.feature_map, head_dim(config), config.num_feature_blocks)
  return per_class * math.prod(period for _, period, _ in position_cycles(config))


def position_cycles(config: config_lib.ModelConfig) -> Tuple[Tuple[str, int, int], ...]:
  """(parameter name, period P, block B) of each class the linear state is split by (linear_attention.split_by_position)."""
  cycles = []
  if config.phase_split_state:
    cycles.append(("phase_log_weights", int(config.phase_period), 1))
  return tuple(cycles)


def context_rows(config: config_lib.ModelConfig) -> int:
  """R: how many rows of a layer's input before a position its convolution and window read."""
  conv = max(config.conv_width - 1, 0)
  window = config.window_size - 1 if config.window_heads else 0
  return conv + window


def prefix_length(config: config_lib.ModelConfig) -> int:
  """T = s R: tokens before a chunk from which every layer's context rows can be recomputed.

  Layer i's input is exact from row i R of a run that starts with no context (each layer's
  convolution and window spoil R more leading rows), so s R rows ahead of a chunk give every
  layer its R context rows (SLiMPerformer.rebuild_chunk).
  """
  return config.num_layers * context_rows(config)


def init_states(
  config: config_lib.ModelConfig, batch_size: int, dtype=jnp.float32, activation_dtype=None
) -> Tuple[LayerState, ...]:
  """Per-layer states for the start of a sequence: zero (S, z), and context rows that lie before it.

  `activation_dtype` (default `dtype`) is the dtype of the context rows, which are activations,
  where (S, z) may be kept wider (sublinear.loss_and_grad's state_dtype).
  """
  if config.attention != "linear":
    raise ValueError(
      f"model.attention={config.attention!r} has no constant-size state; a softmax model decodes from a "
      "key/value cache (init_kv_cache)."
    )
  # Separate arrays per layer: a caller may donate the states, and XLA cannot donate one buffer twice.
  return tuple(
    linear_attention.zero_state(batch_size, linear_heads(config), num_features(config), head_dim(config), dtype)
    + (jnp.zeros((batch_size, context_rows(config), config.d_model), activation_dtype or dtype),)
    for _ in range(config.num_layers)
  )


def init_kv_cache(
  config: config_lib.ModelConfig, batch_size: int, max_length: int, dtype=jnp.float32
) -> Tuple[LayerState, ...]:
  """Per-layer states of a softmax model: empty key/value caches of `max_length` positions.

  Per layer (k_BHTd, v_BHTd, context rows): memory 2 s T D floats, growing with the context, where a
  linear model's state is constant. Heads before positions, so that a query reads each head's keys
  and values contiguously (with positions first, XLA copied the whole cache into that layout at
  every token).
  """
  if config.attention != "softmax":
    raise ValueError(
      f"model.attention={config.attention!r}: a key/value cache is for 'softmax'; a linear "
      "model decodes from its constant-size state (init_states)."
    )
  shape = (batch_size, config.num_heads, max_length, head_dim(config))
  context_shape = (batch_size, context_rows(config), config.d_model)
  return tuple(
    (jnp.zeros(shape, dtype), jnp.zeros(shape, dtype), jnp.zeros(context_shape, dtype))
    for _ in range(config.num_layers)
  )


def sinusoid_positions(positions_L: jax.Array, width: int, dtype) -> jax.Array:
  """[sin | cos] block of `width` (= D/2) at absolute positions, the reference's frequencies."""
  freqs_F = jnp.exp(jnp.arange(0, width, 2).astype(dtype) * (-math.log(10000.0) / width))
  args_LF = positions_L.astype(dtype)[:, None] * freqs_F[None, :]
  return jnp.concatenate([jnp.sin(args_LF), jnp.cos(args_LF)], axis=-1)


def phase_pair(positions_L: jax.Array, period: int, dtype) -> jax.Array:
  """[sin, cos] of 2 pi (t mod period) / period: the remainder is taken on integers, so the pair is exact
  at any position (2 pi t / period in float32 would drift far into a chromosome)."""
  angle_L = jnp.mod(positions_L, period).astype(dtype) * (2.0 * math.pi / period)
  return jnp.stack([jnp.sin(angle_L), jnp.cos(angle_L)], axis=-1)


class Layer(nn.Module):
  """One attention block and one FFN block, each residual, post-LN or pre-LN.

  Input rows x_BED at absolute `positions_E` (rows at negative positions lie before the sequence
  and count as absent: zero input to the convolution, no key for the window or the state). The
  first `num_context` rows are context before the chunk. `mode`:
  - WHOLE: the whole sequence (num_context = 0, no state); returns every row.
  - CHUNK: state = the chunk's start state, the context rows are the carried ones; returns the chunk's rows.
  - REBUILD: state = the chunk's END state, and the context rows are a recomputed prefix
    (SLiMPerformer.rebuild_chunk); returns every row but the first R (R = context_rows), so that the
    next layer gets its prefix less the R rows this layer's convolution and window read before it.
  The linear heads read no row before their first query (the state holds the past), so they run on the
  returned rows only. Returns (rows, end state, start state); a state is None where the mode has none.
  """

  config: config_lib.ModelConfig

  @nn.compact
  def __call__(
    self,
    x_BED: jax.Array,
    positions_E: jax.Array,
    features_HdM: Optional[jax.Array],
    *,
    mode: str,
    state: Optional[LayerState] = None,
    num_context: int = 0,
    first_chunk: Any = False,
  ):
    cfg = self.config
    batch, rows, width = x_BED.shape
    heads, dim = cfg.num_heads, head_dim(cfg)
    window_heads = cfg.window_heads
    if mode not in (WHOLE, CHUNK, REBUILD):
      raise ValueError(f"Layer mode {mode!r} is not one of {(WHOLE, CHUNK, REBUILD)}.")
    if (state is None) != (mode == WHOLE):
      raise ValueError(f"Layer mode {mode!r} {'takes no' if mode == WHOLE else 'needs a'} state.")
    if mode == WHOLE:
      out_rows = rows
    elif mode == REBUILD:
      out_rows = rows - context_rows(cfg)
    else:
      out_rows = rows - num_context
    ln_attention = nn.LayerNorm(epsilon=LAYER_NORM_EPS, name="ln_attention")
    ln_ffn = nn.LayerNorm(epsilon=LAYER_NORM_EPS, name="ln_ffn")
    valid_E = positions_E >= 0

    h_BED = x_BED if cfg.on_gptln else ln_attention(x_BED)
    q_BEF = _dense(heads * dim, width, "query")(h_BED)
    k_BEF = _dense(heads * dim, width, "key")(h_BED)
    v_BED = _dense(width, width, "value")(h_BED)
    if cfg.conv_width:
      q_BEF = self._shared(local_mixing.CausalConv(cfg.conv_width, "conv_query"))(q_BEF, valid_E)
      k_BEF = self._shared(local_mixing.CausalConv(cfg.conv_width, "conv_key"))(k_BEF, valid_E)
      v_BED = self._shared(local_mixing.CausalConv(cfg.conv_width, "conv_value"))(v_BED, valid_E)
    q_BEHd = q_BEF.reshape(batch, rows, heads, dim)
    k_BEHd = k_BEF.reshape(batch, rows, heads, dim)
    v_BEHd = v_BED.reshape(batch, rows, heads, dim)

    end_state = start_state = None
    if cfg.attention == "softmax" and mode == WHOLE:
      a_BOHd = softmax_attention.causal_softmax(q_BEHd, k_BEHd, v_BEHd)
    elif cfg.attention == "softmax":
      a_BOHd, end_state = softmax_attention.cached_softmax(
        q_BEHd[:, num_context:], k_BEHd[:, num_context:], v_BEHd[:, num_context:], state, positions_E[num_context]
      )
    else:
      parts = []
      if feature_maps.get(cfg.feature_map).weights == feature_maps.WEIGHTS_LEARNED:  # A parameter of each layer.
        projection = feature_maps.LearnedProjection(heads - window_heads, dim, cfg.num_feature_blocks * dim)
        features_HdM = self._shared(projection)()
      if window_heads:
        parts.append(
          local_mixing.sliding_window_softmax(
            q_BEHd[:, :, :window_heads],
            k_BEHd[:, :, :window_heads],
            v_BEHd[:, :, :window_heads],
            cfg.window_size,
            valid_E,
            out_rows,
          )
        )
      linear_out, end_state, start_state = self._linear_attention(
        q_BEHd[:, rows - out_rows :, window_heads:],
        k_BEHd[:, rows - out_rows :, window_heads:],
        v_BEHd[:, rows - out_rows :, window_heads:],
        valid_E[rows - out_rows :],
        positions_E[rows - out_rows :],
        num_context - (rows - out_rows),
        features_HdM,
        mode,
        state,
        first_chunk,
      )
      parts.append(linear_out)
      a_BOHd = jnp.concatenate(parts, axis=2) if len(parts) > 1 else parts[0]

    a_BOD = a_BOHd.reshape(batch, out_rows, width)
    x_BOD = x_BED[:, rows - out_rows :]
    x_BOD = x_BOD + (ln_attention(a_BOD) if cfg.on_gptln else a_BOD)

    h_BOD = x_BOD if cfg.on_gptln else ln_ffn(x_BOD)
    h_BOF = _dense(cfg.d_ff, width, "ffn_in")(h_BOD)
    h_BOF = nn.gelu(h_BOF, approximate=False)  # Exact erf GELU as torch's default.
    h_BOD = _dense(width, cfg.d_ff, "ffn_out")(h_BOF)
    x_BOD = x_BOD + (ln_ffn(h_BOD) if cfg.on_gptln else h_BOD)
    return x_BOD, end_state, start_state

  def _shared(self, submodule: nn.Module) -> nn.Module:
    """`submodule` with this layer's scope: its parameters keep their names at the layer (nn.share_scope)."""
    nn.share_scope(self, submodule)
    return submodule

  def _linear_attention(
    self, q_BEHd, k_BEHd, v_BEHd, valid_E, positions_E, num_context, features_HdM, mode, state, first_chunk
  ):
    """Causal linear attention of the linear heads on the returned rows: (out, end state, start state).

    The first `num_context` rows (a recomputed prefix, in mode REBUILD only) lie before the chunk.
    """
    cfg = self.config
    floor = cfg.hedgehog_floor
    phi_q_BEHM = feature_maps.feature_map(q_BEHd, cfg.feature_map, features_HdM, floor)
    # A row before the sequence start adds nothing to any state.
    phi_k_BEHM = feature_maps.feature_map(k_BEHd, cfg.feature_map, features_HdM, floor) * valid_E[None, :, None, None]
    eps = feature_maps.denominator_epsilon(cfg.feature_map, head_dim(cfg))
    # exp of zero-initialised parameters: positive, and 1 at init, where the split model is the unsplit one.
    cycles = [
      (period, block, self.param(name, nn.initializers.zeros, (phi_k_BEHM.shape[2], period)))
      for name, period, block in position_cycles(cfg)
    ]
    if cycles:
      phi_q_BEHM, phi_k_BEHM = linear_attention.split_by_position(
        phi_q_BEHM, phi_k_BEHM, positions_E, positions_E, cycles
      )
    if mode == WHOLE:
      return linear_attention.causal_linear_attention_prefix_sum(phi_q_BEHM, phi_k_BEHM, v_BEHd, eps=eps), None, None
    given = state[:2]
    chunk_k_BCHM, chunk_v_BCHd = phi_k_BEHM[:, num_context:], v_BEHd[:, num_context:]
    if mode == CHUNK:
      out_BCHd, end = linear_attention.causal_linear_attention_block(phi_q_BEHM, chunk_k_BCHM, chunk_v_BCHd, given, eps)
      return out_BCHd, end, None
    # SLiM backward (paper Sec. 3, Alg. 1): the start state is the end state minus this chunk's
    # contribution. The subtracted term is a constant (stop_gradient): the start state is an input
    # of the chunk, so d(start)/d(given) = I and no parameter gradient flows through the rebuild.
    # In the first chunk the start state is exactly zero (end - end), as the reference resets it,
    # which stops round-off at the sequence start.
    delta = linear_attention.state_delta(chunk_k_BCHM, chunk_v_BCHd)
    start = tuple(
      given_x - jax.lax.stop_gradient(jnp.where(first_chunk, given_x, d.astype(given_x.dtype)))
      for given_x, d in zip(given, delta)
    )
    end = tuple(s + d.astype(s.dtype) for s, d in zip(start, delta))
    run_from = start
    if num_context:
      # The recomputed prefix runs from the state at its first row: the start state minus the
      # prefix's contribution, a function of the start state and the parameters (the gradient flows
      # through it, unlike the subtraction above, since the prefix is not part of this chunk's
      # carried input). A prefix that reaches back past the sequence start starts from exactly zero.
      prefix = linear_attention.state_delta(phi_k_BEHM[:, :num_context], v_BEHd[:, :num_context])
      run_from = tuple(
        jnp.where(positions_E[0] <= 0, 0.0, s - d.astype(s.dtype)).astype(s.dtype) for s, d in zip(start, prefix)
      )
    out_BEHd, _ = linear_attention.causal_linear_attention_block(phi_q_BEHM, phi_k_BEHM, v_BEHd, run_from, eps)
    return out_BEHd, end, start


class SLiMPerformer(nn.Module):
  """The SLiM Performer language model; `config` is the model section of an experiment config."""

  config: config_lib.ModelConfig

  def __post_init__(self):
    # Typed, complete (an old export's missing fields at their defaults) and hashable: the model can be a
    # static argument of jax.jit.
    object.__setattr__(self, "config", config_lib.ModelConfig.of(self.config))
    super().__post_init__()

  init_states = staticmethod(init_states)
  init_kv_cache = staticmethod(init_kv_cache)

  def __call__(self, tokens_BL: jax.Array, *, position_offset: Any = 0, return_hidden: bool = False) -> jax.Array:
    """A whole sequence starting at `position_offset`, no state in or out: logits_BLV (or h_BLD)."""
    return self._run(tokens_BL, WHOLE, position_offset, return_hidden=return_hidden)[0]

  def chunk(
    self, tokens_BC: jax.Array, states: LayerStates, position_offset: Any, *, return_hidden: bool = False
  ) -> ChunkOutput:
    """One chunk from each layer's start state (init_states, or init_kv_cache for a softmax model)."""
    out, end_states, _ = self._run(tokens_BC, CHUNK, position_offset, states, return_hidden=return_hidden)
    return ChunkOutput(out, end_states)

  def rebuild_chunk(
    self,
    tokens_BC: jax.Array,
    end_states: LayerStates,
    position_offset: Any,
    first_chunk: Any,
    prefix_BT: Optional[jax.Array] = None,
    *,
    return_hidden: bool = False,
  ) -> RebuiltChunk:
    """The SLiM backward's chunk: from each layer's END state, its start state rebuilt by subtraction.

    `first_chunk` (a bool, may be traced): the start states are exactly zero, as the reference resets them.
    `prefix_BT`: the T = prefix_length tokens before the chunk (PAD before the sequence start), from which
    every layer's context rows are recomputed; None when T = 0.
    """
    return RebuiltChunk(
      *self._run(tokens_BC, REBUILD, position_offset, end_states, first_chunk, prefix_BT, return_hidden)
    )

  @nn.compact
  def _run(
    self,
    tokens_BL: jax.Array,
    mode: str,
    position_offset: Any,
    states: Optional[LayerStates] = None,
    first_chunk: Any = False,
    prefix_BT: Optional[jax.Array] = None,
    return_hidden: bool = False,
  ):
    """(out, end states, start states) of `mode`; the states it does not produce are None."""
    cfg = self.config
    if cfg.d_model % 4 or cfg.d_model % cfg.num_heads:
      raise ValueError(f"model.d_model={cfg.d_model} must be divisible by 4 and by model.num_heads={cfg.num_heads}.")
    if mode != WHOLE:
      if cfg.attention != "linear" and mode == REBUILD:
        raise ValueError(f"model.attention={cfg.attention!r} has no recurrence to rebuild: it trains whole.")
      if len(states) != cfg.num_layers:
        raise ValueError(f"`states` has {len(states)} layers; model.num_layers={cfg.num_layers}.")
    num_prefix = prefix_length(cfg) if mode == REBUILD else 0
    if num_prefix and (prefix_BT is None or prefix_BT.shape != (tokens_BL.shape[0], num_prefix)):
      raise ValueError(
        f"rebuild_chunk needs prefix_BT, the {num_prefix} tokens before the chunk (model.prefix_length), as [batch, T]."
      )

    if num_prefix:
      tokens_BL = jnp.concatenate([prefix_BT.astype(tokens_BL.dtype), tokens_BL], axis=1)
    rows = tokens_BL.shape[1]
    positions_E = position_offset - num_prefix + jnp.arange(rows)
    x_BED = self._embed(tokens_BL, positions_E)

    favor = cfg.attention == "linear" and feature_maps.get(cfg.feature_map).weights == feature_maps.WEIGHTS_DRAWN
    # One make_rng per call, each layer folding in its index: the same key gives the same
    # features in every chunk of a sequence.
    features_key = self._feature_key() if favor else None
    r = context_rows(cfg)
    end_states, start_states = [], []
    for i in range(cfg.num_layers):
      features_HdM = None
      if favor:
        features_HdM = feature_maps.orthogonal_features(
          jax.random.fold_in(features_key, i), linear_heads(cfg), head_dim(cfg), cfg.num_feature_blocks, x_BED.dtype
        )
      layer = Layer(cfg, name=f"layer_{i}")
      if mode == WHOLE:
        x_BED, _, _ = layer(x_BED, positions_E, features_HdM, mode=WHOLE)
      elif mode == REBUILD:
        # Layer i reads the prefix less its first i R rows: each layer before it used R rows as context and
        # returned the rest, so every row it is given is exact.
        x_in_BED, num_context, positions_i = x_BED, num_prefix - i * r, positions_E[i * r :]
        x_BED, end, start = layer(
          x_BED,
          positions_i,
          features_HdM,
          mode=REBUILD,
          state=states[i],
          num_context=num_context,
          first_chunk=first_chunk,
        )
        end_states.append(end + (x_in_BED[:, x_in_BED.shape[1] - r :],))
        # Rows before the sequence start are absent; zero, as init_states has them.
        present_1R1 = (positions_i[num_context - r : num_context] >= 0)[None, :, None]
        start_states.append(start + (jnp.where(present_1R1, x_in_BED[:, num_context - r : num_context], 0.0),))
      else:
        x_ext_BED = jnp.concatenate([states[i][2].astype(x_BED.dtype), x_BED], axis=1)
        positions_ext = position_offset - r + jnp.arange(r + rows)
        x_BED, end, _ = layer(x_ext_BED, positions_ext, features_HdM, mode=CHUNK, state=states[i], num_context=r)
        end_states.append(end + (x_ext_BED[:, rows:],))

    x_BLD = x_BED[:, x_BED.shape[1] - (rows - num_prefix) :]
    out = x_BLD if return_hidden else _dense(cfg.vocab_size, cfg.d_model, "head")(x_BLD)
    if mode == WHOLE:
      return out, None, None
    return out, tuple(end_states), (tuple(start_states) if mode == REBUILD else None)

  def _embed(self, ids_BL: jax.Array, positions_L: jax.Array) -> jax.Array:
    """Token embedding (plus the match's), concatenated with the phase pair and sinusoids of the positions."""
    cfg = self.config
    sinusoid = cfg.positions == "sinusoid"
    period = int(cfg.phase_period)
    width = config_lib.token_embedding_width(cfg)
    tokens_BL = match.tokens_of(ids_BL) if cfg.match_order else ids_BL
    emb_BLE = nn.Embed(cfg.vocab_size, width, embedding_init=nn.initializers.normal(1.0), name="embed")(tokens_BL)
    if cfg.match_order:
      # Zero at init, so the model starts as the one without the match input.
      match_embed = nn.Embed(match.NUM_VALUES, width, embedding_init=nn.initializers.zeros, name="match_embed")
      emb_BLE = emb_BLE + match_embed(ids_BL // cfg.vocab_size)
    blocks_L = [phase_pair(positions_L, period, emb_BLE.dtype)] if period else []
    if sinusoid:
      blocks_L.append(sinusoid_positions(positions_L, cfg.d_model // 2, emb_BLE.dtype))
    batch = emb_BLE.shape[:1]
    return jnp.concatenate([emb_BLE, *(jnp.broadcast_to(b, batch + b.shape) for b in blocks_L)], axis=-1)

  def _feature_key(self) -> jax.Array:
    if self.has_rng("features"):
      return self.make_rng("features")
    if self.is_initializing():
      return jax.random.PRNGKey(0)  # The draw does not shape the parameters.
    raise ValueError(
      "feature_map='favor+' draws random features: call apply(..., rngs={'features': key}) "
      "with the same key for every chunk of a sequence."
    )
