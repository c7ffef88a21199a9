//! Typed errors: a validation error names the field and the rule it broke.

use thiserror::Error;

/// A field broke a rule. `field` is a path such as `body.summary.categories[1]`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {rule}")]
pub struct ValidationError {
    pub field: String,
    pub rule: Rule,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, rule: Rule) -> Self {
        Self { field: field.into(), rule }
    }

    /// Prefixes the field path, as errors bubble up from nested structures.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

/// The rule a field broke.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rule {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} bytes, got {got}")]
    TooLong { max: usize, got: usize },
    #[error("must have at most {max} entries, got {got}")]
    TooMany { max: usize, got: usize },
    #[error("must be between {min} and {max}, got {got}")]
    OutOfRange { min: i64, max: i64, got: i64 },
    #[error("must be sorted in ascending order without duplicates")]
    NotSortedUnique,
    #[error("{0}")]
    Violated(&'static str),
}

/// Why a record (bytes from anywhere) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    #[error("record is {len} bytes, over the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("record is {len} bytes, too short to hold an envelope and a signature")]
    Truncated { len: usize },
    #[error("malformed encoding: {0}")]
    Malformed(String),
    #[error("{extra} trailing bytes after the envelope")]
    TrailingBytes { extra: usize },
    #[error("non-canonical encoding: re-encoding does not give the same bytes")]
    NonCanonical,
    #[error("author key is not a valid ed25519 point")]
    InvalidKey,
    #[error("author key is weak (small order)")]
    WeakKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("record belongs to federation {got}, not {expected}")]
    WrongFederation { expected: String, got: String },
    #[error("invalid record: {0}")]
    Invalid(#[from] ValidationError),
    #[error("author {0} is not a current member of the federation")]
    NotMember(String),
    #[error("anonymous authorship: {0}")]
    Anonymity(#[from] crate::anon::AnonError),
    #[error("ring {0} is not held (yet)")]
    UnknownRing(String),
}

impl RecordError {
    /// A short stable label, for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            RecordError::TooLarge { .. } => "too_large",
            RecordError::Truncated { .. } => "truncated",
            RecordError::Malformed(_) => "malformed",
            RecordError::TrailingBytes { .. } => "trailing_bytes",
            RecordError::NonCanonical => "non_canonical",
            RecordError::InvalidKey => "invalid_key",
            RecordError::WeakKey => "weak_key",
            RecordError::BadSignature => "bad_signature",
            RecordError::WrongFederation { .. } => "wrong_federation",
            RecordError::Invalid(_) => "invalid",
            RecordError::NotMember(_) => "not_member",
            RecordError::Anonymity(_) => "bad_proof",
            RecordError::UnknownRing(_) => "unknown_ring",
        }
    }
}
