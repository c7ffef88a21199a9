//! A node's view of its federation: the store, the manifest, the membership the store's records
//! define, and this member's key. Everything from outside (peers, imports) is admitted here:
//! verified, and stored only if its author is a current member.

use std::sync::RwLock;

use ed25519_dalek::SigningKey;
use lantern_protocol::record::{Body, KeyRevocationBody, NodeBindingBody, VouchBody};
use lantern_protocol::signed::{self, open_stored};
use lantern_protocol::{Manifest, MemberKey, RecordError, VerifiedRecord};

use crate::membership::Membership;
use crate::store::{Ingested, Store, StoreError};

pub struct Federation {
    store: Store,
    manifest: Manifest,
    key: SigningKey,
    membership: RwLock<Membership>,
}

impl Federation {
    pub fn new(store: Store, manifest: Manifest, key: SigningKey) -> Result<Self, StoreError> {
        let membership = Membership::from_store(&manifest, &store)?;
        Ok(Self { store, manifest, key, membership: RwLock::new(membership) })
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
        *self.membership.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// Verifies records from outside and stores those by current members; one result per input.
    pub fn admit<B: AsRef<[u8]> + Sync>(
        &self,
        records: &[B],
    ) -> Result<Vec<Result<Ingested, RecordError>>, StoreError> {
        let members = self.membership.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut changes_membership = false;
        let outcomes = self.store.ingest_batch_admitting(records, |r| {
            if members.is_member(&r.author()) { Ok(()) } else { Err(RecordError::NotMember(r.author().to_hex())) }
        })?;
        for (bytes, outcome) in records.iter().zip(&outcomes) {
            if matches!(outcome, Ok(Ingested::Stored { .. } | Ingested::Equivocation { .. }))
                && let Ok(env) = open_stored(bytes.as_ref())
            {
                changes_membership |=
                    matches!(env.body, Body::Vouch(_) | Body::VouchWithdrawal(_) | Body::KeyRevocation(_));
            }
        }
        if changes_membership {
            self.refresh_membership()?;
        }
        Ok(outcomes)
    }

    /// Signs and stores `body` as this member's next record.
    pub fn append(&self, body: Body) -> Result<VerifiedRecord, StoreError> {
        let changes = matches!(body, Body::Vouch(_) | Body::VouchWithdrawal(_) | Body::KeyRevocation(_));
        let record = self.store.append_own(&self.key, crate::this_month(), body, None)?;
        if changes {
            self.refresh_membership()?;
        }
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
