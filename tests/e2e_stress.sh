#!/usr/bin/env bash
# e2e_stress: six coordsync servers, each in its own clone, claim from 60
# queued jobs on one bare remote at the same time, and contend for lock
# "stress" between claims.  Afterwards:
#   - every job was claimed exactly once: by the union of what the workers
#     printed, by the remote's final jobs.json, and by the commit messages;
#   - the first-parent history of coordination/locks.json never shows two
#     overlapping holders of "stress", and its fence rises with every grant;
#   - the remote's history has no merge commits (each push is a CAS).
# Prints the claims and refused pushes per server, what the server saw
# (network transports) and the claim rate.  Every loop is bounded.
#
# STRESS_TRANSPORT picks how the clones reach the remote: "local" (a path:
# coordsync's own CAS on the ref's lock file), "git" (git daemon on
# 127.0.0.1) or "http" (git http-backend behind lighttpd on 127.0.0.1, basic
# auth with a token file; tests/netlib.sh).  e2e_stress_git.sh and
# e2e_stress_http.sh run this test over the network transports.  The
# default sizes keep each run short; STRESS_LONG=1 runs 8 servers and 200
# jobs, and STRESS_WORKERS / STRESS_JOBS set the sizes directly.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"
. "${TESTS_DIR:-$(dirname "$0")}/netlib.sh"

TRANSPORT=${STRESS_TRANSPORT:-local}
case "$TRANSPORT" in
  local) nw=6 njobs=60 pause=0 ;;
  git | http) nw=4 njobs=30 pause=400 ;;
  *) fail "STRESS_TRANSPORT must be local, git or http, not '$TRANSPORT'" ;;
esac
[ -z "${STRESS_LONG:-}" ] || { nw=8; njobs=200; }
NW=${STRESS_WORKERS:-$nw}
NJOBS=${STRESS_JOBS:-$njobs}
# A server's work between claims: 0 to PAUSE_MS ms (< 1000).  Over the
# network a server that has just pushed wins the next race nearly every
# time (its fetch has nothing to download), so without a pause the others
# starve in their first claim and the lock sees one server only;
# STRESS_PAUSE_MS=0 shows that.
PAUSE_MS=${STRESS_PAUSE_MS:-$pause}
MAX_ITER=$((NJOBS + 20))      # claims per worker, at most
LOCK_TRIES=3                  # lock acquire attempts after each claim

mkremote r
case "$TRANSPORT" in
  local) URL="$T/r.git" ;;
  git)
    start_git_daemon
    URL="$GITD_BASE/r.git"
    wait_for "$URL"
    ;;
  http)
    mkdir -m 700 "$T/secrets"
    ( umask 077; od -An -N12 -tx1 /dev/urandom | tr -d ' \n' >"$T/secrets/token" )
    # one account per server, so that the access log tells them apart
    accounts=()
    for i in $(seq 1 "$NW"); do accounts+=("build$i" "$(cat "$T/secrets/token")"); done
    start_http "${accounts[@]}"
    http_repo r
    URL="$HTTP_BASE/r.git"
    wait_for "$HTTP_TESTER_BASE/r.git"
    ;;
esac
for i in $(seq 1 "$NW"); do
  auth=()
  [ "$TRANSPORT" != http ] || auth=(--user "build$i" --token-file "$T/secrets/token")
  cs init "$URL" "$T/c$i" --server "build$i" "${auth[@]}" >/dev/null
done
ok "$NW clones of one remote over $TRANSPORT (${URL%%/r.git*}...)"

for j in $(seq -w 1 "$NJOBS"); do
  cs -C "$T/c1" job add --id "j$j" --priority $((10#$j % 5)) >/dev/null
done
for i in $(seq 1 "$NW"); do cs -C "$T/c$i" sync >/dev/null; done
expect_rc 0 cs -C "$T/c$NW" query --format csv "SELECT count(*) FROM jobs WHERE status='queued'"
[ "$(echo "$OUT" | tail -n1)" = "$NJOBS" ] || fail "expected $NJOBS queued jobs, got: $OUT"
ok "$NJOBS jobs queued"

# worker I: claim until nothing is queued; after each claim take and drop
# lock "stress".  Claimed ids go to claims.I, every outcome to log.I (with
# the pushes the claim saw refused).
worker() {
  local i=$1 dir="$T/c$1" n rc out id t
  : >"$T/claims.$i"
  : >"$T/log.$i"
  for ((n = 0; n < MAX_ITER; n++)); do
    set +e
    out=$(cs -C "$dir" --json job claim 2>>"$T/err.$i")
    rc=$?
    set -e
    if [ $rc -eq 3 ]; then
      echo "claim empty" >>"$T/log.$i"
      break
    elif [ $rc -ne 0 ]; then
      echo "claim rc=$rc" >>"$T/log.$i"
      continue
    fi
    id=$(sed -n 's/^{"id": "\([^"]*\)".*/\1/p' <<<"$out")
    echo "$id" >>"$T/claims.$i"
    echo "claim $id retries=$(sed -n 's/.*"retries": \([0-9]*\).*/\1/p' <<<"$out")" >>"$T/log.$i"
    for ((t = 0; t < LOCK_TRIES; t++)); do
      set +e
      cs -C "$dir" lock acquire stress --ttl 30 >/dev/null 2>>"$T/err.$i"
      rc=$?
      set -e
      if [ $rc -eq 0 ]; then
        echo "lock acquired" >>"$T/log.$i"
        set +e
        cs -C "$dir" lock release stress 2>>"$T/err.$i"
        rc=$?
        set -e
        echo "lock release rc=$rc" >>"$T/log.$i"
        break
      fi
      echo "lock acquire rc=$rc" >>"$T/log.$i"
      sleep 0.0$((RANDOM % 5 + 1))
    done
    # the "build" between claims
    [ "$PAUSE_MS" -eq 0 ] || sleep "$(printf '0.%03d' $((RANDOM % PAUSE_MS)))"
  done
  echo "worker $i done after $n iterations" >>"$T/log.$i"
}

start=$(date +%s.%N)
pids=()
for i in $(seq 1 "$NW"); do
  worker "$i" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "worker pid $p failed"; done
end=$(date +%s.%N)
ok "$NW workers finished"

for i in $(seq 1 "$NW"); do
  echo "build$i: $(wc -l <"$T/claims.$i") claims" \
       "(retried after $(awk -F'retries=' '/^claim j/ { n += $2 } END { print n + 0 }' "$T/log.$i")" \
       "refused pushes), $(grep -c '^lock acquired' "$T/log.$i" || true) lock grants," \
       "$(grep -c '^lock acquire rc=3' "$T/log.$i" || true) lock refusals," \
       "$(grep -vc '^\(claim j\|claim empty\|lock acquired\|lock acquire rc=3\|lock release rc=0\|worker \)' "$T/log.$i" || true) other outcomes"
done

# ---- every job claimed exactly once ---------------------------------------
git --git-dir="$T/r.git" show "HEAD:coordination/jobs.json" >"$T/final-jobs.json"
git --git-dir="$T/r.git" log --first-parent --format=%s HEAD >"$T/subjects"
python3 - "$T" "$NW" "$NJOBS" <<'PY'
import json, sys, collections, re
T, nw, njobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
printed = collections.defaultdict(list)
for i in range(1, nw + 1):
    for line in open(f"{T}/claims.{i}"):
        if line.strip():
            printed[line.strip()].append(f"build{i}")
want = {f"j{j:0{len(str(njobs))}d}" for j in range(1, njobs + 1)}
dup = {k: v for k, v in printed.items() if len(v) != 1}
assert not dup, f"claimed more than once: {dup}"
assert set(printed) == want, f"missing {sorted(want - set(printed))} extra {sorted(set(printed) - want)}"
jobs = json.load(open(f"{T}/final-jobs.json"))["jobs"]
assert len(jobs) == njobs, len(jobs)
ids = [j["id"] for j in jobs]
assert len(set(ids)) == njobs, "duplicate job records in jobs.json"
for j in jobs:
    assert j["status"] == "running", j
    assert j["assigned_to"] == printed[j["id"]][0], (j, printed[j["id"]])
claims = collections.Counter()
for s in open(f"{T}/subjects"):
    m = re.match(r"Job (\S+) claimed by (\S+)", s)
    if m:
        claims[m.group(1)] += 1
        assert m.group(2) == printed[m.group(1)][0], s
assert set(claims) == want and set(claims.values()) == {1}, claims
per = collections.Counter(v[0] for v in printed.values())
print("claims per server:", dict(sorted(per.items())))
PY
ok "each of $NJOBS jobs claimed exactly once (worker output, final jobs.json, one claim commit each)"

# ---- lock history: no overlapping holders, fence rises with each grant ------
python3 - "$T/r.git" <<'PY'
import json, subprocess, sys
git = ["git", "--git-dir", sys.argv[1]]
revs = subprocess.run(git + ["log", "--first-parent", "--format=%H", "HEAD", "--",
                             "coordination/locks.json"],
                      check=True, capture_output=True, text=True).stdout.split()
revs.reverse()
prev = None          # previous version of lock "stress" (or None)
last_fence = 0
grants = releases = renewals = 0
for h in revs:
    text = subprocess.run(git + ["show", f"{h}:coordination/locks.json"], check=True,
                          capture_output=True, text=True).stdout
    rec = json.loads(text)["locks"].get("stress")
    if rec is None:
        assert prev is None, f"{h}: lock 'stress' disappeared"
        continue
    holder = rec.get("locked_by")
    pholder = prev.get("locked_by") if prev else None
    if holder and holder != pholder:
        # a new grant: the previous holder released, or its lease was over
        if pholder:
            assert prev["expires_at"] < rec["locked_at"], \
                f"{h}: {holder} took 'stress' from {pholder} whose lease ran to " \
                f"{prev['expires_at']} (new locked_at {rec['locked_at']})"
        assert isinstance(rec["locked_at"], int) and isinstance(rec["expires_at"], int), rec
        assert isinstance(rec.get("fence"), int) and rec["fence"] > last_fence, \
            f"{h}: fence {rec.get('fence')} after {last_fence}"
        last_fence = rec["fence"]
        grants += 1
    elif holder:
        assert rec.get("fence") == last_fence, f"{h}: renewal changed fence {rec} vs {last_fence}"
        renewals += 1
    elif pholder:
        releases += 1
    prev = rec
assert grants > 0 and releases > 0, (grants, releases)
print(f"locks.json: {len(revs)} versions, {grants} grants, {releases} releases, "
      f"{renewals} renewals, last fence {last_fence}")
PY
ok "lock 'stress' never had two holders; fence rose with every grant"

merges=$(git --git-dir="$T/r.git" rev-list --merges --all | wc -l)
[ "$merges" -eq 0 ] || fail "$merges merge commits on the remote"
total=$(git --git-dir="$T/r.git" rev-list --count HEAD)
[ "$(git --git-dir="$T/r.git" rev-list --first-parent --count HEAD)" -eq "$total" ] ||
  fail "history is not linear"
ok "remote history is linear ($total commits, no merges)"

if [ "$TRANSPORT" = git ]; then
  sleep 0.2
  echo "git daemon saw: $(count "Request upload-pack for '/r.git'" "$T/git-daemon.log") fetches," \
       "$(count "Request receive-pack for '/r.git'" "$T/git-daemon.log") pushes"
fi
if [ "$TRANSPORT" = http ]; then
  log="$HTTP_DIR/access.log"
  sleep 0.2                  # the server logs a request just after answering it
  echo "http server saw: $(wc -l <"$log") requests, $(count ' 401$' "$log") answered 401" \
       "(one per connection), $(count 'POST /git/r.git/git-receive-pack' "$log") pushes," \
       "$(count "password doesn't match" "$HTTP_DIR/error.log") wrong passwords"
  for i in $(seq 1 "$NW"); do
    echo "  build$i: $(count "^127.0.0.1 build$i " "$log") requests," \
         "$(count "^127.0.0.1 build$i .*POST /git/r.git/git-receive-pack" "$log") pushes"
  done
  [ "$(count "password doesn't match" "$HTTP_DIR/error.log")" -eq 0 ] || fail "wrong passwords"
fi
python3 - "$start" "$end" "$NJOBS" "$NW" "$TRANSPORT" <<'PY'
import sys
s, e, n, w = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"{sys.argv[5]}: {n} claims by {w} servers in {e - s:.2f} s (with lock traffic):"
      f" {n / (e - s):.1f} claims/s")
PY
done_testing
