#!/usr/bin/env bash
# What the browser tests need (tests/tests/browser_*.rs, tests/browser/): Debian's
# Chromium (/usr/bin/chromium; never a browser build downloaded by a test tool), Node.js
# 20 or later with npm, and tests/browser's npm packages (playwright-core,
# @axe-core/playwright, oidc-provider) exactly as package-lock.json pins them.
# Idempotent: quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/infra.sh

BROWSER_DIR=tests/browser
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing from Debian: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "Node.js $(node --version) is too old for the browser tests (oidc-provider needs 20 or later)" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install (its hash is kept in
# node_modules), or node_modules is missing.
stamp="$BROWSER_DIR/node_modules/.linkway-lock.sha256"
want=$(sha256sum "$BROWSER_DIR/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "npm ci in $BROWSER_DIR"
  (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
fi
