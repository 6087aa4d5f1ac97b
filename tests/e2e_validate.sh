#!/usr/bin/env bash
# coordsync validate: coordination files checked as a sync imports them.
# A good tree passes (0); each kind of problem (syntax, a wrong type, a bad
# time, a duplicate id, bad lock fields, a byte that is not UTF-8) exits 2
# naming it as PATH:LINE:COL; several problems in several files are all
# listed.  Then parity: every file of the hostile corpus and a few good
# ones, pushed by a git-CLI server and synced, is refused by validate
# exactly when the sync refuses it, with the sync's own message.  Last the
# pre-commit hook: a bad `git commit` is blocked, a good one goes through,
# and what is checked is the index, not the working tree.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

HOSTILE="$TESTS_DIR/resources/hostile"
mkremote r
R="$T/r.git"
cs init "$R" "$T/c1" --server build1 >/dev/null
C1="$T/c1"
worktree s "$R"
S="$T/s"

# lines: how many lines $OUT has that match grep -E $1
lines() { grep -cE -- "$1" <<<"$OUT" || true; }

# ---- a good tree ---------------------------------------------------------------------

mkdir -p "$S/build2"
pyjson "$S/build2/status.json" '{"server": "build2", "status": "idle", "timestamp": "2026-01-02T03:04:05Z"}'
pyjson "$S/build2/heartbeat.json" '{"server": "build2", "timestamp": 1767323045}'
pyjson "$S/coordination/jobs.json" '{"jobs": [{"id": "j1", "status": "queued", "priority": 2, "created_at": "2026-01-02T03:04:05+01:00"}, {"id": "j2", "status": "done", "priority": null, "x": {"free": ["form"]}}]}'
pyjson "$S/coordination/locks.json" '{"locks": {"deploy": {"locked_by": "build2", "expires_at": 1767323045, "fence": 3}}}'
# 7: the three shared files, build2's two, and the two init wrote for this clone's server
expect_rc 0 cs -C "$S" validate
has "7 coordination files checked: no problems"
expect_rc 0 cs -C "$S" --json validate
python3 -c 'import json,sys; d = json.loads(sys.argv[1]); assert d == {"problems": [], "files": 7, "ok": True}, d' "$OUT"
git -C "$S" add -A && git -C "$S" commit -qm "good" && git -C "$S" push -q origin main
expect_rc 0 cs -C "$C1" sync
ok "a good tree passes (0), and a sync imports it"

# Outside any repository, files given: no clone, no mirror needed.
L="$T/loose"
mkdir -p "$L/coordination" "$L/build2" "$T/nowhere"
cp "$S/coordination/"*.json "$L/coordination/"
cp "$S/build2/"*.json "$L/build2/"
( cd "$T/nowhere" && expect_rc 0 cs validate "$L/coordination/jobs.json" "$L/coordination/locks.json" \
    "$L/coordination/messages.json" "$L/build2/status.json" "$L/build2/heartbeat.json" ) ||
  fail "files outside a clone"
( cd "$T/nowhere" && expect_rc 1 cs validate && grep -q "name the files to check" <<<"$OUT" ) ||
  fail "no files and no repository must say to name the files"
[ ! -e "$L/.git" ] && [ ! -e "$T/nowhere/.git" ] || fail "validate created a repository"
# A relative path names its kind from the current directory too.
( cd "$L/coordination" && expect_rc 0 cs validate jobs.json ./locks.json ../build2/status.json \
    ../coordination/../build2/heartbeat.json ) || fail "relative paths"
( cd "$T/nowhere" && expect_rc 2 cs validate "$L/coordination/jobs.json" "$L/coordination/gone.json" "$L/build2/nothere.json" \
    "$L/coordination/../build2/heartbeat.json" "$L/build9/status.json" &&
  grep -qF "$L/coordination/gone.json:1:1: not a coordination file" <<<"$OUT" &&
  grep -qF "$L/build2/nothere.json:1:1: not a coordination file" <<<"$OUT" &&
  grep -qF "$L/build9/status.json:1:1: cannot read: No such file or directory" <<<"$OUT" &&
  grep -qF "coordsync: 3 problems" <<<"$OUT" ) || fail "missing and unknown files: $OUT"
ok "files outside any repository are checked without one (relative paths too); no files and no repository is an error"

# ---- each kind of problem --------------------------------------------------------------

# bad NAME PATH BYTES WANT: the file PATH (under $T/bad/NAME/) holding the
# bytes of a Python expression is refused, exit 2, with the line WANT.
bad() {
  local f="$T/bad/$1/$2"
  mkdir -p "$(dirname "$f")"
  python3 -c 'import sys; v = eval(sys.argv[2]); open(sys.argv[1], "wb").write(v.encode() if isinstance(v, str) else v)' "$f" "$3"
  expect_rc 2 cs validate "$f"
  [ "$(printf '%s\n' "$OUT" | grep -vc '^coordsync: ')" = 1 ] || fail "$1: one problem expected: $OUT"
  has "$f:$4"
}
bad syntax coordination/jobs.json '"{\"jobs\": [\n  {\"id\": \"a\",, \"status\": \"queued\"}\n]}\n"' \
  "2:15: invalid JSON"
bad type coordination/jobs.json '"{\"jobs\": [\n  {\"id\": \"a\", \"priority\": \"high\"}\n]}\n"' \
  "2:3: job 'a': 'priority' must be an integer or null"
bad time build2/heartbeat.json '"{\"server\": \"build2\", \"timestamp\": \"yesterday\"}\n"' \
  "1:1: heartbeat 'build2': 'timestamp' must be a time"
bad isotime build2/status.json '"{\"server\": \"build2\", \"timestamp\": \"2026-13-01T00:00:00Z\"}\n"' \
  "1:1: status 'build2': 'timestamp' must be a time"
bad dupid coordination/messages.json '"{\"messages\": [\n  {\"id\": \"m1\"},\n  {\"id\": \"m1\"}\n]}\n"' \
  "3:3: duplicate message 'm1'"
bad lockfence coordination/locks.json '"{\"locks\": {\"L\": {\"locked_by\": \"b\", \"fence\": -1}}}\n"' \
  "1:17: lock 'L': 'fence' must be an integer from 0 to 2^53-1, or null"
bad lockholder coordination/locks.json '"{\"locks\": {\"L\": {\"locked_by\": 7}}}\n"' \
  "1:17: lock 'L': 'locked_by' must be a string or null"
bad lockexpiry coordination/locks.json '"{\"locks\": {\"L\": {\"locked_by\": \"b\", \"expires_at\": {}}}}\n"' \
  "1:17: lock 'L': 'expires_at' must be a time"
bad utf8 coordination/messages.json 'b"{\"messages\": [{\"id\": \"m1\", \"subject\": \"caf\xe9\"}]}\n"' \
  "1:43: invalid UTF-8"
bad nul coordination/jobs.json 'b"{\"jobs\": []}\n\0"' "1:1: contains a NUL byte"
bad notakind notes/todo.json '"{}"' "1:1: not a coordination file"
ok "each kind of problem exits 2 naming PATH:LINE:COL and what: syntax, type, time, duplicate id, lock fields, UTF-8, NUL"

# ---- several problems in several files ---------------------------------------------------

M="$T/many"
mkdir -p "$M"
cp -r "$S/coordination" "$S/build2" "$M/"
git -C "$M" init -q
printf '{"jobs": [\n  {"id": "a", "priority": "high"},\n  {"id": "b"},\n  {"id": "b"},\n  {"id": "c", "created_at": "soon"}\n]}\n' >"$M/coordination/jobs.json"
printf '{"locks": {"L": {"locked_by": 5}}}\n' >"$M/coordination/locks.json"
printf '{"messages": [\n  {"id": "m1",\n' >"$M/coordination/messages.json"
mkdir -p "$M/build3" "$M/docs"
printf '{"server": "build3", "status": ["x"]}\n' >"$M/build3/status.json"
printf '{"server": "build2", "timestamp": true}\n' >"$M/build2/heartbeat.json"
printf 'not json at all, and not a server directory\n' >"$M/docs/status.json"
expect_rc 2 cs -C "$M" validate
want="coordination/jobs.json:2:3: job 'a': 'priority' must be an integer or null
coordination/jobs.json:4:3: duplicate job 'b'
coordination/jobs.json:5:3: job 'c': 'created_at' must be a time
coordination/locks.json:1:17: lock 'L': 'locked_by' must be a string or null
coordination/messages.json:3:1: invalid JSON
build2/heartbeat.json:1:1: heartbeat 'build2': 'timestamp' must be a time
build3/status.json:1:1: status 'build3': 'status' must be a string"
while IFS= read -r w; do has "$w"; done <<<"$want"
[ "$(lines '^[a-z0-9]+/[a-z]+\.json:[0-9]+:[0-9]+: ')" = 7 ] || fail "7 problem lines expected: $OUT"
has "coordsync: 7 problems in the coordination files"
expect_rc 2 cs -C "$M" --json validate
python3 - "$OUT" <<'PY'
import json, sys
# stdout's object, then stderr's error object (expect_rc merges them)
out, err = sys.argv[1].split('\n{"error": ')
d = json.loads(out)
assert json.loads('{"error": ' + err)["error"]["exit"] == 2, err
assert d["ok"] is False and d["files"] == 6, d
got = [(p["path"], p["line"], p["col"]) for p in d["problems"]]
assert got == [("coordination/jobs.json", 2, 3), ("coordination/jobs.json", 4, 3),
               ("coordination/jobs.json", 5, 3), ("coordination/locks.json", 1, 17),
               ("coordination/messages.json", 3, 1), ("build2/heartbeat.json", 1, 1),
               ("build3/status.json", 1, 1)], got
PY
ok "several problems in 6 files: all 7 listed, one line each, in order (and in --json)"

# ---- what a sync refuses before it reads: links, directories, files over the limit ----

E="$T/entries"
mkdir -p "$E/coordination" "$E/build2"
git -C "$E" init -q
echo '{"jobs": []}' >"$T/jobs-target.json"
ln -s "$T/jobs-target.json" "$E/coordination/jobs.json"
mkdir "$E/coordination/locks.json"
python3 -c 'print("{\"messages\": [" + ", ".join("{\"id\": \"m%d\"}" % i for i in range(200)) + "]}")' \
  >"$E/coordination/messages.json"
git -C "$E" config coordsync.maxfilesize 1000
printf '{"server": "build2"}\n' >"$E/build2/status.json"
expect_rc 2 cs -C "$E" validate
has "coordination/jobs.json:1:1: not a file (a symbolic link)"
has "coordination/locks.json:1:1: not a file (a directory)"
has "coordination/messages.json:1:1: 3105 bytes is over the 1000 byte limit (coordsync.maxfilesize)"
[ "$(lines ':1:1: ')" = 3 ] || fail "3 problems expected: $OUT"
git -C "$E" add coordination/jobs.json coordination/messages.json build2/status.json
expect_rc 2 cs -C "$E" validate --staged
has "coordination/jobs.json:1:1: not a file (a symbolic link)"
has "3105 bytes is over the 1000 byte limit"
has "coordsync: 2 problems in the coordination files staged for commit"
git -C "$E" config coordsync.maxfilesize 4000
expect_rc 2 cs -C "$E" validate --staged
has "coordsync: 1 problem in the coordination files staged for commit"
ok "a symbolic link, a directory, a file over coordsync.maxfilesize: refused as a sync refuses them, in the tree and in the index"

# ---- parity with sync ---------------------------------------------------------------------
# Round after round the git-CLI server pushes one case for each path (the
# hostile corpus, then a few files a sync accepts) and the clone syncs;
# validate on the same tree must report, for each file, exactly the error
# the sync recorded for it, or nothing when the sync imported it.

PAR="$T/par"
mkdir -p "$PAR/good"
for f in coordination/jobs.json coordination/locks.json coordination/messages.json build2/status.json build2/heartbeat.json; do
  mkdir -p "$PAR/good/$(dirname "$f")"
  cp "$S/$f" "$PAR/good/$f"
done
# Good edge cases, appended to the corpus's list as cases sync accepts.
mkdir -p "$PAR/ok"
python3 - "$PAR/ok" <<'PY'
import sys
d = sys.argv[1]
files = {
  "ok-jobs-unicode.json": '{"jobs": [{"id": "caf\u00e9-\\u00e9", "status": "queued", "priority": 9007199254740991}]}\n',
  "ok-jobs-iso-zones.json": '{"jobs": [{"id": "z", "created_at": "2026-01-02 03:04:05-07:30", "attempts": 0}], "extra": {"a": [1, 2]}}\n',
  "ok-locks-empty.json": '{"locks": {}}\n',
  "ok-locks-null-fields.json": '{"locks": {"L": {"locked_by": null, "expires_at": null, "fence": null}}}\n',
  "ok-messages-nulls.json": '{"messages": [{"id": "m9", "read": null, "subject": null}]}\n',
  "ok-status-extra.json": '{"server": "build2", "status": "busy", "load": [0.5, 1.5], "timestamp": 1767323045.5}\n',
  "ok-heartbeat-iso.json": '{"server": "build2", "timestamp": "2026-01-02T03:04:05.123Z"}\n',
}
for name, text in files.items():
    open(d + "/" + name, "w", encoding="utf-8").write(text)
PY
{
  grep -v '^#' "$HOSTILE/cases.txt" | sed -E 's/ *\| */|/g' | awk -F'|' -v h="$HOSTILE" 'NF >= 2 {print h "/" $1 "|" $2}'
  printf '%s\n' "$PAR/ok/ok-jobs-unicode.json|coordination/jobs.json" \
    "$PAR/ok/ok-jobs-iso-zones.json|coordination/jobs.json" "$PAR/ok/ok-locks-empty.json|coordination/locks.json" \
    "$PAR/ok/ok-locks-null-fields.json|coordination/locks.json" \
    "$PAR/ok/ok-messages-nulls.json|coordination/messages.json" \
    "$PAR/ok/ok-status-extra.json|build2/status.json" "$PAR/ok/ok-heartbeat-iso.json|build2/heartbeat.json"
} >"$PAR/cases"
ncases=$(wc -l <"$PAR/cases")
[ "$ncases" -gt 90 ] || fail "the corpus has only $ncases cases"
# Each path's cases in a queue of its own: round i takes the i-th of each.
python3 - "$PAR/cases" "$PAR" <<'PY'
import sys, collections
q = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f, p = line.rstrip("\n").split("|")
    q[p].append(f)
rounds = max(len(v) for v in q.values())
with open(sys.argv[2] + "/rounds", "w") as out:
    for i in range(rounds):
        out.write("\t".join(p + "=" + v[i] for p, v in sorted(q.items()) if i < len(v)) + "\n")
PY
refused=0 accepted=0 round=0
while IFS= read -r line; do
  round=$((round + 1))
  [ "$round" -le 80 ] || fail "more rounds than the corpus has"
  for f in coordination/jobs.json coordination/locks.json coordination/messages.json build2/status.json build2/heartbeat.json; do
    cp "$PAR/good/$f" "$S/$f"
  done
  IFS=$'\t' read -r -a pairs <<<"$line"
  for pair in "${pairs[@]}"; do cp "${pair#*=}" "$S/${pair%%=*}"; done
  git -C "$S" add -A
  git -C "$S" commit -qm "round $round" --allow-empty
  git -C "$S" push -q origin main
  set +e
  cs -C "$C1" sync >"$PAR/sync.out" 2>&1
  cs -C "$C1" --json query "SELECT path, error FROM files" >"$PAR/files.json" 2>&1
  cs -C "$S" --json validate >"$PAR/validate.json" 2>"$PAR/validate.err"
  vrc=$?
  set -e
  counts=$(python3 - "$PAR/files.json" "$PAR/validate.json" "$vrc" "$line" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
rows = rows["rows"] if isinstance(rows, dict) else rows
sync = {}
for r in rows:
    path, err = (r["path"], r["error"]) if isinstance(r, dict) else r
    # An error of the whole file has no position: validate says 1:1.
    if err and err.startswith(path + ": "):
        err = path + ":1:1: " + err[len(path) + 2:]
    sync[path] = err
v = json.load(open(sys.argv[2]))
first = {}
for p in v["problems"]:
    first.setdefault(p["path"], "%s:%d:%d: %s" % (p["path"], p["line"], p["col"], p["message"]))
paths = set(sync) | set(first)
bad = [p for p in sorted(paths) if sync.get(p) != first.get(p)]
if bad:
    for p in bad:
        print("DIFFER %s: sync %r, validate %r (round: %s)" % (p, sync.get(p), first.get(p), sys.argv[4]))
    sys.exit(1)
nref = sum(1 for p in paths if sync.get(p))
want_rc = 2 if nref else 0
if int(sys.argv[3]) != want_rc:
    print("DIFFER: validate exited %s, %d refused" % (sys.argv[3], nref)); sys.exit(1)
print(nref, len([p for p in paths if not sync.get(p)]))
PY
) || fail "validate and sync disagree: $counts"
  refused=$((refused + ${counts% *}))
  accepted=$((accepted + ${counts#* }))
done <"$PAR/rounds"
[ "$refused" -ge 90 ] || fail "only $refused files refused by both"
ok "parity over $round rounds: $refused files refused by sync and by validate with the same message, $accepted accepted by both"

# ---- the pre-commit hook -------------------------------------------------------------------

for f in coordination/jobs.json coordination/locks.json coordination/messages.json build2/status.json build2/heartbeat.json; do
  cp "$PAR/good/$f" "$S/$f"
done
git -C "$S" add -A && git -C "$S" commit -qm "good again" && git -C "$S" push -q origin main
expect_rc 0 cs -C "$S" validate --install-hook
has "installed the pre-commit hook $S/.git/hooks/pre-commit"
[ -x "$S/.git/hooks/pre-commit" ] || fail "the hook is not executable"
expect_rc 0 cs -C "$S" validate --install-hook
has "already the same"
printf '#!/bin/sh\nexit 0\n' >"$T/other-hook"
mkdir -p "$T/h2" && git -C "$T/h2" init -q && cp "$T/other-hook" "$T/h2/.git/hooks/pre-commit"
expect_rc 1 cs -C "$T/h2" validate --install-hook
has "exists and is another hook; --force replaces it"
cmp -s "$T/other-hook" "$T/h2/.git/hooks/pre-commit" || fail "the other hook was changed"
expect_rc 0 cs -C "$T/h2" validate --install-hook --force
has "pre-commit.orig"
cmp -s "$T/other-hook" "$T/h2/.git/hooks/pre-commit.orig" || fail "the other hook was not kept"
grep -q "validate --staged" "$T/h2/.git/hooks/pre-commit" || fail "--force did not install"
# core.hooksPath is where git looks, so that is where it goes.
mkdir -p "$T/h3/coordination" && git -C "$T/h3" init -q && git -C "$T/h3" config core.hooksPath .githooks
expect_rc 0 cs -C "$T/h3" --json validate --install-hook
python3 -c 'import json,sys; d = json.loads(sys.argv[1]); assert d == {"hook": sys.argv[2], "action": "installed"}, d' \
  "$OUT" "$T/h3/.githooks/pre-commit"
printf '{"jobs": [{"id": 1}]}\n' >"$T/h3/coordination/jobs.json"
git -C "$T/h3" add coordination/jobs.json
expect_rc 1 git -C "$T/h3" commit -qm "bad, under core.hooksPath"
has "coordination/jobs.json:1:11: a job needs a string 'id'"
ok "--install-hook installs, keeps an identical hook, refuses another one unless --force (kept as .orig); core.hooksPath"

head0=$(git -C "$S" rev-parse HEAD)
# A bad edit made with plain git is blocked.
printf '{"jobs": [{"id": "j1", "status": "queued", "priority": "urgent"}]}\n' >"$S/coordination/jobs.json"
git -C "$S" add coordination/jobs.json
expect_rc 1 git -C "$S" commit -qm "bad priority"
has "coordination/jobs.json:1:11: job 'j1': 'priority' must be an integer or null"
[ "$(git -C "$S" rev-parse HEAD)" = "$head0" ] || fail "the bad commit went through"
# Staged bad, working tree good: the index is what is checked.
pyjson "$S/coordination/jobs.json" '{"jobs": [{"id": "j1", "status": "queued"}]}'
expect_rc 1 git -C "$S" commit -qm "bad staged, good in the working tree"
has "priority"
[ "$(git -C "$S" rev-parse HEAD)" = "$head0" ] || fail "a bad staged file was committed"
# Staged good, working tree bad: goes through.
git -C "$S" add coordination/jobs.json
printf '{"jobs": [' >"$S/coordination/jobs.json"
expect_rc 0 git -C "$S" commit -qm "good staged, bad in the working tree"
[ "$(git -C "$S" rev-parse HEAD)" != "$head0" ] || fail "the good commit was blocked"
[ "$(git -C "$S" show HEAD:coordination/jobs.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["id"])')" = j1 ] ||
  fail "the good version was not committed"
# commit -a stages the bad working tree into a temporary index: blocked.
head1=$(git -C "$S" rev-parse HEAD)
expect_rc 1 git -C "$S" commit -qam "commit -a of a broken file"
has "coordination/jobs.json:1:11: invalid JSON"
[ "$(git -C "$S" rev-parse HEAD)" = "$head1" ] || fail "commit -a of a broken file went through"
# A per-server file and a duplicate lock, committed by path.
git -C "$S" checkout -q -- coordination/jobs.json
printf '{"server": "build2", "timestamp": "noon"}\n' >"$S/build2/heartbeat.json"
expect_rc 1 git -C "$S" commit -qm "bad heartbeat" -- build2/heartbeat.json
has "build2/heartbeat.json:1:1: heartbeat 'build2': 'timestamp' must be a time"
git -C "$S" checkout -q -- build2/heartbeat.json
git -C "$S" push -q origin main
expect_rc 0 cs -C "$C1" sync
ok "the hook blocks bad commits made with git (staged, -a, by path) and lets a good one through; the index is what counts"

expect_rc 0 cs validate --help
has "--install-hook"
expect_rc 2 cs validate --staged "$L/coordination/jobs.json"
expect_rc 2 cs validate --force
expect_rc 2 cs validate --install-hook "$L/coordination/jobs.json"
ok "--help, and usage errors exit 2"

done_testing
