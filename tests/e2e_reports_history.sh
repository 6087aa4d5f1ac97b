#!/usr/bin/env bash
# Reports read history: throughput, durations and overview count the jobs
# that `compact` moved into coordination/archive/, exactly once, and so
# does a mirror rebuilt from the remote's history.
. "$TESTS_DIR/lib.sh"
two_clones

# reports CLONE: the three reports as CSV (overview without last_import,
# the time of the last import, which any sync moves).
reports() {
  local r
  for r in throughput durations overview; do
    echo "== $r"
    cs -C "$1" report "$r" --format csv
  done | sed -E '/^servers,/,$ s/,[^,]*$//'
}

for i in 1 2 3 4 5 6; do cs "${A[@]}" job add --id "j$i" --set max_attempts=1 >/dev/null; done
for i in 1 2 3 4; do
  id=$(cs "${A[@]}" job claim)
  if [ "$i" = 3 ]; then cs "${A[@]}" job fail "$id" --error boom; else cs "${A[@]}" job done "$id"; fi
done
id=$(cs "${B[@]}" job claim)
cs "${B[@]}" job done "$id"
cs "${A[@]}" job claim >/dev/null   # j6: running, never archived
cs "${A[@]}" sync >/dev/null
reports "$T/a" >"$T/before"
grep -qx '.*,build1,4,3,1,.*' "$T/before" || fail "throughput before compact: $(cat "$T/before")"
grep -qx '.*,build2,1,1,0,.*' "$T/before" || fail "throughput before compact: $(cat "$T/before")"
grep -q '^2,2,0,0,,1,0,4,1,' <<<"$(sed -n '/^servers,/,$p' "$T/before" | sed 1d)" ||
  fail "overview before compact: $(cat "$T/before")"
ok "the reports count 5 finished jobs (4 done, 1 failed) and 1 running"

sleep 1   # compact archives what finished before now - 0 days
expect_rc 0 cs "${A[@]}" compact --older-than 0
[ "$OUT" = "archived 5 job(s) and 0 message(s)" ] || fail "compact: $OUT"
remote_json coordination/jobs.json | python3 -c '
import json,sys; j=json.load(sys.stdin)["jobs"]; assert [x["id"] for x in j] == ["j6"], j' ||
  fail "compact left finished jobs in jobs.json"
reports "$T/a" >"$T/after"
diff "$T/before" "$T/after" >&2 || fail "the reports changed with compact"
ok "after compact the reports give the same numbers (archived jobs counted once)"

cs "${B[@]}" sync >/dev/null
reports "$T/b" >"$T/other"
diff "$T/before" "$T/other" >&2 || fail "another server's reports differ after compact"
cs "${B[@]}" rebuild >/dev/null
reports "$T/b" >"$T/rebuilt"
diff "$T/before" "$T/rebuilt" >&2 || fail "a rebuilt mirror's reports differ after compact"
ok "another server, after sync and after rebuild, reports the same numbers"

# An id added again after its job was archived is one job, the live one.
cs "${A[@]}" job add --id j1 >/dev/null
cs "${A[@]}" job claim >/dev/null
cs "${A[@]}" job done j1
n=$(cs -C "$T/a" --json report overview | python3 -c 'import json,sys; r=json.load(sys.stdin); r=r["rows"][0] if isinstance(r, dict) and "rows" in r else r[0] if isinstance(r, list) else r; print(r["done_24h"])')
[ "$n" = 4 ] || fail "j1 done again: done_24h is $n, expected 4 (not 5)"
ok "a job id added again after compact counts once"

# ---- html: each report's page charts its own rows ----------------------------------
# svg_labels FILE: the label texts of the page's chart (the <text> after a
# <title>), one a line.
svg_labels() {
  python3 - "$1" <<'PY'
import html.parser, sys
class P(html.parser.HTMLParser):
    def __init__(s):
        super().__init__(); s.svgs = 0; s.stack = []; s.labels = []; s.cur = None
    def handle_starttag(s, tag, a):
        s.stack.append(tag)
        if tag == "svg": s.svgs += 1
        if tag == "text" and "svg" in s.stack and dict(a).get("text-anchor") == "end": s.cur = ""
    def handle_endtag(s, tag):
        while s.stack and s.stack.pop() != tag: pass
        if tag == "text" and s.cur is not None:
            s.labels.append(s.cur); s.cur = None
    def handle_data(s, d):
        if s.cur is not None and s.stack and s.stack[-1] == "text": s.cur += d
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read())
assert p.svgs == 1, p.svgs
print("\n".join(l for l in p.labels if l and not l[0].isdigit()))
PY
}
for i in 1 2 3; do cs "${A[@]}" job add --id "q-$i" --priority "$((4 - i))" >/dev/null; done
expect_rc 0 cs "${A[@]}" report queue --format html -o "$T/queue.html"
[ "$(svg_labels "$T/queue.html")" = "$(printf 'q-3\nq-2\nq-1')" ] ||
  fail "queue's chart: $(svg_labels "$T/queue.html")"
grep -q '<figcaption>queue: priority by id' "$T/queue.html" || fail "queue's caption"
ok "html: the queue page charts its rows (a bar per queued job, labelled by id)"
mkdir -p "$T/views"
cat >"$T/views/pets.sql" <<'SQL'
-- pets: a user view of known rows
SELECT 'cat <b>' AS name, 3 AS legs UNION ALL SELECT 'dog', 4 UNION ALL SELECT 'snake', 0
SQL
expect_rc 0 cs "${A[@]}" report pets --queries "$T/views" --format html -o "$T/pets.html"
[ "$(svg_labels "$T/pets.html")" = "$(printf 'cat <b>\ndog\nsnake')" ] ||
  fail "pets' chart: $(svg_labels "$T/pets.html")"
grep -qF '<title>dog: 4</title>' "$T/pets.html" && grep -qF 'cat &lt;b&gt;' "$T/pets.html" ||
  fail "pets' bars"
expect_rc 0 cs "${A[@]}" report overview --format html -o "$T/overview.html"
labels=$(svg_labels "$T/overview.html")
grep -qx done_24h <<<"$labels" || fail "overview's chart: $labels"
ok "html: a user view's page charts its rows (escaped); overview's, its figures"
expect_rc 0 cs "${A[@]}" report throughput --format html -o "$T/tp.html"
grep -q 'Throughput: jobs finished per hour' "$T/tp.html" && ! grep -q 'Heartbeats per server' "$T/tp.html" ||
  fail "throughput's page has another report's chart"
ok "html: throughput keeps its time chart, and only it"
done_testing
