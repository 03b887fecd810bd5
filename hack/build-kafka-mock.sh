#!/usr/bin/env bash
# Builds hack/bin/kafka-mock (the development Kafka-protocol cluster) when its source is newer than the binary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/kafka-mock/kafka-mock.c"
out="$here/bin/kafka-mock"
mkdir -p "$here/bin"
if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
  gcc -O2 -Wall -Wextra -o "$out" "$src" $(pkg-config --cflags --libs rdkafka)
fi
