//! Similar cases: the published summaries most like one of the member's private cases, and how
//! many distinct operators published such cases. The private case is reduced to a [`Fact`] in
//! memory and compared locally; nothing about it leaves the node.

use lantern_protocol::RecordId;
use lantern_protocol::summary::CaseSummary;
use lantern_protocol::vocab::{Category, Registry};
use rayon::prelude::*;
use serde::Serialize;

use super::fact::Fact;
use super::{FREE, Me, Patterns};

/// Score from which a summary counts as "like yours" in the operator count.
pub const LIKE_SCORE: f64 = 0.6;
pub const MAX_RESULTS: usize = 100;

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SimilarCase {
    #[schema(value_type = String)]
    pub record: RecordId,
    pub score: f64,
    #[schema(value_type = String)]
    pub registry: Registry,
    #[schema(value_type = Vec<String>)]
    pub categories: Vec<Category>,
    pub start: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Similar {
    pub k: usize,
    pub like_score: f64,
    /// Distinct operators with a summary scoring at least `like_score`; absent when fewer than k.
    pub operators: Option<u64>,
    pub matches: Vec<SimilarCase>,
}

fn jaccard(a: u32, b: u32) -> f64 {
    let union = (a | b).count_ones();
    if union == 0 { 1.0 } else { f64::from((a & b).count_ones()) / f64::from(union) }
}

/// Similarity in 0..=1: registry 0.25 (0.1 for the same RIR region), categories 0.35,
/// resources 0.2 (kinds and sizes), timeline shape 0.2 (stages reached, duration bucket).
pub fn score(a: &Fact, b: &Fact) -> f64 {
    Scorer::new(a).coarse(b) + fine(a, b)
}

/// Registry and categories: enough to rule most summaries out before the rest is scored.
struct Scorer {
    probe: Fact,
    registry: [f64; 16],
}

/// What [`fine`] adds at most.
const FINE_MAX: f64 = 0.4;

impl Scorer {
    fn new(probe: &Fact) -> Self {
        let rir = |r: usize| Registry::ALL[r].rir();
        let mut registry = [0.0; 16];
        for (r, slot) in registry.iter_mut().enumerate().take(Registry::ALL.len()) {
            *slot = if r == usize::from(probe.registry) {
                0.25
            } else if rir(r).is_some() && rir(r) == rir(usize::from(probe.registry)) {
                0.1
            } else {
                0.0
            };
        }
        Self { probe: *probe, registry }
    }

    fn coarse(&self, f: &Fact) -> f64 {
        let registry = self.registry[usize::from(f.registry) & 15];
        if self.probe.categories & f.categories == 0 {
            // No category in common: skip the division.
            return registry;
        }
        registry + 0.35 * jaccard(self.probe.categories.into(), f.categories.into())
    }
}

fn fine(a: &Fact, b: &Fact) -> f64 {
    let resources = 0.1 * jaccard(a.kinds.into(), b.kinds.into()) + 0.1 * jaccard(a.sizes.into(), b.sizes.into());
    let gap = f64::from(a.duration.abs_diff(b.duration));
    resources + 0.1 * jaccard(a.stages.into(), b.stages.into()) + 0.1 * (1.0 - gap / 5.0).max(0.0)
}

impl Patterns {
    /// The `limit` summaries most like `case`, leaving out `own` (the asking member's records).
    pub fn similar(&self, case: &CaseSummary, me: Option<&Me<'_>>, limit: usize) -> Similar {
        let limit = limit.clamp(1, MAX_RESULTS);
        let own = self.own(me);
        let probe = Fact::of(FREE, case);
        let scorer = Scorer::new(&probe);
        let words = self.authors.len().div_ceil(64);
        let counted = |f: &Fact| f.author != FREE && !own[f.author as usize] && self.counted[f.author as usize];
        let (mut best, alike) = self
            .facts
            .facts
            .par_chunks(16_384)
            .enumerate()
            .map(|(chunk, facts)| {
                let mut best: Vec<(f64, u32)> = Vec::with_capacity(limit + 1);
                let mut alike = vec![0u64; words];
                for (i, f) in facts.iter().enumerate().filter(|(_, f)| counted(f)) {
                    let coarse = scorer.coarse(f);
                    let floor = if best.len() == limit { best[limit - 1].0 } else { f64::NEG_INFINITY };
                    if coarse + FINE_MAX < LIKE_SCORE && coarse + FINE_MAX <= floor {
                        continue;
                    }
                    let s = coarse + fine(&probe, f);
                    if s >= LIKE_SCORE {
                        alike[f.author as usize / 64] |= 1 << (f.author % 64);
                    }
                    if best.len() < limit || s > best[best.len() - 1].0 {
                        let slot = (chunk * 16_384 + i) as u32;
                        let at = best.partition_point(|(b, _)| *b >= s);
                        best.insert(at, (s, slot));
                        best.truncate(limit);
                    }
                }
                (best, alike)
            })
            .reduce(
                || (Vec::new(), vec![0u64; words]),
                |(mut a, mut sa), (b, sb)| {
                    a.extend(b);
                    for (x, y) in sa.iter_mut().zip(sb) {
                        *x |= y;
                    }
                    (a, sa)
                },
            );
        best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        best.truncate(limit);
        let operators = self.distinct(&alike);
        let matches = best
            .into_iter()
            .map(|(score, slot)| {
                let f = &self.facts.facts[slot as usize];
                SimilarCase {
                    record: self.facts.record_ids[slot as usize],
                    score: (score * 1000.0).round() / 1000.0,
                    registry: Registry::ALL[usize::from(f.registry)],
                    categories: f.categories().collect(),
                    start: lantern_protocol::Month::from_index(i64::from(f.month))
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                }
            })
            .collect();
        Similar {
            k: self.k,
            like_score: LIKE_SCORE,
            operators: (operators >= self.k as u64).then_some(operators),
            matches,
        }
    }
}
