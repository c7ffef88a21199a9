//! Which of this member's own published records a relay has taken (`relayed` tree: record id →
//! nothing). Every other anonymous record in `published` whose bytes are held is still waiting
//! for its release: the network withholds it from reconciliation (offering it would show this node as
//! its origin) and releases it through a relay, after a restart too. Derived from `published`,
//! written in the same step as the record, so no crash leaves a record neither withheld nor
//! released.

use lantern_protocol::RecordId;
use lantern_protocol::anonymous::{Format, format_of};

use super::{Store, StoreError, corrupt};

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
    /// (purged ones are gone and need no release; key-signed ones name their author and are
    /// gossiped at once, never through a relay).
    pub fn awaiting_release(&self) -> Result<Vec<(RecordId, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for value in self.published.iter().values() {
            let id = RecordId::from_slice(&value?).ok_or_else(|| corrupt("published", "value"))?;
            if self.relayed.contains_key(id.as_bytes())? {
                continue;
            }
            if let Some(bytes) = self.record_bytes(&id)?
                && format_of(&bytes) == Format::Anonymous
            {
                out.push((id, bytes));
            }
        }
        Ok(out)
    }
}
