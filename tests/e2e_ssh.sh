#!/usr/bin/env bash
# e2e_ssh: coordsync over ssh:// with its key in ssh-agent.  The test runs
# OpenSSH's sshd on 127.0.0.1 on a free port with a host key made here, and
# an authorized_keys entry that only lets the key run git-shell; ssh-agent
# holds the key.  Checks:
#   - a host key that is unknown, or differs from known_hosts, is refused
#     before any login;
#   - init, job add, concurrent claims (each job once), lock, msg and run
#     over ssh://;
#   - the key cannot open a shell (git-shell only);
#   - an agent with a key the server refuses: exit 1 after 3 tries,
#     counted in sshd's log, for a decision and for a whole run cycle;
#   - a key file (init --ssh-key, coordsync.remote.sshkey) instead of the
#     agent: mode 0644 refused, a refused key given up after 3 tries;
#   - no agent, and sshd down: exit 1 with a clear message.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"
# The sanitizer build: libgit2 1.5.1 leaks on every ssh connection; see
# tests/lsan_ssh.supp.  (Harmless for a build without sanitizers.)
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$TESTS_DIR/lsan_ssh.supp:fast_unwind_on_malloc=0"

start_sshd 'git-shell -c \"$SSH_ORIGINAL_COMMAND\"' \
  "# high enough that the client's own limit is what stops it" "MaxAuthTries 20"
ssh-keygen -q -t ed25519 -N '' -C other-host -f "$S/other-host"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$S/stranger"
mkremote r
URL="ssh://$user@127.0.0.1:$port$T/r.git"
ok "sshd on 127.0.0.1:$port (user $user, git-shell key), ssh-agent with the key"

# ---- host keys ---------------------------------------------------------------
: >"$HOME/.ssh/known_hosts"
expect_rc 1 cs init "$URL" "$T/c0" --server build0
grep -q "unknown remote ssh hostkey" <<<"$OUT" || fail "unknown host key: $OUT"
echo "[127.0.0.1]:$port $(cat "$S/other-host.pub")" >"$HOME/.ssh/known_hosts"
expect_rc 1 cs init "$URL" "$T/c0" --server build0
grep -q "unknown remote ssh hostkey" <<<"$OUT" || fail "wrong host key: $OUT"
[ "$(logins)" -eq 0 ] && [ "$(refusals)" -eq 0 ] || fail "a key was offered to an unverified host"
ok "a host key missing from known_hosts, or different, is refused before any key is offered"
echo "[127.0.0.1]:$port $(cat "$S/host.pub")" >"$HOME/.ssh/known_hosts"

# ---- decisions over ssh:// -------------------------------------------------------
expect_rc 0 cs init "$URL" "$T/c1" --server build1
expect_rc 0 cs init "$URL" "$T/c2" --server build2
git --git-dir="$T/r.git" log --format=%s main | grep -q "Initialize coordination repository" ||
  fail "the empty remote was not seeded over ssh"
set +e
out=$(ssh -p "$port" -o BatchMode=yes -o UserKnownHostsFile="$HOME/.ssh/known_hosts" \
        "$user@127.0.0.1" id 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] && grep -q "unrecognized command 'id'" <<<"$out" || fail "the key opened a shell: $out"
ok "init over ssh:// seeds the empty remote; the key runs git only ($(logins) logins so far)"

NJ=8
for j in $(seq -w 1 $NJ); do expect_rc 0 cs -C "$T/c1" job add --id "s$j"; done
expect_rc 0 cs -C "$T/c2" sync
pids=()
for s in 1 2; do
  claim_until_empty "$T/c$s" $((NJ + 5)) >"$T/claims$s" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a claimer failed"; done
sort "$T"/claims? >"$T/all"
[ "$(wc -l <"$T/all")" = $NJ ] || fail "claimed $(wc -l <"$T/all") of $NJ"
[ -z "$(uniq -d "$T/all")" ] || fail "claimed twice: $(uniq -d "$T/all")"
[ -z "$(git --git-dir="$T/r.git" rev-list --merges main)" ] || fail "merges on the remote"
ok "2 servers claimed $NJ jobs over ssh:// at once, each exactly once ($(wc -l <"$T/claims1") + $(wc -l <"$T/claims2"))"

expect_rc 0 cs -C "$T/c1" lock acquire deploy --ttl 60
expect_rc 3 cs -C "$T/c2" lock acquire deploy --ttl 60
expect_rc 0 cs -C "$T/c1" lock release deploy
expect_rc 0 cs -C "$T/c1" msg send build2 --force --subject "hello over ssh"
expect_rc 0 cs -C "$T/c2" sync
expect_rc 0 cs -C "$T/c2" msg inbox
grep -q "hello over ssh" <<<"$OUT" || fail "inbox: $OUT"
expect_rc 0 cs -C "$T/c2" run
grep -q "result=ok" <<<"$OUT" || fail "run: $OUT"
ok "lock acquire/refuse/release, msg send and a run cycle over ssh://"

# ---- refused keys, no agent, server down ---------------------------------------------
ssh-add -q -D 2>/dev/null
ssh-add -q "$S/stranger" 2>/dev/null
f0=$(refusals)
expect_rc 1 cs -C "$T/c1" job add --id never
grep -q "refused the ssh key 3 times" <<<"$OUT" || fail "stranger key: $OUT"
tries=$(( $(await_count "Failed publickey for $user" "$S/sshd.log" $((f0 + 3))) - f0 ))
[ "$tries" -eq 3 ] || fail "sshd saw $tries refused keys, expected 3"
ok "a key the server refuses: exit 1 after $tries tries seen by sshd"
f0=$(refusals)
expect_rc 1 cs -C "$T/c1" run
grep -q "result=error" <<<"$OUT" || fail "run: $OUT"
tries=$(( $(await_count "Failed publickey for $user" "$S/sshd.log" $((f0 + 3))) - f0 ))
sleep 0.3
tries=$(( $(refusals) - f0 ))
[ "$tries" -eq 3 ] || fail "run: sshd saw $tries refused keys, expected 3"
ok "a run cycle with a refused key: exit 1, $tries tries for the whole cycle"

SSH_AUTH_SOCK="" expect_rc 1 cs -C "$T/c1" sync
grep -q "fetch failed" <<<"$OUT" && grep -qi "auth" <<<"$OUT" || fail "no agent: $OUT"
ok "no agent: exit 1: ${OUT#coordsync: }"

# ---- a key file instead of the agent ---------------------------------------------
cp "$S/key" "$S/loose-key"
chmod 644 "$S/loose-key"
env -u SSH_AUTH_SOCK "$COORDSYNC" init "$URL" "$T/c3" --server build3 --ssh-key "$S/loose-key" \
  >"$T/out" 2>&1 && fail "a key of mode 0644 was accepted"
grep -qF "ssh key '$S/loose-key' has mode 0644" "$T/out" || fail "loose key: $(cat "$T/out")"
l0=$(logins)
# a URL without a user: the user comes from --user (coordsync.remote.user)
SSH_AUTH_SOCK="" expect_rc 0 cs init "ssh://127.0.0.1:$port$T/r.git" "$T/c3" --server build3 \
  --user "$user" --ssh-key "$S/key"
[ "$(git -C "$T/c3" config coordsync.remote.sshkey)" = "$S/key" ] || fail "sshkey not recorded"
SSH_AUTH_SOCK="" expect_rc 0 cs -C "$T/c3" job add --id by-key
[ "$(logins)" -gt "$l0" ] || fail "no login with the key file"
ok "init --ssh-key --user (recorded in git config) works without an agent; a key of mode 0644 is refused"
f0=$(refusals)
SSH_AUTH_SOCK="" COORDSYNC_REMOTE_SSH_KEY="$S/stranger" expect_rc 1 cs -C "$T/c3" job add --id never
grep -q "refused the ssh key 3 times" <<<"$OUT" || fail "stranger key file: $OUT"
tries=$(( $(await_count "Failed publickey for $user" "$S/sshd.log" $((f0 + 3))) - f0 ))
[ "$tries" -eq 3 ] || fail "sshd saw $tries refused keys, expected 3"
ok "a key file the server refuses (COORDSYNC_REMOTE_SSH_KEY over git config): exit 1 after $tries tries"

ssh-add -q -D 2>/dev/null
ssh-add -q "$S/key" 2>/dev/null
expect_rc 0 cs -C "$T/c1" sync
stop_server "$SSHD_PID"
expect_rc 1 cs -C "$T/c1" job add --id late
grep -q "fetch failed" <<<"$OUT" || fail "server down: $OUT"
ok "with sshd gone, a decision fails with exit 1: ${OUT#coordsync: }"
echo "sshd saw: $(logins) logins, $(refusals) refused keys"
done_testing
