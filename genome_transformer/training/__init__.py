# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The training loop, its checkpoints and its metrics."""
