#!/usr/bin/env bash
# linkway bench against one nats-server with JetStream's default fsync policy (flush every
# two minutes, acknowledge at once) and with `sync_interval: always` (fsync before every
# acknowledgement, as deploy/nats ships), alternating, so the machine's drift hits both:
# what the durability of an acknowledged referral costs here.
# Usage: deploy/bench/sync.sh [path/to/linkway] [linkway bench arguments...]
# LINKWAY_SYNC_ROUNDS (default 2) sets how many times each policy runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/infra.sh
source deploy/bench/common.sh
bin="${1:-target/release/linkway}"
shift || true
rounds="${LINKWAY_SYNC_ROUNDS:-2}"
ensure_packages
start_postgres
export_local_env
dir="$LINKWAY_HOME/sync-bench"
rm -rf "$dir"
mkdir -p "$dir"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
export LINKWAY_NATS_URL="nats://127.0.0.1:14411"

# One run: a fresh store, nats-server with `policy` (default or always), linkway bench.
run() {
  local policy="$1" round="$2"
  shift 2
  rm -rf "$dir/store"
  {
    echo "listen: 127.0.0.1:14411"
    echo "http: 127.0.0.1:18411"
    echo "jetstream {"
    echo "  store_dir: \"$dir/store\""
    [ "$policy" = always ] && echo "  sync_interval: always"
    echo "}"
  } >"$dir/nats.conf"
  "$(nats_binary)" -c "$dir/nats.conf" >"$dir/nats-$policy-$round.log" 2>&1 &
  pid=$!
  wait_for "http://127.0.0.1:18411/healthz" 150 || { echo "nats-server did not start; see $dir/nats-$policy-$round.log" >&2; exit 1; }
  echo "== sync $policy, round $round"
  "$bin" bench "$@" 2>&1 | grep -v ' INFO ' | tee "$dir/$policy-$round.txt"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
}

for round in $(seq 1 "$rounds"); do
  run default "$round" "$@"
  run always "$round" "$@"
done

echo "== summary"
for policy in default always; do
  for round in $(seq 1 "$rounds"); do
    grep -E '^(raw JetStream publish|raw publish \+ msg id|linkway append)' "$dir/$policy-$round.txt" |
      sed "s/^/sync $policy, round $round: /"
  done
done
