# Sourced by the benchmark scripts (after deploy/infra.sh): what they all do alike.

# Project-local NATS and PostgreSQL running, their addresses exported, and wrk installed
# when the script drives HTTP (`bench_infra wrk`).
bench_infra() {
  ensure_packages
  if [ "${1:-}" = wrk ]; then
    command -v wrk >/dev/null || { as_root apt-get update -qq; as_root apt-get install -y -qq wrk; }
  fi
  start_nats
  start_postgres
  export_local_env
}

# Waits until `url` answers 2xx, at most `tries` times 0.2 s (default 150).
wait_for() {
  local url="$1" tries="${2:-150}"
  for _ in $(seq 1 "$tries"); do
    curl -fsS "$url" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

# Registers one GP practice routed to one link-worker service and prints a referrer token
# for it. Usage: token=$(bench_registry path/to/linkway)
bench_registry() {
  local bin="$1"
  "$bin" admin org add --id gp-a81001 --name "Park Surgery" --kind gp_practice --code A81001 --area QWO >/dev/null
  "$bin" admin org add --id lw-leeds --name "Leeds link workers" --kind pcn --area QWO --link-worker-service >/dev/null
  "$bin" admin rule add --to lw-leeds --from-org gp-a81001 >/dev/null
  "$bin" admin token create --org gp-a81001 --role referrer | tail -n 1
}
