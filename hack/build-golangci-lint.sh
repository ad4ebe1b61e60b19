#!/usr/bin/env bash
# Builds golangci-lint from the Go module proxy into bin/golangci-lint/<version>/, for
# `make lint`. Skipped when already built. The version is the one hack/golangci-lint/go.mod
# pins; the ldflags make `golangci-lint version` report it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module_dir="$root/hack/golangci-lint"
version=$(go -C "$module_dir" list -m -f '{{.Version}}' github.com/golangci/golangci-lint/v2)
out="$root/bin/golangci-lint/$version"

if [[ "${1:-}" == "--print-path" ]]; then
  echo "$out/golangci-lint"
  exit 0
fi
[[ -x "$out/golangci-lint" ]] && exit 0
mkdir -p "$out"
echo "building golangci-lint $version into $out (first run only; a few minutes)" >&2
go -C "$module_dir" build -trimpath -o "$out/golangci-lint.tmp" \
  -ldflags "-s -w -X main.version=${version#v} -X main.date=(unknown)" \
  github.com/golangci/golangci-lint/v2/cmd/golangci-lint
mv "$out/golangci-lint.tmp" "$out/golangci-lint"
