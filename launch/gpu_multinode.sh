#!/usr/bin/env bash
# Copyright 2026 The genome-transformer Authors. Licensed under the Apache License, Version 2.0.
#
# Multi-node GPU training: one process per node, all GPUs of a node in that process.
# jax.distributed.initialize() (--distributed) reads the coordinator and this process's rank from
# the flags this script passes (under SLURM's srun, JAX can also detect them itself).
#
#   launch/gpu_multinode.sh [--dry-run] NODE_RANK
#
# Environment: COORDINATOR (host:port of node 0, required), NUM_NODES (required), CONFIG
# (configs/gpu.py), WORKDIR (a directory every node can reach, required), EXTRA_FLAGS.
# Run the same command on every node with its own NODE_RANK; run it again to resume.
set -euo pipefail

DRY_RUN=0
if [[ "${1:-}" == "--dry-run" ]]; then
  DRY_RUN=1
  shift
fi
NODE_RANK="${1:-}"
CONFIG="${CONFIG:-configs/gpu.py}"
EXTRA_FLAGS="${EXTRA_FLAGS:-}"

missing=()
for name in COORDINATOR NUM_NODES WORKDIR; do
  if [[ -z "${!name:-}" ]]; then missing+=("$name"); fi
done
if [[ -z "$NODE_RANK" ]]; then missing+=("NODE_RANK (first argument)"); fi
if (( ${#missing[@]} )); then
  echo "Set: ${missing[*]}" >&2
  echo "usage: COORDINATOR=host:port NUM_NODES=N WORKDIR=DIR $0 [--dry-run] NODE_RANK" >&2
  exit 2
fi

# shellcheck disable=SC2206  # EXTRA_FLAGS is a list of flags, split on purpose.
cmd=(python3 -m genome_transformer.main --distributed "--coordinator_address=$COORDINATOR"
     "--num_processes=$NUM_NODES" "--process_id=$NODE_RANK" "--config=$CONFIG" "--workdir=$WORKDIR" $EXTRA_FLAGS)
echo "+ ${cmd[*]}"
if [[ "$DRY_RUN" == 0 ]]; then
  exec "${cmd[@]}"
fi
