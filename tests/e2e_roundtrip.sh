#!/usr/bin/env bash
# Byte-identical round trip and surgical export: a git-CLI server writes the
# seed's files (json.dump indent=2, with fields coordsync does not know);
# coordsync syncs, rebuilds, decides; every decision must touch only the
# record it changed and keep the seed's style.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

mkremote r
worktree s2 "$T/r.git"

# ---- helpers ---------------------------------------------------------------------

# Python checks shared by the three decisions.
cat >"$T/check.py" <<'PY'
import json, re, subprocess, sys

def records(lines):
    """[start, end] (1-based, inclusive) of each record at depth 2 (indent 4)."""
    out, start = [], None
    for i, l in enumerate(lines, 1):
        if start is None and re.match(r'^    (".*": )?\{$', l):
            start = i
        elif start is not None and re.match(r'^    \},?$', l):
            out.append((start, i))
            start = None
    return out

def record_of(lines, marker):
    """The record whose first lines contain marker (id line or name line)."""
    for s, e in records(lines):
        if any(marker in lines[k - 1] for k in range(s, min(e, s + 2) + 1)):
            return s, e
    raise SystemExit("no record with %r" % marker)

def main():
    old_f, new_f, diff_f, kind, key, changed, maxlines = sys.argv[1:8]
    changed = set(changed.split(","))
    old_t, new_t = open(old_f).read(), open(new_f).read()
    old_l, new_l = old_t.split("\n"), new_t.split("\n")
    marker = ('"id": "%s"' % key) if kind == "list" else ('"%s": {' % key)
    ns, ne = record_of(new_l, marker)
    added = marker not in old_t
    if added:   # a new record: the old side may only gain a comma before it
        os_, oe = ns - 1, ns - 1
        ns -= 1
    else:
        os_, oe = record_of(old_l, marker)
    # (b) the diff touches only lines of that record
    n = 0
    for l in open(diff_f).read().split("\n"):
        m = re.match(r'^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@', l)
        if m:
            a, b = int(m.group(1)), int(m.group(2) or 1)
            c, d = int(m.group(3)), int(m.group(4) or 1)
            if b and not (os_ <= a and a + b - 1 <= oe):
                raise SystemExit("diff removes lines %d..%d outside record %d..%d" % (a, a + b - 1, os_, oe))
            if d and not (ns <= c and c + d - 1 <= ne):
                raise SystemExit("diff adds lines %d..%d outside record %d..%d" % (c, c + d - 1, ns, ne))
            n += b + d
    if n == 0 or n > int(maxlines):
        raise SystemExit("diff changes %d lines (want 1..%s)" % (n, maxlines))
    # (c) exactly the style of json.dump(indent=2) + newline
    new = json.loads(new_t)
    if json.dumps(new, indent=2) + "\n" != new_t:
        raise SystemExit("new file is not in json.dump(indent=2) style")
    # (d) equal except the decision's fields; unknown fields and key order kept
    old = json.loads(old_t)
    assert list(old.keys()) == list(new.keys()), "top-level keys changed"
    coll = list(old.keys())[0]
    if kind == "list":
        om = [(r["id"], r) for r in old[coll]]
        nm = [(r["id"], r) for r in new[coll]]
    else:
        om, nm = list(old[coll].items()), list(new[coll].items())
    if added:
        if nm[-1][0] != key:
            raise SystemExit("new record %s is not last" % key)
        nm = nm[:-1]
    if [k for k, _ in om] != [k for k, _ in nm]:
        raise SystemExit("record ids or order changed")
    for (k, o), (_, nw) in zip(om, nm):
        if k != key:
            if o != nw or list(o.keys()) != list(nw.keys()):
                raise SystemExit("record %s changed" % k)
            continue
        ok_ = [x for x in o if x not in changed]
        nk = [x for x in nw if x not in changed]
        if ok_ != nk:
            raise SystemExit("keys of %s changed: %s -> %s" % (k, list(o), list(nw)))
        if list(nw.keys())[:len(o)] != list(o.keys()):
            raise SystemExit("key order of %s changed: %s -> %s" % (k, list(o), list(nw)))
        for x in ok_:
            if o[x] != nw[x] or type(o[x]) != type(nw[x]):
                raise SystemExit("field %s.%s changed" % (k, x))
    print("%d diff lines in record %d..%d" % (n, os_, oe))

main()
PY

# surgical NAME FILE KIND KEY FIELDS MAXLINES CMD...: run a decision, then
# check the remote moved by one commit that changes only FILE, only inside
# record KEY, in the seed's style, and only FIELDS of it.
surgical() {
  local name=$1 file=$2 kind=$3 key=$4 fields=$5 maxl=$6; shift 6
  local before after
  before=$(git -C "$T/r.git" rev-parse main)
  expect_rc 0 "$@"
  after=$(git -C "$T/r.git" rev-parse main)
  [ "$before" != "$after" ] || fail "$name: remote did not move"
  [ "$(git -C "$T/r.git" rev-parse "$after^")" = "$before" ] || fail "$name: not one commit on top of $before"
  ok "$name: one commit whose parent is the old head"
  # (a) every other file keeps its blob id
  diff <(git -C "$T/r.git" ls-tree -r "$before" | grep -v "	$file\$") \
       <(git -C "$T/r.git" ls-tree -r "$after" | grep -v "	$file\$") >/dev/null ||
    fail "$name: files other than $file changed"
  [ "$(git -C "$T/r.git" rev-parse "$before:$file")" != "$(git -C "$T/r.git" rev-parse "$after:$file")" ] ||
    fail "$name: $file did not change"
  [ "$(git -C "$T/r.git" diff --name-only "$before" "$after")" = "$file" ] || fail "$name: diff names other files"
  ok "$name: untouched files are byte-identical (same blob ids)"
  git -C "$T/r.git" show "$before:$file" >"$T/old.json"
  git -C "$T/r.git" show "$after:$file" >"$T/new.json"
  git -C "$T/r.git" diff -U0 "$before" "$after" -- "$file" >"$T/diff.txt"
  python3 "$T/check.py" "$T/old.json" "$T/new.json" "$T/diff.txt" "$kind" "$key" "$fields" "$maxl" >"$T/check.out" 2>&1 ||
    fail "$name: $(cat "$T/check.out") -- diff: $(cat "$T/diff.txt")"
  ok "$name: diff only inside the record, seed style, only ${fields:-(new record)} changed ($(cat "$T/check.out"))"
}

# ---- another server writes the seed's files -----------------------------------------

python3 - "$T/s2" <<'PY'
import json, os, sys
root = sys.argv[1]
def dump(path, obj):
    p = os.path.join(root, path)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")

jobs = []
for i in range(50):
    j = {"id": "j%03d" % i, "type": "build", "status": "queued", "assigned_to": None,
         "priority": 5 + i % 3, "created_at": "2026-01-01T00:%02d:00Z" % i,
         "started_at": None}
    if i % 2:
        j["created_at"] = 1767225600 + i * 60          # epoch seconds
    if i % 5 == 0:
        j["payload"] = {"target": "vnf-%d" % i, "flags": ["-O2", "-g"],
                        "limits": {"cpu": 2.5, "eps": 1e-07, "mem": None},
                        "ok": True}
    if i % 7 == 0:
        j["note"] = "r\u00e9sum\u00e9 \u00fcber \u65e5\u672c \U0001F600"
    if i % 3 == 0:
        j["status"] = "done"
        j["assigned_to"] = "build2"
        j["completed_at"] = 1767230000.25
    jobs.append(j)
# The one job the claim must take: lowest priority number, unknown fields of
# every kind, between other records.
jobs[25] = {"id": "j025", "type": "deploy", "status": "queued", "assigned_to": None,
            "priority": 0, "created_at": "2026-01-01T00:00:00Z", "started_at": None,
            "spec": {"steps": [{"name": "a", "weight": 2.5}, {"name": "b", "eps": 1e-07}],
                     "env": {"LANG": "C.UTF-8", "empty": {}, "none": []}},
            "labels": ["\u00fcn\u00efc\u00f6de", "emoji \U0001F680", "tab\there", "quote\"q"],
            "ratio": 0.1, "big": 12345678901234567890, "neg": -3, "exp": 6.02e+23}
# times in all the forms the seed uses
jobs += [
    {"id": "t-iso", "status": "done", "assigned_to": "build2", "priority": 9, "created_at": "2026-01-02T03:04:05Z"},
    {"id": "t-int", "status": "done", "assigned_to": "build2", "priority": 9, "created_at": 1767323045},
    {"id": "t-frac", "status": "done", "assigned_to": "build2", "priority": 9, "created_at": 1767323045.5},
    {"id": "t-off", "status": "done", "assigned_to": "build2", "priority": 9, "created_at": "2026-01-02T03:04:05+02:00"},
]
dump("coordination/jobs.json", {"jobs": jobs, "version": 2, "generated_by": {"tool": "seed", "v": 1.5}})

far = 4102444800  # 2100-01-01
dump("coordination/locks.json", {"locks": {
    # held (the seed's job_assignment, held, would stop the claim below)
    "nightly": {"locked_by": "build2", "locked_at": far - 30, "expires_at": far,
                "purpose": "jobs", "history": [{"by": "build2", "at": 1.5}]},
    "job_assignment": {"locked_by": None, "locked_at": None, "expires_at": None},
    "deploy": {"locked_by": None, "locked_at": None, "expires_at": None,
               "owner_note": "caf\u00e9 \U0001F512", "limits": {"max": 2.5, "eps": 1e-07},
               "tags": ["x", None, True]},
    "message_queue": {"locked_by": None, "locked_at": None, "expires_at": None},
}, "schema": "v1"})

dump("coordination/messages.json", {"messages": [
    {"id": "m1", "from": "build2", "to": "build1", "type": "info", "subject": "hello",
     "body": "first", "timestamp": "2026-01-02T03:04:05Z", "read": False},
    {"id": "m2", "from": "build2", "to": "build1", "type": "request",
     "subject": "r\u00e9view \U0001F440", "body": "line1\nline2", "timestamp": 1767323045,
     "read": False, "attachments": [{"name": "log.txt", "size": 2.5}], "prio": 1e-07},
    {"id": "m3", "from": "build2", "to": "all", "type": "info", "subject": "bcast",
     "body": "", "timestamp": 1767323045.5, "read": False},
]})
dump("build2/status.json", {"server": "build2", "status": "building",
     "timestamp": "2026-01-02T03:04:05Z", "load": [0.5, 1.25, 2.5],
     "disk": {"free_gb": 12.5, "eps": 1e-07}, "motto": "\u00e7a va \U0001F44D"})
dump("build2/heartbeat.json", {"server": "build2", "timestamp": 1767323045, "seq": 17})
PY
git -C "$T/s2" add -A
git -C "$T/s2" commit -qm "seed state from build2"
git -C "$T/s2" push -q origin main
ok "git-CLI server pushed the seed files"

# ---- coordsync imports them ---------------------------------------------------------

expect_rc 0 cs init "$T/r.git" "$T/c1" --server build1
[ "$(git -C "$T/r.git" rev-parse main^)" = "$(git -C "$T/s2" rev-parse HEAD)" ] || fail "init pushed more than one commit"
[ "$(git -C "$T/r.git" diff --name-only main^ main | tr '\n' ' ')" = "build1/heartbeat.json build1/status.json " ] ||
  fail "init pushed more than its status files"
ok "init imports, and pushes only its server's status files"
expect_rc 0 cs -C "$T/c1" sync
expect_rc 0 cs -C "$T/c1" rebuild
ok "sync and rebuild exit 0"
expect_rc 0 cs -C "$T/c1" query --format csv "SELECT count(*) AS n FROM jobs"
[ "$(echo "$OUT" | tail -n 1)" = 54 ] || fail "jobs count after rebuild: $OUT"
expect_rc 0 cs -C "$T/c1" query --format csv "SELECT (SELECT count(*) FROM locks), (SELECT count(*) FROM messages), (SELECT count(*) FROM servers WHERE id='build2' AND status='building')"
[ "$(echo "$OUT" | tail -n 1)" = "4,3,1" ] || fail "locks/messages/servers after rebuild: $OUT"
ok "mirror holds 54 jobs, 4 locks, 3 messages, build2's status"

# The mirror keeps each record's text byte for byte.
expect_rc 0 cs -C "$T/c1" query --format json "SELECT json FROM jobs WHERE id='j025'"
python3 - "$T/s2/coordination/jobs.json" "$OUT" <<'PY' || fail "j025's json column is not its original text"
import json, sys
text = open(sys.argv[1]).read()
row = json.loads(sys.argv[2])[0]["json"]
assert row in text and row.startswith("{") and '"id": "j025"' in row, row
PY
ok "json column keeps the record's original text"

# ---- times ----------------------------------------------------------------------------

expect_rc 0 cs -C "$T/c1" query --format json "SELECT id, created_at FROM jobs WHERE id LIKE 't-%' ORDER BY id"
python3 - "$OUT" <<'PY' || fail "created_at epochs: $OUT"
import calendar, datetime, json, sys
got = {r["id"]: r["created_at"] for r in json.loads(sys.argv[1])}
base = calendar.timegm((2026, 1, 2, 3, 4, 5))
want = {"t-iso": base, "t-int": 1767323045, "t-frac": 1767323045.5,
        "t-off": datetime.datetime.fromisoformat("2026-01-02T03:04:05+02:00").timestamp()}
assert base == 1767323045
for k, v in want.items():
    assert got.get(k) is not None and abs(got[k] - v) < 1e-6, (k, got.get(k), v)
PY
ok "created_at as ISO Z, integer epoch, fractional epoch and +02:00 offset give the right epochs"

# ---- surgical export ------------------------------------------------------------------

surgical "job claim" coordination/jobs.json list j025 status,assigned_to,started_at,attempts,fence 10 \
  cs -C "$T/c1" job claim
[ "$(echo "$OUT" | tail -n 1)" = j025 ] || fail "claimed $OUT, not j025"
ok "claim took the lowest priority number (j025)"

surgical "lock acquire" coordination/locks.json map deploy locked_by,locked_at,expires_at,fence 10 \
  cs -C "$T/c1" lock acquire deploy --ttl 120
python3 - "$T/new.json" <<'PY' || fail "deploy lock fields: $(cat "$T/new.json")"
import json, sys
l = json.load(open(sys.argv[1]))["locks"]["deploy"]
assert l["locked_by"] == "build1", l
assert type(l["locked_at"]) is int and type(l["expires_at"]) is int, l
assert l["expires_at"] - l["locked_at"] == 120, l
assert type(l["fence"]) is int and l["fence"] >= 1, l
PY
ok "lock written with integer epoch seconds and a fence"

surgical "msg read" coordination/messages.json list m2 read,read_by 4 \
  cs -C "$T/c1" msg read m2
python3 -c 'import json,sys; m=[m for m in json.load(open(sys.argv[1]))["messages"] if m["id"]=="m2"][0]; assert m["read"] is True, m' \
  "$T/new.json" || fail "m2 not marked read"
ok "m2 marked read"

# A record appended by coordsync is in the seed's style too.
surgical "job add" coordination/jobs.json list new1 "" 40 \
  cs -C "$T/c1" job add --id new1 --priority 3 --set 'meta={"a": [1, 2.5]}' --set note=plain

# ---- a sync with nothing to do changes nothing ----------------------------------------

db="$T/c1/.git/coordsync/mirror.db"
# (no settling sync first: right after a decision there is nothing to do either)
state() {
  git -C "$T/r.git" rev-parse main
  git -C "$T/r.git" rev-list --count main
  git -C "$T/c1" rev-parse HEAD
  git -C "$T/c1" status --porcelain
  sha256sum "$db"
  [ -f "$db-wal" ] && sha256sum "$db-wal"
  (cd "$T/c1" && find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha256sum)
}
state >"$T/state1"
expect_rc 0 cs -C "$T/c1" sync
state >"$T/state2"
diff "$T/state1" "$T/state2" >"$T/state.diff" || fail "no-op sync changed something: $(cat "$T/state.diff")"
ok "no-op sync: same remote head, no new commit, mirror.db (and -wal) bytes and working tree unchanged"

# And after all that, the mirror still matches what a rebuild gives.
expect_rc 0 cs -C "$T/c1" query --format csv "SELECT id, status, assigned_to, priority, created_at, json FROM jobs ORDER BY id"
before=$OUT
expect_rc 0 cs -C "$T/c1" rebuild
expect_rc 0 cs -C "$T/c1" query --format csv "SELECT id, status, assigned_to, priority, created_at, json FROM jobs ORDER BY id"
[ "$before" = "$OUT" ] || fail "mirror after decisions differs from a rebuild"
ok "mirror after decisions equals a fresh rebuild"

done_testing
