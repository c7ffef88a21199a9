//! The Lantern node: everything behind the `lantern` binary.
//!
//! # Layout
//! - [`datadir`]: where keys, manifest, settings and store live in a node's data directory.
//! - [`keys`]: member and node key files (0600, never overwritten).
//! - [`case`]: the member's private case and its file formats (TOML, JSON).
//! - [`derive`]: private case → structured summary fields (months, buckets).
//! - [`publish`]: publish, amend and retract: sign as the member's next record and store.
//! - [`store`]: the sled store: private cases, verified records and their indexes.
//! - [`exchange`]: export, import and verification of records as JSON lines.
//! - [`bench`]: the ingest benchmark behind `lantern bench ingest`.

pub mod api;
pub mod app;
pub mod backup;
pub mod bench;
pub mod bench_net;
pub mod bench_patterns;
pub mod case;
pub mod config;
pub mod datadir;
pub mod demo;
pub mod derive;
pub mod exchange;
pub mod federation;
pub mod keys;
pub mod membership;
pub mod metrics;
pub mod network;
pub mod patterns;
pub mod publish;
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
