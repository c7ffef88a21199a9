//! The attacker suite: an analyst with a script plays every channel that broke the exact
//! figures (docs/patterns.md) against random federations, and checks what it recovers about
//! groups of 1 to k − 1 operators against the true records.
//!
//! Without noise each differencing attack recovers every small group exactly; the suite fails
//! if it recovers more than [`MAX_EXACT`] of them, if any shown figure stands on fewer than k
//! operators, or if the same cases ever give two different answers.

use std::collections::BTreeSet;

use lantern_protocol::Month;
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::vocab::*;

use super::Patterns;
use super::fact::Fact;
use super::grid::Filter;
use super::query::{Figure, Period, Scope};
use super::tests::{Feed, cell, month, scope};

const K: usize = 5;

/// The share of small groups an attack may get exactly right. Two independent discrete Laplace
/// draws of scale 1 cancel 28 % of the time; without noise every attack scores 100 %.
const MAX_EXACT: f64 = 0.45;

const REGISTRIES: [Registry; 3] = [Registry::RipeNcc, Registry::Arin, Registry::Apnic];
const CATEGORIES: [Category; 2] = [Category::TransferDelayed, Category::RpkiChange];

/// Random federations dense enough that many figures sit near k, with busy and quiet months.
fn federation(seed: u64) -> Feed {
    let mut f = Feed::new(K, 40);
    let mut rng = Rng::new(seed);
    f.next_id = seed << 32;
    let busy: Vec<u64> = (0..12).map(|_| 1 + rng.below(12)).collect();
    let total: u64 = busy.iter().sum();
    for case in 0..700u64 {
        let mut pick = rng.below(total);
        let m = busy
            .iter()
            .position(|&w| {
                if pick < w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .unwrap_or(0);
        let mut s = sample::summary(&mut rng, month(&format!("2026-{:02}", m + 1)), 1);
        s.registry = REGISTRIES[rng.below(3) as usize];
        s.categories = vec![CATEGORIES[rng.below(2) as usize]];
        f.publish(rng.below(40) as u32, case, s);
    }
    f
}

/// The true operators and cases of the counted cases matching `keep`.
fn group(p: &Patterns, keep: impl Fn(&Fact) -> bool) -> (BTreeSet<u32>, u64) {
    let facts: Vec<&Fact> = p.facts.live().filter(|f| p.counted[f.author as usize] && keep(f)).collect();
    (facts.iter().map(|f| f.author).collect(), facts.len() as u64)
}

fn within(period: Period) -> impl Fn(&Fact) -> bool {
    move |f| (period.first.index()..=period.last.index()).contains(&i64::from(f.month))
}

fn in_cell(r: Registry, c: Category, period: Period) -> impl Fn(&Fact) -> bool {
    let when = within(period);
    move |f| f.registry == r.index() as u8 && f.categories & 1 << c.index() != 0 && when(f)
}

/// Every release unit of 2026: months, quarters, the year.
fn units_2026() -> Vec<Period> {
    let mut units: Vec<Period> = (1..=12).map(|m| scope(&format!("2026-{m:02}")).period).collect();
    units.extend((1..=4).map(|q| scope(&format!("2026-Q{q}")).period));
    units.push(scope("2026").period);
    units
}

/// Tallies an attack's guesses about small groups.
#[derive(Default)]
struct Score {
    guesses: usize,
    exact: usize,
    error: u64,
}

impl Score {
    /// Records a guess of `derived` for a group whose true value is `truth`, if the group is
    /// small (1 to k − 1 operators): only those are secrets.
    fn guess(&mut self, operators: usize, derived: i64, truth: u64) {
        if (1..K).contains(&operators) {
            self.guesses += 1;
            self.exact += (derived == truth as i64) as usize;
            self.error += derived.abs_diff(truth as i64);
        }
    }

    fn check(&self, attack: &str) {
        assert!(self.guesses >= 30, "{attack}: the data must give the attack something to try ({})", self.guesses);
        let exact = self.exact as f64 / self.guesses as f64;
        let error = self.error as f64 / self.guesses as f64;
        eprintln!("{attack}: {} small groups, {:.0} % exact, mean error {error:.2}", self.guesses, exact * 100.0);
        assert!(exact <= MAX_EXACT, "{attack}: {:.0} % of small groups recovered exactly", exact * 100.0);
        assert!(error >= 0.8, "{attack}: mean error {error:.2}: the noise must blur small groups");
    }
}

fn figure_cases(f: Figure) -> i64 {
    f.cases.map_or(0, |c| c as i64)
}

#[test]
fn attacker_subtracting_a_filter_from_its_total_learns_no_small_group() {
    // Channel 1: resource kinds do not partition cases (a case has several, or none), so
    // "total minus IPv4" is the cases without IPv4, a group of its own.
    let mut score = Score::default();
    for seed in 0..6 {
        let f = federation(seed);
        let p = &f.patterns;
        for unit in units_2026() {
            for kind in ResourceKind::ALL {
                let filtered = Scope { period: unit, filter: Some(Filter::ResourceKind(*kind)) };
                for r in REGISTRIES {
                    for c in CATEGORIES {
                        let (all, part) =
                            (cell(p, Scope { period: unit, filter: None }, r, c), cell(p, filtered, r, c));
                        if !all.is_shown() || !part.is_shown() {
                            continue;
                        }
                        let here = in_cell(r, c, unit);
                        let without = group(p, |f| here(f) && f.kinds & 1 << kind.index() == 0);
                        score.guess(without.0.len(), figure_cases(all) - figure_cases(part), without.1);
                        // Operators: those with no case of this kind in the cell.
                        let with: BTreeSet<u32> = group(p, |f| here(f) && f.kinds & 1 << kind.index() != 0).0;
                        let only_without = without.0.difference(&with).count();
                        let derived = all.operators.unwrap() as i64 - part.operators.unwrap() as i64;
                        score.guess(only_without, derived, only_without as u64);
                    }
                }
            }
        }
    }
    score.check("filter complements");
}

#[test]
fn attacker_intersecting_the_operators_of_two_months_learns_no_small_overlap() {
    // Channel 3: Jan 6 operators, Feb 6, Jan..Feb 11 told that exactly one operator was in both.
    let mut score = Score::default();
    for seed in 0..6 {
        let f = federation(seed);
        let p = &f.patterns;
        for m in 1..12 {
            let (a, b) = (format!("2026-{m:02}"), format!("2026-{:02}", m + 1));
            let both = scope(&format!("{a}..{b}"));
            for r in REGISTRIES {
                for c in CATEGORIES {
                    let figs = [cell(p, scope(&a), r, c), cell(p, scope(&b), r, c), cell(p, both, r, c)];
                    if figs.iter().any(|f| !f.is_shown()) {
                        continue;
                    }
                    let ops = figs.map(|f| f.operators.unwrap() as i64);
                    let first = group(p, in_cell(r, c, scope(&a).period)).0;
                    let second = group(p, in_cell(r, c, scope(&b).period)).0;
                    let overlap = first.intersection(&second).count();
                    score.guess(overlap, ops[0] + ops[1] - ops[2], overlap as u64);
                }
            }
        }
        // The same through quarter units: Q1 against its months.
        for r in REGISTRIES {
            for c in CATEGORIES {
                let q = cell(p, scope("2026-Q1"), r, c);
                let jan_feb = [cell(p, scope("2026-01"), r, c), cell(p, scope("2026-02"), r, c)];
                if !q.is_shown() || jan_feb.iter().any(|f| !f.is_shown()) {
                    continue;
                }
                // Operators of March only = Q1 − |Jan ∪ Feb| ≥ Q1 − Jan − Feb.
                let jan_feb_ops = group(p, in_cell(r, c, scope("2026-01..2026-02").period)).0;
                let march = group(p, in_cell(r, c, scope("2026-03").period)).0;
                let only_march = march.difference(&jan_feb_ops).count();
                let derived =
                    q.operators.unwrap() as i64 - jan_feb.iter().map(|f| f.operators.unwrap() as i64).sum::<i64>();
                score.guess(only_march, derived.max(0), only_march as u64);
            }
        }
    }
    score.check("unions of operators");
}

#[test]
fn attacker_subtracting_overlapping_periods_learns_no_small_month() {
    // A quarter minus two of its months, a year minus three of its quarters: the remainder is
    // one month (or quarter) that may be too small to show.
    let mut score = Score::default();
    for seed in 0..30 {
        let f = federation(seed);
        let p = &f.patterns;
        for r in REGISTRIES {
            for c in CATEGORIES {
                for q in 1..=4 {
                    let months: Vec<String> = (q * 3 - 2..=q * 3).map(|m| format!("2026-{m:02}")).collect();
                    let quarter = cell(p, scope(&format!("2026-Q{q}")), r, c);
                    let figs: Vec<Figure> = months.iter().map(|m| cell(p, scope(m), r, c)).collect();
                    for (hidden, hidden_month) in months.iter().enumerate() {
                        let others = (0..3).filter(|&i| i != hidden);
                        if !quarter.is_shown() || others.clone().any(|i| !figs[i].is_shown()) {
                            continue;
                        }
                        let derived = figure_cases(quarter) - others.map(|i| figure_cases(figs[i])).sum::<i64>();
                        let (ops, cases) = group(p, in_cell(r, c, scope(hidden_month).period));
                        score.guess(ops.len(), derived, cases);
                    }
                }
                let year = cell(p, scope("2026"), r, c);
                let quarters: Vec<Figure> = (1..=4).map(|q| cell(p, scope(&format!("2026-Q{q}")), r, c)).collect();
                for hidden in 0..4 {
                    let others = (0..4).filter(|&i| i != hidden);
                    if !year.is_shown() || others.clone().any(|i| !quarters[i].is_shown()) {
                        continue;
                    }
                    let derived = figure_cases(year) - others.map(|i| figure_cases(quarters[i])).sum::<i64>();
                    let (ops, cases) = group(p, in_cell(r, c, scope(&format!("2026-Q{}", hidden + 1)).period));
                    score.guess(ops.len(), derived, cases);
                }
            }
        }
    }
    score.check("overlapping periods");
}

#[test]
fn attacker_watching_a_figure_as_one_record_arrives_cannot_tell_it_arrived() {
    // Polling the same figure before and after a publish: the difference is one case, blurred.
    let mut score = Score::default();
    for seed in 0..80 {
        let mut f = federation(seed);
        let (r, c) = (Registry::RipeNcc, Category::TransferDelayed);
        let before = cell(&f.patterns, scope("2026"), r, c);
        let mut s = super::tests::summary(r, &[c], "2026-06");
        s.resources.clear();
        f.publish(39, 10_000, s);
        let after = cell(&f.patterns, scope("2026"), r, c);
        if before.is_shown() && after.is_shown() {
            // The group "what arrived" is one operator's one case.
            score.guess(1, figure_cases(after) - figure_cases(before), 1);
        }
    }
    score.check("before and after");
}

#[test]
fn durations_stand_on_k_operators_resolved_cases() {
    // Channel 2: a median over two resolved cases is a figure about two operators.
    for seed in 0..6 {
        let f = federation(seed);
        let p = &f.patterns;
        for unit in units_2026() {
            for row in p.durations(unit).rows {
                if row.median_months.is_none() {
                    continue;
                }
                let here = in_cell(row.registry, row.category, unit);
                let resolved = group(p, |f| here(f) && f.resolution.is_some()).0;
                assert!(resolved.len() >= K, "seed {seed}: {unit} median over {} operators", resolved.len());
            }
        }
    }
}

#[test]
fn no_shown_figure_of_any_query_stands_on_fewer_than_k_operators() {
    for seed in 0..4 {
        let f = federation(seed);
        let p = &f.patterns;
        let mut shown = 0;
        for unit in units_2026() {
            let filters = std::iter::once(None).chain(Filter::all().map(Some));
            for filter in filters {
                let keep = |fact: &Fact| filter.is_none_or(|flt| fact.slots().any(|s| s == flt.slot()));
                let m = p.matrix(Scope { period: unit, filter });
                for x in m.cells.iter().filter(|x| x.figure.is_shown()) {
                    let here = in_cell(x.registry, x.category, unit);
                    let ops = group(p, |f| here(f) && keep(f)).0.len();
                    assert!(ops >= K, "{unit} {filter:?} {} × {}: {ops} operators", x.registry, x.category);
                    shown += 1;
                }
                for t in m.registries.iter().filter(|t| t.figure.is_shown()) {
                    let when = within(unit);
                    let ops = group(p, |f| f.registry == t.registry.index() as u8 && when(f) && keep(f)).0.len();
                    assert!(ops >= K, "{unit} {filter:?} {}: {ops} operators", t.registry);
                }
                for t in m.categories.iter().filter(|t| t.figure.is_shown()) {
                    let when = within(unit);
                    let ops = group(p, |f| f.categories & 1 << t.category.index() != 0 && when(f) && keep(f)).0.len();
                    assert!(ops >= K, "{unit} {filter:?} {}: {ops} operators", t.category);
                }
            }
            for pair in p.co_occurrence(unit, None).pairs {
                let [a, b] = pair.categories;
                let when = within(unit);
                let both = 1 << a.index() | 1 << b.index();
                let ops = group(p, |f| f.categories & both == both && when(f)).0.len();
                assert!(ops >= K, "{unit} pair {a} + {b}: {ops} operators");
            }
        }
        assert!(shown > 100, "the federations must show figures ({shown})");
    }
}

#[test]
fn the_same_cases_give_the_same_answer_on_every_node_in_every_repeat() {
    // Two nodes that received the same records in different orders and batches, and a repeat.
    let f = federation(3);
    let mut other = Patterns::new(K, (0..40).map(super::tests::member));
    let mut log = f.log.clone();
    log.reverse();
    for chunk in log.chunks(37) {
        other.apply_batch(chunk.iter().map(|(id, env)| (*id, env)));
    }
    let answers = |p: &Patterns| {
        let mut out = Vec::new();
        for unit in units_2026().into_iter().chain([scope("2025-12..2026-11").period, scope("2026-02..2026-08").period])
        {
            out.push(serde_json::to_string(&p.matrix(Scope { period: unit, filter: None })).unwrap());
            let filter = Some(Filter::ResourceKind(ResourceKind::Ipv4));
            out.push(serde_json::to_string(&p.matrix(Scope { period: unit, filter })).unwrap());
            out.push(serde_json::to_string(&p.durations(unit)).unwrap());
        }
        out
    };
    let first = answers(&f.patterns);
    assert_eq!(first, answers(&f.patterns), "a repeat gives the same answer");
    assert_eq!(first, answers(&other), "another node gives the same answer");
    // A quarter that holds only March's cases answers exactly as March does: asking through a
    // wider period is no second sample either.
    let mut f = Feed::new(K, 12);
    for a in 0..8 {
        f.publish(a, 1, super::tests::summary(Registry::Arin, &[Category::FeeDispute], "2026-03"));
    }
    let (r, c) = (Registry::Arin, Category::FeeDispute);
    let march = cell(&f.patterns, scope("2026-03"), r, c);
    for wider in ["2026-Q1", "2026", "2025-04..2026-03", "2026-03..2027-02"] {
        assert_eq!(cell(&f.patterns, scope(wider), r, c), march, "{wider}");
    }
}

#[test]
fn utility_at_realistic_density_meets_the_goal() {
    // The default dashboard: the last twelve months, registry × category with its totals.
    let u = |operators| super::utility::default_view_share(operators, 8, Month::new(2026, 11).unwrap());
    let (at_20, at_50) = (u(20), u(50));
    eprintln!("utility: {:.1} % at 20 operators, {:.1} % at 50", at_20 * 100.0, at_50 * 100.0);
    assert!(at_20 >= 0.5, "{at_20}");
    assert!(at_50 >= 0.85, "{at_50}");
    // Signed anonymously, operators count per start year; this window (2025-12..2026-11) spans
    // two years, so it counts the larger year's: still within the goal.
    let a = |operators| super::utility::anonymous_view_share(operators, 8, Month::new(2026, 11).unwrap());
    let (anon_20, anon_50) = (a(20), a(50));
    eprintln!("anonymous: {:.1} % at 20 operators, {:.1} % at 50", anon_20 * 100.0, anon_50 * 100.0);
    assert!(anon_20 >= 0.5, "{anon_20}");
    assert!(anon_50 >= 0.85, "{anon_50}");
    assert!(anon_20 <= at_20 && anon_50 <= at_50, "a lower bound never shows more");
}
