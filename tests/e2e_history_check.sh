#!/usr/bin/env bash
# Jepsen-style history checker (issue 14): seeded random decisions from
# three clones of a git:// remote behind a stalling loopback proxy, with
# kill -9, stalls, clock steps (faketime; not in a sanitizer build) and one
# rewind accepted by `coordsync accept-history`.  Then the remote's first-parent history
# must show: no overlapping lock holders, strictly increasing fences, each
# job claimed at most once per attempt, every deferred intent that exited
# 0 arrived exactly once.  tests/history_check.py does the work; a failure
# prints the seed.
#   HISTORY_SEED (default 1), HISTORY_SECONDS (default 45: the faulty phase).
# The long run is tests/soak_history.sh --minutes N.
source "$TESTS_DIR/lib.sh"
export TMPDIR="$T"
seed=${HISTORY_SEED:-1}
echo "# history check: seed $seed, ${HISTORY_SECONDS:-45} s of faults"
timeout 400 python3 "$TESTS_DIR/history_check.py" --coordsync "$COORDSYNC" --seed "$seed" \
  --seconds "${HISTORY_SECONDS:-45}" ||
  fail "the history checker found a violation (seed above)"
ok "history check: seed $seed held every check"
done_testing
