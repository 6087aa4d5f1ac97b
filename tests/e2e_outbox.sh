#!/usr/bin/env bash
# The outbox cannot block the cycle: a poisoned intent (one that fails to
# apply) is set aside with its error, the others still go out, health warns,
# `outbox list/retry/drop` handle it, and rebuild keeps it.  The poisoned
# intent is put where an older coordsync kept its outbox (mirror.db's outbox
# table), so this also shows such intents are moved into outbox.db.
. "$TESTS_DIR/lib.sh"

two_clones
cs "${A[@]}" heartbeat && cs -C "$T/b" heartbeat   # health: a fleet of two live servers
MIRROR="$T/a/.git/coordsync/mirror.db"

# ---- 1. a poisoned intent -----------------------------------------------------
# What an older coordsync (or a broken one) left: a message intent with no
# recipient, in the mirror's own outbox table, ahead of a good one.
expect_rc 0 cs "${A[@]}" msg send build2 --force --subject before-poison --defer
sqlite3 "$MIRROR" "INSERT INTO outbox(kind, payload, created_at)
  VALUES('msg', '{\"id\": \"poison-1\", \"subject\": \"no recipient\"}', 1)"
expect_rc 0 cs "${A[@]}" msg send build2 --force --subject after-poison --defer
expect_rc 0 cs "${A[@]}" status set poisoned-but-alive --defer
expect_rc 0 cs "${A[@]}" sync
grep -q "set aside" <<<"$OUT" || fail "sync did not say an intent was set aside: $OUT"
[ "$(copies "$T/r.git" before-poison)" = 1 ] || fail "the intent before the poisoned one did not go out"
[ "$(copies "$T/r.git" after-poison)" = 1 ] || fail "the intent after the poisoned one did not go out"
git --git-dir="$T/r.git" show refs/heads/main:build1/status.json | grep -q poisoned-but-alive ||
  fail "the deferred status did not go out"
ok "a poisoned intent is set aside and the others go out (sync exits 0)"

expect_rc 0 cs "${A[@]}" outbox list
grep -q "set-aside" <<<"$OUT" && grep -qE "malformed (message|msg) intent" <<<"$OUT" || fail "outbox list: $OUT"
expect_rc 0 cs "${A[@]}" --json outbox list
ID=$(python3 -c 'import json,sys; l=json.loads(sys.argv[1])["rows"]; assert len(l)==1 and l[0]["state"]=="set-aside", l; print(l[0]["id"])' "$OUT") ||
  fail "outbox list --json: $OUT"
expect_rc 1 cs "${A[@]}" health
grep -q "intent $ID was set aside" <<<"$OUT" || fail "health does not report the set-aside intent: $OUT"
ok "outbox list (table and --json) and health report the set-aside intent"

# The cycle goes on: the next deferred intent goes out, the poisoned one stays aside.
expect_rc 0 cs "${A[@]}" msg send build2 --force --subject later --defer
expect_rc 0 cs "${A[@]}" sync
[ "$(copies "$T/r.git" later)" = 1 ] || fail "a later intent did not go out"
# retry puts it back; it fails again and is set aside again; drop removes it.
expect_rc 0 cs "${A[@]}" outbox retry "$ID"
expect_rc 0 cs "${A[@]}" sync
grep -q "set aside" <<<"$OUT" || fail "a retried poisoned intent was not set aside again: $OUT"
expect_rc 0 cs "${A[@]}" outbox retry --all
grep -q "^1 intent" <<<"$OUT" || fail "retry --all: $OUT"
expect_rc 0 cs "${A[@]}" outbox drop "$ID"
expect_rc 0 cs "${A[@]}" sync
expect_rc 0 cs "${A[@]}" outbox list
grep -q "empty" <<<"$OUT" || fail "outbox not empty after drop: $OUT"
ok "outbox retry ID, retry --all and drop ID"

# Usage and lookups.
expect_rc 2 cs "${A[@]}" outbox retry
expect_rc 2 cs "${A[@]}" outbox retry 5 --all
expect_rc 2 cs "${A[@]}" outbox drop abc
expect_rc 2 cs "${A[@]}" outbox drop 0
expect_rc 1 cs "${A[@]}" outbox drop 999
expect_rc 1 cs "${A[@]}" outbox retry 999
expect_rc 0 cs "${A[@]}" outbox retry --help
grep -q "usage: coordsync .*outbox retry" <<<"$OUT" || fail "outbox retry --help: $OUT"
expect_rc 0 cs "${A[@]}" heartbeat --defer
expect_rc 0 cs "${A[@]}" --json outbox list
PENDING=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rows"][0]["id"])' "$OUT")
expect_rc 3 cs "${A[@]}" outbox retry "$PENDING"    # not set aside: refused
expect_rc 0 cs "${A[@]}" sync
ok "outbox commands: usage errors exit 2, unknown ids 1, a pending intent cannot be retried (3)"

# An intent that kills the process applying it leaves no error to set it
# aside with: the fault hook plays one (SIGKILL right after the first intent
# is applied, three syncs in a row).  After two deaths the oldest intent goes
# alone; after its third it is set aside, and the others go out.
for i in 1 2 3; do expect_rc 0 cs "${A[@]}" msg send build2 --force --subject "killer-$i" --defer; done
for i in 1 2 3; do
  expect_rc 137 env COORDSYNC_FAULT=outbox "$COORDSYNC" "${A[@]}" sync
done
for i in 1 2 3 4; do expect_rc 0 cs "${A[@]}" sync; done
[ "$(copies "$T/r.git" killer-1)" = 0 ] || fail "killer-1 went out"
[ "$(copies "$T/r.git" killer-2)" = 1 ] && [ "$(copies "$T/r.git" killer-3)" = 1 ] ||
  fail "the intents after the one that killed the process did not go out once each"
expect_rc 0 cs "${A[@]}" --json outbox list
python3 -c 'import json,sys; l=json.loads(sys.argv[1])["rows"]; assert len(l)==1 and "died 3 times" in l[0]["error"], l' "$OUT" ||
  fail "the intent that killed the process is not set aside: $OUT"
expect_rc 0 cs "${A[@]}" outbox retry --all
expect_rc 0 cs "${A[@]}" sync
[ "$(copies "$T/r.git" killer-1)" = 1 ] || fail "killer-1 not delivered after retry"
ok "an intent that kills the process three times is set aside and the others go out; retry delivers it"

# rebuild keeps a set-aside intent.
sqlite3 "$MIRROR" "INSERT INTO outbox(kind, payload, created_at) VALUES('heartbeat', 'not json', 1)"
expect_rc 0 cs "${A[@]}" sync
expect_rc 0 cs "${A[@]}" rebuild
expect_rc 0 cs "${A[@]}" --json outbox list
python3 -c 'import json,sys; l=json.loads(sys.argv[1])["rows"]; assert [i["state"] for i in l] == ["set-aside"], l' "$OUT" ||
  fail "rebuild lost the set-aside intent: $OUT"
ok "rebuild keeps a set-aside intent"

done_testing
