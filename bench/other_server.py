#!/usr/bin/env python3
"""Play another server: change coordination/jobs.json on a bare remote with git.

    other_server.py REMOTE change K          job K's priority moves by one
    other_server.py REMOTE append-remove K   job K is removed, a new job is appended

One commit on top of REMOTE's main, made with the git CLI's plumbing inside
the bare repository (hash-object, a temporary index, write-tree,
commit-tree, update-ref with the old id): what a push from another server
leaves there, loose objects and a moved branch, without a second clone.
The file is edited as text, in the seed's json.dump(indent=2) layout, so
every other byte stays the same (what a seed client or coordsync writes
for one change).  K counts records from 0 (taken modulo the number of
jobs).  Prints the new commit id.  Exit status 1 when git fails or the
file is not in the expected layout.  Python standard library only.
"""
import os
import subprocess
import sys
import tempfile
import time
import uuid

PATH = "coordination/jobs.json"
SEP = "\n    },\n    {\n"        # between two records of {"jobs": [...]} at indent=2


def git(remote, *args, inp=None, env=None):
    r = subprocess.run(["git", "--git-dir", remote, *args], input=inp, capture_output=True,
                       env=env, check=False)
    if r.returncode:
        sys.exit("other_server: git %s: %s" % (args[0], r.stderr.decode().strip()))
    return r.stdout


def split_records(text):
    """head, [record bodies], tail of a {"jobs": [...]} file at indent=2."""
    start = text.index("[\n    {\n") + len("[\n    {\n")
    end = text.rindex("\n    }\n  ]")
    return text[:start], text[start:end].split(SEP), text[end:]


def change(text, k):
    head, recs, tail = split_records(text)
    k %= len(recs)
    r = recs[k]
    key = '"priority": '
    i = r.index(key) + len(key)
    j = i
    while r[j].isdigit():
        j += 1
    recs[k] = r[:i] + str(int(r[i:j]) % 10 + 1) + r[j:]
    return head + SEP.join(recs) + tail, "priority of job %d" % k


def append_remove(text, k):
    head, recs, tail = split_records(text)
    k %= len(recs)
    del recs[k]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    recs.append("\n".join("      %s" % f for f in (
        '"id": "%s",' % uuid.uuid4(),
        '"status": "queued",',
        '"assigned_to": null,',
        '"priority": 5,',
        '"created_at": "%s",' % now,
        '"started_at": null,',
        '"command": "make all",',
        '"repo": "example/coordsync"')))
    return head + SEP.join(recs) + tail, "job %d removed, one appended" % k


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        sys.stdout.write(__doc__)
        return 0
    if len(argv) != 4 or argv[2] not in ("change", "append-remove") or not argv[3].isdigit():
        sys.stderr.write(__doc__)
        return 2
    remote, what, k = argv[1], argv[2], int(argv[3])
    old = git(remote, "rev-parse", "refs/heads/main").decode().strip()
    text = git(remote, "cat-file", "blob", "%s:%s" % (old, PATH)).decode("utf-8")
    try:
        text, msg = (change if what == "change" else append_remove)(text, k)
    except (ValueError, IndexError):
        sys.stderr.write("other_server: %s: not in the indent=2 layout\n" % PATH)
        return 1
    blob = git(remote, "hash-object", "-w", "--stdin", inp=text.encode("utf-8")).decode().strip()
    fd, index = tempfile.mkstemp(prefix="other-index.", dir=os.environ.get("TMPDIR"))
    os.close(fd)
    os.unlink(index)
    env = dict(os.environ, GIT_INDEX_FILE=index, GIT_AUTHOR_NAME="other",
               GIT_AUTHOR_EMAIL="other@bench", GIT_COMMITTER_NAME="other",
               GIT_COMMITTER_EMAIL="other@bench")
    try:
        git(remote, "read-tree", old, env=env)
        git(remote, "update-index", "--cacheinfo", "100644,%s,%s" % (blob, PATH), env=env)
        tree = git(remote, "write-tree", env=env).decode().strip()
    finally:
        if os.path.exists(index):
            os.unlink(index)
    new = git(remote, "commit-tree", tree, "-p", old, "-m", "other server: " + msg,
              env=env).decode().strip()
    git(remote, "update-ref", "refs/heads/main", new, old)
    print(new)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
