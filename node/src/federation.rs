//! A node's view of its federation: the store, the manifest, the membership the store's records
//! define, and this member's key. Everything from outside (peers, imports) is admitted here:
//! verified, and stored only if its author is a current member.

use std::collections::HashSet;
use std::sync::RwLock;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use lantern_protocol::record::{Body, KeyRevocationBody, NodeBindingBody, VouchBody};
use lantern_protocol::signed;
use lantern_protocol::{Manifest, MemberKey, RecordError, VerifiedRecord};

use crate::datadir::NodeConfig;
use crate::membership::Membership;
use crate::patterns::Patterns;
use crate::patterns::live::LivePatterns;
use crate::publish::{self, PublishError};
use crate::store::{Ingested, Store, StoreError};
use lantern_protocol::vocab::{PurgeReason, RetractionReason};
use lantern_protocol::{Envelope, RecordId};

pub struct Federation {
    store: Store,
    manifest: Manifest,
    key: SigningKey,
    membership: RwLock<Membership>,
    /// Built from the store on first use, then kept up to date by every record stored.
    patterns: LivePatterns,
}

impl Federation {
    pub fn new(store: Store, manifest: Manifest, key: SigningKey) -> Result<Self, StoreError> {
        let membership = Membership::from_store(&manifest, &store)?;
        Ok(Self { store, manifest, key, membership: RwLock::new(membership), patterns: LivePatterns::default() })
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
        let withdrawn: Vec<(RecordId, Envelope)> =
            self.store.take_withdrawn().iter().map(|w| crate::patterns::as_retraction(w, federation)).collect();
        if !withdrawn.is_empty() {
            self.observe(withdrawn.iter().map(|(id, env)| (*id, env)));
        }
    }

    /// Counts stored records in the pattern aggregates.
    fn observe<'a>(&self, stored: impl IntoIterator<Item = (RecordId, &'a Envelope)>) {
        self.patterns.observe(stored);
    }

    /// Verifies records from outside and stores those by current members; one result per input.
    pub fn admit<B: AsRef<[u8]> + Sync>(
        &self,
        records: &[B],
    ) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        let members = self.membership.read().unwrap_or_else(|p| p.into_inner()).clone();
        // What the pattern engine and membership need of the admitted records, taken from the
        // verified records (decoding them again would cost more than the copy).
        let mut counted: Vec<(RecordId, Envelope)> = Vec::new();
        let mut membership_records: Vec<RecordId> = Vec::new();
        let outcomes = self.store.ingest_batch_admitting(records, |r| {
            if !members.is_member(&r.author()) {
                return Err(RecordError::NotMember(r.author().to_hex()));
            }
            match r.envelope().body {
                Body::Summary(_) | Body::Retraction(_) => counted.push((r.id(), r.envelope().clone())),
                Body::Vouch(_) | Body::VouchWithdrawal(_) | Body::KeyRevocation(_) => membership_records.push(r.id()),
                Body::NodeBinding(_) | Body::Purge(_) => {}
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

    /// Publishes (or amends) private case `case_id`; see [`publish::publish`].
    pub fn publish(
        &self,
        config: &NodeConfig,
        case_id: u64,
        shape: publish::Shape,
    ) -> Result<VerifiedRecord, PublishError> {
        let profile = self.profile_to_publish(config)?.profile;
        let record = publish::publish(&self.store, &self.key, config, case_id, crate::this_month(), shape, profile)?;
        self.observe([(record.id(), record.envelope())]);
        Ok(record)
    }

    /// The member's profile at the finest level k other members share (docs/patterns.md).
    pub fn profile_to_publish(
        &self,
        config: &NodeConfig,
    ) -> Result<crate::patterns::profile::ProfileChoice, StoreError> {
        self.with_patterns(|p| p.generalise(config.profile, Some(self.member_key())))
    }

    /// The published summaries most like private case `case_id` (which stays on this node).
    pub fn similar_to(&self, case_id: u64, limit: usize) -> Result<crate::patterns::similar::Similar, PublishError> {
        let case = self.store.case(case_id)?;
        let summary = crate::derive::summary(&case, Default::default(), crate::this_month(), String::new())
            .map_err(|source| PublishError::Case { id: case_id, source })?;
        Ok(self.with_patterns(|p| p.similar(&summary, Some(self.member_key()), limit))?)
    }

    /// Retracts every version of a published case.
    pub fn retract(&self, case_id: u64, reason: RetractionReason) -> Result<VerifiedRecord, PublishError> {
        let record = publish::retract(&self.store, &self.key, case_id, crate::this_month(), reason)?;
        self.observe([(record.id(), record.envelope())]);
        Ok(record)
    }

    /// Purges every published version of a case: signs a purge naming them, deletes their bytes
    /// here at once and withdraws the case from every figure; other nodes do the same when the
    /// purge reaches them.
    pub fn purge(&self, case_id: u64, reason: PurgeReason) -> Result<VerifiedRecord, PublishError> {
        let record = publish::purge(&self.store, &self.key, case_id, crate::this_month(), reason)?;
        self.observe_withdrawals();
        Ok(record)
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

    /// The record binding this node's transport key to this member, created on first use.
    pub fn node_binding(&self, node_key: [u8; 32]) -> Result<Vec<u8>, StoreError> {
        if let Some((member, id)) = self.store.binding(&node_key)?
            && member == self.member_key()
            && let Some(bytes) = self.store.record_bytes(&id)?
        {
            return Ok(bytes);
        }
        Ok(self.append(Body::NodeBinding(NodeBindingBody { node_key }))?.bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use lantern_protocol::{Policy, signed};

    use super::*;

    #[test]
    fn node_binding_is_created_once_and_survives_a_restart() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let manifest =
            Manifest::new("t", "2026-01".parse().unwrap(), vec![signed::member_key(&key)], Policy::default());
        let dir = tempfile::tempdir().unwrap();
        let open =
            || Federation::new(Store::open(dir.path(), &manifest).unwrap(), manifest.clone(), key.clone()).unwrap();
        let first = open().node_binding([9; 32]).unwrap();
        let fed = open();
        assert_eq!(fed.node_binding([9; 32]).unwrap(), first);
        assert_eq!(fed.store().record_count(), 1);
    }
}
