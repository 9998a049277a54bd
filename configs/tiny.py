# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Tiny model for tests: seconds per run on one CPU core. Fields are documented in config_lib."""

from genome_transformer import config_lib


def get_config():
  config = config_lib.base_config()
  config.data.genome = "builtin:hpylori"  # Smallest shipped genome (1.65 Mb): shards build fast.
  config.data.window_length = 128  # Short windows keep compile and step times small.
  config.data.stride = 128  # No overlap.
  config.model.d_model = 32  # Tiny width.
  config.model.num_layers = 2  # Two layers: the cross-layer state handling is exercised.
  config.model.num_heads = 2  # d = 16.
  config.model.d_ff = 64  # 2 D.
  config.train.batch_size = 8  # Divisible by the 8 fake devices of the sharding test.
  config.train.num_steps = 20  # A few steps: enough to see the loss move.
  config.train.chunk_size = 32  # C < L: the sub-linear step is what runs.
  config.train.learning_rate = 3e-3  # Tiny models tolerate a large rate.
  config.train.warmup_steps = 5  # Short warmup.
  config.train.log_every = 1  # Every loss is logged: the resume test compares them all.
  config.train.eval_every = 10  # Mid-run and final evaluation.
  config.train.checkpoint_every = 5  # Frequent checkpoints for the kill-and-resume test.
  config.eval.max_bases = 2048  # Longer than the window: evaluation runs past the training length.
  config.eval.chunk_size = 128  # Recurrent evaluation chunk.
  config.lock()
  return config
