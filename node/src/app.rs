//! A running node: network, API and status wired together. `lantern run` and `lantern demo`
//! both start nodes through here.

use std::net::SocketAddr;
use std::sync::Arc;

use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::api::{self, AppState};
use crate::datadir::NodeConfig;
use crate::federation::Federation;
use crate::network::{self, Client, NetworkConfig, NetworkEvent};
use crate::status::NodeStatus;
use crate::tokens::Tokens;

/// Events handed on to whoever watches the node (progress bars); dropped when nobody keeps up.
const EVENT_BUFFER: usize = 256;

pub struct NodeParts {
    pub federation: Arc<Federation>,
    pub keypair: libp2p::identity::Keypair,
    pub config: NodeConfig,
    pub tokens: Tokens,
    pub network: NetworkConfig,
    pub api: SocketAddr,
    /// The data dir to keep the analysts' query log in; `None` keeps none.
    pub query_log: Option<std::path::PathBuf>,
}

pub struct RunningNode {
    pub api: SocketAddr,
    pub peer: PeerId,
    pub client: Client,
    pub status: Arc<NodeStatus>,
    pub federation: Arc<Federation>,
    stop_api: oneshot::Sender<()>,
    api_task: JoinHandle<std::io::Result<()>>,
    network_task: JoinHandle<()>,
    events_task: JoinHandle<()>,
}

/// Registers the member's anonymity key if it is not yet (so the member sits in every ring from
/// now on, before it publishes anything) and gossips the registration. A node whose own chain is
/// not confirmed yet cannot sign: it tries again after its next catch-up.
fn register_anonymity_key(federation: Arc<Federation>, net: network::Client) {
    tokio::spawn(async move {
        match tokio::task::spawn_blocking(move || federation.ensure_anonymity_key()).await {
            Ok(Ok(Some(record))) => {
                tracing::info!(record = %record.id().short(), "anonymity key registered");
                if let Err(e) = net.publish(record.bytes().to_vec()).await {
                    tracing::debug!(error = %e, "registration stored; gossip deferred to the next catch-up");
                }
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, "anonymity key not registered yet"),
            Err(e) => tracing::warn!(error = %e, "anonymity key registration failed"),
        }
    });
}

/// Starts the swarm and the API; network events feed the status (and `events`, best effort).
pub async fn start(parts: NodeParts) -> anyhow::Result<(RunningNode, mpsc::Receiver<NetworkEvent>)> {
    // Build the pattern aggregates now, in the background, rather than on the first query.
    let warm = parts.federation.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = warm.with_patterns(|_| ()) {
            tracing::warn!(error = %e, "cannot build the pattern aggregates");
        }
    });
    let status = Arc::new(NodeStatus::new(Default::default()));
    let network_config = NetworkConfig { metrics: Some(status.metrics.clone()), ..parts.network };
    let (client, mut net_events, network_task) =
        network::spawn(parts.federation.clone(), parts.keypair, network_config)?;
    let listener = tokio::net::TcpListener::bind(parts.api)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} for the API: {e}", parts.api))?;
    let api_addr = listener.local_addr()?;
    if !api_addr.ip().is_loopback() {
        tracing::warn!(
            address = %api_addr,
            "the API listens beyond this machine: anyone who can reach it may try tokens; put it behind TLS and a firewall"
        );
    }
    let mut state =
        AppState::new(parts.federation.clone(), parts.config, parts.tokens, Some(client.clone()), status.clone());
    if let Some(root) = &parts.query_log {
        state = state.with_query_log(root);
    }
    let (stop_api, stopped) = oneshot::channel::<()>();
    let api_task = tokio::spawn(api::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let (tx, rx) = mpsc::channel(EVENT_BUFFER);
    let watcher = status.clone();
    let federation = parts.federation.clone();
    register_anonymity_key(federation.clone(), client.clone());
    let net = client.clone();
    let events_task = tokio::spawn(async move {
        while let Some(event) = net_events.recv().await {
            watcher.observe(&event);
            if matches!(event, NetworkEvent::SyncFinished { .. }) {
                // A restored store signs again once a catch-up with a member has finished.
                let (federation, member) = (federation.clone(), federation.member_key());
                let fed = federation.clone();
                let confirmed = tokio::task::spawn_blocking(move || federation.store().confirm_own_chain(&member));
                if let Ok(Err(e)) = confirmed.await {
                    tracing::warn!(error = %e, "could not record that this node caught up with its own chain");
                }
                register_anonymity_key(fed, net.clone());
            }
            let _ = tx.try_send(event);
        }
    });
    let node = RunningNode {
        api: api_addr,
        peer: client.peer_id(),
        client,
        status,
        federation: parts.federation,
        stop_api,
        api_task,
        network_task,
        events_task,
    };
    Ok((node, rx))
}

impl RunningNode {
    /// Stops taking requests, finishes those in flight, closes the swarm, flushes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop_api.send(());
        self.api_task.await??;
        self.client.shutdown().await?;
        self.network_task.await?;
        self.events_task.abort();
        self.federation.store().flush()?;
        Ok(())
    }
}
