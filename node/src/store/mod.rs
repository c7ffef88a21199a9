//! The node's embedded store (sled 0.34).
//!
//! Trees, and why each exists:
//! - `cases`: the member's private cases, full detail (`case id` → JSON). Never leaves the node.
//! - `case_refs`: private case id → the random [`CaseRef`] its published versions share.
//! - `published`: private case id ‖ own sequence → record id: what this member published, per case.
//! - `records`: record id → exact signed bytes. Only verified records ever get here.
//! - `by_author`: author ‖ sequence ‖ id → (): chains, gaps and equivocation are prefix scans.
//! - `arrival`: the arrival log, one entry per write batch: batch number → record count after the
//!   batch ‖ the batch's record ids. Listing, paging and export in arrival order, and the record
//!   count, cost one entry per batch instead of one per record.
//! - `equivocations`: author ‖ sequence ‖ id → (): every record of a conflicting pair, kept as evidence.
//! - `vouches`: target ‖ voucher → latest (sequence, kind) of the voucher's vouch or withdrawal.
//! - `revocations`: revoked key → record id.
//! - `bindings`: node transport key → member key that declared it.
//! - `peers`: reserved for the network layer (known peers and addresses).
//! - `meta`: the federation id the store belongs to.
//!
//! One writer at a time (a mutex), so duplicate and equivocation checks see a stable state; all
//! index updates of a batch commit in one sled transaction, and every acknowledged write has been
//! flushed to disk.

mod keys;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ed25519_dalek::SigningKey;
use lantern_protocol::record::{Body, Envelope};
use lantern_protocol::signed::{self, open_stored};
use lantern_protocol::{CaseRef, Manifest, MemberKey, Month, RecordError, RecordId, VerifiedRecord, VerifyContext};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use thiserror::Error;

use crate::case::PrivateCase;
use keys::*;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Db(#[from] sled::Error),
    #[error("the store belongs to federation {stored}, not {given}")]
    WrongFederation { stored: String, given: String },
    #[error("corrupt entry in tree `{tree}`: {detail}")]
    Corrupt { tree: &'static str, detail: String },
    #[error("no private case with id {0}")]
    NoSuchCase(u64),
    #[error("no record with id {0}")]
    NoSuchRecord(String),
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Db(e),
        }
    }
}

/// Missing sequence numbers `from..=to` in an author's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    pub author: MemberKey,
    pub from: u64,
    pub to: u64,
}

/// What ingesting one record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// New and stored; `gap` says if records before it in the author's chain are missing.
    Stored { id: RecordId, gap: Option<Gap> },
    /// Already held: nothing changed.
    Duplicate { id: RecordId },
    /// Stored as evidence: the author signed another record with the same sequence number.
    Equivocation { id: RecordId, conflicting: Vec<RecordId> },
}

impl Ingested {
    pub fn id(&self) -> RecordId {
        match self {
            Ingested::Stored { id, .. } | Ingested::Duplicate { id } | Ingested::Equivocation { id, .. } => *id,
        }
    }
}

/// A stored record, decoded.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: RecordId,
    pub arrival: u64,
    pub bytes: Vec<u8>,
    pub envelope: Envelope,
}

pub struct Store {
    db: sled::Db,
    cases: sled::Tree,
    case_refs: sled::Tree,
    published: sled::Tree,
    records: sled::Tree,
    by_author: sled::Tree,
    arrival: sled::Tree,
    equivocations: sled::Tree,
    vouches: sled::Tree,
    revocations: sled::Tree,
    bindings: sled::Tree,
    meta: sled::Tree,
    ctx: VerifyContext,
    writer: Mutex<()>,
    /// Next arrival-log batch number; only advanced under `writer`.
    next_batch: AtomicU64,
    /// Records held; only changed under `writer`.
    count: AtomicU64,
}

/// Entries of one record for each index, computed before the transaction.
struct Planned {
    record: VerifiedRecord,
    equivocation: Vec<RecordId>,
}

/// Most record ids one arrival-log entry holds; arrival numbers are `batch << 16 | index`.
const LOG_ENTRY_IDS: usize = 1 << 14;
const LOG_SHIFT: u32 = 16;

/// Records verified in one step of a pipelined batch ingest.
const PIPELINE_CHUNK: usize = 2048;

impl Store {
    /// Opens (or creates) the store in `dir` for the federation of `manifest`.
    pub fn open(dir: &Path, manifest: &Manifest) -> Result<Self, StoreError> {
        let db = sled::Config::new().path(dir).cache_capacity(256 * 1024 * 1024).open()?;
        let tree = |name: &str| db.open_tree(name);
        let store = Store {
            cases: tree("cases")?,
            case_refs: tree("case_refs")?,
            published: tree("published")?,
            records: tree("records")?,
            by_author: tree("by_author")?,
            arrival: tree("arrival")?,
            equivocations: tree("equivocations")?,
            vouches: tree("vouches")?,
            revocations: tree("revocations")?,
            bindings: tree("bindings")?,
            meta: tree("meta")?,
            ctx: VerifyContext::for_manifest(manifest),
            writer: Mutex::new(()),
            next_batch: AtomicU64::new(1),
            count: AtomicU64::new(0),
            db,
        };
        if let Some((k, v)) = store.arrival.last()? {
            store.next_batch.store(be_u64(&k)? + 1, Ordering::SeqCst);
            store.count.store(be_u64(v.get(..8).unwrap_or_default())?, Ordering::SeqCst);
        }
        // Trees the network layer fills; opened here so the layout lives in one place.
        store.db.open_tree("peers")?;
        let given = manifest.id();
        match store.meta.get("federation")? {
            Some(stored) if stored.as_ref() != given.as_bytes() => {
                return Err(StoreError::WrongFederation { stored: hex::encode(stored), given: given.to_hex() });
            }
            Some(_) => {}
            None => {
                store.meta.insert("federation", given.as_bytes())?;
                store.db.flush()?;
            }
        }
        Ok(store)
    }

    pub fn context(&self) -> &VerifyContext {
        &self.ctx
    }

    /// Verifies and stores one record (from a peer, an import, anywhere).
    pub fn ingest(&self, bytes: &[u8]) -> Result<Ingested, StoreError> {
        let record = signed::verify(bytes, &self.ctx)?;
        Ok(self.ingest_verified(vec![record])?.remove(0))
    }

    /// Verifies many records in parallel batches and stores the valid ones; returns one result per
    /// input, in order. Verification of the next chunk overlaps the storing of the current one.
    pub fn ingest_batch<B: AsRef<[u8]> + Sync>(
        &self,
        records: &[B],
    ) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::with_capacity(records.len());
        let mut chunks = records.chunks(PIPELINE_CHUNK);
        let mut verified = chunks.next().map(|c| signed::verify_batch(c, &self.ctx));
        while let Some(current) = verified.take() {
            let next = chunks.next();
            let (stored, next_verified) = rayon::join(
                || {
                    let good: Vec<VerifiedRecord> = current.iter().filter_map(|r| r.as_ref().ok().cloned()).collect();
                    self.write_locked(good)
                },
                || next.map(|c| signed::verify_batch(c, &self.ctx)),
            );
            let mut stored = stored?.into_iter();
            out.extend(current.into_iter().map(|r| r.map(|_| stored.next().expect("one outcome per verified record"))));
            verified = next_verified;
        }
        self.db.flush()?;
        Ok(out)
    }

    /// Stores records that have been verified; flushes before returning.
    pub fn ingest_verified(&self, records: Vec<VerifiedRecord>) -> Result<Vec<Ingested>, StoreError> {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let outcomes = self.write_locked(records)?;
        self.db.flush()?;
        Ok(outcomes)
    }

    /// The write path; the caller holds `writer`.
    fn write_locked(&self, records: Vec<VerifiedRecord>) -> Result<Vec<Ingested>, StoreError> {
        let mut outcomes = Vec::with_capacity(records.len());
        let mut plan: Vec<Planned> = Vec::new();
        let mut seen: HashSet<RecordId> = HashSet::new();
        // (author, sequence) -> ids planned in this batch, so in-batch conflicts are seen too.
        let mut pending: BTreeMap<(MemberKey, u64), Vec<RecordId>> = BTreeMap::new();

        for record in records {
            let (id, author, seq) = (record.id(), record.author(), record.sequence());
            if seen.contains(&id) {
                outcomes.push(Ingested::Duplicate { id });
                continue;
            }
            let (at_seq, below) = self.around(&author, seq)?;
            if at_seq.contains(&id) {
                outcomes.push(Ingested::Duplicate { id });
                continue;
            }
            let mut conflicting = at_seq;
            conflicting.extend(pending.get(&(author, seq)).into_iter().flatten().copied());
            let outcome = if conflicting.is_empty() {
                let pending_below = pending.range((author, 0)..(author, seq)).next_back().map(|((_, s), _)| *s);
                let highest = below.max(pending_below).unwrap_or(0);
                let gap = (highest + 1 < seq).then_some(Gap { author, from: highest + 1, to: seq - 1 });
                Ingested::Stored { id, gap }
            } else {
                Ingested::Equivocation { id, conflicting: conflicting.clone() }
            };
            outcomes.push(outcome);
            seen.insert(id);
            pending.entry((author, seq)).or_default().push(id);
            plan.push(Planned { record, equivocation: conflicting });
        }
        let count = self.count.load(Ordering::SeqCst) + plan.len() as u64;
        let first_batch = self.next_batch.load(Ordering::SeqCst);
        let log: Vec<(u64, Vec<u8>)> = plan
            .chunks(LOG_ENTRY_IDS)
            .enumerate()
            .map(|(i, chunk)| {
                let mut value = count.to_be_bytes().to_vec();
                for p in chunk {
                    value.extend_from_slice(p.record.id().as_bytes());
                }
                (first_batch + i as u64, value)
            })
            .collect();
        if plan.is_empty() {
            return Ok(outcomes);
        }

        (
            &self.records,
            &self.by_author,
            &self.arrival,
            &self.equivocations,
            &self.vouches,
            &self.revocations,
            &self.bindings,
        )
            .transaction(|(records, by_author, arrival, equivocations, vouches, revocations, bindings)| {
                for p in &plan {
                    let (id, env) = (p.record.id(), p.record.envelope());
                    records.insert(id.as_bytes(), p.record.bytes())?;
                    by_author.insert(&author_seq_id(&env.author, env.sequence, &id)[..], &[][..])?;
                    if !p.equivocation.is_empty() {
                        for other in p.equivocation.iter().chain([&id]) {
                            equivocations.insert(&author_seq_id(&env.author, env.sequence, other)[..], &[][..])?;
                        }
                    }
                    match &env.body {
                        Body::Vouch(v) | Body::VouchWithdrawal(v) => {
                            let key = pair(&v.member, &env.author);
                            let newer = match vouches.get(key)? {
                                Some(old) => decode_vouch(&old).is_none_or(|(seq, _)| env.sequence > seq),
                                None => true,
                            };
                            if newer {
                                let vouching = matches!(env.body, Body::Vouch(_));
                                vouches.insert(&key[..], &encode_vouch(env.sequence, vouching)[..])?;
                            }
                        }
                        Body::KeyRevocation(r) => {
                            revocations.insert(r.key.as_bytes(), id.as_bytes())?;
                        }
                        Body::NodeBinding(b) => {
                            bindings.insert(&b.node_key[..], env.author.as_bytes())?;
                        }
                        Body::Summary(_) | Body::Retraction(_) => {}
                    }
                }
                for (batch, value) in &log {
                    arrival.insert(&batch.to_be_bytes()[..], &value[..])?;
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })?;
        self.next_batch.store(first_batch + log.len() as u64, Ordering::SeqCst);
        self.count.store(count, Ordering::SeqCst);
        Ok(outcomes)
    }

    /// Ids stored for one (author, sequence): more than one means equivocation.
    pub fn ids_at(&self, author: &MemberKey, seq: u64) -> Result<Vec<RecordId>, StoreError> {
        self.by_author.scan_prefix(author_seq(author, seq)).keys().map(|k| Ok(id_of_author_key(&k?))).collect()
    }

    /// One reverse scan of an author's chain from `seq` down: the ids stored at `seq`, and the
    /// highest sequence stored below it.
    fn around(&self, author: &MemberKey, seq: u64) -> Result<(Vec<RecordId>, Option<u64>), StoreError> {
        let low = author_seq(author, 0);
        let high = author_seq_id(author, seq, &RecordId([0xff; 32]));
        let mut at_seq = Vec::new();
        for key in self.by_author.range(&low[..]..=&high[..]).keys().rev() {
            let key = key?;
            match seq_of_author_key(&key) {
                s if s == seq => at_seq.push(id_of_author_key(&key)),
                below => return Ok((at_seq, Some(below))),
            }
        }
        Ok((at_seq, None))
    }

    /// Every gap in an author's chain, up to the highest sequence held.
    pub fn gaps(&self, author: &MemberKey) -> Result<Vec<Gap>, StoreError> {
        let mut gaps = Vec::new();
        let mut expected = 1;
        for key in self.by_author.scan_prefix(author.as_bytes()).keys() {
            let seq = seq_of_author_key(&key?);
            if seq > expected {
                gaps.push(Gap { author: *author, from: expected, to: seq - 1 });
            }
            expected = expected.max(seq + 1);
        }
        Ok(gaps)
    }

    /// Authors that signed two different records with one sequence number.
    pub fn equivocators(&self) -> Result<Vec<MemberKey>, StoreError> {
        let mut out: Vec<MemberKey> = Vec::new();
        for key in self.equivocations.iter().keys() {
            let author = author_of_key(&key?);
            if out.last() != Some(&author) {
                out.push(author);
            }
        }
        Ok(out)
    }

    pub fn is_equivocator(&self, author: &MemberKey) -> Result<bool, StoreError> {
        Ok(self.equivocations.scan_prefix(author.as_bytes()).next().transpose()?.is_some())
    }

    /// The (sequence, id) chain of one author, ascending.
    pub fn chain(&self, author: &MemberKey) -> Result<Vec<(u64, RecordId)>, StoreError> {
        self.by_author
            .scan_prefix(author.as_bytes())
            .keys()
            .map(|k| {
                let k = k?;
                Ok((seq_of_author_key(&k), id_of_author_key(&k)))
            })
            .collect()
    }

    pub fn record_bytes(&self, id: &RecordId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.records.get(id.as_bytes())?.map(|v| v.to_vec()))
    }

    pub fn contains(&self, id: &RecordId) -> Result<bool, StoreError> {
        Ok(self.records.contains_key(id.as_bytes())?)
    }

    pub fn record_count(&self) -> usize {
        self.count.load(Ordering::SeqCst) as usize
    }

    /// Records in arrival order, after arrival number `after`, at most `limit`.
    pub fn records_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<StoredRecord>, StoreError> {
        let (start_batch, skip) = match after {
            Some(a) => (a >> LOG_SHIFT, (a & ((1 << LOG_SHIFT) - 1)) as usize + 1),
            None => (0, 0),
        };
        let mut out = Vec::new();
        for entry in self.arrival.range(start_batch.to_be_bytes()..) {
            let (k, v) = entry?;
            let batch = be_u64(&k)?;
            let ids = v.get(8..).ok_or_else(|| corrupt("arrival", "entry"))?;
            let first = if batch == start_batch { skip } else { 0 };
            for (index, raw) in ids.chunks_exact(32).enumerate().skip(first) {
                if out.len() == limit {
                    return Ok(out);
                }
                let id = RecordId::from_slice(raw).ok_or_else(|| corrupt("arrival", "id"))?;
                let bytes = self.record_bytes(&id)?.ok_or_else(|| corrupt("records", "logged record missing"))?;
                let envelope = open_stored(&bytes).map_err(|e| corrupt("records", &e.to_string()))?;
                out.push(StoredRecord { id, arrival: batch << LOG_SHIFT | index as u64, bytes, envelope });
            }
        }
        Ok(out)
    }

    /// Every record id held, for digests and reconciliation.
    pub fn record_ids(&self) -> impl Iterator<Item = Result<RecordId, StoreError>> + '_ {
        self.records.iter().keys().map(|k| {
            let k = k?;
            RecordId::from_slice(&k).ok_or_else(|| corrupt("records", "key"))
        })
    }

    /// The latest vouch state of every (target, voucher) pair: `true` while the vouch stands.
    pub fn vouches(&self) -> Result<Vec<(MemberKey, MemberKey, bool)>, StoreError> {
        self.vouches
            .iter()
            .map(|e| {
                let (k, v) = e?;
                let (target, voucher) = split_pair(&k).ok_or_else(|| corrupt("vouches", "key"))?;
                let (_, standing) = decode_vouch(&v).ok_or_else(|| corrupt("vouches", "value"))?;
                Ok((target, voucher, standing))
            })
            .collect()
    }

    pub fn is_revoked(&self, key: &MemberKey) -> Result<bool, StoreError> {
        Ok(self.revocations.contains_key(key.as_bytes())?)
    }

    // ---- this member's own records ----

    /// Signs `body` as this member's next record and stores it; the record is flushed to disk
    /// before it is returned. `case` links it to a private case.
    pub fn append_own(
        &self,
        key: &SigningKey,
        created: Month,
        body: Body,
        case: Option<u64>,
    ) -> Result<VerifiedRecord, StoreError> {
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let author = signed::member_key(key);
        let last = self
            .by_author
            .scan_prefix(author.as_bytes())
            .keys()
            .next_back()
            .transpose()?
            .map(|k| (seq_of_author_key(&k), id_of_author_key(&k)));
        let envelope = Envelope {
            format: lantern_protocol::WIRE_FORMAT,
            federation: self.ctx.federation,
            author,
            sequence: last.map_or(1, |(s, _)| s + 1),
            previous: last.map(|(_, id)| id),
            created,
            body,
        };
        let record = signed::sign(&envelope, key, &self.ctx)?;
        self.write_locked(vec![record.clone()])?;
        if let Some(case_id) = case {
            let mut key = case_id.to_be_bytes().to_vec();
            key.extend_from_slice(&envelope.sequence.to_be_bytes());
            self.published.insert(key, record.id().as_bytes())?;
        }
        self.db.flush()?;
        Ok(record)
    }

    /// The ids this member published for a private case, oldest first.
    pub fn published_for(&self, case_id: u64) -> Result<Vec<RecordId>, StoreError> {
        self.published
            .scan_prefix(case_id.to_be_bytes())
            .values()
            .map(|v| RecordId::from_slice(&v?).ok_or_else(|| corrupt("published", "value")))
            .collect()
    }

    /// The case ref of a private case, created on first use.
    pub fn case_ref(&self, case_id: u64, fresh: impl FnOnce() -> CaseRef) -> Result<CaseRef, StoreError> {
        if let Some(v) = self.case_refs.get(case_id.to_be_bytes())? {
            return CaseRef::from_slice(&v).ok_or_else(|| corrupt("case_refs", "value"));
        }
        let r = fresh();
        self.case_refs.insert(case_id.to_be_bytes(), &r.0)?;
        Ok(r)
    }

    // ---- private cases ----

    pub fn insert_case(&self, case: &PrivateCase) -> Result<u64, StoreError> {
        let id = self
            .meta
            .update_and_fetch("next_case", |old| {
                let next = old.and_then(|v| v.try_into().ok()).map_or(1, u64::from_be_bytes) + 1;
                Some(next.to_be_bytes().to_vec())
            })?
            .map_or(Ok(1), |v| be_u64(&v))?
            - 1;
        self.cases.insert(id.to_be_bytes(), serde_json::to_vec(case).expect("case serializes"))?;
        self.db.flush()?;
        Ok(id)
    }

    pub fn update_case(&self, id: u64, case: &PrivateCase) -> Result<(), StoreError> {
        if !self.cases.contains_key(id.to_be_bytes())? {
            return Err(StoreError::NoSuchCase(id));
        }
        self.cases.insert(id.to_be_bytes(), serde_json::to_vec(case).expect("case serializes"))?;
        self.db.flush()?;
        Ok(())
    }

    pub fn delete_case(&self, id: u64) -> Result<(), StoreError> {
        if self.cases.remove(id.to_be_bytes())?.is_none() {
            return Err(StoreError::NoSuchCase(id));
        }
        self.db.flush()?;
        Ok(())
    }

    pub fn case(&self, id: u64) -> Result<PrivateCase, StoreError> {
        let bytes = self.cases.get(id.to_be_bytes())?.ok_or(StoreError::NoSuchCase(id))?;
        serde_json::from_slice(&bytes).map_err(|e| corrupt("cases", &e.to_string()))
    }

    pub fn cases(&self) -> Result<Vec<(u64, PrivateCase)>, StoreError> {
        self.cases
            .iter()
            .map(|e| {
                let (k, v) = e?;
                let id = be_u64(&k)?;
                let case = serde_json::from_slice(&v).map_err(|e| corrupt("cases", &e.to_string()))?;
                Ok((id, case))
            })
            .collect()
    }

    /// Bytes the store occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.db.size_on_disk()?)
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

fn be_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(bytes.try_into().map_err(|_| corrupt("meta", "expected an 8-byte number"))?))
}

fn corrupt(tree: &'static str, detail: &str) -> StoreError {
    StoreError::Corrupt { tree, detail: detail.to_string() }
}

#[cfg(test)]
mod tests;
