# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Model recipes by name: the parts the ablations combine, each defined once.

A recipe is parts joined by "+", e.g. "conv4+hedgehog+floor+codon+split+16heads+window64x2"; each part
sets config fields (PARTS), "<N>heads" sets model.num_heads, "window<W>x<N>" gives N heads an exact
softmax over the last W positions, and "dff<N>" sets model.d_ff: the size correction that keeps a
recipe's parameter count near its twin's (it depends on the base model's size, so configs state it).
Config files map their variant names (the names their results are filed under in benchmarks/results)
to recipes: `VARIANTS = {"conv4+hedgehog": "conv4+hedgehog+floor+dff496"}`, and apply one with
`apply(config, VARIANTS[name])`. What each field does is documented in config_lib.base_config.
"""

from __future__ import annotations

import re

import ml_collections

# part -> {"section.field": value}.
PARTS = {
  "faithful": {},  # The reference model: nothing added.
  "softmax": {"model.attention": "softmax"},  # The causal softmax twin.
  "conv4": {"model.conv_width": 4},  # Depthwise causal convolution of width 4 on q, k and v.
  "hedgehog": {"model.feature_map": "hedgehog"},  # Learned softmax-like map (one projection block).
  "hedgehog2x": {"model.feature_map": "hedgehog", "model.num_feature_blocks": 2},  # Twice its state.
  "hedgehog4x": {"model.feature_map": "hedgehog", "model.num_feature_blocks": 4},  # Four times its state.
  "floor": {"model.hedgehog_floor": 0.01},  # Keeps the sub-linear step's rebuilt Hedgehog states exact.
  "codon": {"model.phase_period": 3},  # The codon frame's phase pair in each position's input.
  "split": {"model.phase_split_state": True},  # One linear state per codon phase of the key.
  "nopos": {"model.positions": "none"},  # No sinusoids: order comes from the convolution alone.
  "match12": {"model.match_order": 12},  # The match input (model/match.py) with 12-base contexts.
  "rc": {"data.reverse_complement_prob": 0.5},  # Half the training windows read on the other strand.
}
_HEADS = re.compile(r"(\d+)heads")
_WINDOW = re.compile(r"window(\d+)(?:x(\d+))?")
_D_FF = re.compile(r"dff(\d+)")


class RecipeError(ValueError):
  """A recipe with a part that does not exist or two parts that set one field differently."""


def part_fields(part: str) -> dict:
  """The config fields one part sets."""
  if part in PARTS:
    return PARTS[part]
  if match := _HEADS.fullmatch(part):
    return {"model.num_heads": int(match[1])}
  if match := _WINDOW.fullmatch(part):
    return {"model.window_heads": int(match[2] or 1), "model.window_size": int(match[1])}
  if match := _D_FF.fullmatch(part):
    return {"model.d_ff": int(match[1])}
  raise RecipeError(
    f"recipe part {part!r} is not one of {sorted(PARTS)}, <N>heads, window<W>[x<N>] or dff<N> (genome_transformer/variants.py)."
  )


def fields(recipe: str) -> dict:
  """{"section.field": value} of a recipe; a field set twice must be set to one value."""
  out: dict = {}
  for part in recipe.split("+"):
    for field, value in part_fields(part).items():
      if out.get(field, value) != value:
        raise RecipeError(f"recipe {recipe!r}: {field} is set to both {out[field]!r} and {value!r}.")
      out[field] = value
  return out


def apply(config: ml_collections.ConfigDict, recipe: str) -> ml_collections.ConfigDict:
  """Sets the recipe's fields on an unlocked config; a softmax recipe trains on whole windows."""
  for field, value in fields(recipe).items():
    section, name = field.split(".")
    if name not in config[section]:
      raise RecipeError(f"recipe {recipe!r}: config.{field} is not a field of this config.")
    config[section][name] = value
  if config.model.attention == "softmax" and "train" in config:
    config.train.chunk_size = config.data.window_length  # Softmax has no chunked step.
  return config
