//! `lantern run` and `lantern demo`: a node in the foreground, with its progress on the terminal.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use lantern_node::datadir::DataDir;

use crate::RunArgs;

pub fn run_node(data_dir: Option<PathBuf>, args: RunArgs) -> Result<()> {
    use lantern_node::config::RunConfig;
    let file = match &args.config {
        Some(path) => RunConfig::load(path)?,
        None => RunConfig::default(),
    };
    let flags = RunConfig {
        data_dir,
        listen: Some(args.listen),
        bootstrap: Some(args.bootstrap),
        api: args.api,
        sync_interval_secs: args.sync_interval,
        release_delay_secs: args.release_delay,
        max_peers: None,
        mdns: args.mdns,
    };
    let settings = file.overridden_by(flags).resolve()?;
    let dir = &DataDir::existing(&settings.data_dir)?;
    let network = lantern_node::network::NetworkConfig {
        listen: settings.listen,
        bootstrap: settings.bootstrap,
        sync_interval: settings.sync_interval,
        release_delay: settings.release_delay,
        max_peers: settings.max_peers,
        mdns: settings.mdns,
        ..Default::default()
    };
    let mut seed = dir.node_key()?.to_bytes();
    let parts = lantern_node::app::NodeParts {
        federation: std::sync::Arc::new(dir.federation()?),
        keypair: libp2p::identity::Keypair::ed25519_from_bytes(&mut seed).context("node key")?,
        config: dir.config()?,
        tokens: lantern_node::tokens::Tokens::load(dir.root())?,
        network,
        api: settings.api,
        query_log: Some(dir.root().to_path_buf()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let reopen = runtime.block_on(async move {
        let (node, mut events) = lantern_node::app::start(parts).await?;
        // While this file exists the CLI acts through the API (the store is ours). Written
        // before the address is printed, so whoever waits for that line finds it.
        let addr_file = lantern_node::remote::addr_path(dir.root());
        std::fs::write(&addr_file, node.api.to_string())
            .with_context(|| format!("cannot write {}", addr_file.display()))?;
        println!("api http://{}", node.api);
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut progress = CatchUpBars::default();
        let mut store_check = tokio::time::interval(STORE_CHECK);
        let mut reopen = false;
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => progress.show(node.peer, &event),
                    None => break,
                },
                _ = tokio::signal::ctrl_c() => break,
                _ = sigterm.recv() => break,
                _ = store_check.tick() => if store_needs_reopening(&node).await {
                    reopen = true;
                    break;
                },
            }
        }
        eprintln!("{}", if reopen { "space is back: restarting to reopen the store" } else { "shutting down" });
        // Bounded: a stuck peer or request must not keep the process alive.
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), node.stop()).await;
        std::fs::remove_file(&addr_file).ok();
        if !reopen {
            stopped.context("shutdown took over 20 s")??;
        }
        anyhow::Ok(reopen)
    })?;
    drop(runtime);
    if reopen {
        return Err(restart_in_place());
    }
    Ok(())
}

/// How often a running node looks whether its store needs reopening.
const STORE_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether the store stopped taking writes (a full disk) in a way only reopening mends, and the
/// disk has room again. sled keeps the first write error of its log for good: every later write
/// of that handle fails, space or not, so the node must open the store afresh.
async fn store_needs_reopening(node: &lantern_node::app::RunningNode) -> bool {
    let federation = node.federation.clone();
    tokio::task::spawn_blocking(move || {
        let store = federation.store();
        store.writes_failing() && !store.probe_writable() && store.has_room()
    })
    .await
    .unwrap_or(false)
}

/// Replaces this process with a fresh `lantern` run on the same arguments (same pid, so a
/// supervisor sees nothing): every file and lock of the old store is closed by the exec, and
/// the new process opens the store as at start, rolling back to the last whole batch.
fn restart_in_place() -> anyhow::Error {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return anyhow::anyhow!("cannot restart to reopen the store: {e}; start the node again"),
    };
    let e = std::process::Command::new(&exe).args(std::env::args_os().skip(1)).exec();
    anyhow::anyhow!("cannot restart {} to reopen the store: {e}; start the node again", exe.display())
}

/// What `lantern run` prints as the network works: addresses, peers, catch-up progress (a bar
/// on a terminal).
#[derive(Default)]
struct CatchUpBars {
    bars: std::collections::HashMap<libp2p::PeerId, indicatif::ProgressBar>,
}

impl CatchUpBars {
    fn show(&mut self, me: libp2p::PeerId, event: &lantern_node::network::NetworkEvent) {
        use lantern_node::network::NetworkEvent;
        match event {
            NetworkEvent::SyncProgress { peer, fetched, remaining } if std::io::stderr().is_terminal() => {
                let bar = self.bars.entry(*peer).or_insert_with(|| {
                    let bar = indicatif::ProgressBar::new(0);
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "catching up {prefix} {bar:30} {pos}/{len} records ({per_sec})",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                    );
                    bar.set_prefix(peer.to_string()[..16].to_string());
                    bar
                });
                bar.set_length((fetched + remaining) as u64);
                bar.set_position(*fetched as u64);
            }
            NetworkEvent::SyncFinished { peer, fetched, .. } => {
                if let Some(bar) = self.bars.remove(peer) {
                    bar.finish_and_clear();
                }
                if *fetched > 0 {
                    eprintln!("caught up with {peer}: {fetched} records");
                }
            }
            NetworkEvent::SyncAbandoned { peer, fetched } => {
                if let Some(bar) = self.bars.remove(peer) {
                    bar.finish_and_clear();
                }
                eprintln!("catch-up with {peer} broke off after {fetched} records; going on with the other members");
            }
            NetworkEvent::Listening { address } => println!("{address}/p2p/{me}"),
            NetworkEvent::PeerAuthenticated { peer, member } => match member {
                Some(m) => eprintln!("connected to {peer} (member {})", m.short()),
                None => eprintln!("connected to {peer} (a current member, proved anonymously)"),
            },
            event => tracing::debug!(?event, "network"),
        }
    }
}

pub fn demo(members: usize, cases: usize, seed: u64, dir: Option<PathBuf>, api: std::net::SocketAddr) -> Result<()> {
    use lantern_node::demo;
    let temporary = dir.is_none();
    let root = dir.unwrap_or_else(demo::default_dir);
    let opts = demo::DemoOptions { members, cases, seed, dir: root.clone(), api };
    // A `--dir` that holds a demo already starts it again, with what its nodes hold.
    let dirs = match demo::existing(&root)? {
        Some(dirs) => {
            eprintln!("demo: starting the demo in {} again", root.display());
            dirs
        }
        None => demo::prepare(&opts, &mut |msg| eprintln!("demo: {msg}"))?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(async {
        let nodes = demo::start(&dirs, api).await?;
        // While these exist the CLI acts on each node through its API (`--data-dir DIR/node0`).
        let addr_files: Vec<PathBuf> = dirs.iter().map(|d| lantern_node::remote::addr_path(d.root())).collect();
        for (file, node) in addr_files.iter().zip(&nodes) {
            std::fs::write(file, node.api.to_string()).with_context(|| format!("cannot write {}", file.display()))?;
        }
        let token = demo::token(dirs[0].root())?;
        let url = format!("http://{}", nodes[0].api);
        println!("api {url}");
        println!(
            "Lantern demo: {} nodes, {members} members, {cases} cases (seed {seed}); data in {}",
            nodes.len(),
            root.display()
        );
        println!("  open   {url}/#token={token}");
        println!("  API    {url}/api/v1 (Authorization: Bearer {token})");
        for (i, n) in nodes.iter().enumerate().skip(1) {
            println!("  node{i}  http://{} (token in {}/node{i}/api.token)", n.api, root.display());
        }
        println!("The nodes catch up with each other over loopback in a few seconds. Ctrl-C stops the demo.");
        let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
        eprintln!("stopping the demo");
        for (node, file) in nodes.into_iter().zip(&addr_files) {
            let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), node.stop()).await;
            std::fs::remove_file(file).ok();
            stopped.context("shutdown took over 20 s")??;
        }
        anyhow::Ok(())
    });
    if temporary {
        std::fs::remove_dir_all(&root).ok();
    }
    result
}

/// A counter of entries on a terminal; hidden otherwise.
pub fn entries_bar(what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}: {pos} entries ({per_sec})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar
}
