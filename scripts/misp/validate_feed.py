"""Validates a MISP feed directory with MISP's own tools: every event against PyMISP's event
JSON schemas (schema.json and schema-lax.json, with jsonschema), loaded by pymisp.MISPEvent;
the manifest names exactly the event files, and hashes.csv holds one line per attribute.
Prints one line per problem and exits 1 if there is any."""
import csv
import json
import pathlib
import sys

import jsonschema
import pymisp
from pymisp import MISPEvent

feed = pathlib.Path(sys.argv[1])
data = pathlib.Path(pymisp.__file__).parent / "data"
schemas = {name: json.loads((data / name).read_text()) for name in ("schema.json", "schema-lax.json")}
problems = []
manifest = json.loads((feed / "manifest.json").read_text())
events = sorted(p for p in feed.glob("*.json") if p.name != "manifest.json")
if sorted(manifest) != sorted(p.stem for p in events):
    problems.append("manifest.json does not name exactly the event files")
attributes = 0
for path in events:
    doc = json.loads(path.read_text())
    for name, schema in schemas.items():
        try:
            jsonschema.validate(doc, schema)
        except jsonschema.ValidationError as e:
            problems.append(f"{path.name} against {name}: {e.message}")
    event = MISPEvent()
    event.load_file(str(path))
    if str(event.uuid) != path.stem:
        problems.append(f"{path.name}: MISPEvent read uuid {event.uuid}")
    if not event.info or event.Orgc is None:
        problems.append(f"{path.name}: MISPEvent read no info or no Orgc")
    attributes += len(event.attributes)
with open(feed / "hashes.csv", newline="") as f:
    rows = list(csv.reader(f))
if len(rows) != attributes or any(len(r) != 2 or len(r[0]) != 32 for r in rows):
    problems.append(f"hashes.csv has {len(rows)} rows for {attributes} attributes")
for p in problems:
    print(p)
print(f"{len(events)} events, {attributes} attributes checked")
sys.exit(1 if problems else 0)
