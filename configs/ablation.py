# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Issue 12's ablation on DNA: configs/slim.py's model and data, one run per variant, equal budgets.

Select a variant after a colon: `--config=configs/ablation.py:conv4`. Every variant trains the same
windows in the same order (same seed) for the same steps with the same optimizer; only the model
(or, for `+rc`, the strand of some windows) differs. Parameter counts stay within 5% of the
faithful model's (benchmarks/ablation.py checks): the Taylor variants' small query/key projections
free about 74 k parameters, which go back into the FFN (d_ff 512 -> 608).
Fields are documented in genome_transformer/config_lib.py.
"""

from genome_transformer import config_lib

_CONV = dict(conv_width=4)  # The first probe's width: 3 bases back plus the current one.
_TAYLOR = dict(feature_map="taylor", qk_head_dim=16, d_ff=608)  # Based's 16 query/key dims per head.
_WINDOW = dict(window_heads=1, window_size=64)  # One of the two heads: exact softmax over 64 bases.
# Hedgehog's learned 64 x 64 projection per linear head and layer: +24.6 k parameters on two linear heads,
# which go back out of the FFN (d_ff 512 -> 496) to stay within 5% of the faithful model; +12.3 k on one.
_HEDGEHOG = dict(feature_map="hedgehog", d_ff=496)
# The floor that keeps the sub-linear step's rebuilt states exact (attention.hedgehog_features).
_FLOOR = dict(hedgehog_floor=0.01)
# The phase-split model (below, "+split"): Hedgehog with the floor, the codon frame and one state per phase.
_SPLIT = dict(**_CONV, **_HEDGEHOG, **_FLOOR, phase_period=3, phase_split_state=True)

# name -> (model overrides, data overrides).
VARIANTS = {
  "faithful": ({}, {}),
  "conv4": (_CONV, {}),
  "taylor16": (_TAYLOR, {}),
  "window64": (_WINDOW, {}),
  "conv4+taylor16": ({**_CONV, **_TAYLOR}, {}),
  "conv4+window64": ({**_CONV, **_WINDOW}, {}),
  "conv4+taylor16+window64": ({**_CONV, **_TAYLOR, **_WINDOW}, {}),
  "conv4+nopos": ({**_CONV, "positions": "none"}, {}),
  "conv4+rc": (_CONV, {"reverse_complement_prob": 0.5}),
  "conv4+hedgehog": ({**_CONV, **_HEDGEHOG}, {}),
  "conv4+hedgehog+window64": ({**_CONV, **_HEDGEHOG, **_WINDOW, "d_ff": 512}, {}),
  # The floor's cost.
  "conv4+hedgehog+floor": ({**_CONV, **_HEDGEHOG, **_FLOOR}, {}),
  "softmax": ({"attention": "softmax"}, {}),
  "softmax+conv4": ({"attention": "softmax", **_CONV}, {}),
  # The codon frame's phase pair (model.phase_period = 3): the twin leads deep in a bacterial window
  # (README, "Where the twin's lead lies"), where a linear state averages every frame of a gene together.
  "conv4+codon": ({**_CONV, "phase_period": 3}, {}),
  "conv4+hedgehog+floor+codon": ({**_CONV, **_HEDGEHOG, **_FLOOR, "phase_period": 3}, {}),
  "softmax+conv4+codon": ({"attention": "softmax", **_CONV, "phase_period": 3}, {}),
  # Twice the state per linear head (model.num_feature_blocks = 2: 256 features from a 64 x 128 projection),
  # where the twin's lead lies deep in the window; the projection's extra 24.6 k come out of the FFN again.
  "conv4+hedgehog2x+floor+codon": (
    {**_CONV, **_HEDGEHOG, **_FLOOR, "num_feature_blocks": 2, "d_ff": 464, "phase_period": 3},
    {},
  ),
  # The state split by the key's codon phase (model.phase_split_state: 3 x 128 features per head), a query
  # weighing the three by relative phase: the factor a softmax head makes from the phase pair through q.k.
  "conv4+hedgehog+floor+codon+split": (
    _SPLIT,
    {},
  ),
  # The state split by recent blocks (model.recency_slots: 4 x 128 features per head, as hedgehog4x's 512): which
  # 256-base block of the window a key lies in, relative to the query's, weighted by what was learned; the twin
  # leads where a linear state has averaged a whole window (README, "Where the twin's lead lies").
  "conv4+hedgehog+floor+codon+recency4": (
    {**_CONV, **_HEDGEHOG, **_FLOOR, "phase_period": 3, "recency_slots": 4, "recency_block": 256},
    {},
  ),
  # Four heads of d = 32 in place of two of 64, the split model and its twin: a linear head is one smoother
  # of low rank (its state has M x d entries for the whole window), so more of them should serve it more
  # than a softmax head, whose weights can already be sharp. Hedgehog's projections shrink to 4 x 32 x 32
  # (12.3 k fewer parameters per model, kept out of the FFN: nearer the twin's count).
  "conv4+hedgehog+floor+codon+split+4heads": (
    {**_SPLIT, "num_heads": 4},
    {},
  ),
  "softmax+conv4+codon+4heads": ({"attention": "softmax", **_CONV, "phase_period": 3, "num_heads": 4}, {}),
  # Eight heads of d = 16, the same question one step further: each linear head keeps 3 x 32 features, each
  # softmax head scores with 16 dimensions; Hedgehog's projections shrink to 8 x 16 x 16.
  "conv4+hedgehog+floor+codon+split+8heads": (
    {**_SPLIT, "num_heads": 8},
    {},
  ),
  "softmax+conv4+codon+8heads": ({"attention": "softmax", **_CONV, "phase_period": 3, "num_heads": 8}, {}),
  # Sixteen heads of d = 8, if eight beat four for the linear model against its own twin (README, "Eight heads"):
  # each linear head keeps 3 x 16 features; Hedgehog's projections shrink to 16 x 8 x 8.
  "conv4+hedgehog+floor+codon+split+16heads": (
    {**_SPLIT, "num_heads": 16},
    {},
  ),
  "softmax+conv4+codon+16heads": ({"attention": "softmax", **_CONV, "phase_period": 3, "num_heads": 16}, {}),
  # Changes to the sixteen-head model's linear heads only, so its twin stays the one above. Two of the sixteen
  # heads as exact softmax over the last 64 bases (Based's layout: window and linear heads side by side), the
  # addition that won on human chrX (README, "On human chrX"), where the linear model must meet its twin too.
  "conv4+hedgehog+floor+codon+split+16heads+window64x2": (
    {**_SPLIT, "num_heads": 16, "window_heads": 2, "window_size": 64},
    {},
  ),
  # Human chrX's best linear model (configs/release_human_chrx_local.py:conv4+window64x2+hedgehog+floor+4heads:
  # two window heads of 32 beside two Hedgehog heads; level with its twin there) with the codon frame and the
  # phase-split state, so that one model meets its twin on both genomes; the twin is softmax+conv4+codon+4heads.
  "conv4+window64x2+hedgehog+floor+codon+split+4heads": (
    {**_SPLIT, "num_heads": 4, "window_heads": 2, "window_size": 64},
    {},
  ),
  # Human chrX's three-window model (configs/release_human_chrx_local.py:conv4+window64x3+hedgehog+floor+4heads,
  # ahead of its twin there) with the codon frame and phase-split state on its one Hedgehog head: the same
  # question, one layout for both genomes. One Hedgehog projection fewer goes to the FFN (d_ff 504, as there).
  "conv4+window64x3+hedgehog+floor+codon+split+4heads": (
    {**_SPLIT, "num_heads": 4, "window_heads": 3, "window_size": 64, "d_ff": 504},
    {},
  ),
  # Twice Hedgehog's state per head (16 x 8 x 16 projections, 3 x 32 features per head), the doubling that tied
  # the two-head twin on one seed (README, "Twice Hedgehog's state").
  "conv4+hedgehog2x+floor+codon+split+16heads": (
    {**_SPLIT, "num_heads": 16, "num_feature_blocks": 2},
    {},
  ),
  # Four times (512 features per head, a 64 x 256 projection); 49 k more parameters out of the FFN.
  "conv4+hedgehog4x+floor+codon": (
    {**_CONV, **_HEDGEHOG, **_FLOOR, "num_feature_blocks": 4, "d_ff": 400, "phase_period": 3},
    {},
  ),
}


def get_config(variant: str = "faithful"):
  if variant not in VARIANTS:
    raise ValueError(f"configs/ablation.py:{variant} is not a variant; choose one of {sorted(VARIANTS)}.")
  model_overrides, data_overrides = VARIANTS[variant]
  config = config_lib.base_config()
  config.data.genome = "builtin:bacteria4"  # As configs/slim.py.
  config.data.window_length = 1024  # As configs/slim.py.
  config.data.stride = 1024  # As configs/slim.py.
  config.model.d_model = 128  # As configs/slim.py.
  config.model.num_layers = 3  # As configs/slim.py.
  config.model.num_heads = 2  # d = 64, as configs/slim.py.
  config.model.d_ff = 512  # As configs/slim.py.
  config.model.feature_map = "sqr"  # The paper's default, as configs/slim.py.
  config.train.batch_size = 8  # As configs/slim.py.
  config.train.num_steps = 1000  # 8.2 M tokens: past the ~6 M where the faithful model and its twin part.
  config.train.chunk_size = 256  # Sub-linear step; softmax variants train on whole windows (below).
  config.train.learning_rate = 2e-3  # As configs/slim.py.
  config.train.warmup_steps = 50  # As configs/slim.py.
  config.train.log_every = 50  # Throughput and loss every 50 steps.
  config.train.eval_every = 250  # Four validation points: the learning curves.
  config.train.checkpoint_every = 250  # Resume point.
  config.eval.max_bases = 32768  # As configs/slim.py: 5 records x 32 kb per split.
  config.eval.chunk_size = 1024  # Recurrent evaluation chunk.
  config.model.update(model_overrides)
  config.data.update(data_overrides)
  if config.model.attention == "softmax":
    config.train.chunk_size = config.data.window_length  # Softmax has no chunked step.
  config.lock()
  return config
