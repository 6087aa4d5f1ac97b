#!/usr/bin/env bash
# An import after another server changed a shared file replaces only the
# records that differ (engine/import.c import_shared).  Drive 80 random edits
# of jobs.json, locks.json and messages.json with the git CLI -- records
# changed, inserted, deleted and moved, at the start, middle and end, blank
# lines and key order changed, other top-level members added -- and after
# every sync compare the mirror's rows (key, ord, every column) with a fresh
# rebuild.  Also: a duplicate id introduced by an edit is refused and the
# last good rows stay; a decision after each kind of edit still exports a
# surgical diff.
. "$(dirname "$0")/lib.sh"

mkremote r
cs --server build1 init "$T/r.git" "$T/c1" >/dev/null
worktree w "$T/r.git"

# Rows of a shared table as text, in file order: what a rebuild must give.
rows() {
  cs -C "$T/c1" query --format csv "SELECT * FROM $1 ORDER BY ord"
}
compare_with_rebuild() {
  local t
  local -a before=()
  for t in jobs locks messages; do
    before[${#before[@]}]=$(rows "$t")
  done
  cp -a "$T/c1" "$T/c1-rebuilt"
  expect_rc 0 cs -C "$T/c1-rebuilt" rebuild
  local i=0
  for t in jobs locks messages; do
    local after
    after=$(cs -C "$T/c1-rebuilt" query --format csv "SELECT * FROM $t ORDER BY ord")
    [ "${before[$i]}" = "$after" ] || {
      diff <(echo "${before[$i]}") <(echo "$after") | head -20 >&2
      fail "$1: $t rows differ from a rebuild"
    }
    i=$((i + 1))
  done
  rm -rf "$T/c1-rebuilt"
}

# Seed 60 jobs, 8 locks, 20 messages in the seed's style.
python3 - "$T/w/coordination" <<'PY'
import json, sys, os
d = sys.argv[1]
def dump(name, obj):
    with open(os.path.join(d, name), "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
dump("jobs.json", {"jobs": [{"id": "j%03d" % i, "status": "queued", "priority": i % 5,
                             "created_at": 1700000000 + i, "payload": {"n": i}}
                            for i in range(60)]})
dump("locks.json", {"locks": {"l%d" % i: {"locked_by": "build2", "locked_at": 1700000000,
                                          "expires_at": 1700000030, "fence": i + 1}
                              for i in range(8)}})
dump("messages.json", {"messages": [{"id": "m%03d" % i, "from": "build2", "to": "all",
                                     "type": "info", "subject": "s%d" % i,
                                     "timestamp": 1700000000 + i, "read": False}
                                    for i in range(20)]})
PY
git -C "$T/w" add -A && git -C "$T/w" commit -qm seed && git -C "$T/w" push -q origin HEAD:main
expect_rc 0 cs -C "$T/c1" sync
compare_with_rebuild "seed"
ok "seeded 60 jobs, 8 locks, 20 messages; mirror equals a rebuild"

# One job changed in the middle: one row written, not 60.
python3 - "$T/w/coordination/jobs.json" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    doc = json.load(f)
doc["jobs"][30]["status"] = "running"
doc["jobs"][30]["assigned_to"] = "build2"
with open(sys.argv[1], "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
PY
git -C "$T/w" commit -qam "claim j030" && git -C "$T/w" push -q origin HEAD:main
expect_rc 0 cs -C "$T/c1" --json sync
grep -q '"files_imported": 1, "records_imported": 1,' <<<"$OUT" || fail "one changed job: $OUT"
compare_with_rebuild "one job changed"
ok "one job changed in the middle: 1 record imported, mirror equals a rebuild"

# 80 random edits, a sync after each.
edit() {
  python3 - "$T/w/coordination" "$1" <<'PY'
import json, random, sys, os
d, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
name = rnd.choice(["jobs.json", "jobs.json", "locks.json", "messages.json"])
path = os.path.join(d, name)
with open(path) as f:
    doc = json.load(f)
top = name[:-5]
recs = doc[top]
op = rnd.choice(["change", "insert", "delete", "move", "change-first", "change-last",
                 "insert-first", "delete-last", "member", "indent"])
indent = 2
if isinstance(recs, list):
    def fresh():
        return {"id": "%s-new-%d" % (top, seed), "status": "queued", "priority": rnd.randint(0, 9),
                "created_at": 1700001000 + seed, "to": "all", "from": "build3",
                "subject": "x" * rnd.randint(0, 40), "timestamp": 1700001000 + seed}
    if op in ("change", "change-first", "change-last") and recs:
        i = {"change": rnd.randrange(len(recs)), "change-first": 0, "change-last": len(recs) - 1}[op]
        recs[i]["note"] = "edit %d" % seed
        if top == "jobs":
            recs[i]["status"] = rnd.choice(["queued", "running", "done"])
    elif op in ("insert", "insert-first"):
        recs.insert(0 if op == "insert-first" else rnd.randrange(len(recs) + 1), fresh())
    elif op in ("delete", "delete-last") and len(recs) > 2:
        recs.pop(-1 if op == "delete-last" else rnd.randrange(len(recs)))
    elif op == "move" and len(recs) > 2:
        recs.insert(rnd.randrange(len(recs)), recs.pop(rnd.randrange(len(recs))))
    elif op == "member":
        doc["note_%d" % seed] = {"x": seed}
    elif op == "indent":
        indent = 4
else:
    keys = list(recs)
    if op.startswith("change") and keys:
        k = {"change": rnd.choice(keys), "change-first": keys[0], "change-last": keys[-1]}[op]
        recs[k]["fence"] = recs[k].get("fence", 0) + 1
        recs[k]["locked_by"] = rnd.choice(["build2", "build3"])
    elif op.startswith("insert"):
        items = list(recs.items())
        items.insert(0 if op == "insert-first" else rnd.randrange(len(items) + 1),
                     ("lnew-%d" % seed, {"locked_by": "build3", "locked_at": 1700000000,
                                         "expires_at": 1700000060, "fence": 1}))
        doc[top] = dict(items)
    elif op.startswith("delete") and len(keys) > 2:
        del recs[keys[-1] if op == "delete-last" else rnd.choice(keys)]
    elif op == "move" and len(keys) > 2:
        items = list(recs.items())
        items.insert(rnd.randrange(len(items)), items.pop(rnd.randrange(len(items))))
        doc[top] = dict(items)
    elif op == "member":
        doc["note_%d" % seed] = [seed]
    elif op == "indent":
        indent = 4
with open(path, "w") as f:
    json.dump(doc, f, indent=indent)
    f.write("\n")
print(name, op)
PY
}
for i in $(seq 1 80); do
  what=$(edit "$i")
  git -C "$T/w" commit -qam "edit $i: $what" || continue
  git -C "$T/w" push -q origin HEAD:main
  expect_rc 0 cs -C "$T/c1" sync
  # A full comparison every few edits keeps the test short; the last always.
  if [ $((i % 4)) -eq 0 ] || [ "$i" -eq 80 ]; then
    compare_with_rebuild "edit $i ($what)"
  fi
done
ok "80 random edits (change/insert/delete/move at start, middle, end; new members; indent): mirror equals a rebuild"

# A decision on top of the edited files still exports surgically.
expect_rc 0 cs -C "$T/c1" job claim
claimed=$OUT
git -C "$T/w" pull -q origin main
lines=$(git -C "$T/w" diff HEAD~1 --stat -- coordination/jobs.json | tail -1)
changed=$(git -C "$T/w" diff HEAD~1 --numstat -- coordination/jobs.json | awk '{print $1 + $2}')
[ "$changed" -le 12 ] || fail "claim of $claimed rewrote $changed lines: $lines"
compare_with_rebuild "after claim"
ok "a claim after the edits changes $changed lines of jobs.json; mirror equals a rebuild"

# An edit that duplicates an id in the middle is refused; rows stay.
before=$(rows jobs)
python3 - "$T/w/coordination/jobs.json" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    doc = json.load(f)
jobs = doc["jobs"]
dup = dict(jobs[len(jobs) // 2])
dup["id"] = jobs[3]["id"]
jobs[len(jobs) // 2] = dup
with open(sys.argv[1], "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
PY
git -C "$T/w" commit -qam "duplicate id" && git -C "$T/w" push -q origin HEAD:main
expect_rc 1 cs -C "$T/c1" sync
grep -q "duplicate job" <<<"$OUT" || fail "no duplicate error: $OUT"
[ "$(rows jobs)" = "$before" ] || fail "rows changed after a refused import"
git -C "$T/w" revert --no-edit HEAD >/dev/null && git -C "$T/w" push -q origin HEAD:main
expect_rc 0 cs -C "$T/c1" sync
compare_with_rebuild "after the revert"
ok "a duplicate id in a changed record is refused, rows kept; the revert imports"

# ---- the clone's working tree follows each decision and sync -------------------

[ -z "$(git -C "$T/c1" status --porcelain)" ] || fail "working tree not clean: $(git -C "$T/c1" status --porcelain)"
git -C "$T/c1" diff --quiet HEAD || fail "working tree differs from HEAD"
[ "$(git -C "$T/c1" rev-parse HEAD)" = "$(git -C "$T/r.git" rev-parse main)" ] || fail "HEAD is not the remote head"
ok "after syncs and a claim the clone's working tree and index equal the remote head"

# A file edited by hand is left alone by a decision that changes it.
printf ' ' >>"$T/c1/coordination/locks.json"
edited=$(sha256sum <"$T/c1/coordination/locks.json")
expect_rc 0 cs -C "$T/c1" lock acquire handlock
[ "$(sha256sum <"$T/c1/coordination/locks.json")" = "$edited" ] || fail "hand edit overwritten"
git -C "$T/c1" show HEAD:coordination/locks.json | grep -q handlock || fail "HEAD lacks the lock"
[ "$(git -C "$T/c1" status --porcelain)" = " M coordination/locks.json" ] ||
  fail "status after a kept hand edit: $(git -C "$T/c1" status --porcelain)"
git -C "$T/c1" checkout -q -- coordination/locks.json
expect_rc 0 cs -C "$T/c1" lock release handlock
[ -z "$(git -C "$T/c1" status --porcelain)" ] || fail "not clean after the edit was undone"
git -C "$T/c1" show HEAD:coordination/locks.json | cmp -s - "$T/c1/coordination/locks.json" ||
  fail "locks.json not updated once the hand edit was undone"
ok "a hand-edited file is left as it is by a decision (git status shows it); once undone, decisions update it again"

# Files another server adds and removes appear and go.
git -C "$T/w" pull -q origin main
mkdir -p "$T/w/build2"
pyjson "$T/w/build2/status.json" '{"status": "idle", "timestamp": 1700000000}'
git -C "$T/w" add -A && git -C "$T/w" commit -qm "build2 status" && git -C "$T/w" push -q origin HEAD:main
expect_rc 0 cs -C "$T/c1" sync
cmp -s "$T/w/build2/status.json" "$T/c1/build2/status.json" || fail "build2/status.json not in the working tree"
git -C "$T/w" rm -q -r build2 && git -C "$T/w" commit -qm "build2 gone" && git -C "$T/w" push -q origin HEAD:main
expect_rc 0 cs -C "$T/c1" sync
[ ! -e "$T/c1/build2" ] || fail "build2/ still in the working tree"
[ -z "$(git -C "$T/c1" status --porcelain)" ] || fail "not clean: $(git -C "$T/c1" status --porcelain)"
ok "a server directory added and removed upstream appears in and leaves the working tree"

# A clone more than 256 commits behind a local remote: the object copy gives
# way to libgit2's fetch, and the sync still succeeds at once.
mkdir -p "$T/w/build2"
for i in $(seq 1 300); do
  printf '{"status": "s%d", "timestamp": 1700000000}\n' "$i" >"$T/w/build2/status.json"
  git -C "$T/w" add build2/status.json && git -C "$T/w" commit -qm "status $i"
done
git -C "$T/w" push -q origin HEAD:main
expect_rc 0 cs -C "$T/c1" sync
[ "$(cs -C "$T/c1" query --format csv "SELECT status FROM servers WHERE id='build2'" | tail -1)" = s300 ] ||
  fail "300 commits behind: build2's status not imported"
ok "300 commits behind a local remote: one sync (libgit2's fetch) imports them, exit 0"

# The text check of a new version covers only the records that differ when
# the version the rows hold passed it (engine/import.c import_shared): a bad
# byte in a changed record -- first, middle or last, each kind the check
# knows -- is reported with the message, line and column a whole check (a
# rebuild) gives, the last good rows stay, and the fixed file imports.
# (The good version comes from another server, so that this clone's import
# checked it: a version its own decision wrote is checked whole next time.)
git -C "$T/w" pull -q origin main 2>/dev/null
sed -i '0,/"priority": [0-9]*/s//"priority": 7/' "$T/w/coordination/jobs.json"
git -C "$T/w" commit -qam "another server's change" && git -C "$T/w" push -q origin HEAD:main
expect_rc 0 cs -C "$T/c1" sync
good=$(git -C "$T/w" rev-parse HEAD)
n=0
for where in first middle last; do
  for bad in number control utf8 nul-escape; do
    n=$((n + 1))
    python3 - "$T/w/coordination/jobs.json" "$where" "$bad" <<'PY'
import sys
path, where, bad = sys.argv[1:]
text = open(path, "rb").read()
starts = [i for i in range(len(text)) if text.startswith(b'\n    {\n', i)]
at = {"first": starts[0], "middle": starts[len(starts) // 2], "last": starts[-1]}[where]
i = text.index(b'"status": "', at) + len(b'"status": "')
if bad == "number":
    j = text.index(b'"priority": ', at) + len(b'"priority": ')
    text = text[:j] + b"0" + text[j:]         # 03: a leading zero
elif bad == "control":
    text = text[:i] + b"\t" + text[i:]        # a raw tab inside a string
elif bad == "utf8":
    text = text[:i] + b"\xc3(" + text[i:]     # a broken two-byte sequence
else:
    text = text[:i] + b"\\u0000" + text[i:]
open(path, "wb").write(text)
PY
    git -C "$T/w" commit -qam "bad $where $bad" && git -C "$T/w" push -q origin HEAD:main
    expect_rc 1 cs -C "$T/c1" sync
    got=$(head -1 <<<"$OUT")   # the error; the summary line differs
    cp -a "$T/c1" "$T/c1-full"
    expect_rc 1 cs -C "$T/c1-full" rebuild
    want=$(head -1 <<<"$OUT")
    rm -rf "$T/c1-full"
    [ -n "$got" ] && [ "$got" = "$want" ] || fail "$where $bad: sync says '$got', a rebuild '$want'"
    git -C "$T/w" checkout -q "$good" -- coordination/jobs.json
    git -C "$T/w" commit -qam "fix $where $bad" && git -C "$T/w" push -q origin HEAD:main
    expect_rc 0 cs -C "$T/c1" sync
  done
done
compare_with_rebuild "after $n bad versions and their fixes"
ok "a bad byte in a changed record ($n cases): the message a whole check gives; the fixed file imports"

# Versions are shared by blob id within a sync, but a record listing is of
# one kind of file: the same bytes as jobs.json and as messages.json (a file
# holding both members) give each table its own records.
python3 - "$T/w/coordination" <<'PY'
import json, os, sys
doc = {"jobs": [{"id": "both-j%d" % i, "status": "queued", "priority": 1} for i in range(3)],
       "messages": [{"id": "both-m%d" % i, "from": "build2", "to": "all", "type": "info",
                     "subject": "s", "timestamp": 1700000000, "read": False} for i in range(2)]}
for name in ("jobs.json", "messages.json"):
    with open(os.path.join(sys.argv[1], name), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
PY
git -C "$T/w" commit -qam "one text, two files" && git -C "$T/w" push -q origin HEAD:main
[ "$(git -C "$T/w" rev-parse HEAD:coordination/jobs.json)" = "$(git -C "$T/w" rev-parse HEAD:coordination/messages.json)" ] || fail "not the same blob"
expect_rc 0 cs -C "$T/c1" sync
got=$(cs -C "$T/c1" query --format csv "SELECT (SELECT group_concat(id, '+') FROM (SELECT id FROM jobs ORDER BY ord)) || ' ' || (SELECT group_concat(id, '+') FROM (SELECT id FROM messages ORDER BY ord))" | tail -1)
[ "$got" = "both-j0+both-j1+both-j2 both-m0+both-m1" ] || fail "one blob as two files: $got"
compare_with_rebuild "one blob as jobs.json and messages.json"
ok "the same blob as jobs.json and as messages.json: each table gets its own records"

done_testing
