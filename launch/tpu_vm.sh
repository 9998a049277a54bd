#!/usr/bin/env bash
# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
#
# Train on a Cloud TPU VM pod slice: every worker runs the same command; jax.distributed.initialize()
# (--distributed) finds the others through the TPU metadata, and each process reads its own share of
# the data. Checkpoints go to a bucket so that a recreated (preempted) slice resumes from them.
#
#   launch/tpu_vm.sh [--dry-run] create|install|train|resume|status|copy-out|delete
#
# Settings come from the environment:
#   TPU_NAME (genome-slim), ZONE (us-central2-b), ACCELERATOR (v4-32), RUNTIME (tpu-ubuntu2204-base),
#   CONFIG (configs/hg38_tpu.py), WORKDIR (gs://BUCKET/genome-transformer/hg38, required for train),
#   REPO_DIR (where the code is copied on the workers: ~/genome-transformer), LOCAL_OUT (./checkpoints-copy),
#   PREEMPTIBLE (1: ask for a spot slice), EXTRA_FLAGS (more --config.* overrides).
set -euo pipefail

DRY_RUN=0
SELF_FLAGS=()
if [[ "${1:-}" == "--dry-run" ]]; then
  DRY_RUN=1
  SELF_FLAGS=(--dry-run)
  shift
fi
ACTION="${1:-}"

TPU_NAME="${TPU_NAME:-genome-slim}"
ZONE="${ZONE:-us-central2-b}"
ACCELERATOR="${ACCELERATOR:-v4-32}"
RUNTIME="${RUNTIME:-tpu-ubuntu2204-base}"
CONFIG="${CONFIG:-configs/hg38_tpu.py}"
WORKDIR="${WORKDIR:-}"
REPO_DIR="${REPO_DIR:-~/genome-transformer}"
LOCAL_OUT="${LOCAL_OUT:-./checkpoints-copy}"
PREEMPTIBLE="${PREEMPTIBLE:-1}"
EXTRA_FLAGS="${EXTRA_FLAGS:-}"
SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

run() {
  # Prints each command; runs it unless --dry-run.
  printf '+ %q' "$1"
  printf ' %q' "${@:2}"
  printf '\n'
  if [[ "$DRY_RUN" == 0 ]]; then
    "$@"
  fi
}

on_all_workers() {
  run gcloud compute tpus tpu-vm ssh "$TPU_NAME" --zone="$ZONE" --worker=all --command="$1"
}

require_workdir() {
  if [[ -z "$WORKDIR" ]]; then
    echo "Set WORKDIR to a gs:// path that every worker can reach (checkpoints must outlive the slice)." >&2
    exit 2
  fi
}

train_command() {
  # nohup + a log file: an ssh drop does not stop training; the same command resumes after preemption.
  echo "cd $REPO_DIR && nohup python3 -m genome_transformer.main --distributed --config=$CONFIG \
--workdir=$WORKDIR $EXTRA_FLAGS > train.log 2>&1 &"
}

case "$ACTION" in
  create)
    spot=()
    if [[ "$PREEMPTIBLE" == 1 ]]; then spot=(--spot); fi
    run gcloud compute tpus tpu-vm create "$TPU_NAME" --zone="$ZONE" --accelerator-type="$ACCELERATOR" \
      --version="$RUNTIME" "${spot[@]}"
    ;;
  install)
    run gcloud compute tpus tpu-vm scp --recurse "$SRC_DIR" "$TPU_NAME:$REPO_DIR" --zone="$ZONE" --worker=all
    on_all_workers "cd $REPO_DIR && python3 -m pip install -U pip && python3 -m pip install -e '.[gcs]' 'jax[tpu]'"
    ;;
  train)
    require_workdir
    on_all_workers "$(train_command)"
    ;;
  resume)
    # After a preemption: recreate the slice, reinstall, and start the same command; it resumes from
    # the newest readable checkpoint in WORKDIR.
    require_workdir
    "$0" "${SELF_FLAGS[@]}" create
    "$0" "${SELF_FLAGS[@]}" install
    on_all_workers "$(train_command)"
    ;;
  status)
    on_all_workers "tail -n 3 $REPO_DIR/train.log"
    ;;
  copy-out)
    require_workdir
    run gsutil -m cp -r "$WORKDIR/checkpoints" "$LOCAL_OUT"
    ;;
  delete)
    run gcloud compute tpus tpu-vm delete "$TPU_NAME" --zone="$ZONE" --quiet
    ;;
  *)
    echo "usage: $0 [--dry-run] create|install|train|resume|status|copy-out|delete" >&2
    exit 2
    ;;
esac
