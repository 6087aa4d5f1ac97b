#!/usr/bin/env bash
# incremental.sh: `coordsync sync` with nothing new and after another server's change.
#
#   bench/incremental.sh [--jobs N] [--messages M] [--runs R] [--no-callgrind]
#                        [--compact] [--keep DIR]
#
# Environment: COORDSYNC (default: <bench>/../build/cli/coordsync, else
# <bench>/../build/coordsync), CC (cc).
# On a generated repository with N jobs and M messages (100000 each), one
# coordsync clone (`coordsync init`, not timed; with --compact followed by
# `coordsync compact --older-than 0`, which moves every finished job and
# read message to the archive files, so that the live files hold what is
# queued, running or unread), then R timed runs (21) of
# `coordsync --json sync` in each case:
#   noop           nothing new on the remote (3 warm-up runs first);
#   change         another server (git CLI, bench/other_server.py) changed
#                  one job's priority in coordination/jobs.json;
#   append-remove  another server removed one job from the middle of
#                  jobs.json and appended a new one, in one commit;
#   noop-served, change-served  the first two again while `coordsync
#                  daemon` runs on the clone and serves the sync
#                  (cli/serve.c): the same client command, without the
#                  set-up of a libgit2 process.
# The change is made before each run and is not timed.  Each sync run is
# paired with one run of each baseline, built here with $CC -O2: `empty`
# (an empty main) and `git2init` (git_libgit2_init + shutdown, i.e. the
# fixed cost of a libgit2 process: Debian's build parses the system CA
# bundle).  Reports medians, the ratio to git2init, peak RSS (one more run
# under /usr/bin/time -v), and checks every run's JSON: nothing imported
# for noop; for a change exactly one file, jobs.json (its new blob id is
# the one recorded in the mirror's `files`), and the records it wrote;
# and the mirror's job count.  Goals: noop < 20 ms, change < 50 ms with
# records_imported = 1.  With valgrind installed, one more run of each
# process case and baseline under callgrind gives instruction counts, which the load
# does not move (--no-callgrind skips them).  Markdown to stdout, progress
# to stderr.  Always exits 0: a benchmark is not a test.

set -u
export LC_ALL=C

bench_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$bench_dir/lib.sh"
jobs=100000
messages=100000
runs=21
keep=""
callgrind=1
compact=0

while [ $# -gt 0 ]; do
	case $1 in
	--jobs) jobs=$2; shift 2 ;;
	--messages) messages=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	--no-callgrind) callgrind=0; shift ;;
	--compact) compact=1; shift ;;
	-h | --help) usage 0 ;;
	*) usage 2 "unknown argument: $1" ;;
	esac
done
need_number "$jobs" "$messages" "$runs"
((jobs >= 4 && runs >= 1)) || usage_error "need --jobs >= 4 and --runs >= 1"
find_coordsync
CC=${CC:-cc}

echo
echo "## incremental sync benchmark"
echo
if [ -n "$cs_missing" ]; then
	echo "**coordsync: $cs_missing**"
	exit 0
fi
make_workdir incr
load_start=$(load)

# ---------------------------------------------------------------- the repo
if ! gen_repo "$dir/gen" "$dir/gen.params" "jobs=$jobs messages=$messages servers=2" \
	--jobs "$jobs" --messages "$messages" --servers 2; then
	echo "**gen_repo.py failed; nothing measured**"
	exit 0
fi
# The runs add commits: they work on a copy, made afresh every time.
remote=$dir/remote.git clone=$dir/clone
rm -rf "$remote" "$clone"
cp -a "$dir/gen/remote.git" "$remote"
log "== coordsync init (not timed)"
if ! "$COORDSYNC" init "$remote" "$clone" --server build1 >"$dir/init.out" 2>&1; then
	echo "**coordsync init failed: $(tail -1 "$dir/init.out"); goals FAIL**"
	exit 0
fi

# ---------------------------------------------------------------- baselines
cat >"$dir/empty.c" <<'EOF'
int main(void) { return 0; }
EOF
cat >"$dir/git2init.c" <<'EOF'
/* The fixed cost of a process that uses libgit2: load it, initialise, shut down. */
#include <git2.h>
int main(void)
{
	if (git_libgit2_init() < 0)
		return 1;
	git_libgit2_shutdown();
	return 0;
}
EOF
log "== building the baselines"
# shellcheck disable=SC2046
if ! "$CC" -O2 -o "$dir/empty" "$dir/empty.c" ||
	! "$CC" -O2 -Wall -Wextra -Werror -o "$dir/git2init" "$dir/git2init.c" \
		$(pkg-config --cflags --libs libgit2); then
	echo "**the baselines did not build (needs $CC and libgit2-dev); nothing measured**"
	exit 0
fi

# ---------------------------------------------------------------- timing
# timed (lib.sh) runs each command as it does the baselines: bash forks
# and execs it, with no shell in between.
cs() { "$COORDSYNC" -C "$clone" "$@"; }
jobs_blob() { git --git-dir="$remote" rev-parse main:coordination/jobs.json; }
mirror_blob() {
	cs query "SELECT blob FROM files WHERE path = 'coordination/jobs.json'" --format csv | tail -1
}
mirror_jobs() { cs query "SELECT count(*) FROM jobs" --format csv | tail -1; }

live=$jobs
if [ $compact = 1 ]; then
	log "== coordsync compact --older-than 0 (not timed)"
	if ! cs compact --older-than 0 >"$dir/compact.out" 2>&1; then
		echo "**coordsync compact failed: $(tail -1 "$dir/compact.out"); goals FAIL**"
		exit 0
	fi
	live=$(mirror_jobs)
fi

# peak_rss CASE CMD...: peak RSS in KiB of one more run -> $dir/rss.CASE.
peak_rss() {
	local c=$1
	shift
	max_rss "$dir/time.$c" "$@" >"$dir/rss.$c" 2>>"$dir/stderr"
}

# instr NAME CMD...: instructions executed by CMD in user space (callgrind's
# total Ir) -> $dir/ir.NAME.  Empty when valgrind is missing or CMD failed.
have valgrind || callgrind=0
instr() {
	local n=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$n" "$@" >/dev/null 2>"$dir/cg.$n.err" &&
		sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$dir/cg.$n" >"$dir/ir.$n"
}

# prepare CASE K: another server's commit on the remote (not timed).
prepare() {
	case $1 in
	noop) ;;
	change) python3 "$bench_dir/other_server.py" "$remote" change "$2" >/dev/null ;;
	append-remove) python3 "$bench_dir/other_server.py" "$remote" append-remove $((jobs / 2 + $2)) >/dev/null ;;
	esac
}

# One line per run in $dir/check.CASE: files_imported records_imported
# ok(mirror blob = remote blob) mirror_job_count.
: >"$dir/stderr"
dpid=""
for c in noop change append-remove noop-served change-served; do
	base=${c%-served}
	rm -f "$dir/t.$c" "$dir/t.empty.$c" "$dir/t.git2init.$c" "$dir/check.$c" "$dir/rss.$c" \
		"$dir/ir.$c" "$dir/ir.empty.$c" "$dir/ir.git2init.$c"
	log "== $c: $runs runs (load $(load))"
	if [ "$c" != "$base" ]; then
		# the same sync, served by the clone's daemon (cli/serve.c)
		daemon_start "$clone" "$dir/daemon.err" || log "   !! the daemon did not come up"
	fi
	if [ $base = noop ]; then
		for ((i = 0; i < 3; i++)); do cs sync >/dev/null 2>>"$dir/stderr"; done
	fi
	for ((i = 0; i < runs; i++)); do
		if ! prepare $base "$i"; then
			log "   !! other_server.py failed"
			echo "fail" >>"$dir/check.$c"
			continue
		fi
		timed "$dir/t.empty.$c" "$dir/empty"
		timed "$dir/t.git2init.$c" "$dir/git2init"
		timed "$dir/t.$c" "$COORDSYNC" -C "$clone" --json sync
		f=$(python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1]))
    print(d["files_imported"], d["records_imported"])
except Exception:
    print("- -")' "$dir/out")
		ok=no
		[ "$(mirror_blob)" = "$(jobs_blob)" ] && ok=yes
		echo "$f $ok $(mirror_jobs)" >>"$dir/check.$c"
	done
	if [ -n "$dpid" ]; then
		kill -TERM "$dpid"
		wait "$dpid"
		dpid=""
		log "   $(tail -1 "$dir/daemon.err")"
		continue   # peak RSS and instructions: of the process cases only
	fi
	prepare $c "$runs" && peak_rss "$c" "$COORDSYNC" -C "$clone" sync
	if [ $callgrind = 1 ]; then
		log "   instruction counts (callgrind)"
		[ $c = noop ] && { instr "empty.$c" "$dir/empty"; instr "git2init.$c" "$dir/git2init"; }
		prepare $c $((runs + 1)) && instr "$c" "$COORDSYNC" -C "$clone" sync
	fi
done
load_end=$(load)

# ---------------------------------------------------------------- report
jobs_bytes=$(git --git-dir="$remote" cat-file -s main:coordination/jobs.json)
msgs_bytes=$(git --git-dir="$remote" cat-file -s main:coordination/messages.json)
if [ $compact = 1 ]; then
	echo "$jobs jobs + $messages messages, then \`coordsync compact --older-than 0\`:" \
		"$live jobs live ($(python3 -c "print('%.2f' % ($jobs_bytes / 1e6))") MB jobs.json)," \
		"messages.json $(python3 -c "print('%.2f' % ($msgs_bytes / 1e6))") MB," \
		"the rest in coordination/archive/;"
else
	echo "$jobs jobs ($(python3 -c "print('%.1f' % ($jobs_bytes / 1e6))") MB jobs.json) +" \
		"$messages messages ($(python3 -c "print('%.1f' % ($msgs_bytes / 1e6))") MB),"
fi
echo \
	"local bare remote; $runs runs per case, median wall time; each sync run paired with" \
	"one run of each baseline; $(nproc) CPUs; load at the start: $load_start, at the end: $load_end;" \
	"$(git --version); libgit2 $(pkg-config --modversion libgit2)."
echo "Reproduce: \`bench/incremental.sh --jobs $jobs --messages $messages --runs $runs$([ $compact = 1 ] && echo " --compact")\`."
echo
python3 - "$dir" "$live" "$runs" "$compact" <<'EOF'
import os, re, statistics, subprocess, sys
d, N, R = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
after = " (after compact)" if sys.argv[4] == "1" else ""

def times(name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return [], 0
    t, bad = [], 0
    for line in open(p):
        rc, t0, t1 = line.split()
        if rc != "0":
            bad += 1
        else:
            t.append((float(t1) - float(t0)) * 1000)
    return t, bad

def med(v):
    return statistics.median(v) if v else None

def f1(x):
    return "n/a" if x is None else "%.1f" % x

def rss(c):
    try:
        kb = open(os.path.join(d, "rss." + c)).read().strip()
        return "%.1f" % (int(kb) / 1024) if kb else "n/a"
    except OSError:
        return "n/a"

def check(c):
    """Check every run's JSON and the mirror; -> (text, ok, records seen)."""
    try:
        lines = [l.split() for l in open(os.path.join(d, "check." + c))]
    except OSError:
        return "no runs", False, []
    problems, recs = [], []
    for f in lines:
        if len(f) != 4:
            problems.append("a change was not made")
            continue
        files, records, same, count = f
        if not records.isdigit():
            problems.append("no JSON from sync")
            continue
        recs.append(int(records))
        want = ("0", "0") if c.startswith("noop") else ("1", None)
        if files != want[0] or (want[1] and records != want[1]):
            problems.append("files_imported %s, records_imported %s" % (files, records))
        if c.startswith("change") and records != "1":
            problems.append("records_imported %s, not 1" % records)
        if same != "yes":
            problems.append("mirror's jobs.json blob is not the remote's")
        if count != str(N):
            problems.append("mirror has %s jobs, not %d" % (count, N))
    if len(lines) != R:
        problems.append("%d of %d runs" % (len(lines), R))
    if problems:
        uniq = sorted(set(problems))
        return "**" + "; ".join(uniq[:3]) + "**", False, recs
    if c.startswith("noop"):
        return "nothing imported, %d runs" % R, True, recs
    lo, hi = min(recs), max(recs)
    what = "only jobs.json imported (blob id checked), %s record%s each, %d jobs in the mirror" % (
        lo if lo == hi else "%d..%d" % (lo, hi), "" if hi == 1 else "s", N)
    return what, True, recs

rows, res = [], {}
for c in ("noop", "change", "append-remove", "noop-served", "change-served"):
    t, bad = times("t." + c)
    e, _ = times("t.empty." + c)
    g, _ = times("t.git2init." + c)
    text, ok, recs = check(c)
    if bad:
        text = "**%d runs exited non-zero** " % bad + text
        ok = False
    m, me, mg = med(t), med(e), med(g)
    res[c] = (m, ok, recs)
    ratio = "%.2f" % (m / mg) if m and mg else "n/a"
    over = "%.1f" % (m - mg) if m and mg else "n/a"
    rows.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
        c, f1(me), f1(mg), f1(m), ratio, over, rss(c), text))
print("| case | empty process ms | git2init ms | **coordsync sync ms** | sync / git2init "
      "| sync − git2init ms | peak RSS MiB | check |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
print("\n".join(rows))
print()

def goal(name, target, c, limit, extra_ok=True):
    m, ok, _ = res.get(c, (None, False, []))
    if m is None:
        r = "FAIL (no successful run)"
    elif not ok or not extra_ok:
        r = "FAIL (check)"
    else:
        r = "PASS" if m < limit else "FAIL"
    print("| %s | %s | %s | **%s** |" % (name, target, f1(m), r))
print("| goal | target | median ms | result |")
print("|---|---|---:|---|")
goal("sync with nothing new" + after, "< 20 ms", "noop", 20)
goal("sync after one changed job (records_imported = 1)" + after, "< 50 ms", "change", 50)
goal("sync with nothing new, served by the clone's daemon" + after, "< 20 ms", "noop-served", 20)
goal("sync after one changed job, served by the clone's daemon" + after, "< 50 ms", "change-served",
     50)
print()
def incl(path, funcs):
    """Inclusive Ir of funcs in one callgrind output file (absent: not called)."""
    try:
        out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return {}
    got = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(\S+)", line)
        if m:
            fn = m.group(2).rsplit(":", 1)[-1]
            if fn in funcs and fn not in got:
                got[fn] = int(m.group(1).replace(",", ""))
    return got

def ir(name):
    try:
        v = open(os.path.join(d, "ir." + name)).read().strip()
        return int(v) if v else None
    except OSError:
        return None
g = ir("git2init.noop")
if g:
    print("Instructions executed in user space, one run each under callgrind (`valgrind "
          "--tool=callgrind`; the load does not move them; time in the kernel and waiting "
          "for I/O are not counted): empty process %.2fM, git2init %.1fM." % (
              (ir("empty.noop") or 0) / 1e6, g / 1e6))
    print()
    FUNCS = ["import_tree", "history_update", "worktree_move", "inflate"]
    print("| case | coordsync sync, M instructions | / git2init | above git2init, M | "
          + " | ".join("`%s`" % f for f in FUNCS) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(FUNCS))
    for c in ("noop", "change", "append-remove"):
        v = ir(c)
        if v:
            got = incl(os.path.join(d, "cg." + c), FUNCS)
            print("| %s | %.1f | %.2f | %.1f | %s |" % (
                c, v / 1e6, v / g, (v - g) / 1e6,
                " | ".join("%.0f" % (got[f] / 1e6) if f in got else "–" for f in FUNCS)))
        else:
            print("| %s | n/a | | |%s" % (c, " |" * len(FUNCS)))
    print()
    print("The last columns are inclusive counts within the sync (millions): "
          "`import_tree` the import, `history_update` the history walk, "
          "`worktree_move` the working tree and index, `inflate` zlib reading "
          "objects (within the others); – : not called.")
    print()

recs = res["append-remove"][2]
if recs:
    print("append-remove: the job removed is at position N/2 + run (of %d); records_imported "
          "was %d..%d. The import re-reads one changed region, from the first to the last "
          "byte that differs: a removal in the middle and an append at the end make it span "
          "the second half of the file." % (N, min(recs), max(recs)))
EOF
[ -s "$dir/stderr" ] && { log "(stderr of the runs:)"; head -5 "$dir/stderr" >&2; }
[ -n "$keep" ] && log "(repository, clone and timings kept in $dir)"
exit 0
