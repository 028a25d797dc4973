#!/usr/bin/env bash
# Score models on every ../shared/data/bench set with the 256x256 protocol.
# Usage: benchmarks/bench_sets.sh OUT_DIR MODEL [MODEL...]   (e.g. gray default runs/x/model.safetensors)
# Writes OUT_DIR/<set>.json and OUT_DIR/<set>.md (+ grid and curves PNGs); then prints one combined table.
set -euo pipefail
out=$1; shift
bench=${BENCH_DIR:-../shared/data/bench}
args=()
for m in "$@"; do args+=(--model "$m"); done
for set in cbsd68 kodak24 mcmaster scenes80; do
  .venv/bin/chromagen evaluate "${args[@]}" --data "$bench/$set" --device cpu \
      --json "$out/$set.json" --report "$out/$set.md"
done
.venv/bin/python benchmarks/results_table.py "$out"/*.json
