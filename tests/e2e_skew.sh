#!/usr/bin/env bash
# Clock skew, with faketime: build3's clock is 5 minutes ahead, build4's 5
# minutes behind, build1's right.  A server whose clock is ahead does not
# take a live lock although its clock says the lock expired long ago; a
# server whose clock is right does not take the live lock of a server whose
# clock is behind (whose expiry is in the past for everyone else); lock
# cleanup frees neither.  Each lock is taken only once its holder's lease
# and the lock-delay have passed in real time.  coordsync health flags both
# clocks.
. "$TESTS_DIR/lib.sh"
command -v faketime >/dev/null || fail "faketime is not installed (.ci/deps installs it)"
export COORDSYNC_LOCKDELAY=1
# libfaketime goes into LD_PRELOAD; a sanitizer runtime must then not insist on being first
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
cs init "$T/r.git" "$T/c" --server build3 >/dev/null
cs init "$T/r.git" "$T/d" --server build4 >/dev/null
AHEAD=300 BEHIND=-300
ahead() { faked "+${AHEAD}s" "$COORDSYNC" -C "$T/c" "$@"; }
behind() { faked "${BEHIND}s" "$COORDSYNC" -C "$T/d" "$@"; }
[ $(( $(faked "+${AHEAD}s" date +%s) - $(date +%s) )) -ge $((AHEAD - 2)) ] || fail "faketime does not shift the clock"
OPS_RUN=0 STEALS=0

# grant_gap NAME: real seconds between the commits that granted fence 1 and
# fence 2 of lock NAME (commit times corrected by each author's offset).
grant_gap() {
  python3 - "$T/r.git" "$1" "$AHEAD" "$BEHIND" <<'PY'
import json, subprocess, sys
r, name, ahead, behind = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
offset = {"build3": ahead, "build4": behind}
def git(*a):
    return subprocess.run(["git", "--git-dir", r] + list(a), capture_output=True, text=True)
when = {}
for c in git("rev-list", "--first-parent", "--reverse", "refs/heads/main").stdout.split():
    f = git("show", c + ":coordination/locks.json")
    l = json.loads(f.stdout)["locks"].get(name) or {} if f.returncode == 0 else {}
    if l.get("locked_by") and l.get("fence") not in when:
        t, who = git("show", "-s", "--format=%ct %an", c).stdout.split()
        when[l["fence"]] = int(t) - offset.get(who, 0)
print(when[2] - when[1])
PY
}
holder() {
  git --git-dir="$T/r.git" show refs/heads/main:coordination/locks.json |
    python3 -c 'import json,sys; l=json.load(sys.stdin)["locks"][sys.argv[1]]; print(l["locked_by"], l["fence"])' "$1"
}

# ---- a clock ahead does not take a live lock ------------------------------------
expect_rc 0 cs -C "$T/a" lock acquire deploy --ttl 4
expect_rc 3 ahead lock acquire deploy
grep -q "cannot lock 'deploy': held by build1 until .* by its clock, but this server has watched" <<<"$OUT" ||
  fail "clock ahead: $OUT"
[ "$(holder deploy)" = "build1 1" ] || { STEALS=$((STEALS + 1)); fail "stolen: $(holder deploy)"; }
ok "build3 (5 min ahead) does not take build1's live lock, though its clock says it expired"
expect_rc 0 ahead lock acquire deploy --ttl 4 --wait 15
[ "$OUT" = 2 ] || fail "build3 after the lease: fence $OUT"
gap=$(grant_gap deploy)
[ "$gap" -ge 5 ] || { STEALS=$((STEALS + 1)); fail "build3 took the lock ${gap}s after build1's grant (lease 4 s + delay 1 s)"; }
ok "build3 takes it once the 4 s lease and the 1 s lock-delay have passed in real time (${gap} s)"

# ---- a clock behind: its live lock looks expired to everyone else ---------------------
expect_rc 0 behind lock acquire build --ttl 4
expect_rc 3 cs -C "$T/a" lock acquire build
grep -q "held by build4 until .* by its clock" <<<"$OUT" || fail "holder behind: $OUT"
expect_rc 0 cs -C "$T/a" lock cleanup
grep -q "released 0" <<<"$OUT" || fail "lock cleanup freed a live lock: $OUT"
[ "$(holder build)" = "build4 1" ] || { STEALS=$((STEALS + 1)); fail "stolen: $(holder build)"; }
ok "build1 neither takes nor cleans up build4's live lock (build4 5 min behind: its expiry is in the past)"
expect_rc 0 cs -C "$T/a" lock acquire build --ttl 4 --wait 15
[ "$OUT" = 2 ] || fail "build1 after the lease: fence $OUT"
gap=$(grant_gap build)
[ "$gap" -ge 5 ] || { STEALS=$((STEALS + 1)); fail "build1 took it ${gap}s after build4's grant"; }
ok "build1 takes it once the lease and the lock-delay have passed in real time (${gap} s)"
OPS_RUN=$((OPS_RUN + 8))

# ---- health flags both clocks ----------------------------------------------------------
ahead heartbeat >/dev/null
cs -C "$T/a" heartbeat >/dev/null     # build1's first heartbeat: always a commit
behind heartbeat >/dev/null           # the commit right after build1's
expect_rc 2 cs -C "$T/a" --json health --sync
python3 - "$OUT" <<'PY'
import json, sys
h = json.loads(sys.argv[1])
p = {x["key"]: x for x in h["problems"]}
a, b = p.get("skew:build3"), p.get("skew:build4")
assert a and a["values"]["source"] == "clock" and 295 <= -a["values"]["skew"] <= 305, p
assert b and b["values"]["source"] == "order" and b["values"]["after"] == "build1" \
    and 295 <= -b["values"]["skew"] <= 305, p
assert "skew:build1" not in p, p
assert a["severity"] == b["severity"] == "critical", p
PY
ok "health: build3's heartbeat is 300 s in the future, build4's commit 300 s older than the one it follows"
echo "skew: clients=3 (one 300 s ahead, one 300 s behind) operations=$((OPS_RUN + 5)) faults=2 (skewed clocks)" \
     "double_grants=$STEALS lost_intents=0 duplicated_intents=0"
done_testing
