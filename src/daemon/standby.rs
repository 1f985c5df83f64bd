//! A node that starts while another node holds the scheduler lease stands
//! by: registered and beating like any node (its agent runs already), its
//! socket answering each request with where the scheduler is, until the
//! lease is its own. Then it goes on to start as the scheduler, rebuilding
//! the core from the store as a restart does.
//!
//! The wait is on a thread of its own, not the runtime's: the `postgres`
//! client blocks, and a standby stopped by a signal leaves that thread to
//! end with the process.

use std::fs;
use std::path::Path;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::{oneshot, watch};

use super::cluster::lease::{self, Lease};
use super::containment::Containment;
use super::{Config, bind_unix, connections, log, shutdown_signal};
use crate::error::Result;
use crate::protocol::ApiError;

/// Stands by until this node holds the lease, which `holder` holds now
/// and `session` waits on; `None` when a signal stopped the daemon first.
/// First it kills what is left of jobs it ran when it last scheduled: the
/// scheduler that took over ended them (`recover`), so they must not run
/// on here unseen.
pub(super) async fn until_lease(
    config: &Config,
    containment: &Containment,
    session: postgres::Client,
    holder: String,
) -> Result<Option<Lease>> {
    fence(containment).await;
    let scheduler = holder
        .strip_prefix("conductord:")
        .unwrap_or(&holder)
        .to_string();
    log(format_args!(
        "standby: node {} waits for the scheduler lease, held by node {scheduler}",
        config.node_name
    ));
    let (taken_tx, taken) = oneshot::channel();
    let (url, node) = (
        config.store.clone().unwrap_or_default(),
        config.node_name.clone(),
    );
    std::thread::Builder::new()
        .name("lease-wait".into())
        .spawn(move || {
            let lease = lease::wait(session, &url, &node, RETRY);
            let _ = taken_tx.send(lease);
        })
        .map_err(|e| crate::Error::Other(format!("cannot start the lease's thread: {e}")))?;

    let listener = bind_unix(&config.socket, config.system)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let message = format!(
        "node {} is a standby: node {scheduler} schedules the jobs; run the command there",
        config.node_name
    );
    let answering = tokio::spawn(connections::serve(
        connections::Listener::Unix(listener),
        router(message),
        config.connections,
        stop_rx,
    ));
    let lease = tokio::select! {
        () = shutdown_signal() => None,
        lease = taken => lease.ok(),
    };
    let _ = stop_tx.send(true);
    let _ = answering.await;
    remove_socket(&config.socket);
    if lease.is_some() {
        log(format_args!(
            "node {} holds the scheduler lease: taking over from node {scheduler}",
            config.node_name
        ));
    }
    Ok(lease)
}

/// How long a standby whose session ended waits before it asks for the
/// lease again: longer than the scheduler's own check (1 s), so after a
/// restart of the database the scheduler that held the lease takes it
/// back first and scheduling does not move for nothing.
const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Health answers (the daemon is up); everything else is refused with
/// `message`, 503 as for a service that is there but not serving this.
fn router(message: String) -> Router {
    Router::new()
        .route(
            "/v1/health",
            get(|| async {
                axum::Json(crate::protocol::Health {
                    status: "standby".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    pid: std::process::id(),
                })
            }),
        )
        .fallback(move || {
            let body = ApiError {
                code: "standby".into(),
                message: message.clone(),
            };
            async move { (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response() }
        })
}

/// Kills and removes every job cgroup this daemon's containment left.
/// Without cgroups there is nothing to find them by.
async fn fence(containment: &Containment) {
    let containment = containment.clone();
    let _ = tokio::task::spawn_blocking(move || {
        for id in containment.leftovers() {
            match containment.kill_and_remove(id) {
                Ok(()) => log(format_args!(
                    "job {id}: killed what was left of it, from when this node scheduled"
                )),
                Err(e) => log(format_args!("job {id}: cannot clean up its cgroup: {e}")),
            }
        }
    })
    .await;
}

fn remove_socket(path: &Path) {
    let _ = fs::remove_file(path);
}
