#!/usr/bin/env bash
# Worker ergonomics: job claim --json gives the whole record (--set fields
# too), job show, job add --from (many jobs, one commit, all checked
# first), msg read --all, msg send --body -, logs list and logs get.
. "$TESTS_DIR/lib.sh"
two_clones

# ---- job claim --json, job show -------------------------------------------------------
cs "${A[@]}" job add --id w1 --priority 1 --set command='make -j4 all' --set env='{"CC":"gcc"}' \
  --set weight=2.50 >/dev/null
expect_rc 0 cs "${A[@]}" --json job claim
python3 - "$OUT" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
assert list(j)[0] == "id" and j["id"] == "w1", j
assert j["command"] == "make -j4 all" and j["env"] == {"CC": "gcc"}, j
assert j["status"] == "running" and j["assigned_to"] == "build1" and j["attempts"] == 1, j
assert j["priority"] == 1 and j["fence"] == 1 and j["retries"] == 0, j
assert j["started_at"].endswith("Z"), j
PY
grep -q '"weight": 2.50' <<<"$OUT" || fail "the number's text: $OUT"
[ "$(wc -l <<<"$OUT")" = 1 ] || fail "claim --json is one line: $OUT"
ok "job claim --json: the whole record, --set fields and their number text too, one line"
cs "${A[@]}" job add --id w2 --set command=true >/dev/null
expect_rc 0 cs "${A[@]}" job claim
[ "$OUT" = w2 ] || fail "claim without --json prints the id: $OUT"
ok "job claim without --json prints the id"

expect_rc 0 cs "${A[@]}" job show w1
grep -Eq '^command +make -j4 all$' <<<"$OUT" && grep -Eq '^status +running$' <<<"$OUT" &&
  grep -Eq '^assigned_to +build1$' <<<"$OUT" && grep -Eq '^env +\{"CC":"gcc"\}$' <<<"$OUT" ||
  fail "job show: $OUT"
expect_rc 0 cs "${A[@]}" --json job show w1
python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["command"]=="make -j4 all" and "retries" not in j, j' "$OUT"
git --git-dir="$T/r.git" show HEAD:coordination/jobs.json | python3 -c '
import json,sys
f = [j for j in json.load(sys.stdin)["jobs"] if j["id"] == "w1"][0]
s = json.loads(sys.argv[1])
assert f == s, (f, s)' "$OUT" || fail "job show --json is not the file's record"
expect_rc 1 cs "${A[@]}" job show nosuch
grep -q "no job 'nosuch'" <<<"$OUT" || fail "job show of a missing job: $OUT"
expect_rc 2 cs "${A[@]}" job show
ok "job show: fields one a line; --json the file's record; missing: exit 1 naming it"

# ---- job add --from ---------------------------------------------------------------------
n0=$(commits)
cat >"$T/jobs.json" <<'JSON'
[
  {"id": "b1", "command": "echo one", "priority": 2},
  {"command": "echo \u00e9t\u00e9", "tags": ["x", 1.0], "max_attempts": 3},
  {"id": "b3", "run_after": "2030-01-01T00:00:00Z", "command": "later"}
]
JSON
expect_rc 0 cs "${A[@]}" job add --from "$T/jobs.json"
mapfile -t ids <<<"$OUT"
[ "${#ids[@]}" = 3 ] && [ "${ids[0]}" = b1 ] && [ "${ids[2]}" = b3 ] || fail "ids: $OUT"
[ "$(commits)" = $((n0 + 1)) ] || fail "job add --from made $(( $(commits) - n0 )) commits"
ok "job add --from FILE: three jobs, one commit, their ids printed in order"
cs "${B[@]}" sync >/dev/null
for id in "${ids[@]}"; do
  expect_rc 0 cs "${B[@]}" --json job show "$id"
  echo "$OUT" >>"$T/shown"
done
python3 - "$T/shown" "${ids[1]}" <<'PY'
import json, sys
j = [json.loads(l) for l in open(sys.argv[1])]
assert j[0]["id"] == "b1" and j[0]["priority"] == 2 and j[0]["command"] == "echo one", j[0]
assert j[1]["id"] == sys.argv[2] and j[1]["command"] == "echo \u00e9t\u00e9", j[1]
assert j[1]["tags"] == ["x", 1.0] and j[1]["max_attempts"] == 3 and j[1]["priority"] == 5, j[1]
assert j[2]["run_after"] == "2030-01-01T00:00:00Z" and all(x["status"] == "queued" for x in j), j
PY
cmp <(git --git-dir="$T/r.git" show HEAD:coordination/jobs.json) "$T/b/coordination/jobs.json" ||
  fail "build2's working tree is not the remote's"
(cd "$T/b" && expect_rc 0 cs validate coordination/jobs.json)
ok "another server's importer reads them back, typed (priority, max_attempts, run_after)"

expect_rc 0 cs "${B[@]}" job claim
[ "$OUT" = b1 ] || fail "priority 2 first: $OUT"
printf '[{"id": "s1", "command": "from stdin"}]' | cs "${A[@]}" job add --from - >"$T/out"
[ "$(cat "$T/out")" = s1 ] || fail "--from -: $(cat "$T/out")"
ok "job add --from - reads standard input; priorities order the claims"

n0=$(commits)
bad() {  # bad WANT-RC WANT-TEXT JSON
  run_err cs "${A[@]}" job add --from - <<<"$3"
  [ "$RC" = "$1" ] && grep -qF -- "$2" "$T/err" || fail "bad entry $3: rc $RC: $(cat "$T/err")"
}
bad 2 "job 2 of 3 ('c2'): --set 'status'" '[{"id":"c1"},{"id":"c2","status":"done"},{"id":"c3"}]'
bad 2 "job 2 of 2: id 'c1' is also job 1's" '[{"id":"c1"},{"id":"c1"}]'
bad 2 "job 3 of 3" '[{"id":"c1"},{"id":"c2"},{"id":"../x"}]'
bad 2 "job 1 of 1 ('c1'): --set 'priority'" '[{"id":"c1","priority":"high"}]'
bad 2 "job 2 of 2: not a JSON object" '[{"id":"c1"},7]'
bad 2 "invalid JSON at line 1" '[{"id":"c1"},'
bad 2 "not a JSON array" '{"id":"c1"}'
bad 2 "holds a key twice" '[{"id":"c1","x":1,"x":2}]'
bad 3 "job 2 of 2 ('b1'): job 'b1' already exists" '[{"id":"c1"},{"id":"b1"}]'
run_err cs "${A[@]}" job add --from - --priority 3 <<<'[{"id":"c1"}]'
[ "$RC" = 2 ] || fail "--from with --priority: $RC"
[ "$(commits)" = "$n0" ] || fail "a bad batch pushed something"
expect_rc 1 cs "${A[@]}" job show c1
ok "job add --from: a bad entry (or --id/--priority beside it) is named, exit 2 (3 when one exists), nothing pushed"

# ---- msg send --body -, msg read --all --------------------------------------------------
printf 'line one\nline "two"\n\ttabbed\n' >"$T/body"
expect_rc 0 cs "${B[@]}" msg send build1 --subject s1 --body - <"$T/body"
m1=$OUT
expect_rc 0 cs "${B[@]}" msg send all --subject s2 --body hello
expect_rc 0 cs "${B[@]}" msg send build1 --subject s3
remote_json coordination/messages.json | python3 -c '
import json,sys
m = [x for x in json.load(sys.stdin)["messages"] if x["id"] == sys.argv[1]][0]
assert m["body"] == open(sys.argv[2]).read(), m' "$m1" "$T/body" || fail "--body - is not the input"
ok "msg send --body - takes standard input byte for byte"
cs "${A[@]}" sync >/dev/null
expect_rc 0 cs "${A[@]}" --json msg inbox
[ "$(python3 -c 'import json,sys; print(len(json.loads(sys.argv[1])["rows"]))' "$OUT")" = 3 ] || fail "inbox: $OUT"
n0=$(commits)
expect_rc 0 cs "${A[@]}" msg read --all
[ "$OUT" = "marked 3 message(s) read" ] || fail "msg read --all: $OUT"
[ "$(commits)" = $((n0 + 1)) ] || fail "msg read --all made $(( $(commits) - n0 )) commits"
expect_rc 0 cs "${A[@]}" --json msg inbox
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]))' "$OUT")" = "{'rows': []}" ] ||
  fail "inbox after read --all: $OUT"
remote_json coordination/messages.json | python3 -c '
import json,sys
for m in json.load(sys.stdin)["messages"]:
    if m["to"] == "build1": assert m["read"] is True, m
    else: assert m["read_by"] == ["build1"], m' || fail "read flags on the remote"
expect_rc 0 cs "${A[@]}" --json msg read --all
[ "$OUT" = '{"read": 0}' ] && [ "$(commits)" = $((n0 + 1)) ] || fail "nothing to read: $OUT"
expect_rc 0 cs "${B[@]}" --json msg inbox
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]))' "$OUT")" = "{'rows': []}" ] ||
  fail "build2's inbox: $OUT"
expect_rc 2 cs "${A[@]}" msg read "$m1" --all
expect_rc 2 cs "${A[@]}" msg read
ok "msg read --all: every unread message (direct, broadcast) in one commit; nothing to read, no commit"

# ---- logs list, logs get ----------------------------------------------------------------
printf 'start\n\033[31mred\000nul\nend' >"$T/run-1.log"
head -c 3000 /dev/urandom >"$T/run-2.log"
expect_rc 0 cs "${A[@]}" logs push "$T/run-1.log"
sleep 1
expect_rc 0 cs "${A[@]}" logs push "$T/run-2.log"
expect_rc 0 cs "${A[@]}" --json logs list
python3 - "$OUT" "$(git --git-dir="$T/r.git" log -1 --format=%ct -- build1/logs/run-1.log)" \
  "$(git --git-dir="$T/r.git" log -1 --format=%ct -- build1/logs/run-2.log)" <<'PY'
import json, sys, datetime
l = json.loads(sys.argv[1])["rows"]
t = [datetime.datetime.fromtimestamp(int(x), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
     for x in sys.argv[2:]]
assert [(x["name"], x["size"], x["time"]) for x in l] == [("run-1.log", 22, t[0]), ("run-2.log", 3000, t[1])], (l, t)
PY
ok "logs list: name, size and the time of the commit that wrote each file"
cs "${B[@]}" sync >/dev/null
expect_rc 0 cs "${B[@]}" logs list
[ "$(tail -n +3 <<<"$OUT")" = "" ] || fail "build2 has no logs: $OUT"
expect_rc 0 cs "${B[@]}" logs list --of build1
grep -q '^run-2.log  *3000 ' <<<"$OUT" || fail "logs list --of: $OUT"
cs "${B[@]}" logs get run-2.log --of build1 >"$T/got2"
cmp "$T/got2" "$T/run-2.log" || fail "logs get is not byte-exact"
expect_rc 0 cs "${B[@]}" logs get run-1.log --of build1 -o "$T/got1"
cmp "$T/got1" "$T/run-1.log" || fail "logs get -o is not byte-exact"
ok "logs get: byte for byte, to standard output or -o FILE, another server's with --of"
expect_rc 1 cs "${A[@]}" logs get nosuch.log
grep -q "no log file 'build1/logs/nosuch.log'" <<<"$OUT" || fail "missing log: $OUT"
expect_rc 2 cs "${A[@]}" logs get ../x
expect_rc 2 cs "${A[@]}" logs list --of ../x
ok "logs get of a missing file: exit 1; bad names: exit 2"

# ---- served by the daemon: standard input is the caller's ---------------------------------
served() { sed -n 's/.*cycles\{0,1\}, \([0-9]*\) commands\{0,1\} served.*/\1/p' "$T/d.err" | tail -1; }
start_serving "$T/a" "$T/d.err"
printf '[{"id": "d1", "command": "served", "priority": 0}, {"id": "d2"}]' >"$T/served.json"
out=$(timeout 60 "$COORDSYNC" "${A[@]}" job add --from - <"$T/served.json")
[ "$out" = "$(printf 'd1\nd2')" ] || fail "served job add --from -: $out"
printf 'served body\n' | timeout 60 "$COORDSYNC" "${A[@]}" msg send build2 --subject sv --body - >"$T/sv.id"
out=$(timeout 60 "$COORDSYNC" "${A[@]}" --json job claim)
python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["id"]=="d1" and j["command"]=="served", j' "$out" ||
  fail "served claim --json: $out"
kill -TERM "$dpid"; wait "$dpid" 2>/dev/null || true
[ "$(served)" -ge 3 ] || fail "the daemon served $(served) commands: $(cat "$T/d.err")"
remote_json coordination/messages.json | python3 -c '
import json,sys
m = [x for x in json.load(sys.stdin)["messages"] if x["id"] == sys.argv[1]][0]
assert m["body"] == "served body\n", m' "$(cat "$T/sv.id")" || fail "served --body -"
ok "served by the daemon: job add --from - and msg send --body - read the caller's standard input"
done_testing
