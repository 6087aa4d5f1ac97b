#!/usr/bin/env bash
# e2e_timeout_ssh: the time bounds (engine/net.c) over ssh://, where
# libssh2 reads and writes the socket itself.  OpenSSH's sshd on 127.0.0.1
# (set up as in e2e_ssh.sh) runs the key's forced command, a gate that,
# when told, logs in fine and then never answers: for every git command,
# or for receive-pack only.  Checks, with coordsync.timeout.stall 2s:
#   - sync and job claim against a server that never answers after the
#     login exit 1 within the bound, naming fetch and the remote;
#   - a push whose receive-pack never answers: exit 1 naming push, the
#     branch unmoved;
#   - each time the next command against the healthy server works (the
#     clone's lock is free).
# Every coordsync runs under `timeout 60`: without the bounds it hangs.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$TESTS_DIR/lsan_ssh.supp:fast_unwind_on_malloc=0"

start_sshd "$T/ssh/gate"
cat >"$S/gate" <<EOF
#!/bin/sh
# the key's forced command: git-shell, unless the test says to say nothing
case "\$SSH_ORIGINAL_COMMAND" in
  *receive-pack*) [ -e "$T/stall-push" ] && echo \$\$ >>"$T/sleepers" && exec sleep 120 ;;
esac
[ -e "$T/stall-all" ] && echo \$\$ >>"$T/sleepers" && exec sleep 120
exec git-shell -c "\$SSH_ORIGINAL_COMMAND"
EOF
chmod +x "$S/gate"
mkremote r
URL="ssh://$user@127.0.0.1:$port$T/r.git"
SHOWN="ssh://127.0.0.1:$port$T/r.git"

tcs 0 30 init "$URL" "$T/c" --server build1
git -C "$T/c" config coordsync.timeout.stall 2s
for j in j1 j2 j3; do tcs 0 30 -C "$T/c" job add --id "$j"; done
ok "init and 3 job adds over ssh:// through the gate ($(logins) logins)"

touch "$T/stall-all"
n=$(logins)
tcs 1 8 -C "$T/c" sync
has "fetch timed out: remote '$SHOWN': nothing received for 2s (coordsync.timeout.stall)"
w=$TOOK
tcs 1 8 -C "$T/c" job claim
has "fetch timed out: remote '$SHOWN'"
w2=$TOOK
[ "$(logins)" -ge $((n + 2)) ] || fail "the stalls came before the login: $(logins) logins, $n before"
rm "$T/stall-all"
tcs 0 30 -C "$T/c" sync
ok "a server that logs in and never answers: sync and job claim exit 1 in $w s and $w2 s, naming fetch; the next sync works"

head=$(git --git-dir="$T/r.git" rev-parse main)
touch "$T/stall-push"
tcs 1 8 -C "$T/c" job claim
has "push timed out: remote '$SHOWN': nothing received for 2s (coordsync.timeout.stall)"
w=$TOOK
[ "$(git --git-dir="$T/r.git" rev-parse main)" = "$head" ] || fail "the stalled push moved the branch"
rm "$T/stall-push"
tcs 0 30 -C "$T/c" job claim
[ "$OUT" = j1 ] || fail "the claim after the stalled push got '$OUT'"
ok "a receive-pack that never answers: job claim exits 1 in $w s naming push; the next claim gets j1"

# the gates that never answered: sshd left them to their sleep
while read -r p; do kill "$p" 2>/dev/null || true; done <"$T/sleepers"
echo "$PASS passed, 0 failed"
