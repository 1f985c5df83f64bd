//! How a daemon on a PostgreSQL store joins its cluster: one daemon per
//! node name; the node registered, its heartbeat kept going by its agent;
//! the cluster's secret; and the scheduler lease, at once or after
//! standing by for it (`standby`).

use std::time::Duration;

use super::cluster::agent::{NodeAgent, Nudge, Standing, Timing};
use super::cluster::lease::{self, Lease, Start};
use super::cluster::registry::NodeSpec;
use super::cluster::secret;
use super::host::Host;
use super::{Config, log, standby};
use crate::error::{Error, Result};

/// A node in its cluster, holding the lease.
pub(super) struct Joined {
    pub agent: NodeAgent,
    pub secret: String,
    pub lease: Lease,
}

/// Joins the cluster on the database at `url`; `None` when a signal
/// stopped the daemon while it stood by.
pub(super) async fn join(
    config: &Config,
    url: &str,
    (host, tls, admin_token): (
        &std::sync::Arc<Host>,
        Option<tokio_rustls::TlsAcceptor>,
        std::sync::Arc<str>,
    ),
) -> Result<Option<Joined>> {
    let start = blocking(|| lease::start(url, &config.node_name))?;
    let agent = NodeAgent::start(
        url,
        node_spec(config),
        heartbeat_timing(config.node_timeout),
        Some(heartbeat_file(config)),
    );
    tokio::spawn(report_standing(
        agent.standing(),
        agent.rejoiner(),
        config.node_name.clone(),
    ));
    let secret = blocking(|| secret::fetch(url, &config.node_name))?;
    let lease = match start {
        Start::Scheduler(lease) => lease,
        Start::Standby { session, holder } => {
            let waited = standby::until_lease(
                config,
                (host, tls, admin_token),
                (&agent, &secret),
                session,
                holder,
            )
            .await?;
            match waited {
                Some(lease) => lease,
                None => {
                    leave(agent).await;
                    log(format_args!("stopped"));
                    return Ok(None);
                }
            }
        }
    };
    Ok(Some(Joined {
        agent,
        secret,
        lease,
    }))
}

/// Waits (a few seconds at most) for the agent's first reading of the
/// registry with this node in it: the scheduler's recovery goes by it, to
/// tell the jobs on other nodes that are up from those on nodes that are
/// not.
pub(super) async fn first_reading(agent: &NodeAgent, node: &str) {
    let mut members = agent.members();
    let read = async {
        loop {
            if members
                .borrow_and_update()
                .nodes
                .iter()
                .any(|n| n.spec.name == node)
            {
                return;
            }
            if members.changed().await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
}

/// Stops the node's agent. Its thread is joined as it drops: not on the
/// runtime's.
pub(super) async fn leave(agent: NodeAgent) {
    let _ = tokio::task::spawn_blocking(move || drop(agent)).await;
}

/// Runs `f`, which blocks, on a thread of its own, from inside the
/// runtime.
fn blocking<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(f)
            .join()
            .unwrap_or_else(|_| Err(Error::Other("a start-up thread panicked".into())))
    })
}

/// The file the node's agent touches at each heartbeat that goes through,
/// for its supervisors: a job that may run again elsewhere (`--requeue`)
/// is killed by its supervisor once the file is half a node timeout old
/// (`executor::Fence`).
pub(super) fn heartbeat_file(config: &Config) -> std::path::PathBuf {
    config.state_dir.join("heartbeat")
}

/// What this node tells the registry of itself.
fn node_spec(config: &Config) -> NodeSpec {
    NodeSpec {
        name: config.node_name.clone(),
        cpus: config.capacity.cpus,
        memory_mb: config.capacity.memory_mb,
        gpus: config.capacity.gpus,
        partitions: config
            .partitions
            .list()
            .iter()
            .map(|partition| partition.name.clone())
            .collect(),
        address: config.listen.map(|address| {
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{address}")
        }),
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// Four heartbeats per node timeout (at most ten seconds apart, at least
/// a quarter of a second), so a node is declared down only after several
/// missed in a row; a lost session is tried again every second at most.
fn heartbeat_timing(node_timeout: Duration) -> Timing {
    let heartbeat = (node_timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(10));
    Timing {
        heartbeat,
        retry: heartbeat.min(Duration::from_secs(1)),
    }
}

/// Logs where the node stands as its agent finds it. Only a standby can
/// be fenced while its daemon runs (a scheduler is never declared down by
/// itself, and stops when another took its lease). It rejoins at once:
/// the jobs the scheduler ended when it declared the node down are no
/// longer the node's in the store, and its runner kills them at its next
/// reading (`node_runner`), within a second.
async fn report_standing(
    mut standing: tokio::sync::watch::Receiver<Standing>,
    rejoiner: Nudge,
    node: String,
) {
    while standing.changed().await.is_ok() {
        let now = *standing.borrow_and_update();
        match now {
            Standing::Joining => {}
            Standing::Up(epoch) => log(format_args!(
                "node {node} is up in the registry (epoch {})",
                epoch.0
            )),
            Standing::CutOff { .. } => log(format_args!(
                "node {node} cannot reach the database: its heartbeat has stopped"
            )),
            Standing::Fenced(epoch) => {
                log(format_args!(
                    "node {node} was declared down in epoch {}; registering again",
                    epoch.0
                ));
                rejoiner.nudge();
            }
        }
    }
}
