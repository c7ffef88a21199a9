//! Anonymous authorship through the federation: publishing, admission by other nodes, counting,
//! and the author-only rules for amending, retracting and purging, on real stores.

use ed25519_dalek::SigningKey;
use lantern_protocol::anonymous::{AnonBody, Format, Opened, format_of};
use lantern_protocol::vocab::{PurgeReason, RetractionReason};
use lantern_protocol::{Manifest, Policy, RecordId, signed};

use super::*;
use crate::case::PrivateCase;
use crate::publish::Shape;

const MEMBERS: u8 = 6;

struct Node {
    _dir: tempfile::TempDir,
    fed: Federation,
}

fn key(i: u8) -> SigningKey {
    SigningKey::from_bytes(&[i + 1; 32])
}

fn manifest() -> Manifest {
    let founders = (0..MEMBERS).map(|i| signed::member_key(&key(i))).collect();
    Manifest::new("anon", "2024-01".parse().unwrap(), founders, Policy { k_threshold: 5, ..Policy::default() })
}

fn node(i: u8) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest();
    let store = Store::open(dir.path(), &manifest).unwrap();
    Node { fed: Federation::new(store, manifest, key(i)).unwrap(), _dir: dir }
}

/// Every record `from` holds, admitted by `to` (what a sync does).
fn sync(from: &Node, to: &Node) {
    let bytes: Vec<Vec<u8>> =
        from.fed.store().records_after(None, 100_000).unwrap().into_iter().map(|r| r.bytes).collect();
    to.fed.admit(&bytes).unwrap();
}

/// Six founders whose anonymity keys are registered and known to every node.
fn federation() -> Vec<Node> {
    let nodes: Vec<Node> = (0..MEMBERS).map(node).collect();
    for n in &nodes {
        n.fed.ensure_anonymity_key().unwrap().expect("registered once");
        assert!(n.fed.ensure_anonymity_key().unwrap().is_none(), "and only once");
    }
    for a in &nodes {
        for b in &nodes {
            sync(a, b);
        }
    }
    nodes
}

fn case(start: &str) -> PrivateCase {
    PrivateCase::from_toml(&format!(
        r#"
title = "Stalled transfer"
registry = "RIPE NCC"
categories = ["transfer delayed"]
opened = "{start}-10"
outcome = "open"
resources = [{{ prefix = "185.53.244.0/22" }}]
timeline = [{{ stage = "request submitted", date = "{start}-10" }}]
"#
    ))
    .unwrap()
}

fn publish(n: &Node, start: &str) -> (u64, Made) {
    let id = n.fed.store().insert_case(&case(start)).unwrap();
    let made = n.fed.publish(&NodeConfig::default(), id, Shape::default()).unwrap();
    (id, made)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_new_case_is_published_anonymously_and_other_nodes_admit_it_without_learning_the_author() {
    let nodes = federation();
    let (_, made) = publish(&nodes[2], "2025-03");
    assert!(made.is_anonymous(), "six registered members, k = 5: anonymous by default");
    let gossip = made.to_gossip();
    assert_eq!(format_of(&gossip[0]), Format::Ring, "a new ring travels first");
    assert_eq!(format_of(gossip.last().unwrap()), Format::Anonymous);
    // Another node admits what the author gossiped.
    let outcomes = nodes[4].fed.admit(&gossip).unwrap();
    assert!(outcomes.iter().all(|o| matches!(o, Ok(Ingested::Stored { .. }))), "{outcomes:?}");
    let record = gossip.last().unwrap();
    let stored = nodes[4].fed.store().record_bytes(&made.id()).unwrap().unwrap();
    assert_eq!(&stored, record);
    // Nothing in it names the author: no member key, no node binding, no anonymity key.
    let author = signed::member_key(&key(2));
    let anon_key = AnonymitySecret::derive(&key(2).to_bytes()).public();
    assert!(!contains(record, author.as_bytes()) && !contains(record, &anon_key.0));
    let listed = nodes[4].fed.store().records_after(None, 1000).unwrap();
    let item = listed.iter().find(|r| r.id == made.id()).unwrap();
    assert!(item.record.author().is_none() && item.record.signed().is_none());
    // Nor does anything the node hands out about it: its JSON-lines export, its MISP feed, its
    // STIX bundle (bytes and hex alike).
    let mut export = Vec::new();
    crate::exchange::export(nodes[4].fed.store(), &mut export).unwrap();
    let feed = crate::interop::misp::feed(&nodes[4].fed).unwrap();
    assert!(feed.events.contains_key(&crate::interop::record_uuid(&made.id()).to_string()));
    let bundle = serde_json::to_vec(&crate::interop::stix::bundle(&nodes[4].fed).unwrap()).unwrap();
    let events = serde_json::to_vec(&feed.events).unwrap();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let export_line = export.split(|&b| b == b'\n').find(|l| contains(l, made.id().to_hex().as_bytes())).unwrap();
    for handed_out in [export_line, &events, &bundle] {
        for secret in [author.as_bytes().as_slice(), &anon_key.0] {
            assert!(
                !contains(handed_out, secret) && !contains(handed_out, hex(secret).as_bytes()),
                "the author in output"
            );
        }
    }
}

#[test]
fn distinct_operators_are_counted_exactly_by_tag_and_one_member_counts_once() {
    let nodes = federation();
    // Members 0..5 publish one case each in March 2025; member 0 publishes two more.
    for n in &nodes[..5] {
        publish(n, "2025-03");
    }
    publish(&nodes[0], "2025-03");
    publish(&nodes[0], "2025-03");
    for n in &nodes[..5] {
        sync(n, &nodes[5]);
    }
    let truth = nodes[5]
        .fed
        .with_patterns(|p| {
            let keys = crate::patterns::query::cell_keys(
                crate::patterns::grid::NO_FILTER,
                lantern_protocol::vocab::Registry::RipeNcc,
                lantern_protocol::vocab::Category::TransferDelayed,
            );
            let c = p.content("2025-03".parse().unwrap(), &keys, crate::patterns::disclosure::Counting::All);
            (p.distinct(&c.operators.0), c.cases)
        })
        .unwrap();
    assert_eq!(truth, (5, 7), "five operators, seven cases");
}

#[test]
fn only_the_author_amends_retracts_and_purges_an_anonymous_case() {
    let nodes = federation();
    let (case_id, first) = publish(&nodes[1], "2025-03");
    sync(&nodes[1], &nodes[3]);
    // The author amends: same tag, accepted elsewhere.
    let amended = nodes[1].fed.publish(&NodeConfig::default(), case_id, Shape::default()).unwrap();
    assert_eq!(amended.kind(), "amendment");
    let Made::Anonymous { record: a2, .. } = &amended else { panic!("an anonymous case stays anonymous") };
    let Made::Anonymous { record: a1, .. } = &first else { panic!() };
    assert_eq!(a1.tag(), a2.tag());
    let out = nodes[3].fed.admit(&amended.to_gossip()).unwrap();
    assert!(matches!(out.last().unwrap(), Ok(Ingested::Stored { .. })), "{out:?}");

    // Someone else claiming to amend it is refused at admission.
    let intruder = &nodes[4];
    let mut envelope = a1.envelope().clone();
    if let AnonBody::Summary(b) = &mut envelope.body {
        b.supersedes = Some(a2.id());
    }
    let signer = intruder.fed.signer().unwrap().unwrap();
    envelope.ring = signer.ring.id();
    let forged = lantern_protocol::anonymous::sign_anonymous(
        &envelope,
        intruder.fed.anonymity_secret(),
        &signer.ring,
        intruder.fed.store().context(),
    )
    .unwrap();
    let out = nodes[3].fed.admit(&[forged.bytes()]).unwrap();
    assert!(out[0].as_ref().is_err_and(|e| e.to_string().contains("did not make")), "{out:?}");

    // The author retracts; then purges: the bytes are gone on the other node too.
    let purge = nodes[1].fed.purge(case_id, PurgeReason::IdentifyingInformation).unwrap();
    assert!(purge.is_anonymous());
    nodes[3].fed.admit(&purge.to_gossip()).unwrap();
    for n in [&nodes[1], &nodes[3]] {
        assert_eq!(n.fed.store().record_bytes(&a1.id()).unwrap(), None, "purged");
        assert_eq!(n.fed.store().record_bytes(&a2.id()).unwrap(), None, "purged");
        assert!(n.fed.store().contains(&a2.id()).unwrap(), "its id stays");
    }
    // Another case of the author is retracted anonymously.
    let (other, _) = publish(&nodes[1], "2025-04");
    let r = nodes[1].fed.retract(other, RetractionReason::Duplicate).unwrap();
    assert!(r.is_anonymous() && r.kind() == "retraction");
}

#[test]
fn a_purge_by_another_member_deletes_nothing() {
    let nodes = federation();
    let (_, made) = publish(&nodes[1], "2025-03");
    sync(&nodes[1], &nodes[2]);
    let intruder = &nodes[2];
    let signer = intruder.fed.signer().unwrap().unwrap();
    let envelope = lantern_protocol::anonymous::AnonEnvelope {
        format: lantern_protocol::anonymous::ANONYMOUS_FORMAT,
        federation: intruder.fed.manifest().id(),
        ring: signer.ring.id(),
        year: 2025,
        created: "2026-01".parse().unwrap(),
        body: AnonBody::Purge(lantern_protocol::record::PurgeBody {
            targets: vec![made.id()],
            reason: PurgeReason::IdentifyingInformation,
        }),
    };
    let forged = lantern_protocol::anonymous::sign_anonymous(
        &envelope,
        intruder.fed.anonymity_secret(),
        &signer.ring,
        intruder.fed.store().context(),
    )
    .unwrap();
    // Its own node refuses it outright; a node that does not hold the target yet keeps it as a
    // claim that the target, when it arrives, does not match.
    let out = nodes[2].fed.admit(&[forged.bytes()]).unwrap();
    assert!(out[0].is_err(), "{out:?}");
    let fresh = &nodes[5];
    fresh.fed.admit(&[forged.bytes()]).unwrap();
    sync(&nodes[1], fresh);
    assert!(fresh.fed.store().record_bytes(&made.id()).unwrap().is_some(), "the author's summary stays");
}

#[test]
fn a_member_who_left_can_no_longer_sign_anonymously() {
    let nodes = federation();
    // Member 5 revokes its key: rings holding its anonymity key are refused from then on.
    let leaver = &nodes[5];
    let signer = leaver.fed.signer().unwrap().unwrap();
    let revocation = leaver.fed.revoke(None).unwrap();
    for n in &nodes[..5] {
        n.fed.admit(&[revocation.bytes()]).unwrap();
    }
    let (_, made) = {
        let id = leaver.fed.store().insert_case(&case("2025-03")).unwrap();
        let case = leaver.fed.store().case(id).unwrap();
        let summary = crate::derive::summary(&case, Default::default(), crate::this_month(), String::new()).unwrap();
        let envelope = lantern_protocol::anonymous::AnonEnvelope {
            format: lantern_protocol::anonymous::ANONYMOUS_FORMAT,
            federation: leaver.fed.manifest().id(),
            ring: signer.ring.id(),
            year: 2025,
            created: "2026-01".parse().unwrap(),
            body: AnonBody::Summary(lantern_protocol::record::SummaryBody {
                case: lantern_protocol::CaseRef([9; 16]),
                supersedes: None,
                summary,
            }),
        };
        let record = lantern_protocol::anonymous::sign_anonymous(
            &envelope,
            leaver.fed.anonymity_secret(),
            &signer.ring,
            leaver.fed.store().context(),
        )
        .unwrap();
        (id, Made::Anonymous { ring: Some(signer.ring.clone()), record })
    };
    let out = nodes[0].fed.admit(&made.to_gossip()).unwrap();
    assert!(out.last().unwrap().as_ref().is_err_and(|e| e.reason() == "not_member"), "{out:?}");
    // The others sign over the ring of the five remaining members, and are admitted.
    let (_, ok) = publish(&nodes[0], "2025-03");
    let Made::Anonymous { ring: Some(ring), .. } = &ok else { panic!("a fresh ring of five") };
    assert_eq!(ring.ring().len(), 5);
    let out = nodes[1].fed.admit(&ok.to_gossip()).unwrap();
    assert!(out.iter().all(|o| o.is_ok()), "{out:?}");
}

#[test]
fn below_k_registered_members_a_case_is_signed_with_the_member_key_and_stays_so() {
    // Only four of six members registered: a ring of four would name a group below k = 5.
    let nodes: Vec<Node> = (0..MEMBERS).map(node).collect();
    for n in &nodes[..4] {
        n.fed.ensure_anonymity_key().unwrap();
    }
    for a in &nodes[..4] {
        sync(a, &nodes[0]);
    }
    let (case_id, made) = publish(&nodes[0], "2025-03");
    assert!(!made.is_anonymous());
    // More members register; the case's amendment keeps its key-signed authorship.
    for n in &nodes[4..] {
        n.fed.ensure_anonymity_key().unwrap();
        sync(n, &nodes[0]);
    }
    let amended = nodes[0].fed.publish(&NodeConfig::default(), case_id, Shape::default()).unwrap();
    assert!(!amended.is_anonymous() && amended.kind() == "amendment");
    // A new case now goes anonymous; `attributed` asks for the member key.
    let (_, new) = publish(&nodes[0], "2025-04");
    assert!(new.is_anonymous());
    let id = nodes[0].fed.store().insert_case(&case("2025-05")).unwrap();
    let attributed = Shape { attributed: true, ..Shape::default() };
    assert!(!nodes[0].fed.publish(&NodeConfig::default(), id, attributed).unwrap().is_anonymous());
    // Only the anonymous case waits for a release through a relay: key-signed records name
    // their author and are gossiped at once, so a restart must not hold them back.
    let waiting: Vec<RecordId> =
        nodes[0].fed.store().awaiting_release().unwrap().into_iter().map(|(id, _)| id).collect();
    assert_eq!(waiting, vec![new.id()]);
}

#[test]
fn anonymous_records_survive_a_restart_and_count_again() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = federation();
    let manifest = manifest();
    {
        let store = Store::open(dir.path(), &manifest).unwrap();
        let fed = Federation::new(store, manifest.clone(), key(0)).unwrap();
        let (_, made) = publish(&nodes[3], "2025-03");
        let n = Node { fed, _dir: tempfile::tempdir().unwrap() };
        sync(&nodes[3], &n);
        assert!(n.fed.store().contains(&made.id()).unwrap());
    }
    let store = Store::open(dir.path(), &manifest).unwrap();
    let records = store.records_after(None, 1000).unwrap();
    let anonymous: Vec<RecordId> =
        records.iter().filter(|r| matches!(r.record, Opened::Anonymous(..))).map(|r| r.id).collect();
    assert_eq!(anonymous.len(), 1);
    assert!(store.contains(&anonymous[0]).unwrap(), "found by id after a restart (the loose index)");
    let fed = Federation::new(store, manifest, key(0)).unwrap();
    assert_eq!(fed.with_patterns(|p| p.case_count()).unwrap(), 1);
}

#[test]
fn one_tag_makes_at_most_the_cap_of_records_in_a_year_on_every_node() {
    let nodes = federation();
    let author = &nodes[1];
    let signer = author.fed.signer().unwrap().unwrap();
    let ring = signer.ring.clone();
    let make = |n: u32| {
        let case = author.fed.store().case(author.fed.store().insert_case(&case("2025-03")).unwrap()).unwrap();
        let summary = crate::derive::summary(&case, Default::default(), crate::this_month(), String::new()).unwrap();
        let mut case_ref = [0u8; 16];
        case_ref[..4].copy_from_slice(&n.to_le_bytes());
        let envelope = lantern_protocol::anonymous::AnonEnvelope {
            format: lantern_protocol::anonymous::ANONYMOUS_FORMAT,
            federation: author.fed.manifest().id(),
            ring: ring.id(),
            year: 2025,
            created: "2026-01".parse().unwrap(),
            body: AnonBody::Summary(lantern_protocol::record::SummaryBody {
                case: lantern_protocol::CaseRef(case_ref),
                supersedes: None,
                summary,
            }),
        };
        let ctx = author.fed.store().context();
        lantern_protocol::anonymous::sign_anonymous(&envelope, author.fed.anonymity_secret(), &ring, ctx).unwrap()
    };
    let records: Vec<Vec<u8>> =
        (0..=MAX_RECORDS_PER_TAG).map(|n| make(n).bytes().to_vec()).chain([ring.bytes().to_vec()]).collect();
    let receiver = &nodes[3];
    let out = receiver.fed.admit(&records).unwrap();
    let stored = out.iter().filter(|o| matches!(o, Ok(Ingested::Stored { .. }))).count();
    assert_eq!(stored, MAX_RECORDS_PER_TAG as usize + 1, "the cap and the ring");
    let refused: Vec<_> = out.iter().filter_map(|o| o.as_ref().err()).collect();
    assert_eq!(refused.len(), 1);
    assert!(refused[0].to_string().contains("most records one tag"), "{}", refused[0]);
    // Another member's tag, or the same member's tag of another year, is not capped.
    let (_, other) = publish(&nodes[2], "2025-03");
    assert!(receiver.fed.admit(&other.to_gossip()).unwrap().iter().all(|o| o.is_ok()));
}

#[test]
fn a_case_purged_before_its_release_never_leaves_and_its_id_is_hidden_until_the_purge_is_relayed() {
    let nodes = federation();
    let (case_id, made) = publish(&nodes[1], "2025-03");
    let Made::Anonymous { record, .. } = &made else { panic!("anonymous") };
    let waiting_bytes = record.bytes().to_vec();
    let store = nodes[1].fed.store();
    assert_eq!(store.still_held(vec![waiting_bytes.clone()]).len(), 1, "waiting for its release");
    let purge = nodes[1].fed.purge(case_id, PurgeReason::IdentifyingInformation).unwrap();
    // A release that waited past the purge sends nothing.
    assert!(store.still_held(vec![waiting_bytes]).is_empty());
    // Its id is still withheld (offering it would show its origin) until the purge is relayed.
    let waiting = store.awaiting_release().unwrap();
    assert!(waiting.contains(&(record.id(), None)), "{waiting:?}");
    assert!(waiting.iter().any(|(id, bytes)| *id == purge.id() && bytes.is_some()), "the purge waits too");
    assert_eq!(crate::store::purge_targets(purge.to_gossip().last().unwrap()), vec![record.id()]);
    store.mark_relayed(&[purge.id()]).unwrap();
    assert!(store.awaiting_release().unwrap().is_empty(), "the purge went by relay: nothing to hide");
}
