//! The scheduler of a cluster and its other nodes: the books follow the
//! registry (a node up takes jobs, a node down takes none and its jobs
//! end NODE_FAIL, or queue again with `--requeue`); the ends the nodes
//! write back are recorded as the ends of this node's own jobs are; and
//! requests to a job on another node go to it through the store.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::daemon::cluster::agent::Membership;
use crate::daemon::cluster::dispatch::{self, RemoteEnd};
use crate::daemon::end::End;
use crate::daemon::executor::Control;
use crate::daemon::job::{Job, Phase};
use crate::daemon::tracker::Capacity;
use crate::daemon::{Daemon, log};
use crate::error::Result;
use crate::protocol::JobId;

/// How often the scheduler reads the ends written without a notification.
const POLL: Duration = Duration::from_secs(1);

impl Daemon {
    /// Brings the books in line with the cluster as the node agent last
    /// read it: every other node that is up and beating takes jobs (one
    /// whose heartbeat is half a node timeout old takes none meanwhile: it
    /// may be dead, not yet declared so); one that is down, or gone from
    /// the registry, takes none, and its running jobs end
    /// NODE_FAIL (or queue again, with `--requeue`: the supervisor of such
    /// a job kills it once its node's heartbeat is half a node timeout
    /// old, and the node is declared down only after a whole one, so the
    /// old run is over).
    pub(crate) fn follow_members(self: &Arc<Self>, members: &Membership) {
        let stale = chrono::Duration::from_std(self.config.node_timeout / 2)
            .unwrap_or(chrono::Duration::MAX);
        let now = chrono::Utc::now();
        let lost: Vec<(JobId, bool)> = {
            let mut state = self.state();
            let state = &mut *state;
            for record in &members.nodes {
                let spec = &record.spec;
                if spec.name == self.node() {
                    continue;
                }
                if record.down.is_none() {
                    let capacity = Capacity {
                        cpus: spec.cpus,
                        memory_mb: spec.memory_mb,
                        gpus: spec.gpus,
                    };
                    let beating = now - record.heartbeat < stale;
                    state.nodes.keep(&spec.name, capacity, beating);
                } else {
                    state.nodes.withdraw(&spec.name);
                }
            }
            let listed: Vec<String> = state
                .nodes
                .names()
                .skip(1)
                .filter(|name| !members.nodes.iter().any(|n| n.spec.name == *name))
                .map(str::to_string)
                .collect();
            for name in listed {
                state.nodes.withdraw(&name);
            }
            let largest = state.nodes.largest();
            state.queue.set_capacity(largest, &state.jobs);
            *self
                .largest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = largest;
            let up = |name: &str| {
                members
                    .nodes
                    .iter()
                    .any(|n| n.spec.name == name && n.down.is_none())
            };
            state
                .running
                .keys()
                .filter_map(|id| state.jobs.get(id))
                .filter(|job| remote_node(job, self.node()).is_some_and(|node| !up(node)))
                .map(|job| (job.id, job.spec.requeues()))
                .collect()
        };
        for (id, requeue) in lost {
            log(format_args!(
                "job {id}: its node is down: {}",
                if requeue { "queued again" } else { "NODE_FAIL" }
            ));
            self.finish(
                id,
                if requeue {
                    End::interrupted()
                } else {
                    End::Lost
                },
            );
        }
    }

    /// Records an end another node wrote, if it ends the job's current
    /// run (an end of an earlier run, read again, changes nothing).
    fn remote_end(self: &Arc<Self>, end: RemoteEnd) {
        let current = self.state().jobs.get(&end.id).is_some_and(|job| {
            matches!(job.phase, Phase::Running { .. }) && dispatch::start_ms(job) == end.start_ms
        });
        if current {
            self.finish_at(end.id, end.end, end.at);
        }
    }

    /// Passes `control` to the supervisor of `job`, which runs on `node`,
    /// through the store; returns once it is committed. Blocks.
    pub(crate) fn control_remote(&self, node: &str, job: &Job, control: Control) -> Result<()> {
        let Some(sender) = &self.dispatch else {
            return Err(crate::Error::Other(format!(
                "job {} runs on node {node}, which this daemon cannot reach",
                job.id
            )));
        };
        let start_ms = dispatch::start_ms(job);
        tokio::task::block_in_place(|| sender.send(node, job.id, start_ms, control))
    }
}

/// The node a running job runs on, when it is another than `here`.
pub(crate) fn remote_node<'a>(job: &'a Job, here: &str) -> Option<&'a str> {
    match &job.phase {
        Phase::Running {
            node: Some(node), ..
        } if node != here => Some(node),
        _ => None,
    }
}

/// Follows the cluster for the scheduler: the books after each reading
/// of the registry, and the ends other nodes write, until the daemon
/// stops.
pub(crate) fn follow_cluster(daemon: Arc<Daemon>, url: String) {
    if let Some(mut members) = daemon.members.clone() {
        let following = daemon.clone();
        tokio::spawn(async move {
            while members.changed().await.is_ok() {
                let now = members.borrow_and_update().clone();
                following.follow_members(&now);
                following.wake.notify_one();
            }
        });
    }
    let (found, mut ends) = mpsc::channel::<Vec<RemoteEnd>>(2);
    let stopping = daemon.clone();
    let spawned = std::thread::Builder::new()
        .name("node-ends".into())
        .spawn(move || {
            dispatch::listen(
                &url,
                dispatch::END_CHANNEL,
                &|_| true,
                POLL,
                &|| stopping.stopping.load(Ordering::SeqCst) || found.is_closed(),
                |client, _| {
                    let read = dispatch::ends(client)?;
                    if !read.is_empty() {
                        let _ = found.blocking_send(read);
                    }
                    Ok(())
                },
            );
        });
    if let Err(e) = spawned {
        log(format_args!("cannot follow the other nodes' ends: {e}"));
        return;
    }
    tokio::spawn(async move {
        while let Some(read) = ends.recv().await {
            for end in read {
                daemon.remote_end(end);
            }
        }
    });
}
