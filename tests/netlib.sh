# Real network remotes for the end-to-end tests, sourced after lib.sh:
# git daemon (git://) and git http-backend behind lighttpd (http://, basic
# auth), both on 127.0.0.1 on a free port and serving the bare repositories
# in $T.  Every server is started in the foreground of a background job
# whose pid goes to BG_PIDS, so lib.sh's trap kills it.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for URL: until `git ls-remote URL` answers (at most 10 s).
wait_for() {
  local i
  for i in $(seq 1 100); do
    git ls-remote "$1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "no server answers at ${1%%@*}..."
}

# start_git_daemon [PORT]: git daemon with receive-pack for every repository
# in $T, on PORT (default: a free one; give the old one to restart it where
# clones look), logging each request to $T/git-daemon.log.  Sets GITD_PID,
# the daemon itself (not git's wrapper: its children are the receive-packs),
# and GITD_BASE (git://127.0.0.1:PORT); $T/NAME.git is at $GITD_BASE/NAME.git.
start_git_daemon() {
  local port=${1:-$(free_port)}
  "$(git --exec-path)/git-daemon" --listen=127.0.0.1 --port="$port" --base-path="$T" \
    --export-all --enable=receive-pack --reuseaddr --verbose "$T" 2>>"$T/git-daemon.log" &
  GITD_PID=$!
  BG_PIDS+=("$GITD_PID")
  GITD_BASE="git://127.0.0.1:$port"
}

# git_remote NAME: the bare remote $T/NAME.git behind a git daemon started
# here (start_git_daemon), once it answers; URL is its git:// URL.
git_remote() {
  mkremote "$1"
  git --git-dir="$T/$1.git" config daemon.receivepack true
  start_git_daemon
  URL="$GITD_BASE/$1.git"
  wait_for "$URL"
}

# start_http USER TOKEN [USER TOKEN...]: lighttpd on 127.0.0.1 running git
# http-backend (CGI) for the repositories in $T, basic auth required for
# every request, fetch and push alike: each USER with its TOKEN (coordsync's
# accounts) or user "tester" (the git CLI playing other servers;
# HTTP_TESTER_BASE has its password in the URL).  /ro/ serves the same repositories but answers 403
# to every push.  Sets HTTP_PID, HTTP_PORT, HTTP_BASE
# (http://127.0.0.1:PORT/git) and HTTP_DIR (config and logs: access.log
# with the user and status of each request, error.log with a line for each
# refused password).  Call http_repo on each repository it should serve.
# With HTTP_TLS_PEM set (a certificate and its key in one PEM file) it
# serves https:// instead, and the bases say so.
start_http() {
  local port scheme=http tls=""
  port=$(free_port)
  if [ -n "${HTTP_TLS_PEM:-}" ]; then
    scheme=https
    tls="server.modules += (\"mod_openssl\")
ssl.engine = \"enable\"
ssl.pemfile = \"$HTTP_TLS_PEM\""
  fi
  HTTP_DIR="$T/httpd"
  mkdir -p "$HTTP_DIR/www" "$HTTP_DIR/auth"
  # lighttpd's "plain" backend: the server's own copy of the passwords, in
  # a directory the secret-leak checks leave out (--exclude-dir=auth).
  { while [ $# -ge 2 ]; do printf '%s:%s\n' "$1" "$2"; shift 2; done
    echo tester:tester-pw; } >"$HTTP_DIR/auth/users"
  chmod 600 "$HTTP_DIR/auth/users"
  cat >"$HTTP_DIR/lighttpd.conf" <<EOF
server.document-root = "$HTTP_DIR/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$HTTP_DIR/error.log"
server.modules = ("mod_access", "mod_alias", "mod_setenv", "mod_auth", "mod_authn_file",
                  "mod_cgi", "mod_accesslog")
# lighttpd waits before answering a wrong password; the tests count tries.
server.feature-flags = ("auth.delay-invalid-creds" => "disable")
# A piped logger is written at once; a log file only every second or so.
accesslog.filename = "|/bin/cat >>$HTTP_DIR/access.log"
accesslog.format = "%h %u %t \"%r\" %>s"
auth.backend = "plain"
auth.backend.plain.userfile = "$HTTP_DIR/auth/users"
auth.require = ("/git/" => ("method" => "basic", "realm" => "coordsync-test", "require" => "valid-user"),
                "/ro/" => ("method" => "basic", "realm" => "coordsync-test", "require" => "valid-user"))
alias.url = ("/git/" => "/usr/lib/git-core/git-http-backend/",
             "/ro/" => "/usr/lib/git-core/git-http-backend/")
\$HTTP["url"] =~ "^/(git|ro)/" {
  cgi.assign = ("" => "")
  setenv.set-environment = ("GIT_PROJECT_ROOT" => "$T", "GIT_HTTP_EXPORT_ALL" => "1")
}
\$HTTP["url"] =~ "^/ro/.*/git-receive-pack\$" { url.access-deny = ("") }
\$HTTP["url"] =~ "^/ro/" {
  \$HTTP["querystring"] =~ "service=git-receive-pack" { url.access-deny = ("") }
}
$tls
EOF
  lighttpd -tt -f "$HTTP_DIR/lighttpd.conf" >/dev/null || fail "lighttpd rejects $HTTP_DIR/lighttpd.conf"
  lighttpd -D -f "$HTTP_DIR/lighttpd.conf" 2>>"$HTTP_DIR/stderr.log" &
  HTTP_PID=$!
  BG_PIDS+=("$HTTP_PID")
  HTTP_PORT=$port
  HTTP_BASE="$scheme://127.0.0.1:$port/git"
  HTTP_TESTER_BASE="$scheme://tester:tester-pw@127.0.0.1:$port/git"
}

# start_sshd COMMAND [LINE...]: OpenSSH's sshd on 127.0.0.1 on a free port,
# with a host key made here, and ssh-agent holding the client key, whose
# authorized_keys entry runs only COMMAND (the text of command="...": it
# gets the client's command in $SSH_ORIGINAL_COMMAND).  Each LINE is added
# to sshd_config.  Keys, config and sshd.log (sshd's log, -e) are in
# S=$T/ssh; sets port, user (the login), SSHD_PID and SSH_AUTH_SOCK, and
# writes ~/.ssh/known_hosts with the host key.  sshd needs /run/sshd when
# started as root (its privilege separation directory, normally made by the
# service unit); this makes it.
start_sshd() {
  local cmd=$1 line; shift
  S="$T/ssh"
  mkdir -p "$S" "$HOME/.ssh"
  chmod 700 "$S" "$HOME/.ssh"
  ssh-keygen -q -t ed25519 -N '' -C host -f "$S/host"
  ssh-keygen -q -t ed25519 -N '' -C coordsync -f "$S/key"
  printf 'restrict,command="%s" %s\n' "$cmd" "$(cat "$S/key.pub")" >"$S/authorized_keys"
  port=$(free_port)
  user=$(id -un)
  cat >"$S/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $S/host
PidFile $S/sshd.pid
AuthorizedKeysFile $S/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
AllowUsers $user
# the test's files live under a temp directory of any mode
StrictModes no
LogLevel VERBOSE
EOF
  for line in "$@"; do echo "$line" >>"$S/sshd_config"; done
  if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
    mkdir -p -m 0755 /run/sshd
  fi
  /usr/sbin/sshd -t -f "$S/sshd_config" || fail "sshd rejects $S/sshd_config"
  /usr/sbin/sshd -D -e -f "$S/sshd_config" 2>>"$S/sshd.log" &
  SSHD_PID=$!
  BG_PIDS+=("$SSHD_PID")
  ssh-agent -D -a "$S/agent.sock" >/dev/null &
  BG_PIDS+=($!)
  export SSH_AUTH_SOCK="$S/agent.sock"
  poll_until 10 eval '[ -S "$SSH_AUTH_SOCK" ] && grep -q "Server listening" "$S/sshd.log"' ||
    fail "no sshd or agent"
  ssh-add -q "$S/key" 2>/dev/null || fail "ssh-add"
  echo "[127.0.0.1]:$port $(cat "$S/host.pub")" >"$HOME/.ssh/known_hosts"
}

# logins, refusals: how many times sshd (start_sshd) let the key in, and
# refused a key.
logins() { count "Accepted publickey for $user" "$S/sshd.log"; }
refusals() { count "Failed publickey for $user" "$S/sshd.log"; }

# count PATTERN FILE: lines of FILE matching the extended regex PATTERN.
count() { grep -cE -- "$1" "$2" 2>/dev/null || true; }

# await_count PATTERN FILE N: the count once it reaches N, or after 5 s:
# a server logs a request when it is done with it, which may be just after
# the client is.
await_count() {
  local i n
  for i in $(seq 1 50); do
    n=$(count "$1" "$2")
    [ "$n" -ge "$3" ] && break
    sleep 0.1
  done
  echo "$n"
}

# http_repo NAME: let http-backend serve pushes to $T/NAME.git.
http_repo() { git --git-dir="$T/$1.git" config http.receivepack true; }

# stop_server PID: kill one server started here and reap it.
stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
