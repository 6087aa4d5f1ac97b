# The Jira stand-in (tests/jira_standin.py) for an e2e test: source after
# lib.sh.  STANDIN and SEED name the stand-in and its seed state.
JIRA_TD=$(cd "${TESTS_DIR:-$(dirname "$0")}" && pwd)
STANDIN="$JIRA_TD/jira_standin.py"
SEED="$JIRA_TD/resources/jira/seed.json"

# start_standin NAME ARGS...: a stand-in on 127.0.0.1 with the seed and the
# token file $T/token, ended with the test, logging to $T/NAME.log (its
# stderr in $T/NAME.err); its base URL in BASE (at most 10 s).
start_standin() {
  local name=$1; shift
  python3 "$STANDIN" --port-file "$T/$name.port" --state "$SEED" --token-file "$T/token" \
    --lifetime 300 --log "$T/$name.log" "$@" 2>"$T/$name.err" &
  local pid=$!
  BG_PIDS+=("$pid")
  for _ in $(seq 1 100); do
    [ -s "$T/$name.port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "stand-in $name died: $(cat "$T/$name.err")"
    sleep 0.1
  done
  [ -s "$T/$name.port" ] || fail "stand-in $name wrote no port"
  BASE="http://127.0.0.1:$(cat "$T/$name.port")"
}

# ctl BASE PATH [BODY]: a control endpoint of the stand-in (POST with a body).
ctl() { python3 -c 'import sys, urllib.request as u
d = sys.argv[3].encode() if len(sys.argv) > 3 else None
print(u.urlopen(u.Request(sys.argv[1] + sys.argv[2], data=d), timeout=10).read().decode())' "$@"; }

# jira_clone DIR BASE: point clone DIR at the stand-in BASE (project VNF,
# board 1, user alice, token file $T/token).
jira_clone() {
  git -C "$1" config coordsync.jira.url "$2"
  git -C "$1" config coordsync.jira.project VNF
  git -C "$1" config coordsync.jira.board 1
  git -C "$1" config coordsync.jira.user alice@example.invalid
  git -C "$1" config coordsync.jira.tokenfile "$T/token"
}
