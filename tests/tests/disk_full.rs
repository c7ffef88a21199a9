//! Full disks, for real: small tmpfs mounts in a mount namespace of the test's own (`unshare
//! -Urm`, so no root is needed where user namespaces are allowed; else as root, or through
//! passwordless sudo). Imports and publishes run until the disk is full; the test asserts that no
//! command hangs, that the store opens afterwards with every acknowledged record, and that it
//! takes writes again once space is back.

use std::io::Write;
use std::process::Command;

use lantern_protocol::VerifyContext;
use lantern_protocol::sample::{self, Rng};
use lantern_tests::*;

const SCRIPT: &str = r#"
set -u
L=$1; M=$2; R=$3; CASE=$4; W=$5
records() { "$L" --data-dir "$1" info 2>>"$W/err" | awk '/^records/ {print $2}'; }
# One case added and published in data dir $d, errors to $1.
publish_one() {
  id=$(timeout 30 "$L" --data-dir "$d" case add "$CASE" 2>>"$1") && timeout 30 "$L" --data-dir "$d" publish "$id" --omit-narrative >/dev/null 2>>"$1"
}
# One publish (so the store has laid out its files), then a filler leaving $1 KiB free, then
# publishes until one fails; $ok counts the acknowledged ones. Errors to $2.
publish_until_full() {
  ok=0
  publish_one "$2" && ok=1
  avail=$(df --output=avail -k "$mnt" | tail -1)
  dd if=/dev/zero of="$mnt/filler" bs=1k count=$((avail - $1)) 2>/dev/null
  for i in $(seq 1 300); do
    publish_one "$2" || break
    ok=$((ok + 1))
  done
}
for size in 5 7 9; do
  mnt="$W/import$size"; mkdir -p "$mnt"
  mount -t tmpfs -o size=${size}m tmpfs "$mnt" || { echo "no-mount"; exit 0; }
  d="$mnt/n"
  "$L" --data-dir "$d" init >/dev/null 2>&1; "$L" --data-dir "$d" federation join "$M" >/dev/null 2>&1
  timeout 60 "$L" --data-dir "$d" import "$R" >/dev/null 2>>"$W/err"; rc=$?
  mount -o remount,size=256m "$mnt"
  held=$(records "$d")
  timeout 60 "$L" --data-dir "$d" import "$R" >/dev/null 2>>"$W/err"; again=$?
  echo "import size=$size rc=$rc held=${held:-none} again=$again total=$(records "$d")"
done
mnt="$W/publish"; mkdir -p "$mnt"; mount -t tmpfs -o size=4m tmpfs "$mnt"
d="$mnt/n"
"$L" --data-dir "$d" init >/dev/null 2>&1; "$L" --data-dir "$d" federation create --name full >/dev/null 2>&1
publish_until_full 160 "$W/err"
last=$?
rm -f "$mnt/filler"
held=$(records "$d")
chain=$("$L" --data-dir "$d" info 2>>"$W/err" | grep '^own chain')
publish_one "$W/err"
echo "publish ok=$ok last=$last held=${held:-none} again=$? chain=$chain"
# A running node: its disk fills, then space comes back while it runs.
mnt="$W/running"; mkdir -p "$mnt"; mount -t tmpfs -o size=6m tmpfs "$mnt"
d="$mnt/n"
"$L" --data-dir "$d" init >/dev/null 2>&1; "$L" --data-dir "$d" federation create --name running >/dev/null 2>&1
"$L" --data-dir "$d" run --api 127.0.0.1:0 --release-delay 0 >"$W/run.out" 2>>"$W/run.err" &
pid=$!
# GET a path of the node's API (bash's /dev/tcp: no client needed); prints the body.
get() {
  addr=$(cat "$d/api.addr" 2>/dev/null) || return 1
  exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: x\r\n\r\n' "$1" >&3; sed '1,/^\r$/d' <&3; exec 3<&-
}
# Waits (30 s at most) until the node says `"store":$1`.
until_store() {
  for _ in $(seq 1 300); do get /api/v1/ready 2>/dev/null | grep -q "\"store\":$1" && return 0; sleep 0.1; done; return 1
}
until_store true; up=$?
first=$(cat "$d/api.addr" 2>/dev/null)
publish_until_full 64 "$W/run.err"
until_store false; unready=$?
rm -f "$mnt/filler"
until_store true; healed=$?
second=$(cat "$d/api.addr" 2>/dev/null)
publish_one "$W/run.err"
again=$?
kill -TERM $pid; wait $pid; stopped=$?
echo "running up=$up ok=$ok unready=$unready healed=$healed again=$again stopped=$stopped api=$([ "$first" != "$second" ] && echo reopened || echo same) held=$(records "$d")"
"#;

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line.find(&format!("{name}=")).unwrap_or_else(|| panic!("{name} in {line}")) + name.len() + 1;
    line[start..].split_whitespace().next().unwrap_or("")
}

#[test]
fn full_disks_lose_no_acknowledged_write_and_the_store_always_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = net::manifest(8);
    let manifest_path = tmp.path().join("manifest.json");
    std::fs::write(&manifest_path, serde_json::to_string(&manifest).unwrap()).unwrap();
    // 16 000 records: several MiB of store, more than the smaller disks hold.
    let ctx = VerifyContext::for_manifest(&manifest);
    let mut rng = Rng::new(11);
    let records_path = tmp.path().join("records.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&records_path).unwrap());
    let mut total = 0;
    for n in 0..8 {
        let summaries: Vec<_> = (0..2000).map(|_| sample::summary(&mut rng, "2025-01".parse().unwrap(), 12)).collect();
        for r in sample::signed_chain(&net::member_key(n), &ctx, summaries, &mut rng) {
            writeln!(out, "{}", serde_json::json!({ "record": hex(r.bytes()) })).unwrap();
            total += 1;
        }
    }
    out.flush().unwrap();
    drop(out);

    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let case = repo().join("docs/examples/case.json");
    // A mount namespace of our own: as an unprivileged user where user namespaces are allowed,
    // else as root, else through passwordless sudo.
    let launchers: [&[&str]; 3] = [&["unshare", "-Urm"], &["unshare", "-m"], &["sudo", "-n", "unshare", "-m"]];
    let mut tried = Vec::new();
    let report = launchers
        .iter()
        .find_map(|launcher| {
            let _ = std::fs::remove_file(work.join("err"));
            let run = Command::new(launcher[0])
                .args(&launcher[1..])
                .args(["bash", "-c", SCRIPT, "disk-full"])
                .arg(lantern_bin())
                .args([&manifest_path, &records_path, &case, &work])
                .output()
                .ok()?;
            let report = String::from_utf8_lossy(&run.stdout).to_string();
            tried.push(format!("{launcher:?}: {report}{}", String::from_utf8_lossy(&run.stderr)));
            (run.status.success() && report.contains("import size=")).then_some(report)
        })
        .unwrap_or_else(|| panic!("could not mount a tmpfs in a mount namespace: {tried:#?}"));
    let errors = std::fs::read_to_string(work.join("err")).unwrap_or_default();
    println!("{report}");

    let imports: Vec<&str> = report.lines().filter(|l| l.starts_with("import")).collect();
    assert_eq!(imports.len(), 3, "{report}");
    assert!(imports.iter().any(|l| field(l, "rc") != "0"), "some disk was too small: {report}");
    for line in &imports {
        assert_ne!(field(line, "rc"), "124", "an import on a full disk hung: {line}\n{errors}");
        assert_ne!(field(line, "held"), "none", "the store did not open after a full disk: {line}\n{errors}");
        assert_eq!(field(line, "again"), "0", "the store took no writes once space was back: {line}\n{errors}");
        assert_eq!(field(line, "total"), total.to_string(), "{line}");
    }
    assert!(errors.contains("the disk is full"), "a full disk is named: {errors}");

    let publish = report.lines().find(|l| l.starts_with("publish")).expect("the publish run");
    let acknowledged: u64 = field(publish, "ok").parse().unwrap();
    let held: u64 = field(publish, "held").parse().unwrap_or_else(|_| panic!("the store opens: {publish}\n{errors}"));
    assert!(acknowledged > 0 && acknowledged < 300, "the disk filled after some publishes: {publish}");
    // Every acknowledged publish is kept (a refused one may have been kept too: it is then
    // the node's own next record, not an equivocation).
    assert!(held >= acknowledged, "acknowledged publishes lost: {publish}\n{errors}");
    assert!(publish.contains("own chain     whole"), "{publish}");
    assert_eq!(field(publish, "again"), "0", "publishing works again once space is back: {publish}\n{errors}");

    // A running node heals by itself: unready while its disk is full, ready and taking writes
    // again once space is back, without anyone restarting it.
    let node_log = std::fs::read_to_string(work.join("run.err")).unwrap_or_default();
    let running = report.lines().find(|l| l.starts_with("running")).expect("the running-node run");
    assert_eq!(field(running, "up"), "0", "the node started: {running}\n{node_log}");
    let acknowledged: u64 = field(running, "ok").parse().unwrap();
    assert!(acknowledged > 0 && acknowledged < 300, "the disk filled after some publishes: {running}");
    assert!(node_log.contains("the disk is full"), "the refusal names the full disk: {node_log}");
    assert_eq!(field(running, "unready"), "0", "/ready said store: false on a full disk: {running}\n{node_log}");
    assert_eq!(field(running, "healed"), "0", "the node was ready again once space was back: {running}\n{node_log}");
    assert_eq!(field(running, "again"), "0", "it took a publish again: {running}\n{node_log}");
    assert_eq!(field(running, "stopped"), "0", "{running}\n{node_log}");
    let held: u64 = field(running, "held").parse().unwrap_or_else(|_| panic!("the store opens: {running}\n{node_log}"));
    assert!(held > acknowledged, "every acknowledged publish and the last one are kept: {running}\n{node_log}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
