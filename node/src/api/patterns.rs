//! Pattern queries. Groups of fewer than k operators come back `suppressed` (docs/patterns.md).
//! Add `format=csv` for a CSV download.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use lantern_protocol::Month;
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::AppState;
use super::error::{ApiError, ApiQuery, ErrorBody};
use crate::patterns::emerging::{Emerging, Windows};
use crate::patterns::query::{CoOccurrence, Durations, Matrix, Period, Scope, Step, TrendBy, Trends};
use crate::patterns::report;
use crate::table::Table;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeQuery {
    /// YYYY-MM, YYYY-Qn, YYYY or FROM..TO (default: the last 12 months).
    #[param(schema_with = super::schemas::period)]
    pub period: Option<String>,
    /// One filter: outcome=…, org_type=…, region=…, resource_kind=… or resource=KIND SIZE.
    #[param(schema_with = super::schemas::filter)]
    pub filter: Option<String>,
    /// json (default) or csv.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendsQuery {
    #[param(schema_with = super::schemas::period)]
    pub period: Option<String>,
    #[param(schema_with = super::schemas::filter)]
    pub filter: Option<String>,
    /// category (default) or registry.
    #[param(pattern = "^(category|registry)$")]
    pub by: Option<String>,
    /// month (default), quarter or year.
    #[param(pattern = "^(month|quarter|year)$")]
    pub step: Option<String>,
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmergingQuery {
    /// Last month of the recent window, YYYY-MM (default: this month).
    #[param(schema_with = super::schemas::month)]
    pub until: Option<String>,
    /// Months in the recent window (1-24, default 3).
    #[param(minimum = 1, maximum = 24)]
    pub recent: Option<u16>,
    /// Months of baseline before it (1-120, default 12).
    #[param(minimum = 1, maximum = 120)]
    pub baseline: Option<u16>,
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    #[param(schema_with = super::schemas::period)]
    pub period: Option<String>,
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoOccurrenceQuery {
    #[param(schema_with = super::schemas::period)]
    pub period: Option<String>,
    /// Co-occurrence within one registry only.
    #[param(schema_with = super::schemas::registry)]
    pub registry: Option<String>,
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

fn period(p: &Option<String>) -> Result<Period, ApiError> {
    match p {
        Some(p) => {
            p.parse().map_err(|e: crate::patterns::query::QueryError| ApiError::bad_request("period", e.to_string()))
        }
        None => Ok(Period::year_to(crate::this_month())),
    }
}

fn scope(p: &Option<String>, f: &Option<String>) -> Result<Scope, ApiError> {
    let filter = f
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(str::parse)
        .transpose()
        .map_err(|e: crate::patterns::query::QueryError| ApiError::bad_request("filter", e.to_string()))?;
    Ok(Scope { period: period(p)?, filter })
}

fn csv_wanted(format: &Option<String>) -> Result<bool, ApiError> {
    match format.as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::bad_request("format", "expected json or csv")),
    }
}

fn answer<T: Serialize>(csv: bool, value: T, table: impl FnOnce(&T) -> Table) -> Response {
    if csv {
        ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], table(&value).csv()).into_response()
    } else {
        Json(value).into_response()
    }
}

/// Registry × incident category: distinct operators and cases.
#[utoipa::path(get, path = "/api/v1/patterns/matrix", tag = "patterns", params(ScopeQuery),
    responses((status = 200, description = "The figures (JSON), or CSV with format=csv", content((Matrix = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn matrix(State(state): State<AppState>, ApiQuery(q): ApiQuery<ScopeQuery>) -> Result<Response, ApiError> {
    let (scope, csv) = (scope(&q.period, &q.filter)?, csv_wanted(&q.format)?);
    let m = state.blocking(move |fed| Ok(fed.with_patterns(|p| p.matrix(scope))?)).await?;
    Ok(answer(csv, m, |m| report::matrix(m, true)))
}

/// Counts over time per category or per registry.
#[utoipa::path(get, path = "/api/v1/patterns/trends", tag = "patterns", params(TrendsQuery),
    responses((status = 200, description = "The figures (JSON), or CSV with format=csv", content((Trends = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn trends(State(state): State<AppState>, ApiQuery(q): ApiQuery<TrendsQuery>) -> Result<Response, ApiError> {
    let (scope, csv) = (scope(&q.period, &q.filter)?, csv_wanted(&q.format)?);
    let by = match q.by.as_deref() {
        None | Some("category") => TrendBy::Category,
        Some("registry") => TrendBy::Registry,
        Some(_) => return Err(ApiError::bad_request("by", "expected category or registry")),
    };
    let step = match q.step.as_deref() {
        None | Some("month") => Step::Month,
        Some("quarter") => Step::Quarter,
        Some("year") => Step::Year,
        Some(_) => return Err(ApiError::bad_request("step", "expected month, quarter or year")),
    };
    let t = state.blocking(move |fed| Ok(fed.with_patterns(|p| p.trends(scope, by, step))?)).await?;
    Ok(answer(csv, t, |t| report::trends(t, true)))
}

/// Registry × category pairs clearly above their own baseline.
#[utoipa::path(get, path = "/api/v1/patterns/emerging", tag = "patterns", params(EmergingQuery),
    responses((status = 200, description = "The figures (JSON), or CSV with format=csv", content((Emerging = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn emerging(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EmergingQuery>,
) -> Result<Response, ApiError> {
    let csv = csv_wanted(&q.format)?;
    let until: Month = match &q.until {
        Some(u) => {
            u.parse().map_err(|e: lantern_protocol::month::BadMonth| ApiError::bad_request("until", e.to_string()))?
        }
        None => crate::this_month(),
    };
    let recent = q.recent.unwrap_or(3);
    let baseline = q.baseline.unwrap_or(12);
    if !(1..=24).contains(&recent) {
        return Err(ApiError::bad_request("recent", "must be between 1 and 24"));
    }
    if !(1..=120).contains(&baseline) {
        return Err(ApiError::bad_request("baseline", "must be between 1 and 120"));
    }
    let windows = Windows { recent, baseline };
    let e = state.blocking(move |fed| Ok(fed.with_patterns(|p| p.emerging(until, windows))?)).await?;
    Ok(answer(csv, e, report::emerging))
}

/// Median and p90 months to resolution and outcome shares, per registry × category.
#[utoipa::path(get, path = "/api/v1/patterns/durations", tag = "patterns", params(PeriodQuery),
    responses((status = 200, description = "The figures (JSON), or CSV with format=csv", content((Durations = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn durations(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> Result<Response, ApiError> {
    let (period, csv) = (period(&q.period)?, csv_wanted(&q.format)?);
    let d = state.blocking(move |fed| Ok(fed.with_patterns(|p| p.durations(period))?)).await?;
    Ok(answer(csv, d, report::durations))
}

/// Categories that occur together in one case.
#[utoipa::path(get, path = "/api/v1/patterns/cooccurrence", tag = "patterns", params(CoOccurrenceQuery),
    responses((status = 200, description = "The figures (JSON), or CSV with format=csv", content((CoOccurrence = "application/json"), (String = "text/csv"))), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn cooccurrence(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CoOccurrenceQuery>,
) -> Result<Response, ApiError> {
    let (period, csv) = (period(&q.period)?, csv_wanted(&q.format)?);
    let registry = q
        .registry
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: lantern_protocol::vocab::UnknownTerm| ApiError::bad_request("registry", e.to_string()))?;
    let c = state.blocking(move |fed| Ok(fed.with_patterns(|p| p.co_occurrence(period, registry))?)).await?;
    Ok(answer(csv, c, report::co_occurrence))
}
