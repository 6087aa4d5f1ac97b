#!/usr/bin/env bash
# The main paths (init, decisions, sync, rebuild, query) run clean under
# valgrind: no invalid accesses and no leaks (but libgit2's known one).
. "$TESTS_DIR/lib.sh"
vg() {
  valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
    --suppressions="$TESTS_DIR/valgrind.supp" "$COORDSYNC" "$@"
}
expect_rc 0 vg demo "$T/demo"
ok "demo (init, add, claim, done, lock, msg, defer, sync) is clean"
expect_rc 0 vg -C "$T/demo/build1" rebuild
ok "rebuild is clean"
expect_rc 0 vg -C "$T/demo/build1" query "SELECT * FROM jobs" --format json
ok "query is clean"
expect_rc 2 vg -C "$T/demo/build1" query "DELETE FROM jobs"
ok "a refused query is clean"

# Each main path as its own process, as a timer runs them: init of a second
# clone, a claim that must fetch and re-import another server's change
# (local fetch, delta import, working tree update), a sync after a git CLI
# push, a lock, a deferred message pushed by sync.
remote=$(git -C "$T/demo/build1" remote get-url origin)
expect_rc 0 vg --server build3 init "$remote" "$T/b3"
ok "init is clean"
expect_rc 0 cs -C "$T/demo/build1" job add --id vg1
expect_rc 0 cs -C "$T/demo/build1" job add --id vg2
expect_rc 0 vg -C "$T/b3" job claim
ok "a claim after another server's change (fetch, delta import, export, push, working tree) is clean"
worktree w "$remote"
pyjson "$T/w/build9.tmp" '{}'
mkdir -p "$T/w/build9" && mv "$T/w/build9.tmp" "$T/w/build9/status.json"
git -C "$T/w" add -A && git -C "$T/w" commit -qm "build9" && git -C "$T/w" push -q origin HEAD:main
expect_rc 0 vg -C "$T/b3" sync
ok "sync of a git CLI push is clean"
expect_rc 0 vg -C "$T/b3" lock acquire vglock
expect_rc 0 vg -C "$T/b3" msg send all --type info --subject vg --defer
expect_rc 0 vg -C "$T/b3" sync
ok "lock acquire, msg send --defer and the sync that pushes it are clean"

# The daemon serving commands: what one served command leaves behind, the
# next ones add to; valgrind's leak check at the daemon's exit sees it all.
valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
  --suppressions="$TESTS_DIR/valgrind.supp" "$COORDSYNC" -C "$T/b3" daemon --interval 3600 \
  2>"$T/vgd.err" & vpid=$!
BG_PIDS+=("$vpid")
for _ in $(seq 1 600); do grep -q '^coordsync run ' "$T/vgd.err" && break; sleep 0.1; done
grep -q 'serving commands' "$T/vgd.err" || fail "daemon not serving: $(cat "$T/vgd.err")"
for i in 1 2 3; do cs -C "$T/demo/build1" job add --id "vgd$i" >/dev/null; done
expect_rc 0 cs -C "$T/b3" job claim
expect_rc 0 cs -C "$T/b3" --json sync
expect_rc 0 cs -C "$T/b3" lock acquire vglock2
expect_rc 0 cs -C "$T/b3" msg inbox
expect_rc 2 cs -C "$T/b3" job claim nonsense
expect_rc 1 cs -C "$T/b3" job done nosuchjob
kill -TERM "$vpid"
set +e; wait "$vpid"; rc=$?; set -e
[ "$rc" = 0 ] || fail "valgrind exit $rc: $(cat "$T/vgd.err")"
grep -q ', 5 commands served' "$T/vgd.err" || fail "expected 5 commands served: $(tail -2 "$T/vgd.err")"
ok "a daemon that served claim, sync, lock, inbox and a failing command is clean"
done_testing
