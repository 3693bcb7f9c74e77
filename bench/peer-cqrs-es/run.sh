#!/usr/bin/env bash
# The peer benchmark on the project-local PostgreSQL (the one Linkway's benchmarks use):
# bench/peer-cqrs-es/run.sh [--aggregates N] [--clients C] [--pool P]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
source deploy/infra.sh
ensure_packages
start_postgres
export_local_env
psql_url="${LINKWAY_DATABASE_URL%/*}"
psql "$LINKWAY_DATABASE_URL" -qc "DROP DATABASE IF EXISTS peer_cqrs_es" -c "CREATE DATABASE peer_cqrs_es"
(cd "$here" && cargo build --release --quiet)
PEER_DATABASE_URL="$psql_url/peer_cqrs_es" "$here/target/release/peer-cqrs-es" "$@"
