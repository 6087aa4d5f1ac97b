#!/usr/bin/env bash
# rebuild.sh: the `coordsync rebuild` / `sync` benchmark (see README.md).
#
#   bench/rebuild.sh [--jobs N] [--messages M] [--servers S] [--runs R]
#                    [--sync-runs K] [--layout plain|mirror] [--keep DIR]
#
# Environment: COORDSYNC (default: <bench>/../build/cli/coordsync, else
# <bench>/../build/coordsync), CC (cc).
# Generates a repository (or reuses the one in --keep DIR), then times, R runs
# each and the median wall time: floor, shell_load, utils_load and
# `coordsync rebuild`; then `coordsync sync` with nothing new (K runs), and the
# peak RSS of `coordsync rebuild`.  Prints markdown tables with the goals as
# PASS/FAIL/SKIP.  Always exits 0: a benchmark is not a test.

# shellcheck disable=SC2034  # res_*/rss_* are read through ${!name}
set -u
export LC_ALL=C

bench_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$bench_dir/lib.sh"
jobs=100000
messages=100000
servers=2
runs=5
sync_runs=20
layout=plain
keep=""

while [ $# -gt 0 ]; do
	case $1 in
	--jobs) jobs=$2; shift 2 ;;
	--messages) messages=$2; shift 2 ;;
	--servers) servers=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--sync-runs) sync_runs=$2; shift 2 ;;
	--layout) layout=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage 2 "unknown argument: $1" ;;
	esac
done
need_number "$jobs" "$messages" "$servers" "$runs" "$sync_runs"
case $layout in plain | mirror) ;; *) usage_error "--layout plain|mirror" ;; esac
export BENCH_LAYOUT=$layout
find_coordsync
CC=${CC:-cc}

# ---------------------------------------------------------------- the repo
make_workdir bench
work=$dir/work
if ! gen_repo "$dir" "$dir/gen.params" "jobs=$jobs messages=$messages servers=$servers" \
	--jobs "$jobs" --messages "$messages" --servers "$servers"; then
	log "rebuild.sh: gen_repo.py failed; nothing measured"
	exit 0
fi
jobs_json=$work/coordination/jobs.json
msgs_json=$work/coordination/messages.json
input_bytes=$(($(stat -c %s "$jobs_json") + $(stat -c %s "$msgs_json")))

# ---------------------------------------------------------------- timing
# measure NAME RUNS WARMUP PREPARE COMMAND: median wall seconds -> $res_NAME,
# or empty when the command failed.  COMMAND and PREPARE are shell strings.
if have hyperfine; then timer=hyperfine; else timer="bash loop"; fi
measure() {
	local name=$1 n=$2 warm=$3 prep=$4 cmd=$5 out="$dir/hf-$1.json" med=""
	log "== $name: $n runs ($timer): $cmd"
	if [ "$timer" = hyperfine ]; then
		local pa=()
		[ -n "$prep" ] && pa=(--prepare "$prep")
		if hyperfine --style basic --runs "$n" --warmup "$warm" "${pa[@]}" \
			--export-json "$out" --command-name "$name" "$cmd" >&2; then
			med=$(python3 -c 'import json,sys; print("%.6f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$out")
		fi
	else
		local i t0 t1 times="" ok=1
		for ((i = 0; i < warm + n; i++)); do
			[ -n "$prep" ] && bash -c "$prep"
			t0=$(date +%s%N)
			if ! bash -c "$cmd" >/dev/null; then ok=0; break; fi
			t1=$(date +%s%N)
			((i >= warm)) && times+=" $(((t1 - t0) / 1000))e-6"
		done
		[ $ok = 1 ] && med=$(echo "$times" | median_of 6)
		[ -n "$med" ] && log "   median $med s"
	fi
	[ -z "$med" ] && log "   !! $name failed; see the output above"
	printf -v "res_$name" '%s' "$med"
}

# peak_rss NAME ARGV...: peak resident set size in KiB -> $rss_NAME (one more
# run; for a script this is its largest process, e.g. sqlite3, not the sum).
peak_rss() {
	local name=$1 kb=""
	shift
	kb=$(max_rss "$dir/time-$name.txt" "$@" 2>"$dir/rss-$name.err")
	[ -z "$kb" ] && log "   !! peak RSS of $name not measured (see $dir/rss-$name.err)"
	printf -v "rss_$name" '%s' "$kb"
}

# ---------------------------------------------------------------- contenders
floor_bin=$dir/floor
fa=()
[ "$layout" = mirror ] && fa=(--mirror)
log "== building floor"
# shellcheck disable=SC2046
if "$CC" -O2 -Wall -Wextra -Werror -o "$floor_bin" "$bench_dir/floor.c" \
	$(pkg-config --cflags --libs libcjson sqlite3); then
	floor_argv=("$floor_bin" "${fa[@]}" "$dir/floor.db" "$jobs_json" "$msgs_json")
	measure floor "$runs" 1 "rm -f $(q "$dir/floor.db")" "$(printf '%q ' "${floor_argv[@]}")"
	rm -f "$dir/floor.db"
	peak_rss floor "${floor_argv[@]}"
else
	log "   !! floor did not build"
	res_floor="" rss_floor=""
fi

if have sqlite3; then
	shell_argv=("$bench_dir/shell_load.sh" "$dir/shell.db" "$work")
	measure shell_load "$runs" 1 "" "$(printf '%q ' "${shell_argv[@]}")"
	peak_rss shell_load "${shell_argv[@]}"
else
	log "== shell_load: SKIPPED (no sqlite3 on PATH)"
	res_shell_load="" rss_shell_load=""
fi

if have sqlite-utils; then
	utils_argv=("$bench_dir/utils_load.sh" "$dir/utils.db" "$work")
	measure utils_load "$runs" 1 "" "$(printf '%q ' "${utils_argv[@]}")"
	peak_rss utils_load "${utils_argv[@]}"
else
	log "== utils_load: SKIPPED (no sqlite-utils on PATH; apt-get install sqlite-utils)"
	res_utils_load="" rss_utils_load=""
fi

res_rebuild="" res_sync="" rss_rebuild="" cs_note="" cs_present=0
clone=$dir/clone
if [ -n "$cs_missing" ]; then
	cs_note=$cs_missing
	log "== coordsync: $cs_note"
else
	cs_present=1
	log "== coordsync init (once, not timed)"
	rm -rf "$clone"
	if ! "$COORDSYNC" init "$dir/remote.git" "$clone" --server build1 >&2; then
		cs_note="\`coordsync init\` failed: rebuild/sync not measured, goals FAIL"
		log "   !! $cs_note"
	else
		cs=$(q "$COORDSYNC")
		measure rebuild "$runs" 1 "" "$cs -C $(q "$clone") rebuild"
		measure sync "$sync_runs" 3 "" "$cs -C $(q "$clone") sync"
		peak_rss rebuild "$COORDSYNC" -C "$clone" rebuild
	fi
fi

# ---------------------------------------------------------------- report
# ratio A B prints A/B with 2 decimals, or "n/a".
ratio() {
	if [ -n "$1" ] && [ -n "$2" ]; then
		python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print("%.2f" % (a / b) if b else "n/a")' "$1" "$2"
	else echo "n/a"; fi
}
secs() { if [ -n "$1" ]; then printf '%.3f' "$1"; else echo "n/a"; fi; }
mib() { if [ -n "$1" ]; then python3 -c 'import sys; print("%.0f" % (int(sys.argv[1]) / 1024))' "$1"; else echo "n/a"; fi; }
# goal NAME TARGET MEASURED CONDITION(python, uses x) COORDSYNC-SIDE-VALUE
# -> a table row.  No measurement: FAIL if coordsync is there but its part
# failed, SKIP if coordsync or the other contender is missing.
goal() {
	local r
	if [ -z "$3" ] || [ "$3" = n/a ]; then
		if [ "$cs_present" = 1 ] && [ -z "$5" ]; then r="FAIL (coordsync error)"; else r=SKIP; fi
	elif python3 -c "import sys; x = float(sys.argv[1]); sys.exit(0 if ($4) else 1)" "$3"; then r=PASS
	else r=FAIL; fi
	printf '| %s | %s | %s | **%s** |\n' "$1" "$2" "$3" "$r"
}

ver_su=$(sqlite-utils --version 2>/dev/null | sed 's/.*version //')
echo
echo "## coordsync rebuild benchmark"
echo
echo "$jobs jobs + $messages messages, $servers servers; input $(python3 -c "print('%.1f' % ($input_bytes / 1e6))") MB" \
	"(jobs.json + messages.json); layout=$layout; $runs runs (sync: $sync_runs), median wall time;" \
	"timer: $timer; $(nproc) CPUs; sqlite3 $(sqlite3 --version 2>/dev/null | cut -d' ' -f1);" \
	"cJSON $(pkg-config --modversion libcjson 2>/dev/null); sqlite-utils ${ver_su:-n/a}."
[ -n "$cs_note" ] && echo && echo "**coordsync: $cs_note**"
echo
echo "| contender | median s | x floor | x coordsync rebuild | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|"
for c in floor shell_load utils_load rebuild; do
	r=res_$c m=rss_$c
	label=$c
	[ "$c" = rebuild ] && label="coordsync rebuild"
	echo "| $label | $(secs "${!r}") | $(ratio "${!r}" "$res_floor") | $(ratio "${!r}" "$res_rebuild") | $(mib "${!m}") |"
done
echo "| coordsync sync (nothing new) | $(secs "$res_sync") | | | |"
echo
sync_ms=""
[ -n "$res_sync" ] && sync_ms=$(python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) * 1000))' "$res_sync")
rss_x=""
[ -n "$rss_rebuild" ] && rss_x=$(python3 -c 'import sys; print("%.2f" % (int(sys.argv[1]) * 1024 / int(sys.argv[2])))' "$rss_rebuild" "$input_bytes")
echo "| goal | target | measured | result |"
echo "|---|---|---:|---|"
goal "rebuild vs floor (foundation issue)" "<= 2x floor" "$(ratio "$res_rebuild" "$res_floor")" "x <= 2" "$res_rebuild"
goal "rebuild vs floor (performance issue)" "<= 1.5x floor" "$(ratio "$res_rebuild" "$res_floor")" "x <= 1.5" "$res_rebuild"
goal "rebuild vs sqlite3 shell load" "<= 1x shell_load" "$(ratio "$res_rebuild" "$res_shell_load")" "x <= 1" "$res_rebuild"
goal "sqlite-utils vs rebuild" ">= 3x rebuild" "$(ratio "$res_utils_load" "$res_rebuild")" "x >= 3" "$res_rebuild"
goal "sync with nothing new (foundation issue)" "< 50 ms" "${sync_ms:-n/a}" "x < 50" "$res_sync"
goal "sync with nothing new (performance issue)" "< 20 ms" "${sync_ms:-n/a}" "x < 20" "$res_sync"
goal "rebuild peak RSS" "< 4x input" "${rss_x:-n/a}" "x < 4" "$rss_rebuild"
echo
[ -n "$keep" ] && log "(repository, databases and hyperfine JSON kept in $dir)"
exit 0
