//! What runs jobs on a node: the launcher that forks each job's
//! supervisor, the containment that holds a job to what it was given, and
//! the directories jobs run from. The scheduler's daemon runs the jobs it
//! puts on its own node through it, and a standby the jobs the scheduler
//! puts on that node (`node_runner`); either way [`Host::start`] and
//! [`Host::follow`] say how each job ended, and the caller records it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::containment::{self, Containment};
use super::end::End;
use super::executor::{self, Fence, Launch, Launcher, Supervisor};
use super::gpus::Gpu;
use super::job::{Job, Phase};
use super::log;
use super::store::Payload;
use crate::protocol::JobId;

/// A node's means of running jobs.
pub(crate) struct Host {
    /// One directory per job run: script, plan, supervisor files.
    pub jobs_dir: PathBuf,
    /// Forks each job's supervisor.
    pub launcher: Launcher,
    /// How jobs are held to what they were given.
    pub containment: Containment,
    /// The node's name, as a job's environment gives it.
    pub node: String,
    /// The node's GPUs, which an allocation's GPU ids index.
    pub gpus: Vec<Gpu>,
    /// `unix:` and the node's socket, as jobs name their daemon.
    pub server_address: String,
    /// Grace between SIGTERM and SIGKILL.
    pub kill_wait: Duration,
    /// On a cluster, the node's heartbeat, which a job that may run again
    /// elsewhere must not outlive.
    pub fence: Option<Fence>,
}

impl Host {
    /// Where a job's script, plan and supervisor files live while it runs.
    /// Each start gets a directory of its own, so nothing left from an
    /// earlier start can mix with a later one; every node names them the
    /// same way, so a node that becomes the scheduler follows the jobs it
    /// ran as a standby as a restarted daemon follows its own.
    pub fn job_dir(&self, id: JobId, start_time: DateTime<Utc>) -> PathBuf {
        self.jobs_dir
            .join(format!("{id}-{}", start_time.timestamp_millis()))
    }

    /// Starts the supervisor of `job`, whose start is on disk, with its
    /// script and environment: the supervisor, or how the job ended
    /// without one (it could not be launched).
    pub async fn start(
        self: &Arc<Self>,
        job: &Job,
        payload: crate::error::Result<Payload>,
    ) -> Result<Supervisor, End> {
        let id = job.id;
        let Phase::Running {
            allocation,
            start_time,
            ..
        } = &job.phase
        else {
            return Err(End::LaunchFailed("the job is not running".into()));
        };
        let dir = self.job_dir(id, *start_time);
        let containment = self.containment.for_job(
            id,
            &allocation.cpu_ids,
            allocation.memory_mb,
            &allocation.gpu_ids,
        );
        // The cgroup is made on another thread while the script is read and
        // the supervisor forked: its directories and writes are then off
        // the job's way to its start.
        let made = containment.cgroup.is_some().then(|| {
            let containment = containment.clone();
            tokio::task::spawn_blocking(move || containment.make_cgroup())
        });
        let planned = payload
            .map_err(|e| format!("cannot read the script: {e}"))
            .and_then(|payload| {
                executor::prepare_dir(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                executor::plan(
                    &Launch {
                        job,
                        allocation,
                        script: &payload.script,
                        environment: &payload.environment,
                        node: &self.node,
                        gpus: &self.gpus,
                        server: &self.server_address,
                        script_path: dir.join("script"),
                        containment,
                        fence: self.fence.as_ref(),
                    },
                    self.kill_wait.as_secs(),
                )
            });
        let mut plan = match planned {
            Ok(plan) => plan,
            Err(reason) => {
                if let Some(made) = made {
                    let host = self.clone();
                    tokio::spawn(async move {
                        let _ = made.await;
                        let _ = tokio::task::spawn_blocking(move || {
                            host.containment.kill_and_remove(id)
                        })
                        .await;
                    });
                }
                return Err(End::LaunchFailed(reason));
            }
        };
        if let Some(made) = made {
            // Where the daemon could not make it, the supervisor tries
            // again and reports why it cannot.
            plan.containment.made = matches!(made.await, Ok(Ok(())));
        }
        let cpus = allocation.cpu_ids.clone();
        match self.launcher.start(&dir, plan).await {
            Ok(supervisor) => {
                log(format_args!(
                    "job {id} started, supervisor pid {}, CPUs {cpus:?}",
                    supervisor.pid().as_raw_nonzero()
                ));
                Ok(supervisor)
            }
            Err(e) => self.settle_unlaunched(id, dir, e).await,
        }
    }

    /// Ends a launch that failed on the way, when a supervisor may have
    /// been forked all the same (the launcher died after the fork): that
    /// supervisor if there is one; else makes sure none can start any
    /// more before the job is given up.
    async fn settle_unlaunched(
        self: &Arc<Self>,
        id: JobId,
        dir: PathBuf,
        error: std::io::Error,
    ) -> Result<Supervisor, End> {
        let host = self.clone();
        let settled = tokio::task::spawn_blocking(move || {
            let lock = match Supervisor::reattach(&dir) {
                Ok(supervisor) => return Ok(supervisor),
                Err(lock) => lock,
            };
            let end = match executor::outcome(&dir) {
                Some(end) => end,
                None if executor::may_have_started(&dir) => {
                    host.kill_lost(id, &dir);
                    End::Lost
                }
                None => {
                    // Under the lock: a supervisor still on its way finds
                    // no file to lock and runs nothing.
                    executor::forbid_start(&dir);
                    // The cgroup made for it, empty.
                    if let Err(e) = host.containment.kill_and_remove(id) {
                        log(format_args!("job {id}: cannot remove its cgroup: {e}"));
                    }
                    End::LaunchFailed(format!("cannot start the supervisor: {error}"))
                }
            };
            drop(lock);
            Err(end)
        })
        .await;
        settled.unwrap_or_else(|e| Err(End::LaunchFailed(format!("launch failed: {e}"))))
    }

    /// Follows a job's supervisor until it reports how the job ended; a
    /// supervisor lost without a word has what is left of its job killed
    /// first.
    pub async fn follow(self: &Arc<Self>, id: JobId, supervisor: Supervisor) -> End {
        let dir = supervisor.dir().to_path_buf();
        match supervisor.ended().await {
            Some(end) => end,
            None => {
                let host = self.clone();
                let _ = tokio::task::spawn_blocking(move || host.kill_lost(id, &dir)).await;
                End::Lost
            }
        }
    }

    /// Kills whatever is left of a job whose supervisor was lost, before
    /// the job's resources can go to another job: everything in its cgroup,
    /// else its process group and its supervisor's session as the
    /// supervisor recorded them. Blocks until they are gone (or it gives up,
    /// logged).
    pub fn kill_lost(&self, id: JobId, dir: &Path) {
        if self.kill_remains(id, dir) {
            log(format_args!(
                "job {id}: its supervisor was lost; nothing of it runs any more"
            ));
        } else {
            log(format_args!(
                "job {id}: its supervisor was lost and processes of it are still alive"
            ));
        }
    }

    /// Kills whatever is left of a job (see [`Host::kill_lost`]); whether
    /// nothing of it is alive any more.
    pub fn kill_remains(&self, id: JobId, dir: &Path) -> bool {
        let patience = Duration::from_secs(30);
        match self.containment.cgroup_of(id) {
            Some(_) => self
                .containment
                .kill_and_remove(id)
                .map_err(|e| log(format_args!("job {id}: {e}")))
                .is_ok(),
            None => match executor::recorded_processes(dir) {
                Some(recorded) => containment::kill_group_verified(
                    recorded.leader,
                    Some(recorded.supervisor),
                    &recorded.others,
                    patience,
                ),
                None => true,
            },
        }
    }
}
