//! The federation manifest: its name, its founders and its policy. Created once; every node is
//! started with it, and its hash is the federation id carried by every record.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::{RecordError, Rule, ValidationError};
use crate::ids::{FederationId, MemberKey};
use crate::month::Month;

pub const MAX_FOUNDERS: usize = 256;
pub const MAX_NAME_BYTES: usize = 64;

/// Rules every node of the federation applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Vouches from current members a key needs to become a member.
    pub vouches_needed: u16,
    /// No aggregate figure is shown for fewer distinct operators than this.
    pub k_threshold: u16,
    /// Largest signed record accepted, in bytes.
    pub max_record_bytes: u32,
    /// Largest narrative accepted in a summary, in bytes.
    pub max_narrative_bytes: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self { vouches_needed: 2, k_threshold: 5, max_record_bytes: 16 * 1024, max_narrative_bytes: 4000 }
    }
}

/// The federation's founding document.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`crate::WIRE_FORMAT`].
    pub format: u8,
    pub name: String,
    pub created: Month,
    /// Founding members' keys; sorted, without duplicates.
    pub founders: Vec<MemberKey>,
    pub policy: Policy,
}

fn range(field: &str, got: u64, min: u64, max: u64) -> Result<(), ValidationError> {
    if (min..=max).contains(&got) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            Rule::OutOfRange { min: min as i64, max: max as i64, got: got.min(i64::MAX as u64) as i64 },
        ))
    }
}

impl Manifest {
    /// A manifest with founders sorted and deduplicated, ready to validate.
    pub fn new(name: impl Into<String>, created: Month, mut founders: Vec<MemberKey>, policy: Policy) -> Self {
        founders.sort();
        founders.dedup();
        Self { format: crate::WIRE_FORMAT, name: name.into(), created, founders, policy }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        range("format", self.format.into(), crate::WIRE_FORMAT.into(), crate::WIRE_FORMAT.into())?;
        if self.name.trim().is_empty() {
            return Err(ValidationError::new("name", Rule::Empty));
        }
        if self.name.len() > MAX_NAME_BYTES {
            return Err(ValidationError::new("name", Rule::TooLong { max: MAX_NAME_BYTES, got: self.name.len() }));
        }
        self.created.validate("created")?;
        if self.founders.is_empty() {
            return Err(ValidationError::new("founders", Rule::Empty));
        }
        if self.founders.len() > MAX_FOUNDERS {
            return Err(ValidationError::new(
                "founders",
                Rule::TooMany { max: MAX_FOUNDERS, got: self.founders.len() },
            ));
        }
        if !self.founders.windows(2).all(|w| w[0] < w[1]) {
            return Err(ValidationError::new("founders", Rule::NotSortedUnique));
        }
        for (i, key) in self.founders.iter().enumerate() {
            if crate::signed::check_author_key(key).is_err() {
                return Err(ValidationError::new(
                    format!("founders[{i}]"),
                    Rule::Violated("must be a valid, non-weak ed25519 public key"),
                ));
            }
        }
        let p = &self.policy;
        range("policy.vouches_needed", p.vouches_needed.into(), 1, 100)?;
        range("policy.k_threshold", p.k_threshold.into(), 2, 1000)?;
        range("policy.max_record_bytes", p.max_record_bytes.into(), 1024, crate::MAX_RECORD_BYTES as u64)?;
        range("policy.max_narrative_bytes", p.max_narrative_bytes.into(), 0, crate::MAX_NARRATIVE_BYTES as u64)?;
        Ok(())
    }

    /// The canonical encoding, whose hash is the federation id.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Strict decoding, as for records: no trailing bytes, canonical, valid.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let manifest: Manifest = codec::decode_canonical(bytes, crate::MAX_RECORD_BYTES)?;
        manifest.validate()?;
        Ok(manifest)
    }

    pub fn id(&self) -> FederationId {
        FederationId(*blake3::hash(&self.encode()).as_bytes())
    }

    pub fn is_founder(&self, key: &MemberKey) -> bool {
        self.founders.binary_search(key).is_ok()
    }
}
