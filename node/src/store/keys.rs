//! Key layouts of the store's trees. Big-endian numbers, so byte order is numeric order and
//! "everything of one author" or "one author's sequence n" are prefix scans.

use lantern_protocol::{MemberKey, RecordId};

/// `author(32) ‖ sequence(8)`.
pub fn author_seq(author: &MemberKey, seq: u64) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(author.as_bytes());
    k[32..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// `author(32) ‖ sequence(8) ‖ id(32)`.
pub fn author_seq_id(author: &MemberKey, seq: u64, id: &RecordId) -> [u8; 72] {
    let mut k = [0u8; 72];
    k[..40].copy_from_slice(&author_seq(author, seq));
    k[40..].copy_from_slice(id.as_bytes());
    k
}

pub fn author_of_key(k: &[u8]) -> MemberKey {
    MemberKey(k[..32].try_into().expect("author-keyed entries start with 32 bytes"))
}

/// `a(32) ‖ b(32)`.
pub fn pair(a: &MemberKey, b: &MemberKey) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(a.as_bytes());
    k[32..].copy_from_slice(b.as_bytes());
    k
}

pub fn split_pair(k: &[u8]) -> Option<(MemberKey, MemberKey)> {
    Some((MemberKey::from_slice(k.get(..32)?)?, MemberKey::from_slice(k.get(32..64)?)?))
}

/// `sequence(8) ‖ standing(1)`.
pub fn encode_vouch(seq: u64, standing: bool) -> [u8; 9] {
    let mut v = [0u8; 9];
    v[..8].copy_from_slice(&seq.to_be_bytes());
    v[8] = standing.into();
    v
}

pub fn decode_vouch(v: &[u8]) -> Option<(u64, bool)> {
    Some((u64::from_be_bytes(v.get(..8)?.try_into().ok()?), *v.get(8)? == 1))
}
