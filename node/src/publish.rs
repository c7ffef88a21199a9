//! Publishing: a private case becomes a signed summary record of this member; amending and
//! retracting are new records that refer to the same case ref; purging is a record naming the
//! published versions whose bytes every node must delete.

use ed25519_dalek::SigningKey;
use lantern_protocol::record::{Body, MAX_PURGE_TARGETS, PurgeBody, RetractionBody, SummaryBody};
use lantern_protocol::signed::open_stored;
use lantern_protocol::vocab::{PurgeReason, RetractionReason};
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
    #[error("case {0} was purged; publish it as a new case instead")]
    Purged(u64),
    #[error("case {id} has {versions} published versions, more than one purge can name ({MAX_PURGE_TARGETS})")]
    TooManyVersions { id: u64, versions: usize },
    #[error("case {id}: {field} still holds identifying text: {words}; edit the case and try again")]
    Residual { id: u64, field: String, words: String },
}

/// What a publish asks for, as an idempotency key's request: the same for the API and the CLI.
pub fn request(case_id: u64, shape: Shape, amend: bool) -> String {
    let omit = matches!(shape.narrative, Narrative::Omit);
    let verb = if amend { "amend" } else { "publish" };
    format!(
        "{verb} {case_id} omit_narrative={omit} omit_impact={} start_quarter={} offsets_in_quarters={}",
        shape.omit_impact, shape.start_quarter, shape.offsets_in_quarters
    )
}

/// What of a case is published: the narrative redacted or left out, the impact given or left
/// out (customers, downtime and cost "unknown", no services), which widens its crowd.
/// Coarser dates too: the start as its calendar quarter, the stages' offsets in whole quarters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Shape {
    #[serde(skip)]
    pub narrative: Narrative,
    pub omit_impact: bool,
    pub start_quarter: bool,
    pub offsets_in_quarters: bool,
}

impl Shape {
    /// Applies the shape's coarser forms to a derived summary (the narrative is handled before).
    pub fn coarsen(&self, summary: &mut lantern_protocol::CaseSummary) {
        use lantern_protocol::summary::Granularity;
        if self.omit_impact {
            summary.impact = crate::patterns::crowd::omitted_impact();
        }
        if self.start_quarter {
            // Offsets keep their months: they now count from the quarter's first month.
            let back = u16::from((summary.start.month - 1) % 3);
            summary.start.month -= back as u8;
            for t in &mut summary.timeline {
                t.month = (t.month + back).min(lantern_protocol::summary::MAX_MONTH_OFFSET);
            }
            summary.precision.start = Granularity::Quarter;
        }
        if self.offsets_in_quarters {
            for t in &mut summary.timeline {
                t.month -= t.month % 3;
            }
            summary.precision.offsets = Granularity::Quarter;
        }
    }
}

/// A span of text that would leave the node and that the check before signing refuses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Blocking {
    /// `narrative` or `tags[i]`.
    pub field: String,
    #[schema(value_type = String)]
    pub kind: crate::redact::Kind,
    pub text: String,
}

/// What publishing would send of a case's free text, and what would stop it: the one check
/// both the preview and publish run, so a clean preview always publishes.
#[derive(Debug, Clone)]
pub struct Checked {
    pub narrative: Redacted,
    pub blocking: Vec<Blocking>,
}

/// Redacts the narrative (unless omitted) and checks it and every tag as they would be signed.
pub fn check(config: &NodeConfig, narrative_text: &str, tags: &[String], narrative: Narrative) -> Checked {
    let redactor = Redactor::new(&config.identifiers);
    let narrative = match narrative {
        Narrative::Omit => Redacted { source: String::new(), text: String::new(), findings: Vec::new() },
        Narrative::Redact => redactor.redact(narrative_text.trim()),
    };
    let mut blocking: Vec<Blocking> = redactor
        .residual(&narrative.text)
        .into_iter()
        .map(|f| Blocking { field: "narrative".into(), kind: f.kind, text: narrative.text[f.start..f.end].to_string() })
        .collect();
    // Tags are published as written: each must be clean on its own, in any case ("as64496").
    for (i, tag) in tags.iter().enumerate() {
        let upper = tag.to_uppercase();
        let mut found: Vec<(Finding, &str)> = redactor.residual(tag).into_iter().map(|f| (f, tag.as_str())).collect();
        found.extend(redactor.structured(&upper).into_iter().map(|f| (f, upper.as_str())));
        if let Some((f, text)) = found.first() {
            let text = text.get(f.start..f.end).unwrap_or(text).to_string();
            blocking.push(Blocking { field: format!("tags[{i}]"), kind: f.kind, text });
        }
    }
    Checked { narrative, blocking }
}

/// How to treat the case's free-text narrative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Narrative {
    /// Publish the structured fields only.
    Omit,
    /// Publish the narrative redacted.
    #[default]
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
    shape: Shape,
    profile: lantern_protocol::summary::MemberProfile,
) -> Result<VerifiedRecord, PublishError> {
    let case = store.case(case_id)?;
    let case_err = |source| PublishError::Case { id: case_id, source };
    case.validate(store.context().max_narrative_bytes).map_err(case_err)?;
    // Before signing, look once more at every free-text field that will leave the node.
    let checked = check(config, &case.narrative, &case.tags, shape.narrative);
    if let Some(first) = checked.blocking.first() {
        let words: Vec<String> = checked
            .blocking
            .iter()
            .filter(|b| b.field == first.field)
            .map(|b| {
                format!(
                    "`{}` ({})",
                    b.text,
                    serde_json::to_value(b.kind).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
                )
            })
            .collect();
        return Err(PublishError::Residual { id: case_id, field: first.field.clone(), words: words.join(", ") });
    }
    let text = checked.narrative.text;
    let mut summary = crate::derive::summary(&case, profile, now, text).map_err(case_err)?;
    shape.coarsen(&mut summary);
    let supersedes = match latest_own(store, case_id)? {
        Some((_, Body::Retraction(_))) => return Err(PublishError::Retracted(case_id)),
        Some((_, Body::Purge(_))) => return Err(PublishError::Purged(case_id)),
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
        Some((_, Body::Purge(_))) => return Err(PublishError::Purged(case_id)),
        Some(_) => {}
    }
    let case_ref = store.case_ref(case_id, || CaseRef(crate::keys::random_bytes()))?;
    let body = Body::Retraction(RetractionBody { case: case_ref, reason });
    Ok(store.append_own(key, now, body, Some(case_id))?)
}

/// Purges every published summary version of a case (a retraction, if any, stays: it holds no
/// text). The case is withdrawn from every figure, as by a retraction.
pub fn purge(
    store: &Store,
    key: &SigningKey,
    case_id: u64,
    now: Month,
    reason: PurgeReason,
) -> Result<VerifiedRecord, PublishError> {
    let mut targets = Vec::new();
    for id in store.published_for(case_id)? {
        // Bytes gone: an earlier purge of this case already deleted the version.
        let Some(bytes) = store.record_bytes(&id)? else { continue };
        match open_stored(&bytes).map_err(StoreError::from)?.body {
            Body::Summary(_) => targets.push(id),
            Body::Purge(_) => return Err(PublishError::Purged(case_id)),
            _ => {}
        }
    }
    if targets.is_empty() {
        return Err(PublishError::NotPublished(case_id));
    }
    if targets.len() > MAX_PURGE_TARGETS {
        return Err(PublishError::TooManyVersions { id: case_id, versions: targets.len() });
    }
    targets.sort();
    Ok(store.append_own(key, now, Body::Purge(PurgeBody { targets, reason }), Some(case_id))?)
}

/// Where a private case stands in the federation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Draft,
    Published,
    Retracted,
    /// Its summaries' bytes are deleted on every node that holds the purge.
    Purged,
}

impl CaseState {
    pub fn label(self) -> &'static str {
        match self {
            CaseState::Draft => "draft",
            CaseState::Published => "published",
            CaseState::Retracted => "retracted",
            CaseState::Purged => "purged",
        }
    }
}

/// A case's state, its latest published record and how many it has.
pub fn status(
    store: &Store,
    case_id: u64,
) -> Result<(CaseState, Option<lantern_protocol::RecordId>, usize), StoreError> {
    let versions = store.published_for(case_id)?;
    let Some(&last) = versions.last() else { return Ok((CaseState::Draft, None, 0)) };
    let state = match store.record_bytes(&last)? {
        Some(bytes) => match open_stored(&bytes)?.body {
            Body::Retraction(_) => CaseState::Retracted,
            Body::Purge(_) => CaseState::Purged,
            _ => CaseState::Published,
        },
        None if store.purge_of(&last)?.is_some() => CaseState::Purged,
        None => return Err(StoreError::NoSuchRecord(last.to_hex())),
    };
    Ok((state, Some(last), versions.len()))
}

/// The latest record this member published for a private case.
fn latest_own(store: &Store, case_id: u64) -> Result<Option<(lantern_protocol::RecordId, Body)>, StoreError> {
    let Some(id) = store.published_for(case_id)?.pop() else { return Ok(None) };
    let bytes = store.record_bytes(&id)?.ok_or_else(|| StoreError::NoSuchRecord(id.to_hex()))?;
    let env = open_stored(&bytes)?;
    Ok(Some((id, env.body)))
}
