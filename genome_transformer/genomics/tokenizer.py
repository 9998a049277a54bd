# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Single-nucleotide tokenizer for DNA, vectorised with 256-entry numpy lookup tables.

Vocabulary (8 ids; `VOCAB_SIZE`):

  ====  ===  ==============================================================
  id    tok  meaning
  ====  ===  ==============================================================
  0     A    adenine
  1     C    cytosine
  2     G    guanine
  3     T    thymine (U, the RNA spelling of the same base, also maps here)
  4     N    any base: N and every IUPAC ambiguity code
  5     PAD  padding; never produced by `encode`
  6     BOS  begin of sequence; never produced by `encode`
  7     EOS  end of sequence; never produced by `encode`
  ====  ===  ==============================================================

The ACGT order makes the complement arithmetic: complement(x) = 3 - x for x in 0..3.

Policy (the README quotes this paragraph):

* Case is folded: `a` and `A` are the same token. Lowercase is how assemblies mark
  soft-masked repeats, so `encode_with_mask` returns it as a separate boolean array
  (True = lowercase) for whoever wants to weight or analyse repeats; the model never sees it.
* The IUPAC ambiguity codes R Y S W K M B D H V, and N itself, all map to N. The model
  predicts single nucleotides; an ambiguity code is not a fifth base but "one of several", and
  in finished assemblies they are vanishingly rare (37 of the 4,033,464 bases of the
  V. cholerae genome shipped here, 35 of them codes other than N: under 0.001%), far too rare
  to learn as separate tokens.
* U is accepted and read as T (RNA spelling of the same base), so RNA FASTA can be scored.
* Anything else (gap characters `-` and `.`, `*`, digits, whitespace, other letters, non-ASCII
  bytes) is an error that names the file, the record and the 1-based position in the record.
* `decode` writes ids 0-4 as A C G T N (lowercase where a soft mask says so) and the special
  tokens as `_` (PAD), `^` (BOS) and `$` (EOS): characters that `encode` rejects, so a decoded
  special token can never come back as a base.
* `reverse_complement` reverses the last axis and maps A<->T, C<->G, N->N. It raises on PAD,
  BOS and EOS: reversing would move a BOS to the end, which is meaningless rather than useful.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

# Token ids. A C G T first so that complement(x) = 3 - x.
A_ID = 0
C_ID = 1
G_ID = 2
T_ID = 3
N_ID = 4
PAD_ID = 5
BOS_ID = 6
EOS_ID = 7
VOCAB_SIZE = 8

VOCAB = ("A", "C", "G", "T", "N", "<pad>", "<bos>", "<eos>")
NUM_BASES = 4  # A C G T: the tokens that carry sequence information.
IUPAC_AMBIGUITY_CODES = "RYSWKMBDHV"
SPECIAL_SYMBOLS = {PAD_ID: "_", BOS_ID: "^", EOS_ID: "$"}

_INVALID = 255  # Lookup-table value for bytes that are not sequence characters.


class GenomeInputError(ValueError):
  """Bad genome input: the message names the file (and record/line/position where known)."""


class IllegalCharacterError(GenomeInputError):
  """A sequence contains a character that is neither a base, N nor an IUPAC ambiguity code."""

  def __init__(self, message: str, *, source: str, record: str, position: int, character: str):
    super().__init__(message)
    self.source = source
    self.record = record
    self.position = position  # 1-based position within the record.
    self.character = character


def _build_tables() -> tuple[np.ndarray, np.ndarray]:
  encode_lut = np.full(256, _INVALID, dtype=np.uint8)
  softmask_lut = np.zeros(256, dtype=bool)
  mapping = {"A": A_ID, "C": C_ID, "G": G_ID, "T": T_ID, "U": T_ID, "N": N_ID}
  mapping.update({code: N_ID for code in IUPAC_AMBIGUITY_CODES})
  for char, token in mapping.items():
    encode_lut[ord(char)] = token
    encode_lut[ord(char.lower())] = token
    softmask_lut[ord(char.lower())] = True
  encode_lut.flags.writeable = False
  softmask_lut.flags.writeable = False
  return encode_lut, softmask_lut


ENCODE_LUT, SOFTMASK_LUT = _build_tables()
# Bytes that may appear in a sequence line; fasta.py uses it with bytes.translate for speed.
LEGAL_SEQUENCE_BYTES = bytes(i for i in range(256) if ENCODE_LUT[i] != _INVALID)

_DECODE_UPPER = np.frombuffer(b"ACGTN" + b"".join(SPECIAL_SYMBOLS[i].encode() for i in (5, 6, 7)), dtype=np.uint8)
_DECODE_LOWER = np.frombuffer(b"acgtn" + b"".join(SPECIAL_SYMBOLS[i].encode() for i in (5, 6, 7)), dtype=np.uint8)
_COMPLEMENT_LUT = np.array([T_ID, G_ID, C_ID, A_ID, N_ID, _INVALID, _INVALID, _INVALID], dtype=np.uint8)


def _as_bytes_array(
  seq: str | bytes | bytearray | memoryview | np.ndarray, source: str, record: str, offset: int
) -> np.ndarray:
  """A read-only uint8 view of the sequence characters (no copy for bytes and uint8 input)."""
  if isinstance(seq, str):
    try:
      seq = seq.encode("ascii")
    except UnicodeEncodeError as e:
      char = e.object[e.start]
      raise illegal_character_error(char, source=source, record=record, position=offset + e.start + 1) from None
  if isinstance(seq, (bytes, bytearray, memoryview)):
    return np.frombuffer(seq, dtype=np.uint8)
  if isinstance(seq, np.ndarray):
    if seq.dtype == np.uint8:
      return seq.reshape(-1)
    if seq.dtype.kind == "S" and seq.dtype.itemsize == 1 or seq.dtype == np.int8:
      return seq.reshape(-1).view(np.uint8)
    raise TypeError(
      f"{source}: record {record!r}: encode takes characters as str, bytes or a "
      f"uint8/S1 array, got an array of dtype {seq.dtype}"
    )
  raise TypeError(f"{source}: record {record!r}: encode takes str, bytes or a uint8 array, got {type(seq).__name__}")


def illegal_character_error(
  char: str, *, source: str, record: str, position: int, line: int | None = None
) -> IllegalCharacterError:
  """The error for a bad sequence character (fasta.py adds the line number it knows)."""
  shown = repr(char) if char.isprintable() and char.isascii() else f"{char!r} (U+{ord(char):04X})"
  where = f"{source}: line {line}: " if line is not None else f"{source}: "
  return IllegalCharacterError(
    f"{where}record {record!r}: illegal character {shown} at position {position:,} "
    f"(1-based, in the record). A sequence may hold A C G T U N and the IUPAC codes "
    f"{' '.join(IUPAC_AMBIGUITY_CODES)}, upper or lower case; remove or replace the "
    f"character (e.g. with N).",
    source=source,
    record=record,
    position=position,
    character=char,
  )


def _raise_first_illegal(chars_C: np.ndarray, tokens_C: np.ndarray, source: str, record: str, offset: int) -> None:
  index = int(np.argmax(tokens_C == _INVALID))
  raise illegal_character_error(chr(int(chars_C[index])), source=source, record=record, position=offset + index + 1)


def encode(
  seq: str | bytes | np.ndarray, *, source: str = "<string>", record: str = "?", offset: int = 0
) -> np.ndarray:
  """Maps sequence characters to token ids (uint8, one per character, case folded).

  Args:
    seq: the characters, as str, bytes or a uint8 / S1 numpy array (no newlines).
    source: file name used in error messages.
    record: record name used in error messages.
    offset: 0-based position of seq[0] in its record, so errors give the record position.

  Raises:
    IllegalCharacterError: naming source, record and 1-based position of the first bad char.
  """
  chars_C = _as_bytes_array(seq, source, record, offset)
  tokens_C = ENCODE_LUT[chars_C]
  # Valid ids are <= N_ID, so one max reduction detects any invalid byte without a mask array.
  if tokens_C.size and tokens_C.max() == _INVALID:
    _raise_first_illegal(chars_C, tokens_C, source, record, offset)
  return tokens_C


def encode_with_mask(
  seq: str | bytes | np.ndarray, *, source: str = "<string>", record: str = "?", offset: int = 0
) -> tuple[np.ndarray, np.ndarray]:
  """Like `encode`, also returning the soft mask (bool, True where the input was lowercase)."""
  chars_C = _as_bytes_array(seq, source, record, offset)
  tokens_C = encode(chars_C, source=source, record=record, offset=offset)
  return tokens_C, SOFTMASK_LUT[chars_C]


def decode(tokens: np.ndarray | list[int], softmask: np.ndarray | None = None) -> str:
  """Token ids to a string: ACGTN (lowercase where softmask is True), specials as _ ^ $."""
  tokens_C = np.asarray(tokens).reshape(-1)
  if tokens_C.size == 0:
    return ""
  if tokens_C.dtype.kind not in "iu":
    raise TypeError(f"decode takes integer token ids, got dtype {tokens_C.dtype}")
  bad = (tokens_C < 0) | (tokens_C >= VOCAB_SIZE)
  if bad.any():
    index = int(np.argmax(bad))
    raise ValueError(
      f"decode: token id {int(tokens_C[index])} at index {index} is outside the vocabulary 0..{VOCAB_SIZE - 1}"
    )
  ids_C = tokens_C.astype(np.intp)
  if softmask is None:
    chars_C = _DECODE_UPPER[ids_C]
  else:
    mask_C = np.asarray(softmask, dtype=bool).reshape(-1)
    if mask_C.shape != ids_C.shape:
      raise ValueError(f"decode: softmask has {mask_C.size} entries for {ids_C.size} tokens")
    chars_C = np.where(mask_C, _DECODE_LOWER[ids_C], _DECODE_UPPER[ids_C])
  return chars_C.astype(np.uint8).tobytes().decode("ascii")


def reverse_complement(tokens: np.ndarray) -> np.ndarray:
  """Reverse complement along the last axis: A<->T, C<->G, N->N; raises on PAD/BOS/EOS."""
  tokens_L = np.asarray(tokens)
  if tokens_L.dtype.kind not in "iu":
    raise TypeError(f"reverse_complement takes integer token ids, got dtype {tokens_L.dtype}")
  if tokens_L.size and (tokens_L.min() < 0 or tokens_L.max() > N_ID):
    bad = np.flatnonzero(((tokens_L < 0) | (tokens_L > N_ID)).reshape(-1))[0]
    raise ValueError(
      f"reverse_complement: token {int(tokens_L.reshape(-1)[bad])} at flat index "
      f"{int(bad)} is not a base or N; PAD/BOS/EOS have no complement"
    )
  return _COMPLEMENT_LUT[tokens_L[..., ::-1].astype(np.intp)].astype(tokens_L.dtype)


@dataclasses.dataclass(frozen=True)
class TokenizerSpec:
  """What a saved model needs to know to tokenise new input the same way."""

  name: str = "single-nucleotide"
  version: int = 1
  vocab: tuple[str, ...] = VOCAB
  vocab_size: int = VOCAB_SIZE
  pad_id: int = PAD_ID
  bos_id: int = BOS_ID
  eos_id: int = EOS_ID
  n_id: int = N_ID
  case_folded: bool = True
  softmask: str = "lowercase kept as a separate boolean array; not a model input"
  ambiguity_codes_to_n: str = "N" + IUPAC_AMBIGUITY_CODES
  u_as_t: bool = True
  illegal: str = "error naming file, record and 1-based position"
  decode_specials: tuple[tuple[str, str], ...] = tuple((VOCAB[i], s) for i, s in SPECIAL_SYMBOLS.items())

  def to_dict(self) -> dict[str, Any]:
    d = dataclasses.asdict(self)
    d["vocab"] = list(self.vocab)
    d["decode_specials"] = dict(self.decode_specials)
    return d


def spec() -> dict[str, Any]:
  """JSON-serialisable description of the vocabulary and policy (stored with exported weights)."""
  return TokenizerSpec().to_dict()
