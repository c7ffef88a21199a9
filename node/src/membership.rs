//! Who is a member, computed from verified records alone, so every node holding the same records
//! agrees: the manifest's founders, then (repeatedly) every key with at least the manifest's
//! number of standing vouches from members, minus revoked keys.
//!
//! A vouch stands until its author withdraws it (the later record of the two wins). A revoked key
//! is never a member again and its vouches stop counting. Records already accepted from a key
//! that stops being a member stay stored (history is immutable) but its new records are refused,
//! and aggregates count only current members.

use std::collections::{BTreeSet, HashMap};

use lantern_protocol::{Manifest, MemberKey};

use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Membership {
    members: BTreeSet<MemberKey>,
}

impl Membership {
    /// Computes membership from `(target, voucher, standing)` vouch states and revoked keys.
    pub fn compute(
        manifest: &Manifest,
        vouches: &[(MemberKey, MemberKey, bool)],
        revoked: &BTreeSet<MemberKey>,
    ) -> Self {
        let mut members: BTreeSet<MemberKey> =
            manifest.founders.iter().filter(|k| !revoked.contains(k)).copied().collect();
        let mut standing: HashMap<MemberKey, Vec<MemberKey>> = HashMap::new();
        for (target, voucher, stands) in vouches {
            if *stands && !revoked.contains(target) {
                standing.entry(*target).or_default().push(*voucher);
            }
        }
        let needed = usize::from(manifest.policy.vouches_needed);
        // Least fixpoint: a newly admitted member's vouches may admit others.
        loop {
            let admitted: Vec<MemberKey> = standing
                .iter()
                .filter(|(target, _)| !members.contains(*target))
                .filter(|(_, vouchers)| vouchers.iter().filter(|v| members.contains(*v)).count() >= needed)
                .map(|(target, _)| *target)
                .collect();
            if admitted.is_empty() {
                break;
            }
            members.extend(admitted);
        }
        Membership { members }
    }

    /// Membership as the store's records define it.
    pub fn from_store(manifest: &Manifest, store: &Store) -> Result<Self, StoreError> {
        let revoked = store.revoked()?;
        Ok(Self::compute(manifest, &store.vouches()?, &revoked))
    }

    pub fn is_member(&self, key: &MemberKey) -> bool {
        self.members.contains(key)
    }

    pub fn members(&self) -> impl Iterator<Item = &MemberKey> {
        self.members.iter()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use lantern_protocol::{Policy, signed};

    use super::*;

    fn key(n: u8) -> MemberKey {
        signed::member_key(&ed25519_dalek::SigningKey::from_bytes(&[n; 32]))
    }

    fn manifest(needed: u16) -> Manifest {
        Manifest::new(
            "m",
            "2026-01".parse().unwrap(),
            vec![key(1), key(2), key(3)],
            Policy { vouches_needed: needed, ..Policy::default() },
        )
    }

    #[test]
    fn founders_are_members_and_vouches_admit_others_transitively() {
        let vouches =
            vec![(key(4), key(1), true), (key(4), key(2), true), (key(5), key(4), true), (key(5), key(3), true)];
        let m = Membership::compute(&manifest(2), &vouches, &BTreeSet::new());
        assert!(m.is_member(&key(1)) && m.is_member(&key(4)) && m.is_member(&key(5)));
        assert_eq!(m.len(), 5);
    }

    #[test]
    fn too_few_or_withdrawn_vouches_do_not_admit() {
        let vouches =
            vec![(key(4), key(1), true), (key(4), key(2), false), (key(6), key(7), true), (key(6), key(1), true)];
        let m = Membership::compute(&manifest(2), &vouches, &BTreeSet::new());
        assert!(!m.is_member(&key(4)), "one standing vouch of two needed");
        assert!(!m.is_member(&key(6)), "a non-member's vouch does not count");
    }

    #[test]
    fn revoked_keys_leave_and_their_vouches_stop_counting() {
        let vouches = vec![(key(4), key(1), true), (key(4), key(2), true)];
        let revoked: BTreeSet<MemberKey> = [key(2)].into();
        let m = Membership::compute(&manifest(2), &vouches, &revoked);
        assert!(!m.is_member(&key(2)) && !m.is_member(&key(4)));
    }
}
