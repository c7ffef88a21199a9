//! Helpers for the multi-node and end-to-end tests in `tests/tests/`.
//!
//! The tests drive the real `lantern` binary. `cargo test --workspace` builds it (the node
//! crate's own integration tests need it), next to this crate's test executables.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `lantern` binary of this build.
pub fn lantern_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target profile dir");
    let bin = dir.join("lantern");
    assert!(bin.exists(), "{} is missing: run the tests with `cargo test --workspace`", bin.display());
    bin
}

/// Runs `lantern --data-dir DIR ARGS…`.
pub fn lantern(dir: &Path, args: &[&str]) -> Output {
    Command::new(lantern_bin()).arg("--data-dir").arg(dir).args(args).output().expect("lantern runs")
}

/// Stdout of a command that must succeed.
pub fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Stderr of a command that must fail.
pub fn fails(out: Output) -> String {
    assert!(!out.status.success(), "unexpectedly succeeded: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).expect("utf-8 output")
}

/// The repository's root.
/// Makes `dir` a node (`lantern init` with `init_args`) that has joined a new federation named
/// `name` whose other founders are `founders` (`create_args` go to `federation create`), and
/// opens its federation view: the store is the node's own, so records admitted here are its.
pub fn founded_federation(
    dir: &Path,
    name: &str,
    founders: &[ed25519_dalek::SigningKey],
    init_args: &[&str],
    create_args: &[&str],
) -> lantern_node::federation::Federation {
    let mut init = vec!["init"];
    init.extend(init_args);
    ok(lantern(dir, &init));
    let manifest_path = dir.join("manifest-out.json");
    let keys: Vec<String> = founders.iter().map(|k| lantern_protocol::signed::member_key(k).to_hex()).collect();
    let mut args = vec!["federation", "create", "--name", name, "--out", manifest_path.to_str().unwrap()];
    args.extend(create_args);
    for k in &keys {
        args.extend(["--founder", k.as_str()]);
    }
    ok(lantern(dir, &args));
    ok(lantern(dir, &["federation", "join", manifest_path.to_str().unwrap()]));
    let dd = lantern_node::datadir::DataDir::existing(dir).expect("the data dir just made");
    let manifest = dd.manifest().expect("the manifest just joined");
    let store = lantern_node::store::Store::open(&dd.store_path(), &manifest).expect("the store opens");
    lantern_node::federation::Federation::new(store, manifest, dd.member_key().expect("member key"))
        .expect("a federation view")
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `lantern run` as a child process, its output lines on a channel.
pub mod process {
    use std::io::{BufRead, BufReader};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use super::lantern_bin;

    /// Starts `lantern run` with its API on a free loopback port; returns the child and a channel
    /// of its output lines (stdout and stderr).
    pub fn run(dir: &Path, extra: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut args = vec!["--data-dir", dir.to_str().expect("a UTF-8 path"), "run"];
        args.extend(["--sync-interval", "1", "--api", "127.0.0.1:0"]);
        args.extend(extra);
        spawn(&args)
    }

    /// Starts `lantern ARGS…`; returns the child and a channel of its output lines.
    pub fn spawn(args: &[&str]) -> (Child, mpsc::Receiver<String>) {
        let mut child = Command::new(lantern_bin())
            .args(args)
            .env("RUST_LOG", "lantern_node=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("lantern run starts");
        let (tx, rx) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        (child, rx)
    }

    /// The first output line satisfying `wanted`, within a deadline.
    pub fn wait_line(rx: &mpsc::Receiver<String>, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(_) => continue,
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// The API base URL a node printed (`api http://127.0.0.1:PORT`).
    pub fn wait_api(rx: &mpsc::Receiver<String>) -> String {
        wait_line(rx, "the API address", |l| l.starts_with("api http://"))["api ".len()..].to_string()
    }

    /// SIGTERM, then the exit status must be 0.
    pub fn terminate(child: &mut Child) {
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "lantern run exits 0 on SIGTERM, got {exit}");
    }
}

/// A tiny HTTP/1.1 client for the tests: one request per connection, loopback only.
pub mod http {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    pub struct Reply {
        pub status: u16,
        pub body: String,
    }

    impl Reply {
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
        }
    }

    /// `method` `url` (`http://127.0.0.1:PORT/path`) with an optional bearer token and JSON body.
    pub fn request(method: &str, url: &str, token: Option<&str>, json: Option<&str>) -> std::io::Result<Reply> {
        let rest = url.strip_prefix("http://").expect("an http:// URL");
        let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
        let mut stream = TcpStream::connect(host)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        let body = json.unwrap_or("");
        if json.is_some() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        // Read until the response is complete: some servers keep the connection open.
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = stream.read(&mut buf)?;
            raw.extend_from_slice(&buf[..n]);
            if n == 0 || complete(&raw) {
                break;
            }
        }
        let text = String::from_utf8_lossy(&raw).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
        Ok(Reply { status, body: if chunked { dechunk(body) } else { body.to_string() } })
    }

    fn complete(raw: &[u8]) -> bool {
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        let body = &raw[end + 4..];
        if let Some(len) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
            return len.trim().parse::<usize>().is_ok_and(|n| body.len() >= n);
        }
        head.contains("transfer-encoding: chunked") && body.ends_with(b"0\r\n\r\n")
    }

    fn dechunk(mut body: &str) -> String {
        let mut out = String::new();
        while let Some((size, rest)) = body.split_once("\r\n") {
            let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
            if n == 0 || rest.len() < n {
                break;
            }
            out.push_str(&rest[..n]);
            body = rest[n..].trim_start_matches("\r\n");
        }
        out
    }

    pub fn get(url: &str, token: Option<&str>) -> Reply {
        request("GET", url, token, None).unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    pub fn post(url: &str, token: &str, json: &str) -> Reply {
        request("POST", url, Some(token), Some(json)).unwrap_or_else(|e| panic!("POST {url}: {e}"))
    }
}

pub mod net {
    //! In-process federations of real nodes: real swarms on loopback, real sled stores in
    //! temporary directories.

    use std::future::Future;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use ed25519_dalek::SigningKey;
    use lantern_node::federation::Federation;
    use lantern_node::network::{self, Client, NetworkConfig};
    use lantern_node::store::Store;
    use lantern_protocol::record::{Body, SummaryBody};
    use lantern_protocol::sample::{self, Rng};
    use lantern_protocol::{CaseRef, Manifest, MemberKey, Policy, RecordId, VerifiedRecord, signed};
    use libp2p::Multiaddr;
    use libp2p::identity::Keypair;

    /// Waits until `check` holds, polling, and fails the test at the deadline.
    pub async fn eventually<F, Fut>(what: &str, deadline: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let end = Instant::now() + deadline;
        while !check().await {
            assert!(Instant::now() < end, "timed out waiting until {what}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn member_key(n: u64) -> SigningKey {
        SigningKey::from_bytes(&Rng::new(n).bytes())
    }

    /// A manifest with the first `founders` of `member_key(0..)` as founders.
    pub fn manifest(founders: u64) -> Manifest {
        Manifest::new(
            "test federation",
            "2026-01".parse().expect("month"),
            (0..founders).map(|n| signed::member_key(&member_key(n))).collect(),
            Policy::default(),
        )
    }

    /// One node: its data on disk, its federation view, and its running network (when up).
    pub struct TestNode {
        pub dir: tempfile::TempDir,
        pub manifest: Manifest,
        pub key: SigningKey,
        pub node_key: Keypair,
        federation: Option<Arc<Federation>>,
        pub client: Option<Client>,
        pub address: Option<Multiaddr>,
        pub events: Option<tokio::sync::mpsc::Receiver<network::NetworkEvent>>,
        task: Option<tokio::task::JoinHandle<()>>,
    }

    impl TestNode {
        pub fn new(manifest: &Manifest, member: u64) -> Self {
            // Logs for debugging a failing test: RUST_LOG=lantern_node=debug.
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::open(&dir.path().join("store"), manifest).expect("store opens");
            let key = member_key(member);
            let federation = Arc::new(Federation::new(store, manifest.clone(), key.clone()).expect("federation"));
            TestNode {
                dir,
                manifest: manifest.clone(),
                key,
                node_key: Keypair::generate_ed25519(),
                federation: Some(federation),
                client: None,
                address: None,
                events: None,
                task: None,
            }
        }

        pub fn federation(&self) -> &Arc<Federation> {
            self.federation.as_ref().expect("store is open")
        }

        pub fn member(&self) -> MemberKey {
            signed::member_key(&self.key)
        }

        pub fn client(&self) -> &Client {
            self.client.as_ref().expect("node is running")
        }

        /// Starts the network, listening on a free loopback port, dialling `bootstrap`.
        pub async fn start(&mut self, bootstrap: Vec<Multiaddr>) {
            self.start_configured(bootstrap, |_| {}).await;
        }

        /// [`Self::start`], with the network settings changed by `adjust` first.
        pub async fn start_configured(&mut self, bootstrap: Vec<Multiaddr>, adjust: impl FnOnce(&mut NetworkConfig)) {
            let mut config = NetworkConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("address")],
                bootstrap,
                sync_interval: Duration::from_millis(500),
                ..NetworkConfig::default()
            };
            adjust(&mut config);
            let (client, mut events, task) =
                network::spawn(self.federation().clone(), self.node_key.clone(), config).expect("network starts");
            let address = loop {
                match events.recv().await.expect("network runs") {
                    network::NetworkEvent::Listening { address } => break address,
                    _ => continue,
                }
            };
            // Events nobody reads are dropped by the task once the channel is full.
            self.events = Some(events);
            self.address = Some(address);
            self.client = Some(client);
            self.task = Some(task);
        }

        /// Waits for a network event matching `wanted`, skipping others, until `deadline`.
        pub async fn wait_event(
            &mut self,
            what: &str,
            deadline: Duration,
            wanted: impl Fn(&network::NetworkEvent) -> bool,
        ) {
            let events = self.events.as_mut().expect("node is running");
            let found = tokio::time::timeout(deadline, async {
                while let Some(event) = events.recv().await {
                    if wanted(&event) {
                        return true;
                    }
                }
                false
            })
            .await;
            assert_eq!(found, Ok(true), "no event: {what}");
        }

        /// Stops the network and closes the store, keeping the data dir.
        pub async fn stop(&mut self) {
            if let Some(client) = self.client.take() {
                client.shutdown().await.expect("shutdown");
            }
            if let Some(task) = self.task.take() {
                task.await.expect("task ends");
            }
            self.address = None;
            self.events = None;
        }

        /// Reopens the store after [`Self::stop`].
        pub fn reopen(&mut self) {
            // Release the old store (and its lock) before opening it again.
            let old = self.federation.take().expect("store was open");
            assert_eq!(Arc::strong_count(&old), 1, "the network still holds the store");
            drop(old);
            let store = Store::open(&self.dir.path().join("store"), &self.manifest).expect("store reopens");
            self.federation =
                Some(Arc::new(Federation::new(store, self.manifest.clone(), self.key.clone()).expect("federation")));
        }

        /// Signs a new synthetic case summary as this member, stores it and gossips it.
        pub async fn publish_summary(&self, seed: u64) -> VerifiedRecord {
            let record = self.append_summary(seed);
            self.client().publish(record.bytes().to_vec()).await.expect("publish");
            record
        }

        /// Signs and stores a new synthetic case summary, without gossip.
        pub fn append_summary(&self, seed: u64) -> VerifiedRecord {
            let mut rng = Rng::new(seed);
            let summary = sample::summary(&mut rng, "2024-01".parse().expect("month"), 24);
            let body = Body::Summary(SummaryBody { case: CaseRef(rng.bytes()), supersedes: None, summary });
            self.federation().append(body).expect("append")
        }

        pub fn holds(&self, id: &RecordId) -> bool {
            self.federation().store().contains(id).expect("store readable")
        }

        /// A digest of every record id held.
        pub fn digest(&self) -> (usize, [u8; 32]) {
            let mut ids: Vec<RecordId> = self.federation().store().record_ids();
            ids.sort();
            let all: Vec<u8> = ids.iter().flat_map(|id| id.0).collect();
            (ids.len(), RecordId::of(&all).0)
        }

        /// Members this node's network has authenticated.
        pub async fn proven_peers(&self) -> usize {
            self.client().peers().await.map(|p| p.iter().filter(|p| p.proven).count()).unwrap_or(0)
        }

        /// Peers proven anonymously (they named no member).
        pub async fn proven_peers_anonymous(&self) -> usize {
            self.client()
                .peers()
                .await
                .map(|p| p.iter().filter(|p| p.proven && p.member.is_none()).count())
                .unwrap_or(0)
        }
    }
}
