#!/usr/bin/env bash
# The value path: --set, patches, numbers and the export invariant.
# - a --set key given twice, or one that collides with the STATUS argument
#   or --priority, is a usage error (exit 2) that names the key, directly,
#   with --defer and through a running daemon; nothing crashes;
# - --set values keep their exact JSON text (big integers, 1.0);
# - job add --set cannot set lifecycle fields; priority, max_attempts and
#   run_after are checked;
# - job fail's backoff and counters near 2^53 never write a file that
#   coordsync's own importer refuses: every file on the remote imports in a
#   fresh clone after every step;
# - a seeded random loop of colliding keys and extreme numbers.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

SEED=${SEED:-$(( $(date +%s) % 100000 ))}
trap_seed() { echo "e2e_values: seed $SEED (rerun with SEED=$SEED)" >&2; }
RANDOM=$SEED

R="$T/r.git"
git init -q --bare -b main "$R"
worktree w "$R"
W="$T/w"
C1="$T/c1"
# Drop every intent of clone $C1's outbox (set aside or not).
clear_outbox() {
  local id
  for id in $("$COORDSYNC" -C "$C1" --json outbox list |
              python3 -c 'import json,sys; print(" ".join(str(i["id"]) for i in json.load(sys.stdin)["rows"]))'); do
    "$COORDSYNC" -C "$C1" outbox drop "$id" >/dev/null
  done
}

# run_rc CMD...: run CMD; exit status in $RC, stdout+stderr in $OUT.
run_rc() { set +e; OUT=$("$@" 2>&1); RC=$?; set -e; }

# no_crash WHAT: $RC must be one of 0/1/2/3 (an abort is 134, a segfault 139).
no_crash() { case $RC in 0|1|2|3) ;; *) trap_seed; fail "$1: exit $RC (crash?): $OUT" ;; esac; }

NFRESH=0
# fresh_ok WHAT: a new clone of the remote imports every file.
fresh_ok() {
  NFRESH=$((NFRESH + 1))
  local d="$T/fresh$NFRESH"
  run_rc cs init "$R" "$d" --server probe$NFRESH
  [ $RC -eq 0 ] || { trap_seed; fail "$1: a fresh clone cannot init: $OUT"; }
  run_rc cs -C "$d" query --format csv "SELECT count(*) FROM files WHERE error IS NOT NULL OR bad_blob IS NOT NULL"
  [ "$(echo "$OUT" | tail -1)" = 0 ] || { trap_seed; fail "$1: a fresh clone refused a file: $OUT"; }
  rm -rf "$d"
}

# remote_file PATH: the file's text at the remote's main
remote_file() { git --git-dir="$R" show "main:$1"; }

# ---- a start: jobs with counters near their limits, written by another tool ----
mkdir -p "$W/coordination"
python3 - "$W/coordination" <<'PY'
import json, sys
d = sys.argv[1]
big = 2**53 - 1
jobs = [
  {"id": "j64", "status": "queued", "assigned_to": None, "priority": 1,
   "created_at": "2026-01-01T00:00:00Z", "attempts": 63, "max_attempts": 100},
  {"id": "jfence", "status": "queued", "assigned_to": None, "priority": 2,
   "created_at": "2026-01-01T00:00:00Z", "attempts": 0, "fence": big},
  {"id": "jattempts", "status": "queued", "assigned_to": None, "priority": 3,
   "created_at": "2026-01-01T00:00:00Z", "attempts": big, "max_attempts": big},
]
for name, obj in (("jobs.json", {"jobs": jobs}),
                  ("locks.json", {"locks": {"L": {"locked_by": None, "fence": big}}}),
                  ("messages.json", {"messages": []})):
    with open(d + "/" + name, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
PY
git -C "$W" add -A && git -C "$W" commit -qm "jobs near their limits" && git -C "$W" push -q origin HEAD:main
expect_rc 0 cs init "$R" "$C1" --server build1
ok "init"

# ---- heap corruption: a --set key that collides ---------------------------------
for args in "--set status=1" "--set status=idle" "--set a=1 --set a=2" "--set a=1 --set b=2 --set a=x"; do
  # shellcheck disable=SC2086
  run_rc cs -C "$C1" status set building $args
  no_crash "status set building $args"
  [ $RC -eq 2 ] || fail "status set building $args: exit $RC, want 2: $OUT"
  key=${args#--set }; key=${key%%=*}
  echo "$OUT" | grep -q "'$key'" || fail "status set building $args: the error does not name '$key': $OUT"
  # shellcheck disable=SC2086
  run_rc cs -C "$C1" status set building $args --defer
  no_crash "status set building $args --defer"
  [ $RC -eq 2 ] || fail "status set building $args --defer: exit $RC, want 2: $OUT"
done
expect_rc 0 cs -C "$C1" query --format csv "SELECT count(*) FROM outbox"
[ "$(echo "$OUT" | tail -1)" = 0 ] || fail "a refused --defer left an intent in the outbox"
expect_rc 0 cs -C "$C1" status set building --set note=ok
expect_rc 0 cs -C "$C1" sync
fresh_ok "status set with colliding keys"
[ "$(remote_file build1/status.json | grep -c '"status"')" = 1 ] || fail "status.json has 'status' twice"
ok "a --set key twice or colliding with STATUS is exit 2 naming the key, also with --defer"

# An intent written by an older coordsync, with one key twice, sits in the
# outbox: sync, run and rebuild must not crash on it, and push nothing bad.
python3 - "$C1/.git/coordsync/mirror.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO outbox(kind, payload, created_at) VALUES('status', ?, ?)",
           ('{"set":{"status":1,"status":"idle"},"at":%d}' % time.time(), time.time()))
db.execute("INSERT INTO outbox(kind, payload, created_at) VALUES('status', ?, ?)",
           ('{"set_json":{"status":"\\"a\\"","status":"2"},"at":%d}' % time.time(), time.time()))
db.commit()
PY
for c in sync run rebuild sync; do
  run_rc cs -C "$C1" $c
  no_crash "$c with a broken intent in the outbox"
done
fresh_ok "a broken intent in the outbox"
ok "an intent with a key twice in the outbox crashes nothing and pushes nothing bad"
clear_outbox

# The export's invariant: an older heartbeat intent holding 1e400 (a double
# cJSON reads as inf, written as "inf") would make a heartbeat.json that no
# importer reads.  The intent is malformed (intent.c, set_unwritable; the
# export's invariant would refuse the text too), so the outbox sets it aside
# (the sync goes on, exit 0, saying why), and nothing is pushed.
before=$(git --git-dir="$R" rev-parse main)
python3 - "$C1/.git/coordsync/mirror.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO outbox(kind, payload, created_at) VALUES('heartbeat', ?, ?)",
           ('{"set":{"big":1e400},"at":%d}' % time.time(), time.time()))
db.commit()
PY
run_rc cs -C "$C1" sync
no_crash "sync of an intent that breaks heartbeat.json"
[ $RC -eq 0 ] || fail "sync of an intent that breaks heartbeat.json: exit $RC, want 0: $OUT"
echo "$OUT" | grep -q "deferred heartbeat intent [0-9]* set aside: malformed intent: a number is out of range" ||
  fail "the refusal does not say what: $OUT"
[ "$(git --git-dir="$R" rev-parse main)" = "$before" ] || fail "something was pushed"
fresh_ok "an intent that breaks heartbeat.json"
clear_outbox
ok "a record its importer would refuse is refused, set aside, and nothing is pushed"

# ---- the same through a running daemon ------------------------------------------
"$COORDSYNC" -C "$C1" daemon --interval 30 2>"$T/d.err" & dpid=$!
BG_PIDS+=("$dpid")
poll_until 20 test -S "$C1/.git/coordsync/serve.sock" || fail "no daemon socket: $(cat "$T/d.err")"
for args in "--set status=1" "--set status=idle" "--set a=1 --set a=2"; do
  # shellcheck disable=SC2086
  run_rc cs -C "$C1" status set building $args
  no_crash "served status set building $args"
  [ $RC -eq 2 ] || fail "served status set building $args: exit $RC, want 2: $OUT"
  kill -0 "$dpid" 2>/dev/null || fail "the daemon died on status set building $args: $(cat "$T/d.err")"
done
expect_rc 0 cs -C "$C1" status set building --set big=12345678901234567890
kill -0 "$dpid" 2>/dev/null || fail "the daemon died"
kill -TERM "$dpid"
poll_until 20 eval "! kill -0 $dpid 2>/dev/null" || fail "the daemon did not stop"
grep -q "[1-9][0-9]* commands\? served" "$T/d.err" || fail "the daemon served nothing: $(cat "$T/d.err")"
remote_file build1/status.json | grep -q '"big": 12345678901234567890' || fail "served status lost digits"
ok "through a running daemon: exit 2, the daemon lives on"

# ---- numbers keep their text ----------------------------------------------------
expect_rc 0 cs -C "$C1" status set building --set big=12345678901234567890 --set f=1.0 \
  --set e=1E+400 --set neg=-0.000 --set arr='[1.0, 98765432109876543210]' --set s=1abc
st=$(remote_file build1/status.json)
for want in '"big": 12345678901234567890' '"f": 1.0' '"e": 1E+400' '"neg": -0.000' '"s": "1abc"'; do
  echo "$st" | grep -qF "$want" || fail "status.json lacks $want: $st"
done
# inside an array too, each number as given (and the array in the seed's layout)
echo "$st" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read(), parse_float=str, parse_int=str)
assert d["arr"] == ["1.0", "98765432109876543210"], d["arr"]' || fail "numbers in an array changed: $st"
expect_rc 0 cs -C "$C1" status set idle --set big=98765432109876543210 --set f=2.50 --defer
expect_rc 0 cs -C "$C1" sync
st=$(remote_file build1/status.json)
echo "$st" | grep -qF '"big": 98765432109876543210' || fail "deferred big integer changed: $st"
echo "$st" | grep -qF '"f": 2.50' || fail "deferred 2.50 changed: $st"
expect_rc 0 cs -C "$C1" job add --id numbers --set size=123456789012345678901 --set ratio=1.0
remote_file coordination/jobs.json | grep -qF '"size": 123456789012345678901' || fail "job add lost digits"
remote_file coordination/jobs.json | grep -qF '"ratio": 1.0' || fail "job add: 1.0 changed"
fresh_ok "numbers"
ok "--set numbers keep their exact text, directly and through the outbox"

# ---- job add --set: lifecycle fields and checked fields -------------------------
for f in status assigned_to attempts fence started_at created_at completed_at finished_at claimed_by result error; do
  run_rc cs -C "$C1" job add --set "$f=x"
  [ $RC -eq 2 ] || fail "job add --set $f=x: exit $RC, want 2: $OUT"
  echo "$OUT" | grep -q "'$f'" || fail "job add --set $f: the error does not name it: $OUT"
done
for bad in "--priority 5 --set priority=1" "--set priority=1.5" "--set priority=abc" \
           "--set priority=2000000" "--set priority=1e3" "--set max_attempts=0" \
           "--set max_attempts=-3" "--set max_attempts=1.5" "--set run_after=abc" \
           "--set run_after=99999-01-01" "--set run_after=1e20" "--set x=1 --set x=2"; do
  # shellcheck disable=SC2086
  run_rc cs -C "$C1" job add $bad
  [ $RC -eq 2 ] || fail "job add $bad: exit $RC, want 2: $OUT"
done
expect_rc 0 cs -C "$C1" query --format csv "SELECT count(*) FROM jobs"
[ "$(echo "$OUT" | tail -1)" = 4 ] || fail "a refused job add added a job: $OUT"
expect_rc 0 cs -C "$C1" job add --id checked --set priority=7 --set max_attempts=4 --set run_after=2030-01-02T03:04:05Z
expect_rc 0 cs -C "$C1" query --format csv "SELECT priority, max_attempts, datetime(run_after, 'unixepoch') FROM jobs WHERE id='checked'"
[ "$(echo "$OUT" | tail -1)" = "7,4,2030-01-02 03:04:05" ] || fail "checked fields: $OUT"
fresh_ok "job add --set"
ok "job add --set refuses lifecycle fields (exit 2) and checks priority, max_attempts, run_after"

# ---- job fail on the 64th attempt ------------------------------------------------
expect_rc 0 cs -C "$C1" job claim
[ "$(echo "$OUT" | tail -1)" = j64 ] || fail "claimed $OUT, not j64"
expect_rc 0 cs -C "$C1" job fail j64 --error "attempt 64"
expect_rc 0 cs -C "$C1" query --format csv "SELECT status, attempts, run_after - unixepoch('now') BETWEEN 3500 AND 3700 FROM jobs WHERE id='j64'"
[ "$(echo "$OUT" | tail -1)" = "queued,64,1" ] || fail "j64 after its 64th failure: $OUT"
remote_file coordination/jobs.json | grep -q '"run_after": ""' && fail "job fail wrote an empty run_after"
fresh_ok "job fail on the 64th attempt"
ok "job fail on the 64th attempt: the backoff saturates at an hour; the fleet reads jobs.json"

# ---- counters near 2^53 -------------------------------------------------------------
expect_rc 0 cs -C "$C1" job cancel numbers
run_rc cs -C "$C1" job claim
[ $RC -eq 3 ] || fail "job claim with only counters at their limit queued: exit $RC: $OUT"
run_rc cs -C "$C1" lock acquire L --ttl 60
[ $RC -eq 3 ] || fail "lock acquire at fence 2^53-1: exit $RC, want 3: $OUT"
echo "$OUT" | grep -q "limit" || fail "lock acquire: the refusal does not say why: $OUT"
fresh_ok "counters near 2^53"
expect_rc 0 cs -C "$C1" query --format csv "SELECT coalesce(fence, 0), attempts FROM jobs WHERE id IN ('jfence', 'jattempts') ORDER BY id"
[ "$(echo "$OUT" | tail -2 | tr '\n' ' ')" = "0,9007199254740991 9007199254740991,0 " ] || fail "counters changed: $OUT"
ok "a counter at 2^53-1 is never counted past it: claims skip it, lock acquire is refused (3)"

# ---- a seeded random loop: colliding keys, extreme numbers, --defer ----------------
NUMS=(0 -0 1 1.0 -1 1e5 1E-7 2.50 9007199254740991 9007199254740992 -9007199254740993
      123456789012345678901234567890 1e400 -1e-400 0.1 01 1. .5 + - 0x10 NaN Infinity
      '"q"' '[1,2.0]' '{"a":1.0}' true null 'x y' 'é')
KEYS=(a b c status timestamp priority max_attempts run_after n)
pick() { local -n arr=$1; echo "${arr[$((RANDOM % ${#arr[@]}))]}"; }
for i in $(seq 1 40); do
  args=()
  nkv=$((RANDOM % 4))
  for _ in $(seq 1 $nkv); do args+=(--set "$(pick KEYS)=$(pick NUMS)"); done
  defer=()
  [ $((RANDOM % 3)) = 0 ] && defer=(--defer)
  if [ $((RANDOM % 2)) = 0 ]; then
    run_rc cs -C "$C1" status set "s$i" "${args[@]}" "${defer[@]}"
  else
    [ $((RANDOM % 2)) = 0 ] && args+=(--priority $((RANDOM % 9)))
    run_rc cs -C "$C1" job add "${args[@]}"
  fi
  no_crash "step $i: ${args[*]} ${defer[*]}"
  case $RC in 0|2) ;; *) trap_seed; fail "step $i: ${args[*]}: exit $RC: $OUT" ;; esac
  # exit 0 for a number: its text is on the remote as given (after a sync)
  if [ $((i % 10)) = 0 ]; then
    run_rc cs -C "$C1" sync
    [ $RC -eq 0 ] || { trap_seed; fail "sync at step $i: $OUT"; }
    fresh_ok "random step $i"
  fi
done
ok "40 random --set steps (seed $SEED): exit 0 or 2, no crash, the remote always imports"

done_testing
