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
use super::disclosure::{Counting, Released};
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

    /// The months of the period, in order.
    pub fn units_of_months(&self) -> impl Iterator<Item = Month> + use<> {
        let (first, last) = (self.first.index(), self.last.index());
        (first..=last).filter_map(|m| Month::from_index(m).ok())
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

    /// The release units this period is answered from (docs/patterns.md): itself when it is a
    /// month, a calendar quarter or year, or twelve consecutive months; otherwise whole years,
    /// then quarters, then months, from its first month on.
    pub fn units(&self) -> Vec<Period> {
        let (first, last) = (self.first.index(), self.last.index());
        let aligned = |width: i64| first.rem_euclid(width) == 0 && last - first + 1 == width;
        if first == last || last - first + 1 == 12 || aligned(3) {
            return vec![*self];
        }
        let mut units = Vec::new();
        let mut m = first;
        while m <= last {
            let width = [12, 3, 1].into_iter().find(|&w| m.rem_euclid(w) == 0 && m + w - 1 <= last).unwrap_or(1);
            let (Ok(a), Ok(b)) = (Month::from_index(m), Month::from_index(m + width - 1)) else { break };
            units.push(Period { first: a, last: b });
            m += width;
        }
        units
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

/// One figure: distinct operators and cases (with noise, see docs/patterns.md), or suppressed.
/// Over a period of several release units, `operators` is the largest unit's: a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Figure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operators: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cases: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
}

impl Figure {
    pub const SUPPRESSED: Figure = Figure { operators: None, cases: None, suppressed: true };

    fn of(released: Option<Released>) -> Self {
        match released {
            Some(r) => Figure { operators: Some(r.operators), cases: Some(r.cases), suppressed: false },
            None => Self::SUPPRESSED,
        }
    }

    pub fn is_shown(&self) -> bool {
        !self.suppressed
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

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct MatrixCell {
    #[schema(value_type = String)]
    pub registry: Registry,
    #[schema(value_type = String)]
    pub category: Category,
    #[serde(flatten)]
    pub figure: Figure,
}

/// A registry's figure over all categories (each case once).
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RegistryTotal {
    #[schema(value_type = String)]
    pub registry: Registry,
    #[serde(flatten)]
    pub figure: Figure,
}

/// A category's figure over all registries.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CategoryTotal {
    #[schema(value_type = String)]
    pub category: Category,
    #[serde(flatten)]
    pub figure: Figure,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Matrix {
    pub period: String,
    pub filter: Option<String>,
    pub k: usize,
    pub cells: Vec<MatrixCell>,
    /// Row totals: where a registry's cells are too thin to show, its total often is not.
    pub registries: Vec<RegistryTotal>,
    /// Column totals.
    pub categories: Vec<CategoryTotal>,
}

/// What a trend is drawn per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrendBy {
    Category,
    Registry,
}

/// The time step of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Month,
    Quarter,
    Year,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct TrendPoint {
    pub period: String,
    #[serde(flatten)]
    pub figure: Figure,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Series {
    pub name: String,
    pub points: Vec<TrendPoint>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Trends {
    pub by: TrendBy,
    pub step: Step,
    pub period: String,
    pub filter: Option<String>,
    pub k: usize,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OutcomeShare {
    #[schema(value_type = String)]
    pub outcome: Outcome,
    pub cases: u64,
    pub share: f64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DurationRow {
    #[schema(value_type = String)]
    pub registry: Registry,
    #[schema(value_type = String)]
    pub category: Category,
    pub operators: u64,
    pub cases: u64,
    /// Closed cases with a known time to resolution, when they come from at least k operators
    /// (then the median and p90 are given).
    pub resolved: Option<u64>,
    pub median_months: Option<u32>,
    pub p90_months: Option<u32>,
    /// Shares among shown outcome groups.
    pub outcomes: Vec<OutcomeShare>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Durations {
    pub period: String,
    pub k: usize,
    pub rows: Vec<DurationRow>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PairRow {
    #[schema(value_type = Vec<String>)]
    pub categories: [Category; 2],
    #[serde(flatten)]
    pub figure: Figure,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
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

pub(crate) fn registry_total_keys(slot: u8, registry: Registry) -> impl Fn(u32, &mut Vec<CellKey>) {
    move |m, out: &mut Vec<CellKey>| out.extend(Category::ALL.iter().map(|&c| category_key(slot, registry, c, m)))
}

pub(crate) fn category_total_keys(slot: u8, category: Category) -> impl Fn(u32, &mut Vec<CellKey>) {
    move |m, out: &mut Vec<CellKey>| out.extend(Registry::ALL.iter().map(|&r| category_key(slot, r, category, m)))
}

pub(crate) fn cell_keys(slot: u8, registry: Registry, category: Category) -> impl Fn(u32, &mut Vec<CellKey>) {
    move |m, out: &mut Vec<CellKey>| out.push(category_key(slot, registry, category, m))
}

impl Patterns {
    /// Registry × category, with registry and category totals: distinct operators and cases.
    pub fn matrix(&self, scope: Scope) -> Matrix {
        let (slot, period) = (scope.slot(), scope.period);
        let mut cells = Vec::with_capacity(Registry::ALL.len() * Category::ALL.len());
        for &registry in Registry::ALL {
            for &category in Category::ALL {
                let figure = Figure::of(self.figure_over(period, cell_keys(slot, registry, category), Counting::All));
                cells.push(MatrixCell { registry, category, figure });
            }
        }
        let registries = Registry::ALL
            .iter()
            .map(|&registry| RegistryTotal {
                registry,
                figure: Figure::of(self.figure_over(period, registry_total_keys(slot, registry), Counting::Primary)),
            })
            .collect();
        let categories = Category::ALL
            .iter()
            .map(|&category| CategoryTotal {
                category,
                figure: Figure::of(self.figure_over(period, category_total_keys(slot, category), Counting::All)),
            })
            .collect();
        Matrix { period: period.to_string(), filter: scope.describe(), k: self.k, cells, registries, categories }
    }

    /// Counts over time, one series per category (all registries) or per registry (all
    /// categories, each case once).
    pub fn trends(&self, scope: Scope, by: TrendBy, step: Step) -> Trends {
        let slot = scope.slot();
        let buckets = steps(scope.period, step);
        let points = |keys: &dyn Fn(u32, &mut Vec<CellKey>), counting: Counting| -> Vec<TrendPoint> {
            buckets
                .iter()
                .map(|b| TrendPoint { period: b.to_string(), figure: Figure::of(self.figure_over(*b, keys, counting)) })
                .collect()
        };
        let series = match by {
            TrendBy::Category => Category::ALL
                .iter()
                .map(|&c| Series {
                    name: c.label().to_string(),
                    points: points(&category_total_keys(slot, c), Counting::All),
                })
                .collect(),
            TrendBy::Registry => Registry::ALL
                .iter()
                .map(|&r| Series {
                    name: r.label().to_string(),
                    points: points(&registry_total_keys(slot, r), Counting::Primary),
                })
                .collect(),
        };
        Trends { by, step, period: scope.period.to_string(), filter: scope.describe(), k: self.k, series }
    }

    /// Median and p90 months to resolution, and outcome shares, per registry × category, over
    /// all cases of the period (unfiltered). Only groups that can be shown are listed; the
    /// median and p90 only where the resolved cases themselves come from k operators.
    pub fn durations(&self, period: Period) -> Durations {
        let mut rows = Vec::new();
        for &registry in Registry::ALL {
            for &category in Category::ALL {
                let units = self.released_units(period, cell_keys(NO_FILTER, registry, category));
                if units.is_empty() {
                    continue;
                }
                let operators = units.iter().map(|(r, _)| r.operators).max().unwrap_or(0);
                let cases = units.iter().map(|(r, _)| r.cases).sum();
                // The resolved cases of each released unit, released under the same rules.
                let (mut resolved, mut hist) = (None, [0u64; RESOLUTION_BINS]);
                for unit in period.units() {
                    let closed = self.content(unit, &closed_keys(registry, category), Counting::All);
                    if let Some(r) = self.release(&closed) {
                        *resolved.get_or_insert(0) += r.cases;
                        let all = self.content(unit, &cell_keys(NO_FILTER, registry, category), Counting::All);
                        for (h, n) in hist.iter_mut().zip(all.resolution) {
                            *h += n;
                        }
                    }
                }
                rows.push(DurationRow {
                    registry,
                    category,
                    operators,
                    cases,
                    resolved,
                    median_months: resolved.and_then(|_| quantile(&hist, 0.5)),
                    p90_months: resolved.and_then(|_| quantile(&hist, 0.9)),
                    outcomes: self.outcome_shares(period, registry, category),
                });
            }
        }
        Durations { period: period.to_string(), k: self.k, rows }
    }

    /// Shares among the outcome groups that can be shown.
    fn outcome_shares(&self, period: Period, registry: Registry, category: Category) -> Vec<OutcomeShare> {
        let counts: Vec<(Outcome, u64)> = Outcome::ALL
            .iter()
            .filter_map(|&o| {
                let keys = cell_keys(Filter::Outcome(o).slot(), registry, category);
                self.figure_over(period, keys, Counting::All).map(|r| (o, r.cases))
            })
            .collect();
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        counts
            .into_iter()
            .map(|(outcome, cases)| OutcomeShare { outcome, cases, share: cases as f64 / total as f64 })
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
                let keys = |m: u32, out: &mut Vec<CellKey>| {
                    out.extend(registries.iter().map(|r| CellKey::new(Family::Pair, NO_FILTER, r.index() as u8, p, m)))
                };
                let figure = Figure::of(self.figure_over(period, keys, Counting::All));
                if figure.is_shown() {
                    pairs.push(PairRow { categories: [a, b], figure });
                }
            }
        }
        pairs.sort_by_key(|p| std::cmp::Reverse(p.figure.cases));
        CoOccurrence { period: period.to_string(), registry, k: self.k, pairs }
    }

    /// One registry × category over a period, as released: the input of the spike test.
    pub(crate) fn pair_figure(&self, registry: Registry, category: Category, period: Period) -> Option<Released> {
        self.figure_over(period, cell_keys(NO_FILTER, registry, category), Counting::All)
    }
}

/// The cells of one registry × category's closed cases: one per closed outcome.
fn closed_keys(registry: Registry, category: Category) -> impl Fn(u32, &mut Vec<CellKey>) {
    move |m, out: &mut Vec<CellKey>| {
        out.extend(
            Outcome::ALL
                .iter()
                .filter(|o| o.is_closed())
                .map(|&o| category_key(Filter::Outcome(o).slot(), registry, category, m)),
        )
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
