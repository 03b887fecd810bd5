#!/usr/bin/env bash
# The benchmarks (README: `npm run bench`): each prints its figures and the ratio against the raw component
# measured in the same run. `npm run bench -- apiserver` runs only the files whose name matches.
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/setup.sh
mapfile -t files < <(find dist/bench -maxdepth 1 -name '*.js' | sort | grep -E "${1:-.}")
for f in "${files[@]}"; do
  echo "== $f"
  node "$f"
done
