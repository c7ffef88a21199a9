//! SIGTERM while a client streams publishes through the API: the node stops cleanly, and after
//! it every publish that was acknowledged (201) is in the store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lantern_tests::process::{run, terminate, wait_api};
use lantern_tests::*;

#[test]
fn every_acknowledged_publish_survives_a_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    ok(lantern(&dir, &["init"]));
    ok(lantern(&dir, &["federation", "create", "--name", "shutdown-test"]));
    let token = std::fs::read_to_string(dir.join("api.token")).unwrap().trim().to_string();
    let (mut child, lines) = run(&dir, &[]);
    let api = wait_api(&lines);
    let case = std::fs::read_to_string(repo().join("docs/examples/case.json")).unwrap();
    for _ in 0..5 {
        assert_eq!(http::post(&format!("{api}/api/v1/cases"), &token, &case).status, 201);
    }

    // Publish (then amend) the five cases in turn until the node goes away.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let publisher = {
        let (acked, count, api, token) = (acked.clone(), count.clone(), api.clone(), token.clone());
        std::thread::spawn(move || {
            for i in 0.. {
                let url = format!("{api}/api/v1/cases/{}/publish", i % 5 + 1);
                match http::request("POST", &url, Some(&token), Some("{}")) {
                    Ok(r) if r.status == 201 => {
                        acked.lock().unwrap().push(r.json()["record"].as_str().unwrap().to_string());
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    // Over the write rate limit: back off as told (this is rate compliance, not
                    // synchronisation).
                    Ok(r) if r.status == 429 => std::thread::sleep(Duration::from_millis(100)),
                    Ok(r) if r.status == 0 => break,
                    Ok(r) => panic!("unexpected {}: {}", r.status, r.body),
                    Err(_) => break,
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while count.load(Ordering::SeqCst) < 20 {
        assert!(Instant::now() < deadline, "publishes did not get through");
        std::thread::sleep(Duration::from_millis(5));
    }
    terminate(&mut child);
    publisher.join().unwrap();

    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 20);
    let stored = ok(lantern(&dir, &["records", "list", "--json", "--limit", "10000"]));
    for id in &acked {
        assert!(stored.contains(id.as_str()), "acknowledged record {id} is missing after restart");
    }
}
