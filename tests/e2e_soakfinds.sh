#!/usr/bin/env bash
# Defects the long runs of the random harnesses found (tests/soak_model.sh,
# tests/soak_history.sh), each as a deterministic case.
. "$TESTS_DIR/lib.sh"

two_clones
cs -C "$T/a" heartbeat && cs -C "$T/b" heartbeat
show() { git --git-dir="$T/r.git" show "refs/heads/main:$1" 2>/dev/null; }

# ---- 1. a deferred intent keeps the identity it was recorded with ------------
# Model test seed 102: `--server build9 msg send build3 --defer` in build2's
# clone exited 0; the sync that flushed it sent the message as build2.  The
# same for status and heartbeat: build1's status.json got build9's status.
# A direct command writes as --server; a deferred one must do the same.
expect_rc 0 cs "${A[@]}" status set idle
expect_rc 0 cs "${A[@]}" --server build9 msg send build2 --subject soak-deferred-from --defer
expect_rc 0 cs "${A[@]}" --server build9 status set build9-was-here --defer
expect_rc 0 cs "${A[@]}" --server build9 heartbeat --defer
expect_rc 0 cs "${A[@]}" sync
show coordination/messages.json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["messages"] if m["subject"] == "soak-deferred-from"]
assert len(m) == 1, m
assert m[0]["from"] == "build9", "sent as %r, not as build9" % m[0]["from"]' ||
  fail "a deferred message recorded with --server build9 was not sent from build9"
ok "a deferred message is sent as the --server it was recorded with"
show build1/status.json | grep -q build9-was-here &&
  fail "build9's deferred status was written into build1/status.json: $(show build1/status.json)"
show build9/status.json | grep -q build9-was-here ||
  fail "build9's deferred status is not in build9/status.json"
show build9/heartbeat.json >/dev/null || fail "build9's deferred heartbeat is not in build9/heartbeat.json"
ok "a deferred status and heartbeat go to the --server they were recorded with"

# The clone's own deferred intents are still its own.
expect_rc 0 cs "${A[@]}" status set own-deferred --defer
expect_rc 0 cs "${A[@]}" sync
show build1/status.json | grep -q own-deferred || fail "build1's own deferred status did not go out"
ok "the clone's own deferred status still goes to its own file"

# ---- 2. after kills in the push, one sync still drains the outbox -------------
# History checker seed 3: kill -9 during flushes left every pending intent
# counted twice as "died while pushing"; each later sync then pushed one of
# them alone, so six deferred messages needed six more cycles and the final
# syncs did not deliver them.  The suspects still go out one per commit,
# but one sync now pushes them all.
expect_rc 0 cs "${A[@]}" sync      # build2 is a known recipient
for i in 1 2 3 4; do expect_rc 0 cs "${A[@]}" msg send build2 --subject "drain-$i" --defer; done
for i in 1 2; do expect_rc 137 env COORDSYNC_FAULT=outbox "$COORDSYNC" "${A[@]}" sync; done
before=$(git --git-dir="$T/r.git" rev-list --count refs/heads/main)
expect_rc 0 cs "${A[@]}" sync
for i in 1 2 3 4; do
  [ "$(copies "$T/r.git" "drain-$i")" = 1 ] || fail "drain-$i is on the remote $(copies "$T/r.git" "drain-$i") times after one sync: $OUT"
done
after=$(git --git-dir="$T/r.git" rev-list --count refs/heads/main)
[ $((after - before)) -ge 4 ] || fail "the suspect intents did not go out one per commit ($before -> $after)"
expect_rc 0 cs "${A[@]}" --json outbox list
[ "$OUT" = '{"rows": []}' ] || fail "the outbox is not empty after the sync: $OUT"
ok "after two deaths in the push, one sync delivers every pending intent, one per commit"

done_testing
