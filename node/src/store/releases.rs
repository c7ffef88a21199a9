//! Which of this member's own published records a relay has taken (`relayed` tree: record id →
//! nothing). Every other anonymous record in `published` whose bytes are held is still waiting
//! for its release: the network withholds it from reconciliation (offering it would show this node as
//! its origin) and releases it through a relay, after a restart too. Derived from `published`,
//! written in the same step as the record, so no crash leaves a record neither withheld nor
//! released.

use lantern_protocol::RecordId;
use lantern_protocol::anonymous::{Format, format_of};

use super::{Store, StoreError, corrupt};

/// An own record waiting for its release: its id, and its bytes unless a purge took them.
pub type Awaiting = (RecordId, Option<Vec<u8>>);

impl Store {
    /// Notes that a relay took these records: they are ordinary records from now on.
    pub fn mark_relayed(&self, ids: &[RecordId]) -> Result<(), StoreError> {
        for id in ids {
            self.relayed.insert(id.as_bytes(), &[][..])?;
        }
        self.relayed.flush()?;
        Ok(())
    }

    /// This member's published anonymous records that no relay has taken yet, with their bytes
    /// (key-signed ones name their author and are gossiped at once, never through a relay). An
    /// anonymous one purged before any relay took it comes without bytes: nothing is left to
    /// release, but its id still shows this node as its origin until the purge has gone by
    /// relay too, so it is withheld till then.
    pub fn awaiting_release(&self) -> Result<Vec<Awaiting>, StoreError> {
        let mut out = Vec::new();
        for value in self.published.iter().values() {
            let id = RecordId::from_slice(&value?).ok_or_else(|| corrupt("published", "value"))?;
            if self.relayed.contains_key(id.as_bytes())? {
                continue;
            }
            match self.record_bytes(&id)? {
                Some(bytes) if format_of(&bytes) == Format::Anonymous => out.push((id, Some(bytes))),
                Some(_) => {}
                None => {
                    let purge = self.purged.get(id.as_bytes())?.and_then(|v| super::purge::decode_purged(&v));
                    if let Some(w) = purge
                        && matches!(w.by, super::purge::By::Tag { .. })
                        && !self.relayed.contains_key(w.purge.as_bytes())?
                    {
                        out.push((id, None));
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Store {
    /// The records of `records` whose bytes this store still holds: a release that waited past
    /// the record's purge must not send it.
    pub fn still_held(&self, records: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        records.into_iter().filter(|r| self.record_bytes(&RecordId::of(r)).is_ok_and(|b| b.is_some())).collect()
    }
}

/// The records an anonymous purge's bytes name (none for any other record).
pub fn purge_targets(bytes: &[u8]) -> Vec<RecordId> {
    match lantern_protocol::anonymous::open_stored_any(bytes) {
        Ok(lantern_protocol::anonymous::Opened::Anonymous(env, _)) => match env.body {
            lantern_protocol::anonymous::AnonBody::Purge(p) => p.targets,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}
