#!/usr/bin/env bash
# `npm run up`: set up what is missing, then run everything with `sr up` and apply the sample pipeline
# (examples/pipeline.yaml) as soon as the system is ready. Ctrl-C stops everything.
# Extra arguments go to `sr up` (e.g. --dir DIR --port PORT --kafka-brokers HOST:PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/setup.sh
DIR=".sr"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --dir) DIR="${args[$((i + 1))]}" ;;
    --dir=*) DIR="${args[$i]#--dir=}" ;;
  esac
done
mkdir -p "$DIR/run"
rm -f "$DIR/run/ready"
# Apply the sample once the API server and controllers are up (sr up writes DIR/run/ready).
(
  for _ in $(seq 1 600); do
    if [ -f "$DIR/run/ready" ]; then
      kubectl --kubeconfig "$DIR/kubeconfig" apply -f examples/pipeline.yaml >/dev/null \
        && echo "▸ applied examples/pipeline.yaml — try: kubectl --kubeconfig $DIR/kubeconfig get srcs,srs,srp" \
        || echo "! could not apply examples/pipeline.yaml"
      exit 0
    fi
    sleep 0.5
  done
) &
exec node dist/cli/sr.js up --dir "$DIR" "$@"
