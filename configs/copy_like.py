# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The reference's copy-task model and optimizer (L=512, D=256, 1 layer, pre-LN, lr 1e-2) on genome windows.

The reference trains it on a synthetic copy task; here the same model and schedule learn DNA, so
its quality sits beside the PTB-like and enwik8-like presets at the smallest size.
"""

from genome_transformer import config_lib


def get_config():
  config = config_lib.base_config()
  config.data.window_length = 512  # Reference L.
  config.data.stride = 512  # Non-overlapping windows.
  config.model.d_model = 256  # Reference D.
  config.model.num_layers = 1  # Reference depth.
  config.model.num_heads = 4  # Reference heads: d = 64.
  config.model.d_ff = 1024  # Reference d_ff = 4 D.
  config.model.on_gptln = False  # The copy preset is pre-LN in the reference.
  config.model.feature_map = "sqr"  # Reference feature map.
  config.train.batch_size = 1  # Reference batch size.
  config.train.num_steps = 15000  # Reference iterations.
  config.train.chunk_size = 64  # One of the reference's chunk lengths (full, 128, 64).
  config.train.learning_rate = 1e-2  # Reference Adam learning rate.
  config.train.warmup_steps = 0  # The reference has no warmup.
  config.train.grad_clip_norm = 0.0  # The reference does not clip.
  config.train.log_every = 100  # Progress line interval.
  config.train.eval_every = 1000  # Held-out evaluation interval.
  config.train.checkpoint_every = 1000  # Checkpoint interval.
  config.eval.chunk_size = 512  # Recurrent evaluation chunk.
  config.lock()
  return config
