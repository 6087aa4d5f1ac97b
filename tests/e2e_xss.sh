#!/usr/bin/env bash
# Reports against XSS: every payload of tests/resources/xss.txt goes, through
# files another server pushes with the git CLI, into job ids and fields,
# server ids a job is assigned to (chart legends), message subjects, bodies
# and senders, lock names and holders, and server status fields.  Every
# report of `coordsync report --list` is rendered as html (and one with a
# payload as --server); python's html.parser then checks that no page has a
# <script> element, an on* attribute, a javascript: URL or any tag outside
# the pages' own set, and that each payload shows up in the text but only
# escaped in the source.
. "${TESTS_DIR:-$(dirname "$0")}/lib.sh"

XSS="$TESTS_DIR/resources/xss.txt"
mkremote r
worktree s "$T/r.git"
S="$T/s"
C1="$T/c1"

python3 - "$XSS" "$S" <<'PY'
import json, os, sys, time
payloads = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n")
            if l and not l.startswith("# ")]
s, now = sys.argv[2], int(time.time())
iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
jobs, msgs, locks = [], [], {}
for k, p in enumerate(payloads):
    jobs.append({"id": p, "status": "queued", "assigned_to": None, "priority": k,
                 "created_at": iso(now - 600), "command": p})
    jobs.append({"id": "run-%d" % k, "status": "running", "assigned_to": p, "priority": 1,
                 "created_at": iso(now - 7300), "started_at": iso(now - 7200), "attempts": 1})
    jobs.append({"id": "done-%d" % k, "status": "done", "assigned_to": p, "priority": 1,
                 "created_at": iso(now - 4000), "started_at": iso(now - 3900),
                 "completed_at": iso(now - 3000 + k), "result": p, "error": p})
    msgs.append({"id": "m-%d" % k, "from": p, "to": p, "type": "info", "subject": p, "body": p,
                 "timestamp": iso(now - 100 - k), "read": False})
    locks[p] = {"locked_by": p, "locked_at": now - 60, "expires_at": now + 3600, "fence": k + 1}
    d = os.path.join(s, "build%d" % (k + 2))
    os.makedirs(d, exist_ok=True)
    json.dump({"server": "build%d" % (k + 2), "status": p, "timestamp": iso(now - 30), "note": p},
              open(d + "/status.json", "w"), indent=2)
    json.dump({"server": "build%d" % (k + 2), "timestamp": now - 30}, open(d + "/heartbeat.json", "w"),
              indent=2)
os.makedirs(s + "/coordination", exist_ok=True)
for name, v in (("jobs", {"jobs": jobs}), ("messages", {"messages": msgs}), ("locks", {"locks": locks})):
    with open(s + "/coordination/%s.json" % name, "w") as f:
        json.dump(v, f, indent=2)
        f.write("\n")
print(len(payloads), file=open(s + "/../count", "w"))
PY
n=$(cat "$T/count")
[ "$n" -ge 30 ] || fail "only $n payloads"
git -C "$S" add -A
git -C "$S" commit -qm "payloads"
git -C "$S" push -q origin main
expect_rc 0 cs init "$T/r.git" "$C1" --server build1
expect_rc 0 cs -C "$C1" query --format csv "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM messages), (SELECT count(*) FROM locks), (SELECT count(*) FROM servers WHERE id != 'build1')"
[ "$(tail -n 1 <<<"$OUT")" = "$((3 * n)),$n,$n,$n" ] || fail "import: $OUT"
ok "$n payloads imported into $((3 * n)) jobs, $n messages, $n locks and $n servers' status"

mkdir -p "$T/html"
expect_rc 0 cs -C "$C1" report --list
names=$(awk '{print $1}' <<<"$OUT")
nrep=0
for name in $names; do
  expect_rc 0 cs -C "$C1" report "$name" --format html -o "$T/html/$name.html"
  nrep=$((nrep + 1))
done
[ "$nrep" -ge 10 ] || fail "only $nrep reports"
payload1=$(grep -v '^# ' "$XSS" | head -n 1)
expect_rc 0 cs -C "$C1" report stuck --server "$payload1" --format html -o "$T/html/stuck-server.html"
expect_rc 0 cs -C "$C1" report --list --format html -o "$T/html/list.html"
ok "$nrep reports rendered as html, and stuck --server <payload>, and the list"

python3 - "$XSS" "$T/html" <<'PY'
import html.parser, os, re, sys
payloads = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n")
            if l and not l.startswith("# ")]
# The tags the pages are made of; anything else came from the data.
allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "br", "section",
           "figure", "figcaption", "svg", "rect", "text", "circle", "line", "path", "polyline",
           "g", "div", "span", "i", "table", "thead", "tbody", "tr", "th", "td"}
def url_like(v):
    return re.sub(r"[\s\x00-\x1f]+", "", v or "").lower()
class Check(html.parser.HTMLParser):
    def __init__(self, name):
        super().__init__(convert_charrefs=True)
        self.name, self.problems, self.text, self.style = name, [], [], False
    def bad(self, what):
        self.problems.append("%s: %s" % (self.name, what))
    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.bad("a <script> element")
        if tag not in allowed:
            self.bad("a <%s> element" % tag)
        if tag == "meta" and attrs not in ([("charset", "utf-8")],
                                           [("name", "viewport"),
                                            ("content", "width=device-width, initial-scale=1")]):
            self.bad("a <meta> with %s" % attrs)
        for a, v in attrs:
            if a.startswith("on"):
                self.bad("an %s attribute on <%s>" % (a, tag))
            u = url_like(v)
            for scheme in ("javascript:", "vbscript:", "data:"):
                if scheme in u:
                    self.bad("%s in %s=%r" % (scheme, a, v))
            if a not in ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height",
                         "fill", "stroke", "stroke-width", "opacity", "viewbox", "class", "style",
                         "text-anchor", "lang", "charset", "points", "d", "xmlns", "role",
                         "aria-label", "preserveaspectratio", "font-size", "fill-opacity",
                         "stroke-dasharray", "transform", "dominant-baseline", "name",
                         "content"):
                self.bad("an attribute %s=%r on <%s>" % (a, v, tag))
        self.style = tag == "style"
    handle_startendtag = handle_starttag
    def handle_endtag(self, tag):
        self.style = False
    def handle_data(self, data):
        if self.style and re.search(r"alert|evil|script|<", data):
            self.bad("data in <style>: %r" % data[:80])
        self.text.append(data)
    def handle_comment(self, data):
        self.bad("a comment %r" % data[:80])
    def handle_pi(self, data):
        self.bad("a processing instruction %r" % data[:80])
    def unknown_decl(self, data):
        self.bad("a declaration %r" % data[:80])
problems, texts, sources = [], {}, {}
for f in sorted(os.listdir(sys.argv[2])):
    src = open(os.path.join(sys.argv[2], f), encoding="utf-8").read()
    c = Check(f)
    c.feed(src)
    c.close()
    problems += c.problems
    texts[f], sources[f] = "".join(c.text), src
shown = 0
for k, p in enumerate(payloads):
    special = any(ch in p for ch in "<>&\"'")
    raw = [f for f, s in sources.items() if special and p in s]
    if raw:
        problems.append("payload %d unescaped in %s" % (k + 1, ", ".join(raw)))
    where = [f for f, t in texts.items() if p in t]
    if not where:
        problems.append("payload %d not in any page's text" % (k + 1))
    shown += len(where)
if problems:
    print("\n".join(problems[:30]))
    sys.exit(1)
print("%d pages, %d payloads, %d (payload, page) pairs shown as text" % (len(sources), len(payloads), shown))
PY
ok "no <script>, no on* attribute, no javascript:/data: URL, no foreign tag; every payload escaped in the source and whole in the text"
done_testing
