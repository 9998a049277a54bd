# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The package's layers import one way, and the genome layer runs without the ML stack."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import genome_transformer

PACKAGE_DIR = os.path.dirname(os.path.abspath(genome_transformer.__file__))

# Lower layers never import higher ones. genomics is JAX-free; config_lib and variants are leaves that
# only need the tokenizer; model holds the model and its recurrences;
# evaluation sits below training because the trainer scores its held-out splits with it; cli (the
# command-line convention, absl alone) sits below all, since the genome layer's fetch command uses it.
LAYERS = {
  "cli": -1,
  "genomics": 0,
  "config_lib": 1,
  "variants": 1,  # Model recipes for config files: config fields by name, nothing above.
  "data": 1,
  "model": 2,
  "evaluation": 3,
  "training": 4,
  "release": 5,
}
# python -m genome_transformer.<name>; __main__ is the `genome-transformer` dispatcher.
ENTRY_POINTS = ("main", "pretrained", "fetch", "prepare", "export", "finetune", "tasks", "__main__")
ENTRY_LAYER = 6


def _module_name(path: str) -> str:
  rel = os.path.relpath(path, os.path.dirname(PACKAGE_DIR))[: -len(".py")].split(os.sep)
  return ".".join(rel[:-1] if rel[-1] == "__init__" else rel)


def _modules() -> dict[str, str]:
  found = {}
  for root, _, names in os.walk(PACKAGE_DIR):
    for name in names:
      if name.endswith(".py"):
        found[_module_name(os.path.join(root, name))] = os.path.join(root, name)
  return found


def _layer(module: str) -> int | None:
  parts = module.split(".")
  if len(parts) == 1:
    return None  # The package itself (__init__: only __version__).
  if len(parts) == 2 and parts[1] in ENTRY_POINTS:
    return ENTRY_LAYER
  return LAYERS[parts[1]]


def _imports(module: str, path: str, known: set[str]) -> set[str]:
  """Package modules that `module` imports, deferred imports included."""
  with open(path, encoding="utf-8") as f:
    tree = ast.parse(f.read(), path)
  out = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
      names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    else:
      continue
    out.update(n for n in names if n in known and n != module)
  return out


def test_layers_import_downwards_only_and_without_cycles():
  modules = _modules()
  known = set(modules)
  graph = {m: _imports(m, p, known) for m, p in modules.items()}
  upward = []
  for module, targets in graph.items():
    for target in targets:
      if target == "genome_transformer":
        continue
      mine, theirs = _layer(module), _layer(target)
      same_package = module.split(".")[:2] == target.split(".")[:2]
      if mine is not None and theirs > mine or (theirs == mine and not same_package and mine != 2):
        upward.append(f"{module} (layer {mine}) imports {target} (layer {theirs})")
  assert not upward, "imports against the layer order:\n" + "\n".join(sorted(upward))

  state: dict[str, int] = {}  # 1: on the current path, 2: done.

  def visit(module: str, path: list[str]) -> None:
    state[module] = 1
    for target in sorted(graph[module]):
      if state.get(target) == 1:
        cycle = path[path.index(target) :] + [target]
        raise AssertionError("import cycle: " + " -> ".join(cycle))
      if target not in state:
        visit(target, path + [target])
    state[module] = 2

  for module in sorted(graph):
    if module not in state:
      visit(module, [module])


def test_every_module_has_a_layer():
  for module in _modules():
    _layer(module)  # KeyError names a module outside the layer map.


def test_genomics_imports_without_jax_flax_or_tfds():
  code = (
    "import sys\n"
    "import genome_transformer.genomics\n"
    "from genome_transformer.genomics import download, fasta, fetch_cli, files, genomes, sources, tokenizer\n"
    "heavy = sorted(m for m in ('jax', 'flax', 'tensorflow_datasets', 'tensorflow', 'optax', 'orbax')"
    " if m in sys.modules)\n"
    "print(','.join(heavy))\n"
  )
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert result.stdout.strip() == "", f"genomics imported {result.stdout.strip()}"


def test_pretrained_entry_point_imports_itself_once():
  # Run as __main__, the entry module must not be imported a second time under its own name.
  code = (
    "import runpy, sys\n"
    "sys.argv = ['pretrained', 'list']\n"
    "try:\n"
    "  runpy.run_module('genome_transformer.pretrained', run_name='__main__')\n"
    "except SystemExit:\n"
    "  pass\n"
    "print('genome_transformer.pretrained' in sys.modules)\n"
  )
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert result.stdout.strip().splitlines()[-1] == "False", result.stdout + result.stderr
