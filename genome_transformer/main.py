# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Trains a genome language model.

  python -m genome_transformer.main --config=configs/slim.py --workdir=/tmp/slim
  python -m genome_transformer.main --config=configs/slim.py --workdir=/tmp/slim --config.train.num_steps=50

The same command resumes from the workdir's latest checkpoint.
"""

import sys

from absl import app, flags, logging
import jax
from ml_collections import config_flags

from genome_transformer import config_lib
from genome_transformer.training import checkpointing, train

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file (configs/*.py).", lock_config=True)
flags.DEFINE_string("workdir", None, "Checkpoints, metrics and TensorBoard logs go here.")
flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() (multi-host TPU VM or multi-node GPU).")
flags.DEFINE_string(
  "coordinator_address", None, "host:port of process 0 (multi-node GPU; TPU VMs and SLURM detect it)."
)
flags.DEFINE_integer("num_processes", None, "Processes in the job (multi-node GPU; detected on TPU VMs and SLURM).")
flags.DEFINE_integer("process_id", None, "This process's rank (multi-node GPU; detected on TPU VMs and SLURM).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  checkpointing.quiet_orbax_info()
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
  logging.info("Config:\n%s", FLAGS.config)
  try:
    train.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except config_lib.ConfigError as error:
    sys.exit(f"Config error: {error}")
  except (checkpointing.CheckpointConfigMismatchError, train.NonFiniteLossError, MemoryError) as error:
    sys.exit(f"Error: {error}")


if __name__ == "__main__":
  app.run(main)
