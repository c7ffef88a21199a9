//! Emerging patterns: registry × category pairs whose recent rate is clearly above their own
//! baseline.
//!
//! Method: for each pair, X = cases in the last `recent` months and B = cases in the `baseline`
//! months before them (released figures, so with their noise; see [`super::disclosure`]). Under "nothing changed", X is Poisson with mean
//! μ = recent × (B + 0.5) / baseline (the 0.5 keeps a pair with an empty baseline from looking
//! infinitely surprising). The pair is flagged when P(Poisson(μ) ≥ X) is below α / pairs tested
//! (Bonferroni, α = 0.01), X is at least twice μ, and the recent months' cases come from at
//! least k operators.

use lantern_protocol::Month;
use lantern_protocol::vocab::{Category, Registry};
use serde::Serialize;

use super::Patterns;
use super::query::Period;

pub const ALPHA: f64 = 0.01;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    pub recent: u16,
    pub baseline: u16,
}

impl Default for Windows {
    fn default() -> Self {
        Self { recent: 3, baseline: 12 }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct EmergingPair {
    #[schema(value_type = String)]
    pub registry: Registry,
    #[schema(value_type = String)]
    pub category: Category,
    pub recent_cases: u64,
    pub baseline_cases: u64,
    /// Cases expected in the recent window at the baseline rate.
    pub expected: f64,
    pub ratio: f64,
    pub p_value: f64,
    pub operators: u64,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Emerging {
    pub until: String,
    pub recent_months: u16,
    pub baseline_months: u16,
    pub k: usize,
    pub threshold: f64,
    pub pairs: Vec<EmergingPair>,
}

/// P(Poisson(mean) ≥ x). Terms come from the recurrence p(i) = p(i−1) · μ / i, started in log
/// space at the mode side so large means neither underflow nor overflow.
pub fn poisson_upper_tail(x: u64, mean: f64) -> f64 {
    if x == 0 {
        return 1.0;
    }
    if mean <= 0.0 {
        return 0.0;
    }
    let log_term = |i: u64| -mean + (i as f64) * mean.ln() - ln_factorial(i);
    if (x as f64) > mean {
        // Sum upwards from x: terms shrink geometrically.
        let mut term = log_term(x).exp();
        let mut total = 0.0;
        let mut i = x;
        while term > total * 1e-17 && i < x + 100_000 {
            total += term;
            i += 1;
            term *= mean / i as f64;
        }
        total.min(1.0)
    } else {
        // 1 − P(X < x), summing downwards from x − 1.
        let mut term = log_term(x - 1).exp();
        let mut below = 0.0;
        let mut i = x - 1;
        loop {
            below += term;
            if i == 0 || term < below * 1e-17 {
                break;
            }
            term *= i as f64 / mean;
            i -= 1;
        }
        (1.0 - below).clamp(0.0, 1.0)
    }
}

/// ln(n!), exact below 256 and by Stirling's series above.
fn ln_factorial(n: u64) -> f64 {
    if n < 256 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let n = n as f64;
    n * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI * n).ln() + 1.0 / (12.0 * n) - 1.0 / (360.0 * n.powi(3))
}

/// The test on one pair's monthly counts (baseline months, then recent months).
pub fn is_spike(recent: u64, baseline: u64, windows: Windows, threshold: f64) -> Option<(f64, f64)> {
    let expected = f64::from(windows.recent) * (baseline as f64 + 0.5) / f64::from(windows.baseline);
    let p = poisson_upper_tail(recent, expected);
    (p < threshold && recent as f64 >= 2.0 * expected).then_some((expected, p))
}

impl Patterns {
    /// Pairs whose last `windows.recent` months (ending with `until`) are clearly above their
    /// `windows.baseline` months before.
    pub fn emerging(&self, until: Month, windows: Windows) -> Emerging {
        let recent_first = Month::from_index(until.index() - i64::from(windows.recent) + 1).unwrap_or(until);
        let base_first = Month::from_index(recent_first.index() - i64::from(windows.baseline)).unwrap_or(recent_first);
        let base_last = Month::from_index(recent_first.index() - 1).unwrap_or(recent_first);
        let pairs_tested = (Registry::ALL.len() * Category::ALL.len()) as f64;
        let threshold = ALPHA / pairs_tested;
        let mut pairs = Vec::new();
        for &registry in Registry::ALL {
            for &category in Category::ALL {
                let Some(released) = self.pair_figure(registry, category, Period { first: recent_first, last: until })
                else {
                    continue;
                };
                let (recent, operators) = (released.cases, released.operators);
                let baseline = self
                    .pair_figure(registry, category, Period { first: base_first, last: base_last })
                    .map_or(0, |r| r.cases);
                if let Some((expected, p_value)) = is_spike(recent, baseline, windows, threshold) {
                    pairs.push(EmergingPair {
                        registry,
                        category,
                        recent_cases: recent,
                        baseline_cases: baseline,
                        expected,
                        ratio: recent as f64 / expected,
                        p_value,
                        operators,
                    });
                }
            }
        }
        pairs.sort_by(|a, b| a.p_value.total_cmp(&b.p_value));
        Emerging {
            until: until.to_string(),
            recent_months: windows.recent,
            baseline_months: windows.baseline,
            k: self.k,
            threshold,
            pairs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(Poisson(2) >= 5) = 0.052653017...; P(Poisson(10) >= 10) = 0.542070...
        assert!((poisson_upper_tail(5, 2.0) - 0.052_653_017).abs() < 1e-8);
        assert!((poisson_upper_tail(10, 10.0) - 0.542_070_286).abs() < 1e-8);
        assert_eq!(poisson_upper_tail(0, 3.0), 1.0);
        assert!(poisson_upper_tail(400, 50.0) < 1e-100);
        // Large means: P(Poisson(1000) >= 1000) is just over a half.
        let p = poisson_upper_tail(1000, 1000.0);
        assert!(p > 0.5 && p < 0.52, "{p}");
    }

    #[test]
    fn a_tripled_rate_is_a_spike_and_a_steady_one_is_not() {
        let w = Windows::default();
        let t = ALPHA / 256.0;
        // Baseline 10 a month; recent 30 a month.
        assert!(is_spike(90, 120, w, t).is_some());
        // Steady at 10 a month, a bit of noise.
        assert!(is_spike(36, 120, w, t).is_none());
        // Small numbers: 2 recent cases after an empty year is not "clearly" a pattern.
        assert!(is_spike(2, 0, w, t).is_none());
    }
}
