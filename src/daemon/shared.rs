//! The running daemon as its tasks share it: the configuration, the
//! store, the one lock over all job state, and what starts and contains
//! jobs. Each stage of a job's life adds its own `impl Daemon` in
//! `lifecycle/`.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::host::Host;
use super::job::{Job, Phase};
use super::state::State;
use super::store::JobStore;
use super::{Config, statistics, tokens};
use crate::error::{Error, Result};
use crate::protocol::JobId;

/// The running daemon, shared by the server's handlers, the scheduler and
/// the job supervisors.
pub(crate) struct Daemon {
    pub(super) config: Config,
    pub(super) store: JobStore,
    pub(super) state: Mutex<State>,
    /// Wakes the scheduler: every event that may let a job start notifies it.
    pub(super) wake: Notify,
    /// Set once shutdown begins: no job starts after it.
    pub(super) stopping: AtomicBool,
    /// Scheduling passes run, and the last one's decision time.
    pub(super) passes: AtomicU64,
    pub(super) last_pass_micros: AtomicU64,
    /// What `cdiag` reports (shared with the router's counting layer).
    pub(super) statistics: Arc<statistics::Statistics>,
    /// The earliest time a timer will wake the scheduler (begin times).
    pub(super) next_wakeup: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    pub(super) started_at: chrono::DateTime<chrono::Utc>,
    /// What runs this node's jobs.
    pub(super) host: Arc<Host>,
    /// This boot of the machine, recorded with every start.
    pub(super) boot_id: Option<String>,
    /// The per-user tokens TCP requests act through.
    pub(super) tokens: tokens::TokenBook,
    /// The cluster's nodes as the node agent last read them, on a
    /// PostgreSQL store; `None` on SQLite, where the daemon is its one node.
    pub(super) members: Option<tokio::sync::watch::Receiver<super::cluster::agent::Membership>>,
    /// What a standby vouches for the callers it passes on with (see
    /// `cluster::secret`); `None` on SQLite.
    pub(super) cluster_secret: Option<String>,
    /// The most of each kind one job could ever be given: this node's
    /// resources, or on a cluster the largest node's (a leaf lock, taken
    /// with or without the state's).
    pub(super) largest: Mutex<crate::daemon::Capacity>,
    /// Where requests to jobs on other nodes go; `None` on SQLite.
    pub(super) dispatch: Option<super::cluster::dispatch::Sender>,
}

impl Daemon {
    /// The state, locked. A panic while holding the lock cannot leave the
    /// books half-written in a way later code trusts, so poisoning is ignored.
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A job from memory (pending, running, just ended), else from the
    /// store.
    pub(super) fn find_job(&self, id: JobId) -> Result<Job> {
        if let Some(job) = self.state().jobs.get(&id) {
            return Ok(job.clone());
        }
        self.store.get(id)?.ok_or(Error::NoSuchJob(id))
    }

    /// Whether a job is over for good: ended, or no longer in memory (a
    /// pending or running job always is).
    pub(super) fn has_ended(&self, id: JobId) -> bool {
        self.state()
            .jobs
            .get(&id)
            .is_none_or(|job| matches!(job.phase, Phase::Finished { .. }))
    }

    /// See [`Daemon::largest`](field@Daemon::largest).
    pub(super) fn largest(&self) -> crate::daemon::Capacity {
        *self
            .largest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn node(&self) -> &str {
        &self.config.node_name
    }

    /// The oldest end a finished job may have and still be shown by cqueue
    /// and ccontrol (MinJobAge ago); `None` when every finished job is.
    /// slurmctld purges such a job in a pass every minute or so, so there
    /// it may linger for up to that long more; here it goes on time.
    pub(super) fn visible_since(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let age = chrono::Duration::from_std(self.config.min_job_age).ok()?;
        (!age.is_zero()).then(|| chrono::Utc::now() - age)
    }
}
