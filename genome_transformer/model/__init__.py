# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The SLiM Performer: attention (feature maps, causal linear attention), performer (the Flax model),
sublinear (the SLiM training step), inference (recurrent scoring and generation)."""
