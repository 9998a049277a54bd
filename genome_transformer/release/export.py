# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Inference-only export of a trained workdir.

  python -m genome_transformer.export --workdir=/tmp/slim --out=/tmp/my-export
  python -m genome_transformer.export --workdir=/tmp/slim --out=/tmp/slim-bf16 --dtype=bfloat16 --step=400

An export is a directory:

  export.json   format and version; `model_config` (the config's model section), `config` (the
                whole training config), `tokenizer` (tokenizer.spec()), `metadata` (genome and
                data spec, split rule, steps, tokens seen, held-out bits per base, package and
                library versions, export date, source workdir) and `params` (dtype, parameter
                count, and the size and sha256 of every file under params/).
  params/       an Orbax PyTree checkpoint of the parameter tree alone: no optimizer state, no
                data iterator, no step counter.
  train_metrics.jsonl
                the workdir's metrics.jsonl rows up to the exported step (training and held-out
                figures), so that learning curves rebuild from the export once the workdir is gone.

Export reads only `state.params` (and the step) from the workdir's Orbax checkpoint, by Orbax's
partial restore, so the optimizer state (twice the parameters for Adam) is never loaded; the
checkpoint's own metadata gives the tree, so nothing about the optimizer has to be rebuilt. The
directory is written under a temporary name beside OUT and renamed into place when complete; an
existing OUT is replaced only with `overwrite=True` (then the old one is moved aside first and
deleted after the rename). WORKDIR and OUT may be gs:// paths: a bucket has no rename, so the export
is built in a local temporary directory and uploaded file by file, export.json last (see
`_upload`).

`load_export(path)` (training/export_reader.py, which the trainer's `config.init_from` also uses)
needs nothing but the directory and checks every file and every parameter shape before restoring.
bfloat16 exports halve the files; they are upcast to float32 on load unless another compute dtype
is asked for.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import shutil
import sys
import tempfile
from typing import Any
import uuid

from absl import app, flags, logging
import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

import genome_transformer
from genome_transformer import cli
from genome_transformer.genomics import files as files_lib
from genome_transformer.genomics import genomes, tokenizer
from genome_transformer.training import checkpointing, export_reader, metrics_writer

# The format and its reader live in training/export_reader.py (training starts from exports too);
# these names are the release API's, one definition each.
FORMAT = export_reader.FORMAT
FORMAT_VERSION = export_reader.FORMAT_VERSION
EXPORT_JSON = export_reader.EXPORT_JSON
PARAMS_DIR = export_reader.PARAMS_DIR
TRAIN_METRICS_JSONL = "train_metrics.jsonl"
ExportError = export_reader.ExportError
ParamsConfigMismatchError = export_reader.ParamsConfigMismatchError
Export = export_reader.Export
check_params_against_config = export_reader.check_params_against_config
read_export_json = export_reader.read_export_json
load_export = export_reader.load_export
DTYPES = ("float32", "bfloat16")
SPLIT_RULE = (
  "Per record of length n (genomes.split_bounds): train [0, n*90//100), validation "
  "[n*90//100, n*95//100), test [n*95//100, n), integer arithmetic; training windows never "
  "cross a split boundary, so no held-out base was inside a training window."
)


# ----------------------------------------------------------------------------------------------
# Reading a training workdir.


def read_checkpoint(workdir: str, step: int | None = None) -> tuple[int, Any, dict]:
  """(step, parameter tree of numpy arrays, training config dict) from a workdir's checkpoint.

  Only the parameters are read (training/checkpointing.py knows the layout); the optimizer state stays on disk.
  """
  try:
    return checkpointing.read_params(workdir, step)
  except checkpointing.CheckpointReadError as error:
    raise ExportError(str(error)) from error


def _read_metrics(workdir: str) -> list[dict]:
  path = files_lib.as_path(workdir) / metrics_writer.METRICS_JSONL
  if not path.exists():
    logging.warning("%s is missing: the export will carry no held-out bits per base.", path)
    return []
  return metrics_writer.read_metrics(workdir)


def _metrics_up_to(workdir: str, step: int) -> list[dict]:
  return [r for r in _read_metrics(workdir) if isinstance(r.get("step"), int) and r["step"] <= step]


def summarise_metrics(rows: list[dict]) -> dict:
  """Held-out bits per base and training figures from metrics.jsonl's rows up to a step.

  A resumed run logs the steps after its checkpoint again: the last line written for a step wins.
  Each split's figure is the latest evaluation at or before the step, with the step it was made at
  (the trainer evaluates the test split only at the final step).
  """
  result: dict[str, Any] = {}
  for split in ("validation", "test"):
    key = f"{split}_bits_per_base"
    latest = None
    for row in rows:
      if key in row and (latest is None or row["step"] >= latest["step"]):
        latest = row
    result[key] = None if latest is None else latest[key]
    result[f"{split}_bases"] = None if latest is None else latest.get(f"{split}_bases")
    result[f"{split}_evaluated_at_step"] = None if latest is None else latest["step"]
  train_rows = {}
  for row in rows:
    if "loss" in row:
      train_rows[row["step"]] = row
  if train_rows:
    last = train_rows[max(train_rows)]
    result["train_loss_nats"] = last.get("loss")
    result["train_bits_per_base"] = last.get("bits_per_base")
    # Seconds of training steps only (evaluation and checkpoint pauses excluded): each logged row
    # covers the steps since the previous one at its measured rate.
    seconds, previous = 0.0, 0
    for s in sorted(train_rows):
      rate = train_rows[s].get("steps_per_s")
      if rate:
        seconds += (s - previous) / rate
      previous = s
    result["train_step_seconds_approx"] = seconds
  return result


def _genome_description(spec: str) -> dict:
  """What the genome spec names, from the built-in manifest or the fetch presets where known."""
  description: dict[str, Any] = {"spec": spec}
  scheme, _, arg = spec.partition(":")
  try:
    if scheme == "builtin":
      manifest = genomes.load_manifest()
      members = manifest["collections"].get(arg, [arg] if arg in manifest["genomes"] else [])
      description["genomes"] = [
        {
          k: manifest["genomes"][m].get(k)
          for k in ("organism", "strain", "accessions", "records", "bases", "gc_fraction", "license", "provenance")
        }
        for m in members
      ]
    elif scheme == "fetch":
      from genome_transformer.genomics import sources  # pylint: disable=g-import-not-at-top

      preset = sources.PRESETS.get(arg)
      if preset is not None and dataclasses.is_dataclass(preset):
        description["preset"] = {
          k: v for k, v in dataclasses.asdict(preset).items() if isinstance(v, (str, int, float, bool, type(None)))
        }
  except Exception as error:  # pylint: disable=broad-except
    logging.warning("Could not describe genome %r (%s); only the spec is recorded.", spec, error)
  return description


# ----------------------------------------------------------------------------------------------
# Writing an export.


def _file_manifest(root: str) -> dict[str, dict]:
  files = {}
  for directory, _, names in os.walk(root):
    for name in sorted(names):
      path = os.path.join(directory, name)
      rel = os.path.relpath(path, os.path.dirname(root)).replace(os.sep, "/")
      files[rel] = {"bytes": os.path.getsize(path), "sha256": files_lib.sha256_file(path)}
  return dict(sorted(files.items()))


def _cast(params: Any, dtype: str) -> Any:
  target = jnp.bfloat16 if dtype == "bfloat16" else np.float32

  def cast(x):
    x = np.asarray(x)
    return x.astype(target) if np.issubdtype(x.dtype, np.floating) or x.dtype == jnp.bfloat16 else x

  return jax.tree.map(cast, params)


def _versions() -> dict:
  import flax  # pylint: disable=g-import-not-at-top

  return {
    "genome_transformer": genome_transformer.__version__,
    "jax": jax.__version__,
    "flax": flax.__version__,
    "orbax_checkpoint": getattr(ocp, "__version__", "unknown"),
    "python": sys.version.split()[0],
  }


def _check_out(out: str, overwrite: bool) -> str:
  if not out:
    raise ExportError("--out is empty: name the export directory to create.")
  if files_lib.is_uri(out):
    # A bucket has no directories to check for; an export there exists once its export.json does.
    if files_lib.as_path(out).exists() and not overwrite:
      raise ExportError(f"{out} already exists; pass --overwrite to replace it, or choose another --out.")
    return out
  out = os.path.abspath(os.path.expanduser(out))
  if os.path.lexists(out) and not overwrite:
    raise ExportError(f"{out} already exists; pass --overwrite to replace it, or choose another --out.")
  parent = os.path.dirname(out)
  if not os.path.isdir(parent):
    raise ExportError(f"The parent directory of --out, {parent}, does not exist; create it first.")
  return out


def export(workdir: str, out: str, *, step: int | None = None, dtype: str = "float32", overwrite: bool = False) -> str:
  """Writes the inference-only export of `workdir`'s checkpoint (latest, or `step`) to `out`."""
  if dtype not in DTYPES:
    raise ExportError(f"--dtype={dtype!r}: must be one of {', '.join(DTYPES)}.")
  out = _check_out(out, overwrite)
  workdir = os.fspath(files_lib.as_path(workdir)) if workdir else ""
  step, params, config_dict = read_checkpoint(workdir, step)
  check_params_against_config(params, config_dict["model"], where=f"checkpoint step {step} of {workdir}")
  metrics = _metrics_up_to(workdir, step)  # Read once: the metadata and the export's train_metrics.jsonl.

  data = config_dict.get("data", {})
  train = config_dict.get("train", {})
  tokens_per_step = int(train.get("batch_size", 0)) * int(data.get("window_length", 0))
  metadata = {
    "genome": _genome_description(str(data.get("genome", ""))),
    "data": data,
    "split_rule": SPLIT_RULE,
    "split_fractions": {"validation_start": genomes.VALIDATION_START, "test_start": genomes.TEST_START},
    "steps": step,
    "configured_steps": train.get("num_steps"),
    "tokens_seen": step * tokens_per_step,  # Every step is a full batch of full windows.
    # The trainer scores at most this many bases per record and split (0: the whole region).
    "heldout_max_bases_per_record": config_dict.get("eval", {}).get("max_bases"),
    **summarise_metrics(metrics),
    "source": {"workdir": workdir, "step": step},
  }
  write_export(out, params, config_dict, metadata, dtype=dtype, overwrite=overwrite, train_metrics=metrics)
  logging.info("Exported step %d of %s (%s) to %s.", step, workdir, dtype, out)
  return out


def write_export(
  out: str,
  params: Any,
  config_dict: dict,
  metadata: dict,
  *,
  dtype: str = "float32",
  overwrite: bool = False,
  train_metrics: list[dict] | None = None,
) -> str:
  """Writes an export directory from a parameter tree and a training config dict (atomically).

  `export` uses it for a workdir's checkpoint; it also serves parameters from elsewhere (e.g. a
  test's randomly initialised model). `metadata` gets num_params, versions and export_date added.
  `train_metrics` rows, if given, are written as train_metrics.jsonl.
  """
  if dtype not in DTYPES:
    raise ExportError(f"dtype={dtype!r}: must be one of {', '.join(DTYPES)}.")
  out = _check_out(out, overwrite)
  if hasattr(config_dict, "to_dict"):
    config_dict = config_dict.to_dict()
  check_params_against_config(params, config_dict["model"], where="the parameters to export")
  params = _cast(params, dtype)
  num_params = int(sum(np.size(x) for x in jax.tree.leaves(params)))
  metadata = {
    **metadata,
    "num_params": num_params,
    "versions": _versions(),
    "export_date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
  }
  if files_lib.is_uri(out):
    tmp = os.path.join(tempfile.mkdtemp(prefix="genome-transformer-export-"), "export")
  else:
    tmp = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.tmp-{uuid.uuid4().hex[:8]}")
  try:
    os.makedirs(tmp)
    ocp.PyTreeCheckpointer().save(os.path.join(tmp, PARAMS_DIR), args=ocp.args.PyTreeSave(params))
    if train_metrics:
      with open(os.path.join(tmp, TRAIN_METRICS_JSONL), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(_jsonable(row), sort_keys=True) + "\n" for row in train_metrics)
    document = {
      "format": FORMAT,
      "format_version": FORMAT_VERSION,
      "model_config": config_dict["model"],
      "config": config_dict,
      "tokenizer": tokenizer.spec(),
      "metadata": metadata,
      "params": {"dtype": dtype, "count": num_params, "files": _file_manifest(os.path.join(tmp, PARAMS_DIR))},
    }
    with open(os.path.join(tmp, EXPORT_JSON), "w", encoding="utf-8") as f:
      json.dump(_jsonable(document), f, indent=1, sort_keys=True, allow_nan=False)
      f.write("\n")
    if files_lib.is_uri(out):
      _upload(tmp, out, overwrite)
    else:
      _move_into_place(tmp, out, overwrite)
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  finally:
    if files_lib.is_uri(out):
      shutil.rmtree(os.path.dirname(tmp), ignore_errors=True)
  return out


def _jsonable(value):
  """JSON without NaN: a non-finite figure (e.g. a diverged metric) is written as null."""
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, (np.floating, float)):
    return float(value) if math.isfinite(value) else None
  if isinstance(value, np.integer):
    return int(value)
  return value


def _upload(tmp: str, out: str, overwrite: bool) -> None:
  """Copies the finished export in `tmp` to the bucket path `out`, export.json last.

  Objects cannot be renamed, so the upload cannot be one atomic step; each object's upload is
  (GCS shows an object whole or not at all), and readers require export.json, written last: an
  upload cut short leaves a directory that loads as "not an export", never a half export. Replacing
  an export deletes its export.json first, for the same reason.
  """
  target = files_lib.as_path(out)
  if (target / EXPORT_JSON).exists():
    if not overwrite:
      raise ExportError(f"{out} appeared while exporting; pass --overwrite to replace it.")
    (target / EXPORT_JSON).unlink()
  if target.exists():
    target.rmtree()
  for path in files_lib.files_under(tmp):
    if path.name != EXPORT_JSON:
      files_lib.write_bytes_atomic(target / os.path.relpath(path, tmp), path.read_bytes())
  files_lib.write_bytes_atomic(target / EXPORT_JSON, (files_lib.as_path(tmp) / EXPORT_JSON).read_bytes())


def _move_into_place(tmp: str, out: str, overwrite: bool) -> None:
  if not os.path.lexists(out):
    os.rename(tmp, out)
    return
  if not overwrite:
    raise ExportError(f"{out} appeared while exporting; pass --overwrite to replace it.")
  old = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.old-{uuid.uuid4().hex[:8]}")
  os.rename(out, old)
  try:
    os.rename(tmp, out)
  except BaseException:
    os.rename(old, out)
    raise
  if os.path.isdir(old) and not os.path.islink(old):
    shutil.rmtree(old)
  else:
    os.remove(old)


# ----------------------------------------------------------------------------------------------
# Command line.

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defined on demand, not at import: pretrained_cli imports this module and has flags of its own."""
  flags.DEFINE_string("workdir", None, "Training workdir (holds checkpoints/ and metrics.jsonl).")
  flags.DEFINE_string("out", None, "Export directory to create (must not exist unless --overwrite).")
  flags.DEFINE_integer("step", None, "Checkpoint step to export; default: the latest.")
  flags.DEFINE_enum("dtype", "float32", list(DTYPES), "Stored parameter dtype (bfloat16 halves the size).")
  flags.DEFINE_bool("overwrite", False, "Replace an existing --out.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  checkpointing.quiet_orbax_info()
  if not FLAGS.workdir or not FLAGS.out:
    raise app.UsageError("--workdir and --out are required.")
  try:
    out = export(FLAGS.workdir, FLAGS.out, step=FLAGS.step, dtype=FLAGS.dtype, overwrite=FLAGS.overwrite)
  except (ExportError, OSError) as error:
    # OSError: the export cannot be written (no space, no permission); its message names the path.
    sys.exit(f"Error: {error}")
  print(out)


COMMAND = cli.Command(
  usage="--workdir=DIR --out=DIR [flags]",
  summary=(
    "Exports a training workdir's checkpoint for inference: parameters only, the config, the tokenizer, "
    "held-out figures and training metrics, loadable by `pretrained.load(DIR)` and the score command."
  ),
  flags=["workdir", "out", "step", "dtype", "overwrite"],
  examples=[
    "{prog} --workdir=/tmp/slim --out=/tmp/my-export",
    "{prog} --workdir=/tmp/slim --out=/tmp/slim-bf16 --dtype=bfloat16 --step=400",
  ],
)


def run(argv=None, prog: str = "python -m genome_transformer.export") -> None:
  define_flags()
  cli.run(main, COMMAND, prog=prog, argv=argv)
