#!/usr/bin/env bash
# schemathesis against each service's /openapi.json, as an outside organisation would
# test it: every check, positive and negative data, once per role's bearer token.
#
#   deploy/schemathesis.sh <intake|link-worker|reporting|all> [extra schemathesis args]
#
# Installs a pinned schemathesis into .linkway/venv, starts the project-local NATS and
# PostgreSQL (unless they are already up), runs `linkway serve` (debug build) on free
# ports with a stream and databases of its own, registers organisations, a routing rule
# and a token per role with `linkway admin`, then runs schemathesis with a fixed seed in
# deterministic mode (no test depends on chance) and few examples per operation, so a run
# takes minutes. Each service's findings go to target/schemathesis/<service>.txt (under
# CARGO_TARGET_DIR when set). Exits non-zero if any run found a failure. Stops everything
# it started on exit.
#
# Settings: LINKWAY_SCHEMATHESIS_MAX_EXAMPLES (default 10), LINKWAY_SCHEMATHESIS_SEED
# (default 20261201), LINKWAY_SCHEMATHESIS_ROLES (default: every role).
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/infra.sh

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${LINKWAY_SCHEMATHESIS_MAX_EXAMPLES:-10}"
SEED="${LINKWAY_SCHEMATHESIS_SEED:-20261201}"
ROLES="${LINKWAY_SCHEMATHESIS_ROLES:-referrer link_worker service_manager commissioner admin}"
TARGET="${CARGO_TARGET_DIR:-target}"
OUT="$TARGET/schemathesis"

usage() {
  echo "usage: deploy/schemathesis.sh <intake|link-worker|reporting|all> [extra schemathesis args]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
case "$1" in
  intake | link-worker | reporting) SERVICES=("$1") ;;
  all) SERVICES=(intake link-worker reporting) ;;
  *) usage ;;
esac
shift
EXTRA=("$@")

ensure_schemathesis() {
  ensure_nats_server # makes the venv
  local bin="$LINKWAY_HOME/venv/bin/schemathesis"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q " $SCHEMATHESIS_VERSION\$"; then
    return 0
  fi
  log "installing schemathesis $SCHEMATHESIS_VERSION from PyPI into $LINKWAY_HOME/venv"
  "$LINKWAY_HOME/venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

free_port() {
  "$LINKWAY_HOME/venv/bin/python" -c \
    'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Several runs may share the local NATS and PostgreSQL (helpers, CI): the last one out
# stops them, and only if a run started them.
RUN_DIR="$LINKWAY_HOME/schemathesis"
mkdir -p "$RUN_DIR" "$OUT"
echo $$ >"$RUN_DIR/$$.pid"
STARTED_INFRA=0
SERVE_PID=

cleanup() {
  if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
    kill -TERM "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
  fi
  rm -f "$RUN_DIR/$$.pid"
  if [ -n "${RUN_ID:-}" ]; then
    # This run's databases go with it (its stream is small and stays in the NATS store).
    for db in intake link_worker reporting; do
      "$(pg_bin)/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS ${RUN_ID}_$db WITH (FORCE)" >/dev/null 2>&1 || true
    done
  fi
  local others=0 pid
  for f in "$RUN_DIR"/*.pid; do
    [ -e "$f" ] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then others=1; else rm -f "$f"; fi
  done
  if [ "$STARTED_INFRA" = 1 ] || [ -e "$RUN_DIR/started-infra" ]; then
    if [ "$others" = 0 ]; then
      rm -f "$RUN_DIR/started-infra"
      stop_local
    else
      touch "$RUN_DIR/started-infra" # another run stops them when it ends
    fi
  fi
}
trap cleanup EXIT

ensure_packages
ensure_schemathesis
data="$(pg_data_dir)"
if ! [ -f "$LINKWAY_HOME/nats.pid" ] || ! kill -0 "$(cat "$LINKWAY_HOME/nats.pid")" 2>/dev/null ||
  ! as_pg "$(pg_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  STARTED_INFRA=1
fi
start_nats
start_postgres
export_local_env

# A stream and databases of this run's own: what earlier runs appended changes nothing.
RUN_ID="st$(date +%s)$$"
export LINKWAY_STREAM="SCHEMATHESIS_$RUN_ID"
export LINKWAY_SUBJECT_PREFIX="$RUN_ID"
export LINKWAY_DATABASE_PREFIX="$RUN_ID"
export LINKWAY_PSEUDONYM_KEY="schemathesis-only-public-pseudonym-key"
export LINKWAY_INTAKE_PORT LINKWAY_LINK_WORKER_PORT LINKWAY_REPORTING_PORT
LINKWAY_INTAKE_PORT="$(free_port)"
LINKWAY_LINK_WORKER_PORT="$(free_port)"
LINKWAY_REPORTING_PORT="$(free_port)"
export LINKWAY_LOG="${LINKWAY_LOG:-warn}"

log "building linkway (debug)"
cargo build --quiet --bin linkway
LINKWAY="$TARGET/debug/linkway"

log "linkway serve (stream $LINKWAY_STREAM)"
"$LINKWAY" serve >"$OUT/serve.log" 2>&1 &
SERVE_PID=$!

admin() { "$LINKWAY" admin "$@"; }
GP=gp-schemathesis
LW=lw-schemathesis
ICB=icb-schemathesis
AREA=QST
# The admin CLI appends to the log directly; it does not need the servers.
for _ in $(seq 1 100); do
  admin org add --id "$GP" --name "Schemathesis Surgery" --kind gp_practice --code A99999 --area "$AREA" \
    >/dev/null 2>&1 && break
  sleep 0.2
done
admin org add --id "$LW" --name "Schemathesis link workers" --kind pcn --area "$AREA" --link-worker-service >/dev/null
admin org add --id "$ICB" --name "Schemathesis ICB" --kind commissioner --area "$AREA" >/dev/null
admin rule add --to "$LW" --from-org "$GP" >/dev/null

declare -A TOKEN
org_of() {
  case "$1" in
    referrer) echo "$GP" ;;
    link_worker | service_manager) echo "$LW" ;;
    commissioner) echo "$ICB" ;;
    admin) echo linkway ;;
  esac
}
for role in $ROLES; do
  # The secret is the one `lw_` word of what `token create` prints.
  TOKEN[$role]="$(admin token create --org "$(org_of "$role")" --role "$role" --label schemathesis |
    grep -oE 'lw_[0-9a-f]{64}' | head -n 1)"
  [ -n "${TOKEN[$role]}" ] || { echo "no token printed for $role" >&2; exit 1; }
done

port_of() {
  case "$1" in
    intake) echo "$LINKWAY_INTAKE_PORT" ;;
    link-worker) echo "$LINKWAY_LINK_WORKER_PORT" ;;
    reporting) echo "$LINKWAY_REPORTING_PORT" ;;
  esac
}

# An operation every role may be authenticated for (403 is authenticated, 401 is not).
authenticated_path() {
  case "$1" in
    intake) echo /referrals ;;
    link-worker) echo /caseload ;;
    reporting) echo /summary ;;
  esac
}

# Ready: every service answers /readyz and knows the tokens (its registry caught up).
for service in "${SERVICES[@]}"; do
  base="http://127.0.0.1:$(port_of "$service")"
  for _ in $(seq 1 300); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ]; then break; fi
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$OUT/serve.log" >&2; exit 1; }
    sleep 0.2
  done
done
last_role="${ROLES##* }"
for _ in $(seq 1 300); do
  # The last token issued is the last registry event: once a service knows it, it knows all.
  known=1
  for service in "${SERVICES[@]}"; do
    code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN[$last_role]}" \
      "http://127.0.0.1:$(port_of "$service")$(authenticated_path "$service")")"
    [ "$code" != 401 ] || known=0
  done
  [ "$known" = 1 ] && break
  sleep 0.2
done

failed=0
for service in "${SERVICES[@]}"; do
  # Written aside and moved into place whole: runs side by side never interleave a file.
  final="$OUT/$service.txt"
  report="$OUT/.$service.$$.txt"
  : >"$report"
  url="http://127.0.0.1:$(port_of "$service")/openapi.json"
  for role in $ROLES; do
    log "schemathesis: $service as $role"
    # Pages (tag `pages`: HTML for people, which send a caller with no session to sign in)
    # are left to the browser tests (tests/browser/, run by cargo test): every answer this
    # runs with is a bearer token's, and a page never reads one.
    command=("$LINKWAY_HOME/venv/bin/schemathesis" --no-color --config-file "$PWD/deploy/schemathesis.toml" run "$url"
      --exclude-tag pages
      --mode all
      --phases examples,coverage,fuzzing
      --seed "$SEED" --generation-deterministic
      --max-examples "$MAX_EXAMPLES" --workers 1 --request-timeout 15
      --header "Authorization: Bearer ${TOKEN[$role]}"
      --output-sanitize true
      ${EXTRA[@]+"${EXTRA[@]}"})
    {
      echo "=== $service as $role: schemathesis $SCHEMATHESIS_VERSION, seed $SEED, max examples $MAX_EXAMPLES"
    } >>"$report"
    # From an empty directory: schemathesis keeps a cache of earlier crashes in its working
    # directory and would replay them, so one run would depend on the ones before it.
    work="$(mktemp -d)"
    if (cd "$work" && "${command[@]}") >>"$report" 2>&1; then
      echo "=== $service as $role: passed" >>"$report"
    else
      echo "=== $service as $role: FAILED" >>"$report"
      failed=1
    fi
    rm -rf "$work"
    echo >>"$report"
  done
  mv -f "$report" "$final"
  grep -E '^=== .*: (passed|FAILED)$' "$final" >&2 || true
  log "$service: findings in $final"
done

if ! kill -0 "$SERVE_PID" 2>/dev/null; then
  echo "linkway serve died during the run; see $OUT/serve.log" >&2
  failed=1
fi
exit "$failed"
