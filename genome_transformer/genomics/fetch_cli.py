# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Command line of the genome fetcher (`python -m genome_transformer.fetch`).

  python -m genome_transformer.fetch smalt-chrX
  python -m genome_transformer.fetch GCF_000005845.2 --cache_dir=/data/cache
  python -m genome_transformer.fetch --url=https://host/x.fa.gz --sha256=...
  python -m genome_transformer.fetch --list

prints the path of each plain FASTA on stdout, one per line, and exits non-zero with the
error on stderr when anything fails.
"""

from __future__ import annotations

from collections.abc import Sequence
import sys

from absl import app, flags

from genome_transformer import cli
from genome_transformer.genomics import files, sources, tokenizer
from genome_transformer.genomics.download import FetchError

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the CLI flags at run time, not at import: importing this module cannot clash with another program's flags."""
  flags.DEFINE_string('url', None, 'URL of a FASTA (.gz) file to fetch.')
  flags.DEFINE_string('sha256', None, 'Expected sha256 of the downloaded file.')
  flags.DEFINE_string('md5', None, 'Expected md5 of the downloaded file.')
  flags.DEFINE_string('cache_dir', None, f'Cache root (default ${files.CACHE_ENV}, else {files.DEFAULT_CACHE_DIR}).')
  flags.DEFINE_string(
    'ncbi_base_url', sources.DEFAULT_BASE_URLS['ncbi'], 'Root of the NCBI genomes FTP-over-HTTPS (mirrors).'
  )
  flags.DEFINE_string('ucsc_base_url', sources.DEFAULT_BASE_URLS['ucsc'], 'Root of the UCSC download server (mirrors).')
  flags.DEFINE_integer('retries', 5, 'Failed attempts in a row before giving up.')
  flags.DEFINE_float('backoff_s', 1.0, 'First retry delay in seconds (doubles per failure).')
  flags.DEFINE_bool('verify', False, 'Re-hash cached files instead of trusting size and mtime.')
  flags.DEFINE_bool('list', False, 'List the presets and exit.')


def _preset_table() -> str:
  lines = []
  for preset in sources.PRESETS.values():
    lines.append(f'{preset.name}\n  {preset.description}\n  size: {preset.size}\n  license: {preset.license}')
  return '\n'.join(lines)


def main(argv: Sequence[str]) -> None:
  names = list(argv[1:])
  if FLAGS.list:
    print(_preset_table())
    return
  if FLAGS.url:
    names.append(FLAGS.url)
  if not names:
    raise app.UsageError('name what to fetch: a preset, an accession or --url=; presets: ' + ', '.join(sources.PRESETS))
  if (FLAGS.sha256 or FLAGS.md5) and len(names) != 1:
    raise app.UsageError('--sha256/--md5 apply to exactly one source')
  base_urls = {'ncbi': FLAGS.ncbi_base_url, 'ucsc': FLAGS.ucsc_base_url}
  for source in names:
    try:
      path = sources.fetch(
        source,
        FLAGS.cache_dir,
        sha256=FLAGS.sha256,
        md5=FLAGS.md5,
        base_urls=base_urls,
        verify=FLAGS.verify,
        retries=FLAGS.retries,
        backoff_s=FLAGS.backoff_s,
      )
    except (FetchError, tokenizer.GenomeInputError, OSError) as e:
      # GenomeInputError: the download is not a valid FASTA; OSError: the cache cannot be written.
      sys.exit(f'fetch: error: {e}')
    print(path, flush=True)


COMMAND = cli.Command(
  usage="[flags] SOURCE...",
  summary=(
    "Downloads genomes into the cache (verified, decompressed) and prints the path of each plain FASTA. "
    "SOURCE: a preset (--list), an NCBI assembly accession (GCF_/GCA_), or a URL."
  ),
  flags=[
    "list",
    "url",
    "sha256",
    "md5",
    "cache_dir",
    "verify",
    "retries",
    "backoff_s",
    "ncbi_base_url",
    "ucsc_base_url",
  ],
  examples=[
    "{prog} --list",
    "{prog} smalt-chrX",
    "{prog} GCF_000005845.2 --cache_dir=/data/cache",
    "{prog} --url=https://host/x.fa.gz --sha256=HEX",
  ],
)


def run(argv: Sequence[str] | None = None, prog: str = "python -m genome_transformer.fetch") -> None:
  define_flags()
  cli.run(main, COMMAND, prog=prog, argv=argv)
