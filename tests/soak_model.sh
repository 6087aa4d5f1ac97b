#!/usr/bin/env bash
# Long soak of the model-based random test: new seeds until N minutes pass.
#   tests/soak_model.sh --minutes N [--seed S] [--steps K] [--skip-check C] [BINARY]
# BINARY defaults to $COORDSYNC, then build/coordsync.  Stops at the first
# failure and prints its seed and step (rerun: tests/model_test.py --seed S
# --steps STEP --coordsync BINARY -v).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
skip=()
minutes=10 seed=$(( $(date +%s) % 100000 )) steps=200
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    --skip-check) skip+=(--skip-check "$2"); shift 2 ;;
    -*) echo "soak_model.sh: unknown option '$1'" >&2; exit 2 ;;
    *) COORDSYNC=$1; shift ;;
  esac
done
case $minutes in ''|*[!0-9]*) echo "${0##*/}: --minutes needs a whole number, not '$minutes'" >&2; exit 2 ;; esac
bin=${COORDSYNC:-$here/../build/coordsync}
echo "soak: model test from seed $seed for $minutes minute(s), $steps steps a seed, $bin"
exec timeout $(( minutes * 60 + 600 )) python3 "$here/model_test.py" --coordsync "$bin" \
  --seed "$seed" --steps "$steps" --minutes "$minutes" ${skip[@]+"${skip[@]}"}
