#!/usr/bin/env bash
# e2e_timeout: time bounds on every remote operation (engine/net.c).  A
# loopback proxy (tests/stall_proxy.py) sits in front of git daemon
# (git://) and of lighttpd + git http-backend (http://) and, as told, says
# nothing after accepting, stalls a fetch once objects are asked for, or
# stalls a push once the pack starts.  A listener with a full accept queue
# never completes a connect.  Checks, with coordsync.timeout.* made short:
#   - sync (fetching, and pushing a deferred message, which stays queued
#     and later arrives once), job claim, clone (init) and a claim served
#     by `coordsync daemon` exit 1 within the bound, naming the remote,
#     the step (connect, fetch, push, clone) and the bound (connect,
#     stall, total); over ssh:// a silent server holds the handshake,
#     bounded the same way;
#   - the clone's lock is free afterwards: the next command against the
#     healthy remote works, and a stalled push left nothing behind;
#   - a bad timeout setting is refused, naming the key.
# Every coordsync runs under `timeout 60`: code without the bounds hangs
# there (exit 124) instead of hanging the suite.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"

OUTLOG="$T/outputs.log"

# start_proxy NAME TARGET_PORT: a stall proxy; sets PORT_<NAME>, mode file $T/NAME.mode
start_proxy() {
  local port
  port=$(free_port)
  echo pass >"$T/$1.mode"
  python3 "$TESTS_DIR/stall_proxy.py" "$port" "$2" "$T/$1.mode" "$T/$1.log" &
  BG_PIDS+=($!)
  printf -v "PORT_$1" '%s' "$port"
}
mode() { echo "$2" >"$T/$1.mode"; }

# other_commit: the git CLI (another server) moves the remote branch directly
other_commit() {
  git -C "$T/other" pull -q --ff-only
  date +%s.%N >"$T/other/build9.mark"
  git -C "$T/other" add build9.mark
  git -C "$T/other" commit -qm "build9: $1"
  git -C "$T/other" push -q origin HEAD:main
}

mkremote r
http_repo r
cs init "$T/r.git" "$T/seed" --server build0 >/dev/null
git clone -q "$T/r.git" "$T/other"
start_git_daemon
gport=${GITD_BASE##*:}
start_proxy gp "$gport"
TOKEN="tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -p "$T/secrets" && chmod 700 "$T/secrets"
( umask 077; printf '%s\n' "$TOKEN" >"$T/secrets/token" )
start_http alice "$TOKEN"
start_proxy hp "$HTTP_PORT"
wait_for "$GITD_BASE/r.git"
wait_for "$HTTP_TESTER_BASE/r.git"
GURL="git://127.0.0.1:$PORT_gp/r.git"
HURL="http://127.0.0.1:$PORT_hp/git/r.git"

# A listener whose accept queue is full: connects to it never complete.
python3 - "$T/full.port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
held = []
for _ in range(8):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    held.append(c)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(600)
PY
BG_PIDS+=($!)
poll_until 10 test -s "$T/full.port" || fail "no full listener"
FULL="git://127.0.0.1:$(cat "$T/full.port")/r.git"

tcs 0 20 init "$GURL" "$T/g" --server build1
tcs 0 20 init "$HURL" "$T/h" --server build2 --user alice --token-file "$T/secrets/token"
for c in g h; do
  git -C "$T/$c" config coordsync.timeout.connect 2s
  git -C "$T/$c" config coordsync.timeout.stall 2
  git -C "$T/$c" config coordsync.timeout.total 20s
done
for j in a1 a2 a3 a4; do tcs 0 20 -C "$T/g" job add --id "$j"; done
tcs 0 20 -C "$T/h" sync
ok "clones over git:// and http:// through the proxies (timeouts 2s/2s/20s)"

# ---- per transport: accepts and never answers, stalls mid-fetch, mid-push -------------
for c in g h; do
  if [ $c = g ]; then url=$GURL p=gp; else url=$HURL p=hp; fi
  scheme=${url%%:*}
  mode $p silent
  tcs 1 8 -C "$T/$c" sync
  has "fetch timed out: remote '$url': nothing received for 2s (coordsync.timeout.stall)"
  w=$TOOK
  if [ $c = g ]; then
    tcs 1 8 -C "$T/$c" job claim
    has "fetch timed out: remote '$url'"
  fi
  grep -q "^silent accepted" "$T/$p.log" || fail "the proxy saw no connection"
  mode $p pass
  tcs 0 10 -C "$T/$c" sync
  ok "$scheme: a remote that accepts and never answers: sync$([ $c = g ] && echo ' and job claim') exit 1 in $w s, naming fetch; the lock is free"

  other_commit "fetch over $scheme"
  mode $p stall-fetch
  tcs 1 8 -C "$T/$c" sync
  has "fetch timed out: remote '$url': nothing received for 2s"
  w=$TOOK
  grep -q "^stall-fetch stalled" "$T/$p.log" || fail "the fetch was not stalled mid-way"
  mode $p pass
  tcs 0 10 -C "$T/$c" sync
  git -C "$T/$c" log -1 --format=%s origin/main | grep -q "build9: fetch over $scheme" ||
    fail "the next sync did not fetch"
  ok "$scheme: a fetch stalled after the refs: exit 1 in $w s; the next sync fetches"

  head=$(git --git-dir="$T/r.git" rev-parse main)
  mode $p stall-push
  tcs 1 8 -C "$T/$c" job claim
  has "push timed out: remote '$url': nothing received for 2s (coordsync.timeout.stall)"
  has "the push may have reached the remote"
  w=$TOOK
  grep -q "^stall-push stalled" "$T/$p.log" || fail "the push was not stalled mid-way"
  [ "$(git --git-dir="$T/r.git" rev-parse main)" = "$head" ] || fail "the stalled push landed"
  mode $p pass
  tcs 0 10 -C "$T/$c" job claim
  [ "$(git --git-dir="$T/r.git" rev-parse main)" != "$head" ] || fail "the claim after was not pushed"
  ok "$scheme: a push stalled in its pack: job claim exits 1 in $w s naming push; the next claim ($OUT) works"

  # sync pushing a deferred intent: the intent stays queued, and goes out once
  tcs 0 10 -C "$T/$c" msg send all --subject "$scheme stall" --defer
  mode $p stall-push
  tcs 1 8 -C "$T/$c" sync
  has "push timed out: remote '$url'"
  w=$TOOK
  [ "$(sqlite3 -readonly "$T/$c/.git/coordsync/outbox.db" 'SELECT count(*) FROM outbox')" -ge 1 ] ||
    fail "the deferred status left the outbox on a stalled push"
  mode $p pass
  tcs 0 10 -C "$T/$c" sync
  has "1 intent pushed"
  n=$(git --git-dir="$T/r.git" show main:coordination/messages.json | python3 -c '
import json, sys
print(sum(m["subject"] == sys.argv[1] for m in json.load(sys.stdin)["messages"]))' "$scheme stall")
  [ "$n" -eq 1 ] || fail "the deferred message is on the remote $n times"
  ok "$scheme: sync pushing a deferred message through a stalled push: exit 1 in $w s, the intent kept; the next sync delivers it once"
done

# ---- settings --------------------------------------------------------------------------
git -C "$T/g" config coordsync.timeout.stall soon
tcs 2 10 -C "$T/g" sync
has "invalid setting coordsync.timeout.stall 'soon'"
git -C "$T/g" config coordsync.timeout.stall 2
tcs 0 10 -C "$T/g" config
grep -q "coordsync.timeout.total *20 *git config" <<<"$OUT" || fail "config: $OUT"
ok "a bad coordsync.timeout.stall is refused naming the key; config shows the bounds"

# ---- total and connect bounds --------------------------------------------------------
git -C "$T/g" config coordsync.timeout.stall 60s
git -C "$T/g" config coordsync.timeout.total 2s
mode gp silent
tcs 1 8 -C "$T/g" sync
has "fetch timed out: remote '$GURL': not done after 2s (coordsync.timeout.total)"
mode gp pass
git -C "$T/g" config coordsync.timeout.stall 2s
git -C "$T/g" config coordsync.timeout.total 20s
ok "a fetch that outlasts coordsync.timeout.total: exit 1 in $TOOK s, naming the bound"

git -C "$T/g" config coordsync.timeout.connect 1
git -C "$T/g" remote set-url origin "$FULL"
tcs 1 8 -C "$T/g" sync
has "connect timed out: remote '$FULL' (fetch): no connection within 1s (coordsync.timeout.connect)"
w=$TOOK
git -C "$T/g" remote set-url origin "$GURL"
git -C "$T/g" config coordsync.timeout.connect 2s
tcs 0 10 -C "$T/g" sync
ok "a connect that never completes: exit 1 in $w s, naming connect"

# ssh:// : libssh2 reads and writes the descriptor itself; a silent server
# holds its handshake (the banner never comes)
mode gp silent
git -C "$T/g" remote set-url origin "ssh://git@127.0.0.1:$PORT_gp/r.git"
tcs 1 8 -C "$T/g" sync
has "fetch timed out: remote 'ssh://127.0.0.1:$PORT_gp/r.git': nothing received for 2s (coordsync.timeout.stall)"
w=$TOOK
git -C "$T/g" remote set-url origin "$GURL"
mode gp pass
tcs 0 10 -C "$T/g" sync
ok "ssh://: a server that never sends its banner: exit 1 in $w s, naming fetch"

# one timeout ends the command's remote work: run's later steps do not wait again
mode gp silent
tcs 1 12 -C "$T/g" run
has "result=error"
mode gp pass
ok "run against a silent remote: one bound's wait ($TOOK s), not one per step"

mode gp silent
COORDSYNC_TIMEOUT_STALL=2 tcs 1 8 init "$GURL" "$T/g2" --server build3
has "clone timed out: remote '$GURL': nothing received for 2s"
[ ! -e "$T/g2" ] || fail "a timed-out clone left $T/g2"
mode gp pass
ok "init (clone) from a silent remote: exit 1 in $TOOK s, COORDSYNC_TIMEOUT_STALL honoured"

# ---- a claim served by coordsync daemon ---------------------------------------------
SOCK="$T/g/.git/coordsync/serve.sock"
"$COORDSYNC" -C "$T/g" daemon --interval 3600 2>"$T/d.err" & dpid=$!
BG_PIDS+=("$dpid")
poll_until 20 test -S "$SOCK" || fail "no daemon socket"
poll_until 20 grep -q '^coordsync run server=build1 ' "$T/d.err" || fail "no first daemon cycle"
mode gp silent
tcs 1 8 -C "$T/g" job claim
has "fetch timed out: remote '$GURL'"
mode gp stall-push
tcs 1 8 -C "$T/g" job claim
has "push timed out: remote '$GURL'"
mode gp pass
tcs 0 10 -C "$T/g" job claim
claimed=$OUT
kill -TERM "$dpid"
poll_until 20 eval "! kill -0 $dpid 2>/dev/null" || fail "the daemon did not stop"
wait "$dpid" || fail "daemon exit $?: $(cat "$T/d.err")"
grep -q "cycles\?, 3 commands served" "$T/d.err" || fail "the daemon did not serve the 3 claims: $(tail -3 "$T/d.err")"
git --git-dir="$T/r.git" show main:coordination/jobs.json | python3 -c '
import json, sys
jobs = {j["id"]: j for j in json.load(sys.stdin)["jobs"]}
running = sorted(i for i, j in jobs.items() if j["status"] == "running")
assert sys.argv[1] in running, (sys.argv[1], running)
assert len(running) == 3, running   # a1, a2 before, and this one: the stalled ones made none
' "$claimed" || fail "jobs after the served claims"
ok "claims served by coordsync daemon: exit 1 within the bound (fetch, push); the daemon serves the next one ($claimed)"

! grep -qF "$TOKEN" "$OUTLOG" || fail "the token appears in an output"
echo "$PASS passed, 0 failed"
