#!/usr/bin/env bash
# Tests the VS Code extension (extension/): installs what is missing (Debian packages, code-server 4.100.3, the
# extension's npm dependencies), builds it, runs the unit, language-server and webview tests, then the integration
# tests in a real code-server against a real `sr apiserver` on etcd (which also package the .vsix and install it).
# Screenshots land in docs/images/. Called by hack/test.sh; runnable alone.
#   SR_EXT_SKIP_INTEGRATION=1  only the fast tests
#   SR_EXT_TEST_FILTER=regex   only the extension-host tests whose name matches
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
started=$(date +%s)

SR_WITH_EDITOR=1 bash hack/install-system-packages.sh
CODE_SERVER="$(bash hack/install-code-server.sh)"
export SR_CODE_SERVER="$CODE_SERVER"

cd extension
# The integration tests start the real API server from the repository's build (dist/).
if [ ! -f "$ROOT/dist/cli/sr.js" ]; then (cd "$ROOT" && npx tsc -p tsconfig.json >/dev/null || true); fi
# Reinstall only when the manifest or lock changed since the last install (stamp file).
if [ ! -f node_modules/.sr-installed ] || [ package.json -nt node_modules/.sr-installed ] || [ package-lock.json -nt node_modules/.sr-installed ]; then
  echo "== extension: npm install"
  npm install --no-audit --no-fund --loglevel=error
  touch node_modules/.sr-installed
fi

echo "== extension: build"
rm -rf out
npm run --silent build

echo "== extension: unit, language server and webview tests"
node --test --test-concurrency=1 \
  out/extension/src/model/model.test.js \
  out/extension/src/cluster/kubeconfig.test.js \
  out/extension/src/cluster/metrics.test.js \
  out/extension/src/server/server.test.js \
  out/extension/src/webview/topology-html.test.js

if [ "${SR_EXT_SKIP_INTEGRATION:-0}" != "1" ]; then
  echo "== extension: code-server integration (extension host, apply on a real apiserver, .vsix install)"
  node --test --test-concurrency=1 --test-timeout=600000 \
    out/extension/src/cluster/api-client.test.js \
    out/extension/src/server/parity.test.js \
    out/extension/src/test/integration/vscode.test.js
fi
echo "== extension: done in $(( $(date +%s) - started )) s"
