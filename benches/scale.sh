#!/usr/bin/env bash
# Issue 8's scale figures: wall and peak RSS of `gotopsy analyze --format json`
# (to /dev/null, warm page cache) on the 100,000- and the 1,000,000-goroutine
# benchmark cores, runs interleaved (100k, 1M, 100k, ...) so that a noisy
# host's slow minutes fall on both; prints the medians and the 1M/100k ratio.
# With BEFORE=path/to/gotopsy, that build's runs are interleaved too.
# Make the cores first: benches/make-bench-core.sh && benches/make-bench-core.sh 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
B=target/bench
for c in bench100k bench1000k; do
  [ -f "$B/$c.core" ] || { echo "$B/$c.core is missing: run benches/make-bench-core.sh (and with 1000000)" >&2; exit 1; }
  cat "$B/$c.core" > /dev/null # warm the page cache
done
N=${N:-5}
bins=(./target/release/gotopsy)
[ -n "${BEFORE:-}" ] && bins=("$BEFORE" "${bins[@]}")
for i in $(seq "$N"); do
  for c in bench100k bench1000k; do
    for bin in "${bins[@]}"; do
      /usr/bin/time -f "$bin $c %e %U %M" "$bin" analyze --format json "$B/$c.core" --exe "$B/$c" 2>&1 >/dev/null | tail -1
    done
  done
done > "$B/scale.txt"
for bin in "${bins[@]}"; do
  for c in bench100k bench1000k; do
    w=$(grep "^$bin $c " "$B/scale.txt" | sort -k3 -n | awk '{w[NR]=$3} END {printf "%.2f s (min %.2f, max %.2f)", w[int((NR+1)/2)], w[1], w[NR]}')
    r=$(grep "^$bin $c " "$B/scale.txt" | sort -k5 -n | awk '{r[NR]=$5} END {printf "%.0f MiB (min %.0f, max %.0f)", r[int((NR+1)/2)]/1024, r[1]/1024, r[NR]/1024}')
    echo "$bin $c: median wall $w, median peak RSS $r"
  done
  m1=$(grep "^$bin bench100k " "$B/scale.txt" | sort -k3 -n | awk '{w[NR]=$3} END {print w[int((NR+1)/2)]}')
  m2=$(grep "^$bin bench1000k " "$B/scale.txt" | sort -k3 -n | awk '{w[NR]=$3} END {print w[int((NR+1)/2)]}')
  echo "$bin 1M/100k median wall: $(echo "scale=1; $m2 / $m1" | bc)x"
done
