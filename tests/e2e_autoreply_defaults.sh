#!/usr/bin/env bash
# The default replies by message type (issue 16, the seed's "Default
# semantics"), shipped by init as docs/auto_reply_rules.json:
# - request: acknowledged (a reply "ack" of type info, in_reply_to set) and
#   marked read; info, warning and error: marked read;
# - the sender's own defaults mark the ack read without replying (no loop);
# - init --adopt keeps a remote's own docs/auto_reply_rules.json.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

two_clones
git --git-dir="$T/r.git" show main:docs/auto_reply_rules.json >"$T/rules" 2>/dev/null ||
  fail "init shipped no docs/auto_reply_rules.json"
python3 - "$T/rules" <<'PY' || fail "the shipped rules: $(cat "$T/rules")"
import json, sys
text = open(sys.argv[1]).read()
rules = json.loads(text)["rules"]
assert text == json.dumps({"rules": rules}, indent=2) + "\n", "not in the seed's layout"
by = {r.get("type"): r for r in rules}
assert set(by) == {"request", "info", "warning", "error"}, by
assert by["request"]["action"] == "reply" and by["request"]["reply"]["subject"], by
assert all(by[t]["action"] == "mark" for t in ("info", "warning", "error")), by
assert all(r["contains"] == "" for r in rules), rules
PY
python3 - "$T/rules" "${TESTS_DIR:-$(dirname "$0")}/../coordination/schema/auto_reply_rules.schema.json" <<'PY' ||
import json, sys
from jsonschema import Draft202012Validator
Draft202012Validator(json.load(open(sys.argv[2]))).validate(json.load(open(sys.argv[1])))
PY
  fail "the shipped rules do not validate against auto_reply_rules.schema.json"
ok "init ships docs/auto_reply_rules.json with a rule per message type, in the seed's layout and schema"

cs "${B[@]}" heartbeat >/dev/null
declare -A ID
for t in request info warning error; do
  ID[$t]=$(cs "${A[@]}" msg send build2 --type "$t" --subject "a $t")
done
cs "${B[@]}" msg autoreply >"$T/log" 2>&1
grep -q "replied to ${ID[request]} from build1" "$T/log" || fail "no ack of the request: $(cat "$T/log")"
for t in info warning error; do
  grep -q "marked ${ID[$t]} from build1" "$T/log" || fail "$t not marked: $(cat "$T/log")"
done
[ "$(cs "${B[@]}" --json msg inbox)" = '{"rows": []}' ] || fail "still unread: $(cs "${B[@]}" msg inbox)"
remote_json coordination/messages.json | python3 -c '
import json, sys
ms = json.load(sys.stdin)["messages"]
acks = [m for m in ms if m.get("in_reply_to") == sys.argv[1]]
assert len(acks) == 1 and acks[0]["type"] == "info" and acks[0]["subject"] == "ack" and acks[0]["to"] == "build1", acks
assert len(ms) == 5, ms' "${ID[request]}" || fail "the ack: $(remote_json coordination/messages.json)"
ok "request: acknowledged and marked read; info, warning, error: marked read"

cs "${A[@]}" msg autoreply >"$T/log2" 2>&1
grep -q "marked .* from build2 (\"ack\") read" "$T/log2" || fail "the ack was not marked: $(cat "$T/log2")"
! grep -q "replied to" "$T/log2" || fail "a reply to the ack: $(cat "$T/log2")"
[ "$(remote_json coordination/messages.json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))')" = 5 ] ||
  fail "the exchange did not stop"
ok "the ack is marked read by the sender's defaults, without a reply (no loop)"

git init -q --bare -b main "$T/own.git"
worktree ow "$T/own.git"
mkdir -p "$T/ow/docs"
echo '{"rules": []}' >"$T/ow/docs/auto_reply_rules.json"
git -C "$T/ow" add docs && git -C "$T/ow" commit -q -m rules && git -C "$T/ow" push -q origin HEAD:main
cs init "$T/own.git" "$T/o1" --server build1 --adopt >/dev/null
[ "$(git --git-dir="$T/own.git" show main:docs/auto_reply_rules.json)" = '{"rules": []}' ] ||
  fail "adopt replaced the remote's rules"
git --git-dir="$T/own.git" show main:coordination/jobs.json >/dev/null || fail "adopt added no coordination/"
ok "init --adopt keeps the remote's own rules"
done_testing
