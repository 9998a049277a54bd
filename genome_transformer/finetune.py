# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Fine-tunes a released model (or the same architecture from scratch) as a sequence classifier.

  python -m genome_transformer.finetune --config=configs/finetune.py --config.init_from=bacteria4-slim \\
    --config.task.train=train.tsv --config.task.validation=val.tsv --config.task.test=test.tsv --workdir=/tmp/ft

Each file is a TSV (optionally gzipped) whose header names at least the columns `sequence` and
`label` (optionally `id`). The test metrics are printed and written to <workdir>/test_metrics.json,
the per-sequence probabilities to <workdir>/test_predictions.tsv. The same command resumes from the
workdir's latest checkpoint. Bad input (a config value, a task file, an export, the workdir) ends
with one line naming it and exit status 1, before anything is compiled.
"""

import sys

from absl import app, flags, logging

from genome_transformer import cli, config_lib
from genome_transformer.data import labelled
from genome_transformer.release import finetune
from genome_transformer.training import checkpointing, run_flags, train

FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  checkpointing.quiet_orbax_info()
  logging.info("Config:\n%s", FLAGS.config)
  try:
    results = finetune.finetune(FLAGS.config, FLAGS.workdir)
  except config_lib.ConfigError as error:
    sys.exit(f"Config error: {error}")
  except labelled.TaskInputError as error:
    sys.exit(f"Input error: {error}")
  except (
    checkpointing.CheckpointConfigMismatchError,
    checkpointing.CheckpointUnreadableError,
    finetune.FinetuneError,
    train.NonFiniteLossError,
    train.WorkdirError,
    MemoryError,
  ) as error:
    sys.exit(f"Error: {error}")
  if results:
    shown = {k: results[k] for k in finetune.METRICS}
    print("test: " + "  ".join(f"{k} {v:.4f}" for k, v in shown.items()))
    print(f"wrote {FLAGS.workdir}/{finetune.TEST_METRICS} and {FLAGS.workdir}/{finetune.TEST_PREDICTIONS}")


COMMAND = cli.Command(
  usage="--config=configs/finetune.py --workdir=DIR --config.task.train=FILE.tsv [--config.SECTION.FIELD=VALUE ...]",
  summary=(
    "Fine-tunes a released model (config.init_from: a release name or export directory; empty: the same "
    "architecture from scratch) as a sequence classifier, or resumes it from the workdir's latest checkpoint. "
    "The best parameters and the head go to DIR/export, which `genome-transformer classify` reads."
  ),
  flags=["config", "workdir"],
  notes=[
    "Task files are TSV (optionally gzipped) whose header names `sequence` and `label` (optionally `id`): "
    "--config.task.train, .validation and .test. The test metrics go to DIR/test_metrics.json, the per-sequence "
    "probabilities to DIR/test_predictions.tsv. The fields: configs/finetune.py.",
  ],
  examples=[
    "{prog} --config=configs/finetune.py --config.init_from=bacteria --config.task.train=train.tsv "
    "--config.task.validation=val.tsv --config.task.test=test.tsv --workdir=/tmp/ft",
  ],
)


def run(argv=None, prog: str = "python -m genome_transformer.finetune") -> None:
  cli.run(main, COMMAND, prog=prog, argv=argv, flags_parser=run_flags.parse_flags)


if __name__ == "__main__":
  run()
