#!/usr/bin/env bash
# The test command (README: `npm test`): sets up what is missing, lints, type-checks, builds, and runs every
# test against real etcd, RabbitMQ, the Kafka-protocol cluster, kubectl and VS Code (code-server).
#
# Two lanes run side by side, each one file at a time: one runs the end-to-end files that start a whole `sr up`
# (dist/test/e2e), the other the extension's tests; then both take the other test files from one shared queue
# until it is empty. Most of a test's time is spent waiting on brokers and processes, so two lanes nearly halve the
# wall time without ever running two `sr up`s at once. Every file's output is printed when it ends, with its time; a
# summary of both lanes closes the run.
#   SR_TEST_FILTER=regex   only the test files whose path matches (and no extension tests)
#   SR_TEST_LANES=1        one lane (everything in sequence)
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/setup.sh
echo "== lint" && npx eslint .

# Tests are compiled with the rest (npm run build in setup.sh) and run from dist/ with node's test runner.
mapfile -t files < <(find dist -name '*.test.js' -not -path '*/node_modules/*' | sort)
if [ -n "${SR_TEST_FILTER:-}" ]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -E "$SR_TEST_FILTER" || true)
fi
e2e=() rest=()
for f in "${files[@]}"; do
  if [[ "$f" == dist/test/e2e/* ]]; then e2e+=("$f"); else rest+=("$f"); fi
done
with_extension=0
if [ -f extension/package.json ] && [ -z "${SR_TEST_FILTER:-}" ]; then with_extension=1; fi
echo "== ${#files[@]} test files: ${#e2e[@]} end-to-end, ${#rest[@]} others$([ $with_extension = 1 ] && echo ', and the extension')"

logs="$(mktemp -d -t sr-test-XXXXXX)"
trap 'rm -rf "$logs"' EXIT

# run_file LANE FILE: the file alone (node --test spawns it), its output printed whole when it ends.
run_file() {
  local lane=$1 f=$2 log start status
  log="$logs/$lane.${f//\//_}.log"
  start=$SECONDS
  if node --test --test-timeout=600000 "$f" >"$log" 2>&1; then status=ok; else status=FAILED; fi
  { cat "$log"; echo "== $status in $((SECONDS - start)) s: $f"; } | sed "s/^/[$lane] /"
  echo "$status $((SECONDS - start)) $f" >>"$logs/$lane.summary"
  [ $status = ok ]
}

# next_queued: the next file of the shared queue (empty when none is left); flock keeps the two lanes apart.
printf '%s\n' "${rest[@]}" >"$logs/queue"
next_queued() {
  flock "$logs/queue.lock" sh -c 'head -n 1 "$1"; sed -i 1d "$1"' _ "$logs/queue"
}

# run_lane LANE FILE...: the given files, then queued ones until the queue is empty.
run_lane() {
  local lane=$1 failed=0 f; shift
  for f in "$@"; do run_file "$lane" "$f" || failed=1; done
  while f=$(next_queued) && [ -n "$f" ]; do run_file "$lane" "$f" || failed=1; done
  return $failed
}

extension_tests() {
  local start=$SECONDS status=ok
  bash hack/test-extension.sh >"$logs/extension.log" 2>&1 || status=FAILED
  sed 's/^/[extension] /' "$logs/extension.log"
  echo "$status $((SECONDS - start)) extension (hack/test-extension.sh)" >>"$logs/extension.summary"
  [ $status = ok ]
}

started=$SECONDS
lanes_ok=1
if [ "${SR_TEST_LANES:-2}" = 1 ]; then
  run_lane all "${e2e[@]}" || lanes_ok=0
  if [ $with_extension = 1 ]; then extension_tests || lanes_ok=0; fi
else
  run_lane e2e "${e2e[@]}" & e2e_pid=$!
  ( ok=0
    if [ $with_extension = 1 ]; then extension_tests || ok=1; fi
    run_lane rest || ok=1
    exit $ok ) & rest_pid=$!
  wait $e2e_pid || lanes_ok=0
  wait $rest_pid || lanes_ok=0
fi

# Node's own counts, summed over files (each file's run ends with `# tests N`, `# pass N`, ...).
count() { cat "$logs"/*.test.js.log 2>/dev/null | sed -n "s/^# $1 \([0-9]*\)$/\1/p" | awk '{s+=$1} END {print s+0}'; }
echo "== slowest files"
cat "$logs"/*.summary | sort -k2 -n -r | head -15 | sed 's/^/   /'
echo "== node tests: $(count tests) tests, $(count pass) pass, $(count fail) fail, $(count skipped) skipped, $(count todo) todo, $(count cancelled) cancelled"
echo "== wall time $((SECONDS - started)) s"
if grep -h '^FAILED' "$logs"/*.summary; then
  lanes_ok=0
  # The failures again, last, so a log read from its tail (CI keeps the tail) shows what broke and why.
  echo "== failures"
  for log in "$logs"/*.log; do
    if grep -q '^not ok\|^ *not ok' "$log"; then
      echo "-- ${log##*/}"
      grep -A 14 -E '^ *not ok' "$log" | grep -v -E '^ *(duration_ms|type|failureType|code):' | head -40
    fi
  done
fi
[ $lanes_ok = 1 ]
