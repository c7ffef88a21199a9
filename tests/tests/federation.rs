//! Federations of real nodes on loopback: gossip, catch-up, partitions, membership, rejection
//! of bad records, equivocation. Every wait is on a condition with a deadline.

use std::time::Duration;

use lantern_protocol::record::{Body, Envelope, SummaryBody};
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::{CaseRef, VerifyContext, sign, signed};
use lantern_tests::net::*;

const DEADLINE: Duration = Duration::from_secs(60);

/// Starts `nodes`, each dialling the first one, and waits until every node has proven peers.
async fn connect(nodes: &mut [TestNode]) {
    nodes[0].start(vec![]).await;
    let first = nodes[0].address.clone().expect("listening");
    for node in nodes.iter_mut().skip(1) {
        node.start(vec![first.clone()]).await;
    }
    for node in nodes.iter() {
        eventually("every node has proven peers", DEADLINE, || async { node.proven_peers().await >= 1 }).await;
    }
}

async fn everyone_holds(nodes: &[TestNode], id: lantern_protocol::RecordId) {
    for (i, node) in nodes.iter().enumerate() {
        eventually(&format!("node {i} holds the record"), DEADLINE, || async { node.holds(&id) }).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_published_at_one_node_reaches_all_five() {
    let manifest = manifest(5);
    let mut nodes: Vec<TestNode> = (0..5).map(|i| TestNode::new(&manifest, i)).collect();
    connect(&mut nodes).await;
    let record = nodes[3].publish_summary(1).await;
    everyone_holds(&nodes, record.id()).await;
    for node in &nodes {
        assert_eq!(node.federation().store().record_bytes(&record.id()).unwrap().as_deref(), Some(record.bytes()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_catches_up_to_the_identical_record_set() {
    let manifest = manifest(3);
    let mut nodes: Vec<TestNode> = (0..3).map(|i| TestNode::new(&manifest, i)).collect();
    connect(&mut nodes).await;
    nodes[2].stop().await;
    nodes[2].reopen();
    for seed in 0..1000 {
        nodes[0].append_summary(seed);
    }
    let target = nodes[0].digest();
    eventually("node 1 catches up", DEADLINE, || async { nodes[1].digest() == target }).await;
    let first = nodes[0].address.clone().unwrap();
    nodes[2].start(vec![first]).await;
    eventually("the restarted node reaches the identical set", DEADLINE, || async {
        let d = nodes[2].digest();
        if d != target {
            eprintln!("restarted node holds {} of {}", d.0, target.0);
        }
        d == target
    })
    .await;
    // The count is published just after the batch's transaction commits.
    eventually("the record count agrees", DEADLINE, || async {
        nodes[2].federation().store().record_count() == target.0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_groups_converge_to_the_union_after_reconnecting() {
    let manifest = manifest(4);
    let mut nodes: Vec<TestNode> = (0..4).map(|i| TestNode::new(&manifest, i)).collect();
    let (left, right) = nodes.split_at_mut(2);
    connect(left).await;
    connect(right).await;
    let a = left[0].publish_summary(10).await;
    let b = right[1].publish_summary(20).await;
    everyone_holds(left, a.id()).await;
    everyone_holds(right, b.id()).await;
    assert!(!left[0].holds(&b.id()) && !right[0].holds(&a.id()), "the groups were cut off");
    let bridge = right[0].address.clone().unwrap();
    left[1].client().dial(bridge).await.unwrap();
    everyone_holds(&nodes, a.id()).await;
    everyone_holds(&nodes, b.id()).await;
    let digest = nodes[0].digest();
    for node in &nodes {
        eventually("identical sets", DEADLINE, || async { node.digest() == digest }).await;
    }
}

/// Two connected member nodes: the first sends, the second receives.
async fn sender_and_receiver() -> (lantern_protocol::Manifest, Vec<TestNode>, libp2p::PeerId) {
    let manifest = manifest(2);
    let mut nodes: Vec<TestNode> = (0..2).map(|i| TestNode::new(&manifest, i)).collect();
    connect(&mut nodes).await;
    let sender = nodes[0].client().peer_id();
    (manifest, nodes, sender)
}

async fn sender_score_drops(receiver: &TestNode, sender: libp2p::PeerId) {
    eventually("the sender's score drops", DEADLINE, || async {
        receiver.client().peers().await.unwrap().iter().any(|p| p.peer == sender && p.score.is_some_and(|s| s < 0.0))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_and_non_member_records_are_rejected_and_the_sender_penalised() {
    let (manifest, nodes, sender) = sender_and_receiver().await;

    // A valid record with one flipped bit, gossiped as is.
    let good = nodes[0].append_summary(1);
    let mut tampered = good.bytes().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    nodes[0].client().publish(tampered.clone()).await.unwrap();
    // A correctly signed record by a key that is not a member.
    let outsider = member_key(99);
    let ctx = VerifyContext::for_manifest(&manifest);
    let mut rng = Rng::new(5);
    let env = Envelope {
        format: lantern_protocol::WIRE_FORMAT,
        federation: ctx.federation,
        author: signed::member_key(&outsider),
        sequence: 1,
        previous: None,
        created: "2026-02".parse().unwrap(),
        body: Body::Summary(SummaryBody {
            case: CaseRef(rng.bytes()),
            supersedes: None,
            summary: sample::summary(&mut rng, "2025-01".parse().unwrap(), 6),
        }),
    };
    let foreign = sign(&env, &outsider, &ctx).unwrap();
    nodes[0].client().publish(foreign.bytes().to_vec()).await.unwrap();

    let receiver = &nodes[1];
    sender_score_drops(receiver, sender).await;
    assert!(!receiver.holds(&lantern_protocol::RecordId::of(&tampered)));
    assert!(!receiver.holds(&foreign.id()));
    // An oversized message is refused before it leaves.
    assert!(nodes[0].client().publish(vec![0u8; 66 * 1024]).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_records_are_rejected_by_receivers_and_the_sender_penalised() {
    let (manifest, nodes, sender) = sender_and_receiver().await;
    // Over the manifest's record limit, inside gossip's frame limit (which has room for
    // framing): it crosses the wire, and the receiver must refuse it itself.
    let limit = manifest.policy.max_record_bytes as usize;
    let mut rng = Rng::new(11);
    let receiver = &nodes[1];
    let mut sent = Vec::new();
    // Gossip drops a message published before the peer's subscription is known, so a fresh
    // oversized message is sent until one has cost the sender its score.
    eventually("the sender's score drops", DEADLINE, || {
        let oversized: Vec<u8> = (0..limit + 512).map(|_| rng.below(256) as u8).collect();
        sent.push(lantern_protocol::RecordId::of(&oversized));
        let (client, receiver) = (nodes[0].client().clone(), receiver.client().clone());
        async move {
            client.publish(oversized).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
            receiver.peers().await.unwrap().iter().any(|p| p.peer == sender && p.score.is_some_and(|s| s < 0.0))
        }
    })
    .await;
    assert!(sent.iter().all(|id| !receiver.holds(id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_member_vouched_in_publishes_to_everyone() {
    let manifest = manifest(3);
    let mut nodes: Vec<TestNode> = (0..3).map(|i| TestNode::new(&manifest, i)).collect();
    connect(&mut nodes).await;
    let mut newcomer = TestNode::new(&manifest, 7);
    let first = nodes[0].address.clone().unwrap();
    let earlier = nodes[1].publish_summary(2).await;
    everyone_holds(&nodes, earlier.id()).await;

    // Not yet a member: the connection is refused and nothing is synced to it.
    newcomer.start(vec![first.clone()]).await;
    newcomer
        .wait_event("the outsider is turned away", DEADLINE, |e| {
            matches!(e, lantern_node::network::NetworkEvent::PeerRejected { .. })
        })
        .await;
    assert!(!newcomer.holds(&earlier.id()), "an outsider is sent nothing");

    for voucher in &nodes[..2] {
        let vouch = voucher.federation().vouch(newcomer.member(), true).unwrap();
        voucher.client().publish(vouch.bytes().to_vec()).await.unwrap();
    }
    for node in &nodes {
        eventually("the vouches reach every founder", DEADLINE, || async {
            node.federation().is_member(&newcomer.member())
        })
        .await;
    }
    newcomer.client().dial(first).await.unwrap();
    eventually("the newcomer is admitted", DEADLINE, || async { newcomer.proven_peers().await >= 1 }).await;
    let record = newcomer.publish_summary(3).await;
    everyone_holds(&nodes, record.id()).await;
    eventually("the member catches up on what it missed", DEADLINE, || async { newcomer.holds(&earlier.id()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocation_by_one_author_is_detected_by_every_node() {
    let manifest = manifest(3);
    let mut nodes: Vec<TestNode> = (0..3).map(|i| TestNode::new(&manifest, i)).collect();
    connect(&mut nodes).await;
    let liar = &nodes[0];
    let first = liar.append_summary(1);
    // Another record with the same sequence number and previous id.
    let mut env = first.envelope().clone();
    if let Body::Summary(b) = &mut env.body {
        b.summary.narrative = "a different story".into();
    }
    let second = sign(&env, &liar.key, &VerifyContext::for_manifest(&manifest)).unwrap();
    liar.client().publish(first.bytes().to_vec()).await.unwrap();
    liar.client().publish(second.bytes().to_vec()).await.unwrap();
    for node in &nodes[1..] {
        eventually("both records are held and the author flagged", DEADLINE, || async {
            node.holds(&first.id())
                && node.holds(&second.id())
                && node.federation().store().is_equivocator(&liar.member()).unwrap()
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_leaves_and_its_new_records_are_refused() {
    let manifest = manifest(3);
    let mut nodes: Vec<TestNode> = (0..3).map(|i| TestNode::new(&manifest, i)).collect();
    connect(&mut nodes).await;
    let before = nodes[2].publish_summary(1).await;
    everyone_holds(&nodes, before.id()).await;

    let revocation = nodes[2].federation().revoke(None).unwrap();
    nodes[2].client().publish(revocation.bytes().to_vec()).await.unwrap();
    for node in &nodes[..2] {
        eventually("the revocation is known", DEADLINE, || async { !node.federation().is_member(&nodes[2].member()) })
            .await;
    }
    // The nodes drop the connection to the revoked member's node...
    let sender = nodes[2].client().peer_id();
    for node in &nodes[..2] {
        eventually("the revoked member's node is dropped", DEADLINE, || async {
            !node.client().peers().await.unwrap().iter().any(|p| p.peer == sender && p.proven)
        })
        .await;
    }
    // ...refuse it when it comes back, and take nothing it signs now.
    let after = nodes[2].append_summary(2);
    let first = nodes[0].address.clone().unwrap();
    nodes[2].client().dial(first).await.unwrap();
    nodes[0]
        .wait_event("the revoked member's node is refused again", DEADLINE, |e| {
            matches!(e, lantern_node::network::NetworkEvent::PeerRejected { peer, kind, .. }
                if *peer == sender && *kind == "not-a-member")
        })
        .await;
    assert!(!nodes[0].holds(&after.id()) && !nodes[1].holds(&after.id()));
    // What was accepted before the revocation stays: history is immutable.
    assert!(nodes[0].holds(&before.id()) && nodes[1].holds(&before.id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_mdns_on_federates_as_usual() {
    // Discovery itself needs a LAN: libp2p never announces loopback addresses, and tests stay on
    // loopback. What is checked here: turning mDNS on changes nothing else.
    let manifest = manifest(2);
    let mut a = TestNode::new(&manifest, 0);
    a.start_configured(vec![], |c| c.mdns = true).await;
    let mut b = TestNode::new(&manifest, 1);
    b.start_configured(vec![a.address.clone().unwrap()], |c| c.mdns = true).await;
    eventually("the nodes prove membership to each other", DEADLINE, || async {
        a.proven_peers().await >= 1 && b.proven_peers().await >= 1
    })
    .await;
    let record = a.publish_summary(4).await;
    eventually("the record reaches the other node", DEADLINE, || async { b.holds(&record.id()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_without_bootstraps_finds_the_members_it_knew() {
    let manifest = manifest(2);
    let mut nodes: Vec<TestNode> = (0..2).map(|i| TestNode::new(&manifest, i)).collect();
    connect(&mut nodes).await;
    // Peer exchange tells node 1 where node 0 listens; it is kept in node 1's store.
    eventually("node 1 remembers node 0", DEADLINE, || async {
        !nodes[1].federation().store().remembered_peers().unwrap().is_empty()
    })
    .await;
    nodes[1].stop().await;
    nodes[1].reopen();
    let missed = nodes[0].append_summary(5);
    nodes[1].start(vec![]).await;
    eventually("node 1 redials node 0 from memory and catches up", DEADLINE, || async {
        nodes[1].proven_peers().await == 1 && nodes[1].holds(&missed.id())
    })
    .await;
}
