#!/usr/bin/env bash
# batch_add.sh: `job add --from` as the batch grows (see README.md).
#
#   bench/batch_add.sh [--small N] [--rounds R] [--keep DIR]
#
# Environment: COORDSYNC (default: <bench>/../build/cli/coordsync, else
# <bench>/../build/coordsync).
# The batch's check that no two jobs share an id ran pair by pair once
# (100,000 jobs: 103 s); it sorts now.  This times, R rounds (3), a batch of
# N jobs (10,000) and one of 10 N, each whose last job repeats the first's id
# (refused after the whole check, nothing pushed), and a batch of N distinct
# jobs added in one commit.  It reports the medians and the ratio of the
# refused batches, 10N against N: about 10 (or a little more) for a check
# that grows as n log n, about 100 for one that grows as n^2.  The baseline
# is the same binary's small batch, in the same run.
# Always exits 0: a benchmark is not a test.

set -u
export LC_ALL=C
bench_dir=$(cd "$(dirname "$0")" && pwd)
. "$bench_dir/lib.sh"

small=10000 rounds=3 keep=""
while [ $# -gt 0 ]; do
	case $1 in
	--small) small=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage 2 "unknown option '$1'" ;;
	esac
done
need_positive "$small" "$rounds"
find_coordsync
if [ -n "$cs_missing" ]; then
	echo "$cs_missing"
	exit 0
fi
make_workdir batch
export GIT_CONFIG_NOSYSTEM=1 HOME="$dir/home"
mkdir -p "$HOME"
git config --global init.defaultBranch main

# jobs N FILE [dup]: N jobs as job add --from takes them; with dup, the last
# repeats the first's id.
jobs() {
	python3 - "$@" <<'PY'
import json, sys
n, out = int(sys.argv[1]), sys.argv[2]
jobs = [{"id": "job-%07d" % i, "command": "make all"} for i in range(n)]
if len(sys.argv) > 3:
    jobs[-1]["id"] = jobs[0]["id"]
json.dump(jobs, open(out, "w"))
PY
}
big=$((small * 10))
jobs "$small" "$dir/small-dup.json" dup
jobs "$big" "$dir/big-dup.json" dup
jobs "$small" "$dir/small.json"

: >"$dir/t-small" ; : >"$dir/t-big" ; : >"$dir/t-add"
for r in $(seq 1 "$rounds"); do
	rm -rf "$dir/r.git" "$dir/a"
	git init -q --bare "$dir/r.git"
	"$COORDSYNC" init "$dir/r.git" "$dir/a" --server build1 >/dev/null 2>>"$dir/stderr" || exit 0
	log "== round $r"
	timed "$dir/t-small" "$COORDSYNC" -C "$dir/a" job add --from "$dir/small-dup.json"
	timed "$dir/t-big" "$COORDSYNC" -C "$dir/a" job add --from "$dir/big-dup.json"
	timed "$dir/t-add" "$COORDSYNC" -C "$dir/a" job add --from "$dir/small.json"
done
secs() { awk '{printf "%.3f\n", $3 - $2}' "$1" | median_of 3; }
rcs() { cut -d' ' -f1 "$1" | sort -u | tr '\n' ' '; }
ts=$(secs "$dir/t-small") tb=$(secs "$dir/t-big") ta=$(secs "$dir/t-add")
echo "## job add --from ($rounds rounds, medians; load $(load))"
echo
echo "| batch | exit | wall s |"
echo "|---|---|---|"
echo "| $small jobs, the last repeating the first (refused) | $(rcs "$dir/t-small")| $ts |"
echo "| $big jobs, the last repeating the first (refused) | $(rcs "$dir/t-big")| $tb |"
echo "| $small distinct jobs (one commit) | $(rcs "$dir/t-add")| $ta |"
echo
python3 -c 'import sys; s, b = float(sys.argv[1]), float(sys.argv[2]); print("ratio %d/%d jobs: %.1f (n log n: about 10-12; n^2: about 100)" % (int(sys.argv[4]), int(sys.argv[3]), b / s if s else float("nan")))' "$ts" "$tb" "$small" "$big"
exit 0
