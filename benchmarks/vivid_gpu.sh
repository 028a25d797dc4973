#!/usr/bin/env bash
# Issue 9 on one GPU: fine-tune the bundled default with every vivid recipe, in two parallel streams
# (batch 256 at 128 px leaves an H100/H200 room for more than one run), plus the hint model's GPU recipe
# (issue 14) as a third stream.
# Usage: benchmarks/vivid_gpu.sh TRAIN_DIR VAL_DIR OUT_DIR
# Writes OUT_DIR/<recipe>.safetensors (exported last step), OUT_DIR/summary.txt (exit code, wall time per
# run) and OUT_DIR/vivid-logs.tgz (console logs + TensorBoard scalars). CHROMAGEN overrides the command.
set -uo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # see data/device_bank.single_threaded_ops
train=$1 val=$2 out=$3
cg=${CHROMAGEN:-chromagen}
mkdir -p "$out" runs

run() {
  for recipe in "$@"; do
    local start=$SECONDS
    $cg train --config "$recipe" --data "$train" --val-data "$val" --output "runs/$recipe" --no-resume \
      > "runs/$recipe.log" 2>&1
    echo "$recipe rc=$? wall=$((SECONDS - start))s" | tee -a "$out/summary.txt"
    cp "runs/$recipe/model.safetensors" "$out/$recipe.safetensors" 2>/dev/null
  done
}

run vivid-gan &
run vivid-cls vivid-colorful vivid-cls-clean &
run hints-gpu &
wait
tar czf "$out/vivid-logs.tgz" runs/*.log runs/*/tensorboard
