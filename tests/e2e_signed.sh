#!/usr/bin/env bash
# Signed commits: coordsync signs its commits as git does when git's
# configuration asks for it (commit.gpgsign, user.signingkey, gpg.format,
# gpg.program, gpg.ssh.program), with a throwaway GnuPG home and ssh-keygen
# keys, and git verify-commit accepts them.
. "$TESTS_DIR/lib.sh"
command -v gpg >/dev/null || fail "gpg is not installed (.ci/deps installs gnupg)"
export GNUPGHOME="$T/gnupg"
mkdir -m 700 "$GNUPGHOME"
# The agent gpg starts belongs to this test's home: stop it with the test.
trap 'rc=$?; gpgconf --kill all >/dev/null 2>&1 || true
      [ $rc -ne 0 ] && echo "FAILED in $T (kept)" >&2 || rm -rf "$T"; exit $rc' EXIT

gpg --batch --passphrase '' --quick-gen-key 'Build One <build1@example.invalid>' ed25519 sign never \
  2>/dev/null
FPR=$(gpg --with-colons --list-secret-keys build1@example.invalid 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
[ -n "$FPR" ] || fail "no key made"
ssh-keygen -q -t ed25519 -N '' -C build2 -f "$T/ssh2"
echo "build2@example.invalid $(cut -d' ' -f1,2 "$T/ssh2.pub")" >"$T/allowed"
git config --global gpg.ssh.allowedSignersFile "$T/allowed"   # for git verify-commit

# ---- not asked: not signed, authored by the server as before ---------------------
mkremote r
cs init "$T/r.git" "$T/plain" --server build9 >/dev/null
git --git-dir="$T/r.git" verify-commit main 2>/dev/null && fail "unsigned commit verified"
[ "$(git --git-dir="$T/r.git" log -1 --format='%an <%ae>' main)" = "build9 <build9@coordsync>" ] ||
  fail "author without user.name: $(git --git-dir="$T/r.git" log -1 --format='%an <%ae>' main)"
ok "without commit.gpgsign nothing is signed, author is the server"

# ---- openpgp, from the global config: init's commit and a decision ---------------
git config --global user.name 'Build One'
git config --global user.email build1@example.invalid
git config --global commit.gpgsign true
git config --global user.signingkey "$FPR"
mkremote s
cs init "$T/s.git" "$T/a" --server build1 >/dev/null
git --git-dir="$T/s.git" verify-commit main 2>"$T/v" || fail "init's commit: $(cat "$T/v")"
grep -q 'Good signature from "Build One' "$T/v" || fail "not gpg's good signature: $(cat "$T/v")"
[ "$(git --git-dir="$T/s.git" log -1 --format='%an <%ae>|%cn <%ce>' main)" = \
  "Build One <build1@example.invalid>|Build One <build1@example.invalid>" ] || fail "author, committer"
ok "init's commit is signed with gpg (git verify-commit), by user.name and user.email"
cs -C "$T/a" lock acquire deploy >/dev/null
git --git-dir="$T/s.git" verify-commit main 2>"$T/v" || fail "decision's commit: $(cat "$T/v")"
[ "$(git --git-dir="$T/s.git" log -1 --format=%G? main)" = G ] || fail "%G? is not G"
ok "a decision's commit is signed with gpg"
# user.signingkey unset: git signs as the committer's identity, and so does coordsync
git config --global --unset user.signingkey
cs -C "$T/a" lock release deploy >/dev/null
git --git-dir="$T/s.git" verify-commit main 2>/dev/null || fail "signed by identity"
ok "without user.signingkey, the key of 'user.name <user.email>'"

# ---- ssh, from the clone's config ------------------------------------------------
cs init "$T/s.git" "$T/b" --server build2 >/dev/null
git -C "$T/b" config gpg.format ssh
git -C "$T/b" config user.signingkey "$T/ssh2"
git -C "$T/b" config user.email build2@example.invalid
cs -C "$T/b" lock acquire deploy >/dev/null
git --git-dir="$T/s.git" verify-commit main 2>"$T/v" || fail "ssh: $(cat "$T/v")"
grep -q 'Good "git" signature for build2@example.invalid' "$T/v" || fail "ssh: $(cat "$T/v")"
ok "a decision's commit is signed with ssh-keygen (git verify-commit)"
# gpg.ssh.program is the program run
cat >"$T/sshwrap" <<EOF
#!/bin/sh
echo called >>"$T/sshwrap.log"
exec ssh-keygen "\$@"
EOF
chmod +x "$T/sshwrap"
git -C "$T/b" config gpg.ssh.program "$T/sshwrap"
cs -C "$T/b" lock release deploy >/dev/null
[ -s "$T/sshwrap.log" ] || fail "gpg.ssh.program not run"
git --git-dir="$T/s.git" verify-commit main 2>/dev/null || fail "ssh via gpg.ssh.program"
ok "gpg.ssh.program signs"

# ---- failures: named, bounded, nothing pushed --------------------------------------
head=$(git --git-dir="$T/s.git" rev-parse main)
git -C "$T/a" config gpg.program "$T/no-such-gpg"
run_err cs -C "$T/a" lock acquire web
[ $RC -eq 1 ] || fail "missing gpg.program: exit $RC"
grep -q "no-such-gpg" "$T/err" || fail "error does not name the program: $(cat "$T/err")"
[ "$(git --git-dir="$T/s.git" rev-parse main)" = "$head" ] || fail "pushed without a signature"
ok "a signing program that cannot run: exit 1 naming it, nothing pushed"
printf '#!/bin/sh\necho "gpg: signing failed: No secret key" >&2\nexit 2\n' >"$T/badgpg"
chmod +x "$T/badgpg"
git -C "$T/a" config gpg.program "$T/badgpg"
run_err cs -C "$T/a" lock acquire web
[ $RC -eq 1 ] && grep -q "badgpg.*exit 2.*No secret key" "$T/err" || fail "failing gpg: $RC $(cat "$T/err")"
ok "a signing program that fails: its message"
printf '#!/bin/sh\nexec sleep 30\n' >"$T/slowgpg"
chmod +x "$T/slowgpg"
git -C "$T/a" config gpg.program "$T/slowgpg"
start=$(date +%s)
COORDSYNC_TIMEOUT_TOTAL=1 run_err cs -C "$T/a" lock acquire web
[ $RC -eq 1 ] && grep -q "slowgpg.*did not finish within 1s" "$T/err" || fail "slow gpg: $RC $(cat "$T/err")"
[ $(($(date +%s) - start)) -lt 10 ] || fail "the bound was not kept"
[ "$(git --git-dir="$T/s.git" rev-parse main)" = "$head" ] || fail "pushed without a signature"
ok "a signing program that hangs is killed at coordsync.timeout.total"
# One that closes its output and goes on: the bound still holds (it was
# waited for without one once its output had closed).
printf '#!/bin/sh\nexec >&- 2>&- <&-\nexec sleep 30\n' >"$T/mutegpg"
chmod +x "$T/mutegpg"
git -C "$T/a" config gpg.program "$T/mutegpg"
start=$(date +%s)
COORDSYNC_TIMEOUT_TOTAL=1 run_err cs -C "$T/a" lock acquire web
[ $RC -eq 1 ] && grep -q "mutegpg.*did not finish within 1s" "$T/err" || fail "mute gpg: $RC $(cat "$T/err")"
[ $(($(date +%s) - start)) -lt 10 ] || fail "the bound was not kept once the output closed"
ok "a signing program that closes its output and hangs is killed at the bound too"
git -C "$T/a" config --unset gpg.program
git -C "$T/a" config gpg.format x509
run_err cs -C "$T/a" lock acquire web
[ $RC -eq 1 ] && grep -q "gpg.format 'x509' is not supported" "$T/err" || fail "x509: $(cat "$T/err")"
git -C "$T/a" config --unset gpg.format
cs -C "$T/a" lock acquire web >/dev/null
git --git-dir="$T/s.git" verify-commit main 2>/dev/null || fail "after the failures"
ok "an unsupported gpg.format is named; the next decision is signed"

# ---- verification on import: coordsync.verify ---------------------------------------
# Another GnuPG home holds a key the verifier does not know; a third ssh key
# is in no principal of the allowed signers.
export GNUPGHOME2="$T/gnupg2"
mkdir -m 700 "$GNUPGHOME2"
GNUPGHOME="$GNUPGHOME2" gpg --batch --passphrase '' --quick-gen-key 'Mallory <m@example.invalid>' \
  ed25519 sign never 2>/dev/null
trap 'rc=$?; gpgconf --kill all >/dev/null 2>&1 || true
      GNUPGHOME="$GNUPGHOME2" gpgconf --kill all >/dev/null 2>&1 || true
      [ $rc -ne 0 ] && echo "FAILED in $T (kept)" >&2 || rm -rf "$T"; exit $rc' EXIT
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$T/ssh3"
git config --global user.signingkey "$FPR"
mkremote v
cs init "$T/v.git" "$T/va" --server build3 >/dev/null
cs init "$T/v.git" "$T/vc" --server build4 >/dev/null
git -C "$T/vc" config coordsync.verify require
worktree w "$T/v.git"
W=(git -C "$T/w")
vhead() { cs -C "$T/vc" query "SELECT value FROM meta WHERE key='last_head'" --format csv | tail -1; }
remote_head() { git --git-dir="$T/v.git" rev-parse main; }

"${W[@]}" commit -q -S --allow-empty -m 'signed with gpg'
"${W[@]}" -c gpg.format=ssh -c user.signingkey="$T/ssh2" commit -q -S --allow-empty -m 'signed with ssh'
"${W[@]}" push -q origin main
run_err cs -C "$T/vc" sync
[ $RC -eq 0 ] || fail "require, good signatures: $RC $(cat "$T/err")"
[ "$(vhead)" = "$(remote_head)" ] || fail "not imported"
expect_rc 0 cs -C "$T/vc" health
ok "require: commits signed with a keyring key (gpg) and an allowed signer (ssh) are imported"

good=$(remote_head)
"${W[@]}" commit -q --no-gpg-sign --allow-empty -m 'unsigned'
"${W[@]}" push -q origin main
bad=$(remote_head)
run_err cs -C "$T/vc" sync
[ $RC -eq 1 ] || fail "require, unsigned: exit $RC"
grep -q "commit ${bad:0:12} (author tester <tester@example.invalid>) is not signed" "$T/err" ||
  fail "message: $(cat "$T/err")"
[ "$(vhead)" = "$good" ] || fail "the mirror moved to $(vhead)"
ok "require: an unsigned commit is not imported, the message names it"
run_err cs -C "$T/vc" lock acquire deploy2
[ $RC -eq 1 ] && grep -q "is not signed" "$T/err" || fail "decision: $RC $(cat "$T/err")"
[ "$(remote_head)" = "$bad" ] || fail "a decision was pushed"
expect_rc 2 cs -C "$T/vc" health
echo "$OUT" | grep -q "CRITICAL.*${bad:0:12}.*is not signed" || fail "health: $OUT"
ok "require: a decision is refused and health is CRITICAL"
run_err cs -C "$T/va" sync
[ $RC -eq 0 ] || fail "verify off: $(cat "$T/err")"
ok "off (the default): the same commit is imported"

git -C "$T/vc" config coordsync.verify warn
run_err cs -C "$T/vc" sync
[ $RC -eq 0 ] && grep -q "${bad:0:12}.*is not signed.*imported (coordsync.verify=warn)" "$T/err" ||
  fail "warn: $RC $(cat "$T/err")"
[ "$(vhead)" = "$bad" ] || fail "warn: not imported"
expect_rc 0 cs -C "$T/vc" health
ok "warn: imported with a notice naming it; health clears"

git -C "$T/vc" config coordsync.verify require
GNUPGHOME="$GNUPGHOME2" "${W[@]}" -c user.signingkey=m@example.invalid commit -q -S --allow-empty \
  -m 'signed by a stranger'
"${W[@]}" push -q origin main
run_err cs -C "$T/vc" sync
[ $RC -eq 1 ] && grep -q "is signed by an unknown key: key [0-9A-F]*, not in the keyring" "$T/err" ||
  fail "unknown gpg key: $RC $(cat "$T/err")"
[ "$(vhead)" = "$bad" ] || fail "the mirror moved"
ok "require: a commit signed by a gpg key not in the keyring is refused, naming the key"
COORDSYNC_VERIFY=warn cs -C "$T/vc" sync >/dev/null 2>&1

"${W[@]}" -c gpg.format=ssh -c user.signingkey="$T/ssh3" commit -q -S --allow-empty -m 'ssh stranger'
"${W[@]}" push -q origin main
run_err cs -C "$T/vc" sync
[ $RC -eq 1 ] && grep -q "is signed by an unknown key: ED25519 key SHA256:.*in no principal" "$T/err" ||
  fail "unknown ssh key: $RC $(cat "$T/err")"
ok "require: a commit signed by an ssh key no allowed signer has is refused, naming the key"
COORDSYNC_VERIFY=warn cs -C "$T/vc" sync >/dev/null 2>&1

# A signed commit whose text was changed after signing (same signature).
"${W[@]}" commit -q -S --allow-empty -m 'deploy v1'
forged=$("${W[@]}" cat-file commit HEAD | sed 's/^deploy v1$/deploy v2/' |
         "${W[@]}" hash-object -t commit -w --stdin)
"${W[@]}" push -q origin "$forged:refs/heads/main"
run_err cs -C "$T/vc" sync
[ $RC -eq 1 ] && grep -q "commit ${forged:0:12} .*has a bad signature: Build One" "$T/err" ||
  fail "forged: $RC $(cat "$T/err")"
ok "require: a commit whose signature does not match its text is refused"

# The bad commit is checked below a good one on top: every new commit is.
"${W[@]}" fetch -q origin && "${W[@]}" reset -q --hard origin/main
"${W[@]}" commit -q -S --allow-empty -m 'good on top'
"${W[@]}" push -q origin main
run_err cs -C "$T/vc" sync
[ $RC -eq 1 ] && grep -q "${forged:0:12}" "$T/err" || fail "buried: $RC $(cat "$T/err")"
git -C "$T/vc" config coordsync.verify off
expect_rc 0 cs -C "$T/vc" sync
expect_rc 0 cs -C "$T/vc" health
ok "a bad commit under a good one is found; off imports and clears health"
git -C "$T/vc" config coordsync.verify sometimes
run_err cs -C "$T/vc" sync
[ $RC -eq 2 ] && grep -q "coordsync.verify is 'sometimes': off, warn or require" "$T/err" ||
  fail "bad setting: $RC $(cat "$T/err")"
ok "an unknown coordsync.verify is a usage error"

# ---- more new commits than coordsync.verify.max ----------------------------------
git -C "$T/vc" config coordsync.verify require
git -C "$T/vc" config coordsync.verify.max 2
"${W[@]}" fetch -q origin && "${W[@]}" reset -q --hard origin/main
for i in 1 2 3; do "${W[@]}" commit -q -S --allow-empty -m "signed $i"; done
"${W[@]}" push -q origin main
run_err cs -C "$T/vc" sync
[ $RC -eq 1 ] && grep -q "more than 2 new commits .*(coordsync.verify.max)" "$T/err" ||
  fail "bound: $RC $(cat "$T/err")"
COORDSYNC_VERIFY=warn run_err cs -C "$T/vc" sync
[ $RC -eq 0 ] && grep -q "only the newest 2 new commits" "$T/err" || fail "bound, warn: $RC $(cat "$T/err")"
git -C "$T/vc" config coordsync.verify.max 3
"${W[@]}" fetch -q origin && "${W[@]}" reset -q --hard origin/main
for i in 4 5 6; do "${W[@]}" commit -q -S --allow-empty -m "signed $i"; done
"${W[@]}" push -q origin main
expect_rc 0 cs -C "$T/vc" sync
ok "coordsync.verify.max: more new commits are refused under require, a notice under warn"

# ---- trust as git takes it: gpg.minTrustLevel, gpg.ssh.revocationFile ------------
# A key in the keyring is trusted, as by git verify-commit; gpg.minTrustLevel
# asks for more (Mallory's imported key has no owner trust: "undefined").
GNUPGHOME="$GNUPGHOME2" gpg --export m@example.invalid 2>/dev/null | gpg --batch --import 2>/dev/null
"${W[@]}" fetch -q origin && "${W[@]}" reset -q --hard origin/main
GNUPGHOME="$GNUPGHOME2" "${W[@]}" -c user.signingkey=m@example.invalid commit -q -S --allow-empty \
  -m 'Mallory, now in the keyring'
"${W[@]}" push -q origin main
git -C "$T/vc" config gpg.minTrustLevel marginal
run_err cs -C "$T/vc" sync
[ $RC -eq 1 ] && grep -q "unknown key: Mallory .*trusted 'undefined', below gpg.minTrustLevel 'marginal'" \
  "$T/err" || fail "minTrustLevel: $RC $(cat "$T/err")"
git -C "$T/vc" config --unset gpg.minTrustLevel
expect_rc 0 cs -C "$T/vc" sync
ok "gpg.minTrustLevel: a key below it is refused; a key in the keyring is enough without it"
git -C "$T/vc" config gpg.ssh.revocationFile "$T/ssh2.pub"
"${W[@]}" -c gpg.format=ssh -c user.signingkey="$T/ssh2" commit -q -S --allow-empty -m 'revoked key'
"${W[@]}" push -q origin main
run_err cs -C "$T/vc" sync
[ $RC -eq 1 ] && grep -q "has a bad signature: build2@example.invalid" "$T/err" ||
  fail "revoked: $RC $(cat "$T/err")"
git --git-dir="$T/v.git" -c gpg.ssh.revocationFile="$T/ssh2.pub" verify-commit main 2>/dev/null &&
  fail "git accepts the revoked key"
git -C "$T/vc" config --unset gpg.ssh.revocationFile
expect_rc 0 cs -C "$T/vc" sync
ok "gpg.ssh.revocationFile: a revoked ssh key is refused, as by git verify-commit"

# ---- ssh: a public key given literally, its private key in ssh-agent (-U) ----------
eval "$(ssh-agent -s -a "$T/agent.sock")" >/dev/null
trap 'rc=$?; kill "$SSH_AGENT_PID" 2>/dev/null || true; gpgconf --kill all >/dev/null 2>&1 || true
      GNUPGHOME="$GNUPGHOME2" gpgconf --kill all >/dev/null 2>&1 || true
      [ $rc -ne 0 ] && echo "FAILED in $T (kept)" >&2 || rm -rf "$T"; exit $rc' EXIT
ssh-add -q "$T/ssh2" 2>/dev/null
git -C "$T/b" config --unset gpg.ssh.program
git -C "$T/b" config user.signingkey "key::$(cat "$T/ssh2.pub")"
cs -C "$T/b" lock acquire literal1 >/dev/null
git --git-dir="$T/s.git" verify-commit main 2>/dev/null || fail "key:: literal"
git -C "$T/b" config user.signingkey "$(cat "$T/ssh2.pub")"
cs -C "$T/b" lock acquire literal2 >/dev/null
git --git-dir="$T/s.git" verify-commit main 2>/dev/null || fail "ssh- literal"
ok "ssh: a literal public key (key::, ssh-) signs through ssh-agent"
