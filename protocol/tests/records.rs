//! Properties of signed records: round trips, tamper evidence, strict decoding, batch verification.

mod common;

use common::*;
use lantern_protocol::record::*;
use lantern_protocol::*;
use proptest::prelude::*;

const AUTHOR: u8 = 7;

fn ctx() -> VerifyContext {
    VerifyContext::for_manifest(&manifest(&[&key(AUTHOR)]))
}

/// Signs raw envelope bytes as `key(AUTHOR)` would, bypassing the encoder, to build malformed
/// records whose signature is nevertheless valid.
fn sign_raw(message: &[u8]) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let mut out = message.to_vec();
    out.extend_from_slice(&key(AUTHOR).sign(message).to_bytes());
    out
}

fn first_record() -> VerifiedRecord {
    let env = Envelope {
        format: WIRE_FORMAT,
        federation: ctx().federation,
        author: signed::member_key(&key(AUTHOR)),
        sequence: 5,
        previous: Some(RecordId([9; 32])),
        created: "2026-03".parse().unwrap(),
        body: Body::Vouch(VouchBody { member: signed::member_key(&key(8)) }),
    };
    sign(&env, &key(AUTHOR), &ctx()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn signed_records_round_trip(env in arb_envelope(AUTHOR, ctx().federation)) {
        let signed = sign(&env, &key(AUTHOR), &ctx()).unwrap();
        let verified = verify(signed.bytes(), &ctx()).unwrap();
        prop_assert_eq!(verified.envelope(), &env);
        prop_assert_eq!(verified.id(), RecordId::of(signed.bytes()));
        prop_assert_eq!(verified.bytes(), signed.bytes());
        let json = serde_json::to_string(&env).unwrap();
        prop_assert_eq!(serde_json::from_str::<Envelope>(&json).unwrap(), env);
    }

    #[test]
    fn any_single_bit_flip_is_rejected(env in arb_envelope(AUTHOR, ctx().federation)) {
        let signed = sign(&env, &key(AUTHOR), &ctx()).unwrap();
        let mut bytes = signed.bytes().to_vec();
        for bit in 0..bytes.len() * 8 {
            bytes[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify(&bytes, &ctx()).is_err(), "flip of bit {} accepted", bit);
            bytes[bit / 8] ^= 1 << (bit % 8);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = verify(&bytes, &ctx());
        let _ = Manifest::decode(&bytes);
        let _ = verify_batch(&[bytes], &ctx());
    }

    #[test]
    fn mutated_valid_records_never_panic(
        env in arb_envelope(AUTHOR, ctx().federation),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let signed = sign(&env, &key(AUTHOR), &ctx()).unwrap();
        let mut bytes = signed.bytes().to_vec();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        // Re-signing makes the decoder, not the signature, face the mutation.
        let message = &bytes[..bytes.len() - SIGNATURE_LEN];
        let _ = verify(&sign_raw(message), &ctx());
    }

    #[test]
    fn batch_verification_agrees_with_single(
        envs in prop::collection::vec(arb_envelope(AUTHOR, ctx().federation), 1..150),
        corrupt in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let mut records: Vec<Vec<u8>> = envs.iter().map(|e| sign(e, &key(AUTHOR), &ctx()).unwrap().bytes().to_vec()).collect();
        for c in &corrupt {
            let i = c.index(records.len());
            let last = records[i].len() - 1;
            records[i][last] ^= 0x40;
        }
        let batch = verify_batch(&records, &ctx());
        prop_assert_eq!(batch.len(), records.len());
        for (bytes, result) in records.iter().zip(batch) {
            prop_assert_eq!(result.map(|r| r.id()), verify(bytes, &ctx()).map(|r| r.id()));
        }
    }
}

#[test]
fn rejects_trailing_bytes_even_when_signed() {
    let record = first_record();
    let mut message = record.bytes()[..record.bytes().len() - SIGNATURE_LEN].to_vec();
    message.push(0);
    assert_eq!(verify(&sign_raw(&message), &ctx()), Err(RecordError::TrailingBytes { extra: 1 }));
}

#[test]
fn rejects_non_minimal_integer_encoding() {
    let record = first_record();
    let message = &record.bytes()[..record.bytes().len() - SIGNATURE_LEN];
    // format (1) + federation (32) + author (32), then the sequence varint: 5 as one byte.
    assert_eq!(message[65], 5);
    let mut padded = message[..65].to_vec();
    padded.extend_from_slice(&[251, 5, 0]); // 5 as a u16 varint: same value, longer form
    padded.extend_from_slice(&message[66..]);
    assert_eq!(verify(&sign_raw(&padded), &ctx()), Err(RecordError::NonCanonical));
}

#[test]
fn rejects_unknown_record_kind() {
    let record = first_record();
    let message = &record.bytes()[..record.bytes().len() - SIGNATURE_LEN];
    // After sequence (1), previous (1 + 32) and created (3 + 1) comes the body's tag: 2 = vouch.
    let tag_at = 66 + 33 + 4;
    assert_eq!(message[tag_at], 2);
    let mut unknown = message.to_vec();
    unknown[tag_at] = 42;
    assert!(matches!(verify(&sign_raw(&unknown), &ctx()), Err(RecordError::Malformed(_))));
}

#[test]
fn rejects_oversized_record_before_decoding() {
    let big = vec![0u8; ctx().max_record_bytes + 1];
    assert!(matches!(verify(&big, &ctx()), Err(RecordError::TooLarge { .. })));
}

#[test]
fn rejects_weak_author_key() {
    let record = first_record();
    let mut bytes = record.bytes().to_vec();
    // The identity point (small order): y = 1.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    bytes[33..65].copy_from_slice(&identity);
    assert_eq!(verify(&bytes, &ctx()), Err(RecordError::WeakKey));
    assert_eq!(verify_batch(&[bytes], &ctx())[0], Err(RecordError::WeakKey));
}

#[test]
fn rejects_record_of_another_federation() {
    let other = VerifyContext::for_manifest(&manifest(&[&key(AUTHOR), &key(1)]));
    assert!(matches!(verify(first_record().bytes(), &other), Err(RecordError::WrongFederation { .. })));
}

#[test]
fn validation_errors_name_the_field() {
    let mut env = first_record().envelope().clone();
    env.sequence = 1;
    let err = sign(&env, &key(AUTHOR), &ctx()).unwrap_err();
    assert_eq!(err.to_string(), "invalid record: previous: must be absent for sequence 1");

    let mut summary = sample::summary(&mut sample::Rng::new(1), "2024-01".parse().unwrap(), 12);
    summary.narrative = "x".repeat(5000);
    let err = summary.validate(4000).unwrap_err();
    assert_eq!(err.field, "narrative");
    assert_eq!(err.rule, Rule::TooLong { max: 4000, got: 5000 });

    summary.narrative.clear();
    summary.categories = vec![vocab::Category::RpkiChange, vocab::Category::TransferDelayed];
    assert_eq!(summary.validate(4000).unwrap_err().field, "categories");
}

#[test]
fn coarse_forms_are_checked_and_only_from_schema_2() {
    use lantern_protocol::summary::{Granularity, Precision, TimelineEntry};
    let mut s = sample::summary(&mut sample::Rng::new(2), "2025-07".parse().unwrap(), 1);
    s.timeline = vec![TimelineEntry { stage: vocab::Stage::RequestSubmitted, month: 0 }];
    s.precision = Precision { start: Granularity::Quarter, offsets: Granularity::Quarter };
    s.validate(4000).unwrap();
    s.timeline.push(TimelineEntry { stage: vocab::Stage::Escalated, month: 4 });
    assert_eq!(s.validate(4000).unwrap_err().field, "timeline[1].month", "offsets in quarters");
    s.timeline.pop();
    s.start = "2025-08".parse().unwrap();
    assert_eq!(s.validate(4000).unwrap_err().field, "start", "a quarter starts in its first month");
    s.start = "2025-07".parse().unwrap();
    s.schema = 1;
    assert_eq!(s.validate(4000).unwrap_err().field, "precision", "schema 1 has no coarse forms");
    s.precision = Precision::default();
    s.validate(4000).unwrap();
}

#[test]
fn a_purge_names_one_to_64_distinct_targets_in_order() {
    let mut env = first_record().envelope().clone();
    let purge = |targets: Vec<RecordId>| Body::Purge(PurgeBody { targets, reason: vocab::PurgeReason::Other });
    let id = |b: u8| RecordId([b; 32]);
    let rule = |env: &Envelope| sign(env, &key(AUTHOR), &ctx()).err().map(|e| e.to_string());
    env.body = purge(vec![]);
    assert_eq!(rule(&env).as_deref(), Some("invalid record: body.targets: must not be empty"));
    env.body = purge(vec![id(2), id(1)]);
    assert_eq!(
        rule(&env).as_deref(),
        Some("invalid record: body.targets: must be sorted in ascending order without duplicates")
    );
    env.body = purge(vec![id(1), id(1)]);
    assert!(rule(&env).is_some(), "a repeated target is refused");
    env.body = purge((0..=64).map(id).collect());
    assert_eq!(rule(&env).as_deref(), Some("invalid record: body.targets: must have at most 64 entries, got 65"));
    env.body = purge((0..64).map(id).collect());
    assert_eq!(rule(&env), None);
}

#[test]
fn signing_refuses_an_envelope_of_another_author() {
    let env = first_record().envelope().clone();
    assert!(sign(&env, &key(8), &ctx()).is_err());
}

#[test]
fn manifest_round_trips_and_rejects_unsorted_founders() {
    let m = manifest(&[&key(1), &key(2), &key(3)]);
    m.validate().unwrap();
    assert_eq!(Manifest::decode(&m.encode()).unwrap(), m);
    let mut bad = m.clone();
    bad.founders.reverse();
    assert_eq!(bad.validate().unwrap_err().field, "founders");
    assert!(Manifest::decode(&bad.encode()).is_err());
}
