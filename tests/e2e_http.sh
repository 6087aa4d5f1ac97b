#!/usr/bin/env bash
# e2e_http: coordsync over smart HTTP, with the token read from a file.
# git http-backend runs behind lighttpd on 127.0.0.1 (tests/netlib.sh),
# basic auth required for every request.  Checks:
#   - init, sync, job add/claim, lock acquire/release, msg send, run and
#     logs push over http://, each server logging in with its token file;
#   - a push refused because another server (the git CLI, from the
#     remote's pre-receive hook) moved the branch in between is decided
#     again and pushed: retries=1, the other commit is its parent;
#   - token files: missing, mode 0644, another owner, a password in the
#     URL, the environment overriding git config;
#   - a wrong token fails with exit 1 after 3 tries, counted in the
#     server's log; a 403 on push fails at once;
#   - server down: exit 1 naming the fetch;
#   - the token, raw or base64, is nowhere: not in any output or log line,
#     clone, mirror.db, git config, object of any repository, server log.
# Prints the requests, 401s and refused passwords the server saw.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"

rand() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
TOKEN="tok-$(rand)"
WRONG="bad-$(rand)"
mkdir -p "$T/secrets"
chmod 700 "$T/secrets"
( umask 077
  printf '%s\n' "$TOKEN" >"$T/secrets/token"
  printf '%s\n' "$WRONG" >"$T/secrets/wrong" )
OUTLOG="$T/outputs.log"     # every coordsync output of this test
# csr N ARGS...: coordsync ARGS must exit N; output in $OUT and $OUTLOG.
csr() { local want=$1; shift; expect_rc "$want" cs "$@"; printf '%s\n' "$OUT" >>"$OUTLOG"; }

mkremote r
http_repo r
start_http alice "$TOKEN"
wait_for "$HTTP_TESTER_BASE/r.git"
URL="$HTTP_BASE/r.git"
set +e
GIT_TERMINAL_PROMPT=0 git ls-remote "$URL" >/dev/null 2>&1
rc=$?
set -e
[ $rc -ne 0 ] || fail "the server answers without credentials"
[ "$(await_count ' 401$' "$HTTP_DIR/access.log" 1)" -ge 1 ] || fail "no 401 for a request without credentials"
ok "lighttpd + git http-backend on 127.0.0.1:$HTTP_PORT; requests without credentials get 401"

# ---- token files ------------------------------------------------------------
csr 1 init "$URL" "$T/c0" --server build0
grep -q "asks for a password" <<<"$OUT" && grep -q "coordsync.remote.tokenfile" <<<"$OUT" ||
  fail "no token file: $OUT"
[ ! -e "$T/c0" ] || fail "a failed clone left $T/c0"
ok "init without a token file: exit 1, 'asks for a password', names coordsync.remote.tokenfile"

cp "$T/secrets/token" "$T/secrets/loose"
chmod 644 "$T/secrets/loose"
csr 2 init "$URL" "$T/c0" --server build0 --token-file "$T/secrets/loose"
grep -qF "token file '$T/secrets/loose' has mode 0644" <<<"$OUT" || fail "mode 0644: $OUT"
ok "a token file of mode 0644 is refused, naming the file and its mode"

if [ "$(id -u)" -eq 0 ]; then
  foreign="$T/secrets/foreign"
  ( umask 077; cp "$T/secrets/token" "$foreign" )
  chown 65534 "$foreign"
else
  foreign=/etc/passwd        # owned by root, not by this user
fi
csr 2 init "$URL" "$T/c0" --server build0 --token-file "$foreign"
grep -qF "token file '$foreign' is owned by uid" <<<"$OUT" || fail "owner: $OUT"
ok "a token file owned by another user is refused, naming the file and its owner"

csr 2 init "http://alice:$TOKEN@127.0.0.1:$HTTP_PORT/git/r.git" "$T/c0" --server build0
grep -q "holds a password" <<<"$OUT" || fail "password in URL: $OUT"
ok "a URL holding a password is refused (without echoing it)"

# ---- init and decisions over http:// ------------------------------------------
csr 0 init "$URL" "$T/c1" --server build1 --user alice --token-file "$T/secrets/token"
csr 0 init "$URL" "$T/c2" --server build2 --user alice --token-file "$T/secrets/token"
[ "$(git -C "$T/c1" config coordsync.remote.tokenfile)" = "$T/secrets/token" ] ||
  fail "coordsync.remote.tokenfile not recorded"
[ "$(git -C "$T/c1" config coordsync.remote.user)" = alice ] || fail "coordsync.remote.user not recorded"
git --git-dir="$T/r.git" log --format=%s main | grep -q "Initialize coordination repository" ||
  fail "the empty remote was not seeded over http"
ok "init over http:// seeds the empty remote; --user and --token-file are recorded in git config"

# build3 gets its credentials from the environment only
COORDSYNC_REMOTE_USER=alice COORDSYNC_REMOTE_TOKEN_FILE="$T/secrets/token" \
  csr 0 init "$URL" "$T/c3" --server build3
! git -C "$T/c3" config coordsync.remote.tokenfile >/dev/null || fail "env token file was recorded"
csr 1 -C "$T/c3" sync
grep -q "asks for a password" <<<"$OUT" || fail "c3 without env: $OUT"
COORDSYNC_REMOTE_USER=alice COORDSYNC_REMOTE_TOKEN_FILE="$T/secrets/token" csr 0 -C "$T/c3" sync
COORDSYNC_REMOTE_TOKEN_FILE="$T/secrets/token" csr 0 -C "$T/c3" config
grep -q "coordsync.remote.tokenfile .*env COORDSYNC_REMOTE_TOKEN_FILE" <<<"$OUT" || fail "config: $OUT"
git -C "$T/c3" config coordsync.remote.user alice
git -C "$T/c3" config coordsync.remote.tokenfile "$T/secrets/token"
ok "COORDSYNC_REMOTE_USER / COORDSYNC_REMOTE_TOKEN_FILE work without git config (and 'config' says so)"

for j in a1 a2 a3; do csr 0 -C "$T/c1" job add --id "$j" --priority 1; done
csr 0 -C "$T/c2" sync
csr 0 -C "$T/c2" job claim
[ "$OUT" = a1 ] || fail "build2 claimed '$OUT'"
csr 0 -C "$T/c3" lock acquire deploy --ttl 60
fence=$OUT
csr 3 -C "$T/c1" lock acquire deploy --ttl 60
csr 0 -C "$T/c3" lock release deploy
csr 0 -C "$T/c1" msg send build2 --force --type request --subject "hello over http"
csr 0 -C "$T/c1" status set building --defer
csr 0 -C "$T/c1" sync
grep -q "1 intent pushed" <<<"$OUT" || fail "deferred status not pushed: $OUT"
csr 0 -C "$T/c2" sync
csr 0 -C "$T/c2" msg inbox
grep -q "hello over http" <<<"$OUT" || fail "build2's inbox: $OUT"
git clone -q "$HTTP_TESTER_BASE/r.git" "$T/check"
python3 - "$T/check" "$fence" <<'PY'
import json, sys
d, fence = sys.argv[1], int(sys.argv[2])
jobs = {j["id"]: j for j in json.load(open(d + "/coordination/jobs.json"))["jobs"]}
assert jobs["a1"]["status"] == "running" and jobs["a1"]["assigned_to"] == "build2", jobs["a1"]
assert jobs["a2"]["status"] == "queued", jobs["a2"]
lock = json.load(open(d + "/coordination/locks.json"))["locks"]["deploy"]
assert lock["fence"] == fence and not lock.get("locked_by"), lock
msgs = json.load(open(d + "/coordination/messages.json"))["messages"]
assert any(m["subject"] == "hello over http" and m["to"] == "build2" for m in msgs), msgs
assert json.load(open(d + "/build1/status.json"))["status"] == "building"
PY
ok "job add/claim, lock acquire/refuse/release (fence $fence), msg send, deferred status over http://"

# ---- a push refused by the CAS is decided again --------------------------------
# The remote's pre-receive hook, once armed, lets "build9" (the git CLI)
# push a commit of its own while coordsync's push waits for the hook, so
# receive-pack finds the branch moved and refuses coordsync's update.
git clone -q "$T/r.git" "$T/other"
cat >"$T/r.git/hooks/pre-receive" <<EOF
#!/bin/sh
cat >/dev/null
[ -e "$T/race.armed" ] || exit 0
rm -f "$T/race.armed"
cd "$T/other" || exit 1
unset GIT_DIR GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
{ git pull -q --ff-only && mkdir -p build9 && date +%s.%N >build9/mark &&
  git add build9/mark &&
  git -c user.name=build9 -c user.email=build9@example.invalid commit -qm "build9: moved the branch" &&
  git push -q origin HEAD:main && echo moved; } >>"$T/hook.log" 2>&1
exit 0
EOF
chmod +x "$T/r.git/hooks/pre-receive"
posts0=$(count 'POST /git/r.git/git-receive-pack' "$HTTP_DIR/access.log")
touch "$T/race.armed"
csr 0 -C "$T/c1" --json job claim
grep -q '"retries": 1' <<<"$OUT" || fail "expected one refused push: $OUT"
claimed=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$OUT")
[ "$(cat "$T/hook.log")" = moved ] || fail "the hook did not move the branch: $(cat "$T/hook.log")"
posts=$(( $(await_count 'POST /git/r.git/git-receive-pack' "$HTTP_DIR/access.log" $((posts0 + 2))) - posts0 ))
[ "$posts" -eq 2 ] || fail "expected 2 pushes for the claim, the server saw $posts"
subj=$(git --git-dir="$T/r.git" log --first-parent --format=%s -2 main)
[ "$subj" = "Job $claimed claimed by build1
build9: moved the branch" ] || fail "history: $subj"
[ -z "$(git --git-dir="$T/r.git" rev-list --merges main)" ] || fail "merges on the remote"
rm "$T/r.git/hooks/pre-receive"
ok "a push refused because build9 moved the branch is decided again: retries=1, $posts pushes, linear"

# ---- run and logs push -----------------------------------------------------------
csr 0 -C "$T/c1" run
grep -q "coordsync run server=build1 result=ok" <<<"$OUT" || fail "run: $OUT"
printf 'compiling...\nbuild ok\n' >"$T/build.log"
csr 0 -C "$T/c1" logs push "$T/build.log"
git --git-dir="$T/r.git" show main:build1/logs/build.log | grep -q "build ok" ||
  fail "build.log not on the remote"
ok "run cycle and logs push over http://"

# ---- wrong token, refused push, bad mode -----------------------------------------
bad0=$(count "password doesn't match" "$HTTP_DIR/error.log")
n401=$(count ' 401$' "$HTTP_DIR/access.log")
s0=$(date +%s.%N)
COORDSYNC_REMOTE_TOKEN_FILE="$T/secrets/wrong" csr 1 -C "$T/c1" job add --id never
s1=$(date +%s.%N)
grep -qF "'http://127.0.0.1:$HTTP_PORT' refused the credentials 3 times" <<<"$OUT" ||
  fail "wrong token: $OUT"
tries=$(( $(count "password doesn't match" "$HTTP_DIR/error.log") - bad0 ))
r401=$(( $(await_count ' 401$' "$HTTP_DIR/access.log" $((n401 + 4))) - n401 ))
[ "$tries" -eq 3 ] || fail "the server saw $tries wrong passwords, expected 3"
[ "$r401" -eq 4 ] || fail "the server sent $r401 401s, expected 4 (one without credentials)"
secs=$(python3 -c "print(f'{$s1 - $s0:.2f}')")
python3 -c "import sys; sys.exit(0 if $s1 - $s0 < 10 else 1)" || fail "took $secs s"
ok "wrong token: exit 1 in $secs s; the server saw $tries tries ($r401 answers 401)"

bad0=$(count "password doesn't match" "$HTTP_DIR/error.log")
COORDSYNC_REMOTE_TOKEN_FILE="$T/secrets/wrong" csr 1 -C "$T/c1" run
grep -q "result=error" <<<"$OUT" && grep -q "refused the credentials 3 times" <<<"$OUT" ||
  fail "run with a wrong token: $OUT"
[ "$(grep -c "refused the credentials" <<<"$OUT")" -eq 1 ] || fail "run: more than one error line: $OUT"
tries=$(( $(count "password doesn't match" "$HTTP_DIR/error.log") - bad0 ))
[ "$tries" -eq 3 ] || fail "run: the server saw $tries wrong passwords"
ok "run with a wrong token: one error line, exit 1; $tries tries for the whole cycle (5 steps)"

git -C "$T/c2" remote set-url origin "http://127.0.0.1:$HTTP_PORT/ro/r.git"
n403=$(count ' 403$' "$HTTP_DIR/access.log")
csr 1 -C "$T/c2" job add --id never
grep -q "push failed" <<<"$OUT" && grep -q "403" <<<"$OUT" || fail "403: $OUT"
[ $(( $(await_count ' 403$' "$HTTP_DIR/access.log" $((n403 + 1))) - n403 )) -eq 1 ] || fail "expected one 403"
git -C "$T/c2" remote set-url origin "$URL"
ok "a push answered 403 fails at once with exit 1"

chmod 640 "$T/secrets/token"
csr 1 -C "$T/c2" sync
grep -qF "token file '$T/secrets/token' has mode 0640" <<<"$OUT" || fail "mode at use: $OUT"
chmod 600 "$T/secrets/token"
csr 0 -C "$T/c2" sync
ok "a token file that became 0640 is refused at the next fetch, naming it"

# ---- server down ------------------------------------------------------------------
stop_server "$HTTP_PID"
csr 1 -C "$T/c1" job add --id late
grep -q "fetch failed" <<<"$OUT" && grep -q "127.0.0.1" <<<"$OUT" || fail "server down: $OUT"
ok "with the server gone, a decision fails with exit 1: ${OUT#coordsync: }"

echo "server saw: $(wc -l <"$HTTP_DIR/access.log") requests," \
     "$(count ' 401$' "$HTTP_DIR/access.log") answered 401," \
     "$(count "password doesn't match" "$HTTP_DIR/error.log") wrong passwords," \
     "$(count 'POST /git/r.git/git-receive-pack' "$HTTP_DIR/access.log") pushes"

# ---- the token is nowhere ------------------------------------------------------------
# The search does find it where it is meant to be: the token files here and
# the server's password file.
where=$(grep -rlaF -e "$TOKEN" "$T" | sort | tr '\n' ' ')
files=("$HTTP_DIR/auth/users" "$T/secrets/token" "$T/secrets/loose")
[ "$foreign" = /etc/passwd ] || files+=("$foreign")
want=$(printf '%s\n' "${files[@]}" | sort | tr '\n' ' ')
[ "$where" = "$want" ] || fail "the token is in: $where"
b64=$(printf 'alice:%s' "$TOKEN" | base64 -w0)
b64w=$(printf 'alice:%s' "$WRONG" | base64 -w0)
for s in "$TOKEN" "$WRONG" "$b64" "$b64w"; do
  hits=$(grep -rlaF --exclude-dir=secrets --exclude-dir=auth -e "$s" "$T" || true)
  [ -z "$hits" ] || fail "a secret is in: $hits"
  for g in "$T/r.git" "$T"/c?/.git "$T/other/.git" "$T/check/.git"; do
    if git --git-dir="$g" cat-file --batch-all-objects --batch 2>/dev/null | grep -qaF -e "$s"; then
      fail "a secret is in an object of $g"
    fi
  done
done
ok "no token (raw or base64, right or wrong) in outputs, logs, clones, mirror.db or any object"
done_testing
