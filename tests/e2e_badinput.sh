#!/usr/bin/env bash
# Bad input of every kind: files another server broke, invalid server ids,
# ad-hoc SQL that tries to write, unknown options.  coordsync must say what
# is wrong and where, keep the last good state, and never write over a file
# it could not read.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

mkremote r
worktree s2 "$T/r.git"
R="$T/r.git"
S="$T/s2"
C1="$T/c1"
DB="$C1/.git/coordsync/mirror.db"


# put PATH PYTHON-EXPR: write raw bytes (a Python bytes/str expression) as
# file PATH in the git-CLI server's clone.
put() {
  mkdir -p "$(dirname "$S/$1")"
  python3 - "$S/$1" "$2" <<'PY'
import json, sys
v = eval(sys.argv[2])
if isinstance(v, str):
    v = v.encode()
open(sys.argv[1], "wb").write(v)
PY
}

# jobs_text ID...: the seed-style jobs.json with queued jobs ID...
jobs_text() {
  python3 - "$@" <<'PY'
import json, sys
jobs = [{"id": i, "status": "queued", "assigned_to": None, "priority": 1 + n,
         "created_at": "2026-01-02T03:04:05Z"} for n, i in enumerate(sys.argv[1:])]
sys.stdout.write(json.dumps({"jobs": jobs}, indent=2) + "\n")
PY
}

# server_push MSG: the git-CLI server commits everything and pushes (after
# pulling whatever coordsync pushed).
server_push() {
  git -C "$S" add -A
  git -C "$S" commit -qm "$1"
  git -C "$S" push -q origin main
}
server_pull() { git -C "$S" pull -q --ff-only origin main; }

mirror_ids() {
  expect_rc 0 cs -C "$C1" query --format csv "SELECT group_concat(id, ' ') FROM (SELECT id FROM jobs ORDER BY id)"
  echo "$OUT" | tail -n 1
}

# ---- a good start --------------------------------------------------------------------

jobs_text g1 g2 g3 >"$S/coordination.tmp"
mkdir -p "$S/coordination" "$S/build2"
mv "$S/coordination.tmp" "$S/coordination/jobs.json"
pyjson "$S/coordination/locks.json" '{"locks": {}}'
pyjson "$S/coordination/messages.json" '{"messages": [{"id": "m1", "from": "build2", "to": "build1", "type": "info", "subject": "s", "body": "b", "timestamp": 1767323045, "read": false}]}'
pyjson "$S/build2/status.json" '{"server": "build2", "status": "idle", "timestamp": "2026-01-02T03:04:05Z"}'
pyjson "$S/build2/heartbeat.json" '{"server": "build2", "timestamp": 1767323045}'
server_push "good state"
expect_rc 0 cs init "$R" "$C1" --server build1
server_pull   # init's commit of build1's status files
[ "$(mirror_ids)" = "g1 g2 g3" ] || fail "initial import: $(mirror_ids)"
ok "initial good state imported"

# ---- a jobs.json that does not parse -------------------------------------------------

jobs_text g1 g2 g3 g4 | python3 -c '
import sys
l = sys.stdin.read().split("\n")
assert l[6].endswith(","), l[6]
l[6] = l[6][:-1]                 # drop the comma at the end of line 7
sys.stdout.write("\n".join(l))' >"$S/coordination/jobs.json"
pyjson "$S/coordination/messages.json" '{"messages": [{"id": "m1", "from": "build2", "to": "build1", "type": "info", "subject": "s", "body": "b", "timestamp": 1767323045, "read": false}, {"id": "m2", "from": "build2", "to": "all", "type": "info", "subject": "also", "body": "", "timestamp": 1767323046, "read": false}]}'
server_push "broken jobs.json, new message"
want=$(python3 -c '
import json, sys
try:
    json.load(open(sys.argv[1]))
except json.JSONDecodeError as e:
    print("%d:%d" % (e.lineno, e.colno))' "$S/coordination/jobs.json")
bad_blob=$(git -C "$R" rev-parse main:coordination/jobs.json)

run_err cs -C "$C1" sync
[ "$RC" -eq 1 ] || fail "sync of a broken jobs.json exited $RC"
ok "sync exits 1 on a jobs.json that does not parse"
grep -q "coordination/jobs.json:" "$T/err" || fail "stderr does not name the file: $(cat "$T/err")"
got=$(grep -o 'coordination/jobs.json:[0-9]*:[0-9]*' "$T/err" | head -n 1 | cut -d: -f2-)
[ "${got%%:*}" = "${want%%:*}" ] || fail "error at line ${got%%:*}, Python says line ${want%%:*}: $(cat "$T/err")"
ok "stderr names coordination/jobs.json with line:col ($got; Python's json says $want)"
[ "$(mirror_ids)" = "g1 g2 g3" ] || fail "last good jobs lost: $(mirror_ids)"
ok "mirror keeps the last good jobs"
expect_rc 0 cs -C "$C1" query --format csv "SELECT count(*) FROM messages WHERE id='m2'"
[ "$(echo "$OUT" | tail -n 1)" = 1 ] || fail "messages.json from the same push not imported"
ok "messages.json from the same push imported"

head_before=$(git -C "$R" rev-parse main)
run_err cs -C "$C1" job claim
[ "$RC" -ne 0 ] || fail "job claim succeeded over a broken jobs.json"
run_err cs -C "$C1" job add --id g9
[ "$RC" -ne 0 ] || fail "job add succeeded over a broken jobs.json"
[ "$(git -C "$R" rev-parse main:coordination/jobs.json)" = "$bad_blob" ] || fail "jobs.json written over"
[ "$(git -C "$R" rev-parse main)" = "$head_before" ] || fail "something was pushed"
ok "job claim and job add fail and leave the broken jobs.json alone"
expect_rc 0 cs -C "$C1" query --format csv "SELECT count(*) FROM jobs WHERE status != 'queued' OR id = 'g9'"
[ "$(echo "$OUT" | tail -n 1)" = 0 ] || fail "a refused decision left changes in the mirror: $OUT"
ok "refused decisions left no trace in the mirror"

expect_rc 0 cs -C "$C1" lock acquire L1 --ttl 60
[ "$(git -C "$R" rev-parse main:coordination/jobs.json)" = "$bad_blob" ] || fail "lock acquire rewrote jobs.json"
python3 -c 'import json,sys; assert json.load(sys.stdin)["locks"]["L1"]["locked_by"] == "build1"' \
  < <(git -C "$R" show main:coordination/locks.json) || fail "lock not on the remote"
ok "lock acquire (locks.json only) still works"

server_pull
jobs_text g1 g2 g3 g4 >"$S/coordination/jobs.json"
server_push "repair jobs.json"
expect_rc 0 cs -C "$C1" sync
[ "$(mirror_ids)" = "g1 g2 g3 g4" ] || fail "repaired jobs not imported: $(mirror_ids)"
expect_rc 0 cs -C "$C1" query --format csv "SELECT count(*) FROM files WHERE error IS NOT NULL OR bad_blob IS NOT NULL"
[ "$(echo "$OUT" | tail -n 1)" = 0 ] || fail "error not cleared after repair: $OUT"
ok "repair upstream: sync exits 0, mirror has the new jobs, error cleared"

# ---- wrong types and other broken shapes ---------------------------------------------

good='{"id": "%s", "status": "queued", "assigned_to": null, "priority": 1, "created_at": "2026-01-02T03:04:05Z"}'
i=0
while IFS='|' read -r name expr; do
  [ -n "$name" ] || continue
  i=$((i + 1))
  last=$(mirror_ids)
  put coordination/jobs.json "$expr"
  server_push "bad: $name"
  run_err cs -C "$C1" sync
  [ "$RC" -eq 1 ] || fail "$name: sync exited $RC: $(cat "$T/err")"
  grep -q "coordination/jobs.json" "$T/err" || fail "$name: stderr does not name the file: $(cat "$T/err")"
  [ "$(mirror_ids)" = "$last" ] || fail "$name: last good state lost: $(mirror_ids)"
  jobs_text g1 "r$i" >"$S/coordination/jobs.json"
  server_push "repair: $name"
  expect_rc 0 cs -C "$C1" sync
  [ "$(mirror_ids)" = "g1 r$i" ] || fail "$name: repair not imported: $(mirror_ids)"
  ok "$name: sync exits 1 naming the file ($(head -c 120 "$T/err")), keeps last good state, repair recovers"
done <<'CASES'
priority as a string|'{"jobs": [{"id": "a", "status": "queued", "assigned_to": null, "priority": "1", "created_at": "2026-01-02T03:04:05Z"}]}\n'
status as a number|'{"jobs": [{"id": "a", "status": 3, "assigned_to": null, "priority": 1, "created_at": "2026-01-02T03:04:05Z"}]}\n'
a job that is not an object|'{"jobs": [{"id": "a", "status": "queued", "priority": 1}, 5]}\n'
a job that is an array|'{"jobs": [["id", "a"]]}\n'
jobs not an array|'{"jobs": {"a": {"id": "a", "status": "queued"}}}\n'
top level not an object|'[{"id": "a", "status": "queued"}]\n'
missing jobs member|'{"job": [{"id": "a", "status": "queued"}]}\n'
duplicate job ids|'{"jobs": [{"id": "a", "status": "queued", "priority": 1}, {"id": "b"}, {"id": "a", "status": "done"}]}\n'
job without an id|'{"jobs": [{"status": "queued", "priority": 1}]}\n'
job id that is a number|'{"jobs": [{"id": 7, "status": "queued", "priority": 1}]}\n'
trailing garbage|'{"jobs": []}\n}x\n'
a second document|'{"jobs": []}\n{"jobs": []}\n'
NUL byte between tokens|b'{"jobs": [\x00]}\n'
NUL byte in a string|b'{"jobs": [{"id": "a\x00b", "status": "queued"}]}\n'
NUL byte after the document|b'{"jobs": []}\n\x00'
invalid time string|'{"jobs": [{"id": "a", "status": "queued", "priority": 1, "created_at": "yesterday"}]}\n'
time as a boolean|'{"jobs": [{"id": "a", "status": "queued", "priority": 1, "created_at": true}]}\n'
empty file|''
CASES

# ---- errors deep in a large file ------------------------------------------------------
# Above a few thousand records an import parses on a second thread while it
# inserts (import.c): the error must be the one a record-by-record import
# reports, at the first bad record, with the rows before it rolled back; and
# the text of a large file is checked on a second thread beside its scan.

# big_jobs N BAD HOW: a jobs.json of N jobs j0.. whose job BAD is broken HOW;
# prints the line:col of that job's first byte.
big_jobs() {
  python3 - "$S/coordination/jobs.json" "$@" <<'PY'
import json, sys
path, n, bad, how = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
jobs = [{"id": "j%d" % i, "status": "queued", "assigned_to": None, "priority": 1,
         "created_at": "2026-01-02T03:04:05Z"} for i in range(n)]
if how == "string priority":
    jobs[bad]["priority"] = "1"
elif how == "not an object":
    jobs[bad] = 5
elif how == "no id":
    jobs[bad]["id"] = None
text = json.dumps({"jobs": jobs}, indent=2) + "\n"
if how == "duplicate key":
    text = text.replace('"id": "j%d",' % bad, '"id": "j%d", "status": "done",' % bad)
if how.startswith("bad UTF-8"):
    # The text check reports the bad byte, also when the file fails to scan.
    if how.endswith("and a missing comma"):
        text = text.replace('"j%d",' % (bad // 2), '"j%d"' % (bad // 2))
    head, tail = text.split('"id": "j%d"' % bad)
    raw = (head + '"id": "j%d"' % bad).encode() + tail.replace('"queued"', '"qu@ued"', 1).encode()
    at = raw.index(b"@")
    open(path, "wb").write(raw.replace(b"@", b"\xff"))
    print("%d:%d" % (raw.count(b"\n", 0, at) + 1, at - raw.rfind(b"\n", 0, at)))
    sys.exit(0)
open(path, "w").write(text)
if how == "not an object":
    at = text.index("\n    5,") + 5
elif how != "none":
    at = text.rindex("{", 0, text.index('"id": %s' % ("null" if how == "no id" else '"j%d"' % bad)))
if how != "none":
    print("%d:%d" % (text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)))
PY
}

server_pull
while IFS='|' read -r n bad how what; do
  [ -n "$n" ] || continue
  last=$(cs -C "$C1" query --format csv "SELECT count(*) || ' ' || group_concat(id, ' ') FROM (SELECT id FROM jobs ORDER BY id)" | tail -n 1)
  lc=$(big_jobs "$n" "$bad" "$how")
  server_push "big file, $how at job $bad"
  run_err cs -C "$C1" sync
  [ "$RC" -eq 1 ] || fail "$how at job $bad of $n: sync exited $RC: $(cat "$T/err")"
  want="coordination/jobs.json:$lc: ${what//@/$bad}"
  grep -qF "$want" "$T/err" || fail "$how at job $bad of $n: want '$want', got: $(cat "$T/err")"
  now=$(cs -C "$C1" query --format csv "SELECT count(*) || ' ' || group_concat(id, ' ') FROM (SELECT id FROM jobs ORDER BY id)" | tail -n 1)
  [ "$now" = "$last" ] || fail "$how at job $bad of $n: last good state lost"
  ok "$how at job $bad of $n: $want; last good state kept"
  run_err cs -C "$C1" rebuild
  [ "$RC" -eq 1 ] || fail "$how at job $bad of $n: rebuild exited $RC: $(cat "$T/err")"
  grep -qF "$want" "$T/err" || fail "$how at job $bad of $n: rebuild: want '$want', got: $(cat "$T/err")"
  ok "$how at job $bad of $n: rebuild reports the same"
done <<'CASES'
8000|4321|string priority|job 'j@': 'priority' must be an integer or null
8000|0|not an object|a job must be an object
8000|7999|no id|a job needs a string 'id'
8000|2500|duplicate key|a job has the duplicate key 'status'
8000|6000|bad UTF-8|invalid UTF-8
8000|6000|bad UTF-8 and a missing comma|invalid UTF-8
CASES
big_jobs 8000 -1 none >/dev/null
server_push "big file, repaired"
expect_rc 0 cs -C "$C1" sync
expect_rc 0 cs -C "$C1" query --format csv "SELECT count(*), sum(priority) FROM jobs"
[ "$(echo "$OUT" | tail -n 1)" = "8000,8000" ] || fail "big file repaired: $OUT"
expect_rc 0 cs -C "$C1" rebuild
expect_rc 0 cs -C "$C1" query --format csv "SELECT count(*), sum(priority) FROM jobs"
[ "$(echo "$OUT" | tail -n 1)" = "8000,8000" ] || fail "big file rebuilt: $OUT"
ok "the repaired big file imports (sync and rebuild)"
jobs_text g1 g2 >"$S/coordination/jobs.json"
server_push "small again"
expect_rc 0 cs -C "$C1" sync

# ---- a server's status.json --------------------------------------------------------

put build2/status.json "'{\"server\": \"build2\", \"status\": \"idle\",, \"timestamp\": 1}\n'"
pyjson "$S/coordination/messages.json" '{"messages": [{"id": "m3", "from": "build2", "to": "build1", "type": "info", "subject": "s", "body": "b", "timestamp": 1767323045, "read": false}]}'
server_push "broken status.json"
run_err cs -C "$C1" sync
[ "$RC" -eq 1 ] || fail "broken status.json: sync exited $RC"
grep -q "build2/status.json" "$T/err" || fail "stderr does not name build2/status.json: $(cat "$T/err")"
ok "broken build2/status.json: sync exits 1 naming it"
expect_rc 0 cs -C "$C1" query --format csv "SELECT (SELECT group_concat(id) FROM messages), (SELECT status FROM servers WHERE id='build2')"
[ "$(echo "$OUT" | tail -n 1)" = "m3,idle" ] || fail "other files or last good status: $OUT"
ok "other files in the same push imported; build2 keeps its last good status"
pyjson "$S/build2/status.json" '{"server": "build2", "status": "building", "timestamp": "2026-01-02T03:04:05Z", "extra": [1, 2.5]}'
server_push "repair status.json"
expect_rc 0 cs -C "$C1" sync
expect_rc 0 cs -C "$C1" query --format csv "SELECT status FROM servers WHERE id='build2'"
[ "$(echo "$OUT" | tail -n 1)" = building ] || fail "status repair not imported: $OUT"
ok "status.json repaired upstream imports"

# ---- invalid server ids ---------------------------------------------------------------

long64=$(printf 'a%.0s' $(seq 64))
long65=$(printf 'a%.0s' $(seq 65))
head_before=$(git -C "$R" rev-parse main)
n=0
for id in "a/b" ".." ".hidden" "" "$long65" "bad id" 'x$y' "ünï" "a\\b" "."; do
  expect_rc 2 cs init "$R" "$T/bad$n" --server "$id"
  [ ! -e "$T/bad$n/.git/config" ] || ! git -C "$T/bad$n" config coordsync.server >/dev/null 2>&1 ||
    fail "init --server '$id' recorded a server id"
  expect_rc 2 cs -C "$C1" --server "$id" job claim
  n=$((n + 1))
done
[ "$(git -C "$R" rev-parse main)" = "$head_before" ] || fail "an invalid id pushed something"
ok "invalid server ids (a/b, .., .hidden, empty, 65 chars, space, \$, non-ASCII, ...) exit 2 for init and job claim"
expect_rc 0 cs init "$R" "$T/c64" --server "$long64"
[ "$(git -C "$T/c64" config coordsync.server)" = "$long64" ] || fail "64-char id not recorded"
set +e; cs -C "$C1" --server "$long64" job claim >"$T/out" 2>&1; rc=$?; set -e
[ "$rc" -eq 0 ] || fail "job claim as a 64-char server exited $rc: $(cat "$T/out")"
expect_rc 0 cs -C "$C1" query --format csv "SELECT count(*) FROM jobs WHERE assigned_to='$long64'"
[ "$(echo "$OUT" | tail -n 1)" = 1 ] || fail "64-char server's claim not in the mirror: $OUT"
ok "a 64-char server id is accepted by init and job claim"

# ---- ad-hoc queries cannot write -----------------------------------------------------

count() { sqlite3 "$DB" "SELECT count(*) FROM jobs"; }
jobs_before=$(count)
uv_before=$(sqlite3 "$DB" "PRAGMA user_version")
jm_before=$(sqlite3 "$DB" "PRAGMA journal_mode")
db_sum=$(sha256sum "$DB" | cut -d' ' -f1)
while IFS= read -r sql; do
  [ -n "$sql" ] || continue
  sql=${sql//@T@/$T}
  expect_rc 2 cs -C "$C1" query "$sql"
done <<'SQL'
INSERT INTO jobs(id, json, ord) VALUES ('evil', '{}', 99)
UPDATE jobs SET status='done'
DELETE FROM jobs
DROP TABLE jobs
CREATE TABLE evil(a)
CREATE TEMP TABLE evil(a)
CREATE VIEW evil AS SELECT 1
ATTACH DATABASE '@T@/attached.db' AS a
ATTACH '@T@/attached.db' AS a
DETACH main
PRAGMA user_version=5
PRAGMA journal_mode=DELETE
PRAGMA writable_schema=1
PRAGMA main.writable_schema=ON
PRAGMA foreign_keys=ON
PRAGMA query_only=0
SELECT 1; DELETE FROM jobs
SELECT 1; SELECT 2
REPLACE INTO meta VALUES ('x', 1)
WITH x AS (SELECT 1) DELETE FROM jobs
VACUUM
VACUUM INTO '@T@/copy.db'
REINDEX
ANALYZE
BEGIN
SELECT writefile('@T@/written', 'x')
SQL
ok "INSERT, UPDATE, DELETE, DROP, CREATE, ATTACH, PRAGMA writes, VACUUM, two statements ... exit 2"
[ "$(sqlite3 "$DB" "PRAGMA integrity_check")" = ok ] || fail "integrity_check"
[ "$(count)" = "$jobs_before" ] || fail "jobs count changed"
[ "$(sqlite3 "$DB" "PRAGMA user_version")" = "$uv_before" ] || fail "user_version changed"
[ "$(sqlite3 "$DB" "PRAGMA journal_mode")" = "$jm_before" ] || fail "journal_mode changed"
[ ! -e "$T/attached.db" ] && [ ! -e "$T/copy.db" ] && [ ! -e "$T/written" ] || fail "a query created a file"
[ "$(sha256sum "$DB" | cut -d' ' -f1)" = "$db_sum" ] || fail "mirror.db bytes changed"
ok "mirror intact afterwards (integrity_check ok, same jobs count, user_version, journal_mode, bytes; no files made)"

expect_rc 0 cs -C "$C1" query --format csv "SELECT id, priority FROM jobs ORDER BY id"
[ "$(echo "$OUT" | head -n 1)" = "id,priority" ] || fail "csv header: $OUT"
[ "$(echo "$OUT" | wc -l)" -eq $((jobs_before + 1)) ] || fail "csv rows: $OUT"
ok "--format csv has a header row"
expect_rc 0 cs -C "$C1" query --format json "SELECT id, priority, created_at, json FROM jobs ORDER BY id"
python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
assert len(rows) == int(sys.argv[2]) and set(rows[0]) == {"id", "priority", "created_at", "json"}, rows
json.loads(rows[0]["json"])' "$OUT" "$jobs_before" || fail "--format json: $OUT"
ok "--format json parses with python"
expect_rc 0 cs -C "$C1" query --format md "SELECT id, priority FROM jobs ORDER BY id"
grep -Eq '^\|(-+\|)+$' <<<"$OUT" || fail "--format md: $OUT"
ok "--format md has a |---| line"
expect_rc 2 cs -C "$C1" query --format xml "SELECT 1"
ok "--format xml exits 2"

# ---- unknown options and --help ------------------------------------------------------

expect_rc 2 cs --bogus
expect_rc 2 cs -C "$C1" --bogus sync
expect_rc 2 cs -C "$C1" sync --bogus
expect_rc 2 cs -C "$C1" job claim --bogus
expect_rc 2 cs -C "$C1" lock acquire --bogus L
expect_rc 2 cs nosuchcommand
expect_rc 2 cs -C "$C1" job nosuchsub
ok "unknown options and commands exit 2"
expect_rc 0 cs --help
cmds=$(echo "$OUT" | awk -F'  +' '/^commands:/{f=1; next} f && /^  [a-z]/{print $2} f && /^$/{exit}')
[ "$(echo "$cmds" | wc -l)" -ge 20 ] || fail "command list from --help: $cmds"
while read -r -a c; do
  expect_rc 0 cs "${c[@]}" --help
  grep -q "usage:" <<<"$OUT" || fail "'${c[*]} --help' prints no usage"
done <<<"$cmds"
ok "every command's --help exits 0 ($(echo "$cmds" | wc -l) commands)"

# Reading pragmas the authorizer means to allow (last: this is a known bug).
expect_rc 0 cs -C "$C1" query "PRAGMA table_info(jobs)"
grep -q assigned_to <<<"$OUT" || fail "table_info: $OUT"
ok "PRAGMA table_info(jobs) works after the refused queries"
expect_rc 0 cs -C "$C1" query "SELECT name FROM pragma_table_info('jobs')"
ok "pragma_table_info('jobs') works"

done_testing
