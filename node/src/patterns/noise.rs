//! Noise drawn from what a figure counts, not from a random source: the same cases give the same
//! noise on every node and in every repeat, so asking again, elsewhere or through another period
//! that holds the same cases never yields a second sample to average.
//!
//! The seed is the XOR of 64 bits of each counted record's id: analysts never see record ids,
//! so they cannot compute it. BLAKE3 in key-derivation mode turns (seed, purpose) into two
//! uniform numbers; the noise is discrete Laplace (two-sided geometric), whose integer values
//! need no rounding and so carry none of floating-point Laplace's low-bit leaks.

/// Scale of the noise added to distinct-operator and case counts: P(x) ∝ exp(−|x| / SCALE).
/// One operator more or less in a figure changes the odds of any answer by at most e^(1/SCALE).
pub const SCALE: f64 = 1.0;

/// The largest noise a draw can give, either way: each geometric draw inverts a uniform of 53
/// bits, so it is at most ⌊53 · ln 2 · SCALE⌋. A figure with more than `MAX + k` operators is
/// never held back by noise.
pub const MAX: i64 = 36;

/// What a draw is for: one figure's operators and its cases get independent noise.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Operators = 1,
    Cases = 2,
}

/// The noise for `purpose` of a figure whose cases have the content digest `digest`.
pub fn draw(digest: u64, purpose: Purpose) -> i64 {
    let mut hasher = blake3::Hasher::new_derive_key("lantern patterns noise 2026-12 v1");
    hasher.update(&digest.to_le_bytes());
    hasher.update(&[purpose as u8]);
    let out = hasher.finalize();
    let b = out.as_bytes();
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    geometric(uniform(word(0))) - geometric(uniform(word(8)))
}

/// A uniform number in (0, 1] from 53 random bits.
fn uniform(bits: u64) -> f64 {
    ((bits >> 11) + 1) as f64 / (1u64 << 53) as f64
}

/// Geometric on {0, 1, …} with P(g) = (1 − p) p^g, p = e^(−1/SCALE), by inversion.
fn geometric(u: f64) -> i64 {
    let ln_p = -1.0 / SCALE;
    ((u.ln() / ln_p).floor() as i64).min(MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_digest_gives_the_same_noise_and_purposes_differ() {
        assert_eq!(draw(42, Purpose::Cases), draw(42, Purpose::Cases));
        let differs = (0..64u64).filter(|&d| draw(d, Purpose::Cases) != draw(d, Purpose::Operators)).count();
        assert!(differs > 20, "{differs}");
    }

    #[test]
    fn the_noise_is_bounded_by_max_and_reaches_it() {
        assert_eq!(geometric(uniform(0)), MAX, "the smallest uniform gives the largest draw");
        assert_eq!(geometric(uniform(u64::MAX)), 0);
        let extreme = (0..100_000u64).map(|d| draw(d, Purpose::Operators).abs()).max().unwrap();
        assert!(extreme <= MAX, "{extreme}");
    }

    #[test]
    fn the_noise_is_discrete_laplace_of_the_stated_scale() {
        let n = 200_000u64;
        let draws: Vec<i64> = (0..n).map(|d| draw(d.wrapping_mul(0x9E37_79B9_7F4A_7C15), Purpose::Cases)).collect();
        let mean = draws.iter().sum::<i64>() as f64 / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        // P(0) = (1 − p) / (1 + p) for a two-sided geometric.
        let p = (-1.0 / SCALE).exp();
        let zero = draws.iter().filter(|&&x| x == 0).count() as f64 / n as f64;
        assert!((zero - (1.0 - p) / (1.0 + p)).abs() < 0.01, "P(0) = {zero}");
        // Its variance is 2p / (1 − p)².
        let var = draws.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
        let want = 2.0 * p / (1.0 - p).powi(2);
        assert!((var - want).abs() / want < 0.05, "variance {var}, want {want}");
    }
}
