//! Deterministic synthetic summaries, for benchmarks, demos and tests. Not for real cases.

use crate::month::Month;
use crate::summary::*;
use crate::vocab::*;

/// SplitMix64: tiny, seedable, good enough to spread synthetic data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// One of `items`, each as likely as its weight.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
        let total: u64 = items.iter().map(|(_, w)| w).sum();
        let mut pick = self.below(total.max(1));
        for &(item, w) in items {
            if pick < w {
                return item;
            }
            pick -= w;
        }
        items[0].0
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }
}

const NARRATIVES: &[&str] = &[
    "The registry asked for additional documentation after the transfer request was submitted and the case stalled for months.",
    "Our ROA was revoked without notice and upstreams began dropping the route as RPKI invalid.",
    "The registration record was disputed by a third party and the registry froze the resources pending review.",
    "Access to the registry portal was lost after a contact change we did not make.",
    "The registry reinterpreted an old policy and demanded proof of use for an allocation made years earlier.",
    "",
];

/// A plausible summary starting in a month drawn from `first..first + span_months`.
pub fn summary(rng: &mut Rng, first: Month, span_months: u16) -> CaseSummary {
    let start = Month::from_index(first.index() + rng.below(span_months.max(1).into()) as i64).unwrap_or(first);
    let mut categories = vec![rng.pick(Category::ALL)];
    if rng.chance(40) {
        categories.push(rng.pick(Category::ALL));
    }
    categories.sort();
    categories.dedup();
    let resources = (0..1 + rng.below(2))
        .map(|_| match rng.below(3) {
            0 => ResourceBucket::Ipv4(rng.pick(Ipv4Size::ALL)),
            1 => ResourceBucket::Ipv6(rng.pick(Ipv6Size::ALL)),
            _ => ResourceBucket::Asn(rng.pick(AsnCount::ALL)),
        })
        .collect();
    let outcome = rng.pick(Outcome::ALL);
    let mut month = 0u16;
    let mut timeline = vec![TimelineEntry { stage: Stage::RequestSubmitted, month: 0 }];
    for stage in [Stage::DocumentsRequested, Stage::DocumentsSupplied, Stage::Escalated, Stage::Decision] {
        if rng.chance(60) {
            month += rng.below(4) as u16;
            timeline.push(TimelineEntry { stage, month });
        }
    }
    if outcome.is_closed() {
        month += rng.below(6) as u16;
        timeline.push(TimelineEntry { stage: Stage::Resolved, month });
    }
    let mut services: Vec<Service> = (0..rng.below(3)).map(|_| rng.pick(Service::ALL)).collect();
    services.sort();
    services.dedup();
    CaseSummary {
        schema: crate::SCHEMA_VERSION,
        registry: rng.pick(Registry::ALL),
        categories,
        resources,
        start,
        timeline,
        duration: DurationBucket::of_months(month.into()),
        outcome,
        impact: Impact {
            customers: rng.pick(CustomersBucket::ALL),
            downtime: rng.pick(DowntimeBucket::ALL),
            cost: rng.pick(CostBucket::ALL),
            services,
        },
        profile: MemberProfile {
            org_type: rng.pick(OrgType::ALL),
            size: rng.pick(OrgSize::ALL),
            region: rng.pick(Region::ALL),
        },
        narrative: rng.pick(NARRATIVES).to_string(),
        tags: Vec::new(),
        evidence: (0..rng.below(2))
            .map(|_| EvidenceCommitment { kind: rng.pick(EvidenceKind::ALL), commitment: rng.bytes() })
            .collect(),
        precision: Precision::default(),
    }
}

/// Signs `summaries` as the consecutive records of `key`'s chain from sequence 1, each a new case
/// (random case ref) created in its start month. For tests, demos and benchmarks.
pub fn signed_chain(
    key: &ed25519_dalek::SigningKey,
    ctx: &crate::VerifyContext,
    summaries: impl IntoIterator<Item = CaseSummary>,
    rng: &mut Rng,
) -> Vec<crate::VerifiedRecord> {
    let mut previous = None;
    summaries
        .into_iter()
        .enumerate()
        .map(|(i, summary)| {
            let env = crate::Envelope {
                format: crate::WIRE_FORMAT,
                federation: ctx.federation,
                author: crate::signed::member_key(key),
                sequence: i as u64 + 1,
                previous,
                created: summary.start,
                body: crate::Body::Summary(crate::record::SummaryBody {
                    case: crate::CaseRef(rng.bytes()),
                    supersedes: None,
                    summary,
                }),
            };
            let record = crate::sign(&env, key, ctx).expect("sample summaries are valid");
            previous = Some(record.id());
            record
        })
        .collect()
}
