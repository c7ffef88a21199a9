//! The engine's rules, and an attacker who tries to recover held-back groups by differencing.

use lantern_protocol::ids::{CaseRef, FederationId};
use lantern_protocol::record::{Body, Envelope, RetractionBody, SummaryBody};
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::summary::CaseSummary;
use lantern_protocol::vocab::*;
use lantern_protocol::{MemberKey, Month, RecordId};

use super::grid::{CellKey, Family, Filter, NO_FILTER};
use super::query::{Figure, Period, Scope};
use super::{Me, Patterns};
use lantern_protocol::anon::AnonymitySecret;
use lantern_protocol::anonymous::Opened;

pub(super) fn member(i: u32) -> MemberKey {
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&i.to_be_bytes());
    MemberKey::from_slice(&b).unwrap()
}

/// Member `i` asking (its anonymity secret is derived from its index).
pub(super) fn me(i: u32) -> Me<'static> {
    let secret: &'static AnonymitySecret = Box::leak(Box::new(AnonymitySecret::derive(&[i as u8; 32])));
    Me { member: member(i), federation: lantern_protocol::FederationId([0; 32]), secret }
}

pub(super) fn month(s: &str) -> Month {
    s.parse().unwrap()
}

pub(super) fn case_ref(i: u64) -> CaseRef {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&i.to_be_bytes());
    CaseRef::from_slice(&b).unwrap()
}

/// A minimal valid-looking summary.
pub(super) fn summary(registry: Registry, categories: &[Category], start: &str) -> CaseSummary {
    let mut s = sample::summary(&mut Rng::new(1), month(start), 1);
    s.registry = registry;
    s.categories = categories.to_vec();
    s.start = month(start);
    s.outcome = Outcome::Open;
    s
}

pub(super) struct Feed {
    pub patterns: Patterns,
    pub next_id: u64,
    seqs: std::collections::HashMap<MemberKey, u64>,
    /// Every record fed, in order.
    pub log: Vec<(RecordId, Opened)>,
}

impl Feed {
    pub fn new(k: usize, members: u32) -> Self {
        Self {
            patterns: Patterns::new(k, (0..members).map(member)),
            next_id: 0,
            seqs: Default::default(),
            log: Vec::new(),
        }
    }

    pub fn record(&mut self, author: u32, body: Body) -> RecordId {
        let key = member(author);
        let seq = self.seqs.entry(key).or_insert(0);
        *seq += 1;
        let seq = *seq;
        self.at_sequence(author, seq, body)
    }

    pub fn at_sequence(&mut self, author: u32, sequence: u64, body: Body) -> RecordId {
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
        let record = Opened::Signed(env);
        self.patterns.apply(&id, &record);
        self.log.push((id, record));
        id
    }

    pub fn publish(&mut self, author: u32, case: u64, s: CaseSummary) -> RecordId {
        self.record(author, Body::Summary(SummaryBody { case: case_ref(case), supersedes: None, summary: s }))
    }
}

pub(super) fn scope(period: &str) -> Scope {
    Scope { period: period.parse().unwrap(), filter: None }
}

pub(super) fn cell(p: &Patterns, s: Scope, r: Registry, c: Category) -> Figure {
    p.matrix(s).cells.into_iter().find(|x| x.registry == r && x.category == c).unwrap().figure
}

/// What one registry × category truly counts over one period, noise and floor aside:
/// (operators, cases). For checking the bookkeeping, never shown.
pub(super) fn truth(p: &Patterns, period: &str, r: Registry, c: Category) -> (usize, u64) {
    let keys = super::query::cell_keys(NO_FILTER, r, c);
    let content = p.content(period.parse().unwrap(), &keys, super::disclosure::Counting::All);
    (p.distinct(&content.operators.0) as usize, content.cases)
}

const RIPE: Registry = Registry::RipeNcc;
const TD: Category = Category::TransferDelayed;

#[test]
fn a_group_is_never_shown_below_k_operators_and_almost_always_well_above() {
    // Many cases from few operators are still few operators; whatever the record ids (and so
    // the noise), four operators never show.
    let (mut shown_at_4, mut shown_at_9, mut close) = (0, 0, 0);
    for trial in 0..200u32 {
        let mut f = Feed::new(5, 10);
        f.next_id = u64::from(trial) << 20;
        for a in 0..4 {
            for i in 0..3 {
                f.publish(a, u64::from(a * 10 + i), summary(RIPE, &[TD], "2026-03"));
            }
        }
        shown_at_4 += cell(&f.patterns, scope("2026-03"), RIPE, TD).is_shown() as u32;
        for a in 4..9 {
            f.publish(a, 99, summary(RIPE, &[TD], "2026-03"));
        }
        let fig = cell(&f.patterns, scope("2026-03"), RIPE, TD);
        if fig.is_shown() {
            shown_at_9 += 1;
            // The noise is small: the figure stays near the truth (9 operators, 17 cases).
            let (o, c) = (fig.operators.unwrap() as i64, fig.cases.unwrap() as i64);
            close += ((o - 9).abs() <= 3 && (c - 17).abs() <= 3) as u32;
        }
    }
    assert_eq!(shown_at_4, 0);
    assert!(shown_at_9 >= 190, "{shown_at_9} of 200");
    assert!(close >= shown_at_9 * 9 / 10, "{close} of {shown_at_9} within 3 of the truth");
}

#[test]
fn the_latest_amendment_counts_once_and_a_retraction_removes_the_case() {
    let mut f = Feed::new(1, 3);
    f.publish(0, 1, summary(RIPE, &[TD], "2026-03"));
    f.publish(0, 1, summary(Registry::Arin, &[TD], "2026-03"));
    assert_eq!(truth(&f.patterns, "2026-03", RIPE, TD), (0, 0));
    assert_eq!(truth(&f.patterns, "2026-03", Registry::Arin, TD), (1, 1));
    assert_eq!(f.patterns.case_count(), 1);
    f.record(0, Body::Retraction(RetractionBody { case: case_ref(1), reason: RetractionReason::Duplicate }));
    assert_eq!(truth(&f.patterns, "2026-03", Registry::Arin, TD), (0, 0));
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
    assert_eq!(truth(&f.patterns, "2026-03", Registry::Arin, TD), (1, 1));
    assert_eq!(truth(&f.patterns, "2026-03", RIPE, TD), (0, 0));
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
    assert_eq!(truth(&f.patterns, "2026-03", RIPE, TD), (1, 1));
    f.patterns.set_members([member(0), member(5)]);
    assert_eq!(truth(&f.patterns, "2026-03", RIPE, TD), (2, 2));
    f.patterns.set_members([member(5)]);
    assert_eq!(truth(&f.patterns, "2026-03", RIPE, TD), (1, 1));
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

#[test]
fn periods_are_answered_from_whole_units() {
    let units = |s: &str| s.parse::<Period>().unwrap().units().iter().map(|u| u.to_string()).collect::<Vec<_>>();
    // Units answer as themselves: a month, a calendar quarter or year, any twelve months.
    assert_eq!(units("2026-03"), ["2026-03"]);
    assert_eq!(units("2026-Q2"), ["2026-04..2026-06"]);
    assert_eq!(units("2025"), ["2025-01..2025-12"]);
    assert_eq!(units("2025-12..2026-11"), ["2025-12..2026-11"]);
    // Anything else is cut into years, then quarters, then months.
    assert_eq!(units("2025-11..2027-04"), ["2025-11", "2025-12", "2026-01..2026-12", "2027-01..2027-03", "2027-04"]);
    assert_eq!(units("2026-02..2026-05"), ["2026-02", "2026-03", "2026-04", "2026-05"]);
}

#[test]
fn figures_over_ragged_periods_add_up_their_released_units() {
    let mut f = Feed::new(3, 30);
    let mut rng = Rng::new(9);
    for i in 0..2000u64 {
        let s = sample::summary(&mut rng, month("2025-01"), 24);
        f.publish(rng.below(30) as u32, i, s);
    }
    let p = &f.patterns;
    let cases = |fig: Figure| fig.cases.unwrap_or(0);
    for (r, c) in [(RIPE, TD), (Registry::Arin, Category::RpkiChange), (Registry::Other, Category::Other)] {
        let ragged = cell(p, scope("2025-11..2026-04"), r, c);
        let parts: u64 =
            ["2025-11", "2025-12", "2026-Q1", "2026-04"].iter().map(|u| cases(cell(p, scope(u), r, c))).sum();
        assert_eq!(cases(ragged), parts, "{r} × {c}");
        let ops = ["2025-11", "2025-12", "2026-Q1", "2026-04"].iter().filter_map(|u| cell(p, scope(u), r, c).operators);
        assert_eq!(ragged.operators, ops.max(), "the largest unit's operators, never a union");
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
    let similar = f.patterns.similar(&target, Some(&me(0)), 10);
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
    assert!(
        co.pairs.iter().all(|p| p.categories == [TD, Category::ExtraordinaryDocumentation]),
        "the lone pair is below k"
    );
    // Three operators with k = 2: shown unless the noise takes it below 2.
    assert!(co.pairs.iter().all(|p| p.figure.operators.unwrap() >= 2));
    let keys = |m: u32, out: &mut Vec<CellKey>| {
        let pair = super::grid::pair_index(TD, Category::ExtraordinaryDocumentation);
        out.push(CellKey::new(Family::Pair, NO_FILTER, RIPE.index() as u8, pair, m))
    };
    let content = f.patterns.content("2026".parse().unwrap(), &keys, super::disclosure::Counting::All);
    assert_eq!((f.patterns.distinct(&content.operators.0), content.cases), (3, 3));
}

#[test]
fn durations_give_median_and_p90_only_over_k_operators_resolved_cases() {
    let mut f = Feed::new(3, 12);
    for (a, months) in [(0, 1u16), (1, 2), (2, 3), (3, 4), (4, 10), (5, 3), (6, 3), (7, 2)] {
        let mut s = summary(RIPE, &[TD], "2026-01");
        s.outcome = Outcome::ResolvedFavourably;
        s.timeline = vec![lantern_protocol::summary::TimelineEntry { stage: Stage::Resolved, month: months }];
        f.publish(a, 1, s);
    }
    let d = f.patterns.durations("2026".parse().unwrap());
    let row = d.rows.iter().find(|r| r.registry == RIPE && r.category == TD).expect("eight operators show");
    assert_eq!((row.median_months, row.p90_months), (Some(3), Some(10)));
    assert!(row.resolved.is_some_and(|n| n.abs_diff(8) <= 4));
    assert_eq!(row.outcomes.len(), 1);
    assert_eq!(row.outcomes[0].outcome, Outcome::ResolvedFavourably);
    // Open cases from many operators, closed ones from two: the group shows, its durations not.
    let mut f = Feed::new(3, 12);
    for a in 0..10 {
        let mut s = summary(RIPE, &[TD], "2026-01");
        if a < 2 {
            s.outcome = Outcome::ResolvedFavourably;
            s.timeline = vec![lantern_protocol::summary::TimelineEntry { stage: Stage::Resolved, month: 0 }];
        }
        f.publish(a, 1, s);
    }
    let d = f.patterns.durations("2026".parse().unwrap());
    let row = d.rows.iter().find(|r| r.registry == RIPE && r.category == TD).expect("ten operators show");
    assert_eq!((row.median_months, row.p90_months, row.resolved), (None, None, None));
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

#[test]
fn a_crowd_counts_other_operators_summaries_field_by_field() {
    let mut f = Feed::new(3, 10);
    let mine = summary(RIPE, &[TD], "2026-03");
    // Four other operators with the same registry, categories and month; two of them with the
    // same everything; one more with another month; the member's own twin does not count.
    for a in 1..=4 {
        let mut s = mine.clone();
        if a > 2 {
            s.outcome = Outcome::ResolvedFavourably;
        }
        f.publish(a, 1, s);
    }
    f.publish(5, 1, summary(RIPE, &[TD], "2026-04"));
    f.publish(0, 2, mine.clone());
    let crowd = f.patterns.crowd(&mine, Some(&me(0)));
    let at = |field: &str| {
        let l = crowd.levels.iter().find(|l| l.field == field).unwrap();
        (l.summaries, l.operators)
    };
    assert_eq!(at("registry"), (5, 5));
    assert_eq!(at("categories"), (5, 5));
    assert_eq!(at("start month"), (4, 4));
    assert_eq!(at("outcome"), (2, 2));
    assert_eq!(at("profile"), (2, 2));
    assert_eq!(crowd.alone_from, Some("outcome"), "two operators are fewer than k = 3");
    // Omitting the impact: a twin with another impact joins the crowd.
    let mut other_impact = mine.clone();
    other_impact.impact.cost =
        if mine.impact.cost == CostBucket::Over1m { CostBucket::Zero } else { CostBucket::Over1m };
    f.publish(6, 1, other_impact);
    let forms = f.patterns.forms(&mine, crate::publish::Narrative::Redact, Some(&me(0)));
    assert_eq!((forms.forms[0].operators, forms.forms[1].operators), (2, 3));
    assert!(forms.forms[1].shape.omit_impact && !forms.forms[1].shape.start_quarter);
    assert_eq!((forms.proposed, forms.in_crowd), (1, true), "the finest form with k = 3 operators");
}

#[test]
fn a_start_quarter_and_offsets_in_quarters_join_the_months_around() {
    let mut f = Feed::new(3, 10);
    let with_timeline = |start: &str, offsets: &[u16]| {
        let mut s = summary(RIPE, &[TD], start);
        s.timeline = offsets
            .iter()
            .zip([Stage::RequestSubmitted, Stage::DocumentsRequested, Stage::Escalated])
            .map(|(&month, stage)| lantern_protocol::summary::TimelineEntry { stage, month })
            .collect();
        s.impact = crate::patterns::crowd::omitted_impact();
        s
    };
    let mine = with_timeline("2026-05", &[0, 1, 4]);
    // Others in April, May and June whose timelines differ in months but not in quarters once
    // counted from the quarter's first month (April): for May, +0 is April+1 and +4 is April+5.
    f.publish(1, 1, with_timeline("2026-04", &[1, 2, 5]));
    f.publish(2, 1, with_timeline("2026-06", &[0, 0, 2]));
    f.publish(3, 1, with_timeline("2026-05", &[1, 1, 3]));
    f.publish(4, 1, with_timeline("2026-08", &[0, 1, 4])); // another quarter
    let forms = f.patterns.forms(&mine, crate::publish::Narrative::Redact, Some(&me(0)));
    let ops: Vec<u64> = forms.forms.iter().map(|x| x.operators).collect();
    // As is: no one; the quarter alone: the April twin; quarters for the offsets too: all three.
    assert_eq!(ops, [0, 0, 1, 3], "{ops:?}");
    assert_eq!((forms.proposed, forms.in_crowd), (3, true));
    let mut coarse = mine.clone();
    forms.forms[3].shape.coarsen(&mut coarse);
    assert_eq!((coarse.start.to_string().as_str(), coarse.timeline[2].month), ("2026-04", 3));
    coarse.validate(4000).unwrap();
}

#[test]
fn a_profile_is_published_at_the_finest_level_k_other_members_share() {
    let declared = lantern_protocol::summary::MemberProfile {
        org_type: OrgType::Hosting,
        size: OrgSize::Small,
        region: Region::Africa,
    };
    let mut f = Feed::new(3, 12);
    let publish_as = |f: &mut Feed, a: u32, org_type, size, region| {
        let mut s = summary(RIPE, &[TD], "2026-03");
        s.profile = lantern_protocol::summary::MemberProfile { org_type, size, region };
        f.publish(a, 1, s);
    };
    // Alone: nothing is shared by three others.
    assert_eq!(f.patterns.generalise(declared, Some(&me(0))).level, "none");
    // Three other African hosting providers of other sizes: type and region are shared.
    for a in 1..=3 {
        publish_as(&mut f, a, OrgType::Hosting, OrgSize::Large, Region::Africa);
    }
    // The member's own summaries never make a crowd for it.
    publish_as(&mut f, 0, OrgType::Hosting, OrgSize::Small, Region::Africa);
    let choice = f.patterns.generalise(declared, Some(&me(0)));
    assert_eq!((choice.level, choice.members), ("type and region", 3));
    assert_eq!(choice.profile.size, OrgSize::Undisclosed);
    assert_eq!((choice.profile.org_type, choice.profile.region), (OrgType::Hosting, Region::Africa));
    // Three more of the same size: the full profile.
    for a in 4..=6 {
        publish_as(&mut f, a, OrgType::Hosting, OrgSize::Small, Region::Africa);
    }
    assert_eq!(f.patterns.generalise(declared, Some(&me(0))).level, "type, size and region");
}
