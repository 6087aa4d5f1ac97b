#!/usr/bin/env bash
# A refs/heads/main.lock left on a local remote (by a git process killed
# during a ref update) blocks every push.  coordsync reports it, leaves a
# lock alone while a process has it open or while it is younger than
# coordsync.stalelock, and removes it, saying so, once it is provably stale.
. "$TESTS_DIR/lib.sh"
two_clones
LOCK="$T/r.git/refs/heads/main.lock"
head() { git --git-dir="$T/r.git" rev-parse refs/heads/main; }
job_status() {
  git --git-dir="$T/r.git" show refs/heads/main:coordination/jobs.json |
    python3 -c 'import json,sys; print(*[j["status"] for j in json.load(sys.stdin)["jobs"] if j["id"] == sys.argv[1]])' "$1"
}
for j in j1 j2 j3; do cs -C "$T/b" job add --id "$j" >/dev/null; done
export COORDSYNC_RETRIES=5   # a lock that stays is reported after 5 attempts, not 60

# ---- held open by a live process: left alone, however old ---------------------
sleep 300 9>"$LOCK" &
holder=$!
BG_PIDS+=("$holder")
# The shell opens (and truncates) the file after the fork: age it only once
# the holder has it open, or the truncation makes it young again.
for i in $(seq 1 100); do
  [ -e "/proc/$holder/fd/9" ] && break
  sleep 0.05
done
[ -e "/proc/$holder/fd/9" ] || fail "the holder did not open the lock"
touch -d '-10 minutes' "$LOCK"
before=$(head)
expect_rc 1 cs -C "$T/a" job claim
grep -q "main.lock' is open in process $holder (sleep) on this machine; left alone" <<<"$OUT" ||
  fail "live lock not reported: $OUT"
grep -q "gave up after 5 attempts" <<<"$OUT" || fail "no give-up: $OUT"
[ -e "$LOCK" ] && [ "$(head)" = "$before" ] && [ "$(job_status j1)" = queued ] ||
  fail "the live lock was touched or the push went through"
ok "a lock held open by a live process is reported (pid and name) and left alone; exit 1"
expect_rc 0 cs -C "$T/a" msg send build2 --subject "queued behind a lock" --defer --force
mid=$OUT
expect_rc 1 cs -C "$T/a" sync
[ "$(sqlite3 -readonly "$T/a/.git/coordsync/outbox.db" 'SELECT count(*) FROM outbox')" = 1 ] ||
  fail "deferred intent lost while the remote was locked"
ok "a deferred intent stays queued while the push is blocked"

# ---- its holder gone: stale, removed with a message, the push goes through -------
kill "$holder"
wait "$holder" 2>/dev/null || true
expect_rc 0 cs -C "$T/a" job claim
grep -q "^j1$" <<<"$OUT" || fail "claim after the stale lock: $OUT"
grep -q "removed the stale lock '$LOCK' ([0-9]*s old, open in no process on this machine)" <<<"$OUT" ||
  fail "no message about the removal: $OUT"
[ ! -e "$LOCK" ] && [ "$(job_status j1)" = running ] || fail "stale lock not removed or claim not pushed"
[ -z "$(ls "$T/r.git" | grep coordsync-stale-lock || true)" ] || fail "left a file behind in the remote"
expect_rc 0 cs -C "$T/a" sync
[ "$(git --git-dir="$T/r.git" show refs/heads/main:coordination/messages.json | grep -c "\"$mid\"")" = 1 ] ||
  fail "the deferred message is not on the remote exactly once"
ok "a stale lock (old, open nowhere) is removed with a message; the claim and the queued message go out once"

# ---- young and open nowhere: left alone until it is older than the bound ---------
: > "$LOCK"
git -C "$T/a" config coordsync.stalelock 2
export COORDSYNC_RETRIES=60   # long enough for the lock to age past 2 s
t0=$(date +%s%N)
expect_rc 0 cs -C "$T/a" job claim
t1=$(date +%s%N)
[ "$OUT" != "${OUT%j2}" ] || fail "claim behind a young lock: $OUT"
[ $(( (t1 - t0) / 1000000 )) -ge 1000 ] || fail "a young lock was removed at once: $OUT"
grep -q "removed the stale lock '$LOCK' ([23]s old" <<<"$OUT" || fail "young lock: $OUT"
ok "a young lock open nowhere is left alone until it is coordsync.stalelock (2 s) old, then removed"

# ---- coordsync.stalelock 0: never removed, only reported --------------------------
export COORDSYNC_RETRIES=3
: > "$LOCK"
touch -d '-1 hour' "$LOCK"
expect_rc 1 env COORDSYNC_STALELOCK=0 "$COORDSYNC" -C "$T/a" job claim
grep -q "coordsync.stalelock is 0: remove it by hand" <<<"$OUT" && [ -e "$LOCK" ] ||
  fail "stalelock 0: $OUT"
rm "$LOCK"
expect_rc 0 cs -C "$T/a" job claim
[ "$OUT" = j3 ] && [ "$(job_status j3)" = running ] || fail "after removing by hand: $OUT"
ok "with coordsync.stalelock 0 a lock is only reported; removed by hand, pushes resume"
echo "stalelock: clients=2 faults=4 (live, stale, young, never-remove) double_grants=0 lost_intents=0 duplicated_intents=0"
done_testing
