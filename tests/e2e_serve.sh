#!/usr/bin/env bash
# coordsync daemon serving its clone's commands (cli/serve.c): the client's
# output, exit status, directory and COORDSYNC_* environment carry over; a
# stopped or killed daemon, a busy one and hostile requests never lose or
# double a decision; the daemon counts what it served and removes its socket.
. "$TESTS_DIR/lib.sh"
two_clones
SOCK="$T/a/.git/coordsync/serve.sock"
served() { sed -n 's/.*cycles\{0,1\}, \([0-9]*\) commands\{0,1\} served.*/\1/p' "$T/d.err" | tail -1; }
stop_daemon() {
  kill -TERM "$dpid"
  poll_until 20 eval "! kill -0 $dpid 2>/dev/null" || fail "daemon did not stop"
  wait "$dpid" || fail "daemon exit $?"
}

start_serving "$T/a" "$T/d.err"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode $(stat -c %a "$SOCK")"
ok "the daemon listens at .git/coordsync/serve.sock, mode 0600"

# ---- output, exit status and directory carry over --------------------------------
for i in 1 2 3 4 5; do cs "${A[@]}" job add --id "j$i" --priority "$i" >/dev/null; done
id=$(cs "${A[@]}" job claim)
[ "$id" = j1 ] || fail "claim printed '$id'"
cs "${A[@]}" --json job claim >"$T/claim.json"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["id"]=="j2" and j["assigned_to"]=="build1", j' \
  "$T/claim.json" || fail "claim --json through the daemon: $(cat "$T/claim.json")"
remote_json coordination/jobs.json | python3 -c '
import json,sys; s={j["id"]: j["status"] for j in json.load(sys.stdin)["jobs"]}
assert s["j1"] == s["j2"] == "running" and s["j3"] == "queued", s' || fail "claims not pushed"
ok "job add and claim through the daemon print as a process would, and push"

expect_rc 1 cs "${A[@]}" job done nosuchjob
grep -q nosuchjob <<<"$OUT" || fail "error text not on the client's stderr: $OUT"
cs "${A[@]}" job done j1 --result fine 2>"$T/err" >/dev/null
[ ! -s "$T/err" ] || fail "stderr: $(cat "$T/err")"
# relative -C, from another directory: resolved in the client's directory
(cd "$T" && "$COORDSYNC" -C a lock acquire L1 >"$T/fence") || fail "relative -C"
[ "$(cat "$T/fence")" = 1 ] || fail "fence $(cat "$T/fence")"
expect_rc 3 cs -C "$T/b" lock release L1
expect_rc 2 cs "${A[@]}" lock acquire --bogus
ok "errors, exit statuses 1, 2 and 3 and a relative -C carry over"

# ---- the client's COORDSYNC_* environment, not the daemon's ------------------------
COORDSYNC_SERVER=build7 cs "${A[@]}" heartbeat
remote_json build7/heartbeat.json >/dev/null || fail "COORDSYNC_SERVER not used"
cs "${A[@]}" lock acquire L2 >/dev/null
remote_json coordination/locks.json | python3 -c '
import json,sys; l=json.load(sys.stdin)["locks"]["L2"]; assert l["locked_by"]=="build1", l' ||
  fail "the daemon kept the previous request's environment"
n_before=$(served || true)
ok "a request runs with the client's COORDSYNC_* environment, and only that request"

# ---- hostile or broken requests are declined, and the daemon carries on ------------
python3 - "$SOCK" <<'PY' || fail "hostile requests"
import os, socket, struct, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    s.settimeout(10)
    assert len(s.recv(64)) == 32      # ready: the daemon's program
    return s
def answer(s):
    d = s.recv(4)
    assert len(d) == 4, d
    return struct.unpack("i", d)[0]
fds = [0, 1, 2]
ok = b"coordsync-serve 1\0/\0" + b"0\0"
cases = [
    (b"coordsync-serve 999\0/\x000\x003\0coordsync\0job\0claim\0", fds),  # other version
    (ok + b"3\0coordsync\0job\0claim\0", []),                            # no descriptors
    (ok + b"3\0coordsync\0query\0select 1\0", fds),                       # not servable
    (ok + b"2\0coordsync\0daemon\0", fds),                                # not servable
    (ok + b"9\0coordsync\0job\0", fds),                                   # short
    (b"coordsync-serve 1\0/\x001\0PATH=/evil\x003\0coordsync\0job\0claim\0", fds),  # env
    (b"\xff" * 70000, fds),                                               # too big
]
for data, f in cases:
    s = conn()
    try:
        socket.send_fds(s, [data], f) if f else s.send(data)
    except OSError:
        pass
    rc = answer(s)
    assert rc == -1, (data[:40], rc)
    s.close()
# a client that connects and never asks: the daemon moves on after 2 s
s = conn(); time.sleep(3); s.close()
PY
expect_rc 0 cs "${A[@]}" job list --status queued
grep -q j3 <<<"$OUT" || fail "daemon not serving after hostile requests"
[ "$(cs "${A[@]}" job list --status running | grep -c build1)" = 1 ] || fail "a hostile request ran"
ok "another version, no descriptors, unservable commands, bad env, oversize: declined"

# ---- a stopped daemon: the client runs the command itself -------------------------------
kill -STOP "$dpid"
t0=$(date +%s%N)
id=$(cs "${A[@]}" job claim)
[ "$id" = j3 ] || fail "claim beside a stopped daemon printed '$id'"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -CONT "$dpid"
[ "$ms" -lt 5000 ] || fail "a stopped daemon held the client for $ms ms"
sleep 0.5
cs "${A[@]}" job list --status running >"$T/running"
[ "$(grep -c build1 "$T/running")" = 2 ] || fail "the waiting connection ran a claim: $(cat "$T/running")"
ok "a stopped daemon: the client claims by itself in $ms ms; nothing ran twice"

# ---- parallel clients: each job once -------------------------------------------------
for i in $(seq 10 49); do cs "${A[@]}" job add --id "p$i" --priority 9 >/dev/null; done
pids=()
for w in 1 2 3 4; do
  (for _ in $(seq 1 12); do cs "${A[@]}" job claim >>"$T/got.$w" 2>>"$T/perr" || true; done) &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
cat "$T"/got.* | grep '^p' | sort >"$T/got"
[ "$(wc -l <"$T/got")" = 40 ] || fail "claimed $(wc -l <"$T/got") of 40: $(cat "$T/perr")"
[ "$(sort -u "$T/got" | wc -l)" = 40 ] || fail "a job claimed twice"
[ "$(cs -C "$T/b" job list --status queued | grep -c '^p')" = 0 ] || fail "jobs left"
grep -q '^j4$' "$T"/got.* && grep -q '^j5$' "$T"/got.* || fail "j4, j5 not claimed"
# the mirror the daemon's handles kept up (with versions kept between them)
# equals one rebuilt from git
snap() {
  cs "${A[@]}" query "SELECT id, status, assigned_to, fence, json FROM jobs ORDER BY id" --format csv
  cs "${A[@]}" query "SELECT job_id, change, status, commit_id FROM job_history ORDER BY 1, 4, 2" --format csv
}
cs "${A[@]}" sync >/dev/null
snap >"$T/served.snap"
COORDSYNC_NO_DAEMON=1 cs "${A[@]}" rebuild >/dev/null
snap >"$T/rebuilt.snap"
cmp -s "$T/served.snap" "$T/rebuilt.snap" || fail "served mirror differs from a rebuild: $(diff "$T/served.snap" "$T/rebuilt.snap" | head -5)"
ok "4 parallel clients, 48 claims for 42 jobs: each claimed once; the mirror and its history equal a rebuild"

# ---- kill -9: a stale socket; clients run by themselves; a new daemon takes over ----------
stop_daemon
[ ! -e "$SOCK" ] || fail "socket left after SIGTERM"
n=$(served)
[ "$n" -ge 15 ] || fail "the daemon served $n commands"
ok "SIGTERM removes the socket; the daemon served $n commands"

start_serving "$T/a" "$T/d.err"
kill -KILL "$dpid"; wait "$dpid" 2>/dev/null || true
[ -S "$SOCK" ] || fail "expected a stale socket"
cs "${A[@]}" job add --id k1 >/dev/null || fail "job add beside a stale socket"
start_serving "$T/a" "$T/d.err"
cs "${A[@]}" job list | grep -q k1 || fail "k1 lost"
COORDSYNC_NO_DAEMON=1 cs "${A[@]}" job add --id k2 >/dev/null
# another program than the daemon's (as after an upgrade): it runs by itself
cp "$COORDSYNC" "$T/coordsync-copy"
"$T/coordsync-copy" "${A[@]}" job add --id k3 >/dev/null || fail "job add from another binary"
stop_daemon
[ "$(served)" = 1 ] || fail "served $(served), expected only the job list"
cs "${A[@]}" job list | grep -q k3 || fail "k3 lost"
ok "a stale socket: clients work alone, a new daemon replaces it; COORDSYNC_NO_DAEMON and another binary run alone"

"$COORDSYNC" "${A[@]}" daemon --no-serve --max-cycles 1 2>"$T/d2.err" ||
  fail "daemon --no-serve"
[ ! -e "$SOCK" ] || fail "--no-serve listened"
ok "daemon --no-serve does not listen"
done_testing
