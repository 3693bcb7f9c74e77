# Sourced by the submit benchmarks: registers one GP practice routed to one link-worker
# service and prints a referrer token for it. Usage: bench_registry path/to/linkway
bench_registry() {
  local bin="$1"
  "$bin" admin org add --id gp-a81001 --name "Park Surgery" --kind gp_practice --code A81001 --area QWO >/dev/null
  "$bin" admin org add --id lw-leeds --name "Leeds link workers" --kind pcn --area QWO --link-worker-service >/dev/null
  "$bin" admin rule add --to lw-leeds --from-org gp-a81001 >/dev/null
  "$bin" admin token create --org gp-a81001 --role referrer | tail -n 1
}
