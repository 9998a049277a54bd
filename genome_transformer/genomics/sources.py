# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Genome sources (presets, NCBI accessions, URLs) fetched once into the local cache.

`fetch(source)` returns the path of a plain FASTA with regular lines and a pyfaidx `.fai`
index beside it. A source is one of

  * a preset name from `PRESETS`: `hg38` (UCSC), `t2t-chm13` (NCBI GCF_009914755.1), and two
    presets that resolve without the open internet: `smalt-chrX` (Debian package
    smalt-examples) and `pyrodigal-cdiphtheriae` (PyPI sdist of pyrodigal), and two human
    GenBank records outside chrX (`emboss-mhc`, `emboss-hbb`: Debian package emboss-test);
  * an NCBI assembly accession `GCF_...` / `GCA_...` with its version;
  * an http(s) URL of a FASTA file, gzipped or bgzipped or plain.

Remote files go through download.py (resume, retries, checksum before rename). The published
checksum (NCBI `md5checksums.txt`, UCSC `md5sum.txt`, a recorded sha256 for the offline
presets, or `sha256=` / `md5=` for a URL) is always verified. The verified download is then
validated and written as a plain indexed FASTA by fasta.write_indexed (the same pass that
checks user files, so the trainer does not scan a fetched genome again). A manifest `fetch.json`
records what was fetched and the sha256 of the plain FASTA, so a second call returns at once.

Cache layout (root: files.cache_root(cache_dir)):

  <root>/genomes/<key>/<name>.fa        plain FASTA, what fetch() returns
  <root>/genomes/<key>/<name>.fa.fai    its pyfaidx index
  <root>/genomes/<key>/fetch.json       provenance and digests
  <root>/genomes/.locks/<key>.lock      serialises concurrent fetches of <key>

The command line is fetch_cli.py (`python -m genome_transformer.fetch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
import contextlib
import dataclasses
import datetime
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import zlib

from absl import logging

from genome_transformer.genomics import fasta, files, genbank
from genome_transformer.genomics.download import (
  FetchError,
  RetryPolicy,
  check_scheme,
  download,
  get_bytes,
  normalise_expected,
  verify_file,
)

try:
  import fcntl  # POSIX only; without it concurrent fetches are not serialised.
except ImportError:  # pragma: no cover
  fcntl = None

GENOMES_SUBDIR = 'genomes'
MANIFEST_NAME = 'fetch.json'

# Every remote path is built from one of these roots, so tests (and mirrors)
# can point a whole provider at another host.
DEFAULT_BASE_URLS = {
  'ncbi': 'https://ftp.ncbi.nlm.nih.gov',
  'ucsc': 'https://hgdownload.soe.ucsc.edu',
}

_BLOCK_BYTES = 1 << 20
_ACCESSION_RE = re.compile(r'^(GC[AF])_(\d{3})(\d{3})(\d{3})\.(\d+)$')
_SAFE_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._+-]*$')
_COMPRESSED_SUFFIXES = ('.gz', '.bgz', '.bgzf')


@dataclasses.dataclass(frozen=True)
class Preset:
  """A named genome that `fetch()` knows how to obtain.

  Attributes:
    name: what users type (`fetch('smalt-chrX')`).
    description: organism, assembly and what part of it.
    license: license of the sequence data (or of the package carrying it).
    size: download size and number of bases, for humans.
    origin: 'ucsc' | 'ncbi' | 'debian' | 'pypi': how it is obtained.
    locator: UCSC assembly name, NCBI accession, `package=version` (Debian) or
      `package==version` (PyPI).
    member: path of the gzipped FASTA inside the package (debian, pypi), or
      of a GenBank flat file when genbank_record is set.
    archive_sha256: sha256 of the .deb / sdist as downloaded (debian, pypi).
    sha256: sha256 of the member itself (debian, pypi); the remote
      presets are checked against the provider's published md5 instead.
    genbank_record: the member is GenBank, and this record (accession or
      LOCUS name) is the genome, extracted to FASTA by genbank.write_fasta.
    record_sha256: sha256 of that FASTA, so the extraction is pinned too.
  """

  name: str
  description: str
  license: str
  size: str
  origin: str
  locator: str
  member: str | None = None
  archive_sha256: str | None = None
  sha256: str | None = None
  genbank_record: str | None = None
  record_sha256: str | None = None

  @property
  def key(self) -> str:
    """Cache subdirectory; an accession preset shares the accession's."""
    return self.locator if self.origin == 'ncbi' else self.name


PRESETS: dict[str, Preset] = {
  p.name: p
  for p in (
    Preset(
      name='hg38',
      description='Human reference GRCh38/hg38, UCSC hg38.fa.gz (primary '
      'chromosomes plus alt, random and chrUn sequences), soft-masked.',
      license='UCSC/GRC: freely usable, no restrictions on use',
      size='roughly 1 GB gzipped, 3.2 Gb (approximate, not measured here)',
      origin='ucsc',
      locator='hg38',
    ),
    Preset(
      name='t2t-chm13',
      description='Human T2T-CHM13v2.0 telomere-to-telomere assembly '
      '(NCBI RefSeq GCF_009914755.1, 22 autosomes + X + Y + chrM).',
      license='NCBI/T2T consortium: public, no restrictions on use',
      size='roughly 0.9 GB gzipped, 3.1 Gb (approximate, not measured here)',
      origin='ncbi',
      locator='GCF_009914755.1',
    ),
    Preset(
      name='smalt-chrX',
      description='First 70 Mb of human chrX, GRCh37 (NC_000023.10, '
      '5.4% N), /usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz from '
      "Debian's smalt-examples 0.7.6-12. The largest human sequence "
      'reachable offline via the Debian archive.',
      license='GPL-3 (Debian package smalt-examples; the sequence itself '
      'is public GRC data). Fetched on demand, never shipped with this '
      'package.',
      size='71.9 MB .deb, 19.8 MB gzipped member, 70.0 Mb',
      origin='debian',
      locator='smalt-examples=0.7.6-12',
      member='usr/share/doc/smalt/test/data/hs37chrXtrunc.fa.gz',
      archive_sha256='ffb01b7ff91cd29bd45c980cdeea90d986146dd2e907fd9e365d3a8fa75b0751',
      sha256='01fe793d0b77f91fa9d2edb8b269d9bc480cf71df469dce4be6e45bec25c749a',
    ),
    Preset(
      name='pyrodigal-cdiphtheriae',
      description='Corynebacterium diphtheriae NCTC11397 complete genome '
      '(GCF_001457455.1, GC 0.54), src/pyrodigal/tests/data/ of the '
      'pyrodigal 3.7.1 sdist on PyPI: the cross-organism evaluation '
      'genome (a phylum absent from the builtin corpus).',
      license='GPL-3.0-or-later (PyPI package pyrodigal; the sequence '
      'itself is public NCBI data). Fetched on demand, never shipped.',
      size='3.7 MB sdist, 0.74 MB gzipped member, 2.46 Mb',
      origin='pypi',
      locator='pyrodigal==3.7.1',
      member='src/pyrodigal/tests/data/GCF_001457455.1_NCTC11397_genomic.fna.gz',
      archive_sha256='0262fc5b5fd0b16c18eb3eb9b6079e1590e6d838c3f8431c46d9027c8e67f600',
      sha256='e9f88cc1a5c1f0e10f372df91852e44630cbeb1d424a34566ed159e5e94850b3',
    ),
    *(
      Preset(
        name=name,
        description=f'{what}: GenBank record {record} of '
        'usr/share/EMBOSS/test/genbank/gbpri1.seq (GenBank primates) from '
        "Debian's emboss-test 6.6.0+dfsg-12, extracted to FASTA. Human "
        'sequence outside chrX, for evaluating the human models on DNA '
        'they were not trained on.',
        license='EMBOSS licence: GPL (Debian package emboss-test; the '
        'sequence itself is public INSDC data). Fetched on demand, never '
        'shipped.',
        size=f'4.9 MB .deb, 3.7 MB GenBank member, {bases}',
        origin='debian',
        locator='emboss-test=6.6.0+dfsg-12',
        member='usr/share/EMBOSS/test/genbank/gbpri1.seq',
        archive_sha256='ea22a043860d11b072303fcc535c132115cb9c3d32b30d4de70bb522b1096f94',
        sha256='b42af44bd23cf6e9ff295d499d6998ac132c8f2e171cb3f3f22a4282390b0b80',
        genbank_record=record,
        record_sha256=record_sha256,
      )
      for name, what, record, bases, record_sha256 in (
        (
          'emboss-mhc',
          'Human MHC class I region, chr6p21.3 (BA000025.2)',
          'BA000025',
          '2.23 Mb',
          '3b571896a7eb28afead27f988cd6cf25b86d33cfcc54e9781ec093a404d53b9e',
        ),
        (
          'emboss-hbb',
          'Human beta-globin locus, chr11p15.4 (HUMHBB, U01317.1)',
          'HUMHBB',
          '73.3 kb',
          'e867c943ef39315b8f22762a3971878a494da6c6c265fa0a735609f83ba2a871',
        ),
      )
    ),
  )
}


# ----------------------------------------------------------------------------
# Providers: how each kind of source becomes a verified file on disk.


def _base(base_urls: Mapping[str, str] | None, provider: str) -> str:
  urls = dict(DEFAULT_BASE_URLS)
  urls.update(base_urls or {})
  unknown = set(urls) - set(DEFAULT_BASE_URLS)
  if unknown:
    raise FetchError(f'unknown base_urls keys {sorted(unknown)}; known: {sorted(DEFAULT_BASE_URLS)}')
  return urls[provider].rstrip('/')


def parse_md5_listing(text: str, filename: str, url: str) -> str:
  """The md5 of filename in an md5sum-style listing ('<md5>  [./]name')."""
  for line in text.splitlines():
    fields = line.split()
    if len(fields) < 2:
      continue
    name = fields[-1].lstrip('*')
    if name.startswith('./'):
      name = name[2:]
    if name == filename:
      digest = fields[0].lower()
      if not re.fullmatch(r'[0-9a-f]{32}', digest):
        raise FetchError(f'malformed md5 {fields[0]!r} for {filename} in {url}')
      return digest
  raise FetchError(f'checksum list {url} has no entry for {filename}')


def ncbi_assembly_dir_url(accession: str, base_urls: Mapping[str, str] | None = None) -> str:
  """The NCBI genomes/all directory that lists `<accession>_<asm name>/`."""
  match = _ACCESSION_RE.match(accession)
  if not match:
    raise FetchError(
      f'invalid NCBI assembly accession {accession!r}: expected GCF_ or '
      'GCA_, '
      'nine digits, a dot and the version, e.g. GCF_009914755.1'
    )
  prefix, a, b, c, _ = match.groups()
  return f'{_base(base_urls, "ncbi")}/genomes/all/{prefix}/{a}/{b}/{c}/'


def resolve_ncbi_assembly(
  accession: str, base_urls: Mapping[str, str] | None = None, policy: RetryPolicy = RetryPolicy()
) -> tuple[str, str, str]:
  """Finds an assembly's files from the NCBI directory listing.

  Returns (fasta_url, md5, filename) for `<acc>_<asm>_genomic.fna.gz`; the md5
  comes from the assembly's md5checksums.txt.
  """
  listing_url = ncbi_assembly_dir_url(accession, base_urls)
  html = get_bytes(listing_url, policy).decode('utf-8', 'replace')
  names = set()
  for href in re.findall(r'href\s*=\s*"([^"]+)"', html, re.IGNORECASE):
    name = urllib.parse.unquote(href).rstrip('/').rsplit('/', 1)[-1]
    # '<acc>_' keeps GCF_x.1 from matching GCF_x.11_...
    if name.startswith(accession + '_') and _SAFE_NAME_RE.match(name):
      names.add(name)
  if not names:
    raise FetchError(
      f'no directory for assembly {accession} in the listing {listing_url}; '
      'check the accession and its version (e.g. on '
      f'https://www.ncbi.nlm.nih.gov/datasets/genome/{accession}/)'
    )
  if len(names) > 1:
    raise FetchError(f'several directories for {accession} in {listing_url}: {sorted(names)}')
  asm_dir = names.pop()
  filename = f'{asm_dir}_genomic.fna.gz'
  md5_url = f'{listing_url}{asm_dir}/md5checksums.txt'
  md5 = parse_md5_listing(get_bytes(md5_url, policy).decode('utf-8', 'replace'), filename, md5_url)
  return f'{listing_url}{asm_dir}/{filename}', md5, filename


def _acquire_url(
  url: str, filename: str, expected: Mapping[str, str | None], published: Mapping[str, str]
) -> Callable[..., dict]:
  """An acquire step downloading url; published digests are checked too."""

  def acquire(target_dir: str, policy: RetryPolicy) -> dict:
    dest = os.path.join(target_dir, filename)
    digests = {**expected}
    for algorithm, digest in published.items():
      if digests.get(algorithm) not in (None, digest):
        raise FetchError(f'the {algorithm} you gave for {url} differs from the published one ({digest})')
      digests[algorithm] = digest
    if not digests:
      logging.warning('fetch: no checksum given for %s; the download is not verified (pass --sha256 or --md5)', url)
    if os.path.exists(dest):  # left by a run that died while decompressing
      actual = verify_file(dest, digests, what=dest)
    else:
      actual = download(url, dest, sha256=digests.get('sha256'), md5=digests.get('md5'), policy=policy)
    return {'download': dest, 'url': url, 'published': dict(published), 'digests': actual, 'verified': sorted(digests)}

  return acquire


def _remote_acquire(
  source: str, resolve: Callable[[RetryPolicy], tuple[str, str, str]], expected: Mapping[str, str | None]
) -> Callable[..., dict]:
  """Resolves (url, md5, filename) at run time, then downloads."""

  def acquire(target_dir: str, policy: RetryPolicy) -> dict:
    url, md5, filename = resolve(policy)
    record = _acquire_url(url, filename, expected, {'md5': md5})(target_dir, policy)
    record['resolved_from'] = source
    return record

  return acquire


def _run(command: Sequence[str], cwd: str, what: str) -> None:
  try:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
  except FileNotFoundError:
    raise FetchError(f'{what} needs `{command[0]}`, which is not installed here') from None
  if result.returncode != 0:
    raise FetchError(
      f'{what}: `{" ".join(command)}` failed with exit code {result.returncode}: {result.stderr.strip()[-2000:]}'
    )


def _apt_lists_empty() -> bool:
  lists = '/var/lib/apt/lists'
  return not os.path.isdir(lists) or not any(
    name.endswith(('Packages', '.lz4', '.xz', '.gz')) for name in os.listdir(lists)
  )


def obtain_debian_archive(package_version: str, workdir: str) -> str:
  """`apt-get download package=version` into workdir; returns the .deb path.

  apt-get verifies the .deb against the archive's signed index. An empty apt
  cache (fresh containers) is refreshed once with `apt-get update`.
  """
  what = f'downloading Debian package {package_version}'
  command = ['apt-get', 'download', package_version]
  try:
    _run(command, workdir, what)
  except FetchError:
    if not _apt_lists_empty():
      raise
    logging.info('fetch: apt package lists are empty; running apt-get update')
    _run(['apt-get', 'update'], workdir, 'apt-get update')
    _run(command, workdir, what)
  debs = [n for n in os.listdir(workdir) if n.endswith('.deb')]
  if len(debs) != 1:
    raise FetchError(f'{what}: expected one .deb in {workdir}, found {debs}')
  return os.path.join(workdir, debs[0])


def extract_debian_member(deb: str, member: str, workdir: str) -> str:
  """`dpkg -x deb workdir/root`; returns the path of member under it."""
  root = os.path.join(workdir, 'root')
  _run(['dpkg', '-x', deb, root], workdir, f'unpacking {deb}')
  path = os.path.join(root, member)
  if not os.path.isfile(path):
    raise FetchError(f'{deb} has no file {member}')
  return path


def obtain_pypi_sdist(requirement: str, workdir: str) -> str:
  """`pip download` the source distribution of requirement ('pkg==ver')."""
  package = requirement.split('==')[0]
  # `--no-binary <pkg>`, not `:all:`: the latter also forces pip to build the
  # sdist's build requirements (Cython) from source, minutes instead of seconds.
  _run(
    [
      sys.executable,
      '-m',
      'pip',
      'download',
      '--no-deps',
      '--no-binary',
      package,
      '--disable-pip-version-check',
      '-d',
      workdir,
      requirement,
    ],
    workdir,
    f'downloading the PyPI sdist {requirement}',
  )
  sdists = [n for n in os.listdir(workdir) if n.endswith(('.tar.gz', '.zip'))]
  if len(sdists) != 1:
    raise FetchError(f'pip download {requirement}: expected one sdist in {workdir}, found {sdists}')
  return os.path.join(workdir, sdists[0])


def extract_sdist_member(sdist: str, member: str, workdir: str) -> str:
  """Copies `<top>/member` out of a .tar.gz sdist without extracting all."""
  out = os.path.join(workdir, os.path.basename(member))
  try:
    with tarfile.open(sdist, 'r:gz') as tar:
      for info in tar:
        if info.isfile() and info.name.split('/', 1)[-1] == member:
          with tar.extractfile(info) as src, open(out, 'wb') as dst:
            shutil.copyfileobj(src, dst, _BLOCK_BYTES)
          return out
  except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
    raise FetchError(f'cannot read the sdist {sdist}: {e}') from None
  raise FetchError(f'{sdist} has no file {member}')


def _package_acquire(preset: Preset, expected: Mapping[str, str | None]) -> Callable[..., dict]:
  """Gets preset.member out of its package and checks the recorded sha256."""

  def acquire(target_dir: str, policy: RetryPolicy) -> dict:
    del policy  # apt-get and pip have their own retry logic
    if preset.genbank_record:
      dest = os.path.join(target_dir, preset.genbank_record + '.fa')
    else:
      dest = os.path.join(target_dir, os.path.basename(preset.member))
    digests = {'sha256': preset.sha256, **{a: d for a, d in expected.items() if d is not None}}
    if digests['sha256'] != preset.sha256:
      raise FetchError(f'the sha256 you gave for {preset.name} differs from the recorded one ({preset.sha256})')
    where = f'{preset.locator}:{preset.member}'
    if os.path.exists(dest) and not preset.genbank_record:
      actual = verify_file(dest, digests, what=dest)
    else:
      if preset.origin == 'debian':
        obtain, extract = obtain_debian_archive, extract_debian_member
      else:
        obtain, extract = obtain_pypi_sdist, extract_sdist_member
      workdir = tempfile.mkdtemp(prefix='.obtain-', dir=target_dir)
      try:
        logging.info('fetch: obtaining %s from %s (%s)', preset.name, preset.locator, preset.size)
        archive = obtain(preset.locator, workdir)
        verify_file(archive, {'sha256': preset.archive_sha256}, what=f'{preset.locator} ({os.path.basename(archive)})')
        member = extract(archive, preset.member, workdir)
        actual = verify_file(member, digests, what=where)
        if preset.genbank_record:
          where = f'{where}:{preset.genbank_record}'
          extracted = os.path.join(workdir, os.path.basename(dest))
          genbank.write_fasta(member, preset.genbank_record, extracted)
          verify_file(extracted, {'sha256': preset.record_sha256}, what=f'{where} (as FASTA)')
          member = extracted
        os.replace(member, dest)
      finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
      'download': dest,
      'url': where,
      'published': {'sha256': preset.sha256},
      'digests': actual,
      'verified': sorted(digests),
    }

  return acquire


@dataclasses.dataclass(frozen=True)
class _Plan:
  key: str  # cache subdirectory
  acquire: Callable[[str, RetryPolicy], dict]
  preset: Preset | None = None


def _url_key(url: str) -> tuple[str, str]:
  """(cache key, file name) for a plain URL."""
  path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
  name = re.sub(r'[^A-Za-z0-9._+-]', '_', path.rsplit('/', 1)[-1]).lstrip('.')
  name = name or 'download'
  stem = name
  for suffix in _COMPRESSED_SUFFIXES + ('.fasta', '.fna', '.fa'):
    stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
  digest = hashlib.sha256(url.encode()).hexdigest()[:12]
  return f'url-{stem[:60]}-{digest}', name


def _plan(source: str, base_urls: Mapping[str, str] | None, expected: Mapping[str, str | None]) -> _Plan:
  source = source.strip()
  if source in PRESETS:
    preset = PRESETS[source]
    if preset.origin == 'ucsc':
      bigzips = f'{_base(base_urls, "ucsc")}/goldenPath/{preset.locator}/bigZips/'
      filename = f'{preset.locator}.fa.gz'

      def resolve_ucsc(policy: RetryPolicy) -> tuple[str, str, str]:
        md5_url = bigzips + 'md5sum.txt'
        md5 = parse_md5_listing(get_bytes(md5_url, policy).decode('utf-8', 'replace'), filename, md5_url)
        return bigzips + filename, md5, filename

      return _Plan(preset.key, _remote_acquire(source, resolve_ucsc, expected), preset)
    if preset.origin == 'ncbi':
      acquire = _remote_acquire(
        source, lambda policy: resolve_ncbi_assembly(preset.locator, base_urls, policy), expected
      )
      return _Plan(preset.key, acquire, preset)
    return _Plan(preset.key, _package_acquire(preset, expected), preset)
  if _ACCESSION_RE.match(source):
    ncbi_assembly_dir_url(source, base_urls)  # validates base_urls early
    acquire = _remote_acquire(source, lambda policy: resolve_ncbi_assembly(source, base_urls, policy), expected)
    return _Plan(source, acquire)
  if re.match(r'^[A-Za-z][A-Za-z0-9+.-]*://', source):
    check_scheme(source)
    key, filename = _url_key(source)
    return _Plan(key, _acquire_url(source, filename, expected, {}))
  if source.upper().startswith(('GCF_', 'GCA_')):
    ncbi_assembly_dir_url(source)  # raises with the accession format
  raise FetchError(
    f'unknown genome source {source!r}: give a preset '
    f'({", ".join(sorted(PRESETS))}), an NCBI assembly accession such as '
    'GCF_009914755.1, or an http(s):// URL of a FASTA file'
  )


# ----------------------------------------------------------------------------
# The cache.


def _plain_fasta(download_path: str, what: str, root: str) -> tuple[str, fasta.FastaLayout]:
  """Validates a verified download and writes it as the plain indexed FASTA the cache keeps.

  fasta.write_indexed is the check every user file gets, and it remembers its result, so the
  trainer does not scan a fetched genome again. The download is removed in any case: on bad
  content (truncated gzip, not FASTA) so that the next run fetches it again.
  """
  directory, name = os.path.split(download_path)
  for suffix in _COMPRESSED_SUFFIXES:
    name = name[: -len(suffix)] if name.endswith(suffix) else name
  plain = os.path.join(directory, name)
  try:
    layout = fasta.write_indexed(download_path, plain, display=what, cache_dir=root)
  except fasta.FastaFormatError as e:
    files.remove(download_path)
    raise FetchError(
      f'{what} is not a FASTA file this package can read: {e} It was deleted; run again to re-download.'
    ) from None
  if plain != download_path:
    files.remove(download_path)
  return plain, layout


@contextlib.contextmanager
def _locked(genomes_dir: str, key: str) -> Iterator[None]:
  locks = os.path.join(genomes_dir, '.locks')
  try:
    os.makedirs(locks, exist_ok=True)
  except OSError as e:
    raise FetchError(
      f'cannot create the genome cache {genomes_dir}: {e}; choose another with --cache_dir or ${files.CACHE_ENV}'
    ) from None
  with open(os.path.join(locks, key + '.lock'), 'a') as lock:
    if fcntl is not None:
      fcntl.flock(lock, fcntl.LOCK_EX)
    try:
      yield
    finally:
      if fcntl is not None:
        fcntl.flock(lock, fcntl.LOCK_UN)


def _cached(target_dir: str, expected: Mapping[str, str | None], verify: bool, root: str) -> str | None:
  """The plain FASTA recorded in the manifest, if it is still intact.

  Size and mtime recorded with the sha256 vouch for the file (as make and
  rsync do); any change to them, or verify=True, re-hashes it.
  """
  manifest = files.read_json(os.path.join(target_dir, MANIFEST_NAME))
  if not manifest or 'fasta' not in manifest:
    return None
  expected = {a: d for a, d in expected.items() if d is not None}
  if any(manifest.get('download', {}).get(a) != d.lower() for a, d in expected.items()):
    logging.info('fetch: cached %s was fetched with other checksums; fetching again', target_dir)
    return None
  record = manifest['fasta']
  plain = os.path.join(target_dir, record['file'])
  try:
    stat = os.stat(plain)
  except FileNotFoundError:
    return None
  if verify or (stat.st_size, stat.st_mtime_ns) != (record['bytes'], record['mtime_ns']):
    if files.sha256_file(plain) != record['sha256']:
      logging.warning('fetch: %s differs from the sha256 recorded when it was fetched; fetching it again', plain)
      files.remove(plain, plain + '.fai', os.path.join(target_dir, MANIFEST_NAME))
      return None
    record['mtime_ns'] = stat.st_mtime_ns
    files.write_json_atomic(os.path.join(target_dir, MANIFEST_NAME), manifest, sort_keys=True)
  fai = plain + '.fai'
  if not os.path.exists(fai) or os.path.getmtime(fai) < stat.st_mtime:
    fasta.open_fasta(plain, root).close()  # Rebuilds the index.
  return plain


def _discard_stale(target_dir: str) -> None:
  """Removes what an earlier fetch left that is not to be reused: the FASTA
  of a manifest that no longer vouches for it, and temp dirs of killed runs
  (the caller holds the lock, so none of them is in use)."""
  manifest_path = os.path.join(target_dir, MANIFEST_NAME)
  manifest = files.read_json(manifest_path)
  if manifest and isinstance(manifest.get('fasta'), dict):
    plain = os.path.join(target_dir, str(manifest['fasta'].get('file')))
    files.remove(plain, plain + '.fai')
  files.remove(manifest_path)
  if os.path.isdir(target_dir):
    for name in os.listdir(target_dir):
      if name.startswith('.obtain-'):
        shutil.rmtree(os.path.join(target_dir, name), ignore_errors=True)


def fetch(
  source: str,
  cache_dir: str | None = None,
  *,
  sha256: str | None = None,
  md5: str | None = None,
  base_urls: Mapping[str, str] | None = None,
  verify: bool = False,
  retries: int = 5,
  backoff_s: float = 1.0,
  timeout_s: float = 60.0,
) -> str:
  """Makes a genome available as a plain, pyfaidx-indexed FASTA.

  Args:
    source: a PRESETS name, an NCBI assembly accession (GCF_/GCA_ with
      version), or an http(s) URL of a (gzipped) FASTA file.
    cache_dir: cache root; default $GENOME_TRANSFORMER_CACHE, else
      ~/.cache/genome_transformer. Files go under <root>/genomes/.
    sha256: expected sha256 of the downloaded file (as served, compressed).
    md5: expected md5 of the downloaded file. Presets and accessions are
      checked against their published digests whether or not these are given.
    base_urls: overrides of DEFAULT_BASE_URLS ('ncbi', 'ucsc') for mirrors and
      tests.
    verify: re-hash a cached FASTA instead of trusting its recorded size and
      mtime.
    retries: failed attempts in a row (without progress) before giving up.
    backoff_s: first retry delay; doubles per failure, capped at 60 s.
    timeout_s: socket timeout of one request.

  Returns:
    Absolute path of the plain FASTA (its .fai index beside it).

  Raises:
    FetchError (ChecksumError, HTTPStatusError): with the URL and the reason.
  """
  expected = normalise_expected({'sha256': sha256, 'md5': md5})
  plan = _plan(source, base_urls, expected)
  policy = RetryPolicy(retries=retries, backoff_s=backoff_s, timeout_s=timeout_s)
  root = files.cache_root(cache_dir)
  genomes_dir = os.path.join(root, GENOMES_SUBDIR)
  target_dir = os.path.join(genomes_dir, plan.key)
  with _locked(genomes_dir, plan.key):
    cached = _cached(target_dir, expected, verify, root)
    if cached:
      logging.info('fetch: %s is cached at %s', source, cached)
      return cached
    _discard_stale(target_dir)
    os.makedirs(target_dir, exist_ok=True)
    try:
      started = time.monotonic()
      record = plan.acquire(target_dir, policy)
      plain, layout = _plain_fasta(record['download'], record['url'], root)
      stat = os.stat(plain)
      plain_sha256 = files.sha256_file(plain)
      records, bases = len(layout.records), sum(r.length for r in layout.records)
      manifest = {
        'source': source,
        'url': record['url'],
        'resolved_from': record.get('resolved_from'),
        'download': {
          'file': os.path.basename(record['download']),
          **record['digests'],
          'published': record['published'],
          'verified': record['verified'],
        },
        'fasta': {
          'file': os.path.basename(plain),
          'bytes': stat.st_size,
          'mtime_ns': stat.st_mtime_ns,
          'sha256': plain_sha256,
        },
        'records': records,
        'bases': bases,
        'license': plan.preset.license if plan.preset else None,
        'fetched_at': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
      }
      files.write_json_atomic(os.path.join(target_dir, MANIFEST_NAME), manifest, sort_keys=True)
      logging.info(
        'fetch: %s -> %s (%d records, %d bases) in %.1f s', source, plain, records, bases, time.monotonic() - started
      )
      return plain
    finally:
      with contextlib.suppress(OSError):
        os.rmdir(target_dir)  # only succeeds when nothing was left in it
