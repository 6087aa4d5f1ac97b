#!/usr/bin/env bash
# job add --from: a batch whose jobs share an id is refused, naming the
# first job whose id an earlier one has, and the first of those, as the jobs
# come; nothing is pushed.  100,000 jobs (the most a batch takes), the last
# repeating the first.  How long the check takes as the batch grows (it was
# pair by pair once: 103 s for these) is bench/batch_add.sh's, not a test's:
# the timeout here only bounds a hang.
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
run_err timeout 600 "$COORDSYNC" "${A[@]}" job add --from "$T/big.json"
[ "$RC" = 2 ] || fail "100,000 jobs with a repeated id: exit $RC: $(cat "$T/err")"
grep -qF "job 100000 of 100000: id 'job-000000' is also job 1's" "$T/err" || fail "$(cat "$T/err")"
ok "100,000 jobs, the last with the first's id: refused, naming both"

run_err cs "${A[@]}" job add --from - <<<'[{"id":"a"},{"id":"b"},{"id":"c"},{"id":"b"},{"id":"a"},{"id":"a"}]'
[ "$RC" = 2 ] && grep -qF "job 4 of 6: id 'b' is also job 2's" "$T/err" || fail "rc $RC: $(cat "$T/err")"
ok "of several repeated ids, the first job that repeats one is named, with the first that has it"
[ "$(commits)" = "$n0" ] || fail "a refused batch pushed something"
done_testing
