#!/usr/bin/env bash
# claim.sh: one `coordsync job claim` against the seed's claim_next_job (see README.md).
#
#   bench/claim.sh [--jobs N] [--claims K] [--rounds R] [--keep DIR]
#
# Environment: COORDSYNC (default: <bench>/../build/cli/coordsync, else
# <bench>/../build/coordsync).
# Generates a remote whose N jobs (2000) are all queued, then R rounds (5):
# each round copies it to three fresh bare remotes, makes two coordsync
# clones (`coordsync init`) and a git clone (not timed), and times K claims
# (30) of each contender, one process per claim, sequential, after one
# warm-up claim:
#   coordsync  `coordsync -C CLONE job claim`, a process doing it all;
#   served     the same command while `coordsync daemon` runs on the clone
#              and serves it (cli/serve.c); its CPU time adds the daemon's;
#   seed       `seed_claim.py CLONE build2` (the seed's pseudo-code with the
#              git CLI: three commits and three pushes per claim).
# The order alternates between rounds.  Reports per round the median wall
# time and the mean CPU time (user+sys, children included) per claim and
# the ratios, then the medians over the rounds, and checks that all three
# claimed the same jobs in the same order.
# Always exits 0: a benchmark is not a test.

set -u
export LC_ALL=C

bench_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$bench_dir/lib.sh"
jobs=2000
claims=30
rounds=5
keep=""

while [ $# -gt 0 ]; do
	case $1 in
	--jobs) jobs=$2; shift 2 ;;
	--claims) claims=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage 2 "unknown argument: $1" ;;
	esac
done
need_positive "$jobs" "$claims" "$rounds"
[ $((claims + 1)) -le "$jobs" ] || usage_error "--claims must be below --jobs"
find_coordsync
make_workdir claim

# ---------------------------------------------------------------- the repo
if ! gen_repo "$dir/gen" "$dir/gen.params" "jobs=$jobs all-queued" \
	--jobs "$jobs" --messages 0 --servers 2 --all-queued; then
	log "claim.sh: gen_repo.py failed; nothing measured"
	exit 0
fi
jobs_bytes=$(stat -c %s "$dir/gen/work/coordination/jobs.json")

# ---------------------------------------------------------------- timing
# measure NAME RUNS COMMAND: median wall seconds of RUNS runs after one
# warm-up run -> $res_NAME, mean user+sys CPU seconds per run -> $cpu_NAME
# (both empty when a run failed).  Each run is one claim.
if have hyperfine; then timer=hyperfine; else timer="bash loop"; fi
x2() { if [ -n "$1" ]; then printf '%.2f' "$1"; else echo "n/a"; fi; }
measure() {
	local name=$1 n=$2 cmd=$3 out="$dir/hf-$1-round$r.json" med="" cpu=""
	log "== $name: $n runs ($timer): $cmd"
	if [ "$timer" = hyperfine ]; then
		if hyperfine --style basic --runs "$n" --warmup 1 --export-json "$out" \
			--command-name "$name" "$cmd" >&2; then
			read -r med cpu < <(python3 -c 'import json,sys; r = json.load(open(sys.argv[1]))["results"][0]; print("%.6f %.6f" % (r["median"], r["user"] + r["system"]))' "$out")
		fi
	else
		local i t0 t1 c0 c1 times="" ok=1
		bash -c "$cmd" >/dev/null || ok=0   # the warm-up claim
		cpu_now c0
		for ((i = 0; i < n && ok; i++)); do
			t0=$(date +%s%N)
			if ! bash -c "$cmd" >/dev/null; then ok=0; break; fi
			t1=$(date +%s%N)
			times+=" $(((t1 - t0) / 1000))e-6"
		done
		cpu_now c1
		if [ $ok = 1 ]; then
			med=$(echo "$times" | median_of 6)
			cpu=$(python3 -c 'import sys; print("%.6f" % ((float(sys.argv[2]) - float(sys.argv[1])) / int(sys.argv[3])))' "$c0" "$c1" "$n")
		fi
		[ -n "$med" ] && log "   median $med s, CPU $cpu s per run"
	fi
	[ -z "$med" ] && log "   !! $name failed; see the output above"
	printf -v "res_$name" '%s' "$med"
	printf -v "cpu_$name" '%s' "$cpu"
}

msf() { if [ -n "$1" ]; then python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) * 1000))' "$1"; else echo "n/a"; fi; }

# ---------------------------------------------------------------- rounds
cs_note=$cs_missing cs_present=1
if [ -n "$cs_missing" ]; then
	cs_present=0
	log "== coordsync: $cs_note"
fi
seed_cmd="python3 $(q "$bench_dir/seed_claim.py")"
load_start=$(load)
rows=()
cs_all="" seed_all="" ratio_all="" ccs_all="" cseed_all="" cratio_all=""
sv_all="" sratio_all="" csv_all="" csratio_all=""
for ((r = 1; r <= rounds; r++)); do
	rd=$dir/round$r
	rm -rf "$rd"
	mkdir -p "$rd"
	log "== round $r/$rounds: fresh remotes and clones (not timed)"
	cp -a "$dir/gen/remote.git" "$rd/seed.git"
	git clone -q "$rd/seed.git" "$rd/seed" || { log "   !! git clone failed"; continue; }
	res_cs="" res_seed="" res_sv="" cpu_cs="" cpu_seed="" cpu_sv="" check=""
	order="cs sv seed" label="coordsync first"
	((r % 2 == 0)) && order="seed sv cs" label="seed first"
	for who in $order; do
		if [ "$who" = seed ]; then
			measure seed "$claims" "$seed_cmd $(q "$rd/seed") build2"
			continue
		fi
		[ "$cs_present" = 1 ] || continue
		cp -a "$dir/gen/remote.git" "$rd/$who.git"
		if ! "$COORDSYNC" init "$rd/$who.git" "$rd/$who" --server build1 >/dev/null 2>"$rd/init.err"; then
			log "   !! coordsync init failed: $(cat "$rd/init.err")"
			cs_note="\`coordsync init\` failed; goal FAIL"
			continue
		fi
		if [ "$who" = cs ]; then
			measure cs "$claims" "COORDSYNC_NO_DAEMON=1 $(q "$COORDSYNC") -C $(q "$rd/cs") job claim"
			continue
		fi
		daemon_start "$rd/sv" "$rd/daemon.err" || log "   !! the daemon did not come up"
		d0=$(proc_cpu "$dpid")
		measure sv "$claims" "$(q "$COORDSYNC") -C $(q "$rd/sv") job claim"
		d1=$(proc_cpu "$dpid")
		kill -TERM "$dpid"
		wait "$dpid"
		log "   $(tail -1 "$rd/daemon.err")"
		grep -q "[1-9][0-9]* commands served" "$rd/daemon.err" || { log "   !! the daemon served nothing"; res_sv=""; }
		# the daemon's CPU over the warm-up and the timed claims
		[ -n "$cpu_sv" ] && cpu_sv=$(python3 -c 'import sys; a,b,c,n = map(float, sys.argv[1:]); print("%.6f" % (a + (c - b) / (n + 1)))' "$cpu_sv" "$d0" "$d1" "$claims")
	done
	# All must have claimed the same jobs, in the same order, each once.
	if [ -n "$res_cs" ] && [ -n "$res_seed" ] && [ -n "$res_sv" ]; then
		if [ "$(claimed "$rd/cs.git")" = "$(claimed "$rd/seed.git")" ] &&
			[ "$(claimed "$rd/sv.git")" = "$(claimed "$rd/seed.git")" ] &&
			[ "$(claimed "$rd/cs.git" | sort -u | wc -l)" = $((claims + 1)) ]; then
			check="same $((claims + 1)) jobs"
		else
			check="**jobs differ**"
			log "   !! the contenders did not claim the same jobs; see $rd"
		fi
	fi
	div() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) / float(sys.argv[1])))' "$1" "$2" 2>/dev/null; }
	ratio=$(div "$res_cs" "$res_seed") cratio=$(div "$cpu_cs" "$cpu_seed")
	sratio=$(div "$res_sv" "$res_seed") csratio=$(div "$cpu_sv" "$cpu_seed")
	rows+=("| $r | $label | $(msf "$res_cs") | $(msf "$res_sv") | $(msf "$res_seed") | ${ratio:-n/a} | ${sratio:-n/a} | $(msf "$cpu_cs") | $(msf "$cpu_sv") | $(msf "$cpu_seed") | ${cratio:-n/a} | ${csratio:-n/a} | ${check:-n/a} |")
	cs_all+=" $res_cs" seed_all+=" $res_seed" ratio_all+=" $ratio"
	ccs_all+=" $cpu_cs" cseed_all+=" $cpu_seed" cratio_all+=" $cratio"
	sv_all+=" $res_sv" sratio_all+=" $sratio" csv_all+=" $cpu_sv" csratio_all+=" $csratio"
	[ -z "$keep" ] && rm -rf "$rd"
done

# ---------------------------------------------------------------- report
med() { echo "$1" | median_of 6; }
cs_med=$(med "$cs_all") seed_med=$(med "$seed_all") ratio_med=$(med "$ratio_all")
ccs_med=$(med "$ccs_all") cseed_med=$(med "$cseed_all") cratio_med=$(med "$cratio_all")
sv_med=$(med "$sv_all") sratio_med=$(med "$sratio_all") csv_med=$(med "$csv_all") csratio_med=$(med "$csratio_all")
echo
echo "## job claim benchmark"
echo
echo "$jobs jobs, all queued (jobs.json $(python3 -c "print('%.2f' % ($jobs_bytes / 1e6))") MB)," \
	"local bare remote; per round $claims claims per contender after 1 warm-up," \
	"one process per claim; median wall time and mean CPU time (user+sys, children included)" \
	"per claim; timer: $timer; $(nproc) CPUs;" \
	"$(git --version); load at the start: $load_start, at the end: $(load)."
[ -n "$cs_note" ] && echo && echo "**coordsync: $cs_note**"
echo
echo "| round | order | coordsync ms | served ms | seed (git CLI) ms | seed / coordsync | seed / served | coordsync CPU ms | served CPU ms (client + daemon) | seed CPU ms | CPU seed / coordsync | CPU seed / served | check |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
echo "| **median** | | **$(msf "$cs_med")** | **$(msf "$sv_med")** | **$(msf "$seed_med")** | **$(x2 "$ratio_med")** | **$(x2 "$sratio_med")** | **$(msf "$ccs_med")** | **$(msf "$csv_med")** | **$(msf "$cseed_med")** | **$(x2 "$cratio_med")** | **$(x2 "$csratio_med")** | |"
echo
echo "| goal | target | measured (median of the per-round ratios) | result |"
echo "|---|---|---:|---|"
if [ -z "$ratio_med" ]; then
	if [ "$cs_present" = 1 ]; then r="FAIL (coordsync error)"; else r=SKIP; fi
elif python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 10 else 1)' "$ratio_med"; then r=PASS
else r=FAIL; fi
echo "| claim vs the seed's git CLI claim, one process | >= 10x faster | $(x2 "$ratio_med") | **$r** |"
if [ -z "$sratio_med" ]; then r=n/a
elif python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 10 else 1)' "$sratio_med"; then r=PASS
else r=FAIL; fi
echo "| claim vs the seed's git CLI claim, served by the clone's daemon | >= 10x faster | $(x2 "$sratio_med") | **$r** |"
echo
[ -n "$keep" ] && log "(repositories and hyperfine JSON kept in $dir)"
exit 0
