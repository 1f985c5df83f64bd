//! The daemon's one state: every job not yet finished for good, the pending
//! queue, the resource books, and the handles of running jobs.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use crate::daemon::executor::Supervisor;
use crate::daemon::interner::Interner;
use crate::daemon::job::{Job, Phase};
use crate::daemon::partitions::Partitions;
use crate::daemon::priorities::{ChangedPriorities, Priorities};
use crate::daemon::scheduler::fair_share::UsageBook;
use crate::daemon::scheduler::{NodeSet, QueueKey, ShapeIndex};
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
    /// The resource books: this node's first, then (on a cluster's
    /// scheduler) every other node that takes jobs.
    pub nodes: NodeSet,
    /// Jobs queued since the last pass, which may show no reason yet.
    pub fresh: Vec<JobId>,
    /// The one copy of what queued jobs repeat.
    pub interner: Interner,
    /// Jobs that finished since the last pass, with their job directories:
    /// the pass's commit records their ends beside its starts, and each
    /// directory goes only once its end is on disk.
    pub ended: Vec<(Job, PathBuf)>,
    /// Jobs requeued since the last pass, with the directories of the runs
    /// that ended: recorded as they are at the commit (a cancel may have
    /// come since), with the usage book those runs charged.
    pub requeued: Vec<(JobId, PathBuf)>,
    /// The job the last pass's backfill reservation is for, which shows
    /// its expected start until a later pass reserves otherwise.
    pub reserved: Option<JobId>,
    /// Usage, fair share, and what a queued job's priority is made of.
    pub priorities: Priorities,
}

impl State {
    /// The state of a daemon with these partitions; `user_limited` when
    /// per-user limits are set (see [`Queue::new`]).
    pub fn new(
        (node, tracker): (String, ResourceTracker),
        partitions: Partitions,
        user_limited: bool,
        priorities: Priorities,
    ) -> State {
        State {
            jobs: HashMap::new(),
            queue: Queue::new(tracker.capacity(), partitions, user_limited),
            running: HashMap::new(),
            nodes: NodeSet::new([(node, tracker)]),
            fresh: Vec::new(),
            interner: Interner::default(),
            ended: Vec::new(),
            requeued: Vec::new(),
            reserved: None,
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
        self.nodes.release(id);
        let job = self.jobs.get_mut(&id)?;
        job.phase = Phase::Pending {
            reason: Reason::None,
            hold: None,
        };
        let job = job.clone();
        self.enqueue(job.clone());
        Some(job)
    }

    /// Takes what ended since the last commit and is not on disk: the
    /// ended jobs, the requeued ones as they are now, and the usage book
    /// if their runs (or running jobs) charged it. All three come from one
    /// moment under the lock, so the book written holds the charges of
    /// exactly the ends written with it and before it.
    pub fn take_unwritten(&mut self) -> Unwritten {
        let requeued = std::mem::take(&mut self.requeued)
            .into_iter()
            .map(|(id, dir)| (id, self.jobs.get(&id).cloned(), dir))
            .collect();
        Unwritten {
            ended: std::mem::take(&mut self.ended),
            requeued,
            usage: self.priorities.take_unsaved(),
        }
    }

    /// Puts back what a failed commit did not write, for the next one.
    pub fn unwritten_again(&mut self, unwritten: Unwritten) {
        self.ended.extend(unwritten.ended);
        self.requeued
            .extend(unwritten.requeued.into_iter().map(|(id, _, dir)| (id, dir)));
        if unwritten.usage.is_some() {
            self.priorities.unsaved_again();
        }
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

/// What a commit writes besides the jobs it starts: see
/// [`State::take_unwritten`].
#[derive(Debug, Default)]
pub struct Unwritten {
    /// Finished jobs and their directories.
    pub ended: Vec<(Job, PathBuf)>,
    /// Requeued jobs as they were when taken (`None`: gone from memory,
    /// as a cancelled job's record is on disk already), and the
    /// directories of the runs that ended.
    pub requeued: Vec<(JobId, Option<Job>, PathBuf)>,
    /// The usage book, when it holds charges the store lacks.
    pub usage: Option<UsageBook>,
}

impl Unwritten {
    pub fn is_empty(&self) -> bool {
        self.ended.is_empty() && self.requeued.is_empty() && self.usage.is_none()
    }

    /// The records to write: the ended jobs, then the requeued ones.
    pub fn records(&self) -> Vec<Job> {
        self.ended
            .iter()
            .map(|(job, _)| job.clone())
            .chain(self.requeued.iter().filter_map(|(_, job, _)| job.clone()))
            .collect()
    }

    /// The ids of the finished jobs, which leave memory once written.
    pub fn finished(&self) -> impl Iterator<Item = JobId> + '_ {
        self.ended.iter().map(|(job, _)| job.id)
    }

    /// The directories that go once the records are on disk.
    pub fn into_dirs(self) -> impl Iterator<Item = PathBuf> {
        self.ended
            .into_iter()
            .map(|(_, dir)| dir)
            .chain(self.requeued.into_iter().map(|(_, _, dir)| dir))
    }
}

/// The pending jobs in scheduling order, the held ones apart: a pass walks
/// only the jobs that may start, so thousands of held jobs cost it nothing.
/// Jobs that wait for nothing but resources sit in a [`ShapeIndex`], so a
/// pass looks at one job per request shape rather than at all of them.
#[derive(Debug)]
pub struct Queue {
    /// The largest node's resources: a job asking for more CPUs than
    /// there are waits apart, for ever (Slurm's `PartitionConfig`).
    capacity: Capacity,
    /// The partitions: a job over its partition's MaxTime waits apart too
    /// (`PartitionTimeLimit`).
    partitions: Partitions,
    /// Whether per-user limits are set: then the index keeps each user's
    /// jobs of a shape apart, since the user's running jobs may hold them
    /// back (see [`ShapeIndex`]).
    user_limited: bool,
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
    /// An empty queue for a node of this capacity and these partitions.
    pub fn new(capacity: Capacity, partitions: Partitions, user_limited: bool) -> Queue {
        Queue {
            capacity,
            partitions,
            user_limited,
            plain: ShapeIndex::default(),
            others: BTreeSet::new(),
            held: BTreeSet::new(),
            unfit: BTreeSet::new(),
        }
    }

    /// Has the queue go by a new largest node: jobs that asked for more
    /// than the old one had, and fit the new one, are looked at again. (A
    /// smaller one leaves the jobs where they are: they wait for
    /// resources.)
    pub fn set_capacity(&mut self, capacity: Capacity, jobs: &HashMap<JobId, Job>) {
        if capacity == self.capacity {
            return;
        }
        self.capacity = capacity;
        let unfit = std::mem::take(&mut self.unfit);
        for key in unfit {
            match jobs.get(&key.id()) {
                Some(job) => self.insert(job),
                None => {
                    self.unfit.insert(key);
                }
            }
        }
    }

    /// Places a pending job by its priority, hold and request, with the
    /// reason it shows (take it out and insert it again to change that).
    pub fn insert(&mut self, job: &Job) {
        let key = queue_key(job, &self.partitions);
        match job.phase {
            Phase::Pending { hold: Some(_), .. } => {
                self.held.insert(key);
            }
            Phase::Pending { .. } if !self.can_ever_start(job) => {
                self.unfit.insert(key);
            }
            Phase::Pending { reason, .. } if waits_only_for_resources(job) => {
                self.plain.insert(
                    key,
                    job.spec.request,
                    self.chain_user(job),
                    job.spec.time_limit,
                    reason,
                );
            }
            _ => {
                self.others.insert(key);
            }
        }
    }

    /// The user whose chain of the index the job is in: its own when
    /// per-user limits are set (the pass checks each chain's head against
    /// its user's limits), none otherwise.
    fn chain_user(&self, job: &Job) -> Option<u32> {
        self.user_limited.then_some(job.spec.uid)
    }

    /// Whether no pass can ever start the job as it is: it asks for more
    /// than the node has, or for more time than its partition allows.
    fn can_ever_start(&self, job: &Job) -> bool {
        let spec = &job.spec;
        self.capacity.can_ever_fit(&spec.request)
            && !self
                .partitions
                .over_time_limit(&spec.partition, spec.time_limit)
    }

    /// Takes a job out, wherever it was (call before changing the job).
    pub fn remove(&mut self, job: &Job) {
        let key = queue_key(job, &self.partitions);
        self.plain
            .remove(&key, &job.spec.request, self.chain_user(job));
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

/// A job's place in the pending queue: its partition's PriorityTier
/// first (a partition no longer defined has none), then its priority.
pub fn queue_key(job: &Job, partitions: &Partitions) -> QueueKey {
    let tier = partitions
        .get(&job.spec.partition)
        .map_or(0, |p| p.priority_tier);
    QueueKey::new(job.spec.priority, job.spec.submit_time, job.id).in_tier(tier)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::job::JobSpec;

    fn pending(id: u64, partition: &str, time_limit: Option<u64>) -> Job {
        Job {
            id: JobId(id),
            spec: JobSpec {
                partition: partition.into(),
                time_limit,
                ..JobSpec::for_test(1000, 1)
            },
            expected_start: None,
            phase: Phase::Pending {
                reason: Reason::None,
                hold: None,
            },
        }
    }

    fn queue(user_limited: bool) -> Queue {
        let lines = ["PartitionName=debug MaxTime=1".to_string()];
        let partitions = Partitions::from_definitions(&lines, "normal").expect("valid");
        let capacity = Capacity {
            cpus: 2,
            memory_mb: 100,
            gpus: 0,
        };
        Queue::new(capacity, partitions, user_limited)
    }

    #[test]
    fn a_job_over_its_partitions_max_time_waits_where_no_pass_looks() {
        let mut q = queue(false);
        q.insert(&pending(1, "debug", Some(120)));
        assert_eq!((q.len(), q.first_ready()), (1, None));
        q.insert(&pending(2, "debug", Some(60)));
        assert_eq!(q.first_ready().map(|k| k.id()), Some(JobId(2)));
        assert_eq!(q.plain().len(), 1, "waits for resources only");
    }

    #[test]
    fn with_per_user_limits_each_users_jobs_are_indexed_apart() {
        let mut q = queue(true);
        // Each job made once: a job's queue key holds its submit time,
        // which `pending` takes from the clock.
        let jobs: Vec<Job> = [(1, 1000), (2, 1001), (3, 1000)]
            .into_iter()
            .map(|(id, uid)| {
                let mut job = pending(id, "debug", Some(60));
                job.spec.uid = uid;
                job
            })
            .collect();
        for job in &jobs {
            q.insert(job);
        }
        assert_eq!(q.plain().len(), 3);
        assert_eq!(q.plain().chains(), 2, "one chain per user of the shape");
        assert_eq!(q.others().count(), 0);
        q.remove(&jobs[0]);
        assert_eq!((q.plain().len(), q.plain().chains()), (2, 2));
        q.remove(&jobs[2]);
        assert_eq!((q.plain().len(), q.plain().chains()), (1, 1));
    }

    #[test]
    fn a_higher_priority_tier_goes_first_whatever_the_priority() {
        let lines = [
            "PartitionName=low".to_string(),
            "PartitionName=high PriorityTier=5".to_string(),
        ];
        let partitions = Partitions::from_definitions(&lines, "normal").expect("valid");
        let mut rich = pending(1, "low", Some(60));
        rich.spec.priority = 1_000_000;
        let poor = pending(2, "high", Some(60));
        assert!(queue_key(&poor, &partitions) < queue_key(&rich, &partitions));
        let mut q = Queue::new(
            Capacity {
                cpus: 2,
                memory_mb: 100,
                gpus: 0,
            },
            partitions,
            true,
        );
        q.insert(&rich);
        q.insert(&poor);
        assert_eq!(q.first_ready().map(|k| k.id()), Some(JobId(2)));
        q.remove(&poor);
        assert_eq!(q.first_ready().map(|k| k.id()), Some(JobId(1)));
    }
}
