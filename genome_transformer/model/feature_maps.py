# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Feature maps phi of causal linear attention, as a registry: a new map is one `FeatureMap` entry.

Each map turns queries and keys x_BLHd into M non-negative features per head, phi_BLHM, the same map
for both (as in the reference). Per entry: how many features M a head of width d gets, the map itself,
the guard added to the attention's denominator, and the weights W_HdM it reads, if any: drawn from the
"features" rng (FAVOR+'s random features) or a learned parameter of each layer (Hedgehog's projection).
The map acts on each position alone, so chunked, sub-linear and step-by-step attention see the same phi.

FAVOR+ (Choromanski et al., "Rethinking Attention with Performers", Lemma 1): with x~ = x d^-1/4
and w_m orthogonal rows of norm sqrt(d), phi(x)_m = exp(w_m . x~ - |x~|^2 / 2 - c). The reference
has c = 0 and no stabiliser; the Performer JAX code subtracts a max over the whole sequence,
which a chunked pass cannot know. We use the fixed shift c = d / 4 for both q and k. Because
w_m . x~ - |x~|^2/2 <= |w_m|^2 / 2 = d/2 for every x~, each feature is at most e^(d/4) and each
product phi(q)_m phi(k)_m at most e^(d/2) (the reference: e^d), so float32 stays finite for
d up to about 140 at L = 2^20. The shift multiplies numerator and denominator alike by e^(-2c);
we scale the 1e-16 guard by the same factor (`FeatureMap.epsilon`), so the ratio is exactly the
reference's, not an approximation (up to round-off; for d > 100 that guard falls below float32's
normal range and may flush to 0, which matters only if a denominator underflows too).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from genome_transformer import config_lib

# The reference's guard against 0/0 in out = num / (den + eps).
EPSILON = 1e-16

WEIGHTS_NONE, WEIGHTS_DRAWN, WEIGHTS_LEARNED = "none", "drawn", "learned"


@dataclasses.dataclass(frozen=True)
class FeatureMap:
  """One feature map: phi = apply(x_BLHd, weights_HdM, floor), M = features_per_block x blocks x d."""

  name: str
  apply: Callable[[jax.Array, Optional[jax.Array], float], jax.Array]
  features_per_block: int = 1  # M / d for one block of weights (hedgehog: 2, the map and its mirror).
  blocks: bool = False  # model.num_feature_blocks multiplies M (a map with weights only).
  weights: str = WEIGHTS_NONE  # W_HdM: none, drawn from the "features" rng, or learned per layer.
  shift: Callable[[int], float] = lambda head_dim: 0.0  # c inside exp: the guard is scaled by e^(-2c).

  def num_features(self, head_dim: int, num_blocks: int = 1) -> int:
    if self.blocks and num_blocks < 1:
      raise ValueError(f"model.num_feature_blocks={num_blocks} must be >= 1 for {self.name}.")
    return self.features_per_block * (num_blocks if self.blocks else 1) * head_dim

  def epsilon(self, head_dim: int) -> float:
    """The guard added to the denominator, scaled so that the map's shift cancels exactly."""
    return EPSILON * math.exp(-2.0 * self.shift(head_dim))


def favor_shift(head_dim: int) -> float:
  """The fixed shift c subtracted inside exp for FAVOR+ (see module docstring)."""
  return head_dim / 4.0


def orthogonal_features(key: jax.Array, num_heads: int, head_dim: int, num_blocks: int, dtype=jnp.float32) -> jax.Array:
  """Draws W_HdM: per head, N independent d x d orthogonal blocks, columns scaled to norm sqrt(d).

  Each block is the Q of a Gaussian matrix's QR with the signs of R's diagonal folded in, which
  makes Q Haar-distributed (a plain QR is biased towards R with positive diagonal).
  """
  g_HNdd = jax.random.normal(key, (num_heads, num_blocks, head_dim, head_dim), jnp.float32)
  q_HNdd, r_HNdd = jnp.linalg.qr(g_HNdd)
  signs_HNd = jnp.sign(jnp.diagonal(r_HNdd, axis1=-2, axis2=-1))
  signs_HNd = jnp.where(signs_HNd == 0, 1.0, signs_HNd)
  q_HNdd = q_HNdd * signs_HNd[..., None, :]
  # Columns of each block are the feature vectors w_m; lay the blocks side by side along M.
  w_HdM = jnp.transpose(q_HNdd, (0, 2, 1, 3)).reshape(num_heads, head_dim, num_blocks * head_dim)
  return (w_HdM * math.sqrt(head_dim)).astype(dtype)


def _favor(x_BLHd: jax.Array, features_HdM: jax.Array, floor: float = 0.0) -> jax.Array:
  del floor
  head_dim = x_BLHd.shape[-1]
  x_BLHd = x_BLHd * head_dim**-0.25
  proj_BLHM = jnp.einsum("blhd,hdm->blhm", x_BLHd, features_HdM.astype(x_BLHd.dtype))
  sq_norm_BLH1 = 0.5 * jnp.sum(jnp.square(x_BLHd), axis=-1, keepdims=True)
  return jnp.exp(proj_BLHM - sq_norm_BLH1 - favor_shift(head_dim))


def hedgehog_features(x_BLHd: jax.Array, projection_HdM: jax.Array, floor: float = 0.0) -> jax.Array:
  """phi(x) = [softmax(x W), softmax(-x W)] over the features: Hedgehog's learned map.

  Zhang et al. (arXiv 2402.04347) show that linear attention loses to softmax because its weights are
  neither spiky nor monotone in q.k, and that a learned projection under exp gives both back. The
  softmax over features is exp(u) divided by a per-position sum: for a query it cancels between
  numerator and denominator, for a key it is a learned per-key weight; either way it keeps exp finite.

  `floor` = f mixes in the uniform distribution, (1 - f) softmax + f / d' per half, so that every
  feature is at least f / d' of a sum of 1. Exp lets a feature fall to 1e-9 of the others, and then a
  query's denominator can rest on a state entry z_m that small, while the sub-linear reverse pass
  rebuilds z_m as z_end - dz_m from entries up to a chunk long: the cancellation leaves an error of
  float32's eps times those, orders of magnitude above z_m (docs/model.md, "Hedgehog and the rebuilt
  states"). The floor bounds the entries' range to d' / f.
  """
  u_BLHM = jnp.einsum("blhd,hdm->blhm", x_BLHd, projection_HdM.astype(x_BLHd.dtype))
  phi_BLHM = jnp.concatenate([jax.nn.softmax(u_BLHM, axis=-1), jax.nn.softmax(-u_BLHM, axis=-1)], axis=-1)
  if not floor:
    return phi_BLHM
  return (1.0 - floor) * phi_BLHM + floor / u_BLHM.shape[-1]


def _elementwise(fn: Callable[[jax.Array], jax.Array]):
  return lambda x_BLHd, weights_HdM=None, floor=0.0: fn(x_BLHd)


REGISTRY = {
  spec.name: spec
  for spec in (
    FeatureMap("relu", _elementwise(jax.nn.relu)),
    FeatureMap("elu+1", _elementwise(lambda x: jax.nn.elu(x) + 1.0)),
    FeatureMap("sqr", _elementwise(jnp.square)),
    FeatureMap("favor+", _favor, blocks=True, weights=WEIGHTS_DRAWN, shift=favor_shift),
    FeatureMap("hedgehog", hedgehog_features, features_per_block=2, blocks=True, weights=WEIGHTS_LEARNED),
  )
}
assert tuple(REGISTRY) == config_lib.FEATURE_MAPS, "config_lib.FEATURE_MAPS names the registry's maps in order."


def get(name: str) -> FeatureMap:
  if name not in REGISTRY:
    raise ValueError(f"model.feature_map={name!r} is not one of {tuple(REGISTRY)}.")
  return REGISTRY[name]


def num_features(feature_map: str, head_dim: int, num_feature_blocks: int = 1) -> int:
  """M, the number of features per head (`head_dim` is the width of q and k per head)."""
  return get(feature_map).num_features(head_dim, num_feature_blocks)


def denominator_epsilon(feature_map: str, head_dim: int) -> float:
  return get(feature_map).epsilon(head_dim)


@jax.named_scope("feature_map")
def feature_map(
  x_BLHd: jax.Array, kind: str, features_HdM: Optional[jax.Array] = None, hedgehog_floor: float = 0.0
) -> jax.Array:
  """phi(x) for queries or keys (the same map for both, as in the reference)."""
  spec = get(kind)
  if spec.weights != WEIGHTS_NONE and features_HdM is None:
    what = "random features (orthogonal_features)" if spec.weights == WEIGHTS_DRAWN else "learned projection"
    raise ValueError(f"feature_map={kind!r} needs its {what} W_HdM.")
  return spec.apply(x_BLHd, features_HdM, hedgehog_floor)


def identity_projections(key, shape, dtype=jnp.float32):
  """Hedgehog's projection starts as the identity per head: phi starts as [softmax(x), softmax(-x)].

  A projection wider than d (model.num_feature_blocks > 1) continues with random orthogonal blocks: a
  second identity would give two copies of every feature, which get equal gradients and stay copies.
  """
  heads, dim, features = shape
  identity_Hdd = jnp.broadcast_to(jnp.eye(dim, dtype=dtype), (heads, dim, dim))
  if features == dim:
    return identity_Hdd
  rotations_BHdd = jax.random.orthogonal(key, dim, (features // dim - 1, heads), dtype=dtype)
  return jnp.concatenate([identity_Hdd, *rotations_BHdd], axis=-1)


class LearnedProjection(nn.Module):
  """The learned weights W_HdM of a map whose `weights` are WEIGHTS_LEARNED, as a submodule a layer composes.

  The layer shares its scope (nn.share_scope), so W is the layer's parameter "feature_projection".
  """

  heads: int
  head_dim: int
  num_features: int

  @nn.compact
  def __call__(self) -> jax.Array:
    shape = (self.heads, self.head_dim, self.num_features)
    return self.param("feature_projection", identity_projections, shape)
