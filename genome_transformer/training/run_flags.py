# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The --config and --workdir flags of the training entry points (main, finetune) and their parsing.

Config-file and override errors end as one line naming the flag; absl would print a traceback.
"""

import os
import re
import sys

from absl import flags
from ml_collections import config_flags

from genome_transformer.training import export_reader

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file("config", None, "Experiment config file (configs/*.py).", lock_config=True)
flags.DEFINE_string("workdir", None, "Checkpoints, metrics and TensorBoard logs go here.")


def _config_file(argv) -> str:
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      return arg.split("=", 1)[1]
    if arg == "--config" and i + 1 < len(argv):
      return argv[i + 1]
  return "?"


def _one_line(error: BaseException) -> str:
  """The last line of a (possibly nested, multi-line) message: where the cause is stated."""
  lines = [line.strip() for line in str(error).splitlines() if line.strip()]
  return lines[-1] if lines else type(error).__name__


def bundled_config(value: str) -> str:
  """--config's value, or the installed package's copy of configs/NAME.py when the path given does not exist.

  `--config=configs/tiny.py` is how the docs name a config; from a wheel, outside a checkout, no such
  file is there, so the bundled one of that name is used (a `:VARIANT` suffix kept). A file that does
  exist is always the one used.
  """
  path, colon, variant = value.partition(":")
  if not path or os.path.exists(path):
    return value
  name = os.path.basename(path)
  candidate = os.path.join(export_reader.bundled_dir("configs"), name if name.endswith(".py") else f"{name}.py")
  if os.path.isfile(candidate) and os.path.abspath(candidate) != os.path.abspath(path):
    print(f"--config={value}: no such file here; using the bundled {candidate}.", file=sys.stderr)
    return candidate + colon + variant
  return value


def _bundled_configs() -> str:
  directory = export_reader.bundled_dir("configs")
  names = sorted(n for n in os.listdir(directory) if n.endswith(".py")) if os.path.isdir(directory) else []
  return f"the bundled ones ({directory}): {', '.join(names)}" if names else "none is bundled"


def parse_flags(argv):
  """absl's parsing, with config-file and override errors as one line (absl prints a traceback for those)."""
  argv = list(argv)
  for i, arg in enumerate(argv):
    if arg.startswith("--config="):
      argv[i] = "--config=" + bundled_config(arg.split("=", 1)[1])
    elif arg == "--config" and i + 1 < len(argv):
      argv[i + 1] = bundled_config(argv[i + 1])
  try:
    rest = FLAGS(argv)
  except flags.Error as error:
    if "Error whilst parsing config file" in str(error):  # The config file's own code raised.
      sys.exit(f"Config error: --config={_config_file(argv)}: cannot load it: {_one_line(error)}")
    sys.exit(f"Flag error: {str(error).splitlines()[0].rstrip('.')}; --helpfull lists the flags.")
  except (AttributeError, KeyError) as error:
    # ml_collections raises these for an override naming no field of the config.
    text = str(error).replace("\\'", "'").replace("\\n", "\n")
    quoted = re.search(r"'([^']+)'", text)
    name = quoted.group(1) if quoted else text
    suggestion = re.search(r'Did you mean "([^"]+)"', text)
    overrides = [a.split("=", 1)[0] for a in argv if a.startswith("--config.") and name in a.split("=", 1)[0]]
    shown = overrides[0] if overrides else "--config.*"
    hint = f"did you mean {suggestion.group(1)!r}? " if suggestion else ""
    sys.exit(
      f"Config error: {shown}: no such config field ({name!r}); {hint}the fields are in "
      "genome_transformer/config_lib.py."
    )
  except Exception as error:  # pylint: disable=broad-except
    # A config file that does not even import (a SyntaxError, a NameError at import).
    sys.exit(f"Config error: --config={_config_file(argv)}: cannot load it: {type(error).__name__}: {_one_line(error)}")
  try:
    FLAGS.config.get("train")
  except OSError as error:  # ml_collections defers a missing config file's error to first use.
    sys.exit(
      f"Config error: --config={_config_file(argv)}: cannot load it ({_one_line(error)}); "
      f"give a config file such as configs/slim.py; {_bundled_configs()}."
    )
  return rest
