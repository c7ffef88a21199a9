//! API errors: a status and a JSON body naming the field and the rule broken.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::case::CaseError;
use crate::publish::PublishError;
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable word: `unauthorized`, `forbidden`, `invalid`, `not_found`, `conflict`,
    /// `too_large`, `rate_limited`, `unavailable`, `internal`.
    pub code: &'static str,
    pub message: String,
    /// The field (JSON path or query parameter) at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, detail: ErrorDetail { code, message: message.into(), field: None } }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.detail.field = Some(field.into());
        self
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).field(field)
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message).field(field)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        // The detail goes to the log; the client gets no internals.
        tracing::error!(error = %e, "internal error answering a request");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the node's log")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: self.detail })).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchCase(_) | StoreError::NoSuchRecord(_) => ApiError::not_found(e.to_string()),
            e if e.is_disk_full() => {
                tracing::error!(error = %e, "a write failed: the disk is full");
                ApiError::new(StatusCode::INSUFFICIENT_STORAGE, "disk_full", e.to_string())
            }
            StoreError::IdempotencyKeyReused => ApiError::invalid("Idempotency-Key", e.to_string()),
            e if e.is_own_chain_behind() => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "catching_up", e.to_string())
            }
            e => ApiError::internal(e),
        }
    }
}

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl From<PublishError> for ApiError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::Store(e) => e.into(),
            // The request is well-formed: the stored case is what cannot be published as it is
            // (409, "edit the case and try again"), naming the field to fix.
            PublishError::Case { id, source } => {
                ApiError::new(StatusCode::CONFLICT, "invalid", format!("case {id}: {}", source.message))
                    .field(source.field)
            }
            PublishError::Residual { ref field, .. } => {
                ApiError::new(StatusCode::CONFLICT, "identifying", e.to_string()).field(field.clone())
            }
            PublishError::Retracted(_)
            | PublishError::NotPublished(_)
            | PublishError::Purged(_)
            | PublishError::TooManyVersions { .. }
            | PublishError::AnonymityUnavailable(..)
            | PublishError::YearChanged { .. } => ApiError::conflict(e.to_string()),
            PublishError::Record(e) => ApiError::internal(e),
        }
    }
}

/// A JSON body whose errors name the field (`timeline[2].date`), within the body limit.
pub struct ApiJson<T>(pub T);

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("body over {} bytes", super::MAX_BODY))
        } else {
            ApiError::bad_request("body", e.body_text())
        }
    })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_string();
        let field = if path == "." { "body".to_string() } else { path };
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(field, format!("malformed JSON: {message}"))
        } else {
            ApiError::invalid(field, message)
        }
    })?;
    // One JSON value and nothing after it: trailing data is a malformed request, not ignored.
    de.end().map_err(|_| ApiError::bad_request("body", "malformed JSON: data after the JSON value"))?;
    // Every body this API takes is an object; serde would also read a struct from an array.
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::invalid("body", "expected a JSON object"));
    }
    Ok(value)
}

fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid",
        "expected a JSON body (Content-Type: application/json)",
    )
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(not_json());
        }
        Ok(ApiJson(parse_json(&body_bytes(req, state).await?)?))
    }
}

/// An optional JSON body: absent when the request has no body.
impl<S: Send + Sync, T: DeserializeOwned> axum::extract::OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let json = is_json(&req);
        let bytes = body_bytes(req, state).await?;
        // No body, or JSON `null`, is "no options".
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(None);
        }
        if !json {
            return Err(not_json());
        }
        Ok(Some(ApiJson(parse_json(&bytes)?)))
    }
}

/// A path parameter whose error is JSON naming the parameter, never echoing the input.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        let name = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .and_then(|p| p.as_str().split('{').nth(1).and_then(|rest| rest.split('}').next()))
            .unwrap_or("path")
            .to_string();
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(_) => {
                let expected = std::any::type_name::<T>().rsplit("::").next().unwrap_or("value").to_string();
                let kind = if expected.starts_with('u') { "a non-negative whole number" } else { "a valid value" };
                Err(ApiError::bad_request(name, format!("expected {kind}")))
            }
        }
    }
}

/// Query parameters whose errors name the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|e| {
            let path = e.path().to_string();
            ApiError::bad_request(if path == "." { "query".to_string() } else { path }, e.into_inner().to_string())
        })
    }
}
