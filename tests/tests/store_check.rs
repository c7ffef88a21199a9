//! `lantern store check` and `lantern store repair` on a real data dir: a sound store says so, a
//! torn one is named (exit 1, one line), and a repair brings back every record the log holds.

use lantern_tests::process::{run, terminate, wait_api};
use lantern_tests::*;

fn records_held(dir: &std::path::Path) -> String {
    let info = ok(lantern(dir, &["info"]));
    info.lines().find(|l| l.starts_with("records")).unwrap_or_else(|| panic!("records in {info}")).to_string()
}

#[test]
fn a_torn_store_is_named_by_check_and_mended_by_repair() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    ok(lantern(&dir, &["init"]));
    ok(lantern(&dir, &["federation", "create", "--name", "check"]));
    let case = ok(lantern(&dir, &["case", "add", repo().join("docs/examples/case.json").to_str().unwrap()]));
    ok(lantern(&dir, &["publish", case.trim(), "--omit-narrative"]));
    let cases = ok(lantern(&dir, &["case", "list"]));

    let report = ok(lantern(&dir, &["store", "check"]));
    assert!(report.contains("\nsound"), "{report}");
    assert!(report.contains("cases     1"), "{report}");

    // A running node holds the store: check refuses rather than read it under the node.
    let (mut node, out) = run(&dir, &[]);
    wait_api(&out);
    let refused = fails(lantern(&dir, &["store", "check"]));
    assert!(refused.contains("stop it first"), "{refused}");
    terminate(&mut node);
    // (The node registered its anonymity key while it ran: one record more.)
    let held = records_held(&dir);

    // What a write torn by a full disk leaves: blocks whose index entries are gone.
    {
        let db = sled::open(dir.join("store")).unwrap();
        db.open_tree("chains").unwrap().clear().unwrap();
        db.flush().unwrap();
    }
    let out = lantern(&dir, &["store", "check"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = fails(out);
    assert!(stdout.contains("in the log but not indexed"), "{stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("lantern store repair"), "{stderr}");

    let repaired = ok(lantern(&dir, &["store", "repair"]));
    assert!(repaired.contains("damaged"), "{repaired}");
    assert!(ok(lantern(&dir, &["store", "check"])).contains("\nsound"));
    assert_eq!(records_held(&dir), held, "every record of the log is held again");
    assert_eq!(ok(lantern(&dir, &["case", "list"])), cases, "the private cases are copied over");
}
