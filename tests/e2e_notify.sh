#!/usr/bin/env bash
# `coordsync daemon` under systemd's Type=notify: READY=1 once it serves,
# STATUS= per cycle, WATCHDOG=1 at least every WATCHDOG_USEC/2 while the
# loop moves (also through a long idle wait) and none while a step hangs,
# STOPPING=1 on SIGTERM.  The manager's end is a real unix datagram socket
# (python3), at a path and in the abstract namespace.
. "$TESTS_DIR/lib.sh"
mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
A=(-C "$T/a")

cat >"$T/recv.py" <<'PY'
# recv.py ADDR OUT: receive datagrams at ADDR ('@name': abstract) and append
# "MONOTONIC-SECONDS<TAB>LINE" to OUT for each line of each; with ADDR
# "hang:PORTFILE" instead, accept TCP connections on 127.0.0.1 and never
# answer (a remote that hangs), writing the port to PORTFILE.
import os, socket, sys, time
addr, out = sys.argv[1], sys.argv[2]
if addr.startswith("hang:"):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    with open(addr[5:] + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(addr[5:] + ".tmp", addr[5:])
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
with open(out, "a") as f:   # OUT exists once the socket is bound
    while True:
        data = s.recv(4096).decode()
        t = time.monotonic()
        for line in data.split("\n"):
            f.write("%.3f\t%s\n" % (t, line))
        f.flush()
PY
# receiver ADDR OUT: start recv.py in the background; wait for the socket.
receiver() {
  python3 "$T/recv.py" "$1" "$2" &
  BG_PIDS+=($!)
  poll_until 10 test -e "$2" || fail "no receiver at $1"
}
# gaps OUT: the largest gap between WATCHDOG=1 pings and their count.
gaps() {
  python3 - "$1" <<'PY'
import sys
t = [float(l.split("\t")[0]) for l in open(sys.argv[1]) if l.rstrip("\n").endswith("\tWATCHDOG=1")]
print("%.3f %d" % (max([b - a for a, b in zip(t, t[1:])] or [0]), len(t)))
PY
}
has() { grep -q "	$2" "$1"; }

# ---- READY, STATUS, WATCHDOG at the rate asked, STOPPING on SIGTERM ----------
receiver "$T/notify.sock" "$T/n1"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=1000000 "$COORDSYNC" "${A[@]}" daemon --interval 2 2>"$T/d1.log" &
pid=$!
BG_PIDS+=($pid)
poll_until 10 has "$T/n1" "READY=1" || fail "no READY=1: $(cat "$T/d1.log")"
[ "$(head -1 "$T/n1" | cut -f2)" = READY=1 ] || fail "READY=1 is not first: $(cat "$T/n1")"
has "$T/n1" "MAINPID=$pid" || fail "MAINPID: $(cat "$T/n1")"
poll_until 15 has "$T/n1" "STATUS=cycle 2 ok" || fail "no STATUS for two cycles: $(cat "$T/n1")"
kill -TERM $pid
wait $pid || fail "daemon exit $?: $(cat "$T/d1.log")"
poll_until 5 has "$T/n1" "STOPPING=1" || fail "no STOPPING=1: $(cat "$T/n1")"
read -r gap n < <(gaps "$T/n1")
python3 -c "import sys; g, n = float(sys.argv[1]), int(sys.argv[2]); sys.exit(not (n >= 6 and g <= 0.5 + 0.3))" "$gap" "$n" ||
  fail "WATCHDOG=1 with WATCHDOG_USEC=1s: $n pings, largest gap $gap s"
ok "READY=1 (with MAINPID) first, STATUS per cycle, WATCHDOG=1 every <= USEC/2 through cycles and idle waits ($n pings, largest gap $gap s), STOPPING=1 on SIGTERM"

# ---- the abstract namespace; WATCHDOG_PID of another process: no pings --------
name="@coordsync-test-$$-$RANDOM"
receiver "$name" "$T/n2"
NOTIFY_SOCKET="$name" WATCHDOG_USEC=200000 WATCHDOG_PID=1 cs "${A[@]}" daemon --interval 1 --max-cycles 2 --no-serve 2>"$T/d2.log" ||
  fail "daemon: $(cat "$T/d2.log")"
poll_until 5 has "$T/n2" "STOPPING=1" || fail "abstract socket: $(cat "$T/n2")"
has "$T/n2" "READY=1" || fail "abstract: no READY"
has "$T/n2" "WATCHDOG=1" && fail "pinged a watchdog that WATCHDOG_PID says is another process's"
ok "an abstract NOTIFY_SOCKET ('@name') works; WATCHDOG_PID of another process: no WATCHDOG=1"
bash -c 'export WATCHDOG_PID=$$; exec "$@"' sh env NOTIFY_SOCKET="$name" WATCHDOG_USEC=400000 \
  "$COORDSYNC" "${A[@]}" daemon --interval 1 --max-cycles 2 --no-serve 2>"$T/d3.log" || fail "$(cat "$T/d3.log")"
poll_until 5 test "$(grep -c STOPPING=1 "$T/n2")" = 2 || fail "second run: $(cat "$T/n2")"
grep -q "WATCHDOG=1" "$T/n2" || fail "WATCHDOG_PID = our pid: no pings"
ok "WATCHDOG_PID equal to the daemon's pid: pings"

# ---- a step that hangs starves the watchdog ------------------------------------
python3 "$T/recv.py" "hang:$T/hang.port" - &
BG_PIDS+=($!)
poll_until 10 test -s "$T/hang.port" || fail "no hanging server"
git -C "$T/a" remote set-url origin "git://127.0.0.1:$(cat "$T/hang.port")/r.git"
git -C "$T/a" config coordsync.timeout.stall 3
receiver "$T/notify3.sock" "$T/n3"
NOTIFY_SOCKET="$T/notify3.sock" WATCHDOG_USEC=400000 "$COORDSYNC" "${A[@]}" daemon --interval 1 --no-serve 2>"$T/d4.log" &
pid=$!
BG_PIDS+=($pid)
poll_until 10 has "$T/n3" "READY=1" || fail "no READY=1: $(cat "$T/d4.log")"
poll_until 20 has "$T/n3" "STATUS=cycle 1 failed" || fail "the hanging cycle never ended: $(cat "$T/n3" "$T/d4.log")"
sleep 1
kill -TERM $pid
wait $pid || true
read -r gap n < <(gaps "$T/n3")
python3 -c "import sys; sys.exit(not float(sys.argv[1]) >= 2.5)" "$gap" ||
  fail "pings went on while the fetch hung: largest gap $gap s ($n pings): $(cat "$T/n3")"
awk -F'\t' '$2 == "WATCHDOG=1" { t = $1 } $2 ~ /^STATUS=cycle 1 failed/ { s = $1 } END { exit !(t > s) }' "$T/n3" ||
  fail "no pings after the failed cycle: $(cat "$T/n3")"
ok "a fetch that hangs starves the watchdog (no WATCHDOG=1 for $gap s); pings resume once the loop moves"

# ---- no NOTIFY_SOCKET, or one nobody listens on: nothing breaks -------------------
git -C "$T/a" remote set-url origin "$T/r.git"
env -u NOTIFY_SOCKET "$COORDSYNC" "${A[@]}" daemon --max-cycles 1 --no-serve 2>"$T/d5.log" || fail "$(cat "$T/d5.log")"
NOTIFY_SOCKET="$T/nobody.sock" WATCHDOG_USEC=100000 cs "${A[@]}" daemon --max-cycles 2 --interval 1 --no-serve 2>"$T/d6.log" ||
  fail "$(cat "$T/d6.log")"
grep -q "result=ok" "$T/d6.log" || fail "$(cat "$T/d6.log")"
ok "without NOTIFY_SOCKET, or with a socket nobody listens on, the daemon runs as before"
