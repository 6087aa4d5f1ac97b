#!/usr/bin/env bash
# Reports: every view of queries/ in every format over a repository with
# real activity by three servers; the html page (escaping, self-contained,
# renders in headless Chromium); --since, --server; user views.
. "$TESTS_DIR/lib.sh"
QUERIES="$TESTS_DIR/../queries"
mkremote r
cs init "$T/r.git" "$T/a" --server build1 >/dev/null
cs init "$T/r.git" "$T/b" --server build2 >/dev/null
cs init "$T/r.git" "$T/c" --server build3 >/dev/null
A=(-C "$T/a"); B=(-C "$T/b"); C=(-C "$T/c")
XSS='<script>alert(1)</script>'

# ---- activity, made with coordsync commands ---------------------------------
for i in 1 2 3 4 5 6 7 8; do
  cs "${A[@]}" job add --id "j$i" --priority $((i % 3)) --set max_attempts=1 >/dev/null
done
cs "${B[@]}" heartbeat >/dev/null
cs "${C[@]}" heartbeat >/dev/null
cs "${A[@]}" heartbeat >/dev/null
jb1=$(cs "${B[@]}" job claim); jb2=$(cs "${B[@]}" job claim)
ja1=$(cs "${A[@]}" job claim); jc1=$(cs "${C[@]}" job claim); jc2=$(cs "${C[@]}" job claim)
sleep 1
cs "${B[@]}" job done "$jb1" --result ok >/dev/null
cs "${B[@]}" job fail "$jb2" --error flaky >/dev/null
cs "${A[@]}" job done "$ja1" --result ok >/dev/null
cs "${C[@]}" job done "$jc1" --result ok >/dev/null
cs "${C[@]}" status set building >/dev/null
# deploy: build1, then build2 (waiting for it), then build1 again.
cs "${A[@]}" lock acquire deploy --ttl 60 >/dev/null
( sleep 2; cs "${A[@]}" lock release deploy >/dev/null ) &
cs "${B[@]}" lock acquire deploy --ttl 60 --wait 30 >/dev/null
wait
sleep 1
cs "${B[@]}" lock renew deploy --ttl 60 >/dev/null
cs "${B[@]}" lock release deploy >/dev/null
cs "${A[@]}" lock acquire deploy --ttl 600 >/dev/null
cs "${B[@]}" lock acquire cache --ttl 600 >/dev/null
cs "${A[@]}" msg send build2 --type warning --subject "$XSS" --body 'x & "y"' >/dev/null
cs "${B[@]}" msg send all --subject 'hello fleet' >/dev/null
cs "${C[@]}" msg send build1 --type request --subject 'please rebuild' >/dev/null
cs "${C[@]}" sync >/dev/null
cs "${C[@]}" msg inbox >/dev/null
bid=$(cs "${C[@]}" --json msg inbox | python3 -c 'import json,sys; print([m["id"] for m in json.load(sys.stdin)["rows"] if m["to"]=="all"][0])')
cs "${C[@]}" msg read "$bid" >/dev/null
cs "${A[@]}" status set idle --defer >/dev/null
cs "${A[@]}" heartbeat --defer >/dev/null
cs "${A[@]}" sync >/dev/null
cs "${B[@]}" heartbeat >/dev/null
# A job another server started two hours ago and never finished: stuck.
worktree w "$T/r.git"
python3 - "$T/w/coordination/jobs.json" <<'PY'
import json, sys, time
p = sys.argv[1]
d = json.load(open(p))
t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 7200))
d["jobs"].append({"id": "old", "status": "running", "assigned_to": "build3", "priority": 5,
                  "created_at": t, "started_at": t, "completed_at": None,
                  "attempts": 1, "max_attempts": 3})
with open(p, "w") as f:
    json.dump(d, f, indent=2)
    f.write("\n")
PY
git -C "$T/w" commit -qam 'a stuck job' && git -C "$T/w" push -q origin HEAD:main
for d in a b c; do cs -C "$T/$d" sync >/dev/null; done
ok "activity: 3 servers, jobs, locks, messages, heartbeats, status"

# ---- the list ------------------------------------------------------------------
# The reports: the views of queries/ but the internal ones ("-- internal:"
# among their leading comment lines: the CLI's lists and parts of others).
REPORTS=$(grep -L '^-- internal:' "$QUERIES"/*.sql)
INTERNAL=$(grep -l '^-- internal:' "$QUERIES"/*.sql)
[ "$(wc -w <<<"$INTERNAL")" -ge 11 ] || fail "internal views: $INTERNAL"
expect_rc 0 cs "${A[@]}" report --list
LIST=$OUT
n=0
for f in $REPORTS; do
  name=$(basename "$f" .sql)
  grep -Eq "^$name( |\$)" <<<"$LIST" || fail "report --list lacks $name: $LIST"
  n=$((n + 1))
done
[ "$(wc -l <<<"$LIST")" -eq "$n" ] || fail "report --list has $(wc -l <<<"$LIST") lines for $n views"
grep -Eq '^overview +the headline figures' <<<"$LIST" || fail "description: $LIST"
ok "report --list: every embedded report, one a line, name first, then its description"
for f in $INTERNAL; do
  name=$(basename "$f" .sql)
  grep -Eq "^$name( |\$)" <<<"$LIST" && fail "report --list shows the internal $name: $LIST"
  expect_rc 1 cs "${A[@]}" report "$name"
  grep -q "no report '$name'" <<<"$OUT" || fail "report $name: $OUT"
done
expect_rc 0 cs "${A[@]}" lock list
ok "the internal views (lock_list, msg_inbox, message_unread ...) are no reports: not listed, not run"
expect_rc 0 cs "${A[@]}" --json report --list
python3 -c 'import json,sys; d=json.loads(sys.argv[1])["rows"]; assert all(x["source"]=="builtin" for x in d) and len(d)==int(sys.argv[2]), d' "$OUT" "$n"
ok "report --list --json"

# ---- every report in every format ---------------------------------------------
mkdir -p "$T/out"
for f in $REPORTS; do
  name=$(basename "$f" .sql)
  for fmt in table csv json md html; do
    expect_rc 0 cs "${A[@]}" report "$name" --format "$fmt" -o "$T/out/$name.$fmt"
    [ -s "$T/out/$name.$fmt" ] || fail "$name --format $fmt wrote nothing"
  done
  python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out/$name.json" ||
    fail "$name json does not parse"
done
ok "every report runs in table, csv, json, md and html"
expect_rc 0 cs "${A[@]}" report queue
grep -q '^id ' <<<"$OUT" || fail "report to stdout: $OUT"
expect_rc 2 cs "${A[@]}" report queue --format xml
expect_rc 1 cs "${A[@]}" report nosuch
expect_rc 2 cs "${A[@]}" report ../x
expect_rc 2 cs "${A[@]}" report
ok "stdout by default; unknown format, report or bad name refused"

# ---- what the reports say ------------------------------------------------------------
j() { cs "${A[@]}" report "$@" --format json; }
python3 - "$(j overview)" "$(j durations)" "$(j throughput)" "$(j stuck)" "$(j server_health)" \
  "$(j locks_held)" "$(j message_backlog)" "$(j queue)" "$(j heartbeats)" <<'PY'
import json, sys
ov, du, tp, st, sh, lh, mb, q, hb = (json.loads(a) for a in sys.argv[1:])
assert len(ov) == 1 and ov[0]["servers"] == 3 and ov[0]["stuck"] == 1, ov
assert ov[0]["queued"] == len(q) == 3 and ov[0]["running"] == 2, (ov, q)
assert ov[0]["done_24h"] == 3 and ov[0]["failed_24h"] == 1, ov
assert ov[0]["locks_held"] == 2 and ov[0]["unread_messages"] >= 3, ov
d = {x["server"]: x for x in du}
assert d["build2"]["jobs"] == 2 and d["build2"]["finished"] == 2, du
assert all(x["wait_p50"] is not None and x["wait_p50"] <= x["wait_p95"] <= x["wait_max"] for x in du), du
t = {}
for x in tp:
    t[x["server"]] = t.get(x["server"], 0) + x["finished"]
assert t == {"build1": 1, "build2": 2, "build3": 1}, tp
assert [x["id"] for x in st] == ["old"] and st[0]["server"] == "build3" and st[0]["running_s"] >= 7100, st
h = {x["server"]: x for x in sh}
assert set(h) == {"build1", "build2", "build3"} and h["build3"]["status"] == "building", sh
assert h["build1"]["status"] == "idle" and all(x["state"] == "ok" for x in sh), sh
assert h["build2"]["locks_held"] == 1 and h["build3"]["running"] == 2, sh
l = {x["lock"]: x for x in lh}
assert l["deploy"]["server"] == "build1" and l["deploy"]["state"] == "held" and l["deploy"]["fence"] == 3, lh
assert l["cache"]["server"] == "build2", lh
m = {x["server"]: x for x in mb}
# build2: the <script> message; build1: 'please rebuild' and the broadcast;
# build3 read the broadcast.
assert m["build2"]["direct"] == 1 and m["build2"]["broadcast"] == 0, mb
assert m["build1"]["direct"] == 1 and m["build1"]["broadcast"] == 1, mb
assert m["build3"]["unread"] == 0, mb
assert {x["server"] for x in hb} == {"build1", "build2", "build3"}, hb
PY
ok "overview, durations, throughput, stuck, server_health, locks_held, message_backlog, heartbeats"
# History-based: needs lock_history, filled on every sync (engine/history.c).
python3 - "$(j lock_contention)" "$(j lock_holds)" <<'PY'
import json, sys
lc, lh = json.loads(sys.argv[1]), json.loads(sys.argv[2])
d = [x for x in lc if x["lock"] == "deploy"]
assert d and sum(x["grants"] for x in d) >= 3 and max(x["servers"] for x in d) == 2, lc
assert sum(x["handovers"] for x in d) >= 2 and sum(x["renewals"] for x in d) >= 1, lc
holds = [x for x in lh if x["lock"] == "deploy"]
assert [x["server"] for x in holds] == ["build1", "build2", "build1"], lh
assert holds[0]["ended_by"] == "release" and holds[-1]["ended_by"] == "held", lh
assert holds[1]["wait_s"] is not None and holds[1]["hold_s"] >= 0, lh
PY
ok "lock_contention and lock_holds: deploy used by two servers, handed over"

# ---- --since and --server -------------------------------------------------------------
rows() { python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
[ "$(j stuck --since 1h | rows)" = 0 ] || fail "stuck --since 1h"
[ "$(j stuck --since 3h | rows)" = 1 ] || fail "stuck --since 3h"
[ "$(j stuck --since "$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)" | rows)" = 1 ] || fail "ISO"
[ "$(j stuck --since "$(($(date +%s) - 600))" | rows)" = 0 ] || fail "epoch"
[ "$(j throughput --since 1d | rows)" -ge 3 ] || fail "throughput --since 1d"
[ "$(j throughput --since 2099-01-01 | rows)" = 0 ] || fail "throughput in the future"
[ "$(j durations --since 7d | rows)" = 3 ] || fail "durations --since 7d (day buckets)"
ok "--since: relative, ISO-8601 and epoch seconds, on time, hour and day columns"
expect_rc 0 cs "${A[@]}" report locks_held --server build2 --format csv
[ "$(tail -n +2 <<<"$OUT" | cut -d, -f2 | sort -u)" = build2 ] || fail "--server: $OUT"
[ "$(j throughput --server build2 | python3 -c 'import json,sys; print(sorted({x["server"] for x in json.load(sys.stdin)}))')" = "['build2']" ] || fail "throughput --server"
[ "$(j stuck --server build1 | rows)" = 0 ] && [ "$(j stuck --server build3 --since 1d | rows)" = 1 ] ||
  fail "stuck --server"
ok "--server keeps the rows of one server"
expect_rc 2 cs "${A[@]}" report queue --server build1
grep -q "no server column" <<<"$OUT" || fail "message: $OUT"
expect_rc 2 cs "${A[@]}" report overview --since 1h
grep -q "no time, hour or day column" <<<"$OUT" || fail "message: $OUT"
expect_rc 2 cs "${A[@]}" report stuck --since yesterday
expect_rc 2 cs "${A[@]}" report stuck --since "1h' OR 1=1 --"
ok "a filter the report has no column for, or a bad time, is refused (exit 2)"

# ---- html ---------------------------------------------------------------------------
for f in "$T"/out/*.html; do
  grep -qi '<script' "$f" && fail "$f has <script"
  grep -Eqi 'https?://|url\(|@import|src=|href=' "$f" && fail "$f loads something"
  grep -q '<svg' "$f" || fail "$f has no svg"
  grep -q '</html>' "$f" || fail "$f is cut short"
done
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' "$T/out/message_log.html" ||
  fail "escaped subject missing"
expect_rc 0 cs "${A[@]}" report message_log --server build2 --format html
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt;' <<<"$OUT" && ! grep -qi '<script' <<<"$OUT" ||
  fail "html to stdout"
ok "html: self-contained (no script, nothing remote, inline svg); data escaped"
python3 - "$T/out/overview.html" <<'PY'
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.stack = []; s.tags = set()
    def handle_starttag(s, t, a):
        s.tags.add(t)
        if t not in ("meta", "br", "line", "rect", "circle", "path"):
            s.stack.append(t)
    def handle_endtag(s, t):
        if t in ("meta", "br", "line", "rect", "circle", "path"):
            return
        assert s.stack and s.stack[-1] == t, (t, s.stack[-5:])
        s.stack.pop()
p = P(); p.feed(open(sys.argv[1]).read()); p.close()
assert not p.stack and {"svg", "table", "style", "figure"} <= p.tags, (p.stack, p.tags)
PY
ok "html is well nested"

CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
  fail "chromium is not installed (bash .ci/deps, or apt-get install -y chromium)"
else
  prof=$(mktemp -d "$T/chrome.XXXXXX")
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --user-data-dir="$prof" --screenshot="$T/shot.png" \
    --window-size=1200,1600 "file://$T/out/overview.html" >"$T/chrome.log" 2>&1 || true
  [ -s "$T/shot.png" ] || fail "no screenshot: $(tail -5 "$T/chrome.log")"
  python3 - "$T/shot.png" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
i, idat, w = 8, b"", 0
while i < len(data):
    n, kind = struct.unpack(">I4s", data[i:i + 8])
    body = data[i + 8:i + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and ctype in (2, 6), (depth, ctype)
        bpp = 3 if ctype == 2 else 4
    elif kind == b"IDAT":
        idat += body
    i += 12 + n
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
colors = set()
pos = 0
for y in range(h):
    f = raw[pos]; line = bytearray(raw[pos + 1:pos + 1 + stride]); pos += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    if y % 4 == 0:
        for x in range(0, stride, bpp * 2):
            colors.add(bytes(line[x:x + 3]))
assert len(colors) > 20, "screenshot looks blank: %d colours" % len(colors)
print("screenshot %dx%d, %d colours" % (w, h, len(colors)))
PY
  ok "headless Chromium renders the html page (not blank)"
fi

# ---- user views ---------------------------------------------------------------------
mkdir -p "$T/mine" "$T/bad1" "$T/bad2" "$T/bad3"
cat >"$T/mine/my_jobs.sql" <<'EOF'
-- my_jobs: jobs per server and status
SELECT assigned_to AS server, status, count(*) AS n,
       datetime(max(created_at), 'unixepoch') AS time
FROM jobs GROUP BY 1, 2 ORDER BY 1, 2;
EOF
cat >"$T/mine/on_top.sql" <<'EOF'
SELECT server, sum(n) AS n FROM my_jobs WHERE server IS NOT NULL GROUP BY 1
EOF
echo 'DELETE FROM jobs' >"$T/bad1/wipe.sql"
echo 'SELECT 1; DELETE FROM jobs;' >"$T/bad2/sneaky.sql"
echo 'SELECT 1' >"$T/bad3/queue.sql"
expect_rc 0 cs "${A[@]}" report --list --queries "$T/mine"
grep -Eq '^my_jobs +jobs per server and status' <<<"$OUT" && grep -q '^on_top ' <<<"$OUT" &&
  grep -q '^overview ' <<<"$OUT" || fail "list with user views: $OUT"
expect_rc 0 cs "${A[@]}" report my_jobs --queries "$T/mine" --server build2 --format csv
[ "$(tail -n +2 <<<"$OUT" | cut -d, -f1 | sort -u)" = build2 ] || fail "user view --server: $OUT"
expect_rc 0 cs "${A[@]}" report on_top --queries "$T/mine" --format json
python3 -c 'import json,sys; d={x["server"]: x["n"] for x in json.loads(sys.argv[1])}; assert d["build2"]==2, d' "$OUT"
expect_rc 0 cs "${A[@]}" report my_jobs --queries "$T/mine" --format html -o "$T/mine.html"
grep -q '<svg' "$T/mine.html" || fail "user view html"
git -C "$T/a" config coordsync.queries "$T/mine"
expect_rc 0 cs "${A[@]}" report my_jobs --since 1d
git -C "$T/a" config --unset coordsync.queries
ok "user views: --queries DIR or git config coordsync.queries; filters; one may use another"
before=$(cs "${A[@]}" query "SELECT count(*) FROM jobs" --format csv | tail -1)
expect_rc 2 cs "${A[@]}" report wipe --queries "$T/bad1"
grep -q "must be one SELECT" <<<"$OUT" || fail "message: $OUT"
expect_rc 2 cs "${A[@]}" report sneaky --queries "$T/bad2"
expect_rc 2 cs "${A[@]}" report --list --queries "$T/bad3"
expect_rc 2 cs "${A[@]}" report x --queries "$T/nonexistent"
[ "$(cs "${A[@]}" query "SELECT count(*) FROM jobs" --format csv | tail -1)" = "$before" ] ||
  fail "a user view wrote"
ok "a user view that writes, has two statements or takes a built-in name is refused (exit 2)"

done_testing
