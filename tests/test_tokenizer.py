# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Tokenizer policy, round trips, reverse complement and a big random check against pure Python."""

import json

import numpy as np
import pytest

from genome_transformer.genomics import tokenizer

# The written policy, one row per input character: (token id, soft-masked).
POLICY = {
  "A": (0, False),
  "C": (1, False),
  "G": (2, False),
  "T": (3, False),
  "U": (3, False),
  "N": (4, False),
  "a": (0, True),
  "c": (1, True),
  "g": (2, True),
  "t": (3, True),
  "u": (3, True),
  "n": (4, True),
}
POLICY.update({c: (4, False) for c in "RYSWKMBDHV"})
POLICY.update({c.lower(): (4, True) for c in "RYSWKMBDHV"})
ILLEGAL = ["-", ".", "*", "0", "7", " ", "\t", "\r", "X", "E", "j", "Z", "@", ">", "\x00", "\x7f"]


def _reference_encode(text: str) -> tuple[list[int], list[bool]]:
  """The policy spelled out one character at a time (the slow oracle)."""
  ids, mask = [], []
  for char in text:
    upper = char.upper()
    if upper in "ACGT":
      ids.append("ACGT".index(upper))
    elif upper == "U":
      ids.append(3)
    elif upper == "N" or upper in "RYSWKMBDHV":
      ids.append(4)
    else:
      raise ValueError(char)
    mask.append(char.islower())
  return ids, mask


def test_ids_and_vocabulary():
  assert (tokenizer.A_ID, tokenizer.C_ID, tokenizer.G_ID, tokenizer.T_ID) == (0, 1, 2, 3)
  assert (tokenizer.N_ID, tokenizer.PAD_ID, tokenizer.BOS_ID, tokenizer.EOS_ID) == (4, 5, 6, 7)
  assert tokenizer.VOCAB_SIZE == len(tokenizer.VOCAB) == 8
  # complement(x) = 3 - x for the four bases.
  for base, comp in zip("ACGT", "TGCA"):
    assert 3 - tokenizer.encode(base)[0] == tokenizer.encode(comp)[0]


@pytest.mark.parametrize("char", sorted(POLICY))
def test_policy_table(char):
  tokens, mask = tokenizer.encode_with_mask(char)
  assert tokens.dtype == np.uint8 and mask.dtype == bool
  assert (int(tokens[0]), bool(mask[0])) == POLICY[char]


@pytest.mark.parametrize("char", ILLEGAL)
def test_illegal_character_names_file_record_and_position(char):
  seq = "ACGTACGTAC" + char + "GT"
  with pytest.raises(tokenizer.IllegalCharacterError) as info:
    tokenizer.encode(seq, source="genomes/x.fa", record="chr7")
  message = str(info.value)
  assert "genomes/x.fa" in message and "'chr7'" in message and "position 11 " in message
  assert info.value.position == 11 and info.value.character == char
  assert info.value.source == "genomes/x.fa" and info.value.record == "chr7"


def test_error_position_counts_offset_and_non_ascii():
  with pytest.raises(tokenizer.IllegalCharacterError, match=r"position 1,004 "):
    tokenizer.encode("ACGX", source="f.fa", record="r", offset=1000)
  with pytest.raises(tokenizer.IllegalCharacterError, match=r"U\+00E9.*position 3 "):
    tokenizer.encode("ACé", source="f.fa", record="r")
  with pytest.raises(tokenizer.IllegalCharacterError, match=r"position 2 "):
    tokenizer.encode(b"A\xc3GT", source="f.fa", record="r")


def test_input_types_agree():
  text = "ACGTNacgtnRyU"
  expected = tokenizer.encode(text)
  for value in (
    text.encode(),
    np.frombuffer(text.encode(), np.uint8),
    np.array(list(text), dtype="S1"),
    bytearray(text.encode()),
  ):
    np.testing.assert_array_equal(tokenizer.encode(value), expected)
  assert tokenizer.encode("").shape == (0,)
  with pytest.raises(TypeError):
    tokenizer.encode(np.zeros(3, np.float32))


def test_round_trip_with_soft_mask():
  rng = np.random.default_rng(0)
  text = "".join(rng.choice(list("ACGTNacgtn"), 5000))
  tokens, mask = tokenizer.encode_with_mask(text)
  assert tokenizer.decode(tokens, mask) == text
  assert tokenizer.decode(tokens) == text.upper()
  assert mask.sum() == sum(c.islower() for c in text)


def test_iupac_and_u_fold_into_n_and_t():
  tokens, mask = tokenizer.encode_with_mask("RYSWKMBDHVryswkmbdhvUu")
  assert tokenizer.decode(tokens, mask) == "NNNNNNNNNNnnnnnnnnnnTt"


def test_decode_specials_and_range():
  assert tokenizer.decode([tokenizer.BOS_ID, 0, 1, 2, 3, 4, tokenizer.EOS_ID, tokenizer.PAD_ID]) == "^ACGTN$_"
  with pytest.raises(tokenizer.IllegalCharacterError):  # Decoded specials never re-encode.
    tokenizer.encode(tokenizer.decode([tokenizer.BOS_ID]))
  with pytest.raises(ValueError, match="index 1"):
    tokenizer.decode([0, 8])
  with pytest.raises(ValueError, match="index 0"):
    tokenizer.decode(np.array([-1], np.int32))


def test_reverse_complement():
  tokens = tokenizer.encode("AACGTNG")
  assert tokenizer.decode(tokenizer.reverse_complement(tokens)) == "CNACGTT"
  rng = np.random.default_rng(1)
  batch_BL = rng.integers(0, 5, size=(3, 1001)).astype(np.uint8)
  rc_BL = tokenizer.reverse_complement(batch_BL)
  assert rc_BL.dtype == np.uint8 and rc_BL.shape == batch_BL.shape
  np.testing.assert_array_equal(tokenizer.reverse_complement(rc_BL), batch_BL)  # Involution.
  for row, rc_row in zip(batch_BL, rc_BL):  # Each row is reversed on its own.
    np.testing.assert_array_equal(rc_row, tokenizer.reverse_complement(row))
  is_base = batch_BL < 4
  np.testing.assert_array_equal((3 - batch_BL)[is_base], rc_BL[:, ::-1][is_base])
  np.testing.assert_array_equal(rc_BL[:, ::-1][~is_base], 4)  # N stays N.
  for special in (tokenizer.PAD_ID, tokenizer.BOS_ID, tokenizer.EOS_ID):
    with pytest.raises(ValueError, match="no complement"):
      tokenizer.reverse_complement(np.array([0, special], np.uint8))


def test_big_random_sequence_matches_pure_python_reference():
  rng = np.random.default_rng(2)
  alphabet = list(POLICY)
  text = "".join(rng.choice(alphabet, 1 << 20))
  ref_ids, ref_mask = _reference_encode(text)
  tokens, mask = tokenizer.encode_with_mask(text)
  np.testing.assert_array_equal(tokens, np.array(ref_ids, np.uint8))
  np.testing.assert_array_equal(mask, np.array(ref_mask))
  # An illegal character deep inside the big sequence is still located exactly.
  position = 777_777
  bad = text[: position - 1] + "-" + text[position:]
  with pytest.raises(tokenizer.IllegalCharacterError) as info:
    tokenizer.encode(bad, source="big.fa", record="r")
  assert info.value.position == position


def test_spec_is_json_and_describes_policy():
  spec = json.loads(json.dumps(tokenizer.spec()))
  assert spec["vocab"] == ["A", "C", "G", "T", "N", "<pad>", "<bos>", "<eos>"]
  assert spec["vocab_size"] == 8 and spec["pad_id"] == 5 and spec["n_id"] == 4
  assert spec["u_as_t"] is True and spec["case_folded"] is True
  assert set(spec["ambiguity_codes_to_n"]) == set("NRYSWKMBDHV")
