//! Signing and verification. A record on the wire is `encode(envelope) || signature(64)`; the
//! signature covers exactly the encoded envelope bytes, and the record id is the BLAKE3 hash of
//! the whole signed record.

use std::collections::HashMap;

use ed25519_dalek::{Signer, SigningKey};
use rayon::prelude::*;

use crate::codec;
use crate::error::RecordError;
use crate::ids::{FederationId, MemberKey, RecordId};
use crate::manifest::Manifest;
use crate::record::Envelope;
use crate::sig::{self, AuthorKey};
use crate::{MAX_RECORD_BYTES, SIGNATURE_LEN};

/// Records verified together in one ed25519 batch. Large enough to get most of the batch
/// speed-up, small enough that one bad record costs little to isolate.
const BATCH: usize = 64;

/// What a record must match besides its own signature: the federation and its size limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyContext {
    pub federation: FederationId,
    pub max_record_bytes: usize,
    pub max_narrative_bytes: usize,
}

impl VerifyContext {
    pub fn for_manifest(manifest: &Manifest) -> Self {
        Self {
            federation: manifest.id(),
            max_record_bytes: (manifest.policy.max_record_bytes as usize).min(MAX_RECORD_BYTES),
            max_narrative_bytes: manifest.policy.max_narrative_bytes as usize,
        }
    }
}

/// A record whose encoding, validity and signature have been checked. Only this module can make
/// one, so holding one is proof of verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRecord {
    id: RecordId,
    bytes: Vec<u8>,
    envelope: Envelope,
}

impl VerifiedRecord {
    pub fn id(&self) -> RecordId {
        self.id
    }

    /// The exact signed bytes, as they travel and as they are stored.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    pub fn author(&self) -> MemberKey {
        self.envelope.author
    }

    pub fn sequence(&self) -> u64 {
        self.envelope.sequence
    }

    pub fn into_parts(self) -> (RecordId, Vec<u8>, Envelope) {
        (self.id, self.bytes, self.envelope)
    }
}

/// A member key that is a canonical, non-weak ed25519 point (see [`crate::sig`]).
pub fn check_author_key(key: &MemberKey) -> Result<AuthorKey, RecordError> {
    sig::author_key(key.as_bytes())
}

/// The member key of a signing key.
pub fn member_key(key: &SigningKey) -> MemberKey {
    MemberKey(key.verifying_key().to_bytes())
}

/// Validates and signs an envelope. The author must be `key`'s public key.
pub fn sign(envelope: &Envelope, key: &SigningKey, ctx: &VerifyContext) -> Result<VerifiedRecord, RecordError> {
    if envelope.author != member_key(key) {
        return Err(crate::ValidationError::new(
            "author",
            crate::Rule::Violated("must be the public key of the signing key"),
        )
        .into());
    }
    check_context(envelope, ctx)?;
    let mut bytes = codec::encode(envelope);
    let signature = key.sign(&bytes);
    bytes.extend_from_slice(&signature.to_bytes());
    if bytes.len() > ctx.max_record_bytes {
        return Err(RecordError::TooLarge { len: bytes.len(), max: ctx.max_record_bytes });
    }
    Ok(VerifiedRecord { id: RecordId::of(&bytes), bytes, envelope: envelope.clone() })
}

fn check_context(envelope: &Envelope, ctx: &VerifyContext) -> Result<(), RecordError> {
    if envelope.federation != ctx.federation {
        return Err(RecordError::WrongFederation {
            expected: ctx.federation.to_hex(),
            got: envelope.federation.to_hex(),
        });
    }
    envelope.validate(ctx.max_narrative_bytes)?;
    if let crate::Body::AnonymityKey(k) = &envelope.body {
        k.check_possession(envelope.federation, envelope.author)?;
    }
    Ok(())
}

/// A record decoded and checked in everything but its signature.
struct Parsed<'a> {
    envelope: Envelope,
    message: &'a [u8],
    signature: [u8; SIGNATURE_LEN],
}

fn parse<'a>(bytes: &'a [u8], ctx: &VerifyContext) -> Result<Parsed<'a>, RecordError> {
    let max = ctx.max_record_bytes.min(MAX_RECORD_BYTES);
    if bytes.len() > max {
        return Err(RecordError::TooLarge { len: bytes.len(), max });
    }
    if bytes.len() <= SIGNATURE_LEN {
        return Err(RecordError::Truncated { len: bytes.len() });
    }
    let (message, sig) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let envelope: Envelope = codec::decode_canonical(message, max)?;
    check_context(&envelope, ctx)?;
    let signature: [u8; SIGNATURE_LEN] = sig.try_into().map_err(|_| RecordError::BadSignature)?;
    Ok(Parsed { envelope, message, signature })
}

/// Verifies one record under the federation's one signature rule ([`crate::sig`]).
pub fn verify(bytes: &[u8], ctx: &VerifyContext) -> Result<VerifiedRecord, RecordError> {
    let parsed = parse(bytes, ctx)?;
    let key = check_author_key(&parsed.envelope.author)?;
    if !sig::verify_one(&key, parsed.message, &parsed.signature) {
        return Err(RecordError::BadSignature);
    }
    Ok(VerifiedRecord { id: RecordId::of(bytes), bytes: bytes.to_vec(), envelope: parsed.envelope })
}

/// Verifies many records on all cores: decode and validate in parallel, check each distinct
/// author key once (canonical point, not weak), then verify signatures in batches. Results are
/// in input order, and the same as [`verify`] gives each record: the batch and the single check
/// are one rule ([`crate::sig`]). When a batch fails, its records are verified one by one to find
/// the bad ones, so one forged record never sinks its neighbours.
pub fn verify_batch<B: AsRef<[u8]> + Sync>(
    records: &[B],
    ctx: &VerifyContext,
) -> Vec<Result<VerifiedRecord, RecordError>> {
    let parsed: Vec<Result<Parsed<'_>, RecordError>> = records.par_iter().map(|b| parse(b.as_ref(), ctx)).collect();
    let mut authors: Vec<MemberKey> =
        parsed.iter().filter_map(|p| p.as_ref().ok().map(|p| p.envelope.author)).collect();
    authors.sort_unstable();
    authors.dedup();
    let keys: HashMap<MemberKey, Result<AuthorKey, RecordError>> =
        authors.into_par_iter().map(|a| (a, check_author_key(&a))).collect();

    let mut with_keys = parsed.into_iter().map(|p| {
        let p = p?;
        let key = keys[&p.envelope.author].clone()?;
        Ok((p, key))
    });
    let mut groups: Vec<Vec<Result<(Parsed<'_>, AuthorKey), RecordError>>> = Vec::new();
    loop {
        let group: Vec<_> = with_keys.by_ref().take(BATCH).collect();
        if group.is_empty() {
            break;
        }
        groups.push(group);
    }
    let verified: Vec<Vec<Result<VerifiedRecord, RecordError>>> = groups
        .into_par_iter()
        .zip(records.par_chunks(BATCH))
        .map(|(group, bytes)| verify_chunk(bytes, group))
        .collect();
    verified.into_iter().flatten().collect()
}

fn verify_chunk<B: AsRef<[u8]>>(
    chunk: &[B],
    parsed: Vec<Result<(Parsed<'_>, AuthorKey), RecordError>>,
) -> Vec<Result<VerifiedRecord, RecordError>> {
    let ok: Vec<&(Parsed<'_>, AuthorKey)> = parsed.iter().filter_map(|r| r.as_ref().ok()).collect();
    let batch_ok = !ok.is_empty() && sig::verify_all(ok.iter().map(|(p, k)| (k, p.message, &p.signature)));

    chunk
        .iter()
        .zip(parsed)
        .map(|(bytes, parsed)| {
            let (p, key) = parsed?;
            if !batch_ok && !sig::verify_one(&key, p.message, &p.signature) {
                return Err(RecordError::BadSignature);
            }
            let bytes = bytes.as_ref();
            Ok(VerifiedRecord { id: RecordId::of(bytes), bytes: bytes.to_vec(), envelope: p.envelope })
        })
        .collect()
}

/// Decodes the envelope of a record without checking its signature. Only for bytes that were
/// verified before they were stored (the store's own reads); never for bytes from a peer.
pub fn open_stored(bytes: &[u8]) -> Result<Envelope, RecordError> {
    if bytes.len() <= SIGNATURE_LEN {
        return Err(RecordError::Truncated { len: bytes.len() });
    }
    codec::decode_canonical(&bytes[..bytes.len() - SIGNATURE_LEN], MAX_RECORD_BYTES)
}
