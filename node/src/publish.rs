//! Publishing: a private case becomes a signed summary record of this member; amending and
//! retracting are new records that refer to the same case ref; purging is a record naming the
//! published versions whose bytes every node must delete.

use ed25519_dalek::SigningKey;
use lantern_protocol::anon::AnonymitySecret;
use lantern_protocol::anonymous::{
    self, ANONYMOUS_FORMAT, AnonBody, AnonEnvelope, Opened, VerifiedAnonymous, VerifiedRing, open_stored_any,
};
use lantern_protocol::record::{Body, MAX_PURGE_TARGETS, PurgeBody, RetractionBody, SummaryBody};
use lantern_protocol::vocab::{PurgeReason, RetractionReason};
use lantern_protocol::{CaseRef, Month, RecordId, VerifiedRecord};
use thiserror::Error;

use crate::store::loose::Loose;

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
    #[error("case {0} was published anonymously, and an anonymous signature is not possible now: {1}")]
    AnonymityUnavailable(u64, String),
    #[error(
        "case {id} was published anonymously for a case that started in {was}; its start year cannot change (retract it and publish it as a new case)"
    )]
    YearChanged { id: u64, was: u16 },
    #[error(transparent)]
    Record(#[from] lantern_protocol::RecordError),
}

/// A record this member made: key-signed, or anonymous (with the ring record it is signed over
/// when that ring is new here, so peers can verify it).
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Made {
    Signed(VerifiedRecord),
    Anonymous { ring: Option<VerifiedRing>, record: VerifiedAnonymous },
}

impl Made {
    pub fn id(&self) -> RecordId {
        match self {
            Made::Signed(r) => r.id(),
            Made::Anonymous { record, .. } => record.id(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Made::Signed(r) => r.envelope().body.kind(),
            Made::Anonymous { record, .. } => record.envelope().body.kind(),
        }
    }

    /// The chain sequence of a key-signed record; anonymous records have none.
    pub fn sequence(&self) -> Option<u64> {
        match self {
            Made::Signed(r) => Some(r.sequence()),
            Made::Anonymous { .. } => None,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Made::Anonymous { .. })
    }

    /// What to gossip, in order: a new ring before the record signed over it.
    pub fn to_gossip(&self) -> Vec<Vec<u8>> {
        match self {
            Made::Signed(r) => vec![r.bytes().to_vec()],
            Made::Anonymous { ring, record } => {
                ring.iter().map(|r| r.bytes().to_vec()).chain([record.bytes().to_vec()]).collect()
            }
        }
    }

    /// What the figures count of it.
    pub fn opened(&self) -> Opened {
        match self {
            Made::Signed(r) => Opened::Signed(r.envelope().clone()),
            Made::Anonymous { record, .. } => Opened::Anonymous(record.envelope().clone(), record.tag()),
        }
    }
}

/// How a publish of a case would be signed, for the preview.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Authorship {
    /// Signed anonymously: it proves a current member made it, not which.
    pub anonymous: bool,
    /// Current members whose anonymity keys the ring would hold (with this member's).
    pub ring: usize,
    /// The smallest ring an anonymous record is signed over (the federation's k).
    pub k: usize,
    pub why: String,
}

/// The authorship the case's published versions have: `None` for a case never published,
/// `Some(true)` when they are anonymous.
pub fn published_anonymously(store: &Store, case_id: u64) -> Result<Option<bool>, StoreError> {
    Ok(match latest_own(store, case_id)? {
        None => None,
        Some((_, Version::Summary { year })) => Some(year.is_some()),
        Some((id, _)) => {
            let bytes = store.record_bytes(&id)?.unwrap_or_default();
            Some(lantern_protocol::anonymous::format_of(&bytes) == lantern_protocol::anonymous::Format::Anonymous)
        }
    })
}

/// Who signs what this member makes: its member key, and when it may sign anonymously now,
/// its anonymous signer.
pub struct Signers<'a> {
    pub key: &'a SigningKey,
    pub anonymous: Option<Signer<'a>>,
}

/// What an anonymous signature needs: the member's secret and the ring of current members'
/// keys (`held`: the ring record is already in the store).
pub struct Signer<'a> {
    pub secret: &'a AnonymitySecret,
    pub ring: VerifiedRing,
    pub held: bool,
}

impl Signer<'_> {
    /// Signs `body` anonymously in the scope of `year` and stores the ring (if new) and the
    /// record; `case` links the record to the private case.
    fn sign(&self, store: &Store, now: Month, year: u16, body: AnonBody, case: u64) -> Result<Made, PublishError> {
        let envelope = AnonEnvelope {
            format: ANONYMOUS_FORMAT,
            federation: store.context().federation,
            ring: self.ring.id(),
            year,
            created: now,
            body,
        };
        let tag = lantern_protocol::anon::tag_of(self.secret, &envelope.scope());
        if store.tag_count(year, &tag)? >= crate::federation::MAX_RECORDS_PER_TAG {
            return Err(PublishError::AnonymityUnavailable(
                case,
                format!(
                    "this member made {} anonymous records about {year}, the most one year allows",
                    crate::federation::MAX_RECORDS_PER_TAG
                ),
            ));
        }
        let record = anonymous::sign_anonymous(&envelope, self.secret, &self.ring, store.context())?;
        let ring = (!self.held).then(|| self.ring.clone());
        if let Some(ring) = &ring {
            store.store_loose(vec![Loose::Ring(ring.clone())])?;
        }
        store.store_loose(vec![Loose::Anonymous(record.clone())])?;
        store.note_published(case, record.id())?;
        Ok(Made::Anonymous { ring, record })
    }
}

/// What a publish asks for, as an idempotency key's request: the same for the API and the CLI.
pub fn request(case_id: u64, shape: Shape, amend: bool) -> String {
    let omit = matches!(shape.narrative, Narrative::Omit);
    let verb = if amend { "amend" } else { "publish" };
    format!(
        "{verb} {case_id} omit_narrative={omit} omit_impact={} start_quarter={} offsets_in_quarters={} attributed={}",
        shape.omit_impact, shape.start_quarter, shape.offsets_in_quarters, shape.attributed
    )
}

/// What a vouch (or its withdrawal) for `member` stands for under an idempotency key.
pub fn vouch_request(member: &lantern_protocol::MemberKey, withdraw: bool) -> String {
    format!("vouch {} withdraw={withdraw}", member.to_hex())
}

/// Stores a (validated) private case, its evidence salted; with a key, once: a retry with the
/// key and the same case, through the API or the CLI, answers the first id. The request a key
/// stands for is the case as the client sent it, before the salting.
pub fn add_case(
    store: &crate::store::Store,
    case: &crate::case::PrivateCase,
    key: Option<&crate::store::idempotency::IdempotencyKey>,
) -> Result<u64, crate::store::StoreError> {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Added {
        id: u64,
    }
    let add = || {
        let mut case = case.clone();
        case.salt_evidence();
        store.insert_case(&case).map(|id| Added { id })
    };
    let Some(key) = key else { return Ok(add()?.id) };
    let request = format!("create {}", serde_json::to_string(case).unwrap_or_default());
    Ok(store.once(key, request.as_bytes(), add)?.0.id)
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
    /// Sign a new case with the member key instead of anonymously (amendments keep the case's
    /// authorship whatever this says).
    pub attributed: bool,
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
    signers: &Signers<'_>,
    config: &NodeConfig,
    case_id: u64,
    now: Month,
    shape: Shape,
    profile: lantern_protocol::summary::MemberProfile,
) -> Result<Made, PublishError> {
    let (key, signer) = (signers.key, signers.anonymous.as_ref());
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
    let latest = latest_own(store, case_id)?;
    let (supersedes, anonymous_year) = match &latest {
        Some((_, Version::Retraction)) => return Err(PublishError::Retracted(case_id)),
        Some((_, Version::Purge)) => return Err(PublishError::Purged(case_id)),
        Some((id, Version::Summary { year })) => (Some(*id), *year),
        None => (None, None),
    };
    let case_ref = store.case_ref(case_id, || CaseRef(crate::keys::random_bytes()))?;
    let body = SummaryBody { case: case_ref, supersedes, summary };
    // A case keeps the authorship it was first published with: an amendment of an anonymous
    // version carries the same tag (same year), one of a key-signed version the same key.
    match (latest.is_some(), anonymous_year, signer) {
        (_, Some(year), Some(signer)) => {
            if body.summary.start.year != year {
                return Err(PublishError::YearChanged { id: case_id, was: year });
            }
            signer.sign(store, now, year, AnonBody::Summary(body), case_id)
        }
        (_, Some(_), None) => Err(PublishError::AnonymityUnavailable(case_id, "no ring of k members".into())),
        (false, None, Some(signer)) if !shape.attributed => {
            let year = body.summary.start.year;
            signer.sign(store, now, year, AnonBody::Summary(body), case_id)
        }
        (_, None, _) => Ok(Made::Signed(store.append_own(key, now, Body::Summary(body), Some(case_id))?)),
    }
}

/// Retracts every version of a published case.
pub fn retract(
    store: &Store,
    signers: &Signers<'_>,
    case_id: u64,
    now: Month,
    reason: RetractionReason,
) -> Result<Made, PublishError> {
    let (key, signer) = (signers.key, signers.anonymous.as_ref());
    let year = match latest_own(store, case_id)? {
        None => return Err(PublishError::NotPublished(case_id)),
        Some((_, Version::Retraction)) => return Err(PublishError::Retracted(case_id)),
        Some((_, Version::Purge)) => return Err(PublishError::Purged(case_id)),
        Some((_, Version::Summary { year })) => year,
    };
    let case_ref = store.case_ref(case_id, || CaseRef(crate::keys::random_bytes()))?;
    let body = RetractionBody { case: case_ref, reason };
    match (year, signer) {
        (Some(year), Some(signer)) => signer.sign(store, now, year, AnonBody::Retraction(body), case_id),
        (Some(_), None) => Err(PublishError::AnonymityUnavailable(case_id, "no ring of k members".into())),
        (None, _) => Ok(Made::Signed(store.append_own(key, now, Body::Retraction(body), Some(case_id))?)),
    }
}

/// Purges every published summary version of a case (a retraction, if any, stays: it holds no
/// text). The case is withdrawn from every figure, as by a retraction.
pub fn purge(
    store: &Store,
    signers: &Signers<'_>,
    case_id: u64,
    now: Month,
    reason: PurgeReason,
) -> Result<Made, PublishError> {
    let (key, signer) = (signers.key, signers.anonymous.as_ref());
    // Targets by authorship: a purge is signed the way the versions it names were.
    let (mut signed, mut anonymous) = (Vec::new(), Vec::new());
    let mut year = None;
    for id in store.published_for(case_id)? {
        // Bytes gone: an earlier purge of this case already deleted the version.
        let Some(bytes) = store.record_bytes(&id)? else { continue };
        match version_of(&bytes)? {
            Version::Summary { year: None } => signed.push(id),
            Version::Summary { year: Some(y) } => {
                year = Some(y);
                anonymous.push(id);
            }
            Version::Purge => return Err(PublishError::Purged(case_id)),
            Version::Retraction => {}
        }
    }
    let targets = if anonymous.is_empty() { &mut signed } else { &mut anonymous };
    if targets.is_empty() {
        return Err(PublishError::NotPublished(case_id));
    }
    if targets.len() > MAX_PURGE_TARGETS {
        return Err(PublishError::TooManyVersions { id: case_id, versions: targets.len() });
    }
    targets.sort();
    let body = PurgeBody { targets: std::mem::take(targets), reason };
    match (year, signer) {
        (Some(year), Some(signer)) => signer.sign(store, now, year, AnonBody::Purge(body), case_id),
        (Some(_), None) => Err(PublishError::AnonymityUnavailable(case_id, "no ring of k members".into())),
        (None, _) => Ok(Made::Signed(store.append_own(key, now, Body::Purge(body), Some(case_id))?)),
    }
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
        Some(bytes) => match version_of(&bytes)? {
            Version::Retraction => CaseState::Retracted,
            Version::Purge => CaseState::Purged,
            Version::Summary { .. } => CaseState::Published,
        },
        None if store.purge_of(&last)?.is_some() => CaseState::Purged,
        None => return Err(StoreError::NoSuchRecord(last.to_hex())),
    };
    Ok((state, Some(last), versions.len()))
}

/// What one published record of a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    /// A summary or amendment; `year` is its scope when it is anonymous.
    Summary {
        year: Option<u16>,
    },
    Retraction,
    Purge,
}

fn version_of(bytes: &[u8]) -> Result<Version, StoreError> {
    let corrupt = |detail: &str| StoreError::Corrupt { tree: "blocks", detail: detail.into() };
    Ok(match open_stored_any(bytes)? {
        Opened::Signed(env) => match env.body {
            Body::Summary(_) => Version::Summary { year: None },
            Body::Retraction(_) => Version::Retraction,
            Body::Purge(_) => Version::Purge,
            _ => return Err(corrupt("a published case names a record of another kind")),
        },
        Opened::Anonymous(env, _) => match env.body {
            AnonBody::Summary(_) => Version::Summary { year: Some(env.year) },
            AnonBody::Retraction(_) => Version::Retraction,
            AnonBody::Purge(_) => Version::Purge,
        },
        Opened::Ring(_) => return Err(corrupt("a published case names a ring")),
    })
}

/// The latest record this member published for a private case.
fn latest_own(store: &Store, case_id: u64) -> Result<Option<(RecordId, Version)>, StoreError> {
    let Some(id) = store.published_for(case_id)?.pop() else { return Ok(None) };
    let bytes = store.record_bytes(&id)?.ok_or_else(|| StoreError::NoSuchRecord(id.to_hex()))?;
    Ok(Some((id, version_of(&bytes)?)))
}
