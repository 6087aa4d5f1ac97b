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

S="$T/ssh"
mkdir -p "$S" "$HOME/.ssh"
chmod 700 "$S" "$HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -C host -f "$S/host"
ssh-keygen -q -t ed25519 -N '' -C coordsync -f "$S/key"
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
printf 'restrict,command="%s" %s\n' "$S/gate" "$(cat "$S/key.pub")" >"$S/authorized_keys"
port=$(free_port)
user=$(id -un)
cat >"$S/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $S/host
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers $user
StrictModes no
LogLevel VERBOSE
EOF
if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
  mkdir -p -m 0755 /run/sshd
fi
/usr/sbin/sshd -t -f "$S/sshd_config" || fail "sshd rejects $S/sshd_config"
/usr/sbin/sshd -D -e -f "$S/sshd_config" 2>>"$S/sshd.log" &
BG_PIDS+=($!)
ssh-agent -D -a "$S/agent.sock" >/dev/null &
BG_PIDS+=($!)
export SSH_AUTH_SOCK="$S/agent.sock"
poll_until 10 eval '[ -S "$SSH_AUTH_SOCK" ] && grep -q "Server listening" "$S/sshd.log"' ||
  fail "no sshd or agent"
ssh-add -q "$S/key" 2>/dev/null || fail "ssh-add"
echo "[127.0.0.1]:$port $(cat "$S/host.pub")" >"$HOME/.ssh/known_hosts"
mkremote r
URL="ssh://$user@127.0.0.1:$port$T/r.git"
SHOWN="ssh://127.0.0.1:$port$T/r.git"

# tcs N SECS ARGS...: coordsync ARGS (under timeout 60) must exit N within SECS s
tcs() {
  local want=$1 max=$2 t0 ms; shift 2
  t0=${EPOCHREALTIME/./}
  expect_rc "$want" timeout 60 "$COORDSYNC" "$@"
  ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  TOOK=$((ms / 1000)).$((ms % 1000 / 100))
  [ "$ms" -lt $((max * 1000)) ] || fail "took $TOOK s (bound $max s): coordsync $* -- $OUT"
}
has() { grep -qF -- "$1" <<<"$OUT" || fail "expected '$1' in: $OUT"; }
logins() { count "Accepted publickey for $user" "$S/sshd.log"; }

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
