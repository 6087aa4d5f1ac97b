#!/usr/bin/env python3
"""Model-based random test of coordsync (issue 13).  Python stdlib only.

Three coordsync clones (build1..build3) share one local bare remote; a
writer (the git CLI) plays a hostile peer.  A seeded random sequence of
steps runs every command with valid and invalid arguments (colliding
--set keys, extreme numbers, unicode, control characters, reserved and
unknown server ids, --defer) and pushes hostile files now and then.  After
every step it checks:

  crash     no coordsync process died by a signal, hung (timeout), or
            printed a sanitizer report (ASan/UBSan/LSan, glibc heap abort);
  exit      the exit status is one of 0, 1, 2, 3;
  import    a fresh clone (`coordsync init`) of the remote imports every
            file, unless the file at the head is the writer's hostile one
            (the writer then restores it with a fix-up commit);
  rebuild   the acting clone's mirror equals a rebuild of a copy of it
            (jobs, locks, messages, servers), when it has the remote head;
  model     a reference model of jobs, locks and messages (what exists,
            who holds what, which jobs are done) agrees with the remote.

Expected-behaviour checks are loose where fixes may differ: the model
changes only when a command exits 0, and a refusal may be 1, 2 or 3.

    model_test.py --coordsync BIN [--seed N] [--steps N] [--minutes M]

--minutes M runs seeds N, N+1, ... until M minutes have passed (the soak).
A failure prints the seed and step: rerun with --seed N --steps STEP.
Exit status: 0 all checks held, 1 a check failed, 2 usage.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from proclib import (Failure, add_run_args, catch_signals, git, run_env, run_start,
                     san_marker)

SERVERS = ["build1", "build2", "build3"]
RESERVED = ["coordination", "all", "docs"]
LOCKDELAY = 5
# commands that write as --server ID: a reserved id must not get exit 0
WRITES_AS_SERVER = {"job add", "job claim", "job done", "job fail", "job cancel", "job rescue",
                    "lock acquire", "lock release", "lock renew", "lock cleanup", "msg send",
                    "msg read", "msg archive", "status set", "heartbeat", "run", "logs push"}
CMD_TIMEOUT = 60


# ---- values: valid, extreme and hostile ------------------------------------------

NUMBERS = ["0", "1", "5", "-1", "007", "1.0", "2147483648", "9007199254740992",
           "9007199254740993", "9223372036854775807", "9223372036854775808",
           "18446744073709551616", "1e400", "-1e400", "abc", "", " 5", "0x10",
           "99999999999999999999999999"]
TEXTS = ["plain", "héllo wörld ✓ 日本語", "tab\there", "line1\nline2 FORGED run line",
         "esc \x1b[31mred\x1b[0m", "bell\x07", "x" * 5000, "", "quote \" and \\ back",
         "emoji 🎉", "del\x7f", "nul-ish \x01\x02"]
SET_KEYS = ["status", "assigned_to", "attempts", "fence", "started_at", "created_at",
            "priority", "max_attempts", "run_after", "note", "k", "timestamp", "id"]
SET_VALUES = ["idle", "1", "1.0", "9007199254740993", "18446744073709551616", "1e400",
              "null", "true", "[1,2]", "{\"a\":1}", "\"quoted\"", "", "build9", "héllo",
              "a\nb", "-5", "2026-01-01T00:00:00Z", "0"]


def pick_server_id(rng):
    r = rng.random()
    if r < 0.6:
        return rng.choice(SERVERS)
    if r < 0.75:
        return "all"
    if r < 0.85:
        return rng.choice(["build9", "ghost", "Build1"])
    return rng.choice(RESERVED + ["", "a/b", "..", "x\ny", "sérveur"])


class Harness:
    def __init__(self, binary, seed, steps, root, verbose, skip_checks=()):
        self.skip_checks = set(skip_checks)
        self.skipped = set()
        self.bin = binary
        self.seed = seed
        self.steps = steps
        self.root = root
        self.verbose = verbose
        self.rng = random.Random(seed)
        self.remote = os.path.join(root, "remote.git")
        self.clones = {s: os.path.join(root, s) for s in SERVERS}
        self.writer = os.path.join(root, "writer")
        self.step = 0
        self.desc = ""
        self.counter = 0
        self.has_archive = False
        # the reference model (the remote's state as it should be)
        self.jobs = {}       # id -> {"status", "assigned_to", "loose"}
        self.locks = {}      # name -> {"holder", "fence", "expires"}
        self.fences = {}     # name -> highest fence seen
        self.msgs = set()    # ids that must be on the remote
        self.pending = {}    # id -> clone: deferred, not yet pushed
        self.optional = set()  # deferred to an unknown id: may arrive or be set aside
        self.hostile = None  # (path, blob, previous text or None, table)
        self.resync = set()  # tables the model adopts from the remote next check
        self.fresh_cache = None  # ((remote head, hostile), (tables, skip)) of the last fresh clone
        self.env = run_env(root)

    # ---- processes ---------------------------------------------------------------

    def run(self, args, timeout=CMD_TIMEOUT, check_exit=True):
        """Run coordsync with ARGS; check crash and exit status; (rc, out, err)."""
        cmd = ["timeout", "-k", "5", str(timeout), self.bin] + args
        try:
            p = subprocess.run(cmd, capture_output=True, env=self.env, timeout=timeout + 20)
        except subprocess.TimeoutExpired:
            raise Failure(f"crash: coordsync {shell(args)} did not end")
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        rc = p.returncode
        if rc < 0 or rc >= 128:
            raise Failure(f"crash: coordsync {shell(args)} died by signal "
                          f"{-rc if rc < 0 else rc - 128}; stderr: {err[-2000:]}")
        if rc == 124:
            raise Failure(f"crash: coordsync {shell(args)} hung for {timeout} s")
        m = san_marker(err)
        if m:
            raise Failure(f"crash: coordsync {shell(args)} reported '{m}': {err[-3000:]}")
        if check_exit and rc not in (0, 1, 2, 3):
            raise Failure(f"exit: coordsync {shell(args)} exited {rc}: {err[-1000:]}")
        return rc, out, err

    def cs(self, clone, args, **kw):
        return self.run(["-C", self.clones[clone]] + args, **kw)

    def git(self, *args, cwd=None, check=True):
        return git(args, self.env, cwd=cwd or self.writer, check=check, what="setup: git")

    def query(self, clone_dir, sql):
        """Rows of SQL in CLONE_DIR's mirror, read directly with SQLite (a
        process per query would be most of the run time)."""
        db = os.path.join(clone_dir, ".git", "coordsync", "mirror.db")
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
            con.row_factory = sqlite3.Row
            rows = [dict(r) for r in con.execute(sql)]
            con.close()
        except sqlite3.Error as e:
            raise Failure(f"query: cannot read the mirror {db}: {e}")
        return rows

    # ---- set-up ------------------------------------------------------------------

    def setup(self):
        self.git("init", "-q", "--bare", "-b", "main", self.remote, cwd=self.root)
        for s in SERVERS:
            rc, out, err = self.run(["--server", s, "init", self.remote, self.clones[s]])
            if rc != 0:
                raise Failure(f"setup: init {s}: {err}")
        for s in SERVERS:   # every clone is a known server from the start
            rc, out, err = self.cs(s, ["heartbeat"])
            if rc != 0:
                raise Failure(f"setup: heartbeat of {s}: {err}")
        self.git("clone", "-q", self.remote, self.writer, cwd=self.root)
        rc, _, _ = self.cs("build1", ["msg", "archive", "--help"])
        self.has_archive = rc == 0
        self.logfile = os.path.join(self.root, "upload.log")
        with open(self.logfile, "w") as f:
            f.write("a log line\n")
        os.makedirs(os.path.join(self.root, "a"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "b"), exist_ok=True)
        for d in ("a", "b"):
            with open(os.path.join(self.root, d, "x.log"), "w") as f:
                f.write(f"from {d}\n")

    # ---- the random steps --------------------------------------------------------

    def new_id(self, prefix):
        self.counter += 1
        return f"{prefix}{self.seed}-{self.counter}"

    def some_job(self):
        rng = self.rng
        if self.jobs and rng.random() < 0.8:
            return rng.choice(sorted(self.jobs))
        return rng.choice(["nope", "", "j\x01", "ü" * 3, "x" * 300])

    def some_lock(self):
        return self.rng.choice(["L1", "L1", "L2", "deploy", "lång", "", "x" * 200, "a/b", "l\nx"])

    def some_msg(self):
        if self.msgs and self.rng.random() < 0.8:
            return self.rng.choice(sorted(self.msgs))
        return self.rng.choice(["nope", "", "m\x1b"])

    def set_args(self, n_max=3):
        args = []
        keys = []
        for _ in range(self.rng.randint(0, n_max)):
            k = self.rng.choice(SET_KEYS + keys) if keys and self.rng.random() < 0.4 \
                else self.rng.choice(SET_KEYS)
            keys.append(k)
            args += ["--set", f"{k}={self.rng.choice(SET_VALUES)}"]
        if self.rng.random() < 0.05:
            args += ["--set", "novalue"]
        return args

    def number(self, valid):
        return str(valid) if self.rng.random() < 0.7 else self.rng.choice(NUMBERS)

    def gen(self):
        """One random step: (kind, clone, args, info) or ("writer", ...)."""
        rng = self.rng
        c = rng.choice(SERVERS)
        info = {}
        kinds = ["job add"] * 6 + ["job claim"] * 5 + ["job done"] * 4 + ["job fail"] * 4 + \
                ["msg send"] * 5 + ["status set"] * 5 + \
                ["job cancel", "job rescue", "job list", "lock acquire", "lock acquire",
                 "lock acquire", "lock release", "lock release", "lock renew", "lock list",
                 "lock cleanup", "msg inbox", "msg read", "heartbeat", "heartbeat", "sync",
                 "sync", "run", "rebuild", "query", "health", "config", "logs push",
                 "writer", "writer", "writer"]
        if self.has_archive:
            kinds.append("msg archive")
        kind = rng.choice(kinds)
        if self.hostile and rng.random() < 0.4:
            kind = "fixup"
        a = []
        if kind == "job add":
            a = ["job", "add"]
            if rng.random() < 0.8:
                jid = self.new_id("j") if rng.random() < 0.85 else rng.choice(
                    ["", "jö\u00e9", "j\x01x", "dup"] + sorted(self.jobs)[:3])
                a += ["--id", jid]
                info["id"] = jid
            if rng.random() < 0.5:
                a += ["--priority", self.number(rng.randint(0, 9))]
            if rng.random() < 0.35:
                a += self.set_args()
        elif kind == "job claim":
            a = ["job", "claim"]
        elif kind in ("job done", "job fail", "job cancel"):
            jid = self.some_job()
            a = kind.split() + [jid]
            info["id"] = jid
            if kind == "job done" and rng.random() < 0.5:
                a += ["--result", rng.choice(TEXTS)]
            if kind == "job fail" and rng.random() < 0.5:
                a += ["--error", rng.choice(TEXTS)]
        elif kind == "job rescue":
            a = ["job", "rescue"] + (["--older-than", self.number(600)] if rng.random() < 0.6 else [])
        elif kind == "job list":
            a = ["job", "list"] + (["--status", rng.choice(["queued", "running", "done", "bogus", ""])]
                                   if rng.random() < 0.5 else [])
        elif kind in ("lock acquire", "lock renew"):
            name = self.some_lock()
            a = kind.split() + [name]
            info["name"] = name
            if rng.random() < 0.7:
                a += ["--ttl", self.number(rng.choice([1, 2, 30, 300]))]
        elif kind == "lock release":
            name = self.some_lock()
            a = ["lock", "release", name]
            info["name"] = name
        elif kind in ("lock list", "lock cleanup"):
            a = kind.split()
        elif kind == "msg send":
            to = pick_server_id(rng)
            a = ["msg", "send", to]
            info["to"] = to
            if rng.random() < 0.95:
                a += ["--subject", rng.choice(TEXTS) + f" #{self.new_id('s')}"]
            if rng.random() < 0.5:
                a += ["--body", rng.choice(TEXTS)]
            if rng.random() < 0.3:
                a += ["--type", rng.choice(["info", "warning", "error", "request", "bogus"])]
            if rng.random() < 0.4:
                a += ["--defer"]
                info["defer"] = True
        elif kind == "msg inbox":
            a = ["msg", "inbox"] + (["--all"] if rng.random() < 0.5 else [])
        elif kind in ("msg read", "msg archive"):
            a = kind.split() + [self.some_msg()]
        elif kind == "status set":
            a = ["status", "set", rng.choice(["idle", "building", "busy", "", "st\x1b[2J", "ü"])]
            if rng.random() < 0.6:
                a += self.set_args()
            if rng.random() < 0.3:     # the key the command sets itself
                a += ["--set", f"status={rng.choice(SET_VALUES)}"]
            if rng.random() < 0.4:
                a += ["--defer"]
        elif kind == "heartbeat":
            a = ["heartbeat"] + (["--defer"] if rng.random() < 0.4 else [])
        elif kind == "sync":
            a = ["sync"]
        elif kind == "run":
            a = ["run", "--wait", "5"] + (["--health"] if rng.random() < 0.3 else [])
        elif kind == "rebuild":
            a = ["rebuild"]
        elif kind == "query":
            a = ["query", rng.choice(["select count(*) from jobs", "select * from messages",
                                      "delete from jobs", "select", "select 1; select 2",
                                      "select * from nosuch", "pragma writable_schema=1"])]
        elif kind == "health":
            a = ["health"] + rng.choice([[], ["--max-age", self.number(300)], ["--bogus"],
                                         ["--ignore", pick_server_id(rng)], ["--max-age"]])
        elif kind == "config":
            a = ["config"]
        elif kind == "logs push":
            a = ["logs", "push"] + rng.choice([[self.logfile],
                                                [os.path.join(self.root, "a", "x.log"),
                                                 os.path.join(self.root, "b", "x.log")],
                                                [os.path.join(self.root, "missing.log")],
                                                [self.logfile, "--keep", self.number(3)]])
        # global options now and then: --json, another or a reserved server id
        if a and rng.random() < 0.15:
            a = ["--json"] + a
        if a and rng.random() < 0.08:
            sid = rng.choice(RESERVED + ["build9", "", "a/b"])
            a = ["--server", sid] + a
            info["server"] = sid
        return kind, c, a, info

    # ---- the writer: hostile files and fix-ups ----------------------------------------

    def writer_pull(self):
        self.git("fetch", "-q", "origin")
        self.git("reset", "-q", "--hard", "origin/main")

    def writer_push(self, path, text, message):
        full = os.path.join(self.writer, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        self.git("push", "-q", "origin", "HEAD:main")
        return self.git("rev-parse", f"HEAD:{path}").strip()

    def writer_step(self):
        rng = self.rng
        self.writer_pull()
        table, path = rng.choice([("jobs", "coordination/jobs.json"),
                                  ("locks", "coordination/locks.json"),
                                  ("messages", "coordination/messages.json"),
                                  ("servers", f"{rng.choice(SERVERS)}/heartbeat.json"),
                                  ("servers", f"{rng.choice(SERVERS)}/status.json")])
        full = os.path.join(self.writer, path)
        prev = open(full, "rb").read() if os.path.exists(full) else None
        if rng.random() < 0.35 and table == "jobs" and prev is not None:
            return self.writer_valid_job(path, prev)
        if rng.random() < 0.3 and table == "messages" and prev is not None:
            return self.writer_valid_msg(path, prev)
        key = {"jobs": "jobs", "locks": "locks", "messages": "messages"}.get(table)
        variants = [b"{ broken", b"", b"\x00\x01\x02", b"[1, 2, 3]\n", b"null\n",
                    b'{"a": 1, "a": 2}\n', b"\xff\xfe not utf-8\n"]
        if key == "jobs":
            variants += [b'{"jobs": {}}\n',
                         b'{"jobs": [{"id": "h1", "status": "queued", "priority": "high"}]}\n',
                         b'{"jobs": [{"id": "h1", "status": "queued"}, {"id": "h1", "status": "queued"}]}\n',
                         b'{"jobs": [{"id": "h1", "status": "queued", "priority": 1e400}]}\n',
                         b'{"jobs": [{"id": "h1", "status": "queued", "fence": 18446744073709551616}]}\n',
                         b'{"jobs": [{"id": "h\x01", "status": "queued"}]}\n',
                         b'{"jobs": [], "jobs": []}\n']
        elif key == "locks":
            variants += [b'{"locks": []}\n',
                         b'{"locks": {"L1": {"locked_by": 7, "expires_at": "soon"}}}\n',
                         b'{"locks": {"L1": {"locked_by": "build9", "locked_at": 1, "expires_at": 1e400, "fence": 1}}}\n',
                         b'{"locks": {"L1": {"fence": 1}, "L1": {"fence": 2}}}\n']
        elif key == "messages":
            variants += [b'{"messages": {}}\n',
                         b'{"messages": [{"id": "h1"}, {"id": "h1"}]}\n',
                         b'{"messages": [{"id": "h1", "from": "x", "to": "build1", "timestamp": 1e400}]}\n',
                         b'{"messages": [{"id": 5, "subject": ["x"]}]}\n']
        else:
            variants += [b'{"timestamp": 1e400}\n', b'{"timestamp": "not a time"}\n',
                         b'{"timestamp": 99999999999999999999}\n', b'{"status": 5}\n',
                         b'{"status": "idle", "status": "busy"}\n']
        text = rng.choice(variants)
        blob = self.writer_push(path, text, f"writer: hostile {path}")
        self.hostile = (path, blob, prev, table)
        self.desc += f" -> hostile {path} = {text[:60]!r}"

    def writer_valid_job(self, path, prev):
        """A valid but extreme job: a running job of a clone near attempt 64,
        or a fence near 2^53: the clone may fail or finish it."""
        doc = json.loads(prev)
        owner = self.rng.choice(SERVERS)
        jid = self.new_id("w")
        attempts = self.rng.choice([62, 63, 64, 2 ** 53 - 2])
        doc["jobs"].append({"id": jid, "status": "running", "assigned_to": owner,
                            "priority": 5, "created_at": "2026-01-01T00:00:00Z",
                            "started_at": "2026-01-01T00:00:00Z", "attempts": attempts,
                            # valid: the schema's counters end at 2^53-1 (seed 110
                            # wrote 2^53+3, which the importer rightly refuses)
                            "max_attempts": min(attempts + self.rng.choice([0, 5]), 2 ** 53 - 1),
                            "fence": self.rng.choice([attempts, 2 ** 53 - 2])})
        self.writer_push(path, json.dumps(doc, indent=2) + "\n", f"writer: job {jid}")
        self.jobs[jid] = {"status": "running", "assigned_to": owner, "loose": False}
        self.desc += f" -> valid job {jid} (attempts {attempts}) for {owner}"

    def writer_valid_msg(self, path, prev):
        """A valid message whose subject carries control characters."""
        doc = json.loads(prev)
        mid = self.new_id("wm")
        doc["messages"].append({"id": mid, "from": "writer", "to": self.rng.choice(SERVERS),
                                "type": "info", "subject": "evil\n2026 run: forged\x1b]0;t\x07",
                                "body": "\u202e\x7fx", "timestamp": "2026-01-01T00:00:00Z",
                                "read": False})
        self.writer_push(path, json.dumps(doc, indent=2) + "\n", f"writer: message {mid}")
        self.msgs.add(mid)
        self.desc += f" -> valid message {mid} with control characters"

    def fixup(self):
        path, blob, prev, table = self.hostile
        self.writer_pull()
        head = self.git("rev-parse", f"HEAD:{path}", check=False).strip()
        if head == blob:
            full = os.path.join(self.writer, path)
            if prev is None:
                os.unlink(full)
                self.git("add", "-A")
                self.git("commit", "-q", "-m", f"writer: fix-up, remove {path}")
                self.git("push", "-q", "origin", "HEAD:main")
            else:
                self.writer_push(path, prev, f"writer: fix-up {path}")
            self.desc += f" (fix-up restores {path})"
        else:
            self.desc += f" ({path} was rewritten since; left)"
        self.resync.add(table)
        self.hostile = None

    # ---- the model -----------------------------------------------------------------

    def apply(self, kind, c, args, info, rc, out):
        """Check a command's answer against the model, then update the model."""
        if "server" in info:
            sid = info["server"]
            if rc == 0 and sid in RESERVED + [""] and kind in WRITES_AS_SERVER:
                self.identity(f"model: reserved server id {sid!r} accepted for {kind}")
            # decisions as another identity leave the model; adopt what happened
            self.resync.update(["jobs", "locks", "messages"])
            if kind == "msg send" and rc == 0 and info.get("defer"):
                # not on the remote yet: the resync must not take it for
                # one that was never sent when it arrives (seed 102)
                mid = printed(out, "id")
                if info["to"] != "all" and info["to"] not in self.known_servers():
                    self.optional.add(mid)
                else:
                    self.pending[mid] = c
            return
        now = time.time()
        if kind == "job add" and rc == 0:
            jid = info.get("id") or printed(out, "id")
            if jid in self.jobs and "id" in info:
                raise Failure(f"model: job add accepted the existing id {jid!r}")
            self.jobs[jid] = {"status": "queued", "assigned_to": None, "loose": False}
            if "--set" in args:
                self.jobs[jid]["loose"] = True
        elif kind == "job claim" and rc == 0:
            jid = printed(out, "id")
            j = self.jobs.get(jid)
            if j is None:
                raise Failure(f"model: job claim by {c} printed {jid!r}, not a known job")
            if j["status"] not in ("queued",) and not j["loose"]:
                raise Failure(f"model: job claim by {c} took {jid!r}, which is {j['status']} "
                              f"(assigned to {j['assigned_to']})")
            j.update(status="running", assigned_to=c)
        elif kind == "job done" and rc == 0:
            j = self.jobs.get(info["id"])
            if j is None or (not j["loose"] and (j["status"] != "running" or j["assigned_to"] != c)):
                raise Failure(f"model: job done {info['id']!r} by {c} accepted; the model has "
                              f"{j}")
            j.update(status="done", loose=False)
        elif kind == "job fail" and rc == 0:
            j = self.jobs.get(info["id"])
            if j is None or (not j["loose"] and (j["status"] != "running" or j["assigned_to"] != c)):
                raise Failure(f"model: job fail {info['id']!r} by {c} accepted; the model has {j}")
            j.update(status="queued|failed", assigned_to=None, loose=True)
        elif kind == "job cancel" and rc == 0:
            j = self.jobs.get(info["id"])
            if j is None or (j["status"] in ("done", "failed") and not j["loose"]):
                raise Failure(f"model: job cancel {info['id']!r} accepted; the model has {j}")
            j.update(status="cancelled", loose=False)
        elif kind in ("job rescue", "run") and rc == 0:   # run rescues too
            for j in self.jobs.values():
                if j["status"] == "running":
                    j["loose"] = True
            self.resync.add("locks")
        elif kind == "lock acquire" and rc == 0:
            name = info["name"]
            try:
                fence = int(printed(out, "fence"))
            except (ValueError, TypeError):
                raise Failure(f"model: lock acquire printed {out!r}, not a fence")
            m = self.locks.get(name)
            if m and m["holder"] and m["holder"] != c and now < m["expires"] + LOCKDELAY - 1:
                raise Failure(f"model: lock {name!r} granted to {c} while {m['holder']} holds it "
                              f"until {m['expires']} (+{LOCKDELAY} s lock-delay), now {now:.0f}")
            top = self.fences.get(name, 0)
            if m and m["holder"] == c:
                if fence < top:
                    raise Failure(f"model: renewal of {name!r} gave fence {fence} < {top}")
            elif fence <= top:
                raise Failure(f"model: lock {name!r} granted to {c} with fence {fence}, "
                              f"not above {top}")
            self.resync.add("locks")
        elif kind == "lock release" and rc == 0:
            m = self.locks.get(info["name"])
            if m and m["holder"] and m["holder"] != c:
                raise Failure(f"model: lock release {info['name']!r} by {c} accepted; "
                              f"the model has {m}")
            self.resync.add("locks")
        elif kind == "lock renew" and rc == 0:
            m = self.locks.get(info["name"])
            if m and m["holder"] and m["holder"] != c:
                raise Failure(f"model: lock renew {info['name']!r} by {c} accepted; "
                              f"the model has {m}")
            self.resync.add("locks")
        elif kind in ("lock cleanup", "run") and rc == 0:
            self.resync.add("locks")
        elif kind == "msg send" and rc == 0:
            to = info["to"]
            known = self.known_servers()
            unknown = to != "all" and to not in known
            if unknown and not info.get("defer"):
                self.identity(f"model: msg send to {to!r}, not a known server ({sorted(known)}), "
                              f"exited 0 without --force")
            mid = printed(out, "id")
            if info.get("defer") and unknown:
                self.optional.add(mid)    # a fix may set it aside at sync
            elif info.get("defer"):
                self.pending[mid] = c
            else:
                self.msgs.add(mid)

    def identity(self, msg):
        self.check_failed("identity", msg)

    def check_failed(self, check, msg):
        """A check failed: --skip-check CHECK lets a run on a binary with
        that defect go on to find the others (the step is then printed)."""
        if check not in self.skip_checks:
            raise Failure(msg)
        if msg not in self.skipped:
            self.skipped.add(msg)
            print(f"# seed {self.seed} step {self.step} (skipped check) {msg}", flush=True)

    def known_servers(self):
        tree = subprocess.run(["git", "--git-dir", self.remote, "ls-tree", "--name-only",
                               "main"], capture_output=True, env=self.env, timeout=30)
        names = set(tree.stdout.decode("utf-8", "replace").split())
        return names - {"coordination", "docs", "README.md"}

    # ---- the checks after each step ----------------------------------------------------

    def tables(self, clone_dir):
        return {
            "jobs": self.query(clone_dir, "SELECT id, status, assigned_to, priority, created_at, "
                               "started_at, completed_at, attempts, max_attempts, run_after, fence, "
                               "result, error, json FROM jobs ORDER BY id"),
            "locks": self.query(clone_dir, "SELECT name, locked_by, locked_at, expires_at, fence, "
                                "json FROM locks ORDER BY name"),
            "messages": self.query(clone_dir, "SELECT id, from_server, to_server, type, subject, "
                                   "body, timestamp, read, read_by, json FROM messages ORDER BY id"),
            "servers": self.query(clone_dir, "SELECT id, status, status_at, heartbeat_at, "
                                  "status_json, heartbeat_json FROM servers ORDER BY id"),
        }

    def check_rebuild(self, c):
        """The acting clone's mirror equals a rebuild of a copy of the clone."""
        d = self.clones[c]
        head = subprocess.run(["git", "--git-dir", self.remote, "rev-parse", "main"],
                              capture_output=True, timeout=30).stdout.decode().strip()
        seen = self.query(d, "SELECT value FROM meta WHERE key='remote_head'")
        if not seen or seen[0]["value"] != head:
            return
        pend = self.query(d, "SELECT count(*) AS n FROM outbox")[0]["n"]
        if pend:
            return   # a deferred intent may be applied to the mirror only at sync
        copy = os.path.join(self.root, "rebuilt")
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(d, copy, symlinks=True)
        before = self.tables(copy)
        rc, _, err = self.run(["-C", copy, "rebuild"])
        if rc != 0 and not self.hostile:
            raise Failure(f"rebuild: rebuild of a copy of {c} exited {rc}: {err.strip()}")
        if rc == 0:
            after = self.tables(copy)
            for t in before:
                if before[t] != after[t]:
                    diff = [r for r in before[t] if r not in after[t]][:3]
                    diff2 = [r for r in after[t] if r not in before[t]][:3]
                    raise Failure(f"rebuild: {c}'s {t} differ from a rebuild: mirror has "
                                  f"{diff}, rebuild has {diff2}")
        shutil.rmtree(copy, ignore_errors=True)

    def check_fresh(self):
        """A fresh clone imports every file; the model agrees with it.  The
        clone is made again only when the remote head moved."""
        head = subprocess.run(["git", "--git-dir", self.remote, "rev-parse", "main"],
                              capture_output=True, timeout=30).stdout.decode().strip()
        if self.fresh_cache and self.fresh_cache[0] == (head, self.hostile):
            if self.fresh_cache[1] is not None:
                self.check_model(*self.fresh_cache[1])
            return
        self.fresh_cache = ((head, self.hostile), None)
        fresh = os.path.join(self.root, "fresh")
        shutil.rmtree(fresh, ignore_errors=True)
        rc, out, err = self.run(["--server", "checker", "init", self.remote, fresh])
        bad = []
        if os.path.isdir(fresh) and rc in (0, 1):
            bad = self.query(fresh, "SELECT path, error, bad_blob FROM files WHERE error IS NOT NULL")
        hostile_path = self.hostile[0] if self.hostile else None
        hostile_blob = self.hostile[1] if self.hostile else None
        others = [b for b in bad if not (b["path"] == hostile_path and b["bad_blob"] == hostile_blob)]
        if others:
            self.check_failed("import", f"import: a fresh clone refuses {others[0]['path']}: "
                              f"{others[0]['error']}")
        if rc != 0 and not self.hostile:
            self.check_failed("import", f"import: init of a fresh clone exited {rc}: "
                              f"{err.strip()[-500:]}")
        if rc != 0 or others:
            return
        skip = {self.hostile[3]} if self.hostile else set()
        t = self.tables(fresh)
        self.fresh_cache = ((head, self.hostile), (t, skip))
        self.check_model(t, skip)
        shutil.rmtree(fresh, ignore_errors=True)

    def check_model(self, t, skip):
        if "jobs" not in skip:
            remote = {r["id"]: r for r in t["jobs"]}
            if "jobs" in self.resync:
                self.jobs = {i: {"status": r["status"], "assigned_to": r["assigned_to"],
                                 "loose": False} for i, r in remote.items()}
                self.resync.discard("jobs")
            if set(remote) != set(self.jobs):
                raise Failure(f"model: jobs on the remote {sorted(set(remote) - set(self.jobs))[:5]} "
                              f"not in the model; model jobs missing "
                              f"{sorted(set(self.jobs) - set(remote))[:5]}")
            for i, j in self.jobs.items():
                r = remote[i]
                if not j["loose"] and j["status"] in ("done", "cancelled", "running", "queued"):
                    if r["status"] != j["status"] or (j["status"] == "running" and
                                                      r["assigned_to"] != j["assigned_to"]):
                        raise Failure(f"model: job {i!r} is {r['status']} ({r['assigned_to']}) "
                                      f"on the remote, the model says {j['status']} "
                                      f"({j['assigned_to']})")
                j.update(status=r["status"], assigned_to=r["assigned_to"], loose=False)
        if "locks" not in skip:
            for r in t["locks"]:
                name, fence = r["name"], r["fence"] or 0
                top = self.fences.get(name, 0)
                if isinstance(fence, int) and fence < top and "locks" not in self.resync:
                    raise Failure(f"model: lock {name!r} fence went down from {top} to {fence}")
                if isinstance(fence, int):
                    self.fences[name] = max(top, fence)
            self.locks = {r["name"]: {"holder": r["locked_by"], "fence": r["fence"],
                                      "expires": r["expires_at"] or 0} for r in t["locks"]}
            self.resync.discard("locks")
        if "messages" not in skip:
            remote = {r["id"] for r in t["messages"]}
            if "messages" in self.resync:
                self.msgs = remote - set(self.pending) - self.optional
                self.resync.discard("messages")
            arrived = {m for m in self.pending if m in remote}
            for m in arrived:
                self.msgs.add(m)
                del self.pending[m]
            if not self.msgs <= remote:
                raise Failure(f"model: messages {sorted(self.msgs - remote)[:5]} are not on the remote")
            if not remote <= self.msgs | self.optional:
                raise Failure(f"model: messages {sorted(remote - self.msgs)[:5]} on the remote were "
                              f"never sent")
        self.resync.discard("servers")

    # ---- the loop ------------------------------------------------------------------------

    def one_step(self):
        kind, c, args, info = self.gen()
        if kind == "fixup":
            self.desc = "writer fix-up"
            self.fixup()
        elif kind == "writer":
            self.desc = "writer"
            if self.hostile:
                self.fixup()
            else:
                self.writer_step()
        else:
            self.desc = f"{c}: coordsync {shell(args)}"
            rc, out, err = self.cs(c, args)
            self.desc += f" -> {rc}"
            if self.verbose:
                print(f"[{self.step}] {self.desc} {out.strip()[:80]!r} {err.strip()[:120]!r}",
                      flush=True)
            self.apply(kind, c, args, info, rc, out)
        if self.verbose and kind in ("writer", "fixup"):
            print(f"[{self.step}] {self.desc}", flush=True)
        self.check_fresh()
        if kind not in ("writer", "fixup"):
            self.check_rebuild(c)

    def finish(self):
        """Fix up, sync every clone: every deferred message must have arrived."""
        self.desc = "final: fix-up and sync of every clone"
        if self.hostile:
            self.fixup()
        for s in SERVERS:
            self.cs(s, ["sync"])
        self.check_fresh()
        lost = []
        for mid, c in sorted(self.pending.items()):
            # an intent set aside with its error (issue 13's outbox) is kept in the
            # clone's mirror, where an operator can list, retry or drop it
            db = os.path.join(self.clones[c], ".git", "coordsync", "mirror.db")
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
            kept = any(mid in line for line in con.iterdump())
            con.close()
            if kept:
                print(f"# seed {self.seed}: deferred message {mid} of {c} did not go out; "
                      f"it is kept in {c}'s mirror (set aside)", flush=True)
            else:
                lost.append(mid)
        if lost:
            raise Failure(f"model: deferred messages {lost[:5]} (exit 0) never arrived after a "
                          f"sync of every clone, and are not kept in their clone's mirror")

    def main(self):
        self.setup()
        for self.step in range(1, self.steps + 1):
            self.one_step()
        self.step = self.steps + 1
        self.finish()


def printed(out, key):
    """What a command printed: the last line, or KEY of its JSON object."""
    lines = out.strip().splitlines()
    if not lines:
        return ""
    try:
        v = json.loads(lines[-1])
    except ValueError:
        return lines[-1]
    if isinstance(v, dict):
        return v.get(key)
    return lines[-1]


def shell(args):
    out = []
    for a in args:
        r = repr(a) if any(ch in a for ch in " \t\n\"'\\$;&|<>*?()[]{}") or not a.isprintable() \
            or a == "" else a
        out.append(r if len(r) < 80 else r[:70] + "...'")
    return " ".join(out)


def run_seed(binary, seed, steps, keep, verbose, skip_checks):
    root = tempfile.mkdtemp(prefix=f"coordsync-model-{seed}.", dir=os.environ.get("TMPDIR", "/tmp"))
    h = Harness(binary, seed, steps, root, verbose, skip_checks)
    t0 = time.time()
    try:
        h.main()
    except Failure as e:
        print(f"FAIL seed {seed} step {h.step}: {e}\n  step: {h.desc}\n  reproduce: "
              f"{sys.argv[0]} --coordsync {binary} --seed {seed} --steps {h.step}"
              f"{''.join(' --skip-check ' + k for k in sorted(skip_checks))}\n"
              f"  kept: {root}", flush=True)
        return False
    print(f"ok seed {seed}: {steps} steps, {len(h.jobs)} jobs, {len(h.msgs)} messages, "
          f"{time.time() - t0:.1f} s", flush=True)
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
    return True


def main():
    catch_signals()
    ap = argparse.ArgumentParser(description="model-based random test of coordsync")
    add_run_args(ap, keep_help="keep the temp directory")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--seeds", type=int, default=1, help="run this many seeds from --seed")
    ap.add_argument("--skip-check", action="append", default=[], choices=["identity", "import"],
                    help="do not fail on this check (identity: reserved and unknown ids; "
                         "import: a fresh clone refuses a file)")
    o = ap.parse_args()
    seed, end = run_start(ap, o)
    n = 0
    while True:
        if not run_seed(o.coordsync, seed + n, o.steps, o.keep, o.verbose, o.skip_check):
            sys.exit(1)
        n += 1
        if (o.minutes and time.time() >= end) or (not o.minutes and n >= o.seeds):
            break
    print(f"{n} seed(s) passed")


if __name__ == "__main__":
    main()
