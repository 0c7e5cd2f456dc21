#!/usr/bin/env bash
# Holds the OpenAPI document to the truth with a tool nobody here wrote:
# Schemathesis (every Python package pinned by hash in
# scripts/schemathesis-requirements.txt, in a virtual environment under
# target/) runs every operation of GET /openapi.json against a real server,
# signed in, and fails on any server error, undocumented status, header or
# content type, or answer that does not match its schema.
#
# The server is the debug `usher` binary on SQLite in a temporary directory,
# on 127.0.0.1 and a port of the system's choosing, with none of the caller's
# USHER_* settings. Its limits are relaxed for this one client (every request
# comes from 127.0.0.1): cheap password hashing, and address, sign-up,
# connection and per-client wrong-password budgets it cannot spend; the
# document still describes the 429 answers, and the API suite tests them.
# scripts/schemathesis_hooks.py signs the operations that need a token in as
# a device of a fresh account and gives a share of the cases real ids and the
# account's password.
#
# The run fails, besides on Schemathesis's own findings, when its operations
# mostly met 401 or 403, when signing in again stopped working mid-run, and
# (scripts/schemathesis_coverage.py, which prints a line per operation) when
# an operation got no answer but 401 and 403, or none in 2xx though its
# document has one.
#
# Reproducible and bounded by counts: a fixed seed (SCHEMATHESIS_SEED), one
# worker, generation fed by nothing the server answered (so the coverage and
# fuzzing phases send the same cases every run; the stateful phase follows
# links, whose ids come from the answers), and SCHEMATHESIS_MAX_EXAMPLES
# (default 200), which in Schemathesis
# 4.32.5 is Hypothesis's max_examples: the cases the fuzzing phase generates
# per operation (positive and negative together), and the scenarios of the
# stateful phase (each at most 6 steps). The examples and coverage phases add
# the fixed set of cases they derive from the document, whatever the number.
# SCHEMATHESIS_TIMEOUT (default 900 s, several times a run's length) is only
# a safety stop for a run that hangs: reaching it fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCK=scripts/schemathesis-requirements.txt
SEED=${SCHEMATHESIS_SEED:-14}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-200}
TIMEOUT=${SCHEMATHESIS_TIMEOUT:-900}
VENV=target/schemathesis-venv
TARGET=${CARGO_TARGET_DIR:-target}

say() { printf '==> %s\n' "$*" >&2; }

# The server reads USHER_* settings from its environment: none of the
# caller's may reach it (an exported USHER_DATABASE_URL would point the
# fuzzer at a real database). It gets only those given below.
while IFS= read -r name; do unset "$name"; done < <(compgen -e | grep '^USHER_' || true)

# The environment is reused while it was installed from this very lock file.
LOCK_SHA=$(sha256sum "$LOCK" | cut -d' ' -f1)
if [ "$(cat "$VENV/lock.sha256" 2>/dev/null)" != "$LOCK_SHA" ]; then
    say "installing Schemathesis from $LOCK in $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$LOCK"
    echo "$LOCK_SHA" >"$VENV/lock.sha256"
fi

cargo build --locked -p usher --bin usher
BIN="$TARGET/debug/usher"

# Everything the run writes (the server's data and log, Schemathesis's
# report and crash files, Hypothesis's files) stays in here, removed when
# the run passes and kept for a look when it fails.
WORK=$(mktemp -d)
export SCHEMATHESIS_WORK="$WORK"
export HYPOTHESIS_STORAGE_DIRECTORY="$WORK/hypothesis"
SERVER=
stop() {
    local status=$?
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    if [ "$status" -eq 0 ]; then rm -rf "$WORK"; else say "the run's files are in $WORK"; fi
}
trap stop EXIT

# The server prints its address on standard output once it listens.
exec 3< <(exec env \
    USHER_PASSWORD_HASHING__MEMORY_KIB=1024 \
    USHER_PASSWORD_HASHING__ITERATIONS=1 \
    USHER_THROTTLE__ADDRESS_BURST=1000000 \
    USHER_THROTTLE__CLIENT_FAILURE_BURST=1000000 \
    USHER_ACCOUNTS__SIGN_UP_BURST=1000000 \
    USHER_HTTP__MAX_CONNECTIONS_PER_ADDRESS=1000000 \
    "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" 2>"$WORK/server.log")
SERVER=$!
URL=
while read -r -t 120 line <&3; do
    case "$line" in "usher listening on http://127.0.0.1:"*) URL=${line#usher listening on }; break ;; esac
done
[ -n "$URL" ] || { say "the server did not start:"; cat "$WORK/server.log" >&2; exit 1; }
cat <&3 >/dev/null &
say "usher at $URL"

curl -fsS -o "$WORK/openapi.json" "$URL/openapi.json"
export USHER_URL="$URL"
export USHER_EMAIL=schemathesis@example.com
export USHER_PASSWORD="tangerine submarine orchestra $$"
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"email\":\"$USHER_EMAIL\",\"password\":\"$USHER_PASSWORD\"}" "$URL/v1/accounts"

export SCHEMATHESIS_HOOKS=schemathesis_hooks
export PYTHONPATH="$PWD/scripts"
status=0
# Loaded from the file (what the server served): given its own URL,
# Schemathesis would leave out the operation that serves the document.
timeout "$TIMEOUT" "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml \
    run "$WORK/openapi.json" --url "$URL" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,ignored_auth \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --generation-database none \
    --request-timeout 30 \
    --report ndjson --report-ndjson-path "$WORK/events.ndjson" \
    --no-color || status=$?
if [ "$status" -eq 124 ]; then
    say "Schemathesis did not finish within ${TIMEOUT}s"
fi
coverage=0
"$VENV/bin/python" scripts/schemathesis_coverage.py "$WORK/openapi.json" "$WORK/events.ndjson" || coverage=$?
if [ "$status" -ne 0 ]; then
    say "Schemathesis found problems (exit $status); the server's log:"
    tail -n 50 "$WORK/server.log" >&2
    exit "$status"
fi
exit "$coverage"
