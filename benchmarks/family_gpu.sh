#!/usr/bin/env bash
# The family benchmark's GPU half in one command: train every family, then predict, logs into $OUT.
#
#   OUT=/out benchmarks/family_gpu.sh STEPS TRAIN_SECONDS [BATCH] [PARALLEL] [extra train options...]
#
# TRAIN_SECONDS: no family starts that would likely end after it (the mean of the finished ones), and
# training is killed GRACE seconds after it (default 45) whatever happens; predict then scores what finished.
# Paths and knobs (environment): DATA=/root/data (train/*.tar, val/, bench/<set>/, legacy/), RUNS=/root/runs
# (checkpoints, large, not returned), CHROMAGEN_CACHE=/root/cache (LPIPS AlexNet, if there), PYTHON=python,
# PREDICT_LIMIT (first N photos of each set in predict; default all), PART_MB / TOTAL_MB (ab tars; 14 / 50).
# $OUT gets at most 8 small files: family.log, train.json, predict.json, ab-NN.tar (<= 14 MB each, 50 MB in all).
set -u
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}  # see data/device_bank.single_threaded_ops
STEPS=${1:?usage: family_gpu.sh STEPS TRAIN_SECONDS [BATCH] [PARALLEL] [train options...]}
TRAIN_SECONDS=${2:?usage: family_gpu.sh STEPS TRAIN_SECONDS [BATCH] [PARALLEL] [train options...]}
BATCH=${3:-64}
PARALLEL=${4:-1}
shift $(( $# < 4 ? $# : 4 ))
: "${OUT:?set OUT to the folder that comes back}"
DATA=${DATA:-/root/data}
RUNS=${RUNS:-/root/runs}
PYTHON=${PYTHON:-python}
export CHROMAGEN_CACHE=${CHROMAGEN_CACHE:-/root/cache}
export PYTHONPATH="$(cd "$(dirname "$0")/.." && pwd)/src${PYTHONPATH:+:$PYTHONPATH}"
SCRIPT="$(dirname "$0")/family.py"
LOG="$OUT/family.log"
mkdir -p "$OUT" "$RUNS"

BENCH=()
for set in cbsd68 kodak24 mcmaster scenes80; do
    [ -d "$DATA/bench/$set" ] && BENCH+=(--bench "$DATA/bench/$set")
done
LEGACY=()
[ -d "$DATA/legacy" ] && LEGACY=(--legacy "$DATA/legacy")

echo "== train $(date -u +%FT%TZ): steps $STEPS, batch $BATCH, parallel $PARALLEL, deadline $TRAIN_SECONDS s" >>"$LOG"
timeout --kill-after=10 $(( TRAIN_SECONDS + ${GRACE:-45} )) "$PYTHON" "$SCRIPT" train --data "$DATA/train" --val "$DATA/val" \
    --steps "$STEPS" --batch "$BATCH" --parallel "$PARALLEL" --deadline "$TRAIN_SECONDS" \
    --runs "$RUNS" --out "$OUT" "$@" >>"$LOG" 2>&1
echo "== train exit $? $(date -u +%FT%TZ)" >>"$LOG"

"$PYTHON" "$SCRIPT" predict --out "$OUT" --val "$DATA/val" "${BENCH[@]}" "${LEGACY[@]}" \
    ${PREDICT_LIMIT:+--limit "$PREDICT_LIMIT"} --part-mb "${PART_MB:-14}" --total-mb "${TOTAL_MB:-50}" >>"$LOG" 2>&1
echo "== predict exit $? $(date -u +%FT%TZ)" >>"$LOG"
ls -l "$OUT" >>"$LOG"
tail -n 30 "$LOG"
