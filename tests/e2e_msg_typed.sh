#!/usr/bin/env bash
# Typed messages (issue 16): `msg send --set KEY=VALUE` adds machine-readable
# fields to the message record, as `job add --set` does:
# - values are JSON when they parse (numbers keep their text), else strings;
# - the fields coordsync writes itself (from, to, type, subject, body,
#   timestamp, read, read_by, in_reply_to, id) are refused (exit 2), as is a
#   key given twice, and nothing is pushed;
# - --defer carries them through the outbox;
# - `msg inbox --json` shows them; a fresh clone imports the file.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

two_clones
cs "${B[@]}" heartbeat >/dev/null

# the record on the remote with id $1, as python json
field() { remote_json coordination/messages.json |
  python3 -c 'import json,sys; m=[m for m in json.load(sys.stdin)["messages"] if m["id"]==sys.argv[1]][0]; print(json.dumps(m.get(sys.argv[2], "<absent>")))' "$1" "$2"; }

id=$(cs "${A[@]}" msg send build2 --type request --subject "deploy" --set ticket=42 \
     --set 'labels=["a", "b"]' --set note=hello --set ratio=1.0 --set big=12345678901234567890)
[ "$(field "$id" ticket)" = 42 ] || fail "ticket: $(field "$id" ticket)"
[ "$(field "$id" labels)" = '["a", "b"]' ] || fail "labels: $(field "$id" labels)"
[ "$(field "$id" note)" = '"hello"' ] || fail "note: $(field "$id" note)"
remote_json coordination/messages.json | grep -q '"ratio": 1.0,' || fail "1.0 lost its text: $(remote_json coordination/messages.json)"
remote_json coordination/messages.json | grep -q '"big": 12345678901234567890$' || fail "a big integer lost digits"
[ "$(field "$id" type)" = '"request"' ] && [ "$(field "$id" from)" = '"build1"' ] || fail "own fields changed"
ok "msg send --set writes typed fields (JSON values kept exact, else strings)"

cs "${B[@]}" sync >/dev/null
out=$(cs "${B[@]}" --json msg inbox)
python3 - "$id" "$out" <<'PY' || fail "inbox --json: $out"
import json, sys
rows = json.loads(sys.argv[2])["rows"]
r = [r for r in rows if r["id"] == sys.argv[1]][0]
f = json.loads(r["fields"])
assert f["ticket"] == 42 and f["labels"] == ["a", "b"] and f["note"] == "hello", f
assert "subject" not in f and "from" not in f, f
PY
plain=$(cs "${A[@]}" msg send build2 --subject plain)
cs "${B[@]}" sync >/dev/null
out=$(cs "${B[@]}" --json msg inbox)
python3 -c 'import json,sys; r=[r for r in json.loads(sys.argv[2])["rows"] if r["id"]==sys.argv[1]][0]; assert r["fields"] is None, r' "$plain" "$out" ||
  fail "a message without fields: $out"
ok "msg inbox --json shows the fields (null when there are none)"

before=$(rhead)
for k in from to type subject body timestamp read read_by in_reply_to id; do
  expect_rc 2 cs "${A[@]}" msg send build2 --subject x --set "$k=1"
  has "'$k'"
done
expect_rc 2 cs "${A[@]}" msg send build2 --subject x --set a=1 --set a=2
has "given twice"
expect_rc 2 cs "${A[@]}" msg send build2 --subject x --set noequals
expect_rc 2 cs "${A[@]}" msg send build2 --subject x --defer --set read=true
[ "$(rhead)" = "$before" ] || fail "a refused --set pushed something"
cnt=$(cs "${A[@]}" --json outbox list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rows"]))')
[ "$cnt" = 0 ] || fail "a refused --defer --set was queued"
ok "reserved fields, a key twice, a malformed item: exit 2, nothing pushed or queued"

did=$(cs "${A[@]}" msg send build2 --subject later --defer --set run=7 --set 'meta={"k": [1, 2.50]}')
[ "$(rhead)" = "$before" ] || fail "--defer pushed"
cs "${A[@]}" sync >/dev/null
[ "$(field "$did" run)" = 7 ] || fail "deferred run: $(field "$did" run)"
remote_json coordination/messages.json | grep -q '2.50' || fail "deferred 2.50 lost its text"
ok "--defer carries typed fields through the outbox"

cs init "$T/r.git" "$T/c" --server build3 >/dev/null
[ "$(cs -C "$T/c" query --format csv "SELECT count(*) FROM files WHERE error IS NOT NULL")" = "$(printf 'count(*)\n0')" ] ||
  fail "a fresh clone refused a file"
remote_json coordination/messages.json >"$T/messages.json"
python3 - "$T/messages.json" "${TESTS_DIR:-$(dirname "$0")}/../coordination/schema/messages.schema.json" <<'PY' ||
import json, sys
from jsonschema import Draft202012Validator
Draft202012Validator(json.load(open(sys.argv[2]))).validate(json.load(open(sys.argv[1])))
PY
  fail "messages.json with typed fields does not validate against messages.schema.json"
ok "a fresh clone imports the typed messages, and the file validates against its schema"
done_testing
