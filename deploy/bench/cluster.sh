#!/usr/bin/env bash
# linkway bench on a three-node NATS cluster on this machine, with R3 streams (the raw
# limits too), beside the same run on one node: what replication costs here. The
# cluster's nodes share the machine's two cores with everything else, so this measures
# the cost of R3, not what three machines would give.
# Usage: deploy/bench/cluster.sh [path/to/linkway] [linkway bench arguments...]
set -euo pipefail
cd "$(dirname "$0")/../.."
source deploy/infra.sh
source deploy/bench/common.sh
bin="${1:-target/release/linkway}"
shift || true
ensure_packages
start_postgres
export_local_env
dir="$LINKWAY_HOME/cluster-bench"
rm -rf "$dir"
mkdir -p "$dir"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
routes="nats-route://127.0.0.1:16301,nats-route://127.0.0.1:16302,nats-route://127.0.0.1:16303"
for i in 1 2 3; do
  "$(nats_binary)" -n "bench-$i" -a 127.0.0.1 -p "1430$i" -m "1830$i" -js -sd "$dir/n$i" \
    --cluster_name linkway-bench --cluster "nats://127.0.0.1:1630$i" --routes "$routes" \
    >"$dir/n$i.log" 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do
  wait_for "http://127.0.0.1:1830$i/healthz" 300 || { echo "node $i did not start; see $dir/n$i.log" >&2; exit 1; }
done
export LINKWAY_NATS_URL="nats://127.0.0.1:14301,nats://127.0.0.1:14302,nats://127.0.0.1:14303"
echo "== three nodes, R3"
LINKWAY_REPLICAS=3 "$bin" bench "$@" 2>&1 | grep -v ' INFO '
echo "== three nodes, R1"
LINKWAY_REPLICAS=1 "$bin" bench "$@" 2>&1 | grep -v ' INFO '
