#!/usr/bin/env bash
# The test command: provides what the tests need, then runs every test.
#
#   - a Rust toolchain (must already be installed: rustup);
#   - PostgreSQL on 127.0.0.1:5432 and NATS on 127.0.0.1:4222, installed from
#     Debian's packages when missing and started when not running;
#   - Debian's Chromium and chromedriver for the browser tests, installed when
#     missing (no test tool downloads a browser of its own);
#   - Debian's nginx for the cluster suite's load balancer,
#     installed when missing (the tests start their own; none is kept running).
#
# It runs the whole workspace's tests on the embedded store (SQLite), then the
# API and browser suites again on PostgreSQL. Cluster tests always use
# PostgreSQL and NATS. Every suite gets its servers, accounts, devices and
# browsers from crates/usher-testkit. The README's screenshots are not tests:
# `cargo run -p usher --example screenshots` writes them.
# Last, Schemathesis checks the server against its OpenAPI document
# (scripts/schemathesis.sh).
# Every test database is created under one per-run database that is dropped
# at exit, so nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=
apt_install() {
    if [ -z "$APT_UPDATED" ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
        . "$HOME/.cargo/env"
    fi
    command -v cargo >/dev/null 2>&1 || { say "cargo not found: install Rust with rustup first"; exit 1; }
}

PG_HOST=127.0.0.1
PG_PORT=5432
# Works with trust authentication (as on the development machines) and with
# Debian's default password authentication, for which the password is set below.
PG_ADMIN_URL="postgres://postgres:postgres@$PG_HOST:$PG_PORT/postgres"

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }

ensure_postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        say "installing PostgreSQL"
        apt_install postgresql
    fi
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if ! pg_ready; then
        if [ -z "$version" ]; then
            version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
            say "creating PostgreSQL $version cluster"
            as_root pg_createcluster "$version" main >/dev/null
        fi
        say "starting PostgreSQL $version"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 1 60); do pg_ready && break; sleep 0.5; done
        pg_ready || { say "PostgreSQL did not start"; exit 1; }
    fi
    if ! psql "$PG_ADMIN_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
        say "setting the postgres user's password for local test connections"
        as_root runuser -u postgres -- psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
    fi
    psql "$PG_ADMIN_URL" -qAtc 'SELECT 1' >/dev/null
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    # The restart test stops and starts the server with this.
    PG_CTL="pg_ctlcluster --skip-systemctl-redirect $version main"
    [ "$(id -u)" -eq 0 ] || PG_CTL="sudo $PG_CTL"
}

ensure_nats() {
    if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
        say "installing NATS"
        apt_install nats-server
    fi
    NATS_BIN=$(command -v nats-server || echo /usr/sbin/nats-server)
    if ! (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
        say "starting NATS"
        as_root start-stop-daemon --start --oknodo --background --exec "$NATS_BIN" -- \
            -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
        for _ in $(seq 1 40); do (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && break; sleep 0.25; done
    fi
    (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null || { say "NATS did not start"; exit 1; }
}

# The browser tests (crates/usher/tests/browser) start chromedriver with this
# Chromium; a missing binary fails them, never skips them.
ensure_chromium() {
    local chromium=${USHER_TEST_CHROMIUM:-/usr/bin/chromium}
    local chromedriver=${USHER_TEST_CHROMEDRIVER:-/usr/bin/chromedriver}
    if [ ! -x "$chromium" ] || [ ! -x "$chromedriver" ]; then
        say "installing Chromium and chromedriver"
        apt_install chromium chromium-driver
    fi
    export USHER_TEST_CHROMIUM="$chromium"
    export USHER_TEST_CHROMEDRIVER="$chromedriver"
}

# The cluster suite's load-balancer tests (crates/usher/tests/cluster/
# load_balancer.rs) run this nginx in front of their nodes; a missing binary
# fails them, never skips them.
ensure_nginx() {
    local nginx=${USHER_TEST_NGINX:-/usr/sbin/nginx}
    if [ ! -x "$nginx" ]; then
        say "installing nginx"
        # Debian's package would start a server of its own on every
        # address's port 80 (and fail to where IPv6 is off): a policy that
        # refuses to start services keeps it stopped while it installs.
        local policy=/usr/sbin/policy-rc.d had_policy=
        [ -e "$policy" ] && had_policy=1
        if [ -z "$had_policy" ]; then
            printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
            as_root chmod 0755 "$policy"
        fi
        apt_install nginx
        [ -n "$had_policy" ] || as_root rm -f "$policy"
        # Nor does it start at the next boot; the tests run their own.
        if [ -d /run/systemd/system ]; then
            as_root systemctl disable --now nginx >/dev/null 2>&1 || true
        else
            as_root update-rc.d nginx disable >/dev/null 2>&1 || true
        fi
    fi
    export USHER_TEST_NGINX="$nginx"
}

ensure_rust
ensure_postgres
ensure_nats
ensure_chromium
ensure_nginx

# One database per run; each test makes its own schema inside it.
RUN_DB="usher_test_$(date +%s)_$$"
psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $RUN_DB" >/dev/null
cleanup() { psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $RUN_DB WITH (FORCE)" >/dev/null 2>&1 || true; }
trap cleanup EXIT

export USHER_TEST_POSTGRES_URL="postgres://postgres:postgres@$PG_HOST:$PG_PORT/$RUN_DB"
export USHER_TEST_NATS_URL="nats://127.0.0.1:4222"
export USHER_TEST_NATS_SERVER="$NATS_BIN"
export USHER_TEST_PG_CTL="$PG_CTL"

say "running the test suite on the embedded store (SQLite)"
cargo test --workspace --locked "$@"

say "running the API and browser suites on PostgreSQL"
USHER_TEST_STORE=postgres cargo test --locked -p usher --test api --test browser "$@"

# The server against its own OpenAPI document, by a tool nobody here wrote.
run_schemathesis() {
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        say "installing Python's venv"
        apt_install python3-venv
    fi
    command -v curl >/dev/null 2>&1 || apt_install curl
    say "checking the server against its OpenAPI document (Schemathesis)"
    ./scripts/schemathesis.sh
}
run_schemathesis
