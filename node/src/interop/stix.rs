//! A STIX 2.1 bundle of the federation's live summaries: one `incident` per summary, carrying
//! the summary's fields in a Lantern property extension (its `extension-definition` in the
//! bundle, its JSON schema in `docs/stix/lantern-case-extension.json`), created by the
//! federation as an `identity` of class group, marked TLP:AMBER (the OASIS TLP 2.0 marking),
//! with month-coarse `created`/`modified`.

use lantern_protocol::{CaseSummary, Month, RecordId};
use serde_json::{Value, json};
use uuid::Uuid;

use super::FeedError;
use crate::federation::Federation;

/// The TLP 2.0 TLP:AMBER marking definition, as OASIS publishes it (fixed id).
const TLP_AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const TLP_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
/// Lantern's case extension: one id for every federation (the schema is the protocol's).
const EXTENSION: &str = "extension-definition--3f1d7e0a-6c1b-5d2e-9a47-6c616e746572";
/// The Lantern project, as the extension's creator.
pub(super) const LANTERN: &str = "identity--6c616e74-6572-5000-8000-000000000001";
/// When the extension's version 1 was defined.
pub(super) const EXTENSION_CREATED: &str = "2026-12-01T00:00:00.000Z";

/// A STIX timestamp at the start of `month`.
fn timestamp(month: Month) -> String {
    format!("{month}-01T00:00:00.000Z")
}

fn tlp_amber() -> Value {
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP_AMBER,
        "created": "2022-10-01T00:00:00.000Z",
        "name": "TLP:AMBER",
        "extensions": { TLP_EXTENSION: { "extension_type": "property-extension", "tlp_2_0": "amber" } },
    })
}

/// The federation as the publishing organisation (an identity of class group).
pub(super) fn federation_identity(name: &str, id: &lantern_protocol::FederationId, created: Month) -> Value {
    let created = timestamp(created);
    json!({
        "type": "identity", "spec_version": "2.1", "id": format!("identity--{}", super::federation_uuid(id)),
        "created": created, "modified": created,
        "name": name, "identity_class": "group",
        "description": "A Lantern federation of network operators; it publishes its members' cases, never naming them.",
    })
}

pub(super) fn lantern_identity() -> Value {
    json!({
        "type": "identity", "spec_version": "2.1", "id": LANTERN,
        "created": EXTENSION_CREATED, "modified": EXTENSION_CREATED,
        "name": "Lantern", "identity_class": "system",
        "description": "The Lantern federated case-sharing node, which defines the case extension.",
    })
}

fn extension_definition() -> Value {
    json!({
        "type": "extension-definition", "spec_version": "2.1", "id": EXTENSION,
        "created_by_ref": LANTERN, "created": EXTENSION_CREATED, "modified": EXTENSION_CREATED,
        "name": "Lantern registry case",
        "description": "An Internet registry case as a Lantern federation shares it: registry, categories, start month, timeline in months, outcome, duration and impact buckets, resource size buckets.",
        "schema": "https://github.com/lantern-federation/lantern/blob/main/docs/stix/lantern-case-extension.json",
        "version": "1.0",
        "extension_types": ["property-extension"],
    })
}

/// The summary's fields in the extension (its JSON schema says what each is).
fn case_properties(summary: &CaseSummary) -> Value {
    json!({
        "extension_type": "property-extension",
        "registry": summary.registry.label(),
        "categories": summary.categories.iter().map(|c| c.label()).collect::<Vec<_>>(),
        "start": summary.start.to_string(),
        "timeline": summary.timeline.iter().map(|t| json!({ "stage": t.stage.label(), "months": t.month })).collect::<Vec<_>>(),
        "outcome": summary.outcome.label(),
        "duration": summary.duration.label(),
        "resources": summary.resources.iter().map(|r| r.label()).collect::<Vec<_>>(),
        "impact": {
            "customers": summary.impact.customers.label(),
            "downtime": summary.impact.downtime.label(),
            "cost": summary.impact.cost.label(),
            "services": summary.impact.services.iter().map(|s| s.label()).collect::<Vec<_>>(),
        },
    })
}

fn incident(federation_ref: &str, id: &RecordId, summary: &CaseSummary, created: Month) -> Value {
    let categories: Vec<&str> = summary.categories.iter().map(|c| c.label()).collect();
    let mut incident = json!({
        "type": "incident", "spec_version": "2.1",
        "id": format!("incident--{}", super::record_uuid(id)),
        "created_by_ref": federation_ref,
        "created": timestamp(created), "modified": timestamp(created),
        "name": format!("{}: {} (case started {})", summary.registry.label(), categories.join(", "), summary.start),
        "object_marking_refs": [TLP_AMBER],
        "extensions": { EXTENSION: case_properties(summary) },
    });
    if !summary.narrative.is_empty() {
        incident["description"] = json!(summary.narrative);
    }
    incident
}

/// The JSON schema of the extension's properties, from the protocol's vocabulary.
pub fn extension_schema() -> Value {
    use lantern_protocol::vocab::*;
    fn labels<T: Copy>(all: &[T], label: fn(T) -> &'static str) -> Value {
        json!({ "type": "string", "enum": all.iter().map(|v| label(*v)).collect::<Vec<_>>() })
    }
    let month = json!({ "type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$" });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/lantern-federation/lantern/blob/main/docs/stix/lantern-case-extension.json",
        "title": "Lantern registry case (STIX 2.1 property extension)",
        "type": "object",
        "additionalProperties": false,
        "required": ["extension_type", "registry", "categories", "start", "timeline", "outcome", "duration", "resources", "impact"],
        "properties": {
            "extension_type": { "const": "property-extension" },
            "registry": labels(Registry::ALL, Registry::label),
            "categories": { "type": "array", "minItems": 1, "uniqueItems": true, "items": labels(Category::ALL, Category::label) },
            "start": month,
            "timeline": { "type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["stage", "months"],
                "properties": { "stage": labels(Stage::ALL, Stage::label), "months": { "type": "integer", "minimum": 0 } },
            }},
            "outcome": labels(Outcome::ALL, Outcome::label),
            "duration": labels(DurationBucket::ALL, DurationBucket::label),
            "resources": { "type": "array", "items": { "type": "string" } },
            "impact": {
                "type": "object", "additionalProperties": false, "required": ["customers", "downtime", "cost", "services"],
                "properties": {
                    "customers": labels(CustomersBucket::ALL, CustomersBucket::label),
                    "downtime": labels(DowntimeBucket::ALL, DowntimeBucket::label),
                    "cost": labels(CostBucket::ALL, CostBucket::label),
                    "services": { "type": "array", "uniqueItems": true, "items": labels(Service::ALL, Service::label) },
                },
            },
        },
    })
}

/// A STIX object with its place in this node's arrival order: the fixed objects (the
/// federation's identity, Lantern's, the extension, the marking) at 0–3, each incident at twice
/// its record's arrival number (never under 1 << 17: block 0 holds no records), a revoked one
/// just after the record that replaced it. Objects may share a place: order is (place, id).
pub struct Placed {
    pub place: u64,
    pub object: Value,
}

/// The federation's live summaries as STIX objects, with what they refer to, in arrival order.
pub fn objects(federation: &Federation) -> Result<Vec<Placed>, FeedError> {
    let manifest = federation.manifest();
    let federation_ref = format!("identity--{}", super::federation_uuid(&manifest.id()));
    let fixed = [
        federation_identity(&manifest.name, &manifest.id(), manifest.created),
        lantern_identity(),
        extension_definition(),
        tlp_amber(),
    ];
    let mut out: Vec<Placed> =
        fixed.into_iter().enumerate().map(|(i, object)| Placed { place: i as u64, object }).collect();
    let mut live = super::live_summaries(federation)?;
    live.sort_by_key(|l| l.arrival);
    // Places are twice the arrival, so a revocation (odd) follows the record that caused it.
    for l in &live {
        out.push(Placed { place: 2 * l.arrival, object: incident(&federation_ref, &l.id, &l.summary, l.created) });
    }
    // What an amendment or a retraction replaced: the same incident, revoked, as a later version
    // (1 ms after the month it was made: STIX versions are ordered by `modified`).
    for r in super::replaced_summaries(federation)? {
        let mut revoked = incident(&federation_ref, &r.summary.id, &r.summary.summary, r.summary.created);
        revoked["revoked"] = json!(true);
        revoked["modified"] = json!(format!("{}-01T00:00:00.001Z", r.summary.created));
        out.push(Placed { place: 2 * r.replaced_at + 1, object: revoked });
    }
    out.sort_by(|a, b| (a.place, a.object["id"].as_str()).cmp(&(b.place, b.object["id"].as_str())));
    Ok(out)
}

/// The bundle of the federation's live summaries.
pub fn bundle(federation: &Federation) -> Result<Value, FeedError> {
    let manifest = federation.manifest();
    let placed = objects(federation)?;
    // The same live set gives the same bundle id.
    let mut ids: Vec<&str> = placed.iter().filter_map(|p| p.object["id"].as_str()).collect();
    ids.sort_unstable();
    let digest = blake3::hash(ids.join(",").as_bytes());
    let id = Uuid::new_v5(&super::federation_uuid(&manifest.id()), digest.as_bytes());
    let objects: Vec<Value> = placed.into_iter().map(|p| p.object).collect();
    Ok(json!({ "type": "bundle", "id": format!("bundle--{id}"), "objects": objects }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `LANTERN_BLESS=1 cargo test -p lantern-node --lib stix` writes the file anew.
    #[test]
    fn the_shipped_extension_schema_is_the_vocabulary() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/stix/lantern-case-extension.json");
        if std::env::var_os("LANTERN_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, serde_json::to_string_pretty(&extension_schema()).unwrap() + "\n").unwrap();
        }
        let shipped: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("shipped")).expect("JSON");
        assert_eq!(
            shipped,
            extension_schema(),
            "the vocabulary changed: regenerate {} (LANTERN_BLESS=1)",
            path.display()
        );
    }
}
