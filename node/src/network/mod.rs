//! The federation's network: one task owns the libp2p [`Swarm`](libp2p::Swarm); the rest of the node talks to it
//! through a cloneable [`Client`] over a bounded channel and hears back through [`NetworkEvent`]s.
//!
//! - Transports: TCP (noise, yamux) and QUIC.
//! - Gossipsub carries new records, anonymously (records carry their own signatures), message id
//!   = record id, validated by hand: Accept what was stored, Ignore duplicates, Reject the rest
//!   (penalising the peer that sent it).
//! - The hello protocol ([`codec`]) carries the handshake: the dialler proves it serves a current
//!   member, the listener answers with its own proof only once that verified. The proof is
//!   anonymous (a ring proof bound to both peer ids, `hello_proof.rs`) whenever the ring of
//!   registered members allows; otherwise the member key's signature over the connection.
//! - The sync protocol carries catch-up (negentropy reconciliation of record ids, then fetches of
//!   the missing records in bounded batches) and peer exchange among proven members.
//! - Ping checks liveness. There is no identify and no DHT: nothing answers an unproven peer with
//!   addresses or peers.
//!
//! A peer that has not proved it serves a current member gets nothing but a refusal reason: its
//! connection speaks the hello protocol only (tiny frames, two streams, the handshake deadline),
//! gossip and sync exist only on connections opened after proof (`gate.rs`), and it holds one of
//! a few unproven slots, capped per address and evicted oldest first (`peers.rs`).

pub mod codec;
mod gate;
pub mod hello_proof;
mod peers;
mod sync;
mod task;

use std::sync::Arc;
use std::time::Duration;

use lantern_protocol::{MemberKey, RecordId};
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::federation::Federation;

pub use task::spawn;

/// Network settings.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Addresses to listen on, e.g. `/ip4/127.0.0.1/tcp/0` and `/ip4/127.0.0.1/udp/0/quic-v1`.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start.
    pub bootstrap: Vec<Multiaddr>,
    /// How often to reconcile with every connected member.
    pub sync_interval: Duration,
    /// How long a peer has to prove membership after connecting.
    pub handshake_timeout: Duration,
    /// Most proven members kept connected.
    pub max_peers: usize,
    /// Most peers connected that have not proved membership yet (separate from `max_peers`).
    pub max_unproven: usize,
    /// Most unproven peers from one IP address.
    pub max_unproven_per_ip: usize,
    /// Discover nodes on the local network by mDNS (off by default: federations span operators
    /// across the Internet; this is for one operator's nodes on one LAN).
    pub mdns: bool,
    /// Where libp2p's own metrics are registered (beside the node's), if anywhere.
    pub metrics: Option<crate::metrics::Metrics>,
    /// This member's own records wait a random time up to this before they leave the node
    /// ([`Client::release`]), so when a record appears says little about who made it.
    pub release_delay: Duration,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("valid address")],
            bootstrap: Vec::new(),
            sync_interval: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
            max_peers: 64,
            max_unproven: 16,
            max_unproven_per_ip: 4,
            mdns: false,
            metrics: None,
            release_delay: Duration::from_secs(600),
        }
    }
}

/// What the network tells the rest of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkEvent {
    Listening {
        address: Multiaddr,
    },
    /// A peer proved it serves a current member: which one, when it proved with its member key;
    /// `None` when it proved anonymously.
    PeerAuthenticated {
        peer: PeerId,
        member: Option<MemberKey>,
    },
    /// A peer failed to prove membership (or lost it) and was disconnected.
    PeerRejected {
        peer: PeerId,
        reason: String,
        /// A short stable label for metrics: `timeout`, `not-a-member`, `stolen-proof`, …
        kind: &'static str,
    },
    /// A record arrived by gossip (or a relay request) and was stored.
    RecordStored {
        id: RecordId,
        /// The peer it came from.
        from: PeerId,
    },
    /// A record arrived by gossip and was rejected.
    RecordRejected {
        peer: PeerId,
        reason: &'static str,
    },
    /// Catch-up progress with a peer: records fetched so far and ids still to fetch.
    SyncProgress {
        peer: PeerId,
        fetched: usize,
        remaining: usize,
    },
    /// A reconciliation with a peer broke off (the peer went away, failed or refused): the node
    /// goes on with its other proven members at once.
    SyncAbandoned {
        peer: PeerId,
        fetched: usize,
    },
    /// A reconciliation with a peer finished.
    SyncFinished {
        peer: PeerId,
        fetched: usize,
        round_trips: usize,
        /// Reconciliation bytes, fetches excluded.
        bytes_sent: usize,
        bytes_received: usize,
    },
}

/// A connected peer, as the status API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerInfo {
    pub peer: PeerId,
    /// The member it serves, when it proved with its member key.
    pub member: Option<MemberKey>,
    /// It proved it serves some current member (with a binding or anonymously).
    pub proven: bool,
    pub score: Option<f64>,
}

#[derive(Debug)]
pub(crate) enum Command {
    Publish { record: Vec<u8>, reply: oneshot::Sender<Result<(), String>> },
    Release { records: Vec<Vec<u8>>, urgent: bool },
    Dial { address: Multiaddr, reply: oneshot::Sender<Result<(), String>> },
    Disconnect { peer: PeerId },
    Peers { reply: oneshot::Sender<Vec<PeerInfo>> },
    Listeners { reply: oneshot::Sender<Vec<Multiaddr>> },
    SyncAll,
    Shutdown { reply: oneshot::Sender<()> },
}

/// Commands into the swarm task; cheap to clone.
#[derive(Clone)]
pub struct Client {
    tx: mpsc::Sender<Command>,
    peer_id: PeerId,
    federation: Arc<Federation>,
}

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("the network task has stopped")]
    Stopped,
    #[error("{0}")]
    Failed(String),
}

impl Client {
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    pub fn federation(&self) -> &Arc<Federation> {
        &self.federation
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, NetworkError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| NetworkError::Stopped)?;
        rx.await.map_err(|_| NetworkError::Stopped)
    }

    /// Gossips a record this node has stored.
    pub async fn publish(&self, record: Vec<u8>) -> Result<(), NetworkError> {
        self.ask(|reply| Command::Publish { record, reply }).await?.map_err(NetworkError::Failed)
    }

    /// Sends this member's own new records (in order: a ring before what is signed over it)
    /// the way that hides their origin: after a random delay up to `release_delay` (none when
    /// `urgent`: a purge), first to one random proven member, who stores and gossips them as it
    /// would anything it received; until then reconciliation does not offer them. With no
    /// member connected they wait for one.
    pub async fn release(&self, records: Vec<Vec<u8>>, urgent: bool) -> Result<(), NetworkError> {
        self.tx.send(Command::Release { records, urgent }).await.map_err(|_| NetworkError::Stopped)
    }

    pub async fn dial(&self, address: Multiaddr) -> Result<(), NetworkError> {
        self.ask(|reply| Command::Dial { address, reply }).await?.map_err(NetworkError::Failed)
    }

    pub async fn disconnect(&self, peer: PeerId) -> Result<(), NetworkError> {
        self.tx.send(Command::Disconnect { peer }).await.map_err(|_| NetworkError::Stopped)
    }

    pub async fn peers(&self) -> Result<Vec<PeerInfo>, NetworkError> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    pub async fn listeners(&self) -> Result<Vec<Multiaddr>, NetworkError> {
        self.ask(|reply| Command::Listeners { reply }).await
    }

    /// Starts a reconciliation with every authenticated peer now.
    pub async fn sync_all(&self) -> Result<(), NetworkError> {
        self.tx.send(Command::SyncAll).await.map_err(|_| NetworkError::Stopped)
    }

    /// Stops the swarm task and waits for it.
    pub async fn shutdown(&self) -> Result<(), NetworkError> {
        self.ask(|reply| Command::Shutdown { reply }).await
    }
}
