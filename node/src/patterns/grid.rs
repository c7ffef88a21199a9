//! The fixed grid every figure is built from: base cells of one calendar month.
//!
//! A base cell is (family, filter slot, registry, category or category pair, month). Each holds
//! how many cases it counts per author (so distinct operators survive removals), and (unfiltered
//! cells only) a histogram of months to resolution for the durations query.

use lantern_protocol::summary::ResourceBucket;
use lantern_protocol::vocab::{AsnCount, Ipv4Size, Ipv6Size};
use lantern_protocol::vocab::{Category, OrgType, Outcome, Region, ResourceKind};
use smallvec::SmallVec;

/// Cases counted by category, or by pair of categories that occur together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Category = 0,
    Pair = 1,
}

/// One filter dimension. A query uses at most one, with one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Outcome,
    OrgType,
    Region,
    ResourceKind,
    ResourceSize,
}

impl Dimension {
    pub const ALL: [Dimension; 5] =
        [Dimension::Outcome, Dimension::OrgType, Dimension::Region, Dimension::ResourceKind, Dimension::ResourceSize];

    fn len(self) -> usize {
        match self {
            Dimension::Outcome => Outcome::ALL.len(),
            Dimension::OrgType => OrgType::ALL.len(),
            Dimension::Region => Region::ALL.len(),
            Dimension::ResourceKind => ResourceKind::ALL.len(),
            Dimension::ResourceSize => Ipv4Size::ALL.len() + Ipv6Size::ALL.len() + AsnCount::ALL.len(),
        }
    }

    /// The first slot of this dimension; slot 0 is "no filter".
    fn first_slot(self) -> u8 {
        let mut slot = 1;
        for d in Self::ALL {
            if d == self {
                break;
            }
            slot += d.len();
        }
        slot as u8
    }

    /// The dimension a filter slot belongs to; `None` for [`NO_FILTER`].
    pub fn of_slot(slot: u8) -> Option<Dimension> {
        Self::ALL.into_iter().find(|d| d.slots().contains(&slot))
    }

    /// All slots of this dimension: the siblings of one another.
    pub fn slots(self) -> std::ops::Range<u8> {
        let first = self.first_slot();
        first..first + self.len() as u8
    }
}

/// A filter: one value of one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Filter {
    Outcome(Outcome),
    OrgType(OrgType),
    Region(Region),
    ResourceKind(ResourceKind),
    Resource(ResourceBucket),
}

/// Slot 0: the unfiltered cell.
pub const NO_FILTER: u8 = 0;

/// Filter slots: the unfiltered one, then every value of every dimension.
pub const SLOTS: usize = 1
    + Outcome::ALL.len()
    + OrgType::ALL.len()
    + Region::ALL.len()
    + ResourceKind::ALL.len()
    + Ipv4Size::ALL.len()
    + Ipv6Size::ALL.len()
    + AsnCount::ALL.len();

/// Unordered pairs of categories.
pub const PAIRS: usize = Category::ALL.len() * (Category::ALL.len() - 1) / 2;

impl Filter {
    /// Every filter, in slot order (slot 1 onwards).
    pub fn all() -> impl Iterator<Item = Filter> {
        let values = Outcome::ALL.iter().map(|&v| Filter::Outcome(v));
        let values = values.chain(OrgType::ALL.iter().map(|&v| Filter::OrgType(v)));
        let values = values.chain(Region::ALL.iter().map(|&v| Filter::Region(v)));
        let values = values.chain(ResourceKind::ALL.iter().map(|&v| Filter::ResourceKind(v)));
        let values = values.chain(Ipv4Size::ALL.iter().map(|&s| Filter::Resource(ResourceBucket::Ipv4(s))));
        let values = values.chain(Ipv6Size::ALL.iter().map(|&s| Filter::Resource(ResourceBucket::Ipv6(s))));
        values.chain(AsnCount::ALL.iter().map(|&c| Filter::Resource(ResourceBucket::Asn(c))))
    }

    pub fn dimension(self) -> Dimension {
        match self {
            Filter::Outcome(_) => Dimension::Outcome,
            Filter::OrgType(_) => Dimension::OrgType,
            Filter::Region(_) => Dimension::Region,
            Filter::ResourceKind(_) => Dimension::ResourceKind,
            Filter::Resource(_) => Dimension::ResourceSize,
        }
    }

    pub fn slot(self) -> u8 {
        let offset = match self {
            Filter::Outcome(v) => v.index(),
            Filter::OrgType(v) => v.index(),
            Filter::Region(v) => v.index(),
            Filter::ResourceKind(v) => v.index(),
            Filter::Resource(ResourceBucket::Ipv4(s)) => s.index(),
            Filter::Resource(ResourceBucket::Ipv6(s)) => Ipv4Size::ALL.len() + s.index(),
            Filter::Resource(ResourceBucket::Asn(c)) => Ipv4Size::ALL.len() + Ipv6Size::ALL.len() + c.index(),
        };
        self.dimension().first_slot() + offset as u8
    }
}

/// Index of the unordered pair `a < b` among the 16 categories (0..120).
pub fn pair_index(a: Category, b: Category) -> u8 {
    let (a, b) = (a.index().min(b.index()), a.index().max(b.index()));
    let n = Category::ALL.len();
    // Pairs (0,1)..(0,n-1), (1,2).. in order.
    (a * (2 * n - a - 1) / 2 + (b - a - 1)) as u8
}

pub fn pair_of(index: u8) -> Option<(Category, Category)> {
    let n = Category::ALL.len();
    let mut i = usize::from(index);
    for a in 0..n {
        let row = n - a - 1;
        if i < row {
            return Some((Category::ALL[a], Category::ALL[a + 1 + i]));
        }
        i -= row;
    }
    None
}

/// Packs a base cell's coordinates into one map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey(u64);

impl CellKey {
    /// `month` is months since 0000-01 ([`lantern_protocol::Month::index`]).
    pub fn new(family: Family, slot: u8, registry: u8, group: u8, month: u32) -> Self {
        Self(
            (family as u64) << 56
                | u64::from(slot) << 48
                | u64::from(registry) << 40
                | u64::from(group) << 32
                | u64::from(month),
        )
    }

    pub fn family(self) -> Family {
        if self.0 >> 56 == Family::Pair as u64 { Family::Pair } else { Family::Category }
    }

    pub fn slot(self) -> u8 {
        (self.0 >> 48) as u8
    }

    pub fn registry(self) -> u8 {
        (self.0 >> 40) as u8
    }

    /// The category, or the pair's index.
    pub fn group(self) -> u8 {
        (self.0 >> 32) as u8
    }

    pub fn month(self) -> u32 {
        self.0 as u32
    }

    pub fn with_slot(self, slot: u8) -> Self {
        Self(self.0 & !(0xff << 48) | u64::from(slot) << 48)
    }
}

/// A counted case's share of a cell digest: 64 bits of its record id, which no analyst sees.
pub fn record_digest(id: &lantern_protocol::RecordId) -> u64 {
    let b = id.as_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Months to resolution, in bins of one month; the last bin holds everything longer.
pub const RESOLUTION_BINS: usize = 37;

/// One base cell.
#[derive(Debug, Default, Clone)]
pub struct Cell {
    pub cases: u32,
    /// Cases whose lowest category is this cell's: lets per-registry figures count a case once.
    pub primary_cases: u32,
    /// XOR of the [`record_digest`]s of the cases counted, and of the primary ones: what the
    /// figure's noise is drawn from, the same wherever the same cases are counted.
    pub digest: u64,
    pub primary_digest: u64,
    /// (author, cases), unordered: most cells hold a few operators, kept inline, and a short
    /// linear scan beats keeping them sorted.
    authors: SmallVec<[(u32, u32); 4]>,
    /// Months to resolution of the closed cases (unfiltered cells only), once one arrives.
    resolution: Option<Box<[u32; RESOLUTION_BINS]>>,
}

impl Cell {
    pub fn operators(&self) -> usize {
        self.authors.len()
    }

    pub fn authors(&self) -> impl Iterator<Item = u32> + '_ {
        self.authors.iter().map(|(a, _)| *a)
    }

    pub fn add(&mut self, author: u32, digest: u64, primary: bool, resolution: Option<u8>) {
        self.cases += 1;
        self.primary_cases += u32::from(primary);
        self.toggle_digest(digest, primary);
        match self.authors.iter_mut().find(|(a, _)| *a == author) {
            Some(entry) => entry.1 += 1,
            None => self.authors.push((author, 1)),
        }
        if let Some(months) = resolution {
            let bins = self.resolution.get_or_insert_with(|| Box::new([0; RESOLUTION_BINS]));
            bins[usize::from(months).min(RESOLUTION_BINS - 1)] += 1;
        }
    }

    pub fn remove(&mut self, author: u32, digest: u64, primary: bool, resolution: Option<u8>) {
        self.cases = self.cases.saturating_sub(1);
        self.primary_cases = self.primary_cases.saturating_sub(u32::from(primary));
        self.toggle_digest(digest, primary);
        if let Some(i) = self.authors.iter().position(|(a, _)| *a == author) {
            self.authors[i].1 -= 1;
            if self.authors[i].1 == 0 {
                self.authors.swap_remove(i);
            }
        }
        if let (Some(months), Some(bins)) = (resolution, self.resolution.as_mut()) {
            let bin = &mut bins[usize::from(months).min(RESOLUTION_BINS - 1)];
            *bin = bin.saturating_sub(1);
        }
    }

    /// XOR is its own inverse: adding and removing a case are the same step.
    fn toggle_digest(&mut self, digest: u64, primary: bool) {
        self.digest ^= digest;
        if primary {
            self.primary_digest ^= digest;
        }
    }

    /// Asks for the cache line of the author list (a hint, see [`super::cells::prefetch`]).
    pub fn prefetch_authors(&self) {
        if self.authors.spilled() {
            super::cells::prefetch(&self.authors[0]);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.cases == 0
    }

    /// Cases per month-to-resolution bin.
    pub fn resolution(&self) -> &[u32] {
        self.resolution.as_deref().map_or(&[], |b| &b[..])
    }

    pub fn heap_bytes(&self) -> usize {
        let authors = if self.authors.spilled() { self.authors.capacity() * 8 } else { 0 };
        authors + self.resolution.as_ref().map_or(0, |_| RESOLUTION_BINS * 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_index_is_a_bijection_onto_0_to_119() {
        let mut seen = std::collections::BTreeSet::new();
        for (i, &a) in Category::ALL.iter().enumerate() {
            for &b in &Category::ALL[i + 1..] {
                let p = pair_index(a, b);
                assert_eq!(pair_of(p), Some((a, b)));
                assert_eq!(pair_index(b, a), p);
                seen.insert(p);
            }
        }
        assert_eq!(seen.len(), 120);
        assert_eq!(*seen.last().unwrap(), 119);
    }

    #[test]
    fn filter_slots_are_distinct_and_within_their_dimension() {
        let mut slots = std::collections::BTreeSet::new();
        for f in Filter::all() {
            assert!(f.dimension().slots().contains(&f.slot()), "{f:?}");
            assert!(slots.insert(f.slot()), "{f:?} reuses a slot");
        }
        assert!(!slots.contains(&NO_FILTER));
        assert_eq!(slots.len() + 1, SLOTS);
        assert_eq!(*slots.last().unwrap() as usize, SLOTS - 1);
    }

    #[test]
    fn a_cell_counts_distinct_operators_through_removals() {
        let mut cell = Cell::default();
        cell.add(7, 0b001, true, Some(3));
        cell.add(7, 0b010, false, None);
        cell.add(2, 0b100, true, Some(50));
        assert_eq!((cell.cases, cell.primary_cases, cell.operators()), (3, 2, 2));
        assert_eq!((cell.digest, cell.primary_digest), (0b111, 0b101));
        cell.remove(7, 0b001, true, Some(3));
        assert_eq!(cell.operators(), 2);
        cell.remove(7, 0b010, false, None);
        assert_eq!((cell.cases, cell.operators()), (1, 1));
        assert_eq!((cell.digest, cell.primary_digest), (0b100, 0b100));
        assert_eq!(cell.resolution()[RESOLUTION_BINS - 1], 1);
        assert_eq!(cell.resolution()[3], 0);
    }
}
