//! The pattern engine: what analysts ask of the federation, answered from aggregates kept up to
//! date as records arrive, never showing a group of fewer than k distinct operators.
//!
//! - [`grid`]: the fixed grid of base cells (one calendar month each) and their counters.
//! - [`cells`]: where the cells live: pages of one (registry, month).
//! - [`fact`]: a summary reduced to the fields the queries read.
//! - [`disclosure`]: how a figure is released: per unit of time, from k operators, with noise
//!   drawn from the cases it counts.
//! - [`noise`]: that noise: discrete Laplace, the same for the same cases everywhere.
//! - [`query`]: periods, filters and the answers: matrix, trends, durations, co-occurrence.
//! - [`emerging`]: the spike test behind "emerging patterns".
//! - [`similar`]: published summaries most like one of the member's private cases.
//! - [`crowd`]: how many held summaries share a summary's quasi-identifiers, before it is signed.
//! - [`profile`]: the member's profile, published only at a level k other members share.
//! - [`live`]: the aggregates as the node holds them: built in the background, kept current.
//! - [`synthetic`]: small federations as they really start, for the utility figures and tests.
//! - [`utility`]: the share of cases the default dashboard represents, measured on them.
//!
//! The method is in docs/patterns.md.

#[cfg(test)]
mod attacks;
pub mod cells;
pub mod crowd;
pub mod disclosure;
pub mod emerging;
pub mod fact;
pub mod grid;
pub mod live;
pub mod noise;
pub mod profile;
pub mod query;
pub mod report;
pub mod similar;
pub mod synthetic;
#[cfg(test)]
mod tests;
pub mod utility;

use std::collections::HashSet;
use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap as HashMap;

use lantern_protocol::anon::{AnonymitySecret, LinkTag, Scope};
use lantern_protocol::anonymous::{AnonBody, Opened};
use lantern_protocol::ids::CaseRef;
use lantern_protocol::record::{Body, Envelope};
use lantern_protocol::{FederationId, MemberKey, RecordId};

use crate::store::{By, Store, StoreError, Withdrawal};
use cells::Cells;
use fact::Fact;
use grid::record_digest;

/// Who a case counts for. A member key names an operator across the whole federation; a linking
/// tag names one within its scope (a start year) only: the same operator has unrelated tags in
/// other years, so tags of different years are never added up as distinct operators
/// ([`Patterns::distinct`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Member(MemberKey),
    Tag { year: u16, tag: LinkTag },
}

impl Operator {
    /// 0 for member keys, the year for tags.
    fn scope(&self) -> u16 {
        match self {
            Operator::Member(_) => 0,
            Operator::Tag { year, .. } => *year,
        }
    }
}

/// The asking member, to leave its own records out of what it is shown about others: its key
/// and (for anonymous records) the secret its tags come from.
pub struct Me<'a> {
    pub member: MemberKey,
    pub federation: FederationId,
    pub secret: &'a AnonymitySecret,
}

/// Where one case (operator, case ref) stands.
#[derive(Debug, Clone, Copy)]
struct CaseState {
    /// Sequence of the version counted (or of the retraction); 0 for anonymous cases, whose
    /// versions are ordered by what they supersede.
    sequence: u64,
    retracted: bool,
    /// Index into `facts` of the version counted.
    slot: Option<u32>,
}

/// Marks a free slot in `facts`.
const FREE: u32 = u32::MAX;

pub struct Patterns {
    k: usize,
    authors: Vec<Operator>,
    author_index: HashMap<Operator, u32>,
    /// Authors whose cases count: current members.
    counted: Vec<bool>,
    members: HashSet<MemberKey>,
    cases: HashMap<(u32, CaseRef), CaseState>,
    facts: Facts,
    cells: Cells,
}

/// The counted version of every live case, in reusable slots.
#[derive(Default)]
struct Facts {
    /// `author == FREE` marks a free slot.
    facts: Vec<Fact>,
    record_ids: Vec<RecordId>,
    free: Vec<u32>,
}

impl Facts {
    fn take(&mut self, fact: Fact, id: RecordId) -> u32 {
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

    fn release(&mut self, slot: u32) -> (Fact, u64) {
        let fact = self.facts[slot as usize];
        self.facts[slot as usize].author = FREE;
        self.free.push(slot);
        (fact, record_digest(&self.record_ids[slot as usize]))
    }

    fn live(&self) -> impl Iterator<Item = &Fact> {
        self.facts.iter().filter(|f| f.author != FREE)
    }

    /// Live facts with their record digests.
    fn live_with_digests(&self) -> impl Iterator<Item = (&Fact, u64)> {
        self.facts.iter().zip(&self.record_ids).filter(|(f, _)| f.author != FREE).map(|(f, id)| (f, record_digest(id)))
    }
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
            facts: Facts::default(),
            cells: Cells::default(),
        }
    }

    /// Builds the aggregates from every record in the store.
    pub fn rebuild(store: &Store, k: usize, members: impl IntoIterator<Item = MemberKey>) -> Result<Self, StoreError> {
        let mut patterns = Self::new(k, members);
        let mut after = None;
        loop {
            let batch = store.records_after(after, 16_384)?;
            let Some(last) = batch.last() else { break };
            after = Some(last.arrival);
            patterns.apply_batch(batch.iter().map(|r| (r.id, &r.record)));
        }
        let withdrawn: Vec<(RecordId, Opened)> =
            store.withdrawals()?.iter().map(|w| as_retraction(w, store.context().federation)).collect();
        patterns.apply_batch(withdrawn.iter().map(|(id, r)| (*id, r)));
        Ok(patterns)
    }

    pub fn k(&self) -> usize {
        self.k
    }

    /// The case refs of retracted cases (a case ref is random per case: unique in practice).
    pub fn retracted_cases(&self) -> std::collections::HashSet<CaseRef> {
        self.cases.iter().filter(|(_, s)| s.retracted).map(|((_, case), _)| *case).collect()
    }

    /// Cases counted now (latest versions, not retracted, by current members).
    pub fn case_count(&self) -> usize {
        self.facts.live().filter(|f| self.counted[f.author as usize]).count()
    }

    fn author(&mut self, operator: Operator) -> u32 {
        if let Some(&i) = self.author_index.get(&operator) {
            return i;
        }
        let i = self.authors.len() as u32;
        self.authors.push(operator);
        // Anonymous cases were admitted over rings of current members: they count.
        self.counted.push(match operator {
            Operator::Member(key) => self.members.contains(&key),
            Operator::Tag { .. } => true,
        });
        self.author_index.insert(operator, i);
        i
    }

    /// Distinct operators in a set of operator indexes, as a lower bound that never counts one
    /// operator twice: the members named by key, or the tags of one year, whichever is larger.
    /// (One operator may hold a key-signed case and tags in several years; these cannot be told
    /// apart, so they are never added up.) Exact for any set within one kind and one year.
    pub fn distinct(&self, set: &[u64]) -> u64 {
        let mut by_scope: smallvec::SmallVec<[(u16, u64); 4]> = smallvec::SmallVec::new();
        for (w, &word) in set.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let scope = self.authors[i].scope();
                match by_scope.iter_mut().find(|(s, _)| *s == scope) {
                    Some((_, n)) => *n += 1,
                    None => by_scope.push((scope, 1)),
                }
            }
        }
        by_scope.iter().map(|(_, n)| *n).max().unwrap_or(0)
    }

    /// Per operator index: whether it is the asking member (its key or one of its tags).
    pub fn own(&self, me: Option<&Me<'_>>) -> Vec<bool> {
        let Some(me) = me else { return vec![false; self.authors.len()] };
        let mut tags: HashMap<u16, LinkTag> = HashMap::default();
        self.authors
            .iter()
            .map(|op| match op {
                Operator::Member(key) => *key == me.member,
                Operator::Tag { year, tag } => {
                    let scope = Scope::Year { federation: me.federation, year: *year };
                    *tags.entry(*year).or_insert_with(|| lantern_protocol::anon::tag_of(me.secret, &scope)) == *tag
                }
            })
            .collect()
    }

    /// Counts a stored record: a summary (new or amended) or a retraction. Other kinds and
    /// versions older than the one counted change nothing.
    pub fn apply(&mut self, id: &RecordId, record: &Opened) {
        self.apply_batch([(*id, record)]);
    }

    /// Counts records stored together. Case versions are settled in order; the cell updates that
    /// follow are then applied page by page (in order within a page, where they do not commute),
    /// so a page's cells are fetched into the cache once per batch rather than once per record.
    pub fn apply_batch<'a>(&mut self, records: impl IntoIterator<Item = (RecordId, &'a Opened)>) {
        let mut updates: Vec<(Fact, u64, bool)> = Vec::new();
        for (id, record) in records {
            self.settle(&id, record, &mut updates);
        }
        // Stable: within a page, the updates keep their order.
        updates.sort_by_key(|(fact, _, _)| (fact.registry, fact.month));
        for (fact, digest, add) in &updates {
            count(&mut self.cells, fact, *digest, *add);
        }
    }

    /// Updates the case's state for one record; pushes the cell updates it implies.
    fn settle(&mut self, id: &RecordId, record: &Opened, updates: &mut Vec<(Fact, u64, bool)>) {
        // (operator, order, case, summary, what it supersedes)
        let (operator, sequence, case, summary, supersedes) = match record {
            Opened::Signed(env) => match &env.body {
                Body::Summary(b) => (Operator::Member(env.author), env.sequence, b.case, Some(&b.summary), None),
                Body::Retraction(b) => (Operator::Member(env.author), env.sequence, b.case, None, None),
                _ => return,
            },
            Opened::Anonymous(env, tag) => {
                let operator = Operator::Tag { year: env.year, tag: *tag };
                match &env.body {
                    AnonBody::Summary(b) => (operator, 0, b.case, Some(&b.summary), b.supersedes),
                    AnonBody::Retraction(b) => (operator, 0, b.case, None, None),
                    AnonBody::Purge(_) => return,
                }
            }
            Opened::Ring(_) => return,
        };
        let anonymous = matches!(operator, Operator::Tag { .. });
        let author = self.author(operator);
        let counted = self.counted[author as usize];
        let facts = &self.facts;
        // One probe of the case map: the state is updated in place.
        let state = match self.cases.entry((author, case)) {
            Entry::Occupied(entry) => {
                let state = entry.into_mut();
                if state.retracted {
                    return;
                }
                if summary.is_some() {
                    // A key-signed version replaces a lower sequence; an anonymous one replaces
                    // exactly the version it supersedes.
                    let newer = if anonymous {
                        let current = state.slot.map(|s| facts.record_ids[s as usize]);
                        supersedes.is_some() && supersedes == current
                    } else {
                        state.sequence < sequence
                    };
                    if !newer {
                        return;
                    }
                }
                state
            }
            Entry::Vacant(entry) => entry.insert(CaseState { sequence: 0, retracted: false, slot: None }),
        };
        if let Some(slot) = state.slot.take() {
            let (old, digest) = self.facts.release(slot);
            if counted {
                updates.push((old, digest, false));
            }
        }
        state.slot = summary.map(|s| {
            let fact = Fact::of(author, s);
            if counted {
                updates.push((fact, record_digest(id), true));
            }
            self.facts.take(fact, *id)
        });
        state.sequence = sequence;
        state.retracted = summary.is_none();
    }

    /// Follows a membership change: cases of keys no longer members stop counting, those of
    /// new members start.
    pub fn set_members(&mut self, members: impl IntoIterator<Item = MemberKey>) {
        self.members = members.into_iter().collect();
        let changed: Vec<u32> = (0..self.authors.len() as u32)
            .filter(|&a| match self.authors[a as usize] {
                Operator::Member(key) => self.counted[a as usize] != self.members.contains(&key),
                Operator::Tag { .. } => false,
            })
            .collect();
        if changed.is_empty() {
            return;
        }
        let mut flipped = vec![false; self.authors.len()];
        for &a in &changed {
            self.counted[a as usize] = !self.counted[a as usize];
            flipped[a as usize] = true;
        }
        for (fact, digest) in self.facts.live_with_digests().filter(|(f, _)| flipped[f.author as usize]) {
            count(&mut self.cells, fact, digest, self.counted[fact.author as usize]);
        }
    }

    /// Approximate heap memory of the aggregates, in bytes.
    /// The record of every counted live case: its latest version, not retracted or purged, by a
    /// current member. What a feed of the federation's summaries offers.
    pub fn live_records(&self) -> Vec<RecordId> {
        let facts = &self.facts;
        facts
            .facts
            .iter()
            .zip(&facts.record_ids)
            .filter(|(f, _)| f.author != FREE && self.counted[f.author as usize])
            .map(|(_, id)| *id)
            .collect()
    }

    pub fn memory_bytes(&self) -> usize {
        let cells = self.cells.heap_bytes();
        let cases = self.cases.capacity() * (std::mem::size_of::<((u32, CaseRef), CaseState)>() + 1);
        let facts = self.facts.facts.capacity() * std::mem::size_of::<Fact>()
            + self.facts.record_ids.capacity() * 32
            + self.facts.free.capacity() * 4;
        let authors = self.authors.capacity() * 40 + self.author_index.capacity() * 40;
        cells + cases + facts + authors
    }

    pub fn cell_count(&self) -> usize {
        self.cells.in_use()
    }
}

/// A purge withdraws a case exactly as a retraction does (and for good: a retraction is final),
/// so the figures take it as one. The envelope exists only in memory, under the purge's id.
pub fn as_retraction(w: &Withdrawal, federation: lantern_protocol::FederationId) -> (RecordId, Opened) {
    let created = lantern_protocol::Month { year: lantern_protocol::month::MIN_YEAR, month: 1 };
    let retraction = lantern_protocol::record::RetractionBody {
        case: w.case,
        reason: lantern_protocol::vocab::RetractionReason::IdentifyingInformation,
    };
    let record = match w.by {
        By::Member(author) => Opened::Signed(Envelope {
            format: lantern_protocol::WIRE_FORMAT,
            federation,
            author,
            sequence: u64::MAX,
            previous: None,
            created,
            body: Body::Retraction(retraction),
        }),
        By::Tag { year, tag } => Opened::Anonymous(
            lantern_protocol::anonymous::AnonEnvelope {
                format: lantern_protocol::anonymous::ANONYMOUS_FORMAT,
                federation,
                ring: RecordId([0; 32]),
                year,
                created,
                body: AnonBody::Retraction(retraction),
            },
            tag,
        ),
    };
    (w.purge, record)
}

/// Adds a fact to (or removes it from) every base cell it falls in: all in one page.
fn count(cells: &mut Cells, fact: &Fact, digest: u64, add: bool) {
    let mut keys: smallvec::SmallVec<[(grid::CellKey, bool); 32]> = smallvec::SmallVec::new();
    fact.cells(|key, primary| keys.push((key, primary)));
    cells.page(fact.registry, fact.month).update_all(&keys, |key, primary, cell| {
        let resolution = if key.slot() == grid::NO_FILTER { fact.resolution } else { None };
        if add {
            cell.add(fact.author, digest, primary, resolution);
        } else {
            cell.remove(fact.author, digest, primary, resolution);
        }
    });
}
