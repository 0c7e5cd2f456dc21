#!/usr/bin/env bash
# Builds usher and usher-bench in release mode and runs every benchmark in
# BENCHMARKS.md (`usher-bench all`), printing the figures and keeping a copy.
#
#   scripts/bench-all.sh [usher-bench global flags…]
#   e.g. scripts/bench-all.sh --quiet-wait-secs 180
#
# Needs taskset (util-linux), nginx (Debian: apt-get install nginx-light),
# and a hard open-file limit above 10,100 (the bench raises its soft limit,
# and the server it starts inherits it). The cluster benchmark also needs
# PostgreSQL on 127.0.0.1:5432 (user postgres, password postgres or trust)
# and NATS on 127.0.0.1:4222; without them it is skipped, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v taskset >/dev/null || { echo "taskset is missing (util-linux)" >&2; exit 1; }
[ -x /usr/sbin/nginx ] || { echo "nginx is missing: apt-get install nginx-light" >&2; exit 1; }

cargo build --release -p usher -p usher-bench

# The target directory is shared: copy the binaries so that a rebuild by
# someone else cannot swap the server out in the middle of a run.
bin=$(mktemp -d /tmp/usher-bench-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT
cp target/release/usher target/release/usher-bench "$bin/"

out="target/bench-$(date -u +%Y%m%dT%H%M%SZ).txt"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' (with uncommitted changes)')" | tee "$out"
"$bin/usher-bench" "$@" all | tee -a "$out"
echo "figures kept in $out"
