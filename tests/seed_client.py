#!/usr/bin/env python3
"""A server running the seed's own scripts: the functions of
/work/shared/seed/communication-methodology.md (acquire_lock, release_lock,
claim_next_job, send_message, read_messages, mark_message_read), as written
there, driving the git CLI in its own clone.  Python stdlib only.

    seed_client.py CLONE_DIR SERVER_ID claim             claim_next_job; print the
                                                         job's id
    seed_client.py CLONE_DIR SERVER_ID claim-loop MAX [RUN]
                                                         claim_next_job until the
                                                         queue looks empty or MAX
                                                         jobs, each run for RUN
                                                         seconds; print each id
    seed_client.py CLONE_DIR SERVER_ID acquire NAME [TTL]
    seed_client.py CLONE_DIR SERVER_ID release NAME
    seed_client.py CLONE_DIR SERVER_ID send TO TYPE SUBJECT [BODY]
                                                         send_message; print its id
    seed_client.py CLONE_DIR SERVER_ID send-loop N TO [SECONDS]
                                                         send_message N times
                                                         (subjects SERVER_ID-1...)
                                                         within SECONDS; print
                                                         each sent id
    seed_client.py CLONE_DIR SERVER_ID inbox             read_messages: "ID SUBJECT"

A printed job id is a job this server now runs: claim_next_job returns the
job whether or not its claim was pushed, and the seed runs what it returns.
Exit status: 0 ok, 1 error, 3 refused (lock not had, nothing queued).
`release` exits 0 when the lock is free and this clone is at the remote's
head afterwards (release_lock itself returns nothing), else 1.

Faithful on purpose, faults included:
  - git_commit_and_push() returns whether the push went through, and only
    acquire_lock looks at it.  claim_next_job and send_message report
    success whatever the push did; release_lock pushes once.
  - A refused push leaves its commit in the clone.  git_pull() is the seed's
    `git pull origin main --rebase --autostash`, which replays it onto the
    remote's head as text.
  - A lock held by this very server counts as held (the seed does not look
    at the holder), so a refused grant that the next pull replays cleanly
    makes the client wait for its own lease (30 s) to run out.
  - Times are current_timestamp(): integer epoch seconds, for lock times, a
    job's started_at and a message's timestamp alike.
  - Records are read with [] (a job without assigned_to raises KeyError), and
    expires_at is compared as the seed does (a held lock whose expires_at is
    null raises TypeError).

Where the seed is silent, and what this does:
  - write_json: json.dump(obj, f, indent=2) plus "\\n", through a temporary
    file (the "temp-file pattern as in scripts" of its runbook);
  - git_commit_and_push: `git add` of the coordination files, `git commit`,
    `git push origin BRANCH`;
  - a pull whose rebase conflicts: the seed's "Git Push Conflicts" recipe,
    `git checkout --ours` on each conflicted file (in a rebase, --ours is the
    remote's side), `git add`, `git rebase --continue` (or --skip when
    nothing is left of the local commit); bounded, and aborted after that;
  - log_error writes to stderr.

SEED_SLEEP_SCALE (default 1) scales the seed's sleeps (random(1, 5) after a
refused lock push, min(5, timeout/10) while a lock is held) so that tests
run quickly.  Lease lengths are not scaled.
"""
import json
import os
import random
import subprocess
import sys
import time
import uuid

CLONE = None
BRANCH = None
SCALE = float(os.environ.get("SEED_SLEEP_SCALE", "1"))


def git(*args, check=True):
    r = subprocess.run(["git", "-C", CLONE, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r


def sleep(seconds):
    time.sleep(seconds * SCALE)


def current_timestamp():
    return int(time.time())


def generate_uuid():
    return str(uuid.uuid4())


def log_error(text):
    print(f"seed_client: {text}", file=sys.stderr)


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


def git_pull():
    # git pull origin main --rebase --autostash; on a conflict, ours wins
    # (the seed's recipe, for every conflicted file).
    if git("pull", "-q", "--rebase", "--autostash", "origin", BRANCH,
           check=False).returncode == 0:
        return
    for _ in range(20):
        if not os.path.isdir(os.path.join(CLONE, ".git", "rebase-merge")) and \
           not os.path.isdir(os.path.join(CLONE, ".git", "rebase-apply")):
            return
        conflicted = git("diff", "--name-only", "--diff-filter=U", check=False).stdout.split()
        for path in conflicted:
            git("checkout", "--ours", "--", path, check=False)
            git("add", "--", path, check=False)
        env_continue = ["-c", "core.editor=true", "rebase", "--continue"]
        if git(*env_continue, check=False).returncode != 0:
            git("rebase", "--skip", check=False)
    git("rebase", "--abort", check=False)


def git_commit_and_push(message):
    git("add", "-A", "coordination")
    git("commit", "-q", "-m", message, check=False)
    return git("push", "-q", "origin", BRANCH, check=False).returncode == 0


# ---- the seed's protocol, as written --------------------------------------

def acquire_lock(lock_name, server_id, timeout_seconds=30):
    """
    Acquire a named lock with automatic expiration
    """
    max_retries = 5
    for attempt in range(max_retries):
        # Pull latest state
        git_pull()

        # Read current locks
        locks = read_json('coordination/locks.json')

        # Check if lock is available or expired
        if lock_name not in locks['locks']:
            locks['locks'][lock_name] = {}

        current_lock = locks['locks'][lock_name]
        now = current_timestamp()

        # Lock available if not held or expired
        if not current_lock.get('locked_by') or \
           current_lock.get('expires_at', 0) < now:
            # Attempt to acquire
            current_lock['locked_by'] = server_id
            current_lock['locked_at'] = now
            current_lock['expires_at'] = now + timeout_seconds

            write_json('coordination/locks.json', locks)

            if git_commit_and_push(f'Lock {lock_name} acquired by {server_id}'):
                return True
            else:
                # Push failed, retry
                sleep(random.uniform(1, 5))
                continue
        else:
            # Lock held by another server, wait and retry
            wait_time = min(5, timeout_seconds / 10)
            sleep(wait_time)

    return False


def release_lock(lock_name, server_id):
    """
    Release a lock only if we hold it
    """
    git_pull()
    locks = read_json('coordination/locks.json')

    if locks['locks'].get(lock_name, {}).get('locked_by') == server_id:
        locks['locks'][lock_name] = {
            'locked_by': None,
            'locked_at': None,
            'expires_at': None
        }
        write_json('coordination/locks.json', locks)
        git_commit_and_push(f'Lock {lock_name} released by {server_id}')


def claim_next_job(server_id):
    """
    Atomically claim the next available job
    """
    if not acquire_lock('job_assignment', server_id):
        return None

    try:
        git_pull()
        jobs = read_json('coordination/jobs.json')

        # Find highest priority queued job
        available = [j for j in jobs['jobs']
                     if j['status'] == 'queued' and j['assigned_to'] is None]

        if not available:
            return None

        # Sort by priority (lower number = higher priority), then by created_at
        available.sort(key=lambda j: (j['priority'], j['created_at']))
        next_job = available[0]

        # Claim the job
        next_job['assigned_to'] = server_id
        next_job['status'] = 'running'
        next_job['started_at'] = current_timestamp()

        write_json('coordination/jobs.json', jobs)
        git_commit_and_push(f'Job {next_job["id"]} claimed by {server_id}')

        return next_job
    finally:
        release_lock('job_assignment', server_id)


def send_message(from_server, to_server, msg_type, subject, body):
    """
    Send a message to another server or broadcast
    """
    if not acquire_lock('message_queue', from_server, timeout_seconds=10):
        log_error('Failed to acquire message lock')
        return False

    try:
        git_pull()
        messages = read_json('coordination/messages.json')

        new_message = {
            'id': generate_uuid(),
            'from': from_server,
            'to': to_server,  # or 'all' for broadcast
            'type': msg_type,
            'subject': subject,
            'body': body,
            'timestamp': current_timestamp(),
            'read': False
        }

        messages['messages'].append(new_message)
        write_json('coordination/messages.json', messages)
        git_commit_and_push(f'Message from {from_server} to {to_server}')

        return True
    finally:
        release_lock('message_queue', from_server)


def read_messages(server_id):
    """
    Read messages for this server
    """
    git_pull()
    messages = read_json('coordination/messages.json')

    # Filter for messages to this server or 'all'
    my_messages = [m for m in messages['messages']
                   if (m['to'] == server_id or m['to'] == 'all')
                   and not m['read']]

    return my_messages


def mark_message_read(message_id, server_id):
    """
    Mark a message as read
    """
    git_pull()
    messages = read_json('coordination/messages.json')

    for msg in messages['messages']:
        if msg['id'] == message_id:
            msg['read'] = True
            break

    write_json('coordination/messages.json', messages)
    git_commit_and_push(f'Message {message_id} marked read by {server_id}')


# ---- command line (not the seed's) -----------------------------------------

def last_sent_id(server, subject):
    """The id of the message send_message just wrote (it returns only True),
    read back from the clone: the last one from server with subject."""
    for m in reversed(read_json('coordination/messages.json')['messages']):
        if m.get('from') == server and m.get('subject') == subject:
            return m['id']
    return None


def queued(jobs):
    return [j for j in jobs['jobs'] if j['status'] == 'queued' and j['assigned_to'] is None]


def remote_jobs():
    """The remote's jobs.json, fetched without touching the clone's branch."""
    git("fetch", "-q", "origin", check=False)
    return json.loads(git("show", f"origin/{BRANCH}:coordination/jobs.json").stdout)


def main(argv):
    global CLONE, BRANCH
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    CLONE, server, cmd, args = argv[1], argv[2], argv[3], argv[4:]
    BRANCH = git("rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    random.seed(os.getpid() ^ int(time.time() * 1000))
    if cmd == "acquire" and args:
        ttl = int(args[1]) if len(args) > 1 else 30
        return 0 if acquire_lock(args[0], server, ttl) else 3
    if cmd == "release" and args:
        release_lock(args[0], server)
        held = read_json('coordination/locks.json')['locks'].get(args[0], {}).get('locked_by')
        at_remote = git("rev-parse", "HEAD").stdout == git("rev-parse", f"origin/{BRANCH}").stdout
        return 0 if not held and at_remote else 1
    if cmd == "claim":
        job = claim_next_job(server)
        if job:
            print(job["id"], flush=True)
            return 0
        return 3
    if cmd == "claim-loop" and args:
        # Bounded by attempts and time.
        limit, claimed, deadline = int(args[0]), 0, time.monotonic() + 120
        run = float(args[1]) if len(args) > 1 else 0
        for _ in range(20 * limit + 20):
            if claimed >= limit or time.monotonic() > deadline:
                break
            job = claim_next_job(server)
            if job:
                print(job["id"], flush=True)
                claimed += 1
                time.sleep(run)       # running the job
                continue
            # None: the lock was not had, or nothing was queued.  A worker
            # stops when nothing is queued, here or on the remote (a client
            # waiting out its own refused grant would otherwise idle for
            # its whole lease).
            if not queued(read_json('coordination/jobs.json')) or not queued(remote_jobs()):
                break
        return 0
    if cmd == "send" and len(args) >= 3:
        body = args[3] if len(args) > 3 else ""
        if not send_message(server, args[0], args[1], args[2], body):
            return 3
        print(last_sent_id(server, args[2]), flush=True)
        return 0
    if cmd == "send-loop" and len(args) in (2, 3):
        # A message not sent (the lock not had) is tried again; bounded by
        # attempts and by SECONDS (default 60).
        n, i = int(args[0]), 1
        deadline = time.monotonic() + (float(args[2]) if len(args) > 2 else 60)
        for _ in range(20 * n):
            if i > n or time.monotonic() > deadline:
                break
            subject = f"{server}-{i}"
            if send_message(server, args[1], "info", subject, "from the seed"):
                print(last_sent_id(server, subject), subject, flush=True)
                i += 1
            sleep(2)
        return 0
    if cmd == "inbox":
        for m in read_messages(server):
            print(m['id'], m['subject'])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
