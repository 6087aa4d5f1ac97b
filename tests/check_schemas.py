#!/usr/bin/env python3
"""Check the coordination JSON Schemas against templates and sample documents.

usage: check_schemas.py REPO_ROOT

- every coordination/schema/*.schema.json is a valid draft 2020-12 schema
  whose $id ends with its file name;
- the templates coordination/{locks,jobs,messages}.json are written exactly
  as json.dump(obj, f, indent=2) plus a newline, and validate;
- tests/resources/schema/good-NAME[-N].json validate against NAME.schema.json
  and bad-NAME[-N].json do not.

Needs python3-jsonschema (4.x).  Exits 0 on success, 1 on any failure.
"""
import glob
import json
import os
import re
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError as e:
    sys.exit("check_schemas: jsonschema with draft 2020-12 support is needed: %s" % e)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
TEMPLATES = {"locks": "locks.json", "jobs": "jobs.json", "messages": "messages.json"}
SAMPLE = re.compile(r"^(good|bad)-(.+?)(?:-[0-9]+)?\.json$")


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: check_schemas.py REPO_ROOT")
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

    print("%d schemas, %d documents checked, %d failures"
          % (len(validators), checked, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
