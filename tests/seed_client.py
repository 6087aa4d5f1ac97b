#!/usr/bin/env python3
"""A coordination client written from the seed protocol's pseudo-code
(/work/shared/seed/communication-methodology.md: acquire_lock, release_lock,
claim_next_job), driving the git CLI in its own clone.  Python stdlib only.

    seed_client.py CLONE_DIR SERVER_ID claim-loop MAX   claim until none is left
                                                        or MAX; print each id
    seed_client.py CLONE_DIR SERVER_ID claim            claim one job; print its id
    seed_client.py CLONE_DIR SERVER_ID acquire NAME [TTL]
    seed_client.py CLONE_DIR SERVER_ID release NAME

Exit status: 0 ok, 1 error, 3 refused (lock held / nothing queued).

Files are written the seed's way: json.dump(obj, f, indent=2) plus "\\n".
Lock times are integer epoch seconds, as the seed's current_timestamp();
a job's started_at is written as "YYYY-MM-DDTHH:MM:SSZ", the form the seed's
health check reads with jq's fromdate.

Two git disciplines (SEED_MODE):

  seed  (the pseudo-code as written) git_pull() is `git pull --rebase`;
        git_commit_and_push() commits and pushes, and a refused push leaves the
        commit in the clone for the next pull to replay as a *textual* rebase.
        claim_next_job ignores whether its claim was pushed and returns the job
        anyway.  What we saw running e2e_seed_interop.sh with SEED_MODE=seed:
          - a seed client printed a job (j15) whose claim push had been
            refused; the remote gave it to coordsync (build1), which had
            claimed it while the seed held job_assignment (coordsync does not
            take that lock).  The seed's later pull --rebase conflicted and
            its claim was dropped, but it had already reported the job;
          - a refused "Lock job_assignment acquired" commit was replayed
            cleanly by every later pull --rebase (coordsync only touched
            jobs.json), so the client read the lock as held by itself, never
            pushed, and stalled for the full 30 s lease.
        Seed against seed only (3-4 faithful clients, 20-30 jobs) we did not
        catch a double claim: two grants of job_assignment edit the same lines
        and their rebase conflicts.  It still relies on that textual accident.

  safe  (the default) the same protocol, decisions and retries, but never a
        text merge: commit, plain `git push`, and on rejection
        `git fetch && git reset --hard origin/BRANCH`, then decide again from
        the fresh state.  A job is reported claimed only once its commit is on
        the remote.  The interop test needs this: every job must be claimed
        exactly once by everyone's account.

SEED_SLEEP_SCALE (default 1) scales the seed's sleeps (random(1, 5) after a
refused push, min(5, timeout/10) while a lock is held) so tests run quickly.
"""
import json
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timezone

CLONE = None
MODE = os.environ.get("SEED_MODE", "safe")
SCALE = float(os.environ.get("SEED_SLEEP_SCALE", "1"))
BRANCH = None
LAST_REASON = None        # why claim_next_job returned None: "lock" or "empty"


def git(*args, check=True):
    r = subprocess.run(["git", "-C", CLONE, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r


def sleep(seconds):
    time.sleep(seconds * SCALE)


def current_timestamp():
    return int(time.time())


def iso_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_json(path):
    with open(os.path.join(CLONE, path)) as f:
        return json.load(f)


def write_json(path, obj):
    full = os.path.join(CLONE, path)
    tmp = full + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, full)


def reset_to_remote():
    git("fetch", "-q", "origin")
    git("reset", "-q", "--hard", f"origin/{BRANCH}")


def git_pull():
    if MODE == "safe":
        reset_to_remote()
        return
    # The seed: pull --rebase, replaying any commit a refused push left
    # behind.  If the replay conflicts there is nothing sensible left to do
    # but drop the local decision and take the remote's state.
    if git("pull", "-q", "--rebase", "origin", BRANCH, check=False).returncode != 0:
        git("rebase", "--abort", check=False)
        reset_to_remote()


def git_commit_and_push(message):
    git("add", "-A", "coordination")
    if git("diff", "--cached", "--quiet", check=False).returncode == 0:
        return True       # nothing to commit
    git("commit", "-q", "-m", message)
    if git("push", "-q", "origin", f"HEAD:{BRANCH}", check=False).returncode == 0:
        return True
    if MODE == "safe":
        reset_to_remote()  # never merge as text: drop the commit, decide again
    return False


# ---- the seed's protocol ------------------------------------------------------

def acquire_lock(lock_name, server_id, timeout_seconds=30):
    max_retries = 5
    for attempt in range(max_retries):
        git_pull()
        locks = read_json("coordination/locks.json")
        if lock_name not in locks["locks"]:
            locks["locks"][lock_name] = {}
        current_lock = locks["locks"][lock_name]
        now = current_timestamp()
        if not current_lock.get("locked_by") or \
           (current_lock.get("expires_at") or 0) < now:
            current_lock["locked_by"] = server_id
            current_lock["locked_at"] = now
            current_lock["expires_at"] = now + timeout_seconds
            write_json("coordination/locks.json", locks)
            if git_commit_and_push(f"Lock {lock_name} acquired by {server_id}"):
                return True
            sleep(random.uniform(1, 5))
            continue
        else:
            sleep(min(5, timeout_seconds / 10))
    return False


def release_lock(lock_name, server_id):
    # The seed releases with one attempt; the safe mode re-decides a few
    # times when the push is refused (the lock would otherwise stay held
    # until it expires).
    tries = 1 if MODE == "seed" else 5
    for _ in range(tries):
        git_pull()
        locks = read_json("coordination/locks.json")
        if locks["locks"].get(lock_name, {}).get("locked_by") != server_id:
            return False
        locks["locks"][lock_name] = {
            "locked_by": None,
            "locked_at": None,
            "expires_at": None,
        }
        write_json("coordination/locks.json", locks)
        if git_commit_and_push(f"Lock {lock_name} released by {server_id}"):
            return True
        sleep(random.uniform(0.1, 0.5))
    return False


def claim_next_job(server_id):
    global LAST_REASON
    LAST_REASON = "lock"
    if not acquire_lock("job_assignment", server_id):
        return None
    try:
        # The seed claims once and returns the job whether or not the push
        # went through; the safe mode re-decides (bounded) until its claim is
        # on the remote, since servers that ignore job_assignment (coordsync)
        # keep moving the branch.
        for _ in range(1 if MODE == "seed" else 20):
            git_pull()
            jobs = read_json("coordination/jobs.json")
            available = [j for j in jobs["jobs"]
                         if j.get("status") == "queued" and j.get("assigned_to") is None]
            if not available:
                LAST_REASON = "empty"
                return None
            available.sort(key=lambda j: (j["priority"], j["created_at"]))
            next_job = available[0]
            next_job["assigned_to"] = server_id
            next_job["status"] = "running"
            next_job["started_at"] = iso_now()
            write_json("coordination/jobs.json", jobs)
            pushed = git_commit_and_push(f'Job {next_job["id"]} claimed by {server_id}')
            if pushed or MODE == "seed":
                LAST_REASON = None
                return next_job
            sleep(random.uniform(0.05, 0.2))
        LAST_REASON = "push"
        return None
    finally:
        release_lock("job_assignment", server_id)


# ---- command line --------------------------------------------------------------

def main(argv):
    global CLONE, BRANCH
    if len(argv) < 4 or MODE not in ("seed", "safe"):
        print(__doc__, file=sys.stderr)
        return 2
    CLONE, server, cmd, args = argv[1], argv[2], argv[3], argv[4:]
    BRANCH = git("rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    random.seed(os.getpid() ^ int(time.time() * 1000))
    if cmd == "acquire" and args:
        ttl = int(args[1]) if len(args) > 1 else 30
        return 0 if acquire_lock(args[0], server, ttl) else 3
    if cmd == "release" and args:
        return 0 if release_lock(args[0], server) else 1
    if cmd == "claim":
        job = claim_next_job(server)
        if job:
            print(job["id"], flush=True)
            return 0
        return 3 if LAST_REASON == "empty" else 1
    if cmd == "claim-loop" and args:
        limit = int(args[0])
        claimed = 0
        # Bounded: a refused lock or push costs an attempt, not a claim.
        for _ in range(4 * limit + 10):
            if claimed >= limit:
                break
            job = claim_next_job(server)
            if job:
                print(job["id"], flush=True)
                claimed += 1
            elif LAST_REASON == "empty":
                break
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
