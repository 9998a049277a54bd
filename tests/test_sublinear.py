# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The SLiM sub-linear loss_and_grad equals plain autodiff of the whole-sequence loss."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
from model_testing import COMPONENTS, chunk_start_states, init_variables, jit, make_config, perturbed
import numpy as np
import pytest

from genome_transformer.model import losses, sublinear
from genome_transformer.model import performer as model_lib

B, L = 2, 70
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tokens(seed=1, length=L):
  # Ids 0..5: bases, N and PAD, so some targets do not count.
  return jax.random.randint(jax.random.PRNGKey(seed), (B, length), 0, 6)


def _setup(dtype=jnp.float32, **overrides):
  config = make_config(**overrides)
  model = model_lib.SLiMPerformer(config)
  params = init_variables(model, _tokens(length=8))["params"]
  return model, jax.tree.map(lambda p: p.astype(dtype), params)


_full = jit(
  lambda model, params, tokens, rng: jax.value_and_grad(lambda p: losses.full_loss(model, p, tokens, rng))(params),
  static_argnums=0,
)
_slim = jit(sublinear.loss_and_grad, static_argnums=(0, 3))


def _assert_close(got, want, rtol, atol_frac):
  """Loss and every gradient leaf: |got - want| <= rtol |want| + atol_frac max|want leaf|."""
  (loss, grads), (loss_ref, grads_ref) = got, want
  np.testing.assert_allclose(loss, loss_ref, rtol=rtol)
  flat, _ = jax.tree_util.tree_flatten_with_path(grads)
  flat_ref = jax.tree.leaves(grads_ref)
  assert len(flat) == len(flat_ref)
  for (path, g), g_ref in zip(flat, flat_ref):
    atol = atol_frac * float(jnp.max(jnp.abs(g_ref)))
    np.testing.assert_allclose(g, g_ref, rtol=rtol, atol=atol, err_msg=jax.tree_util.keystr(path))


def test_next_token_loss_counts_only_base_targets():
  logits_BLV = jax.random.normal(jax.random.PRNGKey(0), (1, 5, 8))
  tokens_BL = jnp.array([[0, 4, 3, 5, 2]])  # targets: N (skip), T, PAD (skip), G.
  sum_nll, count = losses.next_token_loss(logits_BLV, tokens_BL)
  logp = jax.nn.log_softmax(logits_BLV[0], -1)
  assert float(count) == 2.0
  np.testing.assert_allclose(sum_nll, -(logp[1, 3] + logp[3, 2]), rtol=1e-6)


@pytest.mark.parametrize("chunk_size", [1, 7, 64, L - 1, L, 100])
def test_equals_autodiff_float32(chunk_size):
  model, params = _setup()
  _assert_close(
    _slim(model, params, _tokens(), chunk_size), _full(model, params, _tokens(), None), rtol=1e-4, atol_frac=1e-5
  )


@pytest.mark.parametrize(
  "feature_map,blocks,on_gptln", [("relu", 1, True), ("elu+1", 1, False), ("favor+", 1, True), ("favor+", 2, False)]
)
def test_equals_autodiff_each_feature_map(feature_map, blocks, on_gptln):
  model, params = _setup(feature_map=feature_map, num_feature_blocks=blocks, on_gptln=on_gptln)
  rng = jax.random.PRNGKey(3)
  _assert_close(
    _slim(model, params, _tokens(), 16, rng), _full(model, params, _tokens(), rng), rtol=1e-4, atol_frac=1e-5
  )


@pytest.mark.parametrize("feature_map,chunk_size", [("sqr", 1), ("sqr", 64), ("favor+", 7)])
def test_equals_autodiff_float64(feature_map, chunk_size):
  with jax.enable_x64(True):
    model, params = _setup(jnp.float64, feature_map=feature_map)
    rng = jax.random.PRNGKey(3)
    got = _slim(model, params, _tokens(), chunk_size, rng)
    assert got[0].dtype == jnp.float64
    _assert_close(got, _full(model, params, _tokens(), rng), rtol=1e-9, atol_frac=1e-11)


def test_float64_states_remedy_keeps_model_in_float32():
  with jax.enable_x64(True):
    model, params = _setup()
    got = sublinear.loss_and_grad(model, params, _tokens(), 16, None, jnp.float64)
    assert got[0].dtype == jnp.float32
    assert all(g.dtype == jnp.float32 for g in jax.tree.leaves(got[1]))
    states = chunk_start_states(model, params, _tokens(), 16, state_dtype=jnp.float64)
    assert all(s.dtype == jnp.float64 for layer in states for s in layer[:2])  # (S, z); context rows are activations.
    assert all(layer[2].dtype == jnp.float32 for layer in states)
    params64 = jax.tree.map(lambda p: p.astype(jnp.float64), params)
    _assert_close(got, _full(model, params64, _tokens(), None), rtol=1e-4, atol_frac=1e-5)


def test_rebuilt_start_states_equal_stored():
  with jax.enable_x64(True):
    model, params = _setup(jnp.float64)
    stored = chunk_start_states(model, params, _tokens(), 16)
    rebuilt = chunk_start_states(model, params, _tokens(), 16, rebuilt=True)
    assert stored[0][0].shape == (5, B, 2, 8, 8)  # 70 = 4 x 16 + 6: five chunks.
    for s, r in zip(
      jax.tree.leaves([layer[:2] for layer in stored]), jax.tree.leaves([layer[:2] for layer in rebuilt])
    ):
      np.testing.assert_array_equal(r[0], 0.0)  # The first chunk starts from exact zeros.
      np.testing.assert_allclose(r, s, rtol=1e-10, atol=1e-10 * float(jnp.max(jnp.abs(s))))
      assert float(jnp.max(jnp.abs(s[1:]))) > 1.0  # Non-trivial states were compared.


def test_gradients_flow_across_chunks():
  """Later chunks' losses depend on the first chunk's tokens only through the carried states.

  The first chunk (tokens 0..6) and the token after it are N: no target in or right after the first
  chunk counts, so a change of token 0 (N -> PAD, both non-targets) can move the loss only through
  the states the first chunk hands on. The sub-linear gradient must equal autodiff's for both.
  """
  model, params = _setup()
  tokens = _tokens().at[:, :8].set(4)
  altered = tokens.at[:, 0].set(5)
  loss, grads = _slim(model, params, tokens, 7)
  loss2, grads2 = _slim(model, params, altered, 7)
  assert abs(float(loss) - float(loss2)) > 1e-6
  assert max(float(jnp.max(jnp.abs(g - h))) for g, h in zip(jax.tree.leaves(grads), jax.tree.leaves(grads2))) > 1e-6
  for t, got in ((tokens, (loss, grads)), (altered, (loss2, grads2))):
    _assert_close(got, _full(model, params, t, None), rtol=1e-4, atol_frac=1e-5)


def test_no_base_targets_gives_zero_loss_and_gradient():
  model, params = _setup()
  tokens = jnp.full((B, 20), 4)  # All N: nothing to predict.
  loss, grads = _slim(model, params, tokens, 7)
  assert float(loss) == 0.0
  assert all(float(jnp.max(jnp.abs(g))) == 0.0 for g in jax.tree.leaves(grads))


def test_variables_or_bare_params_and_checkpointed_baseline():
  model, params = _setup()
  tokens = _tokens()
  loss, grads = _slim(model, {"params": params}, tokens, 16)
  assert set(grads) == {"params"}
  want = _full(model, params, tokens, None)
  _assert_close((loss, grads["params"]), want, rtol=1e-4, atol_frac=1e-5)
  baseline = jit(jax.value_and_grad(lambda p: losses.checkpointed_scan_loss(model, p, tokens, 16)))(params)
  _assert_close(baseline, want, rtol=1e-4, atol_frac=1e-5)


def test_softmax_and_bad_chunk_size_are_refused():
  model, params = _setup(attention="softmax")
  with pytest.raises(ValueError, match="value_and_grad\\(losses.full_loss\\)"):
    sublinear.loss_and_grad(model, params, _tokens(), 7)
  model, params = _setup()
  with pytest.raises(ValueError, match="chunk_size=0"):
    sublinear.loss_and_grad(model, params, _tokens(), 0)


def test_batch_sharded_jit_matches_single_device():
  """Under a batch-sharded NamedSharding over 4 CPU devices (a subprocess: the flag needs a fresh JAX)."""
  script = textwrap.dedent("""
      import jax, jax.numpy as jnp, numpy as np, ml_collections
      from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
      from genome_transformer.model import losses, performer as model_lib, sublinear
      assert jax.device_count() == 4
      config = ml_collections.ConfigDict(dict(vocab_size=8, d_model=16, num_layers=2, num_heads=2, d_ff=32,
          attention="linear", feature_map="favor+", num_feature_blocks=1, on_gptln=True))
      model = model_lib.SLiMPerformer(config)
      tokens = jax.random.randint(jax.random.PRNGKey(1), (4, 40), 0, 6)
      params = model.init(jax.random.PRNGKey(0), tokens)["params"]
      rng = jax.random.PRNGKey(5)
      mesh = Mesh(np.asarray(jax.devices()), ("data",))
      sharded = jax.device_put(tokens, NamedSharding(mesh, P("data")))
      params_r = jax.device_put(params, NamedSharding(mesh, P()))
      step = jax.jit(sublinear.loss_and_grad, static_argnums=(0, 3))
      loss, grads = step(model, params_r, sharded, 8, rng)
      ref_loss, ref_grads = jax.value_and_grad(lambda p: losses.full_loss(model, p, tokens, rng))(params)
      np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
      for g, r in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads)):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5 * float(jnp.max(jnp.abs(r))))
      print("SHARDED_OK")
  """)
  env = dict(
    os.environ,
    XLA_FLAGS="--xla_force_host_platform_device_count=4",
    JAX_PLATFORMS="cpu",
    PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
  )
  result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "SHARDED_OK" in result.stdout


# Issue 12's components (model_testing.COMPONENTS). The chunk sizes below meet the interesting cases:
# a chunk shorter than a layer's context rows (C = 1), a prefix of s R = 10 tokens that reaches back
# over several chunks and past the sequence start, and a ragged last chunk. Float64 meets every chunk size
# with all components together and each component alone at the hardest one (C = 1; Hedgehog, not in "all",
# also ragged); float32 checks each alone and, together, the most chunks (C = 1) and a ragged last chunk.


@pytest.mark.parametrize(
  "component,chunk_size",
  [
    ("conv", 7),
    ("window", 7),
    ("nopos", 7),
    ("hedgehog", 7),
    ("all", 1),
    ("all", 64),
  ],
)
def test_components_equal_autodiff_float32(component, chunk_size):
  model, params = _setup(**COMPONENTS[component])
  params = perturbed(params, jnp.float32)
  _assert_close(
    _slim(model, params, _tokens(), chunk_size), _full(model, params, _tokens(), None), rtol=2e-4, atol_frac=2e-5
  )


@pytest.mark.parametrize(
  "component,chunk_size",
  [
    ("conv", 1),
    ("window", 1),
    ("hedgehog", 1),
    ("hedgehog", L - 1),
    ("all", 1),
    ("all", 7),
    ("all", 64),
    ("all", L - 1),
    ("all", L),
  ],
)
def test_components_equal_autodiff_float64(component, chunk_size):
  with jax.enable_x64(True):
    model, params = _setup(jnp.float64, **COMPONENTS[component])
    params = perturbed(params, jnp.float64)
    got = _slim(model, params, _tokens(), chunk_size)
    _assert_close(got, _full(model, params, _tokens(), None), rtol=1e-9, atol_frac=1e-11)


def test_hedgehog_floor_keeps_the_rebuilt_states_exact():
  """A spiky learned map breaks the reverse pass's subtraction; the floor mends it (attention.hedgehog_features).

  The first 32 tokens are all A, so their keys use few features and the others' state entries stay
  ~1e-9 of the largest until the random bases after them; the projection x 16 makes the map spiky.
  Without the floor the rebuilt entries are cancellation noise and the gradient is wrong (measured:
  relative error 412; asserted > 1e-2, so the case does show the failure); with it they match.
  """
  tokens = np.asarray(_tokens(seed=3, length=96)) % 4
  tokens[:, :32] = 0
  errors = {}
  for floor in (0.0, 0.01):
    model, params = _setup(feature_map="hedgehog", hedgehog_floor=floor)
    params = perturbed(params)
    params = jax.tree_util.tree_map_with_path(
      lambda path, x: x * 16.0 if "feature_projection" in jax.tree_util.keystr(path) else x, params
    )
    (_, grads), (_, grads_ref) = _slim(model, params, tokens, 16), _full(model, params, tokens, None)
    flat = lambda tree: np.concatenate([np.ravel(x) for x in jax.tree.leaves(tree)])
    errors[floor] = np.linalg.norm(flat(grads) - flat(grads_ref)) / np.linalg.norm(flat(grads_ref))
  assert not errors[0.0] <= 1e-2, errors  # NaN counts as a failure shown.
  assert errors[0.01] < 1e-4, errors


def test_components_rebuilt_start_states_and_context_rows_equal_stored():
  """The reverse pass's start states, context rows included, are the forward pass's."""
  with jax.enable_x64(True):
    model, params = _setup(jnp.float64, **COMPONENTS["all"])
    params = perturbed(params, jnp.float64)
    stored = chunk_start_states(model, params, _tokens(), 16)
    rebuilt = chunk_start_states(model, params, _tokens(), 16, rebuilt=True)
    assert stored[0][2].shape == (5, B, 5, 16)  # R = (3 - 1) + (4 - 1) context rows of D = 16.
    for s, r in zip(jax.tree.leaves(stored), jax.tree.leaves(rebuilt)):
      np.testing.assert_allclose(r, s, rtol=1e-10, atol=1e-10 * float(jnp.max(jnp.abs(s))))
      assert float(jnp.max(jnp.abs(s[1:]))) > 0.1  # Non-trivial values were compared.


def test_context_rows_carry_the_previous_chunk():
  """With a convolution, a chunk's loss depends on the previous chunk's last tokens, not just the state.

  Changing the token just before a chunk boundary changes the next chunk's first predictions through
  the convolution; the sub-linear gradient must still equal autodiff's for the altered sequence.
  """
  model, params = _setup(**COMPONENTS["conv"])
  params = perturbed(params, jnp.float32)
  tokens = _tokens()
  altered = tokens.at[:, 13].set((tokens[:, 13] + 1) % 4)
  for t in (tokens, altered):
    _assert_close(_slim(model, params, t, 14), _full(model, params, t, None), rtol=2e-4, atol_frac=2e-5)
