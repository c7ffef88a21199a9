//! A node's view of its federation: the store, the manifest, the membership the store's records
//! define, and this member's key. Everything from outside (peers, imports) is admitted here:
//! verified, and stored only if its author is a current member.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use lantern_protocol::anon::{AnonymityKey, AnonymitySecret, Ring};
use lantern_protocol::anonymous::{self, AnonBody, Format, Opened, format_of};
use lantern_protocol::record::AnonymityKeyBody;

use ed25519_dalek::SigningKey;
use lantern_protocol::record::{Body, KeyRevocationBody, VouchBody};
use lantern_protocol::signed;
use lantern_protocol::{Manifest, MemberKey, RecordError, VerifiedRecord};

use crate::datadir::NodeConfig;
use crate::membership::Membership;
use crate::patterns::Patterns;
use crate::patterns::live::LivePatterns;
use crate::publish::{self, Made, PublishError};
use crate::store::{Ingested, Store, StoreError};
use lantern_protocol::RecordId;
use lantern_protocol::vocab::{PurgeReason, RetractionReason};

pub struct Federation {
    store: Store,
    manifest: Manifest,
    key: SigningKey,
    membership: RwLock<Membership>,
    /// Built from the store on first use, then kept up to date by every record stored.
    patterns: LivePatterns,
    /// This member's anonymity secret (derived from its key; never leaves the node).
    anon_secret: AnonymitySecret,
    /// Rings verified so far, by record id (a handful: one per membership the federation had).
    rings: Mutex<HashMap<RecordId, Arc<Ring>>>,
}

/// Rings kept decoded at most; more are decoded again from the store when needed.
const RING_CACHE: usize = 64;
/// Most anonymous records one tag may make in one year (cases, amendments, retractions and
/// purges together): an operator has a handful of registry cases a year; a member flooding the
/// federation under one tag is stopped here, on every node alike (a count, not a clock).
pub const MAX_RECORDS_PER_TAG: u32 = 512;

impl Federation {
    pub fn new(store: Store, manifest: Manifest, key: SigningKey) -> Result<Self, StoreError> {
        let membership = Membership::from_store(&manifest, &store)?;
        let anon_secret = AnonymitySecret::derive(&key.to_bytes());
        Ok(Self {
            store,
            manifest,
            key,
            membership: RwLock::new(membership),
            patterns: LivePatterns::default(),
            anon_secret,
            rings: Mutex::new(HashMap::new()),
        })
    }

    /// This member, for leaving its own records out of what it is shown about others.
    pub fn me(&self) -> crate::patterns::Me<'_> {
        crate::patterns::Me { member: self.member_key(), federation: self.manifest.id(), secret: &self.anon_secret }
    }

    pub fn anonymity_secret(&self) -> &AnonymitySecret {
        &self.anon_secret
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn member_key(&self) -> MemberKey {
        signed::member_key(&self.key)
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn is_member(&self, key: &MemberKey) -> bool {
        self.membership.read().unwrap_or_else(|p| p.into_inner()).is_member(key)
    }

    pub fn members(&self) -> Vec<MemberKey> {
        self.membership.read().unwrap_or_else(|p| p.into_inner()).members().copied().collect()
    }

    fn refresh_membership(&self) -> Result<(), StoreError> {
        let fresh = Membership::from_store(&self.manifest, &self.store)?;
        let members: Vec<MemberKey> = fresh.members().copied().collect();
        *self.membership.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        self.patterns.set_members(members);
        Ok(())
    }

    /// Runs `query` on the pattern aggregates, building them from the store the first time
    /// (without holding up records stored meanwhile: see [`LivePatterns`]).
    pub fn with_patterns<R>(&self, query: impl FnOnce(&Patterns) -> R) -> Result<R, StoreError> {
        let build = || {
            let started = Instant::now();
            let k = usize::from(self.manifest.policy.k_threshold);
            let built = Patterns::rebuild(&self.store, k, self.members())?;
            tracing::info!(
                cases = built.case_count(),
                ms = started.elapsed().as_millis() as u64,
                "pattern aggregates built"
            );
            Ok(built)
        };
        self.patterns.query(build, || self.members(), query)
    }

    /// Takes the cases purges withdrew out of the pattern aggregates.
    fn observe_withdrawals(&self) {
        let federation = self.manifest.id();
        let withdrawn: Vec<(RecordId, Opened)> =
            self.store.take_withdrawn().iter().map(|w| crate::patterns::as_retraction(w, federation)).collect();
        if !withdrawn.is_empty() {
            self.observe(withdrawn.iter().map(|(id, env)| (*id, env)));
        }
    }

    /// Counts stored records in the pattern aggregates.
    fn observe<'a>(&self, stored: impl IntoIterator<Item = (RecordId, &'a Opened)>) {
        self.patterns.observe(stored);
    }

    /// Verifies records from outside and stores those by current members (for anonymous records:
    /// signed over a ring of current members' keys); one result per input, in order.
    pub fn admit<B: AsRef<[u8]> + Sync>(
        &self,
        records: &[B],
    ) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        let formats: Vec<Format> = records.iter().map(|r| format_of(r.as_ref())).collect();
        if formats.iter().all(|f| matches!(f, Format::Signed | Format::Unknown(_))) {
            return self.admit_signed(records);
        }
        let mut out: Vec<Option<Result<Ingested, RecordError>>> = vec![None; records.len()];
        let pick = |f: fn(Format) -> bool| -> (Vec<usize>, Vec<&[u8]>) {
            (0..records.len()).filter(|&i| f(formats[i])).map(|i| (i, records[i].as_ref())).unzip()
        };
        // Key-signed records first (membership, anonymity-key registrations), then the rings
        // made of those keys, then the anonymous records signed over the rings.
        let (slots, signed) = pick(|f| matches!(f, Format::Signed | Format::Unknown(_)));
        for (i, o) in slots.into_iter().zip(self.admit_signed(&signed)?) {
            out[i] = Some(o);
        }
        let (slots, rings) = pick(|f| f == Format::Ring);
        for (i, o) in slots.into_iter().zip(self.admit_rings(&rings)?) {
            out[i] = Some(o);
        }
        let (slots, anon) = pick(|f| f == Format::Anonymous);
        for (i, o) in slots.into_iter().zip(self.admit_anonymous(&anon)?) {
            out[i] = Some(o);
        }
        Ok(out.into_iter().map(|o| o.expect("every record has an outcome")).collect())
    }

    /// Anonymity keys registered by current members: who a ring may hold.
    pub fn current_anonymity_keys(&self) -> Result<BTreeSet<AnonymityKey>, StoreError> {
        let registered = self.store.anonymity_keys()?;
        let members = self.membership.read().unwrap_or_else(|p| p.into_inner());
        Ok(registered.into_iter().filter(|(m, _)| members.is_member(m)).map(|(_, k)| k).collect())
    }

    /// Ring records: stored when every key is a registered member's anonymity key.
    fn admit_rings(&self, records: &[&[u8]]) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let registered: HashSet<AnonymityKey> = self.store.anonymity_keys()?.into_values().collect();
        let mut out: Vec<Option<Result<Ingested, RecordError>>> = vec![None; records.len()];
        let mut good: Vec<(usize, crate::store::loose::Loose)> = Vec::new();
        for (i, bytes) in records.iter().enumerate() {
            match anonymous::verify_ring(bytes, self.manifest.id()) {
                Ok(ring) if ring.ring().keys().iter().all(|k| registered.contains(k)) => {
                    good.push((i, crate::store::loose::Loose::Ring(ring)))
                }
                Ok(_) => out[i] = Some(Err(RecordError::NotMember("a key of the ring".into()))),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        let (slots, good): (Vec<usize>, Vec<_>) = good.into_iter().unzip();
        for (i, o) in slots.into_iter().zip(self.store.store_loose(good)?) {
            out[i] = Some(Ok(o));
        }
        Ok(out.into_iter().map(|o| o.expect("every ring has an outcome")).collect())
    }

    /// Whether every key of `ring` is a current member's registered anonymity key.
    pub fn ring_is_current(&self, ring: &Ring) -> Result<bool, StoreError> {
        let current = self.current_anonymity_keys()?;
        Ok(ring.keys().iter().all(|k| current.contains(k)))
    }

    /// The ring `id`, from the cache or the store.
    pub fn ring_by_id(&self, id: &RecordId) -> Result<Option<Arc<Ring>>, StoreError> {
        self.ring(id)
    }

    /// The ring `id`, from the cache or the store.
    fn ring(&self, id: &RecordId) -> Result<Option<Arc<Ring>>, StoreError> {
        if let Some(r) = self.rings.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Ok(Some(r.clone()));
        }
        let Some(ring) = self.store.ring(id)? else { return Ok(None) };
        let mut cache = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= RING_CACHE {
            cache.clear();
        }
        cache.insert(*id, ring.clone());
        Ok(Some(ring))
    }

    /// Anonymous records: the ring must be held and hold only current members' keys (so a member
    /// who left can no longer sign), the proof must verify, and an amendment must carry the tag
    /// of the version it supersedes (only its author can amend it).
    fn admit_anonymous(&self, records: &[&[u8]]) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let current = self.current_anonymity_keys()?;
        // Per ring named: held and of current members only (Some(true)), held with a key of a
        // member who left (Some(false)), or not held yet (None: the record waits for a later sync).
        let mut rings: HashMap<RecordId, Option<(Arc<Ring>, bool)>> = HashMap::new();
        let mut out: Vec<Option<Result<Ingested, RecordError>>> = vec![None; records.len()];
        let mut to_verify: Vec<usize> = Vec::new();
        for (i, bytes) in records.iter().enumerate() {
            let Ok((env, _)) = anonymous::open_stored_anonymous(bytes) else {
                to_verify.push(i); // malformed: verification names the fault
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(slot) = rings.entry(env.ring) {
                let ring = self.ring(&env.ring)?;
                slot.insert(ring.map(|r| {
                    let current_only = r.keys().iter().all(|k| current.contains(k));
                    (r, current_only)
                }));
            }
            match &rings[&env.ring] {
                Some((_, false)) => out[i] = Some(Err(RecordError::NotMember("a key of its ring".into()))),
                _ => to_verify.push(i),
            }
        }
        let bytes: Vec<&[u8]> = to_verify.iter().map(|&i| records[i]).collect();
        let verified = anonymous::verify_anonymous_batch(&bytes, self.store.context(), &|id| {
            rings.get(id).cloned().flatten().map(|(r, _)| r)
        });
        let mut good = Vec::new();
        let mut counted: Vec<(RecordId, Opened)> = Vec::new();
        let mut made: HashMap<(u16, lantern_protocol::anon::LinkTag), u32> = HashMap::new();
        for (&i, v) in to_verify.iter().zip(verified) {
            let v = v.and_then(|v| self.check_own_target(&v, &good).map(|()| v)).and_then(|v| {
                let key = (v.envelope().year, v.tag());
                let held = match made.get(&key) {
                    Some(n) => *n,
                    None => self.store.tag_count(key.0, &key.1).unwrap_or(u32::MAX),
                };
                if held >= MAX_RECORDS_PER_TAG && !self.store.contains(&v.id()).unwrap_or(false) {
                    return Err(RecordError::Invalid(lantern_protocol::ValidationError::new(
                        "tag",
                        lantern_protocol::Rule::Violated("its signer made the most records one tag may make in a year"),
                    )));
                }
                made.insert(key, held + 1);
                Ok(v)
            });
            match v {
                Ok(v) => {
                    counted.push((v.id(), Opened::Anonymous(v.envelope().clone(), v.tag())));
                    good.push((i, crate::store::loose::Loose::Anonymous(v)));
                }
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        let (slots, good): (Vec<usize>, Vec<_>) = good.into_iter().unzip();
        let outcomes = self.store.store_loose(good)?;
        let stored: HashSet<RecordId> =
            outcomes.iter().filter(|o| matches!(o, Ingested::Stored { .. })).map(Ingested::id).collect();
        for (i, o) in slots.into_iter().zip(outcomes) {
            out[i] = Some(Ok(o));
        }
        counted.retain(|(id, _)| stored.contains(id));
        self.patterns.observe(counted.iter().map(|(id, r)| (*id, r)));
        self.observe_withdrawals();
        Ok(out.into_iter().map(|o| o.expect("every record has an outcome")).collect())
    }

    /// An anonymous amendment or purge names records of its own tag only.
    fn check_own_target(
        &self,
        record: &anonymous::VerifiedAnonymous,
        batch: &[(usize, crate::store::loose::Loose)],
    ) -> Result<(), RecordError> {
        let targets: Vec<RecordId> = match &record.envelope().body {
            AnonBody::Summary(b) => b.supersedes.into_iter().collect(),
            AnonBody::Purge(p) => p.targets.clone(),
            AnonBody::Retraction(_) => return Ok(()),
        };
        for target in targets {
            let in_batch = batch.iter().find_map(|(_, l)| match l {
                crate::store::loose::Loose::Anonymous(a) if a.id() == target => Some((a.envelope().year, a.tag())),
                _ => None,
            });
            let held = match in_batch {
                Some(t) => Some(t),
                None => self.store.anonymous(&target).ok().flatten().map(|(e, t)| (e.year, t)),
            };
            match held {
                Some((year, tag)) if year == record.envelope().year && tag == record.tag() => {}
                Some(_) => {
                    return Err(RecordError::Invalid(lantern_protocol::ValidationError::new(
                        "body",
                        lantern_protocol::Rule::Violated("names a record its signer did not make"),
                    )));
                }
                // Not held yet: the figures count an amendment only over the version it names,
                // under its own tag, so an unknown target cannot take anyone's case.
                None => {}
            }
        }
        Ok(())
    }

    /// Verifies key-signed records and stores those by current members.
    fn admit_signed<B: AsRef<[u8]> + Sync>(
        &self,
        records: &[B],
    ) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        let members = self.membership.read().unwrap_or_else(|p| p.into_inner()).clone();
        // What the pattern engine and membership need of the admitted records, taken from the
        // verified records (decoding them again would cost more than the copy).
        let mut counted: Vec<(RecordId, Opened)> = Vec::new();
        let mut membership_records: Vec<RecordId> = Vec::new();
        let outcomes = self.store.ingest_batch_admitting(records, |r| {
            if !members.is_member(&r.author()) {
                return Err(RecordError::NotMember(r.author().to_hex()));
            }
            match r.envelope().body {
                Body::Summary(_) | Body::Retraction(_) => counted.push((r.id(), Opened::Signed(r.envelope().clone()))),
                Body::Vouch(_) | Body::VouchWithdrawal(_) | Body::KeyRevocation(_) => membership_records.push(r.id()),
                Body::NodeBinding(_) | Body::Purge(_) | Body::AnonymityKey(_) => {}
            }
            Ok(())
        })?;
        let stored: HashSet<RecordId> = outcomes
            .iter()
            .filter_map(|o| match o {
                Ok(Ingested::Stored { id, .. } | Ingested::Equivocation { id, .. }) => Some(*id),
                _ => None,
            })
            .collect();
        let changes_membership = membership_records.iter().any(|id| stored.contains(id));
        counted.retain(|(id, _)| stored.contains(id));
        let stored = counted;
        self.observe(stored.iter().map(|(id, env)| (*id, env)));
        self.observe_withdrawals();
        if changes_membership {
            self.refresh_membership()?;
        }
        Ok(outcomes)
    }

    /// Signs and stores `body` as this member's next record.
    pub fn append(&self, body: Body) -> Result<VerifiedRecord, StoreError> {
        let changes = matches!(body, Body::Vouch(_) | Body::VouchWithdrawal(_) | Body::KeyRevocation(_));
        let record = self.store.append_own(&self.key, crate::this_month(), body, None)?;
        self.observe_withdrawals();
        if changes {
            self.refresh_membership()?;
        }
        Ok(record)
    }

    /// Registers this member's anonymity key, unless it is registered already (or this node's
    /// member is not a member): the record to gossip, if one was made.
    pub fn ensure_anonymity_key(&self) -> Result<Option<VerifiedRecord>, StoreError> {
        let me = self.member_key();
        if !self.is_member(&me) || self.store.anonymity_keys()?.contains_key(&me) {
            return Ok(None);
        }
        let body = AnonymityKeyBody::new(&self.anon_secret, self.manifest.id(), me);
        Ok(Some(self.append(Body::AnonymityKey(body))?))
    }

    /// What this member signs anonymous records with now: the ring of every current member's
    /// registered anonymity key, if it holds this member's and at least k keys (a smaller ring
    /// would name a group smaller than any figure may show). `None`: sign with the member key.
    /// Registers this member's key first when that is what makes the ring reach k (`lantern
    /// run` registers it at start anyway; a federation below k gets no record from this).
    pub fn signer(&self) -> Result<Option<publish::Signer<'_>>, StoreError> {
        let keys = self.current_anonymity_keys()?;
        let k = usize::from(self.manifest.policy.k_threshold).max(2);
        if !keys.contains(&self.anon_secret.public()) && keys.len() + 1 >= k {
            self.ensure_anonymity_key()?;
        }
        self.registered_signer()
    }

    /// [`Self::signer`], without registering this member's key if it is not yet: for handshakes,
    /// which must write nothing.
    pub fn registered_signer(&self) -> Result<Option<publish::Signer<'_>>, StoreError> {
        let keys = self.current_anonymity_keys()?;
        let k = usize::from(self.manifest.policy.k_threshold).max(2);
        if keys.len() < k || !keys.contains(&self.anon_secret.public()) {
            return Ok(None);
        }
        let ring = anonymous::ring_record(self.manifest.id(), keys.into_iter().collect())?;
        let held = self.store.contains(&ring.id())?;
        Ok(Some(publish::Signer { secret: &self.anon_secret, ring, held }))
    }

    /// How publishing private case `case_id` would be signed (nothing is written).
    pub fn authorship(&self, case_id: u64) -> Result<publish::Authorship, StoreError> {
        let mut keys = self.current_anonymity_keys()?;
        if self.is_member(&self.member_key()) {
            keys.insert(self.anon_secret.public()); // registered at the latest on publishing
        }
        let k = usize::from(self.manifest.policy.k_threshold).max(2);
        let ring = keys.len();
        let (anonymous, why) = match publish::published_anonymously(&self.store, case_id)? {
            Some(false) => (false, "published before with the member key: its versions keep that authorship".into()),
            Some(true) if ring >= k => (true, format!("anonymous, like its earlier versions: one of {ring} members")),
            Some(true) => (
                true,
                format!(
                    "anonymous, like its earlier versions, but the ring holds {ring} members, fewer than {k}: publishing waits for more"
                ),
            ),
            None if ring >= k => {
                (true, format!("anonymous: the record proves it comes from one of {ring} current members, not which"))
            }
            None => (
                false,
                format!(
                    "signed with the member key: only {ring} members have registered anonymity keys, and a ring below {k} would name a small group"
                ),
            ),
        };
        Ok(publish::Authorship { anonymous, ring, k, why })
    }

    fn signers(&self) -> Result<publish::Signers<'_>, StoreError> {
        Ok(publish::Signers { key: &self.key, anonymous: self.signer()? })
    }

    /// Publishes (or amends) private case `case_id`; see [`publish::publish`]. New cases are
    /// signed anonymously whenever [`Self::signer`] allows, unless `shape.attributed`.
    pub fn publish(&self, config: &NodeConfig, case_id: u64, shape: publish::Shape) -> Result<Made, PublishError> {
        let profile = self.profile_to_publish(config)?.profile;
        let signers = self.signers()?;
        let made = publish::publish(&self.store, &signers, config, case_id, crate::this_month(), shape, profile)?;
        self.observe([(made.id(), &made.opened())]);
        Ok(made)
    }

    /// The member's profile at the finest level k other members share (docs/patterns.md).
    pub fn profile_to_publish(
        &self,
        config: &NodeConfig,
    ) -> Result<crate::patterns::profile::ProfileChoice, StoreError> {
        self.with_patterns(|p| p.generalise(config.profile, Some(&self.me())))
    }

    /// The published summaries most like private case `case_id` (which stays on this node).
    pub fn similar_to(&self, case_id: u64, limit: usize) -> Result<crate::patterns::similar::Similar, PublishError> {
        let case = self.store.case(case_id)?;
        let summary = crate::derive::summary(&case, Default::default(), crate::this_month(), String::new())
            .map_err(|source| PublishError::Case { id: case_id, source })?;
        Ok(self.with_patterns(|p| p.similar(&summary, Some(&self.me()), limit))?)
    }

    /// Retracts every version of a published case.
    pub fn retract(&self, case_id: u64, reason: RetractionReason) -> Result<Made, PublishError> {
        let made = publish::retract(&self.store, &self.signers()?, case_id, crate::this_month(), reason)?;
        self.observe([(made.id(), &made.opened())]);
        Ok(made)
    }

    /// Purges every published version of a case: signs a purge naming them, deletes their bytes
    /// here at once and withdraws the case from every figure; other nodes do the same when the
    /// purge reaches them.
    pub fn purge(&self, case_id: u64, reason: PurgeReason) -> Result<Made, PublishError> {
        let made = publish::purge(&self.store, &self.signers()?, case_id, crate::this_month(), reason)?;
        self.observe_withdrawals();
        Ok(made)
    }

    pub fn vouch(&self, member: MemberKey, standing: bool) -> Result<VerifiedRecord, StoreError> {
        let body = VouchBody { member };
        self.append(if standing { Body::Vouch(body) } else { Body::VouchWithdrawal(body) })
    }

    /// Revokes this member's own key (a compromised or retired key), naming its successor if any.
    /// From then on no node accepts new records signed with it.
    pub fn revoke(&self, successor: Option<MemberKey>) -> Result<VerifiedRecord, StoreError> {
        self.append(Body::KeyRevocation(KeyRevocationBody { key: self.member_key(), successor }))
    }
}

#[cfg(test)]
#[path = "federation_anonymous_tests.rs"]
mod anonymous_tests;
