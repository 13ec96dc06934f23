#!/usr/bin/env bash
# Wall time and peak RSS of `gotopsy analyze --format json` on the
# 100,000-goroutine benchmark core (warm page cache, uncompressed core),
# 9 interleaved runs each: with maps, --no-maps (both to /dev/null), and with
# maps to a file. Prints the median of each.
# Make the core first: benches/make-bench-core.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
B=target/bench
[ -f "$B/bench100k.core" ] || { echo "run benches/make-bench-core.sh first" >&2; exit 1; }
cat "$B/bench100k.core" > /dev/null # warm the page cache
# The runs of each configuration are interleaved (maps, no maps, to a file,
# then again), so a noisy host's slow and fast minutes fall on all of them.
N=${N:-9}
for i in $(seq $N); do
  for cfg in maps nomaps file; do
    case $cfg in
      maps) out=/dev/null; flags=() ;;
      nomaps) out=/dev/null; flags=(--no-maps) ;;
      file) out="$B/out.json"; flags=() ;;
    esac
    /usr/bin/time -f "$cfg %e %U %M" ./target/release/gotopsy analyze --format json "$B/bench100k.core" --exe "$B/bench100k" "${flags[@]}" 2>&1 >"$out" | tail -1
  done
done > "$B/runs.txt"
echo "core: $(du -h --apparent-size $B/bench100k.core | cut -f1), goroutines: $(grep -c '^goroutine ' $B/bench100k.txt)"
for cfg in maps nomaps file; do
  grep "^$cfg " "$B/runs.txt" | sort -k2 -n | awk -v c=$cfg '{w[NR]=$2; u[NR]=$3; if ($4>m) m=$4} END {printf "%-7s median wall %.2f s (min %.2f, max %.2f), median user %.2f s, peak RSS %.0f MB\n", c, w[int((NR+1)/2)], w[1], w[NR], u[int((NR+1)/2)], m/1024}'
done
echo "JSON size: $(du -h $B/out.json | cut -f1)"
