//! A started job: its supervisor is launched (its start already on
//! disk), watched until it reports, and the job finished, its resources
//! given back exactly once; or queued again when it was requeued.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use crate::daemon::end::End;
use crate::daemon::executor::{Control, Supervisor};
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

    /// Starts the supervisor of a job whose start is on disk, when it runs
    /// on this node (the node a job was put on starts it otherwise).
    pub(super) fn launch(self: &Arc<Self>, job: Job) {
        let id = job.id;
        if !self.runs_here(&job) {
            return;
        }
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
        let payload = self.store.payload(id);
        let daemon = self.clone();
        tokio::spawn(async move {
            match daemon.host.start(&job, payload).await {
                Ok(supervisor) => daemon.watch(id, supervisor),
                Err(end) => daemon.finish(id, end),
            }
        });
    }

    /// Whether a running job runs on this node, so that this daemon
    /// supervises it.
    pub(crate) fn runs_here(&self, job: &Job) -> bool {
        match &job.phase {
            Phase::Running { node, .. } => node.as_deref().is_none_or(|n| n == self.node()),
            _ => false,
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
            let end = daemon.host.follow(id, supervisor).await;
            daemon.finish(id, end);
        });
    }

    /// Where a job's script, plan and supervisor files live while it runs.
    pub(super) fn job_dir(&self, id: JobId, start_time: DateTime<Utc>) -> PathBuf {
        self.host.job_dir(id, start_time)
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
                ref node,
                ..
            } = job.phase
            else {
                return;
            };
            let mut steps = std::mem::take(steps);
            let node = node.clone();
            let dir = self.job_dir(id, start_time);
            state.running.remove(&id);
            let allocation = state.nodes.release(id).map(|(_, allocation)| allocation);
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
                    node,
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
