//! Anonymous authorship on a real federation (five swarms on loopback, sled stores on disk): two
//! members publish the same case anonymously; every other node admits both, and what it holds of
//! them names no member, no node and no chain; the author amends and purges, and the others
//! follow.

use std::time::Duration;

use lantern_node::case::PrivateCase;
use lantern_node::datadir::NodeConfig;
use lantern_node::publish::{Made, Shape};
use lantern_protocol::anon::AnonymitySecret;
use lantern_protocol::anonymous::{AnonBody, Opened, open_stored_any};
use lantern_protocol::vocab::PurgeReason;
use lantern_tests::net::*;

const DEADLINE: Duration = Duration::from_secs(60);
const NODES: u64 = 5;

fn case() -> PrivateCase {
    PrivateCase::from_toml(
        r#"
title = "Transfer stalled for a year"
registry = "ARIN"
categories = ["transfer delayed"]
opened = "2025-02-03"
outcome = "open"
resources = [{ prefix = "203.0.113.0/24" }]
timeline = [{ stage = "request submitted", date = "2025-02-03" }, { stage = "escalated", date = "2025-05-20" }]
"#,
    )
    .expect("a valid case")
}

async fn gossip(node: &TestNode, made: &Made) {
    let mut all = made.to_gossip();
    let record = all.pop().expect("the record");
    for ring in all {
        // A ring is content-addressed: another member may have gossiped the same one already.
        let _ = node.client().publish(ring).await;
    }
    node.client().publish(record).await.expect("gossip");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_summaries_travel_without_any_author_specific_value_and_only_their_author_changes_them() {
    let manifest = manifest(NODES);
    let mut nodes: Vec<TestNode> = (0..NODES).map(|i| TestNode::new(&manifest, i)).collect();
    nodes[0].start(vec![]).await;
    let first = nodes[0].address.clone().expect("listening");
    for node in &mut nodes[1..] {
        node.start(vec![first.clone()]).await;
    }
    // Every member registers its anonymity key, as `lantern run` does at start (the first
    // handshake may have done it already: a sync then carries it).
    for node in &nodes {
        if let Some(registration) = node.federation().ensure_anonymity_key().expect("store") {
            let _ = node.client().publish(registration.bytes().to_vec()).await;
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        eventually(&format!("node {i} knows five anonymity keys"), DEADLINE, || async {
            node.federation().current_anonymity_keys().expect("store").len() == NODES as usize
        })
        .await;
    }

    // Members 1 and 3 publish the same case.
    let config = NodeConfig::default();
    let mut published = Vec::new();
    for i in [1, 3] {
        let fed = nodes[i].federation();
        let id = fed.store().insert_case(&case()).expect("case stored");
        let made = fed.publish(&config, id, Shape::default()).expect("published");
        assert!(made.is_anonymous(), "five registered members, k = 5");
        gossip(&nodes[i], &made).await;
        published.push((i, id, made));
    }
    let observer = &nodes[4];
    for (_, _, made) in &published {
        eventually("the observer holds both summaries", DEADLINE, || async { observer.holds(&made.id()) }).await;
    }

    // What the observer holds names no one: no member key, no node key, no anonymity key, no
    // sequence or chain link (the envelope has none to carry).
    let mut envelopes = Vec::new();
    for (_, _, made) in &published {
        let held = observer.federation().store().record_bytes(&made.id()).expect("store").expect("bytes");
        assert_eq!(held, made.to_gossip().pop().unwrap(), "held as gossiped");
        for node in &nodes {
            let member = node.member();
            assert!(!contains(&held, member.as_bytes()), "a member key in an anonymous record");
            let node_key = node.node_key.public().try_into_ed25519().expect("ed25519").to_bytes();
            assert!(!contains(&held, &node_key), "a node key in an anonymous record");
            let anon = AnonymitySecret::derive(&node.key.to_bytes()).public();
            assert!(!contains(&held, &anon.0), "an anonymity key in an anonymous record");
        }
        match open_stored_any(&held).expect("decodes") {
            Opened::Anonymous(envelope, tag) => envelopes.push((envelope, tag)),
            other => panic!("not anonymous: {other:?}"),
        }
    }
    // The two differ in the tag and the proof, and in the case's random reference, nothing else.
    let ((mut a, tag_a), (b, tag_b)) = (envelopes[0].clone(), envelopes[1].clone());
    assert_ne!(tag_a, tag_b, "two members, two tags");
    if let (AnonBody::Summary(x), AnonBody::Summary(y)) = (&mut a.body, &b.body) {
        assert_ne!(x.case, y.case);
        x.case = y.case;
    }
    assert_eq!(a, b, "the same case from two members: the same envelope");
    assert_eq!(observer.federation().with_patterns(|p| p.case_count()).expect("figures"), 2);

    // The author amends: the observer counts the new version in place of the old.
    let (author, case_id, original) = (published[0].0, published[0].1, published[0].2.id());
    let amended = nodes[author].federation().publish(&config, case_id, Shape::default()).expect("amended");
    assert_eq!(amended.kind(), "amendment");
    gossip(&nodes[author], &amended).await;
    eventually("the observer holds the amendment", DEADLINE, || async { observer.holds(&amended.id()) }).await;
    assert_eq!(observer.federation().with_patterns(|p| p.case_count()).expect("figures"), 2);

    // The author purges the case: its bytes go from every node.
    let purge = nodes[author].federation().purge(case_id, PurgeReason::IdentifyingInformation).expect("purged");
    assert!(purge.is_anonymous());
    gossip(&nodes[author], &purge).await;
    for (i, node) in nodes.iter().enumerate() {
        eventually(&format!("node {i} deleted both versions"), DEADLINE, || async {
            let store = node.federation().store();
            node.holds(&purge.id())
                && store.record_bytes(&original).expect("store").is_none()
                && store.record_bytes(&amended.id()).expect("store").is_none()
        })
        .await;
    }
    // The other member's identical case is untouched.
    assert!(observer.federation().store().record_bytes(&published[1].2.id()).expect("store").is_some());
    for node in &mut nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_whose_keys_are_known_prove_themselves_anonymously_and_no_record_names_a_node() {
    let manifest = manifest(NODES);
    let mut nodes: Vec<TestNode> = (0..NODES).map(|i| TestNode::new(&manifest, i)).collect();
    // The members registered their anonymity keys and exchanged them (a catch-up) before.
    let registrations: Vec<Vec<u8>> = nodes
        .iter()
        .map(|n| n.federation().ensure_anonymity_key().expect("store").expect("first time").bytes().to_vec())
        .collect();
    for node in &nodes {
        node.federation().admit(&registrations).expect("store");
    }
    nodes[0].start(vec![]).await;
    let first = nodes[0].address.clone().expect("listening");
    for node in &mut nodes[1..] {
        node.start(vec![first.clone()]).await;
    }
    for (i, node) in nodes.iter().enumerate() {
        eventually(&format!("node {i} is connected to a proven member"), DEADLINE, || async {
            node.proven_peers_anonymous().await >= 1
        })
        .await;
    }
    let peers = nodes[0].client().peers().await.expect("peers");
    assert!(peers.iter().filter(|p| p.proven).count() >= 1);
    assert!(peers.iter().all(|p| p.member.is_none()), "no peer named its member: {peers:?}");
    // Gossip and sync work over anonymous connections.
    let id = nodes[2].federation().store().insert_case(&case()).expect("case");
    let made = nodes[2].federation().publish(&NodeConfig::default(), id, Shape::default()).expect("published");
    gossip(&nodes[2], &made).await;
    for node in &nodes {
        eventually("every node holds the summary", DEADLINE, || async { node.holds(&made.id()) }).await;
    }
    // No node ever made a node binding: nothing ties a member to a node key or an address.
    for node in &nodes {
        let records = node.federation().store().records_after(None, 10_000).expect("store");
        assert!(records.iter().all(|r| r.record.kind() != "node_binding"), "a node binding was made");
    }
    for node in &mut nodes {
        node.stop().await;
    }
}

/// Five members whose anonymity keys all know each other, connected (anonymously), with the
/// release delay and sync interval `adjust` sets.
async fn registered_federation(adjust: fn(&mut lantern_node::network::NetworkConfig)) -> Vec<TestNode> {
    let manifest = manifest(NODES);
    let mut nodes: Vec<TestNode> = (0..NODES).map(|i| TestNode::new(&manifest, i)).collect();
    let registrations: Vec<Vec<u8>> = nodes
        .iter()
        .map(|n| n.federation().ensure_anonymity_key().expect("store").expect("first time").bytes().to_vec())
        .collect();
    for node in &nodes {
        node.federation().admit(&registrations).expect("store");
    }
    nodes[0].start_configured(vec![], adjust).await;
    let first = nodes[0].address.clone().expect("listening");
    for node in &mut nodes[1..] {
        node.start_configured(vec![first.clone()], adjust).await;
    }
    for (i, node) in nodes.iter().enumerate() {
        eventually(&format!("node {i} is connected to every other"), DEADLINE, || async {
            node.proven_peers_anonymous().await == NODES as usize - 1
        })
        .await;
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_record_first_appears_at_another_members_node() {
    // No periodic catch-up: every copy below travels by relay or gossip, whose sender is seen.
    let mut nodes = registered_federation(|c| {
        c.release_delay = Duration::ZERO;
        c.sync_interval = Duration::from_secs(3600);
    })
    .await;
    let author = 2;
    let author_peer = nodes[author].client().peer_id();
    let id = nodes[author].federation().store().insert_case(&case()).expect("case");
    let made = nodes[author].federation().publish(&NodeConfig::default(), id, Shape::default()).expect("published");
    nodes[author].client().release(made.to_gossip(), false).await.expect("released");
    let mut from_author = 0;
    for (i, node) in nodes.iter_mut().enumerate().filter(|(i, _)| *i != author) {
        let first = std::sync::Mutex::new(None);
        node.wait_event(&format!("node {i} stores the record"), DEADLINE, |e| match e {
            lantern_node::network::NetworkEvent::RecordStored { id, from } if *id == made.id() => {
                *first.lock().unwrap() = Some(*from);
                true
            }
            _ => false,
        })
        .await;
        if first.into_inner().unwrap() == Some(author_peer) {
            from_author += 1;
        }
    }
    assert_eq!(from_author, 1, "only the one relay hears it from the author; everyone else from others");
    for node in &mut nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_waiting_for_its_release_is_not_offered_by_reconciliation() {
    let mut nodes = registered_federation(|c| c.release_delay = Duration::from_secs(3600)).await;
    let author = 1;
    let id = nodes[author].federation().store().insert_case(&case()).expect("case");
    let made = nodes[author].federation().publish(&NodeConfig::default(), id, Shape::default()).expect("published");
    nodes[author].client().release(made.to_gossip(), false).await.expect("scheduled");
    // A full round of catch-up with the author finishes without the record.
    let author_peer = nodes[author].client().peer_id();
    nodes[0].client().sync_all().await.expect("sync");
    nodes[0]
        .wait_event(
            "a reconciliation with the author",
            DEADLINE,
            |e| matches!(e, lantern_node::network::NetworkEvent::SyncFinished { peer, .. } if *peer == author_peer),
        )
        .await;
    assert!(!nodes[0].holds(&made.id()), "offered before its release");
    assert!(nodes[author].holds(&made.id()), "kept by its author");
    for node in &mut nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_catches_up_at_once_on_records_that_wait_for_vouches_and_rings() {
    // Founders 0, 1 and 2 (k = 2); member 3 is vouched in by 0 and 1, registers its anonymity
    // key and publishes anonymously over the ring of 0, 1 and 3. A fresh node fetches all of it
    // in one batch, where member 3's registration comes with the vouches that make it a member
    // (refused for now), so the ring and the summary wait too.
    let manifest = lantern_protocol::Manifest::new(
        "test federation",
        "2026-01".parse().expect("month"),
        (0..3).map(|n| lantern_protocol::signed::member_key(&member_key(n))).collect(),
        lantern_protocol::Policy { k_threshold: 2, ..lantern_protocol::Policy::default() },
    );
    let mut serving = TestNode::new(&manifest, 0);
    let voucher = TestNode::new(&manifest, 1);
    let newcomer = TestNode::new(&manifest, 3);
    let mut fresh = TestNode::new(&manifest, 2);
    let mut records: Vec<Vec<u8>> = Vec::new();
    for node in [&serving, &voucher] {
        records.push(node.federation().vouch(newcomer.member(), true).expect("a founder vouches").bytes().to_vec());
    }
    for node in [&serving, &voucher] {
        records.push(node.federation().ensure_anonymity_key().expect("store").expect("first").bytes().to_vec());
    }
    for node in [&serving, &voucher, &newcomer] {
        assert!(node.federation().admit(&records).expect("store").iter().all(Result::is_ok));
    }
    records.push(newcomer.federation().ensure_anonymity_key().expect("store").expect("a member now").bytes().to_vec());
    let id = newcomer.federation().store().insert_case(&case()).expect("case");
    let made = newcomer.federation().publish(&NodeConfig::default(), id, Shape::default()).expect("published");
    assert!(made.is_anonymous(), "three registered members, k = 2");
    records.extend(made.to_gossip());
    assert!(serving.federation().admit(&records).expect("store").iter().all(Result::is_ok));

    serving.start(vec![]).await;
    let address = serving.address.clone().expect("listening");
    // No periodic catch-up: only the first reconciliation and what follows it at once.
    fresh.start_configured(vec![address], |c| c.sync_interval = Duration::from_secs(3600)).await;
    eventually("the fresh node holds the anonymous summary", DEADLINE, || async { fresh.holds(&made.id()) }).await;
    assert_eq!(fresh.digest(), serving.digest(), "the fresh node holds what the serving one does");
    fresh.stop().await;
    serving.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_waiting_for_its_release_stays_withheld_when_its_node_restarts_then_goes_by_relay() {
    let mut nodes = registered_federation(|c| c.release_delay = Duration::from_secs(3600)).await;
    let first = nodes[0].address.clone().expect("listening");
    let author = 1;
    let id = nodes[author].federation().store().insert_case(&case()).expect("case");
    let made = nodes[author].federation().publish(&NodeConfig::default(), id, Shape::default()).expect("published");
    // The node stops before the release: nothing in memory says the record waits.
    nodes[author].client().release(made.to_gossip(), false).await.expect("scheduled");
    nodes[author].stop().await;
    nodes[author].reopen();
    nodes[author].start_configured(vec![first.clone()], |c| c.release_delay = Duration::from_secs(3600)).await;
    let author_peer = nodes[author].client().peer_id();
    eventually("the author is back", DEADLINE, || async { nodes[author].proven_peers_anonymous().await >= 1 }).await;
    nodes[0].client().sync_all().await.expect("sync");
    nodes[0]
        .wait_event(
            "a reconciliation with the restarted author",
            DEADLINE,
            |e| matches!(e, lantern_node::network::NetworkEvent::SyncFinished { peer, .. } if *peer == author_peer),
        )
        .await;
    assert!(!nodes[0].holds(&made.id()), "offered by its author after a restart");
    // Restarted with no delay, the author releases it through a relay: everyone gets it.
    nodes[author].stop().await;
    nodes[author].reopen();
    nodes[author].start_configured(vec![first], |c| c.release_delay = Duration::ZERO).await;
    for (i, node) in nodes.iter().enumerate() {
        eventually(&format!("node {i} holds the released record"), DEADLINE, || async { node.holds(&made.id()) }).await;
    }
    // Taken by a relay, it is an ordinary record: no release is left waiting.
    eventually("the release is noted", DEADLINE, || async {
        nodes[author].federation().store().awaiting_release().expect("store").is_empty()
    })
    .await;
    for node in &mut nodes {
        node.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_made_while_the_node_was_down_leaves_at_once_when_it_starts() {
    let mut nodes = registered_federation(|c| c.release_delay = Duration::from_secs(3600)).await;
    let first = nodes[0].address.clone().expect("listening");
    let author = 3;
    nodes[author].stop().await;
    nodes[author].reopen();
    // Published and purged while the node was down: the summary still waits an hour, the purge
    // (which ends a leak) does not.
    let id = nodes[author].federation().store().insert_case(&case()).expect("case");
    let made = nodes[author].federation().publish(&NodeConfig::default(), id, Shape::default()).expect("published");
    let purge = nodes[author].federation().purge(id, PurgeReason::IdentifyingInformation).expect("purged");
    nodes[author].start_configured(vec![first], |c| c.release_delay = Duration::from_secs(3600)).await;
    for (i, node) in nodes.iter().enumerate() {
        eventually(&format!("node {i} holds the purge"), DEADLINE, || async { node.holds(&purge.id()) }).await;
    }
    assert!(!nodes[0].holds(&made.id()), "the purged summary is never released");
    for node in &mut nodes {
        node.stop().await;
    }
}
