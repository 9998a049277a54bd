# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Exported models: the export format, the pretrained-model API and its command line."""
