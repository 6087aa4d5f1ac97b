#!/usr/bin/env bash
# Lock files in the clone's own .git (refs/remotes/origin/main.lock,
# refs/heads/main.lock, HEAD.lock, packed-refs.lock, FETCH_HEAD.lock,
# config.lock) that a coordsync or git killed -9 while it wrote them left
# behind.  Every later fetch used to fail for good ("cannot record the
# fetched head"), so deferred intents and heartbeats stopped.  Now a command
# that takes the clone's lock removes them with a notice naming the file:
# at once when older than coordsync.stalelock, after watching it unchanged
# for 2 s when younger.  A lock that a live process has open is never
# removed: the command that must write it fails naming the file and the
# holder.
. "$TESTS_DIR/lib.sh"

R="$T/r.git"
G="$T/a/.git"
TRACK="$G/refs/remotes/origin/main.lock"
BRANCH="$G/refs/heads/main.lock"
N=0
move() { N=$((N + 1)); cs -C "$T/b" job add --id "J$N" >/dev/null; }
# closed_lock PATH [AGE]: a lock as a killed writer leaves it (the new id
# and a newline, or nothing), closed; AGE as touch -d takes it.
closed_lock() {
  rhead > "$1"
  [ -z "${2:-}" ] || touch -d "$2" "$1"
}
# removed PATH: the output says PATH was removed, and it is gone.
removed() {
  grep -qF "removed the stale lock '$1' (" <<<"$OUT" || fail "no notice removing $1: $OUT"
  [ ! -e "$1" ] || fail "$1 is still there: $OUT"
}
on_remote() { git --git-dir="$R" show "refs/heads/main:$1"; }
msg_arrived() {   # msg_arrived ID: exactly once in the remote's messages.json
  [ "$(on_remote coordination/messages.json | grep -c "\"$1\"")" = 1 ] ||
    fail "deferred message $1 is not on the remote exactly once"
}
heartbeats() { git --git-dir="$R" rev-list --count refs/heads/main -- build1/heartbeat.json; }
# holder PATH [AGE]: a live process holding PATH open (fd 9); its pid in HOLDER.
holder() {
  sleep 300 9>"$1" &
  HOLDER=$!
  BG_PIDS+=("$HOLDER")
  poll_until 5 test -e "/proc/$HOLDER/fd/9" || fail "the holder did not open $1"
  [ -z "${2:-}" ] || touch -d "$2" "$1"    # once open: the redirection truncates
}
unhold() { kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true; }
no_leftovers() {
  [ -z "$(ls "$G/coordsync" | grep stale-lock || true)" ] || fail "a set-aside lock is left"
}

mkremote r
cs init "$R" "$T/a" --server build1 >/dev/null
cs init "$R" "$T/b" --server build2 >/dev/null
cs -C "$T/b" run >/dev/null 2>&1   # build2's heartbeat: a known recipient
move
cs -C "$T/a" sync >/dev/null

# ---- a closed remote-tracking lock, as a killed fetch leaves it ------------------------
expect_rc 0 cs -C "$T/a" msg send build2 --subject "behind a lock" --defer
m1=$OUT
move
closed_lock "$TRACK" '-10 minutes'
expect_rc 0 cs -C "$T/a" sync
removed "$TRACK"
grep -q "open in no process on this machine), left by a coordsync or git killed" <<<"$OUT" ||
  fail "the notice does not say why: $OUT"
msg_arrived "$m1"
[ "$(git -C "$T/a" rev-parse refs/remotes/origin/main)" = "$(rhead)" ] &&
  [ "$(git -C "$T/a" rev-parse HEAD)" = "$(rhead)" ] || fail "the clone did not catch up"
no_leftovers
ok "a closed, old refs/remotes/origin/main.lock: removed with a notice; sync and the deferred message go through"

# ---- kill -9 inside the fetch's ref write (COORDSYNC_FAULT=fetch-ref) -----------------
move
expect_rc 137 env COORDSYNC_FAULT=fetch-ref "$COORDSYNC" -C "$T/a" sync
[ -f "$TRACK" ] || fail "the killed fetch left no lock"
hb=$(heartbeats)
t0=$(date +%s%N)
expect_rc 0 cs -C "$T/a" run
t1=$(date +%s%N)
removed "$TRACK"
grep -qF "unchanged for 2 s" <<<"$OUT" || fail "a young lock was not watched: $OUT"
[ $(( (t1 - t0) / 1000000 )) -ge 1900 ] || fail "a young lock was removed without the watch"
[ "$(heartbeats)" -gt "$hb" ] || fail "the run's heartbeat did not reach the remote"
[ "$(git -C "$T/a" rev-parse HEAD)" = "$(rhead)" ] || fail "run: the clone did not catch up"
ok "kill -9 at fetch-ref in a sync: the next run removes the young lock after 2 s unchanged; its heartbeat reaches the remote"

move
expect_rc 137 env COORDSYNC_FAULT=fetch-ref "$COORDSYNC" -C "$T/a" job claim
[ -f "$TRACK" ] || fail "the killed claim left no lock"
expect_rc 0 cs -C "$T/a" msg send build2 --subject "after a killed claim" --defer
m2=$OUT
expect_rc 0 cs -C "$T/a" job claim
removed "$TRACK"
claimed=$(tail -n 1 <<<"$OUT")
on_remote coordination/jobs.json | python3 -c '
import json, sys
j = [j for j in json.load(sys.stdin)["jobs"] if j["id"] == sys.argv[1]]
sys.exit(0 if j and j[0]["status"] == "running" and j[0]["assigned_to"] == "build1" else 1)' "$claimed" ||
  fail "the claim of $claimed is not on the remote"
expect_rc 0 cs -C "$T/a" sync
msg_arrived "$m2"
ok "kill -9 at fetch-ref in a job claim: the next claim removes the lock and claims; the deferred message goes out"

# ---- every lock file libgit2 writes in the clone, young and closed ---------------------
move
for f in "$TRACK" "$BRANCH" "$G/HEAD.lock" "$G/packed-refs.lock" "$G/FETCH_HEAD.lock" "$G/config.lock"; do
  closed_lock "$f"
done
expect_rc 0 cs -C "$T/a" sync
for f in "$TRACK" "$BRANCH" "$G/HEAD.lock" "$G/packed-refs.lock" "$G/FETCH_HEAD.lock" "$G/config.lock"; do
  removed "$f"
done
[ "$(git -C "$T/a" rev-parse HEAD)" = "$(rhead)" ] || fail "the local branch did not move"
git -C "$T/a" status --porcelain | grep -q . && fail "git status is not clean after the repair"
no_leftovers
ok "HEAD.lock, refs/heads/main.lock, refs/remotes/origin/main.lock, packed-refs.lock, FETCH_HEAD.lock, config.lock: all removed in one 2 s watch"

# ---- held open by a live process: never removed, however old ----------------------------
export COORDSYNC_RETRIES=3
holder "$TRACK" '-1 hour'
move
expect_rc 1 cs -C "$T/a" sync
grep -qF "'$TRACK' is open in process $HOLDER (sleep) on this machine; left alone" <<<"$OUT" ||
  fail "the holder is not named: $OUT"
grep -qF "cannot record the fetched head" <<<"$OUT" && grep -qF "$TRACK" <<<"$OUT" ||
  fail "the error does not name the lock: $OUT"
[ -e "$TRACK" ] || fail "a lock held open was removed"
expect_rc 0 cs -C "$T/a" msg send build2 --subject "behind a held lock" --defer
m3=$OUT
expect_rc 1 cs -C "$T/a" job claim
[ -e "$TRACK" ] || fail "a lock held open was removed by a decision"
ok "a refs/remotes/origin/main.lock a live process holds (1 h old): left alone; sync and claim exit 1 naming it and its holder"
unhold
expect_rc 0 cs -C "$T/a" sync
removed "$TRACK"
msg_arrived "$m3"
ok "its holder gone, the lock is stale: removed, and the queued message goes out"

holder "$BRANCH" '-1 hour'
move
expect_rc 1 cs -C "$T/a" sync
grep -qF "'$BRANCH' is open in process $HOLDER (sleep)" <<<"$OUT" &&
  grep -qF "cannot update local branch" <<<"$OUT" || fail "held refs/heads/main.lock: $OUT"
[ -e "$BRANCH" ] || fail "a held refs/heads/main.lock was removed"
unhold
expect_rc 0 cs -C "$T/a" sync
removed "$BRANCH"
[ "$(git -C "$T/a" rev-parse HEAD)" = "$(rhead)" ] || fail "the local branch did not move"
ok "a held refs/heads/main.lock: left alone, sync exits 1 naming it; removed once its holder is gone"

holder "$G/HEAD.lock"
expect_rc 0 cs -C "$T/a" sync
grep -qF "'$G/HEAD.lock' is open in process $HOLDER (sleep)" <<<"$OUT" || fail "held HEAD.lock: $OUT"
[ -e "$G/HEAD.lock" ] || fail "a held HEAD.lock was removed"
unhold
expect_rc 0 cs -C "$T/a" sync
removed "$G/HEAD.lock"
ok "a held HEAD.lock (young): left alone with a notice naming its holder; removed once it is gone"

# ---- a young lock that changes while watched is its writer's ----------------------------
move
closed_lock "$TRACK"
# It writes until the sync is over (at most 60 s), however slow the machine.
( for _ in $(seq 1 600); do [ -e "$T/stop" ] && break; touch "$TRACK"; sleep 0.1; done ) &
writer=$!
BG_PIDS+=("$writer")
expect_rc 1 cs -C "$T/a" sync
: > "$T/stop"
wait "$writer" || true
grep -qF "removed the stale lock" <<<"$OUT" && fail "a lock being written was removed: $OUT"
[ -e "$TRACK" ] || fail "a lock being written was removed"
expect_rc 0 cs -C "$T/a" sync
removed "$TRACK"
ok "a young lock that changes during the watch is left to its writer; removed once it stays unchanged"

# ---- coordsync.stalelock 0: only reported -----------------------------------------------
move
closed_lock "$TRACK" '-1 hour'
expect_rc 1 env COORDSYNC_STALELOCK=0 "$COORDSYNC" -C "$T/a" sync
grep -qF "'$TRACK' is 3600s old and open in no process on this machine; coordsync.stalelock is 0" <<<"$OUT" ||
  grep -qF "'$TRACK' is 3601s old" <<<"$OUT" || fail "stalelock 0: $OUT"
[ -e "$TRACK" ] || fail "stalelock 0: the lock was removed"
rm "$TRACK"
expect_rc 0 cs -C "$T/a" sync
no_leftovers
ok "with coordsync.stalelock 0 a lock in the clone is only reported"
echo "clonelock: kills=2 hand_locks=9 held=3 watched_changes=1 lost_intents=0"
done_testing
