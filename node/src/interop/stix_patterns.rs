//! The pattern views (the registry × category matrix, quarterly trends by category, emerging
//! pairs) as STIX 2.1, for analysts' tools: one `report` of
//! `observed-data`, each observing one figure of the matrix as a `lantern-pattern-figure`, a new
//! cyber-observable type defined by Lantern's second extension (its JSON schema:
//! `docs/stix/lantern-pattern-figure.json`). Only what the matrix shows is in it: hidden groups
//! are left out, the figures carry the matrix's noise, and nothing names a member or a case.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::patterns::emerging::Emerging;
use crate::patterns::query::{Figure, Matrix, Period, Step, TrendBy, Trends};
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
        "required": ["type", "id", "view", "registry", "category", "period", "operators", "cases", "k_threshold"],
        "properties": {
            "type": { "const": FIGURE_TYPE },
            "view": { "enum": ["matrix", "trend", "emerging"] },
            "expected": { "type": "number", "minimum": 0 },
            "ratio": { "type": "number", "minimum": 0 },
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

/// What one report shows: the matrix, the quarterly trend of each category, and the emerging
/// pairs, as the analyst's API gives them (k-suppressed and noised).
pub struct Views<'a> {
    pub matrix: &'a Matrix,
    pub trends: &'a Trends,
    pub emerging: &'a Emerging,
}

/// One figure of a view, before it becomes an observable.
struct Shown<'a> {
    view: &'static str,
    registry: &'a str,
    category: &'a str,
    period: Period,
    figure: Figure,
    /// For an emerging pair: the cases expected at the baseline rate, and the ratio.
    emerging: Option<(f64, f64)>,
}

/// The views as a list of STIX objects: the federation, Lantern, the extension, and per shown
/// figure an observable and its observed-data, all in one report.
/// `as_of`: the place in the arrival log of the newest record counted; a report of other data is
/// another report (other ids), so tools that poll keep each as a snapshot.
pub fn report(name: &str, federation: &FederationId, period: Period, views: &Views<'_>, as_of: u64) -> Vec<Value> {
    let m = views.matrix;
    let namespace = Uuid::new_v5(&super::federation_uuid(federation), format!("pattern report {as_of}").as_bytes());
    let by = format!("identity--{}", super::federation_uuid(federation));
    let period_label = format!("{}..{}", period.first, period.last);
    let mut shown: Vec<Shown<'_>> = Vec::new();
    let mut add = |view, registry, category, period, figure: &Figure| {
        shown.push(Shown { view, registry, category, period, figure: *figure, emerging: None });
    };
    for c in &m.cells {
        add("matrix", c.registry.label(), c.category.label(), period, &c.figure);
    }
    for t in &m.registries {
        add("matrix", t.registry.label(), "all categories", period, &t.figure);
    }
    for t in &m.categories {
        add("matrix", "all registries", t.category.label(), period, &t.figure);
    }
    for series in &views.trends.series {
        for point in &series.points {
            if let Ok(p) = point.period.parse::<Period>() {
                add("trend", "all registries", series.name.as_str(), p, &point.figure);
            }
        }
    }
    let e = views.emerging;
    if let Ok(until) = e.until.parse::<Month>() {
        let first = Month::from_index(until.index() + 1 - i64::from(e.recent_months)).unwrap_or(until);
        for pair in &e.pairs {
            let figure = Figure { operators: Some(pair.operators), cases: Some(pair.recent_cases), suppressed: false };
            shown.push(Shown {
                view: "emerging",
                registry: pair.registry.label(),
                category: pair.category.label(),
                period: Period { first, last: until },
                figure,
                emerging: Some((pair.expected, pair.ratio)),
            });
        }
    }
    let mut objects = vec![
        super::stix::federation_identity(name, federation, period.first),
        super::stix::lantern_identity(),
        figure_extension(),
    ];
    let mut refs = Vec::new();
    for s in shown {
        let (Some(operators), Some(cases)) = (s.figure.operators, s.figure.cases) else { continue };
        if s.figure.suppressed || cases == 0 {
            continue;
        }
        let label = format!("{}..{}", s.period.first, s.period.last);
        let key = format!("{}|{label}|{}|{}|{}", s.view, m.filter.as_deref().unwrap_or(""), s.registry, s.category);
        let sco = format!("{FIGURE_TYPE}--{}", Uuid::new_v5(&namespace, key.as_bytes()));
        let mut observable = json!({
            "type": FIGURE_TYPE, "spec_version": "2.1", "id": sco, "view": s.view,
            "registry": s.registry, "category": s.category, "period": label,
            "operators": operators, "cases": cases, "k_threshold": m.k,
            "extensions": { FIGURE_EXTENSION: { "extension_type": "new-sco" } },
        });
        if let Some(filter) = &m.filter {
            observable["filter"] = json!(filter);
        }
        if let Some((expected, ratio)) = s.emerging {
            observable["expected"] = json!((expected * 10.0).round() / 10.0);
            observable["ratio"] = json!((ratio * 10.0).round() / 10.0);
        }
        let observed = format!("observed-data--{}", Uuid::new_v5(&namespace, format!("observed {key}").as_bytes()));
        let (first, last) = (timestamp(s.period.first), end_of(s.period.last));
        objects.push(observable);
        objects.push(json!({
            "type": "observed-data", "spec_version": "2.1", "id": observed, "created_by_ref": by,
            "created": end_of(period.last), "modified": end_of(period.last), "first_observed": first, "last_observed": last,
            "number_observed": cases.min(999_999_999), "object_refs": [sco],
        }));
        refs.push(observed);
    }
    if refs.is_empty() {
        return Vec::new();
    }
    let at = end_of(period.last);
    let report = format!("report--{}", Uuid::new_v5(&namespace, format!("report {period_label}").as_bytes()));
    objects.push(json!({
        "type": "report", "spec_version": "2.1", "id": report, "created_by_ref": by,
        "created": at, "modified": at, "published": at,
        "name": format!("Patterns of {name}, {period_label}"),
        "description": format!("Distinct operators and cases per registry and incident category, the quarterly trend of each category, and the pairs above their baseline, in {name}; groups of fewer than {} operators are hidden and every figure carries a little noise.", m.k),
        "report_types": ["observed-data"],
        "object_refs": refs,
    }));
    objects
}

/// The views of `period` (no filter): the matrix, quarterly trends by category, and what is
/// emerging up to the period's last month.
fn views_of(
    federation: &crate::federation::Federation,
    period: Period,
) -> Result<(Matrix, Trends, Emerging), super::FeedError> {
    let scope = crate::patterns::query::Scope { period, filter: None };
    Ok(federation.with_patterns(|p| {
        (
            p.matrix(scope),
            p.trends(scope, TrendBy::Category, Step::Quarter),
            p.emerging(period.last, crate::patterns::emerging::Windows::default()),
        )
    })?)
}

/// A bundle of the matrix report for `period` (no filter), as `lantern export --format
/// stix-patterns` writes it and the analysts' TAXII collection serves it.
pub fn bundle(federation: &crate::federation::Federation, period: Period) -> Result<Value, super::FeedError> {
    let manifest = federation.manifest();
    let (matrix, trends, emerging) = views_of(federation, period)?;
    let views = Views { matrix: &matrix, trends: &trends, emerging: &emerging };
    let objects = report(&manifest.name, &manifest.id(), period, &views, as_of(federation)?);
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
    let (matrix, trends, emerging) = views_of(federation, period)?;
    let views = Views { matrix: &matrix, trends: &trends, emerging: &emerging };
    let as_of = as_of(federation)?;
    Ok(report(&manifest.name, &manifest.id(), period, &views, as_of)
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
