#!/usr/bin/env bash
# The trace join's memory (issue 12, point 4: at most analyze's own peak RSS
# + 2x the trace + 100 MB): fixtures/programs/bench100k traced into a file
# while it parks GOROUTINES goroutines, then crashed; gotopsy analyze on its
# core without and with --trace, RUNS runs each, interleaved.
# Usage: benches/join-memory.sh [GOROUTINES] [RUNS]   (default 100000, 3)
# Writes target/bench/join{N}k{,.core,.trace,.txt}; not committed.
set -euo pipefail
source "$(dirname "$0")/go127.sh"
count=${1:-100000}
runs=${2:-3}
name=join$((count / 1000))k
cp "$here/fixtures/programs/bench100k/"* "$work/"
(cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" GOCACHE="$work/cache" GOPATH="$work/gopath" GOTOOLCHAIN=local \
   CGO_ENABLED=0 "$go" build -trimpath -o "$out/$name" .)
rm -f "$work"/core*
(cd "$work" && ulimit -c unlimited && exec env -i GOTRACEBACK=crash GOMAXPROCS=2 "$out/$name" "$count" "$out/$name.trace") \
  > "$out/$name.txt" 2>&1 || true
mv "$work"/core* "$out/$name.core"
gotopsy="$here/target/release/gotopsy"
trace_kb=$(( $(stat -c %s "$out/$name.trace") / 1024 ))
echo "core $(( $(stat -c %s "$out/$name.core") / 1048576 )) MiB, trace $((trace_kb / 1024)) MiB"
for i in $(seq "$runs"); do
  for mode in alone joined; do
    extra=(); [ "$mode" = alone ] || extra=(--trace "$out/$name.trace")
    /usr/bin/time -f "$mode %e s %M KB" "$gotopsy" analyze "$out/$name.core" --exe "$out/$name" --format json "${extra[@]}" \
      2>&1 >/dev/null | tail -1
  done
done | sort | awk -v t="$trace_kb" '
  { w[$1] = w[$1] " " $2; if ($4 > m[$1]) m[$1] = $4 }
  END { print "alone: wall" w["alone"] " s, peak " m["alone"] " KB";
        print "joined: wall" w["joined"] " s, peak " m["joined"] " KB";
        print "bound (alone + 2x trace + 100 MB): " m["alone"] + 2 * t + 102400 " KB" }'
