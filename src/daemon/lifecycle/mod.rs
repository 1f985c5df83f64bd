//! A job's way through the daemon, one file per stage: `submit` (accepted,
//! on disk first, and queued), `pass` (started by a scheduling pass,
//! RUNNING on disk before the process exists, so a crash can never run it
//! twice), `run` (supervised and finished, its resources given back
//! exactly once), `recover` (the store reconciled with reality at
//! start-up), and `nodes` (a cluster's scheduler following its other
//! nodes: their books, their jobs' ends, requests to those jobs). What
//! the pass decides is the scheduler's pure policy;
//! `user_limits` is the pass's hook for the per-user limits.

mod nodes;
mod pass;
mod recover;
mod run;
mod submit;
mod user_limits;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::{Daemon, log};

pub(super) use nodes::{follow_cluster, remote_node};
pub(super) use pass::scheduler_loop;
pub(super) use submit::MAX_TIME_LIMIT_SECS;

/// Removes finished jobs older than `keep` from the store, at start-up and
/// then hourly: the history's retention, not scheduling.
pub(super) async fn prune_history(daemon: Arc<Daemon>, keep: Duration) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        let cutoff = Utc::now() - chrono::Duration::from_std(keep).unwrap_or_default();
        match daemon.store.prune_finished_before(cutoff).await {
            Ok(0) => {}
            Ok(n) => log(format_args!(
                "history: removed {n} jobs that ended before {cutoff}"
            )),
            Err(e) => log(format_args!("history: cannot prune: {e}")),
        }
    }
}
