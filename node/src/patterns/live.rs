//! The node's pattern aggregates as the rest of the node sees them: built from the store on first
//! use (in the background at start), kept current by every record stored, queried concurrently.
//!
//! Building takes seconds at a million summaries, and records keep arriving meanwhile (gossip,
//! catch-up, publishing). The build therefore holds no lock that storing needs: records observed
//! while it runs wait in a bounded queue and are applied before the built aggregates are swapped
//! in. Applying a record the build has already counted changes nothing, so the overlap is safe. If
//! the queue overflows (a large catch-up during the build), the build starts again.

use std::sync::{Mutex, RwLock};

use lantern_protocol::anonymous::Opened;
use lantern_protocol::{MemberKey, RecordId};

use super::Patterns;
use crate::store::StoreError;

/// Records held back while a build runs, at most.
pub const PENDING_LIMIT: usize = 65_536;

enum State {
    Absent,
    Building { pending: Vec<(RecordId, Opened)>, overflowed: bool },
    Ready(Box<Patterns>),
}

pub struct LivePatterns {
    state: RwLock<State>,
    /// Held by the one caller building; others wait on it, then query what it built.
    builder: Mutex<()>,
    pending_limit: usize,
}

impl Default for LivePatterns {
    fn default() -> Self {
        Self::with_pending_limit(PENDING_LIMIT)
    }
}

impl LivePatterns {
    pub fn with_pending_limit(pending_limit: usize) -> Self {
        Self { state: RwLock::new(State::Absent), builder: Mutex::new(()), pending_limit }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts stored records: at once if built, after the build if one runs, not at all if none
    /// has started (the first build reads them from the store).
    pub fn observe<'a>(&self, stored: impl IntoIterator<Item = (RecordId, &'a Opened)>) {
        match &mut *self.write() {
            State::Absent => {}
            State::Ready(p) => p.apply_batch(stored),
            State::Building { pending, overflowed } => {
                for (id, envelope) in stored {
                    if pending.len() == self.pending_limit {
                        *overflowed = true;
                        pending.clear();
                    }
                    if !*overflowed {
                        pending.push((id, envelope.clone()));
                    }
                }
            }
        }
    }

    /// Follows a membership change. A build in progress picks up the members at its end.
    pub fn set_members(&self, members: Vec<MemberKey>) {
        if let State::Ready(p) = &mut *self.write() {
            p.set_members(members);
        }
    }

    /// Runs `query` on the aggregates, building them with `build` first if needed; `members`
    /// gives the current members when a build ends.
    pub fn query<R>(
        &self,
        build: impl Fn() -> Result<Patterns, StoreError>,
        members: impl Fn() -> Vec<MemberKey>,
        query: impl FnOnce(&Patterns) -> R,
    ) -> Result<R, StoreError> {
        {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            if let State::Ready(p) = &*state {
                return Ok(query(p));
            }
        }
        let _builder = self.builder.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(*self.state.read().unwrap_or_else(|p| p.into_inner()), State::Ready(_)) {
            self.build(&build, &members)?;
        }
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        match &*state {
            State::Ready(p) => Ok(query(p)),
            _ => unreachable!("built above, and only a build leaves the ready state"),
        }
    }

    /// Builds until no record stored meanwhile was lost to an overflow; the caller holds `builder`.
    fn build(
        &self,
        build: &impl Fn() -> Result<Patterns, StoreError>,
        members: &impl Fn() -> Vec<MemberKey>,
    ) -> Result<(), StoreError> {
        loop {
            *self.write() = State::Building { pending: Vec::new(), overflowed: false };
            let built = build();
            let mut state = self.write();
            let State::Building { pending, overflowed } = std::mem::replace(&mut *state, State::Absent) else {
                unreachable!("only the builder leaves the building state");
            };
            let mut built = built?;
            if overflowed {
                tracing::info!("records arrived faster than the pattern build could queue them; building again");
                continue;
            }
            built.apply_batch(pending.iter().map(|(id, envelope)| (*id, envelope)));
            built.set_members(members());
            *state = State::Ready(Box::new(built));
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use lantern_protocol::Envelope;
    use lantern_protocol::ids::{CaseRef, FederationId};
    use lantern_protocol::record::{Body, SummaryBody};
    use lantern_protocol::sample::{self, Rng};

    use super::*;

    fn member(i: u8) -> MemberKey {
        MemberKey::from_slice(&[i; 32]).unwrap()
    }

    fn summary_record(author: u8, case: u8) -> (RecordId, Opened) {
        let start = "2025-03".parse().unwrap();
        let env = Envelope {
            format: lantern_protocol::WIRE_FORMAT,
            federation: FederationId::from_slice(&[0; 32]).unwrap(),
            author: member(author),
            sequence: 1,
            previous: None,
            created: start,
            body: Body::Summary(SummaryBody {
                case: CaseRef::from_slice(&[case; 16]).unwrap(),
                supersedes: None,
                summary: sample::summary(&mut Rng::new(u64::from(case)), start, 1),
            }),
        };
        (RecordId::from_slice(&[author ^ case.rotate_left(4); 32]).unwrap(), Opened::Signed(env))
    }

    const MEMBERS: u8 = 8;

    fn members() -> Vec<MemberKey> {
        (1..=MEMBERS).map(member).collect()
    }

    /// Runs `f` on another thread and fails the test if it does not return in time (it would
    /// hang if observing waited for the build).
    fn within_deadline(f: impl FnOnce() + Send + 'static) {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            f();
            let _ = tx.send(());
        });
        rx.recv_timeout(Duration::from_secs(10)).expect("observing a record waited for the pattern build");
    }

    #[test]
    fn records_stored_during_a_build_are_counted_without_waiting_for_it() {
        let live = std::sync::Arc::new(LivePatterns::default());
        let (stored, later) = (summary_record(1, 1), summary_record(2, 2));
        let count = live
            .query(
                || {
                    // What the store held when the build read it.
                    let mut p = Patterns::new(1, members());
                    p.apply(&stored.0, &stored.1);
                    // A record stored while the build runs (and one it already read, again).
                    let (live, later, stored) = (live.clone(), later.clone(), stored.clone());
                    within_deadline(move || live.observe([(later.0, &later.1), (stored.0, &stored.1)]));
                    Ok(p)
                },
                members,
                |p| p.case_count(),
            )
            .unwrap();
        assert_eq!(count, 2, "the queued record is applied once, the one read twice counts once");
        // Once built, records are applied at once.
        let third = summary_record(3, 3);
        live.observe([(third.0, &third.1)]);
        assert_eq!(live.query(|| unreachable!("built already"), members, |p| p.case_count()).unwrap(), 3);
    }

    #[test]
    fn a_build_that_loses_queued_records_to_the_limit_starts_again() {
        let live = std::sync::Arc::new(LivePatterns::with_pending_limit(2));
        let records: Vec<_> = (1..=5).map(|i| summary_record(i, i)).collect();
        let builds = std::sync::atomic::AtomicUsize::new(0);
        let count = live
            .query(
                || {
                    // The store as it stands: the first build sees no record, and three arrive
                    // while it runs (over the limit of 2); the second sees all of them.
                    let n = builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let mut p = Patterns::new(1, members());
                    if n == 0 {
                        let (live, three) = (live.clone(), records[..3].to_vec());
                        within_deadline(move || live.observe(three.iter().map(|(id, e)| (*id, e))));
                    } else {
                        for (id, env) in &records[..3] {
                            p.apply(id, env);
                        }
                    }
                    Ok(p)
                },
                members,
                |p| p.case_count(),
            )
            .unwrap();
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(count, 3);
    }

    #[test]
    fn membership_changes_during_a_build_are_followed() {
        let live = LivePatterns::default();
        let record = summary_record(1, 1);
        let count = live
            .query(
                || {
                    let mut p = Patterns::new(1, members());
                    p.apply(&record.0, &record.1);
                    // Member 1 leaves while the build runs; the update finds nothing built yet.
                    live.set_members(members()[1..].to_vec());
                    Ok(p)
                },
                || members()[1..].to_vec(),
                |p| p.case_count(),
            )
            .unwrap();
        assert_eq!(count, 0, "the departed member's case does not count");
    }
}
