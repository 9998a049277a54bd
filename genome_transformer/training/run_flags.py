# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The --config and --workdir flags of the training entry points (main, finetune) and their parsing.

Config-file and override errors end as one line naming the flag; absl would print a traceback.
"""

import re
import sys

from absl import flags
from ml_collections import config_flags

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


def parse_flags(argv):
  """absl's parsing, with config-file and override errors as one line (absl prints a traceback for those)."""
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
      "give a config file such as configs/slim.py."
    )
  return rest
