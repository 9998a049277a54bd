# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Command line of the pretrained models: score, variants, embed, generate, list.

  python -m genome_transformer.pretrained score --model=NAME_OR_DIR --fasta=seqs.fa [--out=scores.tsv]
      [--per_base=per_base.tsv] [--context=0]
  python -m genome_transformer.pretrained variants --model=... --fasta=ref.fa --variants=vars.tsv
      [--both_strands] [--window=0] [--context=0] [--out=scores.tsv]
  python -m genome_transformer.pretrained embed --model=... --fasta=seqs.fa --out=emb.npz [--pool=mean|last|none]
  python -m genome_transformer.pretrained generate --model=... --prompt=ACGT --n=100 [--temperature=1]
      [--top_k=4] [--seed=0] [--out=generated.fa]
  python -m genome_transformer.pretrained list

Inputs: FASTA files plain or gzipped (validated and indexed by fasta.py; errors name the file,
record and position). Variants: a tab-separated file with columns chrom, pos, ref, alt (pos
1-based; extra columns ignored; lines starting with '#' are comments), or a VCF (its `#CHROM POS
ID REF ALT` header selects the VCF columns; multi-allelic ALT lists give one row per allele).
Outputs are tab-separated with a header, written to a temporary file and renamed into place
('-', the default, is stdout); progress goes to stderr (tqdm, shown on a terminal).

Output columns:
  score:    record, length, scored_bases, bits_per_base, log_likelihood_nats
  per-base: record, pos (1-based), base, log_prob (natural log; NA where not scored)
  variants: chrom, pos, id, ref, alt, llr (nats, ln p(alt) - ln p(ref); the strand mean with
            --both_strands, then llr_forward and llr_reverse)
  embed:    npz with `names` and `embeddings` [N, D] (pooled), or `names` and `embedding_<i>`
            [L_i, D] per record (--pool=none)

Bad input exits with status 1 and one line naming the file, line, record or variant.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
import sys
import textwrap
import uuid

from absl import app, flags
import numpy as np
import tqdm

from genome_transformer import cli
from genome_transformer.evaluation import heldout
from genome_transformer.genomics import fasta, tokenizer
from genome_transformer.release import export as export_lib
from genome_transformer.release import pretrained
from genome_transformer.training import checkpointing

COMMANDS = ("score", "variants", "embed", "generate", "list")
RECORDS_PER_CALL = 64  # Records scored per API call in `score` / `embed` (then grouped by length).
BASES_PER_CALL = 1 << 22  # ... or fewer when they hold more bases than this.
VARIANTS_PER_CALL = 256  # Variants per API call: the progress bar's step.

FLAGS = flags.FLAGS
flags.DEFINE_string(
  "model",
  None,
  "Release name or alias (`bacteria`, `human`: the recommended ones; `list` shows all) or export directory.",
)
flags.DEFINE_string("fasta", None, "FASTA file (plain or gzipped).")
flags.DEFINE_string("out", "-", "Output path; '-' is stdout (embed needs a file).")
flags.DEFINE_string("per_base", None, "Also write per-base log-probabilities to this TSV.")
flags.DEFINE_string("variants", None, "TSV (chrom pos ref alt, 1-based) or VCF.")
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


class CommandLineError(tokenizer.GenomeInputError):
  """A bad flag value or input file, named in the message."""


@contextlib.contextmanager
def atomic_output(path: str, mode: str = "w") -> Iterator:
  """Yields a file to write; renamed to `path` only if the block completes ('-' = stdout)."""
  if path == "-":
    yield sys.stdout
    sys.stdout.flush()
    return
  path = os.path.abspath(os.path.expanduser(path))
  if os.path.isdir(path):
    raise CommandLineError(f"{path} is a directory; name the output file to write, e.g. {path}/out.tsv.")
  directory = os.path.dirname(path)
  if not os.path.isdir(directory):
    raise CommandLineError(f"{path}: the directory {directory} does not exist.")
  tmp = os.path.join(directory, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:8]}")
  try:
    with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as f:
      yield f
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def _require(flag: str, command: str) -> str:
  value = getattr(FLAGS, flag)
  if value is None or value == "":
    raise CommandLineError(f"`{command}` needs --{flag}.")
  return value


def _progress(total: int, unit: str, desc: str) -> tqdm.tqdm:
  # disable=None: shown on a terminal, silent in pipes and logs.
  return tqdm.tqdm(total=total, unit=unit, unit_scale=True, desc=desc, disable=None, file=sys.stderr)


def _record_groups(fa: fasta.IndexedFasta) -> Iterator[list[fasta.FastaRecord]]:
  group, bases = [], 0
  for record in fa.records:
    if group and (len(group) >= RECORDS_PER_CALL or bases + record.length > BASES_PER_CALL):
      yield group
      group, bases = [], 0
    group.append(record)
    bases += record.length
  if group:
    yield group


def _fetch(fa: fasta.IndexedFasta, record: fasta.FastaRecord) -> np.ndarray:
  if record.length == 0:
    raise CommandLineError(f"{fa.source}: record {record.name!r} is empty.")
  return fa.fetch(record.name)


def _context_flag() -> int | None:
  """--context as the API's `context` (0, None or N)."""
  if FLAGS.context < -1 or FLAGS.context == 1:
    raise CommandLineError(
      f"--context={FLAGS.context}: must be 0 (the model's training window), -1 (unbounded) or at least 2."
    )
  return None if FLAGS.context == -1 else FLAGS.context


def command_score(model: pretrained.PretrainedModel) -> None:
  path = _require("fasta", "score")
  context = _context_flag()
  with fasta.open_fasta(path) as fa, atomic_output(FLAGS.out) as out, contextlib.ExitStack() as stack:
    per_base = stack.enter_context(atomic_output(FLAGS.per_base)) if FLAGS.per_base else None
    out.write("record\tlength\tscored_bases\tbits_per_base\tlog_likelihood_nats\n")
    if per_base:
      per_base.write("record\tpos\tbase\tlog_prob\n")
    bar = stack.enter_context(_progress(sum(r.length for r in fa.records), "bp", "score"))
    for group in _record_groups(fa):
      tokens = {r.name: _fetch(fa, r) for r in group}
      logps = model.log_likelihood(tokens, context=context, chunk_size=FLAGS.chunk_size, batch_size=FLAGS.batch_size)
      for (name, tokens_L), logp_L in zip(tokens.items(), logps):
        total, scored = heldout.scored_log_likelihood(logp_L)
        bpb = heldout.bits_per_base(total, scored)
        out.write(f"{name}\t{len(tokens_L)}\t{scored}\t{bpb:.6f}\t{total:.6f}\n")
        if per_base:
          _write_per_base(per_base, name, tokens_L, logp_L)
        bar.update(len(tokens_L))


def _write_per_base(f, name: str, tokens_L: np.ndarray, logp_L: np.ndarray) -> None:
  bases = np.frombuffer(tokenizer.decode(tokens_L).encode("ascii"), "S1").astype(str)
  values = np.char.mod("%.6f", logp_L.astype(np.float64))
  values[~np.isfinite(logp_L)] = "NA"
  positions = np.arange(1, len(tokens_L) + 1).astype(str)
  for start in range(0, len(tokens_L), 1 << 16):
    stop = start + (1 << 16)
    rows = [f"{name}\t{p}\t{b}\t{v}\n" for p, b, v in zip(positions[start:stop], bases[start:stop], values[start:stop])]
    f.write("".join(rows))


def read_variants(path: str) -> list[tuple[str, pretrained.Variant, str]]:
  """[(chrom, Variant, VCF ID or '.')] from a TSV (chrom pos ref alt) or VCF.

  Each Variant's id names the file and line, so errors about it point at the line.
  """
  if not os.path.isfile(path):
    raise CommandLineError(f"{path}: no such variants file.")
  columns = (0, 1, None, 2, 3)  # chrom, pos, id, ref, alt
  variants = []
  with open(path, encoding="utf-8", errors="replace") as f:
    for number, line in enumerate(f, 1):
      line = line.rstrip("\r\n")
      if not line.strip() or line.startswith("##"):
        continue
      fields = line.split("\t")
      if line.startswith("#"):
        names = [x.strip().lstrip("#").lower() for x in fields]
        if names[:5] == ["chrom", "pos", "id", "ref", "alt"]:
          columns = (0, 1, 2, 3, 4)
        continue
      where = f"{path} line {number}"
      needed = max(c for c in columns if c is not None) + 1
      if len(fields) < needed:
        raise CommandLineError(
          f"{where}: {len(fields)} tab-separated column(s); expected at least {needed} "
          f"({'CHROM POS ID REF ALT' if columns[2] is not None else 'chrom pos ref alt'})."
        )
      chrom, pos_text = fields[columns[0]].strip(), fields[columns[1]].strip()
      try:
        pos = int(pos_text)
      except ValueError:
        raise CommandLineError(f"{where}: pos {pos_text!r} is not an integer (1-based position).") from None
      vid = fields[columns[2]].strip() if columns[2] is not None else "."
      ref = fields[columns[3]].strip()
      for alt in fields[columns[4]].strip().split(","):
        label = where if vid in ("", ".") else f"{where} ({vid})"
        variants.append((chrom, pretrained.Variant(pos, ref, alt, label), vid or "."))
  if not variants:
    raise CommandLineError(f"{path}: no variants (only comments or blank lines).")
  return variants


def command_variants(model: pretrained.PretrainedModel) -> None:
  fasta_path, variants_path = _require("fasta", "variants"), _require("variants", "variants")
  if FLAGS.window < -1:
    raise CommandLineError(
      f"--window={FLAGS.window}: must be 0 (the model's training window), -1 (the whole record) or positive."
    )
  window = None if FLAGS.window == -1 else FLAGS.window
  context = _context_flag()
  variants = read_variants(variants_path)
  with fasta.open_fasta(fasta_path) as fa:
    lengths = {r.name: r.length for r in fa.records}
    by_chrom: dict[str, list[int]] = {}
    for i, (chrom, variant, _) in enumerate(variants):
      if chrom not in lengths:
        shown = ", ".join(list(lengths)[:10]) + (" ..." if len(lengths) > 10 else "")
        raise CommandLineError(f"{variant.id}: chromosome {chrom!r} is not a record of {fa.source} (records: {shown}).")
      by_chrom.setdefault(chrom, []).append(i)
    scores = np.zeros((len(variants), 2 if FLAGS.both_strands else 1))
    with _progress(len(variants), "variant", "variants") as bar:
      for chrom, indices in by_chrom.items():
        tokens_L = fa.fetch(chrom)
        for begin in range(0, len(indices), VARIANTS_PER_CALL):
          part = indices[begin : begin + VARIANTS_PER_CALL]
          scores[part] = model.variant_scores_by_strand(
            tokens_L,
            [variants[i][1] for i in part],
            both_strands=FLAGS.both_strands,
            window=window,
            context=context,
            chunk_size=FLAGS.chunk_size,
            batch_size=FLAGS.batch_size,
            seq_name=f"{fa.source}: record {chrom!r}",
          )
          bar.update(len(part))
  with atomic_output(FLAGS.out) as out:
    header = "chrom\tpos\tid\tref\talt\tllr" + ("\tllr_forward\tllr_reverse" if FLAGS.both_strands else "")
    out.write(header + "\n")
    for (chrom, v, vid), row in zip(variants, scores):
      extra = "".join(f"\t{x:.6f}" for x in row) if FLAGS.both_strands else ""
      out.write(f"{chrom}\t{v.pos}\t{vid}\t{v.ref}\t{v.alt}\t{row.mean():.6f}{extra}\n")


def command_embed(model: pretrained.PretrainedModel) -> None:
  path = _require("fasta", "embed")
  if FLAGS.out == "-":
    raise CommandLineError("`embed` writes an .npz file: pass --out=FILE.npz.")
  pool = None if FLAGS.pool == "none" else FLAGS.pool
  names, arrays = [], []
  with fasta.open_fasta(path) as fa, _progress(sum(r.length for r in fa.records), "bp", "embed") as bar:
    for group in _record_groups(fa):
      tokens = {r.name: _fetch(fa, r) for r in group}
      out = model.embed(tokens, pool=pool, chunk_size=FLAGS.chunk_size, batch_size=FLAGS.batch_size)
      names.extend(tokens)
      arrays.extend(out)
      bar.update(sum(len(t) for t in tokens.values()))
  if pool is None:
    payload = {f"embedding_{i}": a for i, a in enumerate(arrays)}
  else:
    payload = {"embeddings": np.stack(arrays)}
  with atomic_output(FLAGS.out, "wb") as f:
    np.savez(f, names=np.asarray(names), **payload)


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


def _measured_on(meta: dict) -> str:
  """Which held-out bases the export's test_bits_per_base was measured on."""
  bases, per_record = meta.get("test_bases"), meta.get("heldout_max_bases_per_record")
  if bases is None or meta.get("test_bits_per_base") is None:
    return "-"
  if not per_record:
    return f"whole test split ({bases:,} scored bases)"
  return f"test split's first {per_record:,} bases per record"


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
        _measured_on(meta),
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


def main(argv):
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"Give one command: {' | '.join(COMMANDS)} (got {argv[1:]}).")
  checkpointing.quiet_orbax_info()
  command = argv[1]
  try:
    if command == "list":
      command_list()
      return
    model = pretrained.load(_require("model", command))
    {"score": command_score, "variants": command_variants, "embed": command_embed, "generate": command_generate}[
      command
    ](model)
  except (tokenizer.GenomeInputError, export_lib.ExportError, OSError) as error:
    # OSError: an output that cannot be written (a directory, no space); its message names the path.
    sys.exit(f"Error: {error}")


_COMPUTE = ["chunk_size", "batch_size"]
HELP = {
  "score": cli.Command(
    usage="--model=NAME --fasta=FILE [flags]",
    summary="Bits per base of each FASTA record, and optionally every base's log-probability.",
    flags=["model", "fasta", "out", "per_base", "context", *_COMPUTE],
    notes=[
      "Columns: record, length, scored_bases, bits_per_base, log_likelihood_nats; --per_base: record, pos "
      "(1-based), base, log_prob (natural log; NA where not scored)."
    ],
    examples=["{prog} --model=bacteria --fasta=seqs.fa --out=scores.tsv --per_base=per_base.tsv"],
  ),
  "variants": cli.Command(
    usage="--model=NAME --fasta=REF --variants=FILE [flags]",
    summary="Log-likelihood ratio ln p(alt) - ln p(ref) of each variant against the reference FASTA.",
    flags=["model", "fasta", "variants", "out", "both_strands", "window", "context", *_COMPUTE],
    notes=[
      "Columns: chrom, pos, id, ref, alt, llr (nats; the strand mean with --both_strands, then llr_forward "
      "and llr_reverse). A VCF's #CHROM header selects its columns; multi-allelic ALT gives a row per allele."
    ],
    examples=["{prog} --model=bacteria --fasta=ref.fa --variants=vars.vcf --both_strands --out=llr.tsv"],
  ),
  "embed": cli.Command(
    usage="--model=NAME --fasta=FILE --out=FILE.npz [flags]",
    summary="Embeddings of FASTA records: `names` and `embeddings` [N, D] pooled, or `embedding_<i>` [L_i, D].",
    flags=["model", "fasta", "out", "pool", *_COMPUTE],
    examples=["{prog} --model=bacteria --fasta=seqs.fa --out=emb.npz --pool=mean"],
  ),
  "generate": cli.Command(
    usage="--model=NAME --prompt=BASES [flags]",
    summary="Samples bases after a prompt and writes them as FASTA.",
    flags=["model", "prompt", "n", "temperature", "top_k", "seed", "out", "chunk_size"],
    examples=["{prog} --model=bacteria --prompt=ATGAAAGCA --n=200 --temperature=0.8 --top_k=3"],
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
    ("embed", "Embeddings of FASTA records (.npz)."),
    ("generate", "Samples bases after a prompt."),
    ("list", "The bundled releases and the recommended one per genome."),
  ],
  notes=["`{prog} COMMAND -h` lists a command's flags. Bad input exits 1 with one line naming the file and line."],
  examples=["{prog} list", "{prog} score --model=bacteria --fasta=seqs.fa"],
)


def run(argv=None, prog: str = "python -m genome_transformer.pretrained") -> None:
  argv = list(sys.argv if argv is None else argv)
  name = next((arg for arg in argv[1:] if arg in HELP), None)
  cli.run(main, HELP[name] if name else OVERVIEW, prog=f"{prog} {name}" if name else prog, argv=argv)


if __name__ == "__main__":
  run()
