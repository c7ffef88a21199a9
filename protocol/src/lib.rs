//! Lantern's wire protocol: what a record is, how it is encoded, signed, identified and checked.
//!
//! Pure code: no IO, no async, no clock. Everything a node receives from a peer passes through
//! [`verify`] or [`verify_batch`] before anything else looks at it.
//!
//! # Layout
//! - [`anon`]: anonymous authorship, a linkable ring signature (Triptych, unaudited) behind a
//!   small interface.
//! - [`anonymous`]: anonymous records (summaries, amendments, retractions, purges) and the ring
//!   records they are signed over.
//! - [`ids`]: fixed-size identifiers (member keys, record ids, federation ids, case refs).
//! - [`month`]: the coarse `YYYY-MM` month, the only kind of date a summary carries.
//! - [`vocab`]: closed vocabularies of the field (registries, incident categories, buckets, …).
//! - [`summary`]: the anonymised case summary and its validation.
//! - [`record`]: the signed envelope and its record kinds.
//! - [`manifest`]: the federation manifest (founders and policy); its hash is the federation id.
//! - [`codec`]: the canonical bincode encoding and strict decoding.
//! - [`signed`]: signing, single and batch verification, and the [`VerifiedRecord`] type that
//!   only verification can produce.
//! - [`sig`]: the one signature rule (ZIP 215 via `ed25519-consensus`) behind a small interface.
//! - [`error`]: typed validation and record errors.
//! - [`sample`]: deterministic synthetic summaries for benchmarks, demos and tests.

pub mod anon;
pub mod anonymous;
pub mod codec;
pub mod error;
pub mod ids;
pub mod manifest;
pub mod month;
pub mod record;
pub mod sample;
pub mod sig;
pub mod signed;
pub mod summary;
pub mod vocab;

pub use error::{RecordError, Rule, ValidationError};
pub use ids::{CaseRef, FederationId, MemberKey, RecordId};
pub use manifest::{Manifest, Policy};
pub use month::Month;
pub use record::{Body, Envelope};
pub use signed::{VerifiedRecord, VerifyContext, sign, verify, verify_batch};
pub use summary::CaseSummary;

/// Version of the wire format; the first byte of every encoded envelope and manifest.
pub const WIRE_FORMAT: u8 = 1;
/// Version of the case summary schema carried inside a summary record.
/// Schema 2 added [`summary::Precision`]; schema 1 summaries are still valid.
pub const SCHEMA_VERSION: u16 = 2;
/// Hard upper bound on a signed record's size, whatever a manifest says.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Hard upper bound on a summary's narrative, whatever a manifest says.
pub const MAX_NARRATIVE_BYTES: usize = 16 * 1024;
/// Length of an ed25519 signature, the last bytes of every signed record.
pub const SIGNATURE_LEN: usize = 64;
