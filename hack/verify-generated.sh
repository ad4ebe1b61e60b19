#!/usr/bin/env bash
# Fails when the committed generated files (deepcopy, CRD, RBAC) are not what the
# kubebuilder markers produce now. Generates into a temporary directory, so the work tree
# is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go tool controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/... \
  output:object:dir="$tmp/object"
go tool controller-gen rbac:roleName=manager-role crd paths=./api/... paths=./controllers/... \
  output:crd:artifacts:config="$tmp/crd" output:rbac:artifacts:config="$tmp/rbac"

stale=0
check() { # check GENERATED COMMITTED
  if ! diff -u "$2" "$1" >"$tmp/diff" 2>&1; then
    echo "stale generated file: $2 (run 'make generate manifests' and commit)" >&2
    head -40 "$tmp/diff" >&2
    stale=1
  fi
}
check "$tmp/object/zz_generated.deepcopy.go" api/v1alpha1/zz_generated.deepcopy.go
for f in "$tmp"/crd/*.yaml; do check "$f" "config/crd/bases/$(basename "$f")"; done
for f in config/crd/bases/*.yaml; do
  [[ -f "$tmp/crd/$(basename "$f")" ]] || { echo "generated file without a source: $f" >&2; stale=1; }
done
if [[ -f "$tmp/rbac/role.yaml" ]]; then check "$tmp/rbac/role.yaml" config/rbac/role.yaml; fi
# The Helm chart carries copies of the CRD and the manager's rules.
./hack/sync-chart.sh "$tmp/crd" "$tmp/rbac/role.yaml" "$tmp/chart"
for f in "$tmp"/chart/crds/*.yaml; do check "$f" "charts/salesconnection-operator/crds/$(basename "$f")"; done
check "$tmp/chart/files/manager-rules.yaml" charts/salesconnection-operator/files/manager-rules.yaml
# The API reference is generated from the CRD.
go run ./hack/gen-api-docs -crd "$tmp/crd/sales.bcconnect.io_salesconnections.yaml" -out "$tmp/api-reference.md"
check "$tmp/api-reference.md" docs/api-reference.md
exit $stale
