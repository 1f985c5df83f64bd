//! The daemon's one state: every job not yet finished for good, the pending
//! queue, the resource books, and the handles of running jobs.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use crate::daemon::executor::Supervisor;
use crate::daemon::interner::Interner;
use crate::daemon::job::{Job, Phase};
use crate::daemon::priorities::{ChangedPriorities, Priorities};
use crate::daemon::scheduler::{QueueKey, ShapeIndex};
use crate::daemon::tracker::{Capacity, ResourceTracker};
use crate::protocol::{JobId, JobState, Reason};

/// A running job's handle, beside its `Job`.
#[derive(Debug, Default)]
pub struct Running {
    /// The job's supervisor; `None` until it has started.
    pub supervisor: Option<Supervisor>,
    /// A cancel that arrived before the supervisor had started.
    pub cancel_by: Option<u32>,
    /// A requeue that arrived before the supervisor had started: sent to it
    /// once it has (it ends the job as requeued, as a later one would).
    pub requeue_requested: bool,
    /// The id the job's next `crun` step gets.
    pub next_step: u32,
}

/// All mutable job state, behind the daemon's one lock.
pub struct State {
    /// Pending and running jobs, and finished ones until their final record
    /// is committed (then the store answers for them).
    pub jobs: HashMap<JobId, Job>,
    /// Pending jobs in scheduling order.
    pub queue: Queue,
    pub running: HashMap<JobId, Running>,
    pub tracker: ResourceTracker,
    /// Jobs queued since the last pass, which may show no reason yet.
    pub fresh: Vec<JobId>,
    /// The one copy of what queued jobs repeat.
    pub interner: Interner,
    /// Jobs that finished since the last pass, with their job directories:
    /// the pass's commit records their ends beside its starts, and each
    /// directory goes only once its end is on disk.
    pub ended: Vec<(Job, PathBuf)>,
    /// Usage, fair share, and what a queued job's priority is made of.
    pub priorities: Priorities,
}

impl State {
    pub fn new(tracker: ResourceTracker, priorities: Priorities) -> State {
        State {
            jobs: HashMap::new(),
            queue: Queue::new(tracker.capacity()),
            running: HashMap::new(),
            tracker,
            fresh: Vec::new(),
            interner: Interner::default(),
            ended: Vec::new(),
            priorities,
        }
    }

    /// Adds a pending job to the table and the queue.
    pub fn enqueue(&mut self, mut job: Job) {
        self.interner.share(&mut job.spec);
        self.priorities.assign(&mut job.spec, chrono::Utc::now());
        self.queue.insert(&job);
        self.fresh.push(job.id);
        self.jobs.insert(job.id, job);
    }

    /// Puts a job that had been taken out of the queue back in, pending and
    /// holding nothing (a start or cancel that could not be recorded, a start
    /// that never happened). Returns the job as it now is.
    pub fn back_to_queue(&mut self, id: JobId) -> Option<Job> {
        self.running.remove(&id);
        self.tracker.release(id);
        let job = self.jobs.get_mut(&id)?;
        job.phase = Phase::Pending {
            reason: Reason::None,
            hold: None,
        };
        let job = job.clone();
        self.enqueue(job.clone());
        Some(job)
    }

    /// Counts of jobs by state, for the node summary.
    pub fn count(&self, state: JobState) -> usize {
        match state {
            JobState::Pending => self.queue.len(),
            JobState::Running => self.running.len(),
            _ => 0,
        }
    }
}

/// The pending jobs in scheduling order, the held ones apart: a pass walks
/// only the jobs that may start, so thousands of held jobs cost it nothing.
/// Jobs that wait for nothing but resources sit in a [`ShapeIndex`], so a
/// pass looks at one job per request shape rather than at all of them.
#[derive(Debug)]
pub struct Queue {
    /// The node's resources: a job asking for more CPUs than there are
    /// waits apart, for ever (Slurm's `PartitionConfig`).
    capacity: Capacity,
    /// Not held, and waiting for nothing but resources.
    plain: ShapeIndex,
    /// Not held, but with a begin time, a dependency or a running-at-once
    /// cap, which the pass checks job by job.
    others: BTreeSet<QueueKey>,
    held: BTreeSet<QueueKey>,
    /// Not held, but asking for more than the node has: no pass looks at
    /// them, so they hold up neither the pass nor any other job.
    unfit: BTreeSet<QueueKey>,
}

impl Queue {
    /// An empty queue for a node of this capacity.
    pub fn new(capacity: Capacity) -> Queue {
        Queue {
            capacity,
            plain: ShapeIndex::default(),
            others: BTreeSet::new(),
            held: BTreeSet::new(),
            unfit: BTreeSet::new(),
        }
    }

    /// Places a pending job by its priority, hold and request, with the
    /// reason it shows (take it out and insert it again to change that).
    pub fn insert(&mut self, job: &Job) {
        let key = queue_key(job);
        match job.phase {
            Phase::Pending { hold: Some(_), .. } => {
                self.held.insert(key);
            }
            Phase::Pending { .. } if !self.capacity.can_ever_fit(&job.spec.request) => {
                self.unfit.insert(key);
            }
            Phase::Pending { reason, .. } if waits_only_for_resources(job) => {
                self.plain.insert(key, job.spec.request, reason);
            }
            _ => {
                self.others.insert(key);
            }
        }
    }

    /// Takes a job out, wherever it was (call before changing the job).
    pub fn remove(&mut self, job: &Job) {
        let key = queue_key(job);
        self.plain.remove(&key, &job.spec.request);
        self.others.remove(&key);
        self.held.remove(&key);
        self.unfit.remove(&key);
    }

    /// Moves queued jobs to their places under new priorities (`changed`,
    /// by job; the others keep theirs). Each set is built again whole (a
    /// sort, not a tree walk per job), and every job stays in the set it
    /// was in.
    pub fn rekey(&mut self, changed: &ChangedPriorities) {
        let key_of = |key: QueueKey| {
            changed
                .get(&key.id())
                .map_or(key, |priority| key.with_priority(*priority))
        };
        self.plain.rekey(key_of);
        for set in [&mut self.others, &mut self.held, &mut self.unfit] {
            *set = set.iter().map(|key| key_of(*key)).collect();
        }
    }

    /// The jobs not held that wait for resources only, by request shape.
    pub fn plain(&self) -> &ShapeIndex {
        &self.plain
    }

    /// The other jobs not held, in scheduling order.
    pub fn others(&self) -> impl Iterator<Item = QueueKey> + '_ {
        self.others.iter().copied()
    }

    /// The first job that is not held.
    pub fn first_ready(&self) -> Option<QueueKey> {
        let other = self.others.first().copied();
        match (self.plain.first(), other) {
            (Some(plain), Some(other)) => Some(plain.min(other)),
            (plain, other) => plain.or(other),
        }
    }

    pub fn len(&self) -> usize {
        self.plain.len() + self.others.len() + self.held.len() + self.unfit.len()
    }
}

/// Whether nothing but resources can keep a pending job from starting: no
/// begin time, no dependency, no array throttle.
fn waits_only_for_resources(job: &Job) -> bool {
    let spec = &job.spec;
    spec.begin_time.is_none()
        && spec.dependency.is_none()
        && spec.array.is_none_or(|array| array.max_running.is_none())
}

/// A job's place in the pending queue.
pub fn queue_key(job: &Job) -> QueueKey {
    QueueKey::new(job.spec.priority, job.spec.submit_time, job.id)
}
