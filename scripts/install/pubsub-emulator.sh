#!/usr/bin/env bash
# Builds the local Pub/Sub emulator (tools/pubsub-emulator) into OUT_DIR.
#
# Usage: bash scripts/install/pubsub-emulator.sh OUT_DIR
#
# Idempotent: a stamp file in OUT_DIR holds the sha256 of the sources the binary
# was built from, so a re-run with unchanged sources does nothing (no go call).
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
src_dir="$repo_root/tools/pubsub-emulator"
mkdir -p "$1"
out_dir="$(cd "$1" && pwd)"
bin="$out_dir/pubsub-emulator"
stamp="$out_dir/pubsub-emulator.sha256"

# One digest over all inputs; the file names are part of it so a swap shows.
want="$(cd "$src_dir" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -d' ' -f1)"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "pubsub-emulator: up to date ($bin)"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "pubsub-emulator: 'go' not found on PATH; install Go 1.26+" >&2
  exit 1
fi

echo "pubsub-emulator: building with $(go version | cut -d' ' -f3) (a cold build downloads ~75 MB of modules)"
start=$SECONDS
# Build to a temp name and rename, so an interrupted build never leaves a
# half-written binary that a matching stamp would bless.
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# -buildvcs=false: stamping runs git, which fails in some CI checkouts.
(cd "$src_dir" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -mod=readonly -o "$tmp" .)
mv -f "$tmp" "$bin"
echo "$want" >"$stamp"
echo "pubsub-emulator: built $bin in $((SECONDS - start))s"
