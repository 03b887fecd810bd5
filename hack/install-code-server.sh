#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3 with a Node 20 extension host) into .sr/code-server, idempotently.
# The extension's integration tests drive it headless with Debian's chromium (see extension/README.md).
# Newer code-server releases need Node 22+, and @vscode/test-electron cannot download VS Code here, hence npm.
# Prints the path of the code-server launcher on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VERSION=4.100.3
DEST="${SR_CODE_SERVER_DIR:-$ROOT/.sr/code-server}"
MARKER="$DEST/.installed-$VERSION"
BIN="$DEST/node_modules/code-server/out/node/entry.js"

if [ -f "$MARKER" ] && [ -f "$BIN" ]; then
  echo "$DEST/node_modules/.bin/code-server"
  exit 0
fi

SR_WITH_EDITOR=1 bash hack/install-system-packages.sh >&2

mkdir -p "$DEST"
cd "$DEST"
[ -f package.json ] || echo '{"name":"sr-code-server","private":true}' > package.json
export npm_config_yes=true npm_config_unsafe_perm=true npm_config_fund=false npm_config_audit=false
echo "hack: installing code-server $VERSION into $DEST (a few minutes)" >&2
# Install scripts would try to download prebuilt binaries from GitHub; we rebuild the native parts locally instead.
npm install --ignore-scripts --no-save "code-server@$VERSION" >&2
npm rebuild argon2 >&2

cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts >&2
npm rebuild @parcel/watcher @vscode/spdlog @vscode/deviceid native-watchdog node-pty kerberos >&2
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sfn code-linux.sh code-server)
(cd bin/helpers && ln -sfn browser-linux.sh browser.sh)
(cd extensions && npm install --omit=dev >&2)

touch "$MARKER"
echo "$DEST/node_modules/.bin/code-server"
