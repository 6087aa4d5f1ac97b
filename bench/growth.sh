#!/usr/bin/env bash
# Repository growth from heartbeats (see docs/GROWTH.md).
#
#   bench/growth.sh            # 10 servers, 1 simulated day per strategy, 7 days long-run
#   SERVERS=10 DAYS=7 VAL_SERVERS=3 VAL_ROUNDS=100 VAL_RUNS=20 bench/growth.sh
#   COORDSYNC=/path/to/coordsync bench/growth.sh
#   SECTIONS=1 VAL_SERVERS=10 VAL_ROUNDS=30 bench/growth.sh   # only the validation
#
# 1. Validation with real coordsync: a bare remote holding the generated
#    starting state, VAL_SERVERS clones (`coordsync init`), then VAL_ROUNDS
#    rounds of `coordsync heartbeat` per server, every server once per round,
#    under a fixed fake clock (an LD_PRELOAD shim built here) at the
#    simulated times (60 s apart).  The same history is generated with
#    gen_heartbeats.py and git fast-import; the head commit ids are compared
#    (equal means byte-identical histories), then the loose and packed bytes
#    per commit of both.  Then VAL_RUNS idle `coordsync run` cycles per server
#    (300 s apart) are checked the same way: one commit per cycle.
# 2. A simulated day for SERVERS servers: (a) `coordsync heartbeat` every
#    60 s, (b) the daemon's idle interval (300 s, one commit per cycle).  The
#    day's objects are written loose into the bare remote (as coordsync's
#    push does) with `git unpack-objects`, measured, then `git gc`, and for
#    (a) `git gc --aggressive`.
# 3. The long run for (a) and (b): DAYS days, packed size at checkpoints.
#    Days after the first are imported by fast-import and repacked with
#    `git repack -a -d -f` (fresh deltas, as a gc of loose objects finds) plus
#    a bitmap and a commit-graph, as `git gc` writes in a bare repository.
#
# Needs git, python3, a C compiler (for the clock shim; without it the
# validation skips the coordsync runs).  Markdown to stdout, progress to
# stderr.  Always exits 0.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh" # loose; the log below is this script's own
SERVERS=${SERVERS:-10}
DAYS=${DAYS:-7}
VAL_SERVERS=${VAL_SERVERS:-3}
VAL_ROUNDS=${VAL_ROUNDS:-100}
VAL_RUNS=${VAL_RUNS:-20}
SECTIONS=${SECTIONS:-123}        # which of the three parts below to run
BASE=1767225600                  # gen_repo.BASE, 2026-01-01T00:00:00Z
G="$here/gen_heartbeats.py"
CS=${COORDSYNC:-}
if [ -z "$CS" ]; then
  for c in "$here/../build/coordsync" "$here/../build/cli/coordsync" "$here"/../build*/coordsync; do
    [ -x "$c" ] && { CS=$c; break; }
  done
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/cs-growth.XXXXXX")
trap 'rm -rf "$dir"' EXIT
export TZ=UTC GIT_CONFIG_NOSYSTEM=1 HOME="$dir"   # no user or system git config

T_START=$(date +%s)
log() { echo "growth: [$(( $(date +%s) - T_START )) s] $*" >&2; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
div() { awk -v a="$1" -v b="$2" -v p="${3:-0}" 'BEGIN { if (b == 0) print "-"; else printf "%.*f\n", p, a / b }'; }
mb() { awk -v a="$1" 'BEGIN { printf "%.2f\n", a / 1e6 }'; }

# The whole objects/ directory: apparent bytes, KiB on disk, .pack bytes, .idx bytes,
# other (bitmap, rev, commit-graph, ...) bytes, number of packs.
objdir() {
  local o=$1/objects t k p i np
  t=$(find "$o" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  k=$(du -sk "$o" | cut -f1)
  p=$(find "$o/pack" -name '*.pack' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  i=$(find "$o/pack" -name '*.idx' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  np=$(find "$o/pack" -name '*.pack' | wc -l)
  echo "$t $k $p $i $((t - p - i - $(loose "$1" | cut -d' ' -f2))) $np"
}
# A bare remote holding the generated starting state, packed by git gc.
new_base() { # repo servers interval
  git init -q --bare -b main "$1" &&
    python3 "$G" --servers "$2" --interval "$3" --rounds 0 --init | git --git-dir="$1" fast-import --quiet &&
    git --git-dir="$1" gc -q
}
# Heartbeat rounds [first, first+rounds) written LOOSE into repo, the way
# coordsync's pushes leave them: fast-import into a scratch repository that
# borrows repo's objects, then `git unpack-objects` of that pack into repo.
add_loose() { # repo servers interval first rounds
  local s=$dir/scratch.git
  rm -rf "$s" && git init -q --bare -b main "$s" &&
    echo "$1/objects" >"$s/objects/info/alternates" &&
    python3 "$G" --servers "$2" --interval "$3" --first-round "$4" --rounds "$5" \
      --parent "$(git --git-dir="$1" rev-parse main)" |
      git -c fastimport.unpackLimit=1 --git-dir="$s" fast-import --quiet &&
    git --git-dir="$1" unpack-objects -q <"$(ls "$s"/objects/pack/*.pack)" &&
    git --git-dir="$1" update-ref refs/heads/main "$(git --git-dir="$s" rev-parse main)" &&
    rm -rf "$s"
}
# Heartbeat rounds imported straight into repo's packs (no loose objects).
add_packed() { # repo servers interval first rounds
  python3 "$G" --servers "$2" --interval "$3" --first-round "$4" --rounds "$5" \
    --parent "$(git --git-dir="$1" rev-parse main)" | git --git-dir="$1" fast-import --quiet
}
# What `git gc` leaves in a bare repository, with every delta searched afresh.
repack_f() {
  git --git-dir="$1" repack -a -d -f -q --write-bitmap-index &&
    git --git-dir="$1" commit-graph write --reachable --no-progress
}

fake_shim() {
  cat >"$dir/fake.c" <<'EOF'
/* A frozen wall clock for coordsync and libgit2: CS_FAKE_NOW epoch seconds. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
static int (*real_cg)(clockid_t, struct timespec *);
static long long fake = -1;
int clock_gettime(clockid_t id, struct timespec *ts)
{
	if (!real_cg) {
		const char *e = getenv("CS_FAKE_NOW");
		real_cg = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
		fake = e && *e ? atoll(e) : -1;
	}
	if (fake < 0 || (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE))
		return real_cg(id, ts);
	ts->tv_sec = fake;
	ts->tv_nsec = 0;
	return 0;
}
time_t time(time_t *t)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;
	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (tv) {
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = 0;
	}
	return 0;
}
EOF
  ${CC:-cc} -shared -fPIC -O2 -o "$dir/fake.so" "$dir/fake.c" -ldl 2>/dev/null
}

# ---- 1. validation against real coordsync ---------------------------------------
# coordsync -C CLONE ARGS... under the fake clock; its stderr is kept only on failure.
cs() {
  local c=$1; shift
  LD_PRELOAD="$dir/fake.so" "$CS" -C "$c" "$@" >/dev/null 2>"$dir/cs.err" && return 0
  { echo "coordsync -C $c $*:"; cat "$dir/cs.err"; } >>"$dir/val/errors"; return 1
}
validate() {
  local v=$dir/val n=$VAL_SERVERS r=$VAL_ROUNDS commits base0 t0 t1 fails=0 k i
  mkdir -p "$v"
  echo "## 1. Validation: real coordsync against the fast-import model"
  echo
  if [ -z "$CS" ] || ! [ -x "$CS" ]; then
    echo "SKIP: no coordsync binary (set COORDSYNC)."; echo; return
  fi
  if ! fake_shim; then
    echo "SKIP: no C compiler for the clock shim, so coordsync's times cannot match the model."; echo; return
  fi
  log "validation: $n servers x $r heartbeats with $CS"
  new_base "$v/remote.git" "$n" 60 || { echo "FAIL: cannot make the remote"; return; }
  base0=$(objdir "$v/remote.git")
  for ((i = 1; i <= n; i++)); do
    "$CS" init "$v/remote.git" "$v/c$i" --server "build$i" >/dev/null 2>&1 || { echo "FAIL: coordsync init"; return; }
  done
  local c1_before c1_lb; c1_before=$(objdir "$v/c1/.git"); c1_lb=$(loose "$v/c1/.git" | cut -d' ' -f1)
  t0=$(ms)
  for ((k = 0; k < r; k++)); do
    for ((i = 0; i < n; i++)); do
      CS_FAKE_NOW=$((BASE + k * 60 + i * 60 / n)) cs "$v/c$((i + 1))" heartbeat || fails=$((fails + 1))
    done
  done
  t1=$(ms)
  commits=$((n * r))
  local real_head real_loose c1_after
  real_head=$(git --git-dir="$v/remote.git" rev-parse main)
  real_loose=$(loose "$v/remote.git")
  c1_after=$(objdir "$v/c1/.git")
  local c1_loose; c1_loose=$(loose "$v/c1/.git")
  cp -a "$v/remote.git" "$v/real-gc.git" && git --git-dir="$v/real-gc.git" gc -q
  local real_gc; real_gc=$(objdir "$v/real-gc.git")

  log "validation: the same history with fast-import"
  new_base "$v/sim.git" "$n" 60 && add_loose "$v/sim.git" "$n" 60 0 "$r"
  local sim_head sim_loose sim_gc
  sim_head=$(git --git-dir="$v/sim.git" rev-parse main)
  sim_loose=$(loose "$v/sim.git")
  cp -a "$v/sim.git" "$v/sim-gc.git" && git --git-dir="$v/sim-gc.git" gc -q
  sim_gc=$(objdir "$v/sim-gc.git")

  # Idle daemon cycles: `coordsync run` at the idle interval, 300 s apart.
  local k0=$(( (r * 60 + 299) / 300 )) rfails=0 before after run_head sim2_head
  before=$(git --git-dir="$v/remote.git" rev-list --count main)
  for ((k = k0; k < k0 + VAL_RUNS; k++)); do
    for ((i = 0; i < n; i++)); do
      CS_FAKE_NOW=$((BASE + k * 300 + i * 300 / n)) cs "$v/c$((i + 1))" run || rfails=$((rfails + 1))
    done
  done
  after=$(git --git-dir="$v/remote.git" rev-list --count main)
  run_head=$(git --git-dir="$v/remote.git" rev-parse main)
  add_loose "$v/sim.git" "$n" 300 "$k0" "$VAL_RUNS"
  sim2_head=$(git --git-dir="$v/sim.git" rev-parse main)
  # coordsync after `git gc` in place: the remote, and every clone under the
  # clone's own lock (what the cron lines of docs/GROWTH.md do).
  local after_gc="yes"
  git --git-dir="$v/remote.git" gc -q || after_gc="no (git gc of the remote failed)"
  for ((i = 1; i <= n; i++)); do
    if command -v flock >/dev/null; then
      flock -w 60 "$v/c$i/.git/coordsync/lock" git -C "$v/c$i" gc -q
    else
      git -C "$v/c$i" gc -q
    fi || after_gc="no (git gc of clone c$i failed)"
  done
  for ((i = 0; i < n; i++)); do
    CS_FAKE_NOW=$((BASE + (k0 + VAL_RUNS) * 300 + i)) cs "$v/c$((i + 1))" heartbeat &&
      CS_FAKE_NOW=$((BASE + (k0 + VAL_RUNS) * 300 + i)) cs "$v/c$((i + 1))" sync ||
      after_gc="no (coordsync failed after gc, see below)"
  done
  # For scale: one decision on coordination/jobs.json (200 jobs) instead of a heartbeat.
  local jl0 jl1 claim="failed" jsize
  jsize=$(git --git-dir="$v/remote.git" cat-file -s main:coordination/jobs.json 2>/dev/null)
  jl0=$(loose "$v/remote.git")
  CS_FAKE_NOW=$((BASE + (k0 + VAL_RUNS) * 300 + 60)) cs "$v/c1" job claim && claim="ok"
  jl1=$(loose "$v/remote.git")
  # A new server joining with a shallow clone made by git (coordsync init has no --depth).
  local sh_ok="no" sh_total sh_before="-" sh_after="-"
  sh_total=$(git --git-dir="$v/remote.git" rev-list --count main)
  if git clone -q --depth 10 "file://$v/remote.git" "$v/shallow" 2>>"$v/errors" &&
    git -C "$v/shallow" config coordsync.server shallow1 &&
    CS_FAKE_NOW=$((BASE + (k0 + VAL_RUNS) * 300 + 120)) cs "$v/shallow" sync; then
    sh_before=$("$CS" -C "$v/shallow" query "SELECT count(*) FROM history_commits" --format csv 2>/dev/null | tail -1)
    CS_FAKE_NOW=$((BASE + (k0 + VAL_RUNS) * 300 + 121)) cs "$v/c1" heartbeat &&
      CS_FAKE_NOW=$((BASE + (k0 + VAL_RUNS) * 300 + 122)) cs "$v/shallow" heartbeat && sh_ok="yes"
    sh_after=$("$CS" -C "$v/shallow" query "SELECT count(*) FROM history_commits" --format csv 2>/dev/null | tail -1)
  fi

  set -- $real_loose; local rn=$1 rb=$2 rk=$3
  set -- $sim_loose; local sn=$1 sb=$2 sk=$3
  set -- $base0; local b_t=$1
  set -- $real_gc; local rg_t=$1 rg_p=$3
  set -- $sim_gc; local sg_t=$1 sg_p=$3
  local same="no" same2="no"
  [ "$real_head" = "$sim_head" ] && same="yes"
  [ "$run_head" = "$sim2_head" ] && same2="yes"
  echo "$n servers, $r \`coordsync heartbeat\` per server at a fake clock 60 s apart ($commits commits,"
  echo "$fails failed; $(div $((t1 - t0)) "$commits") ms per heartbeat process, wall)."
  echo "Head after the heartbeats: real \`${real_head:0:12}\`, model \`${sim_head:0:12}\`: **identical history: $same**."
  echo "Then $VAL_RUNS idle \`coordsync run\` cycles per server, 300 s apart: $((after - before)) commits for"
  echo "$((VAL_RUNS * n)) cycles ($rfails failed); head real \`${run_head:0:12}\`, model \`${sim2_head:0:12}\`: **identical: $same2**."
  echo "After \`git gc\` of the remote and of every clone (under the clone's lock), one more heartbeat and"
  echo "sync per server work: **$after_gc**."
  set -- $jl0; local j0n=$1 j0b=$2
  set -- $jl1
  echo "For scale, one \`coordsync job claim\` ($claim) on the $jsize-byte coordination/jobs.json (200 jobs)"
  echo "added $(( $1 - j0n )) loose objects, $(( $2 - j0b )) bytes: the whole file is stored again, compressed."
  echo "A shallow clone (\`git clone --depth 10\` of the $sh_total-commit remote, \`coordsync.server\` set by hand):"
  echo "\`coordsync sync\`, then a heartbeat from c1 and one from the new server work: **$sh_ok**. Commits in its"
  echo "history tables (\`history_commits\`): $sh_before after the first sync, $sh_after after those two commits."
  echo
  echo "| per heartbeat commit | real coordsync (libgit2 wrote the loose objects) | model (git unpack-objects) |"
  echo "|---|---:|---:|"
  echo "| loose objects | $(div "$rn" "$commits" 2) | $(div "$sn" "$commits" 2) |"
  echo "| loose bytes (apparent) | $(div "$rb" "$commits" 1) | $(div "$sb" "$commits" 1) |"
  echo "| loose bytes on disk (du) | $(div $((rk * 1024)) "$commits" 0) | $(div $((sk * 1024)) "$commits" 0) |"
  echo "| packed after \`git gc\`: .pack bytes | $(div $((rg_p - $(echo "$base0" | cut -d' ' -f3))) "$commits" 1) | $(div $((sg_p - $(echo "$base0" | cut -d' ' -f3))) "$commits" 1) |"
  echo "| packed after \`git gc\`: all of objects/ (pack, idx, bitmap, commit-graph) | $(div $((rg_t - b_t)) "$commits" 1) | $(div $((sg_t - b_t)) "$commits" 1) |"
  echo
  set -- $c1_before; local c_t0=$1 c_k0=$2 c_np0=$6
  set -- $c1_after; local c_t1=$1 c_k1=$2 c_np1=$6
  echo "Clone \`c1\` (build1's own clone, never gc'd: libgit2 runs no gc) grew by $((c_t1 - c_t0)) bytes"
  echo "($((c_k1 - c_k0)) KiB on disk) for the $commits fleet commits: $(( $(echo "$c1_loose" | cut -d' ' -f1) - c1_lb )) new loose objects"
  echo "(its own commits' objects) and $((c_np1 - c_np0)) new packs (one per fetch that brought"
  echo "other servers' commits), $(div $((c_k1 - c_k0)) "$commits" 1) KiB on disk per fleet commit."
  [ -s "$v/errors" ] && { echo; echo "First errors:"; echo '```'; head -5 "$v/errors"; echo '```'; }
  echo
}

# ---- 2. one simulated day per strategy -----------------------------------------
declare -A DAYROW LONG
day() { # label interval
  local lab=$1 iv=$2 R=$dir/day-$2.git rounds=$((86400 / $2)) commits t0 t1 t2 base lo gc ag=""
  commits=$((rounds * SERVERS))
  log "day ($lab): $SERVERS servers every $iv s, $commits commits"
  new_base "$R" "$SERVERS" "$iv" || { DAYROW[$lab]="FAIL"; return; }
  base=$(objdir "$R")
  t0=$(ms)
  add_loose "$R" "$SERVERS" "$iv" 0 "$rounds" || { DAYROW[$lab]="FAIL"; return; }
  t1=$(ms)
  lo=$(loose "$R")
  git --git-dir="$R" gc -q
  t2=$(ms)
  gc=$(objdir "$R")
  if [ "$lab" = a ]; then
    # What the pack holds, by object type (the starting state's 20-odd objects included).
    git --git-dir="$R" verify-pack -v "$R"/objects/pack/*.idx 2>/dev/null |
      awk '$2 == "commit" || $2 == "tree" || $2 == "blob" {
             n[$2]++; s[$2] += $4; if (NF >= 7) d[$2]++ }
           END { for (t in n) printf "| %s | %d | %d | %.1f | %d |\n", t, n[t], s[t], s[t] / n[t], d[t] }' |
      sort >"$dir/types.md"
    cp -a "$R" "$dir/aggr.git" && git --git-dir="$dir/aggr.git" gc -q --aggressive &&
      ag=$(objdir "$dir/aggr.git"); rm -rf "$dir/aggr.git"
  fi
  DAYROW[$lab]="$commits $lo $base $gc $((t2 - t1)) ${ag:-}"
}

print_days() {
  echo "## 2. One simulated day, $SERVERS servers"
  echo
  echo "The day's objects are loose in the bare remote (what coordsync's pushes leave: a local-path"
  echo "push writes loose objects, and receive-pack unpacks pushes under 100 objects), then \`git gc\`."
  echo "Growth is over the starting state (200 jobs, 100 messages, 4 locks, $SERVERS servers' files; packed"
  echo "it takes $(echo "${DAYROW[a]}" | awk '{print $5}') bytes)."
  echo
  echo "| per day | (a) heartbeat every 60 s | (b) daemon idle, 300 s |"
  echo "|---|---:|---:|"
  local la lb
  read -ra la <<<"${DAYROW[a]}"; read -ra lb <<<"${DAYROW[b]}"
  if [ "${la[0]}" = FAIL ] || [ "${lb[0]}" = FAIL ]; then echo "| FAIL | ${la[*]} | ${lb[*]} |"; echo; return; fi
  # fields: 0 commits, 1-3 loose n/b/k, 4-9 base t/k/p/i/o/np, 10-15 gc t/k/p/i/o/np, 16 gc ms, 17-22 aggr
  row() { echo "| $1 | $2 | $3 |"; }
  row "commits" "${la[0]}" "${lb[0]}"
  row "new objects" "${la[1]}" "${lb[1]}"
  row "loose, apparent bytes" "${la[2]} ($(mb "${la[2]}") MB)" "${lb[2]} ($(mb "${lb[2]}") MB)"
  row "loose, on disk (du)" "$((la[3] * 1024)) ($(mb $((la[3] * 1024))) MB)" "$((lb[3] * 1024)) ($(mb $((lb[3] * 1024))) MB)"
  row "after \`git gc\`: .pack growth" "$((la[12] - la[6])) ($(mb $((la[12] - la[6]))) MB)" "$((lb[12] - lb[6])) ($(mb $((lb[12] - lb[6]))) MB)"
  row "after \`git gc\`: .idx growth" "$((la[13] - la[7]))" "$((lb[13] - lb[7]))"
  row "after \`git gc\`: bitmap + commit-graph growth" "$((la[14] - la[8]))" "$((lb[14] - lb[8]))"
  row "after \`git gc\`: objects/ growth, apparent" "$((la[10] - la[4])) ($(mb $((la[10] - la[4]))) MB)" "$((lb[10] - lb[4])) ($(mb $((lb[10] - lb[4]))) MB)"
  row "after \`git gc\`: objects/ growth, du" "$(( (la[11] - la[5]) * 1024 )) ($(mb $(( (la[11] - la[5]) * 1024 ))) MB)" "$(( (lb[11] - lb[5]) * 1024 )) ($(mb $(( (lb[11] - lb[5]) * 1024 ))) MB)"
  if [ "${#la[@]}" -gt 17 ]; then
    row "after \`git gc --aggressive\`: .pack growth" "$((la[19] - la[6]))" "-"
  fi
  row "\`git gc\` of the day's loose objects, wall s" "$(div "${la[16]}" 1000 1)" "$(div "${lb[16]}" 1000 1)"
  echo
  echo "| per commit | (a) | (b) |"
  echo "|---|---:|---:|"
  row "loose, apparent bytes" "$(div "${la[2]}" "${la[0]}" 1)" "$(div "${lb[2]}" "${lb[0]}" 1)"
  row "loose, on disk (du) bytes" "$(div $((la[3] * 1024)) "${la[0]}" 0)" "$(div $((lb[3] * 1024)) "${lb[0]}" 0)"
  row ".pack bytes after gc" "$(div $((la[12] - la[6])) "${la[0]}" 1)" "$(div $((lb[12] - lb[6])) "${lb[0]}" 1)"
  row "objects/ bytes after gc (all files)" "$(div $((la[10] - la[4])) "${la[0]}" 1)" "$(div $((lb[10] - lb[4])) "${lb[0]}" 1)"
  echo
  if [ -s "$dir/types.md" ]; then
    echo "The (a) pack after \`git gc\`, by object type:"
    echo
    echo "| type | objects | bytes in pack | bytes per object | stored as deltas |"
    echo "|---|---:|---:|---:|---:|"
    cat "$dir/types.md"
    echo
  fi
}

# ---- 3. the long run --------------------------------------------------------------
longrun() { # label interval checkpoints...
  local lab=$1 iv=$2 R=$dir/day-$2.git rounds=$((86400 / $2)) d=1 out="" base t
  shift 2
  [ -d "$R" ] || return
  base=$(echo "${DAYROW[$lab]}" | awk '{print $5, $7}')
  # Day 1 again through repack -f: the emulation checked against gc of loose objects.
  repack_f "$R"; t=$(objdir "$R")
  out="1:$(echo "$t" | cut -d' ' -f1):$(echo "$t" | cut -d' ' -f3)"
  for cp in "$@"; do
    [ "$cp" -le "$DAYS" ] && [ "$cp" -gt "$d" ] || continue
    log "long run ($lab): days $((d + 1))..$cp"
    add_packed "$R" "$SERVERS" "$iv" $((d * rounds)) $(((cp - d) * rounds)) || break
    repack_f "$R" || break
    d=$cp
    t=$(objdir "$R")
    out="$out $cp:$(echo "$t" | cut -d' ' -f1):$(echo "$t" | cut -d' ' -f3)"
  done
  LONG[$lab]="$base|$out"
}

print_long() {
  echo "## 3. The long run: packed size after N days (one \`git gc\` a day or less)"
  echo
  echo "\`git repack -a -d -f\` with a bitmap and a commit-graph (what \`git gc\` writes in a bare repo,"
  echo "every delta searched afresh, as for loose objects). Day 1 here is that emulation; section 2's"
  echo "\`git gc\` of the loose day is the reference for it. Without any gc, the loose figures of"
  echo "section 2 just add up day after day."
  echo
  echo "| strategy | day | objects/ bytes | .pack bytes | objects/ growth per day since day 1 | never gc'd: loose on disk (du) |"
  echo "|---|---:|---:|---:|---:|---:|"
  local lab
  for lab in a b; do
    [ -n "${LONG[$lab]:-}" ] || continue
    local pts=${LONG[$lab]#*|} first_t="" per_loose
    per_loose=$(( $(echo "${DAYROW[$lab]}" | awk '{print $4}') * 1024 ))
    for p in $pts; do
      local dd=${p%%:*} rest=${p#*:}; local tt=${rest%%:*} pp=${rest#*:}
      [ -z "$first_t" ] && first_t=$tt
      local slope="-"
      [ "$dd" -gt 1 ] && slope=$(div $((tt - first_t)) $((dd - 1)) 0)
      echo "| ($lab) | $dd | $tt ($(mb "$tt") MB) | $pp | $slope | $((per_loose * dd)) ($(mb $((per_loose * dd))) MB) |"
    done
  done
  echo
}

main() {
  local T0; T0=$(ms)
  echo "# Heartbeat repository growth"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(git --version)."
  echo "Byte counts are apparent sizes unless marked du (KiB blocks on disk, $(stat -f -c %S "$dir") B filesystem blocks)."
  echo
  case $SECTIONS in *1*) validate; log "validation done" ;; esac
  case $SECTIONS in *[23]*) day a 60; day b 300; print_days; log "days done" ;; esac
  case $SECTIONS in *3*)
    longrun a 60 3 "$DAYS"; longrun b 300 "$DAYS"; print_long; log "long run done" ;;
  esac
  echo "Total run time: $(div $(( $(ms) - T0 )) 1000 0) s."
}
main || true
exit 0
