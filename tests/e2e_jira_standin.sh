#!/usr/bin/env bash
# Self-test of the Jira stand-in (tests/jira_standin.py) the Jira tests run
# against: each endpoint of JIRA_CONTRACT.md once, both pagination styles,
# auth (Basic on Cloud, Bearer on Data Center, 401, 403), Jira's error
# shapes, the write counter that idempotence checks rely on, and each fault
# (429 with Retry-After, 503, a slow answer).  Three stand-ins: Cloud with a
# page size of 5; Data Center with a kanban board, no /search/jql and the
# older Sprint strings; and
# today's Cloud (no /search: 410, epics in `parent`) as a read-only user.
source "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jiralib.sh"   # start_standin, STANDIN, SEED

printf 'tok-3f9a\n' >"$T/token"
chmod 600 "$T/token"
start_standin cloud --user alice@example.invalid --page-size 5
CLOUD=$BASE
start_standin dc --board-type kanban --search classic --sprint-field string
DC=$BASE
start_standin ro --user carol@example.invalid --search enhanced --epic-field parent
RO=$BASE
ok "three stand-ins listen ($CLOUD, $DC, $RO)"

python3 - "$CLOUD" "$DC" "$RO" "$T/passed" <<'PY'
import base64, json, re, sys, time, urllib.error, urllib.parse, urllib.request

CLOUD, DC, RO = sys.argv[1:4]
TOKEN = "tok-3f9a"
BASIC = "Basic " + base64.b64encode(b"alice@example.invalid:" + TOKEN.encode()).decode()
BEARER = "Bearer " + TOKEN
n = 1  # the shell's "listen" check


def ok(msg):
    global n
    n += 1
    print("ok %d - %s" % (n, msg), flush=True)


def fail(msg):
    print("FAIL: %s" % (msg,), file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def call(base, method, path, body=None, auth=BASIC, query=None):
    """(status, headers, json-or-None) of one request."""
    url = base + path + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if auth:
        req.add_header("Authorization", auth)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return r.status, r.headers, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, e.headers, json.loads(raw) if raw else None


def expect(want, got, what):
    st, hd, js = got
    check(st == want, "%s: expected %d, got %d %s" % (what, want, st, js))
    return js


def jira_error(js, what):
    check(isinstance(js, dict) and isinstance(js.get("errorMessages"), list)
          and isinstance(js.get("errors"), dict), "%s: not Jira's error shape: %s" % (what, js))


def state(base=CLOUD):
    return expect(200, call(base, "GET", "/_standin/state", auth=None), "state")


TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")

# ---- auth
for auth, what in ((None, "no header"), ("Basic " + base64.b64encode(b"alice@example.invalid:nope").decode(), "wrong token"),
                   ("Basic " + base64.b64encode(b"bob@example.invalid:" + TOKEN.encode()).decode(), "other user"),
                   (BEARER, "Bearer on Cloud")):
    st, hd, js = call(CLOUD, "GET", "/rest/api/2/myself", auth=auth)
    check(st == 401, "%s: expected 401, got %d" % (what, st))
    jira_error(js, what)
    check(hd.get("WWW-Authenticate"), "401 without WWW-Authenticate")
ok("Cloud: 401 in Jira's shape without auth, with a wrong token, another user, or Bearer")
me = expect(200, call(CLOUD, "GET", "/rest/api/2/myself"), "myself")
check(me["accountId"].startswith("557058:") and me["displayName"] == "Alice Archer", me)
ok("Cloud: Basic user:token answers myself with an accountId")
expect(401, call(DC, "GET", "/rest/api/2/myself", auth=BASIC), "Basic on DC")
me = expect(200, call(DC, "GET", "/rest/api/2/myself", auth=BEARER), "DC myself")
check(me["name"] == "alice" and "accountId" not in me, me)
ok("Data Center: Bearer PAT accepted, Basic refused; users carry name, not accountId")

# ---- fields
fields = expect(200, call(CLOUD, "GET", "/rest/api/2/field"), "field")
byname = {f["name"]: f["id"] for f in fields}
EPIC, SPRINT = byname.get("Epic Link"), byname.get("Sprint")
check(EPIC and SPRINT and EPIC.startswith("customfield_"), byname)
ok("field lists Epic Link (%s) and Sprint (%s)" % (EPIC, SPRINT))

# ---- classic search: startAt/maxResults/total, capped by --page-size 5
keys, start = [], 0
for _ in range(10):
    js = expect(200, call(CLOUD, "GET", "/rest/api/2/search", query={
        "jql": "project = VNF ORDER BY key", "startAt": start, "maxResults": 50,
        "fields": "summary,updated"}), "search")
    check(js["maxResults"] == 5 and js["total"] == 12 and js["startAt"] == start, js)
    keys += [i["key"] for i in js["issues"]]
    start += len(js["issues"])
    if start >= js["total"]:
        break
check(keys == ["VNF-%d" % i for i in range(1, 13)], keys)
check(set(js["issues"][0]["fields"]) == {"summary", "updated"}, js["issues"][0])
ok("classic search pages 12 issues 5 at a time (maxResults capped and echoed), key order")

# ---- enhanced search: nextPageToken/isLast
jql = 'project = VNF AND updated >= "2026/11/14 12:00" ORDER BY updated ASC'
got, token, pages = [], None, 0
while True:
    q = {"jql": jql, "maxResults": 100, "fields": "updated,status"}
    if token:
        q["nextPageToken"] = token
    js = expect(200, call(CLOUD, "GET", "/rest/api/2/search/jql", query=q), "search/jql")
    pages += 1
    check("total" not in js and "startAt" not in js, js.keys())
    got += js["issues"]
    if js["isLast"]:
        check("nextPageToken" not in js, "a token on the last page")
        break
    token = js["nextPageToken"]
    check(pages < 10, "no last page")
ups = [i["fields"]["updated"] for i in got]
check(ups == sorted(ups) and len(got) == 7 and pages == 2, (ups, pages))
check(all(TIME_RE.match(u) for u in ups), ups)
ok("enhanced search follows nextPageToken to isLast (7 issues, 2 pages), ORDER BY updated ASC, >= includes the minute itself")
js = expect(200, call(CLOUD, "GET", "/rest/api/2/search/jql", query={"jql": "key = VNF-3"}), "default fields")
check(js["issues"][0]["id"] == "10003" and "fields" not in js["issues"][0], js)
jira_error(expect(400, call(CLOUD, "GET", "/rest/api/2/search/jql", query={"jql": jql, "nextPageToken": "bogus"}), "bad token"), "bad token")
ok("enhanced search returns only ids by default; a forged nextPageToken is 400")

js = expect(200, call(CLOUD, "GET", "/rest/api/2/search", query={"jql": "key in (VNF-2, VNF-7) ORDER BY key DESC", "fields": "summary"}), "key in")
check([i["key"] for i in js["issues"]] == ["VNF-7", "VNF-2"], js)
js = expect(200, call(CLOUD, "GET", "/rest/api/2/search", query={"jql": "project = VNF AND (labels = curated OR status = Done) AND NOT issuetype = Sub-task ORDER BY key", "fields": "labels"}), "and/or")
check([i["key"] for i in js["issues"]] == ["VNF-5", "VNF-11", "VNF-12"], js)
js = expect(200, call(CLOUD, "GET", "/rest/api/2/search", query={"jql": "assignee != bob ORDER BY key", "fields": "assignee"}), "!=")
check(js["total"] == 6 and [i["key"] for i in js["issues"]] == ["VNF-1", "VNF-3", "VNF-5", "VNF-7", "VNF-10"], js)
for bad in ("project = VNF AND (key = VNF-1", "assignee in membersOf(x)", "summary ~ vnf",
            "project = NOPE", 'updated >= "yesterday"', "key in (VNF-99)", "project = VNF ORDER BY rank"):
    jira_error(expect(400, call(CLOUD, "GET", "/rest/api/2/search", query={"jql": bad}), bad), bad)
ok("JQL: key in (...) with ORDER BY key DESC, AND/OR/NOT with parentheses, != leaves out the unassigned; 7 queries it does not understand are 400 in Jira's shape")

# ---- issue get
iss = expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-3"), "issue")
f = iss["fields"]
check(f["issuetype"]["name"] == "Story" and f["status"]["name"] == "In Progress"
      and f["status"]["statusCategory"]["key"] == "indeterminate"
      and f["assignee"]["displayName"] == "Alice Archer" and f["assignee"]["accountId"], f)
check(f[EPIC] == "VNF-1" and f[SPRINT][0]["name"] == "VNF Sprint 1" and f["labels"] == ["vnf"], f)
check(TIME_RE.match(f["created"]) and TIME_RE.match(f["updated"]), f)
sub = expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-6", query={"fields": "parent,issuetype,assignee"}), "subtask")
check(sub["fields"]["parent"]["key"] == "VNF-3" and sub["fields"]["issuetype"]["subtask"]
      and sub["fields"]["assignee"] is None and "summary" not in sub["fields"], sub)
js = expect(404, call(CLOUD, "GET", "/rest/api/2/issue/VNF-99"), "404")
jira_error(js, "404")
check(js["errorMessages"] == ["Issue does not exist or you do not have permission to see it."], js)
ok("issue: status category, assignee, Epic Link, Sprint, parent of a sub-task; 404 in Jira's shape")

# ---- create
w0 = state()["writes"]
js = expect(201, call(CLOUD, "POST", "/rest/api/2/issue", {"fields": {
    "project": {"key": "VNF"}, "summary": "Curated: index job", "issuetype": {"name": "Task"},
    "labels": ["vnf", "curated"], EPIC: "VNF-1",
    "assignee": {"accountId": "557058:0a1b2c3d-0002-4e5f-8a9b-bob000000002"}}}), "create")
check(js["key"] == "VNF-13" and js["id"] and js["self"].endswith("/issue/" + js["id"]), js)
new = expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-13"), "get new")["fields"]
check(new["status"]["name"] == "To Do" and new["reporter"]["displayName"] == "Alice Archer"
      and new["assignee"]["displayName"] == "Bob Baker" and new[EPIC] == "VNF-1"
      and new["created"] == new["updated"] and TIME_RE.match(new["created"]), new)
check(state()["writes"] == w0 + 1, "create did not count as a write")
js = expect(400, call(CLOUD, "POST", "/rest/api/2/issue", {"fields": {"project": {"key": "VNF"}, "issuetype": {"name": "Task"}}}), "no summary")
check("summary" in js["errors"], js)
js = expect(400, call(CLOUD, "POST", "/rest/api/2/issue", {"fields": {"project": {"key": "VNF"}, "summary": "x", "issuetype": {"name": "Sub-task"}}}), "orphan subtask")
check("parent" in js["errors"], js)
js = expect(201, call(CLOUD, "POST", "/rest/api/2/issue", {"fields": {"project": {"id": "10000"}, "summary": "child", "issuetype": {"name": "Sub-task"}, "parent": {"key": "VNF-13"}}}), "subtask")
check(js["key"] == "VNF-14", js)
check(state()["writes"] == w0 + 2, "failed creates counted")
ok("create: 201 {id,key,self} with the next key, reporter = caller, created = updated; 400 errors by field")

# ---- edit (fields and update verbs), idempotent
before = state()
upd0 = [i for i in before["issues"] if i["key"] == "VNF-9"][0]["updated"]
edit = {"update": {"labels": [{"add": "vnf"}, {"add": "curated"}]}, "fields": {EPIC: "VNF-2"}}
expect(204, call(CLOUD, "PUT", "/rest/api/2/issue/VNF-9", edit), "edit")
s1 = state()
i9 = [i for i in s1["issues"] if i["key"] == "VNF-9"][0]
check(i9["labels"] == ["vnf", "curated"] and i9["epic"] == "VNF-2" and i9["updated"] > upd0, i9)
check(s1["writes"] == before["writes"] + 1, "edit not counted")
expect(204, call(CLOUD, "PUT", "/rest/api/2/issue/VNF-9", edit), "edit again")
s2 = state()
check(s2["writes"] == s1["writes"] and [i for i in s2["issues"] if i["key"] == "VNF-9"][0]["updated"] == i9["updated"],
      "a no-op edit changed something")
js = expect(400, call(CLOUD, "PUT", "/rest/api/2/issue/VNF-9", {"fields": {"status": {"name": "Done"}}}), "status edit")
check("status" in js["errors"], js)
expect(404, call(CLOUD, "PUT", "/rest/api/2/issue/VNF-99", edit), "edit 404")
ok("edit: update.labels add and Epic Link set bump updated and count one write; the same edit again changes nothing")

# ---- assignee
w = state()["writes"]
expect(204, call(CLOUD, "PUT", "/rest/api/2/issue/VNF-9/assignee", {"accountId": "557058:0a1b2c3d-0002-4e5f-8a9b-bob000000002"}), "assign")
expect(204, call(CLOUD, "PUT", "/rest/api/2/issue/VNF-9/assignee", {"accountId": "557058:0a1b2c3d-0002-4e5f-8a9b-bob000000002"}), "assign again")
s = state()
check(s["writes"] == w + 1 and [i for i in s["issues"] if i["key"] == "VNF-9"][0]["assignee"] == "bob", "assign")
js = expect(400, call(CLOUD, "PUT", "/rest/api/2/issue/VNF-9/assignee", {"accountId": "nobody"}), "unknown user")
jira_error(js, "unknown user")
expect(204, call(DC, "PUT", "/rest/api/2/issue/VNF-9/assignee", {"name": "carol"}, auth=BEARER), "assign by name")
check([i for i in state(DC)["issues"] if i["key"] == "VNF-9"][0]["assignee"] == "carol", "DC assign")
ok("assignee: by accountId (once counted, twice the same), by name on Data Center; unknown user 400")

# ---- transitions
ts = expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-9/transitions"), "transitions")["transitions"]
check(sorted(t["to"]["name"] for t in ts) == ["Done", "In Progress"] and all(t["id"] for t in ts), ts)
tid = [t["id"] for t in ts if t["to"]["name"] == "In Progress"][0]
w = state()["writes"]
expect(204, call(CLOUD, "POST", "/rest/api/2/issue/VNF-9/transitions", {"transition": {"id": tid}}), "transition")
check(expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-9", query={"fields": "status"}), "s")["fields"]["status"]["name"] == "In Progress", "not moved")
js = expect(400, call(CLOUD, "POST", "/rest/api/2/issue/VNF-9/transitions", {"transition": {"id": tid}}), "transition again")
jira_error(js, "transition again")
ts = expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-9/transitions"), "transitions")["transitions"]
check(sorted(t["to"]["name"] for t in ts) == ["Done", "To Do"], ts)
check(state()["writes"] == w + 1, "transition writes")
ok("transitions: the list follows the current status; POST moves it (204), an unavailable id is 400")

# ---- users
us = expect(200, call(CLOUD, "GET", "/rest/api/2/user/search", query={"query": "bob"}), "user search")
check(len(us) == 1 and us[0]["accountId"].endswith("bob000000002"), us)
expect(400, call(CLOUD, "GET", "/rest/api/2/user/search", query={"username": "bob"}), "username on Cloud")
us = expect(200, call(DC, "GET", "/rest/api/2/user/search", query={"username": "carol"}, auth=BEARER), "DC user search")
check(len(us) == 1 and us[0]["name"] == "carol", us)
ok("user search: ?query= on Cloud (accountId), ?username= on Data Center (name)")

# ---- versions
vs = expect(200, call(CLOUD, "GET", "/rest/api/2/project/VNF/versions"), "versions")
check([v["name"] for v in vs] == ["1.0"], vs)
w = state()["writes"]
v = expect(201, call(CLOUD, "POST", "/rest/api/2/version", {"name": "VNF plan A", "project": "VNF"}), "version")
check(v["name"] == "VNF plan A" and v["projectId"] == 10000 and v["id"], v)
js = expect(400, call(CLOUD, "POST", "/rest/api/2/version", {"name": "VNF plan A", "projectId": 10000}), "dup version")
check("name" in js["errors"], js)
expect(404, call(CLOUD, "GET", "/rest/api/2/project/NOPE/versions"), "versions 404")
expect(204, call(CLOUD, "PUT", "/rest/api/2/issue/VNF-4", {"update": {"fixVersions": [{"add": {"name": "VNF plan A"}}]}}), "fixVersion")
check(expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-4"), "i")["fields"]["fixVersions"][0]["name"] == "VNF plan A", "fixVersion")
check(state()["writes"] == w + 2, "version writes")
ok("versions: list, create (201), duplicate 400, assigned through update.fixVersions")

# ---- agile: board, sprints (paged), create, move, backlog
b = expect(200, call(CLOUD, "GET", "/rest/agile/1.0/board/1"), "board")
check(b["type"] == "scrum" and b["location"]["projectKey"] == "VNF", b)
expect(404, call(CLOUD, "GET", "/rest/agile/1.0/board/9"), "board 404")
seen, start = [], 0
for _ in range(10):
    js = expect(200, call(CLOUD, "GET", "/rest/agile/1.0/board/1/sprint", query={"state": "active,future", "startAt": start, "maxResults": 1}), "sprints")
    check(js["startAt"] == start and js["maxResults"] == 1, js)
    seen += [s["name"] for s in js["values"]]
    start += len(js["values"])
    if js["isLast"]:
        break
check(seen == ["VNF Sprint 1", "VNF Sprint 2"], seen)
w = state()["writes"]
sp = expect(201, call(CLOUD, "POST", "/rest/agile/1.0/sprint", {"name": "VNF Sprint 3", "originBoardId": 1}), "sprint")
check(sp["state"] == "future" and sp["originBoardId"] == 1 and sp["id"] == 4, sp)
expect(204, call(CLOUD, "POST", "/rest/agile/1.0/sprint/4/issue", {"issues": ["VNF-8", "VNF-12"]}), "to sprint")
expect(204, call(CLOUD, "POST", "/rest/agile/1.0/sprint/4/issue", {"issues": ["VNF-8", "VNF-12"]}), "to sprint again")
s = state()
check(s["writes"] == w + 2, "sprint writes %d -> %d" % (w, s["writes"]))
check(expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-8"), "i")["fields"][SPRINT][0]["id"] == 4, "sprint field")
check("VNF-8" not in s["backlog"], s["backlog"])
expect(400, call(CLOUD, "POST", "/rest/agile/1.0/sprint/1/issue", {"issues": ["VNF-8"]}), "closed sprint")
expect(404, call(CLOUD, "POST", "/rest/agile/1.0/sprint/77/issue", {"issues": ["VNF-8"]}), "sprint 404")
expect(204, call(CLOUD, "POST", "/rest/agile/1.0/backlog/issue", {"issues": ["VNF-8"]}), "backlog")
expect(204, call(CLOUD, "POST", "/rest/agile/1.0/backlog/issue", {"issues": ["VNF-8"]}), "backlog again")
s2 = state()
check(s2["writes"] == s["writes"] + 1 and "VNF-8" in s2["backlog"], (s2["writes"], s2["backlog"]))
check(expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-8"), "i")["fields"][SPRINT] is None, "sprint not cleared")
ok("agile: board, sprints paged by startAt/isLast, create (201 future), move to sprint and to backlog, each once")
b = expect(200, call(DC, "GET", "/rest/agile/1.0/board/1", auth=BEARER), "kanban board")
check(b["type"] == "kanban", b)
js = expect(400, call(DC, "GET", "/rest/agile/1.0/board/1/sprint", auth=BEARER), "kanban sprints")
check(js["errorMessages"] == ["The board does not support sprints"], js)
expect(400, call(DC, "POST", "/rest/agile/1.0/sprint", {"name": "x", "originBoardId": 1}, auth=BEARER), "kanban sprint")
ok("kanban board (--board-type): no sprints, 400 in Jira's words")

# ---- 403 for a user without write permission
st, hd, js = call(RO, "PUT", "/rest/api/2/issue/VNF-1", {"update": {"labels": [{"add": "x"}]}},
                  auth="Basic " + base64.b64encode(b"carol@example.invalid:" + TOKEN.encode()).decode())
check(st == 403, "read-only user got %d" % st)
jira_error(js, "403")
check(state(RO)["writes"] == 0, "403 wrote")
ok("a read-only user gets 403 on writes and nothing changes")

# ---- search flavours and the epic in `parent`
CAROL = "Basic " + base64.b64encode(b"carol@example.invalid:" + TOKEN.encode()).decode()
expect(404, call(DC, "GET", "/rest/api/2/search/jql", query={"jql": "project = VNF"}, auth=BEARER), "DC search/jql")
expect(200, call(DC, "GET", "/rest/api/2/search", query={"jql": "project = VNF"}, auth=BEARER), "DC search")
js = expect(410, call(RO, "GET", "/rest/api/2/search", query={"jql": "project = VNF"}, auth=CAROL), "Cloud search gone")
check("search/jql" in js["errorMessages"][0], js)
ok("--search classic: /search/jql is 404; --search enhanced: /search is 410 with Atlassian's words")
f = expect(200, call(DC, "GET", "/rest/api/2/issue/VNF-3", auth=BEARER), "DC issue")["fields"]
check(re.match(r"^com\.atlassian\.greenhopper\.service\.sprint\.Sprint@[0-9a-f]+\[id=2,rapidViewId=1,state=ACTIVE,name=VNF Sprint 1,", f[SPRINT][0]), f[SPRINT])
ok("--sprint-field string: the Sprint field as Data Center's Sprint@..[id=..,name=..] text")
names = [f["name"] for f in expect(200, call(RO, "GET", "/rest/api/2/field", auth=CAROL), "fields")]
check("Epic Link" not in names and "Sprint" in names, names)
f = expect(200, call(RO, "GET", "/rest/api/2/issue/VNF-3", auth=CAROL), "i")["fields"]
check(f["parent"]["key"] == "VNF-1" and EPIC not in f, f)
js = expect(200, call(RO, "GET", "/rest/api/2/search/jql", query={"jql": "parent = VNF-3 ORDER BY key", "fields": "parent"}, auth=CAROL), "parent jql")
check([i["key"] for i in js["issues"]] == ["VNF-6", "VNF-7"], js)
js = expect(200, call(RO, "GET", "/rest/api/2/search/jql", query={"jql": "parent = VNF-2", "fields": "parent"}, auth=CAROL), "parent jql")
check(sorted(i["key"] for i in js["issues"]) == ["VNF-10", "VNF-5", "VNF-8"], js)
expect(400, call(RO, "GET", "/rest/api/2/search/jql", query={"jql": '"Epic Link" = VNF-1'}, auth=CAROL), "no Epic Link")
js = expect(201, call(CLOUD, "POST", "/rest/api/2/issue", {"fields": {"parent": {"key": "VNF-2"}, "project": {"key": "VNF"}, "summary": "epic child", "issuetype": {"name": "Story"}}}), "child by parent")
f = expect(200, call(CLOUD, "GET", "/rest/api/2/issue/" + js["key"]), "i")["fields"]
check(f[EPIC] == "VNF-2" and "parent" not in f, f)
js = expect(200, call(CLOUD, "GET", "/rest/api/2/search", query={"jql": '"Epic Link" = VNF-2 AND key = %s' % js["key"]}), "epic link jql")
check(js["total"] == 1, js)
ok("--epic-field parent: no Epic Link, epic children carry parent; on a link site, parent=epic sets Epic Link")

# ---- a chunked request body (libcurl's upload without a size)
req = urllib.request.Request(CLOUD + "/rest/api/2/issue/VNF-12", method="PUT",
                             data=iter([b'{"fields":', b' {"summary": "Curated ticket index (chunked)"}}']))
req.add_header("Authorization", BASIC)
req.add_header("Content-Type", "application/json")
with urllib.request.urlopen(req, timeout=10) as r:
    check(r.status == 204, r.status)
check(expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-12"), "i")["fields"]["summary"].endswith("(chunked)"), "chunked")
expect(200, call(CLOUD, "GET", "/rest/api/2/myself"), "same server after chunked")
ok("a chunked PUT body is read whole")

# ---- faults
expect(200, call(CLOUD, "POST", "/_standin/fault", {"path_prefix": "/rest/api/2/search", "status": 429, "retry_after": 1, "count": 2}, auth=None), "fault")
for _ in range(2):
    st, hd, js = call(CLOUD, "GET", "/rest/api/2/search/jql", query={"jql": "project = VNF"})
    check(st == 429 and hd.get("Retry-After") == "1", (st, dict(hd)))
    jira_error(js, "429")
expect(200, call(CLOUD, "GET", "/rest/api/2/search/jql", query={"jql": "project = VNF"}), "after 429s")
ok("fault 429 with Retry-After: 1, twice, then the answer")
expect(200, call(CLOUD, "POST", "/_standin/fault", {"path_prefix": "/rest/api/2/issue", "method": "PUT", "status": 503}, auth=None), "fault 503")
expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-1"), "GET not faulted by a PUT fault")
expect(503, call(CLOUD, "PUT", "/rest/api/2/issue/VNF-1", {"fields": {"summary": "x"}}), "503")
check(expect(200, call(CLOUD, "GET", "/rest/api/2/issue/VNF-1"), "i")["fields"]["summary"] == "VNF framework", "503 wrote")
ok("fault 503 once, on PUT only, changing nothing")
expect(200, call(CLOUD, "POST", "/_standin/fault", {"path_prefix": "/rest/api/2/myself", "delay": 1.5}, auth=None), "fault delay")
t0 = time.monotonic()
expect(200, call(CLOUD, "GET", "/rest/api/2/myself"), "slow")
slow = time.monotonic() - t0
t0 = time.monotonic()
expect(200, call(CLOUD, "GET", "/rest/api/2/myself"), "fast")
check(slow >= 1.4 and time.monotonic() - t0 < 1.0, "slow %.2f" % slow)
ok("fault delay: one answer after %.1f s, the next at once" % slow)
expect(200, call(CLOUD, "POST", "/_standin/fault", {"path_prefix": "/rest/api/2/myself", "delay": 1.0}, auth=None), "fault delay")
req = urllib.request.Request(CLOUD + "/rest/api/2/myself")
req.add_header("Authorization", BASIC)
try:
    urllib.request.urlopen(req, timeout=0.3)
    fail("no timeout")
except (TimeoutError, urllib.error.URLError) as e:
    check("timed out" in str(e), e)
time.sleep(1.0)
expect(200, call(CLOUD, "GET", "/rest/api/2/myself"), "after a client timeout")
ok("a client that times out on a slow answer leaves the stand-in serving")

# ---- control edit and counters
s0 = state()
js = expect(200, call(CLOUD, "POST", "/_standin/edit", {"key": "VNF-2", "fields": {"summary": "Ticket mirror (renamed)", "status": "In Progress"}}, auth=None), "edit")
s1 = state()
i2 = [i for i in s1["issues"] if i["key"] == "VNF-2"][0]
check(i2["summary"] == "Ticket mirror (renamed)" and i2["status"] == "In Progress"
      and i2["updated"] > "2026-11-02T09:15:30.000+0000", i2)
check(s1["writes"] == s0["writes"] and s1["edits"] == s0["edits"] + 1, "edit counted as a write")
js = expect(200, call(CLOUD, "GET", "/rest/api/2/search/jql", query={"jql": 'updated >= "%s"' % i2["updated"][:16].replace("T", " ").replace("-", "/"), "fields": "summary"}), "search edited")
check("VNF-2" in [i["key"] for i in js["issues"]], js)
check(s1["requests"].get("GET /rest/api/2/issue/VNF-1") == 2
      and s1["endpoints"].get("PUT /rest/api/2/issue/{key}", 0) >= 5
      and s1["responses"].get("429") == 2, (s1["endpoints"], s1["responses"]))
ok("control edit bumps updated (found by an updated >= search) without counting a write; request counters by path and endpoint")
with open(sys.argv[4], "w") as f:
    f.write("%d\n" % n)
PY
PASS=$(cat "$T/passed")
for s in cloud dc ro; do
  [ ! -s "$T/$s.err" ] || fail "stand-in $s wrote to stderr: $(cat "$T/$s.err")"
done
grep -q '^GET /rest/api/2/myself 401$' "$T/cloud.log" || fail "no 401 in the request log"
ok "the stand-ins logged each request and no error"
