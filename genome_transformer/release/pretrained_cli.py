# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Command line of the pretrained models: score, variants, embed, generate, classify, list, cards.

  python -m genome_transformer.pretrained score --model=NAME_OR_DIR --fasta=seqs.fa [--regions=r.bed]
      [--out=scores.tsv|.bedgraph] [--per_base=per_base.tsv|.bedgraph] [--context=0]
  python -m genome_transformer.pretrained variants --model=... --fasta=ref.fa --variants=vars.vcf.gz
      [--both_strands] [--window=0] [--context=0] [--out=scores.tsv|scored.vcf|scored.vcf.gz]
  python -m genome_transformer.pretrained embed --model=... --fasta=seqs.fa --out=emb.npz|emb.npy
      [--regions=r.bed] [--pool=mean|last|none]
  python -m genome_transformer.pretrained generate --model=... --prompt=ACGT --n=100 [--temperature=1]
      [--top_k=4] [--seed=0] [--out=generated.fa]
  python -m genome_transformer.pretrained classify --model=FINETUNED_EXPORT --input=seqs.tsv|seqs.fa [--out=p.tsv]
  python -m genome_transformer.pretrained list
  python -m genome_transformer.pretrained cards [--check]   # the release cards, from a checkout

Inputs: FASTA, VCF/TSV variants and BED regions from a path (plain, gzip or bgzip, told apart by
their first bytes) or '-' for stdin (one of them). FASTA is validated and indexed by fasta.py (its
index goes to the cache, never beside the user's file); variants by genomics/vcf.py; regions by
genomics/bed.py. Errors name the file, line and field.

Outputs: --out's extension picks the format (`OUTPUTS`; a trailing .gz writes BGZF, which tabix
indexes); an extension a command cannot write is refused before the model loads. Files are written
to a temporary name and renamed into place ('-', the default, is stdout: TSV, or what --format names,
e.g. `variants --out=- --format=vcf`); progress, warnings and logs go to stderr
(tqdm, shown on a terminal). Each command's -h page lists its columns.

Variants that cannot be scored (symbolic or missing alleles, non-bases, REF not matching the
reference, a chromosome not in the FASTA) are counted in one warning line and left NA; a file of
which no allele can be scored is an error naming the first.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import dataclasses
import os
import sys
import textwrap

from absl import app, flags
import numpy as np
import tqdm

from genome_transformer import cli
from genome_transformer.data import labelled
from genome_transformer.evaluation import heldout
from genome_transformer.genomics import bed, fasta, textio, tokenizer, vcf
from genome_transformer.release import cards, pretrained
from genome_transformer.release import export as export_lib
from genome_transformer.training import checkpointing, export_reader

COMMANDS = ("score", "variants", "embed", "generate", "classify", "list", "cards")
RECORDS_PER_CALL = 64  # Records scored per API call in `score` / `embed` (then grouped by length).
BASES_PER_CALL = 1 << 22  # ... or fewer when they hold more bases than this.
VARIANTS_PER_CALL = 256  # Variants per API call: the progress bar's step.

FLAGS = flags.FLAGS
flags.DEFINE_string(
  "model",
  None,
  "Release name or alias (`bacteria`, `human`: the recommended ones; `list` shows all) or export directory.",
)
flags.DEFINE_string("fasta", None, "FASTA file: plain, gzip or bgzip; '-' reads stdin.")
flags.DEFINE_string(
  "input",
  None,
  "Sequences to classify: FILE.tsv (a header naming `sequence`, optionally `id`; gzip too) or FILE.fa / .fasta / "
  ".fna (plain, gzip or bgzip), told apart by the extension.",
)
flags.DEFINE_string(
  "out",
  "-",
  "Output file, its format by its extension (-h of each command lists them; .gz: BGZF); '-' is stdout (TSV; --format picks another).",
)
flags.DEFINE_enum(
  "format",
  None,
  ["tsv", "bedgraph", "vcf"],
  "Format of --out: needed only to write something other than TSV to stdout (--out=-, e.g. --format=vcf); "
  "a file's format is its extension, which --format must then agree with.",
)
flags.DEFINE_string("per_base", None, "Also write each base's log-probability: FILE.tsv or FILE.bedgraph (.gz: BGZF).")
flags.DEFINE_string("variants", None, "VCF or TSV (chrom pos ref alt, 1-based): plain, gzip or bgzip; '-' reads stdin.")
flags.DEFINE_string(
  "regions", None, "BED file (0-based, end exclusive; plain, gzip or '-'): each region is scored as one sequence."
)
flags.DEFINE_bool("both_strands", False, "Average the forward and reverse-complement scores.")
flags.DEFINE_integer(
  "context",
  0,
  "Bases of context per scored base: 0 = the model's training window (half-overlapping windows of it, as "
  "the held-out figures); -1 = unbounded (one recurrence); N >= 2 = windows of N. The API's context=0/None/N.",
)
flags.DEFINE_integer(
  "window",
  0,
  "Bases each side of a variant that are scored: 0 = the model's training window; -1 = the whole record; "
  "N >= 1 = N bases. The API's window=0/None/N.",
)
flags.DEFINE_enum("pool", "mean", ["mean", "last", "none"], "Pooling over bases.")
flags.DEFINE_string("prompt", None, "The bases to continue.")
flags.DEFINE_integer("n", 100, "Number of bases to sample.")
flags.DEFINE_float("temperature", 1.0, "Softmax temperature (0: greedy).")
flags.DEFINE_integer("top_k", None, "Sample among the k most likely bases (1..4).")
flags.DEFINE_integer("seed", 0, "Sampling seed.")
flags.DEFINE_integer("chunk_size", None, "Recurrent chunk length (default: the model's eval.chunk_size).")
flags.DEFINE_integer("batch_size", pretrained.DEFAULT_BATCH_SIZE, "Sequences per compiled call.")
flags.DEFINE_bool(
  "check", False, "`cards`: write nothing; exit 1 naming each card that differs from what the code renders."
)


class CommandLineError(tokenizer.GenomeInputError):
  """A bad flag value or input file, named in the message."""


atomic_output = textio.atomic_output

# --out formats by extension (a trailing .gz writes BGZF, which tabix indexes), per command and flag.
TSV, BEDGRAPH, VCF, NPZ, NPY, FASTA = "tsv", "bedgraph", "vcf", "npz", "npy", "fasta"
_EXTENSIONS = {
  ".tsv": TSV,
  ".bedgraph": BEDGRAPH,
  ".vcf": VCF,
  ".npz": NPZ,
  ".npy": NPY,
  ".fa": FASTA,
  ".fasta": FASTA,
  ".fna": FASTA,
}
_BINARY = (NPZ, NPY)
OUTPUTS = {
  ("score", "out"): (TSV, BEDGRAPH),
  ("score", "per_base"): (TSV, BEDGRAPH),
  ("variants", "out"): (TSV, VCF),
  ("embed", "out"): (NPZ, NPY),
  ("generate", "out"): (FASTA,),
  ("classify", "out"): (TSV,),
}
INFO_KEY = "GT_LLR"  # The VCF INFO key of the score; with --both_strands also _FWD and _REV.


def output_format(command: str, flag: str) -> str | None:
  """The format --flag's extension names, checked against what `command` writes (None: flag not given)."""
  path = getattr(FLAGS, flag)
  if path is None or path == "":
    return None
  formats = OUTPUTS[(command, flag)]
  chosen = FLAGS.format if flag == "out" else None
  if chosen and chosen not in formats:
    raise CommandLineError(f"--format={chosen}: `{command}` --out writes {' or '.join(formats)}.")
  if path == "-":
    if formats[0] in _BINARY:
      return None  # the command says what to pass instead
    return chosen or formats[0]
  expanded = os.path.abspath(os.path.expanduser(path))
  if os.path.isdir(expanded):
    raise CommandLineError(f"{expanded} is a directory; name the output file to write, e.g. {expanded}/out.tsv.")
  name = os.path.basename(path).lower()
  gz = textio.compression_suffix(name)
  stem = name[: name.rindex(".")] if gz else name
  extension = os.path.splitext(stem)[1]
  kind = _EXTENSIONS.get(extension)
  choices = ", ".join(e for e, f in _EXTENSIONS.items() if f in formats) + (
    " (each also as .gz, BGZF)" if formats[0] not in _BINARY else ""
  )
  if kind not in formats or (gz and kind in _BINARY):
    what = f"'{extension}{gz}'" if extension else "a name without an extension"
    example = path[: len(path) - len(extension) - len(gz)] + next(e for e, f in _EXTENSIONS.items() if f in formats)
    raise CommandLineError(
      f"--{flag}={path}: cannot write {what}; `{command}` --{flag} writes {choices}, chosen by the extension "
      f"(e.g. --{flag}={example})."
    )
  if chosen and chosen != kind:
    raise CommandLineError(
      f"--format={chosen} and --{flag}={path} disagree: a file's format is its extension; drop --format, or "
      f"pass --{flag}=- to write {chosen} to stdout."
    )
  return kind


def _check_stdin() -> None:
  readers = [f"--{name}" for name in ("fasta", "variants", "regions") if getattr(FLAGS, name) == "-"]
  if len(readers) > 1:
    raise CommandLineError(f"{' and '.join(readers)} are both '-': standard input can be read by one of them only.")


def _require(flag: str, command: str) -> str:
  value = getattr(FLAGS, flag)
  if value is None or value == "":
    raise CommandLineError(f"`{command}` needs --{flag}.")
  return value


def _progress(total: int, unit: str, desc: str) -> tqdm.tqdm:
  # disable=None: shown on a terminal, silent in pipes and logs.
  return tqdm.tqdm(total=total, unit=unit, unit_scale=True, desc=desc, disable=None, file=sys.stderr)


def _sequences(fa: fasta.IndexedFasta) -> list[bed.Region]:
  """What `score` and `embed` process: the --regions, else every record whole (named as the record)."""
  if not FLAGS.regions:
    return [bed.Region(r.name, 0, r.length, r.name) for r in fa.records]
  return bed.read_bed(FLAGS.regions, {r.name: r.length for r in fa.records}, fa.source)


def _groups(items: list[bed.Region]) -> Iterator[list[bed.Region]]:
  group, bases = [], 0
  for item in items:
    if group and (len(group) >= RECORDS_PER_CALL or bases + item.length > BASES_PER_CALL):
      yield group
      group, bases = [], 0
    group.append(item)
    bases += item.length
  if group:
    yield group


def _fetch(fa: fasta.IndexedFasta, region: bed.Region) -> np.ndarray:
  return fa.fetch(region.chrom, region.start, region.end)


def _context_flag() -> int | None:
  """--context as the API's `context` (0, None or N)."""
  if FLAGS.context < -1 or FLAGS.context == 1:
    raise CommandLineError(
      f"--context={FLAGS.context}: must be 0 (the model's training window), -1 (unbounded) or at least 2."
    )
  return None if FLAGS.context == -1 else FLAGS.context


def _track_line(name: str, description: str) -> str:
  return f'track type=bedGraph name="{name}" description="{description}"\n'


def command_score(model: pretrained.PretrainedModel) -> None:
  path = _require("fasta", "score")
  out_format, per_base_format = output_format("score", "out"), output_format("score", "per_base")
  context = _context_flag()
  with fasta.open_fasta(path) as fa, contextlib.ExitStack() as stack:
    items = _sequences(fa)
    out = stack.enter_context(atomic_output(FLAGS.out))
    per_base = stack.enter_context(atomic_output(FLAGS.per_base)) if FLAGS.per_base else None
    if out_format == BEDGRAPH:
      out.write(_track_line("bits_per_base", f"bits per base, {model.name}"))
    else:
      out.write("record\tlength\tscored_bases\tbits_per_base\tlog_likelihood_nats\n")
    if per_base_format == BEDGRAPH:
      per_base.write(_track_line("log_prob", f"ln p(base | bases before it), {model.name}"))
    elif per_base:
      per_base.write("record\tpos\tbase\tlog_prob\n")
    bar = stack.enter_context(_progress(sum(r.length for r in items), "bp", "score"))
    for group in _groups(items):
      tokens = [_fetch(fa, r) for r in group]
      logps = model.log_likelihood(tokens, context=context, chunk_size=FLAGS.chunk_size, batch_size=FLAGS.batch_size)
      for region, tokens_L, logp_L in zip(group, tokens, logps):
        total, scored = heldout.scored_log_likelihood(logp_L)
        bpb = heldout.bits_per_base(total, scored)
        if out_format == BEDGRAPH:
          if scored:  # bedGraph has no missing value: a region with no scored base has no line
            out.write(f"{region.chrom}\t{region.start}\t{region.end}\t{bpb:.6f}\n")
        else:
          out.write(f"{region.name}\t{len(tokens_L)}\t{scored}\t{bpb:.6f}\t{total:.6f}\n")
        if per_base:
          _write_per_base(per_base, per_base_format, region, tokens_L, logp_L)
        bar.update(len(tokens_L))


def _write_per_base(f, kind: str, region: bed.Region, tokens_L: np.ndarray, logp_L: np.ndarray) -> None:
  """Rows in the record's coordinates (a region's bases at their place in its chromosome)."""
  values = np.char.mod("%.6f", logp_L.astype(np.float64))
  finite = np.isfinite(logp_L)
  starts = np.arange(region.start, region.end)
  name = region.chrom
  if kind == BEDGRAPH:
    starts, values = starts[finite], values[finite]
    ends = (starts + 1).astype(str)
    columns = [starts.astype(str), ends, values]
  else:
    values[~finite] = "NA"
    bases = np.frombuffer(tokenizer.decode(tokens_L).encode("ascii"), "S1").astype(str)
    columns = [(starts + 1).astype(str), bases, values]
  for start in range(0, len(columns[0]), 1 << 16):
    stop = start + (1 << 16)
    rows = ["\t".join(cells) for cells in zip(*(c[start:stop] for c in columns))]
    f.write("".join(f"{name}\t{row}\n" for row in rows))


def read_variants(path: str) -> vcf.VariantTable:
  """The variants of a TSV (chrom pos ref alt) or VCF; see genomics/vcf.py."""
  return vcf.read_variants(path)


@dataclasses.dataclass
class _Skipped:
  """Alleles not scored, by reason: how many, and the message of the first."""

  counts: dict[str, int] = dataclasses.field(default_factory=dict)
  first: dict[str, tuple[int, str]] = dataclasses.field(default_factory=dict)  # reason -> (line, message)

  def add(self, reason: str, line: int, message: str) -> None:
    self.counts[reason] = self.counts.get(reason, 0) + 1
    self.first.setdefault(reason, (line, message))

  def total(self) -> int:
    return sum(self.counts.values())

  def warning(self, display: str, num_alleles: int) -> str:
    parts = [f"{self.counts[r]} {r} (first at line {self.first[r][0]})" for r in vcf.REASONS if r in self.counts]
    return f"Warning: {display}: {self.total()} of {num_alleles} alleles not scored, left NA: {'; '.join(parts)}."

  def first_message(self) -> str:
    return min(self.first.values())[1]


def _classify(record: vcf.VariantRecord, alt: str, label: str, tokens_L: np.ndarray, seq_name: str):
  """(reason, message) if the allele cannot be scored against its record, else (None, None)."""
  try:
    pretrained.parse_variant(pretrained.Variant(record.pos, record.ref, alt, label), 0, tokens_L, seq_name)
  except tokenizer.GenomeInputError as error:
    ref_len = 0 if record.ref.strip() in ("", "-") else len(record.ref.strip())
    inside = 1 <= record.pos and record.pos - 1 + ref_len <= len(tokens_L) and record.pos <= len(tokens_L) + 1
    return (vcf.REF_MISMATCH if inside else vcf.OUTSIDE), str(error)
  return None, None


def command_variants(model: pretrained.PretrainedModel) -> None:
  fasta_path, variants_path = _require("fasta", "variants"), _require("variants", "variants")
  if FLAGS.window < -1:
    raise CommandLineError(
      f"--window={FLAGS.window}: must be 0 (the model's training window), -1 (the whole record) or positive."
    )
  out_format = output_format("variants", "out")
  window = None if FLAGS.window == -1 else FLAGS.window
  context = _context_flag()
  table = read_variants(variants_path)
  display = textio.display_name(variants_path)
  if out_format == VCF and not table.is_vcf:
    raise CommandLineError(
      f"--out={FLAGS.out}: VCF output copies the input's VCF records, and {display} is a TSV (chrom pos ref alt); "
      "pass a VCF as --variants, or write --out=FILE.tsv."
    )
  strands = 2 if FLAGS.both_strands else 1
  scores = [np.full((len(r.alts), strands), np.nan) for r in table.records]
  skipped = _Skipped()
  with fasta.open_fasta(fasta_path) as fa:
    lengths = {r.name: r.length for r in fa.records}
    by_chrom: dict[str, list[tuple[int, int]]] = {}
    for i, record in enumerate(table.records):
      label = record.label(variants_path)
      for a, (alt, reason) in enumerate(zip(record.alts, record.skip)):
        if reason is None and record.chrom not in lengths:
          shown = ", ".join(list(lengths)[:10]) + (" ..." if len(lengths) > 10 else "")
          skipped.add(
            vcf.OTHER_RECORD,
            record.line,
            f"{label}: chromosome {record.chrom!r} is not a record of {fa.source} (records: {shown}).",
          )
        elif reason is not None:
          allele = record.ref if vcf.allele_problem(record.ref, vcf=table.is_vcf) else alt
          skipped.add(reason, record.line, f"{label}: allele {allele!r} is {reason}; only sequences can be scored.")
        else:
          by_chrom.setdefault(record.chrom, []).append((i, a))
    with _progress(sum(len(v) for v in by_chrom.values()), "variant", "variants") as bar:
      for chrom, alleles in by_chrom.items():
        tokens_L = fa.fetch(chrom)
        seq_name = f"{fa.source}: record {chrom!r}"
        scorable = []
        for i, a in alleles:
          record = table.records[i]
          reason, message = _classify(record, record.alts[a], record.label(variants_path), tokens_L, seq_name)
          if reason:
            skipped.add(reason, record.line, message)
            bar.update(1)
          else:
            scorable.append((i, a))
        for begin in range(0, len(scorable), VARIANTS_PER_CALL):
          part = scorable[begin : begin + VARIANTS_PER_CALL]
          variants = [
            pretrained.Variant(
              table.records[i].pos,
              table.records[i].ref,
              table.records[i].alts[a],
              table.records[i].label(variants_path),
            )
            for i, a in part
          ]
          result = model.variant_scores_by_strand(
            tokens_L,
            variants,
            both_strands=FLAGS.both_strands,
            window=window,
            context=context,
            chunk_size=FLAGS.chunk_size,
            batch_size=FLAGS.batch_size,
            seq_name=seq_name,
          )
          for (i, a), row in zip(part, result):
            scores[i][a] = row
          bar.update(len(part))
  if skipped.total() == table.num_alleles:
    raise CommandLineError(f"no allele of {display} could be scored; the first: {skipped.first_message()}")
  if skipped.total():
    print(skipped.warning(display, table.num_alleles), file=sys.stderr)
  with atomic_output(FLAGS.out) as out:
    if out_format == VCF:
      _write_scored_vcf(out, table, scores, model, window, context, lengths)
      return
    header = "chrom\tpos\tid\tref\talt\tllr" + ("\tllr_forward\tllr_reverse" if FLAGS.both_strands else "")
    out.write(header + "\n")
    fmt = lambda x: "NA" if np.isnan(x) else f"{x:.6f}"
    for record, rows in zip(table.records, scores):
      for alt, row in zip(record.alts, rows):
        extra = "".join(f"\t{fmt(x)}" for x in row) if FLAGS.both_strands else ""
        out.write(f"{record.chrom}\t{record.pos}\t{record.vid}\t{record.ref}\t{alt}\t{fmt(row.mean())}{extra}\n")


def _write_scored_vcf(out, table, scores, model, window, context, lengths) -> None:
  window_text = "the whole record" if window is None else f"{window or model.window_length} bases each side"
  context_text = "unbounded context" if context is None else f"context {context or model.window_length}"
  about = f"genome-transformer {model.name}, {window_text}, {context_text}"
  fields = [
    vcf.InfoField(
      INFO_KEY,
      f"ln p(alt) - ln p(ref) in nats ({'mean of both strands' if FLAGS.both_strands else 'forward strand'}); {about}",
    )
  ]
  values = [[rows.mean(axis=1) for rows in scores]]
  if FLAGS.both_strands:
    fields += [
      vcf.InfoField(f"{INFO_KEY}_FWD", f"ln p(alt) - ln p(ref) in nats, forward strand; {about}"),
      vcf.InfoField(f"{INFO_KEY}_REV", f"ln p(alt) - ln p(ref) in nats, reverse complement; {about}"),
    ]
    values += [[rows[:, 0] for rows in scores], [rows[:, 1] for rows in scores]]
  vcf.write_vcf(out, table, fields, values, lengths)


def command_embed(model: pretrained.PretrainedModel) -> None:
  path = _require("fasta", "embed")
  if FLAGS.out == "-":
    raise CommandLineError("`embed` writes an .npz file: pass --out=FILE.npz.")
  out_format = output_format("embed", "out")
  pool = None if FLAGS.pool == "none" else FLAGS.pool
  if out_format == NPY and pool is None:
    raise CommandLineError(
      f"--out={FLAGS.out}: an .npy file holds one array, and --pool=none gives one [L, D] array per sequence; "
      "write --out=FILE.npz, or pool (--pool=mean or last) for one [N, D] array."
    )
  names, arrays = [], []
  with fasta.open_fasta(path) as fa:
    items = _sequences(fa)
    with _progress(sum(r.length for r in items), "bp", "embed") as bar:
      for group in _groups(items):
        tokens = [_fetch(fa, r) for r in group]
        out = model.embed(tokens, pool=pool, chunk_size=FLAGS.chunk_size, batch_size=FLAGS.batch_size)
        names.extend(r.name for r in group)
        arrays.extend(out)
        bar.update(sum(len(t) for t in tokens))
  with atomic_output(FLAGS.out, "wb") as f:
    if out_format == NPY:
      np.save(f, np.stack(arrays))  # rows in the order of the records (or --regions)
    elif pool is None:
      np.savez(f, names=np.asarray(names), **{f"embedding_{i}": a for i, a in enumerate(arrays)})
    else:
      np.savez(f, names=np.asarray(names), embeddings=np.stack(arrays))


def command_generate(model: pretrained.PretrainedModel) -> None:
  prompt = _require("prompt", "generate")
  sequence = model.generate(
    prompt, FLAGS.n, temperature=FLAGS.temperature, top_k=FLAGS.top_k, seed=FLAGS.seed, chunk_size=FLAGS.chunk_size
  )
  with atomic_output(FLAGS.out) as out:
    out.write(
      f">generated model={model.name} prompt_length={len(prompt)} n={FLAGS.n} "
      f"temperature={FLAGS.temperature} top_k={FLAGS.top_k} seed={FLAGS.seed}\n"
    )
    for start in range(0, len(sequence), 60):
      out.write(sequence[start : start + 60] + "\n")


def _classify_input(path: str) -> tuple[list[str], list[np.ndarray]]:
  """(ids, tokens) of --input: a TSV's `id` and `sequence` columns, or a FASTA's records."""
  name = os.path.basename(path).lower()
  stem = name[: name.rindex(".")] if textio.compression_suffix(name) else name
  kind = _EXTENSIONS.get(os.path.splitext(stem)[1])
  if kind == TSV:
    table = labelled.read_labelled(path, labels=False)
    return table.ids, table.tokens
  if kind == FASTA:
    with fasta.open_fasta(path) as fa:
      return [r.name for r in fa.records], [fa.fetch(r.name) for r in fa.records]
  raise CommandLineError(
    f"--input={path}: cannot tell its format from the extension; name a .tsv (columns `sequence`, optionally "
    "`id`) or a .fa / .fasta / .fna file (each also .gz)."
  )


def command_classify(model: pretrained.PretrainedModel) -> None:
  path = _require("input", "classify")
  classes = model.classes
  ids, tokens = _classify_input(path)
  probs_NK = []
  with _progress(len(tokens), "seq", "classify") as bar:
    for start in range(0, len(tokens), RECORDS_PER_CALL):
      group = tokens[start : start + RECORDS_PER_CALL]
      probs_NK.append(model.classify(group, chunk_size=FLAGS.chunk_size, batch_size=FLAGS.batch_size))
      bar.update(len(group))
  probs_NK = np.concatenate(probs_NK)
  with atomic_output(FLAGS.out) as out:
    out.write("\t".join(["id", "predicted", *(f"p_{c}" for c in classes)]) + "\n")
    for row_id, probs_K in zip(ids, probs_NK):
      cells = [f"{p:.6g}" for p in probs_K]
      out.write("\t".join([row_id, classes[int(np.argmax(probs_K))], *cells]) + "\n")


def release_table(names: list[str]) -> list[list[str]]:
  """`list`'s rows, a header first: one row per release, from its export.json."""
  aliases = {release: alias for alias, release in pretrained.RECOMMENDED.items()}
  rows = [["name", "genome", "context", "parameters", "test bits/base", "measured on", "recommended"]]
  for name in names:
    document = export_lib.read_export_json(pretrained.resolve(name))
    meta, config = document["metadata"], document.get("config", {})
    held = meta.get("test_bits_per_base")
    rows.append(
      [
        name,
        meta.get("genome", {}).get("spec", "?"),
        f"{config.get('data', {}).get('window_length', '?')}",
        f"{meta.get('num_params', 0):,}",
        "NA" if held is None else f"{held:.4f}",
        cards.measured_on(meta),
        f"yes ({aliases[name]})" if name in aliases else "-",
      ]
    )
  return rows


def command_list() -> None:
  names = pretrained.list_releases()
  if not names:
    print(f"No releases found in {', '.join(pretrained.release_dirs())}.")
    return
  rows = release_table(names)
  widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
  right = {2, 3, 4}  # numbers
  for row in rows:
    cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
    print("  ".join(cells).rstrip())
  shown = ", ".join(f"{alias} = {release}" for alias, release in pretrained.RECOMMENDED.items())
  notes = [
    f"Recommended, by alias ({shown}): of each genome's releases, the lowest held-out bits per base on the "
    "same test bases; --model=ALIAS or pretrained.load(ALIAS) loads it.",
    "Held-out figures: the genome's test split, never trained on, scored in half-overlapping windows of the "
    "context; MODEL_CARD.md compares the releases with other models on common bases.",
  ]
  print("\n" + "\n".join(textwrap.fill(note, cli.WIDTH) for note in notes))


def command_cards() -> None:
  """Writes (or with --check, checks) every bundled release's card and MODEL_CARD.md's index, in a checkout."""
  if not os.path.isfile(os.path.join(export_reader.CHECKOUT_DIR, cards.MODEL_CARD)):
    raise CommandLineError(
      f"`cards` renders the cards of a source checkout, and {export_reader.CHECKOUT_DIR} is not one (no "
      f"{cards.MODEL_CARD}); run it from a clone."
    )
  if FLAGS.check:
    stale = cards.stale_cards()
    if stale:
      sys.exit(
        f"Error: {len(stale)} card(s) differ from what genome_transformer/release/cards.py renders: "
        f"{', '.join(stale)}; run `python -m genome_transformer.pretrained cards` to write them."
      )
    print(f"All {len(cards.release_names())} release cards and {cards.MODEL_CARD}'s index are up to date.")
    return
  written = cards.write_cards()
  print("\n".join(f"wrote {path}" for path in written) or "Every card is up to date; nothing written.")


def main(argv):
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"Give one command: {' | '.join(COMMANDS)} (got {argv[1:]}).")
  checkpointing.quiet_orbax_info()
  command = argv[1]
  try:
    if command == "list":
      command_list()
      return
    if command == "cards":
      command_cards()
      return
    _check_stdin()
    for (name, flag), _ in OUTPUTS.items():
      if name == command:
        output_format(command, flag)  # an output it cannot write is refused before the model loads
    model = pretrained.load(_require("model", command))
    if command == "classify" and not model.classes:
      raise CommandLineError(
        f"--model={FLAGS.model} has no classification head; classify needs a fine-tuned export "
        "(python -m genome_transformer.finetune writes one to WORKDIR/export)."
      )
    commands = {
      "score": command_score,
      "variants": command_variants,
      "embed": command_embed,
      "generate": command_generate,
      "classify": command_classify,
    }
    commands[command](model)
  except (tokenizer.GenomeInputError, export_lib.ExportError, OSError) as error:
    # OSError: an output that cannot be written (a directory, no space); its message names the path.
    sys.exit(f"Error: {error}")


_COMPUTE = ["chunk_size", "batch_size"]
HELP = {
  "score": cli.Command(
    usage="--model=NAME --fasta=FILE [--regions=BED] [flags]",
    summary="Bits per base of each FASTA record (or --regions region), and optionally every base's log-probability.",
    flags=["model", "fasta", "regions", "out", "format", "per_base", "context", *_COMPUTE],
    notes=[
      "--out: .tsv (record, length, scored_bases, bits_per_base, log_likelihood_nats; a region's record is its "
      "BED name or chrom:start-end, 1-based) or .bedgraph (chrom, start, end, bits_per_base). --per_base: .tsv "
      "(record, pos (1-based), base, log_prob (natural log; NA where not scored)) or .bedgraph (one line per "
      "scored base). Positions are the record's, regions included; .gz writes BGZF (tabix indexes it).",
    ],
    examples=[
      "{prog} --model=bacteria --fasta=seqs.fa --out=scores.tsv --per_base=per_base.tsv",
      "zcat genome.fa.gz | {prog} --model=human --fasta=- --regions=genes.bed --per_base=genes.bedgraph.gz",
    ],
  ),
  "variants": cli.Command(
    usage="--model=NAME --fasta=REF --variants=FILE [flags]",
    summary="Log-likelihood ratio ln p(alt) - ln p(ref) of each variant against the reference FASTA.",
    flags=["model", "fasta", "variants", "out", "format", "both_strands", "window", "context", *_COMPUTE],
    notes=[
      "--out: .tsv (chrom, pos, id, ref, alt, llr in nats: the strand mean with --both_strands, then llr_forward "
      f"and llr_reverse) or .vcf / .vcf.gz (BGZF): the input VCF's records with INFO {INFO_KEY} (with "
      f"--both_strands also {INFO_KEY}_FWD, {INFO_KEY}_REV), one value per ALT allele. A VCF's #CHROM header "
      "selects its columns; multi-allelic ALT gives a row per allele. Alleles that cannot be scored (<DEL>, *, "
      "., breakends, non-bases, REF not matching the reference, a chromosome not in the FASTA) are counted in "
      "one warning line and left NA (no INFO value); the rest are scored.",
    ],
    examples=[
      "{prog} --model=bacteria --fasta=ref.fa --variants=vars.vcf --both_strands --out=llr.tsv",
      "{prog} --model=human --fasta=chrX.fa.gz --variants=calls.vcf.gz --out=scored.vcf.gz",
      "{prog} --model=human --fasta=chrX.fa.gz --variants=calls.vcf.gz --out=- --format=vcf | bgzip > scored.vcf.gz",
    ],
  ),
  "embed": cli.Command(
    usage="--model=NAME --fasta=FILE --out=FILE.npz|FILE.npy [--regions=BED] [flags]",
    summary=(
      "Embeddings of FASTA records (or --regions regions): .npz with `names` and `embeddings` [N, D] pooled, "
      "or `embedding_<i>` [L_i, D] (--pool=none); .npy: the [N, D] array alone, rows in input order."
    ),
    flags=["model", "fasta", "regions", "out", "pool", *_COMPUTE],
    examples=["{prog} --model=bacteria --fasta=seqs.fa --out=emb.npz --pool=mean"],
  ),
  "generate": cli.Command(
    usage="--model=NAME --prompt=BASES [flags]",
    summary="Samples bases after a prompt and writes them as FASTA (--out=FILE.fa, .fasta or .fna; .gz: BGZF).",
    flags=["model", "prompt", "n", "temperature", "top_k", "seed", "out", "chunk_size"],
    examples=["{prog} --model=bacteria --prompt=ATGAAAGCA --n=200 --temperature=0.8 --top_k=3"],
  ),
  "classify": cli.Command(
    usage="--model=EXPORT --input=FILE.tsv|FILE.fa [--out=FILE.tsv] [flags]",
    summary=(
      "Class probabilities of each sequence from a fine-tuned export (python -m genome_transformer.finetune): "
      "TSV with id, predicted (the most probable class) and p_CLASS for each class of the export's head."
    ),
    flags=["model", "input", "out", *_COMPUTE],
    notes=[
      "--input: a TSV whose header names `sequence` (and optionally `id`; the row's line number otherwise; other "
      "columns, `label` included, are ignored) or a FASTA file (ids: the record names). A model without a "
      "classification head (every bundled release) is refused.",
    ],
    examples=["{prog} --model=/tmp/ft/export --input=test.tsv --out=predictions.tsv"],
  ),
  "cards": cli.Command(
    usage="[--check]",
    summary=(
      "Writes each bundled release's pretrained/NAME/README.md and MODEL_CARD.md's release index from the "
      "export.json beside it (and benchmarks/results); --check writes nothing and exits 1 naming any that differ."
    ),
    flags=["check"],
    examples=["{prog} --check"],
  ),
  "list": cli.Command(
    usage="",
    summary=(
      "The bundled releases: genome, context (training window), parameters, held-out bits per base and on "
      "which bases, and the recommended release of each genome with its alias."
    ),
    examples=["{prog}"],
  ),
}
OVERVIEW = cli.Command(
  usage="COMMAND [flags]",
  summary="Scores, embeds and generates DNA with a pretrained release or an export directory.",
  subcommands=[
    ("score", "Bits per base of each FASTA record (and of each base)."),
    ("variants", "Log-likelihood ratio of each variant (TSV or VCF) against a reference FASTA."),
    ("embed", "Embeddings of FASTA records (.npz or .npy)."),
    ("generate", "Samples bases after a prompt."),
    ("classify", "Class probabilities of sequences from a fine-tuned export."),
    ("list", "The bundled releases and the recommended one per genome."),
    ("cards", "Writes (or --check: checks) each release's README.md card from its export.json."),
  ],
  notes=[
    "`{prog} COMMAND -h` lists a command's flags. Inputs: a path (plain, gzip or bgzip) or '-' for stdin; "
    "--out's extension picks the format. Bad input exits 1 with one line naming the file and line."
  ],
  examples=["{prog} list", "{prog} score --model=bacteria --fasta=seqs.fa"],
)


def run(argv=None, prog: str = "python -m genome_transformer.pretrained") -> None:
  argv = list(sys.argv if argv is None else argv)
  name = next((arg for arg in argv[1:] if arg in HELP), None)
  cli.run(main, HELP[name] if name else OVERVIEW, prog=f"{prog} {name}" if name else prog, argv=argv)


if __name__ == "__main__":
  run()
