//! Disclosure control: how a figure is released, or held back.
//!
//! 1. **Release units.** A figure is released over one *unit* of time: a calendar month, quarter
//!    or year, or any twelve consecutive months (the dashboard's default). A longer or ragged
//!    period is cut into whole years, quarters and months ([`super::query::Period::units`]) and
//!    its figure is built from the released figures of those units only.
//! 2. **Floor.** A unit's figure is held back unless its cases come from at least k distinct
//!    operators: no figure is ever about fewer.
//! 3. **Noise.** Its operators and cases are released with discrete Laplace noise
//!    ([`super::noise`]), and it is held back too when the noisy operator count is below k.
//!    Differences of figures (a total minus its parts, a period minus a shorter one, a filter
//!    minus another, a figure before and after one record arrives) then leave a noisy number
//!    that cannot tell one operator's cases from none.
//! 4. **Same cases, same answer.** The noise is drawn from the counted cases' record ids, so
//!    every node and every repeat gives the same figure for the same cases, whatever the query
//!    that reached them: repeating or rephrasing a question yields no fresh sample to average.
//! 5. **Composite figures add released units only** and give as their operators the largest of
//!    their units' (a lower bound): no union of operators across units is ever counted, so
//!    overlaps of operator sets cannot be subtracted out.

use super::Patterns;
use super::grid::{Cell, CellKey, RESOLUTION_BINS};
use super::noise::{self, Purpose};
use super::query::Period;

/// The true content of one figure over one unit. Never leaves this module except as a
/// [`Released`] figure.
pub(crate) struct Content {
    pub cases: u64,
    pub operators: Operators,
    pub digest: u64,
    pub resolution: [u64; RESOLUTION_BINS],
}

/// A unit's figure as it may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Released {
    pub operators: u64,
    pub cases: u64,
}

/// Which count of a cell a figure adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counting {
    /// Every case of the cell (a case counts in each of its categories).
    All,
    /// Only cases whose lowest category is the cell's: a figure over all categories counts each
    /// case once.
    Primary,
}

impl Patterns {
    /// The content of the cells `keys` names for each month of `unit`.
    pub(crate) fn content(&self, unit: Period, keys: &impl Fn(u32, &mut Vec<CellKey>), counting: Counting) -> Content {
        let mut content = Content {
            cases: 0,
            operators: Operators::new(self.authors.len()),
            digest: 0,
            resolution: [0; RESOLUTION_BINS],
        };
        let mut month_keys = Vec::new();
        for month in unit.months() {
            month_keys.clear();
            keys(month, &mut month_keys);
            for &key in &month_keys {
                let Some(cell) = self.cells.get(key).filter(|c| !c.is_empty()) else { continue };
                let (cases, digest) = match counting {
                    Counting::All => (cell.cases, cell.digest),
                    Counting::Primary => (cell.primary_cases, cell.primary_digest),
                };
                if cases == 0 {
                    continue;
                }
                content.cases += u64::from(cases);
                content.digest ^= digest;
                content.operators.add(cell);
                for (bin, n) in cell.resolution().iter().enumerate() {
                    content.resolution[bin] += u64::from(*n);
                }
            }
        }
        content
    }

    /// Rules 2–4: the unit's figure, or `None` when it is held back.
    pub(crate) fn release(&self, content: &Content) -> Option<Released> {
        let operators = self.distinct(&content.operators.0) as i64;
        let k = self.k as i64;
        if operators < k {
            return None;
        }
        let noisy_operators = operators + noise::draw(content.digest, Purpose::Operators);
        if noisy_operators < k {
            return None;
        }
        // Each operator has at least one case: the released cases never undercut the operators.
        let noisy_cases = (content.cases as i64 + noise::draw(content.digest, Purpose::Cases)).max(noisy_operators);
        Some(Released { operators: noisy_operators as u64, cases: noisy_cases as u64 })
    }

    /// Rule 5: a figure over `period`, from the released figures of its units.
    pub(crate) fn figure_over(
        &self,
        period: Period,
        keys: impl Fn(u32, &mut Vec<CellKey>),
        counting: Counting,
    ) -> Option<Released> {
        let mut total: Option<Released> = None;
        for unit in period.units() {
            if let Some(r) = self.release(&self.content(unit, &keys, counting)) {
                let t = total.get_or_insert(Released { operators: 0, cases: 0 });
                t.operators = t.operators.max(r.operators);
                t.cases += r.cases;
            }
        }
        total
    }

    /// The released units of `period` with their content, for figures that need more than
    /// counts (durations).
    pub(crate) fn released_units(
        &self,
        period: Period,
        keys: impl Fn(u32, &mut Vec<CellKey>),
    ) -> Vec<(Released, Content)> {
        period
            .units()
            .into_iter()
            .filter_map(|unit| {
                let content = self.content(unit, &keys, Counting::All);
                self.release(&content).map(|r| (r, content))
            })
            .collect()
    }
}

/// A set of operators, as a bitset over operator indexes; counted by [`Patterns::distinct`].
#[derive(Debug, Clone)]
pub(crate) struct Operators(pub(crate) Vec<u64>);

impl Operators {
    fn new(authors: usize) -> Self {
        Self(vec![0; authors.div_ceil(64)])
    }

    fn add(&mut self, cell: &Cell) {
        for a in cell.authors() {
            self.0[a as usize / 64] |= 1 << (a % 64);
        }
    }
}
