# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The reference's enwik8 preset (L=4096, D=1024, 3 layers, 16 heads) on DNA, for comparison runs."""

from genome_transformer import config_lib


def get_config():
  config = config_lib.base_config()
  config.data.window_length = 4096  # Reference L.
  config.data.stride = 4096  # Non-overlapping windows.
  config.model.d_model = 1024  # Reference D.
  config.model.num_layers = 3  # Reference depth.
  config.model.num_heads = 16  # Reference heads: d = 64.
  config.model.d_ff = 4096  # Reference d_ff = 4 D.
  config.model.feature_map = "sqr"  # Reference feature map.
  config.train.batch_size = 1  # Reference batch size.
  config.train.num_steps = 100000  # Reference iterations.
  config.train.chunk_size = 1366  # One of the reference's chunk lengths (full, 2048, 1366); ragged last chunk.
  config.train.learning_rate = 2e-4  # Reference Adam learning rate.
  config.train.warmup_steps = 0  # The reference has no warmup.
  config.train.grad_clip_norm = 0.0  # The reference does not clip.
  config.train.log_every = 100  # Progress line interval.
  config.train.eval_every = 5000  # Held-out evaluation interval.
  config.train.checkpoint_every = 1000  # Checkpoint interval.
  config.eval.chunk_size = 4096  # Recurrent evaluation chunk.
  config.lock()
  return config
