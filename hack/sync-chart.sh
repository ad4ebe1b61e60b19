#!/usr/bin/env bash
# Copies the generated CRD and the manager's RBAC rules into the Helm chart, so the chart
# is kept in step with config/ (verify-generated.sh checks it).
# Usage: sync-chart.sh [CRD_DIR ROLE_YAML OUT_DIR] (defaults: config/ into the chart).
set -euo pipefail
cd "$(dirname "$0")/.."
crd_dir=${1:-config/crd/bases}
role=${2:-config/rbac/role.yaml}
chart=${3:-charts/salesconnection-operator}
mkdir -p "$chart/crds" "$chart/files"
cp "$crd_dir"/*.yaml "$chart/crds/"
# The rules of the generated ClusterRole, without its header.
sed -n '/^rules:/,$p' "$role" | tail -n +2 > "$chart/files/manager-rules.yaml"
