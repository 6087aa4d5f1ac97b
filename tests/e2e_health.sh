#!/usr/bin/env bash
# coordsync health: one condition at a time made with coordsync and with the
# git CLI playing build3, each giving its exit code; then alerts posted to a
# receiver on 127.0.0.1 (tests/http_receiver.py): once per problem, a
# recovery when it clears, the token only in the Authorization header, and
# failed posts retried by the next run.
. "$TESTS_DIR/lib.sh"
export NO_PROXY='*' no_proxy='*'
two_clones
worktree w "$T/r.git"
W="$T/w"

# wedit FILE PYTHON: edit a JSON file of build3's checkout (d is its content);
# commit it at $WHEN (epoch seconds) when set, else now
wedit() {
  git -C "$W" pull -q --rebase origin main
  python3 - "$W/$1" "$2" <<'PY'
import json, os, sys
p = sys.argv[1]
d = json.load(open(p)) if os.path.exists(p) else {}
exec(sys.argv[2])
os.makedirs(os.path.dirname(p), exist_ok=True)
with open(p, "w") as f:
    json.dump(d, f, indent=2)
    f.write("\n")
PY
  git -C "$W" add -A
  GIT_COMMITTER_DATE="${WHEN:-$(date +%s)} +0000" git -C "$W" commit -q -m "build3: $1"
  git -C "$W" push -q origin HEAD:main
}
# beat3 SEC [COMMIT_SEC]: build3's heartbeat SEC seconds ago, committed
# COMMIT_SEC seconds ago (default: at the heartbeat's own time, no skew).
# Health trusts no timestamp of build3's: it ages a heartbeat by its own
# watch, or by commits of two other clocks after it (docs/RELIABILITY.md,
# "Clocks").  So two other writers, w1 and w2, each commit at the heartbeat's
# commit time and now: the fleet went on for COMMIT_SEC seconds after it,
# and build1 and build2 heartbeat (in a new second, so that it is a change)
# between those commits.
beat3() {
  local now c=${2:-$1} w t
  now=$(date +%s)
  WHEN=$((now - c)) wedit build3/heartbeat.json "d['timestamp'] = '$(ago "$1")'"
  [ "$c" -gt 0 ] || return 0
  fill() {
    git -C "$W" pull -q --rebase origin main
    for w in w1 w2; do
      GIT_AUTHOR_NAME=$w GIT_COMMITTER_DATE="$1 +0000" git -C "$W" commit -q --allow-empty -m "$w: work"
    done
    git -C "$W" push -q origin HEAD:main
  }
  fill $((now - c))
  t=$(date +%s)
  while [ "$(date +%s)" = "$t" ]; do sleep 0.05; done
  cs "${A[@]}" heartbeat
  cs "${B[@]}" heartbeat
  fill "$now"
}
# health RC ARGS...: coordsync health --sync on build1's clone
health() { local want=$1; shift; expect_rc "$want" cs "${A[@]}" health --sync "$@"; }
# The status line without its performance data (after " | ": see
# e2e_health_plugin.sh); a '|' in a message is shown as '/'.
first() { head -1 <<<"$OUT" | sed 's/ | .*//'; }

cs "${A[@]}" heartbeat
cs "${B[@]}" heartbeat
health 0
[ "$(first)" = "COORDSYNC OK - 2 servers, no problems" ] || fail "status line: $OUT"
ok "a healthy fleet: exit 0 and an OK status line"

# ---- stale heartbeats ------------------------------------------------------
beat3 400
health 1
[[ $(first) == "COORDSYNC WARNING - 1 problem: build3 heartbeat 4"??"s old" ]] || fail "$OUT"
ok "a heartbeat older than --max-age (300 s): WARNING, exit 1"
beat3 700
# build1's own heartbeat in beat3 imported build3's new heartbeat, but not the
# commits after it: as the mirror is, nothing shows it old yet
expect_rc 0 cs "${A[@]}" health
ok "without --sync the mirror is checked as it is"
health 2
grep -q "^CRITICAL build3 heartbeat 7..s old" <<<"$OUT" || fail "$OUT"
ok "older than twice --max-age: CRITICAL, exit 2"
health 0 --max-age 1000
ok "--max-age raises the limit"
wedit build4/status.json "d.update(status='idle', timestamp='$(ago 0)')"
health 2
grep -q "build4 has no heartbeat" <<<"$OUT" || fail "$OUT"
health 0 --ignore build4 --max-age 1000
ok "a known server without a heartbeat is CRITICAL; --ignore leaves it out"
git -C "$W" rm -q -r build4 && git -C "$W" commit -q -m "build4 gone" && git -C "$W" push -q origin HEAD:main
beat3 5
health 0
ok "fresh heartbeats: exit 0 again"

# ---- stuck jobs ---------------------------------------------------------------
wedit coordination/jobs.json "d['jobs'].append(dict(id='J1', status='running', assigned_to='build3',
  priority=1, created_at='$(ago 6000)', started_at='$(ago 5400)', completed_at=None))"
health 1
grep -q "^WARNING  job J1 running 54..s on build3" <<<"$OUT" || fail "$OUT"
ok "a job running longer than --stuck (3600 s): WARNING"
health 2 --stuck 1800
ok "past twice --stuck: CRITICAL"
wedit coordination/jobs.json "[j.update(status='done', completed_at='$(ago 0)') for j in d['jobs'] if j['id'] == 'J1']"
health 0
ok "the job finished: exit 0"

# ---- expired locks ----------------------------------------------------------------
now=$(date +%s)
wedit coordination/locks.json "d['locks']['deploy'] = dict(locked_by='build3', locked_at=$((now - 7200)), expires_at=$((now - 600)))"
health 1
grep -q "^WARNING  lock deploy held by build3 expired 6..s ago" <<<"$OUT" || fail "$OUT"
ok "a lock still held past its expiry (and the lock-delay): WARNING"
wedit coordination/locks.json "d['locks']['deploy'].update(locked_by=None, locked_at=None, expires_at=None)"
health 0
ok "the lock released: exit 0"

# ---- message backlog -----------------------------------------------------------------
for i in 1 2 3; do cs "${B[@]}" msg send build1 --subject "m$i" >/dev/null; done
health 0
health 1 --backlog-count 2
grep -q "build1 has 3 unread messages" <<<"$OUT" || fail "$OUT"
health 2 --backlog-count 1
ok "more unread messages than --backlog-count: WARNING, past twice: CRITICAL"
wedit coordination/messages.json "d['messages'].append({'id': 'old1', 'from': 'build3', 'to': 'build1',
  'type': 'info', 'subject': 'old', 'body': None, 'timestamp': '$(ago 2700)', 'read': False})"
health 1
grep -q "build1 has 4 unread messages, oldest 27..s" <<<"$OUT" || fail "$OUT"
ok "an unread message older than --backlog-age (1800 s): WARNING"
expect_rc 0 cs "${A[@]}" query "SELECT id FROM messages WHERE to_server='build1'" --format csv
for id in $(tail -n +2 <<<"$OUT"); do cs "${A[@]}" msg read "$id"; done
health 0
ok "messages read: exit 0"
# A broadcast is unread by every other server of the fleet until each reads it
# (the view message_unread, as msg inbox has it), never by its sender.
b1=$(cs "${B[@]}" msg send all --subject "to everyone" | tail -1)
cs "${B[@]}" msg send all --subject "to everyone again" >/dev/null
health 1 --backlog-count 1
grep -q "build1 has 2 unread messages" <<<"$OUT" || fail "$OUT"
grep -q "build3 has 2 unread messages" <<<"$OUT" || fail "$OUT"
grep -q "build2 has" <<<"$OUT" && fail "a broadcast unread by its sender: $OUT"
cs "${A[@]}" msg read "$b1"
health 1 --backlog-count 1
grep -q "build1 has" <<<"$OUT" && fail "a broadcast build1 read is unread: $OUT"
grep -q "build3 has 2 unread messages" <<<"$OUT" || fail "$OUT"
wedit coordination/messages.json "d['messages'] = [m for m in d['messages'] if m['to'] != 'all']"
health 0
ok "a broadcast counts for each other server until it reads it, never for its sender"

# ---- clock skew ------------------------------------------------------------------------
beat3 200 0
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM server_history WHERE server='build3' AND file='heartbeat'" --format csv
if [ "$(tail -1 <<<"$OUT")" -gt 0 ]; then
  health 1
  grep -q "^WARNING  build3 heartbeat time is 2..s behind its commit" <<<"$OUT" || fail "$OUT"
  health 0 --max-skew 500
  ok "a heartbeat 200 s older than the commit carrying it: skew WARNING (from server_history)"
else
  echo "# server_history is empty: the commit-time skew check has nothing to compare"
  health 0
  ok "no history: the skew check is skipped quietly"
fi
beat3 -600
health 2
grep -q "^CRITICAL build3 heartbeat is [56]..s in the future" <<<"$OUT" || fail "$OUT"
ok "a heartbeat far in the future is clock skew: CRITICAL"
beat3 0
health 0
ok "a fresh heartbeat clears the skew"

# ---- files that do not import, unreadable mirror, usage -------------------------------
git -C "$W" pull -q --rebase origin main
cp "$W/coordination/locks.json" "$T/locks.good"
printf '{"locks": {' >"$W/coordination/locks.json"
git -C "$W" commit -q -am "broken locks" && git -C "$W" push -q origin HEAD:main
health 2
grep -q "coordination/locks.json does not import" <<<"$OUT" || fail "$OUT"
ok "a coordination file that does not parse: CRITICAL"
cp "$T/locks.good" "$W/coordination/locks.json"
git -C "$W" commit -q -am "locks restored"
wedit coordination/locks.json "d['locks']['spare'] = dict(locked_by=None, locked_at=None, expires_at=None)"
health 0
expect_rc 3 cs -C "$T" health
[[ $(first) == "COORDSYNC UNKNOWN - "* ]] || fail "$OUT"
ok "not a clone (mirror unreadable): UNKNOWN, exit 3"
expect_rc 3 cs "${A[@]}" health --max-age 0
expect_rc 3 cs "${A[@]}" health --token-file x
expect_rc 3 cs "${A[@]}" health --alert ftp://127.0.0.1/x
expect_rc 3 cs "${A[@]}" health --alert http://user:pw@127.0.0.1/x
ok "bad limits, a token without --alert, other schemes and URL credentials: exit 3 (UNKNOWN)"

# ---- --json ----------------------------------------------------------------------------
cs "${A[@]}" heartbeat   # fresh again, should this test run slowly (valgrind)
cs "${B[@]}" heartbeat
beat3 400
expect_rc 1 cs "${A[@]}" --json health --sync
python3 - "$OUT" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert d["status"] == "WARNING" and d["exit"] == 1 and d["summary"].startswith("COORDSYNC WARNING"), d
[p] = d["problems"]
assert set(p) >= {"key", "check", "severity", "server", "message", "values"}, p
assert p["key"] == "stale:build3" and p["check"] == "stale" and p["severity"] == "warning", p
assert p["server"] == "build3" and 400 <= p["values"]["age"] < 420 and p["values"]["max_age"] == 300, p
PY
ok "--json: status, exit, summary and each problem's key, check, severity, server, message, values"

# ---- alerts --------------------------------------------------------------------------------
mkdir -p "$T/rx"
python3 "$TESTS_DIR/http_receiver.py" "$T/rx" 120 &
BG_PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/rx/port" ] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$T/rx/port")"
TOKEN="tok-$RANDOM$RANDOM-secret"
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
posts() { find "$T/rx" -name '*.json' | wc -l; }
LOG="$T/alert-output.log"
# alert RC ARGS...: health --alert, every output kept in $LOG
alert() {
  local want=$1; shift
  set +e
  OUT=$(cs "${A[@]}" health --sync "$@" 2>"$T/err"); local got=$?
  set -e
  ERR=$(cat "$T/err")
  printf '%s\n%s\n' "$OUT" "$ERR" >>"$LOG"
  [ "$got" -eq "$want" ] || fail "expected exit $want, got $got: $OUT $ERR"
}
body() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]])' "$T/rx/$1.json" "$2"; }

alert 1 --alert "$URL/hook" --token-file "$T/token"
grep -q "(alert sent)" <<<"$OUT" || fail "$OUT"
alert 1 --alert "$URL/hook" --token-file "$T/token"
[ "$(posts)" = 1 ] || fail "$(posts) posts after two runs"
ok "one alert for a problem over two runs"
[ "$(body 1 event)" = problem ] && [ "$(body 1 key)" = stale:build3 ] && [ "$(body 1 server)" = build3 ] &&
  [ "$(body 1 severity)" = warning ] && [ "$(body 1 reporter)" = build1 ] || fail "$(cat "$T/rx/1.json")"
ok "the alert names the problem, its server and severity"
[ "$(cat "$T/rx/1.auth")" = "Bearer $TOKEN" ] || fail "authorization: $(cat "$T/rx/1.auth")"
ok "the token from the 0600 file arrives as a bearer token"
beat3 700
alert 2 --alert "$URL/hook" --token-file "$T/token"
[ "$(posts)" = 2 ] && [ "$(body 2 severity)" = critical ] && [ "$(body 2 key)" = stale:build3 ] || fail "escalation"
ok "a problem that worsens to CRITICAL is alerted again"
beat3 0
alert 0 --alert "$URL/hook" --token-file "$T/token"
grep -q "cleared: build3 heartbeat .* (recovery sent)" <<<"$OUT" || fail "$OUT"
alert 0 --alert "$URL/hook" --token-file "$T/token"
[ "$(posts)" = 3 ] && [ "$(body 3 event)" = recovery ] && [ "$(body 3 key)" = stale:build3 ] &&
  [ "$(body 3 severity)" = ok ] && [[ $(body 3 message) == "cleared: build3 heartbeat "* ]] ||
  fail "recovery: $(posts) posts"
ok "a recovery notice once the problem clears, and only one"
chmod 644 "$T/token"
alert 3 --alert "$URL/hook" --token-file "$T/token"
grep -qF "$T/token" <<<"$ERR" && grep -q "0644" <<<"$ERR" || fail "refusal: $ERR"
chmod 600 "$T/token"
ok "a token file readable by others is refused with exit 3, naming the file"
alert 3 --alert "http://example.invalid/hook" --token-file "$T/token"
grep -q "plain http" <<<"$ERR" || fail "$ERR"
ok "the token is not sent over plain http to a host that is not loopback"
expect_rc 0 cs "${A[@]}" --json health --alert "$URL/hook" --token-file "$T/token"
printf '%s\n' "$OUT" >>"$LOG"
! grep -qF "$TOKEN" "$LOG" || fail "the token appears in coordsync's output"
! grep -rqF "$TOKEN" "$T/a/.git/coordsync" || fail "the token is in the mirror"
ok "the token appears in no output of coordsync, nor in the mirror"

# Unreachable, redirecting and silent receivers: bounded, and retried.
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
wedit coordination/locks.json "d['locks']['deploy'] = dict(locked_by='build3', locked_at=$((now - 7200)), expires_at=$((now - 600)))"
start=$(date +%s)
alert 1 --alert "http://127.0.0.1:$closed/hook"
[ $(( $(date +%s) - start )) -lt 10 ] || fail "a closed port took $(( $(date +%s) - start )) s"
grep -q "not sent; the next run retries" <<<"$ERR" || fail "stderr: $ERR"
grep -q "(alert not sent)" <<<"$OUT" || fail "$OUT"
expect_rc 0 cs "${A[@]}" query "SELECT notified FROM alerts WHERE key='lock:deploy'" --format csv
[ "$(tail -1 <<<"$OUT")" = 0 ] || fail "notified: $OUT"
ok "an unreachable alert URL fails fast, says so on stderr, keeps the exit code and the alert pending"
alert 1 --alert "$URL/redirect"
[ "$(posts)" = 4 ] && [ "$(cat "$T/rx/4.path")" = /redirect ] || fail "redirect: $(posts) posts"
grep -q "HTTP 302" <<<"$ERR" || fail "$ERR"
ok "a redirect is not followed and counts as a failed post"
python3 - "$T/silent.port" <<'PY' &
import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
PY
BG_PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/silent.port" ] && break; sleep 0.1; done
start=$(date +%s)
alert 1 --alert "http://127.0.0.1:$(cat "$T/silent.port")/hook" --alert-timeout 2
el=$(( $(date +%s) - start ))
[ "$el" -ge 1 ] && [ "$el" -lt 30 ] || fail "a silent receiver took $el s with --alert-timeout 2"
grep -q "timed out after 2[0-9][0-9][0-9] milliseconds" <<<"$ERR" || fail "$ERR"
ok "a receiver that never answers is given up after --alert-timeout"
alert 1 --alert "$URL/hook"
[ "$(posts)" = 5 ] && [ "$(body 5 key)" = lock:deploy ] && [ "$(body 5 server)" = build3 ] || fail "retry: $(posts) posts"
[ -z "$(cat "$T/rx/5.auth")" ] || fail "an Authorization header without --token-file"
alert 1 --alert "$URL/hook"
[ "$(posts)" = 5 ] || fail "sent twice"
ok "the next run delivers the pending alert, once"

done_testing
