#!/usr/bin/env bash
# scale.sh: how many heartbeating servers one remote carries (see docs/SCALE.md).
#
#   bench/scale.sh [--servers N] [--step SEC] [--max-steps K] [--transports "local git"]
#                  [--base-rate B] [--compare-x M] [--modes "hb defer-hb status-hb defer"]
#                  [--max-retries R] [--max-latency SEC2] [--fleet-sizes "100 300 1000"]
#                  [--fleet-rounds F] [--keep DIR]
#   bench/scale.sh --servers 10 --step 8 --max-steps 3 --compare-x 2 \
#                  --fleet-sizes "100 300" --fleet-rounds 1              # a quick run
#
# Environment: COORDSYNC (default: <bench>/../build/cli/coordsync, else
# <bench>/../build/coordsync).
# A bare remote holding a fleet of N servers (100; gen_heartbeats.py --init:
# 200 jobs, 100 messages, status and heartbeat files for every server) and N
# coordsync clones (`coordsync init`, not timed), all on this machine.
# 1. Ramp, per transport: the fleet heartbeats (`coordsync heartbeat`, one
#    commit each) at an aggregate rate of B per minute (default N: each
#    server once a minute), then 2B, 4B, ... (K steps, 6), each step SEC
#    seconds (30),
#    time-compressed: the N clones cycle every N / rate seconds, so that the
#    remote sees the commits of rate * 60 servers beating once a minute
#    (bench/fleet.py runs them and counts retries from the remote).  The ramp
#    stops after the first step that does not hold: p99 retries above R (10),
#    p99 latency (end - due) above SEC2 (10), fewer than 90% of the due
#    cycles done, or any error.  Transports: `local` (the bare repository's
#    path; coordsync's own object copy and compare-and-swap, with turns on a
#    flock) and `git` (git:// from a `git daemon` this script starts on
#    127.0.0.1 and stops on exit; receive-pack does the compare-and-swap).
# 2. Modes at M times N per minute (1: the fleet's own rate), local: `hb`
#    (heartbeat, 1 commit), `defer-hb` (heartbeat --defer, then sync: 1 commit), `status-hb` (status
#    set, then heartbeat: 2 commits), `defer` (status set --defer, heartbeat
#    --defer, sync: 1 commit); checks that no intent stays in an outbox.
#    Every clone syncs first (not timed), so that all modes start alike.
# 3. Growth: loose bytes per commit on the remote (local steps), and bytes
#    per commit after `git gc --prune=now` of a copy; per day for the fleet.
# 4. One server in a real fleet of M servers (each M of --fleet-sizes): what
#    the compressed fleet above does not show, since there every clone is
#    only N commits behind.  A remote with M servers, one coordsync clone,
#    then F rounds (2): the other servers' heartbeats of one minute (M
#    commits, written with gen_heartbeats.py and git fast-import, not timed),
#    then one timed `coordsync heartbeat` (fetch M commits, import, history,
#    commit, push), run again when it fails; wall time and peak RSS from
#    /usr/bin/time, the root tree's size and the loose bytes the push added.
# Every step checks that each server's last heartbeat is on main and that
# the commits match the cycles.  Markdown to stdout, progress to stderr.
# Always exits 0: a benchmark is not a test.

set -u
export LC_ALL=C

bench_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$bench_dir/lib.sh"
servers=100
step=30
max_steps=6
transports="local git"
compare_x=1
base_rate=""
modes="hb defer-hb status-hb defer"
max_retries=10
max_latency=10
fleet_sizes="100 300 1000"
fleet_rounds=2
keep=""

while [ $# -gt 0 ]; do
	case $1 in
	--servers) servers=$2; shift 2 ;;
	--step) step=$2; shift 2 ;;
	--max-steps) max_steps=$2; shift 2 ;;
	--transports) transports=$2; shift 2 ;;
	--compare-x) compare_x=$2; shift 2 ;;
	--base-rate) base_rate=$2; shift 2 ;;
	--modes) modes=$2; shift 2 ;;
	--max-retries) max_retries=$2; shift 2 ;;
	--max-latency) max_latency=$2; shift 2 ;;
	--fleet-sizes) fleet_sizes=$2; shift 2 ;;
	--fleet-rounds) fleet_rounds=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage 2 "unknown argument: $1" ;;
	esac
done
base_rate=${base_rate:-$servers}
# shellcheck disable=SC2086 # the list, one value a word
need_positive "$servers" "$step" "$max_steps" "$max_retries" "$max_latency" "$fleet_rounds" "$base_rate" $fleet_sizes
case $compare_x in '' | *[!0-9]*) usage_error "--compare-x: not a number: '$compare_x'" ;; esac
for t in $transports; do
	case $t in local | git) ;; *) usage_error "unknown transport '$t' (local, git)" ;; esac
done
for m in $modes; do
	case $m in hb | defer-hb | status-hb | defer) ;; *) usage_error "unknown mode '$m'" ;; esac
done
find_coordsync

echo
echo "## fleet scale benchmark"
echo
if [ -n "$cs_missing" ]; then
	echo "**coordsync: $cs_missing**"
	exit 0
fi
daemon_pid=""
cleanup() {
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
	fi
	[ -z "$keep" ] && rm -rf "$dir"
}
make_workdir scale
trap cleanup EXIT # in place of make_workdir's: it stops git daemon too
trap 'exit 130' INT TERM
load_start=$(load)
remote=$dir/remote.git
: >"$dir/stderr"

# ---------------------------------------------------------------- the fleet
log "== a remote for $servers servers, and $servers coordsync clones (not timed)"
rm -rf "$remote" "$dir"/c[0-9]*
if ! { git init -q --bare -b main "$remote" &&
	python3 "$bench_dir/gen_heartbeats.py" --servers "$servers" --interval 60 --rounds 0 --init |
	git --git-dir="$remote" fast-import --quiet && git --git-dir="$remote" gc -q; } 2>>"$dir/stderr"; then
	echo "**could not make the remote; see $dir/stderr**"
	exit 0
fi
packed0=$(du -sb "$remote/objects" | cut -f1)
base0=$(git --git-dir="$remote" rev-parse main)
t0=$EPOCHREALTIME
for ((i = 1; i <= servers; i++)); do
	if ! "$COORDSYNC" init "$remote" "$dir/c$i" --server "build$i" >/dev/null 2>>"$dir/stderr"; then
		echo "**coordsync init failed for build$i: $(tail -1 "$dir/stderr")**"
		exit 0
	fi
done
init_s=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$EPOCHREALTIME")
log "   $servers clones in $init_s s"

# use_url URL: point every clone's origin at URL.
use_url() {
	local i
	for ((i = 1; i <= servers; i++)); do
		git -C "$dir/c$i" config remote.origin.url "$1" || return 1
	done
}

# start_daemon: git daemon on 127.0.0.1 serving $dir (receive-pack on);
# its URL -> $git_url.  Waits (bounded) until it answers.
start_daemon() {
	local port i
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	git daemon --reuseaddr --listen=127.0.0.1 --port="$port" --base-path="$dir" --export-all \
		--enable=receive-pack --max-connections=0 --informative-errors "$dir" 2>>"$dir/daemon.err" &
	daemon_pid=$!
	git_url=git://127.0.0.1:$port/remote.git
	for ((i = 0; i < 50; i++)); do
		git ls-remote "$git_url" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# step NAME RATE-PER-MIN MODE: one step of the fleet; its analysis (one JSON
# line) -> $dir/NAME.json, plus the loose objects before and after.
step() {
	local name=$1 per_min=$2 mode=$3 base
	base=$(git --git-dir="$remote" rev-parse main)
	loose "$remote" >"$dir/$name.loose0"
	log "   $name: $mode at $per_min/min for $step s (load $(load))"
	python3 "$bench_dir/fleet.py" run --coordsync "$COORDSYNC" --clones "$dir" --servers "$servers" \
		--rate "$(python3 -c "import sys; print(float(sys.argv[1]) / 60)" "$per_min")" \
		--duration "$step" --mode "$mode" --out "$dir/$name.cycles" 2>>"$dir/stderr" || return 1
	loose "$remote" >"$dir/$name.loose1"
	local extra=()
	case $mode in defer*) extra=(--coordsync "$COORDSYNC" --clones "$dir") ;; esac
	python3 "$bench_dir/fleet.py" analyse --remote "$remote" --cycles "$dir/$name.cycles" \
		--base "$base" --servers "$servers" "${extra[@]}" >"$dir/$name.json" 2>>"$dir/stderr" || return 1
	echo "$per_min" >"$dir/$name.permin"
	log "   $(cat "$dir/$name.json")"
}

# holds NAME: 0 when the step held (see the header), else prints why.
holds() {
	python3 - "$dir/$1.json" "$max_retries" "$max_latency" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
why = []
if r["errors"]:
    why.append("%d errors" % r["errors"])
if r["lost"]:
    why.append("%d heartbeats lost" % r["lost"])
if r["retries_p99"] is not None and r["retries_p99"] > int(sys.argv[2]):
    why.append("p99 retries %d" % r["retries_p99"])
if r["lat_p99"] is not None and r["lat_p99"] > float(sys.argv[3]):
    why.append("p99 latency %.1f s" % r["lat_p99"])
if r["ok"] < 0.9 * r["offered"]:
    why.append("%d of %d due cycles done" % (r["ok"], r["offered"]))
print(", ".join(why))
sys.exit(1 if why else 0)
EOF
}

# ---------------------------------------------------------------- 1. ramp
steps_done=()
for t in $transports; do
	if [ "$t" = git ]; then
		log "== git://: starting git daemon on 127.0.0.1"
		if ! start_daemon || ! use_url "$git_url"; then
			log "   !! git daemon did not answer; see $dir/daemon.err"
			echo "git daemon did not start" >"$dir/git.skipped"
			continue
		fi
	else
		use_url "$remote" || continue
	fi
	log "== ramp over $t"
	for ((k = 0; k < max_steps; k++)); do
		per_min=$((base_rate * (1 << k)))
		name=ramp-$t-$k
		if ! step "$name" "$per_min" hb; then
			log "   !! the step failed; see $dir/stderr"
			break
		fi
		steps_done+=("$name")
		why=$(holds "$name") || { log "   the step did not hold: $why"; echo "$why" >"$dir/$name.why"; break; }
	done
	if [ "$t" = git ]; then
		kill "$daemon_pid" 2>/dev/null
		wait "$daemon_pid" 2>/dev/null
		daemon_pid=""
	fi
done

# ---------------------------------------------------------------- 2. modes
if [ "$compare_x" -gt 0 ] && [ -n "${modes// /}" ]; then
	use_url "$remote"
	# Every clone starts the modes current, whatever the ramps left behind:
	# otherwise the first mode would pay for catching up (not timed).
	log "== syncing the $servers clones (not timed)"
	for ((i = 1; i <= servers; i++)); do echo "$dir/c$i"; done |
		xargs -P 2 -I{} "$COORDSYNC" -C {} sync >/dev/null 2>>"$dir/stderr"
	log "== modes at ${compare_x}x, local"
	for m in $modes; do
		step "mode-$m" $((servers * compare_x)) "$m" && steps_done+=("mode-$m")
	done
fi

# ---------------------------------------------------------------- 3. growth
log "== git gc of a copy of the remote"
rm -rf "$dir/gc.git"
cp -a "$remote" "$dir/gc.git"
# --prune=now: only what main reaches (refused pushes leave unreachable objects)
git --git-dir="$dir/gc.git" gc -q --prune=now 2>>"$dir/stderr"
packed1=$(du -sb "$dir/gc.git/objects" | cut -f1)
commits_all=$(git --git-dir="$remote" rev-list --count "$base0..main")
rm -rf "$dir/gc.git"

# ---------------------------------------------------------------- 4. fleet size
# attempt FILE CMD...: run CMD under /usr/bin/time; "exit seconds KiB" and
# the last line of its stderr -> FILE.
attempt() {
	local f=$1 rc
	shift
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%e %M' -o "$f.time" "$@" >/dev/null 2>"$f.err"
		rc=$?
		echo "$rc $(tail -1 "$f.time")" >"$f"
	else
		local t0=$EPOCHREALTIME
		"$@" >/dev/null 2>"$f.err"
		rc=$?
		echo "$rc $(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$EPOCHREALTIME") -" >"$f"
	fi
	return $rc
}
fleet_done=()
for m in $fleet_sizes; do
	fd=$dir/fleet$m
	rm -rf "$fd"
	mkdir -p "$fd"
	log "== one server in a fleet of $m (load $(load))"
	if ! { git init -q --bare -b main "$fd/remote.git" &&
		python3 "$bench_dir/gen_heartbeats.py" --servers "$m" --interval 60 --rounds 0 --init |
		git --git-dir="$fd/remote.git" fast-import --quiet &&
		"$COORDSYNC" init "$fd/remote.git" "$fd/c1" --server build1 >/dev/null; } 2>>"$dir/stderr"; then
		log "   !! could not make the fleet of $m"
		continue
	fi
	for ((r = 1; r <= fleet_rounds; r++)); do
		head=$(git --git-dir="$fd/remote.git" rev-parse main)
		# one minute of the others (and build1's own slot, as the model writes it)
		python3 "$bench_dir/gen_heartbeats.py" --servers "$m" --interval 60 --rounds 1 \
			--first-round $((1000 + r)) --parent "$head" |
			git --git-dir="$fd/remote.git" fast-import --quiet 2>>"$dir/stderr" || break
		behind=$(git --git-dir="$fd/remote.git" rev-list --count "$head..main")
		l0=$(loose "$fd/remote.git" | cut -d' ' -f2)
		if ! attempt "$fd/r$r.a1" "$COORDSYNC" -C "$fd/c1" heartbeat; then
			attempt "$fd/r$r.a2" "$COORDSYNC" -C "$fd/c1" heartbeat
		fi
		l1=$(loose "$fd/remote.git" | cut -d' ' -f2)
		echo "$behind $((l1 - l0)) $(git --git-dir="$fd/remote.git" cat-file -s 'main^{tree}')" >"$fd/r$r.info"
		log "   round $r: $behind commits behind; $(cat "$fd/r$r.a1")$([ -f "$fd/r$r.a2" ] && echo "; again: $(cat "$fd/r$r.a2")")"
	done
	fleet_done+=("$m")
done
load_end=$(load)

# ---------------------------------------------------------------- report
echo "$servers servers (coordsync clones) on one bare remote, all on this machine; steps of" \
	"$step s; $(nproc) CPUs; load at the start: $load_start, at the end: $load_end;" \
	"$(git --version); libgit2 $(pkg-config --modversion libgit2 2>/dev/null)." \
	"Making the $servers clones (\`coordsync init\`) took $init_s s."
echo "Reproduce: \`bench/scale.sh --servers $servers --step $step --max-steps $max_steps" \
	"--transports \"$transports\" --base-rate $base_rate --compare-x $compare_x --modes \"$modes\"" \
	"--fleet-sizes \"$fleet_sizes\" --fleet-rounds $fleet_rounds\`."
echo
python3 - "$dir" "$servers" "$packed0" "$packed1" "$commits_all" "$fleet_rounds" \
	"${fleet_done[*]:-}" "${steps_done[@]}" <<'EOF'
import json, os, sys
d, N, packed0, packed1, commits_all = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5])
fleet_rounds, fleets, names = int(sys.argv[6]), sys.argv[7].split(), sys.argv[8:]

def load(n):
    r = json.load(open(os.path.join(d, n + ".json")))
    r["per_min"] = int(open(os.path.join(d, n + ".permin")).read())
    try:
        r["why"] = open(os.path.join(d, n + ".why")).read().strip()
    except OSError:
        r["why"] = ""
    l0 = open(os.path.join(d, n + ".loose0")).read().split()
    l1 = open(os.path.join(d, n + ".loose1")).read().split()
    r["loose"] = [int(b) - int(a) for a, b in zip(l0, l1)]
    return r

def f(x, p=1):
    return "n/a" if x is None else "%.*f" % (p, x)

def check(r):
    lo = r["commits_expected"] - r["same_second"]
    bad = []
    if not lo <= r["commits"] <= r["commits_expected"]:
        bad.append("%d commits for %d..%d expected" % (r["commits"], lo, r["commits_expected"]))
    if r["lost"]:
        bad.append("%d servers' last heartbeat not on main" % r["lost"])
    if r.get("stuck"):
        bad.append("%d intents left in outboxes" % r["stuck"])
    if bad:
        return "**" + "; ".join(bad) + "**"
    s = "%d commits (%d cycles)" % (r["commits"], r["ok"])
    s += ", every last heartbeat on main"
    if r.get("stuck") == 0:
        s += ", outboxes empty"
    return s

rs = {n: load(n) for n in names}
header = ("| step | offered /min (= servers at 1/min) | per server every s | due | done | late | skipped "
          "| errors | commits/s | latency p50 / p99 s | service p50 / p99 s | retries p50 / p99 / max "
          "| CPU ms per cycle | verdict | check |")
limits = {}
for t in ("local", "git"):
    ramp = [n for n in names if n.startswith("ramp-%s-" % t)]
    if not ramp:
        if os.path.exists(os.path.join(d, t + ".skipped")):
            print("### Ramp over %s: SKIPPED (%s)" % (t, open(os.path.join(d, t + ".skipped")).read().strip()))
            print()
        continue
    print("### Ramp over %s: `coordsync heartbeat`, one commit per cycle" % (
        "a local path" if t == "local" else "git:// (git daemon on 127.0.0.1)"))
    print()
    print(header)
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    best = None
    for n in ramp:
        r = rs[n]
        verdict = "holds" if not r["why"] else "**does not hold: %s**" % r["why"]
        if not r["why"]:
            best = r
        print("| %s | %d | %.1f | %d | %d | %d | %d | %d | %.2f | %s / %s | %s / %s | %s / %s / %s "
              "| %s | %s | %s |" % (
                  n.rsplit("-", 1)[1], r["per_min"], r["period"], r["offered"], r["ok"], r["late"],
                  r["skipped"], r["errors"], r["commit_rate"], f(r["lat_p50"], 2),
                  f(r["lat_p99"], 2), f(r["svc_p50"], 2), f(r["svc_p99"], 2), r["retries_p50"],
                  r["retries_p99"], r["retries_max"], f(r["cpu_ms_per_cycle"], 0), verdict,
                  check(r)))
    print()
    limits[t] = best
    if best:
        print("Highest rate that held over %s: **%d heartbeats a minute** (%.1f/s), the load of %d "
              "servers beating once a minute: %s commits a day." % (
                  t, best["per_min"], best["per_min"] / 60, best["per_min"],
                  "{:,}".format(best["per_min"] * 1440)))
        last = rs[ramp[-1]]
        if last["why"]:
            print("The next step (%d/min) did not: %s." % (last["per_min"], last["why"]))
        else:
            print("The ramp ended before any step failed: the limit is above this.")
    else:
        print("No step held over %s (the first: %s); --base-rate starts lower." % (
            t, rs[ramp[0]]["why"]))
    print()

modes = [n for n in names if n.startswith("mode-")]
if modes:
    cpc = {"hb": 1, "defer-hb": 1, "status-hb": 2, "defer": 1}
    what = {"hb": "`heartbeat`", "defer-hb": "`heartbeat --defer`; `sync`",
            "status-hb": "`status set idle`; `heartbeat`",
            "defer": "`status set idle --defer`; `heartbeat --defer`; `sync`"}
    r0 = rs[modes[0]]
    print("### Direct commits against `--defer` batching (local path, %d cycles/min)" % r0["per_min"])
    print()
    print("Commits a day are for %d servers cycling once a minute (%s cycles a day)." % (
        N, "{:,}".format(N * 1440)))
    print()
    print("| mode | commands per cycle | commits per cycle | commits a day | done / due | errors "
          "| latency p50 / p99 s | retries p50 / p99 / max | CPU ms per cycle | check |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in modes:
        r, m = rs[n], n[5:]
        print("| %s | %s | %d | %s | %d / %d | %d | %s / %s | %s / %s / %s | %s | %s |" % (
            m, what[m], cpc[m], "{:,}".format(cpc[m] * N * 1440), r["ok"], r["offered"],
            r["errors"], f(r["lat_p50"], 2), f(r["lat_p99"], 2), r["retries_p50"],
            r["retries_p99"], r["retries_max"], f(r["cpu_ms_per_cycle"], 0), check(r)))
    print()

loc = [rs[n] for n in names if n.startswith("ramp-local-") or n.startswith("mode-")]
nc = sum(r["commits"] for r in loc)
if commits_all:
    per_packed = (packed1 - packed0) / commits_all
    print("### Growth")
    print()
    rows = []
    if nc:
        objs = sum(r["loose"][0] for r in loc) / nc
        app = sum(r["loose"][1] for r in loc) / nc
        du = sum(r["loose"][2] for r in loc) * 1024 / nc
        rows.append(("loose objects per commit on main (local steps; refused pushes' included)",
                     "%.2f" % objs, None))
        rows.append(("loose bytes per commit, apparent", "{:,.0f}".format(app), app))
        rows.append(("loose bytes per commit on disk (du)", "{:,.0f}".format(du), du))
    rows.append(("bytes per commit after `git gc --prune=now` (all of objects/, %d commits)" % commits_all,
                 "{:,.0f}".format(per_packed), per_packed))
    day = N * 1440
    print("| per commit, %d-server tree | bytes | a day at %d heartbeats/min (%s commits) |" % (
        N, N, "{:,}".format(day)))
    print("|---|---:|---:|")
    for name, v, b in rows:
        print("| %s | %s | %s |" % (name, v, "%.1f MB" % (b * day / 1e6) if b is not None else ""))
    print()

if fleets:
    print("### One server in a fleet of M servers (real size, not compressed)")
    print()
    print("Per round: the other servers' heartbeats of one minute are on the remote (M commits), "
          "then one `coordsync heartbeat` of build1, timed (wall, /usr/bin/time). When it fails it "
          "is run again, and both are shown.")
    print()
    print("| servers M | round | commits behind | heartbeat s | exit | peak RSS MiB | again: s | exit "
          "| root tree bytes | loose bytes the push added | error |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for m in fleets:
        for r in range(1, fleet_rounds + 1):
            p = os.path.join(d, "fleet%s" % m, "r%d" % r)
            if not os.path.exists(p + ".info"):
                continue
            behind, added, tree = open(p + ".info").read().split()
            a1 = open(p + ".a1").read().split()
            a2 = open(p + ".a2").read().split() if os.path.exists(p + ".a2") else None
            err = ""
            if a1[0] != "0":
                e = open(p + ".a1.err").read().strip().splitlines()
                err = "`%s`" % (e[-1] if e else "(nothing on stderr)")
                if e and e[-1].strip() == "coordsync:":
                    err += " (an empty message)"
            rss = "%.0f" % (int(a1[2]) / 1024) if len(a1) > 2 and a1[2].isdigit() else "n/a"
            print("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                m, r, behind, a1[1], a1[0], rss, a2[1] if a2 else "", a2[0] if a2 else "",
                "{:,}".format(int(tree)), "{:,}".format(int(added)), err))
    print()
EOF
[ -s "$dir/stderr" ] && { log "(first lines of stderr:)"; head -5 "$dir/stderr" >&2; }
[ -n "$keep" ] && log "(remote, clones and step files kept in $dir)"
exit 0
