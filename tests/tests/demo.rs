//! `lantern demo`, small: three nodes come together over loopback and the first node's API
//! answers pattern queries with the groups the demo promises (one of them suppressed).

use std::time::{Duration, Instant};

use lantern_tests::process::{spawn, terminate, wait_line};
use lantern_tests::*;
use serde_json::Value;

fn cell<'a>(matrix: &'a Value, registry: &str, category: &str) -> &'a Value {
    matrix["cells"].as_array().unwrap().iter().find(|c| c["registry"] == registry && c["category"] == category).unwrap()
}

#[test]
fn a_small_demo_answers_with_the_expected_groups_and_stops_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let d = dir.to_str().unwrap();
    let args = ["demo", "--members", "15", "--cases", "1500", "--seed", "1", "--api", "127.0.0.1:0", "--dir", d];
    let (mut child, lines) = spawn(&args);
    let api = wait_line(&lines, "the demo's API", |l| l.starts_with("api http://"))["api ".len()..].to_string();
    let others: Vec<String> = (1..3)
        .map(|i| {
            let line = wait_line(&lines, "another node", |l| l.trim_start().starts_with(&format!("node{i} ")));
            line.split_whitespace().nth(1).unwrap().to_string()
        })
        .collect();
    let token = |i: usize| std::fs::read_to_string(dir.join(format!("node{i}/api.token"))).unwrap().trim().to_string();

    // Each node started with a third of the records; catch-up brings them all together.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let counts: Vec<u64> = std::iter::once(&api)
            .chain(&others)
            .enumerate()
            .map(|(i, url)| {
                http::get(&format!("{url}/api/v1/node"), Some(&token(i))).json()["records"].as_u64().unwrap()
            })
            .collect();
        if counts.iter().all(|&c| c == counts[0] && c >= 1500) {
            break;
        }
        assert!(Instant::now() < deadline, "nodes did not converge: {counts:?}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let matrix = http::get(&format!("{api}/api/v1/patterns/matrix"), Some(&token(0))).json();
    let big = cell(&matrix, "RIPE NCC", "transfer delayed");
    assert!(big["operators"].as_u64().unwrap() >= 5, "{big}");
    let small = cell(&matrix, "AFRINIC", "legal proceeding");
    assert_eq!(small["suppressed"], true, "{small}");
    assert!(small.get("cases").is_none());
    let emerging = http::get(&format!("{api}/api/v1/patterns/emerging"), Some(&token(0))).json();
    let flagged = emerging["pairs"].as_array().unwrap();
    assert!(flagged.iter().any(|p| p["registry"] == "ARIN" && p["category"] == "RPKI change"), "{emerging}");
    // The UI is there, and the demo's private cases are on the first node.
    assert_eq!(http::get(&format!("{api}/"), None).status, 200);
    let cases = http::get(&format!("{api}/api/v1/cases"), Some(&token(0))).json();
    assert_eq!(cases.as_array().unwrap().len(), 2);

    terminate(&mut child);
    assert!(dir.join("node0/store").is_dir(), "--dir keeps the data");
    // No demo member ever signed two records with one sequence number.
    for i in 0..3 {
        let info = ok(lantern(&dir.join(format!("node{i}")), &["info"]));
        assert!(info.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["equivocators", "0"]), "{info}");
    }

    // The same --dir starts the demo again with what it held, and the CLI reaches its nodes.
    let (mut child, lines) = spawn(&args);
    let api =
        wait_line(&lines, "the restarted demo's API", |l| l.starts_with("api http://"))["api ".len()..].to_string();
    let records = http::get(&format!("{api}/api/v1/node"), Some(&token(0))).json()["records"].as_u64().unwrap();
    assert!(records >= 1500, "the restarted demo holds what it held: {records}");
    let cases = ok(lantern(&dir.join("node0"), &["case", "list"]));
    assert_eq!(cases.lines().filter(|l| l.contains("draft")).count(), 2, "{cases}");
    terminate(&mut child);
    assert!(!dir.join("node0/api.addr").exists(), "the address file goes with the demo");
}
