#!/usr/bin/env bash
# Writes target/bench/pingpong.trace (~100 MB, Go 1.27.3, 32 ping-pong pairs); not committed.
set -euo pipefail
source "$(dirname "$0")/go127.sh"
cp "$here/fixtures/programs/tracepingpong/"* "$work/"
(cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" GOCACHE="$work/cache" GOTOOLCHAIN=local CGO_ENABLED=0 "$go" build -trimpath -o tracepingpong .)
env -i GOMAXPROCS=2 "$work/tracepingpong" "$out/pingpong.trace" 100
ls -la "$out/pingpong.trace"
