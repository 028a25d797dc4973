#!/usr/bin/env bash
# Issue 9 (and 14) on one GPU: fine-tune the bundled default with vivid recipes in parallel streams (batch 256
# at 128 px leaves an H100/H200 room for several runs at once).
# Usage: benchmarks/vivid_gpu.sh TRAIN_DIR VAL_DIR OUT_DIR [STREAM...]
#   STREAM: comma-separated recipe[:max_steps] run one after the other, e.g. "vivid-gan:4000,vivid-cls"; streams
#   run side by side. Default: "vivid-gan" "vivid-cls,vivid-colorful,vivid-cls-clean" "hints-gpu".
# Writes OUT_DIR/<recipe>.safetensors (the export of each run) and OUT_DIR/vivid-logs.tgz (summary.txt with
# exit code and wall time per run, console logs, TensorBoard scalars). RUN_SECONDS (default 3600) stops a run
# with SIGTERM, which still exports. CHROMAGEN overrides the command.
set -uo pipefail
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # see data/device_bank.single_threaded_ops
train=$1 val=$2 out=$3
shift 3
[ $# -gt 0 ] || set -- vivid-gan vivid-cls,vivid-colorful,vivid-cls-clean hints-gpu
cg=${CHROMAGEN:-chromagen}
mkdir -p "$out" runs

stream() {
  local item recipe steps start
  for item in ${1//,/ }; do
    recipe=${item%%:*} steps=${item#*:} start=$SECONDS
    [ "$steps" = "$item" ] && steps=""
    timeout --kill-after=20 "${RUN_SECONDS:-3600}" $cg train --config "$recipe" --data "$train" --val-data "$val" \
      --output "runs/$recipe" --no-resume ${steps:+--max-steps "$steps"} > "runs/$recipe.log" 2>&1
    echo "$recipe${steps:+ max_steps=$steps} rc=$? wall=$((SECONDS - start))s" | tee -a runs/summary.txt
    cp "runs/$recipe/model.safetensors" "$out/$recipe.safetensors" 2>/dev/null
  done
}

for s in "$@"; do stream "$s" & done
wait
tar czf "$out/vivid-logs.tgz" runs/summary.txt runs/*.log runs/*/tensorboard
