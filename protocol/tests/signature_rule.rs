//! The one signature rule (docs/protocol.md, "Signatures"), pinned by committed vectors
//! (docs/signature-vectors.json): records whose signatures sit where ed25519 implementations
//! disagree (small-order R, mixed-order R, non-canonical S, non-canonical or small-order author
//! keys). Each must get the same verdict from single and batch verification, wherever it sits in
//! a batch, and the verdict the vector states.
//! Regenerate with `LANTERN_UPDATE_VECTORS=1 cargo test -p lantern-protocol --test signature_rule`.

mod common;

use common::*;
use curve25519_dalek::constants::ED25519_BASEPOINT_POINT as B;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use lantern_protocol::record::{Body, Envelope, NodeBindingBody};
use lantern_protocol::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

const AUTHOR: u8 = 9;

fn ctx() -> VerifyContext {
    VerifyContext::for_manifest(&manifest(&[&key(AUTHOR)]))
}

fn envelope(author: [u8; 32], sequence: u64) -> Envelope {
    Envelope {
        format: WIRE_FORMAT,
        federation: ctx().federation,
        author: MemberKey(author),
        sequence,
        previous: (sequence > 1).then_some(RecordId([7; 32])),
        created: "2026-03".parse().unwrap(),
        body: Body::NodeBinding(NodeBindingBody { node_key: [sequence as u8; 32] }),
    }
}

/// `k = SHA-512(R || A || M) mod ℓ`, as RFC 8032 defines it.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    Scalar::from_hash(Sha512::new().chain_update(r).chain_update(a).chain_update(message))
}

/// A record signed by hand: nonce point `r_point`, and `S = r + k·a` (or an `S` given).
fn hand_signed(sequence: u64, r: Scalar, torsion: Option<EdwardsPoint>, s_plus_l: bool) -> Vec<u8> {
    let signing = key(AUTHOR);
    let a = signing.to_scalar();
    let author = signing.verifying_key().to_bytes();
    let message = codec::encode(&envelope(author, sequence));
    let r_point = r * B + torsion.unwrap_or_default();
    let r_bytes = r_point.compress().to_bytes();
    let s = r + challenge(&r_bytes, &author, &message) * a;
    let mut s_bytes = s.to_bytes();
    if s_plus_l {
        add_group_order(&mut s_bytes);
    }
    [message, r_bytes.to_vec(), s_bytes.to_vec()].concat()
}

/// `bytes + ℓ`, little endian: the same scalar, not in canonical form.
fn add_group_order(bytes: &mut [u8; 32]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (b, l) in bytes.iter_mut().zip(L) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum as u8;
        carry = sum >> 8;
    }
}

/// A point of order 4: y = 0.
fn torsion() -> EdwardsPoint {
    let t = CompressedEdwardsY([0; 32]).decompress().expect("on the curve");
    assert!(t.is_small_order());
    t
}

/// A record by an author key that no one can hold a signing key for, signed as if by it.
fn by_key(author: [u8; 32]) -> Vec<u8> {
    [codec::encode(&envelope(author, 1)), vec![0x11; 64]].concat()
}

/// A non-canonical encoding (y + p) of a point of large order, if one exists: y < 19.
fn non_canonical_key() -> [u8; 32] {
    for y in 2u8..19 {
        let mut canonical = [0u8; 32];
        canonical[0] = y;
        let Some(point) = CompressedEdwardsY(canonical).decompress() else { continue };
        if point.is_small_order() {
            continue;
        }
        // y + p, where p = 2^255 - 19: the low byte wraps, the rest is all ones.
        let mut bytes = [0xffu8; 32];
        bytes[0] = y.wrapping_add(0xed);
        bytes[31] = 0x7f;
        assert_eq!(CompressedEdwardsY(bytes).decompress().map(|p| p.compress()), Some(point.compress()));
        return bytes;
    }
    panic!("no non-canonical encoding of a large-order point");
}

/// Name, record bytes, and whether the rule accepts it.
fn vectors() -> Vec<(&'static str, Vec<u8>, bool)> {
    let r = Scalar::from_bytes_mod_order([0x42; 32]);
    let standard = sign(&envelope(key(AUTHOR).verifying_key().to_bytes(), 1), &key(AUTHOR), &ctx()).unwrap();
    vec![
        ("standard", standard.bytes().to_vec(), true),
        // R of small order alone: the cofactored equation holds, the cofactorless one not.
        ("small-order R", hand_signed(2, Scalar::ZERO, Some(torsion()), false), true),
        // R with a torsion component: ed25519-dalek's batch accepted this depending on its
        // neighbours; the rule accepts it, alone and in any batch.
        ("mixed-order R", hand_signed(3, r, Some(torsion()), false), true),
        ("non-canonical S (S + l)", hand_signed(4, r, None, true), false),
        ("non-canonical author key", by_key(non_canonical_key()), false),
        ("small-order author key", by_key(CompressedEdwardsY([0; 32]).to_bytes()), false),
    ]
}

#[test]
fn committed_signature_vectors_match_and_keep_their_verdicts() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/signature-vectors.json");
    let fresh: Vec<Value> = vectors()
        .into_iter()
        .map(|(name, bytes, accepted)| json!({ "name": name, "record": hex::encode(bytes), "accepted": accepted }))
        .collect();
    let fresh = json!({ "manifest": hex::encode(manifest(&[&key(AUTHOR)]).encode()), "records": fresh });
    if std::env::var_os("LANTERN_UPDATE_VECTORS").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("docs/signature-vectors.json")).unwrap();
    assert_eq!(committed, fresh, "the vectors changed");
    for v in committed["records"].as_array().unwrap() {
        let bytes = hex::decode(v["record"].as_str().unwrap()).unwrap();
        assert_eq!(verify(&bytes, &ctx()).is_ok(), v["accepted"].as_bool().unwrap(), "{}", v["name"]);
    }
}

#[test]
fn single_and_batch_verification_agree_on_every_vector_in_any_company() {
    let ctx = ctx();
    let good: Vec<Vec<u8>> = (10..80)
        .map(|seq| {
            sign(&envelope(key(AUTHOR).verifying_key().to_bytes(), seq), &key(AUTHOR), &ctx).unwrap().bytes().to_vec()
        })
        .collect();
    for (name, bytes, accepted) in vectors() {
        assert_eq!(verify(&bytes, &ctx).is_ok(), accepted, "{name} alone");
        // Alone, first, in the middle and last of a batch, 48 times with different neighbours.
        for round in 0..48 {
            let mut batch: Vec<Vec<u8>> = good[round % 10..round % 10 + 1 + round].to_vec();
            let at = (round * 7) % (batch.len() + 1);
            batch.insert(at, bytes.clone());
            let results = verify_batch(&batch, &ctx);
            assert_eq!(results[at].is_ok(), accepted, "{name} in batch round {round} at {at}");
            assert!(results.iter().enumerate().all(|(i, r)| i == at || r.is_ok()), "{name} sank a neighbour");
        }
    }
}
