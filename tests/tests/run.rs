//! `lantern run` as operators run it: two processes on loopback, catch-up between them, and a
//! graceful exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lantern_tests::*;

/// Starts `lantern run`; returns the child and a channel of its output lines (stdout and stderr).
fn run(dir: &std::path::Path, extra: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(lantern_bin())
        .arg("--data-dir")
        .arg(dir)
        .args(["run", "--sync-interval", "1", "--api", "127.0.0.1:0"])
        .args(extra)
        .env("RUST_LOG", "lantern_node=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lantern run starts");
    let (tx, rx) = mpsc::channel();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    (child, rx)
}

/// The first output line satisfying `wanted`, within a deadline.
fn wait_line(rx: &mpsc::Receiver<String>, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if wanted(&line) => return line,
            Ok(_) => continue,
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

fn terminate(child: &mut Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "lantern run exits 0 on SIGTERM, got {exit}");
}

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
