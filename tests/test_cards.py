# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""The release cards (pretrained/NAME/README.md) and MODEL_CARD.md's index are what cards.py renders now,
and the figures the README and MODEL_CARD.md type by hand agree with the files the cards are rendered from."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from genome_transformer.release import cards
from genome_transformer.training import export_reader

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_committed_card_is_what_the_code_renders():
  stale = cards.stale_cards(REPO)
  assert not stale, f"stale: {stale}; run `python -m genome_transformer.pretrained cards`"
  assert set(cards.release_names(REPO)) <= set(export_reader.list_releases())  # every card is of a listed release


@pytest.mark.parametrize("name", cards.release_names(REPO))
def test_card_states_the_export_figures_and_the_bases_they_are_on(name):
  with open(os.path.join(REPO, "pretrained", name, export_reader.EXPORT_JSON), encoding="utf-8") as f:
    meta = json.load(f)["metadata"]
  with open(os.path.join(REPO, "pretrained", name, cards.CARD), encoding="utf-8") as f:
    card = f.read()
  held, per_record = meta["test_bits_per_base"], meta["heldout_max_bases_per_record"]
  bases = f"test split's first {per_record:,} bases per record" if per_record else "whole test split"
  assert re.search(rf"- Test: \*\*{held:.4f}\*\* on the {re.escape(bases)}", card), card[:1500]
  assert f"{meta['num_params']:,} parameters" in card
  assert f'pretrained.load("{name}")' in card
  with open(os.path.join(REPO, cards.MODEL_CARD), encoding="utf-8") as f:
    (row,) = [line for line in f if line.startswith(f"| [`{name}`]")]
  assert f"| {held:.4f} |" in row and f"pretrained/{name}/README.md" in row


def _table_rows(path):
  """(release, model figure, softmax figure) of each own-genome row of the hand-typed tables in `path`."""
  rows = []
  with open(path, encoding="utf-8") as f:
    for line in f:
      cells = [c.strip() for c in line.strip().strip("|").split("|")]
      if (
        len(cells) > 4 and re.fullmatch(r"`[\w-]+`", cells[0]) and ("test split" in cells[1] or "first 262" in cells[1])
      ):
        if "other organism" not in cells[1]:
          rows.append((cells[0].strip("`"), cells[2].strip("*"), cells[3].split(" ")[0].strip("*")))
  return rows


@pytest.mark.parametrize("document", ["README.md", "MODEL_CARD.md"])
def test_hand_typed_figures_agree_with_the_benchmark_results(document):
  rows = _table_rows(os.path.join(REPO, document))
  assert {name for name, _, _ in rows} == set(cards.release_names(REPO))
  for name, model, softmax in rows:
    _, _, entry = cards.benchmark_entry(name, REPO)
    (own,) = [r for r in entry["rows"] if r["own_genome"]]
    assert model == f"{own['model']:.4f}", (document, name)
    if own.get("softmax_baseline") is None:
      assert softmax in ("-", "not"), (document, name, softmax)
    else:
      assert softmax == f"{own['softmax_baseline']:.4f}", (document, name)


def test_check_names_a_stale_card_and_cards_writes_it_back(tmp_path):
  # A checkout with the files the cards are rendered from (no parameters: rendering reads none).
  checkout = tmp_path / "checkout"
  for name in cards.release_names(REPO):
    for file in (export_reader.EXPORT_JSON, cards.TRAIN_METRICS, cards.CARD):
      source = os.path.join(REPO, "pretrained", name, file)
      if os.path.exists(source):
        os.makedirs(checkout / "pretrained" / name, exist_ok=True)
        shutil.copy(source, checkout / "pretrained" / name / file)
  shutil.copytree(os.path.join(REPO, "benchmarks", "results"), checkout / "benchmarks" / "results")
  shutil.copytree(os.path.join(REPO, "benchmarks", "baseline_models"), checkout / "benchmarks" / "baseline_models")
  shutil.copy(os.path.join(REPO, cards.MODEL_CARD), checkout / cards.MODEL_CARD)
  assert cards.stale_cards(str(checkout)) == []
  card = checkout / "pretrained" / "human-chrx-slim" / cards.CARD
  card.write_text(card.read_text().replace("**1.8687**", "**1.8600**"))
  (checkout / "pretrained" / "bacteria4-slim" / cards.CARD).unlink()
  stale = [str(checkout / "pretrained" / "bacteria4-slim" / cards.CARD), str(card)]
  assert cards.stale_cards(str(checkout)) == stale
  assert cards.write_cards(str(checkout)) == stale
  assert cards.stale_cards(str(checkout)) == []
  assert "**1.8687**" in card.read_text()


def test_cards_check_command_passes_in_the_checkout():
  result = subprocess.run(
    [sys.executable, "-m", "genome_transformer.pretrained", "cards", "--check"],
    env=dict(os.environ, JAX_PLATFORMS="cpu"),
    capture_output=True,
    text=True,
    timeout=120,
    cwd=REPO,
  )
  assert result.returncode == 0, result.stderr[-2000:]
  assert (
    result.stdout.strip()
    == f"All {len(cards.release_names(REPO))} release cards and MODEL_CARD.md's index are up to date."
  )
