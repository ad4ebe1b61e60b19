#!/usr/bin/env bash
# Prints BASE (default config/default; config/namespaced for the namespaced operator)
# rendered with the manager image set to IMAGE and the kustomize COMPONENTs added (such
# as config/components/egress-network-policy): what `make deploy` applies and `make
# undeploy` removes. BASE and COMPONENTs are paths from the repository root. IMAGE is
# name[:tag] or name@digest; a registry port (localhost:5000/op:v1) is not mistaken for
# a tag. KUBECTL names the kubectl to render with (default: the one
# hack/build-controlplane.sh builds).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
image=${1:?usage: render-deploy.sh IMAGE [BASE [COMPONENT...]]}
base=${2:-config/default}
components=("${@:3}")
kubectl=${KUBECTL:-$("$root/hack/build-controlplane.sh" --print-dir)/kubectl}

name=$image tag="" digest=""
if [[ $image == *@* ]]; then
  name=${image%%@*} digest=${image#*@}
elif [[ ${image##*/} == *:* ]]; then
  name=${image%:*} tag=${image##*:}
fi

# kustomize takes only relative paths to bases, so the overlay lives inside the repository.
overlay=$(mktemp -d "$root/.deploy.XXXXXX")
trap 'rm -rf "$overlay"' EXIT
{
  echo "resources:"
  echo "- ../$base"
  if ((${#components[@]})); then
    echo "components:"
    for c in "${components[@]}"; do echo "- ../$c"; done
  fi
  echo "images:"
  echo "- name: controller"
  echo "  newName: $name"
  if [[ -n $tag ]]; then echo "  newTag: \"$tag\""; fi  # quoted: a tag "2" is a string
  if [[ -n $digest ]]; then echo "  digest: $digest"; fi
} >"$overlay/kustomization.yaml"
"$kubectl" kustomize "$overlay"
