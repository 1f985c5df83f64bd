//! The first stage of a job's life: a submission is checked, committed
//! to the store (before its id is returned) and queued; or, when nothing
//! stands before it and it fits, booked and committed already running.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;

use crate::daemon::caller::Caller;
use crate::daemon::job::{ArrayTask, Dependencies, Hold, Job, JobOptions, JobSpec, Phase};
use crate::daemon::partitions;
use crate::daemon::scheduler::{Pool, policy};
use crate::daemon::state::Running;
use crate::daemon::store::{NewJob, Payload, Submission};
use crate::daemon::tracker::Allocation;
use crate::daemon::{Daemon, log};
use crate::error::{Error, Result};
use crate::format::array::{ArraySpec, parse_array};
use crate::format::dependency::parse_dependency;
use crate::protocol::{JobId, Reason, SubmitRequest, TestOnlyResponse};
use crate::users;

/// The longest time limit accepted: what Slurm's unsigned 32-bit count of
/// minutes holds (some 8,000 years; sbatch's `-t -5` wraps to near it).
/// Time arithmetic stays far from overflow.
pub(crate) const MAX_TIME_LIMIT_SECS: u64 = u32::MAX as u64 * 60;

/// Ids for bookings made before the store gives a job its id, counted down
/// from the top, far from any real id.
static PROVISIONAL_IDS: AtomicU64 = AtomicU64::new(u64::MAX);

/// The largest script the daemon accepts, in bytes.
const MAX_SCRIPT_BYTES: usize = 4 << 20;

impl Daemon {
    /// What a pending job that is not held shows before the scheduler
    /// looks at it: nothing, or `PartitionConfig` for one that asks for
    /// more CPUs than any node has, or `PartitionTimeLimit` for one over
    /// its partition's MaxTime, which no pass will look at.
    pub(crate) fn waiting_reason(&self, spec: &JobSpec) -> Reason {
        policy::queued(
            self.largest().can_ever_fit(&spec.request),
            self.config
                .partitions
                .over_time_limit(&spec.partition, spec.time_limit),
        )
    }

    /// Accepts a job (or the tasks of an array): validates it, commits it to
    /// the store, queues it, and wakes the scheduler. The id is returned only
    /// after the commit.
    ///
    /// A lone job that the scheduler would start at once (nothing queued,
    /// nothing to wait for, room for it) is booked first and committed
    /// already running, then launched: its start costs no second commit.
    pub(crate) async fn submit(
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
        self.statistics.submitted(ids.len() as u64);
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
                    expected_start: None,
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
        // With per-user limits the pass decides, counting the user's jobs.
        if self.stopping.load(Ordering::SeqCst)
            || !self.config.user_limits.is_empty()
            || self.waiting_reason(spec) != Reason::None
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
        let allocation = state
            .nodes
            .local_mut()
            .allocate(provisional, &spec.request)
            .ok()?;
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
            node: Some(self.node().to_string()),
            steps: Vec::new(),
        };
        // Queued jobs get theirs in `enqueue`; this one skips the queue.
        self.state().priorities.assign(&mut spec, Utc::now());
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
            let allocation = state.nodes.local_mut().release(provisional);
            let id = match inserted.map(|ids| ids.first().copied()) {
                Ok(Some(id)) => id,
                Ok(None) => return Err(Error::Other("the store assigned no id".into())),
                Err(e) => return Err(e),
            };
            if let Some(allocation) = allocation
                && let Err(refusal) = state.nodes.local_mut().book(id, &allocation)
            {
                // Cannot happen: the resources were freed just above.
                log(format_args!(
                    "job {id}: cannot book its resources: {refusal}"
                ));
            }
            state.interner.share(&mut spec);
            let job = Job {
                id,
                spec,
                phase,
                expected_start: None,
            };
            state.jobs.insert(id, job.clone());
            state.running.insert(id, Running::default());
            job
        };
        log(format_args!(
            "job {} submitted by {} ({} CPUs, {} MiB, {} GPUs), started at once",
            job.id, job.spec.user, resources.cpus, resources.memory_mb, resources.gpus
        ));
        let id = job.id;
        self.statistics.submitted(1);
        self.statistics.started(1);
        self.launch(job);
        Ok(id)
    }

    /// When and where a job would start, with nothing submitted: now when
    /// it fits in what is free, else after the running jobs' time limits.
    pub(crate) fn test_submit(
        &self,
        request: &SubmitRequest,
        caller: Caller,
    ) -> Result<TestOnlyResponse> {
        let (spec, _) = self.validate(request, caller)?;
        let state = self.state();
        let now = Utc::now();
        let start = if state.nodes.fits(&spec.request) {
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
        let time_limit = request
            .time_limit
            .map(|limit| self.config.time_limit_unit.round_up(limit));
        // Without an account database, a user's default account is named
        // after the user (see the job's options below).
        let account = request
            .account
            .clone()
            .unwrap_or_else(|| users::user_name(caller.uid));
        let partition = self.route(
            request.partition.as_deref(),
            time_limit,
            Some(&account),
            caller,
        )?;
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
        // "The node" of --exclusive and --mem=0 is this one; what can be
        // had at all is what the largest node has.
        let (capacity, node) = (self.largest(), self.config.capacity);
        let mut resources = request.resources();
        if request.exclusive {
            resources.cpus = resources.cpus.max(node.cpus);
            resources.gpus = resources.gpus.max(node.gpus);
        }
        if request.memory_mb == Some(0) {
            // Slurm's --mem=0: all the memory of the node.
            resources.memory_mb = node.memory_mb;
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
            partition: partition.name.as_str().into(),
            request: resources,
            ntasks: request.ntasks,
            cpus_per_task: request.cpus_per_task,
            memory_requested: request.memory_mb.is_some(),
            time_limit: partitions::effective_time_limit(time_limit, partition),
            work_dir: request.work_dir.as_path().into(),
            submit_dir: request.submit_dir.as_path().into(),
            stdout_pattern: request.stdout.as_deref().map(Into::into),
            stderr_pattern: request.stderr.as_deref().map(Into::into),
            args: request.args.clone(),
            priority: -i64::from(request.nice),
            priority_fixed: false,
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
                account: Some(account),
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
                origin: request.origin,
            }),
        };
        Ok((spec, array))
    }
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
