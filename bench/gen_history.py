#!/usr/bin/env python3
"""Generate a coordination repository with a long history, for the history
backfill benchmark: COMMITS commits that each change coordination/jobs.json
(claim, finish or queue one job) in the seed's style, written with
`git fast-import` into a bare repository.

usage: gen_history.py --commits N --jobs J --out DIR      (DIR/remote.git)
"""
import argparse, json, os, random, subprocess, sys, time

def dump(obj):
    return (json.dumps(obj, indent=2) + "\n").encode()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", type=int, default=10000)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rnd = random.Random(42)
    servers = ["build%d" % i for i in range(1, 5)]
    t0 = 1767225600
    jobs = [{"id": "job-%05d" % i, "status": "queued", "assigned_to": None,
             "priority": rnd.randint(1, 9),
             "created_at": "2026-01-01T00:00:00Z", "started_at": None,
             "command": "make target%d" % i} for i in range(a.jobs)]
    remote = os.path.join(a.out, "remote.git")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", remote], check=True)
    fi = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=remote, stdin=subprocess.PIPE)
    w = fi.stdin
    def commit(n, msg, files):
        ts = t0 + n * 30
        w.write(b"commit refs/heads/main\n")
        w.write(b"committer gen <gen@example.invalid> %d +0000\n" % ts)
        m = msg.encode()
        w.write(b"data %d\n%s\n" % (len(m), m))
        for path, data in files:
            w.write(b"M 100644 inline %s\ndata %d\n" % (path.encode(), len(data)))
            w.write(data + b"\n")
    commit(0, "seed", [("coordination/jobs.json", dump({"jobs": jobs})),
                       ("coordination/locks.json", dump({"locks": {}})),
                       ("coordination/messages.json", dump({"messages": []}))])
    nid = a.jobs
    for n in range(1, a.commits):
        ts = t0 + n * 30
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
        queued = [j for j in jobs if j["status"] == "queued"]
        running = [j for j in jobs if j["status"] == "running"]
        r = rnd.random()
        if running and (r < 0.45 or not queued):
            j = rnd.choice(running)
            j["status"] = "done"
            j["completed_at"] = iso
            msg = "Job %s done by %s" % (j["id"], j["assigned_to"])
        elif queued and r < 0.9:
            j = min(queued, key=lambda j: (j["priority"], j["created_at"]))
            s = rnd.choice(servers)
            j.update(status="running", assigned_to=s, started_at=iso)
            msg = "Job %s claimed by %s" % (j["id"], s)
        else:
            j = {"id": "job-%05d" % nid, "status": "queued", "assigned_to": None,
                 "priority": rnd.randint(1, 9), "created_at": iso, "started_at": None}
            nid += 1
            jobs.append(j)
            msg = "Job %s added" % j["id"]
        commit(n, msg, [("coordination/jobs.json", dump({"jobs": jobs}))])
    w.close()
    if fi.wait():
        sys.exit("git fast-import failed")

if __name__ == "__main__":
    main()
