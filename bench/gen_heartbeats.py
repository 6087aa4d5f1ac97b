#!/usr/bin/env python3
"""Write a `git fast-import` stream of heartbeat commits as coordsync makes them.

    gen_heartbeats.py --servers S --interval SEC --rounds R [--first-round K]
                      [--init | --parent SHA] [--jobs N] [--messages M]

Each heartbeat commit is what `coordsync heartbeat` (or one idle `coordsync
run` cycle, whose only deferred intent is the heartbeat) pushes: its tree
differs from its parent's only in `<server>/heartbeat.json`, which holds
json.dump({"timestamp": "YYYY-MM-DDTHH:MM:SSZ"}, f, indent=2) plus "\\n";
author and committer are `<server> <<server>@coordsync>` at the heartbeat's
time (+0000); the message is "<server> heartbeat" with no newline.  So every
heartbeat adds four objects: the blob, the server's subtree, the root tree
and the commit.

Round k (0-based, counted from the start of the simulated period) has every
server beat once, in server order: server i (0-based) beats at
BASE + k*SEC + (i*SEC)//S, so the fleet is spread evenly over the interval
and the parent chain is the same as S servers beating one after another.

--init first writes the starting state (one commit on refs/heads/main, so
the tree objects have realistic sizes): coordination/jobs.json (N jobs, 200
by default), coordination/messages.json (M messages, 100, all read),
coordination/locks.json (four free locks), and <server>/status.json and
<server>/heartbeat.json for every server, all in the seed's JSON style (the
records come from gen_repo.py, same seed).  Without --init, --parent SHA
names the commit the first heartbeat continues from.

The stream depends only on the arguments.  Python standard library only.
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_repo  # noqa: E402  (make_jobs, make_messages, dumps_records, iso)

BASE = gen_repo.BASE  # 2026-01-01T00:00:00Z


def dump(obj):
    return json.dumps(obj, indent=2) + "\n"


def data(out, text):
    b = text.encode("utf-8")
    out.write(b"data %d\n" % len(b))
    out.write(b)
    out.write(b"\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", type=int, required=True)
    ap.add_argument("--interval", type=int, required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--first-round", type=int, default=0)
    ap.add_argument("--init", action="store_true")
    ap.add_argument("--parent")
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if a.servers < 1 or a.interval < 1 or a.rounds < 0 or (not a.init and not a.parent):
        ap.error("need --servers >= 1, --interval >= 1, --rounds >= 0 and --init or --parent")

    out = sys.stdout.buffer
    servers = ["build%d" % (i + 1) for i in range(a.servers)]
    parent = a.parent
    mark = 0
    if a.init:
        rnd = random.Random(a.seed)
        jobs = gen_repo.make_jobs(rnd, a.jobs, servers)
        msgs = gen_repo.make_messages(rnd, a.messages, servers)
        for m in msgs:
            m["read"] = True      # an idle fleet has read its messages
        files = {
            "coordination/jobs.json": gen_repo.dumps_records("jobs", jobs) + "\n",
            "coordination/messages.json": gen_repo.dumps_records("messages", msgs) + "\n",
            "coordination/locks.json": dump({"locks": {
                n: {"locked_by": None, "locked_at": None, "expires_at": None}
                for n in ("job_assignment", "message_queue", "release", "deploy")}}),
        }
        for s in servers:
            files[s + "/status.json"] = dump({
                "status": "idle", "timestamp": gen_repo.iso(BASE - rnd.randint(60, 600)),
                "current_job": None, "load": round(rnd.random() * 4, 2)})
            files[s + "/heartbeat.json"] = dump({"timestamp": gen_repo.iso(BASE - 60)})
        t = BASE - 3600
        out.write(b"commit refs/heads/main\nmark :1\n")
        out.write(b"author build1 <build1@coordsync> %d +0000\n" % t)
        out.write(b"committer build1 <build1@coordsync> %d +0000\n" % t)
        data(out, "Generated: %d jobs, %d messages, %d servers" % (a.jobs, a.messages, a.servers))
        for path in sorted(files):
            out.write(b"M 100644 inline %s\n" % path.encode())
            data(out, files[path])
        out.write(b"\n")
        mark = 1
        parent = None

    n = len(servers)
    for k in range(a.first_round, a.first_round + a.rounds):
        for i, s in enumerate(servers):
            t = BASE + k * a.interval + (i * a.interval) // n
            mark += 1
            sb = s.encode()
            out.write(b"commit refs/heads/main\nmark :%d\n" % mark)
            out.write(b"author %s <%s@coordsync> %d +0000\n" % (sb, sb, t))
            out.write(b"committer %s <%s@coordsync> %d +0000\n" % (sb, sb, t))
            data(out, "%s heartbeat" % s)
            if parent:
                out.write(b"from %s\n" % parent.encode())
                parent = None
            out.write(b"M 100644 inline %s/heartbeat.json\n" % sb)
            data(out, dump({"timestamp": gen_repo.iso(t)}))
            out.write(b"\n")
    out.write(b"done\n")


if __name__ == "__main__":
    main()
