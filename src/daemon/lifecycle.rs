//! A job's way through the daemon: accepted (on disk first), queued,
//! started by a First Fit pass (RUNNING on disk before the process exists,
//! so a crash can never run it twice), supervised, and finished, with its
//! resources given back exactly once. `recover()` reconciles the store with
//! reality at start-up.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc::unbounded_channel;

use super::executor::{self, Control, Ending, Launch, Outcome};
use super::job::{FinalState, Job, JobOptions, JobSpec, Phase};
use super::scheduler::first_fit;
use super::server::Caller;
use super::state::{Running, State, queue_key};
use super::store::NewJob;
use super::{Daemon, log};
use crate::error::{Error, Result};
use crate::protocol::{CancelResponse, ExitCode, JobId, JobState, Reason, SubmitRequest};
use crate::users;

/// How a started job ended, as the daemon records it.
enum End {
    Ran(Outcome),
    /// It could not be started; the text says why.
    LaunchFailed(String),
    /// It was cancelled after its start was recorded but before its process ran.
    CancelledBeforeLaunch,
}

/// The largest script the daemon accepts, in bytes.
const MAX_SCRIPT_BYTES: usize = 4 << 20;

impl Daemon {
    /// Accepts a job: validates it, commits it to the store, queues it, and
    /// wakes the scheduler. The id is returned only after the commit.
    pub(super) async fn submit(&self, request: SubmitRequest, caller: Caller) -> Result<JobId> {
        let spec = self.validate(&request, caller)?;
        let new = NewJob {
            spec: spec.clone(),
            script: request.script,
            environment: request.environment,
        };
        let id = self.store.insert(new).await?;
        let job = Job {
            id,
            spec,
            phase: Phase::Pending {
                reason: Reason::None,
                hold: None,
            },
        };
        log(format_args!(
            "job {id} submitted by {} ({} CPUs, {} MiB, {} GPUs)",
            job.spec.user, job.spec.request.cpus, job.spec.request.memory_mb, job.spec.request.gpus
        ));
        self.state().enqueue(job);
        self.wake.notify_one();
        Ok(id)
    }

    fn validate(&self, request: &SubmitRequest, caller: Caller) -> Result<JobSpec> {
        let invalid = |message: &str| Err(Error::Invalid(message.to_string()));
        if request.ntasks == 0 {
            return invalid("--ntasks must be at least 1");
        }
        if request.cpus_per_task == 0 {
            return invalid("--cpus-per-task must be at least 1");
        }
        if request.script.is_empty() {
            return invalid("Batch script is empty!");
        }
        if request.script.len() > MAX_SCRIPT_BYTES {
            return invalid("Batch script is larger than 4 MiB");
        }
        if request.name.is_empty() {
            return invalid("the job name is empty");
        }
        if !request.work_dir.is_absolute() || !request.work_dir.is_dir() {
            return Err(Error::Invalid(format!(
                "working directory {} does not exist",
                request.work_dir.display()
            )));
        }
        let partition = match &request.partition {
            Some(p) if p != &self.config.partition => {
                return invalid("Invalid partition name specified");
            }
            _ => self.config.partition.clone(),
        };
        let mut resources = request.resources();
        if request.memory_mb == Some(0) {
            // Slurm's --mem=0: all the memory of the node.
            resources.memory_mb = self.config.capacity.memory_mb;
        }
        if request.ntasks.checked_mul(request.cpus_per_task).is_none()
            || !self.config.capacity.can_ever_fit(&resources)
        {
            return invalid("Requested node configuration is not available");
        }
        Ok(JobSpec {
            name: request.name.clone(),
            uid: caller.uid,
            gid: caller.gid,
            user: users::user_name(caller.uid),
            partition,
            request: resources,
            ntasks: request.ntasks,
            cpus_per_task: request.cpus_per_task,
            memory_requested: request.memory_mb.is_some(),
            time_limit: request.time_limit,
            work_dir: request.work_dir.clone(),
            submit_dir: request.submit_dir.clone(),
            stdout_pattern: request.stdout.clone(),
            stderr_pattern: request.stderr.clone(),
            args: request.args.clone(),
            priority: 0,
            nice: 0,
            submit_time: Utc::now(),
            begin_time: None,
            dependency: None,
            kill_on_invalid_dep: false,
            array: None,
            restarts: 0,
            options: JobOptions::default(),
        })
    }

    /// Cancels a job. Pending: CANCELLED at once, on disk before the reply.
    /// Running: its group gets SIGTERM, then SIGKILL after the grace; the job
    /// ends CANCELLED when its processes are gone. Finished: nothing to do.
    pub(super) async fn cancel(&self, id: JobId, caller: Caller) -> Result<CancelResponse> {
        let cancelled = {
            let mut guard = self.state();
            let state = &mut *guard;
            let Some(job) = state.jobs.get_mut(&id) else {
                drop(guard);
                return self.cancel_unknown_to_memory(id, caller);
            };
            authorize(job, caller)?;
            let previous = job.state();
            let unchanged = CancelResponse {
                job_id: id,
                previous_state: previous,
                state: previous,
            };
            match &job.phase {
                Phase::Pending { .. } => {
                    state.queue.remove(&queue_key(job));
                    job.phase = Phase::Finished {
                        state: FinalState::Cancelled,
                        reason: Reason::None,
                        exit_code: ExitCode::default(),
                        allocation: None,
                        start_time: None,
                        end_time: Utc::now(),
                        cancelled_by: Some(caller.uid),
                        max_rss_kb: None,
                    };
                    job.clone()
                }
                Phase::Running { .. } => {
                    let running = state.running.entry(id).or_default();
                    match &running.control {
                        Some(control) => {
                            let _ = control.send(Control::Cancel { by_uid: caller.uid });
                        }
                        None => running.cancel_by = Some(caller.uid),
                    }
                    log(format_args!(
                        "job {id} cancel requested by uid {}",
                        caller.uid
                    ));
                    return Ok(unchanged);
                }
                Phase::Finished { .. } => return Ok(unchanged),
            }
        };
        if let Err(e) = self.store.update(vec![cancelled.clone()]).await {
            // Not on disk, so not done: the job goes back to the queue.
            let mut state = self.state();
            if let Some(job) = state.jobs.get_mut(&id) {
                job.phase = Phase::Pending {
                    reason: Reason::None,
                    hold: None,
                };
                let job = job.clone();
                state.enqueue(job);
            }
            return Err(e);
        }
        self.state().jobs.remove(&id);
        log(format_args!(
            "job {id} cancelled while pending by uid {}",
            caller.uid
        ));
        self.wake.notify_one();
        Ok(CancelResponse {
            job_id: id,
            previous_state: JobState::Pending,
            state: cancelled.state(),
        })
    }

    /// A job not in memory has finished for good, or never existed.
    fn cancel_unknown_to_memory(&self, id: JobId, caller: Caller) -> Result<CancelResponse> {
        let job = self.store.get(id)?.ok_or(Error::NoSuchJob(id))?;
        authorize(&job, caller)?;
        Ok(CancelResponse {
            job_id: id,
            previous_state: job.state(),
            state: job.state(),
        })
    }

    /// One First Fit pass: books resources for every pending job that fits,
    /// records their start on disk, then launches them.
    async fn schedule_pass(self: &Arc<Self>) {
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        let started: Vec<Job> = {
            let mut state = self.state();
            let State {
                jobs,
                queue,
                running,
                tracker,
            } = &mut *state;
            let candidates = State::candidates_of(jobs, queue);
            let plan = first_fit(candidates, tracker);
            for (id, reason) in plan.reasons {
                if let Some(job) = jobs.get_mut(&id) {
                    job.phase = Phase::Pending { reason, hold: None };
                }
            }
            let now = Utc::now();
            let mut started = Vec::with_capacity(plan.starts.len());
            for (id, allocation) in plan.starts {
                let Some(job) = jobs.get_mut(&id) else {
                    tracker.release(id);
                    continue;
                };
                queue.remove(&queue_key(job));
                job.phase = Phase::Running {
                    allocation,
                    start_time: now,
                };
                running.insert(id, Running::default());
                started.push(job.clone());
            }
            started
        };
        if started.is_empty() {
            return;
        }
        if let Err(e) = self.store.update(started.clone()).await {
            log(format_args!(
                "cannot record the start of {} jobs, leaving them pending: {e}",
                started.len()
            ));
            let mut state = self.state();
            for job in started {
                state.tracker.release(job.id);
                state.running.remove(&job.id);
                if let Some(job) = state.jobs.get_mut(&job.id) {
                    job.phase = Phase::Pending {
                        reason: Reason::None,
                        hold: None,
                    };
                    let job = job.clone();
                    state.enqueue(job);
                }
            }
            return;
        }
        for job in started {
            self.launch(job);
        }
    }

    /// Starts the process of a job whose start is on disk.
    fn launch(self: &Arc<Self>, job: Job) {
        let id = job.id;
        let Phase::Running { allocation, .. } = &job.phase else {
            return;
        };
        let cancelled = self
            .state()
            .running
            .get(&id)
            .and_then(|r| r.cancel_by)
            .is_some();
        if cancelled || self.stopping.load(Ordering::SeqCst) {
            self.finish(id, End::CancelledBeforeLaunch);
            return;
        }
        let payload = match self.store.payload(id) {
            Ok(payload) => payload,
            Err(e) => {
                self.finish(
                    id,
                    End::LaunchFailed(format!("cannot read the script: {e}")),
                );
                return;
            }
        };
        let launch = Launch {
            job: &job,
            allocation,
            script: &payload.script,
            environment: &payload.environment,
            node: self.node(),
            script_path: self.scripts_dir.join(id.to_string()),
        };
        let child = match executor::spawn(&launch) {
            Ok(child) => child,
            Err(reason) => {
                self.finish(id, End::LaunchFailed(reason));
                return;
            }
        };
        log(format_args!(
            "job {id} started, pid {}, CPUs {:?}",
            child.id().unwrap_or(0),
            allocation.cpu_ids
        ));
        let (control, controls) = unbounded_channel();
        {
            let mut state = self.state();
            if let Some(running) = state.running.get_mut(&id) {
                if let Some(by_uid) = running.cancel_by {
                    let _ = control.send(Control::Cancel { by_uid });
                }
                running.control = Some(control);
            }
        }
        let time_limit = job.spec.time_limit.map(Duration::from_secs);
        let kill_wait = self.config.kill_wait;
        let daemon = self.clone();
        tokio::spawn(async move {
            let outcome = executor::supervise(child, time_limit, kill_wait, controls).await;
            daemon.finish(id, End::Ran(outcome));
        });
    }

    /// Records how a started job ended and gives its resources back (once:
    /// a second call for the same job finds it no longer running).
    fn finish(self: &Arc<Self>, id: JobId, end: End) {
        let record = {
            let mut state = self.state();
            let State {
                jobs,
                running,
                tracker,
                ..
            } = &mut *state;
            let Some(job) = jobs.get_mut(&id) else {
                return;
            };
            let Phase::Running { start_time, .. } = job.phase else {
                return;
            };
            running.remove(&id);
            let allocation = tracker.release(id);
            let (state, reason, exit_code) = final_state(&end);
            job.phase = Phase::Finished {
                state,
                reason,
                exit_code,
                allocation,
                start_time: Some(start_time),
                end_time: Utc::now(),
                cancelled_by: None,
                max_rss_kb: None,
            };
            job.clone()
        };
        let detail = match &end {
            End::LaunchFailed(why) => format!(": {why}"),
            _ => String::new(),
        };
        log(format_args!(
            "job {id} ended {} exit {}{detail}",
            record.state(),
            match &record.phase {
                Phase::Finished { exit_code, .. } => exit_code.to_string(),
                _ => String::new(),
            }
        ));
        let _ = std::fs::remove_file(self.scripts_dir.join(id.to_string()));
        self.wake.notify_one();
        let daemon = self.clone();
        tokio::spawn(async move {
            match daemon.store.update(vec![record]).await {
                Ok(()) => {
                    // The store now answers for the job.
                    daemon.state().jobs.remove(&id);
                }
                Err(e) => log(format_args!("cannot record the end of job {id}: {e}")),
            }
        });
    }

    /// Reconciles the store with reality after a start: pending jobs queue
    /// again; jobs that were running when the daemon stopped cannot be
    /// followed, so they end FAILED with reason NodeFail and hold nothing.
    pub(super) async fn recover(&self) -> Result<()> {
        let jobs = self.store.load_active()?;
        let now = Utc::now();
        let mut lost = Vec::new();
        let mut pending = 0;
        {
            let mut state = self.state();
            for mut job in jobs {
                match job.phase {
                    Phase::Pending { .. } => {
                        job.phase = Phase::Pending {
                            reason: Reason::None,
                            hold: None,
                        };
                        state.enqueue(job);
                        pending += 1;
                    }
                    Phase::Running {
                        allocation,
                        start_time,
                    } => {
                        job.phase = Phase::Finished {
                            state: FinalState::Failed,
                            reason: Reason::NodeFail,
                            exit_code: ExitCode::default(),
                            allocation: Some(allocation),
                            start_time: Some(start_time),
                            end_time: now,
                            cancelled_by: None,
                            max_rss_kb: None,
                        };
                        lost.push(job);
                    }
                    Phase::Finished { .. } => {}
                }
            }
        }
        let lost_count = lost.len();
        if !lost.is_empty() {
            self.store.update(lost).await?;
        }
        log(format_args!(
            "recovered {pending} pending jobs; {lost_count} that were running ended with NodeFail"
        ));
        Ok(())
    }

    /// Stops every running job (FAILED, NodeFail) and waits until their ends
    /// are on disk, bounded by the kill grace.
    pub(super) async fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        {
            let state = self.state();
            for running in state.running.values() {
                if let Some(control) = &running.control {
                    let _ = control.send(Control::Shutdown);
                }
            }
        }
        let give_up = tokio::time::Instant::now() + self.config.kill_wait + Duration::from_secs(2);
        while !self.state().running.is_empty() && tokio::time::Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Writes are committed in order, so an empty write returns once
        // every earlier one is on disk.
        let _ = self.store.update(Vec::new()).await;
    }
}

/// Runs First Fit passes for as long as the daemon lives, one per wake-up;
/// wake-ups during a pass fold into the next one.
pub(super) async fn scheduler_loop(daemon: Arc<Daemon>) {
    loop {
        daemon.wake.notified().await;
        daemon.schedule_pass().await;
    }
}

/// Only the job's owner, root, or the daemon's own user may change a job.
fn authorize(job: &Job, caller: Caller) -> Result<()> {
    if caller.uid == 0 || caller.uid == job.spec.uid || caller.uid == users::current_uid() {
        Ok(())
    } else {
        Err(Error::PermissionDenied)
    }
}

fn final_state(end: &End) -> (FinalState, Reason, ExitCode) {
    match end {
        End::LaunchFailed(_) => (
            FinalState::Failed,
            Reason::JobLaunchFailure,
            ExitCode { code: 1, signal: 0 },
        ),
        End::CancelledBeforeLaunch => (FinalState::Cancelled, Reason::None, ExitCode::default()),
        End::Ran(Outcome { exit_code, ending }) => match ending {
            Ending::Cancelled { .. } => (FinalState::Cancelled, Reason::None, *exit_code),
            Ending::TimedOut => (FinalState::Timeout, Reason::TimeLimit, *exit_code),
            Ending::Shutdown => (FinalState::Failed, Reason::NodeFail, *exit_code),
            Ending::Exited => match (exit_code.code, exit_code.signal) {
                (0, 0) => (FinalState::Completed, Reason::None, *exit_code),
                (_, 0) => (FinalState::Failed, Reason::NonZeroExitCode, *exit_code),
                (_, signal) => (FinalState::Failed, Reason::RaisedSignal(signal), *exit_code),
            },
        },
    }
}
