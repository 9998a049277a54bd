# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""train.data_parallel: the batch's rows split over devices give the one-device loss and gradient, and the
compiled step never gathers the batch (each device runs the one-device program on its own rows).

The check runs in a child process with the host's CPU split into four devices (jax_num_cpu_devices must be
set before the backend starts), on a softmax twin with a convolution: its attention kernel loops over
(batch, head) groups, which XLA's partitioner had gathered to every device. Row 0 holds a run of N, so the
devices have different numbers of targets and the weighting matters. The wrapper does not look inside the
loss: the sub-linear step goes through it in tests/test_train.py's eight-device run.
"""

import json
import os
import subprocess
import sys

import numpy as np
from training_testing import REPO

CHILD = r"""
import json, re
import jax, jax.numpy as jnp, numpy as np
from genome_transformer import config_lib, variants
from genome_transformer.genomics.tokenizer import NUM_BASES
from genome_transformer.model import performer as model_lib
from genome_transformer.training import train

mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("data",))
replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
rows = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
config = config_lib.base_config()
config.model.d_model, config.model.num_layers, config.model.d_ff = 32, 1, 64
# L = 512: long enough that the twin's kernel groups its (batch, head) pairs in several tiles.
config.train.batch_size, config.data.window_length, config.train.chunk_size = 8, 512, 512
variants.apply(config, "softmax+conv4+4heads")
model = model_lib.SLiMPerformer(config.model)
params = train.init_params(model, jax.random.PRNGKey(0))
tokens = np.array(jax.random.randint(jax.random.PRNGKey(1), (8, 512), 0, NUM_BASES), np.int32)
tokens[0, 10:50] = NUM_BASES  # N: no target there.
rng = jax.random.PRNGKey(2)
loss_and_grad = train.make_loss_and_grad(model, config)
one = jax.jit(loss_and_grad)(params, jnp.asarray(tokens), rng)
args = (jax.device_put(params, replicated), jax.device_put(tokens, rows), jax.device_put(rng, replicated))
# What train.make_train_step(..., mesh=mesh) steps with; the optimizer update after it is per device.
compiled = jax.jit(train.data_parallel(loss_and_grad, mesh)).lower(*args).compile()
split = compiled(*args)
print(json.dumps(dict(
  devices=jax.device_count(),
  one=[float(one[0])] + [np.asarray(g).ravel().tolist() for g in jax.tree.leaves(one[1])],
  split=[float(split[0])] + [np.asarray(g).ravel().tolist() for g in jax.tree.leaves(split[1])],
  collectives=sorted(set(re.findall(
    r"\b(all-gather|all-to-all|all-reduce|collective-permute|reduce-scatter)\(", compiled.as_text()
  ))),
)))
"""


def test_split_rows_give_the_one_device_loss_and_gradient_and_only_all_reduce():
  environment = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES="4")
  environment.pop("XLA_FLAGS", None)
  result = subprocess.run(
    [sys.executable, "-c", CHILD], env=environment, capture_output=True, text=True, timeout=600, cwd=REPO
  )
  assert result.returncode == 0, result.stderr[-4000:]
  out = json.loads(result.stdout.strip().splitlines()[-1])
  assert out["devices"] == 4
  (one_loss, *one_grads), (split_loss, *split_grads) = out["one"], out["split"]
  np.testing.assert_allclose(split_loss, one_loss, rtol=1e-6)
  for split_grad, one_grad in zip(split_grads, one_grads, strict=True):
    np.testing.assert_allclose(split_grad, one_grad, rtol=2e-5, atol=1e-7)
  # The gradient's all-reduce (and the target counts'); an all-gather would mean every device computes what
  # the others also compute.
  assert out["collectives"] == ["all-reduce"]
