//! `lantern demo`: a local federation of three nodes on loopback, filled with realistic
//! synthetic cases from many members, so a new user sees every page of the UI working.
//!
//! The data has shape, not noise: members deal mostly with their own region's RIR, registries
//! and categories are weighted as the field sees them, durations depend on the kind of incident,
//! one pair (ARIN × RPKI change) surges in the last three months, and one group (AFRINIC × legal
//! proceeding) is too small to show.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ed25519_dalek::SigningKey;
use lantern_protocol::anon::AnonymitySecret;
use lantern_protocol::anonymous::{self, AnonBody, AnonEnvelope, Format, format_of};
use lantern_protocol::record::{AnonymityKeyBody, Body, SummaryBody};
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::summary::{CaseSummary, MemberProfile, TimelineEntry};
use lantern_protocol::vocab::*;
use lantern_protocol::{CaseRef, Envelope, Manifest, Month, Policy, VerifyContext, sign, signed};
use rayon::prelude::*;

use crate::app::{self, NodeParts, RunningNode};
use crate::case::PrivateCase;
use crate::datadir::DataDir;
use crate::network::{NetworkConfig, NetworkEvent};

pub const NODES: usize = 3;
/// Most demo cases signed anonymously.
const MAX_ANONYMOUS: usize = 120;
/// Months the synthetic cases span, ending this month.
pub const SPAN_MONTHS: i64 = 12;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub members: usize,
    pub cases: usize,
    pub seed: u64,
    pub dir: PathBuf,
    pub api: SocketAddr,
}

const REGISTRIES: &[(Registry, u64)] = &[
    (Registry::RipeNcc, 30),
    (Registry::Arin, 24),
    (Registry::Apnic, 16),
    (Registry::Lacnic, 8),
    (Registry::Afrinic, 7),
    (Registry::Jpnic, 3),
    (Registry::NicBr, 3),
    (Registry::Krnic, 2),
    (Registry::Idnic, 2),
    (Registry::Cnnic, 1),
    (Registry::Twnic, 1),
    (Registry::Other, 3),
];

const CATEGORIES: &[(Category, u64)] = &[
    (Category::TransferDelayed, 22),
    (Category::ExtraordinaryDocumentation, 14),
    (Category::RpkiChange, 8),
    (Category::RecordDisputed, 9),
    (Category::RouteObjectIssue, 8),
    (Category::AccountAccessLost, 7),
    (Category::ContactsChanged, 6),
    (Category::ReverseDnsIssue, 6),
    (Category::FeeDispute, 5),
    (Category::TransferRefused, 4),
    (Category::MembershipSuspended, 3),
    (Category::ResourcesRevoked, 3),
    (Category::PolicyReinterpreted, 3),
    (Category::UpstreamRefusesRoute, 3),
    (Category::Other, 2),
];

const OUTCOMES: &[(Outcome, u64)] = &[
    (Outcome::ResolvedFavourably, 45),
    (Outcome::Open, 20),
    (Outcome::ResolvedUnfavourably, 14),
    (Outcome::Withdrawn, 10),
    (Outcome::ResourcesLost, 6),
    (Outcome::InLitigation, 5),
];

/// The region a member serves and the RIR it mostly deals with.
fn home(rng: &mut Rng) -> (Region, Registry) {
    rng.weighted(&[
        ((Region::Europe, Registry::RipeNcc), 34),
        ((Region::NorthAmerica, Registry::Arin), 26),
        ((Region::AsiaPacific, Registry::Apnic), 18),
        ((Region::LatinAmerica, Registry::Lacnic), 9),
        ((Region::Africa, Registry::Afrinic), 7),
        ((Region::Global, Registry::RipeNcc), 6),
    ])
}

/// Typical months to resolution for a kind of incident.
fn months_to_resolve(rng: &mut Rng, category: Category) -> u16 {
    let (low, spread) = match category {
        Category::TransferDelayed | Category::ExtraordinaryDocumentation => (2, 8),
        Category::LegalProceeding | Category::MembershipSuspended | Category::ResourcesRevoked => (8, 20),
        Category::RecordDisputed | Category::PolicyReinterpreted | Category::TransferRefused => (3, 10),
        _ => (0, 4),
    };
    low + rng.below(spread) as u16
}

struct Member {
    key: SigningKey,
    profile: MemberProfile,
    registry: Registry,
}

fn summary(rng: &mut Rng, m: &Member, registry: Registry, category: Category, start: Month, now: Month) -> CaseSummary {
    let mut s = sample::summary(rng, start, 1);
    s.registry = registry;
    s.categories = vec![category];
    if rng.chance(25) {
        s.categories.push(rng.weighted(CATEGORIES));
        s.categories.sort();
        s.categories.dedup();
    }
    if registry == Registry::Afrinic && category != Category::LegalProceeding {
        // Keep the small group small.
        s.categories.retain(|c| *c != Category::LegalProceeding);
    }
    s.start = start;
    s.profile = m.profile;
    s.outcome = rng.weighted(OUTCOMES);
    let elapsed = start.months_until(now).max(0) as u16;
    let resolve = months_to_resolve(rng, category).min(elapsed);
    let mut timeline = vec![TimelineEntry { stage: Stage::RequestSubmitted, month: 0 }];
    if rng.chance(70) {
        timeline.push(TimelineEntry { stage: Stage::DocumentsRequested, month: (resolve / 4).min(elapsed) });
    }
    if rng.chance(30) {
        timeline.push(TimelineEntry { stage: Stage::Escalated, month: (resolve / 2).min(elapsed) });
    }
    if s.outcome.is_closed() {
        timeline.push(TimelineEntry { stage: Stage::Resolved, month: resolve });
        s.duration = DurationBucket::of_months(resolve.into());
    } else {
        s.duration = DurationBucket::of_months(elapsed.into());
    }
    s.timeline = timeline;
    s.narrative.clear();
    s
}

/// Signed records of `cases` synthetic cases by `members` (the first `NODES` keys are given).
pub fn generate(
    node_keys: &[SigningKey],
    members: usize,
    cases: usize,
    seed: u64,
    now: Month,
) -> (Manifest, Vec<Vec<u8>>) {
    let mut rng = Rng::new(seed);
    let members: Vec<Member> = (0..members.max(node_keys.len()))
        .map(|i| {
            let key = node_keys.get(i).cloned().unwrap_or_else(|| SigningKey::from_bytes(&rng.bytes()));
            let (region, registry) = home(&mut rng);
            let org_type = rng.weighted(&[
                (OrgType::Isp, 35),
                (OrgType::Hosting, 20),
                (OrgType::Lir, 15),
                (OrgType::Cloud, 10),
                (OrgType::Ipv4Holder, 10),
                (OrgType::Enterprise, 10),
            ]);
            let size = rng.pick(&OrgSize::ALL[1..]);
            Member { key, profile: MemberProfile { org_type, size, region }, registry }
        })
        .collect();
    let founders = members.iter().map(|m| signed::member_key(&m.key)).collect();
    let manifest = Manifest::new(
        "lantern demo",
        Month::from_index(now.index() - SPAN_MONTHS).unwrap_or(now),
        founders,
        Policy::default(),
    );
    let ctx = VerifyContext::for_manifest(&manifest);
    let month = |back: i64| Month::from_index(now.index() - back).unwrap_or(now);

    // (author, registry, category, start) for every case.
    let mut plan: Vec<(usize, Registry, Category, Month)> = Vec::with_capacity(cases);
    let surge = cases / 16;
    for i in 0..cases.saturating_sub(surge + 3) {
        let author = i % members.len();
        let registry = if rng.chance(70) { members[author].registry } else { rng.weighted(REGISTRIES) };
        let category = rng.weighted(CATEGORIES);
        if (registry, category) == (Registry::Afrinic, Category::LegalProceeding) {
            continue;
        }
        plan.push((author, registry, category, month(rng.below(SPAN_MONTHS as u64) as i64)));
    }
    // The emerging pattern: ARIN × RPKI change, concentrated in the last three months.
    for _ in 0..surge {
        plan.push((
            rng.below(members.len() as u64) as usize,
            Registry::Arin,
            Category::RpkiChange,
            month(rng.below(3) as i64),
        ));
    }
    // The small group: two operators, three cases; it must never show.
    for (author, back) in [(0, 2), (1, 4), (0, 7)] {
        plan.push((author % members.len(), Registry::Afrinic, Category::LegalProceeding, month(back)));
    }

    // Every member registers its anonymity key first (sequence 1), and its cases of the last
    // month are signed anonymously over the ring of all of them, up to a cap that keeps the
    // demo's start quick (a proof costs ~8 ms over a ring of 64).
    let mut sequences = vec![1u64; members.len()];
    let mut previous = Vec::with_capacity(members.len());
    let mut records = Vec::with_capacity(plan.len() + members.len() + 1);
    let secrets: Vec<AnonymitySecret> = members.iter().map(|m| AnonymitySecret::derive(&m.key.to_bytes())).collect();
    for (m, secret) in members.iter().zip(&secrets) {
        let member = signed::member_key(&m.key);
        let body = Body::AnonymityKey(AnonymityKeyBody::new(secret, ctx.federation, member));
        let env = Envelope {
            format: lantern_protocol::WIRE_FORMAT,
            federation: ctx.federation,
            author: member,
            sequence: 1,
            previous: None,
            created: month(SPAN_MONTHS),
            body,
        };
        let record = sign(&env, &m.key, &ctx).expect("a valid registration");
        previous.push(Some(record.id()));
        records.push(record.bytes().to_vec());
    }
    let ring = anonymous::ring_record(ctx.federation, secrets.iter().map(AnonymitySecret::public).collect())
        .expect("a ring of the members");
    records.push(ring.bytes().to_vec());
    let mut anonymous_plan = Vec::new();
    for (author, registry, category, start) in plan {
        let m = &members[author];
        let s = summary(&mut rng, m, registry, category, start, now);
        let body = SummaryBody { case: CaseRef(rng.bytes()), supersedes: None, summary: s };
        if start == now && anonymous_plan.len() < MAX_ANONYMOUS {
            anonymous_plan.push((author, body));
            continue;
        }
        sequences[author] += 1;
        let env = Envelope {
            format: lantern_protocol::WIRE_FORMAT,
            federation: ctx.federation,
            author: signed::member_key(&m.key),
            sequence: sequences[author],
            previous: previous[author],
            created: start,
            body: Body::Summary(body),
        };
        let record = sign(&env, &m.key, &ctx).expect("generated summaries are valid");
        previous[author] = Some(record.id());
        records.push(record.bytes().to_vec());
    }
    let anonymous: Vec<Vec<u8>> = anonymous_plan
        .into_par_iter()
        .map(|(author, body)| {
            let envelope = AnonEnvelope {
                format: anonymous::ANONYMOUS_FORMAT,
                federation: ctx.federation,
                ring: ring.id(),
                year: body.summary.start.year,
                created: now,
                body: AnonBody::Summary(body),
            };
            let signed = anonymous::sign_anonymous(&envelope, &secrets[author], &ring, &ctx);
            signed.expect("a ring member signs a valid summary").bytes().to_vec()
        })
        .collect();
    records.extend(anonymous);
    (manifest, records)
}

/// Creates the nodes' data dirs and stores (each node holds a third of the records, its own
/// member's chain, and every anonymity-key registration and the ring; catch-up over the network
/// brings them together).
/// The nodes of a demo made earlier in `root`, to start again as they were (`None`: no demo there).
pub fn existing(root: &Path) -> anyhow::Result<Option<Vec<DataDir>>> {
    if !root.join("node0").exists() {
        return Ok(None);
    }
    let dirs = (0..NODES)
        .map(|i| {
            let dir = root.join(format!("node{i}"));
            DataDir::existing(&dir).with_context(|| format!("{} holds no demo node", dir.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(dirs))
}

pub fn prepare(opts: &DemoOptions, say: &mut dyn FnMut(&str)) -> anyhow::Result<Vec<DataDir>> {
    anyhow::ensure!((NODES..=250).contains(&opts.members), "--members must be between {NODES} and 250");
    anyhow::ensure!((1..=1_000_000).contains(&opts.cases), "--cases must be between 1 and 1000000");
    if opts.dir.join("node0").exists() {
        anyhow::bail!("{} already holds a demo; remove it or pass another --dir", opts.dir.display());
    }
    let mut dirs = Vec::new();
    let mut keys = Vec::new();
    for i in 0..NODES {
        let profile = MemberProfile { org_type: OrgType::Isp, size: OrgSize::Medium, region: Region::Europe };
        let (dir, _) = DataDir::init(&opts.dir.join(format!("node{i}")), profile)?;
        crate::tokens::member_token(dir.root())?;
        keys.push(dir.member_key()?);
        dirs.push(dir);
    }
    say(&format!("generating {} cases from {} members", opts.cases, opts.members));
    let (manifest, records) = generate(&keys, opts.members, opts.cases, opts.seed, crate::this_month());
    for (i, dir) in dirs.iter().enumerate() {
        dir.install_manifest(&manifest)?;
        let federation = dir.federation()?;
        // A third of everyone's records, and the whole chain of the node's own member: a node
        // signs only after its own chain, never over a part of it (`store::own_head`).
        let own = signed::member_key(&keys[i]);
        let share: Vec<&Vec<u8>> = records
            .iter()
            .enumerate()
            .filter(|(n, r)| {
                // Every node gets the registrations and the ring: anonymous records verify only
                // over rings of keys the node knows.
                let env = lantern_protocol::signed::open_stored(r);
                n % NODES == i
                    || format_of(r) == Format::Ring
                    || env.is_ok_and(|e| e.author == own || matches!(e.body, Body::AnonymityKey(_)))
            })
            .map(|(_, r)| r)
            .collect();
        for outcome in federation.admit(&share)? {
            outcome.context("demo record rejected")?;
        }
    }
    // Two private cases on the first node, for the Publish and Similar pages.
    let store = dirs[0].open_store()?;
    for case in [
        PrivateCase::from_json(include_str!("../../docs/examples/case.json"))?,
        PrivateCase::from_toml(include_str!("../../docs/examples/case.toml"))?,
    ] {
        let mut case = case;
        case.salt_evidence();
        store.insert_case(&case)?;
    }
    store.flush()?;
    Ok(dirs)
}

/// Starts the nodes: the first serves the API on `api`, the others on free ports.
pub async fn start(dirs: &[DataDir], api: SocketAddr) -> anyhow::Result<Vec<RunningNode>> {
    let mut nodes: Vec<RunningNode> = Vec::new();
    let mut bootstrap = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let mut seed = dir.node_key()?.to_bytes();
        let parts = NodeParts {
            federation: Arc::new(dir.federation()?),
            keypair: libp2p::identity::Keypair::ed25519_from_bytes(&mut seed)?,
            config: dir.config()?,
            tokens: crate::tokens::Tokens::load(dir.root())?,
            network: NetworkConfig {
                bootstrap: bootstrap.clone(),
                sync_interval: Duration::from_secs(5),
                // A demo shows a publish within seconds; a real node waits up to ten minutes.
                release_delay: Duration::from_secs(3),
                ..Default::default()
            },
            api: if i == 0 { api } else { SocketAddr::from(([127, 0, 0, 1], 0)) },
            query_log: Some(dir.root().to_path_buf()),
        };
        let (node, mut events) = app::start(parts).await?;
        if i == 0 {
            let address = tokio::time::timeout(Duration::from_secs(10), async {
                while let Some(event) = events.recv().await {
                    if let NetworkEvent::Listening { address } = event {
                        return Some(address);
                    }
                }
                None
            })
            .await
            .ok()
            .flatten()
            .context("the first node did not start listening")?;
            bootstrap.push(address.with(libp2p::multiaddr::Protocol::P2p(node.peer)));
        }
        nodes.push(node);
    }
    Ok(nodes)
}

/// The default place for a demo's data: a fresh directory under the system's temp dir.
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join(format!("lantern-demo-{}", std::process::id()))
}

pub fn token(dir: &Path) -> anyhow::Result<String> {
    Ok(crate::tokens::member_token(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_records_verify_and_have_the_promised_shape() {
        let now: Month = "2026-06".parse().unwrap();
        let keys: Vec<SigningKey> = (1..=3u8).map(|i| SigningKey::from_bytes(&[i; 32])).collect();
        let (manifest, records) = generate(&keys, 20, 2000, 1, now);
        let ctx = VerifyContext::for_manifest(&manifest);
        let signed: Vec<&Vec<u8>> = records.iter().filter(|r| format_of(r) == Format::Signed).collect();
        let verified: Vec<_> = lantern_protocol::verify_batch(&signed, &ctx).into_iter().map(Result::unwrap).collect();
        let ring = records.iter().find(|r| format_of(r) == Format::Ring).unwrap();
        let ring = anonymous::verify_ring(ring, ctx.federation).unwrap();
        let anon: Vec<&Vec<u8>> = records.iter().filter(|r| format_of(r) == Format::Anonymous).collect();
        let lookup = |id: &lantern_protocol::RecordId| (*id == ring.id()).then(|| ring.ring().clone());
        let anon: Vec<_> =
            anonymous::verify_anonymous_batch(&anon, &ctx, &lookup).into_iter().map(Result::unwrap).collect();
        assert!(!anon.is_empty(), "this month's cases are anonymous");
        assert_eq!(manifest.founders.len(), 20);
        let summaries: Vec<&CaseSummary> = verified
            .iter()
            .filter_map(|r| match &r.envelope().body {
                Body::Summary(b) => Some(&b.summary),
                _ => None,
            })
            .chain(anon.iter().filter_map(|r| match &r.envelope().body {
                AnonBody::Summary(b) => Some(&b.summary),
                _ => None,
            }))
            .collect();
        let small = summaries
            .iter()
            .filter(|s| s.registry == Registry::Afrinic && s.categories.contains(&Category::LegalProceeding));
        assert!(small.count() >= 3);
        let surge_recent = summaries
            .iter()
            .filter(|s| s.registry == Registry::Arin && s.categories.contains(&Category::RpkiChange))
            .filter(|s| s.start.months_until(now) < 3)
            .count();
        assert!(surge_recent >= 2000 / 16, "{surge_recent}");
        assert!(summaries.iter().all(|s| s.start.months_until(now) < SPAN_MONTHS && s.start <= now));
        let registries: std::collections::BTreeSet<_> = summaries.iter().map(|s| s.registry).collect();
        assert!(registries.len() >= 10);
    }
}
