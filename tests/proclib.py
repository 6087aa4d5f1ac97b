"""What tests/history_check.py and tests/model_test.py share about the
processes they run: how a run's stderr is judged, git as a subprocess,
unwinding on a signal, and the options and seed of a run."""
import os
import signal
import subprocess
import time

# A process whose stderr holds one of these crashed, whatever its exit status.
SAN_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
               "UndefinedBehaviorSanitizer", "double free", "free(): invalid",
               "malloc(): ", "corrupted size", "corruption", "stack smashing detected")


class Failure(Exception):
    """A check that did not hold."""


def san_marker(err):
    """The first of SAN_MARKERS in ERR (a process's stderr), or None."""
    for m in SAN_MARKERS:
        if m in err:
            return m
    return None


def run_env(root):
    """The environment of the processes of a run in ROOT: a git identity, no
    system git config, HOME in ROOT, no coordsync daemon."""
    env = dict(os.environ)
    env.update(GIT_AUTHOR_NAME="tester", GIT_AUTHOR_EMAIL="tester@example.invalid",
               GIT_COMMITTER_NAME="tester", GIT_COMMITTER_EMAIL="tester@example.invalid",
               GIT_CONFIG_NOSYSTEM="1", HOME=os.path.join(root, "home"),
               COORDSYNC_NO_DAEMON="1")
    os.makedirs(env["HOME"], exist_ok=True)
    # a sanitizer build: libgit2's known pcre2 leak (tests/lsan.supp) is not ours
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
    if "suppressions=" not in env.get("LSAN_OPTIONS", ""):
        env["LSAN_OPTIONS"] = ":".join(filter(None, [env.get("LSAN_OPTIONS"),
                                                     f"suppressions={supp}"]))
    return env


def git(args, env, cwd=None, check=True, what="git"):
    """Run git ARGS (under timeout 60) and return its stdout; when CHECK, a
    failure raises Failure, its text starting with WHAT."""
    p = subprocess.run(["timeout", "60", "git"] + list(args), cwd=cwd, capture_output=True,
                       env=env)
    if check and p.returncode != 0:
        raise Failure(f"{what} {' '.join(args)}: {p.stderr.decode(errors='replace')}")
    return p.stdout.decode("utf-8", "replace")


def on_signal(signum, _frame):
    """SIGTERM (timeout, ctest) or SIGHUP: unwind, so that the finally
    clauses stop what this run started."""
    raise SystemExit(128 + signum)


def catch_signals():
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)


def add_run_args(ap, keep_help=None):
    """The options of every run: --coordsync, --seed, --minutes, --keep, -v."""
    ap.add_argument("--coordsync", default=os.environ.get("COORDSYNC"))
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--minutes", type=float, default=0, help="soak: new seeds until then")
    ap.add_argument("--keep", action="store_true", help=keep_help)
    ap.add_argument("-v", "--verbose", action="store_true")


def run_start(ap, o):
    """Check the options parsed into O; return the first seed and when a
    soak (--minutes) ends."""
    if not o.coordsync:
        ap.error("--coordsync BIN (or COORDSYNC) is required")
    seed = o.seed if o.seed is not None else int(time.time()) % 100000
    return seed, time.time() + o.minutes * 60
