//! Where the base cells live: in pages of one (registry, month). Every cell one summary counts in
//! shares its registry and month, so an update finds its page once and reaches its ~10 cells by
//! index arithmetic, instead of probing a map of a million cells ~10 times (each probe a cache
//! miss or two). A page holds an index of every cell position and only the cells in use.

use rustc_hash::FxHashMap as HashMap;
use smallvec::SmallVec;

use lantern_protocol::vocab::Category;

use super::grid::{Cell, CellKey, Family, NO_FILTER, PAIRS, SLOTS};

/// Category cells per filter slot, then one cell per category pair (unfiltered only).
const POSITIONS: usize = SLOTS * CATEGORIES + PAIRS;
const CATEGORIES: usize = Category::ALL.len();

/// A cell's position within its page; `None` for keys outside the grid.
fn position(key: CellKey) -> Option<usize> {
    let (family, slot, group) = (key.family(), usize::from(key.slot()), usize::from(key.group()));
    match family {
        Family::Category if slot < SLOTS && group < CATEGORIES => Some(slot * CATEGORIES + group),
        Family::Pair if slot == usize::from(NO_FILTER) && group < PAIRS => Some(SLOTS * CATEGORIES + group),
        _ => None,
    }
}

fn page_key(key: CellKey) -> u32 {
    u32::from(key.registry()) << 24 | key.month() & 0xff_ffff
}

/// The cells of one (registry, month).
struct Page {
    /// Position → 1 + index into `cells`; 0 where no case ever counted.
    index: Box<[u16]>,
    cells: Vec<Cell>,
}

impl Page {
    fn new() -> Self {
        Self { index: vec![0; POSITIONS].into_boxed_slice(), cells: Vec::new() }
    }

    fn get(&self, position: usize) -> Option<&Cell> {
        let i = *self.index.get(position)?;
        (i > 0).then(|| &self.cells[usize::from(i) - 1])
    }
}

/// Every base cell, by key.
#[derive(Default)]
pub struct Cells {
    pages: HashMap<u32, Page>,
}

/// The cells of one page, for updates.
pub struct PageMut<'a>(&'a mut Page);

impl PageMut<'_> {
    /// The cell at `key` (which must be of this page's registry and month), created if new.
    pub fn cell(&mut self, key: CellKey) -> &mut Cell {
        let position = position(key).expect("facts only count in cells of the grid");
        self.cell_at(position)
    }

    fn cell_at(&mut self, position: usize) -> &mut Cell {
        let page = &mut *self.0;
        if page.index[position] == 0 {
            page.cells.push(Cell::default());
            page.index[position] = u16::try_from(page.cells.len()).expect("a page holds fewer cells than u16::MAX");
        }
        &mut page.cells[usize::from(page.index[position]) - 1]
    }

    /// Applies `update` to the cells at `keys`. The cells are fetched in stages (index entries,
    /// then cells, then their author lists), each stage asking the memory for all of them
    /// before waiting on any: a summary's ~10 cells cost about one memory latency per stage,
    /// not one per cell.
    pub fn update_all(&mut self, keys: &[(CellKey, bool)], mut update: impl FnMut(CellKey, bool, &mut Cell)) {
        let positions: SmallVec<[usize; 32]> =
            keys.iter().map(|(k, _)| position(*k).expect("facts only count in cells of the grid")).collect();
        let page = &*self.0;
        for &p in &positions {
            prefetch(&page.index[p]);
        }
        for &p in &positions {
            if let Some(cell) = page.get(p) {
                prefetch(cell);
            }
        }
        for &p in &positions {
            if let Some(cell) = page.get(p) {
                cell.prefetch_authors();
            }
        }
        for (&(key, primary), &p) in keys.iter().zip(&positions) {
            update(key, primary, self.cell_at(p));
        }
    }
}

/// Asks for the cache line holding `value`; a hint only.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it reads nothing and cannot fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((value as *const T).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

impl Cells {
    /// The cell at `key`, if any case ever counted there (it may count none now).
    pub fn get(&self, key: CellKey) -> Option<&Cell> {
        self.pages.get(&page_key(key))?.get(position(key)?)
    }

    /// The page of `registry` and `month`, created if new.
    pub fn page(&mut self, registry: u8, month: u32) -> PageMut<'_> {
        let key = CellKey::new(Family::Category, NO_FILTER, registry, 0, month);
        PageMut(self.pages.entry(page_key(key)).or_insert_with(Page::new))
    }

    /// Cells that count at least one case now.
    pub fn in_use(&self) -> usize {
        self.pages.values().flat_map(|p| &p.cells).filter(|c| !c.is_empty()).count()
    }

    /// Every cell counting at least one case now, with its key.
    pub fn iter(&self) -> impl Iterator<Item = (CellKey, &Cell)> {
        self.pages.iter().flat_map(|(&page, p)| {
            let (registry, month) = ((page >> 24) as u8, page & 0xff_ffff);
            p.index.iter().enumerate().filter(|(_, i)| **i > 0).filter_map(move |(position, i)| {
                let cell = &p.cells[usize::from(*i) - 1];
                let key = if position < SLOTS * CATEGORIES {
                    let (slot, category) = (position / CATEGORIES, position % CATEGORIES);
                    CellKey::new(Family::Category, slot as u8, registry, category as u8, month)
                } else {
                    CellKey::new(Family::Pair, NO_FILTER, registry, (position - SLOTS * CATEGORIES) as u8, month)
                };
                (!cell.is_empty()).then_some((key, cell))
            })
        })
    }

    /// Approximate heap memory, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.pages
            .values()
            .map(|p| {
                p.index.len() * 2
                    + p.cells.capacity() * std::mem::size_of::<Cell>()
                    + p.cells.iter().map(Cell::heap_bytes).sum::<usize>()
            })
            .sum::<usize>()
            + self.pages.capacity() * (std::mem::size_of::<(u32, Page)>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_the_grid_has_its_own_position_and_comes_back_from_iteration() {
        let mut cells = Cells::default();
        let mut keys = Vec::new();
        for slot in 0..SLOTS as u8 {
            for group in 0..CATEGORIES as u8 {
                keys.push(CellKey::new(Family::Category, slot, 3, group, 24_300));
            }
        }
        keys.extend((0..PAIRS as u8).map(|p| CellKey::new(Family::Pair, NO_FILTER, 3, p, 24_300)));
        let mut page = cells.page(3, 24_300);
        for (n, key) in keys.iter().enumerate() {
            page.cell(*key).add(n as u32, n as u64, false, None);
        }
        for (n, key) in keys.iter().enumerate() {
            assert_eq!(cells.get(*key).unwrap().authors().collect::<Vec<_>>(), vec![n as u32], "{key:?}");
        }
        assert_eq!(cells.in_use(), keys.len());
        let mut listed: Vec<CellKey> = cells.iter().map(|(k, _)| k).collect();
        listed.sort();
        keys.sort();
        assert_eq!(listed, keys);
        // Other registries and months, and keys outside the grid, hold nothing.
        assert!(cells.get(CellKey::new(Family::Category, 0, 4, 0, 24_300)).is_none());
        assert!(cells.get(CellKey::new(Family::Category, 0, 3, 0, 24_301)).is_none());
        assert!(cells.get(CellKey::new(Family::Pair, 1, 3, 0, 24_300)).is_none());
    }
}
