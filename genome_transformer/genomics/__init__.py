# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Genome files without JAX: tokenizer, FASTA validation and access, genome specs, downloads."""
