#!/usr/bin/env bash
# A first look at Lantern on one machine: a node with a fresh member key and a one-member
# federation, the two example private cases, each published as a signed summary, then the
# records the node holds. Usage: deploy/try-it.sh [DATA_DIR]   (default: a new temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-$(mktemp -d)/lantern}"
cargo build --release --quiet -p lantern-node
lantern() { target/release/lantern --data-dir "$dir" "$@"; }

lantern init --org-type "hosting provider" --size "11-50 staff" --region Europe >/dev/null
lantern federation create --name "try-it" >/dev/null
for file in docs/examples/case.toml docs/examples/case.json; do
  id=$(lantern case add "$file")
  lantern publish "$id" >/dev/null
done
echo "== private cases (never leave the node)"
lantern case list
echo
echo "== signed records (what the federation sees)"
lantern records list
echo
echo "== the first record, decoded"
first=$(lantern records list --json | head -1 | sed -E 's/.*"id":"([0-9a-f]+)".*/\1/')
lantern records show "$first"
echo
echo "data dir: $dir   (try: target/release/lantern --data-dir $dir info)"
