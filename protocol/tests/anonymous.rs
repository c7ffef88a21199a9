//! Anonymous records and rings: what verification accepts and refuses, without node state.

mod common;

use std::sync::Arc;

use common::key;
use lantern_protocol::anon::{AnonymityKey, AnonymitySecret, Ring};
use lantern_protocol::anonymous::*;
use lantern_protocol::record::AnonymityKeyBody;
use lantern_protocol::record::*;
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::vocab::RetractionReason;
use lantern_protocol::*;

struct Fixture {
    ctx: VerifyContext,
    secrets: Vec<AnonymitySecret>,
    ring: VerifiedRing,
}

fn fixture(members: u8) -> Fixture {
    let keys: Vec<_> = (1..=members).map(key).collect();
    let manifest = common::manifest(&keys.iter().collect::<Vec<_>>());
    let ctx = VerifyContext::for_manifest(&manifest);
    let secrets: Vec<AnonymitySecret> = keys.iter().map(|k| AnonymitySecret::derive(&k.to_bytes())).collect();
    let ring = ring_record(ctx.federation, secrets.iter().map(AnonymitySecret::public).collect()).unwrap();
    Fixture { ctx, secrets, ring }
}

impl Fixture {
    fn rings(&self) -> impl Fn(&RecordId) -> Option<Arc<Ring>> + Sync + '_ {
        move |id| (*id == self.ring.id()).then(|| self.ring.ring().clone())
    }

    fn summary_envelope(&self, seed: u64) -> AnonEnvelope {
        let summary = sample::summary(&mut Rng::new(seed), "2026-01".parse().unwrap(), 1);
        AnonEnvelope {
            format: ANONYMOUS_FORMAT,
            federation: self.ctx.federation,
            ring: self.ring.id(),
            year: summary.start.year,
            created: "2026-06".parse().unwrap(),
            body: AnonBody::Summary(SummaryBody { case: CaseRef([seed as u8; 16]), supersedes: None, summary }),
        }
    }

    fn sign(&self, member: usize, envelope: &AnonEnvelope) -> VerifiedAnonymous {
        sign_anonymous(envelope, &self.secrets[member], &self.ring, &self.ctx).unwrap()
    }
}

#[test]
fn an_anonymous_summary_verifies_and_carries_no_author_key() {
    let f = fixture(5);
    let record = f.sign(2, &f.summary_envelope(1));
    let verified = verify_anonymous(record.bytes(), &f.ctx, &f.rings()).unwrap();
    assert_eq!(verified, record);
    assert_eq!(format_of(record.bytes()), Format::Anonymous);
    // No member key of anyone, and no anonymity key, appears in the bytes.
    for k in 1..=5 {
        let member = signed::member_key(&key(k));
        assert!(!contains(record.bytes(), member.as_bytes()), "member key {k} in the record");
        let anon = AnonymitySecret::derive(&key(k).to_bytes()).public();
        assert!(!contains(record.bytes(), &anon.0), "anonymity key {k} in the record");
    }
}

#[test]
fn two_members_publishing_the_same_case_differ_only_in_proof_and_tag() {
    let f = fixture(5);
    let envelope = f.summary_envelope(1);
    let (a, b) = (f.sign(0, &envelope), f.sign(3, &envelope));
    let message = lantern_protocol::codec::encode(&envelope);
    assert_eq!(&a.bytes()[..message.len()], &message[..]);
    assert_eq!(&b.bytes()[..message.len()], &message[..]);
    assert_ne!(a.tag(), b.tag());
    // The same member in the same year: the same tag, another proof.
    let again = f.sign(0, &f.summary_envelope(2));
    assert_eq!(again.tag(), a.tag());
}

#[test]
fn tampered_records_unknown_rings_and_wrong_years_are_refused() {
    let f = fixture(5);
    let record = f.sign(1, &f.summary_envelope(1));
    // Any flipped byte of the envelope or the proof.
    let len = record.bytes().len();
    for at in [1, 40, len / 2, len - 40, len - 1] {
        let mut bytes = record.bytes().to_vec();
        bytes[at] ^= 0x01;
        assert!(verify_anonymous(&bytes, &f.ctx, &f.rings()).is_err(), "flip at {at} of {len}");
    }
    let none = |_: &RecordId| None;
    assert_eq!(verify_anonymous(record.bytes(), &f.ctx, &none).unwrap_err().reason(), "unknown_ring");
    // A year other than the case's start year.
    let mut envelope = f.summary_envelope(1);
    envelope.year += 1;
    let err = sign_anonymous(&envelope, &f.secrets[0], &f.ring, &f.ctx).unwrap_err();
    assert!(err.to_string().contains("year"), "{err}");
    // A member outside the ring cannot sign over it.
    let outsider = AnonymitySecret::derive(&[99; 32]);
    assert_eq!(sign_anonymous(&f.summary_envelope(1), &outsider, &f.ring, &f.ctx).unwrap_err().reason(), "bad_proof");
}

#[test]
fn a_proof_over_one_ring_does_not_verify_over_another_of_the_same_id_claim() {
    let f = fixture(5);
    let record = f.sign(1, &f.summary_envelope(1));
    // A verifier whose ring under that id holds other keys (a lying lookup) refuses the proof.
    let other = fixture(6);
    let wrong = |_: &RecordId| Some(other.ring.ring().clone());
    assert_eq!(verify_anonymous(record.bytes(), &f.ctx, &wrong).unwrap_err().reason(), "bad_proof");
}

#[test]
fn batches_give_each_record_what_it_gets_alone() {
    let f = fixture(8);
    let mut records: Vec<Vec<u8>> =
        (0..40).map(|i| f.sign(i % 8, &f.summary_envelope(i as u64)).bytes().to_vec()).collect();
    // A retraction and a purge in another scope, and two bad records among them.
    let mut retraction = f.summary_envelope(1);
    retraction.year = 2025;
    retraction.body =
        AnonBody::Retraction(RetractionBody { case: CaseRef([1; 16]), reason: RetractionReason::PublishedInError });
    records.push(f.sign(3, &retraction).bytes().to_vec());
    records[7][30] ^= 1;
    let last = records[20].len() - 1;
    records[20][last] ^= 1;
    let batch = verify_anonymous_batch(&records, &f.ctx, &f.rings());
    for (i, (r, bytes)) in batch.iter().zip(&records).enumerate() {
        let alone = verify_anonymous(bytes, &f.ctx, &f.rings());
        assert_eq!(r.is_ok(), alone.is_ok(), "record {i}");
        assert_eq!(r.is_ok(), i != 7 && i != 20, "record {i}");
    }
}

#[test]
fn ring_records_are_canonical_sorted_and_content_addressed() {
    let f = fixture(5);
    let mut keys: Vec<AnonymityKey> = f.secrets.iter().map(AnonymitySecret::public).collect();
    keys.reverse();
    let again = ring_record(f.ctx.federation, keys.clone()).unwrap();
    assert_eq!(again.id(), f.ring.id(), "the same keys make the same ring, whatever their order");
    assert_eq!(format_of(again.bytes()), Format::Ring);
    // Unsorted or duplicated keys on the wire are refused.
    let unsorted = lantern_protocol::codec::encode(&RingRecord {
        format: RING_FORMAT,
        federation: f.ctx.federation,
        keys: keys.clone(),
    });
    assert!(verify_ring(&unsorted, f.ctx.federation).is_err());
    let mut dup = keys.clone();
    dup.sort();
    dup.push(dup[4]);
    let dup =
        lantern_protocol::codec::encode(&RingRecord { format: RING_FORMAT, federation: f.ctx.federation, keys: dup });
    assert!(verify_ring(&dup, f.ctx.federation).is_err());
    assert_eq!(verify_ring(f.ring.bytes(), FederationId([0; 32])).unwrap_err().reason(), "wrong_federation");
    // A key that is no point.
    let bad = lantern_protocol::codec::encode(&RingRecord {
        format: RING_FORMAT,
        federation: f.ctx.federation,
        keys: vec![AnonymityKey([0xff; 32])],
    });
    assert!(verify_ring(&bad, f.ctx.federation).is_err());
}

#[test]
fn an_anonymity_key_registration_proves_possession_for_its_own_author_only() {
    let (alice, bob) = (key(1), key(2));
    let manifest = common::manifest(&[&alice, &bob]);
    let ctx = VerifyContext::for_manifest(&manifest);
    let secret = AnonymitySecret::derive(&alice.to_bytes());
    let body = AnonymityKeyBody::new(&secret, ctx.federation, signed::member_key(&alice));
    let envelope = |author: &ed25519_dalek::SigningKey, body: AnonymityKeyBody| Envelope {
        format: WIRE_FORMAT,
        federation: ctx.federation,
        author: signed::member_key(author),
        sequence: 1,
        previous: None,
        created: "2026-06".parse().unwrap(),
        body: Body::AnonymityKey(body),
    };
    let record = sign(&envelope(&alice, body.clone()), &alice, &ctx).unwrap();
    verify(record.bytes(), &ctx).unwrap();
    // Bob copying Alice's registration (to sit in the ring with her key) is refused.
    let err = sign(&envelope(&bob, body.clone()), &bob, &ctx).unwrap_err();
    assert_eq!(err.reason(), "bad_proof");
    // A registration of a key with someone else's proof is refused.
    let mut forged = body;
    forged.key = AnonymitySecret::derive(&bob.to_bytes()).public();
    assert_eq!(sign(&envelope(&bob, forged), &bob, &ctx).unwrap_err().reason(), "bad_proof");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Committed vectors (docs/anonymous-vectors.json): a ring record (deterministic: checked byte for
/// byte), an anonymity-key registration and anonymous records (proofs are randomised: checked by
/// verifying them and their tags). Regenerate with `LANTERN_UPDATE_VECTORS=1`.
#[test]
fn committed_anonymous_vectors_verify() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/anonymous-vectors.json");
    let f = fixture(5);
    if std::env::var_os("LANTERN_UPDATE_VECTORS").is_some() || !path.exists() {
        let alice = key(1);
        let registration = sign(
            &Envelope {
                format: WIRE_FORMAT,
                federation: f.ctx.federation,
                author: signed::member_key(&alice),
                sequence: 1,
                previous: None,
                created: "2026-06".parse().unwrap(),
                body: Body::AnonymityKey(AnonymityKeyBody::new(
                    &f.secrets[0],
                    f.ctx.federation,
                    signed::member_key(&alice),
                )),
            },
            &alice,
            &f.ctx,
        )
        .unwrap();
        let summary = f.sign(2, &f.summary_envelope(1));
        let mut retraction = f.summary_envelope(1);
        retraction.body =
            AnonBody::Retraction(RetractionBody { case: CaseRef([1; 16]), reason: RetractionReason::Duplicate });
        let retraction = f.sign(2, &retraction);
        let json = serde_json::json!({
            "about": "Anonymous records (docs/protocol.md, \"Anonymous records\"). Members are the ed25519 seeds 01…01 to 05…05 (founders of the manifest in test-vectors.json's style: name \"test federation\", created 2026-01, default policy); anonymity secrets derive from the seeds. Proofs are randomised: verify them, do not expect to reproduce them.",
            "federation_id": f.ctx.federation.to_hex(),
            "ring": { "record": hex::encode(f.ring.bytes()), "id": f.ring.id().to_hex() },
            "anonymity_key": { "seed": hex::encode([1u8; 32]), "record": hex::encode(registration.bytes()), "id": registration.id().to_hex() },
            "summary": { "signer_seed": hex::encode([3u8; 32]), "record": hex::encode(summary.bytes()), "id": summary.id().to_hex(), "tag": summary.tag().to_hex() },
            "retraction": { "signer_seed": hex::encode([3u8; 32]), "record": hex::encode(retraction.bytes()), "id": retraction.id().to_hex(), "tag": retraction.tag().to_hex() },
        });
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap() + "\n").unwrap();
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let bytes = |name: &str| hex::decode(v[name]["record"].as_str().unwrap()).unwrap();
    assert_eq!(v["federation_id"], f.ctx.federation.to_hex());
    assert_eq!(bytes("ring"), f.ring.bytes(), "the ring of five members, byte for byte");
    assert_eq!(RecordId::of(&bytes("ring")).to_hex(), v["ring"]["id"]);
    verify(&bytes("anonymity_key"), &f.ctx).unwrap();
    let expected_tag = lantern_protocol::anon::tag_of(
        &f.secrets[2],
        &lantern_protocol::anon::Scope::Year { federation: f.ctx.federation, year: 2026 },
    );
    for name in ["summary", "retraction"] {
        let record = verify_anonymous(&bytes(name), &f.ctx, &f.rings()).unwrap();
        assert_eq!(record.id().to_hex(), v[name]["id"]);
        assert_eq!(record.tag(), expected_tag, "{name}: member 3's tag for 2026");
        assert_eq!(v[name]["tag"], expected_tag.to_hex());
    }
}
