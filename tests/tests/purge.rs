//! Purges on a real federation (swarms on loopback, sled stores on disk): a member purges a
//! summary that leaked something while one node is offline and another has never run. Every node
//! ends up holding the purge and, of the summary, at most its id: never its bytes, in no listing
//! and in no figure.

use std::time::Duration;

use lantern_protocol::RecordId;
use lantern_protocol::record::{Body, PurgeBody};
use lantern_protocol::vocab::PurgeReason;
use lantern_tests::net::*;

const DEADLINE: Duration = Duration::from_secs(60);

fn bytes_of(node: &TestNode, id: &RecordId) -> Option<Vec<u8>> {
    node.federation().store().record_bytes(id).expect("store readable")
}

fn listed(node: &TestNode) -> Vec<RecordId> {
    node.federation().store().records_after(None, 10_000).expect("store readable").into_iter().map(|r| r.id).collect()
}

fn cases(node: &TestNode) -> usize {
    node.federation().with_patterns(|p| p.case_count()).expect("figures")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_reaches_an_offline_node_and_a_new_one_and_the_bytes_go_everywhere() {
    let manifest = manifest(4);
    let mut nodes: Vec<TestNode> = (0..4).map(|i| TestNode::new(&manifest, i)).collect();
    nodes[0].start(vec![]).await;
    let first = nodes[0].address.clone().expect("listening");
    for node in &mut nodes[1..3] {
        node.start(vec![first.clone()]).await;
    }
    let leaky = nodes[0].publish_summary(1).await;
    let kept = nodes[0].publish_summary(2).await;
    for (i, node) in nodes[..3].iter().enumerate() {
        eventually(&format!("node {i} holds both summaries"), DEADLINE, || async {
            bytes_of(node, &leaky.id()).is_some() && node.holds(&kept.id())
        })
        .await;
    }
    assert_eq!(cases(&nodes[1]), 2);

    // Node 2 goes offline; the author purges the leaky summary.
    nodes[2].stop().await;
    nodes[2].reopen();
    let purge = nodes[0]
        .federation()
        .append(Body::Purge(PurgeBody { targets: vec![leaky.id()], reason: PurgeReason::IdentifyingInformation }))
        .expect("purge signed");
    nodes[0].client().publish(purge.bytes().to_vec()).await.expect("gossip");
    assert_eq!(bytes_of(&nodes[0], &leaky.id()), None, "the author's node deletes at once");
    assert_eq!(cases(&nodes[0]), 1);
    eventually("node 1 applies the purge", DEADLINE, || async { bytes_of(&nodes[1], &leaky.id()).is_none() }).await;
    assert!(nodes[1].holds(&leaky.id()), "its id stays, so reconciliation never fetches it back");
    assert_eq!(nodes[1].federation().store().purge_of(&leaky.id()).unwrap(), Some(purge.id()));
    assert!(!listed(&nodes[1]).contains(&leaky.id()));
    // The figures follow the store a moment later, on the thread that stored the purge.
    eventually("the case leaves node 1's figures", DEADLINE, || async { cases(&nodes[1]) == 1 }).await;

    // The offline node comes back and catches up: the purge deletes its copy.
    assert!(bytes_of(&nodes[2], &leaky.id()).is_some(), "still held while offline");
    nodes[2].start(vec![first.clone()]).await;
    eventually("node 2 applies the purge on catching up", DEADLINE, || async {
        bytes_of(&nodes[2], &leaky.id()).is_none() && nodes[2].holds(&purge.id())
    })
    .await;
    eventually("the case leaves node 2's figures", DEADLINE, || async { cases(&nodes[2]) == 1 }).await;

    // A node that never ran asks for everything: peers answer the purged id with the purge.
    nodes[3].start(vec![first]).await;
    eventually("node 3 catches up", DEADLINE, || async { nodes[3].holds(&purge.id()) && nodes[3].holds(&kept.id()) })
        .await;
    assert_eq!(bytes_of(&nodes[3], &leaky.id()), None);
    assert!(nodes[3].federation().store().purge_names(&leaky.id()).unwrap());
    assert!(!listed(&nodes[3]).contains(&leaky.id()));
    eventually("node 3 counts the kept case only", DEADLINE, || async { cases(&nodes[3]) == 1 }).await;
    for node in &nodes {
        assert_eq!(bytes_of(node, &kept.id()).as_deref(), Some(kept.bytes()), "the other summary is untouched");
    }

    // After a restart (the store rewrites itself, the figures are rebuilt from it) nothing returns.
    nodes[1].stop().await;
    nodes[1].reopen();
    assert_eq!(bytes_of(&nodes[1], &leaky.id()), None);
    assert!(nodes[1].holds(&leaky.id()));
    assert_eq!(cases(&nodes[1]), 1, "the rebuilt figures still leave the purged case out");
}
