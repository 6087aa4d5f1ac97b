# lib.sh: what the bench scripts share, sourced by each after it sets bench_dir:
#
#   bench_dir=$(cd "$(dirname "$0")" && pwd)
#   . "$bench_dir/lib.sh"
#
# Sourcing it sets no shell option and one variable, me; the rest are
# functions.  Some read the script's own variables: bench_dir, keep (--keep
# DIR, empty without it) and dir (the work directory, from make_workdir).
# shellcheck shell=bash

me=${0##*/} # the script's name, for its messages

# ---------------------------------------------------------------- small helpers
log() { printf '%s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
q() { printf '%q' "$1"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------- options
# usage [STATUS [MESSAGE]]: prints "NAME: MESSAGE" on stderr when MESSAGE is
# given, then the script's header comment (from line 2 to the first line that
# is not a comment) without its "# ", and exits STATUS (0).
usage() {
	[ -n "${2:-}" ] && echo "$me: $2" >&2
	sed -n '2,${/^#/!q;s/^# \{0,1\}//;p}' "$0"
	exit "${1:-0}"
}
# usage_error MESSAGE: "NAME: MESSAGE" on stderr, exit 2.
usage_error() {
	echo "$me: $1" >&2
	exit 2
}
# need_number VALUE...: exits 2 unless every VALUE is a whole number;
# need_positive VALUE...: the same, and not 0.
need_number() {
	local v
	for v; do
		case $v in '' | *[!0-9]*) usage_error "not a number: '$v'" ;; esac
	done
}
need_positive() {
	local v
	for v; do
		case $v in '' | *[!0-9]* | 0) usage_error "not a positive number: '$v'" ;; esac
	done
}

# ---------------------------------------------------------------- setup
# find_coordsync: the binary -> $COORDSYNC, made absolute: $COORDSYNC when
# set, else <bench>/../build/cli/coordsync (the issue's path), else
# <bench>/../build/coordsync (CMake's default) when only that one is there.
# $cs_missing: empty when it is executable, else the SKIPPED note to report.
find_coordsync() {
	if [ -z "${COORDSYNC:-}" ]; then
		COORDSYNC=$bench_dir/../build/cli/coordsync
		[ -x "$COORDSYNC" ] || [ ! -x "$bench_dir/../build/coordsync" ] ||
			COORDSYNC=$bench_dir/../build/coordsync
	fi
	COORDSYNC=$(realpath -m "$COORDSYNC")
	cs_missing=""
	[ -x "$COORDSYNC" ] ||
		cs_missing="SKIPPED: coordsync not found at $COORDSYNC (build it, or set COORDSYNC=…)"
}

# make_workdir NAME: the work directory -> $dir: --keep's DIR (made when
# missing, and kept), else a new ${TMPDIR:-/tmp}/coordsync-NAME.XXXXXX that
# an EXIT trap removes.  Exits 0 (a benchmark is not a test) when it cannot.
make_workdir() {
	if [ -n "$keep" ]; then
		mkdir -p "$keep" || exit 0
		dir=$(cd "$keep" && pwd)
	else
		dir=$(mktemp -d "${TMPDIR:-/tmp}/coordsync-$1.XXXXXX") || exit 0
		trap 'rm -rf "$dir"' EXIT
	fi
}

# gen_repo OUT PARAMS-FILE PARAMS ARGS...: `gen_repo.py ARGS --out OUT`
# (OUT/work and the bare OUT/remote.git), then PARAMS into PARAMS-FILE; or
# nothing when OUT/remote.git is there and PARAMS-FILE already says PARAMS
# (a --keep DIR of an earlier run).  Returns 1 when gen_repo.py failed.
gen_repo() {
	local out=$1 pf=$2 params=$3
	shift 3
	if [ -d "$out/remote.git" ] && [ -f "$pf" ] && [ "$(cat "$pf")" = "$params" ]; then
		log "== reusing the repository in $out ($params)"
		return 0
	fi
	log "== generating $params into $out"
	rm -f "$pf"
	python3 "$bench_dir/gen_repo.py" "$@" --out "$out" || return 1
	echo "$params" >"$pf"
}

# ---------------------------------------------------------------- measuring
# median_of DIGITS: the median of the numbers on stdin with DIGITS decimals;
# an empty line when there are none.
median_of() {
	python3 -c 'import sys, statistics as s
v = [float(x) for x in sys.stdin.read().split()]
print("%.*f" % (int(sys.argv[1]), s.median(v)) if v else "")' "$1"
}

# cpu_now VAR: user+sys seconds of this shell's waited-for children so far
# -> $VAR.  `times` must run in this shell, not in a command substitution.
cpu_now() {
	local u sy
	times >"$dir/times.txt"
	{ read -r _; read -r u sy; } <"$dir/times.txt"
	printf -v "$1" '%s' "$(python3 -c 'import re, sys
print(sum(60 * float(m) + float(s) for m, s in (re.match(r"(\d+)m([\d.]+)s", a).groups() for a in sys.argv[1:])))' "$u" "$sy")"
}

# timed FILE CMD...: runs CMD once, stdout to $dir/out, stderr appended to
# $dir/stderr, and appends "exit-status start end" ($EPOCHREALTIME) to FILE.
# No command substitution and no shell in between: bash forks and execs CMD.
# Returns CMD's exit status.
timed() {
	local f=$1 t0 t1 rc
	shift
	t0=$EPOCHREALTIME
	"$@" >"$dir/out" 2>>"$dir/stderr"
	rc=$?
	t1=$EPOCHREALTIME
	echo "$rc $t0 $t1" >>"$f"
	return $rc
}

# max_rss TIME-FILE CMD...: one more run of CMD (its stdout dropped, its
# stderr passed on); prints CMD's peak RSS in KiB, read from /usr/bin/time -v
# (whose report goes to TIME-FILE), else from Python's getrusage: for a
# script, its largest process, not the sum.  Prints nothing when CMD fails.
max_rss() {
	local f=$1
	shift
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -v -o "$f" "$@" >/dev/null &&
			sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$f"
	else # stdlib fallback: ru_maxrss of the largest waited-for descendant
		python3 -c 'import resource,subprocess,sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r.returncode == 0 else "")' "$@"
	fi
}

# ---------------------------------------------------------------- repositories
# loose REPO: "count apparent-bytes KiB-on-disk" of REPO's loose objects.
loose() {
	local o=$1/objects n b k
	n=$(find "$o" -path "$o/[0-9a-f][0-9a-f]/*" -type f | wc -l)
	b=$(find "$o" -path "$o/[0-9a-f][0-9a-f]/*" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	k=$(find "$o" -maxdepth 1 -name '[0-9a-f][0-9a-f]' -type d -print0 | du -sck --files0-from=- 2>/dev/null | tail -1 | cut -f1)
	echo "$n $b ${k:-0}"
}

# claimed REMOTE [BASE]: the ids of the jobs claimed on REMOTE's main (after
# BASE), oldest first, from the "Job ID claimed by SERVER" commit subjects.
claimed() {
	git --git-dir="$1" log --reverse --format=%s "${2:+$2..}main" |
		sed -n 's/^Job \([^ ]*\) claimed by .*/\1/p'
}

# proc_cpu PID...: user+sys seconds the running processes PID... used so far
proc_cpu() {
	local p
	for p in "$@"; do cat "/proc/$p/stat"; done |
		awk -v hz="$(getconf CLK_TCK)" '{ t += $14 + $15 } END { print t / hz }'
}

# daemon_start CLONE LOG: `coordsync daemon` on CLONE (stderr to LOG), which
# serves the clone's commands (cli/serve.c); waits at most 30 s for its first
# cycle and its socket.  Its pid -> $dpid; 1 when it did not come up.
daemon_start() {
	"$COORDSYNC" -C "$1" daemon --interval 3600 2>"$2" &
	dpid=$!
	for _ in $(seq 300); do
		grep -q '^coordsync run ' "$2" && [ -S "$1/.git/coordsync/serve.sock" ] && return 0
		sleep 0.1
	done
	return 1
}
