//! `lantern run --config FILE`: the settings of a running node, in TOML. Command-line flags and
//! `LANTERN_*` environment variables override the file; the file overrides the defaults.
//! Everything is checked before the node starts, and errors name the key and the problem.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libp2p::Multiaddr;
use serde::Deserialize;
use thiserror::Error;

pub const DEFAULT_API: &str = "127.0.0.1:7777";
pub const DEFAULT_LISTEN: &str = "/ip4/127.0.0.1/tcp/0";
pub const DEFAULT_SYNC_INTERVAL_SECS: u64 = 60;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config {path}: {message}")]
    File { path: String, message: String },
    #[error("{key}: `{value}` is not {what}")]
    Value { key: &'static str, value: String, what: &'static str },
}

/// The file's keys; every one optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The node's data directory: keys, manifest, settings and store (`lantern init` creates it).
    pub data_dir: Option<PathBuf>,
    /// libp2p addresses to listen on, e.g. `/ip4/0.0.0.0/tcp/4001` and
    /// `/ip4/0.0.0.0/udp/4001/quic-v1`. Default: a random loopback TCP port.
    pub listen: Option<Vec<String>>,
    /// Peers to dial at start, `/ip4/…/tcp/…/p2p/PEER_ID` or `/dns4/…`.
    pub bootstrap: Option<Vec<String>>,
    /// Address of the HTTP API and web UI. Keep it on loopback; put a TLS proxy in front.
    pub api: Option<String>,
    /// Seconds between reconciliations with every connected member (at least 1).
    pub sync_interval_secs: Option<u64>,
    /// Longest random wait, in seconds, before this member's own anonymous records leave the
    /// node, first through one other member (default 600; 0: at once).
    pub release_delay_secs: Option<u64>,
    /// Most peers kept connected.
    pub max_peers: Option<usize>,
    /// Find other nodes on the local network by mDNS (default false). For nodes of one operator
    /// on one LAN; nodes on loopback addresses are never announced.
    pub mdns: Option<bool>,
}

/// Ten minutes: long enough that when a record appears says little about when it was made.
pub const DEFAULT_RELEASE_DELAY_SECS: u64 = 600;

impl RunConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = |message: String| ConfigError::File { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| file(format!("cannot read: {e}")))?;
        Self::parse(&text).map_err(file)
    }

    /// The settings of a config file's text; the error names the line.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| {
                let before = &text.as_bytes()[..s.start.min(text.len())];
                format!("line {}: ", before.iter().filter(|&&b| b == b'\n').count() + 1)
            });
            format!("{}{}", at.unwrap_or_default(), e.message().trim().replace('\n', " "))
        })
    }

    /// `self` with every key `over` sets replaced.
    pub fn overridden_by(self, over: RunConfig) -> RunConfig {
        RunConfig {
            data_dir: over.data_dir.or(self.data_dir),
            listen: over.listen.filter(|l| !l.is_empty()).or(self.listen),
            bootstrap: over.bootstrap.filter(|b| !b.is_empty()).or(self.bootstrap),
            api: over.api.or(self.api),
            sync_interval_secs: over.sync_interval_secs.or(self.sync_interval_secs),
            release_delay_secs: over.release_delay_secs.or(self.release_delay_secs),
            max_peers: over.max_peers.or(self.max_peers),
            mdns: over.mdns.or(self.mdns),
        }
    }

    /// Checks every value and fills in the defaults.
    pub fn resolve(self) -> Result<Settings, ConfigError> {
        let addrs = |key: &'static str, list: Vec<String>| {
            list.into_iter()
                .map(|a| a.parse::<Multiaddr>().map_err(|_| ConfigError::Value { key, value: a, what: "a multiaddr" }))
                .collect::<Result<Vec<_>, _>>()
        };
        let api_text = self.api.unwrap_or_else(|| DEFAULT_API.to_string());
        let api = api_text.parse::<SocketAddr>().map_err(|_| ConfigError::Value {
            key: "api",
            value: api_text,
            what: "an IP:PORT address",
        })?;
        let interval = self.sync_interval_secs.unwrap_or(DEFAULT_SYNC_INTERVAL_SECS);
        if interval == 0 {
            return Err(ConfigError::Value { key: "sync_interval_secs", value: "0".into(), what: "at least 1" });
        }
        let max_peers = self.max_peers.unwrap_or(64);
        if max_peers == 0 {
            return Err(ConfigError::Value { key: "max_peers", value: "0".into(), what: "at least 1" });
        }
        Ok(Settings {
            data_dir: self.data_dir.unwrap_or_else(|| PathBuf::from("lantern-data")),
            listen: addrs("listen", self.listen.unwrap_or_else(|| vec![DEFAULT_LISTEN.to_string()]))?,
            bootstrap: addrs("bootstrap", self.bootstrap.unwrap_or_default())?,
            api,
            sync_interval: Duration::from_secs(interval),
            release_delay: Duration::from_secs(self.release_delay_secs.unwrap_or(DEFAULT_RELEASE_DELAY_SECS)),
            max_peers,
            mdns: self.mdns.unwrap_or(false),
        })
    }
}

/// Checked settings of `lantern run`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: Vec<Multiaddr>,
    pub bootstrap: Vec<Multiaddr>,
    pub api: SocketAddr,
    pub sync_interval: Duration,
    pub release_delay: Duration,
    pub max_peers: usize,
    pub mdns: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RunConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).unwrap();
        RunConfig::load(&path)
    }

    #[test]
    fn example_configs_are_valid() {
        for name in ["development.toml", "production.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config").join(name);
            RunConfig::load(&path).unwrap().resolve().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = parse("lisen = [\"/ip4/127.0.0.1/tcp/0\"]\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("unknown field `lisen`"), "{e}");
        let e = parse("api = \"localhost\"\n").unwrap().resolve().unwrap_err().to_string();
        assert_eq!(e, "api: `localhost` is not an IP:PORT address");
        let e = parse("bootstrap = [\"nowhere\"]\n").unwrap().resolve().unwrap_err().to_string();
        assert_eq!(e, "bootstrap: `nowhere` is not a multiaddr");
        let e = parse("sync_interval_secs = 0\n").unwrap().resolve().unwrap_err().to_string();
        assert!(e.contains("sync_interval_secs"), "{e}");
        let e = parse("sync_interval_secs = \"often\"\n").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("invalid type"), "{e}");
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let file = parse("api = \"127.0.0.1:9000\"\nsync_interval_secs = 5\n").unwrap();
        let flags = RunConfig { api: Some("127.0.0.1:9001".into()), ..Default::default() };
        let s = file.overridden_by(flags).resolve().unwrap();
        assert_eq!(s.api.port(), 9001);
        assert_eq!(s.sync_interval, Duration::from_secs(5));
        assert!(!s.mdns, "mDNS is off unless asked for");
        assert!(parse("mdns = true\n").unwrap().resolve().unwrap().mdns);
        assert!(parse("mdns = \"yes\"\n").unwrap_err().to_string().contains("line 1"));
        assert_eq!(s.listen[0].to_string(), DEFAULT_LISTEN);
    }
}
