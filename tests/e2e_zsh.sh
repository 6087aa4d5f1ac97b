#!/usr/bin/env bash
# zsh completion (docs/packaging/coordsync.zsh, installed by `cmake --install`
# as share/zsh/vendor-completions/_coordsync): it loads the generated bash
# completion through zsh's bashcompinit, so the bash completion must run in
# zsh too (no mapfile).  Installed to a prefix: the file sources that
# prefix's bash completion; sourced after compinit it makes compsys call the
# bash function for coordsync (_comps); loaded from fpath as compinit loads it,
# that function, called as _bash_complete calls it (compgen -F), offers the
# same words as in bash (zsh's compadd then matches the prefix).
. "$TESTS_DIR/lib.sh"
command -v zsh >/dev/null || fail "zsh is not installed (.ci/deps installs it)"
B=$(dirname "$(readlink -f "$COORDSYNC")")
[ -f "$B/cmake_install.cmake" ] || fail "no cmake_install.cmake beside $COORDSYNC: not a build directory"
P="$T/prefix"
cmake --install "$B" --prefix "$P" >"$T/install.out" 2>&1 || fail "cmake --install failed: $(cat "$T/install.out")"
Z="$P/share/zsh/vendor-completions/_coordsync"
[ -s "$Z" ] || fail "not installed: share/zsh/vendor-completions/_coordsync"
[ "$(head -1 "$Z")" = "#compdef coordsync" ] || fail "_coordsync does not start with #compdef coordsync"
grep -qF "source \"$P/share/bash-completion/completions/coordsync\"" "$Z" ||
  fail "_coordsync does not source the bash completion of the prefix: $(grep source "$Z")"
ok "cmake --install installs share/zsh/vendor-completions/_coordsync, which sources $P's bash completion"

export ZDOTDIR="$T"   # no user's .zshrc; -f besides
out=$(zsh -f -c 'autoload -U +X compinit && compinit -u -d "$ZDOTDIR/zcompdump"
  source "$1"; print -r -- ${_comps[coordsync]}' zsh "$Z" 2>&1) || fail "zsh could not source _coordsync: $out"
[ "$out" = "_bash_complete -F _coordsync" ] || fail "after sourcing _coordsync, _comps[coordsync] is '$out'"
ok "sourced after compinit, _coordsync makes compsys complete coordsync with the bash function ($out)"

# zcomplete WORD...: what zsh offers for the line coordsync WORD..., the last
# word being completed: the bash function through bashcompinit's compgen -F,
# as _bash_complete runs it, then the prefix match compadd does
cat >"$T/zc.zsh" <<'ZSH'
autoload -U +X compinit && compinit -u -d "$ZDOTDIR/zcompdump"
fpath=(${1:h} $fpath)
autoload -U +X _coordsync
_coordsync || exit 1   # outside a completion: it only loads the bash one
shift
words=(coordsync "$@"); CURRENT=$#words
COMP_WORDS=("${words[@]}"); COMP_CWORD=$((CURRENT - 1))
matches=(${(f)"$(compgen -F _coordsync -- "${words[CURRENT]}")"})
print -rl -- ${(M)matches:#${words[CURRENT]}*}
ZSH
zcomplete() { zsh -f "$T/zc.zsh" "$Z" "$@" 2>"$T/zsh.err" || fail "zsh failed: $(cat "$T/zsh.err")"
  [ ! -s "$T/zsh.err" ] || fail "zsh's stderr: $(cat "$T/zsh.err")"; }
[ "$(zcomplete jo)" = job ] || fail "zsh 'coordsync jo<TAB>' gives: $(zcomplete jo)"
[ "$(zcomplete job cl)" = claim ] || fail "zsh 'job cl<TAB>': $(zcomplete job cl)"
[ "$(zcomplete -C /srv/c job claim --wa)" = --wait ] || fail "zsh '-C DIR job claim --wa<TAB>': $(zcomplete -C /srv/c job claim --wa)"
[ "$(zcomplete --js)" = --json ] || fail "zsh '--js<TAB>': $(zcomplete --js)"
[ "$(zcomplete help jo)" = job ] || fail "zsh 'help jo<TAB>': $(zcomplete help jo)"
ok "zsh completes a group (jo -> job), a subcommand (job cl -> claim), an option (--wa -> --wait) as bash does"

done_testing
