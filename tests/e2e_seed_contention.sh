#!/usr/bin/env bash
# e2e_seed_contention: servers running the seed's scripts (tests/seed_client.py,
# the seed's code as written: it claims and sends under the job_assignment
# and message_queue locks, and claim_next_job runs the job whether or not
# its claim was pushed) share a remote with coordsync servers.
#   - while a seed server holds job_assignment, coordsync does not claim: it
#     waits (--wait, 10 s by default) on fresh fetches, then exits 3 naming
#     the holder and the lock's expiry; released meanwhile, the claim goes
#     through; a seed grant that expired is free only after the lock-delay,
#     as coordsync's own locks;
#   - while a seed server holds message_queue, msg send does not send (the
#     same wait and exit 3), and sync keeps a deferred message in the outbox;
#   - seed clients and coordsync servers claim from one queue at once, each
#     side recording the jobs it runs: no job is run twice, and the remote
#     agrees with every record; seed and coordsync servers send messages at
#     once: every message either side reported sent is on the remote, once.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

seed() { python3 "$TESTS_DIR/seed_client.py" "$@"; }
export SEED_SLEEP_SCALE=${SEED_SLEEP_SCALE:-0.05}
remote_file() { git --git-dir="$T/r.git" show "HEAD:coordination/$1"; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$@"; }

mkremote r
cs init "$T/r.git" "$T/c1" --server build1 >/dev/null
cs init "$T/r.git" "$T/c2" --server build2 >/dev/null
cs -C "$T/c1" heartbeat >/dev/null
cs -C "$T/c2" heartbeat >/dev/null
for i in 1 2 3 4; do worktree "s$i" "$T/r.git"; done
ok "two coordsync clones and four seed clones of one remote"

# ---- job_assignment held by a seed server ---------------------------------
for j in 1 2 3; do cs -C "$T/c1" job add --id "h$j" --priority 1 >/dev/null; done
expect_rc 0 seed "$T/s1" seed1 acquire job_assignment 30
until_iso=$(remote_file locks.json | python3 -c "import json, sys, time
print(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(json.load(sys.stdin)['locks']['job_assignment']['expires_at'])))")
t0=$(date +%s.%N)
expect_rc 3 cs -C "$T/c1" job claim
t1=$(date +%s.%N)
echo "job claim (default wait) refused after $(elapsed "$t0" "$t1") s: $OUT"
grep -q "cannot claim: 'job_assignment' held by seed1 until $until_iso" <<<"$OUT" ||
  fail "the refusal does not name the holder and its expiry ($until_iso): $OUT"
grep -q "waited 1[0-9]s" <<<"$OUT" || fail "the refusal does not say it waited 10s: $OUT"
python3 -c "import sys; assert 9.5 <= float(sys.argv[1]) < 25, sys.argv[1]" "$(elapsed "$t0" "$t1")" ||
  fail "job claim did not wait its default 10 s"
remote_file jobs.json | python3 -c "import json, sys
assert all(j['status'] == 'queued' for j in json.load(sys.stdin)['jobs'])" ||
  fail "a job was claimed while seed1 held job_assignment"
ok "a claim while a seed server holds job_assignment waits 10 s, then exits 3 naming it"

expect_rc 3 cs -C "$T/c2" job claim --wait 0
grep -q "held by seed1" <<<"$OUT" || fail "--wait 0: $OUT"
grep -q waited <<<"$OUT" && fail "--wait 0 says it waited: $OUT"
t0=$(date +%s.%N)
cs -C "$T/c2" job claim --wait 30 >"$T/claim.out" 2>"$T/claim.err" &
claim=$!
sleep 2
expect_rc 0 seed "$T/s1" seed1 release job_assignment
wait "$claim" || fail "the waiting claim failed: $(cat "$T/claim.err")"
t1=$(date +%s.%N)
[ "$(cat "$T/claim.out")" = h1 ] || fail "the waiting claim took '$(cat "$T/claim.out")'"
python3 -c "import sys; assert 1.5 <= float(sys.argv[1]) < 15, sys.argv[1]" "$(elapsed "$t0" "$t1")" ||
  fail "the claim did not wait for the release"
ok "a claim waiting for job_assignment goes through once the seed releases it ($(elapsed "$t0" "$t1") s)"

# A seed server that died holding the lock: free after its expiry plus the
# lock-delay (5 s), by the rules of coordsync's own locks.
expect_rc 0 seed "$T/s1" seed1 acquire job_assignment 1
sleep 1.2
expect_rc 3 cs -C "$T/c1" job claim --wait 0
grep -q "held by seed1" <<<"$OUT" || fail "an expired grant within the lock-delay: $OUT"
expect_rc 0 cs -C "$T/c1" job claim --wait 20
[ "$OUT" = h2 ] || fail "claimed '$OUT' after the dead seed's grant expired"
ok "a seed grant that expired is waited for until the lock-delay has passed"

# ---- message_queue held by a seed server -----------------------------------
expect_rc 0 cs -C "$T/c2" msg send build1 --type request --subject "ack please"
ask=$OUT
expect_rc 0 seed "$T/s2" seed2 acquire message_queue 30
# auto-reply's replies are sends too: they wait (the request stays unread)
expect_rc 0 cs -C "$T/c1" msg autoreply
grep -q "cannot reply: 'message_queue' held by seed2 until" <<<"$OUT" || fail "auto-reply while held: $OUT"
remote_file messages.json | grep -q "\"in_reply_to\": \"$ask\"" &&
  fail "auto-reply sent a reply while seed2 held message_queue"
expect_rc 0 cs -C "$T/c1" msg inbox
grep -q "$ask" <<<"$OUT" || fail "the request is no longer unread: $OUT"
expect_rc 3 cs -C "$T/c1" msg send build2 --subject held --wait 1
grep -q "cannot send: 'message_queue' held by seed2 until" <<<"$OUT" || fail "msg send: $OUT"
grep -q "waited [12]s" <<<"$OUT" || fail "msg send did not wait: $OUT"
remote_file messages.json | grep -q '"held"' && fail "a message was sent while seed2 held message_queue"
expect_rc 0 cs -C "$T/c1" msg send build2 --subject deferred --defer
expect_rc 0 cs -C "$T/c1" sync
grep -q "1 deferred message not sent yet: cannot send: 'message_queue' held by seed2" <<<"$OUT" ||
  fail "sync does not say why the deferred message waits: $OUT"
remote_file messages.json | grep -q '"deferred"' && fail "sync pushed a deferred message while seed2 held message_queue"
cs -C "$T/c1" msg send build2 --subject waited --wait 30 >"$T/send.out" 2>"$T/send.err" &
send=$!
sleep 2
expect_rc 0 seed "$T/s2" seed2 release message_queue
wait "$send" || fail "the waiting send failed: $(cat "$T/send.err")"
remote_file messages.json | grep -q '"waited"' || fail "the waiting message is not on the remote"
expect_rc 0 cs -C "$T/c1" sync
remote_file messages.json | grep -q '"deferred"' || fail "the deferred message is not on the remote after the release"
expect_rc 0 cs -C "$T/c1" msg autoreply
remote_file messages.json | grep -q "\"in_reply_to\": \"$ask\"" || fail "no auto-reply after the release: $OUT"
ok "msg send while a seed server holds message_queue waits, exits 3 naming it (sync keeps a deferred one, auto-reply its replies); released, they go"

# ---- seed and coordsync servers claim from one queue at once ---------------
NJOBS=16
for j in $(seq -w 1 "$NJOBS"); do
  cs -C "$T/c1" job add --id "j$j" --priority $((10#$j % 3)) >/dev/null
done
cs -C "$T/c1" job cancel h3 >/dev/null

# Every worker runs each job it claims for RUN seconds.  Back to back, a
# coordsync worker wins every race with the seed's three pushes a claim (and
# a seed client that loses its grant waits out its own 30 s lease), and a
# seed client re-takes job_assignment before coordsync looks again.
RUN=${RUN:-1}
cs_worker() {   # claim until nothing is queued; a wait for job_assignment that runs out is retried
  local i=$1 n id rc
  : >"$T/runs.build$i"
  for ((n = 0; n < 3 * NJOBS; n++)); do
    set +e
    id=$(cs -C "$T/c$i" job claim --wait 5 2>"$T/err.build$i")
    rc=$?
    set -e
    if [ $rc -eq 3 ] && grep -q "no queued job" "$T/err.build$i"; then break; fi
    [ $rc -eq 0 ] && echo "$id" >>"$T/runs.build$i"
    [ $rc -eq 0 ] || [ $rc -eq 3 ] || { cat "$T/err.build$i" >&2; return 1; }
    [ $rc -eq 0 ] && sleep "$RUN"
  done
}

start=$(date +%s.%N)
pids=()
for i in 1 2; do
  seed "$T/s$i" "seed$i" claim-loop "$NJOBS" "$RUN" >"$T/runs.seed$i" 2>"$T/err.seed$i" &
  pids+=($!)
done
# coordsync starts once the seed servers are under way (a seed claim on the
# remote): two seed clients whose first grants both lose to a coordsync claim
# wait out their own leases (30 s) and would take no part.
seed_claimed() { git --git-dir="$T/r.git" log -1 --format=%s --grep='claimed by seed' | grep -q .; }
poll_until 30 seed_claimed || fail "no seed server claimed a job alone (see $T/err.seed*)"
for i in 1 2; do
  cs_worker "$i" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "worker pid $p failed (see $T/err.*)"; done
for w in seed1 seed2 build1 build2; do echo "$w ran $(wc -l <"$T/runs.$w") jobs"; done
echo "$NJOBS jobs claimed in $(elapsed "$start" "$(date +%s.%N)") s"
remote_file jobs.json >"$T/final-jobs.json"
python3 - "$T" "$NJOBS" <<'PY'
import collections, json, sys
T, n = sys.argv[1], int(sys.argv[2])
ran = collections.defaultdict(list)
for w in ("seed1", "seed2", "build1", "build2"):
    for line in open(f"{T}/runs.{w}"):
        if line.strip():
            ran[line.strip()].append(w)
twice = {k: v for k, v in ran.items() if len(v) > 1}
assert not twice, f"jobs run more than once: {twice}"
want = {f"j{j:02d}" for j in range(1, n + 1)}
assert set(ran) == want, f"not run: {sorted(want - set(ran))}, unexpected: {sorted(set(ran) - want)}"
jobs = {j["id"]: j for j in json.load(open(f"{T}/final-jobs.json"))["jobs"]}
for k in sorted(want):
    j = jobs[k]
    assert j["status"] == "running" and j["assigned_to"] == ran[k][0], \
        f"{k} is {j['status']} on {j['assigned_to']} by the remote, but {ran[k][0]} runs it"
seeds = sum(1 for v in ran.values() if v[0].startswith("seed"))
print(f"{seeds} jobs run by seed servers, {n - seeds} by coordsync servers")
assert 0 < seeds < n, "one side ran nothing: no contention was tested"
PY
ok "seed and coordsync servers claimed $NJOBS jobs at once: none run twice, the remote agrees"

# ---- seed and coordsync servers send messages at once ----------------------
NMSG=5
cs_sender() {
  local i=$1 n id rc
  : >"$T/sent.build$i"
  for ((n = 1; n <= NMSG; n++)); do
    set +e
    id=$(cs -C "$T/c$i" msg send build1 --subject "build$i-$n" --wait 20 2>"$T/err.send$i")
    rc=$?
    set -e
    [ $rc -eq 0 ] || { cat "$T/err.send$i" >&2; return 1; }
    echo "$id build$i-$n" >>"$T/sent.build$i"
    sleep 0.5
  done
}
pids=()
for i in 3 4; do
  seed "$T/s$i" "seed$i" send-loop "$NMSG" build1 8 >"$T/sent.seed$i" 2>"$T/err.seed$i" &
  pids+=($!)
done
seed_sent() { git --git-dir="$T/r.git" log -1 --format=%s --grep='Message from seed' | grep -q .; }
poll_until 30 seed_sent || fail "no seed server sent a message alone (see $T/err.seed*)"
for i in 1 2; do
  cs_sender "$i" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "sender pid $p failed (see $T/err.*)"; done
for w in seed3 seed4 build1 build2; do echo "$w sent $(wc -l <"$T/sent.$w") messages"; done
remote_file messages.json >"$T/final-messages.json"
python3 - "$T" <<'PY'
import collections, json, sys
T = sys.argv[1]
on_remote = collections.Counter(m["id"] for m in json.load(open(f"{T}/final-messages.json"))["messages"])
subjects = {m["id"]: m["subject"] for m in json.load(open(f"{T}/final-messages.json"))["messages"]}
for w in ("seed3", "seed4", "build1", "build2"):
    for line in open(f"{T}/sent.{w}"):
        mid, subject = line.split()
        assert on_remote[mid] == 1, f"{w}'s message {subject} ({mid}) is on the remote {on_remote[mid]} times"
        assert subjects[mid] == subject, (mid, subjects[mid], subject)
assert max(on_remote.values()) == 1, "a message id twice on the remote"
PY
[ "$(wc -l <"$T/sent.build1")" -eq "$NMSG" ] && [ "$(wc -l <"$T/sent.build2")" -eq "$NMSG" ] ||
  fail "a coordsync sender did not send all its messages"
cs -C "$T/c1" sync >/dev/null
expect_rc 0 cs -C "$T/c1" query --format csv "SELECT count(*) FROM files WHERE error IS NOT NULL"
[ "$(tail -n1 <<<"$OUT")" = 0 ] || fail "a file did not import: $OUT"
seeds=$(cat "$T/sent.seed3" "$T/sent.seed4" | wc -l)
[ "$seeds" -gt 0 ] || fail "the seed servers sent nothing: no contention was tested"
ok "seed and coordsync servers sent at once: every message reported sent is on the remote, once"

merges=$(git --git-dir="$T/r.git" rev-list --merges --all | wc -l)
[ "$merges" -eq 0 ] || fail "$merges merge commits on the remote"

done_testing
