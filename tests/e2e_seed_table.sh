#!/usr/bin/env bash
# docs/SEED.md, the seed's items mapped to coordsync, stays consistent as
# rows change state: the rows are numbered 1..N without a gap, every row ends
# in one of the states the page defines, the counts in its header paragraph
# are the table's, every test a row names exists, and every doc it links is
# there.
. "$TESTS_DIR/lib.sh"
D="$TESTS_DIR/../docs"
[ -f "$D/SEED.md" ] || fail "no docs/SEED.md"
python3 - "$D/SEED.md" "$TESTS_DIR" <<'PY' || fail "docs/SEED.md is inconsistent (above)"
import collections, os, re, sys
path, tests = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
rows = [l for l in text.splitlines() if re.match(r"^\| \d+ \|", l)]
bad = []
nums = [int(l.split("|")[1]) for l in rows]
if nums != list(range(1, len(nums) + 1)):
    bad.append("rows not numbered 1..%d in order: %s" % (len(nums), nums))
states = {"done": "done", "differs": "done differently",
          "issue 18": "for the Jira workflow (issue 18)", "not done": "not done",
          "not coordsync's": "that are not a program's"}
count = collections.Counter()
for l in rows:
    cells = [c.strip() for c in re.split(r"(?<!\\)\|", l.strip()[1:-1])]   # \| is a pipe in a cell
    if len(cells) != 4:
        bad.append("row %s has %d cells, not 4" % (cells[0], len(cells)))
        continue
    if cells[3] not in states:
        bad.append("row %s: unknown state '%s'" % (cells[0], cells[3]))
    count[cells[3]] += 1
    for t in re.findall(r"`(e2e_[a-z_]+|unit_[a-z_]+)`", cells[2]):
        if not any(os.path.exists(os.path.join(tests, t + ext)) for ext in (".sh", ".c")):
            bad.append("row %s names %s, which is not in tests/" % (cells[0], t))
head = re.search(r"\*\*(\d+) items\*\*:(.*?)\n\n", text, re.S)
if not head:
    bad.append("no '**N items**:' header paragraph")
else:
    if int(head.group(1)) != len(rows):
        bad.append("the header says %s items, the table has %d" % (head.group(1), len(rows)))
    said = " ".join(head.group(2).split())
    for s, words in states.items():
        m = re.search(r"(\d+) " + re.escape(words), said)
        if count[s] and not m:
            bad.append("the header does not count '%s' (%d rows) as 'N %s'" % (s, count[s], words))
        elif m and int(m.group(1)) != count[s]:
            bad.append("the header says %s %s, the table has %d" % (m.group(1), words, count[s]))
for link in re.findall(r"\]\(([A-Za-z_]+\.md)(?:#[^)]*)?\)", text):
    if not os.path.exists(os.path.join(os.path.dirname(path), link)):
        bad.append("link to %s, which is not in docs/" % link)
for b in bad:
    print("docs/SEED.md:", b, file=sys.stderr)
print("%d rows: %s" % (len(rows), dict(count)))
sys.exit(1 if bad else 0)
PY
ok "docs/SEED.md: rows numbered, states known, header counts match, named tests and links exist"
done_testing
