#!/usr/bin/env bash
# status.json as the seed writes it (update_status: a whole object):
# `status set --unset KEY` and `--replace`, direct and deferred; and init's
# "Initialize status files": a coordsync-only server has the status.json and
# heartbeat.json the seed's adaptive_heartbeat and check_server_health read
# (tests/seed_status.py plays them), also with --adopt, and a server's files
# already on the remote are kept.  SECTIONS="unset_replace deferred" runs only
# those (each needs the init at the top), e.g. to see each check fail on an
# older binary.
. "$TESTS_DIR/lib.sh"
SEED="python3 $TESTS_DIR/seed_status.py"
show() { git --git-dir="$T/$1.git" show "main:$2"; }
# keys REMOTE PATH: the file's member names in order, one line
keys() { show "$1" "$2" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)))'; }

mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
worktree w "$T/r.git"
A=(-C "$T/a")

# ---- init creates the server's files ------------------------------------------
init_files() {
  expect_rc 0 $SEED "$T/w" build1 interval
  [ "$OUT" = 300 ] || fail "adaptive_heartbeat: $OUT"
  expect_rc 0 $SEED "$T/w" build1 healthy
  ok "the seed's adaptive_heartbeat and check_server_health read a coordsync-only server's files"

  [ "$(commits)" = 2 ] || fail "init made $(commits) commits, not 2"
  git --git-dir="$T/r.git" show --stat --format=%s main | grep -q "build1/status.json" ||
    fail "the init's last commit does not hold build1/status.json"
  [ "$(keys r build1/status.json)" = "status timestamp" ] || fail "status.json: $(show r build1/status.json)"
  show r build1/status.json | python3 -c 'import json, sys; d = json.load(sys.stdin)
assert d["status"] == "idle" and d["timestamp"].endswith("Z"), d'
  [ "$(keys r build1/heartbeat.json)" = "instance timestamp" ] || fail "heartbeat.json: $(show r build1/heartbeat.json)"
  ok "init writes build1/status.json {status: idle, timestamp} and heartbeat.json in one commit after the seed's"
}

# ---- --unset and --replace --------------------------------------------------------
unset_replace() {
  cs "${A[@]}" status set building --set job=j1 --set n=1.50 --set keep=x
  expect_rc 0 cs "${A[@]}" status set building --unset job --unset absent
  [ "$(keys r build1/status.json)" = "status timestamp n keep" ] || fail "after --unset: $(show r build1/status.json)"
  show r build1/status.json | grep -q '"n": 1.50,' || fail "--unset rewrote a number: $(show r build1/status.json)"
  ok "status set --unset KEY removes a field, keeps the others (a number's digits too)"

  expect_rc 0 cs "${A[@]}" status set idle --replace --set y='[1, 2.50]'
  [ "$(keys r build1/status.json)" = "status y timestamp" ] || fail "after --replace: $(show r build1/status.json)"
  show r build1/status.json | grep -q '^    2.50$' || fail "--replace lost a number's digits: $(show r build1/status.json)"
  expect_rc 0 $SEED "$T/w" build1 interval
  ok "status set --replace writes the whole object: STATUS, the --set fields and the timestamp"

  n=$(commits)
  for bad in "--unset status" "--unset timestamp" "--unset k --set k=1" "--unset k --unset k" \
             "--unset k --replace" "--unset="; do
    # shellcheck disable=SC2086
    expect_rc 2 cs "${A[@]}" status set idle $bad
  done
  [ "$(commits)" = "$n" ] || fail "a refused status set pushed"
  ok "--unset of status or timestamp, of a field also set or twice, or with --replace: exit 2, nothing pushed"
}

# ---- the same deferred, through the outbox ---------------------------------------
deferred() {
  expect_rc 0 cs "${A[@]}" status set idle --replace --set y=1
  cs "${A[@]}" status set busy --set a=1 --set b=2
  expect_rc 0 cs "${A[@]}" status set busy --unset a --defer
  expect_rc 0 cs "${A[@]}" outbox list
  grep -q unset <<<"$OUT" || fail "outbox list: $OUT"
  show r build1/status.json | grep -q '"a"' || fail "a deferred --unset was pushed at once"
  expect_rc 0 cs "${A[@]}" sync
  [ "$(keys r build1/status.json)" = "status y timestamp b" ] || fail "deferred --unset: $(show r build1/status.json)"
  expect_rc 0 cs "${A[@]}" status set done --replace --set c=3 --defer
  expect_rc 0 cs "${A[@]}" sync
  [ "$(keys r build1/status.json)" = "status c timestamp" ] || fail "deferred --replace: $(show r build1/status.json)"
  ok "--unset and --replace deferred: queued, then applied by the sync as the direct command does"

  # An intent as a coordsync before --unset wrote it (a "set" object, no
  # "unset"), left in the mirror's old outbox table: it still applies.
  sqlite3 "$T/a/.git/coordsync/mirror.db" "INSERT INTO outbox(kind, payload, created_at)
    VALUES('status', '{\"set\": {\"status\": \"legacy\", \"old\": 1}, \"at\": $(date +%s)}', 1)"
  expect_rc 0 cs "${A[@]}" sync
  [ "$(keys r build1/status.json)" = "status c timestamp old" ] || fail "old intent: $(show r build1/status.json)"
  show r build1/status.json | grep -q '"legacy"' || fail "old intent: $(show r build1/status.json)"
  ok "an older status intent without 'unset' applies as before"
}

# ---- files already on the remote are kept -----------------------------------------
kept() {
  # build2 runs the seed's scripts: its own files, in its own format.
  expect_rc 0 $SEED "$T/w" build2 update building "note=seed"
  pyjson "$T/w/build2/heartbeat.json" "dict(timestamp=$(date +%s))"
  git -C "$T/w" add -A && git -C "$T/w" commit -qm "build2 heartbeat" && git -C "$T/w" push -q origin HEAD:main
  before=$(git --git-dir="$T/r.git" rev-parse main:build2/status.json main:build2/heartbeat.json)
  n=$(commits)
  expect_rc 0 cs init "$T/r.git" "$T/b" --server build2
  grep -q "already has a heartbeat" <<<"$OUT" || fail "init did not warn: $OUT"
  [ "$(git --git-dir="$T/r.git" rev-parse main:build2/status.json main:build2/heartbeat.json)" = "$before" ] ||
    fail "init rewrote build2's files: $(show r build2/status.json)"
  [ "$(commits)" = "$n" ] || fail "init of a server with both files committed"
  expect_rc 0 $SEED "$T/w" build2 interval
  [ "$OUT" = 30 ] || fail "adaptive_heartbeat of build2: $OUT"
  ok "init of a server id whose files are on the remote (a seed server's) keeps them as they are"

  before=$(git --git-dir="$T/r.git" rev-parse main:build1/status.json main:build1/heartbeat.json)
  n=$(commits)
  expect_rc 0 cs init "$T/r.git" "$T/a2" --server build1
  grep -q "already has a heartbeat" <<<"$OUT" || fail "second init did not warn: $OUT"
  [ "$(git --git-dir="$T/r.git" rev-parse main:build1/status.json main:build1/heartbeat.json)" = "$before" ] ||
    fail "a second init of build1 rewrote its files"
  [ "$(commits)" = "$n" ] || fail "a second init of build1 committed"
  ok "a second clone's init with the same server id warns and keeps the files"

  # Only the file that is missing is written.
  mkdir -p "$T/w/build3" && git -C "$T/w" pull -q --rebase origin main
  pyjson "$T/w/build3/status.json" "dict(status='building', timestamp=$(date +%s))"
  git -C "$T/w" add -A && git -C "$T/w" commit -qm "build3 status: building" && git -C "$T/w" push -q origin HEAD:main
  before=$(git --git-dir="$T/r.git" rev-parse main:build3/status.json)
  cs init "$T/r.git" "$T/c" --server build3 >/dev/null
  [ "$(git --git-dir="$T/r.git" rev-parse main:build3/status.json)" = "$before" ] || fail "build3's status.json rewritten"
  show r build3/heartbeat.json | grep -q '"timestamp"' || fail "no heartbeat for build3"
  expect_rc 0 $SEED "$T/w" build3 healthy
  ok "init writes only the file the server lacks (heartbeat.json), keeping its status.json"
}

# ---- --adopt ------------------------------------------------------------------------
adopt() {
  git init -q "$T/other" && echo hi >"$T/other/README" && git -C "$T/other" add README &&
    git -C "$T/other" commit -qm readme && git clone -q --bare "$T/other" "$T/o.git"
  cs init --adopt "$T/o.git" "$T/d" --server build4 >/dev/null
  [ "$(keys o build4/status.json)" = "status timestamp" ] || fail "adopt: no status.json"
  [ "$(keys o build4/heartbeat.json)" = "instance timestamp" ] || fail "adopt: no heartbeat.json"
  git clone -q "$T/o.git" "$T/ow"
  expect_rc 0 $SEED "$T/ow" build4 interval
  ok "init --adopt writes the server's status.json and heartbeat.json too"
}

for s in ${SECTIONS:-init_files unset_replace deferred kept adopt}; do "$s"; done
