#!/usr/bin/env bash
# query and schema against the sqlite3 shell itself: the modes list, tsv
# (sqlite3's tabs), line and box, --no-header, --null and --separator
# print what `sqlite3 -readonly` prints for the same SQL on the same mirror
# file, byte for byte, for text without control characters.  Where
# coordsync differs on purpose (a line feed or tab from the remote is
# escaped, tsv doubles a backslash) the differences are checked too.  Then
# bound parameters (typed, never interpolated; an unused or missing one is
# a usage error), SQL from a file and from standard input, schema [TABLE]
# against .schema, and --help listing every format the parser takes.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"
command -v sqlite3 >/dev/null || fail "the sqlite3 shell is needed (.ci/deps installs it)"

mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
A=(-C "$T/a")
DB="$T/a/.git/coordsync/mirror.db"

# Another server (the git CLI) adds jobs whose text holds the list
# separator, UTF-8, quotes, a backslash, and a line feed and a tab.
worktree w "$T/r.git"
python3 - "$T/w" <<'PY'
import json, sys
jobs = [
    {"id": "j1", "status": "queued", "priority": 1, "created_at": "2026-01-02T03:04:05Z",
     "attempts": 0, "max_attempts": 3, "result": "x|y"},
    {"id": "j2", "status": "done", "priority": 10, "created_at": "2026-01-02T03:04:06Z",
     "attempts": 2, "max_attempts": 3, "result": "ünï \"quoted\" a,b", "error": "it's bad"},
    {"id": "j3", "status": "failed", "priority": -5, "created_at": "2026-01-02T03:04:07Z",
     "attempts": 3, "max_attempts": 3, "result": "two\nlines", "error": "a\tb \\ c"},
]
with open(sys.argv[1] + "/coordination/jobs.json", "w") as f:
    json.dump({"jobs": jobs}, f, indent=2)
    f.write("\n")
PY
git -C "$T/w" commit -qam "jobs" && git -C "$T/w" push -q origin HEAD:main 2>/dev/null
cs "${A[@]}" sync >/dev/null

# same DESC CS-ARGS -- SQLITE-ARGS: `coordsync query CS-ARGS` and
# `sqlite3 -readonly SQLITE-ARGS` print the same bytes.
same() {
  local desc=$1; shift
  local cs_args=() sq_args=()
  while [ "$1" != -- ]; do cs_args+=("$1"); shift; done
  shift
  sq_args=("$@")
  cs "${A[@]}" query "${cs_args[@]}" >"$T/ours" || fail "$desc: coordsync exited $?"
  sqlite3 -readonly "${sq_args[@]}" >"$T/theirs" || fail "$desc: sqlite3 exited $?"
  cmp -s "$T/ours" "$T/theirs" || fail "$desc differs from sqlite3:
$(diff "$T/ours" "$T/theirs" | head -20)"
}

Q1="SELECT id, status, priority, attempts, result, error FROM jobs WHERE id IN ('j1', 'j2') ORDER BY id"
Q2="SELECT 1 AS a, 2.5 AS b, NULL AS c, 'ünï' AS d, -7 AS e, 1e100 AS f, '' AS g, 'long text here' AS h"
Q3="SELECT id FROM jobs WHERE 0"
for q in "$Q1" "$Q2" "$Q3"; do
  same "list" --format list "$q" -- -list -header "$DB" "$q"
  same "tsv" --format tsv "$q" -- -tabs -header "$DB" "$q"
  same "line" --format line "$q" -- -line "$DB" "$q"
  same "box" --format box "$q" -- -box "$DB" "$q"
  same "list --null" --format list --null NULL "$q" -- -list -header -nullvalue NULL "$DB" "$q"
  same "line --null" --format line --null '(null)' "$q" -- -line -nullvalue '(null)' "$DB" "$q"
  same "box --null" --format box --null ∅ "$q" -- -box -nullvalue ∅ "$DB" "$q"
  same "tsv --no-header" --format tsv --no-header "$q" -- -tabs -noheader "$DB" "$q"
  same "list --no-header" --format list --no-header "$q" -- -list -noheader "$DB" "$q"
  same "--separator" --separator ' ; ' "$q" -- -list -header -separator ' ; ' "$DB" "$q"
done
ok "list, tsv, line and box (with --null, --no-header, --separator) print what sqlite3 prints"

# csv: coordsync quotes as RFC 4180 needs (a comma, a quote, a line
# feed); sqlite3 -csv quotes more (spaces, quotes, any byte over 0x7f, the
# empty string).  Read as CSV, both are the same rows.
for h in -header -noheader; do
  if [ $h = -header ]; then nh=(); else nh=(--no-header); fi
  cs "${A[@]}" query --format csv "${nh[@]}" "$Q1" >"$T/ours"
  sqlite3 -readonly -csv $h "$DB" "$Q1" >"$T/theirs"
  python3 - "$T/ours" "$T/theirs" <<'PY' || fail "csv $h reads differently from sqlite3's"
import csv, sys
a, b = (list(csv.reader(open(f, encoding="utf-8", newline=""))) for f in sys.argv[1:])
assert a == b and len(a) >= 2, (a, b)
PY
done
ok "csv (with --no-header) reads as the same rows as sqlite3 -csv"

# ---- deliberate differences: text from the remote is escaped ---------------------------
Q4="SELECT id, result, error FROM jobs WHERE id IN ('j2', 'j3') ORDER BY id"
cs "${A[@]}" query --format tsv "$Q4" >"$T/tsv"
printf 'id\tresult\terror\nj2\tünï "quoted" a,b\tit'"'"'s bad\nj3\ttwo\\nlines\ta\\tb \\\\ c\n' >"$T/want"
cmp -s "$T/tsv" "$T/want" || fail "tsv escapes: $(diff "$T/tsv" "$T/want")"
# Every tsv row has as many fields as the header, and reads back exactly.
python3 - "$T/tsv" <<'PY' || fail "tsv does not read back"
import sys
rows = [l.split("\t") for l in open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]]
assert all(len(r) == 3 for r in rows), rows
def unescape(s):
    out, i = "", 0
    while i < len(s):
        if s[i] == "\\":
            out += {"n": "\n", "t": "\t", "\\": "\\", "r": "\r"}[s[i + 1]]; i += 2
        else:
            out += s[i]; i += 1
    return out
assert unescape(rows[2][1]) == "two\nlines" and unescape(rows[2][2]) == "a\tb \\ c", rows
PY
cs "${A[@]}" query --format line "$Q4" >"$T/line"
grep -qxF "result = two\\nlines" "$T/line" || fail "line mode: $(cat "$T/line")"
grep -qxF " error = a\\tb \\ c" "$T/line" || fail "line mode: $(cat "$T/line")"
cs "${A[@]}" query --format list "$Q4" >"$T/list"
[ "$(wc -l <"$T/list")" -eq 3 ] || fail "list mode: a value spans lines: $(cat "$T/list")"
cs "${A[@]}" query --format box "$Q4" >"$T/box"
[ "$(wc -l <"$T/box")" -eq 6 ] || fail "box: a cell spans lines: $(cat "$T/box")"
grep -qF "│ two\\nlines" "$T/box" || fail "box: $(cat "$T/box")"
if tr -d '\n' <"$T/box" | grep -qP '\t'; then fail "box holds a raw tab"; fi
ok "a line feed or tab from the remote is escaped in tsv, line, list and box; tsv doubles a backslash"

# ---- bound parameters ------------------------------------------------------------------
cs "${A[@]}" query --format list --no-header --param id=j2 "SELECT result FROM jobs WHERE id = :id" >"$T/p"
[ "$(cat "$T/p")" = 'ünï "quoted" a,b' ] || fail "--param: $(cat "$T/p")"
cs "${A[@]}" query --format list --no-header --param n=10 --param r=2.5 --param t=007 \
  --param s="it's" --param e=1e3 \
  'SELECT typeof(:n), typeof($r), typeof(@t), :t, typeof(:s), :s, typeof(:e), :e' >"$T/p"
[ "$(cat "$T/p")" = "integer|real|text|007|text|it's|real|1000.0" ] || fail "typed binds: $(cat "$T/p")"
cs "${A[@]}" query --format list --no-header --param a=1. --param b=-0 --param c=99999999999999999999 \
  --param d=1e999 'SELECT typeof(:a), typeof(:b), typeof(:c), typeof(:d)' >"$T/p"
[ "$(cat "$T/p")" = "text|integer|text|text" ] || fail "edge binds: $(cat "$T/p")"
cs "${A[@]}" query --format list --no-header --param '2=b' --param '1=a' 'SELECT ?, ?2' >"$T/p"
[ "$(cat "$T/p")" = "a|b" ] || fail "positional binds: $(cat "$T/p")"
# A value is never SQL: an injection attempt finds nothing.
cs "${A[@]}" query --format list --no-header --param "id=j1' OR '1'='1" \
  "SELECT count(*) FROM jobs WHERE id = :id" >"$T/p"
[ "$(cat "$T/p")" = 0 ] || fail "a bound value was read as SQL: $(cat "$T/p")"
cs "${A[@]}" query --format list --no-header --param p=40 "SELECT :p + 2 AS n WHERE :p > 3" >"$T/p"
[ "$(cat "$T/p")" = 42 ] || fail "a parameter used twice: $(cat "$T/p")"
expect_rc 2 cs "${A[@]}" query --param x=1 "SELECT 1"
grep -q "no parameter 'x'" <<<"$OUT" || fail "$OUT"
expect_rc 2 cs "${A[@]}" query "SELECT :y"
grep -q "':y' has no value" <<<"$OUT" || fail "$OUT"
expect_rc 2 cs "${A[@]}" query --param y=1 --param :y=2 "SELECT :y"
grep -q "given twice" <<<"$OUT" || fail "$OUT"
expect_rc 2 cs "${A[@]}" query --param novalue "SELECT 1"
grep -q "needs NAME=VALUE" <<<"$OUT" || fail "$OUT"
ok "--param binds :name \$name @name and ?N, typed as sqlite3's .param set; unused, missing or doubled is exit 2"

# ---- SQL from a file or standard input -------------------------------------------------
printf -- '-- a comment\nSELECT id\n  FROM jobs\n WHERE priority < :p ORDER BY id;\n' >"$T/q.sql"
cs "${A[@]}" query -f "$T/q.sql" --param p=5 --format list --no-header >"$T/p"
[ "$(tr '\n' ' ' <"$T/p")" = "j1 j3 " ] || fail "-f FILE: $(cat "$T/p")"
cs "${A[@]}" query --format list --no-header - <"$T/q.sql" --param p=5 >"$T/p"
[ "$(tr '\n' ' ' <"$T/p")" = "j1 j3 " ] || fail "query -: $(cat "$T/p")"
cs "${A[@]}" query -f - --format csv --param p=2 <"$T/q.sql" >"$T/p"
[ "$(tr '\n' ' ' <"$T/p")" = "id j1 j3 " ] || fail "-f -: $(cat "$T/p")"
expect_rc 2 cs "${A[@]}" query -f "$T/q.sql" "SELECT 1"
expect_rc 2 cs "${A[@]}" query
expect_rc 2 cs "${A[@]}" query -f "$T/none.sql"
printf 'SELECT 1;\0 DROP TABLE jobs' >"$T/nul.sql"
expect_rc 2 cs "${A[@]}" query -f "$T/nul.sql"
grep -q "NUL byte" <<<"$OUT" || fail "$OUT"
echo "DELETE FROM jobs" | { expect_rc 2 cs "${A[@]}" query -; grep -q "query refused" <<<"$OUT" || fail "$OUT"; }
ok "SQL from -f FILE, -f - and '-' (standard input); still one read-only statement"

# ---- schema ----------------------------------------------------------------------------
cs "${A[@]}" schema --all >"$T/ours"
sqlite3 -readonly "$DB" .schema >"$T/theirs"
cmp -s "$T/ours" "$T/theirs" || fail "schema --all differs from .schema: $(diff "$T/ours" "$T/theirs" | head)"
for t in jobs job_list locks files; do
  cs "${A[@]}" schema "$t" >"$T/ours"
  sqlite3 -readonly "$DB" ".schema $t" >"$T/theirs"
  cmp -s "$T/ours" "$T/theirs" || fail "schema $t differs: $(diff "$T/ours" "$T/theirs" | head)"
done
cs "${A[@]}" schema >"$T/user"
grep -q "^CREATE TABLE jobs(" "$T/user" || fail "schema lacks jobs"
grep -q "^CREATE VIEW job_list AS" "$T/user" || fail "schema lacks the views of queries/"
grep -q "^CREATE TABLE job_history(" "$T/user" || fail "schema lacks the history"
grep -qE "^CREATE (TABLE|VIEW) (files|meta|watch|watch_state|lock_seen|schema_objects)\b" "$T/user" &&
  fail "schema without --all shows internal tables: $(grep -E '^CREATE' "$T/user")"
expect_rc 2 cs "${A[@]}" schema nosuch
grep -q "no table or view 'nosuch'" <<<"$OUT" || fail "$OUT"
expect_rc 2 cs "${A[@]}" --json schema nosuch
cs "${A[@]}" --json schema jobs | python3 -c '
import json, sys
rows = json.load(sys.stdin)["rows"]
assert [r["type"] for r in rows] == ["table", "index", "index", "index"], rows
assert rows[0]["sql"].startswith("CREATE TABLE jobs("), rows' || fail "schema --json"
ok "schema [TABLE] prints .schema's statements (user tables by default, --all as .schema)"

# ---- the formats: one table for the parser and every --help ----------------------------
expect_rc 0 cs query --help
fl=$(grep -- '--format FMT' <<<"$OUT" | sed 's/.*: //; s/ or /, /; s/,//g')
[ "$(wc -w <<<"$fl")" -ge 9 ] || fail "query --help lists formats: $fl"
for f in table box csv tsv list line json md html; do
  grep -qw "$f" <<<"$fl" || fail "query --help lacks $f: $fl"
done
for f in $fl; do
  cs "${A[@]}" query --format "$f" "SELECT 1 AS one" >/dev/null || fail "--format $f from the help is refused"
done
expect_rc 0 cs report --help
[ "$(grep -- '--format FMT' <<<"$OUT" | sed 's/.*: //; s/ or /, /; s/,//g')" = "$fl" ] ||
  fail "report --help lists other formats: $OUT"
expect_rc 2 cs "${A[@]}" query --format xml "SELECT 1"
grep -q "unknown format 'xml' (table, box" <<<"$OUT" || fail "$OUT"
expect_rc 2 cs "${A[@]}" query --separator , --format csv "SELECT 1"
ok "query --help and report --help list every format, and the parser takes each"

done_testing
