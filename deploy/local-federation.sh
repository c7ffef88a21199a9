#!/usr/bin/env bash
# A federation of N lantern nodes on this machine, each a separate process on loopback.
#
#   deploy/local-federation.sh up N DIR    fresh keys and data dirs under DIR, a fresh federation
#                                          (nodes 0-2 founders, the others vouched in by nodes 1
#                                          and 2), start every node, wait until all are connected,
#                                          write DIR/federation.json
#   deploy/local-federation.sh down DIR    stop them (SIGTERM, then wait)
#
# DIR/federation.json: {"nodes": [{"name", "api", "token", "p2p", "member", "data_dir"}]}.
# "api" is the node's HTTP API and web UI; "token" its member token (full access).
# LANTERN_BIN picks the binary (default: build target/release/lantern).
set -euo pipefail

usage() { echo "usage: $0 up N DIR | down DIR" >&2; exit 2; }
repo="$(cd "$(dirname "$0")/.." && pwd)"

binary() {
  if [[ -n "${LANTERN_BIN:-}" ]]; then echo "$LANTERN_BIN"; return; fi
  (cd "$repo" && cargo build --release --quiet -p lantern-node) >&2
  echo "$repo/target/release/lantern"
}

# wait_for FILE PATTERN SECONDS: until a line of FILE matches PATTERN.
wait_for() {
  local file=$1 pattern=$2 deadline=$((SECONDS + $3))
  until grep -qE "$pattern" "$file" 2>/dev/null; do
    if (( SECONDS >= deadline )); then echo "timed out waiting for '$pattern' in $file" >&2; return 1; fi
    sleep 0.1
  done
}

up() {
  local n=$1 dir=$2
  [[ "$n" =~ ^[0-9]+$ ]] && (( n >= 3 )) || { echo "N must be a number, at least 3 (three founders)" >&2; exit 2; }
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [[ -e "$dir/federation.json" ]] && { echo "$dir already holds a federation; run down first" >&2; exit 1; }
  local bin; bin="$(binary)"
  local -a members addrs apis
  for ((i = 0; i < n; i++)); do
    members[i]=$("$bin" --data-dir "$dir/node$i" init 2>/dev/null)
  done
  "$bin" --data-dir "$dir/node0" federation create --name "local-$(date +%s)" \
    --founder "${members[1]}" --founder "${members[2]}" --out "$dir/manifest.json" >/dev/null
  for ((i = 0; i < n; i++)); do
    "$bin" --data-dir "$dir/node$i" federation join "$dir/manifest.json" >/dev/null
  done
  if (( n > 3 )); then
    for ((i = 3; i < n; i++)); do
      "$bin" --data-dir "$dir/node1" vouch "${members[i]}" >/dev/null
      "$bin" --data-dir "$dir/node2" vouch "${members[i]}" >/dev/null
    done
    # Every node starts knowing who was vouched in.
    "$bin" --data-dir "$dir/node1" export --out "$dir/vouches1.jsonl" 2>/dev/null
    "$bin" --data-dir "$dir/node2" export --out "$dir/vouches2.jsonl" 2>/dev/null
    for ((i = 0; i < n; i++)); do
      "$bin" --data-dir "$dir/node$i" import "$dir/vouches1.jsonl" 2>/dev/null
      "$bin" --data-dir "$dir/node$i" import "$dir/vouches2.jsonl" 2>/dev/null
    done
  fi
  start() {
    local i=$1; shift
    RUST_LOG="${RUST_LOG:-info}" nohup "$bin" --data-dir "$dir/node$i" run --sync-interval 10 --api 127.0.0.1:0 "$@" \
      >"$dir/node$i.log" 2>&1 &
    echo $! >"$dir/node$i.pid"
    wait_for "$dir/node$i.log" '^/ip4/127\.0\.0\.1/tcp/[0-9]+/p2p/' 30
    wait_for "$dir/node$i.log" '^api http://' 30
    addrs[i]=$(grep -m1 -E '^/ip4/127\.0\.0\.1/tcp/' "$dir/node$i.log")
    apis[i]=$(grep -m1 -E '^api http://' "$dir/node$i.log" | cut -d' ' -f2)
  }
  start 0
  for ((i = 1; i < n; i++)); do start "$i" --bootstrap "${addrs[0]}"; done
  for ((i = 0; i < n; i++)); do wait_for "$dir/node$i.log" '^connected to ' 60; done
  {
    echo '{"nodes": ['
    for ((i = 0; i < n; i++)); do
      printf '  {"name": "node%d", "api": "%s", "token": "%s", "p2p": "%s", "member": "%s", "data_dir": "%s"}%s\n' \
        "$i" "${apis[i]}" "$(cat "$dir/node$i/api.token")" "${addrs[i]}" "${members[i]}" "$dir/node$i" \
        "$([[ $i -lt $((n - 1)) ]] && echo ,)"
    done
    echo ']}'
  } >"$dir/federation.json"
  echo "$dir/federation.json"
}

down() {
  local dir=$1 pid
  for file in "$dir"/node*.pid; do
    [[ -e "$file" ]] || continue
    pid=$(cat "$file")
    kill -TERM "$pid" 2>/dev/null || true
  done
  for file in "$dir"/node*.pid; do
    [[ -e "$file" ]] || continue
    pid=$(cat "$file")
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null; do
      if (( SECONDS >= deadline )); then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.1
    done
    rm -f "$file"
  done
  rm -f "$dir/federation.json"
}

case "${1:-}" in
  up) [[ $# -eq 3 ]] || usage; up "$2" "$3" ;;
  down) [[ $# -eq 2 ]] || usage; down "$2" ;;
  *) usage ;;
esac
