#!/usr/bin/env bash
# One-shot set-up for docker-compose.yml: three operators' data dirs in /data/{a,b,c}, a
# federation with the three as founders, and a config per node that bootstraps from node a.
# Does nothing if /data/a exists already.
set -euo pipefail
[[ -e /data/a ]] && { echo "already initialised"; exit 0; }
declare -A key
for n in a b c; do
  key[$n]=$(lantern --data-dir "/data/$n" init --org-type ISP --region Europe 2>/dev/null)
done
lantern --data-dir /data/a federation create --name compose-demo \
  --founder "${key[b]}" --founder "${key[c]}" --out /data/manifest.json >/dev/null
peer_a=$(lantern --data-dir /data/a info | awk '/^peer id/ {print $3}')
for n in a b c; do
  lantern --data-dir "/data/$n" federation join /data/manifest.json >/dev/null
  bootstrap="[]"
  [[ $n != a ]] && bootstrap="[\"/dns4/operator-a/tcp/4001/p2p/$peer_a\"]"
  cat >"/data/$n/lantern.toml" <<TOML
data_dir = "/data/$n"
listen = ["/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"]
bootstrap = $bootstrap
# Inside the container; compose publishes it on the host's loopback only.
api = "0.0.0.0:7777"
sync_interval_secs = 15
TOML
done
echo "tokens: a=$(cat /data/a/api.token) b=$(cat /data/b/api.token) c=$(cat /data/c/api.token)"
