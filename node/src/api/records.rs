//! The federation's records, as this node holds them: every one verified before it was stored.

use axum::Json;
use axum::body::{Body as HttpBody, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use lantern_protocol::vocab::{Category, Registry};
use lantern_protocol::{MemberKey, RecordId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::store::StoredRecord;
use lantern_protocol::anonymous::Opened;

/// Most records scanned for one page; a page may come back short with a `next` cursor.
const SCAN_BUDGET: usize = 20_000;
const MAX_LIMIT: usize = 500;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordsQuery {
    /// summary, amendment, retraction, vouch, vouch_withdrawal, key_revocation, node_binding, purge
    #[param(pattern = "^(summary|amendment|retraction|vouch|vouch_withdrawal|key_revocation|node_binding|purge)$")]
    pub kind: Option<String>,
    /// Author member key (64 hex characters).
    #[param(pattern = "^[0-9a-fA-F]{64}$")]
    pub author: Option<String>,
    /// Summaries about this registry only.
    #[param(schema_with = super::schemas::registry)]
    pub registry: Option<String>,
    /// Summaries with this incident category only.
    #[param(schema_with = super::schemas::category)]
    pub category: Option<String>,
    /// The `next` cursor of the previous page.
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub after: Option<u64>,
    /// Records per page (1-500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// `oldest` first (arrival order, the default; page with `after`) or `newest` first (page
    /// with `before`).
    #[param(pattern = "^(oldest|newest)$")]
    pub order: Option<String>,
    /// With `order=newest`: the `next` cursor of the previous page.
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub before: Option<u64>,
}

/// A summary's headline fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryHeadline {
    pub registry: String,
    pub categories: Vec<String>,
    pub start: String,
    pub outcome: String,
    pub duration: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordItem {
    pub id: String,
    /// Position in this node's arrival order; use it as the `after` cursor.
    pub arrival: u64,
    /// The author's member key (a pseudonym, never an organisation's name); absent for
    /// anonymous records, which prove only that some current member made them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    pub anonymous: bool,
    pub created: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<SummaryHeadline>,
    /// For summaries and amendments: `live` (counted in the figures), `amended` (a later
    /// version replaces it, or its author no longer counts) or `retracted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// The author signed two records at one sequence (evidence on the Node page).
    pub equivocating: bool,
}

/// What a listing needs to say where each record stands.
struct Standing {
    live: std::collections::HashSet<lantern_protocol::RecordId>,
    retracted: std::collections::HashSet<lantern_protocol::CaseRef>,
    equivocators: std::collections::HashSet<lantern_protocol::MemberKey>,
}

impl Standing {
    fn of(fed: &crate::federation::Federation) -> Result<Self, ApiError> {
        let (live, retracted) = fed.with_patterns(|p| (p.live_records().into_iter().collect(), p.retracted_cases()))?;
        Ok(Self { live, retracted, equivocators: fed.store().equivocators()?.into_iter().collect() })
    }

    fn status(&self, r: &StoredRecord) -> Option<&'static str> {
        let case = r.record.summary()?.case;
        Some(if self.live.contains(&r.id) {
            "live"
        } else if self.retracted.contains(&case) {
            "retracted"
        } else {
            "amended"
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordPage {
    pub records: Vec<RecordItem>,
    /// Pass as `after` for the next page; absent at the end.
    pub next: Option<u64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordDetail {
    pub id: String,
    /// Its signature and id were checked before it was stored.
    pub verified: bool,
    /// Whether its author is a member now (anonymous records: whether its ring held current
    /// members only when it was admitted, which is always true for a stored record).
    pub author_is_member: bool,
    /// The signed bytes, hex: what the signature and the id cover (docs/protocol.md).
    pub bytes: String,
    /// The signed envelope (for an anonymous record: its envelope and linking tag).
    #[schema(value_type = Object)]
    pub envelope: serde_json::Value,
}

/// A stored record as JSON: its envelope's fields; an anonymous record's also its tag.
pub fn record_json(record: &Opened) -> serde_json::Value {
    let value = match record {
        Opened::Signed(e) => serde_json::to_value(e),
        Opened::Anonymous(e, tag) => serde_json::to_value(e).map(|mut v| {
            v["tag"] = serde_json::Value::String(tag.to_hex());
            v
        }),
        Opened::Ring(r) => serde_json::to_value(r),
    };
    value.unwrap_or_default()
}

struct Filter {
    kind: Option<String>,
    author: Option<MemberKey>,
    registry: Option<Registry>,
    category: Option<Category>,
}

const KINDS: &[&str] = &[
    "summary",
    "amendment",
    "retraction",
    "vouch",
    "vouch_withdrawal",
    "key_revocation",
    "node_binding",
    "purge",
    "anonymity_key",
    "ring",
];

impl Filter {
    fn parse(q: &RecordsQuery) -> Result<Self, ApiError> {
        if let Some(k) = &q.kind
            && !KINDS.contains(&k.as_str())
        {
            return Err(ApiError::bad_request("kind", format!("expected one of: {}", KINDS.join(", "))));
        }
        fn term<T: std::str::FromStr<Err = lantern_protocol::vocab::UnknownTerm>>(
            field: &'static str,
            v: &Option<String>,
        ) -> Result<Option<T>, ApiError> {
            v.as_deref().map(str::parse).transpose().map_err(|e: T::Err| ApiError::bad_request(field, e.to_string()))
        }
        Ok(Self {
            kind: q.kind.clone(),
            author: q
                .author
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|_| ApiError::bad_request("author", "expected a member key: 64 hex characters"))?,
            registry: term("registry", &q.registry)?,
            category: term("category", &q.category)?,
        })
    }

    fn keeps(&self, record: &Opened) -> bool {
        if self.kind.as_deref().is_some_and(|k| k != record.kind())
            || self.author.is_some_and(|a| Some(a) != record.author())
        {
            return false;
        }
        if self.registry.is_none() && self.category.is_none() {
            return true;
        }
        match record.summary() {
            Some(b) => {
                self.registry.is_none_or(|r| r == b.summary.registry)
                    && self.category.is_none_or(|c| b.summary.categories.contains(&c))
            }
            None => false,
        }
    }
}

fn item(r: &StoredRecord, standing: &Standing) -> RecordItem {
    let summary = r.record.summary().map(|b| SummaryHeadline {
        registry: b.summary.registry.label().into(),
        categories: b.summary.categories.iter().map(|c| c.label().to_string()).collect(),
        start: b.summary.start.to_string(),
        outcome: b.summary.outcome.label().into(),
        duration: b.summary.duration.label().into(),
    });
    let signed = r.record.signed();
    RecordItem {
        id: r.id.to_hex(),
        arrival: r.arrival,
        author: signed.map(|e| e.author.to_hex()),
        sequence: signed.map(|e| e.sequence),
        anonymous: matches!(r.record, Opened::Anonymous(..)),
        created: r.record.created().map(|m| m.to_string()).unwrap_or_default(),
        kind: r.record.kind().into(),
        summary,
        status: standing.status(r),
        equivocating: r.record.author().is_some_and(|a| standing.equivocators.contains(&a)),
    }
}

/// Records in arrival order, filtered, a page at a time.
#[utoipa::path(get, path = "/api/v1/records", tag = "records", params(RecordsQuery),
    responses((status = 200, body = RecordPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RecordsQuery>,
) -> Result<Json<RecordPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request("limit", format!("must be between 1 and {MAX_LIMIT}")));
    }
    if q.after.is_some_and(|a| a > i64::MAX as u64) {
        return Err(ApiError::bad_request("after", "not a cursor this node gave out"));
    }
    if q.before.is_some_and(|a| a > i64::MAX as u64) {
        return Err(ApiError::bad_request("before", "not a cursor this node gave out"));
    }
    let newest = match q.order.as_deref() {
        None | Some("oldest") => false,
        Some("newest") => true,
        Some(_) => return Err(ApiError::bad_request("order", "expected `oldest` or `newest`")),
    };
    let filter = Filter::parse(&q)?;
    state
        .blocking(move |fed| {
            let standing = Standing::of(fed)?;
            let mut out = Vec::new();
            let mut after = if newest { q.before } else { q.after };
            let mut scanned = 0;
            loop {
                let budget = 1024.min(SCAN_BUDGET - scanned);
                let page = if newest {
                    fed.store().records_before(after, budget)?
                } else {
                    fed.store().records_after(after, budget)?
                };
                let Some(last) = page.last() else { return Ok(Json(RecordPage { records: out, next: None })) };
                after = Some(last.arrival);
                scanned += page.len();
                for r in &page {
                    if filter.keeps(&r.record) {
                        out.push(item(r, &standing));
                        if out.len() == limit {
                            return Ok(Json(RecordPage { next: Some(r.arrival), records: out }));
                        }
                    }
                }
                if scanned >= SCAN_BUDGET {
                    return Ok(Json(RecordPage { records: out, next: after }));
                }
            }
        })
        .await
}

/// One record: its envelope, its signed bytes and its verification.
#[utoipa::path(get, path = "/api/v1/records/{id}", tag = "records", params(("id" = String, Path, description = "Record id, 64 hex characters", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = RecordDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody, description = "Purged by its author")),
    security(("bearer" = [])))]
pub async fn get_one(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RecordDetail>, ApiError> {
    let id: RecordId =
        id.parse().map_err(|_| ApiError::bad_request("id", "expected a record id: 64 hex characters"))?;
    state
        .blocking(move |fed| {
            let Some(bytes) = fed.store().record_bytes(&id)? else {
                return Err(match fed.store().purge_of(&id)? {
                    Some(purge) => {
                        ApiError::new(StatusCode::GONE, "purged", format!("record {id} was purged by {purge}"))
                    }
                    None => ApiError::not_found(format!("no record {id}")),
                });
            };
            let record = lantern_protocol::anonymous::open_stored_any(&bytes).map_err(ApiError::internal)?;
            Ok(Json(RecordDetail {
                id: id.to_hex(),
                verified: true,
                author_is_member: record.author().is_none_or(|a| fed.is_member(&a)),
                bytes: hex::encode(&bytes),
                envelope: record_json(&record),
            }))
        })
        .await
}

/// Sends writes to the response body in 64 KiB chunks over a bounded channel.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let chunk = Bytes::from(std::mem::take(&mut self.buf));
            self.tx.blocking_send(Ok(chunk)).map_err(|_| std::io::Error::other("client went away"))?;
        }
        Ok(())
    }
}

/// Every record as JSON lines (`lantern import` reads them), streamed.
#[utoipa::path(get, path = "/api/v1/records/export", tag = "records",
    responses((status = 200, content_type = "application/x-ndjson", body = String, description = "One `{\"id\", \"record\"}` per line"),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export(State(state): State<AppState>) -> Response {
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let federation = state.federation.clone();
    tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter { tx: tx.clone(), buf: Vec::new() };
        let result = crate::exchange::export(federation.store(), &mut w).map(|_| ()).map_err(std::io::Error::other);
        if let Err(e) = result.and_then(|()| std::io::Write::flush(&mut w)) {
            let _ = tx.blocking_send(Err(e));
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    ([(header::CONTENT_TYPE, "application/x-ndjson")], HttpBody::from_stream(stream)).into_response()
}
