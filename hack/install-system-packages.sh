#!/usr/bin/env bash
# Installs the Debian packages Streaming Runtime needs on a fresh machine, idempotently.
#   etcd-server, etcd-client  the API server's storage (and `sr up`'s)
#   librdkafka-dev, gcc       build hack/kafka-mock (a Kafka-protocol cluster for development and tests)
#   rabbitmq-server           the default local broker
# Set SR_WITH_EDITOR=1 to also install what the VS Code tests need (chromium, ripgrep, build tools for code-server).
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in etcd-server etcd-client librdkafka-dev gcc pkg-config rabbitmq-server openssl; do
  have "$pkg" || need+=("$pkg")
done
if [ "${SR_WITH_EDITOR:-0}" = "1" ]; then
  for pkg in chromium libkrb5-dev ripgrep build-essential; do have "$pkg" || need+=("$pkg"); done
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "hack: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" = "0" ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # rabbitmq-server's post-install tries to start a service; without systemd that step is skipped
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
