//! Committed test vectors (docs/test-vectors.json): records signed with fixed seed keys, so
//! another implementation can check its encoder, signer and hasher against ours.
//! Regenerate with `LANTERN_UPDATE_VECTORS=1 cargo test -p lantern-protocol --test vectors`.
//! docs/test-vectors-schema1.json holds the vectors of schema 1, frozen: they must still verify.

mod common;

use common::key;
use lantern_protocol::record::*;
use lantern_protocol::summary::*;
use lantern_protocol::vocab::*;
use lantern_protocol::*;
use serde_json::{Value, json};

fn vectors() -> Value {
    let (alice, bob, carol) = (key(1), key(2), key(3));
    let manifest = common::manifest(&[&alice, &bob, &carol]);
    let ctx = VerifyContext::for_manifest(&manifest);
    let month: Month = "2026-02".parse().unwrap();
    let member = signed::member_key;
    let summary = CaseSummary {
        schema: SCHEMA_VERSION,
        registry: Registry::RipeNcc,
        categories: vec![Category::TransferDelayed, Category::ExtraordinaryDocumentation],
        resources: vec![ResourceBucket::Ipv4(Ipv4Size::Slash23To22), ResourceBucket::Asn(AsnCount::One)],
        start: "2025-09".parse().unwrap(),
        timeline: vec![
            TimelineEntry { stage: Stage::RequestSubmitted, month: 0 },
            TimelineEntry { stage: Stage::DocumentsRequested, month: 1 },
            TimelineEntry { stage: Stage::Escalated, month: 4 },
        ],
        duration: DurationBucket::ThreeToSixMonths,
        outcome: Outcome::Open,
        impact: Impact {
            customers: CustomersBucket::UpTo1k,
            downtime: DowntimeBucket::Zero,
            cost: CostBucket::Under10k,
            services: vec![Service::Hosting, Service::Vpn],
        },
        profile: MemberProfile { org_type: OrgType::Hosting, size: OrgSize::Small, region: Region::Europe },
        narrative: "The registry asked for board minutes twice after the transfer was submitted.".into(),
        tags: vec!["transfer-market".into()],
        evidence: vec![EvidenceCommitment::commit(EvidenceKind::RegistryNotice, &[5; 16], &[6; 32])],
        precision: Precision::default(),
    };
    let case = CaseRef([0xca; 16]);

    let mut out = Vec::new();
    let mut previous: Option<RecordId> = None;
    let mut push = |name: &str, seed: u8, signer, sequence, body, previous: &mut Option<RecordId>| {
        let env = Envelope {
            format: WIRE_FORMAT,
            federation: ctx.federation,
            author: member(signer),
            sequence,
            previous: *previous,
            created: month,
            body,
        };
        let rec = sign(&env, signer, &ctx).unwrap();
        *previous = Some(rec.id());
        out.push(json!({
            "name": name,
            "seed": hex::encode([seed; 32]),
            "author": member(signer).to_hex(),
            "record": hex::encode(rec.bytes()),
            "id": rec.id().to_hex(),
            "envelope": env,
        }));
        rec.id()
    };
    let first = push(
        "summary",
        1,
        &alice,
        1,
        Body::Summary(SummaryBody { case, supersedes: None, summary: summary.clone() }),
        &mut previous,
    );
    let mut amended = summary.clone();
    amended.outcome = Outcome::ResolvedFavourably;
    amended.duration = DurationBucket::SixToTwelveMonths;
    amended.timeline.push(TimelineEntry { stage: Stage::Resolved, month: 7 });
    push(
        "amendment",
        1,
        &alice,
        2,
        Body::Summary(SummaryBody { case, supersedes: Some(first), summary: amended }),
        &mut previous,
    );
    push(
        "retraction",
        1,
        &alice,
        3,
        Body::Retraction(RetractionBody { case, reason: RetractionReason::Duplicate }),
        &mut previous,
    );
    push(
        "purge",
        1,
        &alice,
        4,
        Body::Purge(PurgeBody { targets: vec![first], reason: PurgeReason::IdentifyingInformation }),
        &mut previous,
    );
    // The coarse form: a start quarter and offsets in whole quarters.
    let mut coarse = summary;
    coarse.start = "2025-07".parse().unwrap();
    coarse.timeline = vec![
        TimelineEntry { stage: Stage::RequestSubmitted, month: 0 },
        TimelineEntry { stage: Stage::DocumentsRequested, month: 0 },
        TimelineEntry { stage: Stage::Escalated, month: 3 },
    ];
    coarse.precision = Precision { start: Granularity::Quarter, offsets: Granularity::Quarter };
    push(
        "summary_coarse",
        1,
        &alice,
        5,
        Body::Summary(SummaryBody { case: CaseRef([0xcb; 16]), supersedes: None, summary: coarse }),
        &mut previous,
    );
    let mut bob_prev = None;
    push("vouch", 2, &bob, 1, Body::Vouch(VouchBody { member: member(&key(4)) }), &mut bob_prev);
    push("vouch_withdrawal", 2, &bob, 2, Body::VouchWithdrawal(VouchBody { member: member(&key(4)) }), &mut bob_prev);
    push("node_binding", 2, &bob, 3, Body::NodeBinding(NodeBindingBody { node_key: [0x11; 32] }), &mut bob_prev);
    let mut carol_prev = None;
    push(
        "key_revocation",
        3,
        &carol,
        1,
        Body::KeyRevocation(KeyRevocationBody { key: member(&carol), successor: Some(member(&key(5))) }),
        &mut carol_prev,
    );

    json!({
        "manifest": { "value": manifest, "encoded": hex::encode(manifest.encode()), "federation_id": manifest.id().to_hex() },
        "records": out,
    })
}

#[test]
fn committed_test_vectors_match_this_implementation() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/test-vectors.json");
    let fresh = vectors();
    if std::env::var_os("LANTERN_UPDATE_VECTORS").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("docs/test-vectors.json")).unwrap();
    assert_eq!(committed, fresh, "encoding changed: the wire format is frozen");
}

#[test]
fn committed_vectors_verify_and_hash_to_their_ids() {
    for file in ["test-vectors.json", "test-vectors-schema1.json"] {
        verify_file(&format!("{}/../docs/{file}", env!("CARGO_MANIFEST_DIR")));
    }
}

#[test]
fn schema_1_summaries_decode_and_encode_to_their_signed_bytes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/test-vectors-schema1.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let summary = &committed["records"][0];
    let bytes = hex::decode(summary["record"].as_str().unwrap()).unwrap();
    let env = signed::open_stored(&bytes).unwrap();
    let Body::Summary(body) = &env.body else { panic!("the first vector is a summary") };
    // Decoding is canonical (the bytes must re-encode to themselves), so this also proves that
    // schema 1 still encodes exactly as it was signed.
    assert_eq!((body.summary.schema, body.summary.precision), (1, Precision::default()));
}

fn verify_file(path: &str) {
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let manifest = Manifest::decode(&hex::decode(committed["manifest"]["encoded"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(manifest.id().to_hex(), committed["manifest"]["federation_id"]);
    let ctx = VerifyContext::for_manifest(&manifest);
    for v in committed["records"].as_array().unwrap() {
        let bytes = hex::decode(v["record"].as_str().unwrap()).unwrap();
        let rec = verify(&bytes, &ctx).unwrap_or_else(|e| panic!("{}: {e}", v["name"]));
        assert_eq!(rec.id().to_hex(), v["id"], "{}", v["name"]);
        assert_eq!(blake3::hash(&bytes).to_hex().as_str(), v["id"], "{}", v["name"]);
    }
}
