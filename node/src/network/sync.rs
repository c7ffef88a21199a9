//! Catch-up by range-based set reconciliation (negentropy) of record ids, then fetches of the
//! missing records in bounded batches.

use lantern_protocol::RecordId;
use negentropy::{Id, Negentropy, NegentropyStorageVector};

use super::codec::{MAX_FETCH_IDS, MAX_FRAME, RECONCILE_FRAME};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reconciliation: {0}")]
    Negentropy(String),
}

fn neg(e: negentropy::Error) -> SyncError {
    SyncError::Negentropy(e.to_string())
}

/// A sealed negentropy storage of every record id held. Items carry no timestamp: ranges are
/// split on ids alone.
pub fn storage(store: &Store) -> Result<NegentropyStorageVector, SyncError> {
    let mut s = NegentropyStorageVector::with_capacity(store.record_count());
    for id in store.record_ids() {
        s.insert(0, Id::from_byte_array(id?.0)).map_err(neg)?;
    }
    s.seal().map_err(neg)?;
    Ok(s)
}

/// Answers one reconciliation message (the responder keeps no state between messages).
pub fn respond(storage: &NegentropyStorageVector, message: &[u8]) -> Result<Vec<u8>, SyncError> {
    Negentropy::borrowed(storage, RECONCILE_FRAME).map_err(neg)?.reconcile(message).map_err(neg)
}

/// The initiating side of one reconciliation.
pub struct Session {
    negentropy: Negentropy<'static, NegentropyStorageVector>,
    /// Ids the peer holds and we lack, still to fetch.
    pub need: Vec<RecordId>,
    pub round_trips: usize,
    pub fetched: usize,
    /// Reconciliation bytes sent and received (fetches excluded).
    pub bytes_sent: usize,
    pub bytes_received: usize,
}

impl Session {
    /// Starts a reconciliation; returns the first message to send.
    pub fn start(storage: NegentropyStorageVector) -> Result<(Self, Vec<u8>), SyncError> {
        let mut negentropy = Negentropy::owned(storage, RECONCILE_FRAME).map_err(neg)?;
        let first = negentropy.initiate().map_err(neg)?;
        let sent = first.len();
        Ok((
            Self { negentropy, need: Vec::new(), round_trips: 1, fetched: 0, bytes_sent: sent, bytes_received: 0 },
            first,
        ))
    }

    /// Takes the peer's answer; returns the next message, or `None` once reconciled.
    pub fn step(&mut self, answer: &[u8]) -> Result<Option<Vec<u8>>, SyncError> {
        let (mut have, mut need) = (Vec::new(), Vec::new());
        self.bytes_received += answer.len();
        let next = self.negentropy.reconcile_with_ids(answer, &mut have, &mut need).map_err(neg)?;
        self.need.extend(need.into_iter().map(|id| RecordId(*id)));
        if let Some(message) = &next {
            self.round_trips += 1;
            self.bytes_sent += message.len();
        }
        Ok(next)
    }

    /// The next batch of ids to fetch, if any.
    pub fn next_fetch(&mut self) -> Option<Vec<[u8; 32]>> {
        if self.need.is_empty() {
            return None;
        }
        let n = self.need.len().min(MAX_FETCH_IDS);
        Some(self.need.drain(..n).map(|id| id.0).collect())
    }
}

/// The records with these ids that the store holds, up to what fits in one frame.
pub fn fetch(store: &Store, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, SyncError> {
    let budget = MAX_FRAME - 64 * 1024;
    let mut out = Vec::new();
    let mut size = 0;
    for id in ids.iter().take(MAX_FETCH_IDS) {
        if let Some(bytes) = store.record_bytes(&RecordId(*id))? {
            if size + bytes.len() + 8 > budget {
                break;
            }
            size += bytes.len() + 8;
            out.push(bytes);
        }
    }
    Ok(out)
}
