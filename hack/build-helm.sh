#!/usr/bin/env bash
# Builds helm from the Go module proxy into bin/helm/<version>/helm, for the test that
# renders the chart. Skipped when already built.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module_dir="$root/hack/helm"
version=$(go -C "$module_dir" list -m -f '{{.Version}}' helm.sh/helm/v3)
out="$root/bin/helm/$version"

if [[ "${1:-}" == "--print-path" ]]; then
  echo "$out/helm"
  exit 0
fi
[[ -x "$out/helm" ]] && exit 0
mkdir -p "$out"
echo "building helm $version into $out (first run only)" >&2
go -C "$module_dir" build -trimpath -o "$out/helm.tmp" \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" helm.sh/helm/v3/cmd/helm
mv "$out/helm.tmp" "$out/helm"
