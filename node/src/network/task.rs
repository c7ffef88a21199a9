//! The swarm task: owns the [`Swarm`], turns its events into [`NetworkEvent`]s, answers
//! [`Command`]s.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use lantern_protocol::record::Body;
use lantern_protocol::{MemberKey, RecordError, signed};
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, ValidationMode};
use libp2p::identity::{Keypair, PublicKey};
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{PeerId, Swarm, identify, kad, mdns, noise, ping, tcp, yamux};
use negentropy::NegentropyStorageVector;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::codec::{self, Codec, Request, Response};
use super::sync::{self, Session};
use super::{Client, Command, NetworkConfig, NetworkError, NetworkEvent, PeerInfo};
use crate::federation::Federation;
use crate::store::Ingested;

/// Bound of the command and event channels.
const CHANNEL: usize = 256;
/// Application score of a peer that has not proved membership: below the publish threshold, so
/// it is sent nothing, but above the graylist, so its subscriptions still count once proven.
const UNPROVEN_SCORE: f64 = -60.0;

#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<Codec>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Gossipsub with manual validation, anonymous messages, record ids as message ids, and peer
/// scoring whose thresholds are documented in docs/federation.md.
fn gossipsub(topic: &IdentTopic, max_record_bytes: usize) -> Result<gossipsub::Behaviour, String> {
    let config = gossipsub::ConfigBuilder::default()
        .validation_mode(ValidationMode::Anonymous)
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| MessageId::from(blake3::hash(&m.data).as_bytes().to_vec()))
        // A record plus protobuf framing.
        .max_transmit_size(max_record_bytes + 1024)
        .heartbeat_interval(Duration::from_millis(700))
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

/// Builds the swarm, starts listening and dialling, and spawns its task.
pub fn spawn(
    federation: Arc<Federation>,
    keypair: Keypair,
    config: NetworkConfig,
) -> Result<(Client, mpsc::Receiver<NetworkEvent>, JoinHandle<()>), NetworkError> {
    let fail = |e: &dyn std::fmt::Display| NetworkError::Failed(e.to_string());
    let node_key: [u8; 32] = keypair.public().try_into_ed25519().map_err(|e| fail(&e))?.to_bytes();
    let binding = federation.node_binding(node_key).map_err(|e| fail(&e))?;
    let topic = IdentTopic::new(format!("/lantern/{}/records/1", federation.manifest().id()));
    let max_record = federation.store().context().max_record_bytes;
    let local_peer_id = keypair.public().to_peer_id();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| fail(&e))?
        .with_quic()
        .with_behaviour(|key| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
            let peer_id = key.public().to_peer_id();
            // A DHT of our own, not the public one; discovery queries are ours to schedule.
            let mut kad_config = kad::Config::new(libp2p::StreamProtocol::new("/lantern/kad/1"));
            kad_config.set_periodic_bootstrap_interval(None);
            let mut kad = kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_config);
            kad.set_mode(Some(kad::Mode::Server));
            Ok(Behaviour {
                gossipsub: gossipsub(&topic, max_record)?,
                sync: request_response::Behaviour::new(
                    [(codec::PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30))
                        .with_max_concurrent_streams(64),
                ),
                identify: identify::Behaviour::new(identify::Config::new("/lantern/1".into(), key.public())),
                ping: ping::Behaviour::new(ping::Config::new()),
                kad,
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
        swarm.listen_on(address.clone()).map_err(|e| fail(&e))?;
    }
    for address in &config.bootstrap {
        if let Err(e) = swarm.dial(address.clone()) {
            warn!(%address, error = %e, "cannot dial bootstrap peer");
        }
    }
    let p2p_metrics = config
        .metrics
        .as_ref()
        .map(|m| m.with_registry(|r| libp2p::metrics::Metrics::new(r.sub_registry_with_prefix("libp2p"))));
    let (tx, commands) = mpsc::channel(CHANNEL);
    let (events, rx_events) = mpsc::channel(CHANNEL);
    let (admitted_tx, admitted) = mpsc::channel(CHANNEL);
    let client = Client { tx, peer_id: local_peer_id, federation: federation.clone() };
    let task = Task {
        swarm,
        federation,
        commands,
        events,
        topic,
        binding,
        peers: HashMap::new(),
        hellos: HashSet::new(),
        sessions: HashMap::new(),
        fetches: HashMap::new(),
        admitted_tx,
        admitted,
        storage: None,
        config,
        p2p_metrics,
    };
    Ok((client, rx_events, tokio::spawn(task.run())))
}

/// A batch of fetched records, admitted.
struct Admitted {
    peer: PeerId,
    /// Records newly stored.
    stored: usize,
    /// Ids asked for that the answer did not carry (it was full): to ask again.
    missing: Vec<[u8; 32]>,
}

struct Peer {
    member: Option<MemberKey>,
    since: Instant,
}

struct Task {
    swarm: Swarm<Behaviour>,
    federation: Arc<Federation>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetworkEvent>,
    topic: IdentTopic,
    binding: Vec<u8>,
    peers: HashMap<PeerId, Peer>,
    /// Outbound hello requests in flight.
    hellos: HashSet<OutboundRequestId>,
    /// Reconciliations this node started, one per peer.
    sessions: HashMap<PeerId, Session>,
    /// Ids asked for in fetches in flight.
    fetches: HashMap<OutboundRequestId, Vec<[u8; 32]>>,
    /// Fetched records are verified and stored off this task (it keeps serving the network
    /// meanwhile); what became of them comes back here. At most `FETCH_WINDOW` batches per
    /// session are fetched and not yet admitted.
    admitted_tx: mpsc::Sender<Admitted>,
    admitted: mpsc::Receiver<Admitted>,
    /// The responder's sealed id set, with the record count it was built at.
    storage: Option<(usize, Arc<NegentropyStorageVector>)>,
    config: NetworkConfig,
    p2p_metrics: Option<libp2p::metrics::Metrics>,
}

impl Task {
    async fn run(mut self) {
        let mut sync_tick = tokio::time::interval(self.config.sync_interval);
        let mut check_tick = tokio::time::interval(Duration::from_secs(1));
        let mut kad_tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm(event),
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown { reply }) => {
                        let _ = reply.send(());
                        break;
                    }
                    Some(command) => self.on_command(command),
                    None => break,
                },
                Some(admitted) = self.admitted.recv() => self.on_admitted(admitted),
                _ = sync_tick.tick() => self.sync_all(),
                _ = check_tick.tick() => self.drop_unproven(),
                _ = kad_tick.tick() => self.discover(),
            }
        }
        info!("network task stopped");
    }

    fn emit(&self, event: NetworkEvent) {
        // Events are informational; when nobody keeps up, they are dropped, never queued unbounded.
        let _ = self.events.try_send(event);
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { record, reply } => {
                let result = self.swarm.behaviour_mut().gossipsub.publish(self.topic.clone(), record);
                let _ = reply.send(match result {
                    Ok(_) | Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => Ok(()),
                    Err(e) => Err(e.to_string()),
                });
            }
            Command::Dial { address, reply } => {
                let _ = reply.send(self.swarm.dial(address).map_err(|e| e.to_string()));
            }
            Command::Disconnect { peer } => {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::Peers { reply } => {
                let gossip = &self.swarm.behaviour().gossipsub;
                let peers = self
                    .peers
                    .iter()
                    .map(|(peer, p)| PeerInfo { peer: *peer, member: p.member, score: gossip.peer_score(peer) })
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
                SwarmEvent::Behaviour(BehaviourEvent::Identify(e)) => m.record(e),
                SwarmEvent::Behaviour(BehaviourEvent::Kad(e)) => m.record(e),
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
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                // A new connection to a peer not proven yet (first contact, or a redial while a
                // refused connection is still closing) says hello again.
                if self.peers.get(&peer_id).is_some_and(|p| p.member.is_some()) {
                    return;
                }
                if !self.peers.contains_key(&peer_id) && self.peers.len() >= self.config.max_peers {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                let now = Instant::now();
                self.peers.entry(peer_id).and_modify(|p| p.since = now).or_insert(Peer { member: None, since: now });
                self.swarm.behaviour_mut().gossipsub.set_application_score(&peer_id, UNPROVEN_SCORE);
                let hello = Request::Hello { binding: self.binding.clone() };
                let id = self.swarm.behaviour_mut().sync.send_request(&peer_id, hello);
                self.hellos.insert(id);
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
                self.peers.remove(&peer_id);
                self.sessions.remove(&peer_id);
            }
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
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                for address in info.listen_addrs {
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, address);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                result: kad::QueryResult::GetClosestPeers(Ok(found)),
                ..
            })) => {
                for peer in found.peers {
                    if !self.peers.contains_key(&peer.peer_id)
                        && peer.peer_id != *self.swarm.local_peer_id()
                        && self.peers.len() < self.config.max_peers
                    {
                        let _ = self.swarm.dial(peer.peer_id);
                    }
                }
            }
            _ => {}
        }
    }

    /// Checks a peer's binding record: valid, a node binding for this very peer's key, by a
    /// current member. Stores it (it is a record like any other).
    fn check_binding(&self, peer: &PeerId, binding: &[u8]) -> Result<MemberKey, String> {
        let record = signed::verify(binding, self.federation.store().context()).map_err(|e| e.to_string())?;
        let Body::NodeBinding(b) = &record.envelope().body else {
            return Err("hello does not carry a node binding".into());
        };
        let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(&b.node_key).map_err(|e| e.to_string())?;
        if PublicKey::from(key).to_peer_id() != *peer {
            return Err("node binding is for another node".into());
        }
        if !self.federation.is_member(&record.author()) {
            return Err(format!("{} is not a current member", record.author().short()));
        }
        let _ = self.federation.admit(&[binding]);
        Ok(record.author())
    }

    /// Marks `peer` as proven if its binding checks out; the caller handles a failure.
    fn authenticate(&mut self, peer: PeerId, binding: &[u8]) -> Result<(), String> {
        let member = self.check_binding(&peer, binding)?;
        let newly = match self.peers.get_mut(&peer) {
            Some(p) if p.member.is_none() => {
                p.member = Some(member);
                true
            }
            _ => false,
        };
        if newly {
            debug!(%peer, member = %member.short(), "peer proved membership");
            self.swarm.behaviour_mut().gossipsub.set_application_score(&peer, 0.0);
            self.emit(NetworkEvent::PeerAuthenticated { peer, member });
            self.start_sync(peer);
        }
        Ok(())
    }

    fn reject(&mut self, peer: PeerId, reason: String) {
        warn!(%peer, %reason, "peer failed to prove membership");
        self.emit(NetworkEvent::PeerRejected { peer, reason });
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn is_proven(&self, peer: &PeerId) -> bool {
        self.peers.get(peer).is_some_and(|p| p.member.is_some())
    }

    fn drop_unproven(&mut self) {
        let late: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.member.is_none() && p.since.elapsed() > self.config.handshake_timeout)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in late {
            self.reject(peer, "no membership proof in time".into());
        }
        // Membership changes (a revoked key, withdrawn vouches): peers serving a key that is no
        // longer a member are dropped too.
        let lapsed: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.member.is_some_and(|m| !self.federation.is_member(&m)))
            .map(|(peer, _)| *peer)
            .collect();
        for peer in lapsed {
            self.reject(peer, "its member is no longer a member".into());
        }
    }

    /// A node announced itself on the local network: dial it if there is room (it must still
    /// prove membership like any other).
    fn on_discovered(&mut self, peer: PeerId, address: libp2p::Multiaddr) {
        if self.swarm.is_connected(&peer) || self.peers.len() >= self.config.max_peers {
            return;
        }
        debug!(%peer, %address, "found on the local network");
        self.swarm.behaviour_mut().kad.add_address(&peer, address.clone());
        if let Err(e) = self.swarm.dial(address) {
            debug!(%peer, error = %e, "cannot dial a node found on the local network");
        }
    }

    fn discover(&mut self) {
        if !self.peers.is_empty() {
            self.swarm.behaviour_mut().kad.get_closest_peers(PeerId::random());
        }
    }

    fn on_gossip(&mut self, source: PeerId, id: MessageId, data: Vec<u8>) {
        let acceptance = if !self.is_proven(&source) {
            MessageAcceptance::Ignore
        } else {
            match self.federation.admit(&[&data]) {
                Ok(mut outcomes) => match outcomes.remove(0) {
                    Ok(Ingested::Stored { id, .. } | Ingested::Equivocation { id, .. }) => {
                        self.emit(NetworkEvent::RecordStored { id });
                        MessageAcceptance::Accept
                    }
                    // Purged here: verified, but its bytes go no further.
                    Ok(Ingested::Duplicate { .. } | Ingested::Purged { .. }) => MessageAcceptance::Ignore,
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
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(&id, &source, acceptance);
    }

    fn sync_all(&mut self) {
        let proven: Vec<PeerId> = self.peers.iter().filter(|(_, p)| p.member.is_some()).map(|(id, _)| *id).collect();
        for peer in proven {
            self.start_sync(peer);
        }
    }

    fn start_sync(&mut self, peer: PeerId) {
        if self.sessions.contains_key(&peer) {
            return;
        }
        match sync::storage(self.federation.store()).and_then(Session::start) {
            Ok((session, message)) => {
                self.sessions.insert(peer, session);
                self.swarm.behaviour_mut().sync.send_request(&peer, Request::Reconcile { message });
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
        let storage = Arc::new(sync::storage(self.federation.store())?);
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
                let hello = matches!(request, Request::Hello { .. });
                let response = self.answer(peer, request);
                let refused = match &response {
                    Response::Refused { reason } if hello => Some(reason.clone()),
                    _ => None,
                };
                let _ = self.swarm.behaviour_mut().sync.send_response(channel, response);
                // Answer first, so the peer learns why, then hang up.
                if let Some(reason) = refused {
                    self.reject(peer, reason);
                }
            }
            request_response::Event::Message {
                peer,
                message: request_response::Message::Response { request_id, response },
                ..
            } => self.on_response(peer, request_id, response),
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                debug!(%peer, %error, "sync request failed");
                self.fetches.remove(&request_id);
                if self.hellos.remove(&request_id) {
                    self.reject(peer, format!("handshake failed: {error}"));
                    return;
                }
                self.sessions.remove(&peer);
            }
            _ => {}
        }
    }

    fn answer(&mut self, peer: PeerId, request: Request) -> Response {
        let refuse = |reason: &str| Response::Refused { reason: reason.to_string() };
        match request {
            Request::Hello { binding } => match self.authenticate(peer, &binding) {
                Ok(()) => Response::Hello { binding: self.binding.clone() },
                Err(reason) => refuse(&reason),
            },
            _ if !self.is_proven(&peer) => refuse("membership not proven"),
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
        }
    }

    fn on_response(&mut self, peer: PeerId, request_id: OutboundRequestId, response: Response) {
        if self.hellos.remove(&request_id) {
            match response {
                Response::Hello { binding } => {
                    if let Err(reason) = self.authenticate(peer, &binding) {
                        self.reject(peer, reason);
                    }
                }
                Response::Refused { reason } => self.reject(peer, format!("peer refused our proof: {reason}")),
                _ => self.reject(peer, "unexpected answer to hello".into()),
            }
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
                    return;
                }
            },
            Response::Records { records } => {
                self.admit_fetched(peer, asked.unwrap_or_default(), records);
            }
            Response::Refused { reason } => {
                debug!(%peer, %reason, "sync refused");
                return;
            }
            Response::Hello { .. } => return,
        }
        self.continue_session(peer, session, requests);
    }

    /// Verifies and stores fetched records on a blocking thread; the outcome comes back as
    /// [`Admitted`].
    fn admit_fetched(&self, peer: PeerId, asked: Vec<[u8; 32]>, records: Vec<Vec<u8>>) {
        let (federation, done) = (self.federation.clone(), self.admitted_tx.clone());
        tokio::task::spawn_blocking(move || {
            let stored = match federation.admit(&records) {
                Ok(outcomes) => {
                    let rejected = outcomes
                        .iter()
                        .filter(|o| o.as_ref().is_err_and(|e| !matches!(e, RecordError::NotMember(_))))
                        .count();
                    if rejected > 0 {
                        warn!(%peer, rejected, "peer served invalid records");
                    }
                    outcomes
                        .iter()
                        .filter(|o| matches!(o, Ok(Ingested::Stored { .. } | Ingested::Equivocation { .. })))
                        .count()
                }
                Err(e) => {
                    warn!(error = %e, "store failed while ingesting fetched records");
                    0
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
            // The task may have stopped: then nobody waits for the answer.
            let _ = done.blocking_send(Admitted { peer, stored, missing });
        });
    }

    fn on_admitted(&mut self, admitted: Admitted) {
        let Admitted { peer, stored, missing } = admitted;
        let Some(mut session) = self.sessions.remove(&peer) else { return };
        session.fetch_answered();
        session.fetched += stored;
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
            return;
        }
        for request in requests {
            let ids = match &request {
                Request::Fetch { ids } => Some(ids.clone()),
                _ => None,
            };
            let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
            if let Some(ids) = ids {
                self.fetches.insert(id, ids);
            }
        }
        self.sessions.insert(peer, session);
    }
}
