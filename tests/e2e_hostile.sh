#!/usr/bin/env bash
# Hostile input: another server (the git CLI) pushes files and trees meant
# to break coordsync into a remote that a coordsync clone already mirrors in
# a good state.  Each file case must make `sync` exit 1 naming the file, keep
# the last good state (the same query output before and after), write
# nothing outside the clone, leave PRAGMA integrity_check ok, and recover
# when the file is repaired upstream.  The cases are data:
# tests/resources/hostile/cases.txt, plus bigger ones generated here (nesting
# 100,000 deep, 6,000 jobs with a duplicate id, a record with 100,000 keys, a
# 200 MB jobs.json that the size cap must refuse before reading it).  Then
# trees no git client would write: directories named '..', '.git', with
# control characters, symbolic links out of the clone, a submodule.
# The clone fetches over git:// (git daemon on 127.0.0.1): libgit2's
# local-path transport builds a pack in memory, so only a smart transport
# shows what the import itself costs for the 200 MB file.
# e2e_badinput.sh covers the plainer broken files; this test does not repeat
# them.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

HOSTILE="$TESTS_DIR/resources/hostile"
mkdir -p "$T/work" "$T/box/outside"
echo "do not touch" >"$T/box/outside/secret"
mkremote r
R="$T/r.git"
S="$T/s"
C1="$T/box/c1"
DB="$C1/.git/coordsync/mirror.db"
worktree s "$R"
git --git-dir="$R" config daemon.receivepack true
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git daemon --listen=127.0.0.1 --port="$port" --base-path="$T" --export-all --reuseaddr \
  "$R" 2>"$T/work/daemon.log" &
BG_PIDS+=($!)
for _ in $(seq 1 50); do
  git ls-remote "git://127.0.0.1:$port/r.git" >/dev/null 2>&1 && break
  sleep 0.1
done
URL="git://127.0.0.1:$port/r.git"

# run_err CMD...: stdout in $T/work/out, stderr in $T/work/err, status in $RC.
run_err() { set +e; "$@" >"$T/work/out" 2>"$T/work/err"; RC=$?; set -e; }
err() { cat "$T/work/err"; }

# The good version of each file with marker N in it (a job rN, a lock RN, a
# message rmN, a status note rN, heartbeat time 1767323045+N), written once
# for N = 0..199 into $T/work/good/N/PATH; good PATH N prints it.
python3 - "$T/work/good" <<'PY'
import json, os, sys
t = "2026-01-02T03:04:05Z"
for n in range(200):
    files = {}
    ids = ["g1", "g2", "g3"] + (["r%d" % n] if n else [])
    files["coordination/jobs.json"] = {"jobs": [
        {"id": i, "status": "queued", "assigned_to": None, "priority": k + 1, "created_at": t}
        for k, i in enumerate(ids)]}
    locks = {"L0": {"locked_by": None, "locked_at": None, "expires_at": None, "fence": 1}}
    if n:
        locks["R%d" % n] = {"locked_by": "build2", "locked_at": 1767323045,
                            "expires_at": 1767326645, "fence": 1}
    files["coordination/locks.json"] = {"locks": locks}
    files["coordination/messages.json"] = {"messages": [
        {"id": i, "from": "build2", "to": "build1", "type": "info", "subject": "s", "body": "b",
         "timestamp": t, "read": False} for i in ["m1"] + (["rm%d" % n] if n else [])]}
    files["build2/status.json"] = {"server": "build2", "status": "idle", "timestamp": t,
                                   "note": "r%d" % n}
    files["build2/heartbeat.json"] = {"server": "build2", "timestamp": 1767323045 + n}
    for path, v in files.items():
        f = os.path.join(sys.argv[1], str(n), path)
        os.makedirs(os.path.dirname(f), exist_ok=True)
        with open(f, "w") as out:
            out.write(json.dumps(v, indent=2) + "\n")
PY
good() { cat "$T/work/good/$2/$1"; }

# marker PATH N: a text that the state (below, after a newline) holds once
# marker N of PATH is in the mirror.
marker() {
  case $1 in
    *jobs.json) echo $'\n'"job,r$2," ;;
    *locks.json) echo $'\n'"lock,R$2,,build2," ;;
    *messages.json) echo $'\n'"message,rm$2," ;;
    *status.json) echo '""note"": ""r'"$2"'""' ;;
    *) echo ",$((1767323045 + $2)).0," ;;
  esac
}

push_all() {
  git -C "$S" add -A
  git -C "$S" commit -qm "$1"
  git -C "$S" push -q origin HEAD:main
}

# The mirror's state: every record's text and typed columns.
# (one line a record: the texts' newlines are shown as spaces)
STATE_SQL="SELECT 'job', id, ord, status, assigned_to, priority, created_at, attempts,
   replace(json, char(10), ' ') FROM jobs
 UNION ALL SELECT 'lock', name, NULL, locked_by, NULL, fence, locked_at, expires_at,
   replace(json, char(10), ' ') FROM locks
 UNION ALL SELECT 'message', id, ord, type, from_server, read, timestamp, NULL,
   replace(json, char(10), ' ') FROM messages
 UNION ALL SELECT 'server', id, NULL, status, NULL, NULL, status_at, heartbeat_at,
   replace(coalesce(status_json, '') || coalesce(heartbeat_json, ''), char(10), ' ') FROM servers
 ORDER BY 1, 2"
# (read with the sqlite3 shell: a coordsync query costs a repository open)
state() { sqlite3 -readonly -csv "$DB" "$STATE_SQL" >"$1"; }
# snap: the state, PRAGMA integrity_check and the count of files in error,
# into STATE, INTEGRITY and ERRORS, from one sqlite3 run.
snap() {
  local out
  out=$(sqlite3 -readonly -csv "$DB" "$STATE_SQL; PRAGMA integrity_check;
    SELECT count(*) FROM files WHERE error IS NOT NULL")
  ERRORS=${out##*$'\n'}
  out=${out%$'\n'*}
  INTEGRITY=${out##*$'\n'}
  STATE=${out%$'\n'*}
}
# Everything outside the clone that the test itself does not write.
outside() {
  find "$T" -mindepth 1 \( -path "$C1" -o -path "$R" -o -path "$S" -o -path "$T/work" \) -prune \
    -o -printf '%p %y %s %T@ %m %l\n' | sort >"$1"
}
integrity() {
  [ "$(sqlite3 "$DB" "PRAGMA integrity_check")" = ok ] || fail "$1: integrity_check: $(sqlite3 "$DB" "PRAGMA integrity_check" | head -3)"
}
q1() { expect_rc 0 cs -C "$C1" query --format csv "$1"; tail -n 1 <<<"$OUT"; }

# ---- a good start ------------------------------------------------------------------------------
mkdir -p "$S/coordination" "$S/build2"
for p in coordination/jobs.json coordination/locks.json coordination/messages.json \
         build2/status.json build2/heartbeat.json; do
  good "$p" 0 >"$S/$p"
done
push_all "good state"
expect_rc 0 cs init "$URL" "$C1" --server build1
[ "$(q1 "SELECT count(*) FROM jobs") $(q1 "SELECT count(*) FROM servers WHERE id='build2'")" = "3 1" ] ||
  fail "initial import"
git -C "$S" pull -q --ff-only origin main   # init's commit of build1's status files
outside "$T/work/outside.base"   # nothing outside the clone may change from here on
ok "initial good state imported over git://"

# The size limit: git config coordsync.maxfilesize, overridden by the
# environment (COORDSYNC_MAXFILESIZE).
good coordination/jobs.json 0 >"$S/coordination/jobs.json"
echo '    ' >>"$S/coordination/jobs.json"
size=$(stat -c %s "$S/coordination/jobs.json")
push_all "jobs.json of $size bytes"
git -C "$C1" config coordsync.maxfilesize 300
run_err cs -C "$C1" sync
[ "$RC" -eq 1 ] && grep -q "coordination/jobs.json: $size bytes is over the 300 byte limit" "$T/work/err" ||
  fail "maxfilesize 300: $RC $(err)"
COORDSYNC_MAXFILESIZE=400 run_err cs -C "$C1" sync
[ "$RC" -eq 1 ] && grep -q "over the 400 byte limit" "$T/work/err" || fail "env 400: $RC $(err)"
COORDSYNC_MAXFILESIZE=100000 run_err cs -C "$C1" sync
[ "$RC" -eq 0 ] || fail "env 100000 over git config 300: $RC $(err)"
expect_rc 0 cs -C "$C1" config
grep -Eq "^coordsync\.maxfilesize +300 +git config" <<<"$OUT" || fail "config: $OUT"
git -C "$C1" config --unset coordsync.maxfilesize
expect_rc 0 cs -C "$C1" config
grep -Eq "^coordsync\.maxfilesize +67108864 +default" <<<"$OUT" || fail "config: $OUT"
ok "coordsync.maxfilesize 300 refuses a $size-byte jobs.json naming size and limit; COORDSYNC_MAXFILESIZE overrides it (400: refused, 100000: imported); default 64 MiB"

# ---- the file cases ----------------------------------------------------------------------------
N=0
# file_case NAME PATH FILE PATTERN: push FILE as PATH; sync must refuse it
# (exit 1 naming PATH, message matching PATTERN) and keep everything; then a
# repaired PATH (with marker N) must import.
file_case() {
  local name=$1 path=$2 file=$3 pat=$4 e
  N=$((N + 1))
  [ -n "$GOOD_STATE" ] || { snap; GOOD_STATE=$STATE; }
  cp "$file" "$S/$path"
  git -C "$S" commit -qm "hostile: $name" -- "$path"
  git -C "$S" push -q origin HEAD:main
  run_err cs -C "$C1" sync
  e=$(<"$T/work/err")
  [ "$RC" -eq 1 ] || fail "$name: sync exited $RC: $e"
  [[ $e == *"$path"* ]] || fail "$name: the error does not name $path: $e"
  [[ $e =~ $pat ]] || fail "$name: the error does not say '$pat': $e"
  LAST_ERR=${e%%$'\n'*}
  snap
  [ "$STATE" = "$GOOD_STATE" ] ||
    fail "$name: the mirror changed: $(diff <(echo "$GOOD_STATE") <(echo "$STATE") | head -5)"
  [ "$INTEGRITY" = ok ] || fail "$name: integrity_check: $INTEGRITY"
  outside "$T/work/outside.now"
  cmp -s "$T/work/outside.base" "$T/work/outside.now" ||
    fail "$name: written outside the clone: $(diff "$T/work/outside.base" "$T/work/outside.now" | head -5)"
  cp "$T/work/good/$N/$path" "$S/$path"
  git -C "$S" commit -qm "repair: $name" -- "$path"
  git -C "$S" push -q origin HEAD:main
  run_err cs -C "$C1" sync
  [ "$RC" -eq 0 ] || fail "$name: sync after the repair exited $RC: $(err)"
  snap
  [[ $'\n'$STATE == *"$(marker "$path" "$N")"* ]] || fail "$name: the repaired $path is not in the mirror"
  [ "$ERRORS" = 0 ] || fail "$name: error kept after repair"
  GOOD_STATE=$STATE
  CASES+=("$name")
}
CASES=()
msgs=()
GOOD_STATE=""
while IFS='|' read -r file path pat; do
  file=${file// /}; path=${path// /}; pat=$(sed 's/^ *//; s/ *$//' <<<"$pat")
  case $file in ''|'#'*) continue ;; esac
  file_case "$file" "$path" "$HOSTILE/$file" "$pat"
  msgs+=("${LAST_ERR:0:150}")
done <"$HOSTILE/cases.txt"
ok "${#CASES[@]} corpus files refused: exit 1 naming the file, same state, nothing outside, integrity ok, repair imports"
printf '%s\n' "${msgs[@]}" | sed -E 's/^coordsync: [^ ]*: //; s/'"'"'[^'"'"']*'"'"'/X/g' | sort | uniq -c |
  sort -rn | sed 's/^/  /'   # the kinds of message

# Generated: too big to keep in git.
G="$T/work/gen"
mkdir -p "$G"
python3 - "$G" <<'PY'
import json, sys
g = sys.argv[1]
d = 100000
job = '{"id": "h1", "status": "queued", "priority": 1, "x": %s}'
open(g + "/deep-100k-array-in-job", "w").write('{"jobs": [' + job % ("[" * d + "]" * d) + "]}\n")
open(g + "/deep-100k-object-in-job", "w").write('{"jobs": [' + job % ('{"a":' * d + "1" + "}" * d) + "]}\n")
open(g + "/deep-100k-other-member", "w").write('{"x": ' + "[" * d + "]" * d + ', "jobs": []}\n')
open(g + "/deep-100k-status", "w").write('{"server": "build2", "status": ' + "{" * d + "}" * d + "}\n")
jobs = [{"id": "j%05d" % i, "status": "queued", "priority": 1} for i in range(6000)]
jobs.append({"id": "j00042", "status": "done"})
open(g + "/dup-id-6000-jobs", "w").write(json.dumps({"jobs": jobs}, indent=2) + "\n")
rec = ", ".join('"k%06d": %d' % (i, i) for i in range(100000))
open(g + "/dup-key-100k-keys", "w").write('{"jobs": [{"id": "h1", %s, "k050000": 0}]}\n' % rec)
PY
file_case "deep-100k-array-in-job" coordination/jobs.json "$G/deep-100k-array-in-job" "invalid JSON"
file_case "deep-100k-object-in-job" coordination/jobs.json "$G/deep-100k-object-in-job" "invalid JSON"
file_case "deep-100k-other-member" coordination/jobs.json "$G/deep-100k-other-member" "invalid JSON"
file_case "deep-100k-status" build2/status.json "$G/deep-100k-status" "invalid JSON"
file_case "dup-id-6000-jobs" coordination/jobs.json "$G/dup-id-6000-jobs" "duplicate job 'j00042'"
file_case "dup-key-100k-keys" coordination/jobs.json "$G/dup-key-100k-keys" "duplicate key 'k050000'"
ok "generated: nesting 100,000 deep (array, object, other member, status.json), 6,000 jobs with a duplicate id, a job with 100,000 keys and one twice"

# Accepted oddities: valid JSON that reads as one clear value.
python3 - "$S/coordination/jobs.json" <<'PY'
import sys
jobs = [("n1", "-0"), ("n2", "1E2"), ("n3", "0.5e1"), ("n4", "-9007199254740991"), ("n5", "1.0E+01")]
t = ",\n".join('    {"id": "%s", "status": "queued", "priority": %s, "created_at": %s}' % (i, p, c)
               for (i, p), c in zip(jobs, ["-0", "1767323045.5", '"2024-02-29T23:59:60Z"', '"0001-01-01T00:00:00Z"',
                                           "1.7673230450e+09"]))
open(sys.argv[1], "w").write('{\n  "jobs": [\n' + t + '\n  ]\n}\n')
PY
push_all "odd but valid numbers"
expect_rc 0 cs -C "$C1" sync
[ "$(q1 "SELECT group_concat(id || '=' || priority || '@' || created_at, ' ') FROM (SELECT * FROM jobs ORDER BY id)")" = \
  "n1=0@0.0 n2=100@1767323045.5 n3=5@1709251200.0 n4=-9007199254740991@-62135596800.0 n5=10@1767323045.0" ] ||
  fail "odd numbers: $OUT"
ok "-0, 1E2, 0.5e1, -(2^53-1), 1.0E+01, a leap second, year 1 and 1.7673230450e+09 read as 0, 100, 5, -9007199254740991, 10, the next second, -62135596800 and 1767323045"
good coordination/jobs.json 0 >"$S/coordination/jobs.json"
push_all "back to good jobs"
expect_rc 0 cs -C "$C1" sync

# ---- trees no git client writes --------------------------------------------------------------
# raw_commit ENTRIES...: a commit on S's HEAD whose root tree also has the
# given entries, each "MODE NAME KIND CONTENT" (KIND blob: CONTENT is the
# file's text; tree: CONTENT is "name=text;..."; link: the link target;
# commit: a submodule at a made-up commit), written as raw objects.
raw_commit() {
  python3 - "$S" "$@" <<'PY'
import subprocess, sys
repo = sys.argv[1]
def git(*a, data=None):
    return subprocess.run(["git", "-C", repo] + list(a), input=data, check=True,
                          capture_output=True).stdout
def obj(kind, data):
    return git("hash-object", "-t", kind, "--literally", "-w", "--stdin", data=data).strip().decode()
def tree(entries):  # [(mode, name bytes, hex)]
    entries.sort(key=lambda e: e[1] + (b"/" if e[0] == "40000" else b""))
    return obj("tree", b"".join(m.encode() + b" " + n + b"\0" + bytes.fromhex(h) for m, n, h in entries))
def parse_tree(h):
    out, data = [], git("cat-file", "tree", h)
    while data:
        sp = data.index(b" "); nul = data.index(b"\0", sp)
        out.append((data[:sp].decode(), data[sp + 1:nul], data[nul + 1:nul + 21].hex()))
        data = data[nul + 21:]
    return out
head = git("rev-parse", "HEAD").strip().decode()
root = parse_tree(git("rev-parse", "HEAD^{tree}").strip().decode())
for spec in sys.argv[2:]:
    mode, name, kind, content = spec.split(" ", 3)
    # "/" nests; an escaped \x2f is a slash inside one name; EMPTY is "".
    path = [b"" if p == "EMPTY" else p.encode().decode("unicode_escape").encode("latin-1")
            for p in name.split("/")]
    if kind == "blob":
        h = obj("blob", content.encode())
    elif kind == "link":
        h = obj("blob", content.encode())
    elif kind == "commit":
        h = "1234567890abcdef1234567890abcdef12345678"
    else:
        h = tree([("100644", n.encode(), obj("blob", v.encode()))
                  for n, v in (x.split("=", 1) for x in content.split(";"))])
    # put it at path (one or two levels) in the root tree
    if len(path) == 1:
        root = [e for e in root if e[1] != path[0]] + [(mode, path[0], h)]
    else:
        sub = next((e for e in root if e[1] == path[0]), None)
        ents = [e for e in parse_tree(sub[2]) if e[1] != path[1]] if sub else []
        root = [e for e in root if e[1] != path[0]] + [("40000", path[0], tree(ents + [(mode, path[1], h)]))]
t = tree(root)
c = git("commit-tree", t, "-p", head, "-m", "hostile tree", data=b"").strip().decode()
print(c)
PY
}
# tree_push COMMIT: push it as main and move S's branch there (no checkout).
tree_push() {
  git -C "$S" update-ref refs/heads/main "$1"
  git -C "$S" push -q origin main
}
# tree_repair: back to S's index (the last good tree), as a new commit.
tree_repair() {
  local t c
  t=$(git -C "$S" write-tree)
  c=$(git -C "$S" commit-tree "$t" -p main -m "repair tree" </dev/null)
  git -C "$S" update-ref refs/heads/main "$c"
  git -C "$S" push -q origin main
  git -C "$S" reset -q --hard main
}
gitcfg_before=$(sha256sum "$C1/.git/config" | cut -d' ' -f1)
status_ok='status.json={"server": "x", "status": "evil", "timestamp": 1}'
tree_cases=(
  "dotdot|40000 .. tree $status_ok"
  "dot-git|40000 .git tree config=[core]\n\thooksPath = /tmp;post-checkout=#!/bin/sh"
  "dot-GIT|40000 .GIT tree config=[core]\n\tbare = true"
  "newline|40000 build\\n2 tree $status_ok"
  "escape|40000 build\\x1b[31m tree $status_ok"
  "slash-in-name|100644 ..\\x2f..\\x2foutside\\x2fpwned blob pwned"
  "absolute-name|100644 \\x2ftmp\\x2fpwned blob pwned"
  "dot-slash|40000 .\\x2f tree $status_ok"
  "dot|40000 . tree $status_ok"
  "empty-name|40000 EMPTY tree $status_ok"
)
tn=0
for tc in "${tree_cases[@]}"; do
  name=${tc%%|*}; spec=${tc#*|}
  state "$T/work/state.before"
  outside "$T/work/outside.before"
  set +e
  c=$(raw_commit "$spec" 2>"$T/work/err")
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "  $name: git would not write this tree: $(tail -n 1 "$T/work/err")"
    continue
  fi
  set +e
  git -C "$S" update-ref refs/heads/main "$c" && git -C "$S" push -q origin main 2>"$T/work/err"
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "  $name: git refused to push it: $(tail -n 2 "$T/work/err" | tr '\n' ' ')"
    git -C "$S" update-ref refs/heads/main "$(git -C "$S" rev-parse origin/main)"
    continue
  fi
  run_err cs -C "$C1" sync
  [ "$RC" -eq 0 ] || fail "$name: sync exited $RC: $(err)"
  [ "$(sqlite3 -readonly "$DB" "SELECT value FROM meta WHERE key='remote_head'")" = "$c" ] ||
    fail "$name: the hostile commit was not imported"
  state "$T/work/state.after"
  cmp -s "$T/work/state.before" "$T/work/state.after" || fail "$name: the mirror changed"
  outside "$T/work/outside.after"
  cmp -s "$T/work/outside.before" "$T/work/outside.after" ||
    fail "$name: written outside the clone: $(diff "$T/work/outside.before" "$T/work/outside.after" | head -5)"
  [ "$(sha256sum "$C1/.git/config" | cut -d' ' -f1)" = "$gitcfg_before" ] || fail "$name: .git/config changed"
  [ ! -e "$C1/.git/post-checkout" ] && [ ! -e "$C1/.git/hooks/post-checkout" ] || fail "$name: a hook was written"
  [ "$(find "$C1" -path "$C1/.git" -prune -o \( -name 'build?2' -o -name '*pwned*' -o -name '.GIT' -o -name '*31m' \) -print | wc -l)" = 0 ] ||
    fail "$name: the working tree has $(find "$C1" -path "$C1/.git" -prune -o -name '*' -newer "$T/work/state.before" -print | head -5)"
  [ "$(q1 "SELECT count(*) FROM servers WHERE id NOT IN ('build1', 'build2')")" = 0 ] || fail "$name: a server was imported"
  integrity "$name"
  tree_repair
  expect_rc 0 cs -C "$C1" sync
  tn=$((tn + 1))
done
ok "$tn hostile trees (directories '..', '.git', '.GIT', names with a newline, an escape, '/', none) ignored: exit 0, same state, nothing written outside or into .git"

# Entries that are not files where a file is expected.
path_case() {
  local name=$1 spec=$2 path=$3 pat=$4 c
  N=$((N + 1))
  state "$T/work/state.before"
  outside "$T/work/outside.before"
  c=$(raw_commit "$spec")
  tree_push "$c"
  run_err cs -C "$C1" sync
  [ "$RC" -eq 1 ] || fail "$name: sync exited $RC: $(err)"
  grep -qF "$path" "$T/work/err" && grep -Eq "$pat" "$T/work/err" || fail "$name: $(err)"
  state "$T/work/state.after"
  cmp -s "$T/work/state.before" "$T/work/state.after" || fail "$name: the mirror changed"
  outside "$T/work/outside.after"
  cmp -s "$T/work/outside.before" "$T/work/outside.after" ||
    fail "$name: written outside the clone: $(diff "$T/work/outside.before" "$T/work/outside.after" | head -5)"
  integrity "$name"
  tree_repair
  run_err cs -C "$C1" sync
  [ "$RC" -eq 0 ] || fail "$name: sync after the repair exited $RC: $(err)"
  [ -f "$C1/$path" ] && [ ! -L "$C1/$path" ] || fail "$name: $path not restored in the working tree"
}
path_case "jobs.json a symlink out of the clone" "120000 coordination/jobs.json link ../../outside/secret" \
  coordination/jobs.json "not a file \(a symbolic link\)"
path_case "jobs.json a submodule" "160000 coordination/jobs.json commit -" \
  coordination/jobs.json "not a file \(a submodule\)"
path_case "locks.json a directory" "40000 coordination/locks.json tree a=b" \
  coordination/locks.json "not a file \(a directory\)"
path_case "status.json a symlink to /etc/passwd" "120000 build2/status.json link /etc/passwd" \
  build2/status.json "not a file \(a symbolic link\)"
ok "symlinks out of the clone, a submodule and a directory in place of a file: exit 1 naming it, same state, repaired"

# A server directory that is a symlink out of the clone, then a real one.
state "$T/work/state.before"
outside "$T/work/outside.before"
c=$(raw_commit "120000 build3 link ../outside")
tree_push "$c"
expect_rc 0 cs -C "$C1" sync
c=$(raw_commit "40000 build3 tree $status_ok")
tree_push "$c"
run_err cs -C "$C1" sync
outside "$T/work/outside.after"
cmp -s "$T/work/outside.before" "$T/work/outside.after" ||
  fail "symlinked server directory: written outside the clone: $(diff "$T/work/outside.before" "$T/work/outside.after" | head -5)"
[ "$(cat "$T/box/outside/secret")" = "do not touch" ] && [ ! -e "$T/box/outside/status.json" ] || fail "wrote through the symlink"
integrity "symlinked server directory"
tree_repair
expect_rc 0 cs -C "$C1" sync
ok "build3 a symlink to ../outside, then a directory with status.json: nothing written through the link (sync exit $RC)"

# ---- the size cap ------------------------------------------------------------------------------
python3 - "$S/coordination/jobs.json" <<'PY'
import sys
rec = ('    {\n      "id": "big%07d",\n      "status": "queued",\n      "assigned_to": null,\n'
       '      "priority": 5,\n      "created_at": "2026-01-02T03:04:05Z",\n      "command": "make %s"\n    }')
pad, size, n = "x" * 100, 0, 0
with open(sys.argv[1], "w") as f:
    f.write('{\n  "jobs": [\n')
    while size < 200 * 1000 * 1000:
        s = (",\n" if n else "") + rec % (n, pad)
        f.write(s)
        size += len(s)
        n += 1
    f.write("\n  ]\n}\n")
PY
bytes=$(stat -c %s "$S/coordination/jobs.json")
state "$T/work/state.before"
outside "$T/work/outside.before"
push_all "a 200 MB jobs.json"
rm -f "$S/coordination/jobs.json"
/usr/bin/time -v -o "$T/work/time" "$COORDSYNC" -C "$C1" sync >"$T/work/out" 2>"$T/work/err" && RC=0 || RC=$?
rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$T/work/time")
[ "$RC" -eq 1 ] || fail "200 MB: sync exited $RC: $(err)"
grep -q "coordination/jobs.json: $bytes bytes is over the 67108864 byte limit" "$T/work/err" || fail "200 MB: $(err)"
state "$T/work/state.after"
cmp -s "$T/work/state.before" "$T/work/state.after" || fail "200 MB: the mirror changed"
outside "$T/work/outside.after"
cmp -s "$T/work/outside.before" "$T/work/outside.after" || fail "200 MB: written outside the clone"
integrity "200 MB"
# Far below the file: the blob is never inflated (ASan's own shadow and
# quarantine need more; the limit stays well under the file's 200 MB).
limit=65536
ldd "$COORDSYNC" | grep -q libasan && limit=131072
[ "$rss" -lt "$limit" ] || fail "200 MB: peak RSS ${rss} kB"
[ ! -e "$C1/coordination/jobs.json" ] || fail "200 MB: checked out into the working tree"
ok "a $bytes-byte jobs.json: exit 1 ($(head -c 110 "$T/work/err")), peak RSS $rss kB, state kept, not checked out"
/usr/bin/time -v -o "$T/work/time" "$COORDSYNC" -C "$C1" job claim >"$T/work/out" 2>"$T/work/err" && RC=0 || RC=$?
rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$T/work/time")
[ "$RC" -eq 1 ] && grep -q "coordination/jobs.json" "$T/work/err" && [ "$rss" -lt "$limit" ] ||
  fail "claim over the 200 MB file: exit $RC, RSS $rss kB: $(err)"
ok "job claim over it: exit 1 naming the file, peak RSS $rss kB"
good coordination/jobs.json 199 >"$S/coordination/jobs.json"
push_all "repair the 200 MB file"
expect_rc 0 cs -C "$C1" sync
snap
[[ $'\n'$STATE == *"$(marker coordination/jobs.json 199)"* ]] && [ -s "$C1/coordination/jobs.json" ] ||
  fail "200 MB: repair"
ok "repair after the 200 MB file imports and is checked out again"
integrity "end"
done_testing
