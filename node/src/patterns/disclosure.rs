//! Disclosure control: which base cells may be shown, and figures built from shown cells only.
//!
//! 1. **Threshold.** A base cell (one month of one registry × category, unfiltered or with one
//!    filter value) is shown only if its cases come from at least k distinct operators.
//! 2. **Complementary suppression.** A filtered cell has siblings (the other values of its
//!    dimension) and a parent (the unfiltered cell). If the parent is shown and the siblings held
//!    back cover fewer than k operators, parent minus shown siblings would expose them; so more
//!    siblings are held back, smallest first, until those held back cover k operators.
//! 3. **Composition.** Every figure over several cells (a quarter, a year, a range, a whole
//!    row) adds up shown base cells only. What is held back never enters any figure, so no
//!    difference of figures (totals minus cells, overlapping periods, neighbouring filters)
//!    can bring it back.

use super::Patterns;
use super::grid::{Cell, CellKey, Dimension, NO_FILTER, RESOLUTION_BINS};

impl Patterns {
    fn cell(&self, key: CellKey) -> Option<&Cell> {
        self.cells.get(key).filter(|c| !c.is_empty())
    }

    fn passes_threshold(&self, key: CellKey) -> bool {
        self.cell(key).is_some_and(|c| c.operators() >= self.k)
    }

    /// Whether the base cell `key` may be shown (and so count in any figure).
    pub fn is_shown(&self, key: CellKey) -> bool {
        let slot = key.slot();
        if slot == NO_FILTER {
            return self.passes_threshold(key);
        }
        let dimension = Dimension::of_slot(slot).expect("slot of a dimension");
        self.shown_values(key, dimension) & 1 << (slot - dimension.slots().start) != 0
    }

    /// The values of `dimension` shown for the cell of `key` (any slot): bit i is slot
    /// `dimension.slots().start + i`. Decided for the whole family at once.
    pub fn shown_values(&self, key: CellKey, dimension: Dimension) -> u64 {
        let first = dimension.slots().start;
        let (mut shown, mut held_back) = (0u64, 0u64);
        for slot in dimension.slots() {
            let Some(cell) = self.cell(key.with_slot(slot)) else { continue };
            if cell.operators() < self.k {
                held_back |= 1 << (slot - first);
            } else {
                shown |= 1 << (slot - first);
            }
        }
        if held_back == 0 || !self.passes_threshold(key.with_slot(NO_FILTER)) {
            return shown;
        }
        let mut held = Operators::new(self.authors.len());
        let mut candidates: Vec<(usize, u32, u8, &Cell)> = Vec::new();
        for slot in dimension.slots() {
            let Some(cell) = self.cell(key.with_slot(slot)) else { continue };
            if held_back & 1 << (slot - first) != 0 {
                held.add(cell);
            } else {
                candidates.push((cell.operators(), cell.cases, slot, cell));
            }
        }
        if held.count() >= self.k {
            return shown;
        }
        // Hold back shown values, smallest first (then by slot), until k operators are held.
        candidates.sort_by_key(|(operators, cases, slot, _)| (*operators, *cases, *slot));
        for (_, _, slot, cell) in candidates {
            held.add(cell);
            shown &= !(1 << (slot - first));
            if held.count() >= self.k {
                break;
            }
        }
        shown
    }

    /// Adds the shown cells among `keys` into a tally.
    pub(crate) fn compose(&self, keys: impl IntoIterator<Item = CellKey>) -> Tally {
        let mut tally = Tally::new(self.authors.len());
        for key in keys {
            if self.is_shown(key) {
                let cell = self.cells.get(key).expect("a shown cell exists");
                tally.cases += u64::from(cell.cases);
                tally.primary_cases += u64::from(cell.primary_cases);
                tally.operators.add(cell);
                for (bin, n) in cell.resolution().iter().enumerate() {
                    tally.resolution[bin] += u64::from(*n);
                }
            }
        }
        tally
    }
}

/// A set of authors, as a bitset over author indexes.
#[derive(Debug, Clone)]
pub(crate) struct Operators(Vec<u64>);

impl Operators {
    fn new(authors: usize) -> Self {
        Self(vec![0; authors.div_ceil(64)])
    }

    fn add(&mut self, cell: &Cell) {
        for a in cell.authors() {
            self.0[a as usize / 64] |= 1 << (a % 64);
        }
    }

    pub fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// Sums over shown base cells.
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    pub cases: u64,
    pub primary_cases: u64,
    pub operators: Operators,
    pub resolution: [u64; RESOLUTION_BINS],
}

impl Tally {
    fn new(authors: usize) -> Self {
        Self { cases: 0, primary_cases: 0, operators: Operators::new(authors), resolution: [0; RESOLUTION_BINS] }
    }
}
