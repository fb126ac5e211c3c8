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
# python3/python that imports torch).
set -uo pipefail

MINUTES="${1:-6}"
OUT="${OUT:-/tmp/r2c-gpu-out}"
BATCH="${BATCH:-1}"
SEED="${SEED:-1}"
ARCH="${ARCH:-operational}"
RESUME="${RESUME:-}"
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
  echo "== $(date -u +%FT%TZ) run-on-device: minutes=$MINUTES arch=$ARCH resume=${RESUME:-none} batch=$BATCH seed=$SEED out=$OUT"
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

  echo "== parity ($ARCH: CPU float32 forward of G and D for import-weights.ts --parity)"
  if ! timeout 240 "$py" -u scripts/gpu/train.py --parity --arch "$ARCH" --out "$OUT" --seed "$SEED"; then
    echo "WARNING: parity failed; training anyway"
  fi

  # train.py stops itself MINUTES after it starts and checkpoints on SIGTERM; timeout is the backstop.
  local limit
  limit=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 + 45 }')
  echo "== training for $MINUTES min (hard limit ${limit}s)"
  timeout --signal=TERM --kill-after=20 "$limit" "$py" -u scripts/gpu/train.py \
    --data .gpu-data --out "$OUT" --minutes "$MINUTES" --seed "$SEED" --batch "$BATCH" --arch "$ARCH" \
    ${resume_args[@]+"${resume_args[@]}"} --save-nets all --log-every 100 --first-checkpoint 60 --checkpoint-every 120
  local status=$?
  echo "== done (train.py exit $status) $(date -u +%FT%TZ)"
  ls -la "$OUT"
  return $status
}

run 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
