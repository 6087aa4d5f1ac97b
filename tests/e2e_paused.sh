#!/usr/bin/env bash
# A paused holder.  build1 holds a lock, and is stopped (SIGSTOP, through
# COORDSYNC_FAULT=STEP:stop) in the middle of renewing it, its commit made
# but not pushed, until the lease and the lock-delay have passed and build2
# has taken the lock.  Continued, its push is refused by the compare-and-
# swap, its retry sees the new holder, and it exits 3; so do its release and
# renew.  The same for a job: build1 stopped while finishing it, build2
# rescues and claims it, build1's late done is refused.  The first-parent
# history then shows no two holders at once.
. "$TESTS_DIR/lib.sh"
export COORDSYNC_LOCKDELAY=1
two_clones
OPS_RUN=0 FAULTS=0

# stopped CMD...: start CMD in the background, wait until it has stopped
# itself; PID is set.
stopped() {
  "$@" >"$T/paused.out" 2>&1 &
  PID=$!
  for i in $(seq 1 100); do
    [ "$(cut -d' ' -f3 "/proc/$PID/stat" 2>/dev/null)" = T ] && break
    sleep 0.1
  done
  [ "$(cut -d' ' -f3 "/proc/$PID/stat" 2>/dev/null)" = T ] || fail "not stopped: $*: $(cat "$T/paused.out")"
  FAULTS=$((FAULTS + 1))
}
# resumed: continue PID and wait for it; RC and OUT are its end.
resumed() {
  kill -CONT "$PID"
  set +e; wait "$PID"; RC=$?; set -e
  OUT=$(cat "$T/paused.out")
}

# ---- a lock ------------------------------------------------------------------------
expect_rc 0 cs "${A[@]}" lock acquire deploy --ttl 2
[ "$OUT" = 1 ] || fail "first grant: fence $OUT"
cs "${B[@]}" sync >/dev/null          # build2 starts watching the grant
stopped env COORDSYNC_FAULT=after-commit:stop "$COORDSYNC" "${A[@]}" lock renew deploy --ttl 60
ok "build1 stopped in the middle of renewing (its commit made, not pushed)"
expect_rc 0 cs "${B[@]}" lock acquire deploy --ttl 30 --wait 15
[ "$OUT" = 2 ] || fail "build2's grant: fence $OUT"
ok "build2 takes the lock once build1's lease and the lock-delay are over (fence 2)"
resumed
[ $RC = 3 ] || fail "the paused renew ended with $RC: $OUT"
grep -q "cannot renew 'deploy': held by build2" <<<"$OUT" || fail "paused renew: $OUT"
[ "$(git --git-dir="$T/r.git" log --format=%s | grep -c "^Lock deploy renewed by build1" || true)" = 0 ] ||
  fail "the paused renewal reached the remote"
ok "continued, build1's push is refused (compare-and-swap), its retry sees build2: exit 3"
expect_rc 3 cs "${A[@]}" lock release deploy
grep -q "held by build2" <<<"$OUT" || fail "release: $OUT"
expect_rc 3 cs "${A[@]}" lock renew deploy
grep -q "held by build2" <<<"$OUT" || fail "renew: $OUT"
ok "the old holder's release and renew exit 3"
OPS_RUN=$((OPS_RUN + 5))

# ---- a job -----------------------------------------------------------------------------
cs "${B[@]}" job add --id build-42 >/dev/null
expect_rc 0 cs "${A[@]}" job claim
[ "$OUT" = build-42 ] || fail "claim: $OUT"
stopped env COORDSYNC_FAULT=after-decide:stop "$COORDSYNC" "${A[@]}" job done build-42 --result late
cs "${B[@]}" sync >/dev/null          # build2 starts watching the claim (its boot clock)
sleep 1.1                             # build1 sends no heartbeat: its job is rescued
expect_rc 0 cs "${B[@]}" job rescue --older-than 1
expect_rc 0 cs "${B[@]}" job claim
[ "$OUT" = build-42 ] || fail "build2's claim after the rescue: $OUT"
resumed
[ $RC = 3 ] || fail "the paused done ended with $RC: $OUT"
grep -q "job 'build-42' is not running on build1" <<<"$OUT" || fail "paused done: $OUT"
ok "build1 stopped while finishing a job; rescued and claimed by build2; continued: exit 3"
expect_rc 3 cs "${A[@]}" job done build-42 --result later
expect_rc 0 cs "${B[@]}" job done build-42 --result ok
ok "a late job done after the rescue exits 3; the new holder finishes it"
OPS_RUN=$((OPS_RUN + 6))

# ---- the first-parent history -------------------------------------------------------------
python3 - "$T/r.git" <<'PY'
import json, subprocess, sys
r = sys.argv[1]
def git(*a):
    return subprocess.run(["git", "--git-dir", r] + list(a), check=True, capture_output=True, text=True).stdout
def show(c, p):
    out = subprocess.run(["git", "--git-dir", r, "show", c + ":" + p], capture_output=True, text=True)
    return json.loads(out.stdout) if out.returncode == 0 else {}
lock_states, job_states = [], []
for c in git("rev-list", "--first-parent", "--reverse", "refs/heads/main").split():
    t, subject = git("show", "-s", "--format=%ct %s", c).split(" ", 1)
    l = show(c, "coordination/locks.json").get("locks", {}).get("deploy")
    if l and (not lock_states or lock_states[-1][1] != l):
        lock_states.append((int(t), l))
    j = [x for x in show(c, "coordination/jobs.json").get("jobs", []) if x["id"] == "build-42"]
    if j and (not job_states or job_states[-1][1] != j[0]):
        job_states.append((subject.strip(), j[0]))
# locks: a new holder only with a new fence, and only after the last one's
# lease plus the lock-delay (1 s); never two holders at once
holder, fence, expires = None, 0, 0
for t, l in lock_states:
    by = l.get("locked_by")
    if by and by != holder:
        assert l["fence"] == fence + 1, (l, fence)
        assert holder is None or l["locked_at"] >= expires + 1, ("overlap", l, expires)
    elif by:
        assert l["fence"] == fence, ("renewal changed the fence", l)
    holder, fence, expires = by, l.get("fence", fence), l.get("expires_at") or expires
assert [l.get("locked_by") for _, l in lock_states] == ["build1", "build2"], lock_states
# the job: build1, rescued (fence up), build2, done by build2; build1 never finishes it
seen = [(s["status"], s["assigned_to"], s.get("fence")) for _, s in job_states]
assert seen == [("queued", None, None), ("running", "build1", 1), ("queued", None, 2),
                ("running", "build2", 3), ("done", "build2", 3)], seen
assert not any("done by build1" in subject for subject, _ in job_states), job_states
print("history: lock grants", len(lock_states), "job versions", len(seen))
PY
ok "first-parent history: one holder at a time, fences rise with each grant, the job finished only by build2"
echo "paused: clients=2 operations=$OPS_RUN faults=$FAULTS (SIGSTOP) double_grants=0 lost_intents=0 duplicated_intents=0"
done_testing
