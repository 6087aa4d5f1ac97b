#!/usr/bin/env bash
# SQLite's write lock is never held across network I/O (issue 14): a
# decision gives the mirror's write transaction back before its push, so a
# writer that does not take the clone's lock (the sqlite3 CLI here, with a
# short busy timeout) gets the mirror's write lock at once while the push
# waits.  The merged code held it from BEGIN to after the push, and such a
# writer failed with "database is locked".
#  1. a git:// push stalled by a loopback proxy (tests/stall_proxy.py): the
#     writer gets the lock; the push times out, nothing is claimed anywhere;
#  2. a push held in the middle (COORDSYNC_FAULT=mid-push:stop) on a local
#     remote that another clone moves meanwhile: the writer gets the lock,
#     the refused push decides again, and the job printed is the one pushed
#     and the one the mirror holds;
#  3. a lock grant held the same way: the fence printed is the pushed one,
#     and the clone's fence memory (lock_fences) has it after the push.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"

# writer DB: the sqlite3 CLI takes the write lock with a 300 ms busy timeout.
writer() {
  OUT=$(timeout 20 sqlite3 -cmd ".timeout 300" "$1" "BEGIN IMMEDIATE; SELECT 'got it'; COMMIT;" 2>&1) || true
  [ "$OUT" = "got it" ] || fail "$2: a writer could not take the mirror's write lock: $OUT"
}
# stopped PID: the process is stopped (SIGSTOP from a :stop fault)
stopped() { [ "$(ps -o stat= -p "$1" | cut -c1)" = T ]; }
# remote_job RDIR ID: status and assignee of job ID at the remote head
remote_job() {
  git --git-dir="$1" show refs/heads/main:coordination/jobs.json | python3 -c '
import json, sys
for j in json.load(sys.stdin)["jobs"]:
    if j["id"] == sys.argv[1]:
        print(j["status"], j.get("assigned_to"))' "$2"
}

# ---- 1. a stalled git:// push ------------------------------------------------
mkremote r
cs init "$T/r.git" "$T/seed" --server build0 >/dev/null
cs -C "$T/seed" heartbeat
cs -C "$T/seed" job add --id stall-1 >/dev/null
start_git_daemon
wait_for "$GITD_BASE/r.git"
PORT=$(free_port)
echo pass >"$T/p.mode"
python3 "$TESTS_DIR/stall_proxy.py" "$PORT" "${GITD_BASE##*:}" "$T/p.mode" "$T/p.log" &
BG_PIDS+=($!)
wait_for "git://127.0.0.1:$PORT/r.git"
cs init "git://127.0.0.1:$PORT/r.git" "$T/s" --server build1 >/dev/null
git -C "$T/s" config coordsync.timeout.stall 6
cs -C "$T/s" sync >/dev/null
echo stall-push >"$T/p.mode"
"$COORDSYNC" -C "$T/s" job claim >"$T/claim1.out" 2>&1 & cpid=$!
BG_PIDS+=("$cpid")
poll_until 20 grep -q "stall-push stalled" "$T/p.log" || fail "the claim's push never reached the proxy"
kill -0 "$cpid" 2>/dev/null || fail "the claim did not wait for its push: $(cat "$T/claim1.out")"
writer "$T/s/.git/coordsync/mirror.db" "stalled git:// push"
kill -0 "$cpid" 2>/dev/null || fail "the push ended before the writer was tried"
rc=0; wait "$cpid" || rc=$?
[ "$rc" = 1 ] || fail "a stalled push: exit $rc, expected 1: $(cat "$T/claim1.out")"
grep -q "push" "$T/claim1.out" || fail "the timeout does not name the push: $(cat "$T/claim1.out")"
[ "$(remote_job "$T/r.git" stall-1)" = "queued None" ] || fail "the stalled claim reached the remote"
expect_rc 0 cs -C "$T/s" query "SELECT status FROM jobs WHERE id='stall-1'" --format csv
grep -qx queued <<<"$OUT" || fail "the mirror holds a claim that was not pushed: $OUT"
echo pass >"$T/p.mode"
expect_rc 0 timeout 60 "$COORDSYNC" -C "$T/s" job claim
grep -q stall-1 <<<"$OUT" || fail "the claim after the stall: $OUT"
[ "$(remote_job "$T/r.git" stall-1)" = "running build1" ] || fail "the claim after the stall is not on the remote"
ok "a stalled git:// push leaves the mirror's write lock free, and nothing claimed"

# ---- 2. a held push, refused, decided again ------------------------------------
mkremote l
cs init "$T/l.git" "$T/a" --server build1 >/dev/null
cs init "$T/l.git" "$T/b" --server build2 >/dev/null
cs -C "$T/a" heartbeat
cs -C "$T/b" heartbeat
cs -C "$T/a" job add --id first --priority 1 >/dev/null
cs -C "$T/a" job add --id second --priority 9 >/dev/null
cs -C "$T/a" sync >/dev/null
COORDSYNC_FAULT=mid-push:stop "$COORDSYNC" -C "$T/a" job claim >"$T/claim2.out" 2>&1 & cpid=$!
BG_PIDS+=("$cpid")
poll_until 20 stopped "$cpid" || fail "the claim never reached mid-push"
writer "$T/a/.git/coordsync/mirror.db" "held local push"
expect_rc 0 timeout 30 "$COORDSYNC" -C "$T/b" job claim   # moves the remote under the held push
grep -q first <<<"$OUT" || fail "the other clone's claim: $OUT"
kill -CONT "$cpid"
rc=0; wait "$cpid" || rc=$?
[ "$rc" = 0 ] || fail "the held claim: exit $rc: $(cat "$T/claim2.out")"
grep -q second "$T/claim2.out" || fail "the claim decided again should print 'second': $(cat "$T/claim2.out")"
grep -q first "$T/claim2.out" && fail "the claim printed the job its refused push held: $(cat "$T/claim2.out")"
[ "$(remote_job "$T/l.git" first)" = "running build2" ] || fail "first: $(remote_job "$T/l.git" first)"
[ "$(remote_job "$T/l.git" second)" = "running build1" ] || fail "second: $(remote_job "$T/l.git" second)"
expect_rc 0 cs -C "$T/a" query "SELECT id, status, assigned_to FROM jobs ORDER BY id" --format csv
grep -qx "first,running,build2" <<<"$OUT" && grep -qx "second,running,build1" <<<"$OUT" ||
  fail "the mirror does not hold the pushed state: $OUT"
[ "$(git -C "$T/a" rev-parse HEAD)" = "$(git --git-dir="$T/l.git" rev-parse refs/heads/main)" ] ||
  fail "the clone's branch is not at the pushed commit"
expect_rc 0 cs -C "$T/a" query "SELECT value FROM meta WHERE key='remote_head'" --format csv
grep -q "$(git --git-dir="$T/l.git" rev-parse refs/heads/main)" <<<"$OUT" ||
  fail "the mirror's remote_head is not the pushed commit: $OUT"
ok "a held push leaves the write lock free; refused, it decides again and prints what was pushed"

# ---- 3. a lock grant held mid-push: the fence printed and remembered ---------------
COORDSYNC_FAULT=mid-push:stop "$COORDSYNC" -C "$T/a" lock acquire deploy --ttl 600 \
  >"$T/lock.out" 2>&1 & cpid=$!
BG_PIDS+=("$cpid")
poll_until 20 stopped "$cpid" || fail "the grant never reached mid-push"
writer "$T/a/.git/coordsync/mirror.db" "held lock grant"
expect_rc 0 cs -C "$T/a" query "SELECT count(*) FROM lock_fences WHERE name='deploy'" --format csv
grep -qx 0 <<<"$OUT" || fail "the fence is remembered before the push: $OUT"
kill -CONT "$cpid"
rc=0; wait "$cpid" || rc=$?
[ "$rc" = 0 ] || fail "the held grant: exit $rc: $(cat "$T/lock.out")"
fence=$(grep -oE '[0-9]+' "$T/lock.out" | tail -1)
[ -n "$fence" ] || fail "lock output has no fence: $(cat "$T/lock.out")"
rfence=$(git --git-dir="$T/l.git" show refs/heads/main:coordination/locks.json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["locks"]["deploy"]["fence"])')
[ "$fence" = "$rfence" ] || fail "printed fence $fence, pushed $rfence"
expect_rc 0 cs -C "$T/a" query "SELECT fence FROM lock_fences WHERE name='deploy'" --format csv
grep -qx "$rfence" <<<"$OUT" || fail "the fence memory lacks the pushed fence $rfence: $OUT"
ok "a held grant: the fence printed is the pushed one, remembered after the push"

done_testing
