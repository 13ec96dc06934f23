#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions (default 10,000,000) from the
# committed corpus, and prints each target's executions and speed (the
# figures recorded in docs/security.md). Needs a nightly toolchain and
# cargo-fuzz: cargo install cargo-fuzz.
# Built with debug assertions (-a: overflow checks on, so an arithmetic
# overflow is a crash) and without a sanitizer (-s none): the parsers have no
# unsafe code for AddressSanitizer to watch, and it made them 4x slower.
# Usage: fuzz/run.sh [TARGET...]    RUNS=1000000 fuzz/run.sh core_file
#        SECONDS_EACH=900 fuzz/run.sh trace    (stop after that long instead)
#        CPU_SECONDS=3600 fuzz/run.sh walkers  (stop after one CPU-hour of the
#          fuzzer's own time, however busy the machine: it is interrupted then,
#          and its final stats give the executions)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10000000}
limit=(); [ -z "${SECONDS_EACH:-}" ] || limit=(-max_total_time="$SECONDS_EACH")
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(core_file build_info trace crash_log saved_report pclntab dwarf walkers)
# Longest input per target: a core's headers and notes, a trace's first batches, a log's crash.
# final LOG NAME: the last figure NAME has in a libFuzzer log.
final() { grep -o "$2: *[0-9]*" "$1" | tail -1 | grep -o '[0-9]*$' || true; }
tick=$(getconf CLK_TCK)
declare -A max_len=([core_file]=65536 [build_info]=4096 [trace]=32768 [crash_log]=4096 [saved_report]=16384 [pclntab]=4096 [dwarf]=65536 [walkers]=4096)
for t in "${targets[@]}"; do
  work=$(mktemp -d)
  cp fuzz/corpus/"$t"/* "$work"/
  start=$(date +%s)
  nice cargo +nightly fuzz run -O -a -s none "$t" "$work" -- -runs="$runs" -max_len="${max_len[$t]:-65536}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${limit[@]}" \
    > "$work/log" 2>&1 &
  fuzz=$!
  if [ -n "${CPU_SECONDS:-}" ]; then
    # The fuzzer is the process running the target's binary; stop it by SIGINT
    # once its user+system time reaches CPU_SECONDS.
    while kill -0 "$fuzz" 2>/dev/null; do
      sleep 20
      pid=$(pgrep -n -f "fuzz/target/.*/release/$t " || true)
      [ -n "$pid" ] || continue
      ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
      if [ $(( ticks / tick )) -ge "$CPU_SECONDS" ]; then kill -INT "$pid"; touch "$work/stopped"; break; fi
    done
  fi
  rc=0; wait "$fuzz" || rc=$?
  if [ "$rc" -ne 0 ] && ! { [ -e "$work/stopped" ] && grep -q 'run interrupted' "$work/log"; }; then
    echo "$t: FAILED (crash input under fuzz/artifacts/$t)"; tail -20 "$work/log"; exit 1
  fi
  secs=$(( $(date +%s) - start ))
  echo "$t: $(final "$work/log" number_of_executed_units) executions (wall ${secs}s, $(final "$work/log" average_exec_per_sec) exec/s, cov $(final "$work/log" cov)$([ -e "$work/stopped" ] && echo ", stopped at ${CPU_SECONDS} CPU seconds"))"
  rm -rf "$work"
done
