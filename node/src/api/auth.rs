//! Who may call what: bearer tokens by role, and the member token's budget of writes.

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use crate::tokens::{Caller, Role};

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Pattern queries: the member or an analyst.
    Patterns,
    /// Everything else: the member only.
    Member,
}

/// The access rule of an API path (under `/api/v1`).
pub fn access(path: &str) -> Access {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    match path {
        "/health" | "/ready" | "/openapi.json" => Access::Public,
        // TAXII: an analyst reads the pattern reports' collection only (checked per collection).
        p if p.starts_with("/patterns/") || p.starts_with("/taxii2/") || p == "/node" || p == "/vocabulary" => {
            Access::Patterns
        }
        _ => Access::Member,
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_sec`.
pub struct RateLimit {
    state: Mutex<(f64, Instant)>,
    burst: f64,
    per_sec: f64,
}

impl RateLimit {
    pub fn new(burst: u32, per_sec: f64) -> Self {
        Self { state: Mutex::new((f64::from(burst), Instant::now())), burst: f64::from(burst), per_sec }
    }

    /// Refills the bucket; the tokens now in it.
    fn refill(&self) -> std::sync::MutexGuard<'_, (f64, Instant)> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * self.per_sec).min(self.burst);
        s.1 = now;
        s
    }

    /// Whether a token is free now, or how many seconds until one is; takes nothing.
    pub fn check(&self) -> Result<(), u64> {
        let s = self.refill();
        if s.0 >= 1.0 { Ok(()) } else { Err(((1.0 - s.0) / self.per_sec).ceil() as u64) }
    }

    /// Takes one token, or says how many seconds until one is free.
    pub fn take(&self) -> Result<(), u64> {
        let mut s = self.refill();
        if s.0 >= 1.0 {
            s.0 -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - s.0) / self.per_sec).ceil() as u64)
        }
    }

    /// Spends a token even if that leaves the bucket below one (writes that ran concurrently).
    pub fn spend(&self) {
        let mut s = self.refill();
        s.0 -= 1.0;
    }
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Checks the bearer token against the route's rule, and the write rate limit.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let needed = access(req.uri().path());
    if needed != Access::Public {
        let caller = match bearer(&req).map(|t| state.tokens.caller(t)) {
            Some(Some(caller)) => caller,
            Some(None) => {
                return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "invalid token").into_response();
            }
            None => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "missing bearer token (Authorization: Bearer TOKEN)",
                )
                .into_response();
            }
        };
        // Handlers that answer both roles say which one asked (`/node`).
        req.extensions_mut().insert(caller.role());
        if needed == Access::Member && caller.role() != Role::Member {
            return ApiError::new(StatusCode::FORBIDDEN, "forbidden", "an analyst token allows pattern queries only")
                .into_response();
        }
        if let Caller::Analyst(name) = caller {
            return analyst_read(&state, &name, req, next).await;
        }
    }
    // The write budget belongs to the member token: only requests that passed the token check
    // reach it, public routes never do, and a write that matched no route (404, 405) costs nothing.
    let write = needed == Access::Member && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if write && let Err(wait) = state.writes.check() {
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", format!("too many writes; retry in {wait} s"))
                .into_response();
        if let Ok(v) = wait.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    let response = next.run(req).await;
    if write && !matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED) {
        state.writes.spend();
    }
    response
}

/// Reads per analyst token: 20 at once, then 2 a second.
pub const ANALYST_BURST: u32 = 20;
pub const ANALYST_PER_SEC: f64 = 2.0;

/// An analyst's request: within its own read budget, and written to the query log.
async fn analyst_read(state: &AppState, name: &str, req: Request, next: Next) -> Response {
    // The URI as the client sent it: inside the nested API router the prefix is stripped.
    let uri = req.extensions().get::<axum::extract::OriginalUri>().map_or(req.uri(), |o| &o.0);
    let query = uri.path_and_query().map_or_else(|| uri.path().to_string(), |q| q.as_str().to_string());
    let budget = {
        let mut budgets = state.analyst_reads.lock().unwrap_or_else(|p| p.into_inner());
        // One bucket per analyst name: bounded by the analyst tokens file.
        budgets
            .entry(name.to_string())
            .or_insert_with(|| std::sync::Arc::new(RateLimit::new(ANALYST_BURST, ANALYST_PER_SEC)))
            .clone()
    };
    let response = match budget.take() {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many queries for analyst `{name}`; retry in {wait} s"),
            )
            .into_response();
            if let Ok(v) = wait.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    };
    if let Some(log) = &state.query_log {
        // One short append: done here, so the entry exists when the answer leaves.
        log.record(name, &query, response.status().as_u16());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_get_the_right_rule() {
        assert_eq!(access("/api/v1/health"), Access::Public);
        assert_eq!(access("/api/v1/patterns/matrix"), Access::Patterns);
        assert_eq!(access("/api/v1/cases"), Access::Member);
        assert_eq!(access("/api/v1/cases/1/similar"), Access::Member);
        assert_eq!(access("/api/v1/records"), Access::Member);
    }

    #[test]
    fn the_bucket_empties_and_says_when_to_retry() {
        let limit = RateLimit::new(2, 0.5);
        assert!(limit.take().is_ok());
        assert!(limit.take().is_ok());
        assert_eq!(limit.take(), Err(2));
    }
}
