#!/usr/bin/env bash
# gotopsy scan at scale (issue 10, point 9): N inputs — real fixture cores of
# Go 1.21.13 and 1.27.3 (decompressed once into target/scanbench/) and the
# crash logs the runtime printed for them, as symlinks cycled up to N, 3 cores
# to 2 logs — scanned with --exe-dir for N = 250, 500, 1000 (time linear in N,
# peak RSS); then the Go 1.27.3 fixture cores scanned against `analyze
# --format json` on each of them one after another.
#
# Usage: benches/scan.sh [RUNS]   (default 3; needs target/release/gotopsy and /usr/bin/time)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$here/target/release/gotopsy
runs=${1:-3}
w=$here/target/scanbench
mkdir -p "$w/src" "$w/exes"
cores=(); logs=()
for v in go1.21.13 go1.27.3; do
  mkdir -p "$w/exes/$v"
  for prog in crashzoo crashhang crashiter crashtrace crashcgo; do
    f=$here/fixtures/$v/$prog.zst
    [ -f "$f" ] && [ ! -f "$w/exes/$v/$prog" ] && zstd -dqf "$f" -o "$w/exes/$v/$prog"
  done
  for c in "$here"/fixtures/$v/*.core.zst; do
    s=$(basename "$c" .core.zst)
    [ "$s" = snapshot ] && continue
    out=$w/src/$v-$s.core
    [ -f "$out" ] || zstd -dqf "$c" -o "$out"
    cores+=("$out")
    log=$w/src/$v-$s.log
    [ -f "$log" ] || zstd -dqf "$here/fixtures/$v/$s.txt.zst" -o "$log"
    logs+=("$log")
  done
done
for n in 250 500 1000; do
  d=$w/in-$n; rm -rf "$d"; mkdir -p "$d"
  for i in $(seq 0 $((n - 1))); do
    if [ $((i % 5)) -lt 3 ]; then
      ln -s "${cores[$((i % ${#cores[@]}))]}" "$d/core-$i.core"
    else
      ln -s "${logs[$((i % ${#logs[@]}))]}" "$d/log-$i.log"
    fi
  done
  for r in $(seq "$runs"); do
    /usr/bin/time -f "scan $n inputs: %e s wall, %U s user, %M KB peak RSS" \
      "$bin" scan "$d" --exe-dir "$w/exes" --format json -o "$w/out-$n.json"
  done
done
# Scan against analyze one after another, the Go 1.27.3 cores.
d=$w/in-127; rm -rf "$d"; mkdir -p "$d"
ln -s "$w"/src/go1.27.3-*.core "$d/"
for r in $(seq "$runs"); do
  start=$(date +%s.%N)
  for c in "$d"/*.core; do
    s=$(basename "$c" .core); s=${s#go1.27.3-}
    case $s in cgo) p=crashcgo;; tracemapwrites|tracestartonly) p=crashtrace;; iterfuncs) p=crashiter;;
      sigquit|sigabrt) p=crashhang;; *) p=crashzoo;; esac
    "$bin" analyze "$c" --exe "$w/exes/go1.27.3/$p" --format json >/dev/null 2>&1
  done
  mid=$(date +%s.%N)
  "$bin" scan "$d" --exe-dir "$w/exes/go1.27.3" --format json >/dev/null
  end=$(date +%s.%N)
  echo "analyze each: $(echo "$mid - $start" | bc) s; scan: $(echo "$end - $mid" | bc) s"
done
