# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""`python -m genome_transformer.fetch`: downloads a genome into the cache (genomics/fetch_cli.py)."""

from genome_transformer.genomics import fetch_cli

if __name__ == "__main__":
  fetch_cli.run()
