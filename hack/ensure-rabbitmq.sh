#!/usr/bin/env bash
# Makes sure a RabbitMQ node answers on 127.0.0.1:5672 (the default local broker); starts one if not.
set -euo pipefail
port_open() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if port_open; then exit 0; fi
echo "hack: starting rabbitmq-server" >&2
rabbitmq-server -detached >/dev/null 2>&1 || true
for _ in $(seq 1 60); do
  if port_open; then exit 0; fi
  sleep 1
done
echo "hack: RabbitMQ did not come up on 127.0.0.1:5672" >&2
exit 1
