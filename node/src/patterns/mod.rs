//! The pattern engine: what analysts ask of the federation, answered from aggregates kept up to
//! date as records arrive, never showing a group of fewer than k distinct operators.
//!
//! - [`grid`]: the fixed grid of base cells (one calendar month each) and their counters.
//! - [`fact`]: a summary reduced to the fields the queries read.
//! - [`disclosure`]: which base cells may be shown (threshold + complementary suppression), and
//!   how figures are composed from shown cells only.
//! - [`query`]: periods, filters and the answers: matrix, trends, durations, co-occurrence.
//! - [`emerging`]: the spike test behind "emerging patterns".
//! - [`similar`]: published summaries most like one of the member's private cases.
//! - [`live`]: the aggregates as the node holds them: built in the background, kept current.
//!
//! The method is in docs/patterns.md.

pub mod disclosure;
pub mod emerging;
pub mod fact;
pub mod grid;
pub mod live;
pub mod query;
pub mod report;
pub mod similar;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use rustc_hash::FxHashMap as HashMap;

use lantern_protocol::ids::CaseRef;
use lantern_protocol::record::{Body, Envelope};
use lantern_protocol::{MemberKey, RecordId};

use crate::store::{Store, StoreError};
use fact::Fact;
use grid::{Cell, CellKey};

/// Where one case (author, case ref) stands.
#[derive(Debug, Clone, Copy)]
struct CaseState {
    /// Sequence of the version counted (or of the retraction).
    sequence: u64,
    retracted: bool,
    /// Index into `facts` of the version counted.
    slot: Option<u32>,
}

/// Marks a free slot in `facts`.
const FREE: u32 = u32::MAX;

pub struct Patterns {
    k: usize,
    authors: Vec<MemberKey>,
    author_index: HashMap<MemberKey, u32>,
    /// Authors whose cases count: current members.
    counted: Vec<bool>,
    members: HashSet<MemberKey>,
    cases: HashMap<(u32, CaseRef), CaseState>,
    /// The counted version of every live case; `author == FREE` marks a free slot.
    facts: Vec<Fact>,
    record_ids: Vec<RecordId>,
    free: Vec<u32>,
    cells: HashMap<CellKey, Cell>,
}

impl Patterns {
    /// An empty engine; `k` is the manifest's threshold of distinct operators.
    pub fn new(k: usize, members: impl IntoIterator<Item = MemberKey>) -> Self {
        Self {
            k: k.max(1),
            authors: Vec::new(),
            author_index: HashMap::default(),
            counted: Vec::new(),
            members: members.into_iter().collect(),
            cases: HashMap::default(),
            facts: Vec::new(),
            record_ids: Vec::new(),
            free: Vec::new(),
            cells: HashMap::default(),
        }
    }

    /// Builds the aggregates from every record in the store.
    pub fn rebuild(store: &Store, k: usize, members: impl IntoIterator<Item = MemberKey>) -> Result<Self, StoreError> {
        let mut patterns = Self::new(k, members);
        let mut after = None;
        loop {
            let batch = store.records_after(after, 8192)?;
            let Some(last) = batch.last() else { break };
            after = Some(last.arrival);
            for r in &batch {
                patterns.apply(&r.id, &r.envelope);
            }
        }
        Ok(patterns)
    }

    pub fn k(&self) -> usize {
        self.k
    }

    /// Cases counted now (latest versions, not retracted, by current members).
    pub fn case_count(&self) -> usize {
        self.facts.iter().filter(|f| f.author != FREE && self.counted[f.author as usize]).count()
    }

    fn author(&mut self, key: MemberKey) -> u32 {
        if let Some(&i) = self.author_index.get(&key) {
            return i;
        }
        let i = self.authors.len() as u32;
        self.authors.push(key);
        self.counted.push(self.members.contains(&key));
        self.author_index.insert(key, i);
        i
    }

    /// Counts a stored record: a summary (new or amended) or a retraction. Other kinds and
    /// versions older than the one counted change nothing.
    pub fn apply(&mut self, id: &RecordId, envelope: &Envelope) {
        let (case, summary) = match &envelope.body {
            Body::Summary(b) => (b.case, Some(&b.summary)),
            Body::Retraction(b) => (b.case, None),
            _ => return,
        };
        let author = self.author(envelope.author);
        let state = self.cases.get(&(author, case)).copied();
        if let Some(s) = state
            && (s.retracted || (summary.is_some() && s.sequence >= envelope.sequence))
        {
            return;
        }
        if let Some(slot) = state.and_then(|s| s.slot) {
            self.release_slot(slot);
        }
        let slot = summary.map(|s| self.take_slot(Fact::of(author, s), *id));
        let state = CaseState { sequence: envelope.sequence, retracted: summary.is_none(), slot };
        self.cases.insert((author, case), state);
    }

    fn take_slot(&mut self, fact: Fact, id: RecordId) -> u32 {
        if self.counted[fact.author as usize] {
            self.count(&fact, true);
        }
        match self.free.pop() {
            Some(slot) => {
                self.facts[slot as usize] = fact;
                self.record_ids[slot as usize] = id;
                slot
            }
            None => {
                self.facts.push(fact);
                self.record_ids.push(id);
                (self.facts.len() - 1) as u32
            }
        }
    }

    fn release_slot(&mut self, slot: u32) {
        let fact = self.facts[slot as usize];
        if self.counted[fact.author as usize] {
            self.count(&fact, false);
        }
        self.facts[slot as usize].author = FREE;
        self.free.push(slot);
    }

    /// Adds a fact to (or removes it from) every base cell it falls in.
    fn count(&mut self, fact: &Fact, add: bool) {
        let cells = &mut self.cells;
        fact.cells(|key, primary| {
            let resolution = if key.slot() == grid::NO_FILTER { fact.resolution } else { None };
            if add {
                cells.entry(key).or_default().add(fact.author, primary, resolution);
            } else if let Some(cell) = cells.get_mut(&key) {
                cell.remove(fact.author, primary, resolution);
                if cell.is_empty() {
                    cells.remove(&key);
                }
            }
        });
    }

    /// Follows a membership change: cases of keys no longer members stop counting, those of
    /// new members start.
    pub fn set_members(&mut self, members: impl IntoIterator<Item = MemberKey>) {
        self.members = members.into_iter().collect();
        let changed: Vec<u32> = (0..self.authors.len() as u32)
            .filter(|&a| self.counted[a as usize] != self.members.contains(&self.authors[a as usize]))
            .collect();
        if changed.is_empty() {
            return;
        }
        let mut flipped = vec![false; self.authors.len()];
        for &a in &changed {
            self.counted[a as usize] = !self.counted[a as usize];
            flipped[a as usize] = true;
        }
        let facts: Vec<Fact> =
            self.facts.iter().filter(|f| f.author != FREE && flipped[f.author as usize]).copied().collect();
        for fact in facts {
            let now = self.counted[fact.author as usize];
            self.count(&fact, now);
        }
    }

    /// Approximate heap memory of the aggregates, in bytes.
    pub fn memory_bytes(&self) -> usize {
        let cells: usize = self.cells.values().map(Cell::heap_bytes).sum::<usize>()
            + self.cells.capacity() * (std::mem::size_of::<(CellKey, Cell)>() + 1);
        let cases = self.cases.capacity() * (std::mem::size_of::<((u32, CaseRef), CaseState)>() + 1);
        let facts = self.facts.capacity() * std::mem::size_of::<Fact>() + self.record_ids.capacity() * 32;
        let authors = self.authors.capacity() * 40 + self.author_index.capacity() * 40;
        cells + cases + facts + authors
    }

    pub fn cell_count(&self) -> usize {
        self.cells.len()
    }
}
