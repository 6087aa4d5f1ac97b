#!/usr/bin/env bash
# e2e_https: coordsync over https://: git http-backend behind lighttpd on
# 127.0.0.1 with a self-signed certificate (tests/netlib.sh).  libgit2's CA
# certificates are loaded only for an http(s) remote (cli/tls.c and engine/transport.c,
# transport_tls_ready).  Checks:
#   - without GIT_SSL_CAINFO the server's certificate is refused: exit 1,
#     a certificate error, nothing cloned;
#   - with GIT_SSL_CAINFO naming the certificate: init, job add and claim
#     (fetch, push) work, also served by a daemon started with it;
#   - a GIT_SSL_CAINFO that is not there fails an https remote, naming it,
#     and does not touch a local or a git:// remote, which never load
#     certificates.
. "$TESTS_DIR/lib.sh"
. "$TESTS_DIR/netlib.sh"

mkdir -p "$T/secrets" && chmod 700 "$T/secrets"
( umask 077; printf 'tok-%s\n' "$RANDOM$RANDOM" >"$T/secrets/token" )
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:127.0.0.1" \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null || fail "openssl req failed"
cat "$T/cert.pem" "$T/key.pem" >"$T/server.pem"

mkremote r
http_repo r
HTTP_TLS_PEM="$T/server.pem" start_http alice "$(cat "$T/secrets/token")"
GIT_SSL_CAINFO="$T/cert.pem" wait_for "$HTTP_TESTER_BASE/r.git"
URL="$HTTP_BASE/r.git"
[ "${URL%%:*}" = https ] || fail "not an https URL: $URL"
AUTH=(--user alice --token-file "$T/secrets/token")

# ---- an untrusted certificate is refused -------------------------------------------
expect_rc 1 cs init "$URL" "$T/c0" --server build0 "${AUTH[@]}"
grep -qi "certificate" <<<"$OUT" || fail "no certificate error: $OUT"
[ ! -e "$T/c0" ] || fail "a refused clone left $T/c0"
ok "without GIT_SSL_CAINFO the self-signed certificate is refused: exit 1, '$(grep -oi "[^:]*certificate[^:]*" <<<"$OUT" | head -1)'"

# ---- trusted through GIT_SSL_CAINFO ------------------------------------------------------
export GIT_SSL_CAINFO="$T/cert.pem"
expect_rc 0 cs init "$URL" "$T/c1" --server build1 "${AUTH[@]}"
expect_rc 0 cs init "$URL" "$T/c2" --server build2 "${AUTH[@]}"
for j in h1 h2 h3; do expect_rc 0 cs -C "$T/c1" job add --id "$j" --priority 1; done
COORDSYNC_NO_DAEMON=1 expect_rc 0 cs -C "$T/c2" job claim
[ "$OUT" = h1 ] || fail "build2 claimed '$OUT'"
[ "$(git --git-dir="$T/r.git" show main:coordination/jobs.json |
     python3 -c 'import json,sys; print([j["status"] for j in json.load(sys.stdin)["jobs"] if j["id"]=="h1"][0])')" = running ] ||
  fail "the claim did not reach the remote"
ok "with GIT_SSL_CAINFO: init, job add and claim over https:// reach the remote"

# a daemon started with it serves claims over https://
"$COORDSYNC" -C "$T/c2" daemon --interval 3600 2>"$T/d.err" & dpid=$!
BG_PIDS+=("$dpid")
poll_until 20 grep -q '^coordsync run server=build2 ' "$T/d.err" || fail "no first cycle: $(cat "$T/d.err")"
for want in h2 h3; do
  env -u GIT_SSL_CAINFO "$COORDSYNC" -C "$T/c2" job claim >"$T/id" 2>&1 || fail "served claim: $(cat "$T/id")"
  [ "$(cat "$T/id")" = "$want" ] || fail "served claim printed '$(cat "$T/id")', not $want"
done
kill -TERM "$dpid"
poll_until 20 eval "! kill -0 $dpid 2>/dev/null" || fail "daemon did not stop"
wait "$dpid" || fail "daemon exit $?"
grep -q ", 2 commands served" "$T/d.err" || fail "daemon log: $(tail -2 "$T/d.err")"
ok "a daemon started with GIT_SSL_CAINFO served 2 claims over https:// (the client's environment has none)"

# ---- a GIT_SSL_CAINFO that is not there ---------------------------------------------------
export GIT_SSL_CAINFO="$T/missing.pem"
COORDSYNC_NO_DAEMON=1 expect_rc 1 cs -C "$T/c2" sync
grep -qF "cannot load GIT_SSL_CAINFO '$T/missing.pem'" <<<"$OUT" || fail "missing CA file: $OUT"
mkremote l
start_git_daemon
n=0
for url in "$T/l.git" "$GITD_BASE/l.git"; do
  n=$((n + 1))
  expect_rc 0 cs init "$url" "$T/l$n" --server "build$n"
  expect_rc 0 cs -C "$T/l$n" job add --id "l$n"
  expect_rc 0 cs -C "$T/l$n" job claim
  [ "$OUT" = "l$n" ] || fail "claim on $url printed '$OUT'"
done
ok "GIT_SSL_CAINFO not there: https sync exits 1 naming it; a local and a git:// remote never load it"

done_testing
