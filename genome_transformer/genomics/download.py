# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""HTTP downloads that resume, retry and verify: the network half of fetching a genome.

`download(url, dest)` streams into `dest.part` beside the target. An interrupted download keeps
its `.part` (also across runs) and resumes with an HTTP Range request; a server that ignores
Range, or whose file changed since (If-Range), answers with the whole file and the download
restarts from zero. Connection errors and 5xx/408/429 answers are retried with exponential
backoff, a bounded number of times in a row without progress. Checksums given are verified
before the file is renamed into place; a mismatch deletes the download and names the URL and
both digests.

Retries are this module's own loop, not urllib3's `Retry` or tenacity: the budget counts failed
attempts in a row that made no progress (a slow but moving transfer is never abandoned), and
each new attempt must rebuild its Range/If-Range headers from the bytes already on disk and may
decide to restart from zero; neither library sees the partial file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import dataclasses
import hashlib
import http.client
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from absl import logging
import tqdm

from genome_transformer.genomics import files

_USER_AGENT = 'genome-transformer-fetch/0.1 (python urllib)'
_BLOCK_BYTES = 1 << 20
_PROGRESS_EVERY_S = 5.0
_MAX_BACKOFF_S = 60.0
_MAX_SMALL_BYTES = 64 << 20  # listings and checksum files


class FetchError(RuntimeError):
  """A genome could not be fetched; the message says which URL/file and why."""


class HTTPStatusError(FetchError):
  """The server answered with an HTTP error status that retrying cannot fix."""

  def __init__(self, url: str, status: int, reason: str = ''):
    self.url = url
    self.status = status
    super().__init__(
      f'HTTP {status} {reason} for {url}'.replace('  ', ' ').strip()
      + ('; check the URL, accession or preset name' if status == 404 else '')
    )


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
      'again the source or the checksum you gave is wrong.'
    )


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
    time.sleep(min(_MAX_BACKOFF_S, self.backoff_s * 2 ** (failures - 1)))


class _Transient(Exception):
  """An attempt failed in a way that another attempt may fix."""


# Read-side failures worth retrying. Write-side OSErrors (disk full) are not:
# they are caught only around the network reads.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, socket.timeout)


def _is_transient_status(status: int) -> bool:
  return status >= 500 or status in (408, 429)


def _open(url: str, headers: Mapping[str, str], timeout_s: float):
  request = urllib.request.Request(url, headers={'User-Agent': _USER_AGENT, **headers})
  return urllib.request.urlopen(request, timeout=timeout_s)


def check_scheme(url: str) -> None:
  scheme = urllib.parse.urlsplit(url).scheme.lower()
  if scheme not in ('http', 'https'):
    raise FetchError(
      f'unsupported URL {url!r}: only http:// and https:// '
      'URLs are fetched (give a local FASTA path to the '
      'trainer directly instead)'
    )


def _retrying(
  url: str, policy: RetryPolicy, attempt: Callable[[], object], progress_marker: Callable[[], int] = lambda: 0
):
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
        'kept and the next run resumes it'
      )
    logging.warning('fetch: %s: %s; retry %d/%d', url, error, failures, policy.retries)
    policy.sleep(max(failures, 1))


def get_bytes(url: str, policy: RetryPolicy = RetryPolicy()) -> bytes:
  """GETs a small resource (listing, checksum file) with retries."""
  check_scheme(url)

  def attempt() -> bytes:
    with _open(url, {}, policy.timeout_s) as response:
      data = response.read(_MAX_SMALL_BYTES + 1)
      length = response.headers.get('Content-Length')
    if len(data) > _MAX_SMALL_BYTES:
      raise FetchError(f'{url} is larger than {_MAX_SMALL_BYTES} bytes; expected a directory listing or checksum file')
    if length is not None and length.isdigit() and int(length) != len(data):
      raise _Transient(f'connection closed after {len(data)} of {length} bytes')
    return data

  return _retrying(url, policy, attempt)


def format_progress(name: str, done: int, total: int | None, elapsed_s: float) -> str:
  """One progress line: bytes so far, rate and time left."""
  rate = done / max(elapsed_s, 1e-9)
  line = f'{name}: {done / 1e6:,.1f}'
  if total:
    left_s = (total - done) / rate if rate > 0 else float('inf')
    eta = 'unknown' if left_s == float('inf') else tqdm.tqdm.format_interval(left_s)
    line += f' / {total / 1e6:,.1f} MB ({100 * done / total:.1f}%)'
    line += f', {rate / 1e6:.2f} MB/s, ETA {eta}'
  else:
    line += f' MB, {rate / 1e6:.2f} MB/s, ETA unknown'
  return line


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
  """'bytes 10-99/100' -> (10, 100); 'bytes */100' -> (None, 100)."""
  match = re.fullmatch(r'\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*', value or '')
  if not match:
    return None, None
  start = int(match.group(1)) if match.group(1) else None
  total = int(match.group(2)) if match.group(2) != '*' else None
  return start, total


def normalise_expected(expected: Mapping[str, str | None]) -> dict[str, str]:
  out = {}
  for algorithm, digest in expected.items():
    if digest is None:
      continue
    digest = digest.strip().lower()
    width = hashlib.new(algorithm).digest_size * 2
    if not re.fullmatch(rf'[0-9a-f]{{{width}}}', digest):
      raise FetchError(f'invalid {algorithm} {digest!r}: expected {width} hex digits')
    out[algorithm] = digest
  return out


def verify_file(path: str, expected: Mapping[str, str | None], *, what: str) -> dict[str, str]:
  """Checks path against expected digests; returns its sha256 and md5 (and
  any other algorithm checked), so the manifest can answer later checks.

  On a mismatch the file is deleted and ChecksumError names `what` (the URL).
  """
  expected = normalise_expected(expected)
  actual = files.file_digests(path, sorted({'sha256', 'md5', *expected}))
  for algorithm, digest in sorted(expected.items()):
    if actual[algorithm] != digest:
      files.remove(path)
      raise ChecksumError(what, algorithm, digest, actual[algorithm])
  return actual


def download(
  url: str, dest: str, *, sha256: str | None = None, md5: str | None = None, policy: RetryPolicy = RetryPolicy()
) -> dict[str, str]:
  """Streams url to dest, resuming a `dest.part` left by an earlier attempt.

  The file appears at dest only when complete and (if digests are given)
  verified. Returns the file's digests ('sha256' and 'md5').

  Raises:
    HTTPStatusError: a 4xx answer (404: the URL does not exist).
    ChecksumError: the digest differs; nothing is left at dest or dest.part.
    FetchError: retries exhausted; dest.part is kept for the next run.
  """
  check_scheme(url)
  expected = normalise_expected({'sha256': sha256, 'md5': md5})
  part, meta_path = dest + '.part', dest + '.part.json'
  name = os.path.basename(dest)
  # If-Range validators of the partial file: a resume against a file that
  # changed on the server would splice two different files together.
  meta = files.read_json(meta_path) or {}
  if meta.get('url') != url and os.path.exists(part):
    logging.info('fetch: discarding %s: it was started from another URL', part)
    files.remove(part)
    meta = {}
  state = {'high_water': _size(part)}

  def restart_from_zero() -> None:
    files.remove(part, meta_path)

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
      raise _Transient(f'server refused Range bytes={have}- (file size {total}); restarting from zero') from None
    with response:
      status = response.status
      length = response.headers.get('Content-Length')
      length = int(length) if length and length.isdigit() else None
      if have and status == 206:
        start, total = _parse_content_range(response.headers.get('Content-Range'))
        if start != have:
          restart_from_zero()
          raise _Transient(f'server resumed at byte {start}, not {have}; restarting from zero')
        if total is None and length is not None:
          total = have + length
        mode = 'ab'
      elif status in (200, 206):
        if have:
          logging.info(
            'fetch: %s: server sent the whole file (Range ignored or file changed); restarting from zero', url
          )
        have, mode = 0, 'wb'
        total = length if status == 200 else _parse_content_range(response.headers.get('Content-Range'))[1]
        meta.clear()
        meta.update(url=url, etag=response.headers.get('ETag'), last_modified=response.headers.get('Last-Modified'))
        files.write_json_atomic(meta_path, meta, sort_keys=True)
      else:
        raise _Transient(f'unexpected HTTP status {status}')
      done = have
      started = last_report = time.monotonic()
      # The bar shows on a terminal only; logs and pipes get a line every few seconds instead.
      bar = tqdm.tqdm(
        total=total, initial=have, unit='B', unit_scale=True, desc=name, disable=None, leave=False, file=sys.stderr
      )
      with open(part, mode) as f, bar:
        while True:
          try:
            block = response.read(_BLOCK_BYTES)
          except _NETWORK_ERRORS as e:
            raise _Transient(f'connection lost after {done} bytes: {type(e).__name__}: {e}') from None
          if not block:
            break
          f.write(block)
          done += len(block)
          state['high_water'] = max(state['high_water'], done)
          bar.update(len(block))
          now = time.monotonic()
          if bar.disable and now - last_report >= _PROGRESS_EVERY_S:
            last_report = now
            logging.info('fetch: %s', _resumed_progress(name, have, done, total, now - started))
    if total is not None and done != total:
      raise _Transient(f'connection closed after {done} of {total} bytes')
    logging.info('fetch: %s', _resumed_progress(name, have, done, total, time.monotonic() - started))

  _retrying(url, policy, attempt, lambda: state['high_water'])
  try:
    digests = verify_file(part, expected, what=url)
  except ChecksumError:
    files.remove(meta_path)
    raise
  os.replace(part, dest)
  files.remove(meta_path)
  return digests


def _resumed_progress(name: str, have: int, done: int, total: int | None, elapsed_s: float) -> str:
  # Rate and ETA from this attempt's bytes only, positions from the file's.
  line = format_progress(name, done - have, (total - have) if total else None, elapsed_s)
  return line if not have else (f'{line} [resumed at {have / 1e6:,.1f} MB, now {done / 1e6:,.1f} MB]')


def _size(path: str) -> int:
  try:
    return os.path.getsize(path)
  except FileNotFoundError:
    return 0
