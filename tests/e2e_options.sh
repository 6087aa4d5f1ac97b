#!/usr/bin/env bash
# Option lookups by name (cli_str, cli_num, cli_has, cli_multi) name only
# options the command declares: a typo would read as "not given".  First
# statically, over cli/*.c: every name a file looks up is in an option table
# of that file.  Then every command runs with --help and with a typical
# invocation: a lookup of a name the command does not declare aborts with
# "internal error" (cli/main.c), which fails here.
. "$TESTS_DIR/lib.sh"
SRC=$(cd "$TESTS_DIR/.." && pwd)

bad=0
for f in "$SRC"/cli/*.c; do
  for name in $(grep -o 'cli_\(str\|num\|has\|multi\)(c, "[^"]*"' "$f" | sed 's/.*"\(.*\)"/\1/' | sort -u); do
    grep -qF "{\"$name\", '" "$f" || { echo "$(basename "$f") looks up '$name' and declares no such option" >&2; bad=1; }
  done
done
[ $bad = 0 ] || fail "option names looked up but not declared"
ok "every option name cli/ looks up is declared in its file"

mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
A=(-C "$T/a")
echo log >"$T/x.log"

# run RC-IGNORED COMMAND...: no internal error, no crash, whatever the exit.
run() {
  local rc=0
  timeout 120 "$COORDSYNC" "$@" >"$T/out" 2>"$T/err" || rc=$?
  grep -q "internal error" "$T/err" && fail "$*: $(cat "$T/err")"
  [ $rc -lt 124 ] || fail "$*: exit $rc: $(cat "$T/err")"
  return 0
}

cmds=()
while IFS= read -r line; do
  cmds+=("$line")
done < <(cs --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \(.\{16\}\).*/\1/p' | sed 's/ *$//')
[ ${#cmds[@]} -ge 30 ] || fail "only ${#cmds[@]} commands in --help"
for cmd in "${cmds[@]}"; do
  # shellcheck disable=SC2086
  expect_rc 0 cs $cmd --help
  grep -q "^usage: coordsync \[global options\] $cmd" <<<"$OUT" || fail "$cmd --help: $OUT"
done
ok "every command (${#cmds[@]}) answers --help"

declare -A args=(
  [sync]="" [rebuild]="" [accept-history]="" [query]="SELECT 1" [info]=""
  [schema]="jobs"
  ["lock acquire"]="L --ttl 30 --wait 0" ["lock renew"]="L --ttl 30" ["lock release"]="L"
  ["lock list"]="" ["lock cleanup"]=""
  ["job add"]="--id j1 --priority 2" ["job claim"]="" ["job done"]="j1 --result ok"
  ["job fail"]="j1 --error e" ["job cancel"]="j1" ["job rescue"]="" ["job list"]="--status queued"
  ["msg send"]="all --subject hi --body b" ["msg inbox"]="--all" ["msg read"]="none"
  ["status set"]="idle" [heartbeat]="" [demo]="$T/demo" [health]="" [report]="fleet"
  [run]="" [daemon]="--max-cycles 1 --no-serve" [config]="" [compact]="--older-than 30d"
  ["logs push"]="$T/x.log" ["msg autoreply"]="" ["outbox list"]="" ["outbox retry"]="--all"
  ["outbox drop"]="none" [validate]="--staged"
  ["job show"]="j1" ["logs list"]="--of build1" ["logs get"]="x.log -o $T/got.log"
  ["jira sync"]="--full --page-size 5" ["jira index"]="" ["jira create"]="$T/none.json"
  ["jira verify"]="--status Done X-1" ["jira curate"]="X-1" ["jira backlog"]="X-1"
  ["jira plan"]="P X-1"
)
for cmd in "${cmds[@]}"; do
  if [ "$cmd" = init ]; then
    run --server build9 init "$T/r.git" "$T/n"
    continue
  fi
  [ "${args[$cmd]+set}" ] || fail "no typical invocation here for '$cmd': add one"
  # shellcheck disable=SC2086
  run "${A[@]}" $cmd ${args[$cmd]}
  # shellcheck disable=SC2086
  run "${A[@]}" --json $cmd ${args[$cmd]}
done
ok "every command's typical invocation looks up only options it declares"

# The check itself: a name no command declares stops at once, naming it.
grep -q "does not declare" "$COORDSYNC" || fail "the binary lacks the undeclared-option check"
ok "an undeclared option name is an internal error"
