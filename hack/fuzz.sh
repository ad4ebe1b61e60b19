#!/usr/bin/env bash
# Runs every fuzz target of the module in turn: `go test -fuzz` takes one target of one
# package per run, so this finds each `func FuzzXxx(f *testing.F)` in the packages' test
# files and fuzzes it for FUZZTIME, one after the other (never two at once). It stops at
# the first failure; go test has then written the failing input to the package's
# testdata/fuzz/FuzzXxx/, where it stays as a regression case once the bug is fixed.
#
# Usage: hack/fuzz.sh [PACKAGES...]   (default ./...)
#   FUZZTIME          time per target, as -fuzztime takes it (default 30s; 1000x = runs)
#   FUZZ_PARALLEL     fuzzing workers per target (default: go test's, GOMAXPROCS)
#   FUZZMINIMIZETIME  time to minimize a new input (default 10s; go test's is 60s, which
#                     short campaigns spend mostly minimizing rather than fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-30s}
minimize=${FUZZMINIMIZETIME:-10s}
extra=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then
  extra+=("-parallel=${FUZZ_PARALLEL}")
fi
[ $# -gt 0 ] || set -- ./...

# "dir importpath test files..." for each package with test files.
targets=()
while read -r dir pkg files; do
  [ -n "$files" ] || continue
  for f in $files; do
    while read -r name; do
      targets+=("$pkg $name")
    done < <(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\([A-Za-z_][A-Za-z0-9_]* \*testing\.F\).*/\1/p' "$dir/$f")
  done
done < <(go list -f '{{.Dir}} {{.ImportPath}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}' "$@")

if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets in $*" >&2
  exit 1
fi
echo "fuzzing ${#targets[@]} targets for ${fuzztime} each"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
summary=()
for t in "${targets[@]}"; do
  pkg=${t% *} name=${t#* }
  echo "==> ${name} (${pkg})"
  start=$SECONDS
  if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="${fuzztime}" -fuzzminimizetime="${minimize}" \
    ${extra[@]+"${extra[@]}"} "${pkg}" 2>&1 | tee "$log"; then
    echo "FAIL: ${name} in ${pkg}: the failing input is in its testdata/fuzz/${name}/" >&2
    exit 1
  fi
  # The last progress line has the totals: "fuzz: elapsed: 1m0s, execs: 123 (...), new interesting: 4 (total: 20)".
  last=$({ grep -E '^fuzz: elapsed: .*execs: ' "$log" || echo "no progress line"; } | tail -n 1 |
    sed -E 's/^fuzz: elapsed: ([^,]*), execs: ([0-9]+) .*new interesting: ([0-9]+) \(total: ([0-9]+)\).*/elapsed \1, execs \2, new interesting \3, corpus \4/')
  summary+=("$(printf '%-28s %-62s %s (wall %ds)' "${name}" "${pkg}" "${last}" $((SECONDS - start)))")
done

echo
echo "all ${#targets[@]} fuzz targets passed (FUZZTIME=${fuzztime}):"
printf '  %s\n' "${summary[@]}"
