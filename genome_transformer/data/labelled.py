# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Labelled sequences for fine-tuning: TSV files (optionally gzipped) with `sequence` and `label` columns.

The header line names the columns (tab-separated, any order; `id` is optional, other columns are
ignored). Labels are any strings; the classes are the training file's labels in sorted order, and
validation and test labels must be among them. Blank lines are skipped. Every error names the file
and the 1-based line, says what is wrong and what to do, and is raised while reading, before a model
is built, so a bad file costs no compile.
"""

from __future__ import annotations

import dataclasses
import gzip
import os

import numpy as np

from genome_transformer.genomics import tokenizer

REQUIRED_COLUMNS = ("sequence", "label")
_GZIP_MAGIC = b"\x1f\x8b"


class TaskInputError(tokenizer.GenomeInputError):
  """A task file that cannot be used; the message names the file and the line."""


@dataclasses.dataclass
class LabelledSet:
  """One split: ids, token arrays and string labels, with the line each row came from."""

  path: str
  ids: list[str]
  tokens: list[np.ndarray]  # uint8 token ids, one array per sequence (no padding).
  labels: list[str]
  lines: list[int]  # 1-based line of each row in the file.

  def __len__(self) -> int:
    return len(self.labels)

  def label_ids(self, classes: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[label] for label in self.labels], np.int32)


def _text_lines(path: str) -> list[str]:
  if not os.path.exists(path):
    raise TaskInputError(f"{path}: no such file; give a TSV file with a header line holding 'sequence' and 'label'.")
  if os.path.isdir(path):
    raise TaskInputError(f"{path}: is a directory; give a TSV file with a header line holding 'sequence' and 'label'.")
  with open(path, "rb") as f:
    data = f.read()
  if data[:2] == _GZIP_MAGIC:  # By content, not by name: a .tsv that is gzipped still reads.
    try:
      data = gzip.decompress(data)
    except (OSError, EOFError) as error:
      raise TaskInputError(f"{path}: line 1: the gzip stream is damaged ({error}); compress the file again.") from None
  try:
    text = data.decode("utf-8")
  except UnicodeDecodeError as error:
    line = data[: error.start].count(b"\n") + 1
    raise TaskInputError(f"{path}: line {line}: not UTF-8 text; save the file as UTF-8 (plain ASCII TSV).") from None
  return text.splitlines()


def read_labelled(path: str, *, labels: bool = True) -> LabelledSet:
  """Reads and checks one TSV file: header, field counts, non-empty legal sequences, labels.

  labels=False reads sequences to classify: only `sequence` is required, and a `label` column, if
  there is one, is read as given (empty labels allowed; its rows' labels are '' without one).
  """
  required = REQUIRED_COLUMNS if labels else ("sequence",)
  wanted = " and ".join(repr(c) for c in required)
  lines = _text_lines(path)
  numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
  if not numbered:
    raise TaskInputError(
      f"{path}: line 1: the file is empty; it needs a header line naming the column(s) {wanted} "
      "(tab-separated), then one row per sequence."
    )
  header_line, header = numbered[0]
  columns = [c.strip() for c in header.split("\t")]
  for name in required:
    if name not in columns:
      raise TaskInputError(
        f"{path}: line {header_line}: the header has no {name!r} column (it has {', '.join(map(repr, columns))}); "
        f"the first line must name the tab-separated columns, at least {wanted} (optionally 'id')."
      )
  seq_col = columns.index("sequence")
  label_col = columns.index("label") if "label" in columns else None
  id_col = columns.index("id") if "id" in columns else None
  rows = numbered[1:]
  if not rows:
    raise TaskInputError(
      f"{path}: line {header_line}: the file has a header but no rows; add one tab-separated row per sequence."
    )
  ids, tokens, row_labels, line_numbers = [], [], [], []
  for n, line in rows:
    fields = line.rstrip("\r").split("\t")
    if len(fields) != len(columns):
      raise TaskInputError(
        f"{path}: line {n}: {len(fields)} tab-separated fields, but the header has {len(columns)}; "
        "separate the columns with single tabs and give every row every column."
      )
    row_id = fields[id_col].strip() if id_col is not None else str(n)
    sequence = fields[seq_col].strip()
    label = fields[label_col].strip() if label_col is not None else ""
    if not sequence:
      raise TaskInputError(f"{path}: line {n}: the sequence of {row_id!r} is empty; give its bases or remove the row.")
    if labels and not label:
      raise TaskInputError(f"{path}: line {n}: the label of {row_id!r} is empty; give its label or remove the row.")
    try:
      tokens_L = tokenizer.encode(sequence, source=path, record=row_id)
    except tokenizer.IllegalCharacterError as error:
      raise TaskInputError(
        str(
          tokenizer.illegal_character_error(
            error.character, source=path, record=row_id, position=error.position, line=n
          )
        )
      ) from None
    ids.append(row_id)
    tokens.append(tokens_L)
    row_labels.append(label)
    line_numbers.append(n)
  return LabelledSet(path=path, ids=ids, tokens=tokens, labels=row_labels, lines=line_numbers)


def classes_of(train: LabelledSet) -> list[str]:
  """The training labels, sorted: the class order of the head's outputs and of the saved model."""
  classes = sorted(set(train.labels))
  if len(classes) < 2:
    raise TaskInputError(
      f"{train.path}: lines {train.lines[0]}-{train.lines[-1]}: every row has the label {classes[0]!r}; "
      "training a classifier needs at least two classes: add rows of another class."
    )
  return classes


def check_labels(split: LabelledSet, classes: list[str], train_path: str) -> None:
  """Raises naming the first row whose label the training file never has."""
  known = set(classes)
  for label, n in zip(split.labels, split.lines):
    if label not in known:
      raise TaskInputError(
        f"{split.path}: line {n}: label {label!r} does not occur in the training file {train_path} (its classes: "
        f"{', '.join(map(repr, classes))}); remove the row or add training rows with that label."
      )


def padded(tokens: list[np.ndarray], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
  """(uint8 [N, L] padded with PAD, int32 lengths [N]), L the longest sequence unless given."""
  lengths = np.array([len(t) for t in tokens], np.int32)
  length = int(lengths.max()) if length is None else length
  out = np.full((len(tokens), length), tokenizer.PAD_ID, np.uint8)
  for row, tokens_L in enumerate(tokens):
    out[row, : len(tokens_L)] = tokens_L
  return out, lengths


def reverse_complements(tokens: list[np.ndarray]) -> list[np.ndarray]:
  """The other strand of each sequence, read 5' to 3' (N stays N); padding is added after."""
  return [tokenizer.reverse_complement(t) for t in tokens]
