# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""`python -m genome_transformer.prepare`: writes a genome's training windows (data/prepare.py)."""

from genome_transformer.data import prepare

if __name__ == "__main__":
  prepare.run()
