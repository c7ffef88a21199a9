//! Private cases (they never leave the node), the redaction preview, and publishing.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use lantern_protocol::summary::CaseSummary;
use lantern_protocol::vocab::{PurgeReason, RetractionReason};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::case::PrivateCase;
use crate::federation::Federation;
use crate::patterns::similar::Similar;
use crate::publish::CaseState;
use crate::publish::Made;
use crate::publish::{self, Narrative};
use crate::redact::Redacted;
use crate::store::idempotency::{IdempotencyKey, Once};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseStatus {
    pub state: CaseState,
    /// The latest record published for the case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// Records published for the case (versions, and a retraction or purge).
    pub versions: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseListItem {
    pub id: u64,
    pub title: String,
    pub registry: String,
    pub categories: Vec<String>,
    pub opened: String,
    pub outcome: String,
    pub status: CaseStatus,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseDetail {
    pub id: u64,
    /// The private case, as stored (see docs/examples/case.json).
    pub case: PrivateCase,
    pub status: CaseStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub id: u64,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Publish the structured fields only, without the narrative.
    #[serde(default)]
    pub omit_narrative: bool,
    /// Leave the impact out (customers, downtime and cost "unknown", no services): the preview's
    /// crowd says how many more operators' summaries then look like this one.
    #[serde(default)]
    pub omit_impact: bool,
    /// Publish the start as its calendar quarter.
    #[serde(default)]
    pub start_quarter: bool,
    /// Publish the stages' offsets in whole quarters.
    #[serde(default)]
    pub offsets_in_quarters: bool,
    /// Sign a new case with the member key (naming this member) instead of anonymously.
    #[serde(default)]
    pub attributed: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Published {
    /// The new record's id (hex).
    pub record: String,
    /// `summary`, `amendment` or `retraction`.
    pub kind: String,
    /// The record's place in the member's chain; absent for anonymous records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// Signed anonymously: it proves a current member made it, not which.
    pub anonymous: bool,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    #[schema(schema_with = super::schemas::purge_reason)]
    pub reason: PurgeReason,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetractRequest {
    #[schema(schema_with = super::schemas::retraction_reason)]
    pub reason: RetractionReason,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    #[schema(max_length = 16384)]
    pub text: String,
}

/// A run of text: found identifiers carry their kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Segment {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RedactionPreview {
    /// The text as it would be published.
    pub redacted: String,
    /// The input cut into runs, the found identifiers marked, for highlighting.
    pub segments: Vec<Segment>,
    pub findings: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublishPreview {
    /// The summary exactly as it would be signed (nothing else leaves the node).
    #[schema(value_type = Object)]
    pub summary: CaseSummary,
    pub narrative: RedactionPreview,
    /// What publishing would refuse, field by field (empty: publishing will go through).
    pub blocking: Vec<crate::publish::Blocking>,
    /// How many held summaries of other operators look like this one, field by field; absent
    /// if the pattern aggregates cannot be built.
    pub crowd: Option<crate::patterns::crowd::Crowd>,
    /// The forms the summary can be published in (impact omitted, start as its quarter, offsets
    /// in quarters), each with its crowd, and the finest that keeps k other operators' summaries
    /// alike (`proposed`); absent with `crowd`.
    pub forms: Option<crate::patterns::crowd::Forms>,
    /// The level the member's profile is published at, and how many other members share it.
    pub profile: crate::patterns::profile::ProfileChoice,
    /// Whether publishing signs anonymously, over how many members' keys, and why.
    pub authorship: crate::publish::Authorship,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SimilarQuery {
    /// How many summaries to return (1-100, default 10).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// Longest text `POST /redact/preview` takes, in characters (a narrative is at most 16 384 bytes).
const MAX_PREVIEW_CHARS: usize = 16 * 1024;

fn preview_of(r: Redacted) -> RedactionPreview {
    let original = r.source.as_str();
    let mut segments = Vec::new();
    let mut at = 0;
    let mut findings = r.findings.clone();
    findings.sort_by_key(|f| f.start);
    for f in &findings {
        if f.start < at
            || f.end > original.len()
            || !original.is_char_boundary(f.start)
            || !original.is_char_boundary(f.end)
        {
            continue;
        }
        if f.start > at {
            segments.push(Segment { text: original[at..f.start].to_string(), kind: None });
        }
        let kind = serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_string));
        segments.push(Segment { text: original[f.start..f.end].to_string(), kind });
        at = f.end;
    }
    if at < original.len() {
        segments.push(Segment { text: original[at..].to_string(), kind: None });
    }
    RedactionPreview { redacted: r.text, segments, findings: findings.len() }
}

fn status(federation: &Federation, id: u64) -> Result<CaseStatus, ApiError> {
    let (state, last, versions) = crate::publish::status(federation.store(), id)?;
    Ok(CaseStatus { state, record: last.map(|id| id.to_hex()), versions })
}

fn checked(federation: &Federation, mut case: PrivateCase) -> Result<PrivateCase, ApiError> {
    case.validate(federation.store().context().max_narrative_bytes)?;
    case.salt_evidence();
    Ok(case)
}

/// The member's private cases.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases",
    responses((status = 200, body = Vec<CaseListItem>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<CaseListItem>>, ApiError> {
    state
        .blocking(|fed| {
            let mut out = Vec::new();
            for (id, case) in fed.store().cases()? {
                out.push(CaseListItem {
                    id,
                    title: case.title.clone(),
                    registry: case.registry.label().into(),
                    categories: case.categories.iter().map(|c| c.label().to_string()).collect(),
                    opened: case.opened.to_string(),
                    outcome: case.outcome.label().into(),
                    status: status(fed, id)?,
                });
            }
            Ok(Json(out))
        })
        .await
}

/// Adds a private case. It stays on this node; only its summary is ever published.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", params(IdempotencyHeader),
    request_body(content = crate::case::PrivateCase, description = "A private case, like docs/examples/case.json"),
    responses((status = 201, body = Created), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(case): ApiJson<PrivateCase>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let key = idempotency_key(&headers)?;
    state
        .blocking(move |fed| {
            case.validate(fed.store().context().max_narrative_bytes)?;
            // A retried add answers the first id instead of adding the case twice.
            let id = crate::publish::add_case(fed.store(), &case, key.as_ref())?;
            Ok((StatusCode::CREATED, Json(Created { id })))
        })
        .await
}

/// One private case and where it stands.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = u64, Path)),
    responses((status = 200, body = CaseDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(State(state): State<AppState>, ApiPath(id): ApiPath<u64>) -> Result<Json<CaseDetail>, ApiError> {
    state.blocking(move |fed| Ok(Json(CaseDetail { id, case: fed.store().case(id)?, status: status(fed, id)? }))).await
}

/// Replaces a private case (publish again to amend its summary).
#[utoipa::path(put, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = u64, Path)),
    request_body(content = crate::case::PrivateCase, description = "The whole case, like docs/examples/case.json"),
    responses((status = 200, body = CaseDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(case): ApiJson<PrivateCase>,
) -> Result<Json<CaseDetail>, ApiError> {
    state
        .blocking(move |fed| {
            let case = checked(fed, case)?;
            fed.store().update_case(id, &case)?;
            Ok(Json(CaseDetail { id, case, status: status(fed, id)? }))
        })
        .await
}

/// Deletes the private copy of a case. Published summaries stay; retract them first.
#[utoipa::path(delete, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = u64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(State(state): State<AppState>, ApiPath(id): ApiPath<u64>) -> Result<StatusCode, ApiError> {
    state.blocking(move |fed| Ok(fed.store().delete_case(id).map(|()| StatusCode::NO_CONTENT)?)).await
}

/// What publishing the case would send: the summary and the narrative's redaction.
#[utoipa::path(post, path = "/api/v1/cases/{id}/preview", tag = "cases", params(("id" = u64, Path)),
    responses((status = 200, body = PublishPreview), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Json<PublishPreview>, ApiError> {
    let config = state.config.clone();
    state
        .blocking(move |fed| {
            let case = fed.store().case(id)?;
            case.validate(fed.store().context().max_narrative_bytes)?;
            let checked = publish::check(&config, &case.narrative, &case.tags, publish::Narrative::Redact);
            let profile = fed.profile_to_publish(&config)?;
            let summary =
                crate::derive::summary(&case, profile.profile, crate::this_month(), checked.narrative.text.clone())?;
            let me = fed.me();
            let me = Some(&me);
            let crowds =
                fed.with_patterns(|p| (p.crowd(&summary, me), p.forms(&summary, publish::Narrative::Redact, me))).ok();
            let (crowd, forms) = crowds.map_or((None, None), |(c, f)| (Some(c), Some(f)));
            Ok(Json(PublishPreview {
                summary,
                narrative: preview_of(checked.narrative),
                blocking: checked.blocking,
                crowd,
                forms,
                profile,
                authorship: fed.authorship(id)?,
            }))
        })
        .await
}

async fn publish_case(
    state: &AppState,
    headers: &HeaderMap,
    id: u64,
    body: PublishRequest,
    amend: bool,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let config = state.config.clone();
    let narrative = if body.omit_narrative { Narrative::Omit } else { Narrative::Redact };
    let shape = publish::Shape {
        narrative,
        omit_impact: body.omit_impact,
        start_quarter: body.start_quarter,
        offsets_in_quarters: body.offsets_in_quarters,
        attributed: body.attributed,
    };
    let request = publish::request(id, shape, amend);
    sign_once(state, idempotency_key(headers)?, request, move |fed| {
        if amend && fed.store().published_for(id)?.is_empty() {
            return Err(ApiError::conflict(format!("case {id} has not been published; publish it first")));
        }
        Ok(fed.publish(&config, id, shape)?)
    })
    .await
}

/// A retry with the same key and request gets the first answer (kept 24 hours).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documents the header; read by `idempotency_key`
pub struct IdempotencyHeader {
    #[param(rename = "Idempotency-Key", pattern = "^[A-Za-z0-9._:-]{1,128}$")]
    idempotency_key: Option<String>,
}

/// The optional `Idempotency-Key` header of a signing write.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let key = value.to_str().ok().and_then(|v| v.parse().ok());
    key.map(Some).ok_or_else(|| {
        ApiError::bad_request("Idempotency-Key", "1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'")
    })
}

/// Signs with `sign`, once per idempotency key: a retry with the key and the same request
/// (`request`: the operation, case and options) gets the first answer again, 201 and all.
pub(super) async fn sign_once(
    state: &AppState,
    key: Option<IdempotencyKey>,
    request: String,
    sign: impl FnOnce(&Federation) -> Result<Made, ApiError> + Send + 'static,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let Some(key) = key else {
        let record = state.blocking(sign).await?;
        return Ok(announce(state, record).await);
    };
    let once = state.blocking(move |fed| fed.store().sign_once(&key, request.as_bytes(), || sign(fed))).await?;
    match once {
        Once::Signed(record) => Ok(announce(state, record).await),
        Once::Again(first) => Ok((
            StatusCode::CREATED,
            Json(Published {
                record: first.record.to_hex(),
                kind: first.kind,
                anonymous: first.sequence.is_none(),
                sequence: first.sequence,
            }),
        )),
    }
}

/// Hands a new record of ours to gossip (catch-up delivers it later if that fails now) and
/// answers 201 with its id.
pub(crate) async fn announce(state: &AppState, record: Made) -> (StatusCode, Json<Published>) {
    if let Some(net) = &state.network {
        // An anonymous record leaves after a random delay through another member (a purge at
        // once); a key-signed one names its author anyway and is gossiped now.
        let sent = if record.is_anonymous() {
            net.release(record.to_gossip(), record.kind() == "purge").await
        } else {
            net.publish(record.to_gossip().remove(0)).await
        };
        if let Err(e) = sent {
            tracing::info!(error = %e, "record stored; gossip deferred to the next catch-up");
        }
    }
    state.status.metrics.ingested("local", 1);
    let published = Published {
        record: record.id().to_hex(),
        kind: record.kind().into(),
        sequence: record.sequence(),
        anonymous: record.is_anonymous(),
    };
    (StatusCode::CREATED, Json(published))
}

/// Publishes the case's summary (or, if published before, an amendment), signed by this member.
#[utoipa::path(post, path = "/api/v1/cases/{id}/publish", tag = "cases", params(("id" = u64, Path), IdempotencyHeader),
    request_body(content = Option<PublishRequest>, description = "Optional"),
    responses((status = 201, body = Published), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The case was retracted or purged, is invalid as stored (`invalid`), or its text still identifies someone (`identifying`); `field` names what to edit"),
        (status = 422, body = ErrorBody, description = "The body is not a valid options object"),
        (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    headers: HeaderMap,
    body: Option<ApiJson<PublishRequest>>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    publish_case(&state, &headers, id, body.map(|b| b.0).unwrap_or_default(), false).await
}

/// Publishes an amendment of a case published before.
#[utoipa::path(post, path = "/api/v1/cases/{id}/amend", tag = "cases", params(("id" = u64, Path), IdempotencyHeader),
    request_body(content = Option<PublishRequest>, description = "Optional"),
    responses((status = 201, body = Published), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Not published yet, retracted, or the case cannot be published as it is (see publish)"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn amend(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    headers: HeaderMap,
    body: Option<ApiJson<PublishRequest>>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    publish_case(&state, &headers, id, body.map(|b| b.0).unwrap_or_default(), true).await
}

/// Retracts every version of a published case from every figure.
#[utoipa::path(post, path = "/api/v1/cases/{id}/retract", tag = "cases", params(("id" = u64, Path), IdempotencyHeader),
    request_body = RetractRequest,
    responses((status = 201, body = Published), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn retract(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RetractRequest>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let request = format!("retract {id} {}", body.reason.label());
    sign_once(&state, idempotency_key(&headers)?, request, move |fed| Ok(fed.retract(id, body.reason)?)).await
}

/// Purges every published version of a case: a signed purge that makes every node delete the
/// versions' bytes and withdraw the case from every figure. For text that identifies someone.
#[utoipa::path(post, path = "/api/v1/cases/{id}/purge", tag = "cases", params(("id" = u64, Path), IdempotencyHeader),
    request_body = PurgeRequest,
    responses((status = 201, body = Published), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Not published yet, or purged already"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn purge(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PurgeRequest>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let request = format!("purge {id} {}", body.reason.label());
    sign_once(&state, idempotency_key(&headers)?, request, move |fed| Ok(fed.purge(id, body.reason)?)).await
}

/// Published summaries most like this private case, computed on this node.
#[utoipa::path(get, path = "/api/v1/cases/{id}/similar", tag = "cases", params(("id" = u64, Path), SimilarQuery),
    responses((status = 200, body = Similar), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn similar(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(q): ApiQuery<SimilarQuery>,
) -> Result<Json<Similar>, ApiError> {
    let limit = q.limit.unwrap_or(10);
    if !(1..=crate::patterns::similar::MAX_RESULTS).contains(&limit) {
        return Err(ApiError::bad_request("limit", "must be between 1 and 100"));
    }
    state.blocking(move |fed| Ok(Json(fed.similar_to(id, limit)?))).await
}

/// Redacts free text with this member's declared identifiers, and shows what was found.
#[utoipa::path(post, path = "/api/v1/redact/preview", tag = "cases", request_body = TextRequest,
    responses((status = 200, body = RedactionPreview), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn redact_preview(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TextRequest>,
) -> Result<Json<RedactionPreview>, ApiError> {
    if body.text.chars().count() > MAX_PREVIEW_CHARS {
        return Err(ApiError::invalid("text", format!("must be at most {MAX_PREVIEW_CHARS} characters")));
    }
    let redacted = publish::preview(&state.config, &body.text);
    Ok(Json(preview_of(redacted)))
}

/// The document an evidence proof is asked for: its hash only (the document stays with the client).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofRequest {
    /// BLAKE3 of the document, 64 hex characters (`b3sum FILE`).
    #[schema(schema_with = crate::api::schemas::hex32)]
    document_blake3: String,
}

/// A proof that a published summary of the case committed to the document: the signed record,
/// the salt and the document's hash. `lantern evidence check` verifies it offline.
#[utoipa::path(post, path = "/api/v1/cases/{id}/evidence-proof", tag = "cases", params(("id" = u64, Path)),
    request_body = ProofRequest,
    responses((status = 200, body = Object, description = "The proof (`lantern-evidence-proof-1`)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such case, or the document is not among its evidence"),
        (status = 409, body = ErrorBody, description = "No published version commits to the document"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn evidence_proof(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<ProofRequest>,
) -> Result<Json<crate::evidence::Proof>, ApiError> {
    let document = crate::case::parse_hex::<32>(&body.document_blake3)
        .ok_or_else(|| ApiError::invalid("document_blake3", "expected 64 hex characters"))?;
    state
        .blocking(move |fed| {
            use crate::evidence::EvidenceError as E;
            crate::evidence::prove(fed.store(), id, &document).map(Json).map_err(|e| match e {
                E::Store(e) => e.into(),
                e @ E::NotInCase { .. } => ApiError::not_found(e.to_string()).field("document_blake3"),
                e => ApiError::conflict(e.to_string()),
            })
        })
        .await
}
