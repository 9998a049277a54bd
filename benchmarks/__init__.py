# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Benchmarks: scripts run from the checkout as `python -m benchmarks.NAME` (benchmarks/README.md)."""
