"""Checks every Lantern pattern figure (a new-sco `lantern-pattern-figure`) in a STIX bundle
against its shipped JSON schema (docs/stix/lantern-pattern-figure.json) with jsonschema, and that
every observed-data refers to one, and the report to every observed-data; stix2-validator checks
the rest. Prints one line per problem and exits 1 if there is any."""
import json
import pathlib
import sys

import jsonschema

bundle = json.loads(pathlib.Path(sys.argv[1]).read_text())
schema = json.loads(pathlib.Path(sys.argv[2]).read_text())
objects = {o["id"]: o for o in bundle["objects"]}
problems = []
figures = [o for o in bundle["objects"] if o["type"] == "lantern-pattern-figure"]
for f in figures:
    problems += [f"{f['id']}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(f)]
observed = [o for o in bundle["objects"] if o["type"] == "observed-data"]
for o in observed:
    if [objects.get(r, {}).get("type") for r in o["object_refs"]] != ["lantern-pattern-figure"]:
        problems.append(f"{o['id']}: does not observe one figure")
reports = [o for o in bundle["objects"] if o["type"] == "report"]
if len(reports) != 1 or sorted(reports[0]["object_refs"]) != sorted(o["id"] for o in observed):
    problems.append("the report does not refer to every observed-data")
for p in problems:
    print(p)
print(f"{len(figures)} figures checked")
sys.exit(1 if problems or not figures else 0)
