#!/usr/bin/env bash
# claim_growth.sh: what one `job claim` costs as jobs.json grows, and after compaction.
#
#   bench/claim_growth.sh [--sizes "1000 10000 100000"] [--queued Q] [--claims K]
#                         [--big-seed-claims KB] [--no-callgrind] [--keep DIR]
#
# Environment: COORDSYNC (default: <bench>/../build/cli/coordsync, else
# <bench>/../build/coordsync).
# For each size N: a remote whose jobs.json holds N jobs, the newest Q (300)
# queued and all the others done (gen_repo.py --queued).  On one copy, a
# coordsync clone (`coordsync init`, not timed) makes one warm-up claim and
# then K (10) timed claims, one process each, each paired with a timed
# `lock renew` of a lock it holds (a decision that leaves jobs.json alone:
# claim - renew is what the 29 MB file costs).  On another copy, a git clone
# runs the seed's claim_next_job with the git CLI (bench/seed_claim.py):
# one warm-up, then K claims, or KB (3) from 50000 jobs up, where one takes
# seconds.  Per size: median ms per claim and the ratio, `git diff` of one
# claim commit (lines, bytes), the bytes of new loose objects in the remote
# per claim (median over the claims), and peak RSS (one more claim of each
# under /usr/bin/time -v).  Then the largest remote gets `coordsync compact
# --older-than 0` (the done jobs move to coordination/archive/) and both
# contenders claim again on the small live file.  With valgrind, one more
# claim and renew per size run under callgrind: instruction counts, which
# the load does not move, and where a claim's go (inclusive counts of the
# engine's export, blob write, history, push and working-tree functions).  Checks: both
# claimed the same jobs in the same order, each once, and jobs.json on the
# remote agrees.  Markdown to stdout, progress to stderr.
# Always exits 0: a benchmark is not a test.

set -u
export LC_ALL=C

bench_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$bench_dir/lib.sh"
sizes="1000 10000 100000"
queued=300
claims=10
big_seed=3
callgrind=1
keep=""

while [ $# -gt 0 ]; do
	case $1 in
	--sizes) sizes=$2; shift 2 ;;
	--queued) queued=$2; shift 2 ;;
	--claims) claims=$2; shift 2 ;;
	--big-seed-claims) big_seed=$2; shift 2 ;;
	--no-callgrind) callgrind=0; shift ;;
	--keep) keep=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage 2 "unknown argument: $1" ;;
	esac
done
# shellcheck disable=SC2086 # the list, one value a word
need_positive "$queued" "$claims" "$big_seed" $sizes
[ -n "${sizes// /}" ] || usage_error "--sizes is empty"
for n in $sizes; do
	((queued > n || claims + 4 > queued)) && usage_error "need --claims + 4 <= --queued <= every size"
done
find_coordsync
have valgrind || callgrind=0

echo
echo "## job claim as jobs.json grows"
echo
if [ -n "$cs_missing" ]; then
	echo "**coordsync: $cs_missing**"
	exit 0
fi
make_workdir cgrowth
load_start=$(load)
: >"$dir/stderr"

# ---------------------------------------------------------------- helpers
# loose_bytes REPO: apparent bytes of REPO's loose objects.
loose_bytes() { loose "$1" | cut -d' ' -f2; }
# peak_rss FILE CMD...: peak RSS in KiB of one run of CMD -> FILE.
peak_rss() {
	local f=$1
	shift
	max_rss "$f.time" "$@" >"$f" 2>>"$dir/stderr"
}
# instr FILE CMD...: one run of CMD under callgrind; its output file -> FILE.
instr() {
	local f=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$f" "$@" >/dev/null 2>"$f.err" || rm -f "$f"
}
# diff_of REMOTE: "lines-added lines-deleted bytes" of the last claim commit's diff.
diff_of() {
	local c
	c=$(git --git-dir="$1" log --format='%H %s' main | awk '$2 == "Job" && $4 == "claimed" {print $1; exit}')
	[ -n "$c" ] || { echo "- - -"; return; }
	echo "$(git --git-dir="$1" diff --numstat "$c~1" "$c" -- coordination/jobs.json | awk '{a += $1; d += $2} END {print a + 0, d + 0}') $(git --git-dir="$1" diff "$c~1" "$c" | wc -c)"
}

cs_claims() { # LABEL REMOTE CLONE: the coordsync side of one row, results in $dir/LABEL.*
	local remote=$2 clone=$3 i b0 b1 p=$dir/$1
	log "   coordsync: 1 warm-up + $claims claims, each paired with a lock renew (load $(load))"
	"$COORDSYNC" -C "$clone" job claim >/dev/null 2>>"$dir/stderr" || echo "warm-up claim failed" >>"$p.problems"
	"$COORDSYNC" -C "$clone" lock acquire bench --ttl 3600 >/dev/null 2>>"$dir/stderr" ||
		echo "lock acquire failed" >>"$p.problems"
	for ((i = 0; i < claims; i++)); do
		b0=$(loose_bytes "$remote")
		timed "$p.cs" "$COORDSYNC" -C "$clone" job claim || echo "claim exited non-zero" >>"$p.problems"
		b1=$(loose_bytes "$remote")
		echo $((b1 - b0)) >>"$p.cs.loose"
		# a new expiry each time, so that every renew is a commit
		timed "$p.renew" "$COORDSYNC" -C "$clone" lock renew bench --ttl $((3600 + i % 2 + 1)) ||
			echo "lock renew exited non-zero" >>"$p.problems"
	done
	peak_rss "$p.cs.rss" "$COORDSYNC" -C "$clone" job claim
	if [ $callgrind = 1 ]; then
		log "   coordsync: one claim and one renew under callgrind"
		instr "$p.cg.claim" "$COORDSYNC" -C "$clone" job claim
		instr "$p.cg.renew" "$COORDSYNC" -C "$clone" lock renew bench --ttl 3610
	fi
	diff_of "$remote" >"$p.cs.diff"
}

seed_claims() { # LABEL REMOTE CLONE K
	local remote=$2 clone=$3 k=$4 i b0 b1 p=$dir/$1
	log "   seed (git CLI): 1 warm-up + $k claims (load $(load))"
	python3 "$bench_dir/seed_claim.py" "$clone" build2 >/dev/null 2>>"$dir/stderr" ||
		echo "seed warm-up claim failed" >>"$p.problems"
	for ((i = 0; i < k; i++)); do
		b0=$(loose_bytes "$remote")
		timed "$p.seed" python3 "$bench_dir/seed_claim.py" "$clone" build2 ||
			echo "seed claim exited non-zero" >>"$p.problems"
		b1=$(loose_bytes "$remote")
		echo $((b1 - b0)) >>"$p.seed.loose"
	done
	peak_rss "$p.seed.rss" python3 "$bench_dir/seed_claim.py" "$clone" build2
	diff_of "$remote" >"$p.seed.diff"
}

# check LABEL CS-REMOTE SEED-REMOTE [BASE]: after BASE (the commit both
# remotes started from), the seed claimed the same jobs as coordsync's first
# ones, in the same order; no job was claimed twice; jobs.json on each
# remote has one running job per claim in its whole history.
check() {
	local p=$dir/$1 a b na nb ta tb
	claimed "$2" "${4:-}" >"$p.ids.cs"
	claimed "$3" "${4:-}" >"$p.ids.seed"
	na=$(wc -l <"$p.ids.cs") nb=$(wc -l <"$p.ids.seed")
	ta=$(claimed "$2" | sort -u | wc -l) tb=$(claimed "$3" | sort -u | wc -l)
	[ "$(claimed "$2" | wc -l)" = "$ta" ] || echo "coordsync claimed a job twice" >>"$p.problems"
	[ "$(claimed "$3" | wc -l)" = "$tb" ] || echo "the seed claimed a job twice" >>"$p.problems"
	head -n "$nb" "$p.ids.cs" | cmp -s - "$p.ids.seed" || echo "the two claimed different jobs" >>"$p.problems"
	a=$(git --git-dir="$2" show main:coordination/jobs.json | grep -c '"status": "running"')
	b=$(git --git-dir="$3" show main:coordination/jobs.json | grep -c '"status": "running"')
	[ "$a" = "$ta" ] || echo "coordsync's jobs.json has $a running jobs for $ta claims" >>"$p.problems"
	[ "$b" = "$tb" ] || echo "the seed's jobs.json has $b running jobs for $tb claims" >>"$p.problems"
	echo "$na $nb" >"$p.count"
}

# ---------------------------------------------------------------- runs
labels=()
biggest=0
for n in $sizes; do ((n > biggest)) && biggest=$n; done
for n in $sizes; do
	g=$dir/gen$n
	rm -f "$dir/n$n".* "$dir/c$n".*
	gen_repo "$g" "$g.params" "jobs=$n queued=$queued" \
		--jobs "$n" --messages 0 --servers 2 --queued "$queued" || { log "   !! gen_repo.py failed"; continue; }
	w=$dir/run$n
	rm -rf "$w"
	mkdir -p "$w"
	cp -a "$g/remote.git" "$w/cs.git"
	cp -a "$g/remote.git" "$w/seed.git"
	git clone -q "$w/seed.git" "$w/seed" 2>>"$dir/stderr"
	if ! "$COORDSYNC" init "$w/cs.git" "$w/cs" --server build1 >/dev/null 2>>"$dir/stderr"; then
		log "   !! coordsync init failed"
		echo "coordsync init failed" >"$dir/n$n.problems"
		labels+=("n$n")
		continue
	fi
	k=$claims
	((n >= 50000 && big_seed < k)) && k=$big_seed
	git --git-dir="$w/cs.git" cat-file -s main:coordination/jobs.json >"$dir/n$n.size"
	cs_claims "n$n" "$w/cs.git" "$w/cs"
	seed_claims "n$n" "$w/seed.git" "$w/seed" "$k"
	check "n$n" "$w/cs.git" "$w/seed.git"
	labels+=("n$n")

	if [ "$n" = "$biggest" ]; then
		log "== $n jobs: coordsync compact --older-than 0 (timed once), then both again"
		timed "$dir/compact.t" "$COORDSYNC" -C "$w/cs" compact --older-than 0 ||
			echo "coordsync compact failed" >>"$dir/c$n.problems"
		cp "$dir/out" "$dir/compact.out"
		git --git-dir="$w/cs.git" cat-file -s main:coordination/jobs.json >"$dir/c$n.size"
		git --git-dir="$w/cs.git" ls-tree -r -l main coordination/archive >"$dir/compact.archive"
		# the seed works on a copy of the compacted remote
		cp -a "$w/cs.git" "$w/seedc.git"
		git clone -q "$w/seedc.git" "$w/seedc" 2>>"$dir/stderr"
		base=$(git --git-dir="$w/seedc.git" rev-parse main)
		cs_claims "c$n" "$w/cs.git" "$w/cs"
		seed_claims "c$n" "$w/seedc.git" "$w/seedc" "$claims"
		check "c$n" "$w/cs.git" "$w/seedc.git" "$base"
		labels+=("c$n")
	fi
	[ -z "$keep" ] && rm -rf "$w"
done
load_end=$(load)

# ---------------------------------------------------------------- report
echo "Each size: N jobs in coordination/jobs.json (the newest $queued queued, the others done)," \
	"no messages, local bare remotes; coordsync $claims claims per size (each paired with a" \
	"\`lock renew\`), the seed $claims (from 50000 jobs: $big_seed); one process per claim," \
	"median wall time; $(nproc) CPUs; load at the start: $load_start, at the end: $load_end;" \
	"$(git --version); libgit2 $(pkg-config --modversion libgit2 2>/dev/null)."
echo "Reproduce: \`bench/claim_growth.sh --sizes \"$sizes\" --queued $queued --claims $claims" \
	"--big-seed-claims $big_seed\`."
echo
python3 - "$dir" "$callgrind" "${labels[@]}" <<'EOF'
import os, re, statistics, subprocess, sys
d, cg, labels = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]

def read(name, default=""):
    try:
        return open(os.path.join(d, name)).read().strip()
    except OSError:
        return default

def times(name):
    t = []
    for line in read(name).splitlines():
        rc, t0, t1 = line.split()
        if rc == "0":
            t.append((float(t1) - float(t0)) * 1000)
    return t

def med(v):
    return statistics.median(v) if v else None

def ms(x):
    return "n/a" if x is None else ("%.0f" % x if x >= 100 else "%.1f" % x)

def mib(name):
    v = read(name)
    return "%.0f" % (int(v) / 1024) if v.isdigit() else "n/a"

def kb(x):
    return "n/a" if x is None else "{:,.1f}".format(x / 1000)

def title(l):
    n = int(l[1:])
    return ("%d" % n if l[0] == "n" else "%d, after compact" % n)

def diff(name):
    f = read(name).split()
    return "n/a" if len(f) != 3 or f[0] == "-" else "+%s −%s, %s B" % tuple(f)

rows = []
for l in labels:
    size = read(l + ".size")
    cs, rn, sd = med(times(l + ".cs")), med(times(l + ".renew")), med(times(l + ".seed"))
    lcs = med([int(x) for x in read(l + ".cs.loose").split()])
    lsd = med([int(x) for x in read(l + ".seed.loose").split()])
    cnt = read(l + ".count").split()
    probs = sorted(set(read(l + ".problems").splitlines()))
    chk = ("**" + "; ".join(probs) + "**") if probs else (
        "same %s jobs in the same order, each once" % cnt[1] if len(cnt) == 2 else "n/a")
    rows.append("| %s | %s | %s | %s | %s | **%s** | %s | %s | %s | %s | %s | %s | %s |" % (
        title(l), "%.2f" % (int(size) / 1e6) if size.isdigit() else "n/a",
        ms(cs), ms(rn), ms(sd),
        "%.2f" % (sd / cs) if cs and sd else "n/a",
        diff(l + ".cs.diff"), diff(l + ".seed.diff"), kb(lcs), kb(lsd),
        mib(l + ".cs.rss"), mib(l + ".seed.rss"), chk))
print("| jobs | jobs.json MB | coordsync claim ms | lock renew ms | seed claim ms | seed / coordsync "
      "| git diff of a claim: coordsync | seed | new loose KB in the remote per claim: coordsync "
      "| seed (3 commits) | peak RSS MiB: coordsync | seed | check |")
print("|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|")
print("\n".join(rows))
print()

ct = read("compact.t").split()
if ct:
    arch = [l.split() for l in read("compact.archive").splitlines()]
    asz = sum(int(f[3]) for f in arch if len(f) >= 5 and f[3].isdigit())
    print("`coordsync compact --older-than 0` took %s ms (exit %s: %s) and moved the done jobs to "
          "%d file%s under coordination/archive/ (%.1f MB in all)." % (
              ms((float(ct[2]) - float(ct[1])) * 1000), ct[0], read("compact.out") or "no output",
              len(arch), "" if len(arch) == 1 else "s", asz / 1e6))
    print()

if cg:
    FUNCS = ["export_edits", "texts_blob_write", "history_update", "transport_commit_push", "worktree_move", "git_libgit2_init"]
    def incl(path):
        """Total and inclusive Ir of FUNCS from one callgrind output file."""
        try:
            out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                                 capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            return None, {}
        total, got = None, {}
        for line in out.splitlines():
            m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(\S+)", line)
            if not m:
                continue
            n, where = int(m.group(1).replace(",", "")), m.group(2)
            if where == "PROGRAM" and total is None:
                total = n
            fn = where.rsplit(":", 1)[-1]
            if fn in FUNCS and fn not in got:
                got[fn] = n
        return total, got
    print("Instructions (user space, callgrind, one claim and one renew per size after the timed "
          "runs; millions). The renew is a decision that leaves jobs.json alone, so claim − renew "
          "is what rewriting jobs.json costs. The engine columns are inclusive counts within the "
          "claim: `export_edits` is the export of every dirty file, of which `texts_blob_write` is "
          "hashing and deflating the new blob; `history_update` the history walk; "
          "`transport_commit_push` commit and push; `worktree_move` "
          "the working tree and index; `git_libgit2_init` libgit2's start-up.")
    print()
    print("| jobs | claim | renew | claim − renew | " + " | ".join("`%s`" % f for f in FUNCS) + " |")
    print("|---:|---:|---:|---:|" + "---:|" * len(FUNCS))
    f = lambda x: "n/a" if x is None else "{:,.0f}".format(x / 1e6)
    for l in labels:
        c, cf = incl(os.path.join(d, l + ".cg.claim"))
        r, _ = incl(os.path.join(d, l + ".cg.renew"))
        print("| %s | %s | %s | %s | %s |" % (title(l), f(c), f(r), f(c - r) if c and r else "n/a",
                                              " | ".join(f(cf.get(x)) for x in FUNCS)))
    print()
EOF
[ -s "$dir/stderr" ] && { log "(first lines of the runs' stderr:)"; head -5 "$dir/stderr" >&2; }
[ -n "$keep" ] && log "(repositories and timings kept in $dir)"
exit 0
