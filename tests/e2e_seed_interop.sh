#!/usr/bin/env bash
# e2e_seed_interop: two seed-protocol clients (tests/seed_client.py: python,
# git CLI, json.dump indent=2, the job_assignment lock) and two coordsync
# servers work one remote at once.
#   - 30 queued jobs, all four claim concurrently: each job is claimed
#     exactly once, and the remote's jobs.json agrees with what each printed;
#   - coordsync reads the seed's files (after a sync its mirror shows the seed
#     clients' claims, and every file imports cleanly);
#   - the seed client reads coordsync's files (it claims from a jobs.json that
#     coordsync wrote last, and keeps coordsync's fields);
#   - a lock taken through the seed's protocol is honoured by coordsync, and
#     the other way round; a seed lease that expires is taken over after it
#     expires plus coordsync's lock-delay.
# The seed client is the seed's code as written (see seed_client.py), refused
# pushes, textual rebases and all: a client whose job_assignment grant lost
# the race to a coordsync claim waits out its own 30 s lease, which is most
# of this test's time.  e2e_seed_contention.sh tests the seed's locks
# themselves (coordsync waits for job_assignment and message_queue).
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

seed() { python3 "$TESTS_DIR/seed_client.py" "$@"; }
export SEED_SLEEP_SCALE=${SEED_SLEEP_SCALE:-0.05}
NJOBS=30
CS_PAUSE=${CS_PAUSE:-0.3}      # between a coordsync worker's claims: share the queue

mkremote r
cs init "$T/r.git" "$T/c1" --server build1 >/dev/null
cs init "$T/r.git" "$T/c2" --server build2 >/dev/null
worktree s1 "$T/r.git"
worktree s2 "$T/r.git"
ok "two coordsync clones and two seed clones of one remote"

for j in $(seq -w 1 "$NJOBS"); do
  cs -C "$T/c1" job add --id "j$j" --priority $((10#$j % 3)) >/dev/null
done
cs -C "$T/c2" sync >/dev/null
ok "$NJOBS jobs queued"

cs_worker() {
  local i=$1 n rc id
  : >"$T/claims.build$i"
  # Each coordsync server takes at most a third of the queue, so the seed
  # clients always get a share however slow the machine (they run three
  # git commits per claim).
  for ((n = 0; n < NJOBS / 3; n++)); do
    set +e
    id=$(cs -C "$T/c$i" job claim 2>>"$T/err.build$i")
    rc=$?
    set -e
    [ $rc -eq 3 ] && break
    [ $rc -eq 0 ] && echo "$id" >>"$T/claims.build$i"
    sleep "$CS_PAUSE"
  done
}

start=$(date +%s.%N)
pids=()
for i in 1 2; do
  seed "$T/s$i" "seed$i" claim-loop "$NJOBS" >"$T/claims.seed$i" 2>"$T/err.seed$i" &
  pids+=($!)
done
for i in 1 2; do
  cs_worker "$i" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "worker pid $p failed (see $T/err.*)"; done
end=$(date +%s.%N)
for w in seed1 seed2 build1 build2; do echo "$w: $(wc -l <"$T/claims.$w") claims"; done
python3 -c "import sys; s,e,n=map(float,sys.argv[1:]); print(f'{n:.0f} claims in {e-s:.2f} s: {n/(e-s):.1f} claims/s')" \
  "$start" "$end" "$NJOBS"
ok "four clients finished"

git --git-dir="$T/r.git" show HEAD:coordination/jobs.json >"$T/final-jobs.json"
python3 - "$T" "$NJOBS" <<'PY'
import collections, json, sys
T, n = sys.argv[1], int(sys.argv[2])
printed = collections.defaultdict(list)
for w in ("seed1", "seed2", "build1", "build2"):
    for line in open(f"{T}/claims.{w}"):
        if line.strip():
            printed[line.strip()].append(w)
dup = {k: v for k, v in printed.items() if len(v) > 1}
assert not dup, f"claimed more than once: {dup}"
want = {f"j{j:02d}" for j in range(1, n + 1)}
assert set(printed) == want, f"missing {sorted(want - set(printed))}, extra {sorted(set(printed) - want)}"
jobs = json.load(open(f"{T}/final-jobs.json"))["jobs"]
assert sorted(j["id"] for j in jobs) == sorted(want), "jobs.json lost or duplicated records"
for j in jobs:
    assert j["status"] == "running" and j["assigned_to"] == printed[j["id"]][0], (j, printed[j["id"]])
seeds = sum(1 for v in printed.values() if v[0].startswith("seed"))
assert seeds > 0, "the seed clients claimed nothing: the interop checks below need some"
print(f"{seeds} jobs claimed by seed clients, {n - seeds} by coordsync")
PY
ok "every job claimed exactly once across seed and coordsync clients"

merges=$(git --git-dir="$T/r.git" rev-list --merges --all | wc -l)
[ "$merges" -eq 0 ] || fail "$merges merge commits on the remote"
ok "no merge commits on the remote"

# ---- coordsync reads the seed's files -------------------------------------
# A seed client that lost a grant race keeps its refused commit and waits
# out its own lease (seed_client.py).  The checks below are about what each
# side reads of the other's files: start the seed clones from the remote.
for i in 1 2; do
  git -C "$T/s$i" fetch -q origin && git -C "$T/s$i" reset -q --hard origin/main
done
cs -C "$T/c1" sync >/dev/null
expect_rc 0 cs -C "$T/c1" query --format csv \
  "SELECT id || ' ' || assigned_to FROM jobs WHERE assigned_to LIKE 'seed%' ORDER BY id"
cat "$T"/claims.seed1 "$T"/claims.seed2 | while read -r id; do
  grep -qx "$id seed[12]" <<<"$OUT" || fail "coordsync's mirror lacks seed claim $id: $OUT"
done
want=$(cat "$T"/claims.seed1 "$T"/claims.seed2 | wc -l)
[ "$(grep -c '^j.. seed' <<<"$OUT")" -eq "$want" ] || fail "mirror shows other seed claims: $OUT"
for i in 1 2; do
  grep -qx "$(head -n1 "$T/claims.seed$i") seed$i" <<<"$OUT" ||
    [ ! -s "$T/claims.seed$i" ] || fail "seed$i's claim has the wrong holder: $OUT"
done
expect_rc 0 cs -C "$T/c1" query --format csv "SELECT count(*) FROM files WHERE error IS NOT NULL"
[ "$(tail -n1 <<<"$OUT")" = 0 ] || fail "a seed-written file did not import: $OUT"
expect_rc 0 cs -C "$T/c1" query --format csv \
  "SELECT count(*) FROM jobs WHERE status='running' AND started_at > 0"
[ "$(tail -n1 <<<"$OUT")" = "$NJOBS" ] || fail "started_at not read for every claim: $OUT"
expect_rc 3 cs -C "$T/c2" job claim
ok "coordsync's mirror shows the seed clients' claims (files import cleanly)"

# ---- the seed reads coordsync's files -------------------------------------
cs -C "$T/c1" job add --id late --priority 0 >/dev/null
cs -C "$T/c1" job add --id later --priority 9 >/dev/null
expect_rc 0 seed "$T/s1" seed1 claim
[ "$OUT" = late ] || fail "seed claimed '$OUT' from coordsync's jobs.json, expected 'late'"
git --git-dir="$T/r.git" show HEAD:coordination/jobs.json >"$T/jobs-after-seed.json"
python3 - "$T/jobs-after-seed.json" <<'PY'
import json, sys
jobs = {j["id"]: j for j in json.load(open(sys.argv[1]))["jobs"]}
late = jobs["late"]
assert late["status"] == "running" and late["assigned_to"] == "seed1", late
# coordsync's own fields survive the seed's rewrite
assert "max_attempts" in late and "attempts" in late, late
assert jobs["later"]["status"] == "queued" and jobs["later"]["assigned_to"] is None
PY
cs -C "$T/c2" sync >/dev/null
expect_rc 0 cs -C "$T/c2" query --format csv "SELECT assigned_to FROM jobs WHERE id='late'"
[ "$(tail -n1 <<<"$OUT")" = seed1 ] || fail "coordsync does not see seed1's claim of 'late': $OUT"
expect_rc 0 cs -C "$T/c2" job claim
[ "$OUT" = later ] || fail "coordsync claimed '$OUT' after the seed's write, expected 'later'"
expect_rc 3 seed "$T/s2" seed2 claim
ok "the seed client claims from coordsync-written jobs.json and coordsync from the seed's"

# ---- locks across protocols -------------------------------------------------
expect_rc 0 seed "$T/s1" seed1 acquire deploy 30
expect_rc 3 cs -C "$T/c1" lock acquire deploy
grep -q seed1 <<<"$OUT" || fail "refusal does not name the seed holder: $OUT"
expect_rc 3 cs -C "$T/c2" lock acquire deploy --ttl 5
expect_rc 0 seed "$T/s1" seed1 release deploy
expect_rc 0 cs -C "$T/c1" lock acquire deploy
ok "a seed-held lock refuses coordsync; released, coordsync takes it"

expect_rc 3 seed "$T/s2" seed2 acquire deploy 30
expect_rc 1 seed "$T/s2" seed2 release deploy
expect_rc 0 cs -C "$T/c1" lock release deploy
expect_rc 0 seed "$T/s2" seed2 acquire deploy 30
git --git-dir="$T/r.git" show HEAD:coordination/locks.json >"$T/locks.json"
python3 - "$T/locks.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["locks"]["deploy"]
assert d["locked_by"] == "seed2" and isinstance(d["expires_at"], int), d
PY
ok "a coordsync-held lock refuses the seed client; released, the seed takes it"

# A seed lease that runs out: free after expires_at plus the lock-delay (5 s).
expect_rc 0 seed "$T/s1" seed1 acquire short 1
expect_rc 3 cs -C "$T/c1" lock acquire short
expect_rc 0 cs -C "$T/c1" lock acquire short --wait 15
git --git-dir="$T/r.git" show HEAD:coordination/locks.json >"$T/locks.json"
python3 - "$T/locks.json" <<'PY'
import json, sys, time
d = json.load(open(sys.argv[1]))["locks"]["short"]
assert d["locked_by"] == "build1", d
PY
ok "an expired seed lease is taken over after the lock-delay"

# Fences across a seed release: the seed's release_lock replaces the record
# with {locked_by, locked_at, expires_at} = null, dropping "fence".
expect_rc 0 cs -C "$T/c2" lock acquire fenced
f1=$OUT
expect_rc 0 cs -C "$T/c2" lock release fenced
expect_rc 0 seed "$T/s1" seed1 acquire fenced 30
expect_rc 0 seed "$T/s1" seed1 release fenced
expect_rc 0 cs -C "$T/c2" lock acquire fenced
f2=$OUT
echo "fence of 'fenced': $f1 before the seed's grant, $f2 after (a seed release drops the field)"
# coordsync remembers the highest fence it has seen (lock_fences), so a
# writer that drops the field cannot make it hand one out twice.
[ "$f2" -gt "$f1" ] || fail "fence went from $f1 to $f2 across a seed grant/release"
ok "fence rises across a seed client's grant and release"
expect_rc 0 cs -C "$T/c2" lock release fenced
expect_rc 0 cs -C "$T/c2" rebuild
expect_rc 0 seed "$T/s1" seed1 acquire fenced 30
expect_rc 0 seed "$T/s1" seed1 release fenced
expect_rc 0 cs -C "$T/c2" lock acquire fenced
[ "$OUT" -gt "$f2" ] || fail "fence went from $f2 to $OUT across a rebuild and a seed release"
ok "the highest fence survives a rebuild"

done_testing
