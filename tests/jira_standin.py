#!/usr/bin/env python3
"""A stateful stand-in for Jira on 127.0.0.1, for coordsync's Jira tests.

  python3 jira_standin.py --port-file F --state SEED.json --token-file T
                          [--user U] [--deployment cloud|datacenter]
                          [--page-size N] [--board-type scrum|kanban]
                          [--search both|classic|enhanced] [--epic-field link|parent]
                          [--sprint-field object|string]
                          [--log FILE] [--lifetime SECONDS]

Binds 127.0.0.1 on an ephemeral port, writes the port to F (atomically) once
it listens, and serves until killed (or for --lifetime seconds, default 900,
so a dead test cannot leave it behind for long).  State lives in memory; the
seed file is only read, never written.  The interface is /work/wt/
JIRA_CONTRACT.md (the endpoints the client uses); the shapes follow
Atlassian's published documentation:

  Jira platform REST API v2 (Cloud and Data Center):
    https://developer.atlassian.com/cloud/jira/platform/rest/v2/
    https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/search
      (search: startAt/maxResults/total; fields default *navigable, GET
      issue default *all; maxResults is capped by the server and the cap is
      echoed in the answer:
      https://confluence.atlassian.com/jirakb/changing-maxresults-parameter-for-jira-rest-api-779160706.html)
    GET /rest/api/2/search/jql, "enhanced search": nextPageToken/isLast;
      the token is opaque; by default only the issue id is returned; on the
      last page the token is absent (https://jira.atlassian.com/browse/JRACLOUD-92184)
    errors: {"errorMessages":[...],"errors":{field: message}}
      (https://support.atlassian.com/jira/kb/how-to-handle-http-400-bad-request-errors-on-jira-search-rest-api-endpoint)
    create issue: 201 {"id","key","self"} (CreatedIssue); edit, assign and
      transition: 204 No Content
    rate limiting: 429 with Retry-After in seconds; some 503s carry it too
      (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/)
  Jira Software (agile) REST 1.0:
    https://developer.atlassian.com/cloud/jira/software/rest/api-group-board/
      (GET board/{id}/sprint?state=: startAt/maxResults/isLast/values;
      "The board does not support sprints" on a kanban board)
    https://developer.atlassian.com/cloud/jira/software/rest/api-group-sprint/
      (POST sprint: 201, state "future"; POST sprint/{id}/issue: 204)
    https://developer.atlassian.com/cloud/jira/software/rest/api-group-backlog/
      (POST backlog/issue: removes the future and active sprints; 204)

Auth: with --user U, only `Authorization: Basic base64(U:TOKEN)` (Jira Cloud:
email and API token); without it, only `Authorization: Bearer TOKEN` (a Data
Center personal access token, owned by the seed's token_owner).  Anything
else is 401.  A seed user with "readonly": true gets 403 on every write.
--deployment (default: cloud with --user, datacenter without) picks how
users look: accountId on Cloud, name/key on Data Center; user search takes
?query= on Cloud and ?username= on Data Center, as the real ones do.

--search enhanced plays today's Jira Cloud, where GET /rest/api/2/search has
been removed and answers 410 ("The requested API has been removed. Please
migrate to the /rest/api/3/search/jql API.", CHANGE-2046:
https://developer.atlassian.com/changelog/#CHANGE-2046); --search classic
plays a Data Center without /search/jql (404).  The default serves both.
--epic-field parent plays a site without the Epic Link field, where an
epic's children carry it in `parent` (GET /field lists no "Epic Link",
writing customfield_10014 is 400); by default (link) Epic Link is
customfield_10014 and `parent` is set only on sub-tasks.  On both, setting
`parent` to an epic on a non-sub-task links it to the epic.

The Sprint field (customfield_10020) holds objects {id, name, state,
boardId, goal, startDate, endDate} as on Cloud and Data Center 8+; with
--sprint-field string it holds the older Data Center strings
"com.atlassian.greenhopper.service.sprint.Sprint@5f1e[id=2,rapidViewId=1,
state=ACTIVE,name=VNF Sprint 1,...]".

JQL understood (anything else is 400 with Jira's error shape): clauses joined
by AND, OR, NOT and parentheses, on project, key/issuekey, updated/created (=, >, >=, <, <=; dates
'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd' or -5d,
-3h, -10m, -2w; the user's time zone is UTC), status, issuetype, labels,
assignee, reporter, parent, "Epic Link", sprint (=, !=, in, not in, is EMPTY,
is not EMPTY), and ORDER BY key|id|updated|created [ASC|DESC].  Without ORDER
BY the order is key ASC; dates sort DESC unless ASC is given, as in Jira.

Control endpoints for the tests (no auth, never faulted):
  GET  /_standin/state  the state in the seed's shape, plus "backlog",
       "writes" (successful REST POST/PUT that changed something), "edits"
       (/_standin/edit calls), "requests" ("METHOD /path" -> count),
       "endpoints" ("METHOD /template" -> count), "responses" (status -> count)
       and the faults still armed
  POST /_standin/fault  {"path_prefix":P, "method":M?, "status":429,
       "retry_after":1, "count":2} | {"path_prefix":P, "status":503} |
       {"path_prefix":P, "delay":5} (answers normally after 5 s) |
       {"clear":true}.  count defaults to 1.
  POST /_standin/edit   {"key":K, "fields":{seed-shaped fields}} changes an
       issue as a person would (bumps updated unless "updated" is given);
       without "key" it creates one; {"board":{"type":"kanban"}} switches
       the board.
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import sys
import threading
import time
import http.server
import urllib.parse

EPIC_FIELD = "customfield_10014"
SPRINT_FIELD = "customfield_10020"
CATEGORIES = {
    "new": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"},
    "indeterminate": {"id": 4, "key": "indeterminate", "colorName": "yellow",
                      "name": "In Progress"},
    "done": {"id": 3, "key": "done", "colorName": "green", "name": "Done"},
}
UTC = datetime.timezone.utc


class ApiError(Exception):
    """An answer in Jira's error shape: status, errorMessages, errors."""

    def __init__(self, status, messages=None, errors=None, headers=None):
        super().__init__(status)
        self.status = status
        self.body = {"errorMessages": list(messages or []), "errors": dict(errors or {})}
        self.headers = headers or {}


def not_found_issue():
    return ApiError(404, ["Issue does not exist or you do not have permission to see it."])


# ---------------------------------------------------------------- times

def fmt_time(dt):
    """Jira's timestamp format: 2026-12-03T17:58:37.000+0000 (UTC)."""
    dt = dt.astimezone(UTC)
    return "%s.%03d+0000" % (dt.strftime("%Y-%m-%dT%H:%M:%S"), dt.microsecond // 1000)


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z")


def now():
    return datetime.datetime.now(UTC)


def key_num(key):
    try:
        return int(key.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


# ---------------------------------------------------------------- JQL

TOKEN_RE = re.compile(r'''\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|'''
                      r'''(?P<op>!=|>=|<=|=|>|<|~|\(|\)|,)|(?P<word>[^\s=!<>~(),"']+))''')

DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
PERIOD_RE = re.compile(r"^-?(\d+)([wdhm])$")
FIELD_ALIASES = {
    "project": "project", "key": "key", "issuekey": "key", "id": "key",
    "updated": "updated", "updateddate": "updated", "created": "created",
    "createddate": "created", "status": "status", "issuetype": "issuetype",
    "type": "issuetype", "labels": "labels", "assignee": "assignee",
    "reporter": "reporter", "parent": "parent", "epic link": "epic",
    "cf[10014]": "epic", "sprint": "sprint", "cf[10020]": "sprint",
}
ORDER_FIELDS = {"key": "key", "issuekey": "key", "id": "key", "updated": "updated",
                "created": "created"}


def jql_error(msg):
    return ApiError(400, [msg])


def tokenize(text):
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise jql_error("Error in the JQL Query: The character '%s' is a reserved "
                            "JQL character. (line 1, character %d)" % (text[pos], pos + 1))
        pos = m.end()
        if m.group("str") is not None:
            raw = m.group("str")[1:-1]
            out.append(("str", re.sub(r"\\(.)", r"\1", raw)))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            out.append(("word", m.group("word")))
    return out


class Jql:
    """A parsed query: match(issue) and order (a list of (field, desc)).
    The tree: ("and"|"or", [nodes]), ("not", node) or (field, op, arg)."""

    def __init__(self, store, text):
        self.store = store
        self.toks = tokenize(text or "")
        self.i = 0
        self.tree = None
        self.order = []
        self.parse()

    def peek(self, k=0):
        return self.toks[self.i + k] if self.i + k < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        if t[0] is None:
            raise jql_error("Error in the JQL Query: Expecting more of the query "
                            "(line 1, character %d)" % (self.i + 1))
        self.i += 1
        return t

    def kw(self, word, k=0):
        t = self.peek(k)
        return t[0] == "word" and t[1].lower() == word

    def parse(self):
        if self.peek()[0] is not None and not self.kw("order"):
            self.tree = self.expr()
        if self.kw("order"):
            self.i += 1
            if not self.kw("by"):
                raise jql_error("Error in the JQL Query: Expecting 'by' after 'order'.")
            self.i += 1
            while True:
                kind, name = self.take()
                field = ORDER_FIELDS.get(name.lower())
                if field is None:
                    raise jql_error(self.unknown_field(name))
                desc = field in ("updated", "created")
                if self.kw("asc") or self.kw("desc"):
                    desc = self.take()[1].lower() == "desc"
                self.order.append((field, desc))
                if self.peek() == ("op", ","):
                    self.i += 1
                    continue
                break
        if self.peek()[0] is not None:
            raise jql_error("Error in the JQL Query: Expecting either 'OR' or 'AND' but "
                            "got '%s'." % self.peek()[1])

    def expr(self):
        terms = [self.term()]
        while self.kw("or"):
            self.i += 1
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else ("or", terms)

    def term(self):
        factors = [self.factor()]
        while self.kw("and"):
            self.i += 1
            factors.append(self.factor())
        return factors[0] if len(factors) == 1 else ("and", factors)

    def factor(self):
        if self.kw("not"):
            self.i += 1
            return ("not", self.factor())
        if self.peek() == ("op", "("):
            self.i += 1
            e = self.expr()
            if self.take() != ("op", ")"):
                raise jql_error("Error in the JQL Query: Expecting ')' before the end of "
                                "the query.")
            return e
        return self.clause()

    @staticmethod
    def unknown_field(name):
        return "Field '%s' does not exist or you do not have permission to view it." % name

    def value(self):
        kind, v = self.take()
        if kind == "op":
            raise jql_error("Error in the JQL Query: Expecting operand before '%s'." % v)
        return v

    def clause(self):
        kind, name = self.take()
        if kind == "op":
            raise jql_error("Error in the JQL Query: Expecting a field name but got '%s'."
                            % name)
        field = FIELD_ALIASES.get(name.lower())
        if field is None or (field == "epic" and not self.store.epic_link):
            raise jql_error(self.unknown_field(name))
        kind, op = self.take()
        if kind == "word" and op.lower() == "not" and self.kw("in"):
            self.i += 1
            op = "not in"
        elif kind == "word" and op.lower() == "in":
            op = "in"
        elif kind == "word" and op.lower() == "is":
            neg = False
            if self.kw("not"):
                self.i += 1
                neg = True
            v = self.value()
            if v.lower() not in ("empty", "null"):
                raise jql_error("Error in the JQL Query: Expecting EMPTY or NULL after IS.")
            if field not in ("assignee", "labels", "parent", "epic", "sprint"):
                raise jql_error("The field '%s' does not support searching for EMPTY values."
                                % name)
            return (field, "is not empty" if neg else "is empty", None)
        elif kind != "op" or op in ("(", ")", ","):
            raise jql_error("Error in the JQL Query: Expecting operator but got '%s'." % op)
        if op in ("in", "not in"):
            if self.take() != ("op", "("):
                raise jql_error("Error in the JQL Query: Expecting '(' after IN.")
            vals = [self.value()]
            while self.peek() == ("op", ","):
                self.i += 1
                vals.append(self.value())
            if self.take() != ("op", ")"):
                raise jql_error("Error in the JQL Query: Expecting ')' to close the list.")
        else:
            vals = [self.value()]
        if field in ("updated", "created"):
            if op not in ("=", "!=", ">", ">=", "<", "<="):
                raise jql_error("The operator '%s' is not supported by the '%s' field."
                                % (op, name))
            return (field, op, self.date(name, vals[0]))
        if op not in ("=", "!=", "in", "not in"):
            raise jql_error("The operator '%s' is not supported by the '%s' field." % (op, name))
        return (field, op, [self.check_value(field, name, v) for v in vals])

    def date(self, name, v):
        m = PERIOD_RE.match(v)
        if m:
            unit = {"w": 604800, "d": 86400, "h": 3600, "m": 60}[m.group(2)]
            sign = -1 if v.startswith("-") else 1
            return now() + datetime.timedelta(seconds=sign * int(m.group(1)) * unit)
        for f in DATE_FORMATS:
            try:
                return datetime.datetime.strptime(v, f).replace(tzinfo=self.store.user_tz)
            except ValueError:
                pass
        raise jql_error("Date value '%s' for field '%s' is invalid. Valid formats include: "
                        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
                        "or a period format e.g. '-5d', '4w 2d'." % (v, name))

    def check_value(self, field, name, v):
        st = self.store
        if field == "project":
            p = st.state["project"]
            if v.upper() not in (p["key"].upper(), str(p["id"])):
                raise jql_error("The value '%s' does not exist for the field 'project'." % v)
            return p["key"]
        if field in ("key", "parent", "epic"):
            if not re.match(r"^([A-Za-z][A-Za-z0-9_]*-\d+|\d+)$", v):
                raise jql_error("The issue key '%s' for field '%s' is invalid." % (v, name))
            iss = st.find_issue(v)
            if iss is None:
                raise jql_error("An issue with key '%s' does not exist for field '%s'."
                                % (v, name))
            return iss["key"]
        if field == "status":
            for s in st.state["statuses"]:
                if s["name"].lower() == v.lower() or s["id"] == v:
                    return s["name"]
            raise jql_error("The value '%s' does not exist for the field 'status'." % v)
        if field == "issuetype":
            for t in st.state["issuetypes"]:
                if t["name"].lower() == v.lower() or t["id"] == v:
                    return t["name"]
            raise jql_error("The value '%s' does not exist for the field 'issuetype'." % v)
        if field in ("assignee", "reporter"):
            u = st.find_user(v)
            if u is None:
                raise jql_error("The value '%s' does not exist for the field '%s'." % (v, name))
            return u["name"]
        if field == "sprint":
            for s in st.state["sprints"]:
                if str(s["id"]) == v or s["name"].lower() == v.lower():
                    return s["id"]
            raise jql_error("Sprint with name '%s' does not exist or you do not have "
                            "permission to view it." % v)
        return v  # labels

    def match(self, iss, node=None):
        node = self.tree if node is None else node
        if node is None:
            return True
        if node[0] in ("and", "or"):
            hits = (self.match(iss, n) for n in node[1])
            return all(hits) if node[0] == "and" else any(hits)
        if node[0] == "not":
            return not self.match(iss, node[1])
        return self.clause_match(iss, *node)

    def clause_match(self, iss, field, op, arg):
        if field in ("updated", "created"):
            t = parse_time(iss[field])
            return {"=": t == arg, "!=": t != arg, ">": t > arg, ">=": t >= arg,
                    "<": t < arg, "<=": t <= arg}[op]
        have = {"project": [self.store.state["project"]["key"]],
                "key": [iss["key"]], "status": [iss["status"]],
                "issuetype": [iss["type"]], "labels": iss.get("labels") or [],
                "assignee": [iss.get("assignee")] if iss.get("assignee") else [],
                "reporter": [iss.get("reporter")] if iss.get("reporter") else [],
                "parent": [p for p in (iss.get("parent"), None if self.store.epic_link
                                       else iss.get("epic")) if p],
                "epic": [iss.get("epic")] if iss.get("epic") else [],
                "sprint": [iss.get("sprint")] if iss.get("sprint") is not None else [],
                }[field]
        if op == "is empty":
            return not have
        if op == "is not empty":
            return bool(have)
        hit = any((h.lower() if isinstance(h, str) else h)
                  == (a.lower() if isinstance(a, str) else a)
                  for h in have for a in arg)
        # As in Jira, != and NOT IN never match a field without a value.
        return hit if op in ("=", "in") else bool(have) and not hit

    def sort(self, issues):
        out = sorted(issues, key=lambda i: key_num(i["key"]))
        for field, desc in reversed(self.order):
            if field == "key":
                out.sort(key=lambda i: key_num(i["key"]), reverse=desc)
            else:
                out.sort(key=lambda i, f=field: parse_time(i[f]), reverse=desc)
        return out


# ---------------------------------------------------------------- state

class Store:
    """The site's state and counters, behind one lock."""

    def __init__(self, seed, args):
        self.lock = threading.RLock()
        self.state = {k: seed[k] for k in ("project", "board", "users", "issuetypes", "statuses",
                                            "transitions", "versions", "sprints", "issues")}
        self.state["initial_status"] = seed.get("initial_status", "To Do")
        self.state["token_owner"] = seed.get("token_owner", seed["users"][0]["name"])
        if args.board_type:
            self.state["board"]["type"] = args.board_type
        for v in self.state["versions"]:
            v.setdefault("released", False)
            v.setdefault("archived", False)
        for i in self.state["issues"]:
            for k, d in (("labels", []), ("fixVersions", []), ("assignee", None),
                         ("reporter", None), ("parent", None), ("epic", None),
                         ("sprint", None), ("description", None)):
                i.setdefault(k, d)
        self.page_size = args.page_size
        self.cloud = args.deployment == "cloud"
        self.epic_link = args.epic_field == "link"
        self.search_mode = args.search
        self.sprint_strings = args.sprint_field == "string"
        # JQL's dates are in the user's time zone (Jira's "Advanced search
        # reference - JQL fields": "the user's time zone" for date values).
        self.user_tz = datetime.timezone(datetime.timedelta(hours=args.user_tz))
        self.base = ""
        self.writes = 0
        self.edits = 0
        self.requests = {}
        self.endpoints = {}
        self.responses = {}
        self.faults = []
        self.salt = hashlib.sha1(os.urandom(16)).hexdigest()[:8]

    # ---- lookups

    def find_issue(self, ref):
        for i in self.state["issues"]:
            if i["key"].upper() == str(ref).upper() or i["id"] == str(ref):
                return i
        return None

    def get_issue(self, ref):
        i = self.find_issue(ref)
        if i is None:
            raise not_found_issue()
        return i

    def find_user(self, ident):
        if ident is None:
            return None
        for u in self.state["users"]:
            if ident in (u["accountId"], u["name"], u["emailAddress"]) or \
                    str(ident).lower() == u["name"].lower():
                return u
        return None

    def status(self, name):
        for s in self.state["statuses"]:
            if s["name"] == name:
                return s
        raise ApiError(500, ["unknown status '%s' in the stand-in's state" % name])

    def issuetype(self, ref):
        for t in self.state["issuetypes"]:
            if ref in (t["name"], t["id"]):
                return t
        return None

    def version(self, ref):
        for v in self.state["versions"]:
            if ref in (v["name"], v["id"]):
                return v
        return None

    def sprint(self, sid):
        for s in self.state["sprints"]:
            if str(s["id"]) == str(sid):
                return s
        return None

    def bump(self, iss):
        prev = parse_time(iss["updated"])
        t = now()
        if t <= prev:
            t = prev + datetime.timedelta(milliseconds=1)
        iss["updated"] = fmt_time(t)

    # ---- renderings (Jira's shapes)

    def user_json(self, u):
        if u is None:
            return None
        if self.cloud:
            return {"self": "%s/rest/api/2/user?accountId=%s" % (self.base, u["accountId"]),
                    "accountId": u["accountId"], "accountType": "atlassian",
                    "emailAddress": u["emailAddress"], "displayName": u["displayName"],
                    "active": True, "timeZone": "UTC"}
        return {"self": "%s/rest/api/2/user?username=%s" % (self.base, u["name"]),
                "name": u["name"], "key": u["name"], "emailAddress": u["emailAddress"],
                "displayName": u["displayName"], "active": True, "timeZone": "UTC"}

    def status_json(self, name):
        s = self.status(name)
        cat = dict(CATEGORIES[s["category"]])
        cat["self"] = "%s/rest/api/2/statuscategory/%d" % (self.base, cat["id"])
        return {"self": "%s/rest/api/2/status/%s" % (self.base, s["id"]), "description": "",
                "iconUrl": "%s/images/icons/statuses/generic.png" % self.base,
                "name": s["name"], "id": s["id"], "statusCategory": cat}

    def type_json(self, name):
        t = self.issuetype(name)
        return {"self": "%s/rest/api/2/issuetype/%s" % (self.base, t["id"]), "id": t["id"],
                "description": "", "iconUrl": "%s/images/icons/issuetypes/%s.svg"
                % (self.base, t["name"].lower()), "name": t["name"], "subtask": t["subtask"],
                "hierarchyLevel": -1 if t["subtask"] else (1 if t["name"] == "Epic" else 0)}

    def version_json(self, v):
        p = self.state["project"]
        out = {"self": "%s/rest/api/2/version/%s" % (self.base, v["id"]), "id": v["id"],
               "name": v["name"], "archived": v["archived"], "released": v["released"],
               "projectId": int(p["id"])}
        for k in ("description", "releaseDate", "startDate"):
            if v.get(k):
                out[k] = v[k]
        return out

    def sprint_json(self, s):
        out = {"id": s["id"], "self": "%s/rest/agile/1.0/sprint/%s" % (self.base, s["id"]),
               "state": s["state"], "name": s["name"], "originBoardId": s["originBoardId"]}
        for k in ("startDate", "endDate", "completeDate", "goal"):
            if s.get(k):
                out[k] = s[k]
        return out

    def issue_ref(self, iss):
        return {"id": iss["id"], "key": iss["key"],
                "self": "%s/rest/api/2/issue/%s" % (self.base, iss["id"]),
                "fields": {"summary": iss["summary"], "status": self.status_json(iss["status"]),
                           "issuetype": self.type_json(iss["type"])}}

    def all_fields(self, iss):
        p = self.state["project"]
        f = {
            "summary": iss["summary"],
            "description": iss.get("description"),
            "issuetype": self.type_json(iss["type"]),
            "status": self.status_json(iss["status"]),
            "project": {"self": "%s/rest/api/2/project/%s" % (self.base, p["id"]),
                        "id": p["id"], "key": p["key"], "name": p.get("name", p["key"]),
                        "projectTypeKey": "software"},
            "assignee": self.user_json(self.find_user(iss.get("assignee"))),
            "reporter": self.user_json(self.find_user(iss.get("reporter"))),
            "labels": list(iss.get("labels") or []),
            "fixVersions": [self.version_json(self.version(n)) for n in iss["fixVersions"]
                            if self.version(n)],
            "created": iss["created"],
            "updated": iss["updated"],
            "subtasks": [self.issue_ref(c) for c in self.state["issues"]
                         if c.get("parent") == iss["key"]],
            EPIC_FIELD: iss.get("epic"),
            SPRINT_FIELD: None,
        }
        par = iss.get("parent") or (None if self.epic_link else iss.get("epic"))
        if not self.epic_link:
            del f[EPIC_FIELD]
        if par and self.find_issue(par):
            f["parent"] = self.issue_ref(self.find_issue(par))
        if iss.get("sprint") is not None and self.sprint(iss["sprint"]):
            s = self.sprint_json(self.sprint(iss["sprint"]))
            s["boardId"] = s.pop("originBoardId")
            s.pop("self")
            if self.sprint_strings:
                s = ("com.atlassian.greenhopper.service.sprint.Sprint@%x[id=%d,rapidViewId=%d,"
                     "state=%s,name=%s,startDate=%s,endDate=%s,completeDate=%s,sequence=%d,"
                     "goal=%s]" % (0x5f1e + s["id"], s["id"], s["boardId"], s["state"].upper(),
                                   s["name"], s.get("startDate", "<null>"),
                                   s.get("endDate", "<null>"), s.get("completeDate", "<null>"),
                                   s["id"], s.get("goal", "")))
            f[SPRINT_FIELD] = [s]
        return f

    def issue_json(self, iss, sel):
        """sel: None for every field, else a set of field ids to keep."""
        out = {"expand": "renderedFields,names,schema,operations,editmeta,changelog,"
                         "versionedRepresentations",
               "id": iss["id"], "self": "%s/rest/api/2/issue/%s" % (self.base, iss["id"]),
               "key": iss["key"]}
        f = self.all_fields(iss)
        if sel is not None:
            f = {k: v for k, v in f.items() if k in sel}
        if sel is None or f or sel - {"id", "key"}:
            out["fields"] = f
        return out

    def dump(self):
        st = json.loads(json.dumps(self.state))
        st["backlog"] = [i["key"] for i in self.state["issues"] if self.in_backlog(i)]
        st.update({"writes": self.writes, "edits": self.edits,
                   "requests": dict(sorted(self.requests.items())),
                   "endpoints": dict(sorted(self.endpoints.items())),
                   "responses": dict(sorted(self.responses.items())),
                   "faults": [dict(f) for f in self.faults], "page_size": self.page_size,
                   "deployment": "cloud" if self.cloud else "datacenter"})
        return st

    def in_backlog(self, iss):
        if self.issuetype(iss["type"])["subtask"] or iss["type"] == "Epic":
            return False
        if self.status(iss["status"])["category"] == "done":
            return False
        s = self.sprint(iss["sprint"]) if iss.get("sprint") is not None else None
        return s is None or s["state"] == "closed"


FIELD_LIST = [
    # (id, name, custom, navigable, schema)
    ("summary", "Summary", False, True, {"type": "string", "system": "summary"}),
    ("description", "Description", False, True, {"type": "string", "system": "description"}),
    ("issuetype", "Issue Type", False, True, {"type": "issuetype", "system": "issuetype"}),
    ("status", "Status", False, True, {"type": "status", "system": "status"}),
    ("project", "Project", False, True, {"type": "project", "system": "project"}),
    ("assignee", "Assignee", False, True, {"type": "user", "system": "assignee"}),
    ("reporter", "Reporter", False, True, {"type": "user", "system": "reporter"}),
    ("labels", "Labels", False, True, {"type": "array", "items": "string", "system": "labels"}),
    ("parent", "Parent", False, True, {"type": "issuelink", "system": "parent"}),
    ("fixVersions", "Fix versions", False, True,
     {"type": "array", "items": "version", "system": "fixVersions"}),
    ("subtasks", "Sub-tasks", False, True,
     {"type": "array", "items": "issuelinks", "system": "subtasks"}),
    ("created", "Created", False, True, {"type": "datetime", "system": "created"}),
    ("updated", "Updated", False, True, {"type": "datetime", "system": "updated"}),
    (EPIC_FIELD, "Epic Link", True, True,
     {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-epic-link", "customId": 10014}),
    (SPRINT_FIELD, "Sprint", True, True,
     {"type": "array", "items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint",
      "customId": 10020}),
]
FIELD_IDS = {f[0] for f in FIELD_LIST}


def field_json(f):
    fid, name, custom, nav, schema = f
    clauses = [fid] if not custom else ["cf[%s]" % fid.split("_")[1], name]
    return {"id": fid, "key": fid, "name": name, "custom": custom, "orderable": True,
            "navigable": nav, "searchable": True, "clauseNames": clauses, "schema": schema}


def field_selection(values, default):
    """The set of field ids the `fields` parameter asks for (None: all)."""
    items = [x.strip() for v in values for x in v.split(",") if x.strip()]
    if not items:
        items = [default]
    sel = set()
    for it in items:
        if it in ("*all", "*navigable"):
            sel |= FIELD_IDS
        elif not it.startswith("-"):
            sel.add(it)
    for it in items:
        if it.startswith("-"):
            sel.discard(it[1:])
    return sel


# ---------------------------------------------------------------- field edits

def apply_fields(st, iss, fields, errors, creating=False):
    """Set Jira REST `fields` on the seed-shaped issue iss (a copy)."""
    for name, val in sorted(fields.items(), key=lambda kv: kv[0] != "issuetype"):
        if name == "summary":
            if not isinstance(val, str) or not val.strip():
                errors["summary"] = "You must specify a summary of the issue."
            else:
                iss["summary"] = val
        elif name == "description":
            iss["description"] = val
        elif name == "labels":
            if not isinstance(val, list) or not all(isinstance(x, str) for x in val):
                errors["labels"] = "Labels must be a list of strings."
            elif any(" " in x for x in val):
                errors["labels"] = "The label '%s' contains spaces which is invalid." % \
                    [x for x in val if " " in x][0]
            else:
                iss["labels"] = list(dict.fromkeys(val))
        elif name in ("assignee", "reporter"):
            if val is None:
                iss[name] = None
                continue
            ident = val.get("accountId", val.get("name")) if isinstance(val, dict) else None
            u = st.find_user(ident) if ident is not None else None
            if u is None:
                errors[name] = "User '%s' does not exist." % ident
            else:
                iss[name] = u["name"]
        elif name == "issuetype":
            t = st.issuetype(val.get("name", val.get("id"))) if isinstance(val, dict) else None
            if t is None:
                errors["issuetype"] = "Specify a valid issue type"
            else:
                iss["type"] = t["name"]
        elif name == "parent":
            if val is None:
                iss["parent"] = None
                continue
            ref = val.get("key", val.get("id")) if isinstance(val, dict) else None
            p = st.find_issue(ref) if ref is not None else None
            if p is None:
                errors["parent"] = "Could not find issue by id or key."
            elif p["key"] == iss.get("key"):
                errors["parent"] = "An issue cannot be its own parent."
            elif p["type"] == "Epic" and iss.get("type") and \
                    not st.issuetype(iss["type"])["subtask"]:
                iss["epic"], iss["parent"] = p["key"], None
            else:
                iss["parent"] = p["key"]
        elif name == EPIC_FIELD and st.epic_link:
            if val is None:
                iss["epic"] = None
                continue
            e = st.find_issue(val) if isinstance(val, str) else None
            if e is None or e["type"] != "Epic":
                errors[EPIC_FIELD] = "Epic '%s' does not exist or is not an epic." % val
            else:
                iss["epic"] = e["key"]
        elif name == "fixVersions":
            names = []
            for v in val if isinstance(val, list) else [None]:
                ver = st.version(v.get("name", v.get("id"))) if isinstance(v, dict) else None
                if ver is None:
                    errors["fixVersions"] = "Version '%s' is not valid" % (
                        v.get("name", v.get("id")) if isinstance(v, dict) else v)
                    break
                names.append(ver["name"])
            else:
                iss["fixVersions"] = list(dict.fromkeys(names))
        elif name == SPRINT_FIELD:
            if val is None:
                iss["sprint"] = None
                continue
            s = st.sprint(val)
            if s is None or s["state"] == "closed":
                errors[SPRINT_FIELD] = "Sprint with id %s does not exist or is closed." % val
            else:
                iss["sprint"] = s["id"]
        elif name == "project" and creating:
            pass
        else:
            errors[name] = ("Field '%s' cannot be set. It is not on the appropriate screen, "
                            "or unknown." % name)


def apply_update(st, iss, update, errors):
    """Jira's `update` verbs: add/remove/set on labels and fixVersions, set elsewhere."""
    for name, ops in update.items():
        if not isinstance(ops, list):
            errors[name] = "Operations for '%s' must be a list." % name
            continue
        for op in ops:
            if not isinstance(op, dict) or len(op) != 1:
                errors[name] = "Each operation must be one of add, remove, set."
                continue
            verb, arg = next(iter(op.items()))
            if name == "labels" and verb in ("add", "remove"):
                cur = list(iss["labels"])
                if verb == "add" and arg not in cur:
                    cur.append(arg)
                if verb == "remove" and arg in cur:
                    cur.remove(arg)
                apply_fields(st, iss, {"labels": cur}, errors)
            elif name == "fixVersions" and verb in ("add", "remove"):
                ver = st.version(arg.get("name", arg.get("id"))) if isinstance(arg, dict) else None
                if ver is None:
                    errors[name] = "Version is not valid"
                    continue
                cur = list(iss["fixVersions"])
                if verb == "add" and ver["name"] not in cur:
                    cur.append(ver["name"])
                if verb == "remove" and ver["name"] in cur:
                    cur.remove(ver["name"])
                iss["fixVersions"] = cur
            elif verb == "set":
                apply_fields(st, iss, {name: arg}, errors)
            else:
                errors[name] = "Operation '%s' is not supported on field '%s'." % (verb, name)


# ---------------------------------------------------------------- handlers
# Each takes (store, match, query, body, user) under the store's lock and
# returns (status, json-or-None, changed).

def h_myself(st, m, q, body, user):
    out = st.user_json(user)
    out.update({"locale": "en_US", "groups": {"size": 1, "items": []}})
    return 200, out, False


def h_fields(st, m, q, body, user):
    return 200, [field_json(f) for f in FIELD_LIST
                 if st.epic_link or f[0] != EPIC_FIELD], False


def int_param(q, name, default):
    v = q.get(name, [None])[0]
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise ApiError(400, ["The value '%s' for the '%s' parameter is not valid." % (v, name)])


def search_params(q, body):
    """GET query or POST body -> (jql, fields list, startAt, maxResults, token)."""
    if body is not None:
        fields = body.get("fields") or []
        fields = [fields] if isinstance(fields, str) else fields
        q = {k: [str(v)] for k, v in body.items() if k in ("jql", "startAt", "maxResults",
                                                           "nextPageToken")}
    else:
        fields = q.get("fields", [])
    return (q.get("jql", [""])[0], fields, int_param(q, "startAt", 0),
            int_param(q, "maxResults", 50), q.get("nextPageToken", [None])[0])


def run_jql(st, jql):
    parsed = Jql(st, jql)
    return parsed.sort([i for i in st.state["issues"] if parsed.match(i)])


def h_search(st, m, q, body, user):
    if st.search_mode == "enhanced":
        raise ApiError(410, ["The requested API has been removed. Please migrate to the "
                             "/rest/api/3/search/jql API. A full migration guideline is "
                             "available at https://developer.atlassian.com/changelog/#CHANGE-2046"])
    jql, fields, start, maxr, _ = search_params(q, body)
    if start < 0:
        start = 0
    cap = min(st.page_size, maxr if maxr >= 0 else 50)
    hits = run_jql(st, jql)
    sel = field_selection(fields, "*navigable")
    page = hits[start:start + cap]
    return 200, {"expand": "schema,names", "startAt": start, "maxResults": cap,
                 "total": len(hits), "issues": [st.issue_json(i, sel) for i in page]}, False


def page_token(st, jql, offset):
    raw = json.dumps({"o": offset, "q": hashlib.sha1(jql.encode()).hexdigest()[:10],
                      "s": st.salt}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_token(st, jql, token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = json.loads(raw)
        if d["s"] == st.salt and d["q"] == hashlib.sha1(jql.encode()).hexdigest()[:10]:
            return int(d["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise ApiError(400, ["The provided next page token is invalid or expired."])


def h_search_jql(st, m, q, body, user):
    if st.search_mode == "classic":
        raise ApiError(404, ["null for uri: %s/rest/api/2/search/jql" % st.base])
    jql, fields, _, maxr, token = search_params(q, body)
    start = read_token(st, jql, token) if token else 0
    cap = min(st.page_size, maxr if maxr > 0 else 50, 5000)
    hits = run_jql(st, jql)
    sel = field_selection(fields, "id")
    page = hits[start:start + cap]
    out = {"issues": [st.issue_json(i, sel) for i in page]}
    if start + cap < len(hits):
        out["nextPageToken"] = page_token(st, jql, start + cap)
        out["isLast"] = False
    else:
        out["isLast"] = True
    return 200, out, False


def h_issue_get(st, m, q, body, user):
    iss = st.get_issue(m.group(1))
    return 200, st.issue_json(iss, field_selection(q.get("fields", []), "*all")), False


def h_issue_create(st, m, q, body, user):
    f = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(f, dict):
        raise ApiError(400, ["Field 'fields' is required."])
    errors = {}
    p = st.state["project"]
    proj = f.get("project")
    ref = proj.get("key", proj.get("id")) if isinstance(proj, dict) else None
    if ref is None:
        errors["project"] = "Specify a valid project ID or key"
    elif str(ref).upper() not in (p["key"].upper(), str(p["id"])):
        errors["project"] = "Specify a valid project ID or key"
    if "summary" not in f:
        errors["summary"] = "You must specify a summary of the issue."
    if "issuetype" not in f:
        errors["issuetype"] = "Specify an issue type"
    t = now()
    iss = {"key": None, "id": None, "summary": "", "type": None,
           "status": st.state["initial_status"], "assignee": None, "reporter": user["name"],
           "labels": [], "parent": None, "epic": None, "fixVersions": [], "sprint": None,
           "description": None, "created": fmt_time(t), "updated": fmt_time(t)}
    apply_fields(st, iss, f, errors, creating=True)
    if not errors and iss["type"] and st.issuetype(iss["type"])["subtask"] and not iss["parent"]:
        errors["parent"] = "Issue type is a sub-task but parent issue key or id not specified."
    if errors:
        raise ApiError(400, [], errors)
    issues = st.state["issues"]
    n = max([key_num(i["key"]) for i in issues] + [0]) + 1
    iss["key"] = "%s-%d" % (p["key"], n)
    iss["id"] = str(max([int(i["id"]) for i in issues] + [10000]) + 1)
    issues.append(iss)
    return 201, {"id": iss["id"], "key": iss["key"],
                 "self": "%s/rest/api/2/issue/%s" % (st.base, iss["id"])}, True


def commit(st, iss, new):
    """Store the edited copy new over iss when it differs; True when it did."""
    if new == iss:
        return False
    iss.update(new)
    st.bump(iss)
    return True


def h_issue_edit(st, m, q, body, user):
    iss = st.get_issue(m.group(1))
    if not isinstance(body, dict):
        raise ApiError(400, ["Can not deserialize the request body."])
    new = json.loads(json.dumps(iss))
    errors = {}
    apply_fields(st, new, body.get("fields") or {}, errors)
    apply_update(st, new, body.get("update") or {}, errors)
    if errors:
        raise ApiError(400, [], errors)
    return 204, None, commit(st, iss, new)


def h_assignee(st, m, q, body, user):
    iss = st.get_issue(m.group(1))
    if not isinstance(body, dict) or not ({"accountId", "name"} & set(body)):
        raise ApiError(400, [], {"assignee": "Specify an accountId or a name."})
    new = dict(iss)
    errors = {}
    ident = body.get("accountId", body.get("name"))
    apply_fields(st, new, {"assignee": None if ident is None else body}, errors)
    if errors:
        raise ApiError(400, [], errors)
    return 204, None, commit(st, iss, new)


def available(st, iss):
    return [t for t in st.state["transitions"] if iss["status"] in t["from"]]


def h_transitions_get(st, m, q, body, user):
    iss = st.get_issue(m.group(1))
    only = q.get("transitionId", [None])[0]
    out = []
    for t in available(st, iss):
        if only is not None and t["id"] != only:
            continue
        out.append({"id": t["id"], "name": t["name"], "to": st.status_json(t["to"]),
                    "hasScreen": False, "isGlobal": False, "isInitial": False,
                    "isAvailable": True, "isConditional": False, "isLooped": False})
    return 200, {"expand": "transitions", "transitions": out}, False


def h_transitions_post(st, m, q, body, user):
    iss = st.get_issue(m.group(1))
    tr = body.get("transition") if isinstance(body, dict) else None
    tid = str(tr.get("id")) if isinstance(tr, dict) and tr.get("id") is not None else None
    if tid is None:
        raise ApiError(400, ["Missing 'transition' identifier"])
    hit = [t for t in available(st, iss) if t["id"] == tid]
    if not hit:
        raise ApiError(400, ["Transition id '%s' is not valid for this issue." % tid])
    new = json.loads(json.dumps(iss))
    errors = {}
    tf = {k: v for k, v in (body.get("fields") or {}).items() if k != "resolution"}
    apply_fields(st, new, tf, errors)
    apply_update(st, new, body.get("update") or {}, errors)
    if errors:
        raise ApiError(400, [], errors)
    new["status"] = hit[0]["to"]
    return 204, None, commit(st, iss, new)


def h_user_search(st, m, q, body, user):
    if st.cloud:
        if "username" in q:
            raise ApiError(400, ["The query parameter 'username' is not supported in GDPR "
                                 "strict mode."])
        term = q.get("query", [None])[0]
        acc = q.get("accountId", [None])[0]
        if term is None and acc is None:
            raise ApiError(400, ["One of 'query' or 'accountId' query parameters must be "
                                 "provided."])
        keys = ("displayName", "emailAddress")
    else:
        term, acc = q.get("username", [None])[0], None
        if term is None:
            raise ApiError(400, ["The username query parameter was not provided"])
        keys = ("name", "displayName", "emailAddress")
    out = []
    for u in st.state["users"]:
        if acc is not None and u["accountId"] != acc:
            continue
        if term is not None and term != "" and not any(
                w.lower().startswith(term.lower()) for k in keys
                for w in re.split(r"[\s@.]+", u[k]) + [u[k]]):
            continue
        out.append(st.user_json(u))
    start = int_param(q, "startAt", 0)
    return 200, out[start:start + int_param(q, "maxResults", 50)], False


def project_check(st, ref):
    p = st.state["project"]
    if str(ref).upper() not in (p["key"].upper(), str(p["id"])):
        raise ApiError(404, ["No project could be found with key '%s'." % ref])


def h_versions(st, m, q, body, user):
    project_check(st, m.group(1))
    return 200, [st.version_json(v) for v in st.state["versions"]], False


def h_version_create(st, m, q, body, user):
    if not isinstance(body, dict):
        raise ApiError(400, ["Can not deserialize the request body."])
    ref = body.get("project", body.get("projectId"))
    p = st.state["project"]
    if ref is None or str(ref).upper() not in (p["key"].upper(), str(p["id"])):
        raise ApiError(400, [], {"project": "Project must be specified to create a version."})
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, [], {"name": "You must specify a valid version name"})
    if st.version(name):
        raise ApiError(400, [], {"name": "A version with this name already exists in this "
                                         "project."})
    vid = str(max([int(v["id"]) for v in st.state["versions"]] + [10099]) + 1)
    v = {"id": vid, "name": name, "released": bool(body.get("released", False)),
         "archived": bool(body.get("archived", False))}
    for k in ("description", "releaseDate", "startDate"):
        if body.get(k):
            v[k] = body[k]
    st.state["versions"].append(v)
    return 201, st.version_json(v), True


def board_check(st, bid):
    b = st.state["board"]
    if str(b["id"]) != str(bid):
        raise ApiError(404, ["Board does not exist or you do not have permission to see it."])
    return b


def h_board(st, m, q, body, user):
    b = board_check(st, m.group(1))
    p = st.state["project"]
    return 200, {"id": b["id"], "self": "%s/rest/agile/1.0/board/%s" % (st.base, b["id"]),
                 "name": b["name"], "type": b["type"],
                 "location": {"projectId": int(p["id"]), "projectKey": p["key"],
                              "projectName": p.get("name", p["key"]),
                              "displayName": "%s (%s)" % (p.get("name", p["key"]), p["key"]),
                              "projectTypeKey": "software", "name": p.get("name", p["key"])}
                 }, False


def no_sprints():
    return ApiError(400, ["The board does not support sprints"])


def h_board_sprints(st, m, q, body, user):
    b = board_check(st, m.group(1))
    if b["type"] != "scrum":
        raise no_sprints()
    states = [s for v in q.get("state", []) for s in v.split(",") if s]
    bad = [s for s in states if s not in ("future", "active", "closed")]
    if bad:
        raise ApiError(400, ["The state '%s' is not valid. Valid values: future, active, "
                             "closed." % bad[0]])
    start = max(0, int_param(q, "startAt", 0))
    maxr = int_param(q, "maxResults", 50)
    cap = min(st.page_size, maxr if maxr > 0 else 50)
    hits = [s for s in sorted(st.state["sprints"], key=lambda s: s["id"])
            if s["originBoardId"] == b["id"] and (not states or s["state"] in states)]
    page = hits[start:start + cap]
    return 200, {"maxResults": cap, "startAt": start, "isLast": start + cap >= len(hits),
                 "values": [st.sprint_json(s) for s in page]}, False


def h_sprint_create(st, m, q, body, user):
    if not isinstance(body, dict):
        raise ApiError(400, ["Can not deserialize the request body."])
    b = st.state["board"]
    if str(body.get("originBoardId")) != str(b["id"]):
        raise ApiError(400, [], {"originBoardId": "Board with id %s does not exist."
                                 % body.get("originBoardId")})
    if b["type"] != "scrum":
        raise no_sprints()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, [], {"name": "Sprint name is required."})
    if len(name) > 30:
        raise ApiError(400, [], {"name": "The sprint name must not exceed 30 characters."})
    s = {"id": max([s["id"] for s in st.state["sprints"]] + [0]) + 1, "name": name,
         "state": "future", "originBoardId": b["id"]}
    for k in ("startDate", "endDate", "goal"):
        if body.get(k):
            s[k] = body[k]
    st.state["sprints"].append(s)
    return 201, st.sprint_json(s), True


def issues_arg(st, body):
    keys = body.get("issues") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ApiError(400, [], {"issues": "Issues must be a non-empty list."})
    if len(keys) > 50:
        raise ApiError(400, ["At most 50 issues may be moved at once."])
    out = []
    for k in keys:
        i = st.find_issue(k)
        if i is None:
            raise ApiError(400, ["Issue '%s' does not exist or you do not have permission "
                                 "to see it." % k])
        out.append(i)
    return out


def h_sprint_issues(st, m, q, body, user):
    s = st.sprint(m.group(1))
    if s is None:
        raise ApiError(404, ["Sprint does not exist or you do not have permission to see it."])
    if s["state"] == "closed":
        raise ApiError(400, ["Issues can only be moved to an active or future sprint."])
    changed = False
    for i in issues_arg(st, body):
        if i["sprint"] != s["id"]:
            i["sprint"] = s["id"]
            st.bump(i)
            changed = True
    return 204, None, changed


def h_backlog(st, m, q, body, user):
    changed = False
    for i in issues_arg(st, body):
        s = st.sprint(i["sprint"]) if i.get("sprint") is not None else None
        if s is not None and s["state"] in ("active", "future"):
            i["sprint"] = None
            st.bump(i)
            changed = True
    return 204, None, changed


KEY = r"([A-Za-z0-9_-]+)"
ROUTES = [
    ("GET", r"/rest/api/2/myself", h_myself, None),
    ("GET", r"/rest/api/2/field", h_fields, None),
    ("GET", r"/rest/api/2/search", h_search, None),
    ("POST", r"/rest/api/2/search", h_search, None),
    ("GET", r"/rest/api/2/search/jql", h_search_jql, None),
    ("POST", r"/rest/api/2/search/jql", h_search_jql, None),
    ("POST", r"/rest/api/2/issue", h_issue_create, None),
    ("GET", r"/rest/api/2/issue/%s" % KEY, h_issue_get, "/rest/api/2/issue/{key}"),
    ("PUT", r"/rest/api/2/issue/%s" % KEY, h_issue_edit, "/rest/api/2/issue/{key}"),
    ("PUT", r"/rest/api/2/issue/%s/assignee" % KEY, h_assignee,
     "/rest/api/2/issue/{key}/assignee"),
    ("GET", r"/rest/api/2/issue/%s/transitions" % KEY, h_transitions_get,
     "/rest/api/2/issue/{key}/transitions"),
    ("POST", r"/rest/api/2/issue/%s/transitions" % KEY, h_transitions_post,
     "/rest/api/2/issue/{key}/transitions"),
    ("GET", r"/rest/api/2/user/search", h_user_search, None),
    ("GET", r"/rest/api/2/project/%s/versions" % KEY, h_versions,
     "/rest/api/2/project/{key}/versions"),
    ("POST", r"/rest/api/2/version", h_version_create, None),
    ("GET", r"/rest/agile/1.0/board/(\d+)", h_board, "/rest/agile/1.0/board/{id}"),
    ("GET", r"/rest/agile/1.0/board/(\d+)/sprint", h_board_sprints,
     "/rest/agile/1.0/board/{id}/sprint"),
    ("POST", r"/rest/agile/1.0/sprint", h_sprint_create, None),
    ("POST", r"/rest/agile/1.0/sprint/(\d+)/issue", h_sprint_issues,
     "/rest/agile/1.0/sprint/{id}/issue"),
    ("POST", r"/rest/agile/1.0/backlog/issue", h_backlog, None),
]
ROUTES = [(meth, re.compile(pat + r"/?$"), fn, tmpl or pat) for meth, pat, fn, tmpl in ROUTES]
READ_POSTS = {h_search, h_search_jql}


# ---------------------------------------------------------------- control endpoints

def edit_issue_control(st, body):
    """POST /_standin/edit: a person's change, in the seed's vocabulary."""
    if isinstance(body.get("board"), dict):
        t = body["board"].get("type")
        if t not in ("scrum", "kanban"):
            raise ApiError(400, ["board type must be scrum or kanban"])
        st.state["board"]["type"] = t
        st.edits += 1
        return {"board": st.state["board"]}
    fields = body.get("fields") or {}
    allowed = {"summary", "type", "status", "assignee", "reporter", "labels", "parent", "epic",
               "fixVersions", "sprint", "description", "updated", "created"}
    bad = sorted(set(fields) - allowed)
    if bad:
        raise ApiError(400, ["unknown field '%s'" % bad[0]])
    if "status" in fields:
        st.status(fields["status"])
    if "type" in fields and st.issuetype(fields["type"]) is None:
        raise ApiError(400, ["unknown type '%s'" % fields["type"]])
    for k in ("assignee", "reporter"):
        if fields.get(k) is not None:
            u = st.find_user(fields[k])
            if u is None:
                raise ApiError(400, ["unknown user '%s'" % fields[k]])
            fields[k] = u["name"]
    if "key" in body:
        iss = st.get_issue(body["key"])
    else:
        p, t = st.state["project"], fmt_time(now())
        issues = st.state["issues"]
        iss = {"key": "%s-%d" % (p["key"], max([key_num(i["key"]) for i in issues] + [0]) + 1),
               "id": str(max([int(i["id"]) for i in issues] + [10000]) + 1),
               "summary": "", "type": "Task", "status": st.state["initial_status"],
               "assignee": None, "reporter": st.state["token_owner"], "labels": [],
               "parent": None, "epic": None, "fixVersions": [], "sprint": None,
               "description": None, "created": t, "updated": t}
        issues.append(iss)
    created = "key" not in body
    iss.update(fields)
    if "updated" not in fields and not created:
        st.bump(iss)
    st.edits += 1
    return iss


def add_fault(st, body):
    if body.get("clear"):
        st.faults = []
        return {"faults": []}
    if "path_prefix" not in body or not ("status" in body or "delay" in body):
        raise ApiError(400, ["a fault needs path_prefix and status or delay"])
    f = {"path_prefix": body["path_prefix"], "count": int(body.get("count", 1))}
    for k in ("status", "retry_after", "delay", "method"):
        if k in body:
            f[k] = body[k]
    st.faults.append(f)
    return {"faults": st.faults}


# ---------------------------------------------------------------- HTTP

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store = None
    args = None

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PUT(self):
        self.route("PUT")

    def do_DELETE(self):
        self.route("DELETE")

    def send(self, status, obj, headers=None):
        data = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if obj is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            if data and self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout test)
        st = self.store
        with st.lock:
            st.responses[str(status)] = st.responses.get(str(status), 0) + 1
        if self.args.log:
            with open(self.args.log, "a") as f:
                f.write("%s %s %d\n" % (self.command, self.path, status))

    def read_body(self):
        """The request body, by Content-Length or chunked (libcurl's upload)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def authenticate(self):
        st, a = self.store, self.args
        h = self.headers.get("Authorization") or ""
        scheme, _, cred = h.partition(" ")
        if a.user is not None and scheme.lower() == "basic":
            try:
                u, _, tok = base64.b64decode(cred.strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                u, tok = None, None
            if u == a.user and tok == a.token:
                return st.find_user(a.user)
        elif a.user is None and scheme.lower() == "bearer" and cred.strip() == a.token:
            return st.find_user(st.state["token_owner"])
        raise ApiError(401, ["You are not authenticated. Authentication required to perform "
                             "this operation."],
                       headers={"WWW-Authenticate": 'Basic realm="protected-area"'
                                if a.user is not None else "Bearer"})

    def route(self, method):
        st = self.store
        url = urllib.parse.urlsplit(self.path)
        path, q = url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True)
        raw = self.read_body()
        try:
            body = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, ["Unexpected character in the request body: it is "
                                         "not JSON."])
            if path.startswith("/_standin/"):
                return self.control(method, path, body)
            for meth, rx, fn, tmpl in ROUTES:
                m = rx.match(path)
                if m and meth == method:
                    break
            else:
                fn = m = None
                tmpl = path
            with st.lock:
                rk = "%s %s" % (method, path)
                st.requests[rk] = st.requests.get(rk, 0) + 1
                ek = "%s %s" % (method, tmpl)
                st.endpoints[ek] = st.endpoints.get(ek, 0) + 1
                fault = None
                for f in st.faults:
                    if path.startswith(f["path_prefix"]) and \
                            f.get("method", method).upper() == method:
                        fault = f
                        f["count"] -= 1
                        if f["count"] <= 0:
                            st.faults.remove(f)
                        break
            if fault is not None:
                if fault.get("delay"):
                    time.sleep(float(fault["delay"]))
                if fault.get("status"):
                    hdr = {}
                    if fault.get("retry_after") is not None:
                        hdr["Retry-After"] = str(fault["retry_after"])
                    msg = "Rate limit exceeded." if fault["status"] == 429 else \
                        "The stand-in was told to answer %d." % fault["status"]
                    raise ApiError(int(fault["status"]), [msg], headers=hdr)
            if fn is None:
                if any(rx.match(path) for _, rx, _, _ in ROUTES):
                    raise ApiError(405, ["Method %s is not allowed on %s." % (method, path)])
                raise ApiError(404, ["No resource at %s in the stand-in." % path])
            user = self.authenticate()
            writing = method in ("POST", "PUT") and fn not in READ_POSTS
            if writing and user.get("readonly"):
                raise ApiError(403, ["You do not have permission to edit issues in this "
                                     "project."])
            if method in ("POST", "PUT") and body is None:
                body = {}
            with st.lock:
                status, out, changed = fn(st, m, q, body, user)
                if changed and status < 300:
                    st.writes += 1
            self.send(status, out)
        except ApiError as e:
            self.send(e.status, e.body, e.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a stand-in bug: answer 500 rather than hang up
            import traceback
            traceback.print_exc()
            self.send(500, {"errorMessages": ["stand-in error: %r" % e], "errors": {}})

    def control(self, method, path, body):
        st = self.store
        with st.lock:
            if method == "GET" and path == "/_standin/state":
                return self.send(200, st.dump())
            if method == "POST" and path == "/_standin/fault":
                return self.send(200, add_fault(st, body or {}))
            if method == "POST" and path == "/_standin/edit":
                return self.send(200, edit_issue_control(st, body or {}))
        raise ApiError(404, ["No control endpoint %s %s." % (method, path)])

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser(description="A stateful Jira stand-in on 127.0.0.1 for tests.")
    ap.add_argument("--port-file", required=True, help="where to write the port once listening")
    ap.add_argument("--state", required=True, help="seed state (JSON, the shape of the dump)")
    ap.add_argument("--token-file", required=True, help="file holding the API token / PAT")
    ap.add_argument("--user", help="Basic auth user (Jira Cloud); without it Bearer is required")
    ap.add_argument("--deployment", choices=("cloud", "datacenter"),
                    help="how users look (default: cloud with --user, else datacenter)")
    ap.add_argument("--page-size", type=int, default=50, help="cap on maxResults (default 50)")
    ap.add_argument("--board-type", choices=("scrum", "kanban"), help="override the seed's board")
    ap.add_argument("--search", choices=("both", "classic", "enhanced"), default="both",
                    help="enhanced: /search is gone (410, Cloud); classic: no /search/jql (404)")
    ap.add_argument("--epic-field", choices=("link", "parent"), default="link",
                    help="link: Epic Link customfield_10014; parent: epics are the parent field")
    ap.add_argument("--sprint-field", choices=("object", "string"), default="object",
                    help="string: the Sprint field as older Data Center's Sprint@..[..] texts")
    ap.add_argument("--user-tz", type=float, default=0.0,
                    help="the token user's time zone, hours from UTC (-5): JQL dates are read in it")
    ap.add_argument("--log", help="append 'METHOD path status' per request to this file")
    ap.add_argument("--lifetime", type=float, default=900.0,
                    help="exit after this many seconds (default 900)")
    args = ap.parse_args()
    if args.page_size < 1:
        ap.error("--page-size must be at least 1")
    with open(args.token_file) as f:
        args.token = f.read().strip()
    if not args.token:
        ap.error("the token file is empty")
    if args.deployment is None:
        args.deployment = "cloud" if args.user is not None else "datacenter"
    with open(args.state) as f:
        seed = json.load(f)
    store = Store(seed, args)
    if args.user is not None and store.find_user(args.user) is None:
        ap.error("--user '%s' is not a user of the seed" % args.user)
    Handler.store, Handler.args = store, args
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    store.base = "http://127.0.0.1:%d" % port
    timer = threading.Timer(args.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
