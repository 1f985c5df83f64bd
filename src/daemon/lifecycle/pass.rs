//! A scheduling pass: gathers what each pending job waits for (hold,
//! begin time, dependencies, running-at-once caps), asks First Fit for a
//! plan, and applies it: reasons shown, starts recorded on disk in one
//! commit with the ends that made room for them, then launched.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::daemon::dependencies;
use crate::daemon::job::{Dependencies, Hold, Job, JobSpec, Phase};
use crate::daemon::scheduler::policy::{self, AfterDependency};
use crate::daemon::scheduler::{
    Backfill, Candidate, Group, Membership, NodeSet, Pool, QueueKey, RunningGroups, RunningJob,
    backfill_indexed, first_fit_indexed,
};
use crate::daemon::state::{Queue, Running, State};
use crate::daemon::{Daemon, SchedulerType, log};
use crate::format::dependency::DependencyKind;
use crate::protocol::{JobId, Reason, ResourceRequest};

impl Daemon {
    /// One scheduling pass: decides which pending jobs may start at all
    /// (holds, begin times, dependencies, array throttles), books resources
    /// for every one that fits (and, with backfill, cannot delay the first
    /// that does not), records their start on disk, then launches them.
    async fn schedule_pass(self: &Arc<Self>) {
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        let now = Utc::now();
        let timer = std::time::Instant::now();
        let pass = {
            let mut state = self.state();
            let unwritten = state.take_unwritten();
            let State {
                jobs,
                queue,
                running,
                nodes,
                fresh,
                reserved,
                ..
            } = &mut *state;
            let running_in = RunningGroups::count(
                running
                    .keys()
                    .filter_map(|id| jobs.get(id))
                    .map(|job| membership(&job.spec)),
            );
            let usage = self.user_usage(running.keys().filter_map(|id| jobs.get(id)));
            let mut notes = PassNotes::default();
            let (queue_len, mut depth) = (queue.len(), 0);
            // Candidates are made lazily: First Fit stops once no CPU is
            // left, and jobs waiting only for resources are looked at one per
            // request shape (behind a reservation, at most bf_max_job_test
            // of them), so a pass costs what it looks at, not the queue's
            // length.
            let candidate = |key: QueueKey| {
                depth += 1;
                let mut candidate = self.candidate(key.id(), jobs, &running_in, now, &mut notes);
                if let Some(c) = &mut candidate {
                    self.add_user_limits(c, jobs, &usage);
                }
                candidate
            };
            // The index keeps each user's jobs apart when limits are set:
            // the pass holds the head of each chain to its user's limits.
            let user_limits = |uid, request: &ResourceRequest| {
                self.config.user_limits.limits(uid, usage.of(uid), request)
            };
            let plan = match self.config.scheduler_type {
                SchedulerType::Builtin => {
                    first_fit_indexed(queue.others(), candidate, queue.plain(), user_limits, nodes)
                }
                SchedulerType::Backfill => {
                    let holding = running_jobs(running.keys().filter_map(|id| jobs.get(id)), nodes);
                    let backfill = Backfill {
                        now,
                        settings: self.config.backfill,
                        running: &holding,
                    };
                    backfill_indexed(
                        queue.others(),
                        candidate,
                        queue.plain(),
                        user_limits,
                        nodes,
                        backfill,
                    )
                }
            };
            // Only the job the pass reserved for shows an expected start.
            let reservation = plan.reservation.map(|r| (r.job, r.start));
            if let Some(job) = reserved.and_then(|id| jobs.get_mut(&id)) {
                job.expected_start = None;
            }
            *reserved = reservation.map(|(id, _)| id);
            if let Some((id, start)) = reservation
                && let Some(job) = jobs.get_mut(&id)
            {
                job.expected_start = Some(start);
            }
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
                    policy::unreached(hold, shown, head == Some(id))
                });
            }
            let mut started = Vec::with_capacity(plan.starts.len());
            for (id, allocation) in plan.starts {
                let Some(job) = jobs.get_mut(&id) else {
                    nodes.release(id);
                    continue;
                };
                let node = nodes.node_of(id).unwrap_or(self.node()).to_string();
                // A boot id is this machine's: another node's job has none.
                let here = node == self.node();
                queue.remove(job);
                job.expected_start = None;
                job.phase = Phase::Running {
                    allocation,
                    start_time: now,
                    boot_id: if here { self.boot_id.clone() } else { None },
                    node: Some(node),
                    steps: Vec::new(),
                };
                running.insert(id, Running::default());
                started.push(job.clone());
            }
            // The ends of the jobs that made room share the starts' commit,
            // queued under the lock so that no later write of a requeued
            // job can come before it.
            let commit = (!started.is_empty() || !unwritten.is_empty()).then(|| {
                let records = unwritten
                    .records()
                    .into_iter()
                    .chain(started.iter().cloned())
                    .collect();
                self.store.update(records, unwritten.usage.clone())
            });
            (
                started,
                unwritten,
                commit,
                notes,
                plan.wake_at,
                depth,
                queue_len,
            )
        };
        let (started, unwritten, commit, notes, wake_at, depth, queue_len) = pass;
        self.passes.fetch_add(1, Ordering::Relaxed);
        self.last_pass_micros
            .store(timer.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.statistics.cycle(timer.elapsed(), depth, queue_len);
        if let Some(at) = wake_at {
            self.wake_at(at);
        }
        if !notes.doomed.is_empty() {
            self.cancel_unsatisfiable(notes.doomed).await;
        }
        let Some(commit) = commit else {
            return;
        };
        if let Err(e) = commit.await {
            log(format_args!(
                "cannot record the start of {} jobs and the end of {}, leaving them pending: {e}",
                started.len(),
                unwritten.ended.len() + unwritten.requeued.len()
            ));
            let mut state = self.state();
            for job in started {
                state.back_to_queue(job.id);
            }
            // The next pass tries again; meanwhile each job's directory
            // keeps its outcome.
            state.unwritten_again(unwritten);
            return;
        }
        self.statistics.started(started.len() as u64);
        for job in started {
            self.launch(job);
        }
        if unwritten.ended.is_empty() && unwritten.requeued.is_empty() {
            return;
        }
        self.forget_finished(unwritten.finished().collect::<Vec<_>>());
        // Only once the end is on disk: until then the directory's outcome
        // is what a restarted daemon would go by. Off the scheduler's way.
        tokio::task::spawn_blocking(move || {
            for dir in unwritten.into_dirs() {
                let _ = std::fs::remove_dir_all(dir);
            }
        });
    }

    /// A pending job as the scheduler sees it: what holds it back besides
    /// resources (hold, begin time, dependency, as the policy decides),
    /// when to look at it again, and the caps it counts against. What the
    /// pass learns on the way (dependency progress, jobs to cancel) goes to
    /// `notes`.
    fn candidate(
        &self,
        id: JobId,
        jobs: &HashMap<JobId, Job>,
        running_in: &RunningGroups,
        now: DateTime<Utc>,
        notes: &mut PassNotes,
    ) -> Option<Candidate> {
        let job = jobs.get(&id)?;
        let Phase::Pending { reason, hold } = job.phase else {
            return None;
        };
        let member = membership(&job.spec);
        let mut candidate = Candidate {
            id,
            request: job.spec.request,
            time_limit: job.spec.time_limit,
            reason,
            blocked: None,
            limits: member.limits(running_in),
            recheck_at: None,
        };
        if let Some(held) = policy::held_back(hold, job.spec.begin_time, now) {
            candidate.blocked = Some(held.reason());
            candidate.recheck_at = held.until();
            return Some(candidate);
        }
        let Some(dependency) = &job.spec.dependency else {
            return Some(candidate);
        };
        let mut dependency = dependency.clone();
        let evaluation = dependencies::evaluate(&mut dependency, jobs, &self.store, now);
        candidate.recheck_at = evaluation.recheck_at;
        let mut progress = evaluation.progress;
        if member.singleton {
            // `%E` shows the singleton unfulfilled while it waits.
            let running = running_in.of(&member.singleton_group());
            dependency.set_singleton(policy::singleton(running, || {
                notes.earlier_pending(jobs, &member, id)
            }));
            progress = dependency.progress();
        }
        notes.dependencies.push((id, dependency));
        match policy::after_dependency(progress, job.spec.kill_on_invalid_dep) {
            AfterDependency::Eligible => {}
            AfterDependency::Waits(reason) => candidate.blocked = Some(reason),
            AfterDependency::Cancel => {
                notes.doomed.push(id);
                return None;
            }
        }
        Some(candidate)
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
        match self.store.update(jobs, None).await {
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
}

/// Runs scheduling passes for as long as the daemon lives, one per wake-up;
/// wake-ups during a pass fold into the next one.
pub(crate) async fn scheduler_loop(daemon: Arc<Daemon>) {
    loop {
        daemon.wake.notified().await;
        daemon.schedule_pass().await;
    }
}

/// What a scheduling pass learns besides its plan.
#[derive(Default)]
struct PassNotes {
    /// Dependency conditions brought up to date.
    dependencies: Vec<(JobId, Dependencies)>,
    /// Jobs whose dependency failed and that asked to be cancelled then.
    doomed: Vec<JobId>,
    /// Per singleton group (user and job name), the first pending job's
    /// id, found once a pass when a singleton asks.
    first_pending: HashMap<Group, JobId>,
}

impl PassNotes {
    /// Whether a job of `member`'s user and name submitted before `id` is
    /// still pending: Slurm's singleton waits for those too, not only for
    /// the running ones (which the group's cap counts).
    fn earlier_pending(
        &mut self,
        jobs: &HashMap<JobId, Job>,
        member: &Membership<'_>,
        id: JobId,
    ) -> bool {
        let first = *self
            .first_pending
            .entry(member.singleton_group())
            .or_insert_with(|| {
                jobs.values()
                    .filter(|job| {
                        matches!(job.phase, Phase::Pending { .. })
                            && job.spec.uid == member.uid
                            && job.spec.name == member.name
                    })
                    .map(|job| job.id)
                    .min()
                    .unwrap_or(id)
            });
        first < id
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

/// What the running jobs hold and until when their time limits let them,
/// for a backfill reservation.
fn running_jobs<'a>(running: impl Iterator<Item = &'a Job>, nodes: &NodeSet) -> Vec<RunningJob> {
    running
        .filter_map(|job| match &job.phase {
            Phase::Running {
                allocation,
                start_time,
                ..
            } => Some(RunningJob {
                node: nodes.node_index(job.id),
                ..RunningJob::new(
                    ResourceRequest {
                        cpus: u32::try_from(allocation.cpu_ids.len()).unwrap_or(u32::MAX),
                        memory_mb: allocation.memory_mb,
                        gpus: u32::try_from(allocation.gpu_ids.len()).unwrap_or(u32::MAX),
                    },
                    *start_time,
                    job.spec.time_limit,
                )
            }),
            _ => None,
        })
        .collect()
}

/// What places a job in running-at-once groups.
fn membership(spec: &JobSpec) -> Membership<'_> {
    Membership {
        uid: spec.uid,
        name: &spec.name,
        throttle: spec
            .array
            .and_then(|array| array.max_running.map(|max| (array.array_id, max))),
        singleton: is_singleton(spec),
    }
}

/// Whether the job has a singleton dependency (one job per name and user).
fn is_singleton(spec: &JobSpec) -> bool {
    spec.dependency.as_ref().is_some_and(|d| {
        d.conditions
            .iter()
            .any(|(c, _)| c.kind == DependencyKind::Singleton)
    })
}
