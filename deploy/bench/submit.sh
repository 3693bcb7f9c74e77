#!/usr/bin/env bash
# Submit latency over HTTP: intake alone on the project-local NATS and PostgreSQL, driven
# by wrk (deploy/bench/submit.lua) with one connection, then 16. Each run uses a fresh
# stream and databases. Usage: deploy/bench/submit.sh [path/to/linkway] (release build).
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/infra.sh
source deploy/bench/common.sh
bin="${1:-target/release/linkway}"
bench_infra wrk
run="b$(date +%s)"
export LINKWAY_STREAM="BENCH_$run" LINKWAY_SUBJECT_PREFIX="bench$run" \
  LINKWAY_DATABASE_PREFIX="bench_$run" LINKWAY_INTAKE_PORT="${LINKWAY_INTAKE_PORT:-18081}" \
  LINKWAY_PSEUDONYM_KEY="bench-only-throwaway-pseudonym-key" LINKWAY_LOG=warn
token=$(bench_registry "$bin")
"$bin" serve --services intake &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
url="http://127.0.0.1:$LINKWAY_INTAKE_PORT"
wait_for "$url/readyz" 100 || true
until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url/referrals")" = 200 ]; do sleep 0.2; done
for c in 1 16; do
  printf 'submitReferral, %2d connection(s): ' "$c"
  TOKEN="$token" RUN="$run-$c" wrk ${WRK_ARGS:-} -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${DURATION:-10}s" \
    -s deploy/bench/submit.lua "$url" | grep -E "${WRK_GREP:-^p50|Non-2xx}" | tr '\n' ' '
  echo
done
