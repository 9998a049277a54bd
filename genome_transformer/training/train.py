# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Training and evaluation loop: `train_and_evaluate(config, workdir)`.

Parallelism: one `Mesh` axis, "data". The batch is sharded on it and the parameters and optimizer
state are replicated. Replication is the right trade here: the models are a few million parameters,
and the sub-linear step scans over chunks, so sharding parameters (FSDP) would all-gather every
layer's weights once per chunk in both scans; with replication the only collective is the gradient
all-reduce once per step. On more than one device the loss and gradient run under shard_map
(`data_parallel`): each device runs the one-device program on its own rows, so nothing inside the
model (the softmax kernel's loop over head groups, say) can make the partitioner gather the batch.

Exact resume: the per-step RNG is `fold_in(seed, step)`, the data iterator's state is saved in the
same Orbax checkpoint as the parameters, and restoring puts every array back bit for bit, so a run
killed at any point and restarted from its last checkpoint repeats the same steps as one that never
stopped.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import time
from typing import Any, Callable

from absl import logging
import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import tqdm

from genome_transformer import config_lib
from genome_transformer.data import dataset, input_pipeline
from genome_transformer.evaluation import heldout
from genome_transformer.genomics import files
from genome_transformer.model import losses, sublinear
from genome_transformer.model import performer as model_lib
from genome_transformer.training import checkpointing, export_reader, metrics_writer, multihost


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  opt_state: Any


class NonFiniteLossError(FloatingPointError):
  """The loss or the train state became NaN or infinite."""


class WorkdirError(ValueError):
  """The workdir cannot be used (a file in the way, no permission); the message names it."""


def data_dir_for(config: ml_collections.ConfigDict) -> str:
  return config.data.data_dir or dataset.default_data_dir()


def make_optimizer(train_config: ml_collections.ConfigDict) -> optax.GradientTransformation:
  schedule = optax.warmup_cosine_decay_schedule(
    init_value=0.0,
    peak_value=train_config.learning_rate,
    warmup_steps=train_config.warmup_steps,
    decay_steps=train_config.num_steps,
    end_value=0.1 * train_config.learning_rate,
  )
  clip = optax.clip_by_global_norm(train_config.grad_clip_norm) if train_config.grad_clip_norm else optax.identity()
  return optax.chain(clip, optax.adamw(schedule, weight_decay=train_config.weight_decay))


def uses_sublinear_step(config: ml_collections.ConfigDict) -> bool:
  return config.model.attention == "linear" and config.train.chunk_size < config.data.window_length


def _cast_floats(tree, dtype):
  return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


def make_loss_and_grad(model: model_lib.SLiMPerformer, config: ml_collections.ConfigDict) -> Callable:
  """(params, tokens_BL, rng) -> (loss, grads): sub-linear when chunked, plain autodiff otherwise.

  Under train.compute_dtype bfloat16 the step computes with a bfloat16 copy of the float32 parameters;
  the carried states, the gradient sums, the loss and the returned gradients stay float32.
  """
  compute_dtype = jnp.dtype(config.train.get("compute_dtype", "float32"))
  low_precision = compute_dtype != jnp.float32
  if uses_sublinear_step(config):
    chunk_size = config.train.chunk_size
    if not low_precision:
      return lambda params, tokens_BL, rng: sublinear.loss_and_grad(model, params, tokens_BL, chunk_size, rng)

    def sublinear_low_precision(params, tokens_BL, rng):
      compute_params = _cast_floats(params, compute_dtype)
      loss, grads = sublinear.loss_and_grad(model, compute_params, tokens_BL, chunk_size, rng, jnp.float32)
      return loss.astype(jnp.float32), _cast_floats(grads, jnp.float32)

    return sublinear_low_precision

  def plain(params, tokens_BL, rng):
    cast = (lambda p: _cast_floats(p, compute_dtype)) if low_precision else (lambda p: p)
    loss_fn = lambda p: losses.full_loss(model, cast(p), tokens_BL, rng).astype(jnp.float32)
    return jax.value_and_grad(loss_fn)(params)

  return plain


def data_parallel(loss_and_grad: Callable, mesh: jax.sharding.Mesh) -> Callable:
  """`loss_and_grad` over the rows of a batch sharded on the mesh's "data" axis, one device's rows each.

  Each device's mean loss and gradient are weighted by its share of the batch's base targets
  (losses.target_count), so the result is the whole batch's mean, as on one device, up to round-off.
  The parameters and the rng are the same on every device (FAVOR+ draws its features from the rng).
  """
  replicated, rows = jax.sharding.PartitionSpec(), jax.sharding.PartitionSpec("data")

  def local(params, tokens_BL, rng):
    loss, grads = loss_and_grad(params, tokens_BL, rng)
    count = losses.target_count(tokens_BL).astype(loss.dtype)
    weight = count / jnp.maximum(jax.lax.psum(count, "data"), 1)
    weighted_sum = lambda x: jax.lax.psum(x * weight.astype(x.dtype), "data")
    return weighted_sum(loss), jax.tree.map(weighted_sum, grads)

  # check_vma=False: each device's gradient stays its own until the weighted psum above (with the check on,
  # autodiff would sum the replicated parameters' gradients over devices unweighted, and the custom_vjp
  # rules of the model's kernels would have to mark their outputs as varying over the mesh).
  return jax.shard_map(
    local, mesh=mesh, in_specs=(replicated, rows, replicated), out_specs=(replicated, replicated), check_vma=False
  )


def make_train_step(
  model, tx, config, loss_and_grad: Callable | None = None, mesh: jax.sharding.Mesh | None = None
) -> Callable:
  """(state, tokens_BL, base_rng) -> (state, metrics); `loss_and_grad` (params, tokens_BL, rng) -> (loss, grads)
  defaults to the config's (make_loss_and_grad); benchmarks pass other methods to time them alike. With a
  `mesh` of several devices the batch's rows are split over its "data" axis (data_parallel)."""
  loss_and_grad = loss_and_grad or make_loss_and_grad(model, config)
  if mesh is not None and mesh.size > 1:
    loss_and_grad = data_parallel(loss_and_grad, mesh)

  def train_step(state: TrainState, tokens_BL: jax.Array, base_rng: jax.Array):
    # FAVOR+ features are redrawn each step from the step number, so a resumed run draws the same ones.
    rng = jax.random.fold_in(base_rng, state.step)
    loss, grads = loss_and_grad(state.params, tokens_BL.astype(jnp.int32), rng)
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    new_state = TrainState(step=state.step + 1, params=params, opt_state=opt_state)
    # One on-device reduction per step; the host reads it only where it reads the loss or saves, so
    # steps stay asynchronous. The whole state is checked, not just the loss: a finite loss with an
    # overflowing gradient still leaves NaN parameters behind.
    finite = jnp.isfinite(loss) & jnp.all(
      jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves((grads, new_state))])
    )
    metrics = {"loss": loss, "grad_norm": optax.global_norm(grads), "finite": finite}
    return new_state, metrics

  return train_step


def init_params(model, rng, dummy_length: int = 16):
  """The model's parameters from rng (parameter shapes do not depend on the dummy input's length)."""
  dummy_BL = jnp.zeros((1, dummy_length), jnp.int32)
  return model.init({"params": rng, "features": rng}, dummy_BL)["params"]


def host_memory_bytes_per_device() -> int:
  total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
  return total // max(jax.local_device_count(), 1)


def compiled_memory(compiled) -> dict[str, int] | None:
  """XLA's account of a compiled function's peak bytes per device (total = temporaries + arguments +
  outputs - what outputs alias from donated arguments), or None where the backend gives none."""
  analysis = compiled.memory_analysis()
  if analysis is None:
    return None
  memory = dict(
    temp=int(analysis.temp_size_in_bytes),
    argument=int(analysis.argument_size_in_bytes),
    output=int(analysis.output_size_in_bytes),
    alias=int(analysis.alias_size_in_bytes),
  )
  memory["total"] = memory["temp"] + memory["argument"] + memory["output"] - memory["alias"]
  return memory


def check_memory(compiled, *, what: str, available_bytes: int | None = None) -> int:
  """Logs the compiled step's memory per device; refuses a step that cannot fit.

  `available_bytes` per device defaults to the device's own limit, or on a CPU this host's memory
  shared by its devices.
  """
  memory = compiled_memory(compiled)
  if memory is None:
    logging.warning("%s: XLA gives no memory analysis on this backend; not checked.", what)
    return 0
  needed = memory["total"]
  limit = available_bytes
  if limit is None:
    stats = jax.local_devices()[0].memory_stats() or {}
    limit = stats.get("bytes_limit") or host_memory_bytes_per_device()
  logging.info(
    "%s needs %.1f MiB per device (temp %.1f, arguments %.1f, output %.1f, aliased %.1f); %.1f MiB available.",
    what,
    needed / 2**20,
    memory["temp"] / 2**20,
    memory["argument"] / 2**20,
    memory["output"] / 2**20,
    memory["alias"] / 2**20,
    limit / 2**20,
  )
  if needed > limit:
    raise MemoryError(
      f"{what} needs {needed / 2**30:.2f} GiB per device but the device has {limit / 2**30:.2f} GiB: "
      "lower train.batch_size, train.chunk_size or the model size."
    )
  return needed


# What a gs:// workdir needs beside Orbax: gcsfs is epath's gs:// backend (checkpoint directories,
# metrics.jsonl), google-cloud-storage tensorboardX's (event files). Both come with the [gcs] extra.
BUCKET_MODULES = {"gs": ("gcsfs", "google.cloud.storage")}


def _importable(module: str) -> bool:
  try:
    return importlib.util.find_spec(module) is not None
  except ModuleNotFoundError:  # A parent package is missing.
    return False


def _check_bucket(workdir: str) -> None:
  scheme, rest = workdir.split("://", 1)
  bucket = f"{scheme}://{rest.split('/', 1)[0]}"
  missing = [m for m in BUCKET_MODULES.get(scheme, ()) if not _importable(m)]
  if missing:
    raise WorkdirError(
      f"--workdir={workdir}: a {scheme}:// workdir needs {' and '.join(missing)}: "
      "pip install 'genome-transformer[gcs]'."
    )
  # An object store has no directories to create, and the bucket is not ours to create (it is billed
  # to a project): it must exist.
  try:
    exists = files.as_path(bucket).exists()
  except Exception as error:  # pylint: disable=broad-except
    reason = files.error_summary(error)
    raise WorkdirError(
      f"--workdir={workdir}: cannot reach {bucket} ({reason}); check the credentials and the network, then rerun."
    ) from None
  if not exists:
    raise WorkdirError(
      f"--workdir={workdir}: bucket {bucket} does not exist or these credentials cannot see it; create it first."
    )


def make_workdir(workdir: str) -> None:
  if files.is_uri(workdir):
    _check_bucket(workdir)
    return
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as error:
    why = "it is a file, not a directory" if os.path.isfile(workdir) else (error.strerror or str(error))
    raise WorkdirError(f"--workdir={workdir}: cannot use it ({why}); choose another directory.") from None


def check_finite(metrics: dict, step: int, previous_check: int, checkpoint_dir: str) -> None:
  """Raises NonFiniteLossError if the step's loss, gradients or new state hold a NaN or inf."""
  if bool(metrics["finite"]):
    return
  raise NonFiniteLossError(
    f"Loss is {float(metrics['loss'])} (or the train state is not finite) at step {step}, finite at step "
    f"{previous_check}: nothing non-finite was saved. Lower train.learning_rate or check the data; the same "
    f"command resumes from the last checkpoint in {checkpoint_dir}."
  )


def init_from_source(config: ml_collections.ConfigDict, workdir: str) -> str | None:
  """The export directory whose parameters start this run, or None (from scratch, or resuming).

  Reads only export.json, so an unusable config.init_from stops the run before data preparation
  or any compilation, with one line naming the field and what differs.
  """
  if not config.init_from:
    return None
  if checkpointing.has_checkpoint(workdir):
    logging.info("config.init_from=%r is not read: %s has a checkpoint, which resumes.", config.init_from, workdir)
    return None
  try:
    path = export_reader.resolve(config.init_from)
    document = export_reader.read_export_json(path)
  except export_reader.ExportError as error:
    raise config_lib.ConfigError(f"config.init_from={config.init_from!r}: {error}") from None
  mismatches = export_reader.model_config_mismatches(document["model_config"], config.model.to_dict())
  if mismatches:
    raise config_lib.ConfigError(
      f"config.init_from={config.init_from!r}: the export's model differs from config.model: "
      f"{'; '.join(mismatches)}. Set those config.model fields as the export has them (the data, "
      "window length and chunk size may differ)."
    )
  return path


def state_from_export(path: str, tx: optax.GradientTransformation, abstract_state: TrainState) -> TrainState:
  """Step 0 with the export's parameters (as stored, in the state's dtypes) and a fresh optimizer state."""
  try:
    exported = export_reader.load_export(path, dtype=None)
  except export_reader.ExportError as error:
    raise config_lib.ConfigError(f"config.init_from: {error}") from None

  def place(value, spec):
    value = np.asarray(value).astype(spec.dtype)
    # Each process places its own copy: works on one host and on many, where a host array cannot
    # be passed to a jit with a global sharding.
    return jax.make_array_from_callback(spec.shape, spec.sharding, lambda index: value[index])

  params = jax.tree.map(place, exported.params, abstract_state.params)
  state_sharding = jax.tree.map(lambda s: s.sharding, abstract_state)

  def fresh(params):
    return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))

  return jax.jit(fresh, out_shardings=state_sharding)(params)


HELDOUT_SPLITS = ("validation", "test")


def finished_run_metrics(workdir: str, step: int, num_steps: int) -> dict:
  """The last held-out figures of a run that already reached num_steps (from its metrics.jsonl), logged."""
  try:
    rows = metrics_writer.read_metrics(workdir)
  except FileNotFoundError:
    rows = []
  last: dict = {}
  for row in rows:
    last.update({k: v for k, v in row.items() if k.startswith(tuple(f"{split}_" for split in HELDOUT_SPLITS))})
  logging.info(
    "The run in %s is complete: its checkpoint is at step %d and train.num_steps is %d; nothing to train. "
    "Raise --config.train.num_steps to train on, or use another --workdir.",
    workdir,
    step,
    num_steps,
  )
  for split in HELDOUT_SPLITS:
    if f"{split}_bits_per_base" in last:
      logging.info(
        "%s: %.4f bits per base over %d held-out bases (context %d).",
        split,
        last[f"{split}_bits_per_base"],
        last.get(f"{split}_bases", 0),
        last.get(f"{split}_context", 0),
      )
  if not any(f"{split}_bits_per_base" in last for split in HELDOUT_SPLITS):
    logging.info("%s holds no held-out figures.", files.as_path(workdir) / metrics_writer.METRICS_JSONL)
  return last


def _evaluation_params(params):
  """The parameters evaluation runs on: one CPU device's copy where the host's CPU is split into several
  (main.py --cpu_devices), since replicated parameters would run the same evaluation on every device, on
  the same cores; as they are otherwise (on accelerators each device has its own compute)."""
  devices = jax.local_devices()
  if devices[0].platform == "cpu" and len(devices) > 1 and jax.process_count() == 1:
    return jax.device_put(params, devices[0])
  return params


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
  """Trains `config` in `workdir`, resuming from its latest checkpoint; returns the final metrics."""
  config_lib.validate(config, device_count=jax.device_count(), process_count=jax.process_count())
  # Everything below traces under it: the step, compiled ahead, and the evaluation's jits at first call.
  with jax.default_matmul_precision(config.train.matmul_precision):
    return _train_and_evaluate(config, workdir)


def _train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict:
  init_source = init_from_source(config, workdir)
  # The data first: a bad genome stops the run before the workdir exists.
  data_dir = data_dir_for(config)
  multihost.prepare_dataset(config.data, data_dir)
  make_workdir(workdir)
  is_primary = jax.process_index() == 0
  local_batch = config.train.batch_size // jax.process_count()
  train_iter = input_pipeline.make_train_iterator(
    config.data, data_dir, batch_size_per_process=local_batch, seed=config.seed
  )
  validation = input_pipeline.heldout_sequences(config.data, "validation")
  test = input_pipeline.heldout_sequences(config.data, "test")

  mesh = jax.sharding.Mesh(np.asarray(jax.devices()), ("data",))
  replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  batch_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))

  model = model_lib.SLiMPerformer(config.model)
  tx = make_optimizer(config.train)
  base_rng = jax.random.PRNGKey(config.seed)
  init_rng, step_rng, eval_rng = jax.random.split(base_rng, 3)

  def init_state(rng):
    params = init_params(model, rng, min(config.data.window_length, 16))
    return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))

  abstract_state = jax.eval_shape(init_state, init_rng)
  state_sharding = jax.tree.map(lambda _: replicated, abstract_state)
  abstract_state = jax.tree.map(
    lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh), abstract_state, state_sharding
  )

  with contextlib.ExitStack() as on_exit:
    # Closed on every way out, errors included (a refused checkpoint, a failed compile, a non-finite loss):
    # the saves already started (all of finite states) complete, and the manager's background threads do not
    # outlive the run to print a traceback at interpreter shutdown after the clear error.
    writer = on_exit.enter_context(contextlib.closing(metrics_writer.MetricWriter(workdir, enabled=is_primary)))
    ckpt = on_exit.enter_context(
      contextlib.closing(checkpointing.Checkpointer(workdir, config, max_to_keep=config.train.max_to_keep))
    )
    restored = ckpt.restore_latest(abstract_state, train_iter)
    if restored is None and init_source:
      state = state_from_export(init_source, tx, abstract_state)
      logging.info(
        "Starting at step 0 from the parameters of %s (config.init_from), fresh optimizer state.", init_source
      )
    elif restored is None:
      state = jax.jit(init_state, out_shardings=state_sharding)(init_rng)
      logging.info("Starting from scratch in %s.", workdir)
    else:
      state = restored
      if int(state.step) >= config.train.num_steps:
        # Nothing to train: the figures the run wrote are repeated instead of compiling a step no loop runs.
        return finished_run_metrics(workdir, int(state.step), config.train.num_steps)
      logging.info("Resumed from step %d.", int(state.step))
    num_params = sum(x.size for x in jax.tree.leaves(state.params))
    logging.info(
      "Model: %d parameters; %s step, chunk %d, window %d.",
      num_params,
      "sub-linear" if uses_sublinear_step(config) else "plain autodiff",
      config.train.chunk_size,
      config.data.window_length,
    )

    if uses_sublinear_step(config) and config.model.feature_map == "hedgehog" and not config.model.hedgehog_floor:
      logging.warning(
        "model.feature_map='hedgehog' with model.hedgehog_floor=0 under the sub-linear step: a feature that "
        "falls far below the others is lost in the reverse pass's rebuilt states, and the gradient can go "
        "wrong or NaN (docs/model.md, 'Hedgehog and the rebuilt states'). Set model.hedgehog_floor, e.g. 0.01."
      )
    tokens_spec = jax.ShapeDtypeStruct(
      (config.train.batch_size, config.data.window_length), jnp.uint8, sharding=batch_sharding
    )
    train_step = jax.jit(
      make_train_step(model, tx, config, mesh=mesh), donate_argnums=0, out_shardings=(state_sharding, replicated)
    )
    compiled_step = train_step.lower(abstract_state, tokens_spec, step_rng).compile()
    check_memory(compiled_step, what="Training step")

    preemption = multihost.Preemption()
    preemption.install()
    num_steps = config.train.num_steps
    tokens_per_step = config.train.batch_size * config.data.window_length
    first_step = int(state.step)
    logging.info("Matmul precision: %s.", config.train.matmul_precision)
    last_metrics: dict = {}
    window_start, window_steps = time.perf_counter(), 0
    last_check = first_step
    previous_loss = None
    for step in range(first_step, num_steps):
      local_tokens = next(train_iter)["tokens"]
      tokens_BL = jax.make_array_from_process_local_data(batch_sharding, local_tokens)
      state, metrics = compiled_step(state, tokens_BL, step_rng)
      # At most two steps in flight: the device never idles, and a SIGTERM is answered within about a
      # step instead of after every step the host had queued ahead (up to log_every of them; 48 s on a
      # 2-core run, past a preemptible VM's 30-s notice).
      if previous_loss is not None:
        previous_loss.block_until_ready()
      previous_loss = metrics["loss"]
      done = step + 1
      window_steps += 1
      log_now = done % config.train.log_every == 0 or done == num_steps
      eval_now = done % config.train.eval_every == 0 or done == num_steps
      # Asked once per step, on every process: a SIGTERM arriving later in this iteration must not break
      # out without a save, and on several processes this is where they agree on the step to save.
      stop = preemption.should_stop(done)
      save_now = done % config.train.checkpoint_every == 0 or done == num_steps or stop
      # Only where the host waits for the device anyway (a log line, an evaluation, a save): never save
      # a non-finite state, without a sync every step.
      if log_now or eval_now or save_now:
        check_finite(metrics, done, last_check, ckpt.directory)
        last_check = done
      if log_now:
        loss = float(metrics["loss"])
        elapsed = time.perf_counter() - window_start
        steps_per_s = window_steps / max(elapsed, 1e-9)
        last_metrics = {
          "loss": loss,
          "bits_per_base": loss / heldout.LN2,
          "grad_norm": float(metrics["grad_norm"]),
          "steps_per_s": steps_per_s,
          "tokens_per_s": steps_per_s * tokens_per_step,
          "tokens_seen": done * tokens_per_step,
        }
        writer.write(done, last_metrics)
        eta = (num_steps - done) / max(steps_per_s, 1e-9)
        if is_primary:
          logging.info(
            "step %d/%d  loss %.4f  bits/base %.4f  %.0f tokens/s  %.2f steps/s  ETA %s",
            done,
            num_steps,
            loss,
            loss / heldout.LN2,
            last_metrics["tokens_per_s"],
            steps_per_s,
            tqdm.tqdm.format_interval(eta),
          )
        window_start, window_steps = time.perf_counter(), 0
      if eval_now:
        eval_metrics = heldout.evaluate(
          model,
          _evaluation_params(state.params),
          config,
          {"validation": validation} if done < num_steps else {"validation": validation, "test": test},
          eval_rng,
        )
        writer.write(done, eval_metrics)
        last_metrics.update(eval_metrics)
        window_start = time.perf_counter()  # Evaluation time is not training throughput.
      if save_now:
        ckpt.save(done, state, train_iter)
      if stop:
        logging.warning("Stopped at step %d on SIGTERM; the same command resumes from here.", done)
        break
    return last_metrics
