#!/usr/bin/env bash
# `cmake --install` of the build under test (docs/packaging/install.cmake): with
# DESTDIR and another prefix than the configured one, it installs the
# binary, the generated man pages (compressed with gzip -9n: no name, no
# time stamp, best compression, as Debian policy 12.1 asks) and completion,
# the docs, the sysusers.d
# and tmpfiles.d files, and the units with the binary and documentation
# paths of that prefix (none of /usr/local left).  Installed to a real
# prefix, the units pass `systemd-analyze verify` (the templates as
# instances), the installed binary runs the demo, and systemd-sysusers and
# systemd-tmpfiles, pointed at a root directory, create the coordsync user
# and its home from the installed files.
. "$TESTS_DIR/lib.sh"
B=$(dirname "$(readlink -f "$COORDSYNC")")
[ -f "$B/cmake_install.cmake" ] || fail "no cmake_install.cmake beside $COORDSYNC: not a build directory"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is not installed (.ci/deps installs systemd)"
UNITS="coordsync.service coordsync.timer coordsync-daemon.service coordsync@.service coordsync@.timer coordsync-daemon@.service"

# --- 1. DESTDIR and a prefix of the install's own --------------------------
R="$T/root"
DESTDIR="$R" cmake --install "$B" --prefix /opt/cs >"$T/install.out" 2>&1 ||
  fail "cmake --install failed: $(cat "$T/install.out")"
P="$R/opt/cs"
[ -x "$P/bin/coordsync" ] || fail "no executable bin/coordsync"
for f in share/man/man1/coordsync.1.gz share/man/man1/coordsync-job.1.gz share/man/man1/coordsync-lock.1.gz \
         share/man/man1/coordsync-msg.1.gz share/man/man5/coordsync.5.gz \
         share/bash-completion/completions/coordsync lib/sysusers.d/coordsync.conf \
         lib/tmpfiles.d/coordsync.conf share/doc/coordsync/README.md share/doc/coordsync/OPERATIONS.md \
         share/doc/coordsync/SCHEMA.md share/doc/coordsync/examples/coordsync.cron; do
  [ -s "$P/$f" ] || fail "not installed: $f"
done
# every page the build generated, compressed with gzip -9n (gzip's header,
# RFC 1952: FLG without FNAME, MTIME 0, XFL 2 for the best compression),
# none uncompressed; the completion unchanged
for p in "$B"/gendoc/man1/* "$B"/gendoc/man5/*; do
  sec=$(basename "$(dirname "$p")")
  gz="$P/share/man/$sec/$(basename "$p").gz"
  [ -s "$gz" ] || fail "$(basename "$p") not installed as $(basename "$gz")"
  gzip -dc "$gz" | cmp -s "$p" - || fail "$(basename "$gz") is not the page the build generated"
  hdr=$(od -An -tx1 -N10 "$gz" | tr -d ' \n')
  [ "${hdr:0:6}" = 1f8b08 ] || fail "$(basename "$gz") is no gzip file ($hdr)"
  (( (0x${hdr:6:2} & 0x08) == 0 )) || fail "$(basename "$gz") stores a file name (not gzip -n)"
  [ "${hdr:8:8}" = 00000000 ] || fail "$(basename "$gz") stores a time stamp (not gzip -n): $hdr"
  [ "${hdr:16:2}" = 02 ] || fail "$(basename "$gz") is not compressed with -9: XFL ${hdr:16:2}"
done
[ -z "$(find "$P/share/man" -type f ! -name '*.gz')" ] ||
  fail "uncompressed man pages installed: $(find "$P/share/man" -type f ! -name '*.gz')"
cmp -s "$B/gendoc/bash-completion/coordsync" "$P/share/bash-completion/completions/coordsync" ||
  fail "the completion is not installed as generated"
ok "cmake --install with DESTDIR and --prefix /opt/cs installs the binary, $(ls "$B"/gendoc/man1 | wc -l) man1 pages and coordsync(5) (gzip -9n), completion, docs, sysusers.d, tmpfiles.d"

for u in $UNITS; do
  f="$P/lib/systemd/system/$u"
  [ -s "$f" ] || fail "unit not installed: $u"
  ! grep -q /usr/local "$f" || fail "$u still names /usr/local: $(grep /usr/local "$f")"
  doc=$(sed -n 's/^Documentation=.*file:\([^ ]*\).*/\1/p' "$f")
  [ "$doc" = /opt/cs/share/doc/coordsync/OPERATIONS.md ] || fail "$u: Documentation names '$doc'"
  [ -s "$R$doc" ] || fail "$u: its documentation $doc is not installed"
  for m in $(grep '^Documentation=' "$f" | grep -oE 'man:[a-z@.-]+\([0-9]\)'); do
    page=${m#man:}; sec=${page#*(}; sec=${sec%)}; page=${page%(*}
    [ -s "$P/share/man/man$sec/$page.$sec.gz" ] || fail "$u: its documentation $m is not installed"
  done
  case $u in *.service)
    exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$f")
    [ "$exe" = /opt/cs/bin/coordsync ] || fail "$u: ExecStart runs '$exe'" ;;
  esac
done
grep -q '^PATH=/opt/cs/bin:' "$P/share/doc/coordsync/examples/coordsync.cron" || fail "the cron example's PATH"
grep -q ' /opt/cs/bin/coordsync -C ' "$P/share/doc/coordsync/examples/coordsync.cron" || fail "the cron example's command"
ok "the six units name /opt/cs/bin/coordsync and /opt/cs/share/doc/coordsync, the prefix of the install"

# the service user and its home, from the installed files, in $R
mkdir -p "$R/etc"
systemd-sysusers --root="$R" "$P/lib/sysusers.d/coordsync.conf" >/dev/null 2>&1 ||
  fail "systemd-sysusers rejects lib/sysusers.d/coordsync.conf"
IFS=: read -r name _ uid gid _ home shell < <(grep '^coordsync:' "$R/etc/passwd") ||
  fail "no coordsync user in $R/etc/passwd"
[ "$home" = /var/lib/coordsync ] || fail "the coordsync user's home is $home"
[ "$uid" -lt 1000 ] || fail "the coordsync user is no system user (uid $uid)"
systemd-tmpfiles --root="$R" --create "$P/lib/tmpfiles.d/coordsync.conf" ||
  fail "systemd-tmpfiles rejects lib/tmpfiles.d/coordsync.conf"
[ "$(stat -c '%a %u %g' "$R/var/lib/coordsync")" = "750 $uid $gid" ] ||
  fail "/var/lib/coordsync is $(stat -c '%a %u %g' "$R/var/lib/coordsync"), not 750 $uid $gid"
ok "systemd-sysusers creates the system user $name (home /var/lib/coordsync, $shell), systemd-tmpfiles its home 0750"

# --- 2. a real prefix: the units verify, the installed binary runs --------
Q="$T/prefix"
cmake --install "$B" --prefix "$Q" >"$T/install2.out" 2>&1 || fail "cmake --install --prefix $Q failed"
V="$T/verify"; mkdir -p "$V"
for u in $UNITS; do
  case $u in
    *@.*) for i in build1 build-2; do cp "$Q/lib/systemd/system/$u" "$V/${u/@./@$i.}"; done ;;
    *) cp "$Q/lib/systemd/system/$u" "$V/" ;;
  esac
done
grep -q "^ExecStart=$Q/bin/coordsync " "$V/coordsync@build1.service" || fail "ExecStart does not follow the prefix $Q"
set +e
vout=$(cd "$V" && systemd-analyze verify --man=no "$V"/*.service "$V"/*.timer 2>&1); vrc=$?
set -e
[ $vrc -eq 0 ] && [ -z "$vout" ] || fail "systemd-analyze verify of the installed units (exit $vrc): $vout"
ok "systemd-analyze verify finds nothing in the installed units (templates as build1 and build-2)"

[[ $("$Q/bin/coordsync" --version) == "coordsync "* ]] || fail "the installed binary does not run"
"$Q/bin/coordsync" demo "$T/demo" >"$T/demo.out" 2>&1 || fail "the installed binary's demo failed: $(cat "$T/demo.out")"
ok "the installed binary runs the demo"

done_testing
