//! What the node operator watches: catch-up with each peer and the records that came in, kept
//! from the network's events for the status API, the UI and the metrics.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;
use utoipa::ToSchema;

use crate::metrics::Metrics;
use crate::network::NetworkEvent;

/// Peers whose catch-up state is remembered; the least recently seen is dropped beyond this.
const MAX_PEERS: usize = 1024;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeerSync {
    pub peer: String,
    /// A catch-up with this peer is running.
    pub in_progress: bool,
    /// Records fetched in the current (or last) catch-up.
    pub fetched: usize,
    /// Ids still to fetch in the current catch-up.
    pub remaining: usize,
    /// Catch-ups finished with this peer since the node started.
    pub rounds: u64,
    /// Seconds since the last catch-up with this peer finished.
    pub last_finished_secs_ago: Option<u64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncStatus {
    /// Ids known to be missing here, summed over running catch-ups.
    pub remaining: usize,
    pub peers: Vec<PeerSync>,
    pub listening: Vec<String>,
}

#[derive(Default)]
struct Inner {
    peers: BTreeMap<String, (PeerSync, Option<Instant>, Instant)>,
    listening: Vec<String>,
}

pub struct NodeStatus {
    inner: Mutex<Inner>,
    pub metrics: Metrics,
}

impl NodeStatus {
    pub fn new(metrics: Metrics) -> Self {
        Self { inner: Mutex::new(Inner::default()), metrics }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows one network event.
    pub fn observe(&self, event: &NetworkEvent) {
        let now = Instant::now();
        let mut inner = self.lock();
        match event {
            NetworkEvent::Listening { address } => inner.listening.push(address.to_string()),
            NetworkEvent::SyncProgress { peer, fetched, remaining } => {
                let (s, _, _) = touch(&mut inner, peer, now);
                s.in_progress = true;
                s.fetched = *fetched;
                s.remaining = *remaining;
            }
            NetworkEvent::SyncFinished { peer, fetched, .. } => {
                let (s, finished, _) = touch(&mut inner, peer, now);
                s.in_progress = false;
                s.fetched = *fetched;
                s.remaining = 0;
                s.rounds += 1;
                *finished = Some(now);
                self.metrics.ingested("sync", *fetched as u64);
            }
            NetworkEvent::SyncAbandoned { peer, fetched } => {
                let (s, _, _) = touch(&mut inner, peer, now);
                s.in_progress = false;
                s.remaining = 0;
                self.metrics.ingested("sync", *fetched as u64);
            }
            NetworkEvent::RecordStored { .. } => self.metrics.ingested("gossip", 1),
            NetworkEvent::RecordRejected { reason, .. } => {
                self.metrics.rejected(reason);
                if matches!(*reason, "malformed" | "truncated" | "too_large" | "trailing_bytes") {
                    self.metrics.gossip_garbage.inc();
                }
            }
            NetworkEvent::PeerRejected { kind, .. } => self.metrics.peer_refused(kind),
            NetworkEvent::PeerAuthenticated { .. } => {}
        }
        let remaining: usize =
            inner.peers.values().filter(|(s, _, _)| s.in_progress).map(|(s, _, _)| s.remaining).sum();
        self.metrics.sync_remaining.set(remaining as i64);
    }

    pub fn sync(&self) -> SyncStatus {
        let inner = self.lock();
        let peers: Vec<PeerSync> = inner
            .peers
            .values()
            .map(|(s, finished, _)| PeerSync {
                last_finished_secs_ago: finished.map(|t| t.elapsed().as_secs()),
                ..s.clone()
            })
            .collect();
        SyncStatus {
            remaining: peers.iter().filter(|p| p.in_progress).map(|p| p.remaining).sum(),
            peers,
            listening: inner.listening.clone(),
        }
    }
}

/// The entry of `peer`, created if new (dropping the least recently seen beyond [`MAX_PEERS`]).
fn touch<'a>(
    inner: &'a mut Inner,
    peer: &libp2p::PeerId,
    now: Instant,
) -> &'a mut (PeerSync, Option<Instant>, Instant) {
    let key = peer.to_string();
    if !inner.peers.contains_key(&key) && inner.peers.len() >= MAX_PEERS {
        let oldest = inner.peers.iter().min_by_key(|(_, (_, _, seen))| *seen).map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            inner.peers.remove(&k);
        }
    }
    let entry = inner.peers.entry(key.clone()).or_insert_with(|| {
        let sync = PeerSync {
            peer: key,
            in_progress: false,
            fetched: 0,
            remaining: 0,
            rounds: 0,
            last_finished_secs_ago: None,
        };
        (sync, None, now)
    });
    entry.2 = now;
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catch_up_that_broke_off_is_no_longer_shown_in_progress() {
        let status = NodeStatus::new(Metrics::default());
        let peer = libp2p::PeerId::random();
        status.observe(&NetworkEvent::SyncProgress { peer, fetched: 100, remaining: 900 });
        assert_eq!(status.sync().remaining, 900);
        assert!(status.sync().peers[0].in_progress);
        status.observe(&NetworkEvent::SyncAbandoned { peer, fetched: 100 });
        let sync = status.sync();
        assert_eq!(sync.remaining, 0, "nothing is waiting on a peer that went away");
        assert!(!sync.peers[0].in_progress);
        assert_eq!(sync.peers[0].rounds, 0, "it did not finish a round");
    }
}
