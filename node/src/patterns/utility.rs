//! Utility at realistic density: the share of cases the default dashboard represents.
//!
//! A case is represented when it is counted in at least one figure the default view shows: the
//! last twelve months' registry × category cells, registry totals or category totals
//! (docs/patterns.md, "Utility").

use lantern_protocol::anon::LinkTag;
use lantern_protocol::anonymous::{AnonBody, AnonEnvelope, Opened};
use lantern_protocol::ids::{CaseRef, FederationId};
use lantern_protocol::record::{Body, Envelope, SummaryBody};
use lantern_protocol::vocab::Registry;
use lantern_protocol::{MemberKey, Month, RecordId};
use serde::Serialize;

use super::Patterns;
use super::query::{Period, Scope};
use super::synthetic::{self, SyntheticCase};

/// Engines the measurements use: the manifest's default k.
pub const K: usize = 5;

#[derive(Debug, Serialize)]
pub struct UtilityRow {
    pub operators: u32,
    pub cases_per_federation: f64,
    /// Share of cases in a shown cell, a shown registry total or a shown category total.
    pub share: f64,
    /// Share of cases in a shown registry × category cell alone.
    pub cells_only: f64,
    /// Baseline: the share in a shown cell of its own month, the first wave's base unit.
    pub monthly_cells: f64,
    /// `share` when every case is signed anonymously: operators are then counted per start
    /// year, and a 12-month view across two years counts the larger year's (a lower bound).
    pub anonymous_share: f64,
}

/// Mean shares over `federations` synthetic federations of `operators` operators, for the
/// twelve months ending `last`.
pub fn measure(operators: u32, federations: u64, last: Month) -> UtilityRow {
    let mut row = measure_as(operators, federations, last, false);
    row.anonymous_share = measure_as(operators, federations, last, true).share;
    row
}

fn measure_as(operators: u32, federations: u64, last: Month, anonymous: bool) -> UtilityRow {
    let (mut cases, mut counted, mut in_cells, mut monthly) = (0usize, 0usize, 0usize, 0usize);
    for seed in 0..federations {
        let federation = synthetic::federation(operators, last, seed);
        let patterns = engine(operators, &federation, seed, anonymous);
        let matrix = patterns.matrix(Scope { period: Period::year_to(last), filter: None });
        let cell =
            |r: Registry, c| matrix.cells.iter().any(|x| x.registry == r && x.category == c && x.figure.is_shown());
        let registry_shown = |r| matrix.registries.iter().any(|t| t.registry == r && t.figure.is_shown());
        let category_shown = |c| matrix.categories.iter().any(|t| t.category == c && t.figure.is_shown());
        let months: Vec<_> = Period::year_to(last)
            .units_of_months()
            .map(|m| (m, patterns.matrix(Scope { period: Period::month(m), filter: None })))
            .collect();
        for case in &federation {
            let s = &case.summary;
            let month = months.iter().find(|(m, _)| *m == s.start).map(|(_, matrix)| matrix);
            monthly += usize::from(month.is_some_and(|matrix| {
                matrix
                    .cells
                    .iter()
                    .any(|x| x.registry == s.registry && s.categories.contains(&x.category) && x.figure.is_shown())
            }));
            let by_cell = s.categories.iter().any(|&c| cell(s.registry, c));
            let by_total = registry_shown(s.registry) || s.categories.iter().any(|&c| category_shown(c));
            in_cells += usize::from(by_cell);
            counted += usize::from(by_cell || by_total);
        }
        cases += federation.len();
    }
    let share = |n: usize| if cases == 0 { 0.0 } else { n as f64 / cases as f64 };
    UtilityRow {
        operators,
        cases_per_federation: cases as f64 / federations.max(1) as f64,
        share: share(counted),
        cells_only: share(in_cells),
        monthly_cells: share(monthly),
        anonymous_share: 0.0,
    }
}

/// The table `lantern bench utility` prints.
pub fn table(rows: &[UtilityRow]) -> String {
    let mut out = String::from(
        "operators  cases/yr  default view  cells only  monthly cells (baseline)  view / baseline  anonymous\n",
    );
    for r in rows {
        let ratio = if r.monthly_cells > 0.0 { format!("{:.1}×", r.share / r.monthly_cells) } else { "∞".into() };
        out += &format!(
            "{:>9}  {:>8.0}  {:>11.1} %  {:>8.1} %  {:>22.1} %  {:>15}  {:>7.1} %\n",
            r.operators,
            r.cases_per_federation,
            r.share * 100.0,
            r.cells_only * 100.0,
            r.monthly_cells * 100.0,
            ratio,
            r.anonymous_share * 100.0
        );
    }
    out
}

/// The share for the default view (cells and totals).
pub fn default_view_share(operators: u32, federations: u64, last: Month) -> f64 {
    measure_as(operators, federations, last, false).share
}

/// The same when every case is signed anonymously.
pub fn anonymous_view_share(operators: u32, federations: u64, last: Month) -> f64 {
    measure_as(operators, federations, last, true).share
}

/// An engine holding `cases` as if received: unsigned, since the engine never checks
/// signatures (the store does, before it). `anonymous`: every case under its author's tag for
/// the case's start year (one tag per author and year, as linkable ring signatures give).
fn engine(operators: u32, cases: &[SyntheticCase], seed: u64, anonymous: bool) -> Patterns {
    let key = |i: u32| {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&i.to_be_bytes());
        MemberKey::from_slice(&b).expect("32 bytes")
    };
    let mut patterns = Patterns::new(K, (0..operators).map(key));
    let mut sequences = vec![0u64; operators as usize];
    for (i, case) in cases.iter().enumerate() {
        let n = (i as u64).to_le_bytes();
        let id = RecordId::of(&[&seed.to_le_bytes()[..], &n].concat());
        let mut case_ref = [0u8; 16];
        case_ref[..8].copy_from_slice(&n);
        let sequence = &mut sequences[case.author as usize];
        *sequence += 1;
        let body = SummaryBody {
            case: CaseRef::from_slice(&case_ref).expect("16 bytes"),
            supersedes: None,
            summary: case.summary.clone(),
        };
        let federation = FederationId::from_slice(&[0; 32]).expect("32 bytes");
        let record = if anonymous {
            let year = case.summary.start.year;
            let tag = blake3::hash(&[&case.author.to_le_bytes()[..], &year.to_le_bytes()].concat());
            let envelope = AnonEnvelope {
                format: lantern_protocol::anonymous::ANONYMOUS_FORMAT,
                federation,
                ring: RecordId([0; 32]),
                year,
                created: case.summary.start,
                body: AnonBody::Summary(body),
            };
            Opened::Anonymous(envelope, LinkTag(*tag.as_bytes()))
        } else {
            Opened::Signed(Envelope {
                format: lantern_protocol::WIRE_FORMAT,
                federation,
                author: key(case.author),
                sequence: *sequence,
                previous: None,
                created: case.summary.start,
                body: Body::Summary(body),
            })
        };
        patterns.apply(&id, &record);
    }
    patterns
}
