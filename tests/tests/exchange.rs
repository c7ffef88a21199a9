//! Records move between two nodes' stores through export and import, byte for byte.

use lantern_tests::*;

#[test]
fn export_from_one_node_imports_identically_into_another() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let manifest = tmp.path().join("manifest.json");
    let a_key = ok(lantern(&a, &["init"]));
    let b_key = ok(lantern(&b, &["init"]));
    ok(lantern(
        &a,
        &["federation", "create", "--name", "pair", "--founder", b_key.trim(), "--out", manifest.to_str().unwrap()],
    ));
    for dir in [&a, &b] {
        ok(lantern(dir, &["federation", "join", manifest.to_str().unwrap()]));
    }
    assert_ne!(a_key, b_key);

    for file in ["case.toml", "case.json"] {
        let path = repo().join("docs/examples").join(file);
        let id = ok(lantern(&a, &["case", "add", path.to_str().unwrap()]));
        ok(lantern(&a, &["publish", id.trim(), "--omit-narrative"]));
    }
    let export = tmp.path().join("a.jsonl");
    ok(lantern(&a, &["export", "--out", export.to_str().unwrap()]));
    ok(lantern(&b, &["verify", export.to_str().unwrap()]));
    let report = lantern(&b, &["import", export.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&report.stderr).contains("2 stored"), "{report:?}");
    // Importing again changes nothing.
    let again = lantern(&b, &["import", export.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 stored, 2 duplicates"), "{again:?}");

    let export_b = tmp.path().join("b.jsonl");
    ok(lantern(&b, &["export", "--out", export_b.to_str().unwrap()]));
    assert_eq!(std::fs::read(&export).unwrap(), std::fs::read(&export_b).unwrap());
    // Private cases never travel.
    assert!(ok(lantern(&b, &["case", "list"])).lines().count() == 1);
}

#[test]
fn tampered_export_fails_verification_and_import_stores_only_the_good_records() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    ok(lantern(&a, &["init"]));
    ok(lantern(&a, &["federation", "create", "--name", "solo"]));
    let id = ok(lantern(&a, &["case", "add", repo().join("docs/examples/case.json").to_str().unwrap()]));
    ok(lantern(&a, &["publish", id.trim(), "--omit-narrative"]));
    ok(lantern(&a, &["publish", id.trim(), "--omit-narrative"]));
    let export = tmp.path().join("a.jsonl");
    ok(lantern(&a, &["export", "--out", export.to_str().unwrap()]));

    // Flip one hex digit inside the second record's signed bytes and drop its id field.
    let text = std::fs::read_to_string(&export).unwrap();
    let mut lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let rec = lines[1]["record"].as_str().unwrap().to_string();
    let flipped = if &rec[100..101] == "0" { "1" } else { "0" };
    lines[1]["record"] = format!("{}{}{}", &rec[..100], flipped, &rec[101..]).into();
    lines[1].as_object_mut().unwrap().remove("id");
    let body: String = lines.iter().map(|l| format!("{l}\nnot json\n")).collect();
    let tampered = tmp.path().join("tampered.jsonl");
    std::fs::write(&tampered, body).unwrap();

    let e = fails(lantern(&a, &["verify", tampered.to_str().unwrap()]));
    assert!(e.contains("1 valid") && e.contains("3 rejected") && e.contains("line 3"), "{e}");

    let b = tmp.path().join("b");
    ok(lantern(&b, &["init"]));
    ok(lantern(&b, &["federation", "join", a.join("manifest.json").to_str().unwrap()]));
    let e = fails(lantern(&b, &["import", tampered.to_str().unwrap()]));
    assert!(e.contains("1 stored") && e.contains("gaps"), "{e}");
    assert_eq!(ok(lantern(&b, &["records", "list", "--json"])).lines().count(), 1);
}

#[test]
fn a_purge_from_the_cli_leaves_only_ids_and_an_import_of_it_deletes_the_copy_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    ok(lantern(&a, &["init"]));
    ok(lantern(&a, &["federation", "create", "--name", "solo"]));
    ok(lantern(&b, &["init"]));
    ok(lantern(&b, &["federation", "join", a.join("manifest.json").to_str().unwrap()]));
    let case = ok(lantern(&a, &["case", "add", repo().join("docs/examples/case.json").to_str().unwrap()]));
    let summary = ok(lantern(&a, &["publish", case.trim()])).trim().to_string();
    let before = tmp.path().join("before.jsonl");
    ok(lantern(&a, &["export", "--out", before.to_str().unwrap()]));
    ok(lantern(&b, &["import", before.to_str().unwrap()]));

    let e = fails(lantern(&a, &["purge", case.trim(), "--reason", "because"]));
    assert!(e.contains("because") && e.contains("identifying information"), "{e}");
    let purge = ok(lantern(&a, &["purge", case.trim()])).trim().to_string();
    let e = fails(lantern(&a, &["purge", case.trim()]));
    assert!(e.contains("purged"), "{e}");
    let after = tmp.path().join("after.jsonl");
    ok(lantern(&a, &["export", "--out", after.to_str().unwrap()]));
    let ids = |file: &std::path::Path| -> Vec<String> {
        let text = std::fs::read_to_string(file).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().into())
            .collect()
    };
    assert_eq!(ids(&after), vec![purge.clone()], "the export holds the purge, not the summary");
    assert!(ok(lantern(&a, &["case", "list"])).contains("purged"));

    // B held the summary; importing the purge deletes it, and importing the old export again
    // brings nothing back.
    let report = lantern(&b, &["import", after.to_str().unwrap()]);
    assert!(report.status.success(), "{report:?}");
    let again = lantern(&b, &["import", before.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("0 stored"), "{again:?}");
    let listed = tmp.path().join("b.jsonl");
    ok(lantern(&b, &["export", "--out", listed.to_str().unwrap()]));
    assert_eq!(ids(&listed), vec![purge.clone()]);
    let e = fails(lantern(&b, &["records", "show", &summary]));
    assert!(e.contains("purged"), "{e}");
}
