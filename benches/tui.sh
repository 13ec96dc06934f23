#!/usr/bin/env bash
# The terminal UI on the benchmark cores, driven in tmux: seconds until the
# overview is up (against `analyze --format json` on the same core in the same
# run), the slowest frame drawn, the slowest key handled (a filter by function
# over every goroutine, flat), and peak RSS of both.
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
  sock=gotopsy-bench-$$
  rm -f "$B/tui.stats" "$B/tui.time"
  tmux -L "$sock" new-session -d -s b -x 160 -y 48 \
    "GOTOPSY_TUI_STATS=$B/tui.stats /usr/bin/time -f '%e %M' -o $B/tui.time $G tui $B/$name.core --exe $B/$name"
  start=$(date +%s.%N)
  until tmux -L "$sock" capture-pane -t b -p | grep -q "^│crash "; do sleep 0.05; done
  up=$(echo "$(date +%s.%N) - $start" | bc)
  # Flat list, then a filter by function typed key by key, then scroll to the end.
  tmux -L "$sock" send-keys -t b 2 b / f n : r a n g e B o d y Enter G
  sleep 2
  tmux -L "$sock" send-keys -t b q
  while [ ! -s "$B/tui.time" ]; do sleep 0.1; done
  tmux -L "$sock" kill-server 2>/dev/null || true
  read -r _ trss < "$B/tui.time"
  echo "$name: analyze --format json ${awall} s, ${arss} KB; tui overview up ${up} s (seen in tmux), peak RSS ${trss} KB; $(tr '\n' ' ' < "$B/tui.stats")"
done
