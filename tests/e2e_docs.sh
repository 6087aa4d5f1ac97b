#!/usr/bin/env bash
# Every example in README.md and docs/*.md is run (tests/docs_examples.py):
# each fenced block, in a fresh sandbox per block made from one fleet with a
# known history (below).  The conventions a doc follows so that its blocks
# run, and what each kind of block is checked for, are at the top of
# tests/docs_examples.py and in docs/README.md.  A failure names the file,
# the line of the block and its number ("docs/SCHEMA.md:153: block 12
# (sql) ...").
#
# Then the checker is checked: a copy of a page with a wrong SQL example, a
# wrong "prints:" and an unmarked block must fail, naming each.
. "$TESTS_DIR/lib.sh"
SRC=$(cd "$TESTS_DIR/.." && pwd)

# --- the fleet every block starts from -------------------------------------
# A bare remote whose history the git CLI writes as seed servers build2 and
# build3 would, at fixed times from T0 = 2025-03-01T10:00:00Z, so that the
# history tables have known rows:
#   lock deploy: build1 holds it 10:00-10:02 (released), build2 10:05 with a
#     60 s lease it lets expire, build3 takes it over at 10:15 and releases
#     it at 10:15:30; it is free at the end.
#   jobs: J1 done by build2 (10:01-10:06), J42 done by build3 (10:02-10:12),
#     J3 and J4 queued (priority 5, with a "command" field).
#   messages: one from build2 to build3 (read).
#   build2 and build3 have status.json and heartbeat.json; the last commit is
#     dated now with fresh heartbeats, so `health` finds the fleet healthy.
FLEET="$T/fleet.git"
git init -q --bare -b main "$FLEET"
W="$T/fleet-w"
git clone -q "$FLEET" "$W" 2>/dev/null
T0=1740823200
commit_at() {   # commit_at OFFSET AUTHOR MESSAGE: commit all of $W at T0+OFFSET (or "now")
  local when=$2
  if [ "$1" = now ]; then when=$(date +%s); else when=$((T0 + $1)); fi
  (cd "$W" && git add -A &&
   GIT_AUTHOR_NAME=$2 GIT_COMMITTER_NAME=$2 GIT_AUTHOR_DATE="@$when +0000" GIT_COMMITTER_DATE="@$when +0000" \
     git commit -q -m "$3")
}
fleet_files() {  # fleet_files PYTHON: update the JSON files of $W (d: dict path -> object)
  python3 - "$W" "$T0" "$1" <<'PY'
import json, os, sys, time
W, T0, code = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def iso(off): return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + off))
def load(p):
    try:
        with open(os.path.join(W, p)) as f: return json.load(f)
    except FileNotFoundError: return None
d = {}
for p in ("coordination/jobs.json", "coordination/locks.json", "coordination/messages.json"):
    d[p] = load(p)
exec(code, {"d": d, "iso": iso, "T0": T0, "now": time.time(), "isonow": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
for p, o in d.items():
    if o is None: continue
    os.makedirs(os.path.dirname(os.path.join(W, p)), exist_ok=True)
    with open(os.path.join(W, p), "w") as f:
        json.dump(o, f, indent=2); f.write("\n")
PY
}
job() { echo "{\"id\": \"$1\", \"status\": \"$2\", \"assigned_to\": $3, \"priority\": 5, \"created_at\": iso($4), \"started_at\": $5, \"completed_at\": $6, \"attempts\": $7, \"max_attempts\": 1, \"command\": \"make test\"}"; }
fleet_files "
d['coordination/jobs.json'] = {'jobs': [
  $(job J1 queued None 0 None None 0), $(job J42 queued None 0 None None 0)]}
d['coordination/locks.json'] = {'locks': {'deploy': {'locked_by': 'build1', 'locked_at': T0, 'expires_at': T0 + 300}}}
d['coordination/messages.json'] = {'messages': []}
for s in ('build2', 'build3'):
    d[s + '/status.json'] = {'status': 'idle', 'timestamp': iso(0)}
    d[s + '/heartbeat.json'] = {'timestamp': iso(0)}"
commit_at 0 build1 "build1: acquire deploy; add J1 J42"
fleet_files "
d['coordination/jobs.json']['jobs'][0].update(status='running', assigned_to='build2', started_at=iso(60), attempts=1)"
commit_at 60 build2 "build2: claim J1"
fleet_files "
d['coordination/jobs.json']['jobs'][1].update(status='running', assigned_to='build3', started_at=iso(120), attempts=1)
d['coordination/locks.json']['locks']['deploy'] = {'locked_by': None, 'locked_at': None, 'expires_at': None}"
commit_at 120 build3 "build3: claim J42; build1: release deploy"
fleet_files "
d['coordination/locks.json']['locks']['deploy'] = {'locked_by': 'build2', 'locked_at': T0 + 300, 'expires_at': T0 + 360}
d['coordination/messages.json']['messages'].append({'id': 'M1', 'from': 'build2', 'to': 'build3', 'type': 'info',
  'subject': 'deploying', 'body': 'release 1.3', 'timestamp': iso(300), 'read': True})"
commit_at 300 build2 "build2: acquire deploy; message build3"
fleet_files "
d['coordination/jobs.json']['jobs'][0].update(status='done', completed_at=iso(360), result='ok')
d['coordination/jobs.json']['jobs'].append($(job J3 queued None 360 None None 0))"
commit_at 360 build2 "build2: J1 done; add J3"
fleet_files "
d['coordination/jobs.json']['jobs'][1].update(status='done', completed_at=iso(720), result='ok')
d['coordination/jobs.json']['jobs'].append($(job J4 queued None 720 None None 0))"
commit_at 720 build3 "build3: J42 done; add J4"
fleet_files "
d['coordination/locks.json']['locks']['deploy'] = {'locked_by': 'build3', 'locked_at': T0 + 900, 'expires_at': T0 + 960}"
commit_at 900 build3 "build3: acquire deploy (build2's lease expired)"
fleet_files "
d['coordination/locks.json']['locks']['deploy'] = {'locked_by': None, 'locked_at': None, 'expires_at': None}"
commit_at 930 build3 "build3: release deploy"
fleet_files "
for s in ('build2', 'build3'):
    d[s + '/status.json'] = {'status': 'idle', 'timestamp': isonow}
    d[s + '/heartbeat.json'] = {'timestamp': isonow}"
commit_at now build3 "build2, build3: heartbeat"
git -C "$W" push -q origin main 2>/dev/null
ok "the fleet: $(git --git-dir="$FLEET" rev-list --count main) commits by build1, build2 and build3"

# an alert receiver for the examples that post alerts (https://alerts.example... -> here)
mkdir -p "$T/rx"
python3 "$TESTS_DIR/http_receiver.py" "$T/rx" 300 &
BG_PIDS+=($!)
poll_until 10 test -s "$T/rx/port" || fail "the alert receiver did not start"

# --- every block of README.md and docs/*.md ---------------------------------
# (DOCS_FILES="docs/X.md ..." runs those pages only, paths from the source tree)
if [ -n "${DOCS_FILES:-}" ]; then
  read -ra pages <<<"$DOCS_FILES"; pages=("${pages[@]/#/$SRC/}")
else
  pages=("$SRC/README.md" "$SRC"/docs/*.md)
fi
set +e
python3 "$TESTS_DIR/docs_examples.py" --coordsync "$COORDSYNC" --src "$SRC" --fleet "$FLEET" \
  --tmp "$T" --alert-port "$(cat "$T/rx/port")" "${pages[@]}" >"$T/docs.out" 2>&1
rc=$?
set -e
cat "$T/docs.out"
[ $rc -eq 0 ] || fail "examples in the docs fail (above: FILE:LINE: block N)"
ok "every block of README.md and docs/*.md runs as the docs say"

# --- the checker fails where it should ---------------------------------------
mkdir -p "$T/bad"
cat >"$T/bad/BAD.md" <<'EOF'
# a page with wrong examples

```sql
SELECT no_such_column FROM jobs;
```

```sh
coordsync query "SELECT count(*) FROM jobs" --format csv   # prints: 99
```

```
an output sample nobody marked
```
EOF
set +e
python3 "$TESTS_DIR/docs_examples.py" --coordsync "$COORDSYNC" --src "$SRC" --fleet "$FLEET" \
  --tmp "$T/bad" --alert-port "$(cat "$T/rx/port")" "$T/bad/BAD.md" >"$T/bad.out" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || fail "the checker passed a page with wrong examples: $(cat "$T/bad.out")"
for want in "BAD.md:3: block 1 (sql)" "BAD.md:7: block 2 (sh)" "BAD.md:11: block 3"; do
  grep -qF "$want" "$T/bad.out" || fail "the checker did not name '$want': $(cat "$T/bad.out")"
done
ok "a wrong SQL example, a wrong 'prints:' and an unmarked block fail, each named by file, line and block"

done_testing
