#!/usr/bin/env bash
# health as a monitoring plugin (the Monitoring Plugins development
# guidelines): performance data after '|' on the first line, in the form
# 'label'=value[UOM];[warn];[crit];[min];[max] (queued, running, stale,
# unread, expired_locks, one heartbeat age per server in seconds with the
# thresholds); -w/-c (--warning/--critical) as plugin ranges on the
# heartbeat age; -t/--timeout ending in UNKNOWN, exit 3; usage errors exit
# 3 with nothing on stdout.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"
export COORDSYNC_LOCKDELAY=1

two_clones
cs "${A[@]}" heartbeat
cs "${B[@]}" heartbeat
cs "${A[@]}" sync >/dev/null

first() { head -1 <<<"$OUT"; }
# perf LINE: the performance data of status line LINE as "label=value;..."
# lines, each checked against the guidelines' grammar.
perf() {
  python3 - "$1" <<'PY'
import re, sys
line = sys.argv[1]
assert line.count(" | ") == 1, "one ' | ' on the status line: %r" % line
text, data = line.split(" | ")
assert re.match(r"^COORDSYNC (OK|WARNING|CRITICAL|UNKNOWN) - ", text), text
num = r"-?[0-9.]+"
rng = r"@?(~|%s)?(:(%s)?)?" % (num, num)
item = re.compile(r"^'([^'=]+)'=(U|%s)(s|%%|B|KB|MB|TB|c)?(;(%s)?)?(;(%s)?)?(;(%s)?)?(;(%s)?)?$"
                  % (num, rng, rng, num, num))
for it in data.split(" "):
    m = item.match(it)
    assert m, "not performance data: %r" % it
    print("%s=%s" % (m.group(1), it.split("=", 1)[1]))
PY
}
# pv LABEL: the value;thresholds of LABEL in $PERF
pv() { sed -n "s/^$1=//p" <<<"$PERF"; }

# ---- a healthy fleet ------------------------------------------------------------------
expect_rc 0 cs "${A[@]}" health
PERF=$(perf "$(first)") || fail "status line: $OUT"
[[ $(first) == "COORDSYNC OK - 2 servers, no problems | "* ]] || fail "$(first)"
for l in queued running stale unread expired_locks; do
  [ "$(pv "$l")" = "0;;;0" ] || fail "$l: $PERF"
done
[[ $(pv heartbeat_build1) =~ ^[0-9]s\;300\;600\;0$ ]] || fail "heartbeat_build1: $PERF"
[[ $(pv heartbeat_build2) =~ ^[0-9]s\;300\;600\;0$ ]] || fail "heartbeat_build2: $PERF"
[ "$(wc -l <<<"$OUT")" -eq 1 ] || fail "OK prints one line: $OUT"
expect_rc 0 cs "${A[@]}" health --max-age 100
PERF=$(perf "$(first)")
[[ $(pv heartbeat_build1) =~ ^[0-9]s\;100\;200\;0$ ]] || fail "--max-age in the thresholds: $PERF"
ok "OK: performance data after '|' (counts, each heartbeat's age with warn 300 and crit 600)"

# --json stays as it was: the summary has no performance data.
expect_rc 0 cs "${A[@]}" --json health
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["status"] == "OK" and d["summary"] == "COORDSYNC OK - 2 servers, no problems", d' "$OUT" ||
  fail "--json: $OUT"
ok "--json is unchanged"

# ---- -w / -c: ranges on the heartbeat age ----------------------------------------------
expect_rc 1 cs "${A[@]}" health -w @0:3600
[[ $(first) == "COORDSYNC WARNING - 2 problems: build1 heartbeat "*" | "* ]] || fail "$(first)"
PERF=$(perf "$(first)")
[ "$(pv stale)" = "2;;;0" ] || fail "stale: $PERF"
[[ $(pv heartbeat_build2) =~ ^[0-9]s\;@0:3600\;600\;0$ ]] || fail "thresholds as given: $PERF"
grep -q "^WARNING  build2 heartbeat [0-9]s old$" <<<"$OUT" || fail "$OUT"
expect_rc 2 cs "${A[@]}" health --warning 1 --critical @0:3600
[[ $(first) == "COORDSYNC CRITICAL - "* ]] || fail "$(first)"
expect_rc 1 cs "${A[@]}" health -w 3600:          # alert below 3600
expect_rc 0 cs "${A[@]}" health -w '~:3600' -c '~:7200'   # quoted: a shell expands ~
expect_rc 2 cs "${A[@]}" health -c 3600:
expect_rc 0 cs "${A[@]}" --json health -w 0:3600
ok "-w and -c take the plugin ranges N, N:, ~:N, N:M and @N:M on the heartbeat age"

# Ages grow: with a 1 s warning threshold both heartbeats warn after 2 s,
# and critical past 1 s with -c 1.
sleep 2.2
expect_rc 1 cs "${A[@]}" health -w 1 -c 3600
PERF=$(perf "$(first)")
[ "$(pv stale)" = "2;;;0" ] || fail "stale: $PERF"
[[ $(pv heartbeat_build1) =~ ^([2-9]|[1-9][0-9])s\;1\;3600\;0$ ]] || fail "$PERF"
expect_rc 2 cs "${A[@]}" health -c 1
expect_rc 0 cs "${A[@]}" health
ok "heartbeat ages past -w warn, past -c are critical"

# ---- the counts ------------------------------------------------------------------------
cs "${A[@]}" heartbeat
cs "${B[@]}" heartbeat
cs "${A[@]}" job add --id j1 >/dev/null
cs "${A[@]}" job add --id j2 >/dev/null
cs "${B[@]}" job claim >/dev/null
cs "${B[@]}" msg send build1 --subject hello --body b >/dev/null
cs "${B[@]}" lock acquire deploy --ttl 1 >/dev/null
sleep 2.5
# A server with a status.json and no heartbeat.
worktree w "$T/r.git"
mkdir -p "$T/w/build3"
pyjson "$T/w/build3/status.json" '{"server": "build3", "status": "idle", "timestamp": "2026-01-02T03:04:05Z"}'
git -C "$T/w" add build3 && git -C "$T/w" commit -qm "build3 status" && git -C "$T/w" push -q origin HEAD:main 2>/dev/null
expect_rc 2 cs "${A[@]}" health --sync
PERF=$(perf "$(first)")
[ "$(pv queued)" = "1;;;0" ] || fail "queued: $PERF"
[ "$(pv running)" = "1;;;0" ] || fail "running: $PERF"
[ "$(pv unread)" = "1;;;0" ] || fail "unread: $PERF"
[ "$(pv expired_locks)" = "1;;;0" ] || fail "expired_locks: $PERF"
[ "$(pv stale)" = "1;;;0" ] || fail "stale (build3 has no heartbeat): $PERF"
[ "$(pv heartbeat_build3)" = "U;300;600;0" ] || fail "no heartbeat is U: $PERF"
ok "queued, running, unread, expired_locks and stale count; no heartbeat is U"

# ---- --timeout -------------------------------------------------------------------------
# Another coordsync holds the clone's lock: health --sync would wait 60 s
# for it; -t 1 answers UNKNOWN after a second.
flock "$T/a/.git/coordsync/lock" sleep 30 & BG_PIDS+=($!)
poll_until 10 bash -c "! flock -n '$T/a/.git/coordsync/lock' true" || fail "the lock was not taken"
tcs 3 10 "${A[@]}" health --sync -t 1
[ "$OUT" = "COORDSYNC UNKNOWN - timed out after 1 s (--timeout)" ] || fail "timeout: $OUT"
tcs 3 10 "${A[@]}" --json health --sync --timeout 1s
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["status"] == "UNKNOWN" and d["exit"] == 3 and "timed out" in d["error"], d' "$OUT" ||
  fail "--json timeout: $OUT"
kill "${BG_PIDS[-1]}" 2>/dev/null || true
ok "-t/--timeout: UNKNOWN and exit 3 when the check runs out of time"

# ---- usage errors: exit 3, nothing on stdout -------------------------------------------
usage3() {
  run_err cs "${A[@]}" health "$@"
  [ "$RC" -eq 3 ] || fail "health $*: exit $RC, not 3"
  [ ! -s "$T/out" ] || fail "health $*: a usage error printed on stdout: $(cat "$T/out")"
  [ -s "$T/err" ] || fail "health $*: nothing on stderr"
}
usage3 -w abc
usage3 -w 10:5
usage3 -c ""
usage3 -w " 5"
usage3 -w 0x10
usage3 -w 1 --warning 2
usage3 -t 0
usage3 --timeout nope
usage3 -x
usage3 extra
grep -q "bad warning range" <(cs "${A[@]}" health -w abc 2>&1) || fail "the range error names it"
ok "health's usage errors (bad range, bad timeout, unknown option) exit 3 with nothing on stdout"

expect_rc 0 cs health --help
for o in -w --warning -c --critical -t --timeout; do
  grep -q -- "^  $o " <<<"$OUT" || fail "--help lacks $o"
done
grep -q "heartbeat age in seconds" <<<"$OUT" || fail "--help does not say what -w measures"
ok "--help says what -w, -c and -t mean"

done_testing
