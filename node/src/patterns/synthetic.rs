//! Small federations as they really start: tens of operators, a handful of registry cases each
//! a year, most of them at a few big registries, in bursts. What the utility figures
//! (docs/patterns.md) and the attacker suite are measured on; never real cases.

use lantern_protocol::Month;
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::summary::CaseSummary;
use lantern_protocol::vocab::{Category, Registry};

/// Share of cases per registry (per mille): a few big RIRs, a long tail of NIRs.
const REGISTRY_WEIGHTS: &[(Registry, u64)] = &[
    (Registry::RipeNcc, 360),
    (Registry::Arin, 240),
    (Registry::Apnic, 180),
    (Registry::Lacnic, 80),
    (Registry::Afrinic, 50),
    (Registry::Jpnic, 20),
    (Registry::NicBr, 20),
    (Registry::Cnnic, 10),
    (Registry::Idnic, 10),
    (Registry::Other, 30),
];

/// Cases a year per operator: mean 3, a few operators with many more than most.
const CASES_PER_YEAR: &[usize] = &[1, 1, 2, 2, 3, 3, 3, 4, 5, 6];

/// Share of an operator's cases at its home registry (percent).
const HOME_SHARE: u64 = 85;

/// Share of a registry's cases in its burst month (percent).
const BURST_SHARE: u64 = 25;

/// One operator's case: its author index and summary.
pub struct SyntheticCase {
    pub author: u32,
    pub summary: CaseSummary,
}

/// A federation of `operators` over the twelve months ending `last`, from `seed`.
pub fn federation(operators: u32, last: Month, seed: u64) -> Vec<SyntheticCase> {
    let mut rng = Rng::new(seed);
    let first = last.index() - 11;
    let bursts: Vec<i64> = REGISTRY_WEIGHTS.iter().map(|_| first + rng.below(12) as i64).collect();
    let mut out = Vec::new();
    for author in 0..operators {
        let home = rng.weighted(REGISTRY_WEIGHTS);
        for _ in 0..rng.pick(CASES_PER_YEAR) {
            let registry = if rng.chance(HOME_SHARE) { home } else { rng.weighted(REGISTRY_WEIGHTS) };
            let at = REGISTRY_WEIGHTS.iter().position(|(r, _)| *r == registry).unwrap_or(0);
            let month = if rng.chance(BURST_SHARE) { bursts[at] } else { first + rng.below(12) as i64 };
            let start = Month::from_index(month).unwrap_or(last);
            let mut summary = sample::summary(&mut rng, start, 1);
            summary.registry = registry;
            summary.categories = categories(&mut rng);
            out.push(SyntheticCase { author, summary });
        }
    }
    out
}

/// One category (65 %) or two, Zipf-distributed: a few kinds of trouble are most of it.
fn categories(rng: &mut Rng) -> Vec<Category> {
    let weights: Vec<(Category, u64)> =
        Category::ALL.iter().enumerate().map(|(i, &c)| (c, 1_000 / (i as u64 + 1))).collect();
    let mut out = vec![rng.weighted(&weights)];
    if !rng.chance(65) {
        out.push(rng.weighted(&weights));
    }
    out.sort();
    out.dedup();
    out
}
