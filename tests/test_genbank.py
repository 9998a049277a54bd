# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""GenBank record -> FASTA (genomics/genbank.py) and the presets built on it (sources.py)."""

import dataclasses
import hashlib
import os
import random

import pytest

from genome_transformer.genomics import download, genbank, sources


def _origin(sequence):
  """ORIGIN lines as GenBank writes them: the 1-based position, then six blocks of ten bases."""
  lines = []
  for start in range(0, len(sequence), 60):
    blocks = [sequence[i : i + 10] for i in range(start, min(start + 60, len(sequence)), 10)]
    lines.append(f'{start + 1:>9} ' + ' '.join(blocks))
  return lines


def _record(locus, accession, version, definition, sequence, *, length=None, origin=None):
  return '\n'.join(
    [
      f'LOCUS       {locus:<16}{length if length is not None else len(sequence):>11} bp    DNA     linear   PRI 01-JAN-2000',
      f'DEFINITION  {definition}',
      f'ACCESSION   {accession} X00001-X00003',
      f'VERSION     {version}  GI:1',
      'FEATURES             Location/Qualifiers',
      '     source          1..10',
      '                     /organism="Homo sapiens"',
      'ORIGIN      ',
      *(origin if origin is not None else _origin(sequence)),
      '//',
    ]
  )


@pytest.fixture(scope='module')
def sequences():
  rng = random.Random(0)
  return {
    'first': ''.join(rng.choice('acgt') for _ in range(137)),
    'second': ''.join(rng.choice('acgtn') for _ in range(250)),
  }


def _write(tmp_path, text, name='gb.seq'):
  path = tmp_path / name
  path.write_text(text + '\n')
  return str(path)


def test_reads_the_named_record_by_locus_accession_or_version(tmp_path, sequences):
  text = '\n'.join(
    [
      _record('HUMFIRST', 'AB000001', 'AB000001.3', 'first test record.', sequences['first']),
      _record('HUMSECOND', 'AB000002', 'AB000002.1', 'second test record.', sequences['second']),
    ]
  )
  path = _write(tmp_path, text)
  for name in ('HUMSECOND', 'AB000002', 'AB000002.1'):
    record = genbank.read_record(path, name)
    assert record.sequence == sequences['second']
    assert record.version == 'AB000002.1' and record.accessions[0] == 'AB000002'
  assert genbank.read_record(path, 'AB000001').sequence == sequences['first']
  with pytest.raises(genbank.GenBankFormatError, match=r"no record named 'AB999999'.*HUMFIRST, HUMSECOND"):
    genbank.read_record(path, 'AB999999')


def test_write_fasta_gives_one_record_of_the_bases(tmp_path, sequences):
  path = _write(tmp_path, _record('HUMFIRST', 'AB000001', 'AB000001.3', 'first test record.', sequences['first']))
  out = tmp_path / 'first.fa'
  genbank.write_fasta(path, 'AB000001', str(out))
  lines = out.read_text().splitlines()
  assert lines[0] == '>AB000001.3 first test record.'
  assert ''.join(lines[1:]) == sequences['first'] and max(len(line) for line in lines[1:]) == 60


@pytest.mark.parametrize(
  'damage, message',
  [
    ('truncated', r"HUMFIRST \(LOCUS at line 1\) has no closing '//'"),
    ('short', r'holds 137 bases, its LOCUS line \(line 1\) says 200'),
    ('missing_line', r'starts at base 121, but 60 bases came before it'),
    ('garbage', r'not an ORIGIN sequence line'),
    ('not_genbank', r'expected a LOCUS line'),
  ],
)
def test_damaged_records_are_errors_naming_file_and_line(tmp_path, sequences, damage, message):
  sequence = sequences['first']
  if damage == 'truncated':
    text = _record('HUMFIRST', 'AB000001', 'AB000001.3', 'x', sequence).rsplit('\n', 2)[0]
  elif damage == 'short':
    text = _record('HUMFIRST', 'AB000001', 'AB000001.3', 'x', sequence, length=200)
  elif damage == 'missing_line':
    origin = _origin(sequence)
    text = _record('HUMFIRST', 'AB000001', 'AB000001.3', 'x', sequence, origin=[origin[0], origin[2]])
  elif damage == 'garbage':
    text = _record('HUMFIRST', 'AB000001', 'AB000001.3', 'x', sequence, origin=[_origin(sequence)[0], 'acgt 61 acg'])
  else:
    text = '>not a GenBank file\nACGT'
  path = _write(tmp_path, text)
  with pytest.raises(genbank.GenBankFormatError, match=message) as info:
    genbank.read_record(path, 'AB000001')
  assert path in str(info.value)


def _sha256(data):
  return hashlib.sha256(data).hexdigest()


def test_genbank_preset_extracts_verifies_and_indexes_the_record(tmp_path, monkeypatch, sequences):
  text = '\n'.join(
    [
      _record('HUMFIRST', 'AB000001', 'AB000001.3', 'first test record.', sequences['first']),
      _record('HUMSECOND', 'AB000002', 'AB000002.1', 'second test record.', sequences['second']),
    ]
  )
  member_bytes = (text + '\n').encode()
  archive_bytes = b'a stand-in for the .deb'
  calls = []

  # apt-get and dpkg are stood in for: what is tested is what happens to the member.
  def fake_obtain(locator, workdir):
    calls.append(locator)
    path = os.path.join(workdir, 'fake.deb')
    with open(path, 'wb') as f:
      f.write(archive_bytes)
    return path

  def fake_extract(deb, member, workdir):
    del deb
    path = os.path.join(workdir, 'root', member)
    os.makedirs(os.path.dirname(path))
    with open(path, 'wb') as f:
      f.write(member_bytes)
    return path

  monkeypatch.setattr(sources, 'obtain_debian_archive', fake_obtain)
  monkeypatch.setattr(sources, 'extract_debian_member', fake_extract)
  expected_fasta = genbank.write_fasta(_write(tmp_path, text), 'AB000002', str(tmp_path / 'expected.fa'))
  preset = sources.Preset(
    name='fake-gb',
    description='test',
    license='test',
    size='tiny',
    origin='debian',
    locator='fake-test=1.0',
    member='usr/share/fake/gb.seq',
    archive_sha256=_sha256(archive_bytes),
    sha256=_sha256(member_bytes),
    genbank_record='AB000002',
    record_sha256=_sha256((tmp_path / 'expected.fa').read_bytes()),
  )
  monkeypatch.setitem(sources.PRESETS, preset.name, preset)
  cache = tmp_path / 'cache'
  path = sources.fetch('fake-gb', cache_dir=str(cache))
  lines = open(path).read().splitlines()
  assert lines[0].split()[0] == '>AB000002.1' and ''.join(lines[1:]) == expected_fasta.sequence
  assert sorted(os.listdir(os.path.dirname(path))) == ['AB000002.fa', 'AB000002.fa.fai', 'fetch.json']
  assert sources.fetch('fake-gb', cache_dir=str(cache)) == path and calls == ['fake-test=1.0']  # cached
  # An extraction that does not match the pinned sha256 leaves nothing behind.
  bad = dataclasses.replace(preset, name='bad-gb', record_sha256='0' * 64)
  monkeypatch.setitem(sources.PRESETS, bad.name, bad)
  with pytest.raises(download.ChecksumError, match='AB000002'):
    sources.fetch('bad-gb', cache_dir=str(cache))
  assert not os.path.exists(cache / 'genomes' / 'bad-gb')


def test_emboss_presets_are_pinned():
  for name, record in (('emboss-mhc', 'BA000025'), ('emboss-hbb', 'HUMHBB')):
    preset = sources.PRESETS[name]
    assert preset.origin == 'debian' and preset.genbank_record == record
    for digest in (preset.archive_sha256, preset.sha256, preset.record_sha256):
      assert len(digest) == 64 and int(digest, 16) >= 0
