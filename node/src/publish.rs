//! Publishing: a private case becomes a signed summary record of this member; amending and
//! retracting are new records that refer to the same case ref.

use ed25519_dalek::SigningKey;
use lantern_protocol::record::{Body, RetractionBody, SummaryBody};
use lantern_protocol::signed::open_stored;
use lantern_protocol::vocab::RetractionReason;
use lantern_protocol::{CaseRef, Month, VerifiedRecord};
use thiserror::Error;

use crate::case::CaseError;
use crate::datadir::NodeConfig;
use crate::store::{Store, StoreError};

#[derive(Debug, Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("case {id}: {source}")]
    Case { id: u64, source: CaseError },
    #[error("case {0} was retracted; publish it as a new case instead")]
    Retracted(u64),
    #[error("case {0} has not been published")]
    NotPublished(u64),
}

/// How to treat the case's free-text narrative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Narrative {
    /// Publish the structured fields only.
    Omit,
    /// Refuse to publish a case with a narrative (no redaction available for it).
    Refuse,
}

/// Publishes (or, if published before, amends) private case `case_id`.
pub fn publish(
    store: &Store,
    key: &SigningKey,
    config: &NodeConfig,
    case_id: u64,
    now: Month,
    narrative: Narrative,
) -> Result<VerifiedRecord, PublishError> {
    let case = store.case(case_id)?;
    let case_err = |source| PublishError::Case { id: case_id, source };
    case.validate(store.context().max_narrative_bytes).map_err(case_err)?;
    let text = match narrative {
        Narrative::Omit => String::new(),
        Narrative::Refuse if case.narrative.trim().is_empty() => String::new(),
        Narrative::Refuse => {
            return Err(case_err(CaseError::new(
                "narrative",
                "free text cannot be published until it can be redacted; publish with --omit-narrative to share the structured fields only",
            )));
        }
    };
    let summary = crate::derive::summary(&case, config.profile, now, text).map_err(case_err)?;
    let supersedes = match latest_own(store, case_id)? {
        Some((_, Body::Retraction(_))) => return Err(PublishError::Retracted(case_id)),
        Some((id, _)) => Some(id),
        None => None,
    };
    let case_ref = store.case_ref(case_id, || CaseRef(crate::keys::random_bytes()))?;
    let body = Body::Summary(SummaryBody { case: case_ref, supersedes, summary });
    Ok(store.append_own(key, now, body, Some(case_id))?)
}

/// Retracts every version of a published case.
pub fn retract(
    store: &Store,
    key: &SigningKey,
    case_id: u64,
    now: Month,
    reason: RetractionReason,
) -> Result<VerifiedRecord, PublishError> {
    match latest_own(store, case_id)? {
        None => return Err(PublishError::NotPublished(case_id)),
        Some((_, Body::Retraction(_))) => return Err(PublishError::Retracted(case_id)),
        Some(_) => {}
    }
    let case_ref = store.case_ref(case_id, || CaseRef(crate::keys::random_bytes()))?;
    let body = Body::Retraction(RetractionBody { case: case_ref, reason });
    Ok(store.append_own(key, now, body, Some(case_id))?)
}

/// The latest record this member published for a private case.
fn latest_own(store: &Store, case_id: u64) -> Result<Option<(lantern_protocol::RecordId, Body)>, StoreError> {
    let Some(id) = store.published_for(case_id)?.pop() else { return Ok(None) };
    let bytes = store.record_bytes(&id)?.ok_or_else(|| StoreError::NoSuchRecord(id.to_hex()))?;
    let env = open_stored(&bytes)?;
    Ok(Some((id, env.body)))
}
