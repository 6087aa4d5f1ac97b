#!/usr/bin/env bash
# History rewrites.  The remote branch is rewound (a force-push of an older
# commit, `git update-ref`), replaced by an unrelated history, or deleted,
# on a local remote and over git://.  coordsync must refuse to import and to
# decide (exit 1, naming the old and the new head, "not a descendant" or
# "branch deleted"), health must go CRITICAL, nothing must reach the remote,
# and `accept-history` must accept the new history.  Fences never repeat:
# not after an accepted rewind, nor after another tool drops a released
# lock's entry and a new server joins.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"

# fence CLONE LOCK: acquire LOCK for 60 s and print its fence.
fence() {
  cs --json -C "$1" lock acquire "$2" --ttl 60 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["fence"])'
}
# field CLONE SQL: one value from the mirror.
field() { cs -C "$1" query "$2" --format csv | sed -n 2p; }

mkremote r
R="$T/r.git"
cs init "$R" "$T/a" --server build1 >/dev/null
cs init "$R" "$T/b" --server build2 >/dev/null

# ---- fences when another tool drops a released lock's entry ---------------------------------
F=$(fence "$T/a" build)
cs -C "$T/a" lock release build >/dev/null
worktree w "$R"
python3 - "$T/w/coordination/locks.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
del d["locks"]["build"]
json.dump(d, open(sys.argv[1], "w"), indent=2)
PY
git -C "$T/w" commit -q -am "drop the released lock build"
git -C "$T/w" push -q origin main
cs init "$R" "$T/c" --server build3 >/dev/null
G=$(fence "$T/c" build)
[ "$G" -gt "$F" ] || fail "a new server granted fence $G after fence $F (entry dropped)"
cs -C "$T/c" lock release build >/dev/null
G2=$(fence "$T/a" build)
[ "$G2" -gt "$G" ] || fail "fence $G2 after $G"
ok "dropped lock entry: a newly joined server grants fence $G after $F, then $G2"

# ---- a rewind ----------------------------------------------------------------------
cs -C "$T/b" job add --id J1 >/dev/null
OLD=$(rhead "$R")
cs -C "$T/a" job claim >/dev/null
cs -C "$T/a" job done J1 >/dev/null
[ "$(fence "$T/a" deploy)" = 1 ] || fail "first grant of deploy is not fence 1"
cs -C "$T/a" lock release deploy >/dev/null
cs -C "$T/b" sync >/dev/null
NEW=$(rhead "$R")
git --git-dir="$R" update-ref refs/heads/main "$OLD"     # a force-push of an older commit
expect_rc 1 cs -C "$T/a" sync
echo "$OUT" | grep -q "not a descendant" || fail "sync after a rewind: $OUT"
echo "$OUT" | grep -q "${OLD:0:12}" && echo "$OUT" | grep -q "${NEW:0:12}" ||
  fail "the message does not name both heads: $OUT"
echo "$OUT" | grep -q "accept-history" || fail "the message does not name accept-history: $OUT"
expect_rc 1 cs -C "$T/a" job claim
echo "$OUT" | grep -q "not a descendant" || fail "claim after a rewind: $OUT"
expect_rc 1 cs -C "$T/a" lock acquire deploy --ttl 60
expect_rc 1 cs -C "$T/b" job add --id J2
expect_rc 1 cs -C "$T/a" rebuild
echo "$OUT" | grep -q "not a descendant" || fail "rebuild after a rewind: $OUT"
[ "$(rhead "$R")" = "$OLD" ] || fail "a refused decision moved the remote"
[ "$(field "$T/a" "SELECT status FROM jobs WHERE id='J1'")" = done ] ||
  fail "the refused sync imported the rewound state"
expect_rc 2 cs -C "$T/a" health
echo "$OUT" | grep -q "^CRITICAL.*was rewritten" || fail "health after a rewind: $OUT"
ok "rewind: sync, claim, lock, add and rebuild exit 1 naming both heads; health CRITICAL"

expect_rc 0 cs -C "$T/a" accept-history
[ "$(field "$T/a" "SELECT status FROM jobs WHERE id='J1'")" = queued ] ||
  fail "accept-history did not take the remote's state"
[ "$(git -C "$T/a" rev-parse HEAD)" = "$OLD" ] || fail "accept-history left the clone's branch"
[ -z "$(git -C "$T/a" status --porcelain)" ] || fail "checkout after accept: $(git -C "$T/a" status --porcelain)"
OUT=$(cs -C "$T/a" health 2>&1 || true)
echo "$OUT" | grep -q "rewritten" && fail "health still reports the rewrite: $OUT"
[ "$(fence "$T/a" deploy)" = 2 ] || fail "deploy granted with a used fence after the accepted rewind"
expect_rc 0 cs -C "$T/a" sync
expect_rc 1 cs -C "$T/b" sync     # b has not accepted the rewind itself
expect_rc 0 cs -C "$T/b" accept-history
expect_rc 0 cs -C "$T/b" sync
ok "accept-history: the rewound state, the fence after it is 2, not 1 again"

# ---- an unrelated history ------------------------------------------------------------
BEFORE=$(rhead "$R")
git -C "$T/w" checkout -q --orphan other
git -C "$T/w" commit -q -m "another history"
git -C "$T/w" push -q -f origin other:main
expect_rc 1 cs -C "$T/a" sync
echo "$OUT" | grep -q "not a descendant of ${BEFORE:0:12}" || fail "unrelated history: $OUT"
expect_rc 1 cs -C "$T/a" msg send build2 --force --subject hello
expect_rc 0 cs -C "$T/a" accept-history
git --git-dir="$R" update-ref refs/heads/main "$BEFORE"
expect_rc 1 cs -C "$T/a" sync
expect_rc 0 cs -C "$T/a" accept-history
ok "unrelated history: refused, then accepted; and back"

# ---- a deleted branch ------------------------------------------------------------------
H=$(rhead "$R")
git --git-dir="$R" update-ref -d refs/heads/main
expect_rc 1 cs -C "$T/a" sync
echo "$OUT" | grep -q "branch deleted" || fail "sync after the branch was deleted: $OUT"
expect_rc 1 cs -C "$T/a" job add --id J3
echo "$OUT" | grep -q "branch deleted" || fail "a decision after the branch was deleted: $OUT"
echo "$OUT" | grep -q "run 'coordsync init'" && fail "a decision advises init: $OUT"
expect_rc 2 cs -C "$T/a" health
echo "$OUT" | grep -q "^CRITICAL.*branch deleted" || fail "health after the branch was deleted: $OUT"
expect_rc 1 cs -C "$T/a" accept-history
git --git-dir="$R" show-ref -q refs/heads/main && fail "something re-created the deleted branch"
git --git-dir="$R" update-ref refs/heads/main "$H"
expect_rc 0 cs -C "$T/a" sync
expect_rc 0 cs -C "$T/a" job add --id J3
OUT=$(cs -C "$T/a" health 2>&1 || true)
echo "$OUT" | grep -q "branch deleted" && fail "health still reports the deleted branch: $OUT"
ok "deleted branch: refused (nothing re-seeded), health CRITICAL; the branch back, all is well"

# ---- over git:// -------------------------------------------------------------------------
git_remote g
cs init "$URL" "$T/ga" --server build1 >/dev/null
cs -C "$T/ga" job add --id N1 >/dev/null
GOLD=$(rhead "$T/g.git")
cs -C "$T/ga" job add --id N2 >/dev/null
git --git-dir="$T/g.git" update-ref refs/heads/main "$GOLD"
expect_rc 1 cs -C "$T/ga" job claim
echo "$OUT" | grep -q "not a descendant" || fail "git:// rewind: $OUT"
expect_rc 0 cs -C "$T/ga" accept-history
GH=$(rhead "$T/g.git")
git --git-dir="$T/g.git" update-ref -d refs/heads/main
expect_rc 1 cs -C "$T/ga" sync
echo "$OUT" | grep -q "branch deleted" || fail "git:// deleted branch: $OUT"
expect_rc 1 cs -C "$T/ga" job add --id N3
git --git-dir="$T/g.git" show-ref -q refs/heads/main && fail "the deleted branch was re-seeded over git://"
git --git-dir="$T/g.git" update-ref refs/heads/main "$GH"
expect_rc 0 cs -C "$T/ga" sync
ok "git://: a rewind and a deleted branch refused; accepted and restored"

done_testing
