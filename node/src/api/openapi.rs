//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{cases, error, node, patterns, records};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("The member token (api.token) or, for pattern queries, an analyst token".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Lantern node API", description = "A federated case-sharing node for network operators. \
        Errors are JSON: {\"error\": {\"code\", \"message\", \"field\"?}}."),
    paths(
        node::health, node::ready, node::info, node::vocabulary, node::members, node::vouch, node::peers, node::sync,
        cases::list, cases::create, cases::get_one, cases::update, cases::delete, cases::preview,
        cases::publish, cases::amend, cases::retract, cases::purge, cases::similar, cases::redact_preview,
        records::list, records::get_one, records::export,
        patterns::matrix, patterns::trends, patterns::emerging, patterns::durations, patterns::cooccurrence,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth),
    tags((name = "cases", description = "The member's private cases and publishing"),
        (name = "records", description = "The federation's signed records"),
        (name = "patterns", description = "Patterns across operators, k-anonymous"),
        (name = "node", description = "Health, identity, membership, peers, sync")),
)]
pub struct ApiDoc;

/// The OpenAPI document.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
