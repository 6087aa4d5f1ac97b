#!/usr/bin/env bash
# The message log and the auto-reply log (issue 16; the seed's
# /var/log/build-messages-<server>.log and build-auto-replies-<server>.log):
# - a sync or run writes one line per message received (to this server, or
#   to all from another), once: not again on the next cycle, nor after a
#   rebuild; auto-reply writes one line per reply sent or message marked;
# - remote text is escaped: a line feed in a subject does not start a line;
# - the paths are settings (coordsync.log.messages, .autoreplies, env
#   overrides; relative under .git/coordsync/; off), by default under
#   .git/coordsync/; the logs rotate at coordsync.log.rotate.bytes keeping
#   coordsync.log.rotate.keep old files; bad values exit 2;
# - the first pass takes messages already read as logged; a log that cannot
#   be written is a notice, and the sync still succeeds.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

two_clones
cs "${B[@]}" heartbeat >/dev/null
ML="$T/b/.git/coordsync/build-messages-build2.log"
AL="$T/b/.git/coordsync/build-auto-replies-build2.log"
ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'

w=$(cs "${A[@]}" msg send build2 --type warning --subject 'disk "full"
now' --body 'line1
line2' --set ticket=7)
r=$(cs "${A[@]}" msg send all --type request --subject hello)
cs "${B[@]}" run >/dev/null 2>&1
[ -f "$ML" ] || fail "no message log at $ML: $(ls "$T/b/.git/coordsync")"
[ "$(wc -l <"$ML")" = 2 ] || fail "message log: $(cat "$ML")"
grep -Eqx "$ISO received id=$w from=build1 to=build2 type=warning sent=$ISO subject=\"disk \\\\\"full\\\\\"\\\\nnow\" body=\"line1\\\\nline2\" fields=\\{\"ticket\":7\\}" "$ML" ||
  fail "the warning's line: $(cat "$ML")"
grep -Eqx "$ISO received id=$r from=build1 to=all type=request sent=$ISO subject=\"hello\"" "$ML" ||
  fail "the broadcast's line: $(cat "$ML")"
ok "run logs each message received, one line each, remote text escaped"

[ "$(wc -l <"$AL")" = 2 ] || fail "auto-reply log: $(cat "$AL")"
grep -Eqx "$ISO marked id=$w from=build1 type=warning subject=\"disk \\\\\"full\\\\\"\\\\nnow\"" "$AL" || fail "marked: $(cat "$AL")"
grep -Eqx "$ISO replied id=$r from=build1 type=request subject=\"hello\" reply=[0-9a-f-]{36}" "$AL" || fail "replied: $(cat "$AL")"
ok "the auto-reply log has a line per reply sent and per message marked"

u=$(cs "${A[@]}" msg send build2 --subject $'evil\u202eright\u0085next\ttab')
cs "${B[@]}" sync >/dev/null
grep -Fq "received id=$u from=build1 to=build2 type=info sent=" "$ML" &&
  grep -Fq 'subject="evil\u202Eright\u0085next\ttab"' "$ML" || fail "invisible characters: $(cat -A "$ML")"
[ "$(wc -l <"$ML")" = 3 ] || fail "message log: $(cat "$ML")"
ok "a reordering character, a C1 control and a tab are escaped (\\uXXXX, \\t)"

cs "${B[@]}" run >/dev/null 2>&1
cs "${B[@]}" rebuild >/dev/null
cs "${B[@]}" sync >/dev/null
[ "$(wc -l <"$ML")" = 3 ] && [ "$(wc -l <"$AL")" = 3 ] || fail "logged again: $(cat "$ML" "$AL")"
cs "${A[@]}" sync >/dev/null
grep -Eq "^$ISO received id=[0-9a-f-]{36} from=build2 to=build1 type=info sent=$ISO subject=\"ack\"" \
  "$T/a/.git/coordsync/build-messages-build1.log" || fail "build1's log: $(cat "$T/a/.git/coordsync/build-messages-build1.log")"
ok "each message is logged once: not again by the next run, nor after a rebuild; the sender logs the ack"

m=$(cs "${A[@]}" msg send build2 --subject custom)
COORDSYNC_LOG_MESSAGES="$T/custom.log" "$COORDSYNC" "${B[@]}" sync >/dev/null
grep -q "received id=$m " "$T/custom.log" || fail "env path: $(cat "$T/custom.log" 2>&1)"
! grep -q "id=$m " "$ML" || fail "logged to the default path too"
git -C "$T/b" config coordsync.log.messages rel.log
m=$(cs "${A[@]}" msg send build2 --subject relative)
cs "${B[@]}" sync >/dev/null
grep -q "received id=$m " "$T/b/.git/coordsync/rel.log" || fail "a relative path is not under .git/coordsync/"
git -C "$T/b" config coordsync.log.messages off
m=$(cs "${A[@]}" msg send build2 --subject quiet)
cs "${B[@]}" sync >/dev/null
! grep -rq "id=$m " "$T/b/.git/coordsync/" "$T/custom.log" || fail "logged with the log off"
git -C "$T/b" config --unset coordsync.log.messages
ok "the path is a setting (env, git config, relative under .git/coordsync/, off)"

git -C "$T/b" config coordsync.log.rotate.bytes 1024
git -C "$T/b" config coordsync.log.rotate.keep 2
body=$(printf 'x%.0s' $(seq 1 300))
for i in $(seq 1 9); do
  cs "${A[@]}" msg send build2 --subject "rot$i" --body "$body" >/dev/null
  cs "${B[@]}" sync >/dev/null
done
[ -f "$ML.1" ] && [ -f "$ML.2" ] && [ ! -e "$ML.3" ] || fail "rotation: $(ls "$T/b/.git/coordsync")"
for f in "$ML" "$ML.1" "$ML.2"; do
  [ "$(stat -c %s "$f")" -le 1024 ] || fail "$f is $(stat -c %s "$f") bytes"
done
grep -q 'subject="rot9"' "$ML" || fail "the newest line is not in the live file"
! grep -q 'subject="hello"' "$ML" "$ML.1" "$ML.2" || fail "the oldest lines were kept beyond keep=2"
ok "the logs rotate at log.rotate.bytes and keep log.rotate.keep old files"

for bad in "log.rotate.bytes 10" "log.rotate.bytes 1k" "log.rotate.keep -1" "log.rotate.keep 1001"; do
  git -C "$T/b" config "coordsync.${bad% *}" "${bad#* }"
  expect_rc 2 cs "${B[@]}" sync
  grep -q "invalid setting coordsync.${bad% *} '${bad#* }'" <<<"$OUT" || fail "$bad: $OUT"
  git -C "$T/b" config --unset "coordsync.${bad% *}"
done
ok "bad rotation settings exit 2 naming the setting"

cs "${B[@]}" run >/dev/null 2>&1     # the default rules mark the info messages read
[ "$(cs "${B[@]}" --json msg inbox)" = '{"rows": []}' ] || fail "unread left: $(cs "${B[@]}" msg inbox)"
rm -f "$T/b/.git/coordsync/msglog.db" "$ML"*
n=$(cs "${A[@]}" msg send build2 --subject "new one")
cs "${B[@]}" sync >/dev/null
[ "$(wc -l <"$ML")" = 1 ] && grep -q "id=$n " "$ML" || fail "first pass: $(cat "$ML")"
ok "a first pass logs the unread messages only, not those read before the log existed"

n=$(cs "${A[@]}" msg send build2 --subject "nowhere")
run_err env COORDSYNC_LOG_MESSAGES=/nonexistent/dir/x.log "$COORDSYNC" "${B[@]}" sync
[ "$RC" = 0 ] || fail "a log that cannot be written failed the sync: $RC $(cat "$T/err")"
grep -q "message log: cannot open the log '/nonexistent/dir/x.log'" "$T/err" || fail "no notice: $(cat "$T/err")"
cs "${B[@]}" sync >/dev/null
grep -q "id=$n " "$ML" || fail "the message was not logged once the log could be written"
ok "a log that cannot be written is a notice; the message is logged by the next sync"
done_testing
