#!/usr/bin/env bash
# Long soak of the history checker: new seeds until N minutes pass.
#   tests/soak_history.sh --minutes N [--seed S] [--seconds K] [--rewind on|off|auto] [BINARY]
# BINARY defaults to $COORDSYNC, then build/coordsync; K is the faulty
# phase of each seed (default 60).  Stops at the first failing seed and
# prints it (rerun: tests/history_check.py --seed S --seconds K -v).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
skip=()
minutes=10 seed=$(( $(date +%s) % 100000 )) seconds=60
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    --rewind) skip+=(--rewind "$2"); shift 2 ;;
    -*) echo "soak_history.sh: unknown option '$1'" >&2; exit 2 ;;
    *) COORDSYNC=$1; shift ;;
  esac
done
case $minutes in ''|*[!0-9]*) echo "${0##*/}: --minutes needs a whole number, not '$minutes'" >&2; exit 2 ;; esac
bin=${COORDSYNC:-$here/../build/coordsync}
echo "soak: history checker from seed $seed for $minutes minute(s), ${seconds} s a seed, $bin"
exec timeout $(( minutes * 60 + seconds * 3 + 600 )) python3 "$here/history_check.py" \
  --coordsync "$bin" --seed "$seed" --seconds "$seconds" --minutes "$minutes" ${skip[@]+"${skip[@]}"}
