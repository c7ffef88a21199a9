//! `lantern run` as operators run it: two processes on loopback, catch-up between them, and a
//! graceful exit on SIGTERM.

use lantern_tests::process::{run, terminate, wait_line};
use lantern_tests::*;

#[test]
fn a_second_node_catches_up_from_the_first_and_both_stop_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(lantern(&a, &["init"]));
    let b_key = ok(lantern(&b, &["init"]));
    let manifest = tmp.path().join("manifest.json");
    ok(lantern(
        &a,
        &["federation", "create", "--name", "pair", "--founder", b_key.trim(), "--out", manifest.to_str().unwrap()],
    ));
    for dir in [&a, &b] {
        ok(lantern(dir, &["federation", "join", manifest.to_str().unwrap()]));
    }
    let case = ok(lantern(&a, &["case", "add", repo().join("docs/examples/case.json").to_str().unwrap()]));
    let record = ok(lantern(&a, &["publish", case.trim()]));

    let (mut node_a, out_a) = run(&a, &[]);
    let address = wait_line(&out_a, "node a's address", |l| l.starts_with("/ip4/127.0.0.1/tcp/"));
    // While a node runs, the CLI says so instead of touching its store.
    assert!(fails(lantern(&a, &["case", "list"])).contains("in use by a running node"));

    let (mut node_b, out_b) = run(&b, &["--bootstrap", &address]);
    wait_line(&out_b, "node b fetching a's records", |l| l.contains("reconciled") && !l.contains("fetched=0"));
    terminate(&mut node_b);
    terminate(&mut node_a);

    let shown = ok(lantern(&b, &["records", "show", record.trim()]));
    assert!(shown.contains(record.trim()), "{shown}");
}
