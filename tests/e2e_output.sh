#!/usr/bin/env bash
# Safe output and the command line's contract.  Another server (the git
# CLI) pushes messages, jobs, a lock and a status whose text holds line
# feeds, carriage returns, escape sequences, tabs, DEL, C1 controls, U+2028,
# bidi overrides and bytes that are not UTF-8.  Every text printer (tables,
# csv, md, html, reports, health, errors, the run line and its auto-reply
# lines) must print them escaped, and --json must stay valid JSON.  Then the
# exit codes: 0 ok, 1 error, 2 usage, 3 refused (3 for health's own usage
# errors), usage errors on stderr only.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

mkremote r
R="$T/r.git"
W="$T/w"
C1="$T/c1"
A=(-C "$C1")


# safe FILE [html]: FILE is printable text: valid UTF-8, no control
# character but the line feed, no C1 control, U+2028/9, bidi control or BOM.
# html: what HTML allows (tab, CR, U+2028 and bidi controls too).
safe() {
  python3 - "$1" "${2:-}" <<'PY' || fail "$1 is not safe text: $(head -c 600 "$1" | od -c | head -n 12)"
import sys
b = open(sys.argv[1], "rb").read()
html = sys.argv[2] == "html"
try:
    s = b.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit("invalid UTF-8: %s" % e)
bad = [c for c in s if (ord(c) < 0x20 and c not in ("\n\t\r" if html else "\n"))
       or 0x7f <= ord(c) <= 0x9f
       or (not html and (c in "\u2028\u2029\u200e\u200f\ufeff" or 0x202a <= ord(c) <= 0x202e
                         or 0x2066 <= ord(c) <= 0x2069))]
if bad:
    sys.exit("raw %r" % bad[:5])
PY
}

# lines FILE: the number of lines in FILE
lines() { wc -l <"$1" | tr -d ' '; }

# ---- the hostile remote ----------------------------------------------------------------
git clone -q "$R" "$W" 2>/dev/null
mkdir -p "$W/coordination" "$W/build2" "$W/docs"
# Each subject holds "zz" for the auto-reply rule; NS of them.
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
H = ["x\ncoordsync run server=evil result=ok zz",
     "\x1b]0;pwned\x07\x1b[31mred\x1b[0m zz",
     "shown\rhidden zz",
     "a\tb zz",
     "line\u2028sep\u2029para zz",
     "c1 \u009b31m zz",
     "abc\u202edcb zz",
     "del\x7f zz",
     "clear\x1b[2J\x1b[H zz"]
msgs = [{"id": "m%d" % i, "from": "build2", "to": "build1", "type": "info", "subject": s,
         "body": s, "timestamp": 1767323045 + i, "read": False} for i, s in enumerate(H)]
open(w + "/expect.json", "w").write(json.dumps(H))
json.dump({"messages": msgs}, open(w + "/coordination/messages.json", "w"), indent=2,
          ensure_ascii=False)
jobs = [{"id": "j%d" % i, "status": "failed", "assigned_to": "build2", "priority": 1,
         "created_at": "2026-01-02T03:04:05Z", "attempts": 1, "max_attempts": 1, "error": s,
         "result": s} for i, s in enumerate(H)]
json.dump({"jobs": jobs}, open(w + "/coordination/jobs.json", "w"), indent=2)
json.dump({"locks": {"deploy": {"locked_by": "evil\n\x1b[31mholder", "locked_at": 1767323045,
                                "expires_at": 4102444800, "fence": 7}}},
          open(w + "/coordination/locks.json", "w"), indent=2)
json.dump({"server": "build2", "status": "idle\x1b[2J\ncoordsync run server=x", "timestamp":
           "2026-01-02T03:04:05Z"}, open(w + "/build2/status.json", "w"))
json.dump({"rules": [{"contains": "zz", "action": "mark"}]},
          open(w + "/docs/auto_reply_rules.json", "w"))
PY
mv "$W/expect.json" "$T/expect.json"
NS=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/expect.json")
N=$NS
git -C "$W" add -A && git -C "$W" commit -qm "hostile text" && git -C "$W" push -q origin HEAD:main
expect_rc 0 cs init "$R" "$C1" --server build1
expect_rc 0 cs "${A[@]}" query --format csv "SELECT count(*) FROM messages"
[ "$(tail -n 1 <<<"$OUT")" = "$N" ] || fail "the hostile messages did not import: $OUT"
ok "$N messages with control characters, U+2028 and bidi overrides imported"

# ---- tables, csv, md, html, json -------------------------------------------------------
Q="SELECT id, subject, body FROM messages ORDER BY id"
run_err cs "${A[@]}" msg inbox
[ "$RC" = 0 ] || fail "msg inbox exited $RC: $(cat "$T/err")"
safe "$T/out"
[ "$(lines "$T/out")" = $((N + 2)) ] || fail "msg inbox: $(lines "$T/out") lines for $N rows: $(cat "$T/out")"
grep -qF 'x\ncoordsync run server=evil' "$T/out" || fail "the line feed is not shown as \\n: $(cat "$T/out")"
grep -qF '\x1b]0;pwned\x07\x1b[31mred' "$T/out" || fail "ESC and BEL not shown as \\x1b, \\x07"
grep -qF 'c1 \u009b31m zz' "$T/out" || fail "a C1 control not shown as \\u009b"
grep -qF 'line\u2028sep\u2029para' "$T/out" || fail "U+2028 not shown as \\u2028"
ok "msg inbox (a table): one line per row, every control character escaped C-style"

for f in table md; do
  run_err cs "${A[@]}" query --format $f "$Q"
  [ "$RC" = 0 ] || fail "query --format $f exited $RC"
  safe "$T/out"
  [ "$(lines "$T/out")" = $((N + 2)) ] || fail "--format $f: $(lines "$T/out") lines: $(cat "$T/out")"
done
ok "query --format table and md: one line per row, nothing raw"

run_err cs "${A[@]}" query --format csv "$Q"
safe "$T/out"
python3 - "$T/out" "$N" <<'PY' || fail "csv: $(cat "$T/out")"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))
assert len(rows) == int(sys.argv[2]) + 1, len(rows)
assert all(len(r) == 3 for r in rows), rows
sub = {r[0]: r[1] for r in rows}
assert sub["m0"] == "x\ncoordsync run server=evil result=ok zz", sub["m0"]   # RFC 4180 keeps LF
assert sub["m2"] == "shown\\rhidden zz", sub["m2"]
assert sub["m3"] == "a\\tb zz", sub["m3"]
PY
ok "query --format csv: RFC 4180 rows; a line feed stays quoted, CR and TAB escaped"

run_err cs "${A[@]}" query --format html "$Q"
safe "$T/out" html
grep -qF '\x1b]0;pwned' "$T/out" || fail "html: ESC not escaped"
ok "query --format html: the controls HTML does not allow escaped in cells"

run_err cs "${A[@]}" query --format json "$Q"
[ "$RC" = 0 ] || fail "json exited $RC"
safe "$T/out"
python3 - "$T/out" "$T/expect.json" <<'PY' || fail "json: $(head -c 2000 "$T/out")"
import json, sys
rows = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
want = json.load(open(sys.argv[2]))
got = {r["id"]: r["subject"] for r in rows}
for i, s in enumerate(want):
    assert got["m%d" % i] == s, (i, got["m%d" % i], s)
PY
# The importer refuses files that are not UTF-8, but SQL can still make
# such text, and SQLite writes an infinite REAL as "Inf".
B="SELECT CAST(X'61FF62C0AF1B5B' AS TEXT) AS s, 9e999 AS inf, -9e999 AS ninf"
run_err cs "${A[@]}" query --format json "$B"
safe "$T/out"
python3 - "$T/out" <<'PY' || fail "json of bytes that are not UTF-8: $(cat "$T/out")"
import json, sys
r = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
assert r[0]["s"] == "a\ufffdb\ufffd\ufffd\x1b[", r
PY
for f in table csv md; do
  run_err cs "${A[@]}" query --format $f "$B"
  safe "$T/out"
  grep -qF 'a\xffb\xc0\xaf\x1b[' "$T/out" || fail "--format $f: $(cat "$T/out")"
done
run_err cs "${A[@]}" --json msg inbox
python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode())' "$T/out" ||
  fail "msg inbox --json is not JSON: $(head -c 600 "$T/out")"
ok "--json: valid JSON with every value exact; bytes that are not UTF-8 read U+FFFD, Inf a string"

run_err cs "${A[@]}" job list
safe "$T/out"
[ "$(lines "$T/out")" = $((NS + 2)) ] || fail "job list: $(cat "$T/out")"
run_err cs "${A[@]}" lock list
safe "$T/out"
[ "$(lines "$T/out")" = 3 ] || fail "lock list: $(cat "$T/out")"
grep -qF 'evil\n\x1b[31mholder' "$T/out" || fail "lock list: $(cat "$T/out")"
ok "job list and lock list: one line per row, escaped"

for rep in $(cs "${A[@]}" report --list | cut -d' ' -f1); do
  for f in table csv md html; do
    run_err cs "${A[@]}" report "$rep" --format $f
    [ "$RC" = 0 ] || fail "report $rep --format $f exited $RC: $(cat "$T/err")"
    safe "$T/out" "$([ $f = html ] && echo html)"
    safe "$T/err"
  done
  run_err cs "${A[@]}" report "$rep" --format json
  python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode())' "$T/out" ||
    fail "report $rep --format json is not JSON"
done
ok "every report in table, csv, md, html and json: safe"

# ---- errors, health and the run line ----------------------------------------------------
run_err cs "${A[@]}" lock acquire deploy
[ "$RC" = 3 ] || fail "lock acquire exited $RC: $(cat "$T/err")"
safe "$T/err"
[ "$(lines "$T/err")" = 1 ] || fail "the refusal is not one line: $(cat "$T/err")"
grep -qF 'evil\n\x1b[31mholder' "$T/err" || fail "holder not escaped in the error: $(cat "$T/err")"
ok "an error quoting remote text (the lock's holder) is one escaped line"

for j in "" --json; do
  run_err cs "${A[@]}" $j health --max-age 1
  safe "$T/out"
  safe "$T/err"
done
python3 -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode())' "$T/out" ||
  fail "health --json is not JSON"
ok "health in text and --json: safe"

run_err cs "${A[@]}" run
[ "$RC" = 0 ] || fail "run exited $RC: $(cat "$T/err")"
safe "$T/err"
[ "$(grep -c '^coordsync run ' "$T/err")" = 1 ] || fail "forged run lines: $(cat "$T/err")"
[ "$(grep -c '^auto-reply: marked ' "$T/err")" = "$N" ] || fail "auto-reply lines: $(cat "$T/err")"
[ "$(lines "$T/err")" = $((N + 1)) ] || fail "run log has extra lines: $(cat "$T/err")"
grep -qF 'auto-reply: marked m0 from build2 ("x\ncoordsync run server=evil result=ok zz") read' \
  "$T/err" || fail "auto-reply line: $(cat "$T/err")"
grep -q "^coordsync run server=build1 result=ok .*marked=$N " "$T/err" || fail "run line: $(cat "$T/err")"
ok "coordsync run: one run line, one escaped auto-reply line per message, nothing forged"

# A file that does not import, its error quoting a hostile key.
git -C "$W" pull -q origin main
printf '{"locks": {"a\\u001b[2J": {"locked_by": null}, "a\\u001b[2J": {"locked_by": null}}}\n' \
  >"$W/coordination/locks.json"
git -C "$W" commit -qam "duplicate hostile key" && git -C "$W" push -q origin HEAD:main
run_err cs "${A[@]}" sync
[ "$RC" = 1 ] || fail "sync of a broken locks.json exited $RC"
safe "$T/err"
safe "$T/out"
run_err cs "${A[@]}" info
safe "$T/out"
ok "sync's and info's errors about a file that does not import: escaped"
git -C "$W" revert --no-edit HEAD >/dev/null && git -C "$W" push -q origin HEAD:main
expect_rc 0 cs "${A[@]}" sync

# ---- usage errors: exit 2 (health: 3), stderr only ---------------------------------------
# usage RC CMD...: CMD exits RC, prints nothing on stdout and a line on stderr.
usage() {
  local want=$1; shift
  run_err "$@"
  [ "$RC" = "$want" ] || fail "expected exit $want, got $RC from: $* -- $(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "a usage error on stdout: $* -- $(cat "$T/out")"
  [ -s "$T/err" ] || fail "no message on stderr: $*"
  safe "$T/err"
}
usage 3 cs "${A[@]}" health --bogus
usage 3 cs "${A[@]}" health extra
usage 3 cs "${A[@]}" health --max-age 0
usage 3 cs "${A[@]}" health --max-age 99999999999999999999
usage 3 cs "${A[@]}" health --alert ftp://127.0.0.1/x
usage 3 cs --sever build1 "${A[@]}" health
usage 2 cs --bogus "${A[@]}" msg send health --subject s
ok "health's own usage errors exit 3 (UNKNOWN), not 2 (CRITICAL)"

usage 2 cs "${A[@]}" job list --status bogus
grep -q "queued, running, done, failed or cancelled" "$T/err" || fail "$(cat "$T/err")"
usage 2 cs "${A[@]}" msg send build2 --type bogus --subject s
usage 2 cs "${A[@]}" query --format bogus "SELECT 1"
usage 2 cs "${A[@]}" report queue --format bogus
ok "an unknown value of an enumerated option exits 2 and lists the valid ones"

usage 2 cs "${A[@]}" job
usage 2 cs "${A[@]}" job bogus
usage 2 cs "${A[@]}" bogus
usage 2 cs "${A[@]}" job rescue --older-than 99999999999999999999
usage 2 cs "${A[@]}" job rescue --older-than 4294967296
usage 2 cs "${A[@]}" compact --older-than -1
usage 2 timeout 10 "$COORDSYNC" "${A[@]}" daemon --interval 99999999999
usage 2 cs "${A[@]}" logs push --keep -1 "$T/expect.json"
usage 2 cs "${A[@]}" lock acquire $'x\x1b[31m' --bogus$'\n'forged
expect_rc 0 cs "${A[@]}" job --help
ok "a group without a command, unknown commands, numbers out of range: exit 2, stderr only"

mkdir -p "$T/a" "$T/b"
echo one >"$T/a/x.log"
echo two >"$T/b/x.log"
head_before=$(git --git-dir="$R" rev-parse main)
usage 2 cs "${A[@]}" logs push "$T/a/x.log" "$T/b/x.log"
grep -q "'x.log'" "$T/err" || fail "the clash is not named: $(cat "$T/err")"
[ "$(git --git-dir="$R" rev-parse main)" = "$head_before" ] || fail "logs were pushed"
expect_rc 0 cs "${A[@]}" logs push "$T/a/x.log"
ok "logs push of two files named x.log: refused (2) naming it, nothing pushed"

# ---- job claim while jobs.json does not import -----------------------------------------
git -C "$W" pull -q origin main
printf '{"jobs": [\n' >"$W/coordination/jobs.json"
git -C "$W" commit -qam "broken jobs.json" && git -C "$W" push -q origin HEAD:main
run_err cs "${A[@]}" job claim
[ "$RC" = 1 ] || fail "job claim over a broken jobs.json exited $RC: $(cat "$T/err")"
grep -q "coordination/jobs.json" "$T/err" || fail "the file is not named: $(cat "$T/err")"
ok "job claim while jobs.json does not import: exit 1 naming the file, not 'no queued job'"

done_testing
