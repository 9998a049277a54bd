# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Fine-tuning a sequence classifier on labelled TSV files (python -m genome_transformer.finetune).

  python -m genome_transformer.finetune --config=configs/finetune.py --config.init_from=bacteria4-slim \\
    --config.task.train=train.tsv --config.task.validation=val.tsv --config.task.test=test.tsv --workdir=/tmp/ft

release/finetune.py validates every field before anything is read or compiled.
"""

import ml_collections

from genome_transformer import config_lib


def get_config():
  config = config_lib.base_config()
  # Pretraining's data, train and eval sections do not apply here; model (documented in config_lib) does.
  del config["data"], config["train"], config["eval"]
  config.seed = 0  # Seeds the from-scratch init and the order of the training rows.
  # A checkpoint in the workdir takes precedence over init_from (resume).
  config.init_from = ""  # Release name or export dir: its architecture and parameters; "" = config.model from scratch.
  config.random_init = False  # With init_from: its architecture, random parameters (what pretraining buys).

  config.task = ml_collections.ConfigDict()  # The labelled files and how a sequence becomes features.
  config.task.train = ""  # TSV (optionally gzipped) with columns sequence and label (optional id).
  config.task.validation = ""  # Same format: early stopping and the choice of the kept parameters.
  config.task.test = ""  # Same format, optional: scored once at the end into <workdir>/test_metrics.json.
  config.task.pool = "mean"  # Hidden states to one vector: "mean" over the bases, or "last" (has seen them all).
  config.task.both_strands = False  # Features: mean of the pooled strand and its pooled reverse complement.
  config.task.rc_average = False  # Validation and test probabilities: mean over the strand and its reverse complement.
  config.task.chunk_size = 0  # Chunk of the recurrence over a sequence; 0 = the export's train.chunk_size (or 256).

  config.train = ml_collections.ConfigDict()  # Optimizer, schedule, early stopping, logging and checkpoints.
  config.train.mode = "full"  # "probe": only the head trains (frozen backbone); "full": everything trains.
  config.train.probe_learning_rate = 1e-3  # Peak AdamW rate of mode "probe".
  config.train.full_learning_rate = 1e-3  # Peak AdamW rate of mode "full" (head and backbone; docs/finetune.md).
  config.train.batch_size = 32  # Sequences per step (the last batch of an epoch is masked, not dropped).
  config.train.num_steps = 1000  # Optimizer steps at most (early stopping may end sooner).
  config.train.warmup_steps = 50  # Linear warmup steps, then cosine decay to 10% of the peak.
  config.train.weight_decay = 0.0  # AdamW decoupled weight decay.
  config.train.grad_clip_norm = 1.0  # Clip the global gradient norm to this value (0 = off).
  config.train.class_weights = "none"  # "none", or "balanced": each class weighs n / (classes x its count).
  config.train.eval_every = 100  # Steps between validation evaluations (the last step always evaluates).
  config.train.early_stopping_metric = "loss"  # Validation metric to keep the best of: loss, accuracy, mcc, ...
  config.train.patience = 5  # Evaluations without a better validation metric before stopping (0 = never stop).
  config.train.log_every = 50  # Steps between progress lines and metric writes.
  config.train.checkpoint_every = 100  # Steps between checkpoints (the last step always saves).
  config.train.max_to_keep = 2  # Checkpoints kept in <workdir>/checkpoints.
  config.train.matmul_precision = "highest"  # jax.default_matmul_precision (see config_lib).
  config.lock()
  return config
