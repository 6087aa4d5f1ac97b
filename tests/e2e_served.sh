#!/usr/bin/env bash
# A decision the daemon serves is all-or-nothing for its caller (issue 14):
#  1. the caller times out (exit 124) while the served claim waits for the
#     clone's lock: the daemon makes no claim for it, the job stays queued;
#  2. the caller is killed (SIGTERM, as by timeout) while the claim's push is
#     under way (a git:// remote behind a loopback proxy that holds each push
#     for 4 s and says when one begins): the claim
#     is on the remote, so the daemon gives it back in a follow-up decision
#     (queued again, the fence raised, the reason in `error`); a lock granted
#     the same way is released.  Never an orphaned claim on a live server.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"

remote_job() {   # RDIR ID: status attempts fence error of job ID at the remote head
  git --git-dir="$1" show refs/heads/main:coordination/jobs.json | python3 -c '
import json, sys
j = [j for j in json.load(sys.stdin)["jobs"] if j["id"] == sys.argv[1]][0]
print(j["status"], j.get("attempts", 0), j.get("fence", 0), j.get("error") or "-")' "$2"
}

# ---- 1. the caller goes away while the claim waits for the clone's lock ------------
two_clones
COORDSYNC_NO_DAEMON=1 cs -C "$T/a" job add --id s1 >/dev/null
start_serving "$T/a" "$T/d1.err"
# Another coordsync holds the clone's lock for 4 s (here: flock itself).
flock "$T/a/.git/coordsync/lock" sleep 4 & hpid=$!
BG_PIDS+=("$hpid")
sleep 0.3
expect_rc 124 timeout 1.5 "$COORDSYNC" -C "$T/a" job claim
wait "$hpid"
# Until the daemon says its caller went away, or the claim is on the remote.
poll_until 15 eval 'grep -q "went away" "$T/d1.err" || [ "$(remote_job "$T/r.git" s1 | cut -d" " -f1)" != queued ]' || true
got=$(remote_job "$T/r.git" s1)
[ "$got" = "queued 0 0 -" ] || fail "a claim was made for a caller that had gone: $got"
expect_rc 0 cs -C "$T/b" job claim
[ "$OUT" = s1 ] || fail "s1 not claimable afterwards: $OUT"
kill -TERM "$dpid"; wait "$dpid" || fail "daemon exit $?"
grep -q "went away" "$T/d1.err" || fail "the daemon's log does not say its caller went away: $(cat "$T/d1.err")"
ok "a caller that timed out while its claim waited: no claim is made (the job stays queued)"

# ---- 2. the caller goes away while the claim is being pushed -------------------------
start_git_daemon
wait_for "$GITD_BASE/r.git"
PROXY_PORT=$(free_port)
: >"$T/p.log"
echo "delay-push 4" >"$T/p.mode"
python3 "$TESTS_DIR/stall_proxy.py" "$PROXY_PORT" "${GITD_BASE##*:}" "$T/p.mode" "$T/p.log" 2>"$T/proxy.err" &
BG_PIDS+=("$!")
wait_for "git://127.0.0.1:$PROXY_PORT/r.git"
cs init "git://127.0.0.1:$PROXY_PORT/r.git" "$T/p" --server build3 >/dev/null
COORDSYNC_NO_DAEMON=1 cs -C "$T/p" job add --id s2 >/dev/null
start_serving "$T/p" "$T/d2.err"
# caller_leaves_mid_push CMD...: run CMD through the daemon; once its push
# has begun (the proxy says so), kill the caller as timeout(1) would.
caller_leaves_mid_push() {
  local before pid rc
  before=$(grep -c pushing "$T/p.log" || true)
  "$COORDSYNC" "$@" >/dev/null 2>&1 & pid=$!
  poll_until 20 eval '[ "$(grep -c pushing "$T/p.log" || true)" -gt '"$before"' ]' || fail "no push from: $*"
  kill -TERM "$pid"
  set +e; wait "$pid"; rc=$?; set -e
  [ $rc = 143 ] || fail "the caller was not killed mid-push (exit $rc): $*"
}
caller_leaves_mid_push -C "$T/p" job claim
poll_until 20 grep -q "went away" "$T/d2.err" || true
poll_until 10 eval '[ "$(remote_job "$T/r.git" s2 | cut -d" " -f1)" = queued ]' ||
  fail "the claim of a caller that went away stays: $(remote_job "$T/r.git" s2)"
read -r st att fence err <<<"$(remote_job "$T/r.git" s2)"
[ "$att" = 1 ] && [ "$fence" = 2 ] && grep -q "went away" <<<"$err" ||
  fail "requeued claim: status $st attempts $att fence $fence error $err"
ok "a caller that timed out during the claim's push: the claim is given back (queued, fence 2, error says why)"

caller_leaves_mid_push -C "$T/p" lock acquire L9 --ttl 600
poll_until 20 eval '[ "$(grep -c "went away" "$T/d2.err")" -ge 2 ]' || true
poll_until 10 eval 'git --git-dir="$T/r.git" show refs/heads/main:coordination/locks.json |
  python3 -c "import json,sys; l=json.load(sys.stdin)[\"locks\"].get(\"L9\") or {}; sys.exit(0 if l.get(\"locked_by\") is None else 1)"' ||
  fail "a lock granted to a caller that went away is still held: $(git --git-dir="$T/r.git" show refs/heads/main:coordination/locks.json)"
kill -TERM "$dpid"; wait "$dpid" || fail "daemon exit $?"
expect_rc 0 cs -C "$T/b" job claim
[ "$OUT" = s2 ] || fail "s2 not claimable afterwards: $OUT"
ok "a lock granted to a caller that went away is released; the job is claimed by the next worker"

done_testing
