//! The Lantern node: everything behind the `lantern` binary.
//!
//! # Layout
//! Data and records:
//! - [`datadir`]: where keys, manifest, settings and store live in a node's data directory.
//! - [`keys`]: member and node key files (0600, never overwritten); [`tokens`]: API tokens;
//!   [`query_log`]: what analysts asked.
//! - [`case`]: the member's private case and its file formats (TOML, JSON).
//! - [`derive`]: private case → structured summary fields (months, buckets); [`evidence`]: proofs
//!   that a published summary committed to a document.
//! - [`redact`]: free text → text with typed placeholders (normalisation, detectors, allow-list).
//! - [`publish`]: the one check before signing; publish, amend, retract and purge.
//! - [`store`]: the sled store: private cases, verified records, their indexes, purges, the
//!   own-chain head kept beside it, idempotency keys, a rescue export of the private cases, and
//!   `check` / `repair`: reading a stopped store whole, rebuilding it from its arrival log.
//! - [`exchange`]: export, import and verification of records as JSON lines; [`backup`].
//! - [`interop`]: the federation's live summaries for other tools (`misp`: a MISP feed; `stix`: a
//!   STIX 2.1 bundle; `stix_patterns`: the matrix as a STIX report; `taxii`: the TAXII 2.1 pages).
//!
//! Federation:
//! - [`federation`]: the node's view of its federation, the one door for records from outside.
//! - [`membership`]: who is a member, from vouches and revocations.
//! - [`network`]: libp2p: the handshake and its gate, gossip, catch-up, peer slots.
//! - [`patterns`]: the aggregates analysts query, with disclosure control.
//!
//! Serving and running:
//! - [`api`]: the HTTP API, `/metrics` and the embedded UI; [`metrics`], [`status`].
//! - [`app`]: a running node wired together; [`config`]: its settings; [`demo`]; [`remote`]:
//!   the CLI's way to a running node; [`table`]: plain-text tables.
//! - [`bench`]: the `lantern bench` measurements (ingest and redaction in `mod.rs`; `net`:
//!   catch-up and propagation over loopback; `patterns`; `anonymous`: ring signatures).

pub mod api;
pub mod app;
pub mod backup;
pub mod bench;
pub mod case;
pub mod config;
pub mod datadir;
pub mod demo;
pub mod derive;
pub mod evidence;
pub mod exchange;
pub mod federation;
pub mod interop;
pub mod keys;
pub mod membership;
pub mod metrics;
pub mod network;
pub mod patterns;
pub mod publish;
pub mod query_log;
pub mod redact;
pub mod remote;
pub mod status;
pub mod store;
pub mod table;
pub mod tokens;

/// The current month (UTC): the creation month of records published now.
pub fn this_month() -> lantern_protocol::Month {
    case::Day::today().month()
}
