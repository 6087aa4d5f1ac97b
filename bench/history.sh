#!/usr/bin/env bash
# History backfill benchmark: a repository whose history has N commits that
# each change coordination/jobs.json.  Times `coordsync rebuild` (import +
# backfill of the whole history) and, in the same run, a baseline that
# parses every version of jobs.json whole with Python's json module (what a
# history tool that re-reads each version does).  Always exits 0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
COMMITS=${COMMITS:-10000}
JOBS=${JOBS:-1000}
CS=${COORDSYNC:-$here/../build/coordsync}
dir=$(mktemp -d "${TMPDIR:-/tmp}/cs-hist.XXXXXX")
trap 'rm -rf "$dir"' EXIT
python3 "$here/gen_history.py" --commits "$COMMITS" --jobs "$JOBS" --out "$dir" >&2
"$CS" init "$dir/remote.git" "$dir/clone" --server bench >/dev/null
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t_rebuild=$(for i in 1 2 3; do
  s=$(date +%s%N); "$CS" -C "$dir/clone" rebuild >/dev/null; e=$(date +%s%N)
  echo "scale=3; ($e - $s) / 1000000000" | bc
done | median)
rows=$("$CS" -C "$dir/clone" query "SELECT count(*) FROM job_history" --format csv | tail -1)
size=$(git --git-dir="$dir/remote.git" cat-file -s HEAD:coordination/jobs.json)
t_base=$(for i in 1 2 3; do python3 - "$dir/remote.git" <<'PY'
import json, subprocess, sys, time
repo = sys.argv[1]
t = time.time()
revs = subprocess.run(["git", "--git-dir", repo, "rev-list", "--first-parent", "--reverse", "main"],
                      capture_output=True, text=True, check=True).stdout.split()
p = subprocess.Popen(["git", "--git-dir", repo, "cat-file", "--batch"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE)
for r in revs:
    p.stdin.write(("%s:coordination/jobs.json\n" % r).encode()); p.stdin.flush()
    hdr = p.stdout.readline().split()
    data = p.stdout.read(int(hdr[2]) + 1)
    json.loads(data)
p.stdin.close(); p.wait()
print("%.3f" % (time.time() - t))
PY
done | median)
cat <<MD
## History backfill

$COMMITS commits, each changing \`coordination/jobs.json\` (final size $size bytes, $JOBS+ jobs);
median of 3 runs.

| what | seconds | per commit |
|---|---:|---:|
| \`coordsync rebuild\` (import + backfill of $rows job_history rows) | $t_rebuild | $(echo "scale=1; $t_rebuild * 1000000 / $COMMITS" | bc) µs |
| baseline: parse every version whole (Python json, git cat-file --batch) | $t_base | $(echo "scale=1; $t_base * 1000000 / $COMMITS" | bc) µs |

Ratio baseline / coordsync: $(echo "scale=1; $t_base / $t_rebuild" | bc)x
MD
