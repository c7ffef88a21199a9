//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{cases, error, feeds, node, patterns, records, taxii};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("The member token (api.token) or, for pattern queries, an analyst token".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The answers every operation can get from the edge, whatever its handler does: documented on
/// each operation so a client (or Schemathesis) finds every status the server really sends.
struct EdgeResponses;

impl Modify for EdgeResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        let answer = |description: &str| {
            ResponseBuilder::new().description(description).content("application/json", error()).build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (&mut item.get, false),
                (&mut item.put, true),
                (&mut item.post, true),
                (&mut item.delete, true),
                (&mut item.patch, true),
            ];
            for (operation, write) in operations {
                let Some(op) = operation.as_mut() else { continue };
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut add = |status: &str, description: &str| {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| answer(description).into());
                };
                add("405", "Method not allowed on this path (the `Allow` header lists those that are)");
                add("413", "A declared or sent body over 256 KiB");
                add("503", "The node took over 30 s to answer");
                if secured {
                    add("401", "Missing or invalid bearer token");
                    add("403", "An analyst token on a member-only route");
                }
                if write {
                    add("400", "Malformed JSON or parameter");
                    add("415", "The body is not JSON (Content-Type: application/json)");
                    add("507", "The node's disk is full: nothing of the write was kept (`code: disk_full`)");
                    if secured {
                        add("429", "The member token's write budget is spent (see Retry-After)");
                    }
                } else {
                    add("400", "A malformed parameter");
                }
            }
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Lantern node API", description = "A federated case-sharing node for network operators. \
        Errors are JSON: {\"error\": {\"code\", \"message\", \"field\"?}}."),
    paths(
        node::health, node::ready, node::info, node::vocabulary, node::members, node::vouch, node::peers, node::sync,
        node::analyst_log,
        cases::list, cases::create, cases::get_one, cases::update, cases::delete, cases::preview,
        cases::publish, cases::amend, cases::retract, cases::purge, cases::similar, cases::redact_preview,
        cases::evidence_proof,
        records::list, records::get_one, records::export,
        patterns::matrix, patterns::trends, patterns::emerging, patterns::durations, patterns::cooccurrence,
        feeds::misp_manifest, feeds::misp_hashes, feeds::misp_event,
        taxii::discovery, taxii::api_root, taxii::collections, taxii::collection, taxii::objects, taxii::object, taxii::manifest,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    modifiers(&BearerAuth, &EdgeResponses),
    tags((name = "cases", description = "The member's private cases and publishing"),
        (name = "records", description = "The federation's signed records"),
        (name = "patterns", description = "Patterns across operators, k-anonymous"),
        (name = "node", description = "Health, identity, membership, peers, sync"),
        (name = "feeds", description = "The live summaries for other tools (a MISP feed)")),
)]
pub struct ApiDoc;

/// The OpenAPI document.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
