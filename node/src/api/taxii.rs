//! A read-only TAXII 2.1 server (member token): discovery at `/api/v1/taxii2/`, one API root
//! (`lantern/`), one collection of the federation's live summaries as STIX 2.1 objects, with
//! `added_after`, `match[id]`, `match[type]`, `limit` and `next`, and its manifest. What the
//! objects hold and why `date_added` is an arrival order, not a time: `interop/taxii.rs`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use super::AppState;
use super::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::interop::stix::{self, Placed};
use crate::interop::taxii::{self, Collection, Filter, TAXII_MEDIA_TYPE};
use crate::tokens::Role;

/// Which token asked (the guard puts it in the request).
type Caller = Option<axum::Extension<Role>>;

fn is_analyst(caller: &Caller) -> bool {
    matches!(caller, Some(axum::Extension(Role::Analyst)))
}

/// The API root's path, from the discovery resource (an absolute path: clients resolve it
/// against the discovery URL they were given).
const ROOT_PATH: &str = "/api/v1/taxii2/lantern/";

/// Whether the client takes TAXII 2.1 (or anything); TAXII says 406 otherwise.
fn accepts_taxii(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT) else { return true };
    let accept = accept.to_str().unwrap_or_default().replace(' ', "").to_ascii_lowercase();
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default();
        let version = parts.find_map(|p| p.strip_prefix("version="));
        media == "*/*"
            || media == "application/*"
            || (media == "application/taxii+json" && version.is_none_or(|v| v == "2.1"))
    })
}

fn answer(headers: &HeaderMap, body: Value, extra: &[(&'static str, String)]) -> Result<Response, ApiError> {
    if !accepts_taxii(headers) {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!("this TAXII server answers `{TAXII_MEDIA_TYPE}` only (header Accept)"),
        ));
    }
    let mut response = ([(header::CONTENT_TYPE, TAXII_MEDIA_TYPE)], body.to_string()).into_response();
    for (name, value) in extra {
        if let Ok(v) = value.parse() {
            response.headers_mut().insert(*name, v);
        }
    }
    Ok(response)
}

/// Discovery: the one API root.
#[utoipa::path(get, path = "/api/v1/taxii2/", tag = "feeds",
    responses((status = 200, content_type = "application/taxii+json;version=2.1", body = Object),
        (status = 401, body = ErrorBody), (status = 406, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn discovery(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let name = state.federation.manifest().name.clone();
    let body = json!({
        "title": format!("Lantern node of federation {name}"),
        "description": "The federation's live case summaries, read-only, for the member's own tools.",
        "default": ROOT_PATH,
        "api_roots": [ROOT_PATH],
    });
    answer(&headers, body, &[])
}

/// The API root.
#[utoipa::path(get, path = "/api/v1/taxii2/lantern/", tag = "feeds",
    responses((status = 200, content_type = "application/taxii+json;version=2.1", body = Object),
        (status = 401, body = ErrorBody), (status = 406, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn api_root(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let body = json!({
        "title": format!("Federation {}", state.federation.manifest().name),
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": super::MAX_BODY,
    });
    answer(&headers, body, &[])
}

#[utoipa::path(get, path = "/api/v1/taxii2/lantern/collections/", tag = "feeds",
    responses((status = 200, content_type = "application/taxii+json;version=2.1", body = Object),
        (status = 401, body = ErrorBody), (status = 406, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn collections(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Response, ApiError> {
    let fed = state.federation.manifest().id();
    let mut collections = vec![Collection::Patterns.describe(&fed)];
    if !is_analyst(&caller) {
        collections.insert(0, Collection::Summaries.describe(&fed));
    }
    answer(&headers, json!({ "collections": collections }), &[])
}

/// The collection named in the path, if the caller may read it: 404 if there is none, 403 for
/// an analyst asking for the summaries.
fn the_collection(state: &AppState, id: &str, caller: &Caller) -> Result<Collection, ApiError> {
    match Collection::of(id, &state.federation.manifest().id()) {
        None => Err(ApiError::not_found(format!("no collection `{id}`"))),
        Some(Collection::Summaries) if is_analyst(caller) => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "an analyst token reads the pattern reports only"))
        }
        Some(c) => Ok(c),
    }
}

#[utoipa::path(get, path = "/api/v1/taxii2/lantern/collections/{collection}/", tag = "feeds",
    params(("collection" = String, Path)),
    responses((status = 200, content_type = "application/taxii+json;version=2.1", body = Object),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 406, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn collection(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let c = the_collection(&state, &id, &caller)?;
    answer(&headers, c.describe(&state.federation.manifest().id()), &[])
}

/// The filters TAXII 2.1 defines for objects and manifests (`match[version]` and
/// `match[spec_version]` are not offered: each object has one version, STIX 2.1).
#[derive(Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ObjectsQuery {
    /// Only objects added after this `date_added` (an RFC 3339 timestamp, such as the
    /// `X-TAXII-Date-Added-Last` of the previous poll).
    #[param(format = DateTime)]
    added_after: Option<String>,
    /// Objects per page (default 100; more than 1000 is read as 1000).
    #[param(minimum = 1, maximum = 9_223_372_036_854_775_807_i64)]
    limit: Option<usize>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9]{1,19}~")]
    next: Option<String>,
    /// Only these STIX ids (comma-separated).
    #[serde(rename = "match[id]")]
    match_id: Option<String>,
    /// Only these STIX types (comma-separated).
    #[serde(rename = "match[type]")]
    match_type: Option<String>,
}

impl ObjectsQuery {
    fn filter(&self) -> Result<Filter, ApiError> {
        let added_after = self
            .added_after
            .as_deref()
            .map(taxii::place_of)
            .transpose()
            .map_err(|m| ApiError::bad_request("added_after", m))?;
        let next = self
            .next
            .as_deref()
            .map(|n| {
                taxii::parse_next(n)
                    .ok_or_else(|| ApiError::bad_request("next", "expected the `next` of the previous page"))
            })
            .transpose()?;
        let limit = match self.limit {
            None => taxii::DEFAULT_LIMIT,
            Some(0) => return Err(ApiError::bad_request("limit", "expected at least 1")),
            Some(n) => n.min(taxii::MAX_LIMIT),
        };
        let list = |v: &Option<String>| v.as_ref().map(|s| s.split(',').map(str::to_string).collect::<Vec<_>>());
        Ok(Filter { after: added_after, next, ids: list(&self.match_id), types: list(&self.match_type), limit })
    }
}

async fn placed(state: &AppState, collection: Collection) -> Result<Vec<Placed>, ApiError> {
    state
        .blocking(move |fed| {
            let objects = match collection {
                Collection::Summaries => stix::objects(fed),
                Collection::Patterns => crate::interop::stix_patterns::placed(fed),
            };
            objects.map_err(|e| match e {
                crate::interop::FeedError::Store(e) => e.into(),
                e => ApiError::internal(e),
            })
        })
        .await
}

/// The page of collection `id` that `filter` selects, with its date headers.
async fn selected(
    state: &AppState,
    caller: &Caller,
    id: &str,
    filter: &Filter,
) -> Result<(taxii::Page, Vec<(&'static str, String)>), ApiError> {
    let c = the_collection(state, id, caller)?;
    let page = taxii::page(placed(state, c).await?, filter);
    let extra = date_headers(&page);
    Ok((page, extra))
}

/// TAXII's headers of an objects or manifest page: the first and last `date_added` in it.
fn date_headers(page: &taxii::Page) -> Vec<(&'static str, String)> {
    match (page.objects.first(), page.objects.last()) {
        (Some(first), Some(last)) => vec![
            ("x-taxii-date-added-first", taxii::date_added(first.place)),
            ("x-taxii-date-added-last", taxii::date_added(last.place)),
        ],
        _ => Vec::new(),
    }
}

#[utoipa::path(get, path = "/api/v1/taxii2/lantern/collections/{collection}/objects/", tag = "feeds",
    params(("collection" = String, Path), ObjectsQuery),
    responses((status = 200, content_type = "application/taxii+json;version=2.1", body = Object, description = "An envelope"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 406, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn objects(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ObjectsQuery>,
) -> Result<Response, ApiError> {
    let (page, extra) = selected(&state, &caller, &id, &query.filter()?).await?;
    answer(&headers, taxii::envelope(page), &extra)
}

#[utoipa::path(get, path = "/api/v1/taxii2/lantern/collections/{collection}/objects/{object}/", tag = "feeds",
    params(("collection" = String, Path), ("object" = String, Path, description = "A STIX id")),
    responses((status = 200, content_type = "application/taxii+json;version=2.1", body = Object, description = "An envelope with the object"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody, description = "No such object: never held, or no longer live"),
        (status = 406, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn object(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    ApiPath((id, object)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let filter = Filter { ids: Some(vec![object.clone()]), limit: 1, ..Filter::default() };
    let (page, extra) = selected(&state, &caller, &id, &filter).await?;
    if page.objects.is_empty() {
        return Err(ApiError::not_found(format!("no object `{object}` in this collection")));
    }
    answer(&headers, taxii::envelope(page), &extra)
}

#[utoipa::path(get, path = "/api/v1/taxii2/lantern/collections/{collection}/manifest/", tag = "feeds",
    params(("collection" = String, Path), ObjectsQuery),
    responses((status = 200, content_type = "application/taxii+json;version=2.1", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 406, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn manifest(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ObjectsQuery>,
) -> Result<Response, ApiError> {
    let (page, extra) = selected(&state, &caller, &id, &query.filter()?).await?;
    answer(&headers, taxii::manifest(page), &extra)
}
