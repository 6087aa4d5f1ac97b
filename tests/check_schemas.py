#!/usr/bin/env python3
"""Check the coordination JSON Schemas against templates and sample documents.

usage: check_schemas.py REPO_ROOT [COORDSYNC]

- every coordination/schema/*.schema.json is a valid draft 2020-12 schema
  whose $id ends with its file name;
- the templates coordination/{locks,jobs,messages}.json are written exactly
  as json.dump(obj, f, indent=2) plus a newline, and validate;
- tests/resources/schema/good-NAME[-N].json validate against NAME.schema.json
  and bad-NAME[-N].json do not.

- with COORDSYNC (the binary), the importer and the schemas agree: boundary
  values of every field the importer types (integers, times, strings,
  booleans), each in a record otherwise valid under both, are imported by
  the real binary (a sync of a real remote) and validated by jsonschema;
  the verdicts must be the same, except for the tolerances listed in
  TOLERATED (what the importer deliberately reads although the schema
  documents less), and each of those must still be seen.

Needs python3-jsonschema (4.x).  Exits 0 on success, 1 on any failure.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError as e:
    sys.exit("check_schemas: jsonschema with draft 2020-12 support is needed: %s" % e)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
TEMPLATES = {"locks": "locks.json", "jobs": "jobs.json", "messages": "messages.json"}
SAMPLE = re.compile(r"^(good|bad)-(.+?)(?:-[0-9]+)?\.json$")


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit("usage: check_schemas.py REPO_ROOT [COORDSYNC]")
    root = argv[1]
    coord = os.path.join(root, "coordination")
    failures = []
    checked = 0

    def fail(msg):
        failures.append(msg)
        print("FAIL " + msg)

    def load(path):
        with open(path, encoding="utf-8") as f:
            return f.read()

    validators = {}
    for path in sorted(glob.glob(os.path.join(coord, "schema", "*.schema.json"))):
        name = os.path.basename(path)[: -len(".schema.json")]
        try:
            schema = json.loads(load(path))
            if schema.get("$schema") != DRAFT:
                raise ValueError("$schema is not %s" % DRAFT)
            if not str(schema.get("$id", "")).endswith("/" + os.path.basename(path)):
                raise ValueError("$id does not end with the file name")
            for key in ("title", "description"):
                if not schema.get(key):
                    raise ValueError("missing %s" % key)
            Draft202012Validator.check_schema(schema)
        except (ValueError, jsonschema.exceptions.SchemaError) as e:
            fail("schema %s: %s" % (path, e))
            continue
        validators[name] = Draft202012Validator(schema)
    if not validators:
        fail("no schemas under %s" % os.path.join(coord, "schema"))

    def first_error(name, doc):
        errs = sorted(validators[name].iter_errors(doc), key=lambda e: list(e.path))
        if not errs:
            return None
        e = errs[0]
        return "%s at /%s" % (e.message, "/".join(str(p) for p in e.absolute_path))

    for name, fname in sorted(TEMPLATES.items()):
        path = os.path.join(coord, fname)
        checked += 1
        try:
            text = load(path)
            doc = json.loads(text)
        except (OSError, ValueError) as e:
            fail("template %s: %s" % (path, e))
            continue
        if text != json.dumps(doc, indent=2) + "\n":
            fail("template %s: not in json.dump(indent=2) + newline form" % path)
            continue
        if name not in validators:
            fail("template %s: no schema %s" % (path, name))
            continue
        err = first_error(name, doc)
        if err:
            fail("template %s: %s" % (path, err))
        else:
            print("ok   template %s" % os.path.relpath(path, root))

    seen_good = set()
    samples = sorted(glob.glob(os.path.join(root, "tests", "resources", "schema", "*.json")))
    for path in samples:
        base = os.path.basename(path)
        m = SAMPLE.match(base)
        if not m:
            fail("sample %s: name is not good-NAME[-N].json or bad-NAME[-N].json" % path)
            continue
        kind, name = m.groups()
        checked += 1
        if name not in validators:
            fail("sample %s: no schema %s" % (path, name))
            continue
        try:
            doc = json.loads(load(path))
        except (OSError, ValueError) as e:
            fail("sample %s: %s" % (path, e))
            continue
        err = first_error(name, doc)
        rel = os.path.relpath(path, root)
        if kind == "good":
            seen_good.add(name)
            if err:
                fail("sample %s should validate: %s" % (rel, err))
            else:
                print("ok   %s validates" % rel)
        else:
            if err:
                print("ok   %s rejected: %s" % (rel, err))
            else:
                fail("sample %s should not validate" % rel)

    for name in sorted(set(validators) - seen_good):
        fail("schema %s has no good sample" % name)

    if len(argv) > 2 and validators:
        checked += agreement(argv[2], validators, fail)

    print("%d schemas, %d documents checked, %d failures"
          % (len(validators), checked, len(failures)))
    return 1 if failures else 0


# ---- the importer and the schemas agree ------------------------------------------

MAXI = 2**53 - 1
INTS = ["0", "1", "-1", "1.0", "1.5", "1e3", "-0", str(MAXI), str(MAXI + 1), str(-MAXI),
        str(-MAXI - 1), "1e400", "-1e400", "\"1\"", "true", "[]", "null"]
TEXTS = ["\"x\"", "\"\"", "1", "true", "{}", "null"]
BOOLS = ["true", "false", "0", "\"true\"", "null"]
TIME_STRINGS = ["2026-01-02T03:04:05Z", "2026-01-02", "2026-01-02 03:04", "2026-01-02t03:04:05z",
                "2026-01-02T03:04:05.123456+05:30", "2026-01-02T03:04:05,5-0800",
                "2026-01-02T03:04:05+05", "2026-01-02T03:04:05+05:", "2026-01-02T03:04:05+24:00",
                "2026-01-02T03:04:05+05:60", "2024-02-29", "2023-02-29", "2000-02-29T00:00",
                "1900-02-29", "2026-04-31", "2026-04-30", "2026-12-31T23:59:60Z",
                "2026-01-02T24:00", "2026-01-02T23:60", "2026-13-01", "2026-00-10", "2026-01-00",
                "0000-01-01", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "10000-01-01",
                "0001-01-01T00:30+01:00", "9999-12-31T23:30-01:00", "9999-12-31T23:59:60Z",
                "2026-1-02", "2026-01-02T03:04:5", "2026-01-02T", "2026-01-02Z", "", "now",
                " 2026-01-02"]
TIMES = [json.dumps(t) for t in TIME_STRINGS] + [
    "0", "1.5", "-62135596800", "-62135596801", "253402300799", "253402300800", "1e400",
    "-1e400", "true", "null", "[]"]
# Every time field is read by the same code: the full list runs through one
# field of each kind, this one through the others.
SOME_TIMES = ["\"2026-01-02T03:04:05Z\"", "\"2026-02-30\"", "1.5", "253402300800", "true", "null"]

# Each kind: the file, a way to put one record in it, a record that both
# accept, and the fields the importer types (engine/kinds.c's kind table).
KINDS = {
    "jobs": ("coordination/jobs.json", lambda r: {"jobs": [r]},
             {"id": "j1", "status": "queued", "priority": 1, "created_at": "2026-01-02T03:04:05Z"},
             {"status": TEXTS + ["\"queued\"", "\"paused\""], "assigned_to": TEXTS,
              "priority": INTS, "attempts": INTS, "max_attempts": INTS, "fence": INTS,
              "created_at": SOME_TIMES, "started_at": SOME_TIMES, "completed_at": SOME_TIMES,
              "run_after": TIMES, "error": TEXTS}),
    "locks": ("coordination/locks.json", lambda r: {"locks": {"L": r}},
              {"locked_by": "build2", "locked_at": 1767323045, "expires_at": 1767323105, "fence": 1},
              {"locked_by": TEXTS, "locked_at": SOME_TIMES, "expires_at": TIMES, "fence": INTS}),
    "messages": ("coordination/messages.json", lambda r: {"messages": [r]},
                 {"id": "m1", "from": "build2", "to": "all", "type": "info", "subject": "s",
                  "body": None, "timestamp": "2026-01-02T03:04:05Z", "read": False},
                 {"body": TEXTS, "subject": TEXTS + ["\"\\u00e9\""], "timestamp": TIMES,
                  "read": BOOLS, "type": TEXTS + ["\"info\""], "read_by": ["[\"build1\"]", "[]", "null", "\"x\""]}),
    "status": ("SERVER/status.json", lambda r: r, {"status": "idle", "timestamp": "2026-01-02T03:04:05Z"},
               {"status": TEXTS, "timestamp": TIMES}),
    "heartbeat": ("SERVER/heartbeat.json", lambda r: r, {"timestamp": "2026-01-02T03:04:05Z"},
                  {"timestamp": TIMES}),
}


def tolerated(kind, field, value):
    """Why the importer may accept what the schema refuses, or None.  Each
    reason is documented in docs/RELIABILITY.md ("Values and the export
    invariant")."""
    if value is None:
        return "null reads as absent"
    if kind == "jobs" and field == "status" and isinstance(value, str):
        return "an unknown job status is kept, not a broken file"
    if kind == "messages" and field in ("type", "subject") and isinstance(value, str):
        return "a message's type and subject are free text to the importer"
    if kind == "messages" and field == "read_by":
        return "read_by is kept as any JSON"
    if kind == "locks" and field in ("locked_at", "expires_at") and isinstance(value, str):
        return "a lock time may be an ISO string"
    return None


def range_edge(value):
    """A time string on 0001-01-01 or 9999-12-31 (or a leap second at its
    end) whose zone moves it outside years 1 to 9999: the importer refuses
    it, the pattern cannot."""
    return isinstance(value, str) and (value.startswith("0001-01-01") or value.startswith("9999-12-31"))


def agreement(binary, validators, fail):
    """Run every boundary value through the real importer and jsonschema."""
    work = tempfile.mkdtemp(prefix="coordsync-schemas.")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid",
               GIT_CONFIG_NOSYSTEM="1", HOME=work)
    run = lambda *a, **k: subprocess.run(a, env=env, check=True, capture_output=True, text=True, **k)
    cases = []
    try:
        remote, w, c = (os.path.join(work, x) for x in ("r.git", "w", "c"))
        run("git", "init", "-q", "--bare", "-b", "main", remote)
        run("git", "clone", "-q", remote, w)
        run(binary, "init", remote, c, "--server", "probe")
        run("git", "-C", w, "pull", "-q", "origin", "main")

        def importer(paths):
            subprocess.run([binary, "-C", c, "sync"], env=env, capture_output=True)
            out = run(binary, "-C", c, "query", "--format", "csv",
                      "SELECT path, coalesce(error, '') FROM files").stdout
            seen = dict(line.split(",", 1) for line in out.splitlines()[1:] if "," in line)
            return [seen.get(p) for p in paths]

        def push(msg):
            run("git", "-C", w, "add", "-A")
            run("git", "-C", w, "commit", "-qm", msg)
            run("git", "-C", w, "push", "-q", "origin", "HEAD:main")

        def push_tracked(msg):
            run("git", "-C", w, "commit", "-qam", msg)
            run("git", "-C", w, "push", "-q", "origin", "HEAD:main")

        def importer_one(path):
            # sync's exit tells: 0 imported, 1 refused (its message names the file)
            r = subprocess.run([binary, "-C", c, "sync"], env=env, capture_output=True, text=True)
            if r.returncode == 0:
                return ""
            return r.stderr.strip() if path in r.stderr else None

        n = 0
        for kind, (path, wrap, base, fields) in KINDS.items():
            batch = []
            for field, values in fields.items():
                for text in values:
                    value = json.loads(text)
                    rec_text = json.dumps(base)[:-1] + ", " + json.dumps(field) + ": " + text + "}"
                    if field in base:
                        rec = dict(base)
                        rec[field] = None
                        rec_text = json.dumps(rec).replace(json.dumps(field) + ": null",
                                                           json.dumps(field) + ": " + text)
                    doc_text = json.dumps(wrap({"@": 0})).replace('{"@": 0}', rec_text)
                    schema_ok = not list(validators[kind].iter_errors(json.loads(doc_text)))
                    if path.startswith("SERVER/"):
                        n += 1
                        p = "s%04d/%s" % (n, path[len("SERVER/"):])
                        os.makedirs(os.path.join(w, os.path.dirname(p)), exist_ok=True)
                        with open(os.path.join(w, p), "w") as f:
                            f.write(doc_text + "\n")
                        batch.append((p, field, text, value, schema_ok))
                        continue
                    with open(os.path.join(w, path), "w") as f:
                        f.write(doc_text + "\n")
                    push_tracked("%s %s" % (field, text))
                    err = importer_one(path)
                    cases.append((kind, field, text, value, schema_ok, err))
            if batch:
                push(kind)
                for (p, field, text, value, schema_ok), err in zip(batch, importer([b[0] for b in batch])):
                    cases.append((kind, field, text, value, schema_ok, err))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    reasons_seen = set()
    disagreements = 0
    for kind, field, text, value, schema_ok, err in cases:
        if err is None:
            fail("agreement %s.%s = %s: the importer did not report the file" % (kind, field, text))
            continue
        imp_ok = err == ""
        if imp_ok == schema_ok:
            continue
        why = tolerated(kind, field, value) if imp_ok else None
        if not imp_ok and range_edge(value):
            why = "a zone moves the time outside years 1 to 9999"
        if why:
            reasons_seen.add(why)
            continue
        disagreements += 1
        fail("agreement %s.%s = %s: the importer %s it, the schema %s it%s"
             % (kind, field, text, "accepts" if imp_ok else "refuses",
                "accepts" if schema_ok else "refuses", "" if imp_ok else " (%s)" % err))
    want = {"null reads as absent", "an unknown job status is kept, not a broken file",
            "a message's type and subject are free text to the importer", "read_by is kept as any JSON",
            "a lock time may be an ISO string", "a zone moves the time outside years 1 to 9999"}
    for why in sorted(want - reasons_seen):
        fail("agreement: the tolerance '%s' was never needed: drop it" % why)
    print("%s  importer and schemas: %d boundary values, %d disagreements, tolerated: %s"
          % ("ok  " if not disagreements else "FAIL", len(cases), disagreements,
             "; ".join(sorted(reasons_seen))))
    return len(cases)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
