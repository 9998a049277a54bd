# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The SLiM Performer (Likhosherstov et al., NeurIPS 2021) as a Flax linen module.

Faithful to the reference PyTorch model (google-research performer/models/slim_performer):
- Input: a token embedding of width D/2 concatenated with a sin block and a cos block of width
  D/4 each, at absolute positions (a chunk's `position_offset` is added), frequencies
  exp(-j ln(10000) / (D/2)) for j = 0, 2, 4, ...
- Each layer: attention then FFN, each residual. `on_gptln=True`: x + LN(f(x)) (post-LN, the
  reference's PTB/enwik8 setting); False: x + f(LN(x)) (pre-LN). No final LayerNorm.
- Attention: q, k, v Dense(D, D) with bias, no output projection, no dropout; causal linear
  attention with phi in {relu, elu+1, sqr, favor+} (see attention.py), or causal softmax
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
  A fixed shift keeps exp finite; the ratio is unchanged (attention.py docstring).
- Inside a chunk, linear attention uses masked products phi(Q) phi(K)^T over sub-chunks of 64
  plus the state carried to each sub-chunk, instead of the reference's per-chunk cumulative sum:
  the same sums in a different order, with memory 64 C H + (C / 64) H M d instead of C H M d
  (attention.py). The whole-sequence path (`states=None`) is the reference's prefix sum.
- Weights are float32 and activations follow the parameter dtype (cast the params to float64 to
  run everything in float64).

Call forms (all linen `apply`; favor+ needs `rngs={"features": key}`, other maps no rng):
  apply(v, tokens_BL) -> logits_BLV                          whole sequence from position 0.
  apply(v, tokens_BL, position_offset=t0, states=s) -> (logits_BLV, end_states)
                                                            one chunk from per-layer states.
  apply(v, tokens_BL, position_offset=t0, states=end, states_at_end=True, first_chunk=f)
      -> (logits_BLV, end_states, start_states)            the SLiM backward's chunk: each layer
                                                            rebuilds its start state by subtraction.
  `return_hidden=True` returns the final hidden states h_BLD in place of the logits.
"""

import math
from typing import Any, Optional, Sequence, Tuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from genome_transformer import attention

LAYER_NORM_EPS = 1e-5  # PyTorch's default; Flax's is 1e-6.

LayerStates = Sequence[attention.State]  # One (S_BHMd, z_BHM) per layer.


def _torch_uniform(fan_in: int):
  """PyTorch's Linear init for weights and biases alike: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
  bound = 1.0 / math.sqrt(fan_in)

  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def _dense(features: int, fan_in: int, name: str) -> nn.Dense:
  return nn.Dense(features, kernel_init=_torch_uniform(fan_in), bias_init=_torch_uniform(fan_in), name=name)


def head_dim(config: ml_collections.ConfigDict) -> int:
  return config.d_model // config.num_heads


def num_features(config: ml_collections.ConfigDict) -> int:
  """M, features per head of every layer's state."""
  return attention.num_features(config.feature_map, head_dim(config), config.num_feature_blocks)


def init_states(config: ml_collections.ConfigDict, batch_size: int, dtype=jnp.float32) -> Tuple[attention.State, ...]:
  """Zero per-layer states (S_BHMd, z_BHM) for the start of a sequence."""
  if config.attention != "linear":
    raise ValueError(f"model.attention={config.attention!r} has no recurrent state; only 'linear' does.")
  return tuple(attention.zero_state(batch_size, config.num_heads, num_features(config), head_dim(config), dtype)
               for _ in range(config.num_layers))


def sinusoid_positions(positions_L: jax.Array, width: int, dtype) -> jax.Array:
  """[sin | cos] block of `width` (= D/2) at absolute positions, the reference's frequencies."""
  freqs_F = jnp.exp(jnp.arange(0, width, 2).astype(dtype) * (-math.log(10000.0) / width))
  args_LF = positions_L.astype(dtype)[:, None] * freqs_F[None, :]
  return jnp.concatenate([jnp.sin(args_LF), jnp.cos(args_LF)], axis=-1)


class Layer(nn.Module):
  """One attention block and one FFN block, each residual, post-LN or pre-LN."""
  config: ml_collections.FrozenConfigDict

  @nn.compact
  def __call__(self, x_BLD: jax.Array, features_HdM: Optional[jax.Array], state: Optional[attention.State],
               states_at_end: bool = False, first_chunk: Any = False):
    cfg = self.config
    batch, length, width = x_BLD.shape
    heads, dim = cfg.num_heads, head_dim(cfg)
    ln_attention = nn.LayerNorm(epsilon=LAYER_NORM_EPS, name="ln_attention")
    ln_ffn = nn.LayerNorm(epsilon=LAYER_NORM_EPS, name="ln_ffn")

    h_BLD = x_BLD if cfg.on_gptln else ln_attention(x_BLD)
    q_BLHd = _dense(width, width, "query")(h_BLD).reshape(batch, length, heads, dim)
    k_BLHd = _dense(width, width, "key")(h_BLD).reshape(batch, length, heads, dim)
    v_BLHd = _dense(width, width, "value")(h_BLD).reshape(batch, length, heads, dim)

    end_state = start_state = None
    if cfg.attention == "softmax":
      a_BLHd = jax.nn.dot_product_attention(q_BLHd, k_BLHd, v_BLHd, is_causal=True)
    else:
      phi_q_BLHM = attention.feature_map(q_BLHd, cfg.feature_map, features_HdM)
      phi_k_BLHM = attention.feature_map(k_BLHd, cfg.feature_map, features_HdM)
      eps = attention.denominator_epsilon(cfg.feature_map, dim)
      if state is None:
        a_BLHd = attention.causal_linear_attention_prefix_sum(phi_q_BLHM, phi_k_BLHM, v_BLHd, eps=eps)
      else:
        if states_at_end:
          # SLiM backward (paper Sec. 3, Alg. 1): the start state is the end state minus this
          # chunk's contribution. The subtracted term is a constant (stop_gradient): the start
          # state is an input of the chunk, so d(start)/d(given) = I and no parameter gradient
          # flows through the rebuild. In the first chunk the start state is exactly zero
          # (end - end), as the reference resets it, which stops round-off at the sequence start.
          delta = attention.state_delta(phi_k_BLHM, v_BLHd)
          state = tuple(
              given - jax.lax.stop_gradient(jnp.where(first_chunk, given, d.astype(given.dtype)))
              for given, d in zip(state, delta))
          start_state = state
        a_BLHd, end_state = attention.causal_linear_attention_block(phi_q_BLHM, phi_k_BLHM, v_BLHd, state, eps)

    a_BLD = a_BLHd.reshape(batch, length, width)
    x_BLD = x_BLD + (ln_attention(a_BLD) if cfg.on_gptln else a_BLD)

    h_BLD = x_BLD if cfg.on_gptln else ln_ffn(x_BLD)
    h_BLF = _dense(cfg.d_ff, width, "ffn_in")(h_BLD)
    h_BLF = nn.gelu(h_BLF, approximate=False)  # Exact erf GELU as torch's default.
    h_BLD = _dense(width, cfg.d_ff, "ffn_out")(h_BLF)
    x_BLD = x_BLD + (ln_ffn(h_BLD) if cfg.on_gptln else h_BLD)
    return x_BLD, end_state, start_state


class SLiMPerformer(nn.Module):
  """The SLiM Performer language model; `config` is the model section of an experiment config."""
  config: ml_collections.ConfigDict

  def __post_init__(self):
    # A FrozenConfigDict is hashable, so the model can be a static argument of jax.jit.
    if not isinstance(self.config, ml_collections.FrozenConfigDict):
      object.__setattr__(self, "config", ml_collections.FrozenConfigDict(self.config))
    super().__post_init__()

  init_states = staticmethod(init_states)

  @nn.compact
  def __call__(self, tokens_BL: jax.Array, *, position_offset: Any = 0, states: Optional[LayerStates] = None,
               states_at_end: bool = False, first_chunk: Any = False, return_hidden: bool = False):
    cfg = self.config
    if cfg.d_model % 4 or cfg.d_model % cfg.num_heads:
      raise ValueError(f"model.d_model={cfg.d_model} must be divisible by 4 and by model.num_heads={cfg.num_heads}.")
    if states is not None:
      if cfg.attention != "linear":
        raise ValueError(f"model.attention={cfg.attention!r} has no recurrent state: call without `states`.")
      if len(states) != cfg.num_layers:
        raise ValueError(f"`states` has {len(states)} layers; model.num_layers={cfg.num_layers}.")
    elif states_at_end:
      raise ValueError("states_at_end=True needs the end-of-chunk `states`.")

    length = tokens_BL.shape[1]
    emb_BLE = nn.Embed(cfg.vocab_size, cfg.d_model // 2, embedding_init=nn.initializers.normal(1.0),
                       name="embed")(tokens_BL)
    positions_L = position_offset + jnp.arange(length)
    pos_LE = sinusoid_positions(positions_L, cfg.d_model // 2, emb_BLE.dtype)
    x_BLD = jnp.concatenate([emb_BLE, jnp.broadcast_to(pos_LE, emb_BLE.shape)], axis=-1)

    favor = cfg.attention == "linear" and cfg.feature_map == "favor+"
    # One make_rng per call, each layer folding in its index: the same key gives the same
    # features in every chunk of a sequence.
    features_key = self._feature_key() if favor else None
    end_states, start_states = [], []
    for i in range(cfg.num_layers):
      features_HdM = None
      if favor:
        features_HdM = attention.orthogonal_features(jax.random.fold_in(features_key, i), cfg.num_heads,
                                                     head_dim(cfg), cfg.num_feature_blocks, x_BLD.dtype)
      x_BLD, end_state, start_state = Layer(cfg, name=f"layer_{i}")(
          x_BLD, features_HdM, None if states is None else states[i], states_at_end, first_chunk)
      end_states.append(end_state)
      start_states.append(start_state)

    out = x_BLD if return_hidden else _dense(cfg.vocab_size, cfg.d_model, "head")(x_BLD)
    if states is None:
      return out
    if states_at_end:
      return out, tuple(end_states), tuple(start_states)
    return out, tuple(end_states)

  def _feature_key(self) -> jax.Array:
    if self.has_rng("features"):
      return self.make_rng("features")
    if self.is_initializing():
      return jax.random.PRNGKey(0)  # The draw does not shape the parameters.
    raise ValueError("feature_map='favor+' draws random features: call apply(..., rngs={'features': key}) "
                     "with the same key for every chunk of a sequence.")
