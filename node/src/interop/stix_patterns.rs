//! The registry × category matrix as STIX 2.1, for analysts' tools: one `report` of
//! `observed-data`, each observing one figure of the matrix as a `lantern-pattern-figure`, a new
//! cyber-observable type defined by Lantern's second extension (its JSON schema:
//! `docs/stix/lantern-pattern-figure.json`). Only what the matrix shows is in it: hidden groups
//! are left out, the figures carry the matrix's noise, and nothing names a member or a case.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::patterns::query::{Figure, Matrix, Period};
use lantern_protocol::{FederationId, Month};

/// Lantern's extension defining the figure observable.
pub const FIGURE_EXTENSION: &str = "extension-definition--4a2e8f1b-7d2c-5e3f-8b58-6c616e746572";
pub const FIGURE_TYPE: &str = "lantern-pattern-figure";

fn figure_extension() -> Value {
    json!({
        "type": "extension-definition", "spec_version": "2.1", "id": FIGURE_EXTENSION,
        "created_by_ref": super::stix::LANTERN, "created": super::stix::EXTENSION_CREATED, "modified": super::stix::EXTENSION_CREATED,
        "name": "Lantern pattern figure",
        "description": "One figure of a Lantern federation's k-anonymous pattern matrix: distinct operators and cases for a registry and an incident category (or all of either) over a period, with noise.",
        "schema": "https://github.com/lantern-federation/lantern/blob/main/docs/stix/lantern-pattern-figure.json",
        "version": "1.0",
        "extension_types": ["new-sco"],
    })
}

/// The JSON schema of a figure's properties (shipped as `docs/stix/lantern-pattern-figure.json`).
pub fn figure_schema() -> Value {
    use lantern_protocol::vocab::{Category, Registry};
    let labels = |all: Vec<&'static str>| json!({ "type": "string", "enum": all });
    let mut registries: Vec<&str> = Registry::ALL.iter().map(|r| r.label()).collect();
    registries.push("all registries");
    let mut categories: Vec<&str> = Category::ALL.iter().map(|c| c.label()).collect();
    categories.push("all categories");
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/lantern-federation/lantern/blob/main/docs/stix/lantern-pattern-figure.json",
        "title": "Lantern pattern figure (STIX 2.1 cyber-observable, new-sco extension)",
        "type": "object",
        "required": ["type", "id", "registry", "category", "period", "operators", "cases", "k_threshold"],
        "properties": {
            "type": { "const": FIGURE_TYPE },
            "registry": labels(registries),
            "category": labels(categories),
            "period": { "type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])\\.\\.[0-9]{4}-(0[1-9]|1[0-2])$" },
            "filter": { "type": "string" },
            "operators": { "type": "integer", "minimum": 0 },
            "cases": { "type": "integer", "minimum": 0 },
            "k_threshold": { "type": "integer", "minimum": 1 },
        },
    })
}

fn timestamp(month: Month) -> String {
    format!("{month}-01T00:00:00.000Z")
}

/// The first instant after `month`.
fn end_of(month: Month) -> String {
    Month::from_index(month.index() + 1).map_or_else(|_| format!("{month}-28T23:59:59.999Z"), timestamp)
}

/// The matrix as a list of STIX objects: the federation, Lantern, the extension, and per shown
/// figure an observable and its observed-data, all in one report.
/// `as_of`: the place in the arrival log of the newest record counted; a report of other data is
/// another report (other ids), so tools that poll keep each as a snapshot.
pub fn report(name: &str, federation: &FederationId, period: Period, m: &Matrix, as_of: u64) -> Vec<Value> {
    let namespace = Uuid::new_v5(&super::federation_uuid(federation), format!("pattern report {as_of}").as_bytes());
    let by = format!("identity--{}", super::federation_uuid(federation));
    let (first, last) = (timestamp(period.first), end_of(period.last));
    let period_label = format!("{}..{}", period.first, period.last);
    let mut objects = vec![
        super::stix::federation_identity(name, federation, period.first),
        super::stix::lantern_identity(),
        figure_extension(),
    ];
    let mut refs = Vec::new();
    let mut figure = |registry: &str, category: &str, f: &Figure| {
        let (Some(operators), Some(cases)) = (f.operators, f.cases) else { return };
        if f.suppressed || cases == 0 {
            return;
        }
        let key = format!("{period_label}|{}|{registry}|{category}", m.filter.as_deref().unwrap_or(""));
        let sco = format!("{FIGURE_TYPE}--{}", Uuid::new_v5(&namespace, key.as_bytes()));
        let mut observable = json!({
            "type": FIGURE_TYPE, "spec_version": "2.1", "id": sco,
            "registry": registry, "category": category, "period": period_label,
            "operators": operators, "cases": cases, "k_threshold": m.k,
            "extensions": { FIGURE_EXTENSION: { "extension_type": "new-sco" } },
        });
        if let Some(filter) = &m.filter {
            observable["filter"] = json!(filter);
        }
        let observed = format!("observed-data--{}", Uuid::new_v5(&namespace, format!("observed {key}").as_bytes()));
        objects.push(observable);
        objects.push(json!({
            "type": "observed-data", "spec_version": "2.1", "id": observed, "created_by_ref": by,
            "created": last, "modified": last, "first_observed": first, "last_observed": last,
            "number_observed": cases.min(999_999_999), "object_refs": [sco],
        }));
        refs.push(observed);
    };
    for c in &m.cells {
        figure(c.registry.label(), c.category.label(), &c.figure);
    }
    for t in &m.registries {
        figure(t.registry.label(), "all categories", &t.figure);
    }
    for t in &m.categories {
        figure("all registries", t.category.label(), &t.figure);
    }
    if refs.is_empty() {
        return Vec::new();
    }
    let report = format!("report--{}", Uuid::new_v5(&namespace, format!("report {period_label}").as_bytes()));
    objects.push(json!({
        "type": "report", "spec_version": "2.1", "id": report, "created_by_ref": by,
        "created": last, "modified": last, "published": last,
        "name": format!("Registry × incident category, {period_label}"),
        "description": format!("Distinct operators and cases per registry and incident category in {name}; groups of fewer than {} operators are hidden and every figure carries a little noise.", m.k),
        "report_types": ["observed-data"],
        "object_refs": refs,
    }));
    objects
}

/// A bundle of the matrix report for `period` (no filter), as `lantern export --format
/// stix-patterns` writes it and the analysts' TAXII collection serves it.
pub fn bundle(federation: &crate::federation::Federation, period: Period) -> Result<Value, super::FeedError> {
    let manifest = federation.manifest();
    let scope = crate::patterns::query::Scope { period, filter: None };
    let m = federation.with_patterns(|p| p.matrix(scope))?;
    let objects = report(&manifest.name, &manifest.id(), period, &m, as_of(federation)?);
    let ids: Vec<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    let id = Uuid::new_v5(&super::federation_uuid(&manifest.id()), ids.join(",").as_bytes());
    Ok(json!({ "type": "bundle", "id": format!("bundle--{id}"), "objects": objects }))
}

/// The place of the newest record held (0 for none): what a report of the held records is as of.
pub fn as_of(federation: &crate::federation::Federation) -> Result<u64, super::FeedError> {
    Ok(federation.store().records_before(None, 1)?.first().map_or(0, |r| r.arrival))
}

/// The report of the last 12 months as placed objects for TAXII: all at `as_of`, so a poll
/// after it finds nothing until a record arrives, then the new report whole.
pub fn placed(federation: &crate::federation::Federation) -> Result<Vec<super::stix::Placed>, super::FeedError> {
    let manifest = federation.manifest();
    let period = Period::year_to(crate::this_month());
    let m = federation.with_patterns(|p| p.matrix(crate::patterns::query::Scope { period, filter: None }))?;
    let as_of = as_of(federation)?;
    Ok(report(&manifest.name, &manifest.id(), period, &m, as_of)
        .into_iter()
        .map(|object| super::stix::Placed { place: as_of, object })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `LANTERN_BLESS=1 cargo test -p lantern-node --lib stix_patterns` writes the file anew.
    #[test]
    fn the_shipped_figure_schema_is_the_vocabulary() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/stix/lantern-pattern-figure.json");
        if std::env::var_os("LANTERN_BLESS").is_some() {
            std::fs::write(&path, serde_json::to_string_pretty(&figure_schema()).unwrap() + "\n").unwrap();
        }
        let shipped: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("shipped")).expect("JSON");
        assert_eq!(shipped, figure_schema(), "the vocabulary changed: regenerate {} (LANTERN_BLESS=1)", path.display());
    }
}
