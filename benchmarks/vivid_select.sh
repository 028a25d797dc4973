#!/usr/bin/env bash
# Issue 9 selection on val: every candidate (trained weights x inference calibration) scored with the
# 256x256 protocol on the first LIMIT val photos, one `chromagen evaluate` run so all share the truth's
# Inception features. The selection rule (docs/vivid.md) is then applied to OUT/val.json.
# Usage: [GAINS="1.2 1.4"] benchmarks/vivid_select.sh CANDIDATES_DIR OUT_DIR [LIMIT]
#   CANDIDATES_DIR holds faithful.safetensors (the previous default) and vivid-*.safetensors; a missing file
#   is skipped. Each GAN or perceptual recipe is scored as trained and at each saturation gain in GAINS.
set -euo pipefail
dir=$1 out=$2 limit=${3:-300}
py=${PYTHON:-.venv/bin/python}
mkdir -p "$out/variants"
models=(--model gray)
add() {  # add NAME SOURCE [--temperature T] [--chroma G]
  local name=$1 source=$2; shift 2
  [ -f "$source" ] || { echo "skip $name: no $source"; return; }
  $py benchmarks/calibrate_weights.py "$source" "$out/variants/$name.safetensors" "$@" >/dev/null
  models+=(--model "$out/variants/$name.safetensors")
}
add faithful "$dir/faithful.safetensors"
add faithful-c1.3 "$dir/faithful.safetensors" --chroma 1.3
add faithful-c1.5 "$dir/faithful.safetensors" --chroma 1.5
for t in 0.25 0.38 0.5 0.7; do
  add "cls-t$t" "$dir/vivid-cls.safetensors" --temperature "$t"
  add "cls-clean-t$t" "$dir/vivid-cls-clean.safetensors" --temperature "$t"
done
add colorful "$dir/vivid-colorful.safetensors"
add colorful-c1.2 "$dir/vivid-colorful.safetensors" --chroma 1.2
for recipe in vivid-gan vivid-gan-bold vivid-gan-long vivid-gan-sharp vivid-perceptual vivid-gan-perceptual vivid-gan-perceptual-bold; do
  add "${recipe#vivid-}" "$dir/$recipe.safetensors"
  for g in ${GAINS:-1.2 1.4}; do add "${recipe#vivid-}-c$g" "$dir/$recipe.safetensors" --chroma "$g"; done
done
.venv/bin/chromagen evaluate "${models[@]}" --data ../shared/data/val --limit "$limit" --device cpu \
  --json "$out/val.json" --report "$out/val.md"
