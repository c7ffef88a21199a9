//! A behaviour that exists only on connections to proven members.
//!
//! libp2p fixes a connection's protocols when the connection is established, so a peer that has
//! proved nothing cannot be given gossip or sync "later" on the same connection. [`Gated`] wraps a
//! behaviour and hands it only connections opened after their peer was proven (the shared
//! [`Proven`] set); on every other connection it installs a handler that speaks no protocol at
//! all, and the inner behaviour never hears of the connection. So before proof a peer can
//! negotiate nothing of it: gossipsub announces no topic, the sync protocol reads no frame.
//! After proof the dialler opens a second connection, which carries everything (task.rs).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use either::Either;
use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::swarm::behaviour::{ConnectionClosed, ConnectionEstablished, FromSwarm};
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, NetworkBehaviour, NotifyHandler, THandler, THandlerInEvent, THandlerOutEvent,
    ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

/// Peers proven to serve a current member, shared by the task and every [`Gated`] behaviour.
#[derive(Clone, Default)]
pub struct Proven(Arc<RwLock<HashSet<PeerId>>>);

impl Proven {
    pub fn insert(&self, peer: PeerId) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).insert(peer);
    }

    pub fn remove(&self, peer: &PeerId) {
        self.0.write().unwrap_or_else(|p| p.into_inner()).remove(peer);
    }

    pub fn contains(&self, peer: &PeerId) -> bool {
        self.0.read().unwrap_or_else(|p| p.into_inner()).contains(peer)
    }
}

pub struct Gated<B> {
    inner: B,
    proven: Proven,
    /// The connections the inner behaviour was given, per peer.
    open: HashMap<PeerId, HashSet<ConnectionId>>,
}

impl<B> Gated<B> {
    pub fn new(inner: B, proven: Proven) -> Self {
        Self { inner, proven, open: HashMap::new() }
    }

    pub fn inner(&self) -> &B {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut B {
        &mut self.inner
    }

    /// Whether the inner behaviour has a connection to `peer`.
    pub fn is_open(&self, peer: &PeerId) -> bool {
        self.open.get(peer).is_some_and(|c| !c.is_empty())
    }

    fn others(&self, peer: &PeerId, connection: ConnectionId) -> usize {
        self.open.get(peer).map_or(0, |c| c.iter().filter(|&&id| id != connection).count())
    }
}

impl<B: NetworkBehaviour> NetworkBehaviour for Gated<B> {
    type ConnectionHandler = Either<THandler<B>, dummy::ConnectionHandler>;
    type ToSwarm = B::ToSwarm;

    fn handle_established_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if !self.proven.contains(&peer) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let handler = self.inner.handle_established_inbound_connection(connection_id, peer, local_addr, remote_addr)?;
        self.open.entry(peer).or_default().insert(connection_id);
        Ok(Either::Left(handler))
    }

    fn handle_pending_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        maybe_peer: Option<PeerId>,
        addresses: &[Multiaddr],
        effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.inner.handle_pending_outbound_connection(connection_id, maybe_peer, addresses, effective_role)
    }

    fn handle_established_outbound_connection(
        &mut self,
        connection_id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        role_override: Endpoint,
        port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        if !self.proven.contains(&peer) {
            return Ok(Either::Right(dummy::ConnectionHandler));
        }
        let handler =
            self.inner.handle_established_outbound_connection(connection_id, peer, addr, role_override, port_use)?;
        self.open.entry(peer).or_default().insert(connection_id);
        Ok(Either::Left(handler))
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) => {
                if self.open.get(&e.peer_id).is_some_and(|c| c.contains(&e.connection_id)) {
                    let other_established = self.others(&e.peer_id, e.connection_id);
                    self.inner.on_swarm_event(FromSwarm::ConnectionEstablished(ConnectionEstablished {
                        other_established,
                        ..e
                    }));
                }
            }
            FromSwarm::ConnectionClosed(e) => {
                let Some(open) = self.open.get_mut(&e.peer_id) else { return };
                if !open.remove(&e.connection_id) {
                    return;
                }
                let remaining_established = open.len();
                if open.is_empty() {
                    self.open.remove(&e.peer_id);
                }
                self.inner.on_swarm_event(FromSwarm::ConnectionClosed(ConnectionClosed { remaining_established, ..e }));
            }
            FromSwarm::AddressChange(e) => {
                if self.open.get(&e.peer_id).is_some_and(|c| c.contains(&e.connection_id)) {
                    self.inner.on_swarm_event(FromSwarm::AddressChange(e));
                }
            }
            other => self.inner.on_swarm_event(other),
        }
    }

    fn on_connection_handler_event(
        &mut self,
        peer_id: PeerId,
        connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {
            Either::Left(event) => self.inner.on_connection_handler_event(peer_id, connection_id, event),
            Either::Right(never) => match never {},
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        loop {
            let event = match self.inner.poll(cx) {
                Poll::Ready(event) => event,
                Poll::Pending => return Poll::Pending,
            };
            // An event for "any" connection of a peer must reach one the inner behaviour owns,
            // never a gated one (whose handler speaks nothing).
            let event = match event {
                ToSwarm::NotifyHandler { peer_id, handler: NotifyHandler::Any, event } => {
                    let Some(&one) = self.open.get(&peer_id).and_then(|c| c.iter().next()) else { continue };
                    ToSwarm::NotifyHandler { peer_id, handler: NotifyHandler::One(one), event }
                }
                other => other,
            };
            return Poll::Ready(event.map_in(Either::Left));
        }
    }
}
