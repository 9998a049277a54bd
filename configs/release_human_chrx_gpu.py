# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Bundled release `human-chrx-slim-gpu`: a larger SLiM Performer on human chrX, trained on one H200.

The same data and held-out regions as configs/release_human_chrx.py; 18x its parameters, trained
for the steps that fit under three minutes of one lent H200 (train.num_steps below is what that run
used: it was set from the steps/s of a 30-step probe on the same GPU just before). Exported in
bfloat16 to keep the bundled releases under 50 MB together.
Fields are documented in genome_transformer/config_lib.py.
"""

from genome_transformer import config_lib


def get_config():
  config = config_lib.parent_config(__file__, "release_human_chrx.py")  # Its data, split and evaluation.
  config.model.d_model = 384  # 3x the CPU release's width.
  config.model.num_layers = 6  # Twice the CPU release's depth.
  config.model.num_heads = 6  # d = 64 as in the reference.
  config.model.d_ff = 1536  # 4 D.
  config.train.batch_size = 32  # Windows per step: 32 k tokens, to keep the GPU busy.
  config.train.num_steps = 3800  # 125 M tokens in 126 s at the probe's 30.0 steps/s (2 epochs of the split).
  config.train.learning_rate = 1e-3  # The default peak.
  config.train.warmup_steps = 100  # A few % of the run.
  config.train.matmul_precision = "default"  # As the release was trained: TF32 matmuls on the H200, for speed.
  config.train.eval_every = 100000  # Only the final evaluation: device time is scarce.
  config.train.checkpoint_every = 100000  # Only the final (or SIGTERM) checkpoint, for the same reason.
  config.lock()
  return config
