//! The swarm task: owns the [`Swarm`], turns its events into [`NetworkEvent`]s, answers
//! [`Command`]s.
//!
//! The edge, in order: a new connection gets one of the unproven slots (capped per address,
//! oldest evicted first) and speaks only the hello protocol. The **dialler proves first**
//! (anonymously over its ring, or named: [`super::hello_proof`]); the listener answers with its
//! own proof only once the dialler's verified, and otherwise with a refusal reason, delivered
//! before it hangs up ([`handshake`]). Proven both ways, the dialler opens a second connection,
//! the only kind on which gossip and sync exist (gate.rs), and the handshake connection is closed. Members learn each other's listen addresses
//! from proven members only (the sync protocol's `Peers`), and bootstraps and known members are
//! redialled with backoff, forever.

mod handshake;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lantern_protocol::{RecordError, RecordId};
use libp2p::core::ConnectedPoint;
use libp2p::core::multiaddr::Protocol;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, InboundRequestId, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, mdns, noise, ping, tcp, yamux};
use negentropy::NegentropyStorageVector;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::codec::{self, HelloCodec, HelloResponse, MAX_PEERS_LISTED, PeerAddresses, Request, Response, SyncCodec};
use super::gate::{Gated, Proven};
use super::peers::{Admission, Limits, Peer, Proved, Redial, Table};
use super::sync::{self, Session};
use super::{Client, Command, NetworkConfig, NetworkError, NetworkEvent, PeerInfo};
use crate::federation::Federation;
use crate::store::Ingested;

/// Bound of the command and event channels.
const CHANNEL: usize = 256;
/// The gossip topic: the same for every federation, so subscribing names none.
const TOPIC: &str = "/lantern/records/1";
/// One log line per refused peer at most this often.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(600);
/// Refused peers remembered for rate-limiting their log lines.
const REFUSAL_LOG_PEERS: usize = 4096;
/// How long a refused peer has to read the reason before the connection is closed.
const REFUSAL_GRACE: Duration = Duration::from_secs(1);

/// Longest a shutdown waits for fetched records being stored (a batch takes well under a second).
const SHUTDOWN_ADMIT_WAIT: Duration = Duration::from_secs(30);

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    hello: request_response::Behaviour<HelloCodec>,
    gossipsub: Gated<gossipsub::Behaviour>,
    sync: Gated<request_response::Behaviour<SyncCodec>>,
    ping: ping::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Gossipsub with manual validation, anonymous messages, record ids as message ids, and peer
/// scoring whose thresholds are documented in docs/federation.md.
fn gossipsub(topic: &IdentTopic, max_record_bytes: usize) -> Result<gossipsub::Behaviour, String> {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(blake3::hash(&m.data).as_bytes().to_vec()))
        // A record (or a ring record, which may be larger) plus protobuf framing.
        .max_transmit_size(max_record_bytes.max(lantern_protocol::anonymous::MAX_RING_RECORD_BYTES) + 1024)
        .heartbeat_interval(Duration::from_millis(700))
        // A node's own records leave through one other member first (`release`); flooding them
        // to every peer at once would point at their author's node.
        .flood_publish(false)
        .build()
        .map_err(|e| e.to_string())?;
    let mut behaviour = gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config)?;
    let mut topic_params = gossipsub::TopicScoreParams {
        // An invalid record costs -50 (squared counter), two put the sender below the graylist.
        invalid_message_deliveries_weight: -50.0,
        invalid_message_deliveries_decay: 0.9,
        // A quiet federation must not punish peers for not delivering.
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        ..Default::default()
    };
    topic_params.topic_weight = 1.0;
    let params = gossipsub::PeerScoreParams {
        topics: [(topic.hash(), topic_params)].into(),
        app_specific_weight: 1.0,
        // Operators behind one NAT share an address: not a useful signal here.
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    };
    let thresholds = gossipsub::PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: -80.0,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    behaviour.with_peer_score(params, thresholds)?;
    behaviour.subscribe(topic).map_err(|e| e.to_string())?;
    Ok(behaviour)
}

/// libp2p listens with SO_REUSEPORT, so a second node on a taken TCP port would silently share
/// it; bind the port plainly first, and say who holds it.
fn refuse_a_taken_port(address: &Multiaddr) -> Result<(), NetworkError> {
    use libp2p::multiaddr::Protocol;
    let mut parts = address.iter();
    let ip: std::net::IpAddr = match parts.next() {
        Some(Protocol::Ip4(ip)) => ip.into(),
        Some(Protocol::Ip6(ip)) => ip.into(),
        _ => return Ok(()),
    };
    let Some(Protocol::Tcp(port)) = parts.next() else { return Ok(()) };
    if port == 0 {
        return Ok(());
    }
    std::net::TcpListener::bind((ip, port)).map(drop).map_err(|e| {
        NetworkError::Failed(format!(
            "cannot listen on {address}: {e} (another process holds the port? pick another with --listen)"
        ))
    })
}

/// Builds the swarm, starts listening and dialling, and spawns its task.
pub fn spawn(
    federation: Arc<Federation>,
    keypair: Keypair,
    config: NetworkConfig,
) -> Result<(Client, mpsc::Receiver<NetworkEvent>, JoinHandle<()>), NetworkError> {
    let fail = |e: &dyn std::fmt::Display| NetworkError::Failed(e.to_string());

    let topic = IdentTopic::new(TOPIC);
    let max_record = federation.store().context().max_record_bytes;
    let local_peer_id = keypair.public().to_peer_id();
    let proven = Proven::default();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| fail(&e))?
        .with_quic()
        .with_behaviour(|key| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
            let peer_id = key.public().to_peer_id();
            Ok(Behaviour {
                // Before proof: one protocol, tiny frames, two streams, the handshake deadline.
                hello: request_response::Behaviour::new(
                    [(codec::HELLO_PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(config.handshake_timeout)
                        .with_max_concurrent_streams(2),
                ),
                gossipsub: Gated::new(gossipsub(&topic, max_record)?, proven.clone()),
                sync: Gated::new(
                    request_response::Behaviour::new(
                        [(codec::SYNC_PROTOCOL, ProtocolSupport::Full)],
                        request_response::Config::default()
                            .with_request_timeout(Duration::from_secs(30))
                            .with_max_concurrent_streams(64),
                    ),
                    proven.clone(),
                ),
                ping: ping::Behaviour::new(ping::Config::new()),
                mdns: Toggle::from(match config.mdns {
                    true => Some(mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id)?),
                    false => None,
                }),
            })
        })
        .map_err(|e| fail(&e))?
        // Federations are quiet for long stretches: keep idle connections an hour.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    for address in &config.listen {
        refuse_a_taken_port(address)?;
        swarm.listen_on(address.clone()).map_err(|e| fail(&e))?;
    }
    let p2p_metrics = config
        .metrics
        .as_ref()
        .map(|m| m.with_registry(|r| libp2p::metrics::Metrics::new(r.sub_registry_with_prefix("libp2p"))));
    let (tx, commands) = mpsc::channel(CHANNEL);
    let (events, rx_events) = mpsc::channel(CHANNEL);
    let (admitted_tx, admitted) = mpsc::channel(CHANNEL);
    let (handshake_tx, handshakes) = mpsc::channel(CHANNEL);
    let client = Client { tx, peer_id: local_peer_id, federation: federation.clone() };
    let redial = remembered(&federation, &config.bootstrap);
    let limits =
        Limits { proven: config.max_peers, unproven: config.max_unproven, unproven_per_ip: config.max_unproven_per_ip };
    let (releases, withheld) = waiting_releases(&federation, config.release_delay);
    let task = Task {
        swarm,
        federation,
        commands,
        events,
        topic,
        anonymous_refused: HashSet::new(),
        releases,
        withheld,
        relays: HashMap::new(),
        proven,
        table: Table::default(),
        limits,
        redial,
        hellos: HashMap::new(),
        closing: HashMap::new(),
        refused: HashMap::new(),
        refusals_logged: HashMap::new(),
        sessions: HashMap::new(),
        fetches: HashMap::new(),
        admitted_tx,
        admitted,
        admitting: 0,
        handshake_tx,
        handshakes,
        handshaking: 0,
        answering: HashMap::new(),
        storage: None,
        config,
        p2p_metrics,
    };
    Ok((client, rx_events, tokio::spawn(task.run())))
}

/// A random duration from zero to `max`.
/// This member's records that no relay took before the node stopped: withheld again, and each
/// released after a fresh random delay of its own (released together, they would show a relay
/// that they share an author).
fn waiting_releases(federation: &Federation, release_delay: Duration) -> (Vec<Release>, HashSet<RecordId>) {
    let waiting = federation.store().awaiting_release().unwrap_or_else(|e| {
        warn!(error = %e, "cannot read which records wait for their release");
        Vec::new()
    });
    let withheld = waiting.iter().map(|(id, _)| *id).collect();
    let now = Instant::now();
    // A purge still goes at once: it ends a leak.
    let purge = |bytes: &[u8]| lantern_protocol::anonymous::open_stored_any(bytes).is_ok_and(|o| o.kind() == "purge");
    let due = |bytes: &[u8]| if purge(bytes) { now } else { now + random_fraction(release_delay) };
    // A purged record has no bytes to release: its id is only withheld, until its purge is relayed.
    let releases = waiting.into_iter().filter_map(|(_, bytes)| bytes).map(|b| (due(&b), vec![b])).collect();
    (releases, withheld)
}

/// Records to hand to a relay, and when.
type Release = (Instant, Vec<Vec<u8>>);

fn random_fraction(max: Duration) -> Duration {
    let x = u64::from_le_bytes(crate::keys::random_bytes());
    max.mul_f64(x as f64 / u64::MAX as f64)
}

/// A batch of fetched records, admitted.
struct Admitted {
    peer: PeerId,
    /// Records newly stored.
    stored: usize,
    /// Ids asked for that the answer did not carry (it was full): to ask again.
    missing: Vec<[u8; 32]>,
    /// Records refused for now: their author is not (yet) a member or their ring is unknown.
    deferred: usize,
}

struct Task {
    swarm: Swarm<Behaviour>,
    federation: Arc<Federation>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetworkEvent>,
    topic: IdentTopic,
    /// This member's own records waiting for their release: when, and the records (in order).
    releases: Vec<Release>,
    /// Their ids, kept out of reconciliation until a relay took them.
    withheld: HashSet<RecordId>,
    /// Relay requests in flight, with what they carry (sent again if they fail).
    relays: HashMap<OutboundRequestId, Vec<Vec<u8>>>,
    /// Peers that refused this node's anonymous proof (they do not know its ring yet): the next
    /// handshake with them names the member instead.
    anonymous_refused: HashSet<PeerId>,
    /// Peers proven both ways; shared with the gated behaviours.
    proven: Proven,
    table: Table,
    limits: Limits,
    redial: Redial,
    /// Outbound hellos in flight, by request.
    hellos: HashMap<OutboundRequestId, PeerId>,
    /// Refusals being sent, by request.
    closing: HashMap<InboundRequestId, PeerId>,
    /// Refused peers, from when their answer was sent: closed after [`REFUSAL_GRACE`] unless they
    /// hang up first (closing at once could reset the connection before the reason arrives).
    refused: HashMap<PeerId, Instant>,
    /// When each refused peer was last logged.
    refusals_logged: HashMap<PeerId, Instant>,
    /// Reconciliations this node started, one per peer.
    sessions: HashMap<PeerId, Session>,
    /// Ids asked for in fetches in flight.
    fetches: HashMap<OutboundRequestId, Vec<[u8; 32]>>,
    /// Fetched records are verified and stored off this task (it keeps serving the network
    /// meanwhile); what became of them comes back here. At most `FETCH_WINDOW` batches per
    /// session are fetched and not yet admitted.
    admitted_tx: mpsc::Sender<Admitted>,
    admitted: mpsc::Receiver<Admitted>,
    /// Admissions started and not yet answered: a shutdown waits for them, so that when it
    /// returns nothing of the network still writes to (or holds) the store.
    admitting: usize,
    /// Handshake proofs made or checked on blocking threads (up to ~75 ms each at 512 members,
    /// which would stall gossip and sync on this task), their results, and how many are out.
    handshake_tx: mpsc::Sender<handshake::Done>,
    handshakes: mpsc::Receiver<handshake::Done>,
    handshaking: usize,
    /// Hellos received whose proof is being checked: where each answer goes.
    answering: HashMap<InboundRequestId, (PeerId, request_response::ResponseChannel<HelloResponse>)>,
    /// The responder's sealed id set, with the record count it was built at.
    storage: Option<(usize, Arc<NegentropyStorageVector>)>,
    config: NetworkConfig,
    p2p_metrics: Option<libp2p::metrics::Metrics>,
}

/// The bootstraps, and every member address remembered from earlier runs.
fn remembered(federation: &Federation, bootstrap: &[Multiaddr]) -> Redial {
    let mut redial = Redial::new(bootstrap);
    match federation.store().remembered_peers() {
        Ok(peers) => {
            for (peer, addresses) in peers {
                let Ok(peer) = PeerId::from_bytes(&peer) else { continue };
                let addresses = addresses.into_iter().filter_map(|a| Multiaddr::try_from(a).ok()).collect();
                redial.learn(peer, addresses);
            }
        }
        Err(e) => warn!(error = %e, "cannot read the remembered peers"),
    }
    redial
}

/// The IP address of a multiaddr, if it has one.
fn ip_of(address: &Multiaddr) -> Option<IpAddr> {
    address.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl Task {
    async fn run(mut self) {
        let mut sync_tick = tokio::time::interval(self.config.sync_interval);
        let mut check_tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        self.finish_admissions().await;
                        let _ = reply.send(());
                        break;
                    }
                    Some(command) => self.on_command(command),
                    None => break,
                },
                Some(admitted) = self.admitted.recv() => self.on_admitted(admitted),
                Some(done) = self.handshakes.recv() => self.on_handshake(done),
                _ = sync_tick.tick() => self.sync_all(),
                _ = check_tick.tick() => {
                    self.drop_unproven();
                    self.redial_due();
                    self.release_due();
                }
            }
        }
        info!("network task stopped");
    }

    /// Waits (bounded) for the admissions in flight to be stored and the handshake proofs being
    /// made or checked to end: then nothing of the network holds the store.
    async fn finish_admissions(&mut self) {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_ADMIT_WAIT;
        while self.admitting > 0 || self.handshaking > 0 {
            let done = tokio::time::timeout_at(deadline, async {
                tokio::select! {
                    Some(_) = self.admitted.recv() => self.admitting -= 1,
                    Some(_) = self.handshakes.recv() => self.handshaking -= 1,
                    else => {}
                }
            });
            if done.await.is_err() {
                warn!(left = self.admitting, "stopping with fetched records still being stored");
                break;
            }
        }
    }

    fn emit(&self, event: NetworkEvent) {
        // Events are informational; when nobody keeps up, they are dropped, never queued unbounded.
        let _ = self.events.try_send(event);
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { record, reply } => {
                let result = self.swarm.behaviour_mut().gossipsub.inner_mut().publish(self.topic.clone(), record);
                let _ = reply.send(match result {
                    Ok(_) | Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => Ok(()),
                    Err(e) => Err(e.to_string()),
                });
            }
            Command::Release { records, urgent } => {
                let wait = if urgent { Duration::ZERO } else { random_fraction(self.config.release_delay) };
                self.withheld.extend(records.iter().map(|r| RecordId::of(r)));
                self.storage = None;
                self.releases.push((Instant::now() + wait, records));
                self.release_due();
            }
            Command::Dial { address, reply } => {
                let _ = reply.send(self.swarm.dial(address).map_err(|e| e.to_string()));
            }
            Command::Disconnect { peer } => {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::Peers { reply } => {
                let gossip = self.swarm.behaviour().gossipsub.inner();
                let peers = self
                    .table
                    .peers
                    .iter()
                    .map(|(peer, p)| PeerInfo {
                        peer: *peer,
                        member: p.proved.and_then(|x| x.member()),
                        proven: p.proved.is_some(),
                        score: gossip.peer_score(peer),
                    })
                    .collect();
                let _ = reply.send(peers);
            }
            Command::Listeners { reply } => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::SyncAll => self.sync_all(),
            Command::Shutdown { .. } => unreachable!("handled in run"),
        }
    }

    fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        if let Some(m) = &self.p2p_metrics {
            use libp2p::metrics::Recorder;
            match &event {
                SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => m.record(e),
                SwarmEvent::Behaviour(BehaviourEvent::Ping(e)) => m.record(e),
                _ => {}
            }
            m.record(&event);
        }
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.emit(NetworkEvent::Listening { address });
            }
            SwarmEvent::ConnectionEstablished { peer_id, connection_id, endpoint, .. } => {
                self.on_connected(peer_id, connection_id, &endpoint)
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.refused.remove(&peer_id);
                self.table.peers.remove(&peer_id);
                self.proven.remove(&peer_id);
                self.abandon_session(peer_id);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { peer, connection, result: Err(error) }))
                if !matches!(error, ping::Failure::Unsupported) =>
            {
                // A frozen or stuck peer keeps its TCP connection open but stops answering pings
                // (a timeout, or a stream that never opens): close it, so catch-up goes to a live
                // peer and the redial finds it again later. A peer that does not speak ping at
                // all (an outsider's tool) is left to the handshake rules.
                debug!(%peer, %error, "ping failed: closing the connection");
                self.swarm.close_connection(connection);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Hello(event)) => self.on_hello(event),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, address) in found {
                    self.on_discovered(peer, address);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message.data),
            _ => {}
        }
    }

    fn on_connected(&mut self, peer: PeerId, connection: ConnectionId, endpoint: &ConnectedPoint) {
        if let ConnectedPoint::Dialer { address, .. } = endpoint {
            self.redial.reached(address, peer);
        }
        if self.proven.contains(&peer) {
            // The full connection: gossip and sync exist on it. The handshake one has served; the
            // listener closes it (closing it from the dialler could reach the listener before the
            // new connection does, and the listener would take the peer for gone).
            if endpoint.is_listener()
                && let Some(hello) = self.table.peers.get_mut(&peer).and_then(|p| p.hello.take())
                && hello != connection
            {
                self.swarm.close_connection(hello);
            }
            if self.swarm.behaviour().sync.is_open(&peer) {
                self.start_sync(peer);
                self.swarm.behaviour_mut().sync.inner_mut().send_request(&peer, Request::Peers);
            }
            return;
        }
        if self.table.peers.contains_key(&peer) {
            return; // a second connection while the first still proves itself
        }
        let ip = ip_of(endpoint.get_remote_address());
        match self.table.admit(ip, &self.limits) {
            Admission::Admit => {}
            Admission::Evict(oldest) => self.reject(oldest, "evicted: unproven slots full", "slots-full"),
            Admission::Refuse(reason) => {
                self.log_refusal(&peer, reason);
                self.emit(NetworkEvent::PeerRejected { peer, reason: reason.into(), kind: "per-address-limit" });
                let _ = self.swarm.close_connection(connection);
                return;
            }
        }
        let dialled = match endpoint {
            ConnectedPoint::Dialer { address, .. } => Some(address.clone()),
            ConnectedPoint::Listener { .. } => None,
        };
        let dialler = dialled.is_some();
        self.table.peers.insert(peer, Peer::new(ip, dialled, connection));
        // The dialler proves first; the listener waits for it.
        if dialler {
            self.send_hello(peer);
        }
    }

    fn log_refusal(&mut self, peer: &PeerId, reason: &str) {
        let now = Instant::now();
        if self.refusals_logged.get(peer).is_some_and(|t| now.duration_since(*t) < REFUSAL_LOG_EVERY) {
            return;
        }
        if self.refusals_logged.len() >= REFUSAL_LOG_PEERS {
            self.refusals_logged.retain(|_, t| now.duration_since(*t) < REFUSAL_LOG_EVERY);
            if self.refusals_logged.len() >= REFUSAL_LOG_PEERS {
                return;
            }
        }
        self.refusals_logged.insert(*peer, now);
        warn!(%peer, %reason, "peer refused");
    }

    fn reject(&mut self, peer: PeerId, reason: &str, kind: &'static str) {
        self.log_refusal(&peer, reason);
        self.emit(NetworkEvent::PeerRejected { peer, reason: reason.to_string(), kind });
        self.table.peers.remove(&peer);
        self.proven.remove(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn is_proven(&self, peer: &PeerId) -> bool {
        self.proven.contains(peer)
    }

    fn drop_unproven(&mut self) {
        let now = Instant::now();
        let read: Vec<PeerId> =
            self.refused.iter().filter(|(_, at)| now.duration_since(**at) >= REFUSAL_GRACE).map(|(p, _)| *p).collect();
        for peer in read {
            self.refused.remove(&peer);
            self.table.peers.remove(&peer);
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let late: Vec<PeerId> = self
            .table
            .peers
            .iter()
            .filter(|(peer, p)| {
                p.proved.is_none()
                    && p.since.elapsed() > self.config.handshake_timeout
                    && !self.refused.contains_key(peer)
            })
            .map(|(peer, _)| *peer)
            .collect();
        for peer in late {
            self.reject(peer, "no membership proof in time", "timeout");
        }
        // Membership changes (a revoked key, withdrawn vouches): peers serving a key that is no
        // longer a member are dropped too, and so are peers proven over a ring that holds one
        // (they prove again over the current ring when they come back).
        let mut rings: HashMap<RecordId, bool> = HashMap::new();
        let mut lapsed = Vec::new();
        for (peer, p) in &self.table.peers {
            let current = match p.proved {
                None => true,
                Some(Proved::Member(m)) => self.federation.is_member(&m),
                Some(Proved::Anonymous(ring)) => *rings.entry(ring).or_insert_with(|| {
                    let ring = self.federation.ring_by_id(&ring).ok().flatten();
                    ring.is_some_and(|r| self.federation.ring_is_current(&r).unwrap_or(true))
                }),
            };
            if !current {
                lapsed.push(*peer);
            }
        }
        for peer in lapsed {
            self.reject(peer, "its member is no longer a member", "lapsed-member");
        }
    }

    /// Dials the bootstraps and the members learnt from proven members that are not connected
    /// and whose backoff has run out.
    fn redial_due(&mut self) {
        let now = Instant::now();
        let local = *self.swarm.local_peer_id();
        let mut dials: Vec<DialOpts> = Vec::new();
        for (address, (peer, backoff)) in &mut self.redial.bootstraps {
            if peer.is_some_and(|p| self.swarm.is_connected(&p)) || !backoff.due(now) {
                continue;
            }
            backoff.tried(now);
            dials.push(DialOpts::unknown_peer_id().address(address.clone()).build());
        }
        for (peer, (addresses, backoff)) in &mut self.redial.members {
            if *peer == local || self.swarm.is_connected(peer) || !backoff.due(now) {
                continue;
            }
            if self.table.proven_count() >= self.limits.proven {
                break;
            }
            backoff.tried(now);
            dials.push(
                DialOpts::peer_id(*peer)
                    .addresses(addresses.clone())
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build(),
            );
        }
        for opts in dials {
            if let Err(e) = self.swarm.dial(opts) {
                debug!(error = %e, "redial failed to start");
            }
        }
    }

    /// A node announced itself on the local network (mDNS, off unless configured): dial it (it
    /// must still prove membership like any other, and this node proves first).
    fn on_discovered(&mut self, peer: PeerId, address: Multiaddr) {
        if self.swarm.is_connected(&peer) || self.table.proven_count() >= self.limits.proven {
            return;
        }
        debug!(%peer, %address, "found on the local network");
        if let Err(e) = self.swarm.dial(address) {
            debug!(%peer, error = %e, "cannot dial a node found on the local network");
        }
    }

    /// Hands the records whose release is due to one random proven member (one request per
    /// release); with none connected they wait.
    fn release_due(&mut self) {
        let now = Instant::now();
        if !self.releases.iter().any(|(at, _)| *at <= now) {
            return;
        }
        let members = self.proven_with_sync();
        if members.is_empty() {
            return;
        }
        let (due, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.releases).into_iter().partition(|(at, _)| *at <= now);
        self.releases = waiting;
        for (_, records) in due {
            // A record purged while it waited is gone: its bytes must never leave now.
            let records = self.federation.store().still_held(records);
            for chunk in records.chunks(codec::MAX_RELAYED) {
                let pick = u64::from_le_bytes(crate::keys::random_bytes()) as usize % members.len();
                let request = Request::Relay { records: chunk.to_vec() };
                let id = self.swarm.behaviour_mut().sync.inner_mut().send_request(&members[pick], request);
                self.relays.insert(id, chunk.to_vec());
            }
        }
    }

    /// A relay was taken (or failed: sent again at the next check, perhaps through another).
    fn on_relay_answer(&mut self, records: Vec<Vec<u8>>, taken: bool) {
        if taken {
            let ids: Vec<RecordId> = records.iter().map(|r| RecordId::of(r)).collect();
            for id in &ids {
                self.withheld.remove(id);
            }
            // A relayed purge's targets need hiding no longer: the purge names them now.
            for target in records.iter().flat_map(|r| crate::store::purge_targets(r)) {
                self.withheld.remove(&target);
            }
            if let Err(e) = self.federation.store().mark_relayed(&ids) {
                warn!(error = %e, "cannot note relayed records: they are released again after a restart");
            }
            self.storage = None;
        } else {
            self.releases.push((Instant::now(), records));
        }
    }

    /// Another member's records, relayed through this node: stored and gossiped as this node's
    /// own traffic (they were verified as any record is).
    fn on_relay(&mut self, from: PeerId, records: Vec<Vec<u8>>) -> Response {
        if records.len() > codec::MAX_RELAYED {
            return Response::Refused { reason: format!("at most {} records per relay", codec::MAX_RELAYED) };
        }
        let outcomes = match self.federation.admit(&records) {
            Ok(o) => o,
            Err(e) => return Response::Refused { reason: e.to_string() },
        };
        for (bytes, outcome) in records.into_iter().zip(outcomes) {
            match outcome {
                Ok(Ingested::Stored { id, .. } | Ingested::Equivocation { id, .. }) => {
                    self.emit(NetworkEvent::RecordStored { id, from });
                    let gossip = self.swarm.behaviour_mut().gossipsub.inner_mut();
                    if let Err(e) = gossip.publish(self.topic.clone(), bytes) {
                        debug!(error = %e, "relayed record not gossiped (a catch-up spreads it)");
                    }
                }
                Ok(_) => {}
                Err(e) => debug!(peer = %from, reason = e.reason(), "relayed record refused"),
            }
        }
        Response::Relayed
    }

    fn on_gossip(&mut self, source: PeerId, id: MessageId, data: Vec<u8>) {
        let acceptance = if !self.is_proven(&source) {
            MessageAcceptance::Ignore
        } else {
            match self.federation.admit(&[&data]) {
                Ok(mut outcomes) => match outcomes.remove(0) {
                    Ok(Ingested::Stored { id, .. } | Ingested::Equivocation { id, .. }) => {
                        self.emit(NetworkEvent::RecordStored { id, from: source });
                        MessageAcceptance::Accept
                    }
                    // Purged here: verified, but its bytes go no further.
                    Ok(Ingested::Duplicate { .. } | Ingested::Purged { .. }) => MessageAcceptance::Ignore,
                    // Valid perhaps, but its ring has not reached this node yet: a sync brings both.
                    Err(RecordError::UnknownRing(_)) => MessageAcceptance::Ignore,
                    Err(e) => {
                        debug!(peer = %source, reason = e.reason(), "rejected gossiped record");
                        self.emit(NetworkEvent::RecordRejected { peer: source, reason: e.reason() });
                        MessageAcceptance::Reject
                    }
                },
                Err(e) => {
                    warn!(error = %e, "store failed while ingesting gossip");
                    MessageAcceptance::Ignore
                }
            }
        };
        self.swarm.behaviour_mut().gossipsub.inner_mut().report_message_validation_result(&id, &source, acceptance);
    }

    /// Proven members whose full connection (with the sync protocol) is open.
    fn proven_with_sync(&self) -> Vec<PeerId> {
        self.table
            .peers
            .iter()
            .filter(|(peer, p)| p.proved.is_some() && self.swarm.behaviour().sync.is_open(peer))
            .map(|(peer, _)| *peer)
            .collect()
    }

    fn sync_all(&mut self) {
        let proven = self.proven_with_sync();
        for peer in proven {
            self.start_sync(peer);
            self.swarm.behaviour_mut().sync.inner_mut().send_request(&peer, Request::Peers);
        }
    }

    /// Where this node and the members it is connected to listen: for proven members only.
    fn peer_list(&self) -> Vec<PeerAddresses> {
        let own: Vec<Multiaddr> = self.swarm.listeners().cloned().collect();
        let mut out = vec![PeerAddresses::new(self.swarm.local_peer_id(), &own)];
        for (peer, p) in &self.table.peers {
            if p.proved.is_some() && !p.listen.is_empty() && out.len() < MAX_PEERS_LISTED {
                out.push(PeerAddresses::new(peer, &p.listen));
            }
        }
        out
    }

    /// Keeps a member's addresses for the next run (peer exchange is among proven members only).
    fn remember(&self, peer: &PeerId, addresses: &[Multiaddr]) {
        let raw: Vec<Vec<u8>> = addresses.iter().map(|a| a.to_vec()).collect();
        if let Err(e) = self.federation.store().remember_peer(&peer.to_bytes(), &raw) {
            debug!(error = %e, "cannot remember a peer's addresses");
        }
    }

    fn on_peer_list(&mut self, from: PeerId, peers: Vec<PeerAddresses>) {
        let local = *self.swarm.local_peer_id();
        for (i, entry) in peers.iter().take(MAX_PEERS_LISTED).enumerate() {
            let Some((peer, addresses)) = entry.parse() else { continue };
            if i == 0 {
                // The responder's own addresses: only its own claim about itself counts.
                if peer == from
                    && let Some(p) = self.table.peers.get_mut(&from)
                {
                    p.listen = addresses.clone();
                    self.remember(&from, &addresses);
                    self.redial.learn(from, addresses);
                }
                continue;
            }
            if peer != local && !self.swarm.is_connected(&peer) {
                self.remember(&peer, &addresses);
                self.redial.learn(peer, addresses);
            }
        }
    }
    /// Ends the catch-up session with `peer`, if one runs, unfinished: says so, and goes on with
    /// every other proven member at once, so a catch-up whose peer went away resumes from any
    /// other rather than waiting for the next interval.
    fn abandon_session(&mut self, peer: PeerId) {
        let Some(session) = self.sessions.remove(&peer) else { return };
        info!(%peer, fetched = session.fetched, "catch-up broke off: going on with the other members");
        self.emit(NetworkEvent::SyncAbandoned { peer, fetched: session.fetched });
        for other in self.proven_with_sync() {
            if other != peer {
                self.start_sync(other);
            }
        }
    }

    fn start_sync(&mut self, peer: PeerId) {
        if self.sessions.contains_key(&peer) {
            return;
        }
        match sync::storage(self.federation.store(), &self.withheld).and_then(Session::start) {
            Ok((session, message)) => {
                self.sessions.insert(peer, session);
                self.swarm.behaviour_mut().sync.inner_mut().send_request(&peer, Request::Reconcile { message });
            }
            Err(e) => warn!(%peer, error = %e, "cannot start reconciliation"),
        }
    }

    /// The responder's id set, rebuilt only when the store has changed.
    fn responder_storage(&mut self) -> Result<Arc<NegentropyStorageVector>, sync::SyncError> {
        let count = self.federation.store().record_count();
        if let Some((at, storage)) = &self.storage
            && *at == count
        {
            return Ok(storage.clone());
        }
        let storage = Arc::new(sync::storage(self.federation.store(), &self.withheld)?);
        self.storage = Some((count, storage.clone()));
        Ok(storage)
    }

    fn on_sync(&mut self, event: request_response::Event<Request, Response>) {
        match event {
            request_response::Event::Message {
                peer,
                message: request_response::Message::Request { request, channel, .. },
                ..
            } => {
                let response = self.answer(peer, request);
                let _ = self.swarm.behaviour_mut().sync.inner_mut().send_response(channel, response);
            }
            request_response::Event::Message {
                peer,
                message: request_response::Message::Response { request_id, response },
                ..
            } => self.on_response(peer, request_id, response),
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                debug!(%peer, %error, "sync request failed");
                if self.fetches.remove(&request_id).is_some() {
                    self.abandon_session(peer);
                }
                if let Some(records) = self.relays.remove(&request_id) {
                    self.on_relay_answer(records, false);
                }
            }
            _ => {}
        }
    }

    fn answer(&mut self, peer: PeerId, request: Request) -> Response {
        let refuse = |reason: &str| Response::Refused { reason: reason.to_string() };
        // Only proven peers have a sync connection at all (gate.rs); this is a second lock.
        if !self.is_proven(&peer) {
            return refuse("membership not proven");
        }
        match request {
            Request::Reconcile { message } => {
                match self.responder_storage().and_then(|s| sync::respond(&s, &message)) {
                    Ok(message) => Response::Reconcile { message },
                    Err(e) => refuse(&e.to_string()),
                }
            }
            Request::Fetch { ids } => match sync::fetch(self.federation.store(), &ids) {
                Ok(records) => Response::Records { records },
                Err(e) => refuse(&e.to_string()),
            },
            Request::Peers => Response::Peers { peers: self.peer_list() },
            Request::Relay { records } => self.on_relay(peer, records),
        }
    }

    fn on_response(&mut self, peer: PeerId, request_id: OutboundRequestId, response: Response) {
        if let Response::Peers { peers } = response {
            self.on_peer_list(peer, peers);
            return;
        }
        if let Some(records) = self.relays.remove(&request_id) {
            self.on_relay_answer(records, matches!(response, Response::Relayed));
            return;
        }
        let asked = self.fetches.remove(&request_id);
        let Some(mut session) = self.sessions.remove(&peer) else { return };
        let mut requests = Vec::new();
        match response {
            Response::Reconcile { message } => match session.step(&message) {
                Ok(Some(next)) => requests.push(Request::Reconcile { message: next }),
                Ok(None) => {} // reconciled: the fetches are sent below
                Err(e) => {
                    warn!(%peer, error = %e, "reconciliation failed");
                    self.sessions.insert(peer, session);
                    self.abandon_session(peer);
                    return;
                }
            },
            Response::Records { records } => {
                self.admit_fetched(peer, asked.unwrap_or_default(), records);
            }
            Response::Refused { reason } => {
                debug!(%peer, %reason, "sync refused");
                self.sessions.insert(peer, session);
                self.abandon_session(peer);
                return;
            }
            Response::Peers { .. } => unreachable!("handled above"),
            Response::Relayed => return, // an answer to a relay this node no longer tracks
        }
        self.continue_session(peer, session, requests);
    }

    /// Verifies and stores fetched records on a blocking thread; the outcome comes back as
    /// [`Admitted`].
    fn admit_fetched(&mut self, peer: PeerId, asked: Vec<[u8; 32]>, records: Vec<Vec<u8>>) {
        let (federation, done) = (self.federation.clone(), self.admitted_tx.clone());
        self.admitting += 1;
        tokio::task::spawn_blocking(move || {
            let deferred = |o: &Result<Ingested, RecordError>| {
                o.as_ref().is_err_and(|e| matches!(e, RecordError::NotMember(_) | RecordError::UnknownRing(_)))
            };
            let (stored, deferred) = match federation.admit(&records) {
                Ok(outcomes) => {
                    let rejected = outcomes
                        .iter()
                        .filter(|o| {
                            o.as_ref()
                                .is_err_and(|e| !matches!(e, RecordError::NotMember(_) | RecordError::UnknownRing(_)))
                        })
                        .count();
                    if rejected > 0 {
                        warn!(%peer, rejected, "peer served invalid records");
                    }
                    let stored = outcomes
                        .iter()
                        .filter(|o| matches!(o, Ok(Ingested::Stored { .. } | Ingested::Equivocation { .. })))
                        .count();
                    (stored, outcomes.iter().filter(|o| deferred(o)).count())
                }
                Err(e) => {
                    warn!(error = %e, "store failed while ingesting fetched records");
                    (0, 0)
                }
            };
            // Ids the peer did not fit in this answer are asked again; a purge answered for a
            // purged one settles it.
            let missing = if !records.is_empty() && records.len() < asked.len() {
                let got: HashSet<[u8; 32]> = records.iter().map(|r| *blake3::hash(r).as_bytes()).collect();
                let store = federation.store();
                asked
                    .into_iter()
                    .filter(|id| {
                        !got.contains(id) && !store.purge_names(&lantern_protocol::RecordId(*id)).unwrap_or(false)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            // Let go of the store before answering: a shutdown that waits for this answer then
            // leaves nothing of the network holding it.
            drop(federation);
            // The task may have stopped: then nobody waits for the answer.
            let _ = done.blocking_send(Admitted { peer, stored, missing, deferred });
        });
    }

    fn on_admitted(&mut self, admitted: Admitted) {
        self.admitting = self.admitting.saturating_sub(1);
        let Admitted { peer, stored, missing, deferred } = admitted;
        let Some(mut session) = self.sessions.remove(&peer) else { return };
        session.fetch_answered();
        session.fetched += stored;
        session.deferred += deferred;
        session.need.extend(missing.into_iter().map(lantern_protocol::RecordId));
        self.emit(NetworkEvent::SyncProgress { peer, fetched: session.fetched, remaining: session.need.len() });
        self.continue_session(peer, session, Vec::new());
    }

    /// Sends `requests` and the fetches the session has room for, or reports it finished.
    fn continue_session(&mut self, peer: PeerId, mut session: Session, mut requests: Vec<Request>) {
        requests.extend(session.fetches_to_send().into_iter().map(|ids| Request::Fetch { ids }));
        if session.is_finished() {
            info!(%peer, fetched = session.fetched, round_trips = session.round_trips, "reconciled");
            self.emit(NetworkEvent::SyncFinished {
                peer,
                fetched: session.fetched,
                round_trips: session.round_trips,
                bytes_sent: session.bytes_sent,
                bytes_received: session.bytes_received,
            });
            // Records that waited for their author's vouches or their ring, which this session
            // may have brought: reconcile again at once rather than at the next interval. Each
            // follow-up stored something, so a catch-up ends after a few.
            if session.deferred > 0 && session.fetched > 0 {
                debug!(%peer, deferred = session.deferred, "records waited for membership or a ring: reconciling again");
                self.start_sync(peer);
            }
            return;
        }
        for request in requests {
            let ids = match &request {
                Request::Fetch { ids } => Some(ids.clone()),
                _ => None,
            };
            let id = self.swarm.behaviour_mut().sync.inner_mut().send_request(&peer, request);
            if let Some(ids) = ids {
                self.fetches.insert(id, ids);
            }
        }
        self.sessions.insert(peer, session);
    }
}
