# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The reference's PTB-characters preset (L=1024, D=512, 3 layers, 8 heads) on DNA, for comparison runs."""

from genome_transformer import config_lib


def get_config():
  config = config_lib.base_config()
  config.data.window_length = 1024  # Reference L.
  config.data.stride = 1024  # Non-overlapping windows.
  config.model.d_model = 512  # Reference D.
  config.model.num_layers = 3  # Reference depth.
  config.model.num_heads = 8  # Reference heads: d = 64.
  config.model.d_ff = 2048  # Reference d_ff = 4 D.
  config.model.feature_map = "sqr"  # Reference feature map.
  config.train.batch_size = 1  # Reference batch size.
  config.train.num_steps = 30000  # Reference iterations.
  config.train.chunk_size = 256  # One of the reference's chunk lengths (full, 512, 256).
  config.train.learning_rate = 1e-4  # Reference Adam learning rate.
  config.train.warmup_steps = 0  # The reference has no warmup.
  config.train.grad_clip_norm = 0.0  # The reference does not clip.
  config.train.log_every = 100  # Progress line interval.
  config.train.eval_every = 2000  # Held-out evaluation interval.
  config.train.checkpoint_every = 1000  # Checkpoint interval.
  config.lock()
  return config
