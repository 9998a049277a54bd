# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Held-out bits per base of a model, and the baselines it is compared with."""
