//! The node's own Prometheus metrics (libp2p's are registered beside them by the network).
//! Labels are fixed words (sources, reasons, routes, methods, status codes): never an identifier,
//! a key or anything a client sent.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route pattern (`/api/v1/cases/{id}`), never the concrete path.
    pub route: String,
    pub method: String,
    pub status: u16,
}

type HistogramFamily = Family<RequestLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Mutex<Registry>>,
    pub records_ingested: Family<SourceLabel, Counter>,
    pub records_rejected: Family<ReasonLabel, Counter>,
    pub peers_refused: Family<ReasonLabel, Counter>,
    pub gossip_garbage: Counter,
    pub records: Gauge,
    pub members: Gauge,
    pub peers: Gauge,
    pub sync_remaining: Gauge,
    pub api_latency: HistogramFamily,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new(Registry::default())
    }
}

impl Metrics {
    /// Registers the node's metrics in `registry` (which may already hold libp2p's).
    pub fn new(mut registry: Registry) -> Self {
        let m = Self {
            registry: Arc::new(Mutex::new(Registry::default())),
            records_ingested: Family::default(),
            records_rejected: Family::default(),
            peers_refused: Family::default(),
            gossip_garbage: Counter::default(),
            records: Gauge::default(),
            members: Gauge::default(),
            peers: Gauge::default(),
            sync_remaining: Gauge::default(),
            api_latency: HistogramFamily::new_with_constructor(latency_histogram),
        };
        let r = registry.sub_registry_with_prefix("lantern");
        r.register("records_ingested", "Records stored, by how they arrived", m.records_ingested.clone());
        r.register("records_rejected", "Records rejected, by reason", m.records_rejected.clone());
        r.register("peers_refused", "Peers refused or disconnected, by reason", m.peers_refused.clone());
        r.register("gossip_garbage", "Gossiped messages that were not valid records", m.gossip_garbage.clone());
        r.register("records", "Records held", m.records.clone());
        r.register("members", "Current members of the federation", m.members.clone());
        r.register("peers", "Connected peers", m.peers.clone());
        r.register("sync_remaining", "Record ids still to fetch in running catch-ups", m.sync_remaining.clone());
        r.register("api_request_duration_seconds", "API latency by route, method and status", m.api_latency.clone());
        *m.registry.lock().unwrap_or_else(|p| p.into_inner()) = registry;
        m
    }

    /// Runs `f` with the registry, e.g. to register libp2p's metrics in it.
    pub fn with_registry<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        f(&mut self.registry.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn ingested(&self, source: &'static str, n: u64) {
        self.records_ingested.get_or_create(&SourceLabel { source }).inc_by(n);
    }

    pub fn rejected(&self, reason: &str) {
        self.records_rejected.get_or_create(&ReasonLabel { reason: reason.to_string() }).inc();
    }

    pub fn peer_refused(&self, kind: &str) {
        self.peers_refused.get_or_create(&ReasonLabel { reason: kind.to_string() }).inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        out
    }
}
