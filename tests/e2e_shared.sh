#!/usr/bin/env bash
# e2e_shared: a local remote that coordsync shares with others, as git's
# own push would (engine/shared.c).  Checks:
#   - the remote's hooks run on coordsync's push as on git's: pre-receive
#     and post-receive get "old new ref" on stdin, update gets the three as
#     arguments, post-update the ref name, all in the remote's directory
#     with GIT_DIR=.; a pre-receive or update hook that exits non-zero
#     refuses the decision (exit 1, its message, the branch unmoved, no
#     retry); a hook that never ends is killed after coordsync.timeout.total;
#   - core.sharedRepository=group: every object directory and file
#     coordsync writes is group-writable/readable and set-group-id, so a
#     second user of the group (made here with groupadd/useradd; the test
#     runs as root in CI) can `git push` objects into directories coordsync
#     made, and coordsync reads that push back;
#   - an octal core.sharedRepository (0640) is applied exactly; without the
#     setting coordsync leaves its umask alone.
. "$TESTS_DIR/lib.sh"
chmod 755 "$T"          # the second user reaches the remotes in here
umask 022

# ---- hooks on a local remote -----------------------------------------------------------
mkremote h
H="$T/h.git/hooks"
cat >"$H/pre-receive" <<EOF
#!/bin/sh
echo "dir=\$(pwd -P) GIT_DIR=\$GIT_DIR" >>"$T/env.log"
line=\$(cat)
echo "\$line" >>"$T/pre.log"
if [ -e "$T/refuse-pre" ]; then echo "no pushes on Fridays" >&2; echo "ask ops" >&2; exit 1; fi
if [ -e "$T/hang-pre" ]; then sleep 60; fi
if [ -e "$T/mute-pre" ]; then exec >&- 2>&- <&-; sleep 60; fi
exit 0
EOF
cat >"$H/update" <<EOF
#!/bin/sh
echo "\$1 \$2 \$3" >>"$T/update.log"
if [ -e "$T/refuse-update" ]; then echo "update says no to \$1"; exit 3; fi
exit 0
EOF
cat >"$H/post-receive" <<EOF
#!/bin/sh
cat >>"$T/post.log"
echo "post-receive: CI notified"
EOF
cat >"$H/post-update" <<EOF
#!/bin/sh
echo "\$*" >>"$T/post-update.log"
EOF
chmod +x "$H/pre-receive" "$H/update" "$H/post-receive" "$H/post-update"
Z=0000000000000000000000000000000000000000
cs init "$T/h.git" "$T/c" --server build1 >/dev/null
# init pushes twice: the seed commit, then build1's status files on it
seed=$(git --git-dir="$T/h.git" rev-parse main^)
ini=$(git --git-dir="$T/h.git" rev-parse main)
[ "$(cat "$T/pre.log" 2>/dev/null)" = "$Z $seed refs/heads/main
$seed $ini refs/heads/main" ] ||
  fail "init's push: pre-receive got '$(cat "$T/pre.log" 2>/dev/null)'"
expect_rc 0 cs -C "$T/c" job add --id j1
new=$(git --git-dir="$T/h.git" rev-parse main)
[ "$(sed -n 3p "$T/pre.log")" = "$ini $new refs/heads/main" ] || fail "pre-receive: $(cat "$T/pre.log")"
[ "$(sed -n 3p "$T/update.log")" = "refs/heads/main $ini $new" ] || fail "update: $(cat "$T/update.log")"
[ "$(sed -n 3p "$T/post.log")" = "$ini $new refs/heads/main" ] || fail "post-receive: $(cat "$T/post.log")"
[ "$(sed -n 3p "$T/post-update.log")" = "refs/heads/main" ] || fail "post-update: $(cat "$T/post-update.log")"
[ "$(sort -u "$T/env.log")" = "dir=$(cd "$T/h.git" && pwd -P) GIT_DIR=." ] || fail "hook env: $(cat "$T/env.log")"
grep -qF "remote post-receive hook: post-receive: CI notified" <<<"$OUT" || fail "post-receive output: $OUT"
ok "coordsync's push runs pre-receive, update, post-receive and post-update as git does (in the remote, GIT_DIR=.)"

touch "$T/refuse-pre"
n=$(wc -l <"$T/pre.log")
expect_rc 1 cs -C "$T/c" job add --id j2
grep -qF "push refused by the remote's pre-receive hook (exit 1): no pushes on Fridays ask ops" <<<"$OUT" ||
  fail "refusal: $OUT"
[ "$(git --git-dir="$T/h.git" rev-parse main)" = "$new" ] || fail "the refused push moved the branch"
[ "$(wc -l <"$T/pre.log")" -eq $((n + 1)) ] || fail "the refused decision was tried $(( $(wc -l <"$T/pre.log") - n )) times"
[ "$(wc -l <"$T/post.log")" -eq 3 ] || fail "post-receive ran for a refused push"
rm "$T/refuse-pre"
ok "a pre-receive hook that refuses: exit 1 with its message, branch unmoved, tried once, no post-receive"

touch "$T/refuse-update"
expect_rc 1 cs -C "$T/c" job add --id j3
grep -qF "push refused by the remote's update hook (exit 3): update says no to refs/heads/main" <<<"$OUT" ||
  fail "update refusal: $OUT"
[ "$(git --git-dir="$T/h.git" rev-parse main)" = "$new" ] || fail "the refused push moved the branch"
rm "$T/refuse-update"
ok "an update hook that refuses: exit 1 with its message, branch unmoved"

touch "$T/hang-pre"
git -C "$T/c" config coordsync.timeout.total 2s
t0=$(date +%s)
expect_rc 1 timeout 60 "$COORDSYNC" -C "$T/c" job add --id j4
took=$(( $(date +%s) - t0 ))
grep -q "the remote's pre-receive hook '.*/hooks/pre-receive' did not finish within 2s (coordsync.timeout.total); killed" <<<"$OUT" ||
  fail "hung hook: $OUT"
[ "$took" -le 10 ] || fail "a hung hook held the push $took s"
rm "$T/hang-pre"
# A hook that closes its output and goes on is bounded too.
touch "$T/mute-pre"
t0=$(date +%s)
expect_rc 1 timeout 60 "$COORDSYNC" -C "$T/c" job add --id j4
took=$(( $(date +%s) - t0 ))
grep -q "the remote's pre-receive hook '.*/hooks/pre-receive' did not finish within 2s (coordsync.timeout.total); killed" <<<"$OUT" ||
  fail "hung hook with its output closed: $OUT"
[ "$took" -le 10 ] || fail "a hung hook with its output closed held the push $took s"
rm "$T/mute-pre"
git -C "$T/c" config --unset coordsync.timeout.total
expect_rc 0 cs -C "$T/c" job add --id j5
git --git-dir="$T/h.git" show main:coordination/jobs.json | python3 -c '
import json, sys
ids = sorted(j["id"] for j in json.load(sys.stdin)["jobs"])
assert ids == ["j1", "j5"], ids' || fail "jobs on the remote"
ok "a hook that never ends is killed after coordsync.timeout.total (${took}s); later decisions go through"

# ---- core.sharedRepository=group, two users ----------------------------------------------
G="csg$$"; U="csu$$"
if [ "$(id -u)" -eq 0 ]; then
  groupadd "$G"
  useradd -M -N -g "$G" -d "$T/u2home" -s /bin/sh "$U"
  trap 'rc=$?; userdel "$U" 2>/dev/null || true; groupdel "$G" 2>/dev/null || true
        for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
        [ $rc -ne 0 ] && echo "FAILED in $T (kept)" >&2 || rm -rf "$T"; exit $rc' EXIT
else
  G=$(id -gn)
fi
git init -q --bare --shared=group "$T/s.git"
chgrp -R "$G" "$T/s.git"
find "$T/s.git" -type d -exec chmod g+s {} +
git --git-dir="$T/s.git" config core.logAllRefUpdates true   # reflogs, with their directories
cs init "$T/s.git" "$T/s1" --server build1 >/dev/null
for i in $(seq 1 30); do cs -C "$T/s1" job add --id "s$i" >/dev/null; done
bad=$(find "$T/s.git/objects" -mindepth 1 -type d ! -perm -2070 -printf '%m %p\n')
[ -z "$bad" ] || fail "object directories not group-writable and set-group-id: $bad"
bad=$(find "$T/s.git/objects" -type f ! -perm -040 -printf '%m %p\n')
[ -z "$bad" ] || fail "object files not group-readable: $bad"
bad=$(find "$T/s.git/objects" ! -group "$G" -printf '%g %p\n')
[ -z "$bad" ] || fail "objects not of group $G: $bad"
[ -n "$(find "$T/s.git/refs/heads/main" -perm -060)" ] || fail "refs/heads/main: $(stat -c %A "$T/s.git/refs/heads/main")"
[ -s "$T/s.git/logs/refs/heads/main" ] || fail "no reflog on the remote"
bad=$(find "$T/s.git/logs" \( -type d ! -perm -2070 \) -o \( -type f ! -perm -060 \) -printf '%m %p\n')
[ -z "$bad" ] || fail "reflog not group-writable: $bad"
[ -n "$(find "$T/s.git/coordsync-turn" -perm -060)" ] || fail "coordsync-turn: $(stat -c %A "$T/s.git/coordsync-turn")"
made=$(find "$T/s.git/objects" -mindepth 1 -maxdepth 1 -type d -name '??' -user "$(id -un)" -printf '%f\n' | sort)
[ "$(wc -l <<<"$made")" -ge 10 ] || fail "coordsync made only $(wc -l <<<"$made") object directories"
ok "core.sharedRepository=group: $(wc -l <<<"$made") object directories coordsync made are g+rwxs, files g+r, all group $G; so are the branch, its reflog and the turn file"

if [ "$(id -u)" -eq 0 ]; then
  mkdir -p "$T/u2home" "$T/u2"
  chown "$U:$G" "$T/u2home" "$T/u2"
  as_u2() { setpriv --reuid="$U" --regid="$G" --init-groups env HOME="$T/u2home" "$@"; }
  as_u2 git config --global safe.directory '*'
  as_u2 git clone -q "$T/s.git" "$T/u2/w"
  # Files whose blobs land in object directories coordsync made (the same
  # names every run: the first 8 such contents).
  printf '%s\n' "$made" >"$T/made"
  python3 - "$T/made" <<'PY' >"$T/u2files"
import hashlib, sys
made = set(open(sys.argv[1]).read().split())
picked = []
for i in range(20000):
    data = b"build9 artifact %d\n" % i
    h = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    if h[:2] in made:
        picked.append((i, h))
        if len(picked) == 8:
            break
for i, h in picked:
    print(i, h)
PY
  [ "$(wc -l <"$T/u2files")" -eq 8 ] || fail "no contents for coordsync's directories"
  while read -r i h; do
    as_u2 sh -c "mkdir -p '$T/u2/w/build9' && printf 'build9 artifact %s\n' $i >'$T/u2/w/build9/a$i'"
  done <"$T/u2files"
  as_u2 git -C "$T/u2/w" add build9
  as_u2 git -C "$T/u2/w" commit -qm "build9: artifacts"
  set +e
  out=$(as_u2 git -C "$T/u2/w" push origin HEAD:main 2>&1)
  rc=$?
  set -e
  [ $rc -eq 0 ] || fail "the second user's git push failed: $out"
  while read -r i h; do
    [ -e "$T/s.git/objects/${h:0:2}/${h:2}" ] || fail "blob $h not loose in the remote"
    [ "$(stat -c %U "$T/s.git/objects/${h:0:2}")" = "$(id -un)" ] || fail "objects/${h:0:2} is not coordsync's"
  done <"$T/u2files"
  expect_rc 0 cs -C "$T/s1" sync
  expect_rc 0 cs -C "$T/s1" job add --id after-u2
  [ "$(git --git-dir="$T/s.git" log -1 --format=%s main)" = "Job after-u2 added by build1" ] ||
    git --git-dir="$T/s.git" log -1 --format=%s main | grep -q after-u2 || fail "coordsync after the second user"
  out=$(as_u2 git -C "$T/u2/w" pull -q --ff-only 2>&1) || fail "the second user cannot fetch coordsync's push: $out"
  ok "user $U of group $G pushes 8 objects into directories coordsync made; coordsync reads that back and pushes again"
else
  ok "not root: no second user; the permissions above are what its push needs"
fi

# ---- octal and unset core.sharedRepository ----------------------------------------------
git init -q --bare --shared=0640 "$T/o.git"
cs init "$T/o.git" "$T/o1" --server build1 >/dev/null
for i in 1 2 3; do cs -C "$T/o1" job add --id "o$i" >/dev/null; done
bad=$(find "$T/o.git/objects" -mindepth 1 -maxdepth 1 -type d -name '??' ! -perm 2750 -printf '%m %p\n')
[ -z "$bad" ] || fail "0640: object directories: $bad"
bad=$(find "$T/o.git/objects" -type f -path '*/objects/??/*' \( -perm /027 -o ! -perm -440 \) -printf '%m %p\n')
[ -z "$bad" ] || fail "0640: object files: $bad"
mkremote p
cs init "$T/p.git" "$T/p1" --server build1 >/dev/null
cs -C "$T/p1" job add --id p1 >/dev/null
bad=$(find "$T/p.git/objects" -mindepth 1 -maxdepth 1 -type d -name '??' ! -perm 755 -printf '%m %p\n')
[ -z "$bad" ] || fail "no sharedRepository: directories not left to the umask: $bad"
ok "core.sharedRepository=0640 gives directories 2750 and files no more than 0640; unset leaves the umask's 0755"

echo "$PASS passed, 0 failed"
