# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The context sweep (docs/model.md): configs/slim.py's model trained at window L, at an equal token budget.

Select after a colon: `--config=configs/context.py:VARIANT,GENOME,L[,BUDGET_TOKENS]`, e.g.
`configs/context.py:faithful,bacteria4,16384`. Every run of a sweep sees the same number of training
tokens (BUDGET_TOKENS, default 2^24 = 16.8 M) in the same number of steps: every step holds 65536
tokens (64 windows of 1k, 16 of 4k, 4 of 16k, 1 of 64k), so only L differs between the runs, not the
number or size of the optimizer's updates (past 64k a step is one window, and the runs take fewer
steps). Equal tokens with a fixed batch would give the long windows 64x fewer updates than the short. Held-out figures are on the same bases for every L
(eval.max_bases per record), scored at the run's own context by the trainer; benchmarks/context.py
scores each run at longer contexts too. Variants are configs/ablation.py's model variants
(`faithful`, `conv4`, `conv4+window64`, `conv4+hedgehog` the best of the ablation, `softmax`,
`softmax+conv4`), and the context sweep's (docs/model.md): `conv4+hedgehog+nopos`, `conv4+hedgehog+match12` and both together.
Fields are documented in genome_transformer/config_lib.py.
"""

from genome_transformer import config_lib, variants

TOKENS_PER_STEP = 1 << 16  # The longest CPU window: one 64k window, or 64 of 1k.
DEFAULT_BUDGET_TOKENS = 1 << 24  # 256 steps of 65536 tokens: twice the ablation's tokens.
# name -> recipe (genome_transformer/variants.py). Hedgehog as configs/ablation.py has it, with the floor that
# keeps the sub-linear step's rebuilt states exact; the L = 16k chrX points without it are in benchmarks/results.
VARIANTS = {
  "faithful": "faithful",
  "conv4": "conv4",
  "conv4+window64": "conv4+window64",  # configs/release_bacteria_local.py's mixing.
  "conv4+hedgehog": "conv4+hedgehog+floor+dff496",  # The best of configs/ablation.py.
  # Without sinusoids (the convolution gives order): does it score past its training window better?
  "conv4+hedgehog+nopos": "conv4+hedgehog+floor+dff496+nopos",
  # With the match input (model/match.py): can the model copy what lies in its long context?
  "conv4+hedgehog+match12": "conv4+hedgehog+floor+dff496+match12",
  # The sweep's model: the match input, and no sinusoids, which cost past the training window
  # (benchmarks/results/probes_positions_bacteria.json); every L is also scored at longer contexts.
  "conv4+hedgehog+match12+nopos": "conv4+hedgehog+floor+dff496+match12+nopos",
  "softmax": "softmax",
  "softmax+conv4": "softmax+conv4",
}
# name -> (genome spec, held-out bases scored per record and split, max N fraction of a window).
GENOMES = {
  "bacteria4": ("builtin:bacteria4", 65536, 0.5),  # 5 records: 328 kb per split, one 64k window each.
  "chrx": ("fetch:smalt-chrX", 327680, 0.1),  # 1 record; as configs/release_human_chrx.py's N limit.
}


def parse(arg: str) -> tuple[str, str, int, int]:
  """'VARIANT[,GENOME[,L[,BUDGET_TOKENS]]]' -> (variant, genome, L, budget tokens); bacteria4, 1024."""
  parts = arg.split(",")
  if not 1 <= len(parts) <= 4 or not all(parts):
    raise ValueError(
      f"configs/context.py:{arg}: expected VARIANT[,GENOME[,L[,BUDGET_TOKENS]]], e.g. faithful,bacteria4,16384."
    )
  parts += ["bacteria4", "1024", str(DEFAULT_BUDGET_TOKENS)][len(parts) - 1 :]
  variant, genome, length, budget = parts[0], parts[1], int(parts[2]), int(parts[3])
  if variant not in VARIANTS:
    raise ValueError(f"configs/context.py:{arg}: variant {variant!r} is not one of {sorted(VARIANTS)}.")
  if genome not in GENOMES:
    raise ValueError(f"configs/context.py:{arg}: genome {genome!r} is not one of {sorted(GENOMES)}.")
  return variant, genome, length, budget


def get_config(arg: str = "faithful,bacteria4,1024"):
  variant, genome, length, budget = parse(arg)
  batch = max(1, TOKENS_PER_STEP // length)
  steps = max(1, budget // (batch * length))
  spec, max_bases, max_n_fraction = GENOMES[genome]
  config = config_lib.parent_config(__file__, "slim.py")  # Its model and optimizer.
  config.data.genome = spec  # GENOMES above.
  config.data.window_length = length  # L: what the sweep varies.
  config.data.stride = length  # Non-overlapping windows.
  config.data.max_n_fraction = max_n_fraction  # GENOMES above.
  config.train.batch_size = batch  # TOKENS_PER_STEP tokens a step, at least one window.
  config.train.num_steps = steps  # Equal tokens across L, not equal steps.
  config.train.warmup_steps = min(50, steps // 10)  # configs/slim.py's 50, or 10% of a short run.
  config.train.log_every = max(1, min(50, steps // 20))  # About 20 progress lines a run.
  config.train.eval_every = max(1, steps // 4)  # Four validation points: the learning curve.
  config.train.checkpoint_every = max(1, min(250, steps // 8))  # Resume points: runs span sessions.
  config.eval.max_bases = max_bases  # GENOMES above: the same bases for every L.
  variants.apply(config, VARIANTS[variant])
  config.lock()
  return config
