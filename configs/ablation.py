# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The local-mixing ablation on DNA (docs/model.md): configs/slim.py's model and data, one run per variant, equal budgets.

Select a variant after a colon: `--config=configs/ablation.py:conv4`. Every variant trains the same
windows in the same order (same seed) for the same steps with the same optimizer; only the model
(or, for `+rc`, the strand of some windows) differs. Parameter counts stay within 5% of the
faithful model's (benchmarks/ablation.py checks).
Fields are documented in genome_transformer/config_lib.py.
"""

from genome_transformer import config_lib, variants

# name (as benchmarks/results files it) -> recipe (genome_transformer/variants.py). Hedgehog's learned 64 x 64
# projection per linear head and layer (+24.6 k parameters on two linear heads) goes back out of the FFN
# (dff496) to stay within 5% of the faithful model. The Taylor-map and recency-block variants were run too and
# left the model (level or worse); their results stay in benchmarks/results and docs/experiments/ablation.md.
VARIANTS = {
  "faithful": "faithful",
  "conv4": "conv4",
  "window64": "window64",
  "conv4+window64": "conv4+window64",
  "conv4+nopos": "conv4+nopos",
  "conv4+rc": "conv4+rc",
  "conv4+hedgehog": "conv4+hedgehog+dff496",
  "conv4+hedgehog+window64": "conv4+hedgehog+window64",  # One linear head: its projection fits in 5%.
  "conv4+hedgehog+floor": "conv4+hedgehog+floor+dff496",  # The floor's cost.
  "softmax": "softmax",
  "softmax+conv4": "softmax+conv4",
  # The codon frame's phase pair: the twin leads deep in a bacterial window (docs/model.md), where a linear
  # state averages every frame of a gene together.
  "conv4+codon": "conv4+codon",
  "conv4+hedgehog+floor+codon": "conv4+hedgehog+floor+codon+dff496",
  "softmax+conv4+codon": "softmax+conv4+codon",
  # Twice the state per linear head (256 features from a 64 x 128 projection); its extra 24.6 k come out of the FFN.
  "conv4+hedgehog2x+floor+codon": "conv4+hedgehog2x+floor+codon+dff464",
  # The state split by the key's codon phase (3 x 128 features per head), a query weighing the three by relative
  # phase: the factor a softmax head makes from the phase pair through q.k.
  "conv4+hedgehog+floor+codon+split": "conv4+hedgehog+floor+codon+split+dff496",
  # More, narrower heads, the split model and its twin: a linear head is one smoother of low rank, so more of them
  # should serve it more than a softmax head, whose weights can already be sharp.
  "conv4+hedgehog+floor+codon+split+4heads": "conv4+hedgehog+floor+codon+split+4heads+dff496",
  "softmax+conv4+codon+4heads": "softmax+conv4+codon+4heads",
  "conv4+hedgehog+floor+codon+split+8heads": "conv4+hedgehog+floor+codon+split+8heads+dff496",
  "softmax+conv4+codon+8heads": "softmax+conv4+codon+8heads",
  "conv4+hedgehog+floor+codon+split+16heads": "conv4+hedgehog+floor+codon+split+16heads+dff496",
  "softmax+conv4+codon+16heads": "softmax+conv4+codon+16heads",
  # Two of the sixteen heads as exact softmax over the last 64 bases (window and linear heads side by side);
  # its twin stays softmax+conv4+codon+16heads.
  "conv4+hedgehog+floor+codon+split+16heads+window64x2": "conv4+hedgehog+floor+codon+split+16heads+window64x2+dff496",
  # Human chrX's layouts with the codon frame and the split state: one model for both genomes; twin
  # softmax+conv4+codon+4heads. One Hedgehog projection fewer in the three-window model goes to the FFN.
  "conv4+window64x2+hedgehog+floor+codon+split+4heads": "conv4+window64x2+hedgehog+floor+codon+split+4heads+dff496",
  "conv4+window64x3+hedgehog+floor+codon+split+4heads": "conv4+window64x3+hedgehog+floor+codon+split+4heads+dff504",
  "conv4+hedgehog2x+floor+codon+split+16heads": "conv4+hedgehog2x+floor+codon+split+16heads+dff496",
  # Four times Hedgehog's state (512 features per head, a 64 x 256 projection); 49 k more out of the FFN.
  "conv4+hedgehog4x+floor+codon": "conv4+hedgehog4x+floor+codon+dff400",
}


def get_config(variant: str = "faithful"):
  if variant not in VARIANTS:
    raise ValueError(f"configs/ablation.py:{variant} is not a variant; choose one of {sorted(VARIANTS)}.")
  config = config_lib.parent_config(__file__, "slim.py")  # Its model, data and optimizer.
  config.train.num_steps = 1000  # 8.2 M tokens: past the ~6 M where the faithful model and its twin part.
  config.train.log_every = 50  # Throughput and loss every 50 steps.
  config.train.eval_every = 250  # Four validation points: the learning curves.
  config.train.checkpoint_every = 250  # Resume point.
  variants.apply(config, VARIANTS[variant])
  config.lock()
  return config
