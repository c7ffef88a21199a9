//! Anonymous authorship: a linkable ring signature over the members' anonymity keys.
//!
//! A proof says "the holder of one of these ring keys signed this message" and carries a
//! **linking tag** that depends only on the signer's key and the **scope**: two proofs in one scope
//! by one key have the same tag, proofs by different keys have different tags, and tags of
//! different scopes cannot be linked to each other by anyone (DDH in Ristretto255).
//!
//! The proof system is Triptych (`triptych` 0.1.1, on `curve25519-dalek`, Merlin transcripts):
//! with `G` the Ristretto base point and `U_s` a point hashed from the scope, a member's secret is
//! `r`, its public anonymity key `r·G`, its tag in scope `s` is `r⁻¹·U_s`; the proof shows
//! knowledge of `r` and of an index `l` with `ring[l] = r·G` and `r·tag = U_s`, in
//! `O(log |ring|)` group elements. The ring is padded to a power of two by repeating its last key.
//!
//! **`triptych` is experimental and has not been audited** (its authors say so). It is used here
//! and nowhere else, behind these few functions, so the primitive can be reviewed, and replaced,
//! in one place. Nothing in this module is cryptography of our own: it chooses generators,
//! transcripts and encodings, and calls the library.

use std::sync::Arc;

use bincode::{Decode, Encode};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;
use triptych::{Transcript, TriptychInputSet, TriptychParameters, TriptychProof, TriptychStatement, TriptychWitness};

use crate::ids::{FederationId, MemberKey};

/// Most keys a ring may hold here; a ring *record* holds fewer
/// ([`crate::anonymous::MAX_RING`], to fit one record).
pub const MAX_RING_KEYS: usize = 1 << 14;
/// Base of the proof's index decomposition; the ring is padded to `BASE^m`.
const BASE: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AnonError {
    #[error("an anonymity key is not a valid Ristretto255 point")]
    InvalidKey,
    #[error("a linking tag is not a valid Ristretto255 point")]
    InvalidTag,
    #[error("a ring must hold 1 to {MAX_RING_KEYS} keys, sorted and distinct")]
    BadRing,
    #[error("the signer's key is not in the ring")]
    NotInRing,
    #[error("the proof is malformed")]
    MalformedProof,
    #[error("the proof does not verify")]
    BadProof,
}

/// A member's public anonymity key: the compressed Ristretto255 point `r·G`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct AnonymityKey(pub [u8; 32]);

impl std::fmt::Debug for AnonymityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AnonymityKey({})", hex::encode(&self.0[..4]))
    }
}

impl AnonymityKey {
    fn point(&self) -> Result<RistrettoPoint, AnonError> {
        let point = CompressedRistretto(self.0).decompress().ok_or(AnonError::InvalidKey)?;
        if point == RistrettoPoint::default() {
            return Err(AnonError::InvalidKey);
        }
        Ok(point)
    }
}

/// A linking tag: the compressed point `r⁻¹·U_scope`. Equal tags in one scope, one signer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct LinkTag(pub [u8; 32]);

impl std::fmt::Debug for LinkTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkTag({})", hex::encode(&self.0[..4]))
    }
}

impl LinkTag {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// A member's anonymity secret `r`. Derived from the member's ed25519 seed, so it needs no key
/// file or backup of its own; it never leaves the node.
pub struct AnonymitySecret(Scalar);

impl AnonymitySecret {
    /// The secret of the member whose ed25519 signing-key seed is `seed`.
    pub fn derive(seed: &[u8; 32]) -> Self {
        let mut wide = [0u8; 64];
        blake3::Hasher::new_derive_key("lantern 2026 anonymity secret v1").update(seed).finalize_xof().fill(&mut wide);
        let r = Scalar::from_bytes_mod_order_wide(&wide);
        // Zero has probability 2^-252; never a valid secret.
        Self(if r == Scalar::ZERO { Scalar::ONE } else { r })
    }

    pub fn public(&self) -> AnonymityKey {
        AnonymityKey((self.0 * RISTRETTO_BASEPOINT_POINT).compress().to_bytes())
    }
}

/// What a tag is unique to. Every scope has its own linking generator `U`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Summaries of cases that started in one calendar year, in one federation.
    Year { federation: FederationId, year: u16 },
    /// The proof of possession in a member's anonymity-key registration (used once).
    Registration { federation: FederationId, member: MemberKey },
    /// A node's proof of membership on one connection; `pair` hashes both ends' peer ids, so
    /// tags of different connections cannot be linked.
    Connection { federation: FederationId, pair: [u8; 32] },
}

impl Scope {
    fn generator(&self) -> RistrettoPoint {
        let mut h = blake3::Hasher::new_derive_key("lantern 2026 anonymity scope generator v1");
        match self {
            Scope::Year { federation, year } => {
                h.update(b"year").update(federation.as_bytes()).update(&year.to_le_bytes());
            }
            Scope::Registration { federation, member } => {
                h.update(b"registration").update(federation.as_bytes()).update(member.as_bytes());
            }
            Scope::Connection { federation, pair } => {
                h.update(b"connection").update(federation.as_bytes()).update(pair);
            }
        }
        let mut wide = [0u8; 64];
        h.finalize_xof().fill(&mut wide);
        RistrettoPoint::from_uniform_bytes(&wide)
    }
}

/// A ring of anonymity keys, sorted and distinct, ready to prove and verify against.
#[derive(Clone)]
pub struct Ring {
    keys: Vec<AnonymityKey>,
    m: u32,
    input: Arc<TriptychInputSet>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ring({} keys)", self.keys.len())
    }
}

impl Ring {
    pub fn new(keys: Vec<AnonymityKey>) -> Result<Self, AnonError> {
        if keys.is_empty() || keys.len() > MAX_RING_KEYS || !keys.windows(2).all(|w| w[0] < w[1]) {
            return Err(AnonError::BadRing);
        }
        let points = keys.iter().map(AnonymityKey::point).collect::<Result<Vec<_>, _>>()?;
        // m ≥ 2 is the library's minimum: rings below 4 keys are padded to 4.
        let m = (keys.len() as u32).next_power_of_two().trailing_zeros().max(2);
        let params = TriptychParameters::new(BASE, m).map_err(|_| AnonError::BadRing)?;
        let input = TriptychInputSet::new_with_padding(&points, &params).map_err(|_| AnonError::BadRing)?;
        Ok(Self { keys, m, input: Arc::new(input) })
    }

    pub fn keys(&self) -> &[AnonymityKey] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The statement parameters of this ring's size in `scope`. Building them hashes a few dozen
    /// points: verifiers of many proofs build them once per (ring size, scope) and reuse them.
    pub fn params(&self, scope: &Scope) -> ScopeParams {
        let u = scope.generator();
        let params = TriptychParameters::new_with_generators(BASE, self.m, &RISTRETTO_BASEPOINT_POINT, &u)
            .expect("BASE and m are valid parameters");
        ScopeParams(Arc::new(params))
    }
}

/// Triptych parameters for one ring size and one scope.
#[derive(Clone)]
pub struct ScopeParams(Arc<TriptychParameters>);

/// A proof and its tag, as they travel.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RingProof {
    pub tag: LinkTag,
    /// Triptych's own canonical proof encoding.
    #[serde(serialize_with = "hex_bytes", deserialize_with = "bytes_of_hex")]
    pub proof: Vec<u8>,
}

fn hex_bytes<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

fn bytes_of_hex<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// Points travel in JSON as 64 hex characters.
macro_rules! hex_point_serde {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.0))
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(String::deserialize(d)?, &mut out).map_err(serde::de::Error::custom)?;
                Ok(Self(out))
            }
        }
    };
}
hex_point_serde!(AnonymityKey);
hex_point_serde!(LinkTag);

fn transcript(message: &[u8]) -> Transcript {
    let mut t = Transcript::new(b"lantern 2026 anonymous record v1");
    t.append_message(b"message", message);
    t
}

/// The tag `secret` has in `scope`, without proving anything (to recognise one's own records).
pub fn tag_of(secret: &AnonymitySecret, scope: &Scope) -> LinkTag {
    LinkTag((secret.0.invert() * scope.generator()).compress().to_bytes())
}

/// Proves that the holder of one of `ring`'s keys (`secret`'s) signs `message` in `scope`.
pub fn prove(
    secret: &AnonymitySecret,
    ring: &Ring,
    params: &ScopeParams,
    message: &[u8],
) -> Result<RingProof, AnonError> {
    let index = ring.keys.binary_search(&secret.public()).map_err(|_| AnonError::NotInRing)?;
    let witness = TriptychWitness::new(&params.0, index as u32, &secret.0).map_err(|_| AnonError::NotInRing)?;
    let tag = witness.compute_linking_tag();
    let statement = TriptychStatement::new(&params.0, &ring.input, &tag).map_err(|_| AnonError::BadRing)?;
    let proof = TriptychProof::prove(&witness, &statement, &mut transcript(message)).map_err(|_| AnonError::BadRing)?;
    Ok(RingProof { tag: LinkTag(tag.compress().to_bytes()), proof: proof.to_bytes() })
}

/// A proof parsed against its ring and scope, ready to verify alone or in a batch.
pub struct Prepared {
    statement: TriptychStatement,
    proof: TriptychProof,
}

/// Parses `proof` for `ring` in the scope of `params`: the tag must be a valid point other than
/// the identity and the proof well formed.
pub fn prepare(ring: &Ring, params: &ScopeParams, proof: &RingProof) -> Result<Prepared, AnonError> {
    let tag = CompressedRistretto(proof.tag.0).decompress().ok_or(AnonError::InvalidTag)?;
    if tag == RistrettoPoint::default() {
        return Err(AnonError::InvalidTag);
    }
    let statement = TriptychStatement::new(&params.0, &ring.input, &tag).map_err(|_| AnonError::BadRing)?;
    let parsed = TriptychProof::from_bytes(&proof.proof).map_err(|_| AnonError::MalformedProof)?;
    Ok(Prepared { statement, proof: parsed })
}

/// Whether one prepared proof signs `message`.
pub fn verify(prepared: &Prepared, message: &[u8]) -> Result<(), AnonError> {
    prepared.proof.verify(&prepared.statement, &mut transcript(message)).map_err(|_| AnonError::BadProof)
}

/// Whether every proof of a batch signs its message; all must share one ring and one scope.
/// The same answer as [`verify`] on each, at a fraction of the cost per proof.
pub fn verify_all(items: &[(&Prepared, &[u8])]) -> bool {
    let statements: Vec<TriptychStatement> = items.iter().map(|(p, _)| p.statement.clone()).collect();
    let proofs: Vec<TriptychProof> = items.iter().map(|(p, _)| p.proof.clone()).collect();
    let mut transcripts: Vec<Transcript> = items.iter().map(|(_, m)| transcript(m)).collect();
    TriptychProof::verify_batch(&statements, &proofs, &mut transcripts).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(n: u8) -> AnonymitySecret {
        AnonymitySecret::derive(&[n; 32])
    }

    fn ring(members: impl IntoIterator<Item = u8>) -> Ring {
        let mut keys: Vec<AnonymityKey> = members.into_iter().map(|n| secret(n).public()).collect();
        keys.sort();
        Ring::new(keys).unwrap()
    }

    fn year(y: u16) -> Scope {
        Scope::Year { federation: FederationId([7; 32]), year: y }
    }

    fn check(ring: &Ring, scope: &Scope, proof: &RingProof, message: &[u8]) -> Result<(), AnonError> {
        let params = ring.params(scope);
        verify(&prepare(ring, &params, proof)?, message)
    }

    #[test]
    fn a_member_of_the_ring_proves_and_the_proof_binds_message_ring_and_scope() {
        let ring5 = ring(1..=5);
        let scope = year(2026);
        let proof = prove(&secret(3), &ring5, &ring5.params(&scope), b"summary").unwrap();
        check(&ring5, &scope, &proof, b"summary").unwrap();
        assert_eq!(check(&ring5, &scope, &proof, b"other"), Err(AnonError::BadProof));
        assert_eq!(check(&ring5, &year(2025), &proof, b"summary"), Err(AnonError::BadProof));
        assert_eq!(check(&ring(1..=6), &scope, &proof, b"summary"), Err(AnonError::BadProof));
        assert_eq!(check(&ring([1, 2, 4, 5, 6]), &scope, &proof, b"summary"), Err(AnonError::BadProof));
        // Someone else's tag on the same proof fails.
        let mut forged = proof.clone();
        forged.tag = tag_of(&secret(2), &scope);
        assert_eq!(check(&ring5, &scope, &forged, b"summary"), Err(AnonError::BadProof));
    }

    #[test]
    fn tags_are_one_per_member_and_scope_and_differ_across_scopes() {
        let ring5 = ring(1..=5);
        let (a, b) = (year(2026), year(2027));
        let prove_as = |n: u8, scope: &Scope| prove(&secret(n), &ring5, &ring5.params(scope), b"m").unwrap().tag;
        assert_eq!(prove_as(3, &a), prove_as(3, &a), "same member, same scope: same tag");
        assert_eq!(prove_as(3, &a), tag_of(&secret(3), &a));
        assert_ne!(prove_as(3, &a), prove_as(4, &a), "two members, two tags");
        assert_ne!(prove_as(3, &a), prove_as(3, &b), "one member, two scopes: unrelated tags");
        // The proof bytes themselves differ every time (fresh randomness).
        let p1 = prove(&secret(3), &ring5, &ring5.params(&a), b"m").unwrap();
        let p2 = prove(&secret(3), &ring5, &ring5.params(&a), b"m").unwrap();
        assert_ne!(p1.proof, p2.proof);
    }

    #[test]
    fn outsiders_cannot_prove_and_rings_are_checked() {
        let ring5 = ring(1..=5);
        assert_eq!(prove(&secret(9), &ring5, &ring5.params(&year(2026)), b"m").unwrap_err(), AnonError::NotInRing);
        let k = secret(1).public();
        assert_eq!(Ring::new(vec![]).unwrap_err(), AnonError::BadRing);
        assert_eq!(Ring::new(vec![k, k]).unwrap_err(), AnonError::BadRing);
        assert_eq!(Ring::new(vec![AnonymityKey([0xff; 32])]).unwrap_err(), AnonError::InvalidKey);
        assert_eq!(Ring::new(vec![AnonymityKey([0; 32])]).unwrap_err(), AnonError::InvalidKey, "identity");
        // A ring of one and a ring of many both work (padding).
        let one = ring([4]);
        let p = prove(&secret(4), &one, &one.params(&year(2026)), b"m").unwrap();
        check(&one, &year(2026), &p, b"m").unwrap();
    }

    #[test]
    fn batch_verification_agrees_with_single_verification() {
        let ring8 = ring(1..=8);
        let scope = year(2026);
        let params = ring8.params(&scope);
        let messages: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; 10]).collect();
        let proofs: Vec<RingProof> =
            (0..6u8).map(|i| prove(&secret(i % 8 + 1), &ring8, &params, &messages[i as usize]).unwrap()).collect();
        let prepared: Vec<Prepared> = proofs.iter().map(|p| prepare(&ring8, &params, p).unwrap()).collect();
        let items: Vec<(&Prepared, &[u8])> = prepared.iter().zip(&messages).map(|(p, m)| (p, m.as_slice())).collect();
        assert!(verify_all(&items));
        let mut bad = items.clone();
        bad[3].1 = b"tampered";
        assert!(!verify_all(&bad));
        assert!(verify(bad[3].0, bad[3].1).is_err());
    }

    #[test]
    fn malformed_proofs_and_tags_are_refused_without_panicking() {
        let ring5 = ring(1..=5);
        let params = ring5.params(&year(2026));
        let good = prove(&secret(1), &ring5, &params, b"m").unwrap();
        for len in [0, 1, 31, 32, good.proof.len() - 1, good.proof.len() + 32] {
            let mut p = good.clone();
            p.proof.resize(len, 0xaa);
            assert!(prepare(&ring5, &params, &p).and_then(|x| verify(&x, b"m")).is_err(), "length {len}");
        }
        let mut p = good.clone();
        p.tag = LinkTag([0xff; 32]);
        assert_eq!(prepare(&ring5, &params, &p).err(), Some(AnonError::InvalidTag));
        p.tag = LinkTag([0; 32]);
        assert_eq!(prepare(&ring5, &params, &p).err(), Some(AnonError::InvalidTag));
    }
}
