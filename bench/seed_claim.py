#!/usr/bin/env python3
"""The seed's claim_next_job with the git CLI: the reference for bench/claim.sh.

    seed_claim.py CLONE_DIR SERVER_ID      claim one job; print its id

Exit status: 0 claimed, 3 nothing queued, 1 the lock was not obtained or git
failed.

Written from the pseudo-code in the seed's communication-methodology.md
("Lock Acquisition Protocol", "Job Assignment Protocol"), as written: one
claim is three commits, each pushed on its own --

    acquire_lock('job_assignment')   git pull, locks.json, commit, push
    claim_next_job                   git pull, jobs.json, commit, push
    release_lock('job_assignment')   git pull, locks.json, commit, push

git_pull() is `git pull --rebase --autostash origin BRANCH` (the seed's
"Git Push Conflicts" section); git_commit_and_push(msg) is `git commit -a`
plus `git push origin HEAD:BRANCH`, True when the push went through.  Files
are written json.dump(obj, f, indent=2) plus "\\n".  The sleeps are the
seed's (random(1, 5) s after a refused push, min(5, timeout / 10) s while the
lock is held); SEED_SLEEP_SCALE (default 1) scales them.  Nothing is added
to the protocol: as in the seed, the claim push's result is not checked.
Python standard library only.  Times: lock times are integer epoch seconds
(current_timestamp()); a job's started_at is "YYYY-MM-DDTHH:MM:SSZ", the
form the seed's health check reads with jq's fromdate.
"""
import json
import os
import random
import subprocess
import sys
import time

CLONE = BRANCH = SERVER = None
SCALE = float(os.environ.get("SEED_SLEEP_SCALE", "1"))
EMPTY = False


def git(*args):
    """Run git in the clone as SERVER; True when it exited 0."""
    r = subprocess.run(
        ["git", "-C", CLONE, "-c", "user.name=" + SERVER,
         "-c", "user.email=%s@seed" % SERVER, "-c", "commit.gpgsign=false", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode:
        sys.stderr.write("seed_claim: git %s: %s\n" % (args[0], r.stderr.strip()))
    return r.returncode == 0


def git_pull():
    if not git("pull", "-q", "--rebase", "--autostash", "origin", BRANCH):
        raise RuntimeError("git pull failed")


def git_commit_and_push(message):
    if not git("commit", "-q", "-a", "-m", message):
        raise RuntimeError("git commit failed")
    return git("push", "-q", "origin", "HEAD:" + BRANCH)


def read_json(path):
    with open(os.path.join(CLONE, path)) as f:
        return json.load(f)


def write_json(path, obj):
    with open(os.path.join(CLONE, path), "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def current_timestamp():
    return int(time.time())


def sleep(seconds):
    time.sleep(seconds * SCALE)


# ---- the seed's pseudo-code, as written ---------------------------------------

def acquire_lock(lock_name, server_id, timeout_seconds=30):
    max_retries = 5
    for attempt in range(max_retries):
        git_pull()
        locks = read_json("coordination/locks.json")
        if lock_name not in locks["locks"]:
            locks["locks"][lock_name] = {}
        current_lock = locks["locks"][lock_name]
        now = current_timestamp()
        # (expires_at is null in a released lock: treat it as 0)
        if not current_lock.get("locked_by") or \
           (current_lock.get("expires_at") or 0) < now:
            current_lock["locked_by"] = server_id
            current_lock["locked_at"] = now
            current_lock["expires_at"] = now + timeout_seconds
            write_json("coordination/locks.json", locks)
            if git_commit_and_push(f"Lock {lock_name} acquired by {server_id}"):
                return True
            else:
                sleep(random.uniform(1, 5))
                continue
        else:
            wait_time = min(5, timeout_seconds / 10)
            sleep(wait_time)
    return False


def release_lock(lock_name, server_id):
    git_pull()
    locks = read_json("coordination/locks.json")
    if locks["locks"].get(lock_name, {}).get("locked_by") == server_id:
        locks["locks"][lock_name] = {
            "locked_by": None,
            "locked_at": None,
            "expires_at": None,
        }
        write_json("coordination/locks.json", locks)
        git_commit_and_push(f"Lock {lock_name} released by {server_id}")


def claim_next_job(server_id):
    global EMPTY
    if not acquire_lock("job_assignment", server_id):
        return None
    try:
        git_pull()
        jobs = read_json("coordination/jobs.json")
        available = [j for j in jobs["jobs"]
                     if j["status"] == "queued" and j["assigned_to"] is None]
        if not available:
            EMPTY = True
            return None
        available.sort(key=lambda j: (j["priority"], j["created_at"]))
        next_job = available[0]
        next_job["assigned_to"] = server_id
        next_job["status"] = "running"
        next_job["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        write_json("coordination/jobs.json", jobs)
        git_commit_and_push(f'Job {next_job["id"]} claimed by {server_id}')
        return next_job
    finally:
        release_lock("job_assignment", server_id)


def main(argv):
    global CLONE, BRANCH, SERVER
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    CLONE, SERVER = argv[1], argv[2]
    r = subprocess.run(["git", "-C", CLONE, "symbolic-ref", "--short", "HEAD"],
                       capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write("seed_claim: %s: not a git clone\n" % CLONE)
        return 1
    BRANCH = r.stdout.strip()
    try:
        job = claim_next_job(SERVER)
    except RuntimeError as e:
        sys.stderr.write("seed_claim: %s\n" % e)
        return 1
    if job:
        print(job["id"])
        return 0
    return 3 if EMPTY else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
