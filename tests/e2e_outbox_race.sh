#!/usr/bin/env bash
# Deferred intents beside a slow push and a rebuild (issue 14):
#  1. a slow push (a git:// remote behind a loopback proxy that holds each
#     receive-pack connection for 12 s) never makes --defer wait or fail:
#     the old code held the mirror's write lock across the push, and --defer
#     failed after 10 s with "database is locked";
#  2. an intent deferred while a rebuild runs is not lost when the rebuild
#     swaps in the new mirror;
#  3. a mixed run: 40 deferred messages while rebuilds and syncs run on the
#     same clone, each arrives exactly once (the old code lost about a quarter).
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"

mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
A=(-C "$T/a")
cs "${A[@]}" heartbeat   # build1 is a known server: messages go to it

# ---- 1. a slow push and --defer ---------------------------------------------------
# A proxy in front of git daemon that holds a receive-pack (push) connection
# for 12 s before it forwards it: a decision holds the clone's lock, and with
# the old code the mirror's write lock, across that push.
start_git_daemon
wait_for "$GITD_BASE/r.git"
PROXY_PORT=$(free_port)
echo "delay-push 12" >"$T/p.mode"
python3 "$TESTS_DIR/stall_proxy.py" "$PROXY_PORT" "${GITD_BASE##*:}" "$T/p.mode" "$T/p.log" 2>"$T/proxy.err" &
BG_PIDS+=("$!")
wait_for "git://127.0.0.1:$PROXY_PORT/r.git"
cs init "git://127.0.0.1:$PROXY_PORT/r.git" "$T/s" --server build3 >/dev/null
S=(-C "$T/s")
"$COORDSYNC" "${S[@]}" job add --id slow-1 >"$T/slow.out" 2>&1 & dpid=$!
BG_PIDS+=("$dpid")
sleep 2            # the decision is in its push now
kill -0 "$dpid" 2>/dev/null || fail "the decision did not wait for the slow push: $(cat "$T/slow.out")"
start=$(date +%s.%N)
for i in 1 2 3; do
  expect_rc 0 timeout 30 "$COORDSYNC" "${S[@]}" msg send build1 --force --subject "slow-$i" --defer
done
expect_rc 0 timeout 30 "$COORDSYNC" "${S[@]}" heartbeat --defer
took=$(python3 -c "import time,sys; print(round(time.time() - float(sys.argv[1]), 1))" "$start")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 5 else 1)" "$took" ||
  fail "--defer waited ${took}s for a decision's push"
kill -0 "$dpid" 2>/dev/null || fail "the slow push ended before the deferred intents were tested"
wait "$dpid" || true
expect_rc 0 timeout 60 "$COORDSYNC" "${S[@]}" sync
for i in 1 2 3; do
  [ "$(copies "$T/r.git" "slow-$i")" = 1 ] || fail "slow-$i not delivered exactly once"
done
ok "--defer during a 12 s push returns at once (${took}s for 4) and every intent arrives once"

# ---- 2. a rebuild and a concurrent --defer --------------------------------------
# The rebuild is stopped after it has read the old mirror and imported the
# remote into the new one, before it swaps the new one in; an intent is
# deferred meanwhile.
COORDSYNC_FAULT=after-import:stop "$COORDSYNC" "${A[@]}" rebuild >"$T/rebuild.out" 2>&1 & rpid=$!
BG_PIDS+=("$rpid")
poll_until 20 eval '[ "$(ps -o stat= -p '"$rpid"' | cut -c1)" = T ]' || fail "the rebuild never reached after-import"
expect_rc 0 timeout 20 "$COORDSYNC" "${A[@]}" msg send build1 --force --subject during-rebuild --defer
kill -CONT "$rpid"
wait "$rpid" || fail "rebuild failed: $(cat "$T/rebuild.out")"
expect_rc 0 cs "${A[@]}" sync
[ "$(copies "$T/r.git" during-rebuild)" = 1 ] || fail "an intent deferred during a rebuild was lost"
ok "an intent deferred during a rebuild arrives"

# ---- 3. a mixed run: deferred messages while rebuilds and syncs run ---------------
# The shape of the report in issue 14 (24 of 83 deferred messages lost).
(for i in $(seq 1 40); do
   "$COORDSYNC" "${A[@]}" msg send build1 --force --subject "mixed-$i" --defer >/dev/null || exit 1
 done) & apid=$!
BG_PIDS+=("$apid")
n=0
while kill -0 "$apid" 2>/dev/null && [ $n -lt 24 ]; do
  if [ $((n % 3)) = 2 ]; then "$COORDSYNC" "${A[@]}" sync >/dev/null 2>&1 || true
  else "$COORDSYNC" "${A[@]}" rebuild >/dev/null 2>&1 || true; fi
  n=$((n + 1))
done
wait "$apid" || fail "a deferred message failed"
expect_rc 0 cs "${A[@]}" sync
missing=0 twice=0
for i in $(seq 1 40); do
  c=$(copies "$T/r.git" "mixed-$i")
  [ "$c" = 0 ] && missing=$((missing + 1))
  [ "$c" -gt 1 ] && twice=$((twice + 1))
done
[ $missing = 0 ] && [ $twice = 0 ] ||
  fail "mixed run ($n rebuilds and syncs): $missing of 40 deferred messages lost, $twice doubled"
ok "40 deferred messages beside $n rebuilds and syncs: each arrived exactly once"

done_testing
