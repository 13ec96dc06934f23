#!/usr/bin/env bash
# The terminal UI on the benchmark cores, driven in tmux: seconds until the
# overview is up (against `analyze --format json` on the same core in the same
# run), the slowest frame drawn, the slowest key handled (a filter by function
# over every goroutine, flat), and peak RSS of both; then a second run that
# walks the memory view (the crashing goroutine's g, its m, the mspan holding
# the g, a map header) and reports its slowest frame and key.
# Make the cores first: benches/make-bench-core.sh [1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
B=target/bench
G=./target/release/gotopsy
for name in ${CORES:-bench100k bench1000k}; do
  [ -f "$B/$name.core" ] || { echo "skip $name: run benches/make-bench-core.sh first" >&2; continue; }
  cat "$B/$name.core" > /dev/null
  /usr/bin/time -f "%e %M" -o "$B/analyze.time" "$G" analyze --format json "$B/$name.core" --exe "$B/$name" > /dev/null
  read -r awall arss < "$B/analyze.time"
  # run_tui KEYS...: the UI in tmux, KEYS sent once the overview is up; sets up, trss, stats.
  run_tui() {
    local sock=gotopsy-bench-$$
    rm -f "$B/tui.stats" "$B/tui.time"
    tmux -L "$sock" new-session -d -s b -x 160 -y 48 \
      "GOTOPSY_TUI_STATS=$B/tui.stats /usr/bin/time -f '%e %M' -o $B/tui.time $G tui $B/$name.core --exe $B/$name"
    local start; start=$(date +%s.%N)
    until tmux -L "$sock" capture-pane -t b -p | grep -q "^│crash "; do sleep 0.05; done
    up=$(echo "$(date +%s.%N) - $start" | bc)
    for k in "$@"; do tmux -L "$sock" send-keys -t b "$k"; sleep 0.2; done
    sleep 2
    tmux -L "$sock" send-keys -t b q
    while [ ! -s "$B/tui.time" ]; do sleep 0.1; done
    tmux -L "$sock" kill-server 2>/dev/null || true
    read -r _ trss < "$B/tui.time"
    stats=$(tr '\n' ' ' < "$B/tui.stats")
  }
  # Flat list, then a filter by function typed key by key, then scroll to the end.
  run_tui 2 b / f n : r a n g e B o d y Enter G
  echo "$name: analyze --format json ${awall} s, ${arss} KB; tui overview up ${up} s (seen in tmux), peak RSS ${trss} KB; $stats"
  # The memory view: the g (Enter), its m (the 8th field), back, the g's mspan (s), back to the roots, a map header.
  run_tui 5 Enter j j j j j j j Enter Escape s Escape Escape j j j Enter j j j Enter
  echo "$name memory view: peak RSS ${trss} KB; $stats"
done
