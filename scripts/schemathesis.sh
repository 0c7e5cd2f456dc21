#!/usr/bin/env bash
# Holds the OpenAPI document to the truth with a tool nobody here wrote:
# Schemathesis (pinned, from PyPI, in a virtual environment under target/)
# runs every operation of GET /openapi.json against a real server, signed in,
# and fails on any server error, undocumented status, header or content type,
# or answer that does not match its schema.
#
# The server is the debug `usher` binary on SQLite in a temporary directory,
# on 127.0.0.1 and a port of the system's choosing. Its limits are relaxed
# for this one client (every request comes from 127.0.0.1): cheap password
# hashing, and address, sign-up and connection budgets it cannot spend; the
# document still describes the 429 answers, and the fuzzer still meets the
# per-client wrong-password limit.
#
# Bounded and reproducible: a fixed seed, one worker, at most
# SCHEMATHESIS_MAX_EXAMPLES cases per operation and phase, and the whole run
# stopped (and failed) after SCHEMATHESIS_TIMEOUT seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.32.5
SEED=${SCHEMATHESIS_SEED:-14}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-200}
TIMEOUT=${SCHEMATHESIS_TIMEOUT:-300}
VENV=target/schemathesis-venv
TARGET=${CARGO_TARGET_DIR:-target}

say() { printf '==> %s\n' "$*" >&2; }

if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $VERSION" ]; then
    say "installing Schemathesis $VERSION in $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

cargo build --locked -p usher --bin usher
BIN="$TARGET/debug/usher"

WORK=$(mktemp -d)
SERVER=
stop() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap stop EXIT

export USHER_PASSWORD_HASHING__MEMORY_KIB=1024
export USHER_PASSWORD_HASHING__ITERATIONS=1
export USHER_THROTTLE__ADDRESS_BURST=1000000
export USHER_ACCOUNTS__SIGN_UP_BURST=1000000
export USHER_HTTP__MAX_CONNECTIONS_PER_ADDRESS=1000000
# The server prints its address on standard output once it listens.
exec 3< <(exec "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" 2>"$WORK/server.log")
SERVER=$!
URL=
while read -r -t 120 line <&3; do
    case "$line" in "usher listening on http://127.0.0.1:"*) URL=${line#usher listening on }; break ;; esac
done
[ -n "$URL" ] || { say "the server did not start:"; cat "$WORK/server.log" >&2; exit 1; }
cat <&3 >/dev/null &
say "usher at $URL"

export USHER_URL="$URL"
export USHER_EMAIL=schemathesis@example.com
export USHER_PASSWORD="tangerine submarine orchestra $$"
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"email\":\"$USHER_EMAIL\",\"password\":\"$USHER_PASSWORD\"}" "$URL/v1/accounts"

export SCHEMATHESIS_HOOKS=schemathesis_hooks
export PYTHONPATH="$PWD/scripts"
status=0
timeout "$TIMEOUT" "$VENV/bin/schemathesis" run "$URL/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,ignored_auth \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --generation-database none \
    --request-timeout 30 \
    --no-color || status=$?
if [ "$status" -eq 124 ]; then
    say "Schemathesis did not finish within ${TIMEOUT}s"
fi
if [ "$status" -ne 0 ]; then
    say "Schemathesis found problems (exit $status); the server's log:"
    tail -n 50 "$WORK/server.log" >&2
fi
exit "$status"
