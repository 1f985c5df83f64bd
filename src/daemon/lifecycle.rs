//! A job's way through the daemon: accepted (on disk first), queued,
//! started by a First Fit pass (RUNNING on disk before the process exists,
//! so a crash can never run it twice), supervised, and finished, with its
//! resources given back exactly once. `recover()` reconciles the store with
//! reality at start-up.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::caller::Caller;
use super::containment;
use super::dependencies;
use super::executor::{self, Control, Ending, Launch, Outcome, Report, Supervisor};
use super::job::{
    ArrayTask, Dependencies, FinalState, Hold, Job, JobOptions, JobSpec, Phase, Progress,
};
use super::scheduler::{Candidate, Limit, first_fit_indexed};
use super::state::{Queue, Running, State};
use super::store::{NewJob, Payload, Submission};
use super::tracker::Allocation;
use super::{Daemon, log};
use crate::error::{Error, Result};
use crate::format::array::{ArraySpec, parse_array};
use crate::format::dependency::{DependencyKind, parse_dependency};
use crate::protocol::{ExitCode, JobId, Reason, SubmitRequest, TestOnlyResponse};
use crate::users;

/// How a started job ended, as the daemon records it.
pub(super) enum End {
    Ran(Outcome),
    /// It could not be started; the text says why.
    LaunchFailed(String),
    /// It was cancelled after its start was recorded but before its process ran.
    CancelledBeforeLaunch(u32),
    /// Its supervisor vanished without saying how the job ended.
    Lost,
}

/// The longest time limit accepted: what Slurm's unsigned 32-bit count of
/// minutes holds (some 8,000 years; sbatch's `-t -5` wraps to near it).
/// Time arithmetic stays far from overflow.
pub(super) const MAX_TIME_LIMIT_SECS: u64 = u32::MAX as u64 * 60;

/// Ids for bookings made before the store gives a job its id, counted down
/// from the top, far from any real id.
static PROVISIONAL_IDS: AtomicU64 = AtomicU64::new(u64::MAX);

/// The exit code's "signal" half of a job that failed to launch, as Slurm
/// 22.05 records it (`0:53`).
const LAUNCH_FAILURE_SIGNAL: i32 = 53;

/// The largest script the daemon accepts, in bytes.
const MAX_SCRIPT_BYTES: usize = 4 << 20;

impl Daemon {
    /// What a pending job that is not held shows before the scheduler
    /// looks at it: nothing, or `PartitionConfig` for one that asks for
    /// more CPUs than the node has, which no pass will look at.
    pub(super) fn waiting_reason(&self, spec: &JobSpec) -> Reason {
        if self.config.capacity.can_ever_fit(&spec.request) {
            Reason::None
        } else {
            Reason::PartitionConfig
        }
    }

    /// Holds a requeued job back for the requeue delay unless its begin
    /// time is later already, as slurmctld does (`BeginTime` meanwhile).
    pub(super) fn hold_back_requeued(&self, spec: &mut JobSpec) {
        let now = Utc::now();
        let Ok(delay) = chrono::Duration::from_std(self.config.requeue_delay) else {
            return;
        };
        if delay.is_zero() || spec.begin_time.is_some_and(|begin| begin > now) {
            return;
        }
        spec.begin_time = Some(now + delay);
    }

    /// Accepts a job (or the tasks of an array): validates it, commits it to
    /// the store, queues it, and wakes the scheduler. The id is returned only
    /// after the commit.
    ///
    /// A lone job that the scheduler would start at once (nothing queued,
    /// nothing to wait for, room for it) is booked first and committed
    /// already running, then launched: its start costs no second commit.
    pub(super) async fn submit(
        self: &Arc<Self>,
        request: SubmitRequest,
        caller: Caller,
    ) -> Result<JobId> {
        let (spec, array) = self.validate(&request, caller)?;
        let count = array.as_ref().map_or(1, |a| a.indices.len());
        self.within_limits(caller.uid, count)?;
        let user = spec.user.clone();
        let hold = request.hold.then_some(Hold::User);
        if array.is_none()
            && hold.is_none()
            && let Some(booking) = self.book_at_once(&spec)
        {
            return self.submit_started(request, spec, booking).await;
        }
        let phase = Phase::Pending {
            reason: hold.map_or_else(|| self.waiting_reason(&spec), Hold::reason),
            hold,
        };
        let tasks: Vec<JobSpec> = match &array {
            None => vec![spec],
            Some(array) => array_tasks(&spec, array),
        };
        let resources = request.resources();
        // One payload for every task: stored once, however many tasks.
        let submission = Submission {
            payload: Payload {
                script: request.script,
                environment: request.environment,
            },
            jobs: tasks
                .iter()
                .map(|spec| NewJob {
                    spec: spec.clone(),
                    phase: phase.clone(),
                })
                .collect(),
        };
        let ids = self.store.insert(submission).await?;
        self.statistics
            .jobs_submitted
            .fetch_add(ids.len() as u64, Ordering::Relaxed);
        let first = *ids
            .first()
            .ok_or_else(|| Error::Other("the store assigned no id".into()))?;
        {
            let mut state = self.state();
            for (id, mut spec) in ids.iter().zip(tasks) {
                if let Some(task) = &mut spec.array {
                    task.array_id = first;
                }
                state.enqueue(Job {
                    id: *id,
                    spec,
                    phase: phase.clone(),
                });
            }
        }
        log(format_args!(
            "job {first} submitted by {user} ({} CPUs, {} MiB, {} GPUs{})",
            resources.cpus,
            resources.memory_mb,
            resources.gpus,
            if ids.len() > 1 {
                format!(", array of {}", ids.len())
            } else {
                String::new()
            }
        ));
        self.wake.notify_one();
        Ok(first)
    }

    /// Refuses `count` more jobs of `uid` past the daemon's limits, with
    /// Slurm's messages: MaxJobCount says try later, MaxSubmitJobs that the
    /// user has too many already.
    fn within_limits(&self, uid: u32, count: usize) -> Result<()> {
        let state = self.state();
        if state.jobs.len() + count > self.config.max_job_count {
            return Err(Error::Busy(
                "Slurm temporarily unable to accept job (MaxJobCount reached), try again later"
                    .into(),
            ));
        }
        if let Some(max) = self.config.max_submit_per_user {
            let active = state
                .jobs
                .values()
                .filter(|job| job.spec.uid == uid && !matches!(job.phase, Phase::Finished { .. }))
                .count();
            if active + count > max {
                return Err(Error::Invalid(
                    "Job violates accounting/QOS policy (job submit limit, user's size and/or \
                     time limits)"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// Books the resources of a job that the next pass would start first:
    /// nothing pending may start before it, and nothing but resources could
    /// hold it. The booking is under a provisional id until the store has
    /// given the job its own.
    fn book_at_once(&self, spec: &JobSpec) -> Option<(JobId, Allocation)> {
        if self.stopping.load(Ordering::SeqCst)
            || spec.dependency.is_some()
            || spec.begin_time.is_some_and(|begin| begin > Utc::now())
        {
            return None;
        }
        let mut state = self.state();
        if state.queue.first_ready().is_some() {
            return None;
        }
        let provisional = JobId(PROVISIONAL_IDS.fetch_sub(1, Ordering::Relaxed));
        let allocation = state.tracker.allocate(provisional, &spec.request).ok()?;
        Some((provisional, allocation))
    }

    /// Commits a job booked by `book_at_once` as running, moves its booking
    /// to its id, and launches it.
    async fn submit_started(
        self: &Arc<Self>,
        request: SubmitRequest,
        mut spec: JobSpec,
        (provisional, allocation): (JobId, Allocation),
    ) -> Result<JobId> {
        let phase = Phase::Running {
            allocation,
            start_time: Utc::now(),
            boot_id: self.boot_id.clone(),
            steps: Vec::new(),
        };
        let resources = spec.request;
        let inserted = self
            .store
            .insert(Submission {
                payload: Payload {
                    script: request.script,
                    environment: request.environment,
                },
                jobs: vec![NewJob {
                    spec: spec.clone(),
                    phase: phase.clone(),
                }],
            })
            .await;
        let job = {
            let mut state = self.state();
            let state = &mut *state;
            let allocation = state.tracker.release(provisional);
            let id = match inserted.map(|ids| ids.first().copied()) {
                Ok(Some(id)) => id,
                Ok(None) => return Err(Error::Other("the store assigned no id".into())),
                Err(e) => return Err(e),
            };
            if let Some(allocation) = allocation
                && let Err(refusal) = state.tracker.book(id, &allocation)
            {
                // Cannot happen: the resources were freed just above.
                log(format_args!(
                    "job {id}: cannot book its resources: {refusal}"
                ));
            }
            state.interner.share(&mut spec);
            let job = Job { id, spec, phase };
            state.jobs.insert(id, job.clone());
            state.running.insert(id, Running::default());
            job
        };
        log(format_args!(
            "job {} submitted by {} ({} CPUs, {} MiB, {} GPUs), started at once",
            job.id, job.spec.user, resources.cpus, resources.memory_mb, resources.gpus
        ));
        let id = job.id;
        self.statistics
            .jobs_submitted
            .fetch_add(1, Ordering::Relaxed);
        self.statistics.jobs_started.fetch_add(1, Ordering::Relaxed);
        self.launch(job);
        Ok(id)
    }

    /// When and where a job would start, with nothing submitted: now when
    /// it fits in what is free, else after the running jobs' time limits.
    pub(super) fn test_submit(
        &self,
        request: &SubmitRequest,
        caller: Caller,
    ) -> Result<TestOnlyResponse> {
        let (spec, _) = self.validate(request, caller)?;
        let state = self.state();
        let now = Utc::now();
        let start = if state.tracker.fits(&spec.request) {
            now
        } else {
            state
                .jobs
                .values()
                .filter_map(|job| match &job.phase {
                    Phase::Running { start_time, .. } => job
                        .spec
                        .time_limit
                        .map(|limit| *start_time + chrono::Duration::seconds(limit as i64)),
                    _ => None,
                })
                .max()
                .unwrap_or(now)
        };
        let start = spec.begin_time.map_or(start, |begin| begin.max(start));
        Ok(TestOnlyResponse {
            job_id: JobId(self.store.last_id()? + 1),
            start_time: start,
            cpus: spec.request.cpus,
            node: self.node().to_string(),
            partition: spec.partition.to_string(),
        })
    }

    fn validate(
        &self,
        request: &SubmitRequest,
        caller: Caller,
    ) -> Result<(JobSpec, Option<ArraySpec>)> {
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
        // A working directory that does not exist is the job's failure at
        // launch (JobLaunchFailure, 0:53), as in Slurm; the supervisor
        // opens it as the user, so no one learns here whether a path exists.
        if !request.work_dir.is_absolute() {
            return Err(Error::Invalid(format!(
                "working directory {} is not absolute",
                request.work_dir.display()
            )));
        }
        let partition = match &request.partition {
            Some(p) if p != &self.config.partition => {
                return Err(Error::Invalid(format!(
                    "invalid partition specified: {}\nInvalid partition name specified",
                    crate::daemon::escape_controls(p)
                )));
            }
            _ => self.config.partition.clone(),
        };
        if request
            .time_limit
            .is_some_and(|limit| limit > MAX_TIME_LIMIT_SECS)
        {
            return invalid("Requested time limit is invalid (missing or exceeds some limit)");
        }
        // (--mem-per-gpu reaches the daemon as --mem.)
        if request.memory_mb.is_some() && request.memory_per_cpu_mb.is_some() {
            return invalid(crate::error::MEMORY_OPTIONS_EXCLUSIVE);
        }
        if request.nice < 0 && caller.uid != 0 {
            return invalid("Nice value must be non-negative, value is ignored");
        }
        let capacity = self.config.capacity;
        let mut resources = request.resources();
        if request.exclusive {
            resources.cpus = resources.cpus.max(capacity.cpus);
            resources.gpus = resources.gpus.max(capacity.gpus);
        }
        if request.memory_mb == Some(0) {
            // Slurm's --mem=0: all the memory of the node.
            resources.memory_mb = capacity.memory_mb;
        }
        if let Some(per_cpu) = request.memory_per_cpu_mb {
            resources.memory_mb = per_cpu.saturating_mul(u64::from(resources.cpus));
        }
        if request.memory_mb.is_none()
            && request.memory_per_cpu_mb.is_none()
            && let Some(default) = self.config.def_mem_per_cpu_mb
        {
            // Slurm's DefMemPerCPU: booked, and so limited, like --mem-per-cpu.
            resources.memory_mb = default.saturating_mul(u64::from(resources.cpus));
        }
        if request.ntasks.checked_mul(request.cpus_per_task).is_none()
            || resources.memory_mb > capacity.memory_mb
            || resources.gpus > capacity.gpus
        {
            // Slurm says first what cannot be had when it is memory.
            if resources.memory_mb > capacity.memory_mb {
                return invalid(
                    "Memory specification can not be satisfied\n\
                     Requested node configuration is not available",
                );
            }
            return invalid("Requested node configuration is not available");
        }
        // More CPUs than the node has: Slurm keeps the job pending for ever
        // (PartitionConfig), or refuses it with EnforcePartLimits.
        if resources.cpus > capacity.cpus && self.config.enforce_part_limits {
            return invalid("Requested partition configuration not available now");
        }
        let array = request
            .array
            .as_deref()
            .map(|text| parse_array(text, self.config.max_array_size))
            .transpose()?;
        let dependency = match request.dependency.as_deref() {
            Some(text) if !text.trim().is_empty() => {
                // A malformed one is refused; one naming a job that does
                // not exist is accepted, as Slurm accepts it: it waits
                // (unfulfilled) until the scheduler finds nothing to wait
                // for and drops it.
                let dependency = parse_dependency(text)?;
                Some(Dependencies::new(dependency))
            }
            _ => None,
        };
        let spec = JobSpec {
            name: request.name.clone(),
            uid: caller.uid,
            gid: caller.gid,
            user: users::user_name(caller.uid).into(),
            partition: partition.into(),
            request: resources,
            ntasks: request.ntasks,
            cpus_per_task: request.cpus_per_task,
            memory_requested: request.memory_mb.is_some(),
            time_limit: request
                .time_limit
                .map(|limit| self.config.time_limit_unit.round_up(limit)),
            work_dir: request.work_dir.as_path().into(),
            submit_dir: request.submit_dir.as_path().into(),
            stdout_pattern: request.stdout.as_deref().map(Into::into),
            stderr_pattern: request.stderr.as_deref().map(Into::into),
            args: request.args.clone(),
            priority: -i64::from(request.nice),
            nice: request.nice,
            submit_time: Utc::now(),
            begin_time: request.begin_time,
            dependency,
            kill_on_invalid_dep: request.kill_on_invalid_dep,
            array: None,
            restarts: 0,
            options: Arc::new(JobOptions {
                command: request.command.clone(),
                comment: request.comment.clone(),
                // Without an account database, a user's default account
                // is named after the user (for root: `root`, as Slurm has).
                account: Some(
                    request
                        .account
                        .clone()
                        .unwrap_or_else(|| users::user_name(caller.uid).clone()),
                ),
                qos: request.qos.clone(),
                wckey: request.wckey.clone(),
                export: request.export.clone(),
                recorded: request.recorded_options.clone(),
                ntasks_per_node: request.ntasks_per_node,
                memory_per_cpu_mb: request.memory_per_cpu_mb,
                exclusive: request.exclusive,
                append_output: request.append_output,
                stdin_pattern: request.stdin.clone(),
                warn_signal: request.warn_signal,
                dependency_text: request.dependency.clone(),
                ntasks_given: request.ntasks_given,
                cpus_per_task_given: request.cpus_per_task_given,
            }),
        };
        Ok((spec, array))
    }

    /// One First Fit pass: decides which pending jobs may start at all
    /// (holds, begin times, dependencies, array throttles), books resources
    /// for every one that fits, records their start on disk, then launches
    /// them.
    async fn schedule_pass(self: &Arc<Self>) {
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        let now = Utc::now();
        let timer = std::time::Instant::now();
        let pass = {
            let mut state = self.state();
            let State {
                jobs,
                queue,
                running,
                tracker,
                fresh,
                ended,
                ..
            } = &mut *state;
            let ended = std::mem::take(ended);
            let running_in = running_groups(jobs, running);
            let mut notes = PassNotes::default();
            let (queue_len, mut depth) = (queue.len(), 0);
            // Candidates are made lazily: First Fit stops once no CPU is
            // left, and jobs waiting only for resources are looked at one per
            // request shape, so a pass costs what it looks at, not the
            // queue's length.
            let plan = first_fit_indexed(
                queue.others(),
                |key| {
                    depth += 1;
                    self.candidate(key.id(), jobs, &running_in, now, &mut notes)
                },
                queue.plain(),
                tracker,
            );
            for (id, dependency) in std::mem::take(&mut notes.dependencies) {
                if let Some(job) = jobs.get_mut(&id) {
                    job.spec.dependency = Some(dependency);
                }
            }
            for (id, reason) in plan.reasons {
                show_reason(jobs, queue, id, |_, _| Some(reason));
            }
            // New jobs the pass did not reach wait behind the jobs it did.
            let head = queue.first_ready().map(|key| key.id());
            for id in fresh.drain(..) {
                show_reason(jobs, queue, id, |hold, shown| {
                    (hold.is_none() && shown == Reason::None).then_some(if head == Some(id) {
                        Reason::Resources
                    } else {
                        Reason::Priority
                    })
                });
            }
            let mut started = Vec::with_capacity(plan.starts.len());
            for (id, allocation) in plan.starts {
                let Some(job) = jobs.get_mut(&id) else {
                    tracker.release(id);
                    continue;
                };
                queue.remove(job);
                job.phase = Phase::Running {
                    allocation,
                    start_time: now,
                    boot_id: self.boot_id.clone(),
                    steps: Vec::new(),
                };
                running.insert(id, Running::default());
                started.push(job.clone());
            }
            (started, ended, notes, depth, queue_len)
        };
        let (started, ended, notes, depth, queue_len) = pass;
        self.passes.fetch_add(1, Ordering::Relaxed);
        self.last_pass_micros
            .store(timer.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.statistics.cycle(timer.elapsed(), depth, queue_len);
        if let Some(at) = notes.recheck_at {
            self.wake_at(at);
        }
        if !notes.doomed.is_empty() {
            self.cancel_unsatisfiable(notes.doomed).await;
        }
        if started.is_empty() && ended.is_empty() {
            return;
        }
        // The ends of the jobs that made room share the starts' commit.
        let records: Vec<Job> = ended
            .iter()
            .map(|(job, _)| job.clone())
            .chain(started.iter().cloned())
            .collect();
        if let Err(e) = self.store.update(records).await {
            log(format_args!(
                "cannot record the start of {} jobs and the end of {}, leaving them pending: {e}",
                started.len(),
                ended.len()
            ));
            let mut state = self.state();
            for job in started {
                state.back_to_queue(job.id);
            }
            // The next pass tries again; meanwhile each job's directory
            // keeps its outcome.
            state.ended.extend(ended);
            return;
        }
        self.statistics
            .jobs_started
            .fetch_add(started.len() as u64, Ordering::Relaxed);
        for job in started {
            self.launch(job);
        }
        if ended.is_empty() {
            return;
        }
        self.forget_finished(ended.iter().map(|(job, _)| job.id));
        // Only once the end is on disk: until then the directory's outcome
        // is what a restarted daemon would go by. Off the scheduler's way.
        tokio::task::spawn_blocking(move || {
            for (_, dir) in ended {
                let _ = std::fs::remove_dir_all(dir);
            }
        });
    }

    /// A pending job as the scheduler sees it: whether anything but
    /// resources holds it back (hold, begin time, dependency) and the caps
    /// it counts against. What the pass learns on the way (dependency
    /// progress, jobs to cancel, when to look again) goes to `notes`.
    fn candidate(
        &self,
        id: JobId,
        jobs: &HashMap<JobId, Job>,
        running_in: &HashMap<String, u32>,
        now: DateTime<Utc>,
        notes: &mut PassNotes,
    ) -> Option<Candidate> {
        let job = jobs.get(&id)?;
        let Phase::Pending { reason, hold } = job.phase else {
            return None;
        };
        let mut blocked = hold.map(Hold::reason);
        if blocked.is_none()
            && let Some(begin) = job.spec.begin_time
            && begin > now
        {
            blocked = Some(Reason::BeginTime);
            notes.recheck(begin);
        }
        if blocked.is_none()
            && let Some(dependency) = &job.spec.dependency
        {
            let mut dependency = dependency.clone();
            let evaluation = dependencies::evaluate(&mut dependency, jobs, &self.store, now);
            if let Some(at) = evaluation.recheck_at {
                notes.recheck(at);
            }
            // A singleton waits while a job of its name and user runs, or
            // one submitted before it still pends (Slurm's rule); `%E`
            // shows it unfulfilled meanwhile.
            let mut progress = evaluation.progress;
            if is_singleton(&job.spec) {
                let running = running_in
                    .get(&singleton_group(&job.spec))
                    .is_some_and(|n| *n > 0);
                let waiting =
                    running || notes.earlier_pending(jobs, job.spec.uid, &job.spec.name, id);
                dependency.set_singleton(if waiting {
                    Progress::Waiting
                } else {
                    Progress::Satisfied
                });
                progress = dependency.progress();
            }
            notes.dependencies.push((id, dependency));
            blocked = match progress {
                Progress::Satisfied => None,
                Progress::Waiting => Some(Reason::Dependency),
                Progress::Failed if job.spec.kill_on_invalid_dep => {
                    notes.doomed.push(id);
                    return None;
                }
                Progress::Failed => Some(Reason::DependencyNeverSatisfied),
            };
        }
        Some(Candidate {
            id,
            request: job.spec.request,
            reason,
            blocked,
            limits: limits_of(&job.spec, running_in),
        })
    }

    /// Wakes the scheduler at `at` (a begin time or a dependency delay).
    fn wake_at(self: &Arc<Self>, at: DateTime<Utc>) {
        {
            let mut next = self
                .next_wakeup
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if next.is_some_and(|armed| armed <= at) {
                return;
            }
            *next = Some(at);
        }
        let daemon = self.clone();
        tokio::spawn(async move {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait + Duration::from_millis(1)).await;
            {
                let mut next = daemon
                    .next_wakeup
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if *next == Some(at) {
                    *next = None;
                }
            }
            daemon.wake.notify_one();
        });
    }

    /// Cancels pending jobs whose dependency can never be satisfied and
    /// that asked for that (`--kill-on-invalid-dep=yes`).
    async fn cancel_unsatisfiable(self: &Arc<Self>, ids: Vec<JobId>) {
        let now = Utc::now();
        let cancelled: Vec<Job> = {
            let mut state = self.state();
            let state = &mut *state;
            ids.iter()
                .filter_map(|id| {
                    let job = state.jobs.get_mut(id)?;
                    state.queue.remove(job);
                    job.phase =
                        Phase::cancelled_before_start(Reason::DependencyNeverSatisfied, None, now);
                    Some(job.clone())
                })
                .collect()
        };
        for job in &cancelled {
            log(format_args!(
                "job {} cancelled: its dependency can never be satisfied",
                job.id
            ));
        }
        self.record_finished(cancelled).await;
        self.wake.notify_one();
    }

    /// Writes finished jobs to the store, then lets the store answer for
    /// them (they leave memory). Returns whether the write is on disk.
    pub(super) async fn record_finished(&self, jobs: Vec<Job>) -> bool {
        if jobs.is_empty() {
            return true;
        }
        let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
        match self.store.update(jobs).await {
            Ok(()) => {
                self.forget_finished(ids);
                true
            }
            Err(e) => {
                log(format_args!("cannot record the end of jobs {ids:?}: {e}"));
                false
            }
        }
    }

    /// Lets the store answer for jobs whose end is on disk.
    fn forget_finished(&self, ids: impl IntoIterator<Item = JobId>) {
        let mut state = self.state();
        for id in ids {
            if state
                .jobs
                .get(&id)
                .is_some_and(|j| matches!(j.phase, Phase::Finished { .. }))
            {
                state.jobs.remove(&id);
            }
        }
    }

    /// Starts the supervisor of a job whose start is on disk.
    fn launch(self: &Arc<Self>, job: Job) {
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
            self.finish(id, End::CancelledBeforeLaunch(by_uid));
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
                Some(Report::Ran(outcome)) => End::Ran(outcome),
                Some(Report::LaunchFailed(reason)) => End::LaunchFailed(reason),
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
    fn watch(self: &Arc<Self>, id: JobId, supervisor: Supervisor) {
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
                Some(Report::Ran(outcome)) => End::Ran(outcome),
                Some(Report::LaunchFailed(reason)) => End::LaunchFailed(reason),
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
    fn kill_lost(&self, id: JobId, dir: &std::path::Path) {
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
    fn job_dir(&self, id: JobId, start_time: DateTime<Utc>) -> PathBuf {
        self.jobs_dir
            .join(format!("{id}-{}", start_time.timestamp_millis()))
    }

    /// Records how a started job ended and gives its resources back (once:
    /// a second call for the same job finds it no longer running). A
    /// requeued job goes back to the queue instead. The end is written by
    /// the next pass, in the commit that starts the jobs it made room for.
    pub(super) fn finish(self: &Arc<Self>, id: JobId, end: End) {
        let dir;
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
            dir = self.job_dir(id, start_time);
            state.running.remove(&id);
            let allocation = state.tracker.release(id);
            if let End::Ran(Outcome {
                ending: Ending::Requeued,
                ..
            }) = end
            {
                job.spec.restarts += 1;
                self.hold_back_requeued(&mut job.spec);
                job.phase = Phase::Pending {
                    reason: Reason::None,
                    hold: None,
                };
                let job = job.clone();
                state.enqueue(job.clone());
                job
            } else {
                let (final_state, reason, exit_code, cancelled_by) = final_state(&end);
                self.statistics.ended(final_state);
                let usage = match &end {
                    // Supervisors from before `usage` give the peak memory
                    // only beside it.
                    End::Ran(outcome) => crate::protocol::Usage {
                        max_rss_kb: outcome.usage.max_rss_kb.or(outcome.max_rss_kb),
                        ..outcome.usage
                    },
                    _ => crate::protocol::Usage::default(),
                };
                let end_time = Utc::now();
                // A step still running ends with its job, as the job did.
                for step in steps.iter_mut().filter(|s| s.end_time.is_none()) {
                    step.end_time = Some(end_time);
                    step.state = Some(final_state.into());
                }
                job.phase = Phase::Finished {
                    state: final_state,
                    reason,
                    exit_code,
                    allocation,
                    start_time: Some(start_time),
                    end_time,
                    cancelled_by,
                    usage,
                    steps,
                };
                let job = job.clone();
                state.ended.push((job.clone(), dir.clone()));
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
        if matches!(record.phase, Phase::Finished { .. }) {
            return;
        }
        // A requeue is written at once: a cancel of the queued job may
        // follow, and must not be overwritten by it.
        let daemon = self.clone();
        tokio::spawn(async move {
            let recorded = daemon
                .store
                .update(vec![record])
                .await
                .map_err(|e| log(format_args!("cannot record the requeue of job {id}: {e}")))
                .is_ok();
            if recorded {
                let _ = std::fs::remove_dir_all(dir);
            }
        });
    }

    /// Reconciles the store with reality after a start: pending jobs queue
    /// again; a job that was running keeps its resources and is followed
    /// again through its supervisor, or finished from the outcome the
    /// supervisor left; only a job whose supervisor vanished without a word
    /// ends NODE_FAIL, once what is left of it has been killed. Cgroups of
    /// jobs that no longer run are emptied and removed before any job starts.
    pub(super) async fn recover(self: &Arc<Self>) -> Result<()> {
        let jobs = self.store.load_active()?;
        let (mut pending, mut followed, mut ended, mut lost) = (0, Vec::new(), Vec::new(), 0);
        let mut held_locks = Vec::new();
        let mut never_started = Vec::new();
        let mut lost_dirs = Vec::new();
        let mut interrupted = Vec::new();
        {
            let mut state = self.state();
            for mut job in jobs {
                match &job.phase {
                    Phase::Pending { hold, .. } => {
                        job.phase = Phase::Pending {
                            reason: Reason::None,
                            hold: *hold,
                        };
                        state.enqueue(job);
                        pending += 1;
                    }
                    Phase::Running {
                        allocation,
                        start_time,
                        boot_id,
                        ..
                    } => {
                        let id = job.id;
                        let dir = self.job_dir(id, *start_time);
                        // Started in an earlier boot: its supervisor died with
                        // the machine, and what it wrote may not have reached
                        // the disk, so it may have run even if nothing says so.
                        let rebooted = boot_id.is_some() && *boot_id != self.boot_id;
                        let requeue = job.spec.options.recorded.contains_key("requeue");
                        if let Err(refusal) = state.tracker.book(id, allocation) {
                            log(format_args!(
                                "job {id}: cannot book its resources again: {refusal}"
                            ));
                        }
                        state.running.insert(id, Running::default());
                        state.jobs.insert(id, job);
                        if rebooted {
                            match executor::outcome(&dir) {
                                Some(report) => ended.push((id, report)),
                                None => interrupted.push((id, requeue)),
                            }
                            continue;
                        }
                        // Held until the job's directory is gone, so no
                        // late supervisor can start the job after this.
                        match Supervisor::reattach(&dir) {
                            Ok(supervisor) => followed.push((id, supervisor)),
                            Err(lock) => {
                                held_locks.extend(lock);
                                match executor::outcome(&dir) {
                                    Some(report) => ended.push((id, report)),
                                    // The daemon stopped between recording
                                    // the start and the supervisor's: the job
                                    // never ran, so it simply queues again.
                                    None if !executor::may_have_started(&dir) => {
                                        never_started.push((id, dir.clone()));
                                    }
                                    None => {
                                        lost += 1;
                                        lost_dirs.push((id, dir.clone()));
                                        ended.push((id, Report::LaunchFailed(String::new())));
                                    }
                                }
                            }
                        }
                    }
                    Phase::Finished { .. } => {}
                }
            }
        }
        log(format_args!(
            "recovered {pending} pending jobs; {} running jobs followed again, {} ended while away, {} queued again, {lost} lost (NodeFail)",
            followed.len(),
            ended.len() - lost,
            never_started.len(),
        ));
        // Nothing may run that the books do not show: cgroups of jobs not
        // followed any more are emptied and removed, and what is left of lost
        // jobs is killed, before any job starts.
        let followed_ids: std::collections::HashSet<JobId> =
            followed.iter().map(|(id, _)| *id).collect();
        let daemon = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for id in daemon.containment.leftovers() {
                if !followed_ids.contains(&id)
                    && let Err(e) = daemon.containment.kill_and_remove(id)
                {
                    log(format_args!("job {id}: cannot clean up its cgroup: {e}"));
                }
            }
            for (id, dir) in lost_dirs {
                daemon.kill_lost(id, &dir);
            }
        })
        .await;
        for (id, dir) in never_started {
            self.requeue_unstarted(id, &dir).await?;
        }
        // A reboot interrupted these: never run again silently. A job that
        // allows it (`--requeue`) queues again with its restart count raised;
        // the others end NODE_FAIL.
        for (id, requeue) in interrupted {
            log(format_args!(
                "job {id} was running when the machine went down; {}",
                if requeue { "requeued" } else { "NODE_FAIL" }
            ));
            let end = if requeue {
                End::Ran(Outcome {
                    exit_code: ExitCode::default(),
                    ending: Ending::Requeued,
                    max_rss_kb: None,
                    usage: Default::default(),
                })
            } else {
                End::Lost
            };
            self.finish(id, end);
        }
        for (id, supervisor) in followed {
            self.watch(id, supervisor);
        }
        for (id, report) in ended {
            let end = match report {
                Report::Ran(outcome) => End::Ran(outcome),
                Report::LaunchFailed(reason) if reason.is_empty() => End::Lost,
                Report::LaunchFailed(reason) => End::LaunchFailed(reason),
            };
            self.finish(id, end);
        }
        // finish() removed the directories these locks guarded.
        drop(held_locks);
        Ok(())
    }

    /// Puts a job whose start was recorded but whose supervisor never
    /// started back in the queue, as it was.
    async fn requeue_unstarted(&self, id: JobId, dir: &std::path::Path) -> Result<()> {
        let Some(job) = self.state().back_to_queue(id) else {
            return Ok(());
        };
        let _ = std::fs::remove_dir_all(dir);
        self.store.update(vec![job]).await
    }

    /// Stops taking work and waits until every write is on disk. Running
    /// jobs go on under their supervisors; the next daemon follows them.
    pub(super) async fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // No pass runs any more to write the ends it has not written yet.
        // Writes are committed in order, so this one returns once every
        // earlier one is on disk too.
        let ended = std::mem::take(&mut self.state().ended);
        let (ends, dirs): (Vec<Job>, Vec<PathBuf>) = ended.into_iter().unzip();
        if self.store.update(ends).await.is_ok() {
            for dir in dirs {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        // The daemon's own cgroup directories go when no job runs (no job
        // starts any more, so then no supervisor is about to make a cgroup
        // in them). With jobs running they stay: a supervisor forked just
        // before the stop may not have made its job's cgroup yet, and the
        // next daemon finds its jobs there again.
        if self.state().running.is_empty() {
            self.containment.tidy();
        }
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

/// What a scheduling pass learns besides its plan.
#[derive(Default)]
struct PassNotes {
    /// Dependency conditions brought up to date.
    dependencies: Vec<(JobId, Dependencies)>,
    /// Jobs whose dependency failed and that asked to be cancelled then.
    doomed: Vec<JobId>,
    /// The earliest time a begin time or dependency delay runs out.
    recheck_at: Option<DateTime<Utc>>,
    /// Per user and job name, the first pending job's id, found once a
    /// pass when a singleton asks.
    first_pending: HashMap<(u32, String), JobId>,
}

impl PassNotes {
    /// Whether a job of `uid` named `name` submitted before `id` is still
    /// pending: Slurm's singleton waits for those too, not only for the
    /// running ones (which the group's cap counts).
    fn earlier_pending(
        &mut self,
        jobs: &HashMap<JobId, Job>,
        uid: u32,
        name: &str,
        id: JobId,
    ) -> bool {
        let first = *self
            .first_pending
            .entry((uid, name.to_string()))
            .or_insert_with(|| {
                jobs.values()
                    .filter(|job| {
                        matches!(job.phase, Phase::Pending { .. })
                            && job.spec.uid == uid
                            && job.spec.name == *name
                    })
                    .map(|job| job.id)
                    .min()
                    .unwrap_or(id)
            });
        first < id
    }

    fn recheck(&mut self, at: DateTime<Utc>) {
        self.recheck_at = Some(self.recheck_at.map_or(at, |r| r.min(at)));
    }
}

/// Sets the reason a pending job shows, keeping its place in the queue's
/// books in step; `change` sees the hold and the reason shown now and
/// returns the new reason, `None` to leave it.
fn show_reason(
    jobs: &mut HashMap<JobId, Job>,
    queue: &mut Queue,
    id: JobId,
    change: impl FnOnce(Option<Hold>, Reason) -> Option<Reason>,
) {
    let Some(job) = jobs.get_mut(&id) else {
        return;
    };
    let Phase::Pending { reason, hold } = job.phase else {
        return;
    };
    let Some(new) = change(hold, reason).filter(|new| *new != reason) else {
        return;
    };
    queue.remove(job);
    job.phase = Phase::Pending { reason: new, hold };
    queue.insert(job);
}

/// How many jobs of each capped group run now.
fn running_groups(
    jobs: &HashMap<JobId, Job>,
    running: &HashMap<JobId, Running>,
) -> HashMap<String, u32> {
    let mut counts: HashMap<String, u32> = HashMap::new();
    for id in running.keys() {
        if let Some(job) = jobs.get(id) {
            for group in groups(&job.spec) {
                *counts.entry(group).or_default() += 1;
            }
        }
    }
    counts
}

/// The groups a job counts in for running-at-once caps.
fn groups(spec: &JobSpec) -> Vec<String> {
    let mut groups = Vec::new();
    if let Some(array) = spec.array
        && array.max_running.is_some()
    {
        groups.push(format!("array:{}", array.array_id));
    }
    groups.push(singleton_group(spec));
    groups
}

fn singleton_group(spec: &JobSpec) -> String {
    format!("singleton:{}:{}", spec.uid, spec.name)
}

/// The caps that apply to a job: its array's `%N`, and one-at-a-time for a
/// singleton dependency.
fn limits_of(spec: &JobSpec, running_in: &HashMap<String, u32>) -> Vec<Limit> {
    let mut limits = Vec::new();
    let running = |group: &str| running_in.get(group).copied().unwrap_or(0);
    if let Some(array) = spec.array
        && let Some(max) = array.max_running
    {
        let group = format!("array:{}", array.array_id);
        limits.push(Limit {
            running: running(&group),
            group,
            max,
            reason: Reason::JobArrayTaskLimit,
        });
    }
    if is_singleton(spec) {
        let group = singleton_group(spec);
        limits.push(Limit {
            running: running(&group),
            group,
            max: 1,
            reason: Reason::Dependency,
        });
    }
    limits
}

/// Whether the job has a singleton dependency (one job per name and user).
fn is_singleton(spec: &JobSpec) -> bool {
    spec.dependency.as_ref().is_some_and(|d| {
        d.conditions
            .iter()
            .any(|(c, _)| c.kind == DependencyKind::Singleton)
    })
}

/// One spec per array index.
fn array_tasks(spec: &JobSpec, array: &ArraySpec) -> Vec<JobSpec> {
    let indices = &array.indices;
    let min = indices.first().copied().unwrap_or(0);
    let max = indices.last().copied().unwrap_or(0);
    let step = match indices.as_slice() {
        [a, b, ..] if indices.windows(2).all(|w| w[1] - w[0] == b - a) => b - a,
        _ => 1,
    };
    indices
        .iter()
        .map(|&index| {
            let mut task = spec.clone();
            task.array = Some(ArrayTask {
                array_id: JobId(0),
                index,
                max_running: array.max_running,
                count: indices.len() as u32,
                min,
                max,
                step,
            });
            task
        })
        .collect()
}

fn final_state(end: &End) -> (FinalState, Reason, ExitCode, Option<u32>) {
    match end {
        // slurmstepd's failures before the script runs (a working directory
        // or an output file it cannot have) end the job with `0:53`.
        End::LaunchFailed(_) => (
            FinalState::Failed,
            Reason::JobLaunchFailure,
            ExitCode {
                code: 0,
                signal: LAUNCH_FAILURE_SIGNAL,
            },
            None,
        ),
        End::Lost => (
            FinalState::NodeFail,
            Reason::NodeFail,
            ExitCode::default(),
            None,
        ),
        End::CancelledBeforeLaunch(by_uid) => (
            FinalState::Cancelled,
            Reason::None,
            ExitCode::default(),
            Some(*by_uid),
        ),
        End::Ran(Outcome {
            exit_code, ending, ..
        }) => match ending {
            Ending::Cancelled { by_uid } => (
                FinalState::Cancelled,
                Reason::None,
                *exit_code,
                Some(*by_uid),
            ),
            Ending::TimedOut => (FinalState::Timeout, Reason::TimeLimit, *exit_code, None),
            // Slurm's sacct shows an OOM-killed job's exit code as 0:125.
            Ending::OutOfMemory => (
                FinalState::OutOfMemory,
                Reason::OutOfMemory,
                ExitCode {
                    code: 0,
                    signal: 125,
                },
                None,
            ),
            Ending::Requeued => (FinalState::Failed, Reason::NodeFail, *exit_code, None),
            Ending::Exited => match (exit_code.code, exit_code.signal) {
                (0, 0) => (FinalState::Completed, Reason::None, *exit_code, None),
                (_, 0) => (
                    FinalState::Failed,
                    Reason::NonZeroExitCode,
                    *exit_code,
                    None,
                ),
                // Slurm 22.05 gives a batch script dead of SIGKILL the
                // reason JobLaunchFailure (slurmstepd cannot tell it from
                // a launch that failed); other signals are RaisedSignal.
                (_, 9) => (
                    FinalState::Failed,
                    Reason::JobLaunchFailure,
                    *exit_code,
                    None,
                ),
                (_, signal) => (
                    FinalState::Failed,
                    Reason::RaisedSignal(signal),
                    *exit_code,
                    None,
                ),
            },
        },
    }
}
