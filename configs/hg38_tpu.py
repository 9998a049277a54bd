# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Long-context human pretraining on a TPU pod slice (e.g. v4-32): 128 kb windows, chunked training.

Run with launch/tpu_vm.sh; every worker downloads hg38 into its own cache and reads its share.
"""

from genome_transformer import config_lib


def get_config():
  config = config_lib.base_config()
  config.data.genome = "fetch:hg38"  # UCSC hg38, downloaded and checksummed by genome_transformer.fetch.
  config.data.window_length = 131072  # 128 kb of context per window.
  config.data.stride = 65536  # Half-overlapping windows: twice the windows of a 3.1 Gb genome.
  config.data.max_n_fraction = 0.1  # Assembly gaps are long N runs; keep windows that are mostly sequence.
  config.model.d_model = 1024  # enwik8-preset width.
  config.model.num_layers = 6  # Deeper than the reference: the pod has the compute.
  config.model.num_heads = 16  # d = 64.
  config.model.d_ff = 4096  # 4 D.
  config.model.feature_map = "sqr"  # Paper default.
  config.train.batch_size = 64  # 2 windows per chip on a v4-32 (32 chips, 4 hosts); 8.4 M tokens per step.
  config.train.num_steps = 50000  # About 420 B tokens: 1.4 epochs of hg38 at this stride.
  config.train.chunk_size = 2048  # Training memory is that of 2048 tokens whatever the window length.
  config.train.learning_rate = 3e-4  # Large-batch AdamW.
  config.train.warmup_steps = 2000  # 4% warmup.
  config.train.weight_decay = 0.1  # Regularises a long run.
  config.train.log_every = 50  # Progress line interval.
  config.train.eval_every = 2000  # Held-out evaluation interval.
  config.train.checkpoint_every = 500  # Preemptible TPUs: checkpoint often.
  config.train.max_to_keep = 5  # Keep a few for rollback.
  config.eval.max_bases = 1048576  # 1 Mb per record and split: 8x the training window.
  config.eval.chunk_size = 8192  # Recurrent evaluation chunk.
  config.lock()
  return config
