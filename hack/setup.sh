#!/usr/bin/env bash
# One-time (idempotent) set-up: system packages, npm dependencies, the dev Kafka cluster, the build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/install-system-packages.sh
bash hack/ensure-rabbitmq.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash hack/build-kafka-mock.sh
npm run build --silent
