# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Scalar metrics to TensorBoard (tensorboardX) and to <workdir>/metrics.jsonl, from process 0 only.

tensorboardX writes TensorBoard's event format without importing tensorflow or tensorboard (clu's
writers pull in both, about 1.5 GB), and the JSONL file is what tests and scripts read.
"""

from __future__ import annotations

import json
import os
import time

from absl import logging
import tensorboardX


class MetricWriter:
  def __init__(self, workdir: str, *, enabled: bool = True):
    self.enabled = enabled
    self.jsonl_path = os.path.join(workdir, "metrics.jsonl")
    if enabled:
      self._summary = tensorboardX.SummaryWriter(logdir=os.path.join(workdir, "tensorboard"))
      self._jsonl = open(self.jsonl_path, "a", encoding="utf-8")

  def write(self, step: int, scalars: dict) -> None:
    if not self.enabled:
      return
    for name, value in scalars.items():
      self._summary.add_scalar(name, value, global_step=step)
    # One line per write, flushed at once, so a killed run leaves every line it logged.
    self._jsonl.write(json.dumps({"step": step, "time": time.time(), **scalars}) + "\n")
    self._jsonl.flush()
    self._summary.flush()

  def close(self) -> None:
    if self.enabled:
      self._summary.close()
      self._jsonl.close()


def read_metrics(workdir: str) -> list[dict]:
  """The rows of <workdir>/metrics.jsonl; a line that is not JSON is skipped with a warning.

  A run killed mid-write can leave a partial last line; the rest is still good, and a resumed run
  appends after it.
  """
  path = os.path.join(workdir, "metrics.jsonl")
  rows = []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError:
        logging.warning("%s line %d is not JSON; skipped.", path, number)
  return rows
