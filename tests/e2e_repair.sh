#!/usr/bin/env bash
# Self-repair of the working tree, the index and the mirror.
#  - The working-tree update cut short: by a `.git/index.lock` that a
#    concurrent git holds, and by kill -9 (COORDSYNC_FAULT) at each of its
#    steps, in a sync and in a decision.  The next command must bring
#    coordsync's own half-done writes to the remote head, keep a hand edit,
#    and leave no temporary file and no journal.
#  - A damaged `.git/index` (cut to nothing, or garbage): sync, a decision
#    and rebuild must work, rebuild the index from HEAD (the hand edit still
#    shows as a modification), and a deferred intent must go out.
#  - A malformed `mirror.db` (cut short; a table's page overwritten):
#    rebuild and sync set it aside and build a new one; the deferred intent
#    of a mirror whose outbox is still readable is delivered.
. "$TESTS_DIR/lib.sh"

R="$T/r.git"
# same_as_remote PATH: build1's checkout of PATH holds the remote head's.
same_as_remote() {
  git --git-dir="$R" show "refs/heads/main:$1" > "$T/want"
  cmp -s "$T/want" "$T/a/$1"
}
# tidy: no temporary file, no journal, the branch at the remote head, and
# only the hand edit shown by git status.
tidy() {
  local what=$1 st
  [ -z "$(find "$T/a" -name '*.coordsync-*' -not -path '*/.git/*')" ] ||
    fail "$what: temporary files left: $(find "$T/a" -name '*.coordsync-*')"
  [ ! -e "$T/a/.git/coordsync/checkout" ] || fail "$what: the journal is left"
  [ "$(git -C "$T/a" rev-parse HEAD)" = "$(rhead)" ] || fail "$what: the branch is not at the head"
  same_as_remote coordination/jobs.json || fail "$what: jobs.json is stale"
  cmp -s "$T/hand" "$T/a/coordination/messages.json" || fail "$what: the hand edit is gone"
  st=$(git -C "$T/a" status --porcelain)
  [ "$st" = " M coordination/messages.json" ] || fail "$what: git status says: $st"
}
N=0
# move: build2 changes jobs.json and messages.json on the remote.
move() {
  N=$((N + 1))
  cs -C "$T/b" job add --id "J$N" >/dev/null
  cs -C "$T/b" msg send build1 --force --subject "m$N" >/dev/null
}

mkremote r
cs init "$R" "$T/a" --server build1 >/dev/null
cs init "$R" "$T/b" --server build2 >/dev/null
move
cs -C "$T/a" sync >/dev/null
# A hand edit in build1's checkout, of a file every move changes.
printf '{"messages": [], "edited": "by hand"}\n' > "$T/a/coordination/messages.json"
cp "$T/a/coordination/messages.json" "$T/hand"

# ---- an update cut short by a concurrent git's index.lock --------------------------
move
: > "$T/a/.git/index.lock"
touch -d '-10 seconds' "$T/a/.git/index.lock"    # older than the update: not its own
expect_rc 1 cs -C "$T/a" sync
echo "$OUT" | grep -q "index is locked" || fail "sync beside index.lock: $OUT"
rm "$T/a/.git/index.lock"
move
expect_rc 0 cs -C "$T/a" sync
tidy "after an index.lock"
move
expect_rc 0 cs -C "$T/a" sync
tidy "one more sync after an index.lock"
ok "an update stopped by a concurrent index.lock: repaired by the next sync, hand edit kept"

# ---- kill -9 inside the update, in a sync and in a decision -------------------------------
STEPS=(checkout-journal checkout-tmp checkout-file checkout-index checkout-ref)
for step in "${STEPS[@]}"; do
  move
  expect_rc 137 env COORDSYNC_FAULT=$step "$COORDSYNC" -C "$T/a" sync
  # A kill inside libgit2's index write (just after this step) leaves its
  # index.lock, closed, newer than the journal.
  [ "$step" = checkout-index ] && : > "$T/a/.git/index.lock"
  move
  expect_rc 0 cs -C "$T/a" sync
  [ ! -e "$T/a/.git/index.lock" ] || fail "the killed update's index.lock is left"
  tidy "sync killed at $step"
  expect_rc 137 env COORDSYNC_FAULT=$step "$COORDSYNC" -C "$T/a" job add --id "K-$step"
  git --git-dir="$R" show refs/heads/main:coordination/jobs.json | grep -q "\"K-$step\"" ||
    fail "the decision killed at $step is not on the remote"
  expect_rc 0 cs -C "$T/a" sync
  tidy "job add killed at $step"
  move
  expect_rc 0 cs -C "$T/a" sync
  tidy "the sync after that"
done
ok "kill -9 at ${STEPS[*]} (sync and job add): each repaired by the next sync"

# ---- a damaged index --------------------------------------------------------------------------
for how in empty garbage; do
  move
  case $how in
    empty) : > "$T/a/.git/index" ;;
    garbage) head -c 200 /dev/urandom > "$T/a/.git/index" ;;
  esac
  cs -C "$T/a" msg send build2 --force --subject "deferred-$how" --defer >/dev/null
  expect_rc 0 cs -C "$T/a" sync
  echo "$OUT" | grep -q "index.*damaged.*rebuilt from HEAD" || fail "no notice of the index: $OUT"
  [ -e "$T/a/.git/index.damaged" ] || fail "the damaged index was not kept"
  git --git-dir="$R" show refs/heads/main:coordination/messages.json |
    grep -q "deferred-$how" || fail "the deferred intent did not go out ($how index)"
  tidy "a damaged index ($how)"
done
head -c 100 /dev/urandom > "$T/a/.git/index"
expect_rc 0 cs -C "$T/a" job add --id after-index
echo "$OUT" | grep -q "could not record" && fail "a decision beside a damaged index: $OUT"
tidy "a decision with a damaged index"
: > "$T/a/.git/index"
expect_rc 0 cs -C "$T/a" rebuild
tidy "rebuild with a damaged index"
ok "a damaged index (empty, garbage): sync, a decision and rebuild rebuild it from HEAD"

# ---- a malformed mirror -------------------------------------------------------------------------
M="$T/a/.git/coordsync/mirror.db"
checkpoint() { sqlite3 "$M" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null; }
# Cut short: nothing of it can be read.
checkpoint
head -c 3000 "$M" > "$T/cut" && cp "$T/cut" "$M"
expect_rc 1 cs -C "$T/a" job list
echo "$OUT" | grep -q "malformed" && echo "$OUT" | grep -q "coordsync rebuild" ||
  fail "job list on a cut mirror: $OUT"
expect_rc 0 cs -C "$T/a" rebuild
echo "$OUT" | grep -q "set aside as" || fail "rebuild of a cut mirror: $OUT"
echo "$OUT" | grep -q "could not save" || fail "rebuild does not say what was lost: $OUT"
ls "$T/a/.git/coordsync/" | grep -q '^mirror.db.malformed-' || fail "the malformed mirror was not kept"
[ "$(sqlite3 "$M" 'PRAGMA integrity_check')" = ok ] || fail "the new mirror is not intact"
expect_rc 0 cs -C "$T/a" job list
echo "$OUT" | grep -q "after-index" || fail "the rebuilt mirror lacks a job"

# A page of the jobs table overwritten; the outbox still reads.
F=$(cs --json -C "$T/a" lock acquire deploy --ttl 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["fence"])')
cs -C "$T/a" msg send build2 --force --subject salvaged --defer >/dev/null
checkpoint
PS=$(sqlite3 "$M" "PRAGMA page_size")
PG=$(sqlite3 "$M" "SELECT rootpage FROM sqlite_master WHERE name='jobs'")
python3 - "$M" "$PS" "$PG" <<'PY'
import sys
path, ps, pg = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "r+b") as f:
    f.seek((pg - 1) * ps)
    f.write(bytes([0xA5]) * ps)
PY
move
expect_rc 0 cs -C "$T/a" sync
echo "$OUT" | grep -q "malformed.*set aside as" || fail "sync of a malformed mirror: $OUT"
echo "$OUT" | grep -q "could not save" && fail "the outbox and fences should have been saved: $OUT"
git --git-dir="$R" show refs/heads/main:coordination/messages.json | grep -q '"salvaged"' ||
  fail "the deferred intent of the malformed mirror was lost"
[ "$(sqlite3 "$M" 'PRAGMA integrity_check')" = ok ] || fail "the new mirror is not intact"
[ "$(sqlite3 "$M" "SELECT fence FROM lock_fences WHERE name='deploy'")" = "$F" ] ||
  fail "the fence memory was not saved"
tidy "a malformed mirror"
expect_rc 0 cs -C "$T/a" sync

# The timer's cycle (`run`) meets a cut mirror: it sets it aside too, and
# the heartbeat goes out.
checkpoint
head -c 5000 "$M" > "$T/cut" && cp "$T/cut" "$M"
move
expect_rc 0 cs -C "$T/a" run
echo "$OUT" | grep -q "set aside as" || fail "run on a cut mirror: $OUT"
git --git-dir="$R" show refs/heads/main:build1/heartbeat.json >/dev/null 2>&1 ||
  fail "no heartbeat from the run on a cut mirror"
tidy "run on a malformed mirror"
ok "a malformed mirror (cut short; a page overwritten; in run): set aside and rebuilt, outbox saved"

done_testing
