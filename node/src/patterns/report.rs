//! Answers as tables, for the CLI (text, CSV) and the API's CSV downloads.

use super::emerging::Emerging;
use super::query::{CoOccurrence, Durations, Figure, Matrix, Trends};
use super::similar::Similar;
use crate::table::Table;

fn num(v: Option<u64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn figure_cells(f: &Figure) -> [String; 3] {
    [num(f.operators), num(f.cases), if f.suppressed { "suppressed".into() } else { String::new() }]
}

/// The label of a total over all registries or all categories.
const ALL: &str = "(all)";

/// Every cell when `all` (CSV), else only shown ones (text); then the registry totals and the
/// category totals, as rows whose other column is "(all)".
pub fn matrix(m: &Matrix, all: bool) -> Table {
    let mut t = Table::new(&["registry", "category", "operators", "cases", "note"]);
    let mut row = |registry: &str, category: &str, f: &Figure| {
        if all || f.is_shown() {
            let [o, n, s] = figure_cells(f);
            t.row(vec![registry.into(), category.into(), o, n, s]);
        }
    };
    for c in &m.cells {
        row(c.registry.label(), c.category.label(), &c.figure);
    }
    for r in &m.registries {
        row(r.registry.label(), ALL, &r.figure);
    }
    for c in &m.categories {
        row(ALL, c.category.label(), &c.figure);
    }
    t
}

/// One row per series and period.
pub fn trends(tr: &Trends, all: bool) -> Table {
    let mut t = Table::new(&["series", "period", "operators", "cases", "note"]);
    for s in &tr.series {
        if !all && s.points.iter().all(|p| p.figure.suppressed) {
            continue;
        }
        for p in &s.points {
            let [o, n, sup] = figure_cells(&p.figure);
            t.row(vec![s.name.clone(), p.period.clone(), o, n, sup]);
        }
    }
    t
}

pub fn emerging(e: &Emerging) -> Table {
    let mut t = Table::new(&["registry", "category", "recent", "expected", "ratio", "p-value", "operators"]);
    for p in &e.pairs {
        t.row(vec![
            p.registry.label().into(),
            p.category.label().into(),
            p.recent_cases.to_string(),
            format!("{:.1}", p.expected),
            format!("{:.1}", p.ratio),
            format!("{:.1e}", p.p_value),
            p.operators.to_string(),
        ]);
    }
    t
}

pub fn durations(d: &Durations) -> Table {
    let mut t = Table::new(&[
        "registry",
        "category",
        "operators",
        "cases",
        "resolved",
        "median months",
        "p90 months",
        "outcomes",
    ]);
    for r in &d.rows {
        let outcomes: Vec<String> =
            r.outcomes.iter().map(|o| format!("{} {:.0}%", o.outcome.label(), o.share * 100.0)).collect();
        t.row(vec![
            r.registry.label().into(),
            r.category.label().into(),
            r.operators.to_string(),
            r.cases.to_string(),
            num(r.resolved),
            r.median_months.map_or_else(String::new, |m| m.to_string()),
            r.p90_months.map_or_else(String::new, |m| m.to_string()),
            outcomes.join("; "),
        ]);
    }
    t
}

pub fn co_occurrence(c: &CoOccurrence) -> Table {
    let mut t = Table::new(&["category", "with", "operators", "cases"]);
    for p in &c.pairs {
        t.row(vec![
            p.categories[0].label().into(),
            p.categories[1].label().into(),
            num(p.figure.operators),
            num(p.figure.cases),
        ]);
    }
    t
}

pub fn similar(s: &Similar) -> Table {
    let mut t = Table::new(&["score", "record", "registry", "categories", "start"]);
    for m in &s.matches {
        let cats: Vec<&str> = m.categories.iter().map(|c| c.label()).collect();
        t.row(vec![
            format!("{:.3}", m.score),
            m.record.to_hex(),
            m.registry.label().into(),
            cats.join("; "),
            m.start.clone(),
        ]);
    }
    t
}
