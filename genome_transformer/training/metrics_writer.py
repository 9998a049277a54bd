# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Scalar metrics to TensorBoard (tensorboardX) and to <workdir>/metrics.jsonl, from process 0 only.

tensorboardX writes TensorBoard's event format without importing tensorflow or tensorboard (clu's
writers pull in both, about 1.5 GB), and the JSONL file is what tests and scripts read.

In a bucket (a gs:// workdir) both go to the bucket: tensorboardX uploads its event file itself
(google-cloud-storage), and metrics.jsonl, which an object store cannot append to, is uploaded whole
at each write (see `_ObjectLines`).
"""

from __future__ import annotations

import json
import os
import time

from absl import logging
import tensorboardX

from genome_transformer.genomics import files

METRICS_JSONL = "metrics.jsonl"


class _ObjectLines:
  """Lines appended to an object in a bucket, which cannot be appended to in place.

  The object is uploaded whole at each flush, one upload that GCS makes visible whole or not at all:
  a killed run leaves every line it flushed, as a local file does. A resumed run starts from the
  object's lines. Metrics are a few hundred bytes per logged step, so the uploads stay small.
  """

  def __init__(self, path):
    self._path = path
    self._text = path.read_text(encoding="utf-8") if path.exists() else ""

  def write(self, text: str) -> None:
    self._text += text

  def flush(self) -> None:
    files.write_bytes_atomic(self._path, self._text.encode("utf-8"))

  def close(self) -> None:
    self.flush()


class MetricWriter:
  def __init__(self, workdir: str, *, enabled: bool = True):
    self.enabled = enabled
    workdir = files.as_path(workdir)
    self.jsonl_path = workdir / METRICS_JSONL
    if enabled:
      self._summary = tensorboardX.SummaryWriter(logdir=os.fspath(workdir / "tensorboard"))
      if files.is_uri(workdir):
        self._jsonl = _ObjectLines(self.jsonl_path)
      else:
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
  """The rows of <workdir>/metrics.jsonl (local or in a bucket); a line that is not JSON is skipped with a warning.

  A run killed mid-write can leave a partial last line; the rest is still good, and a resumed run
  appends after it.
  """
  path = files.as_path(workdir) / METRICS_JSONL
  rows = []
  with path.open(encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      if not line.strip():
        continue
      try:
        rows.append(json.loads(line))
      except json.JSONDecodeError:
        logging.warning("%s line %d is not JSON; skipped.", path, number)
  return rows
