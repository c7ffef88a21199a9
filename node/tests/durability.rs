//! Anything the store acknowledges has been flushed: a process that dies right after an
//! acknowledgement (abort: no destructors, no background flush) loses nothing.

use std::process::Command;

use lantern_node::bench::generate;
use lantern_node::store::Store;

const CHILD: &str = "LANTERN_DURABILITY_CHILD";
const TEST: &str = "acknowledged_records_survive_an_abort";

#[test]
fn acknowledged_records_survive_an_abort() {
    let (manifest, records) = generate(300, 7, 11);
    if let Ok(dir) = std::env::var(CHILD) {
        let store = Store::open(std::path::Path::new(&dir), &manifest).unwrap();
        let outcomes = store.ingest_batch(&records).unwrap();
        assert!(outcomes.iter().all(Result::is_ok));
        let single = store.ingest(&generate(301, 7, 11).1[300]).unwrap();
        println!("acknowledged {}", single.id());
        std::process::abort();
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD, tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "the child aborts");
    assert!(
        stdout.contains("acknowledged"),
        "child did not get an acknowledgement: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(tmp.path(), &manifest).unwrap();
    assert_eq!(store.record_count(), 301);
    for r in &records {
        assert!(store.contains(&lantern_protocol::RecordId::of(r)).unwrap());
    }
}
