//! Read-only feeds of the federation's live summaries for other tools (member token only):
//! the MISP feed that `lantern export --format misp` writes, so a MISP instance can poll the node
//! (feed source "MISP Feed", URL `…/api/v1/feeds/misp`, header `Authorization: Bearer TOKEN`).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{ApiError, ApiPath, ErrorBody};
use crate::interop::misp;

async fn feed(state: &AppState) -> Result<misp::Feed, ApiError> {
    state
        .blocking(|fed| {
            misp::feed(fed).map_err(|e| match e {
                crate::interop::FeedError::Store(e) => e.into(),
                e => ApiError::internal(e),
            })
        })
        .await
}

fn json(value: &impl serde::Serialize) -> Result<Response, ApiError> {
    let body = misp::pretty(value).map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The feed's manifest: every event's uuid with its info, date, timestamp, organisation and tags.
#[utoipa::path(get, path = "/api/v1/feeds/misp/manifest.json", tag = "feeds",
    responses((status = 200, content_type = "application/json", body = Object, description = "Event uuid → event summary"),
        (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn misp_manifest(State(state): State<AppState>) -> Result<Response, ApiError> {
    json(&feed(&state).await?.manifest)
}

/// The MD5 of every attribute value, with its event's uuid (MISP's `hashes.csv`).
#[utoipa::path(get, path = "/api/v1/feeds/misp/hashes.csv", tag = "feeds",
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn misp_hashes(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(([(header::CONTENT_TYPE, "text/csv")], feed(&state).await?.hashes).into_response())
}

/// One event of the feed, `<uuid>.json`.
#[utoipa::path(get, path = "/api/v1/feeds/misp/{event}", tag = "feeds",
    params(("event" = String, Path, description = "An event's uuid and `.json`", pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.json$")),
    responses((status = 200, content_type = "application/json", body = Object, description = "`{\"Event\": …}`"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No live summary has this uuid (retracted, amended or purged)")),
    security(("bearer" = [])))]
pub async fn misp_event(State(state): State<AppState>, ApiPath(event): ApiPath<String>) -> Result<Response, ApiError> {
    let uuid = event
        .strip_suffix(".json")
        .filter(|u| uuid::Uuid::try_parse(u).is_ok_and(|p| p.hyphenated().to_string() == *u))
        .ok_or_else(|| ApiError::bad_request("event", "expected an event's uuid (lower case) and `.json`"))?
        .to_string();
    let mut feed = feed(&state).await?;
    let event = feed.events.remove(&uuid).ok_or_else(|| ApiError::not_found("no live summary has this uuid"))?;
    json(&event)
}
