# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""`python -m genome_transformer.tasks`: builds labelled fine-tuning tasks into the cache (data/tasks/tasks_cli.py)."""

from genome_transformer.data.tasks import tasks_cli

if __name__ == "__main__":
  tasks_cli.run()
