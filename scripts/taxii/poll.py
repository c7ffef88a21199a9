"""Polls a running Lantern node's TAXII 2.1 server with OASIS's own client, as OpenCTI and MISP
do: discovery, API root, collections, every page of objects, the manifest, one object by id, and
a poll with `added_after` the last date seen. Exits 1 on anything a TAXII 2.1 client refuses.

usage: poll.py DISCOVERY_URL TOKEN
prints: `<n> incidents in <p> pages`, then `poll after last: <m> objects`
"""
import sys

import requests
from taxii2client.v21 import Server, as_pages


class Bearer(requests.auth.AuthBase):
    def __init__(self, token):
        self.token = token

    def __call__(self, request):
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


def main(url, token):
    server = Server(url, auth=Bearer(token))
    assert server.title, "the discovery resource has a title"
    root = server.default
    assert "application/taxii+json;version=2.1" in root.versions, root.versions
    collections = {c.title: c for c in root.collections}
    collection = collections["Live case summaries"]
    assert collection.can_read and not collection.can_write
    patterns = collections["Pattern reports"]
    report = [o for e in as_pages(patterns.get_objects, per_request=50) for o in e.get("objects", [])]
    assert all(o["type"] != "incident" for o in report), "no summary in the pattern reports"
    ids, pages = [], 0
    for envelope in as_pages(collection.get_objects, per_request=2):
        pages += 1
        ids.extend(o["id"] for o in envelope.get("objects", []))
    assert len(ids) == len(set(ids)), "no object twice across pages"
    incidents = [i for i in ids if i.startswith("incident--")]
    assert len(set(incidents)) == len(incidents)
    manifest = collection.get_manifest()
    listed = [o["id"] for o in manifest["objects"]]
    assert sorted(listed) == sorted(ids), "the manifest lists what the objects pages held"
    for entry in manifest["objects"]:
        assert entry["media_type"] == "application/stix+json;version=2.1", entry
    one = collection.get_object(incidents[0])
    assert one["objects"][0]["id"] == incidents[0]
    last = max(o["date_added"] for o in manifest["objects"])
    after = collection.get_objects(added_after=last)
    print(f"{len(incidents)} incidents in {pages} pages")
    print(f"poll after last: {len(after.get('objects', []))} objects")
    print(f"pattern report: {len(report)} objects")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
