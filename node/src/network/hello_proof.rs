//! Proving membership on a connection. Both kinds of proof are bound to the connection (both
//! peer ids, hashed) and to the role they are made for, so neither can be replayed elsewhere,
//! and neither is a record: nothing is stored, nothing travels further than the peer.
//!
//! - **Anonymous**: a ring proof over the current members' anonymity keys, in a scope of its own
//!   per connection. It names no member, and proofs of two connections cannot be linked. The
//!   dialler proves over its current ring (carried along when small); the listener checks it and
//!   answers over the **same** ring, which the dialler knows.
//! - **Named**: the member key and its ed25519 signature over the connection. It names the member
//!   to this one peer; used only when an anonymous proof is not possible (a ring below k, a peer
//!   that does not know the keys yet), and answered in kind.

use std::sync::Arc;

use lantern_protocol::anon::{self, LinkTag, Ring, RingProof, Scope};
use lantern_protocol::anonymous;
use lantern_protocol::{MemberKey, RecordId, sig};
use libp2p::PeerId;

use super::codec::{MAX_CARRIED_RING, Proof};
use crate::federation::Federation;
use crate::store::loose::Loose;

/// Which end of the connection a proof is for: a proof made for one cannot pass for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Dialler,
    Listener,
}

/// The scope of one connection: the two peer ids, dialler first.
pub fn pair(dialler: &PeerId, listener: &PeerId) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("lantern 2026 hello pair v1");
    for id in [dialler, listener] {
        let bytes = id.to_bytes();
        h.update(&(bytes.len() as u32).to_le_bytes()).update(&bytes);
    }
    *h.finalize().as_bytes()
}

/// What a named proof signs: the federation, the connection and the role.
fn named_message(federation: &lantern_protocol::FederationId, pair: &[u8; 32], role: Role) -> Vec<u8> {
    [b"lantern 2026 hello named v1 ".as_slice(), federation.as_bytes(), &message(pair, role)].concat()
}

/// A named proof by `key` for one end of a connection.
pub fn named(
    key: &ed25519_dalek::SigningKey,
    federation: &lantern_protocol::FederationId,
    pair: [u8; 32],
    role: Role,
) -> Proof {
    use ed25519_dalek::Signer;
    let signature = key.sign(&named_message(federation, &pair, role));
    Proof::Named { member: key.verifying_key().to_bytes(), signature: signature.to_bytes().to_vec() }
}

/// Checks a named proof: a valid member key (the federation's signature rule), a signature over
/// this connection and role, and a current member. The member, when it holds.
pub fn check_named(
    fed: &Federation,
    pair: [u8; 32],
    role: Role,
    member: [u8; 32],
    signature: &[u8],
) -> Result<MemberKey, (String, &'static str)> {
    let key = sig::author_key(&member).map_err(|e| (format!("invalid proof: {}", e.reason()), "invalid-proof"))?;
    let signature: [u8; 64] = signature.try_into().map_err(|_| ("invalid proof".to_string(), "invalid-proof"))?;
    if !sig::verify_one(&key, &named_message(&fed.manifest().id(), &pair, role), &signature) {
        // A proof made for another connection, another role or another federation.
        return Err(("invalid proof: not for this connection".into(), "invalid-proof"));
    }
    let member = MemberKey(member);
    if !fed.is_member(&member) {
        return Err(("not a current member".into(), "not-a-member"));
    }
    Ok(member)
}

fn message(pair: &[u8; 32], role: Role) -> Vec<u8> {
    let role = match role {
        Role::Dialler => b"dialler".as_slice(),
        Role::Listener => b"listener".as_slice(),
    };
    [b"lantern hello ".as_slice(), role, pair].concat()
}

/// This node's anonymous proof for one end of a connection: over its current ring, or (`over`)
/// over the ring the other end proved with. `None` when no such proof is possible.
pub fn make(fed: &Federation, pair: [u8; 32], role: Role, over: Option<RecordId>) -> Option<Proof> {
    let signer = fed.registered_signer().ok().flatten()?;
    // Hold the ring this node proves over, so the answer over it can be checked here too.
    if !signer.held {
        fed.store().store_loose(vec![Loose::Ring(signer.ring.clone())]).ok()?;
    }
    let (ring, ring_record) = match over {
        Some(id) if id == signer.ring.id() => (signer.ring.ring().clone(), None),
        Some(id) => (fed.ring_by_id(&id).ok().flatten()?, None),
        None => {
            let carried = signer.ring.bytes().len() <= MAX_CARRIED_RING;
            (signer.ring.ring().clone(), carried.then(|| signer.ring.bytes().to_vec()))
        }
    };
    let id = over.unwrap_or_else(|| signer.ring.id());
    let scope = Scope::Connection { federation: fed.manifest().id(), pair };
    let proof = anon::prove(signer.secret, &ring, &ring.params(&scope), &message(&pair, role)).ok()?;
    Some(Proof::Anonymous { ring: id.0, ring_record, tag: proof.tag.0, proof: proof.proof })
}

/// Checks the other end's anonymous proof: its ring (held here, or carried and made of
/// registered keys) holds current members' keys only, and the proof verifies for this
/// connection and the other end's role. The ring's id, when it holds.
pub fn check(
    fed: &Federation,
    pair: [u8; 32],
    role: Role,
    ring: [u8; 32],
    ring_record: Option<&[u8]>,
    tag: [u8; 32],
    proof: &[u8],
) -> Result<RecordId, (String, &'static str)> {
    let id = RecordId(ring);
    let mut to_keep = None;
    let ring: Arc<Ring> = match fed.ring_by_id(&id).map_err(|e| (e.to_string(), "store"))? {
        Some(r) => r,
        None => {
            let bytes = ring_record.ok_or_else(|| ("unknown ring".to_string(), "unknown-ring"))?;
            let verified = anonymous::verify_ring(bytes, fed.manifest().id())
                .map_err(|e| (format!("invalid proof: {}", e.reason()), "invalid-proof"))?;
            if verified.id() != id {
                return Err(("the ring carried is not the ring named".into(), "invalid-proof"));
            }
            let ring = verified.ring().clone();
            to_keep = Some(verified);
            ring
        }
    };
    if !fed.ring_is_current(&ring).map_err(|e| (e.to_string(), "store"))? {
        return Err(("not a current member".into(), "not-a-member"));
    }
    let scope = Scope::Connection { federation: fed.manifest().id(), pair };
    let params = ring.params(&scope);
    let proof = RingProof { tag: LinkTag(tag), proof: proof.to_vec() };
    let prepared = anon::prepare(&ring, &params, &proof).map_err(|_| ("invalid proof".to_string(), "invalid-proof"))?;
    anon::verify(&prepared, &message(&pair, role)).map_err(|_| ("invalid proof".to_string(), "invalid-proof"))?;
    // A current ring, carried by a proven member: kept (a sync would bring it anyway), so this
    // node's answer over it, and later records over it, check here.
    if let Some(ring) = to_keep {
        fed.store().store_loose(vec![Loose::Ring(ring)]).map_err(|e| (e.to_string(), "store"))?;
    }
    Ok(id)
}
