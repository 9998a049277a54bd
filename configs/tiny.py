# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Tiny config for tests: a few seconds per run on one CPU core."""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0  # Seeds parameter init, data order and per-step feature draws.

  config.data = ml_collections.ConfigDict()
  config.data.genome = "builtin:bacteria4"  # Corpus: "builtin:NAME" or comma-separated FASTA paths.
  config.data.data_dir = ""  # Where TFDS shards live; "" = the user cache (~/.cache/genome_transformer).
  config.data.window_length = 128  # Tokens per training window (L).
  config.data.stride = 128  # Bases between consecutive window starts; = L means no overlap.
  config.data.max_n_fraction = 0.5  # Windows with more N than this fraction are dropped.

  config.model = ml_collections.ConfigDict()
  config.model.vocab_size = 8  # Tokenizer vocabulary (A C G T N PAD BOS EOS).
  config.model.d_model = 32  # D: residual width; embedding is D/2, sin and cos D/4 each.
  config.model.num_layers = 2  # s: attention + FFN blocks.
  config.model.num_heads = 2  # H: heads; head size d = D / H.
  config.model.d_ff = 64  # FFN hidden width.
  config.model.attention = "linear"  # "linear" (SLiM Performer) or "softmax" (causal baseline).
  config.model.feature_map = "sqr"  # phi: "relu", "elu+1", "sqr" or "favor+".
  config.model.num_feature_blocks = 1  # favor+ only: M = blocks * d random features.
  config.model.on_gptln = True  # True: post-LN x + LN(f(x)); False: pre-LN x + f(LN(x)).

  config.train = ml_collections.ConfigDict()
  config.train.batch_size = 8  # Global batch, split across all devices.
  config.train.num_steps = 20  # Optimizer steps.
  config.train.chunk_size = 32  # C: < window_length uses sub-linear memory training.
  config.train.learning_rate = 3e-3  # Peak AdamW learning rate.
  config.train.warmup_steps = 5  # Linear warmup, then cosine decay to 10% of the peak.
  config.train.weight_decay = 0.0  # AdamW decoupled weight decay.
  config.train.grad_clip_norm = 1.0  # Global gradient norm clip.
  config.train.log_every = 5  # Steps between progress lines and metric writes.
  config.train.eval_every = 10  # Steps between held-out evaluations.
  config.train.checkpoint_every = 10  # Steps between checkpoints.
  config.train.max_to_keep = 3  # Checkpoints kept on disk.

  config.eval = ml_collections.ConfigDict()
  config.eval.max_bases = 4096  # Held-out bases scored per split (0 = all of them).
  config.eval.chunk_size = 128  # Chunk of the recurrent evaluation; memory is flat in length.

  config.lock()
  return config
