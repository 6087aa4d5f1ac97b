# Shared helpers for the end-to-end tests: sourced by tests/e2e_*.sh.
# Each test gets a fresh temp directory; other servers are played with the
# git CLI.  COORDSYNC is the binary under test (set by ctest).
set -euo pipefail
: "${COORDSYNC:?set COORDSYNC to the coordsync binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/coordsync-test.XXXXXX")
BG_PIDS=()   # servers a test starts; killed on exit
trap 'rc=$?; for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
      [ $rc -ne 0 ] && echo "FAILED in $T (kept)" >&2 || rm -rf "$T"; exit $rc' EXIT
export GIT_AUTHOR_NAME=tester GIT_AUTHOR_EMAIL=tester@example.invalid
export GIT_COMMITTER_NAME=tester GIT_COMMITTER_EMAIL=tester@example.invalid
export GIT_CONFIG_NOSYSTEM=1 HOME="$T/home"
mkdir -p "$HOME"
git config --global init.defaultBranch main
git config --global advice.detachedHead false
PASS=0

cs() { "$COORDSYNC" "$@"; }

# faked OFFSET CMD...: CMD with its wall clock OFFSET off ("+600s", "-300s").
# libfaketime preloaded directly: faketime(1)'s wrapper keeps a semaphore in
# /dev/shm named by its pid, which a wrapper killed with -9 leaves behind,
# and a later wrapper given the same pid then refuses to start.
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
faked() {
  local off=$1; shift
  [ -e "$FAKETIME_LIB" ] || fail "libfaketime is not installed (.ci/deps installs faketime)"
  LD_PRELOAD="$FAKETIME_LIB${LD_PRELOAD:+:$LD_PRELOAD}" FAKETIME="$off" "$@"
}

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { PASS=$((PASS + 1)); echo "ok $PASS - $*"; }

# expect_rc N CMD...: run CMD, require exit status N; output in $OUT.
expect_rc() {
  local want=$1; shift
  set +e
  OUT=$("$@" 2>&1)
  local got=$?
  set -e
  [ "$got" -eq "$want" ] || fail "expected exit $want, got $got from: $* -- $OUT"
}

# mkremote NAME: an empty bare repository $T/NAME.git
mkremote() { git init -q --bare "$T/$1.git"; }

# two_clones: the bare remote $T/r.git, cloned by build1 at $T/a and by
# build2 at $T/b; A and B are their -C options.
two_clones() {
  mkremote r
  cs init "$T/r.git" "$T/a" --server build1 >/dev/null
  cs init "$T/r.git" "$T/b" --server build2 >/dev/null
  A=(-C "$T/a"); B=(-C "$T/b")
}

# worktree NAME REMOTE: a git CLI clone playing another server
worktree() { git clone -q "$2" "$T/$1" 2>/dev/null; }

# pyjson FILE PYTHON-EXPR: write a file the way the seed's tools do
pyjson() {
  python3 - "$1" "$2" <<'PY'
import json, sys
obj = eval(sys.argv[2], {"null": None, "true": True, "false": False})
with open(sys.argv[1], "w") as f:
    json.dump(obj, f, indent=2)
    f.write("\n")
PY
}

# claim_until_empty CLONE MAX: job claim on CLONE until nothing is queued
# (exit 3), at most MAX times, printing each claimed id; 1 when a claim fails.
claim_until_empty() {
  local i out rc
  for i in $(seq 1 "$2"); do
    set +e; out=$(cs -C "$1" job claim 2>&1); rc=$?; set -e
    [ $rc -eq 3 ] && return 0
    [ $rc -eq 0 ] || { echo "claim failed: $out" >&2; return 1; }
    echo "$out"
  done
}

# poll_until SEC CMD...: run CMD every 0.1 s until it succeeds, at most SEC seconds.
poll_until() {
  local sec=$1; shift
  for _ in $(seq 1 $((sec * 10))); do "$@" && return 0; sleep 0.1; done
  return 1
}

# run_err CMD...: run CMD, stdout in $T/out, stderr in $T/err, status in $RC.
run_err() { set +e; "$@" >"$T/out" 2>"$T/err"; RC=$?; set -e; }

# rhead [RDIR]: the main branch of the bare remote RDIR (default $T/r.git).
rhead() { git --git-dir="${1:-$T/r.git}" rev-parse refs/heads/main; }
# remote_json PATH: the file PATH at the head of $T/r.git.
remote_json() { git --git-dir="$T/r.git" show "HEAD:$1"; }
# commits: how many commits main of $T/r.git has.
commits() { git --git-dir="$T/r.git" rev-list --count main; }
# copies RDIR SUBJECT: how many messages with SUBJECT are at the remote head
copies() {
  git --git-dir="$1" show refs/heads/main:coordination/messages.json |
    python3 -c 'import json,sys; print(sum(m["subject"] == sys.argv[1] for m in json.load(sys.stdin)["messages"]))' "$2"
}
# ago SEC: a time as the seed writes it, SEC seconds ago (negative: ahead).
ago() { date -u -d "@$(( $(date +%s) - $1 ))" +%Y-%m-%dT%H:%M:%SZ; }

# start_serving CLONE LOG: `coordsync daemon` serving CLONE (its pid in
# dpid, its stderr to LOG), once its socket is there and its first cycle is
# done (the socket appears before the first cycle ends; serving starts after).
start_serving() {
  "$COORDSYNC" -C "$1" daemon --interval 3600 2>"$2" & dpid=$!
  BG_PIDS+=("$dpid")
  poll_until 30 test -S "$1/.git/coordsync/serve.sock" || fail "no socket at $1/.git/coordsync/serve.sock"
  poll_until 30 grep -q '^coordsync run server=' "$2" || fail "no first cycle: $(cat "$2")"
}

# tcs N SECS ARGS...: coordsync ARGS (under timeout 60) must exit N within
# SECS seconds; output in $OUT (and appended to $OUTLOG when that is set),
# time taken in $TOOK.
tcs() {
  local want=$1 max=$2 t0 ms; shift 2
  t0=${EPOCHREALTIME/./}
  expect_rc "$want" timeout 60 "$COORDSYNC" "$@"
  ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  TOOK=$((ms / 1000)).$((ms % 1000 / 100))
  [ -z "${OUTLOG:-}" ] || printf '%s\n' "$OUT" >>"$OUTLOG"
  [ "$ms" -lt $((max * 1000)) ] || fail "took $TOOK s (bound $max s): coordsync $* -- $OUT"
}
# has TEXT: the last output contains TEXT (fixed string)
has() { grep -qF -- "$1" <<<"$OUT" || fail "expected '$1' in: $OUT"; }

done_testing() { echo "$PASS passed, 0 failed"; }
