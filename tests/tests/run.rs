//! `lantern run` as operators run it: two processes on loopback, catch-up between them, and a
//! graceful exit on SIGTERM.

use lantern_tests::process::{run, terminate, wait_line};
use lantern_tests::*;

/// Data dirs `a` and `b` under `root`, founders of one federation named `name`.
fn two_founders(root: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (a, b) = (root.join("a"), root.join("b"));
    ok(lantern(&a, &["init"]));
    let b_key = ok(lantern(&b, &["init"]));
    let manifest = root.join("manifest.json");
    let manifest = manifest.to_str().unwrap();
    ok(lantern(&a, &["federation", "create", "--name", name, "--founder", b_key.trim(), "--out", manifest]));
    for dir in [&a, &b] {
        ok(lantern(dir, &["federation", "join", manifest]));
    }
    (a, b)
}

#[test]
fn a_second_node_catches_up_from_the_first_and_both_stop_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = two_founders(tmp.path(), "pair");
    let case = ok(lantern(&a, &["case", "add", repo().join("docs/examples/case.json").to_str().unwrap()]));
    let record = ok(lantern(&a, &["publish", case.trim()]));

    // Two members, k = 5: the record is key-signed (it names its author), so catch-up brings it;
    // an anonymous one would leave through a relay (`tests/tests/anonymous.rs`), here at once.
    let (mut node_a, out_a) = run(&a, &["--release-delay", "0"]);
    let address = wait_line(&out_a, "node a's address", |l| l.starts_with("/ip4/127.0.0.1/tcp/"));
    // While a node runs, commands the API does not cover say so instead of touching its store.
    assert!(fails(lantern(&a, &["export"])).contains("in use by a running node"));

    let (mut node_b, out_b) = run(&b, &["--bootstrap", &address]);
    wait_line(&out_b, "node b fetching a's records", |l| l.contains("reconciled") && !l.contains("fetched=0"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lantern(&b, &["records", "show", record.trim()]).status.success() {
        assert!(std::time::Instant::now() < deadline, "b never got a's record");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    terminate(&mut node_b);
    terminate(&mut node_a);

    let shown = ok(lantern(&b, &["records", "show", record.trim()]));
    assert!(shown.contains(record.trim()), "{shown}");
}

#[test]
fn while_a_node_runs_cli_commands_act_through_its_api() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    ok(lantern(&dir, &["init"]));
    ok(lantern(&dir, &["federation", "create", "--name", "owner-test"]));
    let (mut child, lines) = run(&dir, &[]);
    lantern_tests::process::wait_api(&lines);
    let case = repo().join("docs/examples/case.toml");
    let id = ok(lantern(&dir, &["case", "add", case.to_str().unwrap()]));
    assert_eq!(id.trim(), "1");
    // A retried add with its idempotency key answers the first id, through the node or not.
    let add_once = || ok(lantern(&dir, &["case", "add", case.to_str().unwrap(), "--idempotency-key", "add-1"]));
    assert_eq!((add_once().trim().to_string(), add_once().trim().to_string()), ("2".into(), "2".into()));
    assert!(ok(lantern(&dir, &["case", "list"])).contains("draft"));
    let record = ok(lantern(&dir, &["publish", "1"])).trim().to_string();
    assert_eq!(record.len(), 64);
    assert!(ok(lantern(&dir, &["records", "list", "--json"])).contains(&record));
    let matrix: serde_json::Value =
        serde_json::from_str(&ok(lantern(&dir, &["patterns", "matrix", "--json"]))).unwrap();
    assert_eq!(matrix["k"], 5);
    // Pattern tables and CSV print the same through the node as from the store (compared below).
    let shown: Vec<String> =
        [&["patterns", "matrix"][..], &["patterns", "matrix", "--csv"], &["patterns", "durations"]]
            .iter()
            .map(|args| ok(lantern(&dir, args)))
            .collect();
    assert!(shown[0].contains("groups suppressed"), "a table with its footer: {}", shown[0]);
    // Plain lines, as `info` prints them with the node stopped: not the API's JSON.
    let info = ok(lantern(&dir, &["info"]));
    assert!(info.lines().any(|l| l.starts_with("federation") && l.contains("owner-test")), "{info}");
    assert!(!info.trim_start().starts_with('{'), "{info}");
    // Errors from the node come back as one line naming the field.
    let bad = fails(lantern(&dir, &["patterns", "matrix", "--period", "2026-13"]));
    assert!(bad.contains("period"), "{bad}");
    // Without the address file the CLI says why it cannot proceed.
    std::fs::remove_file(dir.join("api.addr")).unwrap();
    let e = fails(lantern(&dir, &["case", "list"]));
    assert!(e.contains("in use by a running node") && e.contains("api.addr"), "{e}");
    terminate(&mut child);
    // Stopped: the CLI opens the store itself again.
    assert!(ok(lantern(&dir, &["case", "list"])).contains("1"));
    let local: Vec<String> =
        [&["patterns", "matrix"][..], &["patterns", "matrix", "--csv"], &["patterns", "durations"]]
            .iter()
            .map(|args| ok(lantern(&dir, args)))
            .collect();
    assert_eq!(local, shown, "the same output with and without a running node");
    assert_eq!(add_once().trim(), "2", "the same request, so the key answers the first id");
    assert_eq!(ok(lantern(&dir, &["case", "list"])).lines().count(), 1 + 2, "a header and two cases");
}

#[test]
fn a_p2p_port_in_use_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    ok(lantern(&dir, &["init"]));
    ok(lantern(&dir, &["federation", "create", "--name", "taken"]));
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = format!("/ip4/127.0.0.1/tcp/{}", holder.local_addr().unwrap().port());
    let e = fails(lantern(&dir, &["run", "--listen", &listen, "--api", "127.0.0.1:0"]));
    assert!(e.contains(&listen) && e.contains("in use"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
}

/// Waits (with a deadline) until `wanted` holds for the node's proven peers.
fn until_proven_peers(api: &str, token: &str, what: &str, wanted: impl Fn(usize) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let peers = http::get(&format!("{api}/api/v1/peers"), Some(token)).json();
        let proven = peers.as_array().unwrap().iter().filter(|p| p["member"].is_string()).count();
        if wanted(proven) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A peer that freezes (SIGSTOP: its connection stays open, nothing answers) is found by the
/// ping timeout and dropped; when it thaws, the redial finds it again.
#[test]
fn a_frozen_peer_is_dropped_and_found_again_when_it_thaws() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = two_founders(tmp.path(), "frozen");
    let (mut node_a, out_a) = run(&a, &[]);
    let address = wait_line(&out_a, "node a's address", |l| l.starts_with("/ip4/127.0.0.1/tcp/"));
    let (mut node_b, out_b) = run(&b, &["--bootstrap", &address]);
    let api_b = lantern_tests::process::wait_api(&out_b);
    let token_b = std::fs::read_to_string(b.join("api.token")).unwrap();
    until_proven_peers(&api_b, token_b.trim(), "the members to connect", |n| n == 1);

    let signal = |sig: &str, child: &std::process::Child| {
        assert!(std::process::Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success());
    };
    signal("-STOP", &node_a);
    until_proven_peers(&api_b, token_b.trim(), "the frozen peer to be dropped", |n| n == 0);
    signal("-CONT", &node_a);
    until_proven_peers(&api_b, token_b.trim(), "the thawed peer to be found again", |n| n == 1);
    terminate(&mut node_b);
    terminate(&mut node_a);
}

#[test]
fn a_data_dir_whose_store_went_missing_is_refused_not_started_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    ok(lantern(&dir, &["init"]));
    ok(lantern(&dir, &["federation", "create", "--name", "wiped"]));
    ok(lantern(&dir, &["case", "add", repo().join("docs/examples/case.toml").to_str().unwrap()]));
    std::fs::remove_dir_all(dir.join("store")).unwrap();
    // The private case existed only there: every command that opens the store says so.
    for args in [&["info"][..], &["case", "list"], &["run", "--api", "127.0.0.1:0"]] {
        let reason = fails(lantern(&dir, args));
        assert!(reason.contains("is missing") && reason.contains("lantern restore"), "{args:?}: {reason}");
    }
    // Starting afresh is a decision the operator takes, by removing the marker it names.
    std::fs::remove_file(dir.join("store.made")).unwrap();
    assert!(ok(lantern(&dir, &["info"])).contains("private cases 0"));
}
