//! `lantern patterns`: the pattern queries, as tables or CSV.

use anyhow::Result;
use lantern_node::datadir::DataDir;
use lantern_node::patterns::emerging::Windows;
use lantern_node::patterns::query::{Period, Scope};
use lantern_node::patterns::report;
use lantern_node::table::Table;
use serde::Serialize;

use crate::{PatternsArgs, PatternsCmd, ScopeArgs};

fn scope(args: &ScopeArgs) -> Result<Scope> {
    let period = match &args.period {
        Some(p) => p.parse()?,
        None => Period::year_to(lantern_node::this_month()),
    };
    let filter = args.filter.as_deref().map(str::parse).transpose()?;
    Ok(Scope { period, filter })
}

fn print<T: Serialize>(args: &PatternsArgs, answer: &T, table: impl Fn(bool) -> Table, footer: String) -> Result<()> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(answer)?);
    } else if args.csv {
        print!("{}", table(true).csv());
    } else {
        let t = table(false);
        if t.is_empty() {
            println!("(nothing to show)")
        } else {
            print!("{}", t.text())
        }
        println!("{footer}");
    }
    Ok(())
}

/// One pattern query's answer, from the store or from a running node's API.
pub enum Answer {
    Matrix(lantern_node::patterns::query::Matrix),
    Trends(lantern_node::patterns::query::Trends),
    Emerging(lantern_node::patterns::emerging::Emerging),
    Durations(lantern_node::patterns::query::Durations),
    CoOccurrence(lantern_node::patterns::query::CoOccurrence),
    Similar(lantern_node::patterns::similar::Similar),
}

pub fn run(dir: &DataDir, args: PatternsArgs) -> Result<()> {
    let federation = dir.federation()?;
    let k = usize::from(federation.manifest().policy.k_threshold);
    let answer = match &args.query {
        PatternsCmd::Matrix(s) => {
            let scope = scope(s)?;
            Answer::Matrix(federation.with_patterns(|p| p.matrix(scope))?)
        }
        PatternsCmd::Trends { scope: s, by, step } => {
            let scope = scope(s)?;
            Answer::Trends(federation.with_patterns(|p| p.trends(scope, *by, *step))?)
        }
        PatternsCmd::Emerging { until, recent, baseline } => {
            let until = until.unwrap_or_else(lantern_node::this_month);
            let windows = Windows { recent: *recent, baseline: *baseline };
            Answer::Emerging(federation.with_patterns(|p| p.emerging(until, windows))?)
        }
        PatternsCmd::Durations { period } => {
            let scope = scope(&ScopeArgs { period: period.clone(), filter: None })?;
            Answer::Durations(federation.with_patterns(|p| p.durations(scope.period))?)
        }
        PatternsCmd::Cooccurrence { period, registry } => {
            let scope = scope(&ScopeArgs { period: period.clone(), filter: None })?;
            Answer::CoOccurrence(federation.with_patterns(|p| p.co_occurrence(scope.period, *registry))?)
        }
        PatternsCmd::Similar { case_id, limit } => Answer::Similar(federation.similar_to(*case_id, *limit)?),
    };
    show(&args, k, &answer)
}

/// Prints an answer as `--json`, `--csv` or a table with its footer: the same whether it came
/// from the store or through a running node.
pub fn show(args: &PatternsArgs, k: usize, answer: &Answer) -> Result<()> {
    let rule = format!("groups of fewer than {k} operators are suppressed; figures carry noise of about ±1-2");
    match answer {
        Answer::Matrix(m) => {
            let hidden = m.cells.iter().filter(|c| c.figure.suppressed).count();
            let footer = format!("{}: {hidden} of {} groups suppressed ({rule})", m.period, m.cells.len());
            print(args, m, |all| report::matrix(m, all), footer)
        }
        Answer::Trends(t) => print(args, t, |all| report::trends(t, all), format!("{}: {rule}", t.period)),
        Answer::Emerging(e) => {
            let footer = format!(
                "last {} months to {} against the {} before; p < {:.1e}; {rule}",
                e.recent_months, e.until, e.baseline_months, e.threshold
            );
            print(args, e, |_| report::emerging(e), footer)
        }
        Answer::Durations(d) => print(args, d, |_| report::durations(d), format!("{}: {rule}", d.period)),
        Answer::CoOccurrence(c) => print(args, c, |_| report::co_occurrence(c), format!("{}: {rule}", c.period)),
        Answer::Similar(s) => {
            let footer = match s.operators {
                Some(n) => format!("{n} operators published cases like yours (score >= {})", s.like_score),
                None => format!("fewer than {k} operators published cases like yours (score >= {})", s.like_score),
            };
            print(args, s, |_| report::similar(s), footer)
        }
    }
}
