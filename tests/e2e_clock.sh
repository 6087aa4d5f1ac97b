#!/usr/bin/env bash
# Time that cannot jump (docs/RELIABILITY.md, "Clocks"), with faketime.
# FAKETIME_DONT_FAKE_MONOTONIC=1 leaves CLOCK_MONOTONIC and CLOCK_BOOTTIME
# alone, as a real step or a real skew of the wall clock does.
#  1. A forward step of build3's wall clock does not let it take build1's
#     live lock, nor free it with lock cleanup, before build3 has watched the
#     lease (a rebuild keeps the watch; a reboot starts it again).
#  2. Rescue and health never trust another server's timestamps: build2,
#     alive with a clock 10 minutes slow, keeps its job (a fresh clone and a
#     watching one alike) and is not stale; build3, dead with a clock 10
#     minutes fast, loses its job once build1 has watched its heartbeat
#     unchanged for the limit; a fresh clone rescues on commit times only
#     when two other clocks show the limit passed.
#  3. A deferred status or heartbeat older than the file's never replaces it.
. "$TESTS_DIR/lib.sh"
command -v faketime >/dev/null || fail "faketime is not installed (.ci/deps installs it)"
export COORDSYNC_LOCKDELAY=1
export FAKETIME_DONT_FAKE_MONOTONIC=1
# libfaketime goes into LD_PRELOAD; a sanitizer runtime must then not insist on being first
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
mkremote r
for s in a:build1 b:build2 c:build3 e:build4; do
  cs init "$T/r.git" "$T/${s%%:*}" --server "${s#*:}" >/dev/null
done
A=(-C "$T/a")
# at OFFSET CLONE ARGS...: coordsync on CLONE with its wall clock OFFSET seconds off
at() { local off=$1 dir=$2; shift 2; faked "${off}s" "$COORDSYNC" -C "$T/$dir" "$@"; }
step=$(( $(FAKETIME_DONT_FAKE_MONOTONIC=1 faked '+600s' date +%s) - $(date +%s) ))
[ "$step" -ge 598 ] || fail "faketime does not shift the clock"
remote() { git --git-dir="$T/r.git" show "refs/heads/main:$1"; }
holder() {
  remote coordination/locks.json |
    python3 -c 'import json,sys; l=json.load(sys.stdin)["locks"][sys.argv[1]]; print(l["locked_by"], l["fence"])' "$1"
}
job() {
  remote coordination/jobs.json | python3 -c 'import json,sys
j=[x for x in json.load(sys.stdin)["jobs"] if x["id"]==sys.argv[1]][0]; print(j["status"], j["assigned_to"])' "$1"
}

# ---- 1. a forward step of the wall clock does not take a live lock ---------------
expect_rc 0 cs "${A[@]}" lock acquire deploy --ttl 4
t0=$(date +%s.%N)
cs -C "$T/c" sync >/dev/null                       # build3 starts watching the grant
expect_rc 3 at +600 c lock acquire deploy
grep -q "cannot lock 'deploy': held by build1 .* this server has watched that grant for less" <<<"$OUT" ||
  fail "after the step: $OUT"
[ "$(holder deploy)" = "build1 1" ] || fail "a live lock granted again after a +600 s step: $(holder deploy)"
expect_rc 0 at +600 c lock cleanup
grep -q "released 0" <<<"$OUT" || fail "lock cleanup after the step freed a live lock: $OUT"
ok "build3's wall clock steps 600 s forward: build1's live lock is neither taken nor cleaned up"
expect_rc 0 cs -C "$T/c" rebuild
expect_rc 3 at +600 c lock acquire deploy
[ "$(holder deploy)" = "build1 1" ] || fail "the watch was lost in a rebuild: $(holder deploy)"
ok "rebuild keeps the watch (lock_seen)"
expect_rc 0 at +600 c lock acquire deploy --ttl 4 --wait 15
[ "$OUT" = 2 ] || fail "build3 after the lease: fence $OUT"
python3 -c 'import sys; assert float(sys.argv[2]) - float(sys.argv[1]) >= 5, sys.argv' "$t0" "$(date +%s.%N)" ||
  fail "build3 took the lock less than 5 s (lease and delay) after it began watching"
ok "build3 takes it once its boot clock has watched the 4 s lease and the 1 s lock-delay (fence 2)"
# A reboot: the watch is of another boot, and counts as none.
expect_rc 0 cs "${A[@]}" lock acquire boot --ttl 2
cs -C "$T/c" sync >/dev/null
sleep 4.2                                           # expired, and watched past lease and delay ...
sqlite3 "$T/c/.git/coordsync/mirror.db" "UPDATE lock_seen SET boot_id = 'an-earlier-boot' WHERE name = 'boot'"
t0=$(date +%s.%N)
expect_rc 3 cs -C "$T/c" lock acquire boot          # ... but in another boot
grep -q "watched that grant for less than its lease" <<<"$OUT" || fail "after a reboot: $OUT"
expect_rc 0 cs -C "$T/c" lock acquire boot --wait 10
python3 -c 'import sys; assert float(sys.argv[2]) - float(sys.argv[1]) >= 3, sys.argv' "$t0" "$(date +%s.%N)" ||
  fail "the watch did not start again from zero after the reboot"
ok "a watch from an earlier boot counts as none: it starts again from zero"

# ---- 2. rescue and health: heartbeats of skewed clocks ------------------------------
# build2: alive, 10 minutes slow.  Its heartbeat and its claim look 600 s old.
cs "${A[@]}" job add --id slow-job >/dev/null
at -600 b heartbeat >/dev/null
expect_rc 0 at -600 b job claim
[ "$OUT" = slow-job ] || fail "build2's claim: $OUT"
at -600 b heartbeat >/dev/null
cs init "$T/r.git" "$T/f" --server build5 >/dev/null   # a clone that has watched nothing
expect_rc 0 cs -C "$T/f" job rescue --older-than 60
grep -q "rescued 0" <<<"$OUT" || fail "a fresh clone rescued the job of a live server whose clock is slow: $OUT"
[ "$(job slow-job)" = "running build2" ] || fail "slow-job: $(job slow-job)"
ok "a fresh clone does not rescue the job of live build2 (clock 600 s slow) on its timestamps"
cs "${A[@]}" sync >/dev/null
at -600 b heartbeat >/dev/null
expect_rc 0 cs "${A[@]}" job rescue --older-than 60
grep -q "rescued 0" <<<"$OUT" || fail "build1 rescued the job of a live server whose clock is slow: $OUT"
expect_rc 0 at -600 b job done slow-job --result ok
ok "nor does build1, which watches its heartbeat; build2 finishes the job"
set +e; cs "${A[@]}" --json health --sync --max-age 300 >"$T/h.json"; set -e
python3 - "$T/h.json" <<'PY' || fail "health: $(cat "$T/h.json")"
import json, sys
p = {x["key"]: x for x in json.load(open(sys.argv[1]))["problems"]}
assert "stale:build2" not in p, p
PY
ok "health: build2 (alive, 600 s slow) is not stale"

# build3: 10 minutes fast, claims a job and dies.  Its heartbeat looks fresh
# (in the future) for 10 minutes plus the limit by any wall clock.
cs "${A[@]}" job add --id fast-job >/dev/null
at +600 c heartbeat >/dev/null
expect_rc 0 at +600 c job claim
[ "$OUT" = fast-job ] || fail "build3's claim: $OUT"
expect_rc 0 cs "${A[@]}" job rescue --older-than 2
grep -q "rescued 0" <<<"$OUT" || fail "rescued a claim watched for less than the limit: $OUT"
sleep 2.5
expect_rc 0 cs "${A[@]}" job rescue --older-than 2
grep -q "rescued 1" <<<"$OUT" || fail "build3 (dead, clock 600 s fast) kept its job: $OUT"
[ "$(job fast-job)" = "queued None" ] || fail "fast-job: $(job fast-job)"
ok "build3 (dead, clock 600 s fast) loses its job once build1 watched it quiet for the limit (2 s)"
set +e; cs "${A[@]}" --json health --max-age 1 >"$T/h.json"; set -e
python3 - "$T/h.json" <<'PY' || fail "health: $(cat "$T/h.json")"
import json, sys
p = {x["key"]: x for x in json.load(open(sys.argv[1]))["problems"]}
s = p.get("stale:build3")
assert s and s["values"]["age"] >= 2, p
PY
ok "health: build3's heartbeat, in the future by the wall clock, is stale once watched unchanged (2 s)"
cs "${A[@]}" job cancel fast-job >/dev/null

# build4: dead with a running job.  A clone that joins later has watched
# nothing: commit times after the claim must show the limit passed, by two
# other clocks (a difference of two readings of each).
cs "${A[@]}" job add --id dead-job >/dev/null
cs -C "$T/e" heartbeat >/dev/null
expect_rc 0 cs -C "$T/e" job claim
[ "$OUT" = dead-job ] || fail "build4's claim: $OUT"
cs "${A[@]}" heartbeat >/dev/null
at +600 a heartbeat >/dev/null                      # build1's clock steps: one clock says 600 s
cs init "$T/r.git" "$T/g" --server build6 >/dev/null
expect_rc 0 cs -C "$T/g" job rescue --older-than 3
grep -q "rescued 0" <<<"$OUT" || fail "one stepped clock was taken as evidence: $OUT"
ok "a fresh clone does not rescue when only one other clock (stepped) shows the limit"
at -600 b heartbeat >/dev/null
sleep 3.2
at -600 b heartbeat >/dev/null                      # build2's own clock: 3.2 s later
cs init "$T/r.git" "$T/h" --server build7 >/dev/null
expect_rc 0 cs -C "$T/h" job rescue --older-than 3
grep -q "rescued 1" <<<"$OUT" || fail "commit times of two clocks were not taken as evidence: $OUT"
[ "$(job dead-job)" = "queued None" ] || fail "dead-job: $(job dead-job)"
ok "a fresh clone rescues build4's job when two other clocks committed for 3 s after its claim"

# ---- 3. a deferred status or heartbeat never replaces a newer one ---------------------
status_of() { remote build1/status.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
beat_of() { remote build1/heartbeat.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["timestamp"])'; }
expect_rc 0 cs "${A[@]}" status set building --defer
sleep 1.1
expect_rc 0 cs "${A[@]}" status set idle
expect_rc 0 cs "${A[@]}" sync
[ "$(status_of)" = idle ] || fail "an older deferred status replaced a newer direct one: $(status_of)"
ok "an older deferred status does not replace a newer direct one"
expect_rc 0 cs "${A[@]}" heartbeat --defer
sleep 1.1
expect_rc 0 cs "${A[@]}" heartbeat
want=$(beat_of)
expect_rc 0 cs "${A[@]}" sync
[ "$(beat_of)" = "$want" ] || fail "an older deferred heartbeat replaced a newer one: $(beat_of), not $want"
ok "an older deferred heartbeat does not replace a newer one"
expect_rc 0 cs "${A[@]}" status set busy --defer
expect_rc 0 cs "${A[@]}" sync
[ "$(status_of)" = busy ] || fail "a newer deferred status was dropped: $(status_of)"
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM outbox" --format csv
[ "$(tail -1 <<<"$OUT")" = 0 ] || fail "outbox not empty: $OUT"
ok "a deferred status newer than the file still goes out; the outbox is empty"
done_testing
