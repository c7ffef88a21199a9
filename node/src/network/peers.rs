//! Who the node is connected to and who it should be: slots before and after proof, the cap per
//! address, and redials with backoff. Pure bookkeeping, no IO, so the rules are tested alone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use lantern_protocol::{MemberKey, RecordId};
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};

/// How many peers of each kind the node keeps.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Peers proven to serve a member.
    pub proven: usize,
    /// Peers still to prove it; never counted against `proven`, evicted oldest first.
    pub unproven: usize,
    /// Unproven peers from one IP address.
    pub unproven_per_ip: usize,
}

/// How a peer proved it serves a current member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proved {
    /// With its member key's signature over the connection.
    Member(MemberKey),
    /// With a ring proof over this ring: some current member.
    Anonymous(RecordId),
}

impl Proved {
    pub fn member(&self) -> Option<MemberKey> {
        match self {
            Proved::Member(m) => Some(*m),
            Proved::Anonymous(_) => None,
        }
    }
}

#[derive(Debug)]
pub struct Peer {
    pub proved: Option<Proved>,
    pub since: Instant,
    pub ip: Option<IpAddr>,
    /// The address this node dialled it at, if it dialled: where the full connection goes.
    pub dialled: Option<Multiaddr>,
    /// The connection the handshake ran on, closed once a full one is open.
    pub hello: Option<ConnectionId>,
    /// Where it says it listens (peer exchange).
    pub listen: Vec<Multiaddr>,
}

impl Peer {
    pub fn new(ip: Option<IpAddr>, dialled: Option<Multiaddr>, hello: ConnectionId) -> Self {
        Self { proved: None, since: Instant::now(), ip, dialled, hello: Some(hello), listen: Vec::new() }
    }
}

/// What to do with a new connection from a peer not known yet.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    Admit,
    /// Admit it after closing this, the oldest unproven peer.
    Evict(PeerId),
    Refuse(&'static str),
}

#[derive(Default)]
pub struct Table {
    pub peers: HashMap<PeerId, Peer>,
}

impl Table {
    fn unproven(&self) -> impl Iterator<Item = (&PeerId, &Peer)> {
        self.peers.iter().filter(|(_, p)| p.proved.is_none())
    }

    pub fn proven_count(&self) -> usize {
        self.peers.values().filter(|p| p.proved.is_some()).count()
    }

    /// Whether a new, unproven peer from `ip` may connect: capped per address, and when the
    /// unproven slots are full the oldest unproven peer makes room. Proven slots are never used.
    pub fn admit(&self, ip: Option<IpAddr>, limits: &Limits) -> Admission {
        if ip.is_some() && self.unproven().filter(|(_, p)| p.ip == ip).count() >= limits.unproven_per_ip {
            return Admission::Refuse("too many unproven connections from one address");
        }
        if self.unproven().count() < limits.unproven {
            return Admission::Admit;
        }
        match self.unproven().min_by_key(|(_, p)| p.since) {
            Some((oldest, _)) => Admission::Evict(*oldest),
            None => Admission::Refuse("no room"),
        }
    }

    /// Whether one more peer may become proven.
    pub fn has_member_slot(&self, limits: &Limits) -> bool {
        self.proven_count() < limits.proven
    }
}

/// When to try an address again: doubling delays, capped, forever.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    next: Instant,
    delay: Duration,
}

pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Short enough that a link that comes back is used within seconds (a partition heals in about
/// this long), long enough that a dead address costs one dial in a few seconds.
pub const LONGEST_RETRY: Duration = Duration::from_secs(8);

impl Backoff {
    pub fn now() -> Self {
        Self { next: Instant::now(), delay: FIRST_RETRY }
    }

    pub fn due(&self, now: Instant) -> bool {
        now >= self.next
    }

    /// A dial was just started: the next one waits, longer each time, by a random half to all
    /// of the delay, so nodes that lost the same peer do not all redial it at once.
    pub fn tried(&mut self, now: Instant) {
        let share = 0.5 + f64::from(u16::from_le_bytes(crate::keys::random_bytes::<2>())) / f64::from(u16::MAX) / 2.0;
        self.next = now + self.delay.mul_f64(share);
        self.delay = (self.delay * 2).min(LONGEST_RETRY);
    }

    /// Connected: start over from the shortest delay next time.
    pub fn reset(&mut self) {
        self.delay = FIRST_RETRY;
    }
}

/// Addresses the node keeps trying: its configured bootstraps, and members' addresses learnt from
/// proven members. Nothing else is ever dialled (mDNS aside, when switched on).
#[derive(Default)]
pub struct Redial {
    pub bootstraps: HashMap<Multiaddr, (Option<PeerId>, Backoff)>,
    pub members: HashMap<PeerId, (Vec<Multiaddr>, Backoff)>,
}

/// Most member addresses remembered from peer exchange.
pub const MAX_MEMBER_TARGETS: usize = 1024;

impl Redial {
    pub fn new(bootstraps: &[Multiaddr]) -> Self {
        Self {
            bootstraps: bootstraps.iter().map(|a| (a.clone(), (None, Backoff::now()))).collect(),
            members: HashMap::new(),
        }
    }

    /// Records that a dial of `address` reached `peer`.
    pub fn reached(&mut self, address: &Multiaddr, peer: PeerId) {
        if let Some((known, backoff)) = self.bootstraps.get_mut(address) {
            *known = Some(peer);
            backoff.reset();
        }
        if let Some((_, backoff)) = self.members.get_mut(&peer) {
            backoff.reset();
        }
    }

    pub fn learn(&mut self, peer: PeerId, addresses: Vec<Multiaddr>) {
        if addresses.is_empty() || (self.members.len() >= MAX_MEMBER_TARGETS && !self.members.contains_key(&peer)) {
            return;
        }
        let entry = self.members.entry(peer).or_insert_with(|| (Vec::new(), Backoff::now()));
        entry.0 = addresses;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { proven: 2, unproven: 3, unproven_per_ip: 2 };

    fn peer(table: &mut Table, ip: [u8; 4], member: bool) -> PeerId {
        let id = PeerId::random();
        let mut p = Peer::new(Some(IpAddr::from(ip)), None, ConnectionId::new_unchecked(0));
        if member {
            p.proved = Some(Proved::Member(MemberKey([1; 32])));
        }
        table.peers.insert(id, p);
        id
    }

    #[test]
    fn unproven_peers_are_capped_per_address_and_evicted_oldest_first_never_taking_member_slots() {
        let mut t = Table::default();
        let ip = |n| Some(IpAddr::from([10, 0, 0, n]));
        let first = peer(&mut t, [10, 0, 0, 1], false);
        peer(&mut t, [10, 0, 0, 1], false);
        assert_eq!(t.admit(ip(1), &LIMITS), Admission::Refuse("too many unproven connections from one address"));
        assert_eq!(t.admit(ip(2), &LIMITS), Admission::Admit);
        peer(&mut t, [10, 0, 0, 2], false);
        assert_eq!(t.admit(ip(3), &LIMITS), Admission::Evict(first), "full: the oldest unproven goes");
        // Members fill their own slots; unproven peers never count against them.
        peer(&mut t, [10, 0, 0, 9], true);
        assert!(t.has_member_slot(&LIMITS));
        peer(&mut t, [10, 0, 0, 9], true);
        assert!(!t.has_member_slot(&LIMITS));
        assert_eq!(t.admit(ip(9), &LIMITS), Admission::Evict(first), "members at one address do not count");
    }

    #[test]
    fn redials_back_off_to_a_cap_with_jitter_and_start_over_once_connected() {
        let mut b = Backoff::now();
        let t0 = Instant::now();
        assert!(b.due(t0));
        let mut caps = Vec::new();
        for _ in 0..10 {
            let cap = b.delay;
            b.tried(t0);
            let wait = b.next - t0;
            assert!(wait >= cap / 2 && wait <= cap, "{wait:?} within half to all of {cap:?}");
            caps.push(cap);
        }
        assert_eq!((caps[0], caps[1]), (FIRST_RETRY, FIRST_RETRY * 2));
        assert_eq!(*caps.last().unwrap(), LONGEST_RETRY, "never more than the cap, never given up");
        // Nodes that lost the same peer spread their redials out.
        let waits: std::collections::BTreeSet<Duration> = (0..20)
            .map(|_| {
                let mut b = Backoff { next: t0, delay: LONGEST_RETRY };
                b.tried(t0);
                b.next - t0
            })
            .collect();
        assert!(waits.len() > 10, "{waits:?}");
        b.reset();
        assert_eq!(b.delay, FIRST_RETRY);
    }
}
