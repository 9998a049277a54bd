# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The next bacterial CPU release: configs/release_bacteria.py with the ablation's local mixing.

configs/ablation.py (benchmarks/results/ablation_bacteria.json) found the causal convolution on q, k
and v the largest gain and one sliding-window head a smaller one on top; this is the CPU release
config (D = 192, 4 layers, 4000 steps) with both. About 1.6x the faithful release's time on 2 CPU
cores (the window's 64-row context makes each chunk's reverse pass longer).

Variants after a colon, for benchmarks/ablation.py (`--config=configs/release_bacteria_local.py`):
`conv4+window64` (the default, the release candidate chosen before the Hedgehog runs), `softmax+conv4`,
its softmax twin trained the same way (full causal softmax subsumes the window head; the convolution
stays), `conv4+hedgehog` (the best linear variant of configs/ablation.py: +49 k parameters, 3%), and
`conv4+hedgehog+codon` with its twin `softmax+conv4+codon` (model.phase_period = 3: the codon frame), and
`conv4+hedgehog2x+codon` (twice Hedgehog's state), the release candidate with the same twin;
`conv4+hedgehog+codon+split+6heads` (the state split by codon phase, six heads of 32) with its twin
`softmax+conv4+codon+6heads`; the same with sixteen heads of 12, `conv4+hedgehog+codon+split+16heads` and
`softmax+conv4+codon+16heads`.

A GPU machine trains a pair in minutes with the same configs (float32, train.matmul_precision "highest"):
  python -m benchmarks.ablation --config=configs/release_bacteria_local.py --workdir=WORKDIR \
      --variants=conv4+hedgehog+codon+split+16heads,softmax+conv4+codon+16heads \
      --reference=softmax+conv4+codon+16heads --out=benchmarks/results/ablation_bacteria_release16.json
then `python -m genome_transformer.export --workdir=WORKDIR/VARIANT --out=...` for each.
Fields are documented in genome_transformer/config_lib.py.
"""

from genome_transformer import config_lib, variants

# name -> recipe (genome_transformer/variants.py); names without "floor" that have it are filed so in
# benchmarks/results.
VARIANTS = {
  "conv4+window64": "conv4+window64",  # One head of three: softmax over 64 bases.
  # Its softmax twin trained the same way (full causal softmax subsumes the window head; the convolution stays).
  "softmax+conv4": "softmax+conv4",
  "conv4+hedgehog": "conv4+hedgehog",
  # The codon frame's phase pair, with the floor that keeps Hedgehog's rebuilt states exact, and its twin.
  "conv4+hedgehog+codon": "conv4+hedgehog+floor+codon",
  "softmax+conv4+codon": "softmax+conv4+codon",
  # Twice Hedgehog's state; the wider projection's extra 49 k parameters come out of the FFN, within 5% of the twin.
  "conv4+hedgehog2x+codon": "conv4+hedgehog2x+floor+codon+dff736",
  # configs/ablation.py's split model with twice the heads at half the width, here 6 heads of 32; its twin
  # has the same heads.
  "conv4+hedgehog+codon+split+6heads": "conv4+hedgehog+floor+codon+split+6heads",
  "softmax+conv4+codon+6heads": "softmax+conv4+codon+6heads",
  # The ablation's winner, sixteen heads (there of 8, here of 12), ahead of its own twin at ablation size, and
  # that twin: on 2 CPU cores each takes longer than one working session; one GPU trains both in minutes.
  "conv4+hedgehog+codon+split+16heads": "conv4+hedgehog+floor+codon+split+16heads",
  "softmax+conv4+codon+16heads": "softmax+conv4+codon+16heads",
}


def get_config(variant: str = "conv4+window64"):
  if variant not in VARIANTS:
    raise ValueError(f"configs/release_bacteria_local.py:{variant} is not a variant; choose one of {sorted(VARIANTS)}.")
  config = config_lib.parent_config(__file__, "release_bacteria.py")  # Trained exactly as that release.
  variants.apply(config, VARIANTS[variant])
  config.lock()
  return config
