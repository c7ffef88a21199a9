//! The HTTP API (`/api/v1`), `/metrics` and the embedded web UI, served by axum.
//!
//! - [`auth`]: bearer tokens by role, rate limit on writes.
//! - [`error`]: JSON errors naming the field; body and query extractors that produce them.
//! - [`cases`]: private cases, redaction preview, publish, amend, retract, purge, similar cases.
//! - [`records`]: the federation's records: list, get, export.
//! - [`patterns`]: the pattern queries.
//! - [`node`]: health, readiness, node info, members and vouches, peers, sync.
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the handlers; [`schemas`]: schemas
//!   of fields whose types live in the protocol crate.

pub mod auth;
pub mod cases;
pub mod error;
pub mod feeds;
pub mod node;
pub mod openapi;
pub mod patterns;
pub mod records;
pub mod schemas;
pub mod taxii;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::datadir::NodeConfig;
use crate::federation::Federation;
use crate::metrics::RequestLabels;
use crate::network::Client;
use crate::status::NodeStatus;
use crate::tokens::Tokens;
use error::ApiError;

/// Largest request body accepted.
pub const MAX_BODY: usize = 256 * 1024;
/// Longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Clone)]
pub struct AppState {
    pub federation: Arc<Federation>,
    pub config: Arc<NodeConfig>,
    pub tokens: Arc<Tokens>,
    /// Absent when the node runs without a network (tests, offline use).
    pub network: Option<Client>,
    pub status: Arc<NodeStatus>,
    pub writes: Arc<auth::RateLimit>,
    /// Each analyst token's read budget, by name.
    pub analyst_reads: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<auth::RateLimit>>>>,
    /// Where analysts' queries are written; `None` keeps no log (tests, demos).
    pub query_log: Option<Arc<crate::query_log::QueryLog>>,
    pub started: Instant,
}

impl AppState {
    pub fn new(
        federation: Arc<Federation>,
        config: NodeConfig,
        tokens: Tokens,
        network: Option<Client>,
        status: Arc<NodeStatus>,
    ) -> Self {
        Self {
            federation,
            config: Arc::new(config),
            tokens: Arc::new(tokens),
            network,
            status,
            // 30 writes at once, then 10 a second.
            writes: Arc::new(auth::RateLimit::new(30, 10.0)),
            analyst_reads: Arc::default(),
            query_log: None,
            started: Instant::now(),
        }
    }

    /// Keeps the analysts' query log in the data dir at `root`.
    pub fn with_query_log(mut self, root: &std::path::Path) -> Self {
        self.query_log = Some(Arc::new(crate::query_log::QueryLog::new(root)));
        self
    }

    /// Runs store work off the async threads.
    pub async fn blocking<R: Send + 'static>(
        &self,
        work: impl FnOnce(&Federation) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let federation = self.federation.clone();
        tokio::task::spawn_blocking(move || work(&federation)).await.map_err(ApiError::internal)?
    }
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(node::health))
        .route("/ready", get(node::ready))
        .route("/node", get(node::info))
        .route("/vocabulary", get(node::vocabulary))
        .route("/openapi.json", get(openapi::document))
        .route("/cases", get(cases::list).post(cases::create))
        .route("/cases/{id}", get(cases::get_one).put(cases::update).delete(cases::delete))
        .route("/cases/{id}/preview", post(cases::preview))
        .route("/cases/{id}/publish", post(cases::publish))
        .route("/cases/{id}/amend", post(cases::amend))
        .route("/cases/{id}/retract", post(cases::retract))
        .route("/cases/{id}/purge", post(cases::purge))
        .route("/cases/{id}/similar", get(cases::similar))
        .route("/cases/{id}/evidence-proof", post(cases::evidence_proof))
        .route("/redact/preview", post(cases::redact_preview))
        .route("/records", get(records::list))
        .route("/records/export", get(records::export))
        .route("/records/{id}", get(records::get_one))
        .route("/patterns/matrix", get(patterns::matrix))
        .route("/patterns/trends", get(patterns::trends))
        .route("/patterns/emerging", get(patterns::emerging))
        .route("/patterns/durations", get(patterns::durations))
        .route("/patterns/cooccurrence", get(patterns::cooccurrence))
        .route("/members", get(node::members))
        .route("/vouches", post(node::vouch))
        .route("/peers", get(node::peers))
        .route("/sync", get(node::sync))
        .route("/analysts/log", get(node::analyst_log))
        .route("/feeds/misp/manifest.json", get(feeds::misp_manifest))
        .route("/feeds/misp/hashes.csv", get(feeds::misp_hashes))
        .route("/feeds/misp/{event}", get(feeds::misp_event))
        .route("/taxii2/", get(taxii::discovery))
        .route("/taxii2/lantern/", get(taxii::api_root))
        .route("/taxii2/lantern/collections/", get(taxii::collections))
        .route("/taxii2/lantern/collections/{collection}/", get(taxii::collection))
        .route("/taxii2/lantern/collections/{collection}/objects/", get(taxii::objects))
        .route("/taxii2/lantern/collections/{collection}/objects/{object}/", get(taxii::object))
        .route("/taxii2/lantern/collections/{collection}/manifest/", get(taxii::manifest))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(middleware::from_fn_with_state(state.clone(), auth::guard));
    Router::new()
        .nest("/api/v1", api)
        .route("/metrics", get(metrics))
        .fallback(ui)
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT))
        .layer(middleware::from_fn(harden))
        .with_state(state)
}

/// The edge every answer passes: a declared body over the limit is refused before it is read;
/// an error the framework wrote without a body (405, 503, 413) gets the JSON error body; API
/// answers are never cached, sniffed or framed.
async fn harden(req: Request, next: Next) -> Response {
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        let mut response =
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("body over {MAX_BODY} bytes"))
                .into_response();
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        return secure(response, true);
    }
    let api = !is_ui_path(req.uri().path());
    let response = next.run(req).await;
    let status = response.status();
    let response = if (status.is_client_error() || status.is_server_error())
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let (code, message) = match status {
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "method not allowed on this path"),
            StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "the node took too long to answer; try again"),
            StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "body too large"),
            _ => ("invalid", "request refused"),
        };
        let (mut parts, _) = response.into_parts();
        let mut json = ApiError::new(status, code, message).into_response();
        // Keep the framework's headers (`Allow` on a 405), with the JSON body's type.
        parts.headers.extend(json.headers_mut().drain());
        Response::from_parts(parts, json.into_body())
    } else {
        response
    };
    secure(response, api)
}

/// Whether a path is the web UI's (its assets carry their own headers).
fn is_ui_path(path: &str) -> bool {
    !path.starts_with("/api/") && path != "/metrics"
}

fn secure(mut response: Response, api: bool) -> Response {
    let h = response.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
    if api {
        h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
        h.insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static("frame-ancestors 'none'"));
    }
    response
}

/// Records each request's latency under its route pattern.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    // Any write the disk had no room for: readiness says so until space is back.
    if response.status() == StatusCode::INSUFFICIENT_STORAGE {
        state.federation.store().note_disk_full();
    }
    let labels = RequestLabels { route, method, status: response.status().as_u16() };
    state.status.metrics.api_latency.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}

/// Prometheus metrics, for the member token only: ingest counters and API latencies tell when
/// this node's member publishes, which no one without a token may learn.
async fn metrics(State(state): State<AppState>, req: Request) -> Response {
    let member = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")))
        .and_then(|(_, token)| state.tokens.role(token));
    if member != Some(crate::tokens::Role::Member) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "/metrics needs the member token (Authorization: Bearer TOKEN)",
        )
        .into_response();
    }
    let m = &state.status.metrics;
    m.records.set(state.federation.store().record_count() as i64);
    m.members.set(state.federation.members().len() as i64);
    if let Some(net) = &state.network
        && let Ok(peers) = net.peers().await
    {
        m.peers.set(peers.len() as i64);
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], m.encode()).into_response()
}

/// The embedded web UI; unknown paths get the app shell so deep links work.
async fn ui(req: Request) -> Response {
    let path = req.uri().path();
    let asset =
        lantern_web_ui::asset(path).or_else(|| (!path.contains('.')).then(|| lantern_web_ui::asset("/")).flatten());
    match asset {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
                ),
            ],
            a.body,
        )
            .into_response(),
        None => ApiError::not_found("no such file").into_response(),
    }
}

/// Most API connections open at once; more are closed as they arrive.
pub const MAX_CONNECTIONS: usize = 256;
/// A client has this long to send a request's headers, the next one's on a kept-alive
/// connection included: idle and slow connections are closed.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// How long in-flight requests may finish after shutdown begins.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The bounds of the API's connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub max_connections: usize,
    pub header_read_timeout: std::time::Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self { max_connections: MAX_CONNECTIONS, header_read_timeout: HEADER_READ_TIMEOUT }
    }
}

/// Serves the API (HTTP/1.1) until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, shutdown, ServeLimits::default()).await
}

/// [`serve`] within `limits`: connections are capped and must send their headers in time.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    limits: ServeLimits,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app = router(state);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "cannot accept an API connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(max = limits.max_connections, "API connection refused: all slots taken");
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
}
