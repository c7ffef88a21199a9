//! The hello handshake on the swarm task. Proofs are made and checked on blocking threads (a
//! ring proof costs ~75 ms to make and ~5 ms to check at 512 members, which on the task would
//! stall every connection's gossip and sync); their results come back as [`Done`] and the task
//! only keeps the books: slots, the peer table, requests and answers.

use libp2p::PeerId;
use libp2p::request_response::{self, InboundRequestId};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use tracing::debug;

use super::Task;
use crate::federation::Federation;
use crate::network::NetworkEvent;
use crate::network::codec::{HelloRequest, HelloResponse, Proof};
use crate::network::hello_proof::{self, Role};
use crate::network::peers::Proved;

/// Hellos checked at once for peers that dialled in; more are refused as busy (unproven peers
/// are capped too, so this is a bound on the work an outsider can cause, not a queue).
const MAX_CHECKING: usize = 32;

type Refusal = (String, &'static str);

/// A handshake step done on a blocking thread.
pub(super) enum Done {
    /// This node (the dialler) made its proof: send it.
    Made { peer: PeerId, proof: Proof },
    /// This node (the listener) checked the dialler's proof and made its own answer.
    Checked { peer: PeerId, request: InboundRequestId, outcome: Result<(Proved, Proof), Refusal> },
    /// This node (the dialler) checked the listener's answer.
    Answered { peer: PeerId, outcome: Result<Proved, Refusal> },
}

/// The other end's proof, made as `role`, for the connection `pair` names.
fn check(fed: &Federation, pair: [u8; 32], role: Role, proof: &Proof) -> Result<Proved, Refusal> {
    Ok(match proof {
        Proof::Named { member, signature } => {
            Proved::Member(hello_proof::check_named(fed, pair, role, *member, signature)?)
        }
        Proof::Anonymous { ring, ring_record, tag, proof } => {
            Proved::Anonymous(hello_proof::check(fed, pair, role, *ring, ring_record.as_deref(), *tag, proof)?)
        }
    })
}

/// This node's proof as `role`: anonymous (over `over`, the ring the other end proved with, if
/// it did) when possible and not refused before, else named.
fn make(fed: &Federation, pair: [u8; 32], role: Role, over: Option<Proved>, anonymous: bool) -> Proof {
    let ring = match over {
        Some(Proved::Anonymous(ring)) => Some(ring),
        // A dialler that named its member gets the listener's named proof.
        Some(Proved::Member(_)) => return named(fed, pair, role),
        None => None,
    };
    anonymous.then(|| hello_proof::make(fed, pair, role, ring)).flatten().unwrap_or_else(|| named(fed, pair, role))
}

fn named(fed: &Federation, pair: [u8; 32], role: Role) -> Proof {
    hello_proof::named(fed.signing_key(), &fed.manifest().id(), pair, role)
}

impl Task {
    /// Runs `work` on a blocking thread; its result comes back to [`Self::on_handshake`].
    fn off_task(&mut self, work: impl FnOnce(&Federation) -> Done + Send + 'static) {
        let (fed, done) = (self.federation.clone(), self.handshake_tx.clone());
        self.handshaking += 1;
        tokio::task::spawn_blocking(move || {
            let result = work(&fed);
            // Let go of the store before answering (a shutdown waits for this answer).
            drop(fed);
            let _ = done.blocking_send(result);
        });
    }

    /// The pair of peer ids a handshake with `peer` is bound to, dialler first.
    fn pair_with(&self, peer: &PeerId, dialler: bool) -> [u8; 32] {
        let me = self.swarm.local_peer_id();
        if dialler { hello_proof::pair(me, peer) } else { hello_proof::pair(peer, me) }
    }

    /// This node dialled `peer`: it proves first.
    pub(super) fn send_hello(&mut self, peer: PeerId) {
        let pair = self.pair_with(&peer, true);
        let anonymous = !self.anonymous_refused.contains(&peer);
        self.off_task(move |fed| Done::Made { peer, proof: make(fed, pair, Role::Dialler, None, anonymous) });
    }

    pub(super) fn on_hello(&mut self, event: request_response::Event<HelloRequest, HelloResponse>) {
        match event {
            request_response::Event::Message {
                peer,
                message: request_response::Message::Request { request, channel, request_id },
                ..
            } => {
                let refusal = if self.answering.len() >= MAX_CHECKING {
                    Some(("busy: too many handshakes at once".to_string(), "busy"))
                } else if self.answering.values().any(|(p, _)| *p == peer) {
                    Some(("one hello at a time".to_string(), "busy"))
                } else if !self.table.has_member_slot(&self.limits) {
                    Some(("member slots full".to_string(), "slots-full"))
                } else {
                    None
                };
                if let Some(refusal) = refusal {
                    self.answer_hello(peer, request_id, channel, Err(refusal));
                    return;
                }
                self.answering.insert(request_id, (peer, channel));
                let pair = self.pair_with(&peer, false);
                self.off_task(move |fed| {
                    let outcome = check(fed, pair, Role::Dialler, &request.proof)
                        .map(|proved| (proved, make(fed, pair, Role::Listener, Some(proved), true)));
                    Done::Checked { peer, request: request_id, outcome }
                });
            }
            request_response::Event::Message {
                peer,
                message: request_response::Message::Response { request_id, response },
                ..
            } => {
                self.hellos.remove(&request_id);
                match response {
                    HelloResponse::Hello { proof } => {
                        let pair = self.pair_with(&peer, true);
                        self.off_task(move |fed| Done::Answered {
                            peer,
                            outcome: check(fed, pair, Role::Listener, &proof),
                        });
                    }
                    HelloResponse::Refused { reason } => {
                        // A peer that cannot check an anonymous proof (it lacks the ring or the
                        // keys in it) gets the named proof next time.
                        if reason.contains("unknown ring") || reason.contains("not a current member") {
                            self.anonymous_refused.insert(peer);
                        }
                        self.reject(peer, &format!("peer refused our proof: {reason}"), "refused-by-peer")
                    }
                }
            }
            request_response::Event::ResponseSent { request_id, .. } => {
                if let Some(peer) = self.closing.remove(&request_id) {
                    self.refused.insert(peer, std::time::Instant::now());
                }
            }
            request_response::Event::InboundFailure { request_id, peer, .. } => {
                self.answering.remove(&request_id);
                if self.closing.remove(&request_id).is_some() {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
            request_response::Event::OutboundFailure { peer, request_id, error, .. } => {
                if self.hellos.remove(&request_id).is_some() {
                    self.reject(peer, &format!("handshake failed: {error}"), "handshake-failed");
                }
            }
        }
    }

    pub(super) fn on_handshake(&mut self, done: Done) {
        self.handshaking = self.handshaking.saturating_sub(1);
        match done {
            Done::Made { peer, proof } => {
                // The connection may have gone, or the peer been dropped, meanwhile.
                if self.table.peers.get(&peer).is_some_and(|p| p.proved.is_none()) {
                    let id = self.swarm.behaviour_mut().hello.send_request(&peer, HelloRequest { proof });
                    self.hellos.insert(id, peer);
                }
            }
            Done::Checked { peer, request, outcome } => {
                let Some((_, channel)) = self.answering.remove(&request) else { return };
                let outcome = outcome.and_then(|(proved, own)| self.accept(peer, proved).map(|()| own));
                self.answer_hello(peer, request, channel, outcome);
            }
            Done::Answered { peer, outcome } => match outcome.and_then(|proved| self.accept(peer, proved)) {
                Ok(()) => self.open_full_connection(peer),
                Err((reason, kind)) => self.reject(peer, &reason, kind),
            },
        }
    }

    /// Answers a hello: this node's proof, or the refusal (then hangs up once it is out).
    fn answer_hello(
        &mut self,
        peer: PeerId,
        request: InboundRequestId,
        channel: request_response::ResponseChannel<HelloResponse>,
        outcome: Result<Proof, Refusal>,
    ) {
        let response = match outcome {
            Ok(proof) => HelloResponse::Hello { proof },
            Err((reason, kind)) => {
                self.log_refusal(&peer, &reason);
                self.emit(NetworkEvent::PeerRejected { peer, reason: reason.clone(), kind });
                // Answer first, so the peer learns why; hang up once the answer is out.
                self.closing.insert(request, peer);
                HelloResponse::Refused { reason }
            }
        };
        if self.swarm.behaviour_mut().hello.send_response(channel, response).is_err() {
            self.closing.remove(&request);
        }
    }

    /// Marks `peer` as proven (its proof verified) if a member slot is free.
    fn accept(&mut self, peer: PeerId, proved: Proved) -> Result<(), Refusal> {
        if !self.table.has_member_slot(&self.limits) {
            return Err(("member slots full".into(), "slots-full"));
        }
        let Some(p) = self.table.peers.get_mut(&peer) else {
            return Err(("connection gone".into(), "gone"));
        };
        if p.proved.is_none() {
            p.proved = Some(proved);
            self.proven.insert(peer);
            debug!(%peer, anonymous = proved.member().is_none(), "peer proved membership");
            self.emit(NetworkEvent::PeerAuthenticated { peer, member: proved.member() });
        }
        Ok(())
    }

    /// Proven both ways: the dialler opens the connection gossip and sync run on.
    fn open_full_connection(&mut self, peer: PeerId) {
        let Some(address) = self.table.peers.get(&peer).and_then(|p| p.dialled.clone()) else { return };
        let opts = DialOpts::peer_id(peer).addresses(vec![address]).condition(PeerCondition::Always).build();
        if let Err(e) = self.swarm.dial(opts) {
            self.reject(peer, &format!("cannot open the full connection: {e}"), "dial-failed");
        }
    }
}
