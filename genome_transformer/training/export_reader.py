# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Reading an export directory (the format release/export.py writes) and finding releases by name.

Training starts from an export (`config.init_from`) and the pretrained API loads one for inference,
so the reader sits here, below both: release/export.py writes the format and re-exports these names,
release/pretrained.py builds its model class on `load_export` and `resolve`.

`load_export(path)` needs nothing but the directory: it checks every file against the recorded
sha256 (a truncated or edited export is named, not half-loaded), builds the model from
`model_config`, derives the parameter shapes the config implies with `jax.eval_shape` of the
model's init, and compares them with the stored tree before restoring, naming the first
mismatching parameter. bfloat16 exports are upcast to float32 on load unless another compute dtype
is asked for.

`resolve(name)` looks for `NAME/export.json` in each directory of $GENOME_TRANSFORMER_PRETRAINED
(os.pathsep-separated), then `pretrained/` at the root of a source checkout (next to the package
directory), or in an installed wheel the copy it carries (genome_transformer/bundled_releases). A genome's alias (`RECOMMENDED`: `bacteria`, `human`) names
its recommended release.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

import genome_transformer
from genome_transformer import config_lib
from genome_transformer.genomics import files as files_lib
from genome_transformer.model import performer as model_lib

FORMAT = "genome-transformer-export"
FORMAT_VERSION = 1
EXPORT_JSON = "export.json"
PARAMS_DIR = "params"
RELEASES_ENV = "GENOME_TRANSFORMER_PRETRAINED"
# alias -> the recommended release of that genome: of the releases trained on it, the one with the lowest
# held-out bits per base on the same test bases of that genome (export.json's test_bits_per_base and
# MODEL_CARD.md; human-chrx-match-16k's export figure is on other bases, and on the card's common slice it
# is behind). An alias is taken only where no directory or release of that name exists.
RECOMMENDED = {"bacteria": "bacteria4-slim-conv", "human": "human-chrx-slim-window3"}
# The checkout's root holds pretrained/ and configs/; this file is genome_transformer/training/export_reader.py.
CHECKOUT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# An installed wheel carries them inside the package instead (setup.py's package_dir).
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUNDLED = {"pretrained": "bundled_releases", "configs": "bundled_configs"}


def bundled_dir(kind: str) -> str:
  """The directory of the bundled `kind` ("pretrained" or "configs"): the checkout's, else the wheel's copy."""
  checkout = os.path.join(CHECKOUT_DIR, kind)
  installed = os.path.join(PACKAGE_DIR, BUNDLED[kind])
  return installed if not os.path.isdir(checkout) and os.path.isdir(installed) else checkout


class ExportError(ValueError):
  """A workdir that cannot be exported, or an export directory that cannot be loaded."""


class ParamsConfigMismatchError(ExportError):
  """The stored parameters do not have the shapes the stored model config implies."""


class ReleaseNotFoundError(ExportError):
  """Neither an export directory nor the name of a bundled release."""


@dataclasses.dataclass
class Export:
  """What `load_export` returns: everything inference needs, nothing from training."""

  path: str
  params: Any  # Parameter tree of numpy arrays, in the compute dtype.
  model_config: config_lib.ModelConfig  # The model section, every field present; SLiMPerformer(model_config).
  config: ml_collections.ConfigDict  # The whole training config, for reference.
  tokenizer_spec: dict
  metadata: dict
  stored_dtype: str  # dtype of the floating parameters in the files.


# ----------------------------------------------------------------------------------------------
# Parameter shapes implied by a config.


def abstract_params(model_config: config_lib.ModelConfig | ml_collections.ConfigDict | dict) -> Any:
  """The parameter tree (ShapeDtypeStructs) that `model_config` implies, computed without FLOPs."""
  model = model_lib.SLiMPerformer(config_lib.ModelConfig.of(model_config))
  key = jax.random.PRNGKey(0)
  dummy_BL = jnp.zeros((1, 4), jnp.int32)
  return jax.eval_shape(lambda: model.init({"params": key, "features": key}, dummy_BL))["params"]


def _shapes_by_name(tree) -> dict[str, tuple[int, ...]]:
  flat, _ = jax.tree_util.tree_flatten_with_path(tree)
  return {"/".join(str(getattr(k, "key", k)) for k in path): tuple(leaf.shape) for path, leaf in flat}


def _fields(model_config) -> dict:
  return model_config.to_dict() if hasattr(model_config, "to_dict") else dict(model_config)


def check_params_against_config(
  params_tree: Any,
  model_config: config_lib.ModelConfig | ml_collections.ConfigDict | dict,
  where: str = "the parameters",
) -> None:
  """Raises ParamsConfigMismatchError naming the first parameter whose name or shape disagrees."""
  try:
    expected = _shapes_by_name(abstract_params(model_config))
  except Exception as error:  # pylint: disable=broad-except
    raise ParamsConfigMismatchError(
      f"{where}: the model config {_fields(model_config)} does not build a model ({files_lib.error_summary(error)})."
    ) from error
  stored = _shapes_by_name(params_tree)
  config_text = ", ".join(f"{k}={v}" for k, v in sorted(_fields(model_config).items()))
  for name in sorted(set(expected) | set(stored)):
    if name not in stored:
      raise ParamsConfigMismatchError(
        f"{where}: parameter {name} (shape {expected[name]}) that the model config "
        f"implies is missing. Model config: {config_text}."
      )
    if name not in expected:
      raise ParamsConfigMismatchError(
        f"{where}: parameter {name} (shape {stored[name]}) is not part of the model "
        f"the config describes. Model config: {config_text}."
      )
    if stored[name] != expected[name]:
      raise ParamsConfigMismatchError(
        f"{where}: parameter {name} has shape {stored[name]} but the model config "
        f"implies {expected[name]}. Model config: {config_text}."
      )


def model_config_mismatches(export_model: dict, model: dict) -> list[str]:
  """'model.FIELD is A in the export, B here' for each model field that differs.

  Every model field fixes a parameter's shape or what the parameters compute, so all must agree;
  a field the export predates counts at config_lib's default (the value it was trained under).
  """
  defaults = config_lib.base_config().model.to_dict()
  export_model = {**defaults, **dict(export_model)}
  model = {**defaults, **dict(model)}
  return [
    f"model.{field} is {export_model.get(field)!r} in the export, {model.get(field)!r} here"
    for field in sorted(set(export_model) | set(model))
    if export_model.get(field) != model.get(field)
  ]


# ----------------------------------------------------------------------------------------------
# Loading an export.


def read_export_json(path: str) -> dict:
  """The parsed export.json of an export directory (local or in a bucket), with clear errors for what is not one."""
  path = files_lib.as_path(path)
  if not path.exists():
    raise ExportError(
      f"{path} does not exist: pass an export directory (python -m genome_transformer.export) "
      "or the name of a bundled release."
    )
  if not path.is_dir():
    raise ExportError(f"{path} is not a directory: an export is a directory holding {EXPORT_JSON} and {PARAMS_DIR}/.")
  json_path = path / EXPORT_JSON
  # export.json is written last (in a bucket too, where the files are uploaded one by one): without
  # it the directory is not an export, or one whose writing was cut short.
  if not json_path.is_file():
    raise ExportError(
      f"{path} is not a genome-transformer export: it has no {EXPORT_JSON}. Create one with "
      "python -m genome_transformer.export --workdir=... --out=..."
    )
  try:
    with json_path.open(encoding="utf-8") as f:
      document = json.load(f)
  except (json.JSONDecodeError, UnicodeDecodeError) as error:
    raise ExportError(f"{json_path} is corrupted ({error}); export again or re-download the release.") from None
  if not isinstance(document, dict) or document.get("format") != FORMAT:
    found = document.get("format") if isinstance(document, dict) else type(document).__name__
    raise ExportError(f"{json_path} is not a {FORMAT} file (format={found!r}); export again.")
  if document.get("format_version") != FORMAT_VERSION:
    raise ExportError(
      f"{json_path} has format_version {document.get('format_version')!r}; this genome-transformer "
      f"{genome_transformer.__version__} reads version {FORMAT_VERSION}. Upgrade genome-transformer."
    )
  for field in ("model_config", "config", "tokenizer", "metadata", "params"):
    if field not in document:
      raise ExportError(f"{json_path} lacks the field {field!r}: the export is corrupted; export it again.")
  return document


def verify_files(path: str, document: dict) -> None:
  """Raises ExportError naming the first file under params/ that is missing or differs from export.json."""
  files = document["params"].get("files") or {}
  path = files_lib.as_path(path)
  if not files:
    raise ExportError(f"{path / EXPORT_JSON} lists no parameter files: the export is corrupted.")
  for rel, expected in files.items():
    file_path = path.joinpath(*rel.split("/"))
    if not file_path.is_file():
      raise ExportError(f"Export {path} is corrupted: {rel} is missing. Export again or re-download the release.")
    size = files_lib.size(file_path)
    if size != expected["bytes"]:
      raise ExportError(
        f"Export {path} is corrupted: {rel} has {size} bytes, export.json records "
        f"{expected['bytes']}. Export again or re-download the release."
      )
    if files_lib.sha256_file(file_path) != expected["sha256"]:
      raise ExportError(
        f"Export {path} is corrupted: {rel} has another sha256 than export.json records. "
        "Export again or re-download the release."
      )


def load_export(path: str, *, dtype: Any = jnp.float32, verify: bool = True) -> Export:
  """Loads an export directory: checked files, config checked against the parameter shapes.

  Args:
    path: the export directory.
    dtype: compute dtype the floating parameters are cast to (float32 by default, also for
      bfloat16 exports); None keeps the stored dtype.
    verify: check every parameter file's size and sha256 against export.json first.
  """
  path = files_lib.as_path(path)
  document = read_export_json(path)
  if verify:
    verify_files(path, document)
  try:
    model_config = config_lib.ModelConfig.of(document["model_config"])
  except config_lib.ConfigError as error:
    raise ExportError(f"Export {path}: {error}; it was written by a newer genome-transformer, or edited.") from None
  params_dir = path / PARAMS_DIR
  checkpointer = ocp.PyTreeCheckpointer()
  try:
    stored = checkpointer.metadata(params_dir).item_metadata.tree
  except Exception as error:  # pylint: disable=broad-except
    raise ExportError(
      f"Export {path} is corrupted: {PARAMS_DIR}/ is not a readable Orbax checkpoint "
      f"({files_lib.error_summary(error)})."
    ) from error
  check_params_against_config(stored, model_config, where=f"export {path}")
  abstract = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype), stored)
  restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), abstract)
  try:
    params = checkpointer.restore(params_dir, args=ocp.args.PyTreeRestore(item=abstract, restore_args=restore_args))
  except Exception as error:  # pylint: disable=broad-except
    raise ExportError(
      f"Export {path} is corrupted: its parameters are unreadable ({files_lib.error_summary(error)})."
    ) from error
  if dtype is not None:
    params = jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, params)
  return Export(
    path=os.fspath(path),
    params=params,
    model_config=model_config,
    config=ml_collections.ConfigDict(document["config"]),
    tokenizer_spec=document["tokenizer"],
    metadata=document["metadata"],
    stored_dtype=document["params"].get("dtype", "float32"),
  )


# ----------------------------------------------------------------------------------------------
# Finding releases by name.


def release_dirs() -> list[str]:
  """Directories searched for releases by name, in order."""
  dirs = [d for d in os.environ.get(RELEASES_ENV, "").split(os.pathsep) if d]
  dirs.append(bundled_dir("pretrained"))
  seen, unique = set(), []
  for d in dirs:
    d = os.path.abspath(os.path.expanduser(d))
    if d not in seen:
      seen.add(d)
      unique.append(d)
  return unique


def list_releases() -> list[str]:
  """Names `load` accepts: subdirectories holding an export.json in `release_dirs()`."""
  names = []
  for d in release_dirs():
    if not os.path.isdir(d):
      continue
    for name in sorted(os.listdir(d)):
      if name not in names and os.path.isfile(os.path.join(d, name, EXPORT_JSON)):
        names.append(name)
  return names


def release_name(name: str) -> str:
  """The release that `name` means: the recommended one for an alias (`human`), else `name` itself."""
  if name not in RECOMMENDED or os.path.exists(os.path.expanduser(name)):
    return name
  if any(os.path.isdir(os.path.join(d, name)) for d in release_dirs()):
    return name
  return RECOMMENDED[name]


def resolve(path_or_name: str) -> str:
  """The export directory that `path_or_name` means: a directory, else a release name or alias."""
  if not isinstance(path_or_name, (str, os.PathLike)) or not os.fspath(path_or_name):
    raise ReleaseNotFoundError(f"Expected an export directory or a release name, got {path_or_name!r}.")
  text = os.fspath(path_or_name)
  if files_lib.is_uri(text):
    return text  # An export in a bucket (gs://...); read_export_json says what is wrong with it.
  expanded = os.path.expanduser(text)
  if os.path.exists(expanded):
    return os.path.abspath(expanded)
  if os.sep in text or "/" in text or text.startswith("."):
    raise ReleaseNotFoundError(
      f"{expanded} does not exist: pass an export directory (python -m genome_transformer.export) or a release name."
    )
  name = release_name(text)
  for d in release_dirs():
    candidate = os.path.join(d, name)
    if os.path.isdir(candidate):
      return candidate
  known = list_releases()
  shown = repr(text) if name == text else f"{name!r} (what the alias {text!r} names)"
  raise ReleaseNotFoundError(
    f"No export directory or release named {shown}. Releases found: {', '.join(known) if known else 'none'}; "
    f"searched {', '.join(release_dirs())}. Set ${RELEASES_ENV} to a directory of exports to add more."
  )
