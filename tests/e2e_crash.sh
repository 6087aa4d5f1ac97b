#!/usr/bin/env bash
# Crash at every step.  COORDSYNC_FAULT=STEP makes coordsync kill itself
# (SIGKILL) at one step of a sync or decision.  For job claim, lock acquire,
# msg send --defer + sync and status set --defer + sync, each step is hit
# once; then coordsync runs again and must recover by itself: exit 0, an
# intact mirror that matches a rebuilt one, every intent on the remote
# exactly once, no job claimed twice, no lock granted twice.  Every step
# over a local remote; over git:// the step that differs there, the kill in
# the middle of sending the pack (COORDSYNC_CRASH_LONG=1: also the steps just
# before and after the push).
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"

STEPS=(import after-import after-decide outbox after-commit mid-push after-push after-mirror)
OPS=(claim lock msg status)
declare -A RESULT
N=0 FAULTS=0 OPS_RUN=0 DOUBLE=0 LOST=0 DUP=0

# The steps after which the killed run's commit is on the remote.
lands() { [ "$1" = after-push ] || [ "$1" = after-mirror ]; }


# snapshot CLONE: what the mirror holds of jobs, locks, messages and servers.
snapshot() {
  cs -C "$1" query "SELECT 'job', id, status, assigned_to, attempts, fence FROM jobs
    UNION ALL SELECT 'lock', name, locked_by, locked_at, expires_at, fence FROM locks
    UNION ALL SELECT 'msg', id, from_server, to_server, subject, read FROM messages
    UNION ALL SELECT 'server', id, status, status_at, heartbeat_at, NULL FROM servers
    ORDER BY 1, 2" --format csv
}

# rq RDIR PATH SQL: run SQL over the remote head's file PATH, given as j.
rq() {
  git --git-dir="$1" show "refs/heads/main:$2" > "$T/rq.json"
  sqlite3 :memory: "WITH d(j) AS (SELECT readfile('$T/rq.json')) $3"
}

# count_in RDIR KIND VALUE: what the remote head holds of one record.
count_in() {
  case $2 in
    msg) rq "$1" coordination/messages.json \
           "SELECT count(*) FROM d, json_each(j, '\$.messages') WHERE value->>'id' = '$3'" ;;
    status) rq "$1" build1/status.json "SELECT (j->>'status') = '$3' FROM d" ;;
    job) rq "$1" coordination/jobs.json "SELECT coalesce((SELECT (value->>'status') || ' ' || (value->>'attempts')
           || ' ' || coalesce(value->>'assigned_to', 'None') FROM d,
           json_each(j, '\$.jobs') WHERE value->>'id' = '$3'), 'none')" ;;
    lock) rq "$1" coordination/locks.json \
            "SELECT (j->>'\$.locks.$3.locked_by') || ' ' || (j->>'\$.locks.$3.fence') FROM d" ;;
  esac
}

# cell TAG RDIR A B V OP STEP: one crash and its recovery; the outcome goes
# to RESULT[TAG,OP,STEP].
cell() {
  local tag=$1 rdir=$2 a=$3 b=$4 v=$5 op=$6 step=$7
  local id="" before landed got want outcome
  N=$((N + 1))
  local k="$tag$N"
  # Another server moves the remote, so the killed run has something to import.
  cs -C "$b" status set "pad-$k" >/dev/null
  case $op in
    claim)
      cs -C "$b" job add --id "$k-1" --priority 1 >/dev/null
      cs -C "$b" job add --id "$k-2" --priority 1 >/dev/null ;;
    msg) expect_rc 0 cs -C "$a" msg send build2 --subject "subject $k" --defer --force; id=$OUT ;;
    status) expect_rc 0 cs -C "$a" status set "st-$k" --defer ;;
  esac
  before=$(rhead "$rdir")
  case $op in
    claim) expect_rc 137 env COORDSYNC_FAULT="$step" "$COORDSYNC" -C "$a" job claim ;;
    lock) expect_rc 137 env COORDSYNC_FAULT="$step" "$COORDSYNC" -C "$a" lock acquire "$k" --ttl 600 ;;
    *) expect_rc 137 env COORDSYNC_FAULT="$step" "$COORDSYNC" -C "$a" sync ;;
  esac
  FAULTS=$((FAULTS + 1))
  landed=0
  [ "$(rhead "$rdir")" != "$before" ] && landed=1
  if lands "$step"; then want=1; else want=0; fi
  [ $landed = $want ] || fail "$tag $op killed at $step: remote moved=$landed, expected $want"
  # The next run, with no manual step in between.
  case $op in
    claim) expect_rc 0 cs -C "$a" job claim
           want="$k-1"; [ $landed = 1 ] && want="$k-2"
           [ "$OUT" = "$want" ] || fail "$tag claim after $step took '$OUT', expected $want" ;;
    lock) expect_rc 0 cs -C "$a" lock acquire "$k" --ttl 600
          [ "$OUT" = 1 ] || fail "$tag lock after $step: fence $OUT" ;;
    *) expect_rc 0 cs -C "$a" sync ;;
  esac
  expect_rc 0 cs -C "$a" sync
  OPS_RUN=$((OPS_RUN + 1))
  # The mirror: intact, nothing left queued, the same as one rebuilt from git.
  got=$(sqlite3 -readonly "$a/.git/coordsync/mirror.db" "PRAGMA integrity_check")$'\n'$(
    ob="$a/.git/coordsync/outbox.db"; if [ -e "$ob" ]; then sqlite3 -readonly "$ob" "SELECT count(*) FROM outbox"; else echo 0; fi)
  [ "$got" = $'ok\n0' ] || fail "$tag $op after $step: integrity/outbox: $got"
  [ "$(git -C "$a" rev-parse HEAD)" = "$(rhead "$rdir")" ] || fail "$tag $op after $step: local branch behind"
  expect_rc 0 cs -C "$v" rebuild
  [ "$(snapshot "$a")" = "$(snapshot "$v")" ] || fail "$tag $op after $step: mirror differs from a rebuild:
$(diff <(snapshot "$a") <(snapshot "$v"))"
  # The remote: the intent exactly once.
  case $op in
    claim)
      got="$(count_in "$rdir" job "$k-1") / $(count_in "$rdir" job "$k-2")"
      want="running 1 build1 / queued 0 None"
      [ $landed = 1 ] && want="running 1 build1 / running 1 build1"
      [ "$got" = "$want" ] || { DOUBLE=$((DOUBLE + 1)); fail "$tag claim after $step: $got, expected $want"; }
      [ $landed = 1 ] || cs -C "$b" job cancel "$k-2" >/dev/null   # leave no queued job behind
      ;;
    lock)
      got=$(count_in "$rdir" lock "$k")
      [ "$got" = "build1 1" ] || { DOUBLE=$((DOUBLE + 1)); fail "$tag lock after $step: $got"; }
      got=$(git --git-dir="$rdir" log --format=%s | grep -cx "Lock $k acquired by build1" || true)
      [ "$got" = 1 ] || { DOUBLE=$((DOUBLE + 1)); fail "$tag lock after $step: $got grants"; }
      ;;
    msg)
      got=$(count_in "$rdir" msg "$id")
      [ "$got" = 0 ] && LOST=$((LOST + 1))
      [ "$got" -gt 1 ] && DUP=$((DUP + 1))
      [ "$got" = 1 ] || fail "$tag msg after $step: $got copies on the remote"
      got=$(git --git-dir="$rdir" log --format=%s "$before..refs/heads/main" | grep -c "^Message from build1" || true)
      [ "$got" = 1 ] || { DUP=$((DUP + 1)); fail "$tag msg after $step: $got commits"; }
      ;;
    status)
      [ "$(count_in "$rdir" status "st-$k")" = 1 ] || { LOST=$((LOST + 1)); fail "$tag status after $step: not on the remote"; }
      got=$(git --git-dir="$rdir" rev-list --count "$before..refs/heads/main" -- build1/status.json)
      [ "$got" = 1 ] || { DUP=$((DUP + 1)); fail "$tag status after $step: $got commits"; }
      ;;
  esac
  if [ $landed = 1 ]; then outcome="pushed, kept"; else outcome="not pushed, redone"; fi
  RESULT[$tag,$op,$step]=$outcome
}

table() {
  local tag=$1; shift
  printf '%-13s' "step"; for op in "${OPS[@]}"; do printf ' | %-20s' "$op"; done; echo
  for step in "$@"; do
    printf '%-13s' "$step"
    for op in "${OPS[@]}"; do printf ' | %-20s' "${RESULT[$tag,$op,$step]:-not on this path}"; done
    echo
  done
}

# ---- a local remote: every step ---------------------------------------------
mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
cs init "$T/r.git" "$T/b" --server build2 >/dev/null
cs init "$T/r.git" "$T/v" --server build9 >/dev/null
for step in "${STEPS[@]}"; do
  for op in "${OPS[@]}"; do
    # A decision made on the spot never passes through the outbox flush.
    [ "$step" = outbox ] && { [ "$op" = claim ] || [ "$op" = lock ]; } && continue
    cell L "$T/r.git" "$T/a" "$T/b" "$T/v" "$op" "$step"
  done
done
ok "local remote: killed at each of ${#STEPS[@]} steps, every run after recovered by itself"

# ---- git://: the steps around the push ------------------------------------------
git_remote g
cs init "$URL" "$T/ga" --server build1 >/dev/null
cs init "$URL" "$T/gb" --server build2 >/dev/null
cs init "$URL" "$T/gv" --server build9 >/dev/null
GSTEPS=(mid-push)
[ -n "${COORDSYNC_CRASH_LONG:-}" ] && GSTEPS=(after-commit mid-push after-push)
for step in "${GSTEPS[@]}"; do
  for op in "${OPS[@]}"; do
    cell G "$T/g.git" "$T/ga" "$T/gb" "$T/gv" "$op" "$step"
  done
done
ok "git://: killed at ${GSTEPS[*]}, every run after recovered by itself"

# ---- whole-history checks -------------------------------------------------------
for rdir in "$T/r.git" "$T/g.git"; do
  [ -z "$(git --git-dir="$rdir" rev-list --merges refs/heads/main)" ] || fail "merges in $rdir"
  git --git-dir="$rdir" fsck --no-dangling >/dev/null 2>&1 || fail "fsck $rdir"
  python3 - "$rdir" <<'PY'
import json, subprocess, sys
def show(p):
    return json.loads(subprocess.run(["git", "--git-dir", sys.argv[1], "show", "refs/heads/main:" + p],
                                     check=True, capture_output=True, text=True).stdout)
jobs = show("coordination/jobs.json")["jobs"]
assert len({j["id"] for j in jobs}) == len(jobs), "duplicate job ids"
assert all(j.get("attempts", 0) <= 1 for j in jobs), "a job was claimed twice"
msgs = show("coordination/messages.json")["messages"]
assert len({m["id"] for m in msgs}) == len(msgs), "duplicate message ids"
assert all(l.get("fence", 0) <= 1 for l in show("coordination/locks.json")["locks"].values()), "a lock granted twice"
PY
done
ok "both remotes: linear history, fsck clean, no duplicate record, no job claimed or lock granted twice"

echo "local remote (outcome of the killed run; the next run always exits 0):"
table L "${STEPS[@]}"
echo "git:// remote:"
table G "${GSTEPS[@]}"
echo "crash: clients=3 per remote (killed, other server, verifier) operations=$OPS_RUN faults=$FAULTS" \
     "double_grants=$DOUBLE lost_intents=$LOST duplicated_intents=$DUP"
[ $DOUBLE = 0 ] && [ $LOST = 0 ] && [ $DUP = 0 ] || fail "double grants, lost or duplicated intents"
done_testing
