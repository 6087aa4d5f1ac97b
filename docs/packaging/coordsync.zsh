#compdef coordsync
# zsh completion for coordsync(1): the generated bash completion (cli/gendoc.c),
# loaded through zsh's bashcompinit, so both complete the same.  Installed as
# share/zsh/vendor-completions/_coordsync by docs/packaging/install.cmake,
# which writes in the path of the bash completion under the prefix.
autoload -U +X bashcompinit && bashcompinit
source "@BASHCOMP@"
# from now on compsys calls the bash function (_comps[coordsync]); on this
# first call, inside a completion, complete the word it was loaded for
if (( ${+compstate} )); then _bash_complete -F _coordsync; fi
