#!/usr/bin/env bash
# The compare-and-swap over a smart transport: git daemon with receive-pack
# on 127.0.0.1.  Concurrent claims from several servers take each job once.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"
git_remote r
for s in 1 2 3; do cs init "$URL" "$T/c$s" --server "build$s" >/dev/null; done
ok "init over git:// (an empty remote is seeded)"
for i in $(seq 1 24); do echo "q$i"; done | while read -r id; do
  cs -C "$T/c1" job add --id "$id" >/dev/null
done
ok "24 jobs queued over git://"
pids=()
for s in 1 2 3; do
  claim_until_empty "$T/c$s" 40 >"$T/claims$s" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a claimer failed"; done
sort "$T"/claims? > "$T/all"
[ "$(wc -l < "$T/all")" = 24 ] || fail "claimed $(wc -l < "$T/all") of 24"
[ -z "$(uniq -d "$T/all")" ] || fail "claimed twice: $(uniq -d "$T/all")"
ok "3 servers claimed 24 jobs over git://, each exactly once"
git clone -q "$URL" "$T/check"
python3 - "$T/check/coordination/jobs.json" "$T" <<'PY'
import json, sys, glob
jobs = {j["id"]: j for j in json.load(open(sys.argv[1]))["jobs"]}
for f in glob.glob(sys.argv[2] + "/claims?"):
    server = "build" + f[-1]
    for line in open(f):
        j = jobs[line.strip()]
        assert j["status"] == "running" and j["assigned_to"] == server, j
PY
[ -z "$(git -C "$T/check" rev-list --merges HEAD)" ] || fail "merges on the remote"
ok "the remote agrees with every claimer; history is linear"
kill "$GITD_PID"
wait "$GITD_PID" 2>/dev/null || true
expect_rc 1 cs -C "$T/c1" job add --id late
grep -qi "fetch failed" <<<"$OUT" || fail "remote down: $OUT"
ok "with the daemon gone, a decision fails with exit 1 and a clear message"
done_testing
