//! `lantern bench patterns`: the pattern engine at scale. Measures what keeping the aggregates
//! up to date costs next to ingest (both in this run), rebuilding them from the store, their
//! memory, and query latency percentiles.

use std::path::Path;
use std::time::{Duration, Instant};

use lantern_protocol::anonymous::Opened;
use lantern_protocol::sample::{self, Rng};
use lantern_protocol::signed::open_stored;
use lantern_protocol::vocab::{OrgType, Outcome, Region, ResourceKind};
use lantern_protocol::{Month, RecordId, signed};
use serde::Serialize;

use crate::bench::{generate, peak_rss_kib};
use crate::membership::Membership;
use crate::patterns::Patterns;
use crate::patterns::emerging::Windows;
use crate::patterns::grid::Filter;
use crate::patterns::query::{Period, Scope, Step, TrendBy};
use crate::store::Store;

/// Records the node admits at once in bulk (a catch-up fetch, an import chunk).
const ADMIT_BATCH: usize = 4096;

#[derive(Debug, Serialize)]
pub struct Latency {
    pub query: &'static str,
    pub runs: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct PatternsReport {
    pub records: usize,
    pub authors: usize,
    pub ingest_per_sec: f64,
    pub decode_per_sec: f64,
    /// Records applied as the node applies what one admission stored: 4 096 at a time, the size
    /// of a catch-up fetch and of an import chunk.
    pub apply_per_sec: f64,
    /// Records applied one at a time (live gossip, where each record's ingest also flushes).
    pub apply_single_per_sec: f64,
    /// Time spent updating the aggregates per record, as a share of the time ingest takes.
    pub update_cost_vs_ingest: f64,
    pub rebuild_secs: f64,
    pub cells: usize,
    pub aggregates_mib: f64,
    pub peak_rss_mib: f64,
    pub latencies: Vec<Latency>,
}

fn latency(query: &'static str, mut times: Vec<Duration>) -> Latency {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1].as_secs_f64() * 1e3;
    Latency { query, runs: times.len(), p50_ms: at(0.5), p99_ms: at(0.99), max_ms: at(1.0) }
}

fn timed(runs: usize, mut f: impl FnMut(usize)) -> Vec<Duration> {
    (0..runs)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect()
}

pub fn run(
    records: usize,
    authors: usize,
    runs: usize,
    dir: &Path,
    mut say: impl FnMut(&str),
) -> anyhow::Result<PatternsReport> {
    say(&format!("generating {records} signed summaries from {authors} authors"));
    let (manifest, data) = generate(records, authors, 42);
    let k = usize::from(manifest.policy.k_threshold);

    say("ingesting into a fresh store (the baseline)");
    let store = Store::open(&dir.join("bench-patterns"), &manifest)?;
    let t = Instant::now();
    for chunk in data.chunks(16_384) {
        for outcome in store.ingest_batch(chunk)? {
            outcome?;
        }
    }
    let ingest_per_sec = records as f64 / t.elapsed().as_secs_f64();

    // Every author counts: the benchmark's non-founders have no vouches, so count them all.
    let members: Vec<_> = Membership::from_store(&manifest, &store)?.members().copied().collect();
    let everyone: Vec<_> = data.iter().filter_map(|b| open_stored(b).ok()).map(|e| e.author).collect();
    let everyone: std::collections::BTreeSet<_> = everyone.into_iter().chain(members).collect();

    // The node decodes every stored record anyway (membership); timed apart from applying.
    say("decoding the stored records");
    let t = Instant::now();
    let decoded = data.iter().map(|b| open_stored(b).map(Opened::Signed)).collect::<Result<Vec<_>, _>>()?;
    let decode_per_sec = records as f64 / t.elapsed().as_secs_f64();
    let ids: Vec<RecordId> = data.iter().map(|b| RecordId::of(b)).collect();

    say("updating the aggregates record by record, then batch by batch");
    let mut single = Patterns::new(k, everyone.iter().copied());
    let t = Instant::now();
    for (id, env) in ids.iter().zip(&decoded) {
        single.apply(id, env);
    }
    let apply_single_per_sec = records as f64 / t.elapsed().as_secs_f64();
    anyhow::ensure!(single.case_count() == records, "every summary counted");
    drop(single);
    let mut patterns = Patterns::new(k, everyone.iter().copied());
    let t = Instant::now();
    for (ids, envs) in ids.chunks(ADMIT_BATCH).zip(decoded.chunks(ADMIT_BATCH)) {
        patterns.apply_batch(ids.iter().copied().zip(envs));
    }
    let apply_per_sec = records as f64 / t.elapsed().as_secs_f64();
    drop(decoded);
    anyhow::ensure!(patterns.case_count() == records, "every summary counted");

    say("rebuilding the aggregates from the store (what a restart does)");
    let t = Instant::now();
    let rebuilt = Patterns::rebuild(&store, k, everyone.iter().copied())?;
    let rebuild_secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(rebuilt.case_count() == records, "rebuild counts every summary");
    drop(rebuilt);

    let last: Month = "2025-12".parse().expect("month");
    let month = |i: usize| Month::from_index(last.index() - (i % 60) as i64).expect("month");
    let filters = [
        None,
        Some(Filter::Outcome(Outcome::ResourcesLost)),
        Some(Filter::OrgType(OrgType::Isp)),
        Some(Filter::Region(Region::Europe)),
        Some(Filter::ResourceKind(ResourceKind::Ipv6)),
    ];
    let scope = |i: usize| {
        let period = match i % 4 {
            0 => Period::month(month(i)),
            1 => format!("{}-Q{}", 2018 + i % 8, 1 + i % 4).parse().expect("quarter"),
            2 => format!("{}", 2018 + i % 8).parse().expect("year"),
            _ => Period::year_to(month(i)),
        };
        Scope { period, filter: filters[i % filters.len()] }
    };
    say(&format!("querying, {runs} runs each"));
    let mut latencies = vec![
        latency("matrix", timed(runs, |i| drop(patterns.matrix(scope(i))))),
        latency(
            "trends",
            timed(runs, |i| {
                let by = if i % 2 == 0 { TrendBy::Category } else { TrendBy::Registry };
                drop(patterns.trends(
                    Scope { period: Period::year_to(month(i)), filter: filters[i % 5] },
                    by,
                    Step::Month,
                ))
            }),
        ),
        latency("emerging", timed(runs, |i| drop(patterns.emerging(month(i), Windows::default())))),
    ];
    let mut rng = Rng::new(7);
    let probes: Vec<_> = (0..runs).map(|_| sample::summary(&mut rng, "2018-01".parse().expect("month"), 96)).collect();
    let secret = lantern_protocol::anon::AnonymitySecret::derive(&[1; 32]);
    let own = crate::patterns::Me {
        member: signed::member_key(&ed25519_dalek::SigningKey::from_bytes(&[1; 32])),
        federation: lantern_protocol::FederationId([0; 32]),
        secret: &secret,
    };
    latencies.push(latency("similar", timed(runs, |i| drop(patterns.similar(&probes[i], Some(&own), 10)))));
    latencies.push(latency("durations", timed(runs, |i| drop(patterns.durations(scope(i).period)))));
    latencies.push(latency("co-occurrence", timed(runs, |i| drop(patterns.co_occurrence(scope(i).period, None)))));

    Ok(PatternsReport {
        records,
        authors,
        ingest_per_sec,
        decode_per_sec,
        apply_per_sec,
        apply_single_per_sec,
        update_cost_vs_ingest: ingest_per_sec / apply_per_sec,
        rebuild_secs,
        cells: patterns.cell_count(),
        aggregates_mib: patterns.memory_bytes() as f64 / 1048576.0,
        peak_rss_mib: peak_rss_kib() as f64 / 1024.0,
        latencies,
    })
}

impl PatternsReport {
    pub fn table(&self) -> String {
        let mut out = format!(
            "records {} from {} authors\n\
             ingest (baseline)        {:>10.0} records/s\n\
             decode (done anyway)     {:>10.0} records/s\n\
             aggregate updates        {:>10.0} records/s (per write batch)\n\
             one record at a time     {:>10.0} records/s\n\
             update cost / ingest     {:>10.3}\n\
             rebuild from store       {:>10.1} s\n\
             base cells               {:>10}\n\
             aggregates memory        {:>10.0} MiB (peak RSS {:.0} MiB)\n\
             query          runs   p50 ms   p99 ms   max ms\n",
            self.records,
            self.authors,
            self.ingest_per_sec,
            self.decode_per_sec,
            self.apply_per_sec,
            self.apply_single_per_sec,
            self.update_cost_vs_ingest,
            self.rebuild_secs,
            self.cells,
            self.aggregates_mib,
            self.peak_rss_mib
        );
        for l in &self.latencies {
            out.push_str(&format!(
                "{:<14} {:>4} {:>8.2} {:>8.2} {:>8.2}\n",
                l.query, l.runs, l.p50_ms, l.p99_ms, l.max_ms
            ));
        }
        out
    }
}
