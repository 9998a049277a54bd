# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""`python -m genome_transformer.export`: exports a training workdir for inference (release/export.py)."""

from genome_transformer.release import export

if __name__ == "__main__":
  export.run()
