#!/usr/bin/env bash
# A full disk under the clone: its mirror and its objects on a small tmpfs
# (mounted in a private mount namespace, so nothing outlives the test),
# filled so that only N KiB stay free, for N from 0 up.  A claim or a sync
# either works or fails with exit 1 and a message that says the disk is
# full; once space is back the mirror passes integrity_check, matches a
# rebuilt one, and the next run works; no job is claimed twice and no
# deferred intent is lost or delivered twice.  Where no tmpfs can be
# mounted (not root, no CAP_SYS_ADMIN) the same runs get a file size limit
# (ulimit -f) instead, a real EFBIG from the kernel; the test says which.
if [ -z "${CS_IN_NS:-}" ] && [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
  CS_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$TESTS_DIR/lib.sh"
DISK="$T/disk"
mkdir "$DISK"
FULL_RE="No space left on device|database or disk is full|File too large"
METHOD=ulimit
mount -t tmpfs -o size=8m tmpfs "$DISK" 2>/dev/null && METHOD=tmpfs
trap 'rc=$?; [ $METHOD = tmpfs ] && umount "$DISK" 2>/dev/null
      for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
      [ $rc -ne 0 ] && echo "FAILED in $T (kept)" >&2 || rm -rf "$T"; exit $rc' EXIT
echo "diskfull: method=$METHOD"
# A write cut short by the size limit may come back as a bare I/O error.
[ $METHOD = tmpfs ] || FULL_RE="$FULL_RE|disk I/O error"

mkremote r
A="$DISK/a"
cs init "$T/r.git" "$A" --server build1 >/dev/null
cs init "$T/r.git" "$T/b" --server build2 >/dev/null
cs init "$T/r.git" "$T/v" --server build9 >/dev/null
DB="$A/.git/coordsync/mirror.db"
OB="$A/.git/coordsync/outbox.db"   # the deferred intents

# tight KIB CMD...: run CMD with only KIB KiB of room; OUT and RC as it ended.
tight() {
  local kib=$1 avail n
  shift
  if [ $METHOD = tmpfs ]; then
    rm -f "$DISK/fill"
    avail=$(df -k --output=avail "$DISK" | tail -1)
    n=$((avail - kib))
    [ $n -le 0 ] || dd if=/dev/zero of="$DISK/fill" bs=1k count=$n status=none 2>/dev/null || true
    set +e; OUT=$("$@" 2>&1); RC=$?; set -e
    rm -f "$DISK/fill"
  else
    # no file may grow past KIB KiB (writing past it fails with EFBIG)
    set +e; OUT=$(trap '' XFSZ; ulimit -f "$kib"; "$@" 2>&1); RC=$?; set -e
  fi
}

snapshot() {
  cs -C "$1" query "SELECT 'job', id, status, assigned_to, attempts, fence FROM jobs
    UNION ALL SELECT 'msg', id, from_server, to_server, subject, read FROM messages
    UNION ALL SELECT 'server', id, status, status_at, heartbeat_at, NULL FROM servers
    ORDER BY 1, 2" --format csv
}

# recovered WHAT: with space back, the mirror is intact, syncs, and is what
# a rebuild from git gives.
recovered() {
  local got
  got=$(sqlite3 -readonly "$DB" "PRAGMA integrity_check")
  [ "$got" = ok ] || fail "$1: integrity_check: $got"
  expect_rc 0 cs -C "$A" sync
  expect_rc 0 cs -C "$T/v" rebuild
  [ "$(snapshot "$A")" = "$(snapshot "$T/v")" ] || fail "$1: mirror differs from a rebuild:
$(diff <(snapshot "$A") <(snapshot "$T/v"))"
}

# outcome: "ok"; "pushed+warned" when the decision went out but the clone
# could not record it (exit 0, a notice, caught up by the next sync); or
# "full" (exit 1) after checking that the message says so and names where.
outcome() {
  case $RC in
    0) if grep -q "could not record it" <<<"$OUT"; then
         grep -Eq "$FULL_RE" <<<"$OUT" || fail "unclear notice on a full disk: $OUT"
         echo pushed+warned
       else
         echo ok
       fi ;;
    1) grep -Eq "$FULL_RE" <<<"$OUT" || fail "unclear error on a full disk: $OUT"
       grep -Eq "mirror '$DISK/a/|remote '|$DISK/a/" <<<"$OUT" || fail "the error names no file: $OUT"
       case $OUT in
         *"coordsync: sqlite:"*) echo "full: mirror" ;;
         *"fetch failed"*) echo "full: fetch" ;;
         *) echo "full: git" ;;
       esac ;;
    *) fail "exit $RC on a full disk (expected 0 or 1): $OUT" ;;
  esac
}
job_of() {
  git --git-dir="$T/r.git" show refs/heads/main:coordination/jobs.json |
    python3 -c 'import json,sys; print(*[j["status"] + " " + str(j["assigned_to"]) for j in json.load(sys.stdin)["jobs"] if j["id"] == sys.argv[1]])' "$1"
}

RUNS=0 FAULTS=0 LOST=0 DUP=0 DOUBLE=0 CLAIMED=0
declare -a ROWS
for kib in 0 4 8 16 32 64 96 128 256; do
  # another server moves the remote: the claim must fetch and import first
  cs -C "$T/b" job add --id "d$kib-1" >/dev/null
  cs -C "$T/b" job add --id "d$kib-2" >/dev/null
  before=$(rhead)
  tight "$kib" cs -C "$A" job claim
  c=$(outcome)
  RUNS=$((RUNS + 1))
  if [ $RC = 0 ]; then
    CLAIMED=$((CLAIMED + 1))
    id=$(grep -v '^coordsync:' <<<"$OUT")
    [ "$(job_of "$id")" = "running build1" ] || fail "claim ($kib KiB) said $id: not on the remote: $OUT"
  else
    FAULTS=$((FAULTS + 1))
    [ "$(rhead)" = "$before" ] || fail "claim ($kib KiB) failed with exit 1 but was pushed: $OUT"
  fi
  recovered "claim with ${kib} KiB free"
  expect_rc 0 cs -C "$A" job claim   # the next run works
  CLAIMED=$((CLAIMED + 1))
  # a deferred message, then a sync with no room
  expect_rc 0 cs -C "$A" msg send build2 --subject "tight $kib" --defer --force
  mid=$OUT
  cs -C "$T/b" status set "busy-$kib" >/dev/null
  before=$(rhead)
  tight "$kib" cs -C "$A" sync
  s=$(outcome)
  RUNS=$((RUNS + 1))
  if [ $RC = 1 ]; then
    FAULTS=$((FAULTS + 1))
    [ "$(rhead)" = "$before" ] || fail "sync ($kib KiB) failed with exit 1 but pushed: $OUT"
  fi
  recovered "sync with ${kib} KiB free"
  n=$(git --git-dir="$T/r.git" show refs/heads/main:coordination/messages.json | grep -c "\"$mid\"" || true)
  [ "$n" = 0 ] && LOST=$((LOST + 1))
  [ "$n" -gt 1 ] && DUP=$((DUP + 1))
  [ "$n" = 1 ] || fail "message deferred before a full-disk sync: $n copies on the remote"
  [ "$(sqlite3 -readonly "$OB" 'SELECT count(*) FROM outbox')" = 0 ] || fail "outbox not emptied"
  ROWS+=("$(printf '%8s | %-13s | %-13s' "$kib" "$c" "$s")")
done
python3 - "$T/r.git" "$CLAIMED" <<'PY'
import json, subprocess, sys
jobs = json.loads(subprocess.run(["git", "--git-dir", sys.argv[1], "show", "refs/heads/main:coordination/jobs.json"],
                                 check=True, capture_output=True, text=True).stdout)["jobs"]
assert all(j.get("attempts", 0) <= 1 for j in jobs), "a job claimed twice"
running = [j for j in jobs if j["status"] == "running"]
assert all(j["assigned_to"] == "build1" for j in running)
# exit 0 exactly when the claim is on the remote
assert len(running) == int(sys.argv[2]), (len(running), sys.argv[2])
PY
ok "claims and syncs with 0..256 KiB free: each worked or said the disk is full; the mirror recovered every time"

# a deferred intent with no room at all is refused, not half recorded
before=$(sqlite3 -readonly "$OB" 'SELECT count(*) FROM outbox')
tight 0 cs -C "$A" status set stuck --defer
[ "$(outcome)" = "full: mirror" ] || fail "status --defer on a full disk: $OUT"
FAULTS=$((FAULTS + 1))
[ "$(sqlite3 -readonly "$OB" 'SELECT count(*) FROM outbox; PRAGMA integrity_check')" = "$before"$'\nok' ] ||
  fail "a refused --defer left something in the outbox"
ok "a --defer with no room fails with exit 1 and records nothing"
git -C "$A" fsck --no-dangling >/dev/null 2>&1 || fail "the clone's objects are damaged"
ok "the clone's git objects are intact (fsck)"

[ $METHOD = tmpfs ] && echo " KiB free | claim         | sync" || echo " KiB/file | claim         | sync"
printf '%s\n' "${ROWS[@]}"
echo "diskfull ($METHOD): clients=3 operations=$((RUNS + 1)) faults=$FAULTS double_grants=$DOUBLE" \
     "lost_intents=$LOST duplicated_intents=$DUP"
[ $FAULTS -gt 0 ] || fail "no run ever hit the full disk"
[ $LOST = 0 ] && [ $DUP = 0 ] || fail "lost or duplicated intents"
done_testing
