//! The questions analysts ask, and their answers. Every figure comes from shown base cells only
//! (see [`super::disclosure`]); a group that cannot be shown is marked suppressed.

use std::fmt;
use std::str::FromStr;

use lantern_protocol::Month;
use lantern_protocol::summary::ResourceBucket;
use lantern_protocol::vocab::*;
use serde::Serialize;
use thiserror::Error;

use super::Patterns;
use super::disclosure::Tally;
use super::grid::{CellKey, Family, Filter, NO_FILTER, RESOLUTION_BINS, pair_index};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QueryError {
    #[error("period `{0}`: expected YYYY-MM, YYYY-Qn, YYYY or FROM..TO (months, both included)")]
    Period(String),
    #[error("period `{0}`: longer than {MAX_PERIOD_MONTHS} months")]
    PeriodTooLong(String),
    #[error("filter `{0}`: expected outcome=…, org_type=…, region=…, resource_kind=… or resource=KIND SIZE")]
    FilterSyntax(String),
    #[error("filter `{field}`: {message}")]
    FilterValue { field: &'static str, message: String },
}

/// Longest period a query may span: 50 years.
pub const MAX_PERIOD_MONTHS: i64 = 600;

/// A span of whole calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub first: Month,
    pub last: Month,
}

impl Period {
    pub fn month(m: Month) -> Self {
        Self { first: m, last: m }
    }

    /// The twelve months ending with `last`.
    pub fn year_to(last: Month) -> Self {
        Self { first: Month::from_index(last.index() - 11).unwrap_or(last), last }
    }

    /// Month indexes (months since 0000-01), in order.
    pub fn months(&self) -> impl Iterator<Item = u32> + Clone {
        self.first.index() as u32..=self.last.index() as u32
    }

    pub fn len(&self) -> usize {
        (self.last.index() - self.first.index() + 1) as usize
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last { write!(f, "{}", self.first) } else { write!(f, "{}..{}", self.first, self.last) }
    }
}

impl FromStr for Period {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || QueryError::Period(s.to_string());
        let s = s.trim();
        let period = if let Some((a, b)) = s.split_once("..") {
            let first: Period = a.parse()?;
            let last: Period = b.parse()?;
            Period { first: first.first, last: last.last }
        } else if let Some((y, q)) = s.split_once(['Q', 'q']) {
            let year: u16 = y.trim_end_matches('-').parse().map_err(|_| bad())?;
            let q: u8 = q.parse().map_err(|_| bad())?;
            if !(1..=4).contains(&q) {
                return Err(bad());
            }
            let first = Month::new(year, q * 3 - 2).map_err(|_| bad())?;
            Period { first, last: Month::new(year, q * 3).map_err(|_| bad())? }
        } else if s.len() == 4 {
            let year: u16 = s.parse().map_err(|_| bad())?;
            Period { first: Month::new(year, 1).map_err(|_| bad())?, last: Month::new(year, 12).map_err(|_| bad())? }
        } else {
            Period::month(s.parse().map_err(|_| bad())?)
        };
        if period.last < period.first {
            return Err(bad());
        }
        if period.last.index() - period.first.index() >= MAX_PERIOD_MONTHS {
            return Err(QueryError::PeriodTooLong(s.to_string()));
        }
        Ok(period)
    }
}

impl FromStr for Filter {
    type Err = QueryError;

    /// `outcome=resources lost`, `org_type=ISP`, `region=Europe`, `resource_kind=IPv6`,
    /// `resource=IPv4 /23-/22`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (field, value) = s.split_once('=').ok_or_else(|| QueryError::FilterSyntax(s.to_string()))?;
        let value = value.trim();
        fn term<T: FromStr<Err = UnknownTerm>>(field: &'static str, v: &str) -> Result<T, QueryError> {
            v.parse().map_err(|e: UnknownTerm| QueryError::FilterValue { field, message: e.to_string() })
        }
        Ok(match field.trim() {
            "outcome" => Filter::Outcome(term("outcome", value)?),
            "org_type" | "org" => Filter::OrgType(term("org_type", value)?),
            "region" => Filter::Region(term("region", value)?),
            "resource_kind" | "kind" => Filter::ResourceKind(term("resource_kind", value)?),
            "resource" => {
                let (kind, size) = value.split_once(' ').unwrap_or((value, ""));
                let size = size.trim().trim_start_matches('x');
                Filter::Resource(match term::<ResourceKind>("resource", kind)? {
                    ResourceKind::Ipv4 => ResourceBucket::Ipv4(term("resource", size)?),
                    ResourceKind::Ipv6 => ResourceBucket::Ipv6(term("resource", size)?),
                    ResourceKind::Asn => ResourceBucket::Asn(term("resource", size)?),
                })
            }
            _ => return Err(QueryError::FilterSyntax(s.to_string())),
        })
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Outcome(v) => write!(f, "outcome={v}"),
            Filter::OrgType(v) => write!(f, "org_type={v}"),
            Filter::Region(v) => write!(f, "region={v}"),
            Filter::ResourceKind(v) => write!(f, "resource_kind={v}"),
            Filter::Resource(b) => write!(f, "resource={}", b.label()),
        }
    }
}

/// One figure: distinct operators and cases, or suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Figure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operators: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cases: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
}

impl Figure {
    pub const SUPPRESSED: Figure = Figure { operators: None, cases: None, suppressed: true };

    fn of(operators: usize, cases: u64, k: usize) -> Self {
        if operators >= k && operators > 0 {
            Figure { operators: Some(operators as u64), cases: Some(cases), suppressed: false }
        } else {
            Self::SUPPRESSED
        }
    }

    fn from_tally(t: &Tally, k: usize) -> Self {
        Self::of(t.operators.count(), t.cases, k)
    }
}

impl fmt::Display for Figure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.operators, self.cases) {
            (Some(o), Some(c)) => write!(f, "{o} ({c})"),
            _ => f.write_str("suppressed"),
        }
    }
}

/// Which cells a query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub period: Period,
    pub filter: Option<Filter>,
}

impl Scope {
    fn slot(&self) -> u8 {
        self.filter.map_or(NO_FILTER, Filter::slot)
    }

    fn describe(&self) -> Option<String> {
        self.filter.map(|f| f.to_string())
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MatrixCell {
    #[schema(value_type = String)]
    pub registry: Registry,
    #[schema(value_type = String)]
    pub category: Category,
    #[serde(flatten)]
    pub figure: Figure,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Matrix {
    pub period: String,
    pub filter: Option<String>,
    pub k: usize,
    pub cells: Vec<MatrixCell>,
}

/// What a trend is drawn per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrendBy {
    Category,
    Registry,
}

/// The time step of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrendPoint {
    pub period: String,
    #[serde(flatten)]
    pub figure: Figure,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Series {
    pub name: String,
    pub points: Vec<TrendPoint>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Trends {
    pub by: TrendBy,
    pub step: Step,
    pub period: String,
    pub filter: Option<String>,
    pub k: usize,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutcomeShare {
    #[schema(value_type = String)]
    pub outcome: Outcome,
    pub cases: u64,
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DurationRow {
    #[schema(value_type = String)]
    pub registry: Registry,
    #[schema(value_type = String)]
    pub category: Category,
    pub operators: u64,
    pub cases: u64,
    /// Closed cases with a known time to resolution.
    pub resolved: u64,
    pub median_months: Option<u32>,
    pub p90_months: Option<u32>,
    /// Shares among shown outcome groups.
    pub outcomes: Vec<OutcomeShare>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Durations {
    pub period: String,
    pub k: usize,
    pub rows: Vec<DurationRow>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PairRow {
    #[schema(value_type = Vec<String>)]
    pub categories: [Category; 2],
    #[serde(flatten)]
    pub figure: Figure,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoOccurrence {
    pub period: String,
    #[schema(value_type = Option<String>)]
    pub registry: Option<Registry>,
    pub k: usize,
    pub pairs: Vec<PairRow>,
}

fn category_key(slot: u8, registry: Registry, category: Category, month: u32) -> CellKey {
    CellKey::new(Family::Category, slot, registry.index() as u8, category.index() as u8, month)
}

/// The `q`-quantile (0..1) of a histogram of months.
fn quantile(hist: &[u64; RESOLUTION_BINS], q: f64) -> Option<u32> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    hist.iter().enumerate().find_map(|(bin, n)| {
        seen += n;
        (seen >= rank).then_some(bin as u32)
    })
}

impl Patterns {
    /// Registry × category: distinct operators and cases.
    pub fn matrix(&self, scope: Scope) -> Matrix {
        let slot = scope.slot();
        let mut cells = Vec::with_capacity(Registry::ALL.len() * Category::ALL.len());
        for &registry in Registry::ALL {
            for &category in Category::ALL {
                let tally = self.compose(scope.period.months().map(|m| category_key(slot, registry, category, m)));
                cells.push(MatrixCell { registry, category, figure: Figure::from_tally(&tally, self.k) });
            }
        }
        Matrix { period: scope.period.to_string(), filter: scope.describe(), k: self.k, cells }
    }

    /// Counts over time, one series per category (all registries) or per registry (all
    /// categories, each case once).
    pub fn trends(&self, scope: Scope, by: TrendBy, step: Step) -> Trends {
        let slot = scope.slot();
        let buckets = steps(scope.period, step);
        let series = match by {
            TrendBy::Category => Category::ALL
                .iter()
                .map(|&c| Series {
                    name: c.label().to_string(),
                    points: self.points(
                        &buckets,
                        |m, out: &mut Vec<CellKey>| {
                            out.extend(Registry::ALL.iter().map(|&r| category_key(slot, r, c, m)))
                        },
                        false,
                    ),
                })
                .collect(),
            TrendBy::Registry => Registry::ALL
                .iter()
                .map(|&r| Series {
                    name: r.label().to_string(),
                    points: self.points(
                        &buckets,
                        |m, out: &mut Vec<CellKey>| {
                            out.extend(Category::ALL.iter().map(|&c| category_key(slot, r, c, m)))
                        },
                        true,
                    ),
                })
                .collect(),
        };
        Trends { by, step, period: scope.period.to_string(), filter: scope.describe(), k: self.k, series }
    }

    fn points(&self, buckets: &[Period], keys: impl Fn(u32, &mut Vec<CellKey>), primary: bool) -> Vec<TrendPoint> {
        buckets
            .iter()
            .map(|b| {
                let mut all = Vec::new();
                for m in b.months() {
                    keys(m, &mut all);
                }
                let t = self.compose(all);
                let cases = if primary { t.primary_cases } else { t.cases };
                TrendPoint { period: b.to_string(), figure: Figure::of(t.operators.count(), cases, self.k) }
            })
            .collect()
    }

    /// Median and p90 months to resolution, and outcome shares, per registry × category, over
    /// all cases of the period (unfiltered). Only groups that can be shown are listed.
    pub fn durations(&self, period: Period) -> Durations {
        let mut rows = Vec::new();
        for &registry in Registry::ALL {
            for &category in Category::ALL {
                let t = self.compose(period.months().map(|m| category_key(NO_FILTER, registry, category, m)));
                let operators = t.operators.count();
                if operators < self.k {
                    continue;
                }
                rows.push(DurationRow {
                    registry,
                    category,
                    operators: operators as u64,
                    cases: t.cases,
                    resolved: t.resolution.iter().sum(),
                    median_months: quantile(&t.resolution, 0.5),
                    p90_months: quantile(&t.resolution, 0.9),
                    outcomes: self.outcome_shares(period, registry, category),
                });
            }
        }
        Durations { period: period.to_string(), k: self.k, rows }
    }

    fn outcome_shares(&self, period: Period, registry: Registry, category: Category) -> Vec<OutcomeShare> {
        let dimension = super::grid::Dimension::Outcome;
        let mut counts = [0u64; 16];
        for m in period.months() {
            let key = category_key(NO_FILTER, registry, category, m);
            let shown = self.shown_values(key, dimension);
            for (i, &o) in Outcome::ALL.iter().enumerate() {
                if shown & 1 << i != 0 {
                    counts[i] +=
                        self.cells.get(key.with_slot(Filter::Outcome(o).slot())).map_or(0, |c| u64::from(c.cases));
                }
            }
        }
        let total: u64 = counts.iter().sum();
        Outcome::ALL
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(&outcome, cases)| OutcomeShare { outcome, cases, share: cases as f64 / total as f64 })
            .collect()
    }

    /// Categories that occur together in one case, most frequent first; shown pairs only.
    /// Unfiltered: pairs are counted without filter slots.
    pub fn co_occurrence(&self, period: Period, registry: Option<Registry>) -> CoOccurrence {
        let registries: Vec<Registry> = registry.map_or_else(|| Registry::ALL.to_vec(), |r| vec![r]);
        let mut pairs = Vec::new();
        for (i, &a) in Category::ALL.iter().enumerate() {
            for &b in &Category::ALL[i + 1..] {
                let p = pair_index(a, b);
                let keys = registries.iter().flat_map(|r| {
                    period.months().map(move |m| CellKey::new(Family::Pair, NO_FILTER, r.index() as u8, p, m))
                });
                let figure = Figure::from_tally(&self.compose(keys), self.k);
                if !figure.suppressed {
                    pairs.push(PairRow { categories: [a, b], figure });
                }
            }
        }
        pairs.sort_by_key(|p| std::cmp::Reverse(p.figure.cases));
        CoOccurrence { period: period.to_string(), registry, k: self.k, pairs }
    }

    /// Shown cases per month of one registry × category: the input of the spike test.
    pub(crate) fn monthly_cases(&self, registry: Registry, category: Category, period: Period) -> (Vec<u64>, Tally) {
        let mut counts = Vec::with_capacity(period.len());
        let mut keys = Vec::with_capacity(period.len());
        for m in period.months() {
            let key = category_key(NO_FILTER, registry, category, m);
            keys.push(key);
            counts.push(if self.is_shown(key) { self.cells.get(key).map_or(0, |c| u64::from(c.cases)) } else { 0 });
        }
        (counts, self.compose(keys))
    }
}

/// Splits a period into calendar steps, clipped to the period.
pub fn steps(period: Period, step: Step) -> Vec<Period> {
    let width = match step {
        Step::Month => 1,
        Step::Quarter => 3,
        Step::Year => 12,
    };
    let mut out = Vec::new();
    let mut m = period.first.index();
    while m <= period.last.index() {
        let end = (m - m.rem_euclid(width) + width - 1).min(period.last.index());
        let (Ok(first), Ok(last)) = (Month::from_index(m), Month::from_index(end)) else { break };
        out.push(Period { first, last });
        m = end + 1;
    }
    out
}
