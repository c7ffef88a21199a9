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
use crate::redact::{Finding, Redacted, Redactor};
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
    #[error("case {id}: redaction left identifying text ({kinds}); edit the case and try again")]
    Residual { id: u64, kinds: String },
}

/// How to treat the case's free-text narrative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Narrative {
    /// Publish the structured fields only.
    Omit,
    /// Publish the narrative redacted.
    Redact,
}

/// The narrative as it would be published: redacted with the member's declared identifiers.
pub fn preview(config: &NodeConfig, text: &str) -> Redacted {
    Redactor::new(&config.identifiers).redact(text)
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
        Narrative::Redact => preview(config, case.narrative.trim()).text,
    };
    // Before signing, look once more at every free-text field that will leave the node.
    let redactor = Redactor::new(&config.identifiers);
    let mut left: Vec<Finding> = redactor.residual(&text);
    let tags = case.tags.join(" ");
    left.extend(redactor.residual(&tags));
    left.extend(redactor.structured(&tags.to_uppercase()));
    if !left.is_empty() {
        let mut kinds: Vec<String> = left.iter().map(|f| format!("{:?}", f.kind).to_lowercase()).collect();
        kinds.sort();
        kinds.dedup();
        return Err(PublishError::Residual { id: case_id, kinds: kinds.join(", ") });
    }
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
