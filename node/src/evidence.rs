//! Proving, later, that a published summary committed to a document. A summary carries, per
//! piece of evidence, `BLAKE3("lantern-evidence-v1" ‖ salt ‖ BLAKE3(document))`; the member
//! keeps the salt and the document. A proof is the signed record itself (and, for an anonymous
//! one, the ring it is signed over), the salt and the document's hash: anyone holding the
//! federation's manifest checks it offline, with or without the document, and learns that this
//! record (signed by a member, or by some member of the ring) committed to that document in the
//! month the record gives. Nothing else of the case is in it.

use lantern_protocol::anonymous::{self, AnonBody, Format, format_of};
use lantern_protocol::record::Body;
use lantern_protocol::summary::EvidenceCommitment;
use lantern_protocol::vocab::EvidenceKind;
use lantern_protocol::{CaseSummary, Manifest, Month, RecordId, VerifyContext};
use serde::{Deserialize, Serialize};

use crate::case::parse_hex;
use crate::store::{Store, StoreError};

pub const PROOF_FORMAT: &str = "lantern-evidence-proof-1";

/// A proof that a published record committed to a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    pub format: String,
    pub kind: EvidenceKind,
    /// The document's BLAKE3 hash, 64 hex characters (`b3sum FILE`).
    pub document_blake3: String,
    /// The commitment's salt, 32 hex characters.
    pub salt: String,
    /// The published record's signed bytes, hex.
    pub record: String,
    /// For an anonymous record: the ring record it is signed over, hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<String>,
}

/// What a proof that checks out shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub record: RecordId,
    /// The month the record was made: the document existed then.
    pub created: Month,
    pub kind: EvidenceKind,
    /// Whether the record names its author (else: some member of its ring).
    pub signed_by_member: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("case {case} holds no evidence with that document hash: the file is not among its evidence")]
    NotInCase { case: u64 },
    #[error("case {case} has no published summary that commits to that document (publish or amend it first)")]
    NotPublished { case: u64 },
    #[error("the document's hash is not the one the proof is for")]
    OtherDocument,
    #[error("not a proof: {0}")]
    Malformed(String),
    #[error("the record does not verify for this federation: {0}")]
    Record(String),
    #[error("the record verifies but commits to no such document")]
    NoCommitment,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The proof for the document hashing to `document` among case `case`'s evidence, from the
/// newest of its published versions that commits to it.
pub fn prove(store: &Store, case: u64, document: &[u8; 32]) -> Result<Proof, EvidenceError> {
    let private = store.case(case)?;
    let (kind, salt) = private
        .evidence
        .iter()
        .filter(|e| parse_hex::<32>(&e.document_blake3) == Some(*document))
        .find_map(|e| Some((e.kind, parse_hex::<16>(e.salt.as_deref()?)?)))
        .ok_or(EvidenceError::NotInCase { case })?;
    let commitment = EvidenceCommitment::commit(kind, &salt, document);
    for id in store.published_for(case)?.iter().rev() {
        let Some(bytes) = store.record_bytes(id)? else { continue }; // purged
        let Some((summary, ring)) = summary_of(&bytes) else { continue };
        if !summary.evidence.contains(&commitment) {
            continue;
        }
        let ring = match ring {
            Some(ring_id) => {
                Some(hex::encode(store.record_bytes(&ring_id)?.ok_or(EvidenceError::NotPublished { case })?))
            }
            None => None,
        };
        return Ok(Proof {
            format: PROOF_FORMAT.into(),
            kind,
            document_blake3: hex::encode(document),
            salt: hex::encode(salt),
            record: hex::encode(&bytes),
            ring,
        });
    }
    Err(EvidenceError::NotPublished { case })
}

/// The summary in stored bytes, and the ring an anonymous one is signed over.
fn summary_of(bytes: &[u8]) -> Option<(CaseSummary, Option<RecordId>)> {
    match anonymous::open_stored_any(bytes).ok()? {
        anonymous::Opened::Signed(env) => match env.body {
            Body::Summary(b) => Some((b.summary, None)),
            _ => None,
        },
        anonymous::Opened::Anonymous(env, _) => match env.body {
            AnonBody::Summary(b) => Some((b.summary, Some(env.ring))),
            _ => None,
        },
        anonymous::Opened::Ring(_) => None,
    }
}

/// Checks `proof` against the federation of `manifest`, and against `document` if given.
pub fn check(proof: &Proof, manifest: &Manifest, document: Option<&[u8]>) -> Result<Checked, EvidenceError> {
    let malformed = |what: &str| EvidenceError::Malformed(what.to_string());
    if proof.format != PROOF_FORMAT {
        return Err(malformed("unknown format"));
    }
    let doc = parse_hex::<32>(&proof.document_blake3)
        .ok_or_else(|| malformed("document_blake3: expected 64 hex characters"))?;
    let salt = parse_hex::<16>(&proof.salt).ok_or_else(|| malformed("salt: expected 32 hex characters"))?;
    if let Some(document) = document
        && *blake3::hash(document).as_bytes() != doc
    {
        return Err(EvidenceError::OtherDocument);
    }
    let bytes = hex::decode(&proof.record).map_err(|_| malformed("record: expected hex"))?;
    let ctx = VerifyContext::for_manifest(manifest);
    let record_error = |e: lantern_protocol::RecordError| EvidenceError::Record(e.to_string());
    let (id, created, summary, signed_by_member) = match format_of(&bytes) {
        Format::Anonymous => {
            let ring_hex =
                proof.ring.as_deref().ok_or_else(|| malformed("ring: an anonymous record needs its ring"))?;
            let ring_bytes = hex::decode(ring_hex).map_err(|_| malformed("ring: expected hex"))?;
            let ring = anonymous::verify_ring(&ring_bytes, ctx.federation).map_err(record_error)?;
            let ring_of = |id: &RecordId| (*id == ring.id()).then(|| ring.ring().clone());
            let verified = anonymous::verify_anonymous(&bytes, &ctx, &ring_of).map_err(record_error)?;
            let env = verified.envelope();
            let AnonBody::Summary(b) = &env.body else { return Err(EvidenceError::NoCommitment) };
            (verified.id(), env.created, b.summary.clone(), false)
        }
        _ => {
            let verified = lantern_protocol::verify(&bytes, &ctx).map_err(record_error)?;
            let env = verified.envelope();
            let Body::Summary(b) = &env.body else { return Err(EvidenceError::NoCommitment) };
            (verified.id(), env.created, b.summary.clone(), true)
        }
    };
    if !summary.evidence.contains(&EvidenceCommitment::commit(proof.kind, &salt, &doc)) {
        return Err(EvidenceError::NoCommitment);
    }
    Ok(Checked { record: id, created, kind: proof.kind, signed_by_member })
}
