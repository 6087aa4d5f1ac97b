#!/usr/bin/env bash
# Reports read history: throughput, durations and overview count the jobs
# that `compact` moved into coordination/archive/, exactly once, and so
# does a mirror rebuilt from the remote's history.
. "$TESTS_DIR/lib.sh"
two_clones

# reports CLONE: the three reports as CSV (overview without last_import,
# the time of the last import, which any sync moves).
reports() {
  local r
  for r in throughput durations overview; do
    echo "== $r"
    cs -C "$1" report "$r" --format csv
  done | sed -E '/^servers,/,$ s/,[^,]*$//'
}

for i in 1 2 3 4 5 6; do cs "${A[@]}" job add --id "j$i" --set max_attempts=1 >/dev/null; done
for i in 1 2 3 4; do
  id=$(cs "${A[@]}" job claim)
  if [ "$i" = 3 ]; then cs "${A[@]}" job fail "$id" --error boom; else cs "${A[@]}" job done "$id"; fi
done
id=$(cs "${B[@]}" job claim)
cs "${B[@]}" job done "$id"
cs "${A[@]}" job claim >/dev/null   # j6: running, never archived
cs "${A[@]}" sync >/dev/null
reports "$T/a" >"$T/before"
grep -qx '.*,build1,4,3,1,.*' "$T/before" || fail "throughput before compact: $(cat "$T/before")"
grep -qx '.*,build2,1,1,0,.*' "$T/before" || fail "throughput before compact: $(cat "$T/before")"
grep -q '^2,2,0,0,,1,0,4,1,' <<<"$(sed -n '/^servers,/,$p' "$T/before" | sed 1d)" ||
  fail "overview before compact: $(cat "$T/before")"
ok "the reports count 5 finished jobs (4 done, 1 failed) and 1 running"

sleep 1   # compact archives what finished before now - 0 days
expect_rc 0 cs "${A[@]}" compact --older-than 0
[ "$OUT" = "archived 5 job(s) and 0 message(s)" ] || fail "compact: $OUT"
remote_json coordination/jobs.json | python3 -c '
import json,sys; j=json.load(sys.stdin)["jobs"]; assert [x["id"] for x in j] == ["j6"], j' ||
  fail "compact left finished jobs in jobs.json"
reports "$T/a" >"$T/after"
diff "$T/before" "$T/after" >&2 || fail "the reports changed with compact"
ok "after compact the reports give the same numbers (archived jobs counted once)"

cs "${B[@]}" sync >/dev/null
reports "$T/b" >"$T/other"
diff "$T/before" "$T/other" >&2 || fail "another server's reports differ after compact"
cs "${B[@]}" rebuild >/dev/null
reports "$T/b" >"$T/rebuilt"
diff "$T/before" "$T/rebuilt" >&2 || fail "a rebuilt mirror's reports differ after compact"
ok "another server, after sync and after rebuild, reports the same numbers"

# An id added again after its job was archived is one job, the live one.
cs "${A[@]}" job add --id j1 >/dev/null
cs "${A[@]}" job claim >/dev/null
cs "${A[@]}" job done j1
n=$(cs -C "$T/a" --json report overview | python3 -c 'import json,sys; r=json.load(sys.stdin); r=r[0] if isinstance(r, list) else r; print(r["done_24h"])')
[ "$n" = 4 ] || fail "j1 done again: done_24h is $n, expected 4 (not 5)"
ok "a job id added again after compact counts once"
done_testing
