#!/usr/bin/env bash
# Third-party checks of the hub's API against docs/api/openapi.yaml:
#   1. Redocly's linter (0 errors),
#   2. Schemathesis with every check, a bounded number of examples per operation, against a
#      real `motcua hub serve` on loopback (SQLite store, one device, a published catalog).
# Tool versions are pinned here; Schemathesis lives in a venv under the user's cache.
# Usage: scripts/api-conformance.sh [path to the motcua binary]   (default: target/debug/motcua)
set -euo pipefail
cd "$(dirname "$0")/.."
REDOCLY_VERSION=2.77.0
SCHEMATHESIS_VERSION=4.32.5
EXAMPLES=${MOTCUA_API_EXAMPLES:-20}
bin=${1:-target/debug/motcua}

echo "== redocly lint (@redocly/cli@$REDOCLY_VERSION)"
npx --yes "@redocly/cli@$REDOCLY_VERSION" lint docs/api/openapi.yaml

venv="${XDG_CACHE_HOME:-$HOME/.cache}/motcua/schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

work=$(mktemp -d)
hub_pid=""
cleanup() {
  [ -n "$hub_pid" ] && kill "$hub_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
: > "$work/none.toml"
m() { "$bin" --config "$work/none.toml" "$@"; }
m hub keygen --data "$work/hub" >/dev/null 2>&1
m hub publish tests/fixtures/small-catalog.json --expires-in-days 30 --data "$work/hub" >/dev/null
token=$(m hub device add conformance --data "$work/hub" 2>/dev/null)
head -c 4096 /dev/urandom > "$work/bundle.raucb"
m hub update publish --channel stable --version 1.1 --bundle "$work/bundle.raucb" --devices conformance --data "$work/hub" >/dev/null
m hub record set 000.00.14.H56-200203-0118 --stage in-progress --due 2026-12-31 --data "$work/hub" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
m hub serve --listen "127.0.0.1:$port" --data "$work/hub" 2>"$work/hub.log" &
hub_pid=$!
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$port/v1/health" >/dev/null && break
  sleep 0.1
done

echo "== schemathesis $SCHEMATHESIS_VERSION, all checks, $EXAMPLES examples per operation"
# The long-poll may hold a request for `wait` ≤ 60 s, as the spec says: that is the time limit.
"$venv/bin/schemathesis" --config-file scripts/schemathesis.toml --no-color run docs/api/openapi.yaml \
  --url "http://127.0.0.1:$port" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --max-examples "$EXAMPLES" \
  --seed 1 \
  --max-response-time 65 \
  --request-timeout 70
