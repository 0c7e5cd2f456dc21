#!/usr/bin/env bash
# Profiles the usher server under the session-check load with perf
# (Debian: apt-get install linux-perf) and prints where its CPU time goes.
#
#   scripts/bench-profile.sh [seconds to record, default 15] [session-check flags…]
#
# The server runs exactly as in `usher-bench session-check` (pinned to core 0,
# 100,000 sessions); recording starts with the first measured round.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
shift || true

command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
cargo build --release -p usher -p usher-bench

bin=$(mktemp -d /tmp/usher-bench-bin.XXXXXX)
trap 'rm -rf "$bin"' EXIT
cp target/release/usher target/release/usher-bench "$bin/"

log="$bin/session-check.txt"
"$bin/usher-bench" session-check --rounds 1 --duration-secs "$((seconds + 10))" "$@" >"$log" 2>&1 &
bench=$!
# Bounded wait for the first round to begin (seeding and warm-up come first).
for _ in $(seq 1 600); do
    grep -q '^-- rounds' "$log" && break
    kill -0 "$bench" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 1
done
pid=$(sed -n 's/^  usher: pid \([0-9]*\) on .*/\1/p' "$log")
[ -n "$pid" ] || { cat "$log"; echo "no usher pid in the bench output" >&2; exit 1; }
sleep 3
data="target/perf-usher-$(date -u +%Y%m%dT%H%M%SZ).data"
perf record -e cpu-clock -F 999 -g --call-graph dwarf,16384 -p "$pid" -o "$data" -- sleep "$seconds"
wait "$bench" || true
cat "$log"
echo
echo "== where the server's CPU time went (self time, top 40) =="
perf report -i "$data" --no-children --sort sym -q -g none 2>/dev/null | head -40
echo
echo "== by thread =="
perf report -i "$data" --no-children --sort comm -q -g none 2>/dev/null | head
echo "profile kept in $data (perf report -i $data)"
