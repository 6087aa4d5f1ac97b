#!/usr/bin/env bash
# jira sync and jira index against the Jira stand-in (tests/jira_standin.py)
# on 127.0.0.1: the token file's mode, both pagination styles with a small
# page size, the incremental sync and its history of changed fields, the
# index committed once, the tables kept by a rebuild, 401, 429 with
# Retry-After, 503, a slow answer, Basic and Bearer auth; the token found
# nowhere (mirror, remote, outputs).
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"
. "${TESTS_DIR:-$(dirname "$0")}/jiralib.sh"   # start_standin, ctl
TOKEN="tok-e2e-7Qz91xK"

# st BASE EXPR: a Python expression over the stand-in's state s.
st() { ctl "$1" /_standin/state | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"; }
fault() { ctl "$1" /_standin/fault "$2" >/dev/null; }
edit() { ctl "$1" /_standin/edit "$2" >/dev/null; }
# jv EXPR: a Python expression over the JSON of the last jcs (d); a tuple
# prints space-separated.
jv() { python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); v = eval(sys.argv[2])
print(*v) if isinstance(v, tuple) else print(v)' "$T/out" "$1"; }
db() { sqlite3 "$T/a/.git/coordsync/mirror.db" "$1"; }
# Every output of a coordsync command goes to $T/outputs too (leak check).
jcs() { set +e; "$COORDSYNC" "$@" >"$T/out" 2>"$T/err"; RC=$?; set -e
        cat "$T/out" "$T/err" >>"$T/outputs"; OUT=$(cat "$T/out" "$T/err"); }

printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
start_standin cloud --user alice@example.invalid --page-size 5
CLOUD=$BASE
mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
A=(-C "$T/a")
git -C "$T/a" config coordsync.jira.url "$CLOUD/"
git -C "$T/a" config coordsync.jira.project VNF
git -C "$T/a" config coordsync.jira.user alice@example.invalid
git -C "$T/a" config coordsync.jira.tokenfile "$T/token"

# ---- settings -----------------------------------------------------------------
OUT=$(cs "${A[@]}" config)
for k in url project board tokenfile user search pagesize timeout retries labels epic; do
  grep -q "coordsync.jira.$k" <<<"$OUT" || fail "config lists no coordsync.jira.$k"
done
OUT=$(COORDSYNC_JIRA_PROJECT=OTHER cs "${A[@]}" config)
grep -q "OTHER.*env COORDSYNC_JIRA_PROJECT" <<<"$OUT" || fail "env override not shown: $OUT"
ok "config lists coordsync.jira.*, COORDSYNC_JIRA_* overrides them"

chmod 644 "$T/token"
jcs "${A[@]}" jira sync
[ "$RC" -ne 0 ] && grep -q "0600" <<<"$OUT" || fail "a 0644 token file was used: $RC $OUT"
[ "$(st "$CLOUD" "sum(s['requests'].values())")" = 0 ] || fail "a request went out"
chmod 600 "$T/token"
ok "a token file that is not 0600 is refused before any request"

# ---- the first sync: enhanced search, pages of 5 --------------------------------
jcs "${A[@]}" --json jira sync --page-size 5
[ "$RC" = 0 ] || fail "sync: $OUT"
[ "$(jv "d['pages'], d['seen'], d['added']")" = "3 12 12" ] ||
  fail "first sync: $OUT"
[ "$(db "SELECT count(*) FROM jira_issues")" = 12 ] || fail "mirror rows"
[ "$(st "$CLOUD" "s['requests'].get('GET /rest/api/2/search/jql', 0)")" = 3 ] ||
  fail "not 3 enhanced search requests"
[ "$(db "SELECT type, status, assignee, reporter, epic, sprint, labels FROM jira_issues WHERE key = 'VNF-3'")" = \
  'Story|In Progress|Alice Archer|Alice Archer|VNF-1|VNF Sprint 1|["vnf"]' ] ||
  fail "VNF-3 row: $(db "SELECT * FROM jira_issues WHERE key = 'VNF-3'")"
[ "$(db "SELECT parent, fix_versions FROM jira_issues WHERE key IN ('VNF-6', 'VNF-5') ORDER BY key")" = \
  $'|["1.0"]\nVNF-3|[]' ] || fail "parent, fix versions"
[ "$(db "SELECT count(*) FROM jira_history WHERE field = 'created'")" = 12 ] || fail "history"
ok "jira sync: 12 issues in 3 pages of nextPageToken, each field in its column"

# ---- incremental, deduped; a change becomes history ------------------------------
W=$(st "$CLOUD" "s['writes']")
jcs "${A[@]}" --json jira sync --page-size 5
[ "$(jv "d['seen'], d['added'], d['changed']")" = "1 0 0" ] ||
  fail "second sync asked for more than the last minute: $OUT"
[ "$(st "$CLOUD" "s['writes']")" = "$W" ] || fail "a sync wrote to Jira"
edit "$CLOUD" '{"key": "VNF-4", "fields": {"status": "In Progress", "labels": ["vnf"]}}'
jcs "${A[@]}" --json jira sync
[ "$(jv "d['seen'], d['changed'], d['fields']")" = "2 1 3" ] ||
  fail "the edit: $OUT"
[ "$(db "SELECT field, old, new FROM jira_history WHERE key = 'VNF-4' AND field != 'created' ORDER BY field")" = \
  $'labels|[]|["vnf"]\nstatus|To Do|In Progress\nstatus_category|new|indeterminate' ] || fail "history of VNF-4: $(db "SELECT * FROM jira_history")"
ok "jira sync is incremental on updated (12 h and a minute of overlap, deduped); changed fields go to jira_history"

# ---- classic search (startAt/total), narrowed by --jql ----------------------------
jcs "${A[@]}" --json jira sync --full --page-size 5
[ "$RC" = 0 ] || fail "full: $OUT"
COORDSYNC_JIRA_SEARCH=classic jcs "${A[@]}" --json jira sync --full --page-size 4
[ "$(jv "d['pages'], d['seen'], d['changed']")" = "3 12 0" ] ||
  fail "classic: $OUT"
[ "$(st "$CLOUD" "s['requests'].get('GET /rest/api/2/search', 0)")" = 3 ] ||
  fail "not 3 classic requests"
jcs "${A[@]}" --json jira sync --jql 'key in (VNF-1, VNF-2)'
[ "$(jv "d['seen']")" = 2 ] || fail "--jql: $OUT"
jcs "${A[@]}" jira sync --jql 'summary ~ "x"'
[ "$RC" != 0 ] && grep -q "refused" <<<"$OUT" || fail "a JQL error: $RC $OUT"
ok "classic search pages by startAt/total; --jql narrows; Jira's 400 is reported"

# ---- jira index -------------------------------------------------------------------
H0=$(rhead)
jcs "${A[@]}" jira index
[ "$RC" = 0 ] && grep -q "12 ticket(s), pushed" <<<"$OUT" || fail "index: $OUT"
H1=$(rhead)
[ "$H1" != "$H0" ] && [ "$(git --git-dir="$T/r.git" rev-list --count "$H0..$H1")" = 1 ] ||
  fail "not one commit"
IDX=$(remote_json docs/JIRA_CURATED_TICKETS.md)
grep -qF "| [VNF-3]($CLOUD/browse/VNF-3) | Story | In Progress | Alice Archer | Alice Archer | vnf | \`VNF-1\` | Build matrix for the VNF images |" <<<"$IDX" ||
  fail "index row: $IDX"
[ "$(grep -c '^| \[VNF-' <<<"$IDX")" = 12 ] || fail "index rows"
jcs "${A[@]}" jira index
grep -q "unchanged" <<<"$OUT" && [ "$(rhead)" = "$H1" ] || fail "second index committed: $OUT"
cs "${A[@]}" sync >/dev/null || fail "sync after the index"
ok "jira index: one commit of docs/JIRA_CURATED_TICKETS.md from the view; a second run commits nothing"

# ---- the tickets report: jobs joined with jira_issues ------------------------------------
cs "${A[@]}" job add --id b1 --set ticket=VNF-3 --set max_attempts=1 >/dev/null
cs "${A[@]}" job add --id b2 --set ticket=VNF-4 --set max_attempts=1 >/dev/null
cs "${A[@]}" job add --id b3 --set ticket=OTHER-1 >/dev/null
j1=$(cs "${A[@]}" job claim); j2=$(cs "${A[@]}" job claim)
sleep 1
cs "${A[@]}" job done "$j1" >/dev/null
cs "${A[@]}" job fail "$j2" --error broken >/dev/null
cs "${A[@]}" report --list | grep -q "^tickets" || fail "report --list has no tickets"
R=$(cs "${A[@]}" report tickets --format csv)
row() { grep "^$1," <<<"$R" | cut -d, -f"$2"; }
[ "$(row VNF-3 11,12)" = "ok,0" ] || fail "VNF-3: $R"
[ "$(row VNF-4 11,12)" = "failing,1" ] || fail "VNF-4: $R"
[ "$(row VNF-9 6,11,12)" = "0,none,1" ] || fail "VNF-9: $R"
[ "$(row VNF-5 11,12)" = "none,0" ] || fail "VNF-5 (done): $R"
[ "$(row OTHER-1 11)" = "queued" ] || fail "a ticket not in the mirror: $R"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 1 else 1)" "$(row VNF-3 10)" || fail "build time: $R"
[ "$(sed -n 2p <<<"$R" | cut -d, -f12)" = 1 ] || fail "attention first: $R"
ok "report tickets: open tickets with failing or no builds first, the build time per ticket"

# ---- the tables survive a rebuild ----------------------------------------------------
cs "${A[@]}" rebuild >/dev/null
[ "$(db "SELECT count(*) FROM jira_issues")" = 12 ] || fail "rebuild lost jira_issues"
[ "$(db "SELECT count(*) > 12 FROM jira_history")" = 1 ] || fail "rebuild lost jira_history"
[ "$(db "SELECT count(*) FROM jira_sync")" = 1 ] || fail "rebuild lost jira_sync"
ok "rebuild keeps jira_issues, jira_history and jira_sync"

# ---- errors: 401, 429 + Retry-After, 503, a slow answer --------------------------------
printf 'wrong-token\n' >"$T/bad"; chmod 600 "$T/bad"
COORDSYNC_JIRA_TOKEN_FILE="$T/bad" jcs "${A[@]}" jira sync
[ "$RC" = 1 ] && grep -q "authentication failed: check coordsync.jira.user and the token file" <<<"$OUT" ||
  fail "401: $RC $OUT"
ok "401 is an authentication failure naming the settings"

fault "$CLOUD" '{"path_prefix": "/rest/api/2/search", "status": 429, "retry_after": 1, "count": 2}'
t0=$(date +%s.%N)
jcs "${A[@]}" jira sync --full
t1=$(date +%s.%N)
[ "$RC" = 0 ] || fail "429: $OUT"
python3 -c "import sys; sys.exit(0 if 1.9 < $t1 - $t0 < 20 else 1)" || fail "Retry-After not waited: $t0 $t1"
[ "$(st "$CLOUD" "s['responses'].get('429', 0)")" = 2 ] || fail "429 count"
fault "$CLOUD" '{"path_prefix": "/rest/api/2/search", "status": 429, "retry_after": 1, "count": 5}'
COORDSYNC_JIRA_RETRIES=1 jcs "${A[@]}" jira sync --full
[ "$RC" = 1 ] && grep -q "HTTP 429" <<<"$OUT" || fail "429 beyond retries: $RC $OUT"
fault "$CLOUD" '{"clear": true}'
ok "429 waits Retry-After, at most coordsync.jira.retries times"

fault "$CLOUD" '{"path_prefix": "/rest/api/2/search", "status": 503, "count": 2}'
jcs "${A[@]}" jira sync --full
[ "$RC" = 0 ] || fail "503 twice: $OUT"
fault "$CLOUD" '{"path_prefix": "/rest/api/2/field", "status": 503, "count": 1}'
COORDSYNC_JIRA_RETRIES=0 jcs "${A[@]}" jira sync
[ "$RC" = 1 ] && grep -q "HTTP 503" <<<"$OUT" || fail "503 without retries: $RC $OUT"
ok "5xx: retried with back-off, bounded"

fault "$CLOUD" '{"path_prefix": "/rest/api/2/field", "delay": 4, "count": 1}'
t0=$(date +%s)
COORDSYNC_JIRA_TIMEOUT=1 COORDSYNC_JIRA_RETRIES=0 jcs "${A[@]}" jira sync
[ "$RC" = 1 ] && grep -qi "timed out\|timeout" <<<"$OUT" || fail "slow answer: $RC $OUT"
[ $(( $(date +%s) - t0 )) -lt 4 ] || fail "the timeout did not bound the request"
sleep 3
fault "$CLOUD" '{"path_prefix": "/rest/api/2/field", "delay": 4, "count": 1}'
COORDSYNC_JIRA_TIMEOUT=1 jcs "${A[@]}" jira sync
[ "$RC" = 0 ] || fail "a slow answer then a good one: $OUT"
ok "a slow answer times out (coordsync.jira.timeout) and is tried again"

# ---- the token user's time zone: JQL reads the mark's date in it -------------------------
# The mark is now about VNF-4's edit above.  A Jira whose token user is 5 h
# west of UTC reads "updated >= DATE" as DATE there, 5 h after the mark in
# UTC: an issue changed just after the mark must still come.
start_standin west --user alice@example.invalid --user-tz -5
WEST=$BASE
edit "$WEST" '{"key": "VNF-7", "fields": {"labels": ["west"]}}'
COORDSYNC_JIRA_URL=$WEST/ jcs "${A[@]}" --json jira sync
[ "$RC" = 0 ] && [ "$(db "SELECT labels FROM jira_issues WHERE key = 'VNF-7'")" = '["west"]' ] ||
  fail "a change just after the mark, the user 5 h west of UTC: $RC $OUT"
ok "an incremental sync finds a change just after the mark when the token user's zone is west of UTC"

# ---- Bearer (Data Center), classic by default -------------------------------------------
start_standin dc
DC=$BASE
git -C "$T/a" config --unset coordsync.jira.user
COORDSYNC_JIRA_URL=$DC jcs "${A[@]}" --json jira sync --full --page-size 5
[ "$RC" = 0 ] && [ "$(jv "d['pages'], d['seen']")" = "3 12" ] || fail "bearer: $OUT"
[ "$(st "$DC" "s['requests'].get('GET /rest/api/2/search', 0)")" = 3 ] || fail "DC not classic"
[ "$(db "SELECT assignee_id FROM jira_issues WHERE key = 'VNF-3'")" = alice ] || fail "DC user id"
ok "without coordsync.jira.user: a Bearer token and the classic search (Data Center)"

# ---- http to a host other than loopback is refused -----------------------------------------
COORDSYNC_JIRA_URL=http://jira.example.invalid jcs "${A[@]}" jira sync
[ "$RC" = 2 ] && grep -q "use https" <<<"$OUT" || fail "plain http: $RC $OUT"
ok "plain http is refused for a host other than loopback"

# ---- the token is nowhere ---------------------------------------------------------------------
B64=$(printf 'alice@example.invalid:%s' "$TOKEN" | base64 -w0)
for f in "$T/outputs" "$T/a/.git/coordsync/mirror.db"; do
  ! grep -aqF -e "$TOKEN" -e "$B64" "$f" || fail "the token is in $f"
done
! git --git-dir="$T/r.git" cat-file --batch-all-objects --batch | grep -aqF -e "$TOKEN" -e "$B64" ||
  fail "the token is in the remote"
! grep -rqaF -e "$TOKEN" "$T/a/.git/config" "$T/a/.git/coordsync" || fail "the token is in the clone"
ok "the token is in no output, no mirror, no remote object"
done_testing
