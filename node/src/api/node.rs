//! The node operator's view: health, readiness, identity, members and vouches, peers, sync.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lantern_protocol::MemberKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::cases::Published;
use super::error::{ApiError, ApiJson, ErrorBody};
use crate::status::SyncStatus;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    pub version: &'static str,
    pub uptime_secs: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    pub store: bool,
    /// Whether the node runs its network (false when started without one).
    pub network: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NodeInfo {
    pub version: &'static str,
    pub federation: String,
    pub federation_name: String,
    /// This node's member key.
    pub member: String,
    /// This node's libp2p peer id, when the network runs.
    pub peer_id: Option<String>,
    pub k_threshold: u16,
    pub vouches_needed: u16,
    pub records: usize,
    pub members: usize,
    /// Which token asked: `member` (everything) or `analyst` (pattern queries only).
    pub caller: &'static str,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    pub key: String,
    pub founder: bool,
    /// Vouches standing for this key.
    pub vouches: usize,
    /// Whether this node's member has vouched for it.
    pub vouched_by_me: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub key: String,
    pub vouches: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Members {
    pub vouches_needed: u16,
    pub members: Vec<Member>,
    /// Keys with standing vouches that are not members (yet).
    pub candidates: Vec<Candidate>,
    /// Authors that signed two records at one sequence, with the records as evidence.
    pub equivocations: Vec<Equivocation>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Equivocation {
    pub author: String,
    pub sequence: u64,
    /// The records signed at that sequence (each verifies on its own; together they are the proof).
    pub records: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VouchRequest {
    /// The member key vouched for (64 hex characters).
    #[schema(schema_with = super::schemas::hex32)]
    pub member: String,
    /// Withdraw an earlier vouch instead.
    #[serde(default)]
    pub withdraw: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Peer {
    pub peer: String,
    /// The member the peer proved it serves, when it proved with its node binding (absent when
    /// it proved anonymously, or has not proved anything yet).
    pub member: Option<String>,
    /// It proved it serves a current member.
    pub proven: bool,
    /// Its gossipsub score.
    pub score: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Vocabulary {
    pub registries: Vec<&'static str>,
    pub categories: Vec<&'static str>,
    pub outcomes: Vec<&'static str>,
    pub stages: Vec<&'static str>,
    pub org_types: Vec<&'static str>,
    pub regions: Vec<&'static str>,
    pub resource_kinds: Vec<&'static str>,
    /// `KIND SIZE`, as the `resource=` filter takes them.
    pub resource_sizes: Vec<String>,
    pub retraction_reasons: Vec<&'static str>,
    pub services: Vec<&'static str>,
    pub evidence_kinds: Vec<&'static str>,
}

fn labels<T: Copy>(all: &[T], label: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&t| label(t)).collect()
}

/// The closed vocabularies every field and filter uses.
#[utoipa::path(get, path = "/api/v1/vocabulary", tag = "node",
    responses((status = 200, body = Vocabulary), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn vocabulary() -> Json<Vocabulary> {
    use lantern_protocol::summary::ResourceBucket;
    use lantern_protocol::vocab::*;
    let sizes = Ipv4Size::ALL
        .iter()
        .map(|&s| ResourceBucket::Ipv4(s))
        .chain(Ipv6Size::ALL.iter().map(|&s| ResourceBucket::Ipv6(s)))
        .chain(AsnCount::ALL.iter().map(|&c| ResourceBucket::Asn(c)))
        .map(|b| b.label())
        .collect();
    Json(Vocabulary {
        registries: labels(Registry::ALL, Registry::label),
        categories: labels(Category::ALL, Category::label),
        outcomes: labels(Outcome::ALL, Outcome::label),
        stages: labels(Stage::ALL, Stage::label),
        org_types: labels(OrgType::ALL, OrgType::label),
        regions: labels(Region::ALL, Region::label),
        resource_kinds: labels(ResourceKind::ALL, ResourceKind::label),
        resource_sizes: sizes,
        retraction_reasons: labels(RetractionReason::ALL, RetractionReason::label),
        services: labels(Service::ALL, Service::label),
        evidence_kinds: labels(EvidenceKind::ALL, EvidenceKind::label),
    })
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/api/v1/health", tag = "node", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION"), uptime_secs: state.started.elapsed().as_secs() })
}

/// Readiness: the store answers and the network (if any) runs.
#[utoipa::path(get, path = "/api/v1/ready", tag = "node",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let fed = state.federation.clone();
    // The store answers reads, and takes writes (after a disk-full failure, a probe write tells).
    let store = tokio::task::spawn_blocking(move || {
        let store = fed.store();
        store.contains(&lantern_protocol::RecordId([0; 32])).is_ok() && store.probe_writable()
    })
    .await
    .unwrap_or(false);
    let network = match &state.network {
        Some(net) => net.listeners().await.is_ok(),
        None => false,
    };
    let ready = store && (network || state.network.is_none());
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Readiness { ready, store, network }))
}

/// Who this node is and what it holds.
#[utoipa::path(get, path = "/api/v1/node", tag = "node",
    responses((status = 200, body = NodeInfo), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn info(State(state): State<AppState>, role: Option<axum::Extension<crate::tokens::Role>>) -> Json<NodeInfo> {
    let fed = &state.federation;
    let m = fed.manifest();
    Json(NodeInfo {
        version: env!("CARGO_PKG_VERSION"),
        federation: m.id().to_hex(),
        federation_name: m.name.clone(),
        member: fed.member_key().to_hex(),
        peer_id: state.network.as_ref().map(|n| n.peer_id().to_string()),
        k_threshold: m.policy.k_threshold,
        vouches_needed: m.policy.vouches_needed,
        records: fed.store().record_count(),
        members: fed.members().len(),
        caller: match role.map(|r| r.0) {
            Some(crate::tokens::Role::Analyst) => "analyst",
            _ => "member",
        },
    })
}

/// Members, the vouches that made them, and keys waiting for vouches.
#[utoipa::path(get, path = "/api/v1/members", tag = "node",
    responses((status = 200, body = Members), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn members(State(state): State<AppState>) -> Result<Json<Members>, ApiError> {
    state
        .blocking(|fed| {
            let me = fed.member_key();
            let vouches = fed.store().vouches()?;
            let standing = |key: &MemberKey| vouches.iter().filter(|(t, _, s)| t == key && *s).count();
            let mine = |key: &MemberKey| vouches.iter().any(|(t, v, s)| t == key && *v == me && *s);
            let members: Vec<MemberKey> = fed.members();
            let mut candidates: Vec<MemberKey> =
                vouches.iter().filter(|(t, _, s)| *s && !members.contains(t)).map(|(t, _, _)| *t).collect();
            candidates.sort();
            candidates.dedup();
            Ok(Json(Members {
                vouches_needed: fed.manifest().policy.vouches_needed,
                members: members
                    .iter()
                    .map(|k| Member {
                        key: k.to_hex(),
                        founder: fed.manifest().is_founder(k),
                        vouches: standing(k),
                        vouched_by_me: mine(k),
                    })
                    .collect(),
                candidates: candidates.iter().map(|k| Candidate { key: k.to_hex(), vouches: standing(k) }).collect(),
                equivocations: fed
                    .store()
                    .equivocations()?
                    .into_iter()
                    .map(|(author, sequence, ids)| Equivocation {
                        author: author.to_hex(),
                        sequence,
                        records: ids.iter().map(|id| id.to_hex()).collect(),
                    })
                    .collect(),
            }))
        })
        .await
}

/// Vouches for a member key (or withdraws a vouch), signed by this node's member.
#[utoipa::path(post, path = "/api/v1/vouches", tag = "node", request_body = VouchRequest, params(super::cases::IdempotencyHeader),
    responses((status = 201, body = Published), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, description = "The key is this node's own member key", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn vouch(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ApiJson(body): ApiJson<VouchRequest>,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    let member: MemberKey =
        body.member.parse().map_err(|_| ApiError::invalid("member", "expected a member key: 64 hex characters"))?;
    let key = super::cases::idempotency_key(&headers)?;
    let request = crate::publish::vouch_request(&member, body.withdraw);
    super::cases::sign_once(&state, key, request, move |fed| {
        if member == fed.member_key() {
            return Err(ApiError::conflict("a node cannot vouch for its own member key").field("member"));
        }
        Ok(crate::publish::Made::Signed(fed.vouch(member, !body.withdraw)?))
    })
    .await
}

/// Connected peers.
#[utoipa::path(get, path = "/api/v1/peers", tag = "node",
    responses((status = 200, body = Vec<Peer>), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn peers(State(state): State<AppState>) -> Result<Json<Vec<Peer>>, ApiError> {
    let Some(net) = &state.network else { return Ok(Json(Vec::new())) };
    let peers = net
        .peers()
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", format!("network: {e}")))?;
    Ok(Json(
        peers
            .into_iter()
            .map(|p| Peer {
                peer: p.peer.to_string(),
                member: p.member.map(|m| m.to_hex()),
                proven: p.proven,
                score: p.score,
            })
            .collect(),
    ))
}

/// Catch-up with each peer: running, records fetched, ids remaining.
#[utoipa::path(get, path = "/api/v1/sync", tag = "node",
    responses((status = 200, body = SyncStatus), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn sync(State(state): State<AppState>) -> Json<SyncStatus> {
    Json(state.status.sync())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnalystLogQuery {
    /// One analyst's queries only (the name the token was issued under).
    #[param(pattern = "^[a-z0-9_-]{1,64}$")]
    pub analyst: Option<String>,
    /// The last N entries (default 100, at most 1 000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnalystLog {
    /// Oldest first.
    pub entries: Vec<crate::query_log::QueryEntry>,
}

/// What analysts asked this node: one entry per query made with an analyst token.
#[utoipa::path(get, path = "/api/v1/analysts/log", tag = "node", params(AnalystLogQuery),
    responses((status = 200, body = AnalystLog), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn analyst_log(
    State(state): State<AppState>,
    super::error::ApiQuery(q): super::error::ApiQuery<AnalystLogQuery>,
) -> Result<Json<AnalystLog>, ApiError> {
    let limit = match q.limit {
        None => 100,
        Some(n @ 1..=1000) => n as usize,
        Some(_) => return Err(ApiError::bad_request("limit", "expected 1 to 1000")),
    };
    if let Some(name) = &q.analyst {
        let valid = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(ApiError::bad_request("analyst", "expected 1-64 characters of a-z, 0-9, '-' and '_'"));
        }
    }
    let Some(log) = state.query_log.clone() else { return Ok(Json(AnalystLog { entries: Vec::new() })) };
    let entries = tokio::task::spawn_blocking(move || log.entries(q.analyst.as_deref(), limit))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(Json(AnalystLog { entries }))
}
