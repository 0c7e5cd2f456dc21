#!/usr/bin/env bash
# The test command: provides what the tests need, then runs every test.
#
# Today the suite needs only a Rust toolchain: the embedded store is an SQLite
# file the tests create themselves. As cluster mode and the browser tests land,
# this script also installs and starts PostgreSQL, NATS and Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }

ensure_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    fi
    command -v cargo >/dev/null 2>&1 || { say "cargo not found: install Rust (rustup) first"; exit 1; }
}

ensure_rust
say "running the test suite"
cargo test --workspace --locked "$@"
