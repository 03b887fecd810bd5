#!/usr/bin/env bash
# The test command (README: `npm test`): sets up what is missing, lints, type-checks, builds, and runs every
# test against real etcd, RabbitMQ, the Kafka-protocol cluster, kubectl and VS Code (code-server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/setup.sh
echo "== lint" && npx eslint .
# Tests are compiled with the rest (npm run build in setup.sh) and run from dist/ with node's test runner.
mapfile -t files < <(find dist -name '*.test.js' -not -path '*/node_modules/*' | sort)
if [ -n "${SR_TEST_FILTER:-}" ]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -E "$SR_TEST_FILTER")
fi
echo "== ${#files[@]} test files"
node --test --test-concurrency=1 --test-timeout=600000 "${files[@]}"
if [ -f extension/package.json ] && [ -z "${SR_TEST_FILTER:-}" ]; then
  echo "== extension" && bash hack/test-extension.sh
fi
