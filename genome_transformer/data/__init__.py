# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Training windows: the TFDS genome_windows builder, its grain loader and the prepare command."""
