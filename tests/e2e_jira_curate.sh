#!/usr/bin/env bash
# jira create, verify, curate, backlog and plan against the Jira stand-in
# (tests/jira_standin.py) on 127.0.0.1: each does what the seed's script
# did, and each run twice leaves the stand-in's writes and the remote's head
# as they were after the first run.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"
. "${TESTS_DIR:-$(dirname "$0")}/jiralib.sh"   # start_standin, ctl, jira_clone
st() { ctl "$J" /_standin/state | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }
issue() { st "[i for i in s['issues'] if i['key'] == '$1'][0]$2"; }
edit() { ctl "$J" /_standin/edit "$1" >/dev/null; }
jcs() { set +e; OUT=$("$COORDSYNC" "${A[@]}" "$@" 2>&1); RC=$?; set -e; }
# twice CMD...: run CMD a second time; the stand-in's writes and the
# remote's head must not move.
twice() {
  local w h
  w=$(st "s['writes']"); h=$(rhead)
  jcs "$@"
  [ "$RC" = 0 ] || fail "second run of $*: $OUT"
  [ "$(st "s['writes']")" = "$w" ] || fail "the second run of $* wrote to Jira: $OUT"
  [ "$(rhead)" = "$h" ] || fail "the second run of $* committed"
}

printf 'tok-curate-55\n' >"$T/token"
chmod 600 "$T/token"
start_standin cloud --user alice@example.invalid
J=$BASE
mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
A=(-C "$T/a")
jira_clone "$T/a" "$J"

cat >"$T/tickets.json" <<'EOF'
{"tickets": [
  {"id": "mirror-tickets", "summary": "Mirror the tickets in SQLite", "type": "Story",
   "description": "jira sync", "labels": ["vnf"], "assignee": "bob@example.invalid",
   "reporter": "Alice Archer", "status": "To Do"},
  {"id": "ticket-index", "summary": "Publish the ticket index", "type": "Task",
   "assignee": "alice", "reporter": "alice", "status": "To Do"}
]}
EOF

# ---- jira create -------------------------------------------------------------------
H0=$(rhead)
jcs --json jira create "$T/tickets.json"
[ "$RC" = 0 ] || fail "create: $OUT"
grep -q '"created": 2, "updated": 0, "assigned": 2' <<<"$OUT" || fail "create: $OUT"
[ "$(git --git-dir="$T/r.git" rev-list --count "$H0..$(rhead)")" = 1 ] || fail "not one commit"
MAP=$(remote_json docs/curated_ticket_keys.json)
K1=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['mirror-tickets'])" "$MAP")
K2=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ticket-index'])" "$MAP")
[ "$(issue "$K1" "['summary']")" = "Mirror the tickets in SQLite" ] ||
  fail "summary of $K1"
[ "$(issue "$K1" "['assignee']")" = bob ] && [ "$(issue "$K2" "['assignee']")" = alice ] ||
  fail "assignees: $(st "s['issues'][-2:]")"
twice jira create "$T/tickets.json"
grep -q "2 unchanged" <<<"$OUT" || fail "second create: $OUT"
ok "jira create: 2 issues created and assigned, the key map in one commit; a second run changes nothing"

sed -i 's/Publish the ticket index/Publish the curated ticket index/' "$T/tickets.json"
jcs jira create "$T/tickets.json"
grep -q "0 created, 1 updated" <<<"$OUT" || fail "update: $OUT"
[ "$(issue "$K2" "['summary']")" = "Publish the curated ticket index" ] || fail "not updated"
twice jira create "$T/tickets.json"
ok "jira create brings a changed summary to Jira, once"

# ---- jira verify ---------------------------------------------------------------------
jcs jira verify --file "$T/tickets.json"
[ "$RC" = 0 ] || fail "verify: $OUT"
edit "{\"key\": \"$K1\", \"fields\": {\"assignee\": \"carol\"}}"
jcs jira verify --file "$T/tickets.json"
[ "$RC" = 1 ] && grep -q "$K1 *assignee *MISMATCH" <<<"$OUT" || fail "mismatch: $RC $OUT"
jcs jira verify "$K2" --status Done
[ "$RC" = 1 ] && grep -q "MISMATCH" <<<"$OUT" || fail "--status: $RC $OUT"
jcs jira verify "$K2" --reporter alice@example.invalid --status "To Do"
[ "$RC" = 0 ] || fail "verify by key: $OUT"
jcs jira verify
[ "$RC" = 2 ] || fail "verify without expectations: $RC $OUT"
jcs jira create "$T/tickets.json"
grep -q "1 assigned" <<<"$OUT" || fail "reassign: $OUT"
ok "jira verify: exit 0 when reporter, assignee and status match, 1 on a mismatch"

# ---- jira curate ----------------------------------------------------------------------
git -C "$T/a" config coordsync.jira.epic VNF-2
jcs --json jira curate
[ "$RC" = 0 ] && grep -q '"changed": 2' <<<"$OUT" || fail "curate: $OUT"
[ "$(issue "$K1" "['labels']")" = "['vnf', 'vnf-framework', 'curated']" ] || fail "labels: $(issue "$K1" "")"
[ "$(issue "$K1" "['epic']")" = VNF-2 ] && [ "$(issue "$K2" "['epic']")" = VNF-2 ] || fail "epic link"
twice jira curate
jcs --json jira curate VNF-1 VNF-6
[ "$(issue VNF-1 "['epic']")" = None ] && [ "$(issue VNF-6 "['epic']")" = None ] ||
  fail "an epic or a sub-task was linked"
ok "jira curate: labels added and non-epics linked to the epic; epics and sub-tasks left alone; twice: nothing"

# ---- jira backlog ---------------------------------------------------------------------
jcs jira backlog VNF-3
[ "$RC" = 0 ] && grep -q "moved to To Do, moved to the backlog" <<<"$OUT" || fail "backlog: $OUT"
[ "$(issue VNF-3 "['status']")" = "To Do" ] || fail "status"
st "'VNF-3' in s['backlog']" | grep -q True || fail "not in the backlog: $(st "s['backlog']")"
twice jira backlog VNF-3
grep -q "already To Do, already in the backlog" <<<"$OUT" || fail "second backlog: $OUT"
ok "jira backlog: To Do through the workflow, then the backlog; twice: nothing"

# ---- jira plan: scrum, then kanban -------------------------------------------------------
jcs --json jira plan "Phase 1 (VNF)"
[ "$RC" = 0 ] && grep -q '"board": "scrum", "created": true, "added": 2' <<<"$OUT" || fail "plan: $OUT"
twice jira plan "Phase 1 (VNF)"
jcs --json jira plan "Phase 1 (VNF)" VNF-9
grep -q '"created": false, "added": 1' <<<"$OUT" || fail "plan reuse: $OUT"
edit '{"board": {"type": "kanban"}}'
jcs --json jira plan "Phase 1 (VNF)"
[ "$RC" = 0 ] && grep -q '"board": "kanban", "created": true, "added": 2' <<<"$OUT" || fail "kanban: $OUT"
[ "$(issue "$K1" "['fixVersions']")" = "['Phase 1 (VNF)']" ] || fail "fix version"
twice jira plan "Phase 1 (VNF)"
ok "jira plan: a sprint on a scrum board, a fix version on kanban, created once, reused"

# ---- an older Data Center: Bearer, no Epic Link field, Sprint as text -----------------------
start_standin old --epic-field parent --sprint-field string
OLD=$BASE
cs init "$T/r.git" "$T/b" --server build2 >/dev/null
git -C "$T/b" config coordsync.jira.url "$OLD"
git -C "$T/b" config coordsync.jira.project VNF
git -C "$T/b" config coordsync.jira.board 1
git -C "$T/b" config coordsync.jira.tokenfile "$T/token"
git -C "$T/b" config coordsync.jira.epic VNF-1
A0=("${A[@]}"); J0=$J
A=(-C "$T/b"); J=$OLD
jcs jira sync
[ "$RC" = 0 ] || fail "sync (old DC): $OUT"
[ "$(sqlite3 "$T/b/.git/coordsync/mirror.db" "SELECT sprint, parent, assignee_id FROM jira_issues WHERE key = 'VNF-3'")" = \
  "VNF Sprint 1|VNF-1|alice" ] || fail "old DC row: $(sqlite3 "$T/b/.git/coordsync/mirror.db" "SELECT * FROM jira_issues WHERE key = 'VNF-3'")"
jcs --json jira curate VNF-9
[ "$RC" = 0 ] && grep -q '"changed": 1' <<<"$OUT" || fail "curate (parent): $OUT"
[ "$(issue VNF-9 "['epic']")" = VNF-1 ] || fail "VNF-9 not under the epic: $(issue VNF-9 "")"
twice jira curate VNF-9
jcs jira backlog VNF-4
grep -q "already To Do, moved to the backlog" <<<"$OUT" || fail "backlog (sprint text): $OUT"
twice jira backlog VNF-4
jcs --json jira plan "Phase 2" VNF-9 VNF-12
grep -q '"created": true, "added": 2' <<<"$OUT" || fail "plan (sprint text): $OUT"
twice jira plan "Phase 2" VNF-9 VNF-12
ok "an older Data Center (Bearer, parent for the epic, Sprint as text): sync, curate, backlog, plan; twice: nothing"
A=("${A0[@]}"); J=$J0

# ---- 404 and 403 -----------------------------------------------------------------------------
jcs jira backlog VNF-999
[ "$RC" = 1 ] && grep -q "not found" <<<"$OUT" || fail "404: $RC $OUT"
start_standin ro --user carol@example.invalid
set +e
OUT=$(COORDSYNC_JIRA_URL=$BASE COORDSYNC_JIRA_USER=carol@example.invalid "$COORDSYNC" "${A[@]}" jira backlog VNF-3 2>&1)
RC=$?
set -e
[ "$RC" = 1 ] && grep -q "authentication failed: check coordsync.jira.user and the token file" <<<"$OUT" ||
  fail "403: $RC $OUT"
ok "404 says not found; 403 (a read-only user) is an authentication failure"

# ---- the whole lifecycle once more: nothing moves ---------------------------------------------
W=$(st "s['writes']"); H=$(rhead)
jcs jira create "$T/tickets.json"; jcs jira curate; jcs jira backlog VNF-3
jcs jira plan "Phase 1 (VNF)"; jcs jira sync; jcs jira index; jcs jira index
[ "$(st "s['writes']")" = "$W" ] || fail "the lifecycle wrote again"
[ "$(git --git-dir="$T/r.git" rev-list --count "$H..$(rhead)")" = 1 ] || fail "more than the index's commit"
ok "the seed's lifecycle run again writes nothing but the index, once"
done_testing
