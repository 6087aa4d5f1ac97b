#!/usr/bin/env python3
"""A simulated fleet of coordsync servers on one remote, for bench/scale.sh.

    fleet.py run --coordsync BIN --clones DIR --servers N --rate R
                 --duration SEC --mode MODE --out FILE [--timeout SEC]
    fleet.py analyse --remote GITDIR --cycles FILE --base COMMIT --servers N

run: N servers (clones DIR/c1..cN, ids build1..buildN), each with its own
thread, run one cycle every T = N / R seconds, so that the fleet as a whole
makes R cycles a second: the load of R * 60 servers cycling once a minute,
time-compressed.  Server i (0-based) is due at t0 + (i / N + k) * T for
k = 0, 1, ... while that is within SEC seconds: the fleet is spread evenly
over the period, as gen_heartbeats.py spreads it.  A server runs its cycles
one after another, as a systemd timer starts its service: a cycle that
overruns its next due time makes that one start at once ("late"), and any
further due times it overran are dropped ("skipped"); no cycle starts after
SEC seconds.  A cycle is the MODE's commands, in order, one process each,
each stopped after --timeout seconds (60):

    hb          coordsync heartbeat                                 1 commit
    defer-hb    coordsync heartbeat --defer; coordsync sync         1 commit
    status-hb   coordsync status set idle; coordsync heartbeat      2 commits
    defer       coordsync status set idle --defer;
                coordsync heartbeat --defer; coordsync sync         1 commit

Writes one JSON line per cycle to FILE (server, due, start, end, exit
status of the first command that failed or 0) and a last line with the
step's totals (t0, end, user+sys CPU seconds of all the cycles' processes).

analyse: reads those lines and the remote, prints one JSON object: commits
on main since COMMIT, refused pushes (commits in the remote's object
database that no ref reaches, whose parent is on main after COMMIT: a push
copies its objects before the compare-and-swap, on a local remote and
through receive-pack alike), each given to the cycle of the same server
(its author) whose commit is the first one on main after the refused
commit's parent; latency (end - due) and service time (end - start)
percentiles, retries per cycle, errors, late cycles, CPU per cycle.  And
checks: the commits on main are as many as the cycles that succeeded
times the commits per cycle, less at most the cycles that may have
written the same second as the server's cycle before (an identical file
makes no commit); every server's heartbeat.json on main is from its last
successful cycle or later ("lost" counts those that are not); with
--coordsync and --clones, every clone's outbox is empty ("stuck" intents).
Python standard library only.
"""
import argparse
import calendar
import json
import os
import resource
import subprocess
import sys
import threading
import time

MODES = {
    "hb": [["heartbeat"]],
    "defer-hb": [["heartbeat", "--defer"], ["sync"]],
    "status-hb": [["status", "set", "idle"], ["heartbeat"]],
    "defer": [["status", "set", "idle", "--defer"], ["heartbeat", "--defer"], ["sync"]],
}
COMMITS_PER_CYCLE = {"hb": 1, "defer-hb": 1, "status-hb": 2, "defer": 1}


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(a):
    n, period = a.servers, a.servers / a.rate
    cmds = MODES[a.mode]
    t0 = time.time() + 0.5
    t_stop = t0 + a.duration
    lock = threading.Lock()
    out = open(a.out, "w")

    skipped = [0] * n

    def server(i):
        clone = os.path.join(a.clones, "c%d" % (i + 1))
        k = 0
        while True:
            due = t0 + (i / n + k) * period
            if due >= t_stop:
                break
            now = time.time()
            if due > now:
                time.sleep(due - now)
            start = time.time()
            rc = 0
            for c in cmds:
                try:
                    p = subprocess.run([a.coordsync, "-C", clone, *c], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, timeout=a.timeout)
                    rc = p.returncode
                    err = p.stderr.decode(errors="replace").strip()
                except subprocess.TimeoutExpired:
                    rc, err = 124, "timed out after %g s" % a.timeout
                if rc:
                    break
            end = time.time()
            # the next due time, or the last one this cycle overran
            k += 1
            while t0 + (i / n + k + 1) * period <= end and t0 + (i / n + k) * period < t_stop:
                k += 1
                skipped[i] += 1
            rec = {"server": "build%d" % (i + 1), "due": due, "start": start, "end": end, "rc": rc}
            if rc:
                rec["error"] = err.splitlines()[-1][:200] if err else ""
            with lock:
                out.write(json.dumps(rec) + "\n")

    cpu0 = cpu_children()
    threads = [threading.Thread(target=server, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.write(json.dumps({"t0": t0, "stop": t_stop, "end": time.time(),
                          "cpu": cpu_children() - cpu0, "mode": a.mode, "rate": a.rate,
                          "skipped": sum(skipped),
                          "servers": n, "period": period}) + "\n")
    out.close()
    return 0


def git(remote, *args, inp=None):
    return subprocess.run(["git", "--git-dir", remote, *args], input=inp, capture_output=True,
                          text=True, check=True).stdout


def pct(v, q):
    """Nearest-rank percentile of a sorted list."""
    if not v:
        return None
    return v[max(0, min(len(v) - 1, -(-len(v) * q // 100) - 1))]


def analyse(a):
    cycles, tot = [], None
    for line in open(a.cycles):
        r = json.loads(line)
        if "t0" in r:
            tot = r
        else:
            cycles.append(r)
    remote = a.remote
    chain = git(remote, "rev-list", "--reverse", "--first-parent", "%s..main" % a.base).split()
    pos = {c: k + 1 for k, c in enumerate(chain)}
    pos[a.base] = 0
    # successful commits of each server on main since base, by position
    succ = {}
    for line in git(remote, "log", "--format=%H %an", "%s..main" % a.base).splitlines():
        h, author = line.split()
        succ.setdefault(author, []).append(pos[h])
    for v in succ.values():
        v.sort()
    reach = set(git(remote, "rev-list", "--all").split())
    allc = [l.split()[0] for l in git(remote, "cat-file", "--batch-all-objects",
                                      "--batch-check=%(objectname) %(objecttype)").splitlines()
            if l.endswith(" commit")]
    orphans = [c for c in allc if c not in reach]
    refused = {}              # (server, index of its commit on main) -> refused pushes
    unattributed = 0
    if orphans:
        info = git(remote, "log", "--no-walk=unsorted", "--stdin", "--format=%H %P %an",
                   inp="\n".join(orphans) + "\n").splitlines()
        for line in info:
            f = line.split()
            if len(f) != 3 or f[1] not in pos:
                continue      # a refused push of an earlier step
            parent, author = f[1], f[2]
            mine = succ.get(author, [])
            later = [k for k, p in enumerate(mine) if p > pos[parent]]
            if later:
                refused[(author, later[0])] = refused.get((author, later[0]), 0) + 1
            else:
                unattributed += 1
    # Retries per successful commit, every commit counted (0 when none).
    retries = sorted(refused.get((s, k), 0) for s, v in succ.items() for k in range(len(v)))
    ok = [c for c in cycles if c["rc"] == 0]
    per = {}
    for c in ok:
        per.setdefault(c["server"], []).append(c)
    same_second = 0
    for v in per.values():
        v.sort(key=lambda c: c["start"])
        same_second += sum(1 for p, c in zip(v, v[1:]) if int(c["start"]) <= int(p["end"]))
    # The heartbeat on main must be from the server's last successful cycle
    # or later (times are whole seconds).
    lost = 0
    if per:
        names = sorted(per)
        out = subprocess.run(["git", "--git-dir", remote, "cat-file", "--batch"],
                             input="".join("main:%s/heartbeat.json\n" % n for n in names).encode(),
                             capture_output=True, check=True).stdout
        stamps, k = {}, 0
        for n in names:         # "<id> blob <size>\n<content>\n", or "<name> missing\n"
            eol = out.index(b"\n", k)
            hdr = out[k:eol].split()
            k = eol + 1
            if len(hdr) != 3:
                continue
            body = out[k:k + int(hdr[2])]
            k += int(hdr[2]) + 1
            try:
                ts = json.loads(body)["timestamp"]
                stamps[n] = calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ"))
            except (ValueError, KeyError, TypeError):
                pass
        lost = sum(1 for n in names if stamps.get(n, 0) < int(per[n][-1]["start"]))
    stuck = None
    if a.clones and a.coordsync:
        stuck = 0
        for i in range(1, a.servers + 1):
            # deferred intents wait in outbox.db; `info` counts them
            r = subprocess.run([a.coordsync, "-C", os.path.join(a.clones, "c%d" % i), "--json",
                                "info"], capture_output=True, text=True)
            try:
                v = json.loads(r.stdout)
                stuck += int(v["outbox"]) + int(v["outbox_set_aside"]) if r.returncode == 0 else 1
            except (ValueError, KeyError, TypeError):
                stuck += 1
    lat = sorted(c["end"] - c["due"] for c in ok)
    svc = sorted(c["end"] - c["start"] for c in ok)
    late = sum(1 for c in cycles if c["start"] - c["due"] > 0.5)
    errs = [c for c in cycles if c["rc"] != 0]
    # the step's length, or longer when its last cycles ran past it
    wall = max([tot["stop"] - tot["t0"]] + [c["end"] - tot["t0"] for c in cycles])
    res = {
        "mode": tot["mode"], "rate": tot["rate"], "servers": tot["servers"],
        "period": tot["period"], "duration": tot["stop"] - tot["t0"], "wall": wall,
        "cycles": len(cycles), "ok": len(ok), "errors": len(errs), "late": late,
        "skipped": tot["skipped"], "offered": len(cycles) + tot["skipped"],
        "first_error": errs[0].get("error", "") if errs else "",
        "commits": len(chain), "commits_expected": len(ok) * COMMITS_PER_CYCLE[tot["mode"]],
        "same_second": same_second * COMMITS_PER_CYCLE[tot["mode"]], "lost": lost,
        "stuck": stuck,
        "commit_rate": len(chain) / wall if wall else 0,
        "cycle_rate": len(ok) / wall if wall else 0,
        "lat_p50": pct(lat, 50), "lat_p99": pct(lat, 99), "lat_max": lat[-1] if lat else None,
        "svc_p50": pct(svc, 50), "svc_p99": pct(svc, 99),
        "retries_p50": pct(retries, 50), "retries_p99": pct(retries, 99),
        "retries_max": retries[-1] if retries else None,
        "retries_mean": sum(retries) / len(retries) if retries else None,
        "refused": sum(refused.values()) + unattributed, "unattributed": unattributed,
        "cpu_ms_per_cycle": tot["cpu"] * 1000 / len(cycles) if cycles else None,
    }
    print(json.dumps(res))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--coordsync", required=True)
    r.add_argument("--clones", required=True)
    r.add_argument("--servers", type=int, required=True)
    r.add_argument("--rate", type=float, required=True, help="cycles per second, whole fleet")
    r.add_argument("--duration", type=float, required=True)
    r.add_argument("--mode", choices=sorted(MODES), default="hb")
    r.add_argument("--out", required=True)
    r.add_argument("--timeout", type=float, default=60)
    s = sub.add_parser("analyse")
    s.add_argument("--remote", required=True)
    s.add_argument("--cycles", required=True)
    s.add_argument("--base", required=True)
    s.add_argument("--servers", type=int, required=True)
    s.add_argument("--coordsync", help="with --clones: count the clones' outbox rows")
    s.add_argument("--clones")
    a = ap.parse_args()
    if a.cmd == "run":
        if a.servers < 1 or a.rate <= 0 or a.duration <= 0 or a.timeout <= 0:
            ap.error("--servers, --rate, --duration and --timeout must be positive")
        return run(a)
    return analyse(a)


if __name__ == "__main__":
    sys.exit(main())
