#!/usr/bin/env bash
# The one command for the GPU machine, run from the repository root:
#   bash scripts/gpu/run-on-device.sh <minutes>
# Needs .gpu-data/ (built here by scripts/gpu/pack-data.ts; carry it: it is git-ignored).
# Writes exactly these 8 files to $OUT: g_a2b.bin g_a2b.json state.bin state.json metrics.jsonl
#   parity.bin parity.json log.txt   (state.* = the resumable checkpoint, see train.py's docstring)
# Environment: OUT (output folder; default /tmp/r2c-gpu-out), BATCH (default 1, the reference),
# SEED (default 1), ARCH (operational [Q=3, default] | convolutional-light), RESUME (a folder with
# state.json/.bin + g_a2b.json/.bin from an earlier run, relative to the repo root: carry it; the
# run continues from it and writes the next checkpoint to $OUT), PYTHON (default: the first of
# python3/python that imports torch), UPSAMPLING (transposed [the reference, default] | resize).
# The paired recipe (OBJECTIVE=paired; train.py --objective paired): CROP (crop side of the first
# phase, e.g. 128; unset = no crop phase), CROP_STEPS (steps on crops) or CROP_FRACTION (share of the
# step budget on crops, default 0.8), EMA (weight-average decay, e.g. 0.999; exported as g_a2b),
# STEPS (step budget of the linear lr decay to 0; default auto = timed to end before MINUTES),
# INIT (a generator's weights, e.g. scratch/gpu-init/init.json from scripts/gpu/export-weights.ts;
# carry its folder), L1 (default 10), CLASS_WEIGHT (default 1), CLEAN (clean fraction, 0.25), LR,
# TRAIN_ONLY (comma-separated parameter-name prefixes, e.g. dec: only those train, the rest stay as
# INIT has them; train.py --train-only; unset = all).
# Example, the recipe of the CPU run r2c-q3-resize (retired model; run folder models/training-runs/r2c-q3-resize-cpu-2026-12-07) in 7 minutes:
#   OBJECTIVE=paired UPSAMPLING=resize CROP=128 EMA=0.999 CLASS_WEIGHT=4 SEED=13 \
#     INIT=scratch/gpu-init/init.json bash scripts/gpu/run-on-device.sh 7
# The recipe of the default model r2c-q3 0.4.0 (CPU run models/training-runs/r2c-q3-refit-long-cpu-2026-12-08:
# only the output layer 'dec' refitted from r2c-q3-reference, 10000 steps on full 256 px images):
#   OBJECTIVE=paired UPSAMPLING=resize TRAIN_ONLY=dec STEPS=10000 EMA=0.999 \
#     LR=5e-4 CLASS_WEIGHT=0 SEED=13 INIT=scratch/gpu-init/init.json bash scripts/gpu/run-on-device.sh 7
set -uo pipefail

MINUTES="${1:-6}"
OUT="${OUT:-/tmp/r2c-gpu-out}"
BATCH="${BATCH:-1}"
SEED="${SEED:-1}"
ARCH="${ARCH:-operational}"
RESUME="${RESUME:-}"
UPSAMPLING="${UPSAMPLING:-transposed}"
OBJECTIVE="${OBJECTIVE:-gan}"
CROP="${CROP:-}"
CROP_STEPS="${CROP_STEPS:-}"
CROP_FRACTION="${CROP_FRACTION:-}"
EMA="${EMA:-}"
STEPS="${STEPS:-}"
INIT="${INIT:-}"
L1="${L1:-}"
CLASS_WEIGHT="${CLASS_WEIGHT:-}"
CLEAN="${CLEAN:-}"
LR="${LR:-}"
TRAIN_ONLY="${TRAIN_ONLY:-}"
mkdir -p "$OUT"

run() {
  local py="${PYTHON:-}"
  if [ -z "$py" ]; then
    for candidate in python3 python; do
      if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import torch' >/dev/null 2>&1; then
        py="$candidate"
        break
      fi
    done
  fi
  if [ -z "$py" ]; then
    echo "ERROR: no python with torch found"
    return 1
  fi
  echo "== $(date -u +%FT%TZ) run-on-device: minutes=$MINUTES objective=$OBJECTIVE arch=$ARCH upsampling=$UPSAMPLING resume=${RESUME:-none} init=${INIT:-none} train_only=${TRAIN_ONLY:-all} batch=$BATCH seed=$SEED out=$OUT"
  nvidia-smi -L || echo "nvidia-smi not available"
  "$py" -c 'import sys, torch, numpy; print("python", sys.version.split()[0], "| torch", torch.__version__, "| cuda", torch.version.cuda, "| available", torch.cuda.is_available(), "|", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no gpu", "| numpy", numpy.__version__)'
  if [ ! -f .gpu-data/labels.csv ]; then
    echo "ERROR: .gpu-data/labels.csv missing: run scripts/gpu/pack-data.ts and carry .gpu-data"
    return 1
  fi
  echo "data: $(($(wc -l < .gpu-data/labels.csv) - 1)) images, $(du -sh .gpu-data | cut -f1)"
  local resume_args=()
  if [ -n "$RESUME" ]; then
    if [ ! -f "$RESUME/state.json" ] || [ ! -f "$RESUME/g_a2b.json" ]; then
      echo "ERROR: RESUME=$RESUME has no state.json and g_a2b.json (carry the folder of an earlier run)"
      return 1
    fi
    resume_args=(--resume "$RESUME")
  fi
  local recipe_args=()
  if [ "$OBJECTIVE" = "paired" ]; then
    recipe_args=(--objective paired --steps "${STEPS:-auto}")
    [ -n "$CROP" ] && recipe_args+=(--crop-size "$CROP")
    [ -n "$CROP_STEPS" ] && recipe_args+=(--crop-steps "$CROP_STEPS")
    [ -n "$CROP_FRACTION" ] && recipe_args+=(--crop-fraction "$CROP_FRACTION")
    [ -n "$EMA" ] && recipe_args+=(--ema-decay "$EMA")
    [ -n "$L1" ] && recipe_args+=(--l1-weight "$L1")
    [ -n "$CLASS_WEIGHT" ] && recipe_args+=(--class-weight "$CLASS_WEIGHT")
    [ -n "$CLEAN" ] && recipe_args+=(--clean-fraction "$CLEAN")
    [ -n "$TRAIN_ONLY" ] && recipe_args+=(--train-only "$TRAIN_ONLY")
    if [ -n "$INIT" ]; then
      if [ ! -f "$INIT" ]; then
        echo "ERROR: INIT=$INIT does not exist (export it with scripts/gpu/export-weights.ts and carry its folder)"
        return 1
      fi
      recipe_args+=(--init "$INIT")
    fi
  elif [ "$OBJECTIVE" != "gan" ]; then
    echo "ERROR: OBJECTIVE must be gan or paired, got $OBJECTIVE"
    return 1
  elif [ -n "$CROP$CROP_STEPS$CROP_FRACTION$EMA$STEPS$INIT$TRAIN_ONLY" ]; then
    echo "ERROR: CROP/CROP_STEPS/CROP_FRACTION/EMA/STEPS/INIT/TRAIN_ONLY need OBJECTIVE=paired"
    return 1
  fi
  [ -n "$LR" ] && recipe_args+=(--lr "$LR")

  # The paired parity step stores G's gradients, updates and average too: at width 64 (Q=3) the file
  # would pass the 16 MiB per-file limit, so paired runs check parity at width 16 (PARITY_WIDTH).
  local parity_args=(--width "${PARITY_WIDTH:-64}")
  [ "$OBJECTIVE" = "paired" ] && parity_args=(--width "${PARITY_WIDTH:-16}" --parity-paired)
  echo "== parity ($ARCH, $UPSAMPLING, ${parity_args[*]}: CPU float32 forward of G and D for import-weights.ts --parity)"
  if ! timeout 240 "$py" -u scripts/gpu/train.py --parity --arch "$ARCH" --upsampling "$UPSAMPLING" \
    ${parity_args[@]+"${parity_args[@]}"} --out "$OUT" --seed "$SEED"; then
    echo "WARNING: parity failed; training anyway"
  fi

  # train.py stops itself MINUTES after it starts and checkpoints on SIGTERM; timeout is the backstop.
  local limit
  limit=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 + 45 }')
  echo "== training for $MINUTES min (hard limit ${limit}s)"
  timeout --signal=TERM --kill-after=20 "$limit" "$py" -u scripts/gpu/train.py \
    --data .gpu-data --out "$OUT" --minutes "$MINUTES" --seed "$SEED" --batch "$BATCH" --arch "$ARCH" \
    --upsampling "$UPSAMPLING" ${recipe_args[@]+"${recipe_args[@]}"} \
    ${resume_args[@]+"${resume_args[@]}"} --save-nets all --log-every 100 --first-checkpoint 60 --checkpoint-every 120
  local status=$?
  echo "== done (train.py exit $status) $(date -u +%FT%TZ)"
  ls -la "$OUT"
  return $status
}

run 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
