#!/usr/bin/env python3
"""Generate a coordination repository for the coordsync benchmarks.

    gen_repo.py --jobs N --messages M --servers S --out DIR [--seed K]
                [--all-queued | --queued Q]

Writes, in the seed's layout and style (json.dump(obj, f, indent=2) plus "\\n"):

    DIR/work/coordination/jobs.json       {"jobs": [...]}
    DIR/work/coordination/messages.json   {"messages": [...]}
    DIR/work/coordination/locks.json      {"locks": {name: {...}}}
    DIR/work/<server>/status.json
    DIR/work/<server>/heartbeat.json

then commits DIR/work on branch main and pushes it to DIR/remote.git (bare).
With --all-queued every job is queued and unassigned (started_at null), for
the claim benchmarks; the other fields are the same as without it.  With
--queued Q the newest Q jobs (the last in the file) are queued and all the
others done: a queue that has been worked for a while and never compacted.
The output depends only on the arguments (seeded random, fixed base time).
Python standard library only.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time

BASE = 1767225600  # 2026-01-01T00:00:00Z: fixed so that runs are reproducible

WORDS = (
    "build deploy test lint package release cache artifact image layer "
    "kernel module driver firmware network storage volume snapshot backup "
    "restore index query shard replica leader follower quorum timeout retry "
    "failure success warning error request review merge branch commit push "
    "fetch clone mirror sync queue worker scheduler lock lease fence token "
    "heartbeat status report metric latency throughput memory disk cpu"
).split()

REPOS = [
    "vnf-framework", "vnf-core", "vnf-cli", "vnf-docs", "infra-ansible",
    "infra-terraform", "coordsync", "jira-tools", "build-scripts", "sdk-python",
]
TARGETS = ["all", "unit", "integration", "lint", "docs", "package", "image", "e2e"]
JOB_STATUS = ["queued"] * 30 + ["running"] * 10 + ["done"] * 50 + ["failed"] * 10
MSG_TYPES = ["info"] * 60 + ["warning"] * 15 + ["error"] * 10 + ["request"] * 15


_DAYS = {}


def iso(t):
    """Epoch seconds -> "YYYY-MM-DDTHH:MM:SSZ" (strftime per call is slow)."""
    day, sec = divmod(int(t), 86400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    return "%sT%02d:%02d:%02dZ" % (date, sec // 3600, sec // 60 % 60, sec % 60)


def uuid4(rnd):
    h = "%032x" % rnd.getrandbits(128)
    # version 4, RFC 4122 variant, like uuid.uuid4() but seeded
    return "%s-%s-4%s-%x%s-%s" % (h[0:8], h[8:12], h[13:16],
                                   8 + (int(h[16], 16) & 3), h[17:20], h[20:32])


def sentence(rnd, lo, hi):
    s = " ".join(rnd.choices(WORDS, k=lo + int(rnd.random() * (hi - lo + 1))))
    return s[0].upper() + s[1:]


def make_jobs(rnd, n, servers, all_queued=False, queued=None):
    rr = rnd.random  # int(rr() * k) is several times faster than choice()
    ns, nst, nr, nt = len(servers), len(JOB_STATUS), len(REPOS), len(TARGETS)
    span = 30 * 86400
    jobs = []
    for i in range(n):
        status = JOB_STATUS[int(rr() * nst)]
        if all_queued:
            status = "queued"
        elif queued is not None:
            status = "queued" if i >= n - queued else "done"
        created = BASE - span + (i * span) // n + int(rr() * 60)
        if status == "queued":
            assigned, started = None, None
        else:
            assigned = servers[int(rr() * ns)]
            started = iso(created + 1 + int(rr() * 3600))
        jobs.append({
            "id": uuid4(rnd),
            "status": status,
            "assigned_to": assigned,
            "priority": 1 + int(rr() * 10),
            "created_at": iso(created),
            "started_at": started,
            # Fields coordsync does not know: they must survive untouched.
            "command": "make " + TARGETS[int(rr() * nt)],
            "repo": "example/" + REPOS[int(rr() * nr)],
        })
    return jobs


def make_messages(rnd, m, servers):
    rr = rnd.random
    ns, nm = len(servers), len(MSG_TYPES)
    span = 30 * 86400
    msgs = []
    for i in range(m):
        msgs.append({
            "id": uuid4(rnd),
            "from": servers[int(rr() * ns)],
            "to": "all" if rr() < 0.3 else servers[int(rr() * ns)],
            "type": MSG_TYPES[int(rr() * nm)],
            "subject": sentence(rnd, 3, 7),
            "body": sentence(rnd, 6, 20) + ".",
            "timestamp": iso(BASE - span + (i * span) // m + int(rr() * 60)),
            "read": rr() < 0.7,
        })
    return msgs


def make_locks(rnd, servers):
    locks = {}
    for name in ("job_assignment", "message_queue", "release", "deploy"):
        # The seed's two locks are never left held: coordsync claims and
        # sends only while no other server holds them, and a grant first
        # seen expired is watched for its lease first (a benchmark's claims
        # would wait for it).  The same random numbers are drawn.
        if rnd.random() < 0.5:
            t = BASE - rnd.randint(0, 3600)
            locks[name] = {"locked_by": rnd.choice(servers), "locked_at": t,
                           "expires_at": t + 30}
            if name in ("job_assignment", "message_queue"):
                locks[name] = {"locked_by": None, "locked_at": None, "expires_at": None}
        else:
            locks[name] = {"locked_by": None, "locked_at": None, "expires_at": None}
    return {"locks": locks}


def write_json(path, obj):
    """Write obj exactly as json.dump(obj, f, indent=2) followed by "\n"."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2))
        f.write("\n")


_FLAT = json.JSONEncoder(separators=(",\n      ", ": ")).encode


def dumps_records(key, recs):
    """json.dumps({key: recs}, indent=2) for a list of flat records, ~2x faster.

    The pure-Python indent encoder is the slow part of generation.  For
    records whose values are all scalars, the C encoder with the separator
    ",\n      " already lays out one record's fields the indent=2 way; the
    same separator then appears between records, as "},\n      {", which
    cannot occur elsewhere (a string never holds a raw newline), so a single
    replace() fixes those.  The caller checks the result on a sample.
    """
    if not recs or not all(type(r) is dict and r for r in recs):
        return json.dumps({key: recs}, indent=2)
    for r in recs:
        for v in r.values():
            if isinstance(v, (dict, list, tuple)):
                return json.dumps({key: recs}, indent=2)
    body = _FLAT(recs)[2:-2].replace("},\n      {", "\n    },\n    {\n      ")
    return ("{\n  " + json.dumps(key) + ": [\n    {\n      " + body
            + "\n    }\n  ]\n}")


def write_records(path, key, recs):
    sample = recs[:200]
    if dumps_records(key, sample) != json.dumps({key: sample}, indent=2):
        raise SystemExit("gen_repo: fast encoder disagrees with json.dumps")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(dumps_records(key, recs))
        f.write("\n")


def git(*args, cwd=None):
    subprocess.run(["git", "-c", "user.name=gen", "-c", "user.email=gen@x",
                    "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false",
                    *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, required=True)
    ap.add_argument("--messages", type=int, required=True)
    ap.add_argument("--servers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", required=True)
    ap.add_argument("--all-queued", action="store_true",
                    help="every job queued and unassigned (claim benchmarks)")
    ap.add_argument("--queued", type=int, metavar="Q",
                    help="the newest Q jobs queued, all the others done")
    a = ap.parse_args()
    if a.jobs < 0 or a.messages < 0 or a.servers < 1:
        ap.error("--jobs/--messages must be >= 0 and --servers >= 1")
    if a.queued is not None and (a.all_queued or a.queued < 0):
        ap.error("--queued must be >= 0 and cannot go with --all-queued")

    out = os.path.abspath(a.out)
    work = os.path.join(out, "work")
    remote = os.path.join(out, "remote.git")
    for d in (work, remote):
        if os.path.exists(d):
            shutil.rmtree(d)

    t0 = time.monotonic()
    rnd = random.Random(a.seed)
    servers = ["build%d" % (i + 1) for i in range(a.servers)]
    coord = os.path.join(work, "coordination")
    write_records(os.path.join(coord, "jobs.json"), "jobs",
                  make_jobs(rnd, a.jobs, servers, a.all_queued, a.queued))
    write_records(os.path.join(coord, "messages.json"), "messages",
                  make_messages(rnd, a.messages, servers))
    write_json(os.path.join(coord, "locks.json"), make_locks(rnd, servers))
    for s in servers:
        write_json(os.path.join(work, s, "status.json"), {
            "status": rnd.choice(["idle", "building", "testing"]),
            "timestamp": iso(BASE - rnd.randint(0, 300)),
            "current_job": None,
            "load": round(rnd.random() * 4, 2),
        })
        write_json(os.path.join(work, s, "heartbeat.json"), {
            "timestamp": iso(BASE - rnd.randint(0, 60)),
            "uptime": rnd.randint(100, 10**6),
        })
    t1 = time.monotonic()

    git("init", "-q", "-b", "main", work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "Generated: %d jobs, %d messages, %d servers"
        % (a.jobs, a.messages, a.servers), cwd=work)
    # The bare remote gets main by a local clone (objects are hard-linked):
    # `git push` to a fresh bare repo recompresses the ~70 MB of blobs twice
    # (pack-objects, then unpack-objects) and takes ~5 s; the result is the
    # same repository.
    git("clone", "-q", "--bare", "--local", work, remote)
    git("remote", "remove", "origin", cwd=remote)
    t2 = time.monotonic()

    sizes = {n: os.path.getsize(os.path.join(coord, n))
             for n in ("jobs.json", "messages.json", "locks.json")}
    print("gen_repo: %s: jobs.json %.1f MB, messages.json %.1f MB; "
          "json %.2f s, git %.2f s" % (out, sizes["jobs.json"] / 1e6,
                                       sizes["messages.json"] / 1e6, t1 - t0, t2 - t1),
          file=sys.stderr)


if __name__ == "__main__":
    main()
