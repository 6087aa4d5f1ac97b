#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: build the libFuzzer harnesses with clang (in
# build-fuzz/, -DCOORDSYNC_FUZZ=ON: libFuzzer, ASan and UBSan) and run each
# for SECONDS (default 60) from its seed corpus, tests/fuzz/corpus/NAME/,
# which is read but never written.  Prints, per harness, the executions, the
# inputs the run found and the crashes; exits 1 if any harness crashed (a
# sanitizer report, a failed property, a timeout or running out of memory).
# Crash inputs are kept under $FUZZ_OUT (default $TMPDIR/coordsync-fuzz):
# fix the bug, then copy the input into tests/fuzz/corpus/NAME/ so that the
# replay tests (ctest -R fuzz_replay) run it from then on.
#
# Environment: CC (default clang-14, else clang), FUZZ_BUILD (build-fuzz),
# FUZZ_OUT.
set -euo pipefail
secs=${1:-60}
case $secs in ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
out=${FUZZ_OUT:-${TMPDIR:-/tmp}/coordsync-fuzz}
cc=${CC:-clang-14}
command -v "$cc" >/dev/null || cc=clang

cmake -S "$root" -B "$build" -DCOORDSYNC_FUZZ=ON -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target fuzz_import fuzz_time fuzz_patch fuzz_args fuzz_jira fuzz_jobs >/dev/null
rm -rf "$out"
mkdir -p "$out"

fail=0
for h in import time patch args jira jobs; do
  work=$out/$h
  mkdir -p "$work/found" "$work/crashes"
  case $h in import|jira) maxlen=8192 ;; patch|jobs) maxlen=2048 ;; args) maxlen=1024 ;; *) maxlen=64 ;; esac
  set +e
  TMPDIR=$work "$build/tests/fuzz/fuzz_$h" -max_total_time="$secs" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 -max_len="$maxlen" -artifact_prefix="$work/crashes/" \
    "$work/found" "$root/tests/fuzz/corpus/$h" >"$work/log" 2>&1
  rc=$?
  set -e
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$work/log")
  crashes=$(find "$work/crashes" -type f | wc -l)
  echo "fuzz_$h: ${secs} s, ${execs:-0} executions ($(( ${execs:-0} / (secs > 0 ? secs : 1) ))/s)," \
       "$(find "$work/found" -type f | wc -l) new inputs, $crashes crashes (exit $rc)"
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    fail=1
    grep -E "ERROR|SUMMARY|property failed|runtime error" "$work/log" | head -n 5 | sed 's/^/  /'
    find "$work/crashes" -type f | sed 's/^/  input: /'
    echo "  log: $work/log"
  fi
done
exit $fail
