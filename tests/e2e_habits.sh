#!/usr/bin/env bash
# The habits of git and systemd (issue 17): `coordsync help`, "did you
# mean", usage errors on stderr only, -CDIR, -q, --dry-run, unique id
# prefixes, and durations that mean the same in every command (compact's
# bare number, once days, refused).
. "$TESTS_DIR/lib.sh"
two_clones
head_of() { git --git-dir="$T/r.git" rev-parse HEAD; }
# The records of build1's mirror, for "unchanged".
records() {
  cs "${A[@]}" query "SELECT 'job', id, status, coalesce(assigned_to, '') FROM jobs UNION ALL
    SELECT 'lock', name, coalesce(locked_by, ''), fence FROM locks UNION ALL
    SELECT 'msg', id, coalesce(read, ''), coalesce(read_by, '') FROM messages ORDER BY 1, 2" --format csv
}

# ---- help -------------------------------------------------------------------
expect_rc 0 cs help job claim
[ "$OUT" = "$(cs job claim --help)" ] || fail "help job claim: $OUT"
run_err cs help lock acquire
[ $RC = 0 ] && [ ! -s "$T/err" ] && cmp -s "$T/out" <(cs lock acquire --help) || fail "help lock acquire on stdout"
expect_rc 0 cs help job
grep -q "^  job claim " <<<"$OUT" && grep -q "^  job rescue " <<<"$OUT" || fail "help job: $OUT"
[ "$(cs help)" = "$(cs --help)" ] || fail "help alone is not --help"
expect_rc 0 cs help compact
grep -q "^usage: coordsync \[global options\] compact" <<<"$OUT" || fail "help compact: $OUT"
ok "help [COMMAND...] prints what COMMAND --help does; help GROUP lists the group; help alone is --help"

# ---- did you mean, usage errors on stderr ---------------------------------------
# usage_err RC PATTERN CMD...: exit RC, nothing on stdout, PATTERN on stderr.
usage_err() {
  local want=$1 pat=$2; shift 2
  run_err "$@"
  [ "$RC" = "$want" ] || fail "$*: exit $RC, not $want: $(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "$*: a usage error on stdout: $(cat "$T/out")"
  grep -qE -- "$pat" "$T/err" || fail "$*: no '$pat' in: $(cat "$T/err")"
}
usage_err 2 '^    job$' cs jbo
grep -q "did you mean this?" "$T/err" || fail "jbo: $(cat "$T/err")"
usage_err 2 '^    status' cs statsu
usage_err 2 '^    job claim$' cs job clam
grep -q "^  job rescue " "$T/err" || fail "the group's list goes with the error to stderr"
usage_err 2 '^    --ttl$' cs "${A[@]}" lock acquire L --ttll 5
usage_err 2 '^    --ttl$' cs "${A[@]}" lock acquire L --ttll=5
usage_err 2 '^    --json$' cs --jsno job list
usage_err 2 '^    job$' cs help jbo
usage_err 2 '^    job claim$' cs help job clam
usage_err 2 "unknown command 'zzzzzzzz'" cs zzzzzzzz
grep -q "did you mean" "$T/err" && fail "a suggestion for a word far from every command: $(cat "$T/err")"
ok "a mistyped command, group command or option: exit 2, suggestions on stderr"

usage_err 2 "usage: coordsync" cs
usage_err 2 "unknown command 'job frob'" cs job frob
usage_err 2 "job commands" cs job
usage_err 2 "unknown command 'lock nope'" cs --json lock nope
usage_err 2 "missing argument" cs "${A[@]}" lock acquire
usage_err 2 "unexpected argument" cs "${A[@]}" job list extra
usage_err 2 "needs a value" cs "${A[@]}" lock acquire L --ttl
usage_err 2 "needs a duration" cs "${A[@]}" lock acquire L --ttl 5x
usage_err 2 "needs a whole number" cs "${A[@]}" job add --priority x
usage_err 2 "unknown status" cs "${A[@]}" job list --status nope
usage_err 2 "unknown option '-Z'" cs -Z job list
usage_err 2 "give an intent id or --all" cs "${A[@]}" outbox retry
usage_err 2 "unknown format" cs "${A[@]}" query "SELECT 1" --format nope
usage_err 3 "unknown option" cs "${A[@]}" health --bogus
usage_err 2 "needs a unit" cs "${A[@]}" compact --older-than 30
ok "usage errors of every kind go to stderr only (stdout empty), also a group listed after an unknown command"

# ---- -CDIR, -C DIR -C DIR -------------------------------------------------------
expect_rc 0 cs -C"$T/a" info
grep -q "^server  *build1" <<<"$OUT" || fail "-CDIR: $OUT"
expect_rc 0 cs -C "$T" -C a info
grep -q "^server  *build1" <<<"$OUT" || fail "-C T -C a: $OUT"
expect_rc 0 cs -C"$T" -Cb info
grep -q "^server  *build2" <<<"$OUT" || fail "-CT -Cb: $OUT"
expect_rc 0 cs -C /nonexistent -C "$T/a" info
grep -q "^server  *build1" <<<"$OUT" || fail "an absolute -C replaces: $OUT"
ok "-CDIR works as -C DIR; a relative -C after another is relative to it, as git's"

# ---- -q ---------------------------------------------------------------------------
run_err cs -q "${A[@]}" sync
[ $RC = 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "sync -q: $RC $(cat "$T/out" "$T/err")"
run_err cs "${A[@]}" lock cleanup -q
[ $RC = 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "lock cleanup -q: $(cat "$T/out" "$T/err")"
run_err cs "${A[@]}" --quiet job rescue
[ $RC = 0 ] && [ ! -s "$T/out" ] || fail "job rescue --quiet: $(cat "$T/out")"
run_err cs -q "${A[@]}" job add --id q1
[ $RC = 0 ] && [ "$(cat "$T/out")" = q1 ] && [ ! -s "$T/err" ] || fail "job add -q prints the id: $(cat "$T/out")"
run_err cs -q "${A[@]}" lock acquire qlock
[ $RC = 0 ] && [ "$(cat "$T/out")" = 1 ] || fail "lock acquire -q prints the fence: $(cat "$T/out")"
run_err cs -q --json "${A[@]}" lock cleanup
[ "$(cat "$T/out")" = '{"released": 0}' ] || fail "-q --json still prints the JSON: $(cat "$T/out")"
run_err cs -q "${A[@]}" job done nosuch
[ $RC = 1 ] || [ $RC = 3 ] || fail "job done nosuch: exit $RC"
grep -q "nosuch" "$T/err" || fail "-q keeps the error: $(cat "$T/err")"
run_err cs -q "${A[@]}" run
[ $RC = 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "run -q logs: $(cat "$T/err")"
expect_rc 0 cs --help
grep -q -- "--quiet" <<<"$OUT" && grep -q "is still printed" <<<"$OUT" || fail "--help says what -q keeps"
ok "-q: no report and no notices, errors kept; the id, the fence and JSON still printed"

# ---- unique id prefixes -----------------------------------------------------------
for id in abcd1234 abcd5678 xyzw0001 wxyz wxyz9; do cs "${A[@]}" job add --id "$id" >/dev/null; done
expect_rc 0 cs "${A[@]}" job cancel xyzw
expect_rc 0 cs "${A[@]}" query "SELECT status FROM jobs WHERE id='xyzw0001'" --format csv
[ "$(tail -1 <<<"$OUT")" = cancelled ] || fail "prefix xyzw: $OUT"
git --git-dir="$T/r.git" show HEAD:coordination/jobs.json | python3 -c '
import json, sys; j = {x["id"]: x for x in json.load(sys.stdin)["jobs"]}
assert j["xyzw0001"]["status"] == "cancelled", j["xyzw0001"]' || fail "the remote's record"
expect_rc 0 cs "${A[@]}" --json job show xyzw
python3 -c 'import json, sys; assert json.loads(sys.argv[1])["id"] == "xyzw0001"' "$OUT" || fail "job show xyzw: $OUT"
run_err cs "${A[@]}" job show abcd
[ $RC = 2 ] && grep -q "ambiguous" "$T/err" || fail "job show, ambiguous prefix: $RC $(cat "$T/err")"
ok "a unique prefix of 4+ characters names the job (the decision and the remote use the whole id; job show too)"
run_err cs "${A[@]}" job cancel abcd
[ $RC = 2 ] && grep -q "ambiguous" "$T/err" && grep -q abcd1234 "$T/err" && grep -q abcd5678 "$T/err" ||
  fail "ambiguous prefix: $RC $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "ambiguous prefix on stdout"
expect_rc 0 cs "${A[@]}" query "SELECT count(*) FROM jobs WHERE id LIKE 'abcd%' AND status='queued'" --format csv
[ "$(tail -1 <<<"$OUT")" = 2 ] || fail "an ambiguous prefix changed something: $OUT"
ok "an ambiguous prefix: exit 2, naming the candidates, nothing decided"
expect_rc 0 cs "${A[@]}" job cancel wxyz
expect_rc 0 cs "${A[@]}" query "SELECT id || ':' || status FROM jobs WHERE id LIKE 'wxyz%' ORDER BY id" --format csv
[ "$(tail -2 <<<"$OUT" | tr '\n' ' ')" = "wxyz:cancelled wxyz9:queued " ] || fail "exact id first: $OUT"
run_err cs "${A[@]}" job cancel abc
[ $RC != 0 ] && grep -q "no job 'abc'" "$T/err" || fail "a 3-character prefix: $RC $(cat "$T/err")"
run_err cs "${A[@]}" job cancel qqqq
grep -q "no job 'qqqq'" "$T/err" || fail "no match: $(cat "$T/err")"
ok "an exact id wins over a prefix; shorter than 4 characters, or no match: not found as before"
mid=$(cs "${B[@]}" msg send build1 --subject hello)
cs "${A[@]}" sync >/dev/null
expect_rc 0 cs "${A[@]}" msg read "${mid:0:8}"
expect_rc 0 cs "${A[@]}" --json msg inbox
[ "$OUT" = '{"rows": []}' ] || fail "msg read by prefix left it unread: $OUT"
expect_rc 0 cs "${A[@]}" query "SELECT read FROM messages WHERE id='$mid'" --format csv
[ "$(tail -1 <<<"$OUT")" = 1 ] || fail "read flag: $OUT"
ok "msg read takes a unique prefix of the message id"

# ---- --dry-run --------------------------------------------------------------------
# A running job of build2 (rescued with --older-than 0), an expired lock of
# build1 (lock-delay 0), finished jobs of build1 (compacted at 0).
git -C "$T/a" config coordsync.lockdelay 0
for id in abcd1234 abcd5678 wxyz9 q1; do cs "${A[@]}" job cancel "$id" >/dev/null; done
cs "${B[@]}" job add --id run1 >/dev/null
[ "$(cs "${B[@]}" job claim)" = run1 ] || fail "claim run1"
cs "${A[@]}" lock acquire old --ttl 1 >/dev/null
sleep 2
cs "${A[@]}" sync >/dev/null
h0=$(head_of); r0=$(records)
expect_rc 0 cs "${A[@]}" job rescue --older-than 0 --dry-run
grep -qx "would requeue job run1" <<<"$OUT" && grep -q "would rescue 1 job" <<<"$OUT" || fail "rescue -n: $OUT"
expect_rc 0 cs "${A[@]}" lock cleanup -n
grep -qx "would release lock old" <<<"$OUT" || fail "cleanup -n: $OUT"
expect_rc 0 cs "${A[@]}" compact --older-than 0 --dry-run
grep -qx "would archive job xyzw0001" <<<"$OUT" && grep -q "would archive 6 job(s) and 1 message(s)" <<<"$OUT" ||
  fail "compact -n: $OUT"
expect_rc 0 cs "${A[@]}" --json compact -n --older-than 0
python3 -c 'import json, sys; o = json.loads(sys.argv[1]); assert o["dry_run"] and o["jobs"] == 6 and o["messages"] == 1 and len(o["records"]) == 7, o' "$OUT" ||
  fail "compact -n --json: $OUT"
[ "$(head_of)" = "$h0" ] || fail "a dry run pushed"
[ "$(records)" = "$r0" ] || fail "a dry run changed the mirror"
ok "--dry-run/-n of job rescue, lock cleanup and compact print what they would do; the remote and the mirror are unchanged"
expect_rc 0 cs "${A[@]}" job rescue --older-than 0
[ "$OUT" = "rescued 1 job(s)" ] || fail "rescue: $OUT"
expect_rc 0 cs "${A[@]}" lock cleanup
[ "$OUT" = "released 1 expired lock(s)" ] || fail "cleanup: $OUT"
expect_rc 0 cs "${A[@]}" compact --older-than 0
[ "$OUT" = "archived 6 job(s) and 1 message(s)" ] || fail "compact: $OUT"
[ "$(head_of)" != "$h0" ] || fail "nothing pushed without --dry-run"
ok "without --dry-run the same commands do it"

# ---- durations ------------------------------------------------------------------
cs "${A[@]}" job add --id d1 >/dev/null
cs "${A[@]}" job cancel d1 >/dev/null
h0=$(head_of)
usage_err 2 "write '30d'" cs "${A[@]}" compact --older-than 30
[ "$(head_of)" = "$h0" ] || fail "compact --older-than 30 pushed"
expect_rc 0 cs "${A[@]}" compact --older-than 1h
[ "$OUT" = "archived 0 job(s) and 0 message(s)" ] || fail "1h: $OUT"
sleep 2
expect_rc 0 cs "${A[@]}" compact --older-than 1s
[ "$OUT" = "archived 1 job(s) and 0 message(s)" ] || fail "1s: $OUT"
ok "compact --older-than takes units (1h, 1s); a bare 30, once days, is refused with 'write 30d' and archives nothing"
git -C "$T/a" config coordsync.compact.olderthan 30
run_err cs "${A[@]}" config   # config shows every setting, then fails on the invalid one
[ $RC = 2 ] && grep -q "invalid setting coordsync.compact.olderthan '30'.*write 30d" "$T/err" ||
  fail "config with compact.olderthan 30: $RC $(cat "$T/err")"
# Such a value left from before (days) stops the compaction alone: the
# decisions and the run's heartbeat go on, and the run names the setting.
expect_rc 0 cs "${A[@]}" job add --id d1x
sleep 1.1
hb0=$(git --git-dir="$T/r.git" log -1 --format=%H main -- build1/heartbeat.json)
run_err cs "${A[@]}" run
[ $RC = 2 ] && grep -q 'step="compact"' "$T/err" && grep -q "write 30d" "$T/err" ||
  fail "run with compact.olderthan 30: $RC $(cat "$T/err")"
[ "$(git --git-dir="$T/r.git" log -1 --format=%H main -- build1/heartbeat.json)" != "$hb0" ] ||
  fail "run with compact.olderthan 30 pushed no heartbeat"
run_err cs "${A[@]}" compact
[ $RC = 2 ] && grep -q "write 30d" "$T/err" || fail "compact with compact.olderthan 30: $RC $(cat "$T/err")"
expect_rc 0 cs "${A[@]}" job cancel d1x
git -C "$T/a" config coordsync.compact.olderthan 1h30m
expect_rc 0 cs "${A[@]}" --json config
python3 -c 'import json, sys; c = {r["key"]: r for r in json.loads(sys.argv[1])["rows"]}; assert str(c["coordsync.compact.olderthan"]["value"]) in ("5400", "1h30m"), c["coordsync.compact.olderthan"]' "$OUT" ||
  fail "config 1h30m: $OUT"
cs "${A[@]}" job add --id d2 >/dev/null
cs "${A[@]}" job cancel d2 >/dev/null
git -C "$T/a" config coordsync.compact.olderthan 1s
sleep 2
run_err cs "${A[@]}" run
[ $RC = 0 ] && grep -q "archived_jobs=2" "$T/err" || fail "run with compact.olderthan 1s (d2, d1x): $RC $(cat "$T/err")"
git -C "$T/a" config coordsync.compact.olderthan 0
expect_rc 0 cs "${A[@]}" config
ok "coordsync.compact.olderthan is a duration with a unit (1h30m, 1s in run); a bare number other than 0 is refused"
expect_rc 0 cs "${A[@]}" --json lock acquire unit --ttl 1m30s
python3 -c 'import json, sys; o = json.loads(sys.argv[1]); import time, datetime; e = datetime.datetime.fromisoformat(o["expires_at"].replace("Z", "+00:00")).timestamp(); assert 85 <= e - time.time() <= 91, o' "$OUT" ||
  fail "--ttl 1m30s: $OUT"
expect_rc 0 cs "${A[@]}" lock acquire --help
grep -q "30s 15m 2h 7d" <<<"$OUT" || fail "--help of a duration: $OUT"
ok "durations combine units (--ttl 1m30s) and --help says so"

# ---- the same through the daemon that serves the clone --------------------------
start_serving "$T/a" "$T/d.err"
cs "${A[@]}" lock acquire served --ttl 1 >/dev/null
cs "${A[@]}" job add --id srv12345 >/dev/null
sleep 2
h0=$(head_of)
expect_rc 0 cs "${A[@]}" lock cleanup --dry-run
grep -qx "would release lock served" <<<"$OUT" || fail "served cleanup -n: $OUT"
[ "$(head_of)" = "$h0" ] || fail "a served dry run pushed"
expect_rc 0 cs "${A[@]}" job cancel srv1
run_err cs -q "${A[@]}" lock cleanup
[ $RC = 0 ] && [ ! -s "$T/out" ] || fail "served -q: $(cat "$T/out")"
expect_rc 0 cs "${A[@]}" query "SELECT (SELECT status FROM jobs WHERE id='srv12345') || ' ' || (SELECT count(*) FROM locks WHERE name='served' AND locked_by IS NOT NULL)" --format csv
[ "$(tail -1 <<<"$OUT")" = "cancelled 0" ] || fail "served prefix and cleanup: $OUT"
kill -TERM "$dpid"; wait "$dpid" || fail "daemon exit $?"
ok "with the daemon serving the clone: --dry-run pushes nothing, a prefix names the job, -q is quiet"
