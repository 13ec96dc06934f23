#!/usr/bin/env bash
# Wall time and peak RSS of `gotopsy analyze --format json` on the
# 100,000-goroutine benchmark core (warm page cache, uncompressed core),
# 7 runs, output to /dev/null and to a file. Prints the median of each.
# Make the core first: benches/make-bench-core.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
B=target/bench
[ -f "$B/bench100k.core" ] || { echo "run benches/make-bench-core.sh first" >&2; exit 1; }
cat "$B/bench100k.core" > /dev/null # warm the page cache
run() { # $1: output path, then extra flags
  local out=$1; shift
  for i in 1 2 3 4 5 6 7; do
    /usr/bin/time -f "%e %M" ./target/release/gotopsy analyze --format json "$B/bench100k.core" --exe "$B/bench100k" "$@" 2>&1 >"$out" | tail -1
  done | sort -n | awk '{w[NR]=$1; if ($2>m) m=$2} END {printf "median wall %.2f s (min %.2f, max %.2f), peak RSS %.0f MB\n", w[4], w[1], w[7], m/1024}'
}
echo "core: $(du -h --apparent-size $B/bench100k.core | cut -f1), goroutines: $(grep -c '^goroutine ' $B/bench100k.txt)"
echo -n "to /dev/null:            "; run /dev/null
echo -n "to /dev/null, --no-maps: "; run /dev/null --no-maps
echo -n "to a file:               "; run "$B/out.json"; echo "JSON size: $(du -h $B/out.json | cut -f1)"
