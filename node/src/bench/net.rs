//! Network benchmarks: catch-up of a fresh node from one peer over loopback (`lantern bench
//! sync`), and propagation of new records to every node of a federation (`lantern bench
//! propagation`). Real swarms on 127.0.0.1, real sled stores in a temporary directory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use lantern_protocol::record::{Body, SummaryBody};
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::{CaseRef, Manifest, Policy, RecordError, RecordId, signed};
use libp2p::Multiaddr;
use libp2p::identity::Keypair;
use serde::Serialize;

use crate::federation::Federation;
use crate::network::{self, Client, NetworkConfig, NetworkEvent};
use crate::store::Store;

fn key(seed: u64) -> SigningKey {
    SigningKey::from_bytes(&Rng::new(seed ^ 0x5eed).bytes())
}

struct Running {
    client: Client,
    events: tokio::sync::mpsc::Receiver<NetworkEvent>,
    address: Multiaddr,
    task: tokio::task::JoinHandle<()>,
}

async fn start(
    federation: Arc<Federation>,
    bootstrap: Vec<Multiaddr>,
    sync_interval: Duration,
) -> anyhow::Result<Running> {
    let config = NetworkConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
        bootstrap,
        sync_interval,
        // Released records go through one relay at once: the benches measure the route, not
        // the wait.
        release_delay: Duration::ZERO,
        ..NetworkConfig::default()
    };
    let (client, mut events, task) = network::spawn(federation, Keypair::generate_ed25519(), config)?;
    let address = loop {
        match events.recv().await {
            Some(NetworkEvent::Listening { address }) => break address,
            Some(_) => continue,
            None => anyhow::bail!("network stopped before listening"),
        }
    };
    Ok(Running { client, events, address, task })
}

/// The next finished reconciliation: (round trips, bytes sent, bytes received, records fetched).
async fn next_sync(
    events: &mut tokio::sync::mpsc::Receiver<NetworkEvent>,
) -> anyhow::Result<(usize, usize, usize, usize)> {
    loop {
        match tokio::time::timeout(Duration::from_secs(600), events.recv()).await? {
            Some(NetworkEvent::SyncFinished { round_trips, bytes_sent, bytes_received, fetched, .. }) => {
                return Ok((round_trips, bytes_sent, bytes_received, fetched));
            }
            Some(_) => continue,
            None => anyhow::bail!("network stopped"),
        }
    }
}

async fn stop(node: Running) -> anyhow::Result<()> {
    node.client.shutdown().await?;
    node.task.await?;
    Ok(())
}

#[derive(Debug, Serialize)]
pub struct SyncReport {
    pub records: usize,
    /// For anonymous summaries: the ring's members (`None`: key-signed summaries).
    pub ring_members: Option<usize>,
    /// Verify + store of the same records into a fresh store, no network: the ceiling. For
    /// anonymous summaries, admission into a fresh federation (membership, rings, proofs).
    pub ingest_only_per_sec: f64,
    pub catch_up_secs: f64,
    /// Start, connection, membership proof and reconciliation: until the first fetch is answered.
    pub until_first_fetch_secs: f64,
    pub catch_up_per_sec: f64,
    pub catch_up_vs_ingest: f64,
    /// Reconciliations the catch-up took (more than one when records waited for their authors'
    /// membership or their ring).
    pub catch_up_sessions: usize,
    /// Reconciling the two identical sets afterwards.
    pub identical_round_trips: usize,
    pub identical_bytes_sent: usize,
    pub identical_bytes_received: usize,
}

/// A node holding `records` key-signed records from 250 authors; a fresh node connects and
/// catches up.
pub fn sync(records: usize, dir: &Path, mut say: impl FnMut(&str)) -> anyhow::Result<SyncReport> {
    let (a_key, b_key) = (key(1), key(2));
    say(&format!("generating {records} signed summaries from 250 authors"));
    let extra = [signed::member_key(&a_key), signed::member_key(&b_key)];
    let (manifest, data) = crate::bench::generate_with_founders(records, 250, 42, &extra);

    say("measuring ingest alone (fresh store)");
    let only = Store::open(&dir.join("ingest-only"), &manifest)?;
    let t = Instant::now();
    for chunk in data.chunks(16_384) {
        only.ingest_batch(chunk)?;
    }
    let ingest_only_per_sec = records as f64 / t.elapsed().as_secs_f64();
    drop(only);
    catch_up(Dataset { manifest, data, a_key, b_key, ring_members: None }, ingest_only_per_sec, dir, say)
}

/// [`sync`] with `records` anonymous summaries over a ring of `members` (256 founders, the rest
/// vouched in), read from `cache` when it holds them (`bench::anonymous::federation_cached`).
pub fn sync_anonymous(
    members: usize,
    records: usize,
    cache: Option<&Path>,
    dir: &Path,
    mut say: impl FnMut(&str),
) -> anyhow::Result<SyncReport> {
    let (manifest, data) = crate::bench::anonymous::federation_cached(members, records, cache, &mut say)?;
    let (a_key, b_key) = (crate::bench::anonymous::member_key(0), crate::bench::anonymous::member_key(1));

    say("measuring admission alone (fresh federation)");
    let only = Federation::new(Store::open(&dir.join("ingest-only"), &manifest)?, manifest.clone(), b_key.clone())?;
    let t = Instant::now();
    admit_all(&only, &data)?;
    let ingest_only_per_sec = data.len() as f64 / t.elapsed().as_secs_f64();
    drop(only);
    catch_up(Dataset { manifest, data, a_key, b_key, ring_members: Some(members) }, ingest_only_per_sec, dir, say)
}

/// Admits `data` in chunks as a catching-up node would, admitting again what waited for its
/// author's vouches or its ring (in the same chunk) until everything is in.
fn admit_all(federation: &Federation, data: &[Vec<u8>]) -> anyhow::Result<()> {
    let mut waiting: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    while !waiting.is_empty() {
        let mut next = Vec::new();
        for chunk in waiting.chunks(16_384) {
            for (bytes, outcome) in chunk.iter().zip(federation.admit(chunk)?) {
                match outcome {
                    Ok(_) => {}
                    Err(RecordError::NotMember(_) | RecordError::UnknownRing(_)) => next.push(*bytes),
                    Err(e) => anyhow::bail!("a generated record refused: {e}"),
                }
            }
        }
        anyhow::ensure!(next.len() < waiting.len(), "{} generated records can never be admitted", next.len());
        waiting = next;
    }
    Ok(())
}

struct Dataset {
    manifest: Manifest,
    /// In an order a node admits them in.
    data: Vec<Vec<u8>>,
    /// The serving node's member and the fresh node's.
    a_key: SigningKey,
    b_key: SigningKey,
    ring_members: Option<usize>,
}

fn catch_up(
    set: Dataset,
    ingest_only_per_sec: f64,
    dir: &Path,
    mut say: impl FnMut(&str),
) -> anyhow::Result<SyncReport> {
    let Dataset { manifest, data, a_key, b_key, ring_members } = set;
    let records = data.len();
    say("filling the serving node");
    let a = Arc::new(Federation::new(Store::open(&dir.join("a"), &manifest)?, manifest.clone(), a_key)?);
    admit_all(&a, &data)?;
    drop(data);
    let b = Arc::new(Federation::new(Store::open(&dir.join("b"), &manifest)?, manifest.clone(), b_key)?);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let node_a = start(a.clone(), vec![], Duration::from_secs(3600)).await?;
        say("catching up over loopback");
        let t = Instant::now();
        let mut node_b = start(b.clone(), vec![node_a.address.clone()], Duration::from_secs(3600)).await?;
        let target = a.store().record_count();
        let deadline = Instant::now() + Duration::from_secs(3600);
        // Events are drained meanwhile: the network drops them when nobody reads, and the end of
        // the catch-up session is awaited below.
        let (mut sessions, mut last_session_done) = (0, false);
        let mut first_fetch = None;
        while b.store().record_count() < target {
            anyhow::ensure!(Instant::now() < deadline, "catch-up did not finish");
            if let Ok(event) = tokio::time::timeout(Duration::from_millis(10), node_b.events.recv()).await {
                if let Some(NetworkEvent::SyncFinished { fetched, .. }) = event {
                    sessions += 1;
                    last_session_done = fetched > 0;
                }
                if matches!(event, Some(NetworkEvent::SyncProgress { .. })) {
                    first_fetch.get_or_insert_with(|| t.elapsed());
                    last_session_done = false;
                }
            }
        }
        let catch_up = t.elapsed();

        say("reconciling the identical sets");
        // First the end of the catch-up session itself, then a fresh reconciliation.
        if !last_session_done {
            loop {
                let (_, _, _, fetched) = next_sync(&mut node_b.events).await?;
                sessions += 1;
                if fetched > 0 {
                    break;
                }
            }
        }
        node_b.client.sync_all().await?;
        let (round_trips, sent, received, _) = next_sync(&mut node_b.events).await?;
        stop(node_b).await?;
        stop(node_a).await?;
        Ok(SyncReport {
            records,
            ring_members,
            ingest_only_per_sec,
            catch_up_secs: catch_up.as_secs_f64(),
            until_first_fetch_secs: first_fetch.unwrap_or(catch_up).as_secs_f64(),
            catch_up_per_sec: records as f64 / catch_up.as_secs_f64(),
            catch_up_vs_ingest: records as f64 / catch_up.as_secs_f64() / ingest_only_per_sec,
            catch_up_sessions: sessions,
            identical_round_trips: round_trips,
            identical_bytes_sent: sent,
            identical_bytes_received: received,
        })
    })
}

/// Starts one node per key, each dialling up to three earlier ones, and waits for the overlay
/// (every node with two proven peers) and a few gossipsub heartbeats.
async fn overlay(
    keys: &[SigningKey],
    manifest: &Manifest,
    dir: &Path,
    rng: &mut Rng,
) -> anyhow::Result<(Vec<Running>, Vec<Arc<Federation>>)> {
    let nodes = keys.len();
    let mut running: Vec<Running> = Vec::new();
    let mut federations = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let store = Store::open(&dir.join(format!("n{i}")), manifest)?;
        let federation = Arc::new(Federation::new(store, manifest.clone(), key.clone())?);
        let bootstrap: Vec<Multiaddr> =
            (0..i.min(3)).map(|_| running[rng.below(i as u64) as usize].address.clone()).collect();
        running.push(start(federation.clone(), bootstrap, Duration::from_secs(3600)).await?);
        federations.push(federation);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for node in &running {
        while node.client.peers().await?.iter().filter(|p| p.proven).count() < 2.min(nodes - 1) {
            anyhow::ensure!(Instant::now() < deadline, "overlay did not form");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Let gossipsub build its meshes (a few heartbeats) before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok((running, federations))
}

#[derive(Debug, Serialize)]
pub struct PropagationReport {
    pub nodes: usize,
    pub messages: usize,
    pub deliveries: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// `nodes` nodes, each dialling up to three earlier ones; `messages` records published one after
/// another at random nodes; time from publish to stored at every other node.
pub fn propagation(
    nodes: usize,
    messages: usize,
    dir: &Path,
    mut say: impl FnMut(&str),
) -> anyhow::Result<PropagationReport> {
    let keys: Vec<SigningKey> = (0..nodes as u64).map(|i| key(100 + i)).collect();
    let manifest = Manifest::new(
        "propagation bench",
        "2026-01".parse()?,
        keys.iter().map(signed::member_key).collect(),
        Policy::default(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        say(&format!("starting {nodes} nodes"));
        let mut rng = Rng::new(9);
        let (mut running, federations) = overlay(&keys, &manifest, dir, &mut rng).await?;
        let arrivals: Arc<Mutex<HashMap<RecordId, Vec<Instant>>>> = Arc::default();
        let mut listeners = Vec::new();
        for node in &mut running {
            let mut events = std::mem::replace(&mut node.events, tokio::sync::mpsc::channel(1).1);
            let arrivals = arrivals.clone();
            listeners.push(tokio::spawn(async move {
                while let Some(event) = events.recv().await {
                    if let NetworkEvent::RecordStored { id, .. } = event {
                        arrivals.lock().expect("lock").entry(id).or_default().push(Instant::now());
                    }
                }
            }));
        }

        say(&format!("publishing {messages} records"));
        let mut latencies: Vec<f64> = Vec::new();
        for m in 0..messages {
            let at = rng.below(nodes as u64) as usize;
            let mut r = Rng::new(m as u64);
            let summary = sample::summary(&mut r, "2025-01".parse()?, 12);
            let record = federations[at].append(Body::Summary(SummaryBody {
                case: CaseRef(r.bytes()),
                supersedes: None,
                summary,
            }))?;
            let t = Instant::now();
            running[at].client.publish(record.bytes().to_vec()).await?;
            let deadline = t + Duration::from_secs(30);
            loop {
                let got = arrivals.lock().expect("lock").get(&record.id()).map_or(0, Vec::len);
                if got >= nodes - 1 {
                    break;
                }
                anyhow::ensure!(Instant::now() < deadline, "record {m} reached only {got} of {} nodes", nodes - 1);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let times = arrivals.lock().expect("lock").remove(&record.id()).unwrap_or_default();
            latencies.extend(times.iter().map(|at| at.duration_since(t).as_secs_f64() * 1000.0));
        }
        for node in running {
            stop(node).await?;
        }
        for l in listeners {
            l.abort();
        }
        latencies.sort_by(f64::total_cmp);
        let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
        Ok(PropagationReport {
            nodes,
            messages,
            deliveries: latencies.len(),
            p50_ms: pct(0.5),
            p90_ms: pct(0.9),
            p99_ms: pct(0.99),
            max_ms: pct(1.0),
        })
    })
}

#[derive(Debug, Serialize)]
pub struct OriginReport {
    pub nodes: usize,
    pub messages: usize,
    /// A single spy names, as the author, the peer it first heard a record from: how often right,
    /// over every (record, spy other than the author).
    pub spy_released: f64,
    /// The same for records gossiped by their author's node at once (the first wave's way),
    /// measured in the same run: the baseline.
    pub spy_direct: f64,
    /// A coalition of a fifth of the nodes (not the author) names the peer its earliest copy
    /// came from.
    pub coalition_released: f64,
    pub coalition_direct: f64,
    /// 2/N: the goal (issue #16).
    pub goal: f64,
}

/// `nodes` nodes; `messages` records by random authors, half released (one relay, no delay) and
/// half gossiped at once; first-heard-from estimators for one spy and a coalition of 20 %.
pub fn origin(nodes: usize, messages: usize, dir: &Path, mut say: impl FnMut(&str)) -> anyhow::Result<OriginReport> {
    let keys: Vec<SigningKey> = (0..nodes as u64).map(|i| key(300 + i)).collect();
    let manifest = Manifest::new(
        "origin bench",
        "2026-01".parse()?,
        keys.iter().map(signed::member_key).collect(),
        Policy::default(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        say(&format!("starting {nodes} nodes"));
        let mut rng = Rng::new(13);
        let (mut running, federations) = overlay(&keys, &manifest, dir, &mut rng).await?;
        let peers: Vec<libp2p::PeerId> = running.iter().map(|n| n.client.peer_id()).collect();
        // Per record: (node, the peer its copy came from, when).
        type Heard = HashMap<RecordId, Vec<(usize, libp2p::PeerId, Instant)>>;
        let heard: Arc<Mutex<Heard>> = Arc::default();
        let mut listeners = Vec::new();
        for (i, node) in running.iter_mut().enumerate() {
            let mut events = std::mem::replace(&mut node.events, tokio::sync::mpsc::channel(1).1);
            let heard = heard.clone();
            listeners.push(tokio::spawn(async move {
                while let Some(event) = events.recv().await {
                    if let NetworkEvent::RecordStored { id, from } = event {
                        heard.lock().expect("lock").entry(id).or_default().push((i, from, Instant::now()));
                    }
                }
            }));
        }
        let coalition_size = (nodes / 5).max(1);
        let mut score = |released: bool, author: usize, copies: &[(usize, libp2p::PeerId, Instant)]| {
            let spies: Vec<_> = copies.iter().filter(|(n, _, _)| *n != author).collect();
            let right = spies.iter().filter(|(_, from, _)| *from == peers[author]).count();
            // A coalition drawn among the other nodes: its earliest copy's sender.
            let mut others: Vec<usize> = (0..nodes).filter(|n| *n != author).collect();
            let mut coalition = Vec::new();
            while coalition.len() < coalition_size && !others.is_empty() {
                coalition.push(others.swap_remove(rng.below(others.len() as u64) as usize));
            }
            let earliest = copies.iter().filter(|(n, _, _)| coalition.contains(n)).min_by_key(|(_, _, at)| *at);
            let coalition_right = earliest.is_some_and(|(_, from, _)| *from == peers[author]);
            (released, right as f64 / spies.len().max(1) as f64, f64::from(u8::from(coalition_right)))
        };
        say(&format!("publishing {messages} records"));
        let mut results = Vec::new();
        for m in 0..messages {
            let released = m % 2 == 0;
            let author = (m * 7 + 3) % nodes;
            let mut r = Rng::new(1000 + m as u64);
            let summary = sample::summary(&mut r, "2025-01".parse()?, 12);
            let body = Body::Summary(SummaryBody { case: CaseRef(r.bytes()), supersedes: None, summary });
            let record = federations[author].append(body)?;
            if released {
                running[author].client.release(vec![record.bytes().to_vec()], false).await?;
            } else {
                running[author].client.publish(record.bytes().to_vec()).await?;
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let got = heard.lock().expect("lock").get(&record.id()).map_or(0, Vec::len);
                if got >= nodes - 1 {
                    break;
                }
                anyhow::ensure!(Instant::now() < deadline, "record {m} reached only {got} of {} nodes", nodes - 1);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let copies = heard.lock().expect("lock").remove(&record.id()).unwrap_or_default();
            results.push(score(released, author, &copies));
        }
        for node in running {
            stop(node).await?;
        }
        for l in listeners {
            l.abort();
        }
        let mean = |released: bool, pick: fn(&(bool, f64, f64)) -> f64| {
            let xs: Vec<f64> = results.iter().filter(|r| r.0 == released).map(pick).collect();
            xs.iter().sum::<f64>() / xs.len().max(1) as f64
        };
        Ok(OriginReport {
            nodes,
            messages,
            spy_released: mean(true, |r| r.1),
            spy_direct: mean(false, |r| r.1),
            coalition_released: mean(true, |r| r.2),
            coalition_direct: mean(false, |r| r.2),
            goal: 2.0 / nodes as f64,
        })
    })
}
