#!/usr/bin/env bash
# Identity, settings and clone detection: reserved server ids, recipients
# that must be known servers, two clones using one server id, settings
# parsed strictly (with systemd durations) and never showing a secret, and
# commands that touch only a coordsync clone.  build3 is played with the
# git CLI.  SECTIONS="settings clone" runs only those (each section needs
# the ones before it only for the checks that say so), e.g. to see each
# defect fail on an older binary.
. "$TESTS_DIR/lib.sh"
two_clones
worktree w "$T/r.git"
W="$T/w"
# wput PATH PYTHON-EXPR [COMMIT-SECONDS-AGO]: build3 writes a file
wput() {
  git -C "$W" pull -q --rebase origin main
  mkdir -p "$(dirname "$W/$1")"
  pyjson "$W/$1" "$2"
  git -C "$W" add -A
  GIT_COMMITTER_DATE="$(( $(date +%s) - ${3:-0} )) +0000" git -C "$W" commit -q -m "build3: $1"
  git -C "$W" push -q origin HEAD:main
}

# ---- reserved server ids ------------------------------------------------------
reserved() {
  for id in coordination all docs Docs schema logs; do
    expect_rc 2 cs init "$T/r.git" "$T/x-$id" --server "$id"
    grep -q "reserved" <<<"$OUT" || fail "init --server $id: $OUT"
    [ ! -e "$T/x-$id" ] || fail "init --server $id left $T/x-$id"
  done
  expect_rc 2 cs "${A[@]}" --server coordination heartbeat
  grep -q "'coordination' is reserved" <<<"$OUT" || fail "$OUT"
  expect_rc 2 env COORDSYNC_SERVER=all "$COORDSYNC" "${A[@]}" status set idle
  git -C "$T/a" config coordsync.server docs
  expect_rc 2 cs "${A[@]}" job add
  git -C "$T/a" config coordsync.server build1
  git --git-dir="$T/r.git" ls-tree --name-only main > "$T/top"
  ! grep -qx -e all -e coordination/status.json "$T/top" || fail "a reserved id wrote: $(cat "$T/top")"
  # docs/ holds the default auto-reply rules init ships, and nothing else
  [ "$(git --git-dir="$T/r.git" ls-tree -r --name-only main docs/)" = docs/auto_reply_rules.json ] ||
    fail "a reserved id wrote into docs/: $(git --git-dir="$T/r.git" ls-tree -r --name-only main docs/)"
  git --git-dir="$T/r.git" ls-tree --name-only main coordination/ | grep -q -e heartbeat -e status &&
    fail "a reserved server wrote into coordination/"
  ok "reserved ids (coordination, all, docs, Docs, schema, logs) are refused at init, --server, env and config: exit 2"
  # Another tool writes heartbeats under reserved names: they are no servers.
  wput all/heartbeat.json "dict(timestamp='$(ago 4000)')"
  wput docs/status.json "dict(status='idle', timestamp='$(ago 4000)')"
  expect_rc 0 cs "${A[@]}" sync
  expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM servers WHERE id IN ('all', 'docs')" --format csv
  [ "$(tail -1 <<<"$OUT")" = 0 ] || fail "a reserved directory imported as a server"
  git -C "$W" rm -q -r all docs && git -C "$W" commit -q -m "gone" && git -C "$W" push -q origin HEAD:main
  ok "directories with reserved names are not imported as servers"
  # A message "from" all (another tool wrote it) gets no auto-reply: that
  # would be a broadcast.
  wput docs/auto_reply_rules.json "dict(rules=[dict(contains='ping', action='reply', reply=dict(subject='pong'))])"
  git -C "$W" pull -q --rebase origin main
  python3 - "$W/coordination/messages.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["messages"].append({"id": "from-all", "from": "all", "to": "build1", "type": "request",
                      "subject": "ping", "body": None, "timestamp": "2026-01-01T00:00:00Z", "read": False})
json.dump(d, open(p, "w"), indent=2); open(p, "a").write("\n")
PY
  git -C "$W" commit -q -am "a message from all" && git -C "$W" push -q origin HEAD:main
  expect_rc 0 cs "${A[@]}" msg autoreply
  expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM messages WHERE to_server='all' AND subject='pong'" --format csv
  [ "$(tail -1 <<<"$OUT")" = 0 ] || fail "auto-reply broadcast a reply to a message from 'all'"
  expect_rc 0 cs "${A[@]}" msg read from-all
  ok "auto-reply does not answer a sender with a reserved name"
}

# ---- recipients must be known servers -------------------------------------------
recipients() {
  cs "${A[@]}" heartbeat
  n=$(commits)
  expect_rc 2 cs "${A[@]}" msg send build9 --subject typo
  grep -q "unknown recipient 'build9'" <<<"$OUT" || fail "$OUT"
  expect_rc 2 cs "${A[@]}" msg send build9 --subject typo --defer
  expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM outbox" --format csv
  [ "$(tail -1 <<<"$OUT")" = 0 ] || fail "a refused deferred message was queued"
  [ "$(commits)" = "$n" ] || fail "a message to an unknown server was pushed"
  expect_rc 2 cs "${A[@]}" msg send docs --subject x --force
  ok "msg send to an unknown server is refused (exit 2), deferred or not, and nothing is pushed or queued"
  # init wrote build2's status.json and heartbeat.json: it is known already
  expect_rc 0 cs "${A[@]}" msg send build2 --subject "after its init"
  cs "${B[@]}" heartbeat
  expect_rc 0 cs "${A[@]}" msg send build2 --subject "after its heartbeat"
  expect_rc 0 cs "${A[@]}" msg send build2 --subject "deferred" --defer
  expect_rc 0 cs "${A[@]}" msg send build1 --subject "to myself"
  expect_rc 0 cs "${A[@]}" msg send all --subject "to everyone"
  wput build3/status.json "dict(status='idle', timestamp='$(ago 0)')"
  wput build4/logs/first.log "dict(line='a log only')"
  expect_rc 0 cs "${A[@]}" msg send build3 --subject "status only"
  expect_rc 0 cs "${A[@]}" msg send build4 --subject "a directory only"
  ok "known servers: a heartbeat, a status.json, a directory, this server, and all"
  wput build3/heartbeat.json "dict(timestamp='$(ago 0)')"
  expect_rc 0 cs "${A[@]}" msg send build9 --subject "on purpose" --force
  expect_rc 0 cs "${A[@]}" health --sync
  grep -q build9 <<<"$OUT" && fail "build9 counted: $OUT"
  [ "$(head -1 <<<"$OUT" | sed "s/ | .*//")" = "COORDSYNC OK - 3 servers, no problems" ] || fail "$OUT"
  ok "--force sends to an unknown server, which does not become a fleet member health waits for"
}

# ---- two clones, one server id ------------------------------------------------------
duplicate() {
  expect_rc 0 cs init "$T/r.git" "$T/a2" --server build1
  grep -q "already has a heartbeat" <<<"$OUT" || fail "init did not warn: $OUT"
  ok "init warns when the server id already has a heartbeat"
  cs -C "$T/a2" heartbeat
  inst() { git --git-dir="$T/r.git" show main:build1/heartbeat.json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("instance", ""))'; }
  i2=$(inst)
  [[ $i2 =~ ^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$ ]] || fail "instance '$i2'"
  expect_rc 2 cs "${A[@]}" health --sync
  grep -q "^CRITICAL build1 heartbeat was written by another clone" <<<"$OUT" || fail "$OUT"
  ok "a clone sees its server's heartbeat written by another instance: CRITICAL duplicate"
  expect_rc 0 cs "${B[@]}" health --sync
  cs "${A[@]}" heartbeat
  i1=$(inst)
  [ -n "$i1" ] && [ "$i1" != "$i2" ] || fail "instances $i1 $i2"
  expect_rc 2 cs "${B[@]}" health --sync
  grep -q "^CRITICAL build1 heartbeat alternates between instances" <<<"$OUT" || fail "$OUT"
  ok "another server sees build1's heartbeat flip between two instances: CRITICAL duplicate"
  python3 - "$(git --git-dir="$T/r.git" show main:build1/heartbeat.json)" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert set(d) == {"timestamp", "instance"} and d["timestamp"].endswith("Z"), d
PY
  # One replacement (a clone rebuilt) is not a duplicate.
  cs init "$T/r.git" "$T/c1" --server build5 >/dev/null 2>&1
  cs -C "$T/c1" heartbeat
  cs "${B[@]}" sync >/dev/null
  rm -rf "$T/c1"
  cs init "$T/r.git" "$T/c2" --server build5 >/dev/null 2>&1
  cs -C "$T/c2" heartbeat
  expect_rc 2 cs "${B[@]}" health --sync
  # (the performance data after " | " names every server)
  sed 's/ | .*//' <<<"$OUT" | grep -q "build5" && fail "a replaced clone reported: $OUT"
  expect_rc 0 cs -C "$T/c2" health --sync --ignore build1
  ok "a server whose clone was replaced once is not reported"
  # A copy of a clone (cp -r) takes a new instance id.
  cp -a "$T/c2" "$T/c3"
  cs -C "$T/c3" heartbeat
  [ "$(cut -d' ' -f1 "$T/c2/.git/coordsync/instance")" != "$(cut -d' ' -f1 "$T/c3/.git/coordsync/instance")" ] ||
    fail "a copied clone kept the instance id"
  expect_rc 2 cs -C "$T/c2" health --sync --ignore build1
  grep -q "^CRITICAL build5 heartbeat was written by another clone" <<<"$OUT" || fail "$OUT"
  ok "a copied clone gets its own instance id, so the copy is reported too"
}

# ---- settings --------------------------------------------------------------------------
settings() {
  git -C "$T/a" config coordsync.rescue.olderthan 15m
  expect_rc 0 cs "${A[@]}" config
  grep -q "^coordsync.rescue.olderthan  *900 " <<<"$OUT" || fail "config: $(grep rescue <<<"$OUT")"
  # build3 runs a job and went silent 20 minutes ago: a run with 15m rescues it.
  wput build3/heartbeat.json "dict(timestamp='$(ago 1200)')" 1200
  git -C "$W" pull -q --rebase origin main
  python3 - "$W/coordination/jobs.json" "$(ago 1500)" <<'PY'
import json, sys
p, t = sys.argv[1], sys.argv[2]
d = json.load(open(p))
d["jobs"].append(dict(id="J1", status="running", assigned_to="build3", priority=1,
                      created_at=t, started_at=t, attempts=1, max_attempts=3))
json.dump(d, open(p, "w"), indent=2); open(p, "a").write("\n")
PY
  git -C "$W" commit -q -am "build3 claims J1"
  git -C "$W" push -q origin HEAD:main
  # Rescue waits until this host has watched the claim and the heartbeat
  # unchanged that long (RELIABILITY.md, Clocks): a unit the setting did not
  # take would leave it off (0), as 15m did.
  git -C "$T/a" config coordsync.rescue.olderthan 3s
  expect_rc 0 cs "${A[@]}" run
  sleep 4
  expect_rc 0 cs "${A[@]}" run
  expect_rc 0 cs "${A[@]}" query "SELECT status FROM jobs WHERE id='J1'" --format csv
  [ "$(tail -1 <<<"$OUT")" = queued ] || fail "J1 not rescued with rescue.olderthan=3s: $OUT"
  ok "coordsync.rescue.olderthan takes units: config shows 15m as 900 s, and run rescues with 3s"
  git -C "$T/a" config coordsync.lockdelay abc
  expect_rc 2 cs "${A[@]}" job list
  grep -q "coordsync.lockdelay 'abc'.*expected a duration" <<<"$OUT" || fail "$OUT"
  expect_rc 2 cs "${A[@]}" config
  grep -q "^coordsync.lockdelay  *abc  *git config coordsync.lockdelay (invalid)" <<<"$OUT" || fail "$OUT"
  git -C "$T/a" config coordsync.lockdelay 2m
  expect_rc 0 cs "${A[@]}" config
  grep -q "^coordsync.lockdelay  *120 " <<<"$OUT" || fail "$OUT"
  for bad in "retries 0" "retries 5x" "maxfilesize -1" "autoreply maybe" "query.timeout 1ms"; do
    git -C "$T/a" config "coordsync.${bad% *}" "${bad#* }"
    expect_rc 2 cs "${A[@]}" job list
    grep -q "invalid setting coordsync.${bad% *} '${bad#* }'" <<<"$OUT" || fail "$bad: $OUT"
    git -C "$T/a" config --unset "coordsync.${bad% *}"
  done
  # compact.olderthan 30 (days once) fails config and the compaction only
  # (e2e_habits: the run goes on), not every command.
  git -C "$T/a" config coordsync.compact.olderthan 30
  expect_rc 0 cs "${A[@]}" job list
  expect_rc 2 cs "${A[@]}" config
  grep -q "invalid setting coordsync.compact.olderthan '30'" <<<"$OUT" || fail "compact.olderthan 30: $OUT"
  git -C "$T/a" config --unset coordsync.compact.olderthan
  expect_rc 2 env COORDSYNC_RETRIES=lots "$COORDSYNC" "${A[@]}" job list
  grep -q "from env COORDSYNC_RETRIES" <<<"$OUT" || fail "$OUT"
  ok "an invalid setting is an error naming key, value, source and form (exit 2); config shows it as invalid"
  expect_rc 0 cs "${A[@]}" lock acquire dur --ttl 2m
  expect_rc 0 cs "${A[@]}" query "SELECT expires_at - locked_at FROM locks WHERE name='dur'" --format csv
  [ "$(tail -1 <<<"$OUT")" = 120.0 ] || [ "$(tail -1 <<<"$OUT")" = 120 ] || fail "ttl 2m: $OUT"
  expect_rc 0 cs "${A[@]}" lock renew dur --ttl 90
  expect_rc 2 cs "${A[@]}" lock acquire dur2 --ttl 2x
  grep -q "needs a duration" <<<"$OUT" || fail "$OUT"
  expect_rc 0 cs "${A[@]}" job rescue --older-than 1h
  # This host has watched build3's heartbeat unchanged for over 4 s (the rescue
  # above): stale past 2s (CRITICAL past twice), fresh within 30m.
  expect_rc 2 cs "${A[@]}" health --max-age 2s --ignore build1 --ignore build5
  expect_rc 0 cs "${A[@]}" health --max-age 30m --stuck 2h --ignore build1 --ignore build5
  expect_rc 0 cs "${A[@]}" compact --older-than 2w
  expect_rc 0 cs "${A[@]}" compact --older-than 36h
  expect_rc 2 cs "${A[@]}" compact --older-than 14
  ok "duration flags take systemd units (--ttl 2m, --older-than 1h, --max-age 2s and 30m, compact 2w and 36h; compact's bare 14 refused)"
  git -C "$T/a" config coordsync.health.alert "https://alice:s3cr3t-pw@127.0.0.1:9/hook"
  expect_rc 0 cs "${A[@]}" config
  grep -q "s3cr3t" <<<"$OUT" && fail "config printed the password: $OUT"
  grep -q "https://alice:\*\*\*@127.0.0.1:9/hook" <<<"$OUT" || fail "$OUT"
  expect_rc 0 cs "${A[@]}" --json config
  grep -q "s3cr3t" <<<"$OUT" && fail "config --json printed the password"
  git -C "$T/a" config --unset coordsync.health.alert
  ok "config masks a URL's password"
}

# ---- clone detection --------------------------------------------------------------------
clone() {
  git init -q "$T/plain"
  git -C "$T/plain" commit -q --allow-empty -m x
  for cmd in "job list" "sync" "heartbeat" "query SELECT\ 1" "config"; do
    eval "set -- $cmd"
    expect_rc 1 cs -C "$T/plain" "$@"
    grep -q "not a coordsync clone" <<<"$OUT" || fail "$cmd: $OUT"
  done
  [ ! -e "$T/plain/.git/coordsync" ] || fail "created $(ls "$T/plain/.git/coordsync")"
  mkdir "$T/plain/sub"
  expect_rc 1 cs -C "$T/plain/sub" job list
  [ ! -e "$T/plain/.git/coordsync" ] || fail "created .git/coordsync from a subdirectory"
  ok "commands in a git repository that is not a coordsync clone exit 1 and create nothing"
  expect_rc 1 cs init "$T/nothere.git" "$T/n" --server build1
  grep -q "$T/nothere.git" <<<"$OUT" || fail "$OUT"
  grep -q "unsupported URL protocol" <<<"$OUT" && fail "$OUT"
  [ ! -e "$T/n" ] || fail "init left $T/n"
  ok "init of a missing local path names the path"
  mkremote other
  git clone -q "$T/other.git" "$T/ow" 2>/dev/null
  echo "hello" > "$T/ow/README"
  git -C "$T/ow" add README && git -C "$T/ow" commit -q -m readme && git -C "$T/ow" push -q origin HEAD:main
  expect_rc 3 cs init "$T/other.git" "$T/o1" --server build1
  grep -q "no coordination/" <<<"$OUT" && grep -q -- "--adopt" <<<"$OUT" || fail "$OUT"
  [ ! -e "$T/o1" ] || fail "a refused init left $T/o1"
  [ "$(git --git-dir="$T/other.git" rev-list --count main)" = 1 ] || fail "the refused remote was written"
  expect_rc 0 cs init "$T/other.git" "$T/o1" --server build1 --adopt
  git --git-dir="$T/other.git" ls-tree -r --name-only main > "$T/files"
  grep -qx README "$T/files" && grep -qx coordination/jobs.json "$T/files" || fail "$(cat "$T/files")"
  expect_rc 0 cs -C "$T/o1" job add --id adopted
  expect_rc 0 cs init "$T/other.git" "$T/o2" --server build2
  ok "init refuses a non-empty remote without coordination/ (exit 3) unless --adopt, which adds it beside the files"
  # A remote whose HEAD names a branch with no commits (git init --bare on a
  # host whose default is master) while the fleet pushes main: seeding master
  # would start a second fleet beside it.
  git init -q --bare -b master "$T/split.git"
  git --git-dir="$T/other.git" push -q "$T/split.git" main:main
  expect_rc 3 cs init "$T/split.git" "$T/s1" --server build3
  grep -q "names 'master' as its default branch.*other branches ('main')" <<<"$OUT" || fail "$OUT"
  [ ! -e "$T/s1" ] || fail "a refused init left $T/s1"
  [ "$(git --git-dir="$T/split.git" for-each-ref --format='%(refname)')" = refs/heads/main ] ||
    fail "init wrote a branch: $(git --git-dir="$T/split.git" for-each-ref)"
  git --git-dir="$T/split.git" symbolic-ref HEAD refs/heads/main
  expect_rc 0 cs init "$T/split.git" "$T/s1" --server build3
  ok "init refuses a remote whose default branch is unborn beside other branches, naming them"
}

for s in ${SECTIONS:-reserved recipients duplicate settings clone}; do "$s"; done
done_testing
