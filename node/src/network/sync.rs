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

/// A sealed negentropy storage of every record id held but `withheld` (this member's records
/// not released yet). Items carry no timestamp: ranges are split on ids alone.
pub fn storage(
    store: &Store,
    withheld: &std::collections::HashSet<lantern_protocol::RecordId>,
) -> Result<NegentropyStorageVector, SyncError> {
    let mut s = NegentropyStorageVector::with_capacity(store.record_count());
    for id in store.record_ids() {
        if withheld.contains(&id) {
            continue;
        }
        s.insert(0, Id::from_byte_array(id.0)).map_err(neg)?;
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
    /// Fetched records refused until their author is a member or their ring is known.
    pub deferred: usize,
    /// Reconciliation bytes sent and received (fetches excluded).
    pub bytes_sent: usize,
    pub bytes_received: usize,
    /// The id sets are reconciled; what is left is fetching `need`.
    reconciled: bool,
    /// Fetches sent and not yet answered.
    in_flight: usize,
}

/// Fetches kept in flight per session: the peer reads and sends the next batch while this node
/// verifies the last one.
pub const FETCH_WINDOW: usize = 3;

impl Session {
    /// Starts a reconciliation; returns the first message to send.
    pub fn start(storage: NegentropyStorageVector) -> Result<(Self, Vec<u8>), SyncError> {
        let mut negentropy = Negentropy::owned(storage, RECONCILE_FRAME).map_err(neg)?;
        let first = negentropy.initiate().map_err(neg)?;
        let sent = first.len();
        Ok((
            Self {
                negentropy,
                need: Vec::new(),
                round_trips: 1,
                fetched: 0,
                deferred: 0,
                bytes_sent: sent,
                bytes_received: 0,
                reconciled: false,
                in_flight: 0,
            },
            first,
        ))
    }

    /// Takes the peer's answer; returns the next message, or `None` once reconciled.
    pub fn step(&mut self, answer: &[u8]) -> Result<Option<Vec<u8>>, SyncError> {
        let (mut have, mut need) = (Vec::new(), Vec::new());
        self.bytes_received += answer.len();
        let next = self.negentropy.reconcile_with_ids(answer, &mut have, &mut need).map_err(neg)?;
        self.need.extend(need.into_iter().map(|id| RecordId(*id)));
        match &next {
            Some(message) => {
                self.round_trips += 1;
                self.bytes_sent += message.len();
            }
            None => self.reconciled = true,
        }
        Ok(next)
    }

    /// The fetches to send now: once reconciled, enough to keep [`FETCH_WINDOW`] in flight.
    pub fn fetches_to_send(&mut self) -> Vec<Vec<[u8; 32]>> {
        let mut out = Vec::new();
        while self.reconciled && self.in_flight < FETCH_WINDOW {
            let Some(ids) = self.next_fetch() else { break };
            self.in_flight += 1;
            out.push(ids);
        }
        out
    }

    /// A fetch was answered.
    pub fn fetch_answered(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Reconciled, everything needed fetched, nothing in flight.
    pub fn is_finished(&self) -> bool {
        self.reconciled && self.need.is_empty() && self.in_flight == 0
    }

    fn next_fetch(&mut self) -> Option<Vec<[u8; 32]>> {
        if self.need.is_empty() {
            return None;
        }
        // From the end: taking from the front would move the rest of a long list every time.
        let rest = self.need.len().saturating_sub(MAX_FETCH_IDS);
        Some(self.need.split_off(rest).into_iter().map(|id| id.0).collect())
    }
}

/// The records with these ids that the store holds, up to what fits in one frame. A purged
/// record is answered with the purge that deleted it (once per answer).
pub fn fetch(store: &Store, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, SyncError> {
    let budget = MAX_FRAME - 64 * 1024;
    let mut out = Vec::new();
    let mut purges = std::collections::HashSet::new();
    let mut size = 0;
    for id in ids.iter().take(MAX_FETCH_IDS) {
        let id = RecordId(*id);
        let bytes = match store.record_bytes(&id)? {
            Some(bytes) => bytes,
            None => match store.purge_of(&id)? {
                Some(purge) if purges.insert(purge) => match store.record_bytes(&purge)? {
                    Some(bytes) => bytes,
                    None => continue,
                },
                _ => continue,
            },
        };
        if size + bytes.len() + 8 > budget {
            break;
        }
        size += bytes.len() + 8;
        out.push(bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<u32>) -> NegentropyStorageVector {
        let mut s = NegentropyStorageVector::with_capacity(range.len());
        for i in range {
            let id = *blake3::hash(&i.to_be_bytes()).as_bytes();
            s.insert(0, Id::from_byte_array(id)).unwrap();
        }
        s.seal().unwrap();
        s
    }

    #[test]
    fn a_session_reconciles_then_keeps_a_window_of_fetches_until_all_are_answered() {
        let theirs = ids(0..10_000);
        let (mut session, mut message) = Session::start(ids(0..1_000)).unwrap();
        assert!(session.fetches_to_send().is_empty(), "nothing is fetched before the sets are reconciled");
        while let Some(next) = session.step(&respond(&theirs, &message).unwrap()).unwrap() {
            message = next;
        }
        assert_eq!(session.need.len(), 9_000);

        let mut fetched = std::collections::HashSet::new();
        let first = session.fetches_to_send();
        assert_eq!(first.len(), FETCH_WINDOW.min(9_000usize.div_ceil(MAX_FETCH_IDS)));
        assert!(first.iter().all(|f| f.len() <= MAX_FETCH_IDS));
        let mut in_flight: Vec<_> = first;
        while let Some(answered) = in_flight.pop() {
            assert!(!session.is_finished(), "finished with a fetch in flight");
            fetched.extend(answered);
            session.fetch_answered();
            let more = session.fetches_to_send();
            in_flight.extend(more);
            assert!(in_flight.len() <= FETCH_WINDOW);
        }
        assert!(session.is_finished());
        let expected: std::collections::HashSet<[u8; 32]> =
            (1_000..10_000u32).map(|i| *blake3::hash(&i.to_be_bytes()).as_bytes()).collect();
        assert_eq!(fetched, expected, "every missing id fetched once");
    }
}
