//! The anonymised case summary: the only thing about a case that ever leaves a node.
//!
//! Every field is coarse by construction: registries and categories from closed vocabularies,
//! resources as size buckets, time as a start month plus whole-month offsets.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::error::{Rule, ValidationError};
use crate::month::Month;
use crate::vocab::*;

pub const MAX_CATEGORIES: usize = 8;
pub const MAX_RESOURCES: usize = 16;
pub const MAX_TIMELINE: usize = 32;
/// 50 years: longer than any registry process.
pub const MAX_MONTH_OFFSET: u16 = 600;
pub const MAX_TAGS: usize = 16;
pub const MAX_TAG_BYTES: usize = 32;
pub const MAX_EVIDENCE: usize = 32;

/// A resource as its kind and size bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "kind", content = "size")]
pub enum ResourceBucket {
    #[serde(rename = "IPv4")]
    Ipv4(Ipv4Size),
    #[serde(rename = "IPv6")]
    Ipv6(Ipv6Size),
    #[serde(rename = "ASN")]
    Asn(AsnCount),
}

impl ResourceBucket {
    pub fn kind(self) -> ResourceKind {
        match self {
            ResourceBucket::Ipv4(_) => ResourceKind::Ipv4,
            ResourceBucket::Ipv6(_) => ResourceKind::Ipv6,
            ResourceBucket::Asn(_) => ResourceKind::Asn,
        }
    }

    pub fn label(self) -> String {
        match self {
            ResourceBucket::Ipv4(s) => format!("IPv4 {s}"),
            ResourceBucket::Ipv6(s) => format!("IPv6 {s}"),
            ResourceBucket::Asn(c) => format!("ASN x{c}"),
        }
    }
}

/// One stage of the timeline, as whole months after the case's start month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub stage: Stage,
    pub month: u16,
}

/// Impact, in buckets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct Impact {
    pub customers: CustomersBucket,
    pub downtime: DowntimeBucket,
    pub cost: CostBucket,
    /// Sorted, without duplicates.
    pub services: Vec<Service>,
}

/// The member's coarse profile, as of publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct MemberProfile {
    pub org_type: OrgType,
    pub size: OrgSize,
    pub region: Region,
}

impl Default for MemberProfile {
    fn default() -> Self {
        Self { org_type: OrgType::Undisclosed, size: OrgSize::Undisclosed, region: Region::Undisclosed }
    }
}

/// A salted hash commitment to a private document:
/// `BLAKE3("lantern-evidence-v1" || salt(16) || BLAKE3(document))`. The member keeps the salt
/// and the document; revealing both later proves the document existed at publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct EvidenceCommitment {
    pub kind: EvidenceKind,
    #[serde(with = "hex32")]
    pub commitment: [u8; 32],
}

impl EvidenceCommitment {
    pub fn commit(kind: EvidenceKind, salt: &[u8; 16], document_hash: &[u8; 32]) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(b"lantern-evidence-v1");
        h.update(salt);
        h.update(document_hash);
        Self { kind, commitment: *h.finalize().as_bytes() }
    }
}

/// How finely a summary dates its case: the member may publish a coarser form so that the
/// summary matches more of the registry's tickets (schema 2 on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    #[default]
    Month,
    /// `start` is the first month of a calendar quarter and stands for the whole quarter;
    /// offsets are whole quarters (multiples of 3 months, rounded down).
    Quarter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Encode, Decode, Serialize, Deserialize)]
pub struct Precision {
    pub start: Granularity,
    pub offsets: Granularity,
}

/// The anonymised summary of one case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CaseSummary {
    /// [`crate::SCHEMA_VERSION`].
    pub schema: u16,
    pub registry: Registry,
    /// One or more; sorted, without duplicates.
    pub categories: Vec<Category>,
    pub resources: Vec<ResourceBucket>,
    pub start: Month,
    /// Offsets never decrease.
    pub timeline: Vec<TimelineEntry>,
    pub duration: DurationBucket,
    pub outcome: Outcome,
    pub impact: Impact,
    pub profile: MemberProfile,
    /// Free text that has passed redaction.
    pub narrative: String,
    /// Lowercase `[a-z0-9-]`, sorted, without duplicates.
    pub tags: Vec<String>,
    pub evidence: Vec<EvidenceCommitment>,
    /// Schema 2 on (encoded after `evidence`); schema 1 summaries are month-precise.
    #[serde(default)]
    pub precision: Precision,
}

/// Schema 1 is encoded exactly as it always was (its signatures stay valid); schema 2 adds the
/// precision at the end.
impl Encode for CaseSummary {
    fn encode<E: bincode::enc::Encoder>(&self, e: &mut E) -> Result<(), bincode::error::EncodeError> {
        self.schema.encode(e)?;
        self.registry.encode(e)?;
        self.categories.encode(e)?;
        self.resources.encode(e)?;
        self.start.encode(e)?;
        self.timeline.encode(e)?;
        self.duration.encode(e)?;
        self.outcome.encode(e)?;
        self.impact.encode(e)?;
        self.profile.encode(e)?;
        self.narrative.encode(e)?;
        self.tags.encode(e)?;
        self.evidence.encode(e)?;
        if self.schema >= 2 {
            self.precision.encode(e)?;
        }
        Ok(())
    }
}

impl<Context> Decode<Context> for CaseSummary {
    fn decode<D: bincode::de::Decoder<Context = Context>>(d: &mut D) -> Result<Self, bincode::error::DecodeError> {
        let schema = u16::decode(d)?;
        let mut summary = CaseSummary {
            schema,
            registry: Decode::decode(d)?,
            categories: Decode::decode(d)?,
            resources: Decode::decode(d)?,
            start: Decode::decode(d)?,
            timeline: Decode::decode(d)?,
            duration: Decode::decode(d)?,
            outcome: Decode::decode(d)?,
            impact: Decode::decode(d)?,
            profile: Decode::decode(d)?,
            narrative: Decode::decode(d)?,
            tags: Decode::decode(d)?,
            evidence: Decode::decode(d)?,
            precision: Precision::default(),
        };
        if schema >= 2 {
            summary.precision = Decode::decode(d)?;
        }
        Ok(summary)
    }
}

bincode::impl_borrow_decode!(CaseSummary);

fn check_count(field: &str, got: usize, min: usize, max: usize) -> Result<(), ValidationError> {
    if got < min {
        return Err(ValidationError::new(field, Rule::Empty));
    }
    if got > max {
        return Err(ValidationError::new(field, Rule::TooMany { max, got }));
    }
    Ok(())
}

fn check_sorted_unique<T: Ord>(field: &str, items: &[T]) -> Result<(), ValidationError> {
    if items.windows(2).all(|w| w[0] < w[1]) { Ok(()) } else { Err(ValidationError::new(field, Rule::NotSortedUnique)) }
}

/// Whether a tag is well-formed: 1–32 bytes of `[a-z0-9-]`, starting with a letter or digit.
pub fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG_BYTES
        && !tag.starts_with('-')
        && tag.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl CaseSummary {
    /// Checks every rule of the schema; `max_narrative_bytes` comes from the manifest's policy.
    pub fn validate(&self, max_narrative_bytes: usize) -> Result<(), ValidationError> {
        if !(1..=crate::SCHEMA_VERSION).contains(&self.schema) {
            let v = i64::from(crate::SCHEMA_VERSION);
            return Err(ValidationError::new("schema", Rule::OutOfRange { min: 1, max: v, got: self.schema.into() }));
        }
        if self.schema == 1 && self.precision != Precision::default() {
            return Err(ValidationError::new("precision", Rule::Violated("schema 1 summaries are month-precise")));
        }
        if self.precision.start == Granularity::Quarter && self.start.month % 3 != 1 {
            return Err(ValidationError::new("start", Rule::Violated("a start quarter is its first month")));
        }
        if self.precision.offsets == Granularity::Quarter
            && let Some(i) = self.timeline.iter().position(|t| t.month % 3 != 0)
        {
            return Err(ValidationError::new(
                format!("timeline[{i}].month"),
                Rule::Violated("offsets in quarters are multiples of 3"),
            ));
        }
        check_count("categories", self.categories.len(), 1, MAX_CATEGORIES)?;
        check_sorted_unique("categories", &self.categories)?;
        check_count("resources", self.resources.len(), 0, MAX_RESOURCES)?;
        self.start.validate("start")?;
        check_count("timeline", self.timeline.len(), 0, MAX_TIMELINE)?;
        let mut last = 0;
        for (i, entry) in self.timeline.iter().enumerate() {
            let field = format!("timeline[{i}].month");
            if entry.month > MAX_MONTH_OFFSET {
                return Err(ValidationError::new(
                    field,
                    Rule::OutOfRange { min: 0, max: MAX_MONTH_OFFSET.into(), got: entry.month.into() },
                ));
            }
            if entry.month < last {
                return Err(ValidationError::new(
                    field,
                    Rule::Violated("must not be earlier than the stage before it"),
                ));
            }
            last = entry.month;
        }
        check_sorted_unique("impact.services", &self.impact.services)?;
        let max = max_narrative_bytes.min(crate::MAX_NARRATIVE_BYTES);
        if self.narrative.len() > max {
            return Err(ValidationError::new("narrative", Rule::TooLong { max, got: self.narrative.len() }));
        }
        if self.narrative.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            return Err(ValidationError::new("narrative", Rule::Violated("must not contain control characters")));
        }
        check_count("tags", self.tags.len(), 0, MAX_TAGS)?;
        for (i, tag) in self.tags.iter().enumerate() {
            if !is_valid_tag(tag) {
                return Err(ValidationError::new(
                    format!("tags[{i}]"),
                    Rule::Violated("must be 1-32 characters of a-z, 0-9 and '-', not starting with '-'"),
                ));
            }
        }
        check_sorted_unique("tags", &self.tags)?;
        check_count("evidence", self.evidence.len(), 0, MAX_EVIDENCE)?;
        Ok(())
    }
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out).map_err(|_| serde::de::Error::custom("expected 64 hex characters"))?;
        Ok(out)
    }
}
