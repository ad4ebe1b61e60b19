#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, etcd, and the kubectl the demo and the
# tests drive it with) from source through the Go
# module proxy into bin/k8s/<version>/, the directory envtest reads through
# KUBEBUILDER_ASSETS. Nothing is downloaded from anywhere else. The build is skipped when
# both binaries already exist, so only a fresh machine pays for it (about 5 minutes on
# 2 cores).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
module_dir="$root/hack/controlplane"
kube_version=$(go -C "$module_dir" list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd_version=$(go -C "$module_dir" list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
out="$root/bin/k8s/$kube_version"

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$out"
  exit 0
fi

# The components to build: all by default, or those named (`make deploy` needs only kubectl).
components=("$@")
if [[ ${#components[@]} -eq 0 ]]; then
  components=(etcd kube-apiserver kubectl)
fi
missing=()
for c in "${components[@]}"; do
  case "$c" in
    etcd | kube-apiserver | kubectl) ;;
    *) echo "build-controlplane.sh: unknown component $c (etcd, kube-apiserver, kubectl)" >&2; exit 2 ;;
  esac
  [[ -x "$out/$c" ]] || missing+=("$c")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
mkdir -p "$out"

minor=${kube_version#v*.}
minor=${minor%%.*}
major=${kube_version#v}
major=${major%%.*}

if [[ " ${missing[*]} " == *" etcd "* ]]; then
  echo "building etcd $etcd_version into $out (first run only)" >&2
  go -C "$module_dir" build -trimpath -o "$out/etcd.tmp" \
    -ldflags "-s -w" ./etcd
  mv "$out/etcd.tmp" "$out/etcd"
fi

# Version ldflags make discovery (and kubectl version) report the real release.
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor \
  -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
for cmd in kube-apiserver kubectl; do
  [[ " ${missing[*]} " == *" $cmd "* ]] || continue
  note="first run only"
  [[ $cmd == kube-apiserver ]] && note="first run only; about 5 minutes"
  echo "building $cmd $kube_version into $out ($note)" >&2
  go -C "$module_dir" build -trimpath -o "$out/$cmd.tmp" -ldflags "$ldflags" "k8s.io/kubernetes/cmd/$cmd"
  mv "$out/$cmd.tmp" "$out/$cmd"
done
