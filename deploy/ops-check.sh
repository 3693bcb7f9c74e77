#!/usr/bin/env bash
# Checks the operations files in deploy/ with the tools that read them: promtool check and
# test rules (deploy/prometheus), systemd-analyze verify (deploy/systemd, with the built
# binaries put in for /usr/local/bin), nats-server -t on every config (deploy/nats), and
# the Grafana dashboard: valid JSON, every metric it uses in the README's Metrics table and
# every metric of that table on it. Installs promtool (Debian's prometheus) and
# systemd-analyze (systemd) when missing. deploy/check runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/infra.sh

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing from Debian: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
ensure_nats_server

log "promtool check rules / test rules (deploy/prometheus)"
promtool check rules deploy/prometheus/alerts.yml
(cd deploy/prometheus && promtool test rules alerts.test.yml)

log "systemd-analyze verify (deploy/systemd)"
# The binary the units run: the debug build (or LINKWAY_OPS_BIN, an already built one).
bin="${LINKWAY_OPS_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --quiet --bin linkway
  bin="$PWD/target/debug/linkway"
fi
units="$(mktemp -d)"
trap 'rm -rf "$units"' EXIT
for unit in deploy/systemd/*.service; do
  sed -e "s#/usr/local/bin/linkway#$bin#g" \
    -e "s#/usr/local/bin/nats-server#$(nats_binary)#g" "$unit" >"$units/$(basename "$unit")"
done
# verify exits 0 on unknown keys and values it ignores; any word from it is a failure.
report="$(cd "$units" && systemd-analyze verify ./*.service 2>&1)" || { echo "$report" >&2; exit 1; }
if [ -n "$report" ]; then
  echo "$report" >&2
  exit 1
fi

log "nats-server -t (deploy/nats)"
for conf in deploy/nats/linkway.conf deploy/nats/cluster/node-*.conf; do
  grep -Eq '^[[:space:]]*sync_interval:[[:space:]]*always$' "$conf" ||
    { echo "$conf: no 'sync_interval: always'" >&2; exit 1; }
  # The passwords are read from the environment; any value lets the config be checked.
  NATS_INTAKE_PASSWORD=check NATS_LINK_WORKER_PASSWORD=check NATS_REPORTING_PASSWORD=check \
    NATS_REGISTRY_PASSWORD=check NATS_OPERATOR_PASSWORD=check NATS_SYSTEM_PASSWORD=check \
    "$(nats_binary)" -t -c "$conf"
done

log "Grafana dashboard and alert rules against the README's Metrics table"
python3 - deploy/grafana/linkway.json deploy/prometheus/alerts.yml README.md <<'EOF'
import json, re, sys

dashboard, alerts, readme = sys.argv[1:]
section = open(readme).read().split("### Metrics\n", 1)[1].split("\n## ", 1)[0]
table = {}
for row in section.splitlines():
    cells = [c.strip() for c in row.strip("|").split("|")]
    if row.startswith("| `linkway_"):
        table[cells[0].strip("`")] = cells[1]
assert len(table) >= 15, f"the README's Metrics table is not found: {table}"
series = set(table)
for name, kind in table.items():
    if kind == "histogram":
        series |= {name + "_bucket", name + "_sum", name + "_count"}

def exprs(panels):
    for panel in panels:
        for target in panel.get("targets", []):
            yield target["expr"]
        yield from exprs(panel.get("panels", []))

board = json.load(open(dashboard))
used = {m for e in exprs(board["panels"]) for m in re.findall(r"\blinkway_[a-z0-9_]+", e)}
unknown = used - series
assert not unknown, f"{dashboard} uses metrics the README does not define: {sorted(unknown)}"
shown = {m for m in table if any(u == m or u.startswith(m + "_") and u in series for u in used)}
absent = set(table) - shown
assert not absent, f"{dashboard} shows no panel of: {sorted(absent)}"
ruled = set(re.findall(r"\blinkway_[a-z0-9_]+", open(alerts).read()))
unknown = ruled - series
assert not unknown, f"{alerts} uses metrics the README does not define: {sorted(unknown)}"
print(f"{dashboard}: {len(board['panels'])} panels, {len(used)} metrics, all in the README")
EOF
log "operations files checked"
