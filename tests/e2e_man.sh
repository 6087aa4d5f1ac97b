#!/usr/bin/env bash
# The man pages and the bash completion (cli/gendoc.c, `coordsync --gendoc
# DIR`, which the build runs) against --help: every command and every
# option --help shows is in the command's page (coordsync-WORD(1)) and in
# the completion; every global option in coordsync(1); every setting
# `coordsync config` lists in coordsync(5); man renders every page without a
# warning; and the completion, called as bash calls it, completes a command
# group, a subcommand and an option.  The build's own pages are the ones
# generated here.
. "$TESTS_DIR/lib.sh"
D="$T/doc"
cs --gendoc "$D" || fail "coordsync --gendoc failed"
for f in man1/coordsync.1 man5/coordsync.5 bash-completion/coordsync; do
  [ -s "$D/$f" ] || fail "--gendoc wrote no $f"
done
# the build's copy (build/gendoc, what `cmake --install` installs) is this one
B=$(dirname "$(readlink -f "$COORDSYNC")")/gendoc
if [ -d "$B" ]; then
  diff -r -x stamp "$B" "$D" >/dev/null || fail "the build's $B differs from what the binary generates"
fi
ok "--gendoc writes coordsync(1), coordsync(5), the group pages and the completion"

# text PAGE: the page's roff source as plain text (escapes and fonts removed)
text() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' -e 's/\\&//g' "$1"; }
has_in() { grep -qF -- "$2" <<<"$1"; }

# --- every command and option of --help -----------------------------------
cs --help >"$T/help"
# the command names: the lines of the list, each checked against its own usage line
names=()
while IFS= read -r line; do
  [[ $line =~ ^\ \ ([a-z][a-z-]*)(\ [a-z][a-z-]*)?\ + ]] || continue
  n="${BASH_REMATCH[1]}${BASH_REMATCH[2]}"
  read -ra w <<<"$n"
  u=$(cs "${w[@]}" --help 2>/dev/null | head -1 || true)
  if [[ $u != "usage: coordsync [global options] $n"* ]]; then n=${w[0]}; fi
  names+=("$n")
done < <(sed -n '/^commands:/,/^$/p' "$T/help")
[ ${#names[@]} -ge 30 ] || fail "only ${#names[@]} commands found in --help: ${names[*]}"

. "$D/bash-completion/coordsync"
# complete WORD...: COMPREPLY for the command line coordsync WORD... (the last
# word is the one being completed), as bash calls the function
complete_line() {
  COMP_WORDS=(coordsync "$@"); COMP_CWORD=$#; COMPREPLY=()
  _coordsync
  printf '%s\n' "${COMPREPLY[@]}"
}

nopts=0
for n in "${names[@]}"; do
  read -ra w <<<"$n"
  page="$D/man1/coordsync-${w[0]}.1"
  [ -f "$page" ] || fail "no page coordsync-${w[0]}.1 for '$n'"
  pt=$(text "$page")
  cs "${w[@]}" --help >"$T/h" || fail "coordsync $n --help failed"
  summary=$(sed -n 3p "$T/h")
  usage=$(sed -n '1s/^usage: //p' "$T/h")
  has_in "$pt" "$usage" || fail "coordsync-${w[0]}(1) lacks the synopsis '$usage'"
  has_in "$pt" "$summary" || fail "coordsync-${w[0]}(1) lacks the summary of $n: '$summary'"
  has_in "$(text "$D/man1/coordsync.1")" "coordsync $n" || fail "coordsync(1) does not list '$n'"
  # the completion: the word, the subcommand, and every option
  # (into a variable first: grep -q in a pipe may close it under the writer, SIGPIPE)
  comp=$(complete_line "${w[0]:0:2}")
  grep -qx -- "${w[0]}" <<<"$comp" || fail "completion of '${w[0]:0:2}' lacks ${w[0]}"
  if [ ${#w[@]} -eq 2 ]; then
    comp=$(complete_line "${w[0]}" "")
    grep -qx -- "${w[1]}" <<<"$comp" || fail "completion of '${w[0]} ' lacks ${w[1]}"
  fi
  comp=$(complete_line "${w[@]}" -)
  while IFS= read -r line; do
    read -r o _ <<<"$line"
    nopts=$((nopts + 1))
    has_in "$pt" "$o" || fail "coordsync-${w[0]}(1) lacks option $o of '$n'"
    grep -qx -- "$o" <<<"$comp" || fail "the completion of 'coordsync $n -' lacks $o: $comp"
    # its help as --help words it ("  %-22s %s": from column 26), unless the
    # left column overflowed; --help's own line is worded for the page
    if [ "$o" != --help ] && [ "${line:24:1}" = " " ] && [ "${line:25:1}" != " " ]; then
      has_in "$pt" "${line:25}" || fail "coordsync-${w[0]}(1): $o's help is not '${line:25}'"
    fi
  done < <(grep -E '^  -' "$T/h")
done
ok "${#names[@]} commands and $nopts options of --help (with their help) are in their pages and in the completion"

# global options of coordsync --help in coordsync(1)
while read -r o _; do
  has_in "$(text "$D/man1/coordsync.1")" "$o" || fail "coordsync(1) lacks the global option $o"
done < <(sed -n '/^global options:/,/^$/p' "$T/help" | grep -E '^  -')
grep -q "coordsync help \[COMMAND\]" <<<"$(text "$D/man1/coordsync.1")" || fail "coordsync(1) lacks coordsync help"
ok "coordsync(1) has every global option, and coordsync help"

# --- every setting of coordsync config in coordsync(5) -----------------------
mkremote r
cs init "$T/r.git" "$T/c" --server build1 >/dev/null
keys=$(cs -C "$T/c" --json config | python3 -c 'import json,sys; print("\n".join(r["key"] for r in json.load(sys.stdin)["rows"]))')
[ "$(wc -l <<<"$keys")" -ge 20 ] || fail "coordsync config lists few settings: $keys"
p5=$(text "$D/man5/coordsync.5")
while read -r k; do
  has_in "$p5" "$k" || fail "coordsync(5) lacks the setting $k"
done <<<"$keys"
ok "coordsync(5) has the $(wc -l <<<"$keys") settings coordsync config lists"

# --- man renders every page without a warning ---------------------------------
command -v man >/dev/null || fail "man is not installed (man-db; .ci/deps installs it)"
npages=0
for p in "$D"/man1/*.1 "$D"/man5/*.5; do
  warn=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
  [ -z "$warn" ] || fail "man warns on $(basename "$p"): $warn"
  [ "$(MANWIDTH=80 man -l "$p" 2>/dev/null | wc -l)" -gt 10 ] || fail "$(basename "$p") renders nearly empty"
  npages=$((npages + 1))
done
[ "$npages" -ge 10 ] || fail "only $npages pages"
ok "man --warnings renders all $npages pages without a warning"

# --- the completion as a user sees it -------------------------------------------
[ "$(complete_line jo)" = job ] || fail "'coordsync jo<TAB>' gives: $(complete_line jo)"
[ "$(complete_line job cl | sort | tr '\n' ' ')" = "claim " ] || fail "'job cl<TAB>': $(complete_line job cl)"
[ "$(complete_line -C /srv/c job claim --wa)" = --wait ] || fail "'-C DIR job claim --wa<TAB>': $(complete_line -C /srv/c job claim --wa)"
[ "$(complete_line --js)" = --json ] || fail "'--js<TAB>': $(complete_line --js)"
[ "$(complete_line help jo)" = job ] || fail "'coordsync help jo<TAB>' gives: $(complete_line help jo)"
[ "$(complete_line hel)" = help ] || fail "'coordsync hel<TAB>' gives: $(complete_line hel)"
# after an option that takes a value: no option offered; after -C: paths
[ -z "$(complete_line job add --priority -)" ] || fail "completion offers options as --priority's value"
mkdir -p "$T/clones/build1"
[ "$(cd "$T" && complete_line -C clones/b)" = clones/build1 ] || fail "-C does not complete a directory"
ok "bash completes a group (jo -> job), a subcommand (job cl -> claim), an option (--wa -> --wait) and -C's path"

done_testing
