#!/usr/bin/env bash
# Decisions through the real binary: locks, jobs, messages, status,
# heartbeats, deferred intents, and two processes on one clone.
. "$TESTS_DIR/lib.sh"
two_clones
# intact WHEN: build1's mirror passes SQLite's integrity check
intact() {
  local r
  r=$(sqlite3 "$T/a/.git/coordsync/mirror.db" 'PRAGMA integrity_check' 2>&1 || true)
  [ "$r" = ok ] || fail "integrity $1: $r"
}

# ---- locks -------------------------------------------------------------
expect_rc 0 cs "${A[@]}" lock acquire deploy --ttl 60
[ "$OUT" = 1 ] || fail "first fence is $OUT"
ok "lock acquire prints fence 1"
n=$(commits)
sleep 1   # a renewal in the same second writes the same file: no commit at all
expect_rc 0 cs "${A[@]}" lock acquire deploy --ttl 60
[ "$OUT" = 1 ] && [ "$(commits)" = $((n + 1)) ] || fail "renew: fence $OUT"
ok "acquiring a lock we hold renews it (same fence, one commit)"
expect_rc 3 cs "${B[@]}" lock acquire deploy
grep -q "held by build1" <<<"$OUT" || fail "refusal names the holder: $OUT"
ok "another server is refused with exit 3, naming the holder"
expect_rc 3 cs "${B[@]}" lock release deploy
expect_rc 3 cs "${B[@]}" lock renew deploy
ok "only the holder may release or renew"
( sleep 2; cs "${A[@]}" lock release deploy ) &
expect_rc 0 cs "${B[@]}" lock acquire deploy --wait 20
wait
[ "$OUT" = 2 ] || fail "fence after handover: $OUT"
ok "--wait gets the lock once the holder releases it; the fence rises to 2"
python3 - "$(remote_json coordination/locks.json)" <<'PY'
import json, sys
l = json.loads(sys.argv[1])["locks"]["deploy"]
assert l["locked_by"] == "build2" and l["fence"] == 2, l
assert isinstance(l["locked_at"], int) and l["expires_at"] == l["locked_at"] + 30, l
PY
ok "locks.json holds integer epoch times and the fence"
expect_rc 0 cs "${A[@]}" lock acquire short --ttl 1
sleep 2
expect_rc 3 cs "${B[@]}" lock acquire short
ok "an expired lock of another server stays taken during the lock-delay"
expect_rc 0 cs "${B[@]}" lock cleanup
grep -q "released 0" <<<"$OUT" || fail "cleanup inside lock-delay: $OUT"
git -C "$T/a" config coordsync.lockdelay 0
expect_rc 0 cs "${A[@]}" lock cleanup
expect_rc 0 cs "${B[@]}" lock acquire short --ttl 5
ok "lock cleanup honours the lock-delay (coordsync.lockdelay)"
expect_rc 0 cs "${A[@]}" --json lock list
python3 -c 'import json,sys; d={l["name"]: l for l in json.loads(sys.argv[1])["rows"]}; assert d["deploy"]["locked_by"]=="build2" and d["deploy"]["state"]=="held"' "$OUT"
ok "lock list --json"

# ---- jobs ---------------------------------------------------------------
expect_rc 0 cs "${A[@]}" job add --id low --priority 9
expect_rc 0 cs "${A[@]}" job add --id high --priority 1 --set command='make all' --set n=3 --set flag=true
expect_rc 0 cs "${A[@]}" job add --id mid --priority 5 --set max_attempts=2
expect_rc 3 cs "${A[@]}" job add --id mid
expect_rc 2 cs "${A[@]}" job add --id ../x
ok "job add: ids are checked and unique"
python3 - "$(remote_json coordination/jobs.json)" <<'PY'
import json, sys
j = {x["id"]: x for x in json.loads(sys.argv[1])["jobs"]}
h = j["high"]
assert h["command"] == "make all" and h["n"] == 3 and h["flag"] is True, h
assert h["status"] == "queued" and h["assigned_to"] is None and h["created_at"].endswith("Z"), h
assert j["mid"]["max_attempts"] == 2, j["mid"]
PY
ok "extra --set fields land in the job, typed as JSON"
expect_rc 0 cs "${B[@]}" job claim
[ "$OUT" = high ] || fail "first claim took $OUT"
expect_rc 0 cs "${A[@]}" --json job claim
python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["id"]=="mid" and j["assigned_to"]=="build1" and j["retries"]==0, j' "$OUT"
ok "claims go by priority; --json prints the job"
expect_rc 3 cs "${A[@]}" job done high
ok "a job running on another server cannot be finished here"
expect_rc 0 cs "${B[@]}" job done high --result built
expect_rc 0 cs "${A[@]}" job fail mid --error flaky
expect_rc 0 cs "${A[@]}" query "SELECT status, attempts, run_after > unixepoch('now') FROM jobs WHERE id='mid'" --format csv
grep -q "^queued,1,1" <<<"$OUT" || fail "retry state: $OUT"
ok "a failed job with attempts left is requeued with a run_after backoff"
expect_rc 0 cs "${A[@]}" job claim
[ "$OUT" = low ] || fail "backoff ignored: claimed $OUT"
ok "claim skips a job whose run_after is in the future"
expect_rc 0 cs "${A[@]}" job cancel mid
expect_rc 3 cs "${A[@]}" job cancel mid
expect_rc 1 cs "${A[@]}" job cancel nosuch
ok "cancel: once, and not for unknown jobs"
expect_rc 0 cs "${A[@]}" --json job list --status done
python3 -c 'import json,sys; d=json.loads(sys.argv[1])["rows"]; assert [x["id"] for x in d]==["high"] and d[0]["result"]=="built", d' "$OUT"
ok "job list --status"
# Rescue: build1 runs 'low' and has no heartbeat; build2 rescues it.
expect_rc 0 cs "${B[@]}" job rescue --older-than 0
grep -q "rescued 1" <<<"$OUT" || fail "rescue: $OUT"
expect_rc 3 cs "${A[@]}" job done low
ok "after a rescue, the old holder's late done is refused (exit 3)"
expect_rc 0 cs "${B[@]}" job claim
expect_rc 0 cs "${B[@]}" query "SELECT fence FROM jobs WHERE id='low'" --format csv
[ "$(tail -1 <<<"$OUT")" = 3 ] || fail "fence after claim, rescue, claim: $OUT"
ok "the job's fence rises with each claim and rescue"
expect_rc 3 cs "${B[@]}" job claim
ok "nothing queued: exit 3"

# ---- messages ------------------------------------------------------------
expect_rc 0 cs "${A[@]}" msg send all --type info --subject "hello all"
bid=$OUT
expect_rc 0 cs "${A[@]}" msg send build2 --force --type request --subject "please" --body "do it"
did=$OUT
[[ $did =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || fail "uuid: $did"
expect_rc 2 cs "${A[@]}" msg send build2 --type shout --subject x
expect_rc 2 cs "${A[@]}" msg send ../x --subject x
ok "msg send: UUID ids, types and recipients checked"
expect_rc 0 cs "${B[@]}" sync
expect_rc 0 cs "${B[@]}" --json msg inbox
python3 -c 'import json,sys; d=json.loads(sys.argv[1])["rows"]; assert sorted(m["subject"] for m in d)==["hello all","please"], d' "$OUT"
expect_rc 0 cs "${A[@]}" --json msg inbox
[ "$OUT" = '{"rows": []}' ] || fail "sender sees its own broadcast: $OUT"
ok "inbox: direct and broadcast messages, not one's own"
expect_rc 0 cs "${B[@]}" msg read "$bid"
expect_rc 0 cs "${B[@]}" msg read "$did"
expect_rc 0 cs "${B[@]}" --json msg inbox
[ "$OUT" = '{"rows": []}' ] || fail "read messages still in inbox: $OUT"
expect_rc 3 cs "${A[@]}" msg read "$did"
ok "msg read; a message for another server cannot be read here"
cs init "$T/r.git" "$T/c" --server build3 >/dev/null
expect_rc 0 cs -C "$T/c" --json msg inbox
python3 -c 'import json,sys; d=json.loads(sys.argv[1])["rows"]; assert [m["subject"] for m in d]==["hello all"], d' "$OUT"
ok "one server reading a broadcast does not hide it from the others"

# ---- status, heartbeat, deferred intents -------------------------------------
n=$(commits)
expect_rc 0 cs "${A[@]}" status set building --set load=0.5 --set job=high --defer
expect_rc 0 cs "${A[@]}" heartbeat --defer
expect_rc 0 cs "${A[@]}" msg send all --subject "deferred" --defer
[ "$(commits)" = "$n" ] || fail "--defer pushed"
expect_rc 0 cs "${A[@]}" info
grep -q "outbox *3" <<<"$OUT" || fail "outbox: $OUT"
ok "--defer records intents without pushing"
expect_rc 0 cs "${A[@]}" sync
grep -q "3 intents pushed" <<<"$OUT" || fail "sync: $OUT"
[ "$(commits)" = $((n + 1)) ] || fail "deferred intents took $(( $(commits) - n )) commits"
ok "the next sync pushes all deferred intents in one commit"
python3 - "$(remote_json build1/status.json)" "$(remote_json build1/heartbeat.json)" <<'PY'
import json, sys
s, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert s["status"] == "building" and s["load"] == 0.5 and s["job"] == "high", s
assert s["timestamp"].endswith("Z") and h["timestamp"].endswith("Z"), (s, h)
PY
ok "status.json and heartbeat.json in the seed's form"
expect_rc 0 cs "${A[@]}" status set idle
expect_rc 0 cs "${A[@]}" query "SELECT status FROM servers WHERE id='build1'" --format csv
[ "$(tail -1 <<<"$OUT")" = idle ] || fail "status: $OUT"
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["status"]=="idle" and s["load"]==0.5, s' "$(remote_json build1/status.json)"
ok "status set keeps the file's other fields (last write wins per field)"

# ---- two processes on one clone ------------------------------------------
for i in $(seq 1 8); do cs "${A[@]}" job add --id "par$i" >/dev/null & done
wait
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM jobs WHERE id LIKE 'par%'" --format csv
[ "$(tail -1 <<<"$OUT")" = 8 ] || fail "parallel adds on one clone: $OUT"
intact "after parallel adds"
[ "$(remote_json coordination/jobs.json | grep -c '"id": "par')" = 8 ] || fail "remote lost adds"
ok "8 concurrent commands on one clone serialise: nothing lost, mirror intact"

# ---- a rebuild beside a running query -------------------------------------------
# The query keeps the mirror open, so the decisions meanwhile leave their
# frames in its -wal.  The rebuild must not pair a new file with that -wal
# (SQLite would read and checkpoint the old frames into it) and must not
# wait for the query either: it copies the new mirror into the open one.
# (With 40 jobs and a mirror made by a rebuild, the old frames land on other
# pages of the new file: SQLite finds the mirror malformed, as it did here.)
for i in $(seq 1 30); do cs "${A[@]}" job add --id "pre$i" >/dev/null; done
expect_rc 0 cs "${A[@]}" rebuild
git -C "$T/a" config coordsync.query.timeout 30
"$COORDSYNC" "${A[@]}" query \
  "SELECT count(*) FROM jobs j1, jobs j2, jobs j3, jobs j4, jobs j5, jobs j6, jobs j7, jobs j8, jobs j9" \
  >"$T/long.out" 2>&1 & qpid=$!
query_open() { ls -l "/proc/$qpid/fd" 2>/dev/null | grep -q 'mirror\.db$'; }
poll_until 30 query_open || fail "the query did not open the mirror: $(cat "$T/long.out")"
for i in $(seq 1 10); do expect_rc 0 cs "${A[@]}" job add --id "beside$i"; done
[ -s "$T/a/.git/coordsync/mirror.db-wal" ] || fail "no frames in the -wal beside the query"
expect_rc 0 cs "${A[@]}" rebuild
kill -0 "$qpid" 2>/dev/null || fail "the query ended before the rebuild did: $(cat "$T/long.out")"
intact "beside the query"
kill "$qpid"
wait "$qpid" || true
git -C "$T/a" config --unset coordsync.query.timeout
intact "after the query"
want=$(remote_json coordination/jobs.json | grep -c '"id": ')
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM jobs" --format csv
[ "$(tail -1 <<<"$OUT")" = "$want" ] || fail "mirror has $(tail -1 <<<"$OUT") jobs, the remote $want"
expect_rc 0 cs "${A[@]}" job add --id after-rebuild
expect_rc 0 cs "${A[@]}" rebuild
intact "after a rebuild alone"
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM jobs" --format csv
[ "$(tail -1 <<<"$OUT")" = $((want + 1)) ] || fail "after the second rebuild: $OUT"
ok "a rebuild beside a running query (frames in its -wal) leaves an intact mirror of $want jobs, without waiting"

# ---- history is linear: no merges, one commit per decision ----------------------
[ -z "$(git --git-dir="$T/r.git" rev-list --merges HEAD)" ] || fail "merge commits"
log=$(git --git-dir="$T/r.git" log --format='%an|%s')
grep -q "^build2|Job high claimed by build2$" <<<"$log" || fail "commit message or author: $log"
ok "linear history; commits authored by the server, seed-style messages"
done_testing
