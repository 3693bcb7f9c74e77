#!/usr/bin/env bash
# Submit throughput with 1, 2 and 3 intake processes sharing one event log and one
# database (release build): each process gets its own port and its own wrk, the 16
# connections split between them, and the rates are added up. Each count uses a fresh
# stream and databases. Usage: deploy/bench/processes.sh [path/to/linkway]
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/infra.sh
source deploy/bench/common.sh
bin="${1:-target/release/linkway}"
bench_infra wrk
for n in 1 2 3; do
  run="p$n$(date +%s)"
  export LINKWAY_STREAM="BENCH_$run" LINKWAY_SUBJECT_PREFIX="bench$run" \
    LINKWAY_DATABASE_PREFIX="bench_$run" LINKWAY_PSEUDONYM_KEY="bench-only-throwaway-pseudonym-key" \
    LINKWAY_LOG=warn
  token=$(bench_registry "$bin")
  pids=()
  trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
  # One after another, as a rolling start would: each ready before the next starts.
  for i in $(seq 1 "$n"); do
    LINKWAY_INTAKE_PORT=$((18090 + i)) "$bin" serve --services intake &
    pids+=($!)
    url="http://127.0.0.1:$((18090 + i))"
    wait_for "$url/readyz" 100 || true
    for _ in $(seq 1 100); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url/referrals")" = 200 ] && break
      sleep 0.2
    done
  done
  outs=()
  for i in $(seq 1 "$n"); do
    c=$(( 16 / n + (i <= 16 % n ? 1 : 0) ))
    out="$(mktemp)"
    outs+=("$out")
    TOKEN="$token" RUN="$run-$i" wrk -t1 -c"$c" -d"${DURATION:-10}s" -s deploy/bench/submit.lua \
      "http://127.0.0.1:$((18090 + i))" | grep -E '^p50' >"$out" &
  done
  sleep "${DURATION:-10}"
  sleep 2
  total=0
  for out in "${outs[@]}"; do
    for _ in $(seq 1 50); do [ -s "$out" ] && break; sleep 0.2; done
    rate=$(awk '{print $(NF)}' "$out" | tr -d '/s')
    rate=${rate:-0}
    total=$((total + rate))
  done
  printf 'intake processes: %d, 16 connections: %5d referrals/s  (each: %s)\n' "$n" "$total" \
    "$(for out in "${outs[@]}"; do tr '\n' ' ' <"$out"; echo -n '| '; done)"
  rm -f "${outs[@]}"
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  trap - EXIT
done
