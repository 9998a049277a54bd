# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Bundled release `human-chrx-slim`: the default model on 70 Mb of human chrX (GRCh37).

The sequence comes from Debian's smalt-examples (fetch preset smalt-chrX, fetched on demand, never
shipped). Its last 10% (63-70 Mb of chrX) is held out: validation 63-66.5 Mb, test 66.5-70 Mb.
Fields are documented in genome_transformer/config_lib.py.
"""

from genome_transformer import config_lib


def get_config():
  config = config_lib.base_config()
  config.data.genome = "fetch:smalt-chrX"  # First 70 Mb of human chrX, 5.4% N.
  config.data.window_length = 1024  # L, as in the default.
  config.data.stride = 1024  # 61 k windows: more than this run can consume.
  config.data.max_n_fraction = 0.1  # Drop windows inside assembly gaps and at most keep their edges.
  config.model.d_model = 128  # The default's width: more tokens beat more parameters at this compute.
  config.model.num_layers = 3  # The reference's depth.
  config.model.num_heads = 2  # d = 64 as in the reference.
  config.model.d_ff = 512  # 4 D.
  config.model.feature_map = "sqr"  # The paper's default feature map.
  config.train.batch_size = 8  # Windows per step.
  config.train.num_steps = 2400  # About 20 M tokens, a third of the training split.
  config.train.chunk_size = 256  # Sub-linear step.
  config.train.learning_rate = 2e-3  # As in the default, which trained stably.
  config.train.warmup_steps = 100  # 4% of the run.
  config.train.log_every = 50  # Progress line interval.
  config.train.eval_every = 400  # Validation six times in the run: the learning curve.
  config.train.checkpoint_every = 200  # Resume point if the session is cut.
  config.eval.max_bases = 262144  # 256 kb of each held-out region (of 3.5 Mb), scored as one sequence.
  config.eval.chunk_size = 1024  # Recurrent evaluation chunk.
  config.lock()
  return config
