#!/usr/bin/env bash
# coordsync run (the timer's cycle) and what it drives: its one log line,
# overlapping runs on one clone, auto-reply once only (reply, mark, skip,
# never one's own), logs push with rotation, compaction into monthly
# archives (every record still in the mirror's history), and config sources.
. "$TESTS_DIR/lib.sh"
two_clones
worktree w "$T/r.git"
W="$T/w"
# A known engine bug: report it, go on, and fail at the end.
BUGS=()
later() { echo "FAIL (continuing): $*" >&2; BUGS+=("$*"); }
finish() {
  [ ${#BUGS[@]} = 0 ] || { printf 'FAIL: %s\n' "${BUGS[@]}" >&2; exit 1; }
  done_testing
}
# run_a [ARGS]: coordsync run on build1's clone; stdout in $OUT, stderr in $ERR
run_a() { run_rc 0 "$@"; }
run_rc() {  # run_rc RC [ARGS]: the same, expecting exit status RC
  local want=$1; shift
  set +e
  OUT=$(cs "${A[@]}" run "$@" 2>"$T/run.err")
  local rc=$?
  set -e
  ERR=$(cat "$T/run.err")
  [ "$rc" -eq "$want" ] || fail "run exited $rc, not $want: $ERR"
}
# check_line TEXT KEY=VALUE...: TEXT's last line is the cycle's log line, it
# splits with shlex into key=value pairs, and the given pairs hold
check_line() {
  python3 - "$@" <<'PY'
import re, shlex, sys
text, want = sys.argv[1], sys.argv[2:]
lines = [l for l in text.splitlines() if l.startswith("coordsync run ")]
assert len(lines) == 1 and text.splitlines()[-1] == lines[0], text
words = shlex.split(lines[0])
assert words[:2] == ["coordsync", "run"], words
kv = dict(w.split("=", 1) for w in words[2:])
assert len(kv) == len(words) - 2 and all("=" in w for w in words[2:]), words
need = {"server", "result", "head", "imported", "failed_files", "intents", "replied", "marked",
        "locks_released", "rescued", "archived_jobs", "archived_messages", "health", "alerts",
        "duration_ms"}
assert need <= set(kv), sorted(need - set(kv))
for k in need - {"server", "result", "head", "health"}:
    assert re.fullmatch(r"\d+", kv[k]), (k, kv[k])
assert re.fullmatch(r"[0-9a-f]{12}", kv["head"]), kv["head"]
for w in want:
    k, v = w.split("=", 1)
    assert kv.get(k) == v, (k, kv.get(k), v, lines[0])
PY
}

# ---- the cycle's log line ----------------------------------------------------------
run_a
check_line "$ERR" server=build1 result=ok || fail "log line: $ERR"
[ "$(wc -l <<<"$ERR")" = 1 ] || fail "a quiet run logs one line only: $ERR"
[ -z "$OUT" ] || fail "run prints nothing on stdout: $OUT"
head=$(git --git-dir="$T/r.git" rev-parse HEAD)
check_line "$ERR" "head=${head:0:12}" intents=1 || fail "head or intents: $ERR"
python3 -c 'import json,sys; h=json.loads(sys.argv[1]); assert h["timestamp"].endswith("Z"), h' \
  "$(remote_json build1/heartbeat.json)"
ok "run ends with one key=value line on stderr (shlex-parsable); its heartbeat is on the remote"
n=$(commits)
run_a
check_line "$ERR" result=ok imported=0 replied=0 marked=0 locks_released=0 archived_jobs=0 \
  || fail "second run: $ERR"
[ "$(commits)" -le $((n + 1)) ] || fail "a run with nothing new made $(( $(commits) - n )) commits"
# its one commit, if any, is the heartbeat (none when it lands in the second
# of the last one: the same file again, as after init's status files)
[ "$(commits)" -eq "$n" ] || [ "$(git --git-dir="$T/r.git" log -1 --format=%s)" = "build1 heartbeat" ] ||
  fail "not a heartbeat: $(git --git-dir="$T/r.git" log -3 --format=%s)"
[ "$(commits)" -eq "$n" ] || case $(git --git-dir="$T/r.git" diff --name-only HEAD~1 HEAD) in
  build1/heartbeat.json|"") ;; *) fail "the second run changed more than the heartbeat";; esac
ok "a run with nothing new pushes only its heartbeat (at most one commit)"
# Two runs within one second write the same heartbeat text: the second
# should push nothing rather than a commit whose tree is its parent's.
for _ in $(seq 1 10); do
  n=$(commits); t0=$(date +%s)
  run_a; run_a
  if [ "$(date +%s)" = "$t0" ]; then break; fi
done
if [ "$(date +%s)" = "$t0" ]; then
  same=$(git --git-dir="$T/r.git" rev-list --no-merges HEAD -"$(( $(commits) - n ))" | while read -r c; do
    [ "$(git --git-dir="$T/r.git" rev-parse "$c^{tree}")" = "$(git --git-dir="$T/r.git" rev-parse "$c~1^{tree}")" ] && echo "$c"
  done || true)
  if [ -z "$same" ]; then ok "two runs in the same second: no empty commit"
  else later "empty commits (tree equal to the parent's) pushed by a run that changed nothing: $same"; fi
fi
cs "${B[@]}" heartbeat
run_a --health
check_line "$ERR" result=ok health=ok alerts=0 || fail "--health: $ERR"
run_a --syslog
[ -z "$ERR" ] || fail "--syslog still wrote to stderr: $ERR"
expect_rc 2 cs "${A[@]}" run --wait -1
ok "run --health fills health=; --syslog keeps stderr empty; a bad --wait is a usage error"
cs "${B[@]}" lock acquire gone --ttl 1 >/dev/null
cs "${B[@]}" job add --id stale >/dev/null
cs "${B[@]}" job claim >/dev/null
cs "${A[@]}" sync >/dev/null   # build1 sees the grant and the claim: it frees and rescues them only after watching
sleep 2
git -C "$T/a" config coordsync.lockdelay 0
git -C "$T/a" config coordsync.rescue.olderthan 1
run_a
check_line "$ERR" result=ok locks_released=1 rescued=1 || fail "cleanup and rescue in the cycle: $ERR"
python3 -c 'import json,sys; l=json.loads(sys.argv[1])["locks"]["gone"]; assert l["locked_by"] is None, l' \
  "$(remote_json coordination/locks.json)"
git -C "$T/a" config --unset coordsync.rescue.olderthan
git -C "$T/a" config --unset coordsync.lockdelay
ok "the cycle cleans up expired locks and rescues jobs when coordsync.rescue.olderthan is set"

# ---- overlapping runs on one clone ----------------------------------------------------
flock "$T/a/.git/coordsync/lock" sleep 3 &
sleep 0.5
n=$(commits)
run_a --wait 0
[ "$ERR" = "coordsync run: another coordsync is working on this clone; skipping this run" ] \
  || fail "busy clone: $ERR"
[ "$(commits)" = "$n" ] || fail "a skipped run pushed"
wait
ok "a run that cannot get the clone within --wait exits 0 and says it skipped"
( for i in $(seq 1 12); do cs "${A[@]}" job add --id "ov$i" >/dev/null || exit 1; done ) &
adder=$!
pids=()
for i in 1 2 3 4; do
  w=10; [ $((i % 2)) = 0 ] && w=0
  cs "${A[@]}" run --wait "$w" >"$T/ov$i.out" 2>"$T/ov$i.err" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "an overlapping run failed: $(cat "$T"/ov*.err)"; done
wait "$adder" || fail "job add during overlapping runs failed"
ran=0
for i in 1 2 3 4; do
  e=$(cat "$T/ov$i.err")
  if [ "$e" = "coordsync run: another coordsync is working on this clone; skipping this run" ]; then
    continue
  fi
  check_line "$e" result=ok || fail "overlapping run $i: $e"
  ran=$((ran + 1))
done
[ "$ran" -ge 1 ] || fail "no overlapping run did its cycle"
for i in 1 3; do grep -q "^coordsync run server=build1 result=ok" "$T/ov$i.err" \
  || fail "run $i (--wait 10) skipped instead of waiting: $(cat "$T/ov$i.err")"; done
[ "$(sqlite3 "$T/a/.git/coordsync/mirror.db" 'PRAGMA integrity_check')" = ok ] || fail integrity
[ "$(remote_json coordination/jobs.json | grep -c '"id": "ov')" = 12 ] || fail "jobs lost"
[ -z "$(git --git-dir="$T/r.git" rev-list --merges HEAD)" ] || fail "merge commits"
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM jobs WHERE id LIKE 'ov%'" --format csv
[ "$(tail -1 <<<"$OUT")" = 12 ] || fail "mirror lost jobs: $OUT"
ok "4 overlapping runs and 12 job adds on one clone: all exit 0, $ran ran, nothing lost, no merges, mirror intact"

# ---- auto-reply ----------------------------------------------------------------------------
git -C "$W" pull -q origin main
mkdir -p "$W/docs"
cat >"$W/docs/auto_reply_rules.json" <<'EOF'
{"rules": [{"contains": "ping", "type": "request", "action": "reply",
            "reply": {"type": "info", "subject": "pong", "body": "alive"}},
           {"contains": "fyi", "action": "mark"}]}
EOF
git -C "$W" add docs && git -C "$W" commit -q -m "auto-reply rules" && git -C "$W" push -q origin HEAD:main
cs init "$T/r.git" "$T/c" --server build3 >/dev/null
send() { cs "$@" | tail -1; }
m_reply=$(send "${B[@]}" msg send build1 --type request --subject "Please PING back")
m_mark=$(send "${B[@]}" msg send build1 --type info --subject "FYI: deploy finished")
m_none=$(send "${B[@]}" msg send build1 --type info --subject "hello there")
m_type=$(send "${B[@]}" msg send build1 --type warning --subject "ping with the wrong type")
m_all=$(send "${B[@]}" msg send all --type request --subject "ping everyone")
m_own=$(send "${A[@]}" msg send build1 --type request --subject "ping myself")
m_ownall=$(send "${A[@]}" msg send all --type request --subject "ping from build1")
run_a
check_line "$ERR" result=ok replied=2 marked=1 || fail "first run with rules: $ERR"
grep -q "^auto-reply: replied to $m_reply from build2 (\"Please PING back\") with " <<<"$ERR" \
  || fail "reply not logged: $ERR"
grep -q "^auto-reply: replied to $m_all from build2 " <<<"$ERR" || fail "broadcast reply not logged"
grep -q "^auto-reply: marked $m_mark from build2 (\"FYI: deploy finished\") read$" <<<"$ERR" \
  || fail "mark not logged: $ERR"
run_a
check_line "$ERR" result=ok replied=0 marked=0 || fail "second run replied again: $ERR"
autoreply() {  # autoreply CLONE: msg autoreply; stdout in $OUT, stderr in $ERR
  OUT=$(cs -C "$1" msg autoreply 2>"$T/ar.err") || fail "msg autoreply: $(cat "$T/ar.err")"
  ERR=$(cat "$T/ar.err")
}
autoreply "$T/a"
[ "$OUT" = "replied 0, marked 0 read" ] || fail "msg autoreply again: $OUT"
[ -z "$ERR" ] || later "msg autoreply with nothing to do logs garbage: $(printf %q "$ERR")"
ok "run replies and marks, logging each; a second run and msg autoreply do nothing more"
# replies ID: how many messages on the remote answer ID (their in_reply_to)
replies() { remote_json coordination/messages.json | python3 -c '
import json, sys
print(sum(1 for m in json.load(sys.stdin)["messages"] if m.get("in_reply_to") == sys.argv[1]))' "$1"; }
# pongs FROM TO: how many replies (subject pong) FROM sent TO
pongs() { remote_json coordination/messages.json | python3 -c '
import json, sys
print(sum(1 for m in json.load(sys.stdin)["messages"]
          if m["subject"] == "pong" and (m["from"], m["to"]) == tuple(sys.argv[1:3])))' "$1" "$2"; }
# answered ID N WHAT: ID has N replies naming it (a known bug when not)
answered() {
  local got; got=$(replies "$1")
  [ "$got" = "$2" ] || later "$3: $got messages have in_reply_to=$1, expected $2 (the reply does not carry in_reply_to)"
}
msgfield() { remote_json coordination/messages.json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["messages"] if m["id"] == sys.argv[1]][0]
print(json.dumps(m.get(sys.argv[2])))' "$1" "$2"; }
[ "$(pongs build1 build2)" = 2 ] && [ "$(pongs build1 build1)" = 0 ] \
  || fail "build1 sent $(pongs build1 build2) replies to build2 and $(pongs build1 build1) to itself"
answered "$m_reply" 1 "direct request"
answered "$m_all" 1 "broadcast request"
for m in "$m_mark" "$m_none" "$m_type" "$m_own" "$m_ownall"; do answered "$m" 0 "unreplied $m"; done
python3 - "$(remote_json coordination/messages.json)" <<'PY' || fail "the reply's fields"
import json, sys
r = [m for m in json.loads(sys.argv[1])["messages"] if m["subject"] == "pong"][0]
assert (r["from"], r["to"], r["type"], r["body"], r["read"]) == \
    ("build1", "build2", "info", "alive", False), r
PY
[ "$(msgfield "$m_reply" read)" = true ] && [ "$(msgfield "$m_mark" read)" = true ] \
  || fail "processed messages not read"
[ "$(msgfield "$m_none" read)" = false ] && [ "$(msgfield "$m_type" read)" = false ] \
  || fail "unmatched messages were marked"
[ "$(msgfield "$m_own" read)" = false ] || fail "own message processed"
[ "$(msgfield "$m_all" read_by)" = '["build1"]' ] || fail "broadcast read_by: $(msgfield "$m_all" read_by)"
[ "$(msgfield "$m_ownall" read_by)" = null ] || fail "own broadcast processed"
expect_rc 0 cs "${A[@]}" --json msg inbox
python3 -c 'import json,sys; s=sorted(m["subject"] for m in json.loads(sys.argv[1])["rows"]); assert s==["hello there","ping myself","ping with the wrong type"], s' "$OUT" \
  || fail "inbox: $OUT"   # a note to oneself stays in the inbox, unprocessed
ok "one reply per replied message (type filter, case-insensitive); marked read; unmatched stay unread; own never processed"
autoreply "$T/c"
[ "$OUT" = "replied 2, marked 0 read" ] || fail "build3: $OUT"
[ "$(grep -c '^auto-reply: replied to ' <<<"$ERR")" = 2 ] || fail "build3's log: $ERR"
grep -q "^auto-reply: replied to $m_all from build2 " <<<"$ERR" || fail "build3's log: $ERR"
grep -q "^auto-reply: replied to $m_ownall from build1 " <<<"$ERR" || fail "build3's log: $ERR"
autoreply "$T/c"
[ "$OUT" = "replied 0, marked 0 read" ] || fail "build3 again: $OUT"
[ "$(pongs build3 build2)" = 1 ] && [ "$(pongs build3 build1)" = 1 ] && [ "$(pongs build1 build2)" = 2 ] \
  || fail "after build3: $(pongs build3 build2) to build2, $(pongs build3 build1) to build1"
answered "$m_all" 2 "broadcast answered by build1 and build3"
answered "$m_ownall" 1 "build1's broadcast answered by build3"
[ "$(msgfield "$m_all" read_by)" = '["build1", "build3"]' ] || fail "read_by $(msgfield "$m_all" read_by)"
[ "$(msgfield "$m_ownall" read_by)" = '["build3"]' ] || fail "read_by $(msgfield "$m_ownall" read_by)"
ok "a broadcast is answered once per server (build1 and build3 each once), never by its sender"
# Two clones of build1 racing on new messages: the compare-and-swap push
# makes the loser re-read the message as read, so there is still one reply.
cs init "$T/r.git" "$T/a2" --server build1 >/dev/null
for i in 1 2 3 4; do
  before=$(pongs build1 build2)
  m_race=$(send "${B[@]}" msg send build1 --type request --subject "ping race $i")
  cs "${A[@]}" msg autoreply >"$T/ra.out" 2>"$T/ra.err" & p1=$!
  cs -C "$T/a2" msg autoreply >"$T/rb.out" 2>"$T/rb.err" & p2=$!
  wait "$p1" || fail "autoreply a: $(cat "$T/ra.err")"
  wait "$p2" || fail "autoreply a2: $(cat "$T/rb.err")"
  [ "$(pongs build1 build2)" = $((before + 1)) ] || fail "race $i: $(( $(pongs build1 build2) - before )) replies"
  answered "$m_race" 1 "race $i"
  said=$(cat "$T/ra.out" "$T/rb.out" | awk '{n += $2} END {print n}')
  [ "$said" = 1 ] || fail "race $i: the two report $said replies"
  [ "$(msgfield "$m_race" read)" = true ] || fail "race $i: not read"
  logged=$(cat "$T/ra.err" "$T/rb.err" | grep -c "^auto-reply: replied to $m_race " || true)
  [ "$logged" = 1 ] || later "race $i: $logged reply lines logged for one reply: $(cat "$T/ra.err" "$T/rb.err")"
done
ok "two clones of one server auto-replying at once still reply exactly once"
m_off=$(send "${B[@]}" msg send build1 --type request --subject "ping while off")
before=$(pongs build1 build2)
COORDSYNC_AUTOREPLY=false run_a
check_line "$ERR" result=ok replied=0 || fail "autoreply off: $ERR"
[ "$(pongs build1 build2)" = "$before" ] && [ "$(msgfield "$m_off" read)" = false ] \
  || fail "replied with COORDSYNC_AUTOREPLY=false"
ok "COORDSYNC_AUTOREPLY=false turns the cycle's auto-reply off"

# ---- a failing step ------------------------------------------------------------------------
# wcommit MSG: commit and push what build3's git CLI checkout has changed
wcommit() { git -C "$W" commit -q -am "$1" && wpush; }
wpush() { git -C "$W" pull -q --rebase origin main && git -C "$W" push -q origin HEAD:main; }
git -C "$W" pull -q origin main
echo '{"rules": [{"contains": "x", "action": "shout"}]}' >"$W/docs/auto_reply_rules.json"
wcommit "bad rules"
n=$(commits)
sleep 1   # a new second, so the heartbeat is a new file
run_rc 1
check_line "$ERR" result=error step=auto-reply intents=1 || fail "bad rules: $ERR"
grep -q '^coordsync: auto-reply: docs/auto_reply_rules.json: each rule needs' <<<"$ERR" || fail "$ERR"
[ "$(git --git-dir="$T/r.git" log -1 --format=%s)" = "build1 heartbeat" ] || fail "no heartbeat"
git -C "$W" revert --no-edit HEAD >/dev/null && wpush
run_a
ok "a bad rules file: exit 1, result=error step=\"auto-reply\" naming it; the heartbeat still goes out"
# JSON member names are case-sensitive: "Action" is not "action".
git -C "$W" pull -q --rebase origin main
echo '{"rules": [{"contains": "x", "Action": "mark"}]}' >"$W/docs/auto_reply_rules.json"
wcommit "rules with a capitalised member name"
expect_rc 1 cs "${A[@]}" msg autoreply
grep -q 'docs/auto_reply_rules.json: each rule needs' <<<"$OUT" || fail "\"Action\" taken for \"action\": $OUT"
git -C "$W" revert --no-edit HEAD >/dev/null && wpush
ok "a rule's member names are case-sensitive (\"Action\" is no action)"
git -C "$W" pull -q --rebase origin main
echo '{"jobs": [' >"$W/coordination/jobs.json"
wcommit "broken jobs"
n=$(commits)
sleep 1   # a heartbeat in the same second as the last one is the same file: no commit
run_rc 1
check_line "$ERR" result=error step=sync failed_files=1 || fail "broken jobs.json: $ERR"
grep -q '^coordsync: sync: coordination/jobs.json:2:1: ' <<<"$ERR" || fail "$ERR"
[ "$(git --git-dir="$T/r.git" log -1 --format=%s)" = "build1 heartbeat" ] \
  || later "a broken coordination/jobs.json stops the cycle's heartbeat (still in the outbox: $(sqlite3 "$T/a/.git/coordsync/outbox.db" 'SELECT count(*) FROM outbox') intent(s))"
run_rc 1
git -C "$W" revert --no-edit HEAD >/dev/null && wpush
sleep 1   # a new second, so the heartbeat is a new file
run_a
check_line "$ERR" result=ok failed_files=0 || fail "after the fix: $ERR"
[ "$(git --git-dir="$T/r.git" log -1 --format=%s)" = "build1 heartbeat" ] || fail "no heartbeat after the fix"
[ "$(sqlite3 "$T/a/.git/coordsync/outbox.db" 'SELECT count(*) FROM outbox')" = 0 ] || fail "outbox"
ok "a broken jobs.json: exit 1, result=error step=\"sync\" failed_files=1; the next run after the fix is ok"

# ---- logs push ---------------------------------------------------------------------------------
mkdir "$T/logs"
for i in 1 2 3 4 5; do printf 'log %s\n' "$i" >"$T/logs/build-00$i.log"; done
n=$(commits)
expect_rc 0 cs "${A[@]}" logs push "$T/logs/build-001.log" "$T/logs/build-002.log" "$T/logs/build-003.log"
[ "$OUT" = "pushed 3 file(s), rotated out 0" ] || fail "logs push: $OUT"
[ "$(commits)" = $((n + 1)) ] || fail "logs push took $(( $(commits) - n )) commits"
[ "$(git --git-dir="$T/r.git" ls-tree --name-only HEAD build1/logs/ | tr '\n' ' ')" = \
  "build1/logs/build-001.log build1/logs/build-002.log build1/logs/build-003.log " ] || fail "tree"
[ "$(remote_json build1/logs/build-002.log)" = "log 2" ] || fail "content"
ok "logs push puts every file in SERVER/logs/ in one commit"
before=$(git --git-dir="$T/r.git" rev-parse HEAD)
expect_rc 0 cs "${A[@]}" --json logs push --keep 2 "$T/logs/build-004.log"
[ "$OUT" = '{"pushed": 1, "rotated_out": 2}' ] || fail "rotation: $OUT"
[ "$(commits)" = $((n + 2)) ] || fail "rotation took another commit"
[ "$(git --git-dir="$T/r.git" ls-tree --name-only HEAD build1/logs/ | tr '\n' ' ')" = \
  "build1/logs/build-003.log build1/logs/build-004.log " ] || fail "rotation kept the wrong files"
[ "$(git --git-dir="$T/r.git" show "$before:build1/logs/build-001.log")" = "log 1" ] \
  || fail "a rotated-out file is gone from history"
ok "--keep 2 rotates the oldest names out in the same commit; they stay in git history"
expect_rc 0 cs "${A[@]}" logs push --keep 5 --keep-bytes 12 "$T/logs/build-005.log"
[ "$(git --git-dir="$T/r.git" ls-tree --name-only HEAD build1/logs/ | tr '\n' ' ')" = \
  "build1/logs/build-004.log build1/logs/build-005.log " ] || fail "--keep-bytes"
ok "--keep-bytes bounds the bytes kept per server"
n=$(commits)
head -c 2000 /dev/zero | tr '\0' x >"$T/logs/big.log"
expect_rc 2 cs "${A[@]}" logs push --max-file 1000 "$T/logs/build-001.log" "$T/logs/big.log"
grep -q "big.log' is 2000 bytes, over the 1000 byte limit" <<<"$OUT" || fail "message: $OUT"
[ "$(commits)" = "$n" ] || fail "a refused push pushed"
printf x >"$T/logs/my log.txt"
expect_rc 2 cs "${A[@]}" logs push "$T/logs/my log.txt"
grep -q "invalid log file name 'my log.txt'" <<<"$OUT" || fail "name: $OUT"
expect_rc 2 cs "${A[@]}" logs push "$T/logs/missing.log"
[ "$(commits)" = "$n" ] || fail "a refused push pushed"
ok "a file over --max-file, a bad name or a missing file: exit 2 naming it, nothing pushed"

# ---- compact ------------------------------------------------------------------------------------
# d1, d2, f1, r1 go first (priority 0); c1 and q1 wait behind the ov* jobs
for j in d1 d2 f1 r1; do cs "${A[@]}" job add --id "$j" --priority 0 --set max_attempts=1 >/dev/null; done
for j in c1 q1; do cs "${A[@]}" job add --id "$j" --priority 9 >/dev/null; done
cs "${A[@]}" job cancel stale >/dev/null
for j in d1 d2 f1 r1; do
  id=$(cs "${A[@]}" job claim)
  [ "$id" = "$j" ] || fail "claimed $id, not $j"
done
cs "${A[@]}" job done d1 --result ok >/dev/null
cs "${A[@]}" job done d2 --result ok >/dev/null
cs "${A[@]}" job fail f1 --error broken >/dev/null
cs "${A[@]}" job cancel c1 >/dev/null
m_bc=$(send "${B[@]}" msg send all --type info --subject "read by build1 only")
cs "${A[@]}" sync >/dev/null
cs "${A[@]}" msg read "$m_bc" >/dev/null
cs "${A[@]}" msg read "$m_none" >/dev/null
sleep 1
cs "${A[@]}" sync >/dev/null
remote_json coordination/jobs.json >"$T/jobs.before"
remote_json coordination/messages.json >"$T/msgs.before"
n=$(commits)
expect_rc 0 cs "${A[@]}" --json compact --older-than 0
python3 - "$OUT" "$T/jobs.before" "$T/msgs.before" <<'PY' || fail "counts: $OUT"
import json, sys
out = json.loads(sys.argv[1])
jobs = json.load(open(sys.argv[2]))["jobs"]
msgs = json.load(open(sys.argv[3]))["messages"]
assert out["jobs"] == sum(j["status"] in ("done", "failed", "cancelled") for j in jobs) >= 4, out
assert out["messages"] == sum(bool(m.get("read")) for m in msgs) >= 4, out
PY
[ "$(commits)" = $((n + 1)) ] || fail "compact took $(( $(commits) - n )) commits"
git --git-dir="$T/r.git" ls-tree -r --name-only HEAD coordination/archive >"$T/archive.list"
python3 - "$T/r.git" "$T/jobs.before" "$T/msgs.before" "$T/archive.list" <<'PY'
import json, subprocess, sys, textwrap
from datetime import datetime, timezone
repo = sys.argv[1]
def show(path):
    return subprocess.run(["git", "--git-dir", repo, "show", "HEAD:" + path], check=True,
                          capture_output=True, text=True).stdout
def month(t):
    return datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").strftime("%Y-%m")
names = open(sys.argv[4]).read().split()
for kind, arg, done, when in (
        ("jobs", sys.argv[2], lambda r: r["status"] in ("done", "failed", "cancelled"),
         lambda r: r.get("completed_at") or r.get("started_at") or r["created_at"]),
        ("messages", sys.argv[3], lambda r: bool(r.get("read")), lambda r: r["timestamp"])):
    before_text = open(arg).read()
    before = json.loads(before_text)[kind]
    live_text = show("coordination/%s.json" % kind)
    live = json.loads(live_text)[kind]
    assert live_text == json.dumps({kind: live}, indent=2) + "\n", "live %s not in json.dumps form" % kind
    assert [r for r in before if not done(r)] == live, "live %s keeps the rest, in order" % kind
    archived = [r for r in before if done(r)]
    got = []
    for path in sorted(n for n in names if n.endswith("/%s.json" % kind)):
        text = show(path)
        arch = json.loads(text)[kind]
        assert text == json.dumps({kind: arch}, indent=2) + "\n", path + " not in json.dumps form"
        for r in arch:
            assert path == "coordination/archive/%s/%s.json" % (month(when(r)), kind), (path, r)
            # the record's bytes, as they were in the live file, are in the archive
            span = textwrap.indent(json.dumps(r, indent=2), "    ")
            assert span in before_text and span in text, r
        got += arch
    assert sorted(json.dumps(r) for r in got) == sorted(json.dumps(r) for r in archived), kind
    assert not [r for r in live if done(r)]
PY
ok "compact moves finished jobs and read messages into archive/YYYY-MM/, byte for byte, in one commit"
python3 - "$T/jobs.before" "$T/msgs.before" >"$T/archived.ids" <<'PY'
import json, sys
for j in json.load(open(sys.argv[1]))["jobs"]:
    if j["status"] in ("done", "failed", "cancelled"): print("job", j["id"])
for m in json.load(open(sys.argv[2]))["messages"]:
    if m.get("read"): print("msg", m["id"])
PY
while read -r kind id; do
  if [ "$kind" = job ]; then
    q="SELECT group_concat(change, ' ') FROM (SELECT change FROM job_history WHERE job_id='$id' ORDER BY rowid)"
  else
    q="SELECT group_concat(change, ' ') FROM (SELECT change FROM message_history WHERE message_id='$id' ORDER BY rowid)"
  fi
  expect_rc 0 cs "${A[@]}" query "$q" --format csv
  h=$(tail -1 <<<"$OUT")
  [[ $h == "added "*removed ]] || fail "history of $kind $id: $h"
done <"$T/archived.ids"
[ "$(wc -l <"$T/archived.ids")" -ge 8 ] || fail "too few archived records"
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM jobs WHERE status IN ('done','failed','cancelled')" --format csv
[ "$(tail -1 <<<"$OUT")" = 0 ] || fail "mirror still has finished jobs: $OUT"
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM job_history h JOIN history_commits c USING (commit_id) WHERE c.message LIKE 'build1: archive%' AND h.change='removed'" --format csv
[ "$(tail -1 <<<"$OUT")" -ge 4 ] || fail "removed rows not from the archive commit: $OUT"
cs "${B[@]}" sync >/dev/null
expect_rc 0 cs "${B[@]}" query "SELECT count(*) FROM job_history WHERE change='removed'" --format csv
[ "$(tail -1 <<<"$OUT")" -ge 4 ] || fail "another server's mirror: $OUT"
ok "every archived record keeps its history in the mirror (added ... removed), on every server"
n=$(commits)
expect_rc 0 cs "${A[@]}" compact --older-than 0
[ "$OUT" = "archived 0 job(s) and 0 message(s)" ] || fail "second compact: $OUT"
[ "$(commits)" = "$n" ] || fail "a compact with nothing to archive pushed"
ok "a second compact archives nothing and pushes nothing"
[ "$(sqlite3 "$T/a/.git/coordsync/mirror.db" 'PRAGMA integrity_check')" = ok ] || fail integrity
expect_rc 0 cs "${A[@]}" rebuild
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM job_history WHERE change='removed'" --format csv
[ "$(tail -1 <<<"$OUT")" -ge 4 ] || fail "rebuild lost the removals: $OUT"
ok "a rebuilt mirror has the same history of archived records"

# ---- config sources ----------------------------------------------------------------------------
git -C "$T/a" config coordsync.interval.idle 120
export COORDSYNC_LOCKDELAY=9
expect_rc 0 cs "${A[@]}" --json config
unset COORDSYNC_LOCKDELAY
python3 - "$OUT" <<'PY' || fail "config: $OUT"
import json, sys
c = {r["key"]: r for r in json.loads(sys.argv[1])["rows"]}
def has(k, v, s):
    assert (c[k]["value"], c[k]["source"]) == (v, s), c[k]
has("coordsync.interval.idle", "120", "git config coordsync.interval.idle")
has("coordsync.lockdelay", "9", "env COORDSYNC_LOCKDELAY")
has("coordsync.interval.building", "30", "default")
has("coordsync.interval.pending", "60", "default")
has("coordsync.server", "build1", "git config coordsync.server")
has("coordsync.health.alert", None, "unset")
assert all(r["help"] for r in c.values())
for k in ("branch", "autoreply", "rescue.olderthan", "compact.olderthan", "logs.keep",
          "logs.maxbytes", "logs.maxfile", "health.tokenfile", "health.maxage", "health.stuck",
          "queries"):
    assert "coordsync." + k in c, k
PY
ok "config --json: each value with its source (env, git config, default, unset)"
expect_rc 0 cs "${A[@]}" --server build7 --json config
python3 -c 'import json,sys; c={r["key"]: r for r in json.loads(sys.argv[1])["rows"]}; assert (c["coordsync.server"]["value"], c["coordsync.server"]["source"])==("build7","--server"), c["coordsync.server"]' "$OUT" \
  || fail "flag source: $OUT"
expect_rc 0 cs "${A[@]}" config
grep -Eq "^coordsync\.interval\.idle +120 +git config coordsync\.interval\.idle +daemon" <<<"$OUT" \
  || fail "table: $OUT"
ok "a flag overrides config (--server), and the table form shows the same"
finish
