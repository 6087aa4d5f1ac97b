#!/usr/bin/env bash
# Retry delays for refused pushes (issue 16, the seed's answer to a high
# conflict rate): coordsync.retry.base and coordsync.retry.cap
# (COORDSYNC_RETRY_BASE, COORDSYNC_RETRY_CAP), in milliseconds or with a
# unit, validated; the defaults are the back-off of before (10 ms, 500 ms).
# A push is refused by stopping build1 after it decided (COORDSYNC_FAULT),
# while build2 moves the branch; the retry waits base/2 + a random part of
# min(cap, base) after the first refusal.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

two_clones
expect_rc 0 cs "${A[@]}" config
grep -q '^coordsync.retry.base  *10  *default' <<<"$OUT" || fail "retry.base default: $OUT"
grep -q '^coordsync.retry.cap  *500  *default' <<<"$OUT" || fail "retry.cap default: $OUT"
git -C "$T/a" config coordsync.retry.base 2s
git -C "$T/a" config coordsync.retry.cap 250ms
expect_rc 0 cs "${A[@]}" config
grep -q '^coordsync.retry.base  *2000 ' <<<"$OUT" && grep -q '^coordsync.retry.cap  *250 ' <<<"$OUT" ||
  fail "2s and 250ms: $OUT"
git -C "$T/a" config --unset coordsync.retry.base
git -C "$T/a" config --unset coordsync.retry.cap
ok "coordsync config shows retry.base and retry.cap (ms; defaults 10 and 500)"

for bad in "retry.base 0" "retry.base 5x" "retry.base 2h" "retry.cap 0ms" "retry.cap -1" "retry.cap 11m" "retry.base 1.5s"; do
  git -C "$T/a" config "coordsync.${bad% *}" "${bad#* }"
  expect_rc 2 cs "${A[@]}" job list
  grep -q "invalid setting coordsync.${bad% *} '${bad#* }'" <<<"$OUT" || fail "$bad: $OUT"
  git -C "$T/a" config --unset "coordsync.${bad% *}"
done
expect_rc 2 env COORDSYNC_RETRY_CAP=soon "$COORDSYNC" "${A[@]}" job list
grep -q "invalid setting coordsync.retry.cap 'soon' (from env COORDSYNC_RETRY_CAP)" <<<"$OUT" || fail "$OUT"
ok "invalid values (0, no unit known, too large, fractions) are refused: exit 2 naming the setting"

# refused N SETTINGS...: build1 adds job aN, stopped after its decision while
# build2 adds one; continued, its push is refused and it retries.  Prints
# the milliseconds from the continue to its end; RETRIES: refused pushes.
refused() {
  local n=$1; shift
  env "$@" COORDSYNC_FAULT=after-decide:stop "$COORDSYNC" "${A[@]}" job add --id "a$n" \
    >"$T/add.out" 2>&1 & local pid=$!
  for _ in $(seq 1 100); do
    [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = T ] && break
    sleep 0.1
  done
  [ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = T ] || fail "not stopped: $(cat "$T/add.out")"
  cs "${B[@]}" job add --id "b$n" >/dev/null
  local t0=${EPOCHREALTIME/./}
  kill -CONT "$pid"
  wait "$pid" || fail "build1's add failed: $(cat "$T/add.out")"
  echo $(( (${EPOCHREALTIME/./} - t0) / 1000 ))
}
ms=$(refused 1 COORDSYNC_RETRY_BASE=2000 COORDSYNC_RETRY_CAP=2s)
[ "$(git --git-dir="$T/r.git" log -1 --format=%s)" = "Job a1 added by build1" ] || fail "a1 not pushed last"
[ "$ms" -ge 1000 ] || fail "a base of 2 s waited only $ms ms after the refused push"
[ "$ms" -lt 15000 ] || fail "a cap of 2 s waited $ms ms"
ok "a refused push waits retry.base/2 + up to retry.cap: ${ms} ms with 2 s / 2 s"

ms=$(refused 2 COORDSYNC_RETRY_BASE=100ms COORDSYNC_RETRY_CAP=100)
[ "$ms" -lt 1000 ] || fail "100 ms / 100 ms waited $ms ms"
ok "a small base and cap retry fast: ${ms} ms"
done_testing
