# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Trains a genome language model.

  python -m genome_transformer.main --config=configs/slim.py --workdir=/tmp/slim
  python -m genome_transformer.main --config=configs/slim.py --workdir=/tmp/slim --config.train.num_steps=50

The same command resumes from the workdir's latest checkpoint. Bad input (a config file that does not
load, an override naming no field, a wrong value, a bad genome or FASTA, an unusable workdir) ends with
one line naming it and exit status 1.
"""

import sys

from absl import app, flags, logging
import jax
from ml_collections import config_flags

from genome_transformer import cli, config_lib
from genome_transformer.genomics import tokenizer
from genome_transformer.genomics.download import FetchError
from genome_transformer.training import checkpointing, run_flags, train

FLAGS = flags.FLAGS
parse_flags = run_flags.parse_flags
flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() (multi-host TPU VM or multi-node GPU).")
flags.DEFINE_string(
  "coordinator_address", None, "host:port of process 0 (multi-node GPU; TPU VMs and SLURM detect it)."
)
flags.DEFINE_integer("num_processes", None, "Processes in the job (multi-node GPU; detected on TPU VMs and SLURM).")
flags.DEFINE_integer("process_id", None, "This process's rank (multi-node GPU; detected on TPU VMs and SLURM).")
flags.DEFINE_integer(
  "cpu_devices",
  0,
  "Split this host's CPU into N JAX devices that each take 1/N of every batch (data parallel): on a few cores "
  "it runs many small ops side by side, which helps some models more than others (docs/speed.md). 0: JAX's "
  "default, one CPU device. Has no effect on a GPU or TPU.",
  lower_bound=0,
)
flags.mark_flags_as_required(["config", "workdir"])


def config_summary(config) -> str:
  """The config in a few lines: what is trained on what, for how long."""
  data, model, train_config = config.data, config.model, config.train
  lines = [
    f"Config {config_flags.get_config_filename(FLAGS['config'])} (--verbosity=1 logs all of it):",
    f"  data:  {data.genome}, windows of {data.window_length} (stride {data.stride})",
    f"  model: {model.attention} attention, {model.num_layers} layers, D={model.d_model}, {model.num_heads} heads"
    + "".join(
      f", {name} {model.get(name)}" for name in ("conv_width", "window_heads", "match_order") if model.get(name)
    ),
    f"  train: {train_config.num_steps} steps of batch {train_config.batch_size}, learning rate "
    f"{train_config.learning_rate}",
  ]
  if config.get("init_from"):
    lines.append(f"  from:  {config.init_from}")
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  checkpointing.quiet_orbax_info()
  if FLAGS.cpu_devices:
    # Read when JAX starts its CPU backend, which nothing has done yet.
    jax.config.update("jax_num_cpu_devices", FLAGS.cpu_devices)
  if FLAGS.distributed:
    jax.distributed.initialize(
      coordinator_address=FLAGS.coordinator_address, num_processes=FLAGS.num_processes, process_id=FLAGS.process_id
    )
  logging.info(
    "JAX process %d/%d, %d local devices of %d: %s",
    jax.process_index(),
    jax.process_count(),
    jax.local_device_count(),
    jax.device_count(),
    jax.devices()[0].platform,
  )
  logging.info("%s", config_summary(FLAGS.config))
  # The whole config is saved in every checkpoint of the workdir (checkpoints/STEP/config) as well.
  logging.vlog(1, "Config:\n%s", FLAGS.config)
  try:
    train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except config_lib.ConfigError as error:
    sys.exit(f"Config error: {error}")
  except (tokenizer.GenomeInputError, FetchError) as error:
    # The genome: a bad spec, a missing or malformed FASTA, windows that do not fit, a failed download.
    sys.exit(f"Genome error: config.data.genome={FLAGS.config.data.genome!r}: {error}")
  except (
    checkpointing.CheckpointConfigMismatchError,
    checkpointing.CheckpointUnreadableError,
    train.NonFiniteLossError,
    train.WorkdirError,
    MemoryError,
  ) as error:
    sys.exit(f"Error: {error}")


COMMAND = cli.Command(
  usage="--config=FILE --workdir=DIR [--config.SECTION.FIELD=VALUE ...] [flags]",
  summary=(
    "Trains a genome language model, or resumes it from the workdir's latest checkpoint; held-out "
    "bits per base go to the log, metrics.jsonl and TensorBoard in the workdir."
  ),
  flags=["config", "workdir", "cpu_devices", "distributed", "coordinator_address", "num_processes", "process_id"],
  notes=[
    "--config.SECTION.FIELD=VALUE overrides one field of the config (the fields: genome_transformer/config_lib.py). "
    "--verbosity=1 logs the whole config at the start; the workdir keeps it either way.",
  ],
  examples=[
    "{prog} --config=configs/tiny.py --workdir=/tmp/tiny",
    "{prog} --config=configs/slim.py --workdir=/tmp/slim --config.train.num_steps=50",
  ],
)


def run(argv=None, prog: str = "python -m genome_transformer.main") -> None:
  cli.run(main, COMMAND, prog=prog, argv=argv, flags_parser=parse_flags)


if __name__ == "__main__":
  run()
