# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""genome-transformer: Sub-Linear Memory Performer (SLiM) genome language models."""

__version__ = "0.1.0"
