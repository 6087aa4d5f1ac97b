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
done_testing
