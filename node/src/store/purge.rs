//! Purges: a member's signed request that every node delete the bytes of some of its own
//! summaries (they leaked something) and withdraw their cases from every figure.
//!
//! A purged record keeps its id (in the id index, so reconciliation counts it as held and never
//! fetches it back) and its chain link (so gaps and equivocation are still seen); its bytes become
//! an empty slot in its block. A purge names targets by id only, so a node can tell whether a
//! target really is the purge author's summary only once it holds the target: until then the claim
//! waits in `purge_wanted`, and the target, when it arrives, is verified and stored as its id
//! alone: its bytes never reach the disk. A purge naming someone else's record, or a record that
//! is not a summary, changes nothing.
//!
//! Trees:
//! - `purged`: target id → purge id ‖ author ‖ case ref (‖ year, when the author is a tag).
//! - `purge_wanted`: target id ‖ purge id → purge author (or tag ‖ year): claims whose target
//!   has not arrived.
//!
//! Anonymous purges (`loose.rs`) follow the same rules with the linking tag for the author: a
//! purge deletes only summaries with its own tag, in its own year.

use std::collections::{BTreeMap, HashMap, HashSet};

use lantern_protocol::anon::LinkTag;
use lantern_protocol::record::Body;
use lantern_protocol::signed::open_stored;
use lantern_protocol::{CaseRef, Envelope, MemberKey, RecordId, VerifiedRecord};

use super::{Store, StoreError, blocks, corrupt};

/// A case a purge withdrew from the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawal {
    pub by: By,
    pub case: CaseRef,
    pub purge: RecordId,
}

/// Who made the purged summaries and their purge: a member key, or a tag within a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Member(MemberKey),
    Tag { year: u16, tag: LinkTag },
}

impl By {
    fn encode(&self) -> Vec<u8> {
        match self {
            By::Member(m) => m.as_bytes().to_vec(),
            By::Tag { year, tag } => [&tag.0[..], &year.to_be_bytes()].concat(),
        }
    }

    fn decode(v: &[u8]) -> Option<By> {
        match v.len() {
            32 => Some(By::Member(MemberKey::from_slice(v)?)),
            34 => Some(By::Tag { tag: LinkTag(v[..32].try_into().ok()?), year: u16::from_be_bytes([v[32], v[33]]) }),
            _ => None,
        }
    }
}

/// What one batch's purges and purged arrivals do, decided before the batch is written.
#[derive(Default)]
pub(super) struct PurgePlan {
    /// Records of this batch to store as ids only.
    pub empty: HashSet<RecordId>,
    /// Earlier blocks rewritten without purged records: block number → new value.
    pub rewrites: BTreeMap<u64, Vec<u8>>,
    /// Newly purged targets.
    pub purged: Vec<(RecordId, Withdrawal)>,
    /// Claims to keep until their target arrives: `purge_wanted` key → purge author.
    pub wanted: Vec<([u8; 64], By)>,
    /// `purge_wanted` keys whose target arrived in this batch.
    pub settled: Vec<Vec<u8>>,
}

impl PurgePlan {
    /// Marks `target` purged: held (at `arrival`), its slot is emptied; arriving in this batch,
    /// it is stored as its id alone.
    pub(super) fn purge(&mut self, target: RecordId, arrival: Option<u64>, emptied: &mut BTreeMap<u64, Vec<usize>>) {
        match arrival {
            None => {
                self.empty.insert(target);
            }
            Some(arrival) => {
                let index = (arrival & ((1 << blocks::INDEX_BITS) - 1)) as usize;
                emptied.entry(arrival >> blocks::INDEX_BITS).or_default().push(index);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.empty.is_empty() && self.rewrites.is_empty() && self.wanted.is_empty() && self.settled.is_empty()
    }
}

/// One purge's claim on a target.
#[derive(Clone, Copy)]
struct Claim {
    purge: RecordId,
    author: MemberKey,
}

/// The case of a summary record; `None` for every other kind (purges never touch them).
fn summary_case(env: &Envelope) -> Option<CaseRef> {
    match &env.body {
        Body::Summary(b) => Some(b.case),
        _ => None,
    }
}

pub(super) fn encode_purged(w: &Withdrawal) -> Vec<u8> {
    let by = w.by.encode();
    [w.purge.as_bytes().as_slice(), &by[..32], &w.case.0, &by[32..]].concat()
}

pub(super) fn decode_purged(v: &[u8]) -> Option<Withdrawal> {
    let by = [v.get(32..64)?, v.get(80..)?].concat();
    Some(Withdrawal {
        purge: RecordId::from_slice(v.get(..32)?)?,
        by: By::decode(&by)?,
        case: CaseRef::from_slice(v.get(64..80)?)?,
    })
}

pub(super) fn encode_wanted(by: &By) -> Vec<u8> {
    by.encode()
}

pub(super) fn decode_wanted(v: &[u8]) -> Option<By> {
    By::decode(v)
}

pub(super) fn wanted_key(target: &RecordId, purge: &RecordId) -> [u8; 64] {
    let mut k = [0u8; 64];
    k[..32].copy_from_slice(target.as_bytes());
    k[32..].copy_from_slice(purge.as_bytes());
    k
}

impl Store {
    /// Decides what the purges in `batch`, and the claims waiting for records in it, do. The
    /// caller holds the writer, so what it reads stays as read until the plan is written.
    pub(super) fn plan_purges(&self, batch: &[&VerifiedRecord]) -> Result<PurgePlan, StoreError> {
        let mut plan = PurgePlan::default();
        let mut claims: HashMap<RecordId, Vec<Claim>> = HashMap::new();
        let mut fresh: HashSet<(RecordId, RecordId)> = HashSet::new();
        for r in batch {
            if let Body::Purge(p) = &r.envelope().body {
                for target in &p.targets {
                    claims.entry(*target).or_default().push(Claim { purge: r.id(), author: r.author() });
                    fresh.insert((*target, r.id()));
                }
            }
        }
        let arriving: HashMap<RecordId, &VerifiedRecord> = batch.iter().map(|r| (r.id(), *r)).collect();
        if claims.is_empty() && self.purge_wanted.is_empty() {
            return Ok(plan);
        }
        for id in arriving.keys() {
            for entry in self.purge_wanted.scan_prefix(id.as_bytes()) {
                let (key, value) = entry?;
                let purge = key.get(32..64).and_then(RecordId::from_slice);
                let (Some(purge), Some(by)) = (purge, By::decode(&value)) else {
                    return Err(corrupt("purge_wanted", "entry"));
                };
                // A tag's claim is for an anonymous record, never for this key-signed one.
                let By::Member(author) = by else { continue };
                claims.entry(*id).or_default().push(Claim { purge, author });
                plan.settled.push(key.to_vec());
            }
        }
        let mut emptied: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (target, claims) in &claims {
            if self.purged.contains_key(target.as_bytes())? {
                continue;
            }
            let (env, arrival) = match arriving.get(target) {
                Some(r) => (r.envelope().clone(), None),
                None => match self.record_bytes(target)? {
                    // A target that is no key-signed record (an anonymous one) is no one's to
                    // purge by key: ignored, like a target of another author.
                    Some(bytes) => match open_stored(&bytes) {
                        Ok(env) => (env, self.arrival_of(target)),
                        Err(_) => continue,
                    },
                    None => {
                        // Not held yet: keep the claims made in this batch until it arrives.
                        for c in claims.iter().filter(|c| fresh.contains(&(*target, c.purge))) {
                            plan.wanted.push((wanted_key(target, &c.purge), By::Member(c.author)));
                        }
                        continue;
                    }
                },
            };
            let Some(case) = summary_case(&env) else { continue };
            let Some(claim) = claims.iter().find(|c| c.author == env.author) else { continue };
            plan.purged.push((*target, Withdrawal { by: By::Member(env.author), case, purge: claim.purge }));
            plan.purge(*target, arrival, &mut emptied);
        }
        self.rewrite_emptied(&mut plan, emptied)?;
        Ok(plan)
    }

    /// The held blocks with the slots in `emptied` emptied, into `plan.rewrites`.
    pub(super) fn rewrite_emptied(
        &self,
        plan: &mut PurgePlan,
        emptied: BTreeMap<u64, Vec<usize>>,
    ) -> Result<(), StoreError> {
        for (block_no, indices) in emptied {
            let block = self.blocks.get(block_no.to_be_bytes())?.ok_or_else(|| corrupt("blocks", "missing block"))?;
            let rewritten = blocks::without(&block, &indices).ok_or_else(|| corrupt("blocks", "block"))?;
            plan.rewrites.insert(block_no, rewritten);
        }
        Ok(())
    }

    /// The purge that deleted record `id`, if one did.
    pub fn purge_of(&self, id: &RecordId) -> Result<Option<RecordId>, StoreError> {
        match self.purged.get(id.as_bytes())? {
            Some(v) => Ok(Some(decode_purged(&v).ok_or_else(|| corrupt("purged", "value"))?.purge)),
            None => Ok(None),
        }
    }

    /// Whether a purge held here names `id` (applied, or waiting for the record).
    pub fn purge_names(&self, id: &RecordId) -> Result<bool, StoreError> {
        Ok(self.purged.contains_key(id.as_bytes())? || self.purge_wanted.scan_prefix(id.as_bytes()).next().is_some())
    }

    /// Every case withdrawn by a purge, for building the figures from the store.
    pub fn withdrawals(&self) -> Result<Vec<Withdrawal>, StoreError> {
        self.purged.iter().values().map(|v| decode_purged(&v?).ok_or_else(|| corrupt("purged", "value"))).collect()
    }

    /// Cases withdrawn since the last call, for the live figures.
    pub fn take_withdrawn(&self) -> Vec<Withdrawal> {
        std::mem::take(&mut *self.withdrawn.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
