//! The engine's rules, and an attacker who tries to recover held-back groups by differencing.

use lantern_protocol::ids::{CaseRef, FederationId};
use lantern_protocol::record::{Body, Envelope, RetractionBody, SummaryBody};
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::summary::CaseSummary;
use lantern_protocol::vocab::*;
use lantern_protocol::{MemberKey, Month, RecordId};

use super::Patterns;
use super::grid::{CellKey, Dimension, Family, Filter, NO_FILTER};
use super::query::{Figure, Period, Scope, Step, TrendBy};

fn member(i: u32) -> MemberKey {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&i.to_be_bytes());
    MemberKey::from_slice(&b).unwrap()
}

fn month(s: &str) -> Month {
    s.parse().unwrap()
}

fn case_ref(i: u64) -> CaseRef {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&i.to_be_bytes());
    CaseRef::from_slice(&b).unwrap()
}

/// A minimal valid-looking summary.
fn summary(registry: Registry, categories: &[Category], start: &str) -> CaseSummary {
    let mut s = sample::summary(&mut Rng::new(1), month(start), 1);
    s.registry = registry;
    s.categories = categories.to_vec();
    s.start = month(start);
    s.outcome = Outcome::Open;
    s
}

struct Feed {
    patterns: Patterns,
    next_id: u64,
    seqs: std::collections::HashMap<MemberKey, u64>,
    /// Every record fed, in order.
    log: Vec<(RecordId, Envelope)>,
}

impl Feed {
    fn new(k: usize, members: u32) -> Self {
        Self {
            patterns: Patterns::new(k, (0..members).map(member)),
            next_id: 0,
            seqs: Default::default(),
            log: Vec::new(),
        }
    }

    fn record(&mut self, author: u32, body: Body) -> RecordId {
        let key = member(author);
        let seq = self.seqs.entry(key).or_insert(0);
        *seq += 1;
        let seq = *seq;
        self.at_sequence(author, seq, body)
    }

    fn at_sequence(&mut self, author: u32, sequence: u64, body: Body) -> RecordId {
        self.next_id += 1;
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&self.next_id.to_be_bytes());
        let id = RecordId::from_slice(&id).unwrap();
        let env = Envelope {
            format: lantern_protocol::WIRE_FORMAT,
            federation: FederationId::from_slice(&[0; 32]).unwrap(),
            author: member(author),
            sequence,
            previous: None,
            created: month("2026-01"),
            body,
        };
        self.patterns.apply(&id, &env);
        self.log.push((id, env));
        id
    }

    fn publish(&mut self, author: u32, case: u64, s: CaseSummary) -> RecordId {
        self.record(author, Body::Summary(SummaryBody { case: case_ref(case), supersedes: None, summary: s }))
    }
}

fn scope(period: &str) -> Scope {
    Scope { period: period.parse().unwrap(), filter: None }
}

fn cell(p: &Patterns, s: Scope, r: Registry, c: Category) -> Figure {
    p.matrix(s).cells.into_iter().find(|x| x.registry == r && x.category == c).unwrap().figure
}

const RIPE: Registry = Registry::RipeNcc;
const TD: Category = Category::TransferDelayed;

#[test]
fn a_group_is_shown_from_k_distinct_operators_and_not_before() {
    let mut f = Feed::new(5, 10);
    for a in 0..4 {
        // Many cases from few operators are still few operators.
        for i in 0..3 {
            f.publish(a, u64::from(a * 10 + i), summary(RIPE, &[TD], "2026-03"));
        }
    }
    assert_eq!(cell(&f.patterns, scope("2026-03"), RIPE, TD), Figure::SUPPRESSED);
    f.publish(4, 99, summary(RIPE, &[TD], "2026-03"));
    let shown = cell(&f.patterns, scope("2026-03"), RIPE, TD);
    assert_eq!((shown.operators, shown.cases), (Some(5), Some(13)));
}

#[test]
fn the_latest_amendment_counts_once_and_a_retraction_removes_the_case() {
    let mut f = Feed::new(1, 3);
    f.publish(0, 1, summary(RIPE, &[TD], "2026-03"));
    f.publish(0, 1, summary(Registry::Arin, &[TD], "2026-03"));
    assert_eq!(cell(&f.patterns, scope("2026-03"), RIPE, TD), Figure::SUPPRESSED);
    assert_eq!(cell(&f.patterns, scope("2026-03"), Registry::Arin, TD).cases, Some(1));
    assert_eq!(f.patterns.case_count(), 1);
    f.record(0, Body::Retraction(RetractionBody { case: case_ref(1), reason: RetractionReason::Duplicate }));
    assert_eq!(cell(&f.patterns, scope("2026-03"), Registry::Arin, TD), Figure::SUPPRESSED);
    assert_eq!(f.patterns.case_count(), 0);
    assert_eq!(f.patterns.cell_count(), 0, "empty cells are dropped");
}

#[test]
fn records_arriving_out_of_order_end_in_the_same_state() {
    let mut f = Feed::new(1, 3);
    // The amendment (seq 2) arrives before the original (seq 1): the original must not win.
    let body =
        |r| Body::Summary(SummaryBody { case: case_ref(7), supersedes: None, summary: summary(r, &[TD], "2026-03") });
    f.at_sequence(0, 2, body(Registry::Arin));
    f.at_sequence(0, 1, body(RIPE));
    assert_eq!(cell(&f.patterns, scope("2026-03"), Registry::Arin, TD).cases, Some(1));
    assert_eq!(cell(&f.patterns, scope("2026-03"), RIPE, TD), Figure::SUPPRESSED);
    // A retraction that arrives before the summary it retracts keeps it out.
    f.at_sequence(1, 2, Body::Retraction(RetractionBody { case: case_ref(8), reason: RetractionReason::Other }));
    f.at_sequence(
        1,
        1,
        Body::Summary(SummaryBody { case: case_ref(8), supersedes: None, summary: summary(RIPE, &[TD], "2026-03") }),
    );
    assert_eq!(f.patterns.case_count(), 1);
}

#[test]
fn only_current_members_count() {
    let mut f = Feed::new(1, 2);
    f.publish(0, 1, summary(RIPE, &[TD], "2026-03"));
    f.publish(5, 1, summary(RIPE, &[TD], "2026-03")); // not a member (yet)
    assert_eq!(cell(&f.patterns, scope("2026-03"), RIPE, TD).operators, Some(1));
    f.patterns.set_members([member(0), member(5)]);
    assert_eq!(cell(&f.patterns, scope("2026-03"), RIPE, TD).operators, Some(2));
    f.patterns.set_members([member(5)]);
    let c = cell(&f.patterns, scope("2026-03"), RIPE, TD);
    assert_eq!((c.operators, c.cases), (Some(1), Some(1)));
}

#[test]
fn periods_parse_and_reject_clearly() {
    let q: Period = "2026-Q2".parse().unwrap();
    assert_eq!((q.first, q.last), (month("2026-04"), month("2026-06")));
    let y: Period = "2025".parse().unwrap();
    assert_eq!(y.len(), 12);
    let r: Period = "2025-11..2026-Q1".parse().unwrap();
    assert_eq!((r.first, r.last), (month("2025-11"), month("2026-03")));
    for bad in ["2026-13", "2026-Q5", "2026-05..2026-01", "soon", "1900..2200"] {
        assert!(bad.parse::<Period>().is_err(), "{bad}");
    }
    assert!("region=Europe".parse::<Filter>().is_ok());
    assert!("resource=IPv4 /23-/22".parse::<Filter>().is_ok());
    assert!("resource=ASN 2-4".parse::<Filter>().is_ok());
    let e = "region=Mars".parse::<Filter>().unwrap_err().to_string();
    assert!(e.contains("region") && e.contains("Europe"), "{e}");
}

/// A federation where the attacker knows one operator's case is the odd one out.
fn federation_with_an_odd_one_out() -> Feed {
    let mut f = Feed::new(5, 40);
    let mut case = 0;
    let mut put = |f: &mut Feed, a: u32, r: Registry, start: &str, org: OrgType, region: Region| {
        let mut s = summary(r, &[TD], start);
        s.profile.org_type = org;
        s.profile.region = region;
        case += 1;
        f.publish(a, case, s);
    };
    // March: five European ISPs and one African hosting provider; RIPE × transfer delayed.
    for a in 0..5 {
        put(&mut f, a, RIPE, "2026-03", OrgType::Isp, Region::Europe);
    }
    put(&mut f, 5, RIPE, "2026-03", OrgType::Hosting, Region::Africa);
    // January to May: 6 operators each month. June: only two.
    for m in ["2026-01", "2026-02", "2026-04", "2026-05"] {
        for a in 10..16 {
            put(&mut f, a, RIPE, m, OrgType::Isp, Region::Europe);
        }
    }
    put(&mut f, 20, RIPE, "2026-06", OrgType::Isp, Region::Europe);
    put(&mut f, 21, RIPE, "2026-06", OrgType::Isp, Region::Europe);
    // AFRINIC × transfer delayed in March: two operators, beside six elsewhere.
    put(&mut f, 30, Registry::Afrinic, "2026-03", OrgType::Lir, Region::Africa);
    put(&mut f, 31, Registry::Afrinic, "2026-03", OrgType::Lir, Region::Africa);
    for a in 32..38 {
        put(&mut f, a, Registry::Arin, "2026-03", OrgType::Isp, Region::NorthAmerica);
    }
    f
}

fn cases(fig: Figure) -> i64 {
    fig.cases.map_or(0, |c| c as i64)
}

#[test]
fn attacker_differencing_filters_recovers_nothing() {
    let f = federation_with_an_odd_one_out();
    let p = &f.patterns;
    let all = cell(p, scope("2026-03"), RIPE, TD);
    assert_eq!(all.operators, Some(6), "the whole group is big enough to show");
    for filter in ["org_type=ISP", "org_type=hosting provider", "region=Europe", "region=Africa"] {
        let s = Scope { period: "2026-03".parse().unwrap(), filter: Some(filter.parse().unwrap()) };
        // Showing the five ISPs would give away the sixth operator as "total minus ISPs".
        assert!(cell(p, s, RIPE, TD).suppressed, "{filter} must be held back");
    }
}

#[test]
fn attacker_differencing_totals_and_periods_recovers_nothing() {
    let f = federation_with_an_odd_one_out();
    let p = &f.patterns;
    // Totals minus cells: the category's trend over all registries, minus every shown registry.
    let trend = p.trends(scope("2026-03"), TrendBy::Category, Step::Month);
    let total = trend.series.iter().find(|s| s.name == TD.label()).unwrap().points[0].figure;
    let shown: i64 = Registry::ALL.iter().map(|&r| cases(cell(p, scope("2026-03"), r, TD))).sum();
    assert_eq!(cases(total) - shown, 0, "AFRINIC's two cases must not appear as a remainder");
    assert!(cell(p, scope("2026-03"), Registry::Afrinic, TD).suppressed);
    // Per-registry trend minus the registry's cells: same.
    let by_registry = p.trends(scope("2026-03"), TrendBy::Registry, Step::Month);
    let afrinic = by_registry.series.iter().find(|s| s.name == Registry::Afrinic.label()).unwrap();
    assert!(afrinic.points[0].figure.suppressed);
    // Overlapping periods: January–June minus January–May must not give June's two operators.
    let h1 = cell(p, scope("2026-01..2026-06"), RIPE, TD);
    let jan_may = cell(p, scope("2026-01..2026-05"), RIPE, TD);
    assert_eq!(cases(h1) - cases(jan_may), 0);
    assert_eq!(h1.operators, jan_may.operators);
    // The year, the half-year and the quarter agree with the months they are made of.
    let q2 = cell(p, scope("2026-Q2"), RIPE, TD);
    let months: i64 = ["2026-04", "2026-05", "2026-06"].iter().map(|m| cases(cell(p, scope(m), RIPE, TD))).sum();
    assert_eq!(cases(q2), months);
}

/// Ground truth from the facts themselves, independent of the engine's bookkeeping.
fn operators_of(
    p: &Patterns,
    registry: u8,
    category: Category,
    month: u32,
    keep: impl Fn(&super::fact::Fact) -> bool,
) -> std::collections::BTreeSet<u32> {
    p.facts
        .live()
        .filter(|f| p.counted[f.author as usize])
        .filter(|f| f.registry == registry && f.month == month && f.categories & 1 << category.index() != 0)
        .filter(|f| keep(f))
        .map(|f| f.author)
        .collect()
}

#[test]
fn attacker_subtracting_shown_filter_values_from_their_total_only_learns_groups_of_k() {
    // Random federations: for every shown unfiltered cell and every dimension, the values held
    // back together come from 0 or at least k operators, so "total minus shown values" never
    // isolates a small group.
    for seed in 0..4 {
        let mut f = Feed::new(5, 60);
        let mut rng = Rng::new(seed);
        for i in 0..3000u64 {
            let mut s = sample::summary(&mut rng, month("2026-01"), 3);
            s.registry = [RIPE, Registry::Arin, Registry::Apnic][rng.below(3) as usize];
            s.categories = vec![[TD, Category::RpkiChange][rng.below(2) as usize]];
            f.publish(rng.below(60) as u32, i, s);
        }
        let p = &f.patterns;
        let mut checked = 0;
        for (key, _) in p.cells.iter().filter(|(k, _)| k.slot() == NO_FILTER) {
            if !p.is_shown(key) {
                continue;
            }
            let (registry, category, month) = decode(key);
            for d in Dimension::ALL {
                let held: Vec<u8> = d
                    .slots()
                    .filter(|&s| {
                        p.cells.get(key.with_slot(s)).is_some_and(|c| !c.is_empty()) && !p.is_shown(key.with_slot(s))
                    })
                    .collect();
                let ops = operators_of(p, registry, category, month, |fact| {
                    let mut touched = false;
                    fact.cells(|k, _| touched |= held.contains(&k.slot()) && k.with_slot(NO_FILTER) == key);
                    touched
                });
                assert!(ops.is_empty() || ops.len() >= 5, "seed {seed}: {d:?} holds back {} operators", ops.len());
                checked += 1;
            }
        }
        assert!(checked > 50, "the data must exercise the rule ({checked})");
    }
}

fn decode(key: CellKey) -> (u8, Category, u32) {
    // Rebuild a key for each candidate and compare: keeps the packing private to grid.rs.
    for &r in Registry::ALL {
        for &c in Category::ALL {
            for m in 24_312..24_330u32 {
                if CellKey::new(Family::Category, NO_FILTER, r.index() as u8, c.index() as u8, m) == key {
                    return (r.index() as u8, c, m);
                }
            }
        }
    }
    panic!("key outside the test's months")
}

#[test]
fn figures_over_periods_are_sums_of_shown_months() {
    let mut f = Feed::new(3, 30);
    let mut rng = Rng::new(9);
    for i in 0..2000u64 {
        let s = sample::summary(&mut rng, month("2025-01"), 24);
        f.publish(rng.below(30) as u32, i, s);
    }
    let p = &f.patterns;
    for (r, c) in [(RIPE, TD), (Registry::Arin, Category::RpkiChange), (Registry::Other, Category::Other)] {
        let year = cases(cell(p, scope("2025"), r, c));
        let months: i64 = (1..=12).map(|m| cases(cell(p, scope(&format!("2025-{m:02}")), r, c))).sum();
        assert_eq!(year, months, "{r} × {c}");
    }
}

#[test]
fn similar_cases_rank_the_closest_first_and_count_operators() {
    let mut f = Feed::new(2, 10);
    let target = summary(RIPE, &[TD, Category::ExtraordinaryDocumentation], "2026-03");
    f.publish(1, 1, target.clone());
    f.publish(2, 1, target.clone());
    f.publish(3, 1, summary(Registry::Lacnic, &[Category::FeeDispute], "2024-01"));
    f.publish(0, 1, target.clone()); // the asker's own summary is left out
    let similar = f.patterns.similar(&target, Some(member(0)), 10);
    assert_eq!(similar.matches.len(), 2 + 1);
    assert!(similar.matches[0].score > 0.99 && similar.matches[1].score > 0.99);
    assert!(similar.matches[2].score < 0.6);
    assert_eq!(similar.operators, Some(2));
    // Fewer than k alike: the count is withheld.
    let lone = f.patterns.similar(&summary(Registry::Lacnic, &[Category::FeeDispute], "2024-01"), None, 10);
    assert_eq!(lone.operators, None);
}

#[test]
fn a_spike_is_flagged_and_steady_noise_is_not() {
    let mut f = Feed::new(5, 80);
    let mut rng = Rng::new(4);
    let mut case = 0u64;
    // 2025-01..2026-03: every (registry, category) pair of a few gets a steady Poisson-ish rate.
    for m in 0..15 {
        let start = Month::from_index(month("2025-01").index() + m).unwrap().to_string();
        for (r, c) in [(RIPE, TD), (Registry::Arin, TD), (Registry::Apnic, Category::RpkiChange)] {
            let n = 8 + rng.below(5);
            for _ in 0..n {
                case += 1;
                f.publish(rng.below(80) as u32, case, summary(r, &[c], &start));
            }
        }
        // The spike: ARIN × RPKI change runs at ~4 a month, then ~20 in the last three months.
        let n = if m >= 12 { 18 + rng.below(5) } else { 3 + rng.below(3) };
        for _ in 0..n {
            case += 1;
            f.publish(rng.below(80) as u32, case, summary(Registry::Arin, &[Category::RpkiChange], &start));
        }
    }
    let e = f.patterns.emerging(month("2026-03"), Default::default());
    let flagged: Vec<_> = e.pairs.iter().map(|p| (p.registry, p.category)).collect();
    assert_eq!(flagged, vec![(Registry::Arin, Category::RpkiChange)]);
}

#[test]
fn co_occurring_categories_are_counted_per_pair() {
    let mut f = Feed::new(2, 5);
    for a in 0..3 {
        f.publish(a, 1, summary(RIPE, &[TD, Category::ExtraordinaryDocumentation], "2026-02"));
    }
    f.publish(3, 1, summary(RIPE, &[TD, Category::FeeDispute], "2026-02"));
    let co = f.patterns.co_occurrence("2026".parse().unwrap(), None);
    assert_eq!(co.pairs.len(), 1, "the lone pair is below k");
    assert_eq!(co.pairs[0].categories, [TD, Category::ExtraordinaryDocumentation]);
    assert_eq!(co.pairs[0].figure.operators, Some(3));
}

#[test]
fn durations_give_median_and_p90_of_shown_groups() {
    let mut f = Feed::new(2, 10);
    for (a, months) in [(0, 1u16), (1, 2), (2, 3), (3, 4), (4, 10)] {
        let mut s = summary(RIPE, &[TD], "2026-01");
        s.outcome = Outcome::ResolvedFavourably;
        s.timeline = vec![lantern_protocol::summary::TimelineEntry { stage: Stage::Resolved, month: months }];
        f.publish(a, 1, s);
    }
    let d = f.patterns.durations("2026".parse().unwrap());
    assert_eq!(d.rows.len(), 1);
    let row = &d.rows[0];
    assert_eq!((row.median_months, row.p90_months, row.resolved), (Some(3), Some(10), 5));
    assert_eq!(row.outcomes.len(), 1);
    assert_eq!(row.outcomes[0].outcome, Outcome::ResolvedFavourably);
}

/// A cell in use: key, cases, primary cases, authors, resolution histogram.
type CellSnapshot = (CellKey, u32, u32, Vec<u32>, Vec<u32>);

/// Every cell in use, with what it counts, in key order.
fn snapshot(p: &Patterns) -> Vec<CellSnapshot> {
    let mut cells: Vec<_> = p
        .cells
        .iter()
        .map(|(k, c)| {
            let mut authors: Vec<u32> = c.authors().collect();
            authors.sort();
            (k, c.cases, c.primary_cases, authors, c.resolution().to_vec())
        })
        .collect();
    cells.sort_by_key(|c| c.0);
    cells
}

#[test]
fn applying_in_batches_counts_exactly_what_applying_one_by_one_does() {
    // Amendments and retractions of one case inside one batch touch the same cells in an order
    // that matters (a removal before its addition would be lost): batches must keep it.
    let mut f = Feed::new(2, 12);
    let mut rng = Rng::new(7);
    for i in 0..2_000u64 {
        let author = rng.below(12) as u32;
        let case = rng.below(300);
        match rng.below(10) {
            0 => {
                f.record(
                    author,
                    Body::Retraction(RetractionBody { case: case_ref(case), reason: RetractionReason::Other }),
                );
            }
            _ => {
                let start = Month::from_index(month("2025-01").index() + rng.below(18) as i64).unwrap();
                let mut s = sample::summary(&mut rng, start, 2);
                s.registry = [RIPE, Registry::Arin, Registry::Lacnic][rng.below(3) as usize];
                s.outcome = Outcome::ALL[(i % Outcome::ALL.len() as u64) as usize];
                f.publish(author, case, s);
            }
        }
    }
    let expected = snapshot(&f.patterns);
    assert!(expected.len() > 100, "the feed must fill many cells");
    for batch in [1, 7, 64, 4096] {
        let mut p = Patterns::new(2, (0..12).map(member));
        for chunk in f.log.chunks(batch) {
            p.apply_batch(chunk.iter().map(|(id, env)| (*id, env)));
        }
        assert_eq!(snapshot(&p), expected, "batches of {batch}");
        assert_eq!(p.case_count(), f.patterns.case_count());
    }
}
