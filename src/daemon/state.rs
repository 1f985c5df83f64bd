//! The daemon's one state: every job not yet finished for good, the pending
//! queue, the resource books, and the handles of running jobs.

use std::collections::{BTreeSet, HashMap};

use crate::daemon::executor::Supervisor;
use crate::daemon::job::Job;
use crate::daemon::scheduler::QueueKey;
use crate::daemon::tracker::ResourceTracker;
use crate::protocol::{JobId, JobState};

/// A running job's handle, beside its `Job`.
#[derive(Debug, Default)]
pub struct Running {
    /// The job's supervisor; `None` until it has started.
    pub supervisor: Option<Supervisor>,
    /// A cancel that arrived before the supervisor had started.
    pub cancel_by: Option<u32>,
}

/// All mutable job state, behind the daemon's one lock.
pub struct State {
    /// Pending and running jobs, and finished ones until their final record
    /// is committed (then the store answers for them).
    pub jobs: HashMap<JobId, Job>,
    /// Pending jobs in scheduling order.
    pub queue: BTreeSet<QueueKey>,
    pub running: HashMap<JobId, Running>,
    pub tracker: ResourceTracker,
    /// Jobs queued since the last pass, which may show no reason yet.
    pub fresh: Vec<JobId>,
}

impl State {
    pub fn new(tracker: ResourceTracker) -> State {
        State {
            jobs: HashMap::new(),
            queue: BTreeSet::new(),
            running: HashMap::new(),
            tracker,
            fresh: Vec::new(),
        }
    }

    /// Adds a pending job to the table and the queue.
    pub fn enqueue(&mut self, job: Job) {
        self.queue.insert(queue_key(&job));
        self.fresh.push(job.id);
        self.jobs.insert(job.id, job);
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

/// A job's place in the pending queue.
pub fn queue_key(job: &Job) -> QueueKey {
    QueueKey::new(job.spec.priority, job.spec.submit_time, job.id)
}
