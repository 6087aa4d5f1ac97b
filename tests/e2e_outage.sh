#!/usr/bin/env bash
# Remote down: a local remote moved away, a git:// server not running, a
# git:// server killed in the middle of a push, a local remote taken away in
# the middle of a push.  Every decision and sync fails with exit 1 and a
# message naming the remote; deferred intents stay queued; once the remote
# is back the next sync delivers them, each exactly once.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"
OPS_RUN=0 FAULTS=0 LOST=0 DUP=0

outbox() { sqlite3 -readonly "$1/.git/coordsync/outbox.db" 'SELECT count(*) FROM outbox'; }
# on_remote RDIR MSGID STATUS: copies of the message, and whether build1's
# status is STATUS, at the remote head.
on_remote() {
  python3 - "$@" <<'PY'
import json, subprocess, sys
rdir, mid, status = sys.argv[1:]
def show(p):
    r = subprocess.run(["git", "--git-dir", rdir, "show", "refs/heads/main:" + p],
                       capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else {}
n = sum(1 for m in show("coordination/messages.json")["messages"] if m["id"] == mid)
print(n, int(show("build1/status.json").get("status") == status),
      int("timestamp" in show("build1/heartbeat.json")))
PY
}

# queue CLONE TAG: defer a message, a status and a heartbeat; MID is the message.
queue() {
  expect_rc 0 cs -C "$1" msg send build2 --subject "sent while down $2" --defer --force
  MID=$OUT
  expect_rc 0 cs -C "$1" status set "waiting-$2" --defer
  expect_rc 0 cs -C "$1" heartbeat --defer
  OPS_RUN=$((OPS_RUN + 3))
}

# delivered CLONE RDIR TAG: after the outage, one sync delivers all three once.
delivered() {
  local got commits
  [ "$(outbox "$1")" = 3 ] || fail "$3: intents lost while the remote was down"
  [ "$(on_remote "$2" "$MID" "waiting-$3" | cut -d' ' -f1)" = 0 ] || fail "$3: delivered while down?"
  commits=$(git --git-dir="$2" rev-list --count refs/heads/main)
  expect_rc 0 cs -C "$1" sync
  grep -q "3 intents pushed" <<<"$OUT" || fail "$3: $OUT"
  expect_rc 0 cs -C "$1" sync
  got=$(on_remote "$2" "$MID" "waiting-$3")
  [ "${got%% *}" = 0 ] && LOST=$((LOST + 1))
  [ "${got%% *}" -gt 1 ] && DUP=$((DUP + 1))
  [ "$got" = "1 1 1" ] || fail "$3: message copies, status, heartbeat on the remote: $got"
  [ "$(git --git-dir="$2" rev-list --count refs/heads/main)" = $((commits + 1)) ] ||
    fail "$3: expected exactly one commit for the three intents"
  [ "$(outbox "$1")" = 0 ] || fail "$3: outbox not emptied"
}

# ---- a local remote moved away ----------------------------------------------
mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
cs -C "$T/a" job add --id j1 >/dev/null
mv "$T/r.git" "$T/r.away"
expect_rc 1 cs -C "$T/a" job claim
grep -q "fetch failed: remote '$T/r.git' is not there: No such file or directory" <<<"$OUT" ||
  fail "local remote gone: $OUT"
queue "$T/a" local
expect_rc 1 cs -C "$T/a" sync
grep -q "is not there" <<<"$OUT" || fail "sync, local remote gone: $OUT"
FAULTS=$((FAULTS + 1))
mv "$T/r.away" "$T/r.git"
delivered "$T/a" "$T/r.git" local
expect_rc 0 cs -C "$T/a" job claim
[ "$OUT" = j1 ] || fail "claim once the remote is back: $OUT"
ok "local remote moved away: exit 1 naming it, intents kept; back again: delivered once"

# ---- a local remote taken away during the push ----------------------------------
# sync_stopped_in_push CLONE: a sync of CLONE, stopped (SIGSTOP) in its push;
# its pid in $pid, its output in $T/out.
sync_stopped_in_push() {
  COORDSYNC_FAULT=mid-push:stop "$COORDSYNC" -C "$1" sync >"$T/out" 2>&1 &
  pid=$!
  poll_until 10 eval '[ "$(cut -d" " -f3 "/proc/$pid/stat" 2>/dev/null)" = T ]' ||
    fail "sync did not stop in the push"
}
queue "$T/a" local-mid
sync_stopped_in_push "$T/a"
mv "$T/r.git" "$T/r.away"
kill -CONT "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ $rc = 1 ] || fail "local remote gone mid-push: exit $rc: $(cat "$T/out")"
grep -q "push failed: cannot move .refs/heads/main. in the remote .$T/r.git." "$T/out" || fail "mid-push message: $(cat "$T/out")"
FAULTS=$((FAULTS + 1))
mv "$T/r.away" "$T/r.git"
delivered "$T/a" "$T/r.git" local-mid
ok "local remote taken away mid-push: exit 1, intents kept, delivered once when it is back"

# ---- git://: the server not running, then killed mid-push ---------------------------
mkremote g
git --git-dir="$T/g.git" config daemon.receivepack true
port=$(free_port)
URL="git://127.0.0.1:$port/g.git"
DAEMON=""
# start_daemon: (re)start git daemon on the same port, where the clone looks
start_daemon() {
  start_git_daemon "$port"
  DAEMON=$GITD_PID
  wait_for "$URL"
}
# kill_tree PID: the daemon and every process it started (receive-pack).
kill_tree() {
  local c
  for c in $(ps -o pid= --ppid "$1"); do kill_tree "$c"; done
  kill -9 "$1" 2>/dev/null || true
}
start_daemon
cs init "$URL" "$T/ga" --server build1 >/dev/null
kill "$DAEMON"; wait "$DAEMON" 2>/dev/null || true
expect_rc 1 cs -C "$T/ga" job claim
grep -q "fetch failed: remote '$URL': failed to connect to 127.0.0.1: Connection refused" <<<"$OUT" ||
  fail "git:// down: $OUT"
queue "$T/ga" git-down
expect_rc 1 cs -C "$T/ga" sync
FAULTS=$((FAULTS + 1))
start_daemon
delivered "$T/ga" "$T/g.git" git-down
ok "git:// server not running: exit 1 naming the URL, intents kept; restarted: delivered once"

queue "$T/ga" git-killed
sync_stopped_in_push "$T/ga"
[ -n "$(ps -o pid= --ppid "$DAEMON")" ] || fail "no receive-pack running for the stopped push"
kill_tree "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
kill -CONT "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ $rc = 1 ] || fail "server killed mid-push: exit $rc (141 would be SIGPIPE): $(cat "$T/out")"
grep -q "push failed: remote '$URL': " "$T/out" || fail "mid-push message: $(cat "$T/out")"
FAULTS=$((FAULTS + 1))
start_daemon
delivered "$T/ga" "$T/g.git" git-killed
ok "git:// server killed mid-push: exit 1 (not SIGPIPE) naming the URL, intents kept; delivered once after"
[ -z "$(git --git-dir="$T/g.git" rev-list --merges refs/heads/main)" ] &&
  git --git-dir="$T/g.git" fsck --no-dangling >/dev/null 2>&1 || fail "the git:// remote is damaged"
echo "outage: clients=2 operations=$OPS_RUN faults=$FAULTS double_grants=0 lost_intents=$LOST duplicated_intents=$DUP"
[ $LOST = 0 ] && [ $DUP = 0 ] || fail "lost or duplicated intents"
done_testing
