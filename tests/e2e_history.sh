#!/usr/bin/env bash
# History: backfill from a history written by git CLI clients (from before
# coordsync was installed), incremental syncs without duplicates, and
# records that disappear recorded as removed.
. "$TESTS_DIR/lib.sh"
mkremote r
worktree w "$T/r.git"
cd "$T/w"
mkdir -p coordination build2
commit() { git add -A && git commit -qm "$1" && git push -q origin HEAD:main 2>/dev/null; }
pyjson coordination/locks.json '{"locks": {}}'
pyjson coordination/messages.json '{"messages": []}'
pyjson coordination/jobs.json '{"jobs": [{"id": "a", "status": "queued", "assigned_to": null, "priority": 1, "created_at": "2026-01-01T00:00:00Z", "started_at": null}]}'
commit "seed"
pyjson coordination/jobs.json '{"jobs": [{"id": "a", "status": "queued", "assigned_to": null, "priority": 1, "created_at": "2026-01-01T00:00:00Z", "started_at": null}, {"id": "b", "status": "queued", "assigned_to": null, "priority": 2, "created_at": "2026-01-01T00:01:00Z", "started_at": null}]}'
commit "add b"
pyjson coordination/locks.json '{"locks": {"job_assignment": {"locked_by": "build2", "locked_at": 1767225600, "expires_at": 1767225630}}}'
commit "Lock job_assignment acquired by build2"
pyjson coordination/jobs.json '{"jobs": [{"id": "a", "status": "running", "assigned_to": "build2", "priority": 1, "created_at": "2026-01-01T00:00:00Z", "started_at": "2026-01-01T00:02:00Z"}, {"id": "b", "status": "queued", "assigned_to": null, "priority": 2, "created_at": "2026-01-01T00:01:00Z", "started_at": null}]}'
commit "Job a claimed by build2"
pyjson coordination/locks.json '{"locks": {"job_assignment": {"locked_by": null, "locked_at": null, "expires_at": null}}}'
commit "Lock job_assignment released by build2"
pyjson build2/heartbeat.json '{"timestamp": "2026-01-01T00:03:00Z"}'
pyjson build2/status.json '{"status": "building", "timestamp": "2026-01-01T00:03:00Z"}'
commit "build2 status: building"
# 'b' is removed (archived elsewhere), and a message arrives.
pyjson coordination/jobs.json '{"jobs": [{"id": "a", "status": "running", "assigned_to": "build2", "priority": 1, "created_at": "2026-01-01T00:00:00Z", "started_at": "2026-01-01T00:02:00Z"}]}'
pyjson coordination/messages.json '{"messages": [{"id": "m1", "from": "build2", "to": "all", "type": "info", "subject": "hi", "body": null, "timestamp": "2026-01-01T00:04:00Z", "read": false}]}'
commit "archive b; hello"
cd "$T"
seed_commits=$(git --git-dir="$T/r.git" rev-list --count HEAD)

cs init "$T/r.git" "$T/c" --server build1 >/dev/null
q() { cs -C "$T/c" query "$1" --format csv | tail -n +2; }
# and the commit of init's own status files (build1/)
[ "$(q "SELECT count(*) FROM history_commits")" = "$((seed_commits + 1))" ] || fail "commits: $(q "SELECT count(*) FROM history_commits")"
ok "init backfills every commit of the existing history"
got=$(q "SELECT job_id || ':' || change || ':' || coalesce(status, '') || ':' || coalesce(assigned_to, '') FROM job_history ORDER BY seq" | tr '\n' ' ')
[ "$got" = "a:added:queued: b:added:queued: a:changed:running:build2 b:removed:queued: " ] || fail "job_history: $got"
ok "job_history: added, changed and removed records, in order"
got=$(q "SELECT name || ':' || event || ':' || coalesce(locked_by, '') || ':' || coalesce(prev_holder, '') FROM lock_history ORDER BY seq" | tr '\n' ' ')
[ "$got" = "job_assignment:grant:build2: job_assignment:expire::build2 " ] || fail "lock_history: $got"
ok "lock_history: a grant, and a release after expiry recorded as expire"
[ "$(q "SELECT count(*) FROM server_history WHERE server='build2'")" = 2 ] || fail server_history
[ "$(q "SELECT author FROM job_history WHERE change='changed'")" = tester ] || fail author
[ "$(q "SELECT count(*) FROM message_history WHERE message_id='m1' AND change='added'")" = 1 ] || fail msg
ok "server and message history; authors from the commits"

before=$(q "SELECT count(*) FROM job_history")
expect_rc 0 cs -C "$T/c" sync
expect_rc 0 cs -C "$T/c" sync
[ "$(q "SELECT count(*) FROM job_history")" = "$before" ] || fail "sync added rows"
ok "syncing twice adds nothing"

expect_rc 0 cs -C "$T/c" job cancel a
cd "$T/w" && git pull -q origin main 2>/dev/null
python3 - <<'PY'
import json
d = json.load(open("coordination/jobs.json"))
d["jobs"] = [j for j in d["jobs"] if j["id"] != "a"]
json.dump(d, open("coordination/jobs.json", "w"), indent=2); open("coordination/jobs.json", "a").write("\n")
PY
commit "archive a"
cd "$T"
expect_rc 0 cs -C "$T/c" sync
got=$(q "SELECT change || ':' || status FROM job_history WHERE job_id='a' ORDER BY seq" | tr '\n' ' ')
[ "$got" = "added:queued changed:running changed:cancelled removed:cancelled " ] || fail "after sync: $got"
[ "$(q "SELECT count(*) FROM history_commits")" = $((seed_commits + 1 + 1 + 1)) ] || fail "commit count"
ok "decisions and later syncs append exactly what the new commits changed"
n=$(q "SELECT count(*) FROM job_history")
expect_rc 0 cs -C "$T/c" rebuild
[ "$(q "SELECT count(*) FROM job_history")" = "$n" ] || fail "rebuild changed history: $n vs $(q "SELECT count(*) FROM job_history")"
ok "rebuild recreates the same history"

# A long generated history checked against a full re-parse of every version.
python3 "$TESTS_DIR/../bench/gen_history.py" --commits 400 --jobs 60 --out "$T/gen"
cs init "$T/gen/remote.git" "$T/g" --server build1 >/dev/null
cs -C "$T/g" query "SELECT job_id, change, coalesce(status, ''), coalesce(assigned_to, ''), commit_id FROM job_history ORDER BY seq" --format csv | tail -n +2 > "$T/got.csv"
python3 - "$T/gen/remote.git" "$T/got.csv" <<'PY'
import csv, json, subprocess, sys
repo, got = sys.argv[1], sys.argv[2]
revs = subprocess.run(["git", "--git-dir", repo, "rev-list", "--first-parent", "--reverse", "main"],
                      capture_output=True, text=True, check=True).stdout.split()
want, old = [], {}
for r in revs:
    text = subprocess.run(["git", "--git-dir", repo, "show", r + ":coordination/jobs.json"],
                          capture_output=True, text=True, check=True).stdout
    new = {j["id"]: j for j in json.loads(text)["jobs"]}
    for k, j in new.items():
        if k not in old:
            want.append([k, "added", j["status"], j["assigned_to"] or "", r])
        elif old[k] != j:
            want.append([k, "changed", j["status"], j["assigned_to"] or "", r])
    for k, j in old.items():
        if k not in new:
            want.append([k, "removed", j["status"], j["assigned_to"] or "", r])
    old = new
rows = list(csv.reader(open(got)))
key = lambda x: (x[4], x[0])
assert sorted(rows, key=key) == sorted(want, key=key), (len(rows), len(want))
print("compared", len(rows), "rows over", len(revs), "commits")
PY
ok "400 generated commits: history equals a full re-parse of every version"
# Many servers, few of them changing per commit: the walk skips directories
# whose tree id is the parent's.  Servers come and go, one directory changes
# only a file the walk does not track, one commit changes nothing, and
# coordination/ changes now and then.  server_history and job_history must
# equal a full comparison of every commit with its parent, whether the clone
# walked them in one backfill, in several syncs, or in a rebuild.
python3 - "$T/fleet.git" <<'PY'
import json, random, subprocess, sys
repo = sys.argv[1]
subprocess.run(["git", "init", "-q", "--bare", "-b", "main", repo], check=True)
fi = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
w = fi.stdin
rnd = random.Random(7)
dump = lambda o: (json.dumps(o, indent=2) + "\n").encode()
iso = lambda t: "2026-01-01T%02d:%02d:%02dZ" % (t // 3600 % 24, t // 60 % 60, t % 60)
servers = ["srv%02d" % i for i in range(40)]
live, jobs, t0 = set(), [], 1767225600
def put(path, data):
    w.write(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
for n in range(120):
    t = t0 + n * 7
    w.write(b"commit refs/heads/main\ncommitter gen <gen@example.invalid> %d +0000\n" % t)
    w.write(b"data 3\nc%02d\n" % (n % 100))
    if n == 0:
        put("coordination/locks.json", dump({"locks": {}}))
        put("coordination/messages.json", dump({"messages": []}))
    if n == 0 or n % 9 == 0:
        jobs.append({"id": "j%d" % n, "status": "queued", "priority": n % 5})
        put("coordination/jobs.json", dump({"jobs": jobs}))
    if n == 0:
        picks = servers[:30]
    elif n == 50:
        picks = []                      # a commit that changes no tracked file
    else:
        picks = rnd.sample(servers, rnd.randint(1, 3))
    for s in picks:
        what = rnd.random()
        if s in live and what < 0.08:
            w.write(b"D %s\n" % s.encode())          # the whole directory goes
            live.discard(s)
            continue
        if s in live and what < 0.15:
            put(s + "/logs/run.log", b"line %d\n" % n)  # not a tracked file
            continue
        put(s + "/heartbeat.json", dump({"timestamp": iso(t)}))
        if s not in live or what < 0.4:
            put(s + "/status.json", dump({"status": rnd.choice(["idle", "building"]),
                                          "timestamp": iso(t)}))
        live.add(s)
    w.write(b"\n")
w.close()
assert fi.wait() == 0
PY
# The clone starts a third of the way in, then syncs in steps.
revs=($(git --git-dir="$T/fleet.git" rev-list --first-parent --reverse main))
git --git-dir="$T/fleet.git" update-ref refs/heads/full main
git --git-dir="$T/fleet.git" update-ref refs/heads/main "${revs[40]}"
# A server id that has both files there: init then writes none (its own
# commit would leave the fleet's history).
sid=
for s in $(git --git-dir="$T/fleet.git" ls-tree -r --name-only "${revs[40]}" | sed -n 's,/status.json$,,p'); do
  git --git-dir="$T/fleet.git" cat-file -e "${revs[40]}:$s/heartbeat.json" 2>/dev/null && { sid=$s; break; }
done
[ -n "$sid" ] || fail "no server with both files at the clone's start"
cs init "$T/fleet.git" "$T/f" --server "$sid" >/dev/null 2>&1
for i in 41 75 90; do
  git --git-dir="$T/fleet.git" update-ref refs/heads/main "${revs[$i]}"
  expect_rc 0 cs -C "$T/f" sync
done
git --git-dir="$T/fleet.git" update-ref refs/heads/main full
expect_rc 0 cs -C "$T/f" sync
fq() { cs -C "$T/f" query "$1" --format csv | tail -n +2; }
srv_sql="SELECT server, file, change, commit_id FROM server_history ORDER BY seq"
job_sql="SELECT job_id, change, commit_id FROM job_history ORDER BY seq"
fq "$srv_sql" > "$T/srv.csv"
fq "$job_sql" > "$T/job.csv"
python3 - "$T/fleet.git" "$T/srv.csv" "$T/job.csv" <<'PY'
import csv, json, subprocess, sys
repo = sys.argv[1]
git = lambda *a: subprocess.run(["git", "--git-dir", repo] + list(a), capture_output=True,
                                 check=True).stdout
revs = git("rev-list", "--first-parent", "--reverse", "main").decode().split()
def files(r):
    out = {}
    for line in git("ls-tree", "-r", "-z", r).split(b"\0"):
        if line:
            meta, path = line.split(b"\t")
            out[path.decode()] = meta.split()[2].decode()
    return out
want_srv, want_job, old, old_jobs = [], [], {}, {}
for r in revs:
    new = files(r)
    for p in sorted(set(old) | set(new)):
        parts = p.split("/")
        if len(parts) != 2 or parts[1] not in ("status.json", "heartbeat.json") \
           or parts[0] == "coordination" or old.get(p) == new.get(p):
            continue
        ch = "added" if p not in old else "removed" if p not in new else "changed"
        want_srv.append([parts[0], parts[1][:-5], ch, r])
    jobs = {j["id"]: j for j in json.loads(git("show", r + ":coordination/jobs.json"))["jobs"]}
    for k in jobs:
        if k not in old_jobs:
            want_job.append([k, "added", r])
    old, old_jobs = new, jobs
key = lambda x: (revs.index(x[-1]), x)
for name, want in ((sys.argv[2], want_srv), (sys.argv[3], want_job)):
    got = list(csv.reader(open(name)))
    assert sorted(got, key=key) == sorted(want, key=key), (name, len(got), len(want))
print("compared", len(want_srv), "server rows and", len(want_job), "job rows over", len(revs), "commits")
PY
ok "120 commits of 40 servers, few changing each: history equals a full comparison"
expect_rc 0 cs -C "$T/f" rebuild
[ "$(fq "$srv_sql")" = "$(cat "$T/srv.csv")" ] || fail "rebuild: server_history differs"
[ "$(fq "$job_sql")" = "$(cat "$T/job.csv")" ] || fail "rebuild: job_history differs"
ok "a rebuild walks the fleet's history to the same rows, in the same order"
done_testing
