//! `lantern export --format misp` and `--format stix`: the federation's live summaries as a static
//! MISP feed and a STIX 2.1 bundle, checked with those tools' own validators (PyMISP's event
//! schemas with jsonschema and `MISPEvent`; stix2-validator, and the extension's shipped schema),
//! and for what must not be in them: retracted and superseded versions, member keys.

use ed25519_dalek::SigningKey;
use lantern_protocol::record::{Body, Envelope, RetractionBody, SummaryBody};
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::vocab::{Outcome, RetractionReason};
use lantern_protocol::{CaseRef, RecordId, VerifyContext, signed};
use lantern_tests::*;

/// Six founders with one case each; the first amends its case, the second retracts its own.
/// Returns the ids the feed must hold, and the member keys.
fn federation_with_cases(dir: &std::path::Path) -> (Vec<RecordId>, Vec<[u8; 32]>) {
    let founders: Vec<SigningKey> = (30..36u8).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
    let fed = founded_federation(dir, "misp-test", &founders, &[], &[]);
    let ctx = VerifyContext::for_manifest(fed.manifest());
    let mut rng = Rng::new(19);
    let (mut records, mut live) = (Vec::new(), Vec::new());
    for (i, key) in founders.iter().enumerate() {
        let case = CaseRef(rng.bytes());
        let summary = sample::summary(&mut rng, "2025-03".parse().unwrap(), 6);
        let env = |sequence, previous, body| Envelope {
            format: lantern_protocol::WIRE_FORMAT,
            federation: ctx.federation,
            author: signed::member_key(key),
            sequence,
            previous,
            created: "2025-11".parse().unwrap(),
            body,
        };
        let first = lantern_protocol::sign(
            &env(1, None, Body::Summary(SummaryBody { case, supersedes: None, summary: summary.clone() })),
            key,
            &ctx,
        )
        .unwrap();
        records.push(first.bytes().to_vec());
        let second = match i {
            0 => {
                let mut amended = summary;
                amended.outcome = Outcome::ResolvedFavourably;
                let body = Body::Summary(SummaryBody { case, supersedes: None, summary: amended });
                Some(lantern_protocol::sign(&env(2, Some(first.id()), body), key, &ctx).unwrap())
            }
            1 => {
                let body = Body::Retraction(RetractionBody { case, reason: RetractionReason::ALL[0] });
                Some(lantern_protocol::sign(&env(2, Some(first.id()), body), key, &ctx).unwrap())
            }
            _ => None,
        };
        match (i, second) {
            (0, Some(amendment)) => {
                live.push(amendment.id());
                records.push(amendment.bytes().to_vec());
            }
            (1, Some(retraction)) => records.push(retraction.bytes().to_vec()),
            _ => live.push(first.id()),
        }
    }
    assert!(fed.admit(&records).unwrap().iter().all(Result::is_ok));
    let mut member_keys: Vec<[u8; 32]> = founders.iter().map(|k| *signed::member_key(k).as_bytes()).collect();
    member_keys.push(*fed.member_key().as_bytes());
    (live, member_keys)
}

#[test]
fn the_misp_feed_holds_the_live_summaries_only_names_no_member_and_passes_misps_validators() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let (live, member_keys) = federation_with_cases(&dir);
    let feed = tmp.path().join("feed");
    ok(lantern(&dir, &["export", "--format", "misp", "--out", feed.to_str().unwrap()]));

    // One event per live summary, named by its record's UUIDv5; nothing else.
    let mut names: Vec<String> = std::fs::read_dir(&feed)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "manifest.json" && n != "hashes.csv")
        .collect();
    names.sort();
    let mut expected: Vec<String> =
        live.iter().map(|id| format!("{}.json", lantern_node::interop::record_uuid(id))).collect();
    expected.sort();
    assert_eq!(names, expected, "the amended version replaces the first; the retracted case is gone");

    // No member key in any file, in any spelling; the publishing organisation is the federation.
    for entry in std::fs::read_dir(&feed).unwrap() {
        names_no_member(&std::fs::read(entry.unwrap().path()).unwrap(), &member_keys);
    }
    let event: serde_json::Value = serde_json::from_slice(&std::fs::read(feed.join(&expected[0])).unwrap()).unwrap();
    assert_eq!(event["Event"]["Orgc"]["name"], "misp-test");
    assert_eq!(event["Event"]["distribution"], "1", "this community only");

    // MISP's own validators.
    let python = repo().join("target/test-venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/install-test-deps.sh", python.display());
    let out = std::process::Command::new(&python)
        .arg(repo().join("scripts/misp/validate_feed.py"))
        .arg(&feed)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains(&format!("{} events", live.len())), "{report}");

    // Exporting again into the same directory is idempotent: the same files, the same bytes.
    // (The STIX bundle of the same federation is checked below.)
    let before = std::fs::read(feed.join("manifest.json")).unwrap();
    ok(lantern(&dir, &["export", "--format", "misp", "--out", feed.to_str().unwrap()]));
    assert_eq!(std::fs::read(feed.join("manifest.json")).unwrap(), before);
}

/// No member key, in hex or as bytes, anywhere in `bytes`.
fn names_no_member(bytes: &[u8], member_keys: &[[u8; 32]]) {
    let text = String::from_utf8_lossy(bytes).to_lowercase();
    for key in member_keys {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!text.contains(&hex) && !bytes.windows(32).any(|w| w == key), "a member key in the export");
    }
}

#[test]
fn the_stix_bundle_holds_one_incident_per_live_summary_by_the_federation_and_passes_stix2_validator() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let (live, member_keys) = federation_with_cases(&dir);
    let path = tmp.path().join("bundle.json");
    ok(lantern(&dir, &["export", "--format", "stix", "--out", path.to_str().unwrap()]));
    let bytes = std::fs::read(&path).unwrap();
    names_no_member(&bytes, &member_keys);
    let bundle: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let incidents = |revoked: bool| {
        let mut ids: Vec<String> = objects
            .iter()
            .filter(|o| o["type"] == "incident" && o["revoked"].as_bool().unwrap_or(false) == revoked)
            .map(|o| o["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let mut expected: Vec<String> =
        live.iter().map(|id| format!("incident--{}", lantern_node::interop::record_uuid(id))).collect();
    expected.sort();
    assert_eq!(incidents(false), expected, "the latest version of each case; the retracted one not as such");
    // What the amendment and the retraction replaced is there revoked, so tools that took it drop it.
    assert_eq!(incidents(true).len(), 2, "the amended case's first version and the retracted case");
    assert!(incidents(true).iter().all(|id| !expected.contains(id)));
    let federation = objects.iter().find(|o| o["type"] == "identity" && o["identity_class"] == "group").unwrap();
    assert_eq!(federation["name"], "misp-test");
    for o in objects.iter().filter(|o| o["type"] == "incident") {
        assert_eq!(o["created_by_ref"], federation["id"], "the federation publishes");
        assert!(o["created"].as_str().unwrap().ends_with("-01T00:00:00.000Z"), "months only: {o}");
        assert_eq!(o["object_marking_refs"][0], "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421");
    }

    let venv = repo().join("target/test-venv/bin");
    let validator = venv.join("stix2_validator");
    assert!(validator.exists(), "{} is missing: run scripts/install-test-deps.sh", validator.display());
    let out = std::process::Command::new(&validator).arg(&path).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && report.contains("STIX JSON: Valid"), "{report}");
    let out = std::process::Command::new(venv.join("python"))
        .arg(repo().join("scripts/stix/validate_extension.py"))
        .arg(&path)
        .arg(repo().join("docs/stix/lantern-case-extension.json"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(&format!("{} extensions checked", live.len() + 2)), "live and revoked: {report}");
}

#[test]
fn a_running_node_serves_the_live_summaries_to_oasis_taxii_client() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let (live, _) = federation_with_cases(&dir);
    let (mut node, out) = lantern_tests::process::run(&dir, &[]);
    let api = lantern_tests::process::wait_api(&out);
    let token = std::fs::read_to_string(dir.join("api.token")).unwrap();
    let python = repo().join("target/test-venv/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/install-test-deps.sh", python.display());
    let poll = std::process::Command::new(&python)
        .arg(repo().join("scripts/taxii/poll.py"))
        .arg(format!("{api}/api/v1/taxii2/"))
        .arg(token.trim())
        .output()
        .unwrap();
    lantern_tests::process::terminate(&mut node);
    let report = String::from_utf8_lossy(&poll.stdout);
    assert!(poll.status.success(), "{report}{}", String::from_utf8_lossy(&poll.stderr));
    // Two objects a page: the four fixed objects, then the incidents, live and the two revoked.
    let incidents = live.len() + 2;
    let pages = (4 + incidents).div_ceil(2);
    assert!(report.contains(&format!("{incidents} incidents in {pages} pages")), "{report}");
    assert!(report.contains("poll after last: 0 objects"), "{report}");
}

#[test]
fn the_pattern_report_is_stix_observed_data_of_the_shown_figures_only_and_passes_stix2_validator() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    // 39 founders in one category: more than k plus the largest noise a draw can give
    // (`noise::MAX`), so the cell and its quarter are shown whatever the federation's noise; one
    // founder alone in another category: under k, hidden whatever the noise.
    let founders: Vec<SigningKey> = (40..80u8).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
    let fed = founded_federation(&dir, "patterns-test", &founders, &[], &["--k", "2"]);
    assert!(39 >= lantern_node::patterns::noise::MAX as usize + 2);
    let ctx = VerifyContext::for_manifest(fed.manifest());
    let month = lantern_protocol::Month::from_index(lantern_node::this_month().index() - 4).unwrap();
    let mut rng = Rng::new(23);
    let mut records = Vec::new();
    for (i, key) in founders.iter().enumerate() {
        // All in one month, so one quarter of the trend holds them all.
        let mut summary = sample::summary(&mut rng, month, 1);
        summary.registry = lantern_protocol::vocab::Registry::RipeNcc;
        summary.categories = vec![if i < 39 {
            lantern_protocol::vocab::Category::TransferDelayed
        } else {
            lantern_protocol::vocab::Category::RpkiChange
        }];
        records.extend(sample::signed_chain(key, &ctx, vec![summary], &mut rng).iter().map(|r| r.bytes().to_vec()));
    }
    assert!(fed.admit(&records).unwrap().iter().all(Result::is_ok));
    drop(fed);
    let path = tmp.path().join("patterns.json");
    ok(lantern(&dir, &["export", "--format", "stix-patterns", "--out", path.to_str().unwrap()]));
    let bytes = std::fs::read(&path).unwrap();
    let bundle: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let figures: Vec<&serde_json::Value> =
        bundle["objects"].as_array().unwrap().iter().filter(|o| o["type"] == "lantern-pattern-figure").collect();
    assert!(figures.iter().any(|f| f["category"] == "transfer delayed" && f["registry"] == "RIPE NCC"), "{figures:?}");
    assert!(!figures.iter().any(|f| f["category"] == "RPKI change"), "a group under k is not in the report");
    assert!(
        figures.iter().any(|f| f["view"] == "trend" && f["category"] == "transfer delayed"),
        "the category's quarterly trend is in it too: {figures:?}"
    );
    let text = String::from_utf8_lossy(&bytes);
    for key in &founders {
        assert!(!text.contains(&signed::member_key(key).to_hex()), "no member key");
    }

    let venv = repo().join("target/test-venv/bin");
    let out = std::process::Command::new(venv.join("stix2_validator")).arg(&path).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && report.contains("STIX JSON: Valid"), "{report}");
    let out = std::process::Command::new(venv.join("python"))
        .arg(repo().join("scripts/stix/validate_figures.py"))
        .arg(&path)
        .arg(repo().join("docs/stix/lantern-pattern-figure.json"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
}
