//! The node's embedded store (sled 0.34).
//!
//! Trees, and why each exists:
//! - `cases`: the member's private cases, full detail (`case id` → JSON). Never leaves the node.
//! - `case_refs`: private case id → the random [`CaseRef`] its published versions share.
//! - `published`: private case id ‖ own sequence → record id: what this member published, per case.
//! - `relayed`: which of those a relay has taken; the others wait for their release.
//! - `blocks`: the arrival log. Verified records' exact signed bytes, packed up to 64 to a block
//!   (`blocks.rs`); listing, paging and export read it in order. Only verified records get here.
//! - `chains`: author ‖ batch → that author's (sequence, id, arrival) links written in one batch:
//!   chains, gaps and equivocation are prefix scans (`chains.rs`).
//! - `equivocations`: author ‖ sequence ‖ id → (): every record of a conflicting pair, kept as evidence.
//! - `vouches`: target ‖ voucher → latest (sequence, kind) of the voucher's vouch or withdrawal.
//! - `revocations`: revoked key → record id.
//! - `bindings`: node transport key → member key that declared it ‖ the binding record's id.
//! - `purged`, `purge_wanted`: what purges deleted, and purge claims waiting for their target
//!   (`purge.rs`). A purged record keeps its id and chain link; its bytes are an empty slot.
//! - `peers`: members' node addresses learnt from proven members (`peers.rs`).
//! - `loose`: id → arrival of records outside any chain: anonymous records and the rings they
//!   are signed over (`loose.rs`).
//! - `anonymity_keys`: member key → its registered anonymity key (the first registration wins).
//! - `tag_counts`: year ‖ linking tag → anonymous records held with that tag (the cap per tag).
//! - `meta`: the federation id the store belongs to, the private-case counter.
//!
//! Records are found by id through an in-memory index (id → arrival number), loaded from the
//! `chains` entries at open, like Bitcask's keydir: about 50 bytes of memory per record, and no
//! sled entry per record. A bulk ingest writes one `blocks` entry per 64 records and one `chains`
//! entry per author and batch; sled's per-insert cost used to bound ingest (docs/benchmarks.md).
//!
//! One writer at a time (a mutex), so duplicate and equivocation checks see a stable state; all
//! entries of a batch commit in one sled transaction, and every acknowledged write has been
//! flushed to disk.

mod blocks;
mod chains;
pub mod check;
pub mod idempotency;
mod keys;
pub mod loose;
pub mod own_head;
mod peers;
mod purge;
mod releases;
pub use releases::purge_targets;
pub mod repair;
pub mod rescue;

pub use purge::{By, Withdrawal};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use ed25519_dalek::SigningKey;
use lantern_protocol::anonymous::{Opened, open_stored_any};
use lantern_protocol::record::{Body, Envelope};
use lantern_protocol::signed;
use lantern_protocol::{CaseRef, Manifest, MemberKey, Month, RecordError, RecordId, VerifiedRecord, VerifyContext};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use thiserror::Error;

use crate::case::PrivateCase;
use chains::{Link, SeqSet};
use keys::*;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store: {}", describe_db(.0))]
    Db(#[from] sled::Error),
    #[error("store: {}", describe_io(.0))]
    Io(#[from] std::io::Error),
    #[error("the store belongs to federation {stored}, not {given}")]
    WrongFederation { stored: String, given: String },
    #[error("corrupt entry in tree `{tree}`: {detail}")]
    Corrupt { tree: &'static str, detail: String },
    #[error(
        "the record index disagrees with the block log ({indexed} records indexed, {logged} in the log): a write \
         was torn, e.g. by a full disk; opening it through its data dir rebuilds the index from the log (that \
         needs free space for a copy of the store)"
    )]
    IndexDisagrees { indexed: u64, logged: u64 },
    #[error("no private case with id {0}")]
    NoSuchCase(u64),
    #[error("no record with id {0}")]
    NoSuchRecord(String),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(
        "the store was written by an older Lantern (layout 1); export its records with that version and import them"
    )]
    OldLayout,
    #[error("{0} is damaged: it should read `signed N`; if the store is whole, delete the file and it is rewritten")]
    BadHeadFile(String),
    #[error(
        "this node holds {held} of its own records but has signed up to sequence {head}: it must catch up from a \
         member before it signs again (signing now would fork its own chain)"
    )]
    OwnChainIncomplete { held: u64, head: u64 },
    #[error(
        "this node signed up to sequence {signed} ({file}) but its store holds its chain only to {held}: the store \
         was wiped or rolled back; restore the latest backup (`lantern restore`), or import this member's records \
         from another member's `lantern export` (`lantern import`) before it signs again"
    )]
    OwnChainBehind { held: u64, signed: u64, file: String },
    #[error(
        "this store was restored from a backup that may be older than what this node signed since: it signs again \
         once it has caught up with a member (run it with a bootstrap)"
    )]
    OwnChainUnconfirmed,
    #[error("this Idempotency-Key was used for another request; use a new key for a new request")]
    IdempotencyKeyReused,
}

fn describe_io(e: &std::io::Error) -> String {
    if is_disk_full_io(e) {
        "the disk is full (no space left on device); nothing of this write was kept: free space, then retry \
         (a running node takes writes again by itself once there is room; /api/v1/ready says when)"
            .to_string()
    } else {
        e.to_string()
    }
}

fn describe_db(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) => describe_io(io),
        sled::Error::Corruption { at, .. } => format!(
            "the store's files are damaged{}; restore the latest backup (`lantern restore`)",
            at.map(|at| format!(" (at {at:?})")).unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

fn is_disk_full_io(e: &std::io::Error) -> bool {
    // ENOSPC, and EDQUOT (a quota is a full disk for this node).
    e.kind() == std::io::ErrorKind::StorageFull || matches!(e.raw_os_error(), Some(28) | Some(122))
}

impl StoreError {
    /// A write failed for lack of disk space.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Io(e) | StoreError::Db(sled::Error::Io(e)) => is_disk_full_io(e),
            _ => false,
        }
    }

    /// Refusals that clear once the node has caught up with its own records.
    pub fn is_own_chain_behind(&self) -> bool {
        matches!(
            self,
            StoreError::OwnChainIncomplete { .. } | StoreError::OwnChainBehind { .. } | StoreError::OwnChainUnconfirmed
        )
    }
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
    /// Verified, and held as its id only: its author had purged it.
    Purged { id: RecordId },
}

impl Ingested {
    pub fn id(&self) -> RecordId {
        match self {
            Ingested::Stored { id, .. }
            | Ingested::Duplicate { id }
            | Ingested::Equivocation { id, .. }
            | Ingested::Purged { id } => *id,
        }
    }
}

/// A stored record, decoded.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub id: RecordId,
    pub arrival: u64,
    pub bytes: Vec<u8>,
    pub record: Opened,
}

pub struct Store {
    db: sled::Db,
    cases: sled::Tree,
    case_refs: sled::Tree,
    published: sled::Tree,
    relayed: sled::Tree,
    blocks: sled::Tree,
    chains: sled::Tree,
    equivocations: sled::Tree,
    vouches: sled::Tree,
    revocations: sled::Tree,
    bindings: sled::Tree,
    purged: sled::Tree,
    purge_wanted: sled::Tree,
    peers: sled::Tree,
    loose: sled::Tree,
    anonymity_keys: sled::Tree,
    tag_counts: sled::Tree,
    idempotency: sled::Tree,
    idempotency_lock: Mutex<()>,
    meta: sled::Tree,
    ctx: VerifyContext,
    writer: Mutex<Writer>,
    /// Every record held: id → arrival number. Only changed under `writer`, after the entries
    /// that locate the record have been committed.
    index: RwLock<HashMap<RecordId, u64>>,
    /// Records held; only changed under `writer`.
    count: AtomicU64,
    /// Cases purges withdrew, not yet taken by the live figures.
    withdrawn: Mutex<Vec<Withdrawal>>,
    /// Where this member's signed head is kept beside the store (data dirs set it).
    head_file: std::sync::OnceLock<own_head::HeadFile>,
    /// The last write failed for lack of disk space.
    disk_full: std::sync::atomic::AtomicBool,
    /// Where the store lives.
    dir: std::path::PathBuf,
}

/// After a write failed for lack of space, sled's last flush on drop can wait for its flusher
/// thread for ever (seen: imports that printed their error and never exited). The process is
/// then leaving or the store is being given up: leak one handle, so that flush never runs. What
/// was acknowledged was flushed already; what was not is what failed.
impl Drop for Store {
    fn drop(&mut self) {
        if self.writes_failing() {
            std::mem::forget(self.db.clone());
        }
    }
}

/// State only the writer touches.
struct Writer {
    next_block: u64,
    /// Sequences held per author.
    held: HashMap<MemberKey, SeqSet>,
}

/// Version of the layout of the trees, in `meta`. Layout 1 (before the in-memory id index) had
/// a `records` tree and 40-byte chain links.
const LAYOUT: &[u8] = b"2";

/// Records verified at once in a batch ingest.
const VERIFY_CHUNK: usize = 4096;
/// Most records the writer stores in one transaction.
const WRITE_BATCH: usize = 16_384;

impl Store {
    /// Opens (or creates) the store in `dir` for the federation of `manifest`.
    pub fn open(dir: &Path, manifest: &Manifest) -> Result<Self, StoreError> {
        let mut db = open_db(dir)?;
        if db.open_tree("meta")?.contains_key(COMPACT)? {
            drop(db);
            compact(dir)?;
            db = open_db(dir)?;
        }
        let tree = |name: &str| db.open_tree(name);
        let blocks = tree("blocks")?;
        let chains = tree("chains")?;
        let meta = tree("meta")?;
        let (next_block, count) = match blocks.last()? {
            Some((k, v)) => (be_u64(&k)? + 1, blocks::count_after(&v).ok_or_else(|| corrupt("blocks", "header"))?),
            None => (1, 0),
        };
        match meta.get("layout")? {
            Some(v) if v.as_ref() == LAYOUT => {}
            Some(_) => return Err(corrupt("meta", "unknown layout")),
            None if count > 0 => return Err(StoreError::OldLayout),
            None => {
                meta.insert("layout", LAYOUT)?;
            }
        }
        let (mut index, held) = load_chains(&chains)?;
        let loose = tree("loose")?;
        loose::load(&loose, &mut index)?;
        if index.len() as u64 != count {
            return Err(StoreError::IndexDisagrees { indexed: index.len() as u64, logged: count });
        }
        let store = Store {
            cases: tree("cases")?,
            case_refs: tree("case_refs")?,
            published: tree("published")?,
            relayed: tree("relayed")?,
            blocks,
            chains,
            equivocations: tree("equivocations")?,
            vouches: tree("vouches")?,
            revocations: tree("revocations")?,
            bindings: tree("bindings")?,
            purged: tree("purged")?,
            purge_wanted: tree("purge_wanted")?,
            peers: tree("peers")?,
            loose,
            anonymity_keys: tree("anonymity_keys")?,
            tag_counts: tree("tag_counts")?,
            idempotency: tree("idempotency")?,
            idempotency_lock: Mutex::new(()),
            meta,
            ctx: VerifyContext::for_manifest(manifest),
            writer: Mutex::new(Writer { next_block, held }),
            index: RwLock::new(index),
            count: AtomicU64::new(count),
            withdrawn: Mutex::new(Vec::new()),
            head_file: std::sync::OnceLock::new(),
            disk_full: std::sync::atomic::AtomicBool::new(false),
            dir: dir.to_path_buf(),
            db,
        };
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

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Verifies and stores one record (from a peer, an import, anywhere).
    pub fn ingest(&self, bytes: &[u8]) -> Result<Ingested, StoreError> {
        let record = signed::verify(bytes, &self.ctx)?;
        Ok(self.ingest_verified(vec![record])?.remove(0))
    }

    /// Verifies many records in parallel batches and stores the valid ones; returns one result per
    /// input, in order. Verification (on all cores) and storing (one writer thread) run at once:
    /// verified chunks reach the writer through a bounded channel, and the writer stores whatever
    /// has arrived in one transaction.
    pub fn ingest_batch<B: AsRef<[u8]> + Sync>(
        &self,
        records: &[B],
    ) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        self.ingest_batch_admitting(records, |_| Ok(()))
    }

    /// [`Self::ingest_batch`], storing only the verified records `admit` accepts.
    pub fn ingest_batch_admitting<B: AsRef<[u8]> + Sync>(
        &self,
        records: &[B],
        mut admit: impl FnMut(&VerifiedRecord) -> Result<(), RecordError>,
    ) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        let mut guard = self.lock_writer();
        let writer: &mut Writer = &mut guard;
        let mut slots: Vec<Result<(), RecordError>> = Vec::with_capacity(records.len());
        let stored = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<VerifiedRecord>>(4);
            let handle = scope.spawn(move || -> Result<Vec<Ingested>, StoreError> {
                let mut outcomes = Vec::new();
                while let Ok(mut batch) = rx.recv() {
                    while batch.len() < WRITE_BATCH
                        && let Ok(more) = rx.try_recv()
                    {
                        batch.extend(more);
                    }
                    outcomes.extend(self.write_locked(writer, batch)?);
                }
                Ok(outcomes)
            });
            for chunk in records.chunks(VERIFY_CHUNK) {
                let mut good = Vec::with_capacity(chunk.len());
                for r in signed::verify_batch(chunk, &self.ctx) {
                    slots.push(r.and_then(|v| admit(&v).map(|()| good.push(v))));
                }
                if tx.send(good).is_err() {
                    break; // the writer failed; its error is returned below
                }
            }
            drop(tx);
            handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        })?;
        // The next batch may verify and write while this one waits for the disk; this one is
        // still only acknowledged once flushed.
        drop(guard);
        self.db.flush()?;
        let mut stored = stored.into_iter();
        Ok(slots.into_iter().map(|r| r.map(|()| stored.next().expect("one outcome per verified record"))).collect())
    }

    /// Stores records that have been verified; flushes before returning.
    pub fn ingest_verified(&self, records: Vec<VerifiedRecord>) -> Result<Vec<Ingested>, StoreError> {
        let mut writer = self.lock_writer();
        let outcomes = self.write_locked(&mut writer, records)?;
        self.db.flush()?;
        Ok(outcomes)
    }

    /// The write path; the caller holds `writer`.
    fn write_locked(&self, writer: &mut Writer, records: Vec<VerifiedRecord>) -> Result<Vec<Ingested>, StoreError> {
        let written = self.write_records(writer, records);
        self.note_write(&written);
        written
    }

    /// Whether the last write failed for lack of disk space (cleared by the next that succeeds,
    /// or by `probe_writable`).
    pub fn writes_failing(&self) -> bool {
        self.disk_full.load(Ordering::SeqCst)
    }

    fn note_write<T>(&self, result: &Result<T, StoreError>) {
        match result {
            Ok(_) => self.disk_full.store(false, Ordering::SeqCst),
            Err(e) if e.is_disk_full() => self.disk_full.store(true, Ordering::SeqCst),
            Err(_) => {}
        }
    }

    /// A write outside the record path (a case, an idempotency entry) failed for lack of space.
    pub fn note_disk_full(&self) {
        self.disk_full.store(true, Ordering::SeqCst);
    }

    /// After a write failed for lack of space: whether space came back (for readiness, which
    /// must recover without a restart): room for a megabyte beside the store, then one small
    /// durable write through sled. A small write alone can fit in a full disk's last segment.
    pub fn probe_writable(&self) -> bool {
        if self.writes_failing() && self.has_room() {
            let probe =
                self.meta.insert("probe", &[1u8][..]).map_err(StoreError::from).and_then(|_| Ok(self.db.flush()?));
            self.note_write(&probe);
        }
        !self.writes_failing()
    }

    /// Whether the disk has room again: a 1 MiB file written, synced and removed beside the
    /// store, outside sled (whose handle may keep failing after a full disk, space or not).
    pub fn has_room(&self) -> bool {
        use std::io::Write;
        let probe = self.dir.with_extension("space-probe");
        let written = std::fs::File::create(&probe).and_then(|mut f| {
            f.write_all(&vec![0u8; 1 << 20])?;
            f.sync_all()
        });
        std::fs::remove_file(&probe).ok();
        written.is_ok()
    }

    fn write_records(&self, writer: &mut Writer, records: Vec<VerifiedRecord>) -> Result<Vec<Ingested>, StoreError> {
        let mut outcomes = Vec::with_capacity(records.len());
        let mut plan: Vec<(VerifiedRecord, Vec<RecordId>)> = Vec::new();
        let mut seen: HashSet<RecordId> = HashSet::new();
        // (author, sequence) -> ids planned in this batch, so in-batch conflicts are seen too.
        let mut pending: BTreeMap<(MemberKey, u64), Vec<RecordId>> = BTreeMap::new();

        for record in records {
            let (id, author, seq) = (record.id(), record.author(), record.sequence());
            if seen.contains(&id) {
                outcomes.push(Ingested::Duplicate { id });
                continue;
            }
            let held = writer.held.get(&author);
            let mut conflicting =
                if held.is_some_and(|h| h.contains(seq)) { self.ids_at(&author, seq)? } else { Vec::new() };
            if conflicting.contains(&id) {
                outcomes.push(Ingested::Duplicate { id });
                continue;
            }
            conflicting.extend(pending.get(&(author, seq)).into_iter().flatten().copied());
            let outcome = if conflicting.is_empty() {
                let held_below = held.and_then(|h| h.highest_below(seq));
                let pending_below = pending.range((author, 0)..(author, seq)).next_back().map(|((_, s), _)| *s);
                let highest = held_below.max(pending_below).unwrap_or(0);
                let gap = (highest + 1 < seq).then_some(Gap { author, from: highest + 1, to: seq - 1 });
                Ingested::Stored { id, gap }
            } else {
                Ingested::Equivocation { id, conflicting: conflicting.clone() }
            };
            outcomes.push(outcome);
            seen.insert(id);
            pending.entry((author, seq)).or_default().push(id);
            plan.push((record, conflicting));
        }
        if plan.is_empty() {
            return Ok(outcomes);
        }

        let purges = self.plan_purges(&plan.iter().map(|(r, _)| r).collect::<Vec<_>>())?;
        for outcome in &mut outcomes {
            if let Ingested::Stored { id, .. } = outcome
                && purges.empty.contains(id)
            {
                *outcome = Ingested::Purged { id: *id };
            }
        }
        let count = self.count.load(Ordering::SeqCst) + plan.len() as u64;
        let bytes: Vec<&[u8]> =
            plan.iter().map(|(r, _)| if purges.empty.contains(&r.id()) { &[][..] } else { r.bytes() }).collect();
        let mut block_values: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut locations: Vec<(RecordId, u64)> = Vec::with_capacity(plan.len());
        let mut chain_entries: BTreeMap<(MemberKey, u64), Vec<Link>> = BTreeMap::new();
        let mut at = 0;
        let parts = blocks::split(&bytes);
        let last_part = parts.len() - 1;
        for (n, part) in parts.into_iter().enumerate() {
            let block = writer.next_block + n as u64;
            // Every block carries the count as of the end of its batch; the last one is read at open.
            let written = if n == last_part { count } else { count - (plan.len() - at - part.len()) as u64 };
            block_values.push((block, blocks::encode(written, part)));
            for index in 0..part.len() {
                let (record, _) = &plan[at + index];
                let arrival = block << blocks::INDEX_BITS | index as u64;
                locations.push((record.id(), arrival));
                // Keyed by the batch's first block: one entry per author and batch.
                chain_entries.entry((record.author(), writer.next_block)).or_default().push(Link {
                    sequence: record.sequence(),
                    id: record.id(),
                    arrival,
                });
            }
            at += part.len();
        }

        let trees = (
            &self.blocks,
            &self.chains,
            &self.equivocations,
            &self.vouches,
            &self.revocations,
            &self.bindings,
            &self.purged,
            &self.purge_wanted,
            &self.anonymity_keys,
        );
        trees.transaction(
            |(blocks_t, chains_t, equivocations, vouches, revocations, bindings, purged, wanted, anon)| {
                for (block, value) in block_values.iter().map(|(b, v)| (b, v)).chain(&purges.rewrites) {
                    blocks_t.insert(&block.to_be_bytes()[..], &value[..])?;
                }
                if !purges.is_empty() {
                    for (target, withdrawal) in &purges.purged {
                        purged.insert(target.as_bytes(), purge::encode_purged(withdrawal))?;
                    }
                    for (key, by) in &purges.wanted {
                        wanted.insert(&key[..], purge::encode_wanted(by))?;
                    }
                    for key in &purges.settled {
                        wanted.remove(&key[..])?;
                    }
                }
                for ((author, block), entries) in &chain_entries {
                    let mut key = author.as_bytes().to_vec();
                    key.extend_from_slice(&block.to_be_bytes());
                    chains_t.insert(key, chains::encode_entries(entries))?;
                }
                for (record, conflicting) in &plan {
                    let (id, env) = (record.id(), record.envelope());
                    for other in conflicting.iter().chain(if conflicting.is_empty() { None } else { Some(&id) }) {
                        equivocations.insert(&author_seq_id(&env.author, env.sequence, other)[..], &[][..])?;
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
                            let mut value = env.author.as_bytes().to_vec();
                            value.extend_from_slice(id.as_bytes());
                            bindings.insert(&b.node_key[..], value)?;
                        }
                        Body::AnonymityKey(k) => {
                            if anon.get(env.author.as_bytes())?.is_none() {
                                anon.insert(env.author.as_bytes(), &k.key.0[..])?;
                            }
                        }
                        Body::Summary(_) | Body::Retraction(_) | Body::Purge(_) => {}
                    }
                }
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            },
        )?;
        writer.next_block += block_values.len() as u64;
        for (record, _) in &plan {
            writer.held.entry(record.author()).or_default().insert(record.sequence());
        }
        self.index.write().unwrap_or_else(|p| p.into_inner()).extend(locations);
        self.count.store(count, Ordering::SeqCst);
        if !purges.rewrites.is_empty() {
            // sled's log still holds the old blocks: rewrite the store at the next open.
            self.meta.insert(COMPACT, &[][..])?;
        }
        if !purges.purged.is_empty() {
            let mut withdrawn = self.withdrawn.lock().unwrap_or_else(|p| p.into_inner());
            withdrawn.extend(purges.purged.iter().map(|(_, w)| *w));
        }
        Ok(outcomes)
    }

    /// Ids stored for one (author, sequence): more than one means equivocation.
    pub fn ids_at(&self, author: &MemberKey, seq: u64) -> Result<Vec<RecordId>, StoreError> {
        Ok(self.chain(author)?.into_iter().filter(|(s, _)| *s == seq).map(|(_, id)| id).collect())
    }

    /// Every gap in an author's chain, up to the highest sequence held.
    pub fn gaps(&self, author: &MemberKey) -> Result<Vec<Gap>, StoreError> {
        let mut gaps = Vec::new();
        let mut expected = 1;
        for (seq, _) in self.chain(author)? {
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

    /// The evidence of every equivocation: each author's sequence signed twice (or more), with
    /// the records signed at it, by author and sequence.
    pub fn equivocations(&self) -> Result<Vec<(MemberKey, u64, Vec<RecordId>)>, StoreError> {
        let mut out: Vec<(MemberKey, u64, Vec<RecordId>)> = Vec::new();
        for key in self.equivocations.iter().keys() {
            let key = key?;
            let (Some(seq), Some(id)) = (key.get(32..40), key.get(40..72).and_then(RecordId::from_slice)) else {
                return Err(corrupt("equivocations", "key"));
            };
            let (author, seq) = (author_of_key(&key), be_u64(seq)?);
            match out.last_mut() {
                Some((a, s, ids)) if *a == author && *s == seq => ids.push(id),
                _ => out.push((author, seq, vec![id])),
            }
        }
        Ok(out)
    }

    pub fn is_equivocator(&self, author: &MemberKey) -> Result<bool, StoreError> {
        Ok(self.equivocations.scan_prefix(author.as_bytes()).next().transpose()?.is_some())
    }

    /// The (sequence, id) chain of one author, ascending (equivocating pairs side by side).
    pub fn chain(&self, author: &MemberKey) -> Result<Vec<(u64, RecordId)>, StoreError> {
        let mut out = Vec::new();
        for value in self.chains.scan_prefix(author.as_bytes()).values() {
            let value = value?;
            let links = chains::decode_entries(&value).ok_or_else(|| corrupt("chains", "entry"))?;
            out.extend(links.map(|l| (l.sequence, l.id)));
        }
        out.sort();
        Ok(out)
    }

    /// Where a held record stands in this node's arrival log.
    pub fn arrival_of(&self, id: &RecordId) -> Option<u64> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).get(id).copied()
    }

    pub fn record_bytes(&self, id: &RecordId) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(arrival) = self.arrival_of(id) else { return Ok(None) };
        let index_mask = (1u64 << blocks::INDEX_BITS) - 1;
        let block_no = arrival >> blocks::INDEX_BITS;
        let block = self.blocks.get(block_no.to_be_bytes())?.ok_or_else(|| corrupt("blocks", "missing block"))?;
        let bytes =
            blocks::record(&block, (arrival & index_mask) as usize).ok_or_else(|| corrupt("blocks", "record"))?;
        // An empty slot is a purged record: held as its id only.
        Ok((!bytes.is_empty()).then(|| bytes.to_vec()))
    }

    pub fn contains(&self, id: &RecordId) -> Result<bool, StoreError> {
        Ok(self.arrival_of(id).is_some())
    }

    pub fn record_count(&self) -> usize {
        self.count.load(Ordering::SeqCst) as usize
    }

    /// Records in arrival order, after arrival number `after`, at most `limit`. Purged records
    /// are skipped.
    pub fn records_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<StoredRecord>, StoreError> {
        let index_mask = (1u64 << blocks::INDEX_BITS) - 1;
        let (start_block, skip) = match after {
            Some(a) => (a >> blocks::INDEX_BITS, (a & index_mask) as usize + 1),
            None => (0, 0),
        };
        let mut out = Vec::new();
        for entry in self.blocks.range(start_block.to_be_bytes()..) {
            let (k, v) = entry?;
            let block = be_u64(&k)?;
            let first = if block == start_block { skip } else { 0 };
            let records = blocks::records(&v).ok_or_else(|| corrupt("blocks", "block"))?;
            for (index, bytes) in records.into_iter().enumerate().skip(first) {
                if out.len() == limit {
                    return Ok(out);
                }
                if !bytes.is_empty() {
                    out.push(stored(block, index, bytes)?);
                }
            }
        }
        Ok(out)
    }

    /// Up to `limit` records that arrived before `before` (all, if `None`), newest first.
    pub fn records_before(&self, before: Option<u64>, limit: usize) -> Result<Vec<StoredRecord>, StoreError> {
        let index_mask = (1u64 << blocks::INDEX_BITS) - 1;
        let end_block = before.map_or(u64::MAX, |b| b >> blocks::INDEX_BITS);
        let mut out = Vec::new();
        for entry in self.blocks.range(..=end_block.to_be_bytes()).rev() {
            let (k, v) = entry?;
            let block = be_u64(&k)?;
            let records = blocks::records(&v).ok_or_else(|| corrupt("blocks", "block"))?;
            let below = match before {
                Some(b) if block == end_block => (b & index_mask) as usize,
                _ => records.len(),
            };
            for (index, bytes) in records.into_iter().enumerate().take(below).rev() {
                if out.len() == limit {
                    return Ok(out);
                }
                if !bytes.is_empty() {
                    out.push(stored(block, index, bytes)?);
                }
            }
        }
        Ok(out)
    }

    /// Every record id held, in no particular order, for digests and reconciliation.
    pub fn record_ids(&self) -> Vec<RecordId> {
        self.index.read().unwrap_or_else(|p| p.into_inner()).keys().copied().collect()
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

    /// Every revoked key.
    pub fn revoked(&self) -> Result<std::collections::BTreeSet<MemberKey>, StoreError> {
        self.revocations
            .iter()
            .keys()
            .map(|k| MemberKey::from_slice(&k?).ok_or_else(|| corrupt("revocations", "key")))
            .collect()
    }

    /// The member that declared node key `node_key`, and the id of its binding record.
    pub fn binding(&self, node_key: &[u8; 32]) -> Result<Option<(MemberKey, RecordId)>, StoreError> {
        Ok(self
            .bindings
            .get(node_key)?
            .and_then(|v| Some((MemberKey::from_slice(v.get(..32)?)?, RecordId::from_slice(v.get(32..64)?)?))))
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
        let mut writer = self.lock_writer();
        let author = signed::member_key(key);
        let last = self.own_head(&author)?;
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
        self.write_locked(&mut writer, vec![record.clone()])?;
        if let Some(file) = self.head_file.get() {
            file.write(own_head::OwnHead { signed: envelope.sequence, confirmed: true })?;
        }
        if let Some(case_id) = case {
            let mut key = case_id.to_be_bytes().to_vec();
            key.extend_from_slice(&envelope.sequence.to_be_bytes());
            self.published.insert(key, record.id().as_bytes())?;
        }
        self.db.flush()?;
        Ok(record)
    }

    /// Keeps what this member signs in `file` too (beside the store, so it outlives a wiped or
    /// rolled-back store) and refuses to sign while the store holds less than that.
    pub fn keep_own_head_in(&self, file: own_head::HeadFile) {
        let _ = self.head_file.set(file);
    }

    /// The last link of this member's own chain, if it may sign after it: the chain must be
    /// whole (no sequence missing) and reach what the head file says was signed.
    pub fn own_head(&self, author: &MemberKey) -> Result<Option<(u64, RecordId)>, StoreError> {
        let mut chain = self.chain(author)?;
        let last = chain.last().copied();
        let head = last.map_or(0, |(s, _)| s);
        // Distinct sequences: an old equivocation holds two records at one.
        chain.dedup_by_key(|(s, _)| *s);
        let mut held = chain.len() as u64;
        if held < head {
            held += self.own_purged_missing_from(&chain)?;
        }
        if held != head {
            return Err(StoreError::OwnChainIncomplete { held, head });
        }
        if let Some(file) = self.head_file.get()
            && let Some(signed) = file.read()?
        {
            if !signed.confirmed {
                return Err(StoreError::OwnChainUnconfirmed);
            }
            if head < signed.signed {
                return Err(StoreError::OwnChainBehind {
                    held: head,
                    signed: signed.signed,
                    file: file.path().display().to_string(),
                });
            }
        }
        Ok(last)
    }

    /// Own summaries that were purged and whose chain entries a rebuild from the block log could
    /// not bring back (their bytes are gone): the private `published` index still names their
    /// sequences, and the purges that took them are held. How many are missing from `chain`.
    fn own_purged_missing_from(&self, chain: &[(u64, RecordId)]) -> Result<u64, StoreError> {
        let held: std::collections::HashSet<u64> = chain.iter().map(|(s, _)| *s).collect();
        let mut missing = std::collections::HashSet::new();
        for entry in self.published.iter() {
            let (key, value) = entry?;
            let Some(sequence) = key.get(8..16).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes) else {
                return Err(corrupt("published", "key"));
            };
            let id = RecordId::from_slice(&value).ok_or_else(|| corrupt("published", "value"))?;
            if !held.contains(&sequence) && self.purge_names(&id)? {
                missing.insert(sequence);
            }
        }
        Ok(missing.len() as u64)
    }

    /// After a finished catch-up with a member: a restored store may sign again (from the head
    /// it now holds, if whole).
    pub fn confirm_own_chain(&self, author: &MemberKey) -> Result<(), StoreError> {
        let Some(file) = self.head_file.get() else { return Ok(()) };
        let Some(head) = file.read()? else { return Ok(()) };
        if head.confirmed {
            return Ok(());
        }
        let held = self.chain(author)?.last().map_or(0, |(s, _)| *s);
        file.write(own_head::OwnHead { signed: head.signed.max(held), confirmed: true })
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
        let inserted = self.insert_case_once(case);
        self.note_write(&inserted);
        inserted
    }

    fn insert_case_once(&self, case: &PrivateCase) -> Result<u64, StoreError> {
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

    /// The raw database, for backup and restore.
    pub(crate) fn db(&self) -> &sled::Db {
        &self.db
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}

/// The id index and every author's held sequences, from the `chains` tree.
type Loaded = (HashMap<RecordId, u64>, HashMap<MemberKey, SeqSet>);

fn load_chains(chains: &sled::Tree) -> Result<Loaded, StoreError> {
    let mut index = HashMap::new();
    let mut held: HashMap<MemberKey, SeqSet> = HashMap::new();
    for entry in chains.iter() {
        let (key, value) = entry?;
        let author = key.get(..32).and_then(MemberKey::from_slice).ok_or_else(|| corrupt("chains", "key"))?;
        let set = held.entry(author).or_default();
        for link in chains::decode_entries(&value).ok_or_else(|| corrupt("chains", "entry"))? {
            index.insert(link.id, link.arrival);
            set.insert(link.sequence);
        }
    }
    Ok((index, held))
}

/// In `meta` while the log may still hold bytes a purge deleted.
pub(super) const COMPACT: &str = "compact";

/// Rewrites the store in `dir` with only its live entries, so the bytes of purged records leave
/// the disk (sled's log keeps superseded pages until it happens to reuse their segment). The store
/// must not be open. [`Store::open`] does this by itself after a purge deleted stored bytes.
pub fn compact(dir: &Path) -> Result<(), StoreError> {
    let (fresh, retired) = (dir.with_extension("compacting"), dir.with_extension("retired"));
    for leftover in [&fresh, &retired] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)?;
        }
    }
    {
        let old = open_db(dir)?;
        let new = open_db(&fresh)?;
        new.import(old.export());
        new.open_tree("meta")?.remove(COMPACT)?;
        new.flush()?;
    }
    std::fs::rename(dir, &retired)?;
    std::fs::rename(&fresh, dir)?;
    std::fs::remove_dir_all(&retired)?;
    Ok(())
}

/// Opens the sled database, waiting a little for a lock that a just-closed handle in this process
/// still holds (sled 0.34 releases it from a background thread after the handle is dropped).
pub(crate) fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    drop_unfinished_snapshots(dir)?;
    let config = || sled::Config::new().path(dir).cache_capacity(256 * 1024 * 1024).mode(sled::Mode::HighThroughput);
    let mut wait = std::time::Duration::from_millis(5);
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        match config().open() {
            Err(e) if is_lock_error(&e) && std::time::Instant::now() < give_up => {
                std::thread::sleep(wait);
                wait = (wait * 2).min(std::time::Duration::from_millis(200));
            }
            other => return Ok(other?),
        }
    }
}

/// Removes the snapshots sled began and never finished (`snap.<lsn>.generating`, renamed to
/// `snap.<lsn>` once whole and synced): sled reads the newest `snap.*` file, so one left empty
/// by a failed open on a full disk made the store refuse to open for good. sled then reads the
/// last whole snapshot and replays its log from there. Only while no process holds the store:
/// a running one may be writing its snapshot.
fn drop_unfinished_snapshots(dir: &Path) -> Result<(), StoreError> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    let unfinished: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("snap.") && n.ends_with(".generating"))
        })
        .collect();
    if unfinished.is_empty() {
        return Ok(());
    }
    let Some(_lock) = lock_unused(dir) else { return Ok(()) };
    for path in unfinished {
        std::fs::remove_file(&path)?;
        tracing::warn!(file = %path.display(), "removed a snapshot the store never finished (left by a failed open)");
    }
    Ok(())
}

/// Whether another process has the store in `dir` open (at once, where opening it waits a
/// moment for the lock to go).
pub fn in_use(dir: &Path) -> bool {
    dir.join("db").exists() && lock_unused(dir).is_none()
}

/// sled locks its `db` file with flock: the lock taken here, held while the returned file is
/// open, says no one else has the store open. `None` if someone has, or there is no store.
fn lock_unused(dir: &Path) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    let db_file = std::fs::OpenOptions::new().read(true).write(true).open(dir.join("db")).ok()?;
    // SAFETY: flock on a descriptor we own; released when the file closes.
    (unsafe { libc::flock(db_file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0).then_some(db_file)
}

/// Whether opening failed because another handle (or process) holds the database.
pub fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

/// A record of the arrival log, decoded, at slot `index` of block `block`.
fn stored(block: u64, index: usize, bytes: &[u8]) -> Result<StoredRecord, StoreError> {
    let record = open_stored_any(bytes).map_err(|e| corrupt("blocks", &e.to_string()))?;
    let arrival = block << blocks::INDEX_BITS | index as u64;
    Ok(StoredRecord { id: RecordId::of(bytes), arrival, bytes: bytes.to_vec(), record })
}

fn be_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(bytes.try_into().map_err(|_| corrupt("meta", "expected an 8-byte number"))?))
}

fn corrupt(tree: &'static str, detail: &str) -> StoreError {
    StoreError::Corrupt { tree, detail: detail.to_string() }
}

#[cfg(test)]
mod tests;
