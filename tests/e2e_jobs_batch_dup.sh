#!/usr/bin/env bash
# job add --from: the check that no two jobs share an id is not pair by
# pair.  100,000 jobs (the most a batch takes) whose last repeats the first
# are refused within 20 s (it took 103 s when each job was compared with
# every earlier one), naming the first job whose id an earlier one has, and
# the first of those, as the jobs come; nothing is pushed.
. "$TESTS_DIR/lib.sh"
two_clones
commits() { git --git-dir="$T/r.git" rev-list --count HEAD; }
n0=$(commits)

python3 - "$T/big.json" <<'PY'
import json, sys
jobs = [{"id": "job-%06d" % i, "command": "x"} for i in range(100000)]
jobs[-1]["id"] = "job-000000"
json.dump(jobs, open(sys.argv[1], "w"))
PY
start=$(date +%s)
run_err timeout 60 "$COORDSYNC" "${A[@]}" job add --from "$T/big.json"
took=$(( $(date +%s) - start ))
[ "$RC" = 2 ] || fail "100,000 jobs with a repeated id: exit $RC: $(cat "$T/err")"
grep -qF "job 100000 of 100000: id 'job-000000' is also job 1's" "$T/err" || fail "$(cat "$T/err")"
[ "$took" -le 20 ] || fail "100,000 jobs were checked for repeated ids in $took s"
ok "100,000 jobs, the last with the first's id: refused in $took s, naming both"

run_err cs "${A[@]}" job add --from - <<<'[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"b"},{"id":"a"},{"id":"a"}]'
[ "$RC" = 2 ] && grep -qF "job 4 of 6: id 'b' is also job 2's" "$T/err" || fail "rc $RC: $(cat "$T/err")"
ok "of several repeated ids, the first job that repeats one is named, with the first that has it"
[ "$(commits)" = "$n0" ] || fail "a refused batch pushed something"
done_testing
