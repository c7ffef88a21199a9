//! Anonymous records: a summary, amendment, retraction or purge that proves "some current member
//! made this" with a linkable ring signature ([`crate::anon`]) instead of naming its author.
//!
//! Two record formats besides the signed envelope, told apart by their first byte:
//! - **Ring** ([`RING_FORMAT`]): the sorted anonymity keys of a federation's members at one time.
//!   Unsigned and content-addressed: its id is the hash of its bytes, so every node that computes
//!   the ring of the same membership makes the same record. Anonymous records name their ring by
//!   this id.
//! - **Anonymous** ([`ANONYMOUS_FORMAT`]): `encode(AnonEnvelope) || encode(RingProof)`. The proof
//!   signs the encoded envelope in the scope of the case's start year ([`Scope::Year`]): its tag
//!   is the same for every record one member makes about cases that started that year, and
//!   unrelated to the member's tags of other years. The envelope carries no author, sequence or
//!   chain link.
//!
//! What needs node state (is the ring held, are its keys current members' registered keys, does
//! an amendment carry its target's tag) is the node's to check; everything else is here.

use std::collections::HashMap;
use std::sync::Arc;

use bincode::{Decode, Encode};
use rayon::prelude::*;
use serde::Serialize;

use crate::anon::{self, AnonymityKey, AnonymitySecret, LinkTag, Ring, RingProof, Scope, ScopeParams};
use crate::codec;
use crate::error::{RecordError, Rule, ValidationError};
use crate::ids::{FederationId, RecordId};
use crate::month::Month;
use crate::record::{PurgeBody, RetractionBody, SummaryBody};
use crate::signed::VerifyContext;

/// First byte of an anonymous record.
pub const ANONYMOUS_FORMAT: u8 = 2;
/// First byte of a ring record.
pub const RING_FORMAT: u8 = 3;
/// A ring record's hard size limit (it is not bound by the policy's record size).
pub const MAX_RING_RECORD_BYTES: usize = 64 * 1024;
/// Most keys one ring record holds (what fits in [`MAX_RING_RECORD_BYTES`]): the largest
/// federation that can sign anonymously until rings span several records.
pub const MAX_RING: usize = 2000;
/// Records whose proofs are verified in one Triptych batch.
const BATCH: usize = 32;

/// Which of the three record formats `bytes` claims to be (by its first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Signed,
    Anonymous,
    Ring,
    Unknown(u8),
}

pub fn format_of(bytes: &[u8]) -> Format {
    match bytes.first() {
        Some(&crate::WIRE_FORMAT) => Format::Signed,
        Some(&ANONYMOUS_FORMAT) => Format::Anonymous,
        Some(&RING_FORMAT) => Format::Ring,
        Some(&b) => Format::Unknown(b),
        None => Format::Unknown(0),
    }
}

/// The anonymity keys of the members at one time.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct RingRecord {
    /// [`RING_FORMAT`].
    pub format: u8,
    pub federation: FederationId,
    /// Sorted, distinct, 1 to [`MAX_RING`].
    pub keys: Vec<AnonymityKey>,
}

/// A ring record that decoded, validated and whose keys are points: the ring is ready to use.
#[derive(Debug, Clone)]
pub struct VerifiedRing {
    id: RecordId,
    bytes: Vec<u8>,
    ring: Arc<Ring>,
}

impl VerifiedRing {
    pub fn id(&self) -> RecordId {
        self.id
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn ring(&self) -> &Arc<Ring> {
        &self.ring
    }
}

/// The ring record of `keys` (sorted here), its bytes and id.
pub fn ring_record(federation: FederationId, mut keys: Vec<AnonymityKey>) -> Result<VerifiedRing, RecordError> {
    keys.sort_unstable();
    keys.dedup();
    let bytes = codec::encode(&RingRecord { format: RING_FORMAT, federation, keys });
    verify_ring(&bytes, federation)
}

/// Checks a ring record from anywhere.
pub fn verify_ring(bytes: &[u8], federation: FederationId) -> Result<VerifiedRing, RecordError> {
    let record: RingRecord = codec::decode_canonical(bytes, MAX_RING_RECORD_BYTES)?;
    if record.format != RING_FORMAT {
        let v = i64::from(RING_FORMAT);
        return Err(
            ValidationError::new("format", Rule::OutOfRange { min: v, max: v, got: record.format.into() }).into()
        );
    }
    if record.federation != federation {
        return Err(RecordError::WrongFederation { expected: federation.to_hex(), got: record.federation.to_hex() });
    }
    if record.keys.len() > MAX_RING {
        return Err(ValidationError::new("keys", Rule::TooMany { max: MAX_RING, got: record.keys.len() }).into());
    }
    if record.keys.is_empty() {
        return Err(ValidationError::new("keys", Rule::Empty).into());
    }
    if !record.keys.windows(2).all(|w| w[0] < w[1]) {
        return Err(ValidationError::new("keys", Rule::NotSortedUnique).into());
    }
    let ring = Ring::new(record.keys).map_err(RecordError::Anonymity)?;
    Ok(VerifiedRing { id: RecordId::of(bytes), bytes: bytes.to_vec(), ring: Arc::new(ring) })
}

/// What an anonymous record's proof signs.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct AnonEnvelope {
    /// [`ANONYMOUS_FORMAT`].
    pub format: u8,
    pub federation: FederationId,
    /// The id of the ring record the proof is over.
    pub ring: RecordId,
    /// The scope: the calendar year the case started.
    pub year: u16,
    /// Coarse creation time; never a day.
    pub created: Month,
    pub body: AnonBody,
}

/// What an anonymous record may say. Wire order is fixed: add new kinds at the end only.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // a summary is most of what is ever sent
pub enum AnonBody {
    /// A new case, or (with `supersedes`) an amendment of one made with the same tag.
    Summary(SummaryBody),
    /// Withdraws a case made with the same tag from every figure.
    Retraction(RetractionBody),
    /// Deletes the bytes of summaries made with the same tag.
    Purge(PurgeBody),
}

impl AnonBody {
    pub fn kind(&self) -> &'static str {
        match self {
            AnonBody::Summary(b) if b.supersedes.is_some() => "amendment",
            AnonBody::Summary(_) => "summary",
            AnonBody::Retraction(_) => "retraction",
            AnonBody::Purge(_) => "purge",
        }
    }
}

impl AnonEnvelope {
    pub fn scope(&self) -> Scope {
        Scope::Year { federation: self.federation, year: self.year }
    }

    /// Structural rules that need nothing but the envelope.
    pub fn validate(&self, max_narrative_bytes: usize) -> Result<(), ValidationError> {
        if self.format != ANONYMOUS_FORMAT {
            let v = i64::from(ANONYMOUS_FORMAT);
            return Err(ValidationError::new("format", Rule::OutOfRange { min: v, max: v, got: self.format.into() }));
        }
        self.created.validate("created")?;
        let (min, max) = (crate::month::MIN_YEAR, crate::month::MAX_YEAR);
        if !(min..=max).contains(&self.year) {
            let got = i64::from(self.year);
            return Err(ValidationError::new("year", Rule::OutOfRange { min: min.into(), max: max.into(), got }));
        }
        match &self.body {
            AnonBody::Summary(b) => {
                b.summary.validate(max_narrative_bytes).map_err(|e| e.within("body.summary"))?;
                if b.summary.start.year != self.year {
                    return Err(ValidationError::new("year", Rule::Violated("must be the year the case started")));
                }
            }
            AnonBody::Retraction(_) => {}
            AnonBody::Purge(p) => p.validate()?,
        }
        Ok(())
    }
}

/// An anonymous record whose encoding, validity and proof have been checked against its ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAnonymous {
    id: RecordId,
    bytes: Vec<u8>,
    envelope: AnonEnvelope,
    tag: LinkTag,
}

impl VerifiedAnonymous {
    pub fn id(&self) -> RecordId {
        self.id
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn envelope(&self) -> &AnonEnvelope {
        &self.envelope
    }
    /// Equal for every record one member makes in this record's scope.
    pub fn tag(&self) -> LinkTag {
        self.tag
    }
}

fn check_context(envelope: &AnonEnvelope, ctx: &VerifyContext) -> Result<(), RecordError> {
    if envelope.federation != ctx.federation {
        return Err(RecordError::WrongFederation {
            expected: ctx.federation.to_hex(),
            got: envelope.federation.to_hex(),
        });
    }
    envelope.validate(ctx.max_narrative_bytes)?;
    Ok(())
}

/// Signs `envelope` anonymously over `ring` (whose record id must be `envelope.ring`).
pub fn sign_anonymous(
    envelope: &AnonEnvelope,
    secret: &AnonymitySecret,
    ring: &VerifiedRing,
    ctx: &VerifyContext,
) -> Result<VerifiedAnonymous, RecordError> {
    if envelope.ring != ring.id() {
        return Err(ValidationError::new("ring", Rule::Violated("must be the id of the ring signed over")).into());
    }
    check_context(envelope, ctx)?;
    let message = codec::encode(envelope);
    let params = ring.ring().params(&envelope.scope());
    let proof = anon::prove(secret, ring.ring(), &params, &message).map_err(RecordError::Anonymity)?;
    let tag = proof.tag;
    let mut bytes = message;
    bytes.extend(codec::encode(&proof));
    if bytes.len() > ctx.max_record_bytes {
        return Err(RecordError::TooLarge { len: bytes.len(), max: ctx.max_record_bytes });
    }
    Ok(VerifiedAnonymous { id: RecordId::of(&bytes), bytes, envelope: envelope.clone(), tag })
}

/// Decodes an anonymous record's envelope without checking its proof. Only for bytes verified
/// before they were stored; never for bytes from a peer.
pub fn open_stored_anonymous(bytes: &[u8]) -> Result<(AnonEnvelope, LinkTag), RecordError> {
    let (envelope, proof): (AnonEnvelope, RingProof) = codec::decode_canonical(bytes, crate::MAX_RECORD_BYTES)?;
    Ok((envelope, proof.tag))
}

struct Parsed {
    envelope: AnonEnvelope,
    message: Vec<u8>,
    proof: RingProof,
}

fn parse(bytes: &[u8], ctx: &VerifyContext) -> Result<Parsed, RecordError> {
    let max = ctx.max_record_bytes.min(crate::MAX_RECORD_BYTES);
    let (envelope, proof): (AnonEnvelope, RingProof) = codec::decode_canonical(bytes, max)?;
    check_context(&envelope, ctx)?;
    let message = codec::encode(&envelope);
    Ok(Parsed { envelope, message, proof })
}

/// Verifies anonymous records against the rings `ring_of` holds, on all cores: proofs of one
/// ring and scope are checked in batches (the parameters built once per group); when a batch
/// fails its records are checked one by one. A record whose ring is not held fails with
/// [`RecordError::UnknownRing`]: the caller may keep it until the ring arrives. Results are in
/// input order and equal to what each record would get alone.
pub fn verify_anonymous_batch<B: AsRef<[u8]> + Sync>(
    records: &[B],
    ctx: &VerifyContext,
    ring_of: &(dyn Fn(&RecordId) -> Option<Arc<Ring>> + Sync),
) -> Vec<Result<VerifiedAnonymous, RecordError>> {
    let mut parsed: Vec<Result<(Parsed, Arc<Ring>), RecordError>> = records
        .par_iter()
        .map(|b| {
            let p = parse(b.as_ref(), ctx)?;
            let ring = ring_of(&p.envelope.ring).ok_or(RecordError::UnknownRing(p.envelope.ring.to_hex()))?;
            Ok((p, ring))
        })
        .collect();
    // Group by (ring, year): one set of parameters and one batch per group.
    let mut groups: HashMap<(RecordId, u16), Vec<usize>> = HashMap::new();
    for (i, p) in parsed.iter().enumerate() {
        if let Ok((p, _)) = p {
            groups.entry((p.envelope.ring, p.envelope.year)).or_default().push(i);
        }
    }
    let mut work: Vec<Vec<usize>> = Vec::new();
    for indexes in groups.into_values() {
        work.extend(indexes.chunks(BATCH).map(<[usize]>::to_vec));
    }
    let params_cache: HashMap<(RecordId, u16), ScopeParams> = work
        .iter()
        .map(|chunk| {
            let (p, ring) = parsed[chunk[0]].as_ref().expect("grouped records parsed");
            ((p.envelope.ring, p.envelope.year), (ring.clone(), p.envelope.scope()))
        })
        .collect::<HashMap<_, _>>()
        .into_par_iter()
        .map(|(key, (ring, scope))| (key, ring.params(&scope)))
        .collect();
    let verdicts: Vec<(usize, Result<(), RecordError>)> =
        work.par_iter().flat_map_iter(|chunk| verify_group(chunk, &parsed, &params_cache)).collect();
    let mut outcome: Vec<Option<Result<(), RecordError>>> = vec![None; records.len()];
    for (i, v) in verdicts {
        outcome[i] = Some(v);
    }
    parsed
        .drain(..)
        .zip(outcome)
        .zip(records)
        .map(|((p, verdict), bytes)| {
            let (p, _) = p?;
            verdict.expect("every parsed record was verified")?;
            let bytes = bytes.as_ref();
            Ok(VerifiedAnonymous {
                id: RecordId::of(bytes),
                bytes: bytes.to_vec(),
                envelope: p.envelope,
                tag: p.proof.tag,
            })
        })
        .collect()
}

fn verify_group(
    chunk: &[usize],
    parsed: &[Result<(Parsed, Arc<Ring>), RecordError>],
    params: &HashMap<(RecordId, u16), ScopeParams>,
) -> Vec<(usize, Result<(), RecordError>)> {
    let prepared: Vec<(usize, Result<anon::Prepared, RecordError>, &[u8])> = chunk
        .iter()
        .map(|&i| {
            let (p, ring) = parsed[i].as_ref().expect("grouped records parsed");
            let params = &params[&(p.envelope.ring, p.envelope.year)];
            (i, anon::prepare(ring, params, &p.proof).map_err(RecordError::Anonymity), p.message.as_slice())
        })
        .collect();
    let good: Vec<(&anon::Prepared, &[u8])> =
        prepared.iter().filter_map(|(_, p, m)| p.as_ref().ok().map(|p| (p, *m))).collect();
    let batch_ok = !good.is_empty() && anon::verify_all(&good);
    prepared
        .into_iter()
        .map(|(i, p, m)| {
            let verdict =
                p.and_then(|p| if batch_ok { Ok(()) } else { anon::verify(&p, m).map_err(RecordError::Anonymity) });
            (i, verdict)
        })
        .collect()
}

/// Verifies one anonymous record.
pub fn verify_anonymous(
    bytes: &[u8],
    ctx: &VerifyContext,
    ring_of: &(dyn Fn(&RecordId) -> Option<Arc<Ring>> + Sync),
) -> Result<VerifiedAnonymous, RecordError> {
    verify_anonymous_batch(&[bytes], ctx, ring_of).remove(0)
}

/// A stored record of any format, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum Opened {
    Signed(crate::Envelope),
    Anonymous(AnonEnvelope, LinkTag),
    Ring(RingRecord),
}

/// Decodes stored bytes of any format without checking signatures or proofs. Only for bytes
/// verified before they were stored; never for bytes from a peer.
pub fn open_stored_any(bytes: &[u8]) -> Result<Opened, RecordError> {
    match format_of(bytes) {
        Format::Anonymous => open_stored_anonymous(bytes).map(|(e, t)| Opened::Anonymous(e, t)),
        Format::Ring => Ok(Opened::Ring(codec::decode_canonical(bytes, MAX_RING_RECORD_BYTES)?)),
        Format::Signed | Format::Unknown(_) => crate::signed::open_stored(bytes).map(Opened::Signed),
    }
}

impl Opened {
    /// The author's member key, for records that name it.
    pub fn author(&self) -> Option<crate::MemberKey> {
        self.signed().map(|e| e.author)
    }

    /// A short stable name of the kind, for APIs, logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Opened::Signed(e) => e.body.kind(),
            Opened::Anonymous(e, _) => e.body.kind(),
            Opened::Ring(_) => "ring",
        }
    }

    /// The signed envelope, for records that name their author.
    pub fn signed(&self) -> Option<&crate::Envelope> {
        match self {
            Opened::Signed(e) => Some(e),
            _ => None,
        }
    }

    /// The summary a summary or amendment carries, whatever its format.
    pub fn summary(&self) -> Option<&SummaryBody> {
        match self {
            Opened::Signed(crate::Envelope { body: crate::Body::Summary(b), .. })
            | Opened::Anonymous(AnonEnvelope { body: AnonBody::Summary(b), .. }, _) => Some(b),
            _ => None,
        }
    }

    pub fn created(&self) -> Option<Month> {
        match self {
            Opened::Signed(e) => Some(e.created),
            Opened::Anonymous(e, _) => Some(e.created),
            Opened::Ring(_) => None,
        }
    }
}
