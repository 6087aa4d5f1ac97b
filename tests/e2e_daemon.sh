#!/usr/bin/env bash
# coordsync daemon: the run cycle in a loop.  Deferred intents are added on
# the same clone while it runs; SIGTERM (mid-cycle and between cycles) and
# SIGINT stop it with exit 0 and nothing lost; --max-cycles stops it by
# itself; the adaptive interval follows coordsync.interval.*.
. "$TESTS_DIR/lib.sh"
two_clones
LOCK="$T/a/.git/coordsync/lock"
cycles_in() { grep -c '^coordsync run server=build1 ' "$1" || true; }
# daemon_stopped PID SEC: wait at most SEC seconds for PID to exit
daemon_stopped() { poll_until "$2" eval "! kill -0 $1 2>/dev/null"; }

# adder TAG N: N rounds of deferred intents on build1's clone, from the CLI;
# each message's subject is written to $T/sent once it is in the outbox
adder() {
  for i in $(seq 1 "$2"); do
    cs "${A[@]}" msg send build2 --subject "$1-$i" --defer --force >/dev/null || exit 1
    echo "$1-$i" >>"$T/sent"
    cs "${A[@]}" status set idle --set round="$1-$i" --defer || exit 1
    echo "$1-$i" >"$T/last_status"
    if [ $((i % 3)) = 0 ]; then cs "${A[@]}" heartbeat --defer || exit 1; fi
    sleep 0.05
  done
}
: >"$T/sent"

# ---- SIGTERM in the middle of a cycle ----------------------------------------
"$COORDSYNC" "${A[@]}" daemon --interval 1 --max-cycles 50 2>"$T/d1.err" & dpid=$!
BG_PIDS+=("$dpid")
adder t1 40 & apid=$!
poll_until 30 eval '[ "$(cycles_in "$T/d1.err")" -ge 2 ]' || fail "no two cycles: $(cat "$T/d1.err")"
# The daemon holds the clone's lock only while a cycle runs: catch it there.
mid=0
for _ in $(seq 1 300); do
  if ! flock -n "$LOCK" true; then kill -TERM "$dpid"; mid=1; break; fi
  sleep 0.01
done
[ "$mid" = 1 ] || kill -TERM "$dpid"
daemon_stopped "$dpid" 30 || fail "the daemon did not stop within 30 s of SIGTERM"
set +e; wait "$dpid"; rc=$?; set -e
[ "$rc" = 0 ] || fail "daemon exited $rc after SIGTERM: $(cat "$T/d1.err")"
n=$(cycles_in "$T/d1.err")
last=$(tail -1 "$T/d1.err")
[[ $last =~ ^"coordsync daemon: stopped after $n cycles, "[0-9]+" commands served (signal)"$ ]] ||
  fail "last line: $last"
# the adder's deferred intents went to the daemon (tests/e2e_serve.sh has the rest)
[[ $last =~ ", 0 commands" ]] && fail "the daemon served none of the adder's commands"
head -1 "$T/d1.err" | grep -q "^coordsync daemon: started (pid $dpid); serving commands at .git/coordsync/serve.sock$" ||
  fail "start line: $(head -1 "$T/d1.err")"
! grep -v '^coordsync \(run\|daemon\)' "$T/d1.err" || fail "unexpected log lines"
! grep -q 'result=error' "$T/d1.err" || fail "a cycle failed: $(cat "$T/d1.err")"
wait "$apid" || fail "adding deferred intents failed"
ok "SIGTERM $([ $mid = 1 ] && echo mid-cycle || echo between cycles) after $n cycles: exit 0, the cycle finishes, logs 'stopped ... (signal)'"

# ---- SIGTERM between cycles, SIGINT ------------------------------------------------
"$COORDSYNC" "${A[@]}" daemon --interval 5 2>"$T/d2.err" & dpid=$!
BG_PIDS+=("$dpid")
adder t2 20 & apid=$!
poll_until 30 eval '[ "$(cycles_in "$T/d2.err")" -ge 1 ]' || fail "no cycle: $(cat "$T/d2.err")"
sleep 0.5
t0=$(date +%s)
kill -TERM "$dpid"
daemon_stopped "$dpid" 10 || fail "the daemon slept through SIGTERM"
set +e; wait "$dpid"; rc=$?; set -e
[ "$rc" = 0 ] || fail "exit $rc"
[ $(( $(date +%s) - t0 )) -le 3 ] || fail "SIGTERM during the interval took $(( $(date +%s) - t0 )) s"
tail -1 "$T/d2.err" | grep -q "^coordsync daemon: stopped after [0-9]* cycles\?, [0-9]* commands\? served (signal)$" \
  || fail "$(tail -1 "$T/d2.err")"
"$COORDSYNC" "${A[@]}" daemon --interval 5 2>"$T/d3.err" & dpid=$!
BG_PIDS+=("$dpid")
poll_until 30 eval '[ "$(cycles_in "$T/d3.err")" -ge 1 ]' || fail "no cycle: $(cat "$T/d3.err")"
kill -INT "$dpid"
daemon_stopped "$dpid" 10 || fail "the daemon ignored SIGINT"
set +e; wait "$dpid"; rc=$?; set -e
[ "$rc" = 0 ] && tail -1 "$T/d3.err" | grep -q "(signal)$" || fail "SIGINT: exit $rc, $(cat "$T/d3.err")"
wait "$apid" || fail "adding deferred intents failed"
ok "SIGTERM while waiting for the next cycle stops it at once; so does SIGINT"

# ---- nothing lost ------------------------------------------------------------------------
expect_rc 0 cs "${A[@]}" sync
[ "$(sqlite3 "$T/a/.git/coordsync/outbox.db" 'SELECT count(*) FROM outbox')" = 0 ] || fail "outbox not empty"
[ "$(sqlite3 "$T/a/.git/coordsync/mirror.db" 'PRAGMA integrity_check')" = ok ] || fail integrity
python3 - "$(remote_json coordination/messages.json)" "$T/sent" <<'PY' || fail "messages"
import collections, json, sys
sent = open(sys.argv[2]).read().split()
assert len(sent) == 60, len(sent)
got = collections.Counter(m["subject"] for m in json.loads(sys.argv[1])["messages"]
                          if m["from"] == "build1")
missing = [s for s in sent if got[s] == 0]
twice = [s for s, n in got.items() if n > 1]
assert not missing and not twice, ("missing", missing, "twice", twice)
assert set(got) == set(sent), set(got) - set(sent)
PY
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["status"]=="idle" and s["round"]==sys.argv[2], s' \
  "$(remote_json build1/status.json)" "$(cat "$T/last_status")" || fail "status: last write lost"
[ -z "$(git --git-dir="$T/r.git" rev-list --merges HEAD)" ] || fail "merge commits"
ok "after one more sync all 60 deferred messages are on the remote exactly once, the last status too, the outbox is empty"

# ---- --max-cycles, the adaptive interval --------------------------------------------------
t0=$(date +%s)
set +e; timeout 60 "$COORDSYNC" "${A[@]}" daemon --interval 1 --max-cycles 2 2>"$T/d4.err"; rc=$?; set -e
[ "$rc" = 0 ] || fail "--max-cycles 2 exited $rc: $(cat "$T/d4.err")"
[ "$(cycles_in "$T/d4.err")" = 2 ] || fail "cycles: $(cat "$T/d4.err")"
[ "$(tail -1 "$T/d4.err")" = "coordsync daemon: stopped after 2 cycles, 0 commands served" ] || fail "$(tail -1 "$T/d4.err")"
[ $(( $(date +%s) - t0 )) -le 10 ] || fail "--max-cycles 2 with --interval 1 took $(( $(date +%s) - t0 )) s"
ok "--max-cycles 2 stops by itself after two cycles, exit 0, no '(signal)'"
git -C "$T/a" config coordsync.interval.idle 1
t0=$(date +%s)
set +e; timeout 60 "$COORDSYNC" "${A[@]}" daemon --max-cycles 3 2>"$T/d5.err"; rc=$?; set -e
[ "$rc" = 0 ] && [ "$(cycles_in "$T/d5.err")" = 3 ] || fail "idle interval: $rc $(cat "$T/d5.err")"
[ $(( $(date +%s) - t0 )) -le 15 ] || fail "coordsync.interval.idle=1 ignored"
cs "${A[@]}" job add --id pending >/dev/null
t0=$(date +%s)
set +e
COORDSYNC_INTERVAL_PENDING=2 timeout 60 "$COORDSYNC" "${A[@]}" daemon --max-cycles 2 2>"$T/d6.err"
rc=$?
set -e
el=$(( $(date +%s) - t0 ))
[ "$rc" = 0 ] && [ "$el" -ge 2 ] && [ "$el" -le 15 ] || fail "pending interval: rc $rc, $el s"
ok "the adaptive interval follows coordsync.interval.idle and COORDSYNC_INTERVAL_PENDING"
done_testing
