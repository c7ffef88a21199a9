//! Strategies and fixtures shared by the protocol's tests.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use lantern_protocol::record::*;
use lantern_protocol::summary::*;
use lantern_protocol::vocab::*;
use lantern_protocol::*;
use proptest::prelude::*;
use proptest::sample::select;

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn manifest(founders: &[&SigningKey]) -> Manifest {
    Manifest::new(
        "test federation",
        "2026-01".parse().unwrap(),
        founders.iter().map(|k| signed::member_key(k)).collect(),
        Policy::default(),
    )
}

fn sorted_set<T: Ord + Copy + std::fmt::Debug + 'static>(
    all: &'static [T],
    min: usize,
    max: usize,
) -> impl Strategy<Value = Vec<T>> {
    prop::collection::vec(select(all), min..=max).prop_map(|mut v| {
        v.sort();
        v.dedup();
        v
    })
}

pub fn arb_month() -> impl Strategy<Value = Month> {
    (1990u16..2100, 1u8..=12).prop_map(|(year, month)| Month { year, month })
}

pub fn arb_resource() -> impl Strategy<Value = ResourceBucket> {
    prop_oneof![
        select(Ipv4Size::ALL).prop_map(ResourceBucket::Ipv4),
        select(Ipv6Size::ALL).prop_map(ResourceBucket::Ipv6),
        select(AsnCount::ALL).prop_map(ResourceBucket::Asn),
    ]
}

pub fn arb_summary() -> impl Strategy<Value = CaseSummary> {
    (
        select(Registry::ALL),
        sorted_set(Category::ALL, 1, 4),
        prop::collection::vec(arb_resource(), 0..4),
        arb_month(),
        prop::collection::vec((select(Stage::ALL), 0u16..24), 0..6),
        select(DurationBucket::ALL),
        select(Outcome::ALL),
        (
            select(CustomersBucket::ALL),
            select(DowntimeBucket::ALL),
            select(CostBucket::ALL),
            sorted_set(Service::ALL, 0, 3),
        ),
        (select(OrgType::ALL), select(OrgSize::ALL), select(Region::ALL)),
        "[a-zA-Z0-9 .,é–\n]{0,300}",
        sorted_set(&["rpki", "transfer-market", "legacy", "x1"], 0, 3),
        prop::collection::vec((select(EvidenceKind::ALL), any::<[u8; 32]>()), 0..3),
    )
        .prop_map(
            |(
                registry,
                categories,
                resources,
                start,
                stages,
                duration,
                outcome,
                impact,
                profile,
                narrative,
                tags,
                evidence,
            )| {
                let mut timeline: Vec<TimelineEntry> =
                    stages.into_iter().map(|(stage, month)| TimelineEntry { stage, month }).collect();
                timeline.sort_by_key(|e| e.month);
                CaseSummary {
                    schema: SCHEMA_VERSION,
                    registry,
                    categories,
                    resources,
                    start,
                    timeline,
                    duration,
                    outcome,
                    impact: Impact { customers: impact.0, downtime: impact.1, cost: impact.2, services: impact.3 },
                    profile: MemberProfile { org_type: profile.0, size: profile.1, region: profile.2 },
                    narrative,
                    tags: tags.into_iter().map(String::from).collect(),
                    evidence: evidence
                        .into_iter()
                        .map(|(kind, commitment)| EvidenceCommitment { kind, commitment })
                        .collect(),
                    precision: Precision::default(),
                }
            },
        )
}

pub fn arb_body(author: MemberKey) -> impl Strategy<Value = Body> {
    let other = any::<u8>().prop_map(|b| signed::member_key(&key(b.max(200))));
    prop_oneof![
        (any::<[u8; 16]>(), prop::option::of(any::<[u8; 32]>()), arb_summary()).prop_map(|(case, sup, summary)| {
            Body::Summary(SummaryBody { case: CaseRef(case), supersedes: sup.map(RecordId), summary })
        }),
        (any::<[u8; 16]>(), select(RetractionReason::ALL))
            .prop_map(|(case, reason)| Body::Retraction(RetractionBody { case: CaseRef(case), reason })),
        other.clone().prop_map(|member| Body::Vouch(VouchBody { member })),
        other.prop_map(|member| Body::VouchWithdrawal(VouchBody { member })),
        Just(Body::KeyRevocation(KeyRevocationBody { key: author, successor: None })),
        any::<[u8; 32]>().prop_map(|node_key| Body::NodeBinding(NodeBindingBody { node_key })),
        (prop::collection::btree_set(any::<[u8; 32]>(), 1..=MAX_PURGE_TARGETS), select(PurgeReason::ALL)).prop_map(
            |(targets, reason)| Body::Purge(PurgeBody { targets: targets.into_iter().map(RecordId).collect(), reason })
        ),
    ]
}

/// An envelope by `key(seed)` in `manifest`'s federation, at any sequence.
pub fn arb_envelope(author_seed: u8, federation: FederationId) -> impl Strategy<Value = Envelope> {
    let author = signed::member_key(&key(author_seed));
    (1u64..1_000_000, any::<[u8; 32]>(), arb_month(), arb_body(author)).prop_map(
        move |(sequence, prev, created, body)| Envelope {
            format: WIRE_FORMAT,
            federation,
            author,
            sequence,
            previous: (sequence > 1).then_some(RecordId(prev)),
            created,
            body,
        },
    )
}
