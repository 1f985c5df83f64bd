//! What users do to jobs that exist: cancel, signal, hold, release,
//! requeue and update. Each checks the caller may act on the job, changes
//! memory and the store together, and wakes the scheduler when a job's
//! chances to start changed.

use std::sync::Arc;

use chrono::Utc;

use super::caller::Caller;
use super::executor::Control;
use super::job::{Hold, Job, Phase};
use super::lifecycle::remote_node;
use super::{Daemon, log};
use crate::error::{Error, Result};
use crate::protocol::{
    CancelResponse, ExitCode, HoldRequest, JobId, JobInfo, JobState, Reason, SignalRequest,
    StepEnd, StepInfo, StepResponse, StepStart, UpdateRequest,
};
use crate::users;

/// Steps kept for accounting per job (Slurm's MaxStepCount is 40,000; a
/// step row costs about 200 bytes in the job's record).
const MAX_RECORDED_STEPS: usize = 4096;
/// The longest step name kept.
const MAX_STEP_NAME: usize = 256;

impl Daemon {
    /// Cancels a job. Pending: CANCELLED at once, on disk before the reply.
    /// Running: its group gets SIGTERM, then SIGKILL after the grace; the job
    /// ends CANCELLED when its processes are gone. Finished: nothing to do.
    pub(super) async fn cancel(&self, id: JobId, caller: Caller) -> Result<CancelResponse> {
        let mut outcomes = self.cancel_many(&[id], caller).await?;
        outcomes.pop().unwrap_or(Err(Error::NoSuchJob(id)))
    }

    /// Cancels many jobs as `cancel` does each, with one commit for all the
    /// pending ones. One outcome per id, in order; `Err` only when the
    /// commit failed (then nothing was cancelled that was pending).
    pub(super) async fn cancel_many(
        &self,
        ids: &[JobId],
        caller: Caller,
    ) -> Result<Vec<Result<CancelResponse>>> {
        let now = Utc::now();
        let mut outcomes: Vec<Option<Result<CancelResponse>>> =
            (0..ids.len()).map(|_| None).collect();
        // Whether the id is among the pending jobs cancelled in memory.
        let mut committing = vec![false; ids.len()];
        let mut cancelled: Vec<(usize, Job)> = Vec::new();
        // Running jobs on other nodes: asked through the store.
        let mut elsewhere: Vec<(usize, String, Job)> = Vec::new();
        {
            let mut guard = self.state();
            let state = &mut *guard;
            for (index, &id) in ids.iter().enumerate() {
                let Some(job) = state.jobs.get_mut(&id) else {
                    continue;
                };
                if let Err(e) = self.authorize(job, caller) {
                    outcomes[index] = Some(Err(e));
                    continue;
                }
                match &job.phase {
                    Phase::Pending { reason, hold } => {
                        // It keeps the reason it was waiting for, as
                        // Slurm shows a cancelled pending job.
                        let reason = hold.map_or(*reason, Hold::reason);
                        state.queue.remove(job);
                        job.phase = Phase::cancelled_before_start(reason, Some(caller.uid), now);
                        committing[index] = true;
                        cancelled.push((index, job.clone()));
                    }
                    Phase::Running { .. } => {
                        if let Some(node) = remote_node(job, self.node()) {
                            elsewhere.push((index, node.to_string(), job.clone()));
                            outcomes[index] = Some(Ok(unchanged(job)));
                            continue;
                        }
                        let running = state.running.entry(id).or_default();
                        match &running.supervisor {
                            Some(supervisor) => {
                                supervisor.send(Control::Cancel { by_uid: caller.uid });
                            }
                            None => running.cancel_by = Some(caller.uid),
                        }
                        log(format_args!(
                            "job {id} cancel requested by uid {}",
                            caller.uid
                        ));
                        outcomes[index] = Some(Ok(unchanged(job)));
                    }
                    Phase::Finished { .. } => outcomes[index] = Some(Ok(unchanged(job))),
                }
            }
        }
        for (index, node, job) in elsewhere {
            let control = Control::Cancel { by_uid: caller.uid };
            match self.control_remote(&node, &job, control) {
                Ok(()) => log(format_args!(
                    "job {} cancel requested by uid {}, sent to node {node}",
                    job.id, caller.uid
                )),
                Err(e) => outcomes[index] = Some(Err(e)),
            }
        }
        // Jobs not in memory have ended for good, or never existed.
        for (index, &id) in ids.iter().enumerate() {
            if outcomes[index].is_none() && !committing[index] {
                outcomes[index] = Some(self.stored(id).and_then(|job| {
                    self.authorize(&job, caller)?;
                    Ok(unchanged(&job))
                }));
            }
        }
        if !cancelled.is_empty() {
            let records = cancelled.iter().map(|(_, job)| job.clone()).collect();
            if let Err(e) = self.store.update(records, None).await {
                // Not on disk, so not done: the jobs go back to the queue.
                let mut state = self.state();
                for (_, job) in &cancelled {
                    state.back_to_queue(job.id);
                }
                return Err(e);
            }
            let mut state = self.state();
            for (index, job) in cancelled {
                state.jobs.remove(&job.id);
                self.statistics.ended(super::job::FinalState::Cancelled);
                log(format_args!(
                    "job {} cancelled while pending by uid {}",
                    job.id, caller.uid
                ));
                outcomes[index] = Some(Ok(CancelResponse {
                    job_id: job.id,
                    previous_state: JobState::Pending,
                    state: JobState::Cancelled,
                }));
            }
            drop(state);
            self.wake.notify_one();
        }
        Ok(outcomes
            .into_iter()
            .zip(ids)
            .map(|(outcome, id)| outcome.unwrap_or(Err(Error::NoSuchJob(*id))))
            .collect())
    }

    /// Delivers a signal to a running job; the job's state is left alone.
    pub(super) fn signal(
        &self,
        id: JobId,
        request: SignalRequest,
        caller: Caller,
    ) -> Result<JobInfo> {
        let state = self.state();
        let Some(job) = state.jobs.get(&id) else {
            drop(state);
            let job = self.stored(id)?;
            self.authorize(&job, caller)?;
            return Err(not_running(id));
        };
        self.authorize(job, caller)?;
        if let Some(node) = remote_node(job, self.node()) {
            let (node, job) = (node.to_string(), job.clone());
            drop(state);
            let control = Control::Signal {
                signal: request.signal,
                scope: request.scope,
            };
            self.control_remote(&node, &job, control)?;
            log(format_args!(
                "job {id} signal {} sent by uid {} to node {node}",
                request.signal, caller.uid
            ));
            return Ok(job.info(self.node()));
        }
        let supervisor = state.running.get(&id).and_then(|r| r.supervisor.as_ref());
        match (&job.phase, supervisor) {
            (Phase::Running { .. }, Some(supervisor)) => {
                supervisor.send(Control::Signal {
                    signal: request.signal,
                    scope: request.scope,
                });
                log(format_args!(
                    "job {id} signal {} sent by uid {}",
                    request.signal, caller.uid
                ));
                Ok(job.info(self.node()))
            }
            // Slurm's controller will not signal a job that has not
            // started, and says it in these words.
            (Phase::Pending { .. }, _) => Err(Error::NotNow),
            _ => Err(not_running(id)),
        }
    }

    /// The id of a running job's next step (`crun` inside the job asks):
    /// counted by the daemon, so no file the job's user could fill is
    /// needed, and steps started at once never share an id.
    /// The step is recorded for accounting (at most `MAX_RECORDED_STEPS`
    /// a job: past that, steps still get ids but no rows).
    /// A recorded step gets a cgroup of its own inside the job's, made
    /// after the state lock is let go; steps past the bound run in the
    /// job's cgroup, so a job cannot make directories without bound.
    pub(super) fn next_step(
        &self,
        id: JobId,
        caller: Caller,
        start: StepStart,
    ) -> Result<StepResponse> {
        let (step, owner, recorded, here) = self.count_step(id, caller, start)?;
        // A job on another node runs its steps in its own cgroup there:
        // this node has none of it to make one in.
        let cgroup = if recorded && here {
            let owner = (owner.0 != users::current_uid()).then_some(owner);
            self.host
                .containment
                .create_step(id, step, owner)
                .unwrap_or_else(|e| {
                    log(format_args!(
                        "job {id} step {step}: no cgroup of its own: {e}"
                    ));
                    Vec::new()
                })
        } else {
            Vec::new()
        };
        Ok(StepResponse { step, cgroup })
    }

    /// Counts and records the step: its id, the job's owner, and whether
    /// it has a row (it has, up to `MAX_RECORDED_STEPS`).
    fn count_step(
        &self,
        id: JobId,
        caller: Caller,
        start: StepStart,
    ) -> Result<(u32, (u32, u32), bool, bool)> {
        let mut state = self.state();
        let state = &mut *state;
        let Some(job) = state.jobs.get_mut(&id) else {
            return Err(not_running(id));
        };
        self.authorize(job, caller)?;
        let owner = (job.spec.uid, job.spec.gid);
        let here = remote_node(job, self.node()).is_none();
        match (&mut job.phase, state.running.get_mut(&id)) {
            (Phase::Running { steps, .. }, Some(running)) => {
                let step = running.next_step;
                running.next_step = step.saturating_add(1);
                let recorded = steps.len() < MAX_RECORDED_STEPS;
                if recorded {
                    steps.push(StepInfo {
                        step_id: step,
                        name: start.name.chars().take(MAX_STEP_NAME).collect(),
                        ntasks: start.ntasks.max(1),
                        start_time: Utc::now(),
                        end_time: None,
                        exit_code: None,
                        state: None,
                        usage: Default::default(),
                    });
                }
                Ok((step, owner, recorded, here))
            }
            _ => Err(not_running(id)),
        }
    }

    /// Records how step `step` of a running job ended (its `crun` says).
    /// The step's cgroup, where it has one, is emptied and removed first;
    /// its figures replace what `crun` counted (they include processes
    /// `crun` never waited for), and an OOM kill in it ends the step
    /// OUT_OF_MEMORY.
    pub(super) async fn end_step(
        &self,
        id: JobId,
        step: u32,
        caller: Caller,
        end: StepEnd,
    ) -> Result<()> {
        let here = {
            let state = self.state();
            let job = state.jobs.get(&id).ok_or_else(|| not_running(id))?;
            self.authorize(job, caller)?;
            remote_node(job, self.node()).is_none()
        };
        let containment = self.host.containment.clone();
        let counted = if here {
            tokio::task::spawn_blocking(move || containment.end_step(id, step))
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        let mut state = self.state();
        let Some(job) = state.jobs.get_mut(&id) else {
            return Err(not_running(id));
        };
        let Phase::Running { steps, .. } = &mut job.phase else {
            return Err(not_running(id));
        };
        let Some(record) = steps
            .iter_mut()
            .find(|s| s.step_id == step && s.end_time.is_none())
        else {
            return Err(Error::Conflict(format!(
                "Job step {id}.{step} is not running"
            )));
        };
        record.end_time = Some(Utc::now());
        record.exit_code = Some(end.exit_code);
        // As Slurm's accounting: a step the OOM killer hit is
        // OUT_OF_MEMORY, one a signal ended is CANCELLED.
        record.state = Some(match counted {
            Some(counted) if counted.out_of_memory => JobState::OutOfMemory,
            _ if end.exit_code.signal != 0 => JobState::Cancelled,
            _ if end.exit_code == ExitCode::default() => JobState::Completed,
            _ => JobState::Failed,
        });
        record.usage = match counted {
            Some(counted) => counted.usage.or(end.usage),
            None => end.usage,
        };
        Ok(())
    }

    /// Holds a pending job: it stays pending until released. Root's holds
    /// are admin holds (`JobHeldAdmin`).
    pub(super) async fn hold(
        &self,
        id: JobId,
        request: HoldRequest,
        caller: Caller,
    ) -> Result<JobInfo> {
        let kind = if caller.uid == 0 && !request.user {
            Hold::Admin
        } else {
            Hold::User
        };
        self.change_pending(id, caller, |job| {
            if let Phase::Pending { hold, reason } = &mut job.phase {
                // An admin hold is not weakened by the owner's own hold.
                let kind = if *hold == Some(Hold::Admin) {
                    Hold::Admin
                } else {
                    kind
                };
                *hold = Some(kind);
                *reason = kind.reason();
            }
            Ok(())
        })
        .await
    }

    /// Releases a held job.
    pub(super) async fn release(&self, id: JobId, caller: Caller) -> Result<JobInfo> {
        let info = self
            .change_pending(id, caller, |job| {
                let waiting = self.waiting_reason(&job.spec);
                if let Phase::Pending { hold, reason } = &mut job.phase {
                    if *hold == Some(Hold::Admin) && caller.uid != 0 {
                        return Err(Error::PermissionDenied);
                    }
                    *hold = None;
                    *reason = waiting;
                }
                Ok(())
            })
            .await?;
        self.wake.notify_one();
        Ok(info)
    }

    /// Changes a pending job's name, limits, size or priority.
    pub(super) async fn update(
        &self,
        id: JobId,
        request: UpdateRequest,
        caller: Caller,
    ) -> Result<JobInfo> {
        let capacity = self.largest();
        let info = self
            .change_pending(id, caller, |job| {
                let spec = &mut job.spec;
                if let Some(name) = &request.name {
                    if name.is_empty() {
                        return Err(Error::Invalid("the job name is empty".into()));
                    }
                    spec.name.clone_from(name);
                }
                if let Some(limit) = request.time_limit {
                    if limit > super::lifecycle::MAX_TIME_LIMIT_SECS {
                        return Err(Error::Invalid(
                            "Requested time limit is invalid (missing or exceeds some limit)"
                                .into(),
                        ));
                    }
                    spec.time_limit =
                        (limit > 0).then(|| self.config.time_limit_unit.round_up(limit));
                }
                if let Some(nice) = request.nice {
                    if nice < spec.nice && caller.uid != 0 {
                        return Err(Error::PermissionDenied);
                    }
                    spec.priority = spec
                        .priority
                        .saturating_add(i64::from(spec.nice) - i64::from(nice));
                    spec.nice = nice;
                }
                if let Some(priority) = request.priority {
                    if caller.uid != 0 && priority > spec.priority {
                        return Err(Error::PermissionDenied);
                    }
                    spec.priority = priority;
                    spec.priority_fixed = true;
                }
                let mut resources = spec.request;
                if let Some(cpus) = request.cpus {
                    if cpus == 0 {
                        return Err(Error::Invalid("NumCPUs must be at least 1".into()));
                    }
                    resources.cpus = cpus;
                    // Keep tasks × CPUs per task equal to the total.
                    if cpus % spec.ntasks == 0 {
                        spec.cpus_per_task = cpus / spec.ntasks;
                    } else {
                        spec.ntasks = 1;
                        spec.cpus_per_task = cpus;
                    }
                }
                if let Some(memory) = request.memory_mb {
                    resources.memory_mb = memory;
                    spec.memory_requested = true;
                }
                if !capacity.can_ever_fit(&resources) {
                    return Err(Error::Invalid(
                        "Requested node configuration is not available".into(),
                    ));
                }
                spec.request = resources;
                if let Some(comment) = &request.comment {
                    Arc::make_mut(&mut spec.options).comment = Some(comment.clone());
                }
                if request.begin_time.is_some() {
                    spec.begin_time = request.begin_time;
                }
                // A new time limit may take the job over its partition's
                // MaxTime (no pass looks at it then) or back within it.
                let waiting = self.waiting_reason(&job.spec);
                if let Phase::Pending { hold: None, reason } = &mut job.phase
                    && (waiting != Reason::None
                        || matches!(reason, Reason::PartitionConfig | Reason::PartitionTimeLimit))
                {
                    *reason = waiting;
                }
                Ok(())
            })
            .await?;
        self.wake.notify_one();
        Ok(info)
    }

    /// Puts a job back in the queue with the same id: a running job is
    /// stopped first (TERM, grace, KILL), a finished one queues at once.
    pub(super) async fn requeue(&self, id: JobId, caller: Caller) -> Result<JobInfo> {
        {
            let mut guard = self.state();
            let state = &mut *guard;
            if let Some(job) = state.jobs.get(&id) {
                self.authorize(job, caller)?;
                match &job.phase {
                    Phase::Running { .. } if remote_node(job, self.node()).is_some() => {
                        let node = remote_node(job, self.node())
                            .unwrap_or_default()
                            .to_string();
                        let job = job.clone();
                        drop(guard);
                        self.control_remote(&node, &job, Control::Requeue)?;
                        log(format_args!(
                            "job {id} requeue requested by uid {}, sent to node {node}",
                            caller.uid
                        ));
                        return Ok(job.info(self.node()));
                    }
                    Phase::Running { .. } => {
                        if let Some(running) = state.running.get_mut(&id) {
                            match &running.supervisor {
                                Some(supervisor) => supervisor.send(Control::Requeue),
                                // Still starting: its supervisor gets it once
                                // it is there.
                                None => running.requeue_requested = true,
                            }
                        }
                        log(format_args!(
                            "job {id} requeue requested by uid {}",
                            caller.uid
                        ));
                        return Ok(job.info(self.node()));
                    }
                    Phase::Pending { .. } => return Ok(job.info(self.node())),
                    Phase::Finished { .. } => {}
                }
            }
        }
        let mut job = match self.state().jobs.get(&id) {
            Some(job) => job.clone(),
            None => self.stored(id)?,
        };
        self.authorize(&job, caller)?;
        if !job.state().is_terminal() {
            return Ok(job.info(self.node()));
        }
        job.spec.restarts += 1;
        self.hold_back_requeued(&mut job.spec);
        job.phase = Phase::Pending {
            reason: Reason::None,
            hold: None,
        };
        self.store.update(vec![job.clone()], None).await?;
        let info = job.info(self.node());
        self.state().enqueue(job);
        log(format_args!("job {id} requeued by uid {}", caller.uid));
        self.wake.notify_one();
        Ok(info)
    }

    /// Applies `change` to a pending job and stores it; refuses a job that
    /// is not pending (Slurm's "Job is no longer pending execution").
    async fn change_pending(
        &self,
        id: JobId,
        caller: Caller,
        change: impl FnOnce(&mut Job) -> Result<()>,
    ) -> Result<JobInfo> {
        let changed = {
            let mut guard = self.state();
            let state = &mut *guard;
            let Some(job) = state.jobs.get_mut(&id) else {
                drop(guard);
                let job = self.stored(id)?;
                self.authorize(&job, caller)?;
                return Err(not_pending(id));
            };
            self.authorize(job, caller)?;
            if !matches!(job.phase, Phase::Pending { .. }) {
                return Err(not_pending(id));
            }
            let mut changed = job.clone();
            change(&mut changed)?;
            state.queue.remove(job);
            *job = changed.clone();
            state.queue.insert(job);
            changed
        };
        self.store.update(vec![changed.clone()], None).await?;
        Ok(changed.info(self.node()))
    }

    /// Root, the daemon's own user, or an operator named in the daemon's
    /// configuration: who may act on anyone's jobs.
    pub(super) fn is_operator(&self, caller: Caller) -> bool {
        caller.uid == 0
            || caller.uid == users::current_uid()
            || self.config.operators.contains(&caller.uid)
    }

    /// Only the job's owner, root, the daemon's own user, or an operator
    /// named in the daemon's configuration may change a job.
    fn authorize(&self, job: &Job, caller: Caller) -> Result<()> {
        if caller.uid == job.spec.uid || self.is_operator(caller) {
            Ok(())
        } else {
            Err(Error::PermissionDenied)
        }
    }

    /// A job's batch script, for its owner, root or the daemon's user only
    /// (`ccontrol write batch_script`): operators may act on jobs, but a
    /// script is its owner's to read.
    pub(super) fn batch_script(&self, id: JobId, caller: Caller) -> Result<String> {
        let owner = {
            let state = self.state();
            state.jobs.get(&id).map(|job| job.spec.uid)
        };
        let owner = match owner {
            Some(owner) => owner,
            None => self.stored(id)?.spec.uid,
        };
        if caller.uid != 0 && caller.uid != owner && caller.uid != users::current_uid() {
            return Err(Error::PermissionDenied);
        }
        Ok(self.store.payload(id)?.script)
    }

    /// A job the store knows, or `NoSuchJob`.
    fn stored(&self, id: JobId) -> Result<Job> {
        self.store.get(id)?.ok_or(Error::NoSuchJob(id))
    }
}

fn unchanged(job: &Job) -> CancelResponse {
    CancelResponse {
        job_id: job.id,
        previous_state: job.state(),
        state: job.state(),
    }
}

fn not_pending(id: JobId) -> Error {
    Error::Conflict(format!("Job is no longer pending execution for job {id}"))
}

fn not_running(id: JobId) -> Error {
    Error::Conflict(format!("Job {id} is not running"))
}
