//! `lantern evidence prove` and `check` as a member and a third party run them: the proof comes
//! from the member's node, is checked offline with only the manifest, and fails for any other
//! document.

use lantern_tests::*;

#[test]
fn a_member_proves_a_document_was_committed_to_and_anyone_checks_it_offline() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    ok(lantern(&dir, &["init"]));
    ok(lantern(&dir, &["federation", "create", "--name", "evidence"]));
    let document = tmp.path().join("validator-output.txt");
    std::fs::write(&document, "185.53.244.0/22 AS64496 invalid (2025-03-14)\n").unwrap();
    let hash = blake3::hash(&std::fs::read(&document).unwrap()).to_hex().to_string();
    let mut case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("docs/examples/case.json")).unwrap()).unwrap();
    case["evidence"][0]["document_blake3"] = serde_json::json!(hash);
    let case_file = tmp.path().join("case.json");
    std::fs::write(&case_file, case.to_string()).unwrap();
    let id = ok(lantern(&dir, &["case", "add", case_file.to_str().unwrap()]));
    let unpublished = fails(lantern(&dir, &["evidence", "prove", id.trim(), document.to_str().unwrap()]));
    assert!(unpublished.contains("no published summary"), "{unpublished}");
    let record = ok(lantern(&dir, &["publish", id.trim()]));

    let proof = tmp.path().join("proof.json");
    ok(lantern(&dir, &["evidence", "prove", id.trim(), document.to_str().unwrap(), "--out", proof.to_str().unwrap()]));
    // A third party: no data dir, the manifest and the proof only.
    let manifest = dir.join("manifest.json");
    let elsewhere = tmp.path().join("nowhere");
    let check = |doc: &std::path::Path| {
        lantern(
            &elsewhere,
            &[
                "evidence",
                "check",
                proof.to_str().unwrap(),
                "--manifest",
                manifest.to_str().unwrap(),
                "--document",
                doc.to_str().unwrap(),
            ],
        )
    };
    let valid = ok(check(&document));
    assert!(valid.contains("valid: record") && valid.contains(record.trim()), "{valid}");
    let other = tmp.path().join("other.txt");
    std::fs::write(&other, "something else").unwrap();
    let refused = fails(check(&other));
    assert_eq!(refused.trim().lines().count(), 1, "{refused}");
    assert!(refused.contains("not the one the proof is for"), "{refused}");
}
