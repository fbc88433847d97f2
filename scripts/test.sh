#!/usr/bin/env bash
# The whole test suite: type-check, lint, then every vitest project. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
results=node_modules/.cache/vitest-results.json
mkdir -p node_modules/.cache
rm -f "$results"
status=0
extra_passed=0 extra_failed=0
step() {
  local name=$1; shift
  echo "== $name: $*"
  if "$@"; then extra_passed=$((extra_passed + 1)); else extra_failed=$((extra_failed + 1)); status=1; echo "== $name FAILED"; fi
}
step typecheck npx tsc -b
step lint npx biome check .
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=1
node scripts/summarize-results.mjs "$results" "$extra_passed" "$extra_failed" || status=1
exit $status
