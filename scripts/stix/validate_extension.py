"""Checks every Lantern case extension in a STIX bundle against its shipped JSON schema
(docs/stix/lantern-case-extension.json) with jsonschema; stix2-validator checks the rest.
Prints one line per problem and exits 1 if there is any."""
import json
import pathlib
import sys

import jsonschema

bundle = json.loads(pathlib.Path(sys.argv[1]).read_text())
schema = json.loads(pathlib.Path(sys.argv[2]).read_text())
definitions = {o["id"] for o in bundle["objects"] if o["type"] == "extension-definition"}
problems, checked = [], 0
for o in bundle["objects"]:
    for ext_id, ext in o.get("extensions", {}).items():
        if ext_id in definitions:
            checked += 1
            for e in jsonschema.Draft202012Validator(schema).iter_errors(ext):
                problems.append(f"{o['id']}: {e.message}")
for p in problems:
    print(p)
print(f"{checked} extensions checked")
sys.exit(1 if problems or not checked else 0)
