#!/usr/bin/env bash
# The systemd units of docs/systemd/ (and the cron line): they parse, the
# templates coordsync@.service, coordsync@.timer and coordsync-daemon@.service
# take the clone from their instance (%i) alone, each timer names its service,
# `systemd-analyze verify` finds nothing, and the
# command lines they start work: two clones of one remote on one machine,
# each run by its own instance, and a daemon instance stopped the way
# systemd stops it (SIGTERM) exits 0.
. "$TESTS_DIR/lib.sh"
U="$TESTS_DIR/../docs/systemd"
[ -d "$U" ] || fail "no $U"
BIN=/usr/local/bin/coordsync
VAR=/var/lib/coordsync
# systemd wants an absolute ExecStart, and the service runs in its clone
EXE=$(readlink -f "$(command -v "$COORDSYNC")")

# key UNIT KEY: the values of KEY= in UNIT, one a line
key() { sed -n "s/^$2=//p" "$1"; }
# one UNIT KEY: the single value of KEY= in UNIT
one() {
  local v; v=$(key "$1" "$2")
  [ -n "$v" ] && [ "$(wc -l <<<"$v")" -eq 1 ] || fail "$(basename "$1"): expected one $2=, got: '$v'"
  printf '%s\n' "$v"
}

# --- 1. the files parse: sections, keys, specifiers ------------------------
for f in coordsync.service coordsync.timer coordsync-daemon.service \
         coordsync@.service coordsync@.timer coordsync-daemon@.service; do
  [ -f "$U/$f" ] || fail "missing docs/systemd/$f"
  # every line is a comment, blank, a [Section] or Key=value
  bad=$(grep -nvE '^(#.*|[[:space:]]*|\[(Unit|Service|Timer|Install)\]|[A-Za-z]+=.*)$' "$U/$f" || true)
  [ -z "$bad" ] || fail "$f: lines that are not unit syntax: $bad"
  [ "$(grep -c '^\[Unit\]' "$U/$f")" -eq 1 ] || fail "$f: no single [Unit]"
  case $f in
    *@.*)
      # A template takes everything from %i; no other specifier (so the
      # expansion below is systemd's), and never %I: a server id such as
      # build-1 would unescape to build/1.
      others=$(grep -v '^#' "$U/$f" | grep -oE '%.' | grep -v '^%i$' | sort -u || true)
      [ -z "$others" ] || fail "$f: specifiers other than %i: $others"
      grep -v '^#' "$U/$f" | grep -q '%i' || fail "$f: a template that does not use %i" ;;
    *)
      ! grep -v '^#' "$U/$f" | grep -q '%' || fail "$f: a specifier in a plain unit" ;;
  esac
done
ok "the six unit files parse; the templates use %i only, the plain units no specifier"

# services: ExecStart is the installed binary on the clone; the sandbox, the
# working directory and the condition name that same clone
for f in coordsync.service coordsync-daemon.service coordsync@.service coordsync-daemon@.service; do
  case $f in *@*) clone="$VAR/%i" ;; *) clone="$VAR/clone" ;; esac
  case $f in *daemon*) cmd=daemon; type=notify ;; *) cmd=run; type=oneshot ;; esac
  [ "$(one "$U/$f" ExecStart)" = "$BIN -C $clone $cmd --syslog" ] ||
    fail "$f: ExecStart is '$(one "$U/$f" ExecStart)', not '$BIN -C $clone $cmd --syslog'"
  [ "$(one "$U/$f" Type)" = "$type" ] || fail "$f: Type is not $type"
  [ "$(one "$U/$f" User)" = coordsync ] || fail "$f: User is not coordsync"
  # the daemon speaks sd_notify (READY=1, WATCHDOG=1): only it, with a watchdog
  if [ $type = notify ]; then
    [ "$(one "$U/$f" NotifyAccess)" = main ] || fail "$f: NotifyAccess is not main"
    [ -n "$(one "$U/$f" WatchdogSec)" ] || fail "$f: no WatchdogSec"
  fi
  case $f in
    *@*)
      [ "$(one "$U/$f" ReadWritePaths)" = "$clone" ] || fail "$f: ReadWritePaths is not $clone"
      [ "$(one "$U/$f" WorkingDirectory)" = "$clone" ] || fail "$f: WorkingDirectory is not $clone"
      [ "$(one "$U/$f" ConditionPathExists)" = "$clone/.git" ] || fail "$f: ConditionPathExists is not $clone/.git" ;;
    *)
      [ "$(one "$U/$f" ReadWritePaths)" = "$VAR" ] || fail "$f: ReadWritePaths is not $VAR" ;;
  esac
done
# timers: each names its own service, which exists; the conflicts name units that exist
[ "$(one "$U/coordsync.timer" Unit)" = coordsync.service ] || fail "coordsync.timer does not name coordsync.service"
[ "$(one "$U/coordsync@.timer" Unit)" = 'coordsync@%i.service' ] || fail "coordsync@.timer does not name coordsync@%i.service"
[ "$(one "$U/coordsync@.timer" Conflicts)" = 'coordsync-daemon@%i.service' ] || fail "coordsync@.timer: Conflicts"
[ "$(one "$U/coordsync-daemon@.service" Conflicts)" = 'coordsync@%i.timer' ] || fail "coordsync-daemon@.service: Conflicts"
[ "$(one "$U/coordsync-daemon.service" Conflicts)" = coordsync.timer ] || fail "coordsync-daemon.service: Conflicts"
for f in coordsync.timer coordsync@.timer; do
  [ "$(one "$U/$f" WantedBy)" = timers.target ] || fail "$f: not WantedBy=timers.target"
  [ -n "$(one "$U/$f" OnUnitActiveSec)" ] || fail "$f: no OnUnitActiveSec"
  # Persistent= acts on OnCalendar= only: beside monotonic timers it is ignored
  if grep -q '^Persistent=' "$U/$f"; then
    grep -q '^OnCalendar=' "$U/$f" || fail "$f: Persistent= without OnCalendar=, which systemd ignores"
  fi
done
# the cron line runs the same command as coordsync.service
cron=$(grep -E '^[^#A-Z].* coordsync /' "$U/coordsync.cron" | sed -E 's/^([^ ]+ ){5}coordsync //')
[ "$cron" = "$BIN -C $VAR/clone run --syslog" ] || fail "coordsync.cron runs '$cron'"
ok "ExecStart, sandbox and working directory name the clone (the instance's for templates); each timer names its service"

# --- 2. systemd-analyze verify, with the binary under test in ExecStart -----
command -v systemd-analyze >/dev/null ||
  fail "systemd-analyze is not installed (Debian's systemd package; .ci/deps installs it)"
{
  V="$T/verify"; mkdir -p "$V"
  for f in coordsync.service coordsync.timer coordsync-daemon.service; do
    sed "s|$BIN|$EXE|" "$U/$f" >"$V/$f"
  done
  # the templates as two instances: a plain id and one with '-' (a server id may hold one)
  for inst in build1 build-2; do
    for f in coordsync@.service coordsync@.timer coordsync-daemon@.service; do
      sed "s|$BIN|$EXE|" "$U/$f" >"$V/${f/@./@$inst.}"
    done
  done
  # verify warns on stderr and still exits 0: any output is a finding
  set +e
  vout=$(cd "$V" && systemd-analyze verify --man=no "$V"/*.service "$V"/*.timer 2>&1); vrc=$?
  set -e
  [ $vrc -eq 0 ] && [ -z "$vout" ] || fail "systemd-analyze verify (exit $vrc): $vout"
  ok "systemd-analyze verify finds nothing in the plain units and in the instances build1 and build-2"
}

# --- 3. the command lines work: two clones of one remote on one machine -----
# The units' paths are moved under $T: /var/lib/coordsync -> $T/var/lib/coordsync,
# and the binary is the one under test.
ROOT="$T/var/lib/coordsync"
mkdir -p "$ROOT"
mkremote r
# expand UNIT INSTANCE KEY: KEY's value as systemd gives it to INSTANCE
expand() {
  local v; v=$(one "$1" "$3")
  v=${v//%i/$2}; v=${v//$VAR/$ROOT}; v=${v//$BIN/$EXE}
  printf '%s\n' "$v"
}
for s in build1 build-2; do
  cs init "$T/r.git" "$ROOT/$s" --server "$s" >/dev/null
done
for s in build1 build-2; do
  [ -e "$(expand "$U/coordsync@.service" "$s" ConditionPathExists)" ] || fail "$s: the condition does not hold for its clone"
  read -ra argv <<<"$(expand "$U/coordsync@.service" "$s" ExecStart)"
  wd=$(expand "$U/coordsync@.service" "$s" WorkingDirectory)
  set +e; out=$(cd "$wd" && "${argv[@]}" 2>&1); rc=$?; set -e
  [ $rc -eq 0 ] || fail "coordsync@$s.service's ExecStart exited $rc: $out"
  remote_json "$s/heartbeat.json" >/dev/null || fail "no $s/heartbeat.json at the remote after coordsync@$s.service"
done
# the heartbeats of both instances are at the remote, each by its own server
[ "$(git --git-dir="$T/r.git" log --format=%an main -- build1/heartbeat.json | sort -u)" = build1 ] || fail "build1's heartbeat not by build1"
[ "$(git --git-dir="$T/r.git" log --format=%an main -- build-2/heartbeat.json | sort -u)" = build-2 ] || fail "build-2's heartbeat not by build-2"
# a missing clone: the condition fails (systemd skips the start, nothing runs)
[ ! -e "$(expand "$U/coordsync@.service" nosuch ConditionPathExists)" ] || fail "the condition holds without a clone"
ok "coordsync@build1 and coordsync@build-2 run their own clones of one remote; each pushes its own heartbeat"

# the plain coordsync.service on /var/lib/coordsync/clone still works
cs init "$T/r.git" "$ROOT/clone" --server build3 >/dev/null
read -ra argv <<<"$(expand "$U/coordsync.service" x ExecStart)"
expect_rc 0 "${argv[@]}"
remote_json build3/heartbeat.json >/dev/null || fail "no build3/heartbeat.json after coordsync.service"
ok "the plain coordsync.service still runs its clone"

# coordsync-daemon@build-2.service: started, it cycles (its heartbeat moves);
# stopped by KillSignal=SIGTERM, it exits 0 well within TimeoutStopSec
[ "$(one "$U/coordsync-daemon@.service" KillSignal)" = SIGTERM ] || fail "daemon: KillSignal is not SIGTERM"
# a heartbeat names its second: let the one of coordsync@build-2.service age a second
sleep 1.1
before=$(git --git-dir="$T/r.git" rev-list --count main -- build-2/heartbeat.json)
read -ra argv <<<"$(expand "$U/coordsync-daemon@.service" build-2 ExecStart)"
"${argv[@]}" >"$T/daemon.out" 2>&1 & dpid=$!
BG_PIDS+=("$dpid")
moved() { [ "$(git --git-dir="$T/r.git" rev-list --count main -- build-2/heartbeat.json)" -gt "$before" ]; }
poll_until 30 moved || fail "coordsync-daemon@build-2: no heartbeat within 30 s: $(cat "$T/daemon.out")"
kill -TERM "$dpid"
t0=$SECONDS
set +e; wait "$dpid"; drc=$?; set -e
[ $drc -eq 0 ] || fail "coordsync-daemon@build-2 exited $drc on SIGTERM: $(cat "$T/daemon.out")"
[ $((SECONDS - t0)) -lt 30 ] || fail "coordsync-daemon@build-2 took $((SECONDS - t0)) s to stop"
[ ! -e "$ROOT/build-2/.git/coordsync/serve.sock" ] || fail "the daemon left its socket behind"
ok "coordsync-daemon@build-2 cycles on its clone and exits 0 on SIGTERM"

done_testing
