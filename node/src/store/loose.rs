//! Records outside any author's chain: anonymous records and the ring records they are signed
//! over. They go into the same arrival log as every record (so listing, export, sync and purge
//! see one log); the `loose` tree locates them (`id → arrival`), as `chains` entries locate
//! chained records, and is loaded into the id index at open.
//!
//! The store checks what it can alone (encoding, proofs against the rings it holds); whether a
//! ring's keys are current members' keys is the federation's rule ([`crate::federation`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use lantern_protocol::anon::{AnonymityKey, Ring};
use lantern_protocol::anonymous::{
    self, AnonBody, AnonEnvelope, Format, VerifiedAnonymous, VerifiedRing, format_of, open_stored_anonymous,
};
use lantern_protocol::{MemberKey, RecordError, RecordId};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use super::purge::{self, By, PurgePlan, Withdrawal};
use super::{Ingested, Store, StoreError, blocks, corrupt};

/// A verified record that belongs to no chain.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // one per record, moved once
pub enum Loose {
    Anonymous(VerifiedAnonymous),
    Ring(VerifiedRing),
}

impl Loose {
    pub fn id(&self) -> RecordId {
        match self {
            Loose::Anonymous(r) => r.id(),
            Loose::Ring(r) => r.id(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            Loose::Anonymous(r) => r.bytes(),
            Loose::Ring(r) => r.bytes(),
        }
    }
}

fn tag_key(year: u16, tag: &lantern_protocol::anon::LinkTag) -> [u8; 34] {
    let mut key = [0u8; 34];
    key[..2].copy_from_slice(&year.to_be_bytes());
    key[2..].copy_from_slice(&tag.0);
    key
}

/// Adds every loose record's location to the id index.
pub(super) fn load(tree: &sled::Tree, index: &mut HashMap<RecordId, u64>) -> Result<(), StoreError> {
    for entry in tree.iter() {
        let (k, v) = entry?;
        let id = RecordId::from_slice(&k).ok_or_else(|| corrupt("loose", "key"))?;
        let arrival = u64::from_be_bytes(v.as_ref().try_into().map_err(|_| corrupt("loose", "value"))?);
        index.insert(id, arrival);
    }
    Ok(())
}

impl Store {
    /// Stores verified loose records (duplicates are reported, not stored again); flushes before
    /// returning.
    pub fn store_loose(&self, records: Vec<Loose>) -> Result<Vec<Ingested>, StoreError> {
        let mut writer = self.lock_writer();
        let mut outcomes = Vec::with_capacity(records.len());
        let mut plan: Vec<Loose> = Vec::new();
        {
            let index = self.index.read().unwrap_or_else(|p| p.into_inner());
            for r in records {
                let id = r.id();
                if index.contains_key(&id) || plan.iter().any(|p| p.id() == id) {
                    outcomes.push(Ingested::Duplicate { id });
                } else {
                    outcomes.push(Ingested::Stored { id, gap: None });
                    plan.push(r);
                }
            }
        }
        if plan.is_empty() {
            return Ok(outcomes);
        }
        let purges = self.plan_anonymous_purges(&plan)?;
        for outcome in &mut outcomes {
            if let Ingested::Stored { id, .. } = outcome
                && purges.empty.contains(id)
            {
                *outcome = Ingested::Purged { id: *id };
            }
        }
        let count = self.count.load(Ordering::SeqCst) + plan.len() as u64;
        let bytes: Vec<&[u8]> =
            plan.iter().map(|r| if purges.empty.contains(&r.id()) { &[][..] } else { r.bytes() }).collect();
        let mut block_values = Vec::new();
        let mut locations = Vec::with_capacity(plan.len());
        let (mut at, parts) = (0, blocks::split(&bytes));
        let last_part = parts.len() - 1;
        for (n, part) in parts.into_iter().enumerate() {
            let block = writer.next_block + n as u64;
            let written = if n == last_part { count } else { count - (plan.len() - at - part.len()) as u64 };
            block_values.push((block, blocks::encode(written, part)));
            for index in 0..part.len() {
                locations.push((plan[at + index].id(), block << blocks::INDEX_BITS | index as u64));
            }
            at += part.len();
        }
        let mut tags: HashMap<[u8; 34], u32> = HashMap::new();
        for r in &plan {
            if let Loose::Anonymous(a) = r {
                *tags.entry(tag_key(a.envelope().year, &a.tag())).or_default() += 1;
            }
        }
        let trees = (&self.blocks, &self.loose, &self.purged, &self.purge_wanted, &self.tag_counts);
        let result = trees.transaction(|(blocks_t, loose_t, purged, wanted, counts)| {
            for (key, n) in &tags {
                let held = counts.get(key)?.map_or(0, |v| u32::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 4])));
                counts.insert(&key[..], &(held + n).to_be_bytes()[..])?;
            }
            for (block, value) in block_values.iter().map(|(b, v)| (b, v)).chain(&purges.rewrites) {
                blocks_t.insert(&block.to_be_bytes()[..], &value[..])?;
            }
            for (id, arrival) in &locations {
                loose_t.insert(id.as_bytes(), &arrival.to_be_bytes()[..])?;
            }
            for (target, withdrawal) in &purges.purged {
                purged.insert(target.as_bytes(), purge::encode_purged(withdrawal))?;
            }
            for (key, by) in &purges.wanted {
                wanted.insert(&key[..], purge::encode_wanted(by))?;
            }
            for key in &purges.settled {
                wanted.remove(&key[..])?;
            }
            Ok::<(), ConflictableTransactionError<StoreError>>(())
        });
        let result = result.map_err(StoreError::from).and_then(|()| Ok(self.db.flush()?));
        self.note_write(&result);
        result?;
        writer.next_block += block_values.len() as u64;
        self.index.write().unwrap_or_else(|p| p.into_inner()).extend(locations);
        self.count.store(count, Ordering::SeqCst);
        if !purges.rewrites.is_empty() {
            // sled's log still holds the old blocks: rewrite the store at the next open.
            self.meta.insert(super::COMPACT, &[][..])?;
        }
        if !purges.purged.is_empty() {
            self.withdrawn.lock().unwrap_or_else(|p| p.into_inner()).extend(purges.purged.iter().map(|(_, w)| *w));
        }
        Ok(outcomes)
    }

    /// What the anonymous purges in `batch`, and the claims waiting for records in it, do: a
    /// purge deletes the summaries with its own tag and year that it names (held, arriving now,
    /// or later), nothing else.
    fn plan_anonymous_purges(&self, batch: &[Loose]) -> Result<PurgePlan, StoreError> {
        let mut plan = PurgePlan::default();
        fn anonymous(l: &Loose) -> Option<&VerifiedAnonymous> {
            match l {
                Loose::Anonymous(a) => Some(a),
                Loose::Ring(_) => None,
            }
        }
        let mut claims: HashMap<RecordId, Vec<(RecordId, By)>> = HashMap::new();
        let mut fresh: HashSet<(RecordId, RecordId)> = HashSet::new();
        for a in batch.iter().filter_map(anonymous) {
            if let AnonBody::Purge(p) = &a.envelope().body {
                let by = By::Tag { year: a.envelope().year, tag: a.tag() };
                for target in &p.targets {
                    claims.entry(*target).or_default().push((a.id(), by));
                    fresh.insert((*target, a.id()));
                }
            }
        }
        let arriving: HashMap<RecordId, &VerifiedAnonymous> =
            batch.iter().filter_map(anonymous).map(|a| (a.id(), a)).collect();
        if claims.is_empty() && self.purge_wanted.is_empty() {
            return Ok(plan);
        }
        for id in arriving.keys() {
            for entry in self.purge_wanted.scan_prefix(id.as_bytes()) {
                let (key, value) = entry?;
                let Some(purge) = key.get(32..64).and_then(RecordId::from_slice) else {
                    return Err(corrupt("purge_wanted", "key"));
                };
                let by = purge::decode_wanted(&value).ok_or_else(|| corrupt("purge_wanted", "value"))?;
                if matches!(by, By::Tag { .. }) {
                    claims.entry(*id).or_default().push((purge, by));
                    plan.settled.push(key.to_vec());
                }
            }
        }
        let mut emptied: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (target, claims) in &claims {
            if self.purged.contains_key(target.as_bytes())? {
                continue;
            }
            let (envelope, tag, arrival) = match arriving.get(target) {
                Some(a) => (a.envelope().clone(), a.tag(), None),
                None => match self.anonymous(target)? {
                    Some((e, t)) => (e, t, self.arrival_of(target)),
                    None if self.contains(target)? => continue, // a key-signed record: not a tag's
                    None => {
                        for (purge, by) in claims.iter().filter(|(p, _)| fresh.contains(&(*target, *p))) {
                            plan.wanted.push((purge::wanted_key(target, purge), *by));
                        }
                        continue;
                    }
                },
            };
            let AnonBody::Summary(summary) = &envelope.body else { continue };
            let own = By::Tag { year: envelope.year, tag };
            let Some((purge, _)) = claims.iter().find(|(_, by)| *by == own) else { continue };
            plan.purged.push((*target, Withdrawal { by: own, case: summary.case, purge: *purge }));
            plan.purge(*target, arrival, &mut emptied);
        }
        self.rewrite_emptied(&mut plan, emptied)?;
        Ok(plan)
    }

    /// Links an anonymous record this member made to its private case. Anonymous records have
    /// no sequence: their `published` keys sort after every key-signed version, by arrival.
    pub fn note_published(&self, case_id: u64, id: RecordId) -> Result<(), StoreError> {
        let arrival = self.index.read().unwrap_or_else(|p| p.into_inner()).get(&id).copied();
        let arrival = arrival.ok_or_else(|| StoreError::NoSuchRecord(id.to_hex()))?;
        let mut key = case_id.to_be_bytes().to_vec();
        key.extend_from_slice(&(1u64 << 63 | arrival).to_be_bytes());
        self.published.insert(key, id.as_bytes())?;
        self.db.flush()?;
        Ok(())
    }

    /// The ring record `id`, if held (verified when it was stored; decoded again here).
    pub fn ring(&self, id: &RecordId) -> Result<Option<Arc<Ring>>, StoreError> {
        let Some(bytes) = self.record_bytes(id)? else { return Ok(None) };
        if format_of(&bytes) != Format::Ring {
            return Ok(None);
        }
        let ring =
            anonymous::verify_ring(&bytes, self.ctx.federation).map_err(|e| corrupt("blocks", &e.to_string()))?;
        Ok(Some(ring.ring().clone()))
    }

    /// The anonymous record `id`, if held, with its tag.
    pub fn anonymous(
        &self,
        id: &RecordId,
    ) -> Result<Option<(AnonEnvelope, lantern_protocol::anon::LinkTag)>, StoreError> {
        match self.record_bytes(id)? {
            Some(bytes) if format_of(&bytes) == Format::Anonymous => {
                Ok(Some(open_stored_anonymous(&bytes).map_err(|e| corrupt("blocks", &e.to_string()))?))
            }
            _ => Ok(None),
        }
    }

    /// Anonymous records held with `tag` in `year`.
    pub fn tag_count(&self, year: u16, tag: &lantern_protocol::anon::LinkTag) -> Result<u32, StoreError> {
        Ok(match self.tag_counts.get(tag_key(year, tag))? {
            Some(v) => u32::from_be_bytes(v.as_ref().try_into().map_err(|_| corrupt("tag_counts", "value"))?),
            None => 0,
        })
    }

    /// Every member's registered anonymity key.
    pub fn anonymity_keys(&self) -> Result<HashMap<MemberKey, AnonymityKey>, StoreError> {
        self.anonymity_keys
            .iter()
            .map(|e| {
                let (k, v) = e?;
                let member = MemberKey::from_slice(&k).ok_or_else(|| corrupt("anonymity_keys", "key"))?;
                let key: [u8; 32] = v.as_ref().try_into().map_err(|_| corrupt("anonymity_keys", "value"))?;
                Ok((member, AnonymityKey(key)))
            })
            .collect()
    }

    /// Verifies and stores records of any format, checking anonymous proofs against the rings
    /// this store holds (or that arrive in the same call): for imports and rebuilds of records
    /// that were verified before. Membership is not checked here.
    pub fn ingest_any<B: AsRef<[u8]> + Sync>(
        &self,
        records: &[B],
    ) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        let mut out: Vec<Option<Result<Ingested, RecordError>>> = vec![None; records.len()];
        let by_format = |f: fn(Format) -> bool| -> Vec<usize> {
            (0..records.len()).filter(|&i| f(format_of(records[i].as_ref()))).collect()
        };
        let rings = by_format(|f| f == Format::Ring);
        let signed = by_format(|f| matches!(f, Format::Signed | Format::Unknown(_)));
        let anon = by_format(|f| f == Format::Anonymous);
        let mut verified_rings = Vec::new();
        for &i in &rings {
            match anonymous::verify_ring(records[i].as_ref(), self.ctx.federation) {
                Ok(r) => verified_rings.push((i, Loose::Ring(r))),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        let (ring_slots, ring_records): (Vec<usize>, Vec<Loose>) = verified_rings.into_iter().unzip();
        for (i, o) in ring_slots.into_iter().zip(self.store_loose(ring_records)?) {
            out[i] = Some(Ok(o));
        }
        let signed_bytes: Vec<&[u8]> = signed.iter().map(|&i| records[i].as_ref()).collect();
        for (&i, o) in signed.iter().zip(self.ingest_batch(&signed_bytes)?) {
            out[i] = Some(o);
        }
        let anon_bytes: Vec<&[u8]> = anon.iter().map(|&i| records[i].as_ref()).collect();
        let held = self.held_rings(&anon_bytes)?;
        let verified = anonymous::verify_anonymous_batch(&anon_bytes, &self.ctx, &|id| held.get(id).cloned());
        let mut good = Vec::new();
        for (&i, v) in anon.iter().zip(verified) {
            match v {
                Ok(v) => good.push((i, Loose::Anonymous(v))),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        let (slots, good): (Vec<usize>, Vec<Loose>) = good.into_iter().unzip();
        for (i, o) in slots.into_iter().zip(self.store_loose(good)?) {
            out[i] = Some(Ok(o));
        }
        Ok(out.into_iter().map(|o| o.expect("every record has an outcome")).collect())
    }

    /// The rings the anonymous records in `records` name, those this store holds.
    pub fn held_rings(&self, records: &[&[u8]]) -> Result<HashMap<RecordId, Arc<Ring>>, StoreError> {
        let mut rings = HashMap::new();
        for bytes in records {
            if let Ok((env, _)) = open_stored_anonymous(bytes)
                && !rings.contains_key(&env.ring)
                && let Some(ring) = self.ring(&env.ring)?
            {
                rings.insert(env.ring, ring);
            }
        }
        Ok(rings)
    }
}
