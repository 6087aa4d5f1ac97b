#!/usr/bin/env python3
"""Jepsen-style history checker for coordsync (issue 14).  Python stdlib only.

Several worker threads run seeded random decisions from three clones
(build1..build3) of one remote served by `git daemon` behind a loopback
TCP proxy: lock acquire/release with 1-3 s leases, job add/claim/done/fail,
msg send --defer (each with a unique subject), sync, run and rebuild.  A
fault thread meanwhile kills coordsync processes with SIGKILL, stalls the
proxy for a few seconds, and steps the clock of a clone (libfaketime, with
the monotonic clocks left alone, as a real step of the wall clock would).
Half way through, if `coordsync accept-history --help` exits 0, the workers
pause, every clone syncs, the remote's branch is rewound (`git update-ref`)
to an older commit, a decision on each clone must be refused, `health`
must say CRITICAL (2), and `coordsync accept-history` accepts the new history.

Then the remote's first-parent history (and the part the rewind dropped)
is walked with the git CLI and checked:

  locks     no two holders overlap: a grant to another server never ended
            (real time, measured here) before the previous holder's lease,
            which starts when its acquire started, had run out, unless a
            release was committed in between;
  fences    strictly increase per lock, across the rewind too;
  jobs      each job is claimed at most once per attempt, and never after
            it was done;
  decisions every lock grant, job add and job claim that exited 0 is in
            a commit (of the history or of the part the rewind dropped);
  intents   every `msg send --defer` that exited 0 arrived exactly once
            (at most once for any send); a message dropped by the rewind
            counts as arrived;
  exits     every command exited 0-3 unless this checker killed it, and no
            sanitizer report.

    history_check.py --coordsync BIN [--seed N] [--seconds S] [--workers W]
                     [--minutes M]  (soak: seeds N, N+1, ... for M minutes)

A failure prints the seed that reproduces the run (the interleaving of
threads is not reproducible; the decisions and faults are drawn from it).
Exit status: 0 all checks held, 1 a check failed, 2 usage.
"""
import argparse
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from proclib import (Failure, add_run_args, catch_signals, git, run_env, run_start,
                     san_marker)

SERVERS = ["build1", "build2", "build3"]
LOCKS = ["L1", "L2"]
CMD_TIMEOUT = 45
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


# ---- a loopback TCP proxy that can stall -------------------------------------------

class Proxy:
    """127.0.0.1:port -> 127.0.0.1:target; while stalled, no byte moves."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stalled = threading.Event()
        self.stop = threading.Event()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.pipe, args=(c,), daemon=True).start()

    def pipe(self, c):
        try:
            u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
        except OSError:
            c.close()
            return
        end = time.time() + 600            # no connection lives longer than this
        try:
            while not self.stop.is_set() and time.time() < end:
                if self.stalled.is_set():
                    time.sleep(0.05)
                    continue
                r, _, _ = select.select([c, u], [], [], 0.1)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (u if s is c else c).sendall(data)
        except OSError:
            pass
        finally:
            c.close()
            u.close()

    def close(self):
        self.stop.set()
        self.sock.close()


# ---- the run -------------------------------------------------------------------------

class Run:
    def __init__(self, binary, seed, seconds, workers, root, verbose, rewind_mode="on"):
        self.rewind_mode = rewind_mode
        self.bin = binary
        self.seed = seed
        self.seconds = seconds
        self.nworkers = workers
        self.root = root
        self.verbose = verbose
        self.rng = random.Random(seed)
        self.remote = os.path.join(root, "remote.git")
        self.clones = {s: os.path.join(root, s) for s in SERVERS}
        self.records = []            # one dict per coordsync command
        self.running = {}            # pid -> Popen
        self.mu = threading.Lock()
        self.offsets = {s: 0 for s in SERVERS}   # clock offset of each clone, seconds
        self.pause = threading.Event()
        self.inflight = 0
        self.stop = threading.Event()
        self.failures = []
        self.notes = []
        self.counter = 0
        self.rewind = None           # (old head, target, t_rewind, t_accepted)
        self.final_errors = {}       # clone -> why its last final sync failed
        self.env = run_env(root)
        self.faketime = os.path.exists(FAKETIME_LIB) and not self.sanitized()
        self.daemon = None
        self.proxy = None

    def sanitized(self):
        """libfaketime and ASan do not mix (see tests/CMakeLists.txt)."""
        p = subprocess.run(["ldd", self.bin], capture_output=True, timeout=30)
        return b"libasan" in p.stdout or b"libubsan" in p.stdout

    def note(self, text):
        self.notes.append(text)
        if self.verbose:
            print("# " + text, flush=True)

    def next_id(self, prefix):
        with self.mu:
            self.counter += 1
            return f"{prefix}{self.seed}-{self.counter}"

    # ---- processes ------------------------------------------------------------------

    def cs(self, clone, args, timeout=CMD_TIMEOUT, record=True, faults=True):
        """Run coordsync on CLONE (None: no -C); return its record."""
        env = dict(self.env)
        off = self.offsets.get(clone, 0) if clone else 0
        if off and self.faketime:
            env.update(LD_PRELOAD=FAKETIME_LIB, FAKETIME=f"{off:+d}s",
                       FAKETIME_DONT_FAKE_MONOTONIC="1")
        cmd = [self.bin] + (["-C", self.clones[clone]] if clone else []) + args
        rec = {"clone": clone, "args": args, "start": time.time(), "offset": off,
               "killed": False, "faults": faults}
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             start_new_session=True)
        with self.mu:
            self.running[p.pid] = (p, rec, faults)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            rec["killed"] = True
            rec["timeout"] = True
            p.kill()
            out, err = p.communicate()
        with self.mu:
            self.running.pop(p.pid, None)
        rec.update(end=time.time(), rc=p.returncode, out=out.decode("utf-8", "replace"),
                   err=err.decode("utf-8", "replace"))
        if record:
            self.records.append(rec)
        self.check_exit(rec)
        if self.verbose:
            print(f"{rec['start'] % 1000:8.2f} {clone} {' '.join(args)[:60]} -> {rec['rc']}"
                  f"{' (killed)' if rec['killed'] else ''} {rec['out'].strip()[:40]!r} "
                  f"{rec['err'].strip()[:100]!r}", flush=True)
        return rec

    def check_exit(self, rec):
        what = f"coordsync {' '.join(rec['args'])} on {rec['clone']}"
        m = san_marker(rec["err"])
        if m:
            self.failures.append(f"crash: {what} reported '{m}': {rec['err'][-2000:]}")
            return
        if rec.get("timeout"):
            self.failures.append(f"hang: {what} did not end in {CMD_TIMEOUT} s "
                                 f"(started {rec['start']:.1f})")
        elif rec["killed"]:
            return
        elif rec["rc"] < 0:
            self.failures.append(f"crash: {what} died by signal {-rec['rc']}: {rec['err'][-500:]}")
        elif rec["rc"] not in (0, 1, 2, 3):
            self.failures.append(f"exit: {what} exited {rec['rc']}: {rec['err'][-500:]}")

    def git(self, *args, check=True):
        return git(args, self.env, check=check)

    # ---- set-up and tear-down --------------------------------------------------------------

    def setup(self):
        self.git("init", "-q", "--bare", "-b", "main", self.remote)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        self.daemon = subprocess.Popen(
            [os.path.join(self.git("--exec-path").strip(), "git-daemon"), "--listen=127.0.0.1",
             f"--port={port}", f"--base-path={self.root}", "--export-all",
             "--enable=receive-pack", "--reuseaddr", self.root],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.root, "daemon.log"), "w"),
            env=self.env, start_new_session=True)
        self.proxy = Proxy(port)
        url = f"git://127.0.0.1:{self.proxy.port}/remote.git"
        for _ in range(100):
            if subprocess.run(["timeout", "10", "git", "ls-remote", url], capture_output=True,
                              env=self.env).returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise Failure("setup: git daemon does not answer")
        for s in SERVERS:
            rec = self.cs(None, ["--server", s, "init", url, self.clones[s]], record=False)
            if rec["rc"] != 0:
                raise Failure(f"setup: init {s}: {rec['err']}")
            rec = self.cs(s, ["heartbeat"], record=False)
            if rec["rc"] != 0:
                raise Failure(f"setup: heartbeat {s}: {rec['err']}")
        rec = self.cs("build1", ["accept-history", "--help"], record=False)
        self.has_accept = rec["rc"] == 0

    def teardown(self):
        self.stop.set()
        with self.mu:
            procs = [p for p, _, _ in self.running.values()]
        for p in procs:
            try:
                p.kill()
            except OSError:
                pass
        if self.proxy:
            self.proxy.close()
        if self.daemon:
            try:
                os.killpg(self.daemon.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.daemon.pid, signal.SIGKILL)
                self.daemon.wait(timeout=10)

    # ---- workers and faults ---------------------------------------------------------------

    def worker(self, n):
        rng = random.Random(self.seed * 1000 + n)
        mine = {s: [] for s in SERVERS}        # jobs each clone claimed
        end = time.time() + self.seconds
        for _ in range(100000):
            if self.stop.is_set() or time.time() >= end:
                return
            if self.pause.is_set():
                time.sleep(0.05)
                continue
            with self.mu:
                self.inflight += 1
            try:
                self.one_op(rng, mine)
            finally:
                with self.mu:
                    self.inflight -= 1

    def one_op(self, rng, mine):
        c = rng.choice(SERVERS)
        op = rng.choices(["acquire", "release", "add", "claim", "done", "fail", "defer", "send",
                          "sync", "rebuild", "run"],
                         weights=[5, 3, 2, 3, 2, 1, 5, 1, 2, 2, 1])[0]
        if op == "acquire":
            self.cs(c, ["lock", "acquire", rng.choice(LOCKS), "--ttl", str(rng.randint(1, 3))])
        elif op == "release":
            self.cs(c, ["lock", "release", rng.choice(LOCKS)])
        elif op == "add":
            self.cs(c, ["job", "add", "--id", self.next_id("h"), "--priority",
                        str(rng.randint(1, 5))])
        elif op == "claim":
            r = self.cs(c, ["job", "claim"])
            if r["rc"] == 0 and r["out"].strip():
                mine[c].append(r["out"].strip().splitlines()[-1])
        elif op in ("done", "fail"):
            if not mine[c]:
                return
            jid = mine[c].pop(rng.randrange(len(mine[c])))
            self.cs(c, ["job", op, jid])
        elif op in ("defer", "send"):
            to = rng.choice(SERVERS + ["all"])
            subject = self.next_id("d" if op == "defer" else "m")
            self.cs(c, ["msg", "send", to, "--subject", subject] +
                    (["--defer"] if op == "defer" else []))
        elif op == "sync":
            self.cs(c, ["sync"])
        elif op == "rebuild":
            self.cs(c, ["rebuild"])
        elif op == "run":
            self.cs(c, ["run", "--wait", "5"])

    def faults(self):
        rng = random.Random(self.seed * 1000 + 999)
        end = time.time() + self.seconds
        for _ in range(100000):
            if self.stop.is_set() or time.time() >= end:
                return
            time.sleep(rng.uniform(0.3, 1.5))
            if self.pause.is_set():
                continue
            f = rng.choices(["kill", "stall", "clock"], weights=[4, 2, 2 if self.faketime else 0])[0]
            if f == "kill":
                with self.mu:
                    cand = [(p, rec) for p, rec, ok in self.running.values() if ok]
                if cand:
                    p, rec = rng.choice(cand)
                    # a random moment: now, or a little later
                    time.sleep(rng.choice([0, 0, 0.01, 0.03, 0.08]))
                    rec["killed"] = True
                    try:
                        p.send_signal(signal.SIGKILL)
                    except OSError:
                        pass
            elif f == "stall":
                d = rng.uniform(0.5, 4)
                self.proxy.stalled.set()
                time.sleep(d)
                self.proxy.stalled.clear()
            else:
                c = rng.choice(SERVERS)
                self.offsets[c] = rng.choice([0, 0, 30, 90, 600, -30, -90])

    def quiesce(self):
        """Pause the workers and wait until no command of theirs runs."""
        self.pause.set()
        for _ in range(1200):
            with self.mu:
                if self.inflight == 0:
                    return
            time.sleep(0.05)
        raise Failure("workers did not pause within 60 s")

    def do_rewind(self):
        self.quiesce()
        try:
            self.proxy.stalled.clear()
            for s in SERVERS:
                self.cs(s, ["sync"], faults=False)
            old = self.git("--git-dir", self.remote, "rev-parse", "main").strip()
            firsts = self.git("--git-dir", self.remote, "rev-list", "--first-parent",
                              "main").split()
            if len(firsts) < 3:
                self.note("rewind skipped: fewer than 3 commits")
                return
            target = firsts[min(len(firsts) - 2, self.rng.randint(2, 8))]
            self.git("--git-dir", self.remote, "update-ref", "refs/heads/main", target, old)
            t_rewind = time.time()
            self.note(f"rewound main from {old[:12]} to {target[:12]} "
                      f"({firsts.index(target)} commits back)")
            for s in SERVERS:
                r = self.cs(s, ["lock", "acquire", f"R{s}", "--ttl", "1"], faults=False)
                if r["rc"] == 0:
                    self.failures.append(f"rewind: {s} decided (lock acquire exited 0) on a "
                                         f"rewound remote before accept-history")
                r = self.cs(s, ["health", "--sync"], faults=False)
                if r["rc"] != 2:
                    self.failures.append(f"rewind: health on {s} exited {r['rc']}, not 2 "
                                         f"(CRITICAL), after the remote was rewound")
            if not self.has_accept:
                self.failures.append("rewind: there is no `coordsync accept-history` to accept "
                                     "the rewound history")
            for s in SERVERS if self.has_accept else []:
                r = self.cs(s, ["accept-history"], faults=False)
                if r["rc"] != 0:
                    self.failures.append(f"rewind: accept-history on {s} exited {r['rc']}: "
                                         f"{r['err'].strip()}")
            self.rewind = (old, target, t_rewind, time.time())
        finally:
            self.pause.clear()

    def main(self):
        self.setup()
        ts = [threading.Thread(target=self.worker, args=(n,), daemon=True)
              for n in range(self.nworkers)]
        ft = threading.Thread(target=self.faults, daemon=True)
        for t in ts:
            t.start()
        ft.start()
        if self.rewind_mode == "on" or (self.rewind_mode == "auto" and self.has_accept):
            time.sleep(self.seconds / 2)
            self.do_rewind()
        else:
            self.note("rewind phase SKIPPED: `coordsync accept-history --help` does not exit 0 "
                      "(--rewind on forces it)")
        for t in ts + [ft]:
            t.join(self.seconds + CMD_TIMEOUT * 2 + 60)
        self.stop.set()
        self.proxy.stalled.clear()
        for s in SERVERS:
            self.offsets[s] = 0
        for _ in range(2):             # the outboxes go out
            for s in SERVERS:
                r = self.cs(s, ["sync"], faults=False)
                if r["rc"] != 0:
                    self.final_errors[s] = f"exit {r['rc']}: {r['err'].strip()[:300]}"
                    self.note(f"final sync of {s} exited {r['rc']}: {r['err'].strip()[:300]}")
                else:
                    self.final_errors.pop(s, None)
        self.check()

    # ---- the history --------------------------------------------------------------------

    def history(self, head, stop=None):
        """[(commit, commit time, {file: parsed JSON or None})] along the
        first-parent chain from the root (or after STOP) to HEAD."""
        rng = f"{stop}..{head}" if stop else head
        lines = self.git("--git-dir", self.remote, "log", "--first-parent", "--reverse",
                         "--format=%H %ct", rng).split("\n")
        commits = [(l.split()[0], int(l.split()[1])) for l in lines if l.strip()]
        files = ["coordination/locks.json", "coordination/jobs.json", "coordination/messages.json"]
        req = "".join(f"{c}:{f}\n" for c, _ in commits for f in files).encode()
        p = subprocess.run(["timeout", "120", "git", "--git-dir", self.remote, "cat-file",
                            "--batch"], input=req, capture_output=True, env=self.env)
        data = p.stdout
        pos = 0
        out = []
        for c, ct in commits:
            states = {}
            for f in files:
                nl = data.index(b"\n", pos)
                header = data[pos:nl].split()
                pos = nl + 1
                if len(header) >= 2 and header[1] == b"missing":
                    states[f] = None
                    continue
                size = int(header[2])
                blob = data[pos:pos + size]
                pos += size + 1
                try:
                    states[f] = json.loads(blob)
                except ValueError as e:
                    self.failures.append(f"history: {f} at {c[:12]} does not parse: {e}")
                    states[f] = None
            out.append((c, ct, states))
        return out

    def check(self):
        head = self.git("--git-dir", self.remote, "rev-parse", "main").strip()
        final = self.history(head)
        lost = []
        if self.rewind:
            old, target, _, _ = self.rewind
            lost = self.history(old, stop=target)
        self.check_locks(final, lost)
        self.check_jobs(final)
        self.check_intents(final, lost)
        self.check_decisions(final + lost)

    def lock_cmds(self):
        """(holder, lock) -> [records of lock acquire]"""
        by = {}
        for r in self.records:
            if r["args"][:2] == ["lock", "acquire"]:
                by.setdefault((r["clone"], r["args"][2]), []).append(r)
        return by

    def check_locks(self, final, lost):
        cmds = self.lock_cmds()
        lost_max = {}
        for c, _, st in lost:
            for name, l in ((st.get("coordination/locks.json") or {}).get("locks") or {}).items():
                if isinstance(l, dict) and isinstance(l.get("fence"), int):
                    lost_max[name] = max(lost_max.get(name, 0), l["fence"])
        names = set()
        for _, _, st in final:
            names |= set(((st.get("coordination/locks.json") or {}).get("locks") or {}).keys())
        for name in sorted(names):
            prev = None            # (holder, fence) of the current grant, None when free
            top = 0
            past_target = False     # after the rewind's target commit
            grants = 0
            for c, ct, st in final:
                l = ((st.get("coordination/locks.json") or {}).get("locks") or {}).get(name)
                holder = l.get("locked_by") if isinstance(l, dict) else None
                fence = l.get("fence") if isinstance(l, dict) else None
                fence = fence if isinstance(fence, int) else 0
                if holder and prev != (holder, fence):
                    grants += 1
                    if fence <= top:
                        self.failures.append(f"fences: lock {name} granted to {holder} with "
                                             f"fence {fence} at {c[:12]}, not above {top}")
                    if past_target and name in lost_max and fence <= lost_max[name]:
                        self.failures.append(f"fences: lock {name} granted to {holder} with "
                                             f"fence {fence} at {c[:12]} after the rewind; the "
                                             f"dropped history had fence {lost_max[name]}")
                    if prev is not None and prev[0] != holder:
                        self.overlap(name, prev, (holder, fence), c, cmds)
                    prev = (holder, fence)
                elif not holder:
                    prev = None
                top = max(top, fence)
                if self.rewind and c == self.rewind[1]:
                    past_target = True
            self.note(f"lock {name}: {grants} grants, top fence {top}")

    def overlap(self, name, prev, new, commit, cmds):
        """A grant of NEW while PREV's holder may still believe it holds."""
        h0, f0 = prev
        h1, f1 = new
        held = [r for r in cmds.get((h0, name), [])
                if r["rc"] == 0 and not r["killed"] and r["out"].strip().split("\n")[-1] == str(f0)]
        if not held:
            return               # its holder never learnt of the grant
        ttl = lambda r: int(r["args"][r["args"].index("--ttl") + 1])
        lease_end = max(r["start"] + ttl(r) for r in held)
        mine = [r for r in cmds.get((h1, name), [])
                if r["rc"] == 0 and not r["killed"] and r["out"].strip().split("\n")[-1] == str(f1)]
        if not mine:
            mine = [r for r in cmds.get((h1, name), []) if r["killed"] or r["rc"] not in (0, 3)]
            if not mine:
                self.note(f"lock {name}: grant of fence {f1} to {h1} at {commit[:12]} "
                          f"has no command")
                return
            granted_by = max(r["end"] for r in mine)
        else:
            granted_by = min(r["end"] for r in mine)
        if granted_by < lease_end:
            offs = sorted({r["offset"] for r in mine})
            self.failures.append(
                f"locks: {name} granted to {h1} (fence {f1}, {commit[:12]}) by {granted_by:.2f}, "
                f"{lease_end - granted_by:.2f} s before the lease of {h0} (fence {f0}, from its "
                f"acquire's start) ran out, with no release in between; {h1}'s clock was "
                f"{'/'.join(f'{o:+d}' for o in offs)} s off")

    def check_jobs(self, final):
        state = {}
        claims = {}
        for c, _, st in final:
            jobs = (st.get("coordination/jobs.json") or {}).get("jobs") or []
            for j in jobs:
                if not isinstance(j, dict):
                    continue
                jid = j.get("id")
                cur = (j.get("status"), j.get("assigned_to"), j.get("attempts"))
                old = state.get(jid)
                if cur[0] == "running" and (old is None or old[0] != "running" or old != cur):
                    key = (jid, cur[2])
                    claims[key] = claims.get(key, 0) + 1
                    if claims[key] > 1:
                        self.failures.append(f"jobs: {jid} claimed twice for attempt {cur[2]} "
                                             f"(now by {cur[1]} at {c[:12]})")
                    if old and old[0] == "done":
                        self.failures.append(f"jobs: {jid} was done and is claimed again by "
                                             f"{cur[1]} at {c[:12]}")
                state[jid] = cur
        self.note(f"jobs: {len(state)} jobs, {len(claims)} claims")

    def check_decisions(self, hist):
        """Every decision that exited 0 is in the history (kept or dropped by
        the rewind): a grant with the fence it printed, an added job, a
        claim of the job it printed by that clone."""
        locks, jobs, running = set(), set(), set()
        for _, _, st in hist:
            for name, l in ((st.get("coordination/locks.json") or {}).get("locks") or {}).items():
                if isinstance(l, dict):
                    locks.add((name, l.get("locked_by"), l.get("fence")))
            for j in (st.get("coordination/jobs.json") or {}).get("jobs") or []:
                if isinstance(j, dict):
                    jobs.add(j.get("id"))
                    if j.get("status") == "running":
                        running.add((j.get("id"), j.get("assigned_to")))
        n = 0
        for r in self.records:
            if r["rc"] != 0 or r["killed"]:
                continue
            a, out = r["args"], r["out"].strip().split("\n")[-1]
            what = None
            if a[:2] == ["lock", "acquire"] and (a[2], r["clone"], int(out or 0)) not in locks:
                what = f"lock {a[2]} granted to {r['clone']} with fence {out}"
            elif a[:2] == ["job", "add"] and a[a.index("--id") + 1] not in jobs:
                what = f"job {a[a.index('--id') + 1]} added"
            elif a[:2] == ["job", "claim"] and (out, r["clone"]) not in running:
                what = f"job {out} claimed by {r['clone']}"
            if what:
                self.failures.append(f"decisions: {what} (exit 0 at {r['end']:.2f}) is in no "
                                     f"commit of the history")
            n += 1
        self.note(f"decisions: {n} commands exited 0, every grant, add and claim among them is in the history")

    def check_intents(self, final, lost):
        def subjects(hist):
            if not hist:
                return {}
            msgs = (hist[-1][2].get("coordination/messages.json") or {}).get("messages") or []
            n = {}
            for m in msgs:
                if isinstance(m, dict):
                    n[m.get("subject")] = n.get(m.get("subject"), 0) + 1
            return n
        now, dropped = subjects(final), subjects(lost)
        ok = lostn = 0
        for r in self.records:
            if r["args"][:2] != ["msg", "send"]:
                continue
            s = r["args"][r["args"].index("--subject") + 1]
            a, b = now.get(s, 0), dropped.get(s, 0)
            if a > 1 or b > 1:
                self.failures.append(f"intents: '{s}' ({' '.join(r['args'][2:])} on {r['clone']}, "
                                     f"exit {r['rc']}) arrived {max(a, b)} times")
            if "--defer" in r["args"] and r["rc"] == 0 and not r["killed"]:
                if a == 0 and b == 0:
                    lostn += 1
                    why = self.final_errors.get(r["clone"])
                    self.failures.append(f"intents: deferred '{s}' from {r['clone']} (exit 0 at "
                                         f"{r['end']:.2f}) never arrived" +
                                         (f"; the clone's final sync failed, {why}" if why else ""))
                else:
                    ok += 1
        self.note(f"intents: {ok} deferred messages arrived, {lostn} lost")


def run_seed(binary, seed, seconds, workers, keep, verbose, rewind_mode):
    root = tempfile.mkdtemp(prefix=f"coordsync-history-{seed}.",
                            dir=os.environ.get("TMPDIR", "/tmp"))
    r = Run(binary, seed, seconds, workers, root, verbose, rewind_mode)
    t0 = time.time()
    try:
        r.main()
    except Failure as e:
        r.failures.append(str(e))
    finally:
        r.teardown()
    for n in r.notes:
        print(f"# {n}")
    killed = sum(1 for x in r.records if x["killed"])
    print(f"# seed {seed}: {len(r.records)} commands ({killed} killed), "
          f"faketime {'on' if r.faketime else 'off (sanitizer build or no libfaketime)'}, "
          f"{time.time() - t0:.1f} s")
    if r.failures:
        for f in r.failures[:20]:
            print(f"FAIL seed {seed}: {f}")
        if len(r.failures) > 20:
            print(f"FAIL seed {seed}: ... and {len(r.failures) - 20} more")
        print(f"  reproduce: {sys.argv[0]} --coordsync {binary} --seed {seed} --seconds {seconds} "
              f"--workers {workers} --rewind {rewind_mode}\n  kept: {root}", flush=True)
        return False
    print(f"ok seed {seed}", flush=True)
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return True


def main():
    catch_signals()
    ap = argparse.ArgumentParser(description="Jepsen-style history checker for coordsync")
    add_run_args(ap)
    ap.add_argument("--seconds", type=float, default=40, help="length of the faulty phase")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rewind", choices=["auto", "on", "off"], default="on",
                    help="the rewind phase: on (default), off, or auto (only when accept-history exists)")
    o = ap.parse_args()
    seed, end = run_start(ap, o)
    n = 0
    ok = True
    while True:
        ok = run_seed(o.coordsync, seed + n, o.seconds, o.workers, o.keep, o.verbose,
                      o.rewind) and ok
        n += 1
        if not ok or not o.minutes or time.time() >= end:
            break
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
