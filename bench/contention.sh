#!/usr/bin/env bash
# contention.sh: claims per second with S servers on one local remote (see README.md).
#
#   bench/contention.sh [--jobs N] [--servers "1 2 4 8 16"] [--runs R] [--served]
#                       [--keep DIR]
#
# Environment: COORDSYNC (default: <bench>/../build/cli/coordsync, else
# <bench>/../build/coordsync).
# For each of R runs (3) and each S in turn: a fresh bare remote with N jobs
# (400), all queued; S coordsync clones (build1..buildS, not timed); then S workers
# started together, each running `coordsync -C CLONE job claim` in a loop
# until it exits 3 (nothing queued), at most 2N+10 times.  claims/s = jobs
# claimed / wall time from the start of the first worker to the end of the
# last; CPU ms/claim = user+sys of all the workers' processes / jobs.  Then
# checks the remote: every job claimed exactly once (one claim commit each on
# main, jobs.json agrees with what each worker printed).  Retries per claim
# (p50, p99, max) are the "retries" that `--json job claim` prints, checked
# against a count from the remote's object database, which is used alone
# when the binary does not print them (see README.md).  Fairness: the jobs
# each server holds on the remote afterwards, min / median / max over the S
# servers and Jain's index (sum x)^2 / (S * sum x^2): 1 when every server
# claimed as many, 1/S when one claimed all.  Prints markdown tables with
# the goal.  --served: each clone also runs `coordsync daemon`, started
# after its init and stopped after the run, which serves the workers'
# claims (cli/serve.c); CPU ms/claim then includes the daemons' CPU time.
# Always exits 0: a benchmark is not a test.

set -u
export LC_ALL=C

bench_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$bench_dir/lib.sh"
jobs=400
servers_list="1 2 4 8 16"
runs=3
keep=""
served=0

while [ $# -gt 0 ]; do
	case $1 in
	--jobs) jobs=$2; shift 2 ;;
	--servers) servers_list=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	--served) served=1; shift ;;
	-h | --help) usage 0 ;;
	*) usage 2 "unknown argument: $1" ;;
	esac
done
maxs=0
# shellcheck disable=SC2086 # the list, one value a word
need_positive "$jobs" "$runs" $servers_list
for s in $servers_list; do ((s > maxs)) && maxs=$s; done
((maxs > 0)) || usage_error "--servers is empty"
find_coordsync

if [ -n "$cs_missing" ]; then
	echo
	echo "## job claim contention benchmark"
	echo
	echo "**coordsync: $cs_missing**"
	exit 0
fi
make_workdir contention

# ---------------------------------------------------------------- the repo
if ! gen_repo "$dir/gen" "$dir/gen.params" "jobs=$jobs servers=$maxs all-queued" \
	--jobs "$jobs" --messages 0 --servers "$maxs" --all-queued; then
	log "contention.sh: gen_repo.py failed; nothing measured"
	exit 0
fi

# worker I CLONE LOG: claim until exit 3, at most 2N+10 times.  One line per
# invocation: exit status, start and end ($EPOCHREALTIME), the job id and the
# "retries" that `--json job claim` reports ("-" when missing).
worker() {
	local i=$1 clone=$2 log=$3 n rc t0 out id re
	for ((n = 0; n < 2 * jobs + 10; n++)); do
		t0=$EPOCHREALTIME
		if [ "$served" = 1 ]; then
			out=$("$COORDSYNC" -C "$clone" --json job claim 2>>"$log.err")
		else
			out=$(COORDSYNC_NO_DAEMON=1 "$COORDSYNC" -C "$clone" --json job claim 2>>"$log.err")
		fi
		rc=$?
		id=- re=-
		[[ $out =~ \"id\":\ *\"([^\"]+)\" ]] && id=${BASH_REMATCH[1]}
		[[ $out =~ \"retries\":\ *([0-9]+) ]] && re=${BASH_REMATCH[1]}
		echo "$rc $t0 $EPOCHREALTIME $id $re" >>"$log"
		[ $rc = 3 ] && break
	done
}

# analyse RUNDIR S: checks and statistics of one run, as one line of
# key=value pairs (python; see README.md for how retries are counted).
analyse() {
	python3 - "$1" "$2" "$jobs" <<'EOF'
import bisect, json, os, subprocess, sys
rd, S, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
remote = os.path.join(rd, "remote.git")

def git(*a, inp=None):
    return subprocess.run(["git", "--git-dir", remote, *a], input=inp, capture_output=True,
                          text=True, check=True).stdout

# Worker logs: "rc t0 t1 id retries".  gave_up[server][i]: claims that
# exited 1 between that server's claim i-1 and claim i (i = its number of
# claims for those after its last one); reported[server]: the retries each
# of its claims printed, in order (None when the binary does not print them).
t_first, t_last, printed, errors, empty = None, None, {}, 0, 0
dup_printed, gave_up, reported = 0, {}, {}
for i in range(1, S + 1):
    server = "build%d" % i
    g = gave_up[server] = [0]
    rep = reported[server] = []
    for line in open(os.path.join(rd, "claims.%s" % server)):
        f = line.split()
        rc, t0, t1 = int(f[0]), float(f[1]), float(f[2])
        t_first = t0 if t_first is None else min(t_first, t0)
        t_last = t1 if t_last is None else max(t_last, t1)
        if rc == 0:
            if f[3] in printed:
                dup_printed += 1
            printed[f[3]] = server
            g.append(0)
            rep.append(int(f[4]) if len(f) > 4 and f[4].isdigit() else None)
        elif rc == 3:
            empty += 1
        else:
            errors += 1
            g[-1] += 1
# A claim that gives up has made max_attempts refused pushes (30, in the
# message "gave up after 30 attempts").
max_attempts, gave_up_msgs = 30, 0
for i in range(1, S + 1):
    for line in open(os.path.join(rd, "claims.build%d.err" % i)):
        if "gave up after" in line:
            gave_up_msgs += 1
            max_attempts = int(line.split("gave up after")[1].split()[0])

problems = []
jobs = json.loads(git("show", "main:coordination/jobs.json"))["jobs"]
ids = [j["id"] for j in jobs]
if len(ids) != N or len(set(ids)) != N:
    problems.append("jobs.json has %d records, %d distinct ids" % (len(ids), len(set(ids))))
not_running = [j["id"] for j in jobs if j.get("status") != "running" or not j.get("assigned_to")]
if not_running:
    problems.append("%d jobs not claimed" % len(not_running))
if dup_printed:
    problems.append("%d jobs printed by two claims" % dup_printed)
mismatch = [j["id"] for j in jobs if printed.get(j["id"]) != j.get("assigned_to")]
if mismatch:
    problems.append("%d jobs whose holder on the remote is not the worker that printed them"
                    % len(mismatch))

# Main's history: one claim commit per job.
chain = git("rev-list", "--reverse", "--first-parent", "main").split()
pos = {c: k for k, c in enumerate(chain)}
subjects = git("log", "--format=%H %an %s", "main").splitlines()
per_job, succ = {}, {}
for line in subjects:
    h, author, subj = line.split(" ", 2)
    w = subj.split()
    if len(w) == 5 and w[0] == "Job" and w[2:4] == ["claimed", "by"]:
        per_job[w[1]] = per_job.get(w[1], 0) + 1
        succ.setdefault(w[4], []).append(pos[h])
twice = sum(1 for v in per_job.values() if v != 1)
if len(per_job) != N or twice:
    problems.append("main has claim commits for %d jobs, %d of them more than once"
                    % (len(per_job), twice))

# Retries: a refused push to a local remote leaves its commit in the remote's
# object database (objects are copied before the compare-and-swap of the ref).
# Each such commit belongs to the claim of the same server whose successful
# commit is the first one after the refused commit's parent on main, or to a
# claim of that server which gave up in between (max_attempts refused
# pushes each, taken off), or, after the server's last claim, to claims that
# gave up or found the queue empty while retrying ("unattributed").
reach = set(git("rev-list", "--all").split())
allc = [l.split()[0] for l in git("cat-file", "--batch-all-objects",
                                   "--batch-check=%(objectname) %(objecttype)").splitlines()
        if l.endswith(" commit")]
orphans = [c for c in allc if c not in reach]
for v in succ.values():
    v.sort()
retries = {}            # (server, index of its claim) -> refused pushes
unattributed = 0
if orphans:
    out = git("cat-file", "--batch", inp="\n".join(orphans) + "\n")
    k = 0
    while k < len(out):
        hdr_end = out.index("\n", k)
        oid, typ, size = out[k:hdr_end].split()
        body = out[hdr_end + 1:hdr_end + 1 + int(size)]  # commit text is ASCII here
        k = hdr_end + 1 + int(size) + 1
        parent = author = None
        for l in body.split("\n"):
            if not l:
                break
            if l.startswith("parent "):
                parent = l[7:]
            elif l.startswith("author "):
                author = l[7:].split(" <")[0]
        s = succ.get(author, [])
        p = pos.get(parent)
        idx = bisect.bisect_right(s, p) if p is not None else len(s)
        if idx < len(s):
            retries[(author, idx)] = retries.get((author, idx), 0) + 1
        else:
            unattributed += 1
# Use what coordsync printed when every claim printed it; count how many
# claims the object database agrees with, either way.
derived, printed_retries, odd, agree = [], [], 0, 0
for srv, v in succ.items():
    g = gave_up.get(srv, [])
    rep = reported.get(srv, [])
    for i in range(len(v)):
        n = retries.get((srv, i), 0) - max_attempts * (g[i] if i < len(g) else 0)
        if n < 0 or n >= max_attempts:
            odd += 1
        derived.append(n)
        r = rep[i] if i < len(rep) else None
        printed_retries.append(r)
        agree += r == n
if derived and None not in printed_retries:
    per_claim, source = sorted(printed_retries), "printed"
else:
    per_claim, source, agree = sorted(derived), "odb", "n/a"
if errors != gave_up_msgs:
    problems.append("%d claims exited 1, %d of them gave up after retrying"
                    % (errors, gave_up_msgs))
if odd and source == "odb":
    problems.append("retry count out of range for %d claims" % odd)

def pct(v, q):          # nearest rank
    if not v:
        return "n/a"
    return v[max(0, min(len(v) - 1, -(-len(v) * q // 100) - 1))]

# Fairness: the jobs each server holds on the remote, every server counted.
held = sorted(sum(1 for j in jobs if j.get("assigned_to") == "build%d" % i) for i in range(1, S + 1))
sq = sum(x * x for x in held)
jain = sum(held) ** 2 / (S * sq) if sq else 0
held_med = held[S // 2] if S % 2 else (held[S // 2 - 1] + held[S // 2]) / 2

wall = (t_last - t_first) if t_first is not None else 0
claimed = sum(1 for j in jobs if j.get("status") == "running")
print("wall=%.3f claimed=%d rate=%.2f errors=%d p50=%s p99=%s max=%s mean=%.2f source=%s "
      "agree=%s/%d refused=%d unattributed=%d fmin=%d fmed=%g fmax=%d jain=%.3f ok=%s "
      "problems=%s" % (
          wall, claimed, claimed / wall if wall else 0, errors, pct(per_claim, 50),
          pct(per_claim, 99), per_claim[-1] if per_claim else "n/a",
          sum(per_claim) / len(per_claim) if per_claim else 0, source, agree, len(derived),
          len(orphans), unattributed, held[0], held_med, held[-1], jain,
          "yes" if not problems else "NO",
          json.dumps("; ".join(problems)).replace(" ", "_")))
EOF
}

kv() { # kv LINE KEY -> value
	local w
	for w in $1; do
		case $w in "$2="*) echo "${w#*=}"; return ;; esac
	done
}

# ---------------------------------------------------------------- runs
# Runs outer, servers inner: a load that drifts hits every S alike.
rows=()
declare -A rates cpus jains
load_start=$(load)
for ((r = 1; r <= runs; r++)); do
	for s in $servers_list; do
		rd=$dir/s$s-run$r
		rm -rf "$rd"
		mkdir -p "$rd"
		log "== $s server(s), run $r/$runs: fresh remote and clones (not timed)"
		cp -a "$dir/gen/remote.git" "$rd/remote.git"
		ok=1
		for ((i = 1; i <= s; i++)); do
			if ! "$COORDSYNC" init "$rd/remote.git" "$rd/c$i" --server "build$i" >/dev/null 2>"$rd/init.err"; then
				log "   !! coordsync init failed: $(cat "$rd/init.err")"
				ok=0
				break
			fi
		done
		if [ $ok = 0 ]; then
			rows+=("$s $r | $s | $r | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | init failed |")
			continue
		fi
		dpids=()
		if [ "$served" = 1 ]; then
			for ((i = 1; i <= s; i++)); do
				daemon_start "$rd/c$i" "$rd/daemon$i.err" || log "   !! daemon $i did not come up"
				dpids+=("$dpid")
			done
			dcpu0=$(proc_cpu "${dpids[@]}")
		fi
		load=$(cut -d' ' -f1 /proc/loadavg)
		log "   $s worker(s) claiming $jobs jobs (load $load)"
		pids=() cpu0="" cpu1=""
		cpu_now cpu0
		for ((i = 1; i <= s; i++)); do
			worker "$i" "$rd/c$i" "$rd/claims.build$i" &
			pids+=($!)
		done
		wait "${pids[@]}"
		cpu_now cpu1
		if [ "$served" = 1 ]; then
			# the daemons' CPU over the run joins the workers'
			cpu1=$(python3 -c 'import sys; a, b, c = map(float, sys.argv[1:]); print(a + c - b)' \
				"$cpu1" "$dcpu0" "$(proc_cpu "${dpids[@]}")")
			kill -TERM "${dpids[@]}"
			wait "${dpids[@]}"
			log "   daemons: $(cat "$rd"/daemon*.err | sed -n 's/.*cycles\{0,1\}, \([0-9]*\) commands\{0,1\} served.*/\1/p' | awk '{ n += $1 } END { print n + 0 }') commands served"
		fi
		line=$(analyse "$rd" "$s") || line=""
		if [ -z "$line" ]; then
			log "   !! analysis failed; see $rd"
			rows+=("$s $r | $s | $r | $load | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a | analysis failed |")
			continue
		fi
		log "   $line"
		rate=$(kv "$line" rate)
		okv=$(kv "$line" ok)
		prob=$(kv "$line" problems | tr _ ' ' | tr -d '"')
		[ "$okv" = yes ] && check="each job once" || check="**$prob**"
		src=$(kv "$line" source)
		[ "$src" = printed ] && src="printed; odb agrees $(kv "$line" agree)"
		rates[$s]+=" $rate"
		cpu_ms=$(python3 -c 'import sys; a, b, n = map(float, sys.argv[1:]); print("%.0f" % ((b - a) * 1000 / n) if n else "n/a")' \
			"$cpu0" "$cpu1" "$(kv "$line" claimed)")
		cpus[$s]+=" $cpu_ms"
		jains[$s]+=" $(kv "$line" jain)"
		rows+=("$s $r | $s | $r | $load | $(kv "$line" claimed) | $(kv "$line" wall) | $rate | $cpu_ms | $(kv "$line" errors) | $(kv "$line" p50) | $(kv "$line" p99) | $(kv "$line" max) | $(kv "$line" fmin) / $(kv "$line" fmed) / $(kv "$line" fmax) | $(kv "$line" jain) | $src | $check |")
		[ -z "$keep" ] && rm -rf "$rd"
	done
done

# ---------------------------------------------------------------- report
echo
echo "## job claim contention benchmark"
echo
if [ "$served" = 1 ]; then how="one process per claim, served by the clone's \`coordsync daemon\`; CPU includes the daemons'"
else how="one process per claim"; fi
echo "$jobs jobs, all queued, one local bare remote; S servers = S coordsync clones," \
	"each claiming in a loop ($how) until nothing is queued; $runs runs per S;" \
	"$(nproc) CPUs; load at the start: $load_start, at the end: $(load)." \
	"Retries: refused pushes per successful claim, as \`--json job claim\` printed them" \
	"(printed) or counted from the remote's object database (odb); see README.md." \
	"Claims per server: the jobs each server holds on the remote afterwards (min / median / max" \
	"over the S servers); Jain's fairness index (sum x)^2 / (S sum x^2) is 1 when all claimed" \
	"as many and 1/S when one server claimed everything."
echo
echo "Reproduce: \`bench/contention.sh --jobs $jobs --servers \"$servers_list\" --runs $runs$([ "$served" = 1 ] && echo " --served")\`."
echo
echo "| servers | run | load | claimed | wall s | claims/s | CPU ms/claim | errors | retries p50 | retries p99 | retries max | claims per server min / med / max | Jain's index | retries from | check |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
printf '%s\n' "${rows[@]}" | sort -n -k1,1 -k2,2 | sed 's/^[0-9]* [0-9]* //'
echo
echo "| servers | median claims/s | median CPU ms/claim | median Jain's index |"
echo "|---:|---:|---:|---:|"
for s in $servers_list; do
	echo "| $s | $(echo "${rates[$s]:-}" | median_of 2) | $(echo "${cpus[$s]:-}" | median_of 2 | sed 's/\.[0-9]*$//') | $(echo "${jains[$s]:-}" | median_of 2) |"
done
echo
m8=$(echo "${rates[8]:-}" | median_of 2)
if [ -z "$m8" ]; then r=SKIP
elif python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 20 else 1)' "$m8"; then r=PASS
else r=FAIL; fi
echo "| goal | target | measured | result |"
echo "|---|---|---:|---|"
echo "| claims/s with 8 servers, local remote$([ "$served" = 1 ] && echo ", served") | >= 20 | ${m8:-n/a} | **$r** |"
echo
[ -n "$keep" ] && log "(remotes, clones and worker logs kept in $dir)"
exit 0
