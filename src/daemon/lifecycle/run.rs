//! A started job: its supervisor is launched (its start already on
//! disk), watched until it reports, and the job finished, its resources
//! given back exactly once; or queued again when it was requeued.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::daemon::containment;
use crate::daemon::end::End;
use crate::daemon::executor::{self, Control, Launch, Supervisor};
use crate::daemon::job::{Job, JobSpec, Phase};
use crate::daemon::{Daemon, log};
use crate::protocol::{JobId, Reason};

impl Daemon {
    /// Holds a requeued job back for the requeue delay unless its begin
    /// time is later already, as slurmctld does (`BeginTime` meanwhile).
    pub(crate) fn hold_back_requeued(&self, spec: &mut JobSpec) {
        let now = Utc::now();
        let Ok(delay) = chrono::Duration::from_std(self.config.requeue_delay) else {
            return;
        };
        if delay.is_zero() || spec.begin_time.is_some_and(|begin| begin > now) {
            return;
        }
        spec.begin_time = Some(now + delay);
    }

    /// Starts the supervisor of a job whose start is on disk.
    pub(super) fn launch(self: &Arc<Self>, job: Job) {
        let id = job.id;
        let Phase::Running {
            allocation,
            start_time,
            ..
        } = &job.phase
        else {
            return;
        };
        let cancelled_by = self.state().running.get(&id).and_then(|r| r.cancel_by);
        if let Some(by_uid) = cancelled_by {
            self.finish(id, End::CancelledBeforeLaunch { by_uid });
            return;
        }
        if self.stopping.load(Ordering::SeqCst) {
            // Its start is on disk but nothing ran: the next daemon finds no
            // supervisor for it and queues it again.
            return;
        }
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
        let planned = self
            .store
            .payload(id)
            .map_err(|e| format!("cannot read the script: {e}"))
            .and_then(|payload| {
                executor::prepare_dir(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                executor::plan(
                    &Launch {
                        job: &job,
                        allocation,
                        script: &payload.script,
                        environment: &payload.environment,
                        node: self.node(),
                        gpus: &self.config.gpus,
                        server: &self.server_address,
                        script_path: dir.join("script"),
                        containment,
                    },
                    self.config.kill_wait.as_secs(),
                )
            });
        let mut plan = match planned {
            Ok(plan) => plan,
            Err(reason) => {
                self.finish(id, End::LaunchFailed(reason));
                if let Some(made) = made {
                    let daemon = self.clone();
                    tokio::spawn(async move {
                        let _ = made.await;
                        let _ = tokio::task::spawn_blocking(move || {
                            daemon.containment.kill_and_remove(id)
                        })
                        .await;
                    });
                }
                return;
            }
        };
        let daemon = self.clone();
        let cpus = allocation.cpu_ids.clone();
        tokio::spawn(async move {
            if let Some(made) = made {
                // Where the daemon could not make it, the supervisor tries
                // again and reports why it cannot.
                plan.containment.made = matches!(made.await, Ok(Ok(())));
            }
            match daemon.launcher.start(&dir, plan).await {
                Ok(supervisor) => {
                    log(format_args!(
                        "job {id} started, supervisor pid {}, CPUs {cpus:?}",
                        supervisor.pid().as_raw_nonzero()
                    ));
                    daemon.watch(id, supervisor);
                }
                Err(e) => daemon.settle_unlaunched(id, dir, e).await,
            }
        });
    }

    /// Ends a launch that failed on the way, when a supervisor may have
    /// been forked all the same (the launcher died after the fork): follows
    /// that supervisor if there is one; else makes sure none can start any
    /// more before the job is given up.
    async fn settle_unlaunched(self: &Arc<Self>, id: JobId, dir: PathBuf, error: std::io::Error) {
        let daemon = self.clone();
        let settled = tokio::task::spawn_blocking(move || {
            let lock = match Supervisor::reattach(&dir) {
                Ok(supervisor) => return Ok(supervisor),
                Err(lock) => lock,
            };
            let end = match executor::outcome(&dir) {
                Some(end) => end,
                None if executor::may_have_started(&dir) => {
                    daemon.kill_lost(id, &dir);
                    End::Lost
                }
                None => {
                    // Under the lock: a supervisor still on its way finds
                    // no file to lock and runs nothing.
                    executor::forbid_start(&dir);
                    // The cgroup the daemon made for it, empty.
                    if let Err(e) = daemon.containment.kill_and_remove(id) {
                        log(format_args!("job {id}: cannot remove its cgroup: {e}"));
                    }
                    End::LaunchFailed(format!("cannot start the supervisor: {error}"))
                }
            };
            drop(lock);
            Err(end)
        })
        .await;
        match settled {
            Ok(Ok(supervisor)) => self.watch(id, supervisor),
            Ok(Err(end)) => self.finish(id, end),
            Err(e) => self.finish(id, End::LaunchFailed(format!("launch failed: {e}"))),
        }
    }

    /// Follows a job's supervisor until it reports how the job ended.
    pub(super) fn watch(self: &Arc<Self>, id: JobId, supervisor: Supervisor) {
        {
            let mut state = self.state();
            if let Some(running) = state.running.get_mut(&id) {
                if let Some(by_uid) = running.cancel_by {
                    supervisor.send(Control::Cancel { by_uid });
                } else if running.requeue_requested {
                    supervisor.send(Control::Requeue);
                }
                running.supervisor = Some(supervisor.clone());
            }
        }
        let daemon = self.clone();
        tokio::spawn(async move {
            let dir = supervisor.dir().to_path_buf();
            let end = match supervisor.ended().await {
                Some(end) => end,
                None => {
                    let killer = daemon.clone();
                    let _ = tokio::task::spawn_blocking(move || killer.kill_lost(id, &dir)).await;
                    End::Lost
                }
            };
            daemon.finish(id, end);
        });
    }

    /// Kills whatever is left of a job whose supervisor was lost, before
    /// the job's resources can go to another job: everything in its cgroup,
    /// else its process group and its supervisor's session as the
    /// supervisor recorded them. Blocks until they are gone (or it gives up,
    /// logged).
    pub(super) fn kill_lost(&self, id: JobId, dir: &std::path::Path) {
        let patience = Duration::from_secs(30);
        let gone = match self.containment.cgroup_of(id) {
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
        };
        if gone {
            log(format_args!(
                "job {id}: its supervisor was lost; nothing of it runs any more"
            ));
        } else {
            log(format_args!(
                "job {id}: its supervisor was lost and processes of it are still alive"
            ));
        }
    }

    /// Where a job's script, plan and supervisor files live while it runs.
    /// Each start gets a directory of its own, so nothing left from an
    /// earlier start can mix with a later one.
    pub(super) fn job_dir(&self, id: JobId, start_time: DateTime<Utc>) -> PathBuf {
        self.jobs_dir
            .join(format!("{id}-{}", start_time.timestamp_millis()))
    }

    /// Records how a started job ended and gives its resources back (once:
    /// a second call for the same job finds it no longer running). A
    /// requeued job goes back to the queue instead. The end (or requeue) is
    /// written by the next pass, in the commit that starts the jobs it made
    /// room for, with the usage its run charged.
    pub(super) fn finish(self: &Arc<Self>, id: JobId, end: End) {
        self.finish_at(id, end, Utc::now());
    }

    /// [`Daemon::finish`] for a job that ended at `at` (before now, where
    /// a restarted daemon learns of an end only from its outcome file).
    pub(super) fn finish_at(self: &Arc<Self>, id: JobId, end: End, at: DateTime<Utc>) {
        let record = {
            let mut state = self.state();
            let state = &mut *state;
            let Some(job) = state.jobs.get_mut(&id) else {
                return;
            };
            let Phase::Running {
                start_time,
                ref mut steps,
                ..
            } = job.phase
            else {
                return;
            };
            let mut steps = std::mem::take(steps);
            let dir = self.job_dir(id, start_time);
            state.running.remove(&id);
            let allocation = state.tracker.release(id);
            let at = at.max(start_time);
            state.priorities.charge(&job.spec, start_time, at);
            if end.requeued() {
                job.spec.restarts += 1;
                self.hold_back_requeued(&mut job.spec);
                job.phase = Phase::Pending {
                    reason: Reason::None,
                    hold: None,
                };
                let job = job.clone();
                state.enqueue(job.clone());
                state.requeued.push((id, dir));
                job
            } else {
                let ended = end.record();
                self.statistics.ended(ended.state);
                let end_time = at;
                // A step still running ends with its job, as the job did.
                for step in steps.iter_mut().filter(|s| s.end_time.is_none()) {
                    step.end_time = Some(end_time);
                    step.state = Some(ended.state.into());
                }
                job.phase = Phase::Finished {
                    state: ended.state,
                    reason: ended.reason,
                    exit_code: ended.exit_code,
                    allocation,
                    start_time: Some(start_time),
                    end_time,
                    cancelled_by: ended.cancelled_by,
                    usage: ended.usage,
                    steps,
                };
                let job = job.clone();
                state.ended.push((job.clone(), dir));
                job
            }
        };
        let detail = match &end {
            End::LaunchFailed(why) => format!(": {why}"),
            _ => String::new(),
        };
        let exit = match &record.phase {
            Phase::Finished { exit_code, .. } => format!(" exit {exit_code}"),
            _ => String::new(),
        };
        log(format_args!(
            "job {id} {}{exit}{detail}",
            match record.phase {
                Phase::Pending { .. } => "requeued".to_string(),
                _ => format!("ended {}", record.state()),
            }
        ));
        self.wake.notify_one();
    }
}
