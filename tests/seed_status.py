#!/usr/bin/env python3
"""The seed's per-server files, written from its pseudo-code
(/work/shared/seed/communication-methodology.md: update_status,
check_server_health, adaptive_heartbeat) on top of seed_client.py's git
and JSON helpers, in that client's clone.  Python stdlib only.

    seed_status.py CLONE_DIR SERVER_ID interval         adaptive_heartbeat: print
                                                        the interval it picks
    seed_status.py CLONE_DIR SERVER_ID healthy          check_server_health:
                                                        exit 0 when recent, 1 not
    seed_status.py CLONE_DIR SERVER_ID update STATUS [KEY=VALUE...]
                                                        update_status with those
                                                        fields (VALUE as JSON if
                                                        it parses)

Like the seed, nothing here guards a read: a missing file or field raises,
and the script exits 1 with the traceback (what a seed server would hit).
"""
import json
import os
import sys
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_client as sc  # noqa: E402


def parse_timestamp(value):
    # The seed writes current_timestamp() (epoch seconds); its health check
    # reads the same field with `date -d`, which takes ISO 8601 as well.
    if isinstance(value, (int, float)):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def has_pending_jobs():
    jobs = sc.read_json("coordination/jobs.json")
    return any(j["status"] == "queued" for j in jobs["jobs"])


# ---- the seed's protocol ------------------------------------------------------

def update_status(server_id, status_data):
    sc.git_pull()
    status_file = f"{server_id}/status.json"
    status_data["timestamp"] = sc.current_timestamp()
    # the seed's "Create repository structure" made each server's directory
    os.makedirs(os.path.join(sc.CLONE, server_id), exist_ok=True)
    sc.write_json(status_file, status_data)
    # git_commit_and_push of the seed: the server's own directory this time
    sc.git("add", "-A", server_id)
    sc.git("commit", "-q", "-m", f'{server_id} status: {status_data["status"]}')
    return sc.git("push", "-q", "origin", f"HEAD:{sc.BRANCH}", check=False).returncode == 0


def check_server_health(server_id, max_age_seconds=300):
    sc.git_pull()
    heartbeat = sc.read_json(f"{server_id}/heartbeat.json")
    last_beat = parse_timestamp(heartbeat["timestamp"])
    age = sc.current_timestamp() - last_beat
    return age < max_age_seconds


def adaptive_heartbeat(server_id):
    status = sc.read_json(f"{server_id}/status.json")
    if status["status"] == "building":
        interval = 30
    elif has_pending_jobs():
        interval = 60
    else:
        interval = 300
    return interval


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    sc.CLONE, server, cmd, args = argv[1], argv[2], argv[3], argv[4:]
    sc.BRANCH = sc.git("rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
    if cmd == "interval":
        sc.git_pull()
        print(adaptive_heartbeat(server))
        return 0
    if cmd == "healthy":
        return 0 if check_server_health(server) else 1
    if cmd == "update" and args:
        data = {"status": args[0]}
        for kv in args[1:]:
            k, v = kv.split("=", 1)
            try:
                data[k] = json.loads(v)
            except ValueError:
                data[k] = v
        return 0 if update_status(server, data) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
