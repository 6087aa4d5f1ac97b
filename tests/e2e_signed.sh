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
git -C "$T/a" config --unset gpg.program
git -C "$T/a" config gpg.format x509
run_err cs -C "$T/a" lock acquire web
[ $RC -eq 1 ] && grep -q "gpg.format 'x509' is not supported" "$T/err" || fail "x509: $(cat "$T/err")"
git -C "$T/a" config --unset gpg.format
cs -C "$T/a" lock acquire web >/dev/null
git --git-dir="$T/s.git" verify-commit main 2>/dev/null || fail "after the failures"
ok "an unsupported gpg.format is named; the next decision is signed"
