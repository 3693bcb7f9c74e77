#!/usr/bin/env bash
# End-to-end load on the project-local NATS and PostgreSQL: each service in its own
# `linkway serve` process (release build), driven by `linkway load` from a fourth process,
# then each service's peak resident memory (VmHWM). A fresh stream and databases per run.
# Usage: deploy/bench/load.sh [path/to/linkway] [linkway load arguments...]
#   e.g. deploy/bench/load.sh target/release/linkway --clients 16 --duration 30s --seed 1
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/infra.sh
source deploy/bench/common.sh
bin="${1:-target/release/linkway}"
shift || true
bench_infra
run="l$(date +%s)"
export LINKWAY_STREAM="LOAD_$run" LINKWAY_SUBJECT_PREFIX="load$run" \
  LINKWAY_DATABASE_PREFIX="load_$run" LINKWAY_PSEUDONYM_KEY="bench-only-throwaway-pseudonym-key" \
  LINKWAY_LOG=warn LINKWAY_INTAKE_PORT=18181 LINKWAY_LINK_WORKER_PORT=18182 \
  LINKWAY_REPORTING_PORT=18183
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
for service in intake link-worker reporting; do
  "$bin" serve --services "$service" &
  pids+=($!)
done
for port in 18181 18182 18183; do
  wait_for "http://127.0.0.1:$port/healthz" || true
done
"$bin" load --run "$run" "$@"
i=0
for service in intake link-worker reporting; do
  echo "$service peak RSS: $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/${pids[$i]}/status")"
  i=$((i + 1))
done
