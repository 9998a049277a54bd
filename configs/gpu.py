# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""One GPU (or a multi-node GPU job via launch/gpu_multinode.sh): 32 kb windows of human chrX."""

from genome_transformer import config_lib


def get_config():
  config = config_lib.base_config()
  config.data.genome = "fetch:smalt-chrX"  # 70 Mb of human chrX (GRCh37) from Debian smalt-examples.
  config.data.window_length = 32768  # 32 kb of context.
  config.data.stride = 16384  # Half-overlapping windows.
  config.data.max_n_fraction = 0.1  # Drop gap-dominated windows.
  config.model.d_model = 512  # PTB-preset width.
  config.model.num_layers = 6  # Twice the reference depth.
  config.model.num_heads = 8  # d = 64.
  config.model.d_ff = 2048  # 4 D.
  config.train.batch_size = 8  # Per step; a multiple of the GPU count.
  config.train.num_steps = 20000  # Several hours on one H100-class GPU.
  config.train.chunk_size = 2048  # Memory of a 2048-token step at 32 kb context.
  config.train.learning_rate = 5e-4  # AdamW peak.
  config.train.warmup_steps = 1000  # 5% warmup.
  config.train.weight_decay = 0.1  # Regularises a long run.
  config.train.log_every = 50  # Progress line interval.
  config.train.eval_every = 1000  # Held-out evaluation interval.
  config.train.checkpoint_every = 500  # Checkpoint interval.
  config.eval.max_bases = 262144  # 256 kb per record and split: 8x the window.
  config.eval.chunk_size = 4096  # Recurrent evaluation chunk.
  config.lock()
  return config
