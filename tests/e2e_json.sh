#!/usr/bin/env bash
# --json: every command prints exactly one JSON object on stdout (the daemon
# one a cycle, JSON Lines), each top-level member it prints is documented in
# docs/JSON.md, and errors (usage, refused, not found) are one JSON object on
# stderr with the exit status the command returns.  Every command of
# `coordsync --help` must have a case in the table below: a new command
# without one fails here.  Then times: ISO-8601 UTC (…Z) whatever TZ is, and
# --local shows the same instants with the local offset.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/jiralib.sh"   # the jira commands' cases run against the stand-in
DOC="$TESTS_DIR/../docs/JSON.md"
[ -f "$DOC" ] || fail "no docs/JSON.md"

# A sanitizer build lists the leak suppressions it used on stderr at exit,
# which is no JSON: not that list (a leak still fails the exit status).
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}print_suppressions=0"

two_clones
cs "${A[@]}" heartbeat && cs "${B[@]}" heartbeat
echo "a log line" >"$T/x.log"
printf '[{"id": "f1"}, {"id": "f2", "priority": 2}]' >"$T/jobs.json"
echo "SELECT :n AS n" >"$T/q.sql"
printf 'tok-json-31\n' >"$T/token"
chmod 600 "$T/token"
start_standin jira --user alice@example.invalid
jira_clone "$T/a" "$BASE"
cat >"$T/tickets.json" <<'EOF2'
{"tickets": [{"id": "json-case", "summary": "A ticket of e2e_json", "type": "Task",
  "assignee": "alice", "reporter": "alice", "status": "To Do"}]}
EOF2

# check CMD WANT-RC: the last run ($T/out, $T/err, $RC) as --json promises.
# WANT-RC is a status or a comma-separated list (health's depend on the fleet).
check() {
  python3 - "$DOC" "$1" "$2" "$RC" "$T/out" "$T/err" <<'PY' || fail "$1 --json: $(head -c 1500 "$T/out") -- $(head -c 1500 "$T/err")"
import json, re, sys
doc, cmd, want, rc, out, err = sys.argv[1:]
rc = int(rc)
assert rc in [int(w) for w in want.split(",")], f"exit {rc}, want {want}"
# The members docs/JSON.md lists for each command: a heading `### coordsync
# CMD` (several may share a section), then items "- `member` (type): ...".
members, cur = {}, []
for line in open(doc, encoding="utf-8"):
    m = re.match(r"^###\s+(.*)$", line)
    if m:
        cur = re.findall(r"`coordsync ([a-z -]+?)`", m.group(1))
        for c in cur:
            members.setdefault(c, set())
        continue
    if line.startswith("## "):
        cur = []
    # "- `a` (type), `b` (type): ..." documents a and b (the names before ": ").
    if line.startswith("- `"):
        for c in cur:
            members[c].update(re.findall(r"`([A-Za-z_]+)`", line.split(": ", 1)[0]))
assert cmd in members, f"docs/JSON.md has no section for `coordsync {cmd}`"
text = open(out, encoding="utf-8").read()
if rc == 0 or text.strip():
    # daemon: JSON Lines, one object a cycle; every other command one object.
    objs = [json.loads(l) for l in text.splitlines() if l.strip()] if cmd == "daemon" else [json.loads(text)]
    assert objs, "no output"
    for o in objs:
        assert isinstance(o, dict), f"not an object: {o!r}"
        undoc = set(o) - members[cmd]
        assert not undoc, f"members not in docs/JSON.md under `coordsync {cmd}`: {sorted(undoc)}"
# stderr: a JSON object a line (notices, log lines, the error)
errs = [json.loads(l) for l in open(err, encoding="utf-8").read().splitlines() if l.strip()]
assert all(isinstance(e, dict) for e in errs), errs
errors = [e["error"] for e in errs if "error" in e]
# health answers its states (1-3) on stdout; its usage errors are errors.
if rc and (cmd != "health" or not text.strip()):
    assert len(errors) == 1, f"want one error object on stderr: {errs}"
    e = errors[0]
    assert isinstance(e["message"], str) and e["message"], e
    assert e["exit"] == rc, f"error says exit {e['exit']}, command exited {rc}"
    assert e["code"] in ("usage", "error", "invalid", "refused", "not_found", "busy"), e
    print(e["code"])
elif rc == 0:
    assert not errors, f"an error object on success: {errs}"
PY
}

# jrun WHO CMD ARGS...: coordsync --json as WHO (A, B, or - for no -C).
jrun() {
  local who=$1 cmd=$2; shift 2
  local c=()
  [ "$who" = A ] && c=("${A[@]}")
  [ "$who" = B ] && c=("${B[@]}")
  # shellcheck disable=SC2086
  run_err timeout 120 "$COORDSYNC" "${c[@]}" --json $cmd "$@" </dev/null
}

# val KEY: a member of the last answer.
val() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/out" "$1"; }

# ---- 1. every command --------------------------------------------------------
# The cases, in order: WHO | COMMAND | EXIT | ARGS (expanded by eval: $MSG and
# $INTENT are ids earlier cases printed).  Add a line for a new command.
CASES='
-|init|0|--server build3 "$T/r.git" "$T/c"
A|sync|0|
A|rebuild|0|
A|accept-history|0|
A|query|0|"SELECT 1 AS one, 2 AS two"
A|info|0|
A|lock acquire|0|deploy --ttl 60
A|lock renew|0|deploy --ttl 60
A|lock list|0|
A|lock release|0|deploy
A|lock cleanup|0|
A|job add|0|--id j1 --priority 1
A|job claim|0|
A|job done|0|j1 --result ok
A|job add|0|--id j2
A|job claim|0|
A|job fail|0|j2 --error broken
A|job add|0|--id j3
A|job cancel|0|j3
A|job rescue|0|
A|job list|0|
A|msg send|0|build2 --subject hello --body world
B|msg inbox|0|--all
B|msg read|0|"$MSG"
A|status set|0|busy --set task=x
A|heartbeat|0|
-|demo|0|"$T/demo"
A|health|0,1,2|
A|report|0|fleet
A|report|0|--list
A|report|0|fleet -o "$T/fleet.json"
A|run|0|
A|daemon|0|--max-cycles 1 --no-serve
A|config|0|
A|compact|0|--older-than 0
A|logs push|0|"$T/x.log"
A|msg autoreply|0|
A|status set|0|later --defer
A|outbox list|0|
A|outbox retry|0|--all
A|outbox drop|0|"$INTENT"
A|validate|0|
A|validate|0|--install-hook
A|schema|0|
A|schema|0|jobs
A|job add|0|--from "$T/jobs.json"
A|job show|0|f1
A|job claim|0|
A|job cancel|0|f1
A|job rescue|0|--older-than 0 --dry-run
A|lock cleanup|0|-n
A|compact|0|--older-than 0 --dry-run
A|msg send|0|build1 --subject one
A|msg read|0|--all
A|query|0|--param n=3 -f "$T/q.sql"
A|health|0,1,2|-w 1000 -c 2000
A|logs list|0|
A|logs get|0|x.log
A|logs get|0|x.log -o "$T/got.log"
A|jira sync|0|
A|jira index|0|
A|jira create|0|"$T/tickets.json"
A|jira verify|0|--file "$T/tickets.json"
A|jira verify|1|VNF-1 --status Done
A|jira curate|0|
A|jira backlog|0|VNF-2
A|jira plan|0|"Sprint J"
'
MSG=none INTENT=none
covered=" "
while IFS='|' read -r who cmd want args; do
  [ -n "$cmd" ] || continue
  eval "set -- $args"
  jrun "$who" "$cmd" "$@"
  check "$cmd" "$want" >/dev/null
  case "$cmd" in
    "msg send") MSG=$(val id) ;;
    "outbox list") INTENT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"][0]["id"])' "$T/out") ;;
  esac
  covered="$covered$cmd|"
done <<<"$CASES"
ok "every case prints one JSON object whose members docs/JSON.md documents"

# Every command of --help has a case.
missing=()
while IFS= read -r cmd; do
  [[ "$covered" == *" $cmd|"* || "$covered" == *"|$cmd|"* ]] || missing+=("$cmd")
done < <(cs --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \(.\{16\}\).*/\1/p' | sed 's/ *$//')
[ ${#missing[@]} = 0 ] || fail "no --json case for: ${missing[*]} (add a line to CASES)"
ok "every command in coordsync --help has a --json case"

# Lists are {"rows": [...]}; query --format json stays the array it was.
cs "${A[@]}" job add --id j4 >/dev/null
jrun A "job list"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [r["id"] for r in d["rows"] if r["status"]=="queued"]==["j4"], d' "$T/out" ||
  fail "job list --json: $(cat "$T/out")"
cs "${A[@]}" job cancel j4
run_err cs "${A[@]}" query --format json "SELECT 1 AS one"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))==[{"one":1}]' "$T/out" ||
  fail "query --format json is no longer the array: $(cat "$T/out")"
jrun A query "SELECT 1 AS one"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))=={"rows":[{"one":1}]}' "$T/out" ||
  fail "query --json: $(cat "$T/out")"
ok "lists under --json are {\"rows\": [...]}; query --format json is still an array"

# ---- 2. errors on stderr, with the exit status -----------------------------------
expect_code() {  # WANT-CODE: the code check printed
  local code
  code=$(check "$1" "$2") || exit 1
  [ "$code" = "$3" ] || fail "$1: error code '$code', want '$3': $(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "$1: stdout on an error: $(cat "$T/out")"
}
jrun A "lock acquire"
expect_code "lock acquire" 2 usage
jrun A "lock acquire" x --ttl soon
expect_code "lock acquire" 2 usage
jrun A "job list" --bogus
expect_code "job list" 2 usage
run_err cs "${A[@]}" --json health --max-age 0
expect_code health 3 usage
ok "usage errors: one JSON object on stderr, exit 2 (health: 3)"

run_err cs --json lock bogus
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e["code"]=="usage" and e["exit"]==2, e' "$T/err" ||
  fail "unknown command: $(cat "$T/err")"
[ "$RC" = 2 ] || fail "unknown command: exit $RC"
ok "an unknown command: a JSON usage error"

jrun A "lock acquire" gate --ttl 60
jrun B "lock acquire" gate
expect_code "lock acquire" 3 refused
jrun B "job claim" --wait 0
expect_code "job claim" 3 refused
ok "a refused decision: one JSON error object, code refused, exit 3"

jrun A "job done" no-such-job
expect_code "job done" 1 not_found
jrun A "msg read" no-such-message
expect_code "msg read" 1 not_found
jrun A "outbox drop" 99999
expect_code "outbox drop" 1 not_found
ok "not found: one JSON error object, code not_found, exit 1"

# The answers of the newer commands: their values, not only their shape.
jrun A "logs get" x.log
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"name":"x.log","size":11,"text":"a log line\n"}, d' "$T/out" ||
  fail "logs get --json: $(cat "$T/out")"
jrun A "jira verify" VNF-1 --status Done --assignee nobody
check "jira verify" 1 >/dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["mismatches"]==2 and [r["field"] for r in d["rows"] if not r["ok"]]==["assignee","status"], d' "$T/out" ||
  fail "jira verify --json: $(cat "$T/out")"
ok "logs get --json: the text; jira verify --json: the checks and the mismatches, exit 1"
jrun A query -f "$T/no-such.sql"
expect_code query 2 invalid
jrun A "logs get" x.log -o "$T/no-such-dir/x.log"
expect_code "logs get" 1 error
ok "query -f, logs get -o: a file that cannot be read or written is one JSON error"
run_err cs --json help
[ "$RC" = 0 ] && grep -q '^usage: coordsync' "$T/out" || fail "help --json: $RC $(cat "$T/out")"
ok "help stays text under --json, as --help does"

run_err cs -C "$T/nowhere" --json lock list
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e["exit"]==1 and e["code"]=="error", e' "$T/err" ||
  fail "no clone: $(cat "$T/err")"
run_err cs -C "$T/nowhere" --json run
check run 1 >/dev/null
grep -q '"ok": false' "$T/out" || fail "run: $(cat "$T/out")"
ok "an engine error (no clone): a JSON error object; run's cycle object says ok false"

# ---- 3. times -------------------------------------------------------------------
ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}'
export TZ=Asia/Kolkata   # +05:30 all year
expect_rc 0 cs "${A[@]}" lock list
grep -Eq "gate +build1 +$ISO""Z +$ISO""Z" <<<"$OUT" || fail "lock list times are not ISO UTC: $OUT"
grep -Eq "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:" <<<"$OUT" && fail "a time without T and zone: $OUT"
expect_rc 0 cs "${A[@]}" lock list --local
grep -Eq "gate +build1 +$ISO\+05:30 +$ISO\+05:30" <<<"$OUT" || fail "lock list --local: $OUT"
ok "tables: ISO-8601 UTC with Z under TZ=$TZ; --local gives +05:30"

cs "${A[@]}" --json lock list >"$T/utc.json"
cs "${A[@]}" --json --local lock list >"$T/local.json"
cs "${A[@]}" --json --local lock acquire gate --ttl 60 >"$T/acq.json"
python3 - "$T/utc.json" "$T/local.json" "$T/acq.json" <<'PY' || fail "--local JSON times"
import json, sys
from datetime import datetime, timedelta, timezone
utc, loc, acq = (json.load(open(p)) for p in sys.argv[1:])
u = {r["name"]: r for r in utc["rows"]}
for r in loc["rows"]:
    for k in ("locked_at", "expires_at"):
        if r[k] is None:
            continue
        a = datetime.fromisoformat(u[r["name"]][k].replace("Z", "+00:00"))
        b = datetime.fromisoformat(r[k])
        assert u[r["name"]][k].endswith("Z"), u
        assert r[k].endswith("+05:30") and a == b, (u[r["name"]][k], r[k])
assert acq["expires_at"].endswith("+05:30"), acq
d = datetime.fromisoformat(acq["expires_at"]) - datetime.now(timezone.utc)
assert timedelta(seconds=30) < d <= timedelta(seconds=61), d
PY
ok "--json --local: the same instants with the offset; lock acquire's expires_at is ISO"

expect_rc 0 cs "${A[@]}" report fleet --format csv
grep -Eq ",$ISO""Z," <<<"$OUT" || fail "report csv times: $OUT"
expect_rc 0 cs "${A[@]}" --local report fleet --format csv
grep -Eq ",$ISO\+05:30," <<<"$OUT" || fail "report csv --local: $OUT"
expect_rc 0 cs "${A[@]}" info
grep -Eq "^last_import +$ISO""Z$" <<<"$OUT" || fail "info: $OUT"
expect_rc 0 cs "${A[@]}" --local report fleet --format html
grep -Eq "generated $ISO\+05:30" <<<"$OUT" || fail "report html --local: $(grep -i generated <<<"$OUT")"
ok "reports' CSV and HTML, and info: ISO UTC, --local with the offset"
unset TZ

# ---- 4. through the daemon -------------------------------------------------------
# A served command writes its own JSON on the caller's descriptors, and the
# daemon's own log stays text after it.
start_serving "$T/b" "$T/daemon.log"
jrun B "lock list"
check "lock list" 0
jrun B "lock acquire" gate
expect_code "lock acquire" 3 refused
grep -q "commands served" "$T/daemon.log" && fail "the daemon stopped early: $(cat "$T/daemon.log")"
kill -TERM "$dpid"; wait "$dpid" || true
grep -q '^coordsync daemon: stopped after 1 cycle, 2 commands served' "$T/daemon.log" ||
  fail "the daemon served no --json command: $(cat "$T/daemon.log")"
grep -q '^{' "$T/daemon.log" && fail "the daemon's log turned JSON after a --json command: $(cat "$T/daemon.log")"
ok "served by the daemon: the same JSON answer and error; the daemon's log stays text"

done_testing
