#!/usr/bin/env bash
# Peak RSS and wall of `gotopsy trace` on real traces of many goroutines: Go
# 1.27.3's own net/http tests under `go test -trace` (once: ~10 MB, ~36,000
# goroutines; -count=2: ~24 MB, ~71,000), against issue 12's bound of 2× the
# trace + 100 MB. The traces go to target/bench/ (not committed).
# Usage: benches/trace-memory.sh [RUNS]   (default 3)
set -euo pipefail
source "$(dirname "$0")/go127.sh"
for n in 1 2; do
  f="$out/nethttp-$n.trace"
  [ -s "$f" ] || (cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" GOCACHE="$work/cache" GOTOOLCHAIN=local \
    "$go" test -count=$n -trace="$f" net/http > /dev/null)
done
cd "$here" && cargo build --release -q
G=./target/release/gotopsy
for i in $(seq "${1:-3}"); do
  for n in 1 2; do
    f="$out/nethttp-$n.trace"
    size=$(stat -c %s "$f")
    for mode in json text; do
      /usr/bin/time -f "%e %M" -o "$out/trace.time" "$G" trace "$f" --format "$mode" > /dev/null
      read -r wall rss < "$out/trace.time"
      echo "nethttp-$n ($((size / 1000000)) MB) $mode: ${wall} s, peak RSS $((rss / 1000)) MB (bound $((2 * size / 1000000 + 100)) MB)"
    done
  done
done
