//! First Fit: walk the pending jobs in queue order and start every one that
//! fits in what is free at that moment. A job that does not fit is passed
//! over, so it never blocks smaller jobs behind it.
//!
//! The pass is a pure function over the queue and the tracker, so tests
//! drive it without processes, and the daemon calls it on events (submit,
//! job end, cancel, start-up), never on a timer.

use std::cmp::Reverse;

use chrono::{DateTime, Utc};

use crate::daemon::tracker::{Allocation, ResourceTracker};
use crate::protocol::{JobId, Reason, ResourceRequest};

/// Order of the pending queue: higher priority first, then earlier submit,
/// then lower id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueKey {
    priority: Reverse<i64>,
    submit_millis: i64,
    id: JobId,
}

impl QueueKey {
    pub fn new(priority: i64, submit_time: DateTime<Utc>, id: JobId) -> QueueKey {
        QueueKey {
            priority: Reverse(priority),
            submit_millis: submit_time.timestamp_millis(),
            id,
        }
    }

    pub fn id(&self) -> JobId {
        self.id
    }
}

/// A pending job as the pass sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub id: JobId,
    pub request: ResourceRequest,
    /// The reason the job shows now, so the pass reports only changes.
    pub reason: Reason,
}

/// What one pass decided.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Jobs to start, with the resources now booked for them, in queue order.
    pub starts: Vec<(JobId, Allocation)>,
    /// Jobs that stay pending and whose reason changed.
    pub reasons: Vec<(JobId, Reason)>,
}

/// Which kinds of resource an earlier job in this pass is already waiting
/// for: a later job short of the same kind waits behind it (`Priority`).
#[derive(Debug, Default, Clone, Copy)]
struct Waiting {
    cpus: bool,
    memory: bool,
    gpus: bool,
}

/// Runs one First Fit pass, booking resources in `tracker` for each start.
pub fn first_fit(
    pending: impl IntoIterator<Item = Candidate>,
    tracker: &mut ResourceTracker,
) -> Plan {
    let mut plan = Plan::default();
    let mut waiting = Waiting::default();
    for job in pending {
        let reason = match tracker.allocate(job.id, &job.request) {
            Ok(allocation) => {
                plan.starts.push((job.id, allocation));
                continue;
            }
            Err(_) => {
                let free = tracker.free();
                let short = Waiting {
                    cpus: job.request.cpus > free.cpus,
                    memory: job.request.memory_mb > free.memory_mb,
                    gpus: job.request.gpus > free.gpus,
                };
                let behind = (short.cpus && waiting.cpus)
                    || (short.memory && waiting.memory)
                    || (short.gpus && waiting.gpus);
                waiting.cpus |= short.cpus;
                waiting.memory |= short.memory;
                waiting.gpus |= short.gpus;
                if behind {
                    Reason::Priority
                } else {
                    Reason::Resources
                }
            }
        };
        if reason != job.reason {
            plan.reasons.push((job.id, reason));
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::tracker::Capacity;

    fn tracker(cpus: u32, memory_mb: u64, gpus: u32) -> ResourceTracker {
        ResourceTracker::new(Capacity {
            cpus,
            memory_mb,
            gpus,
        })
    }

    fn job(id: u64, cpus: u32, memory_mb: u64, gpus: u32) -> Candidate {
        Candidate {
            id: JobId(id),
            request: ResourceRequest {
                cpus,
                memory_mb,
                gpus,
            },
            reason: Reason::None,
        }
    }

    fn started(plan: &Plan) -> Vec<u64> {
        plan.starts.iter().map(|(id, _)| id.0).collect()
    }

    #[test]
    fn a_job_that_does_not_fit_does_not_block_smaller_ones() {
        let mut t = tracker(3, 1000, 0);
        let first = first_fit([job(1, 2, 0, 0)], &mut t);
        assert_eq!(started(&first), vec![1]);
        let plan = first_fit([job(2, 2, 0, 0), job(3, 1, 0, 0)], &mut t);
        assert_eq!(started(&plan), vec![3]);
        assert_eq!(plan.reasons, vec![(JobId(2), Reason::Resources)]);
    }

    #[test]
    fn later_jobs_short_of_the_same_resource_wait_for_priority() {
        let mut t = tracker(2, 1000, 1);
        let plan = first_fit(
            [
                job(1, 2, 0, 0),
                job(2, 2, 0, 0),
                job(3, 1, 0, 0),
                job(4, 0, 0, 1),
            ],
            &mut t,
        );
        assert_eq!(started(&plan), vec![1, 4]);
        assert_eq!(
            plan.reasons,
            vec![(JobId(2), Reason::Resources), (JobId(3), Reason::Priority)]
        );
    }

    #[test]
    fn a_job_short_of_another_resource_is_next_in_line_for_it() {
        let mut t = tracker(4, 100, 0);
        let plan = first_fit(
            [job(1, 1, 100, 0), job(2, 1, 50, 0), job(3, 8, 0, 0)],
            &mut t,
        );
        assert_eq!(started(&plan), vec![1]);
        assert_eq!(
            plan.reasons,
            vec![(JobId(2), Reason::Resources), (JobId(3), Reason::Resources)]
        );
    }

    #[test]
    fn unchanged_reasons_are_not_reported_again() {
        let mut t = tracker(1, 0, 0);
        let mut waiting = job(2, 1, 0, 0);
        waiting.reason = Reason::Resources;
        let plan = first_fit([job(1, 1, 0, 0), waiting], &mut t);
        assert_eq!(started(&plan), vec![1]);
        assert!(plan.reasons.is_empty());
    }

    #[test]
    fn starts_book_concrete_ids_in_queue_order() {
        let mut t = tracker(4, 0, 2);
        let plan = first_fit([job(1, 1, 0, 1), job(2, 2, 0, 1)], &mut t);
        assert_eq!(plan.starts[0].1.cpu_ids, vec![0]);
        assert_eq!(plan.starts[1].1.cpu_ids, vec![1, 2]);
        assert_eq!(plan.starts[1].1.gpu_ids, vec![1]);
        assert_eq!(t.free().cpus, 1);
    }

    #[test]
    fn queue_order_is_priority_then_submit_then_id() {
        let t0 = DateTime::from_timestamp(1_000, 0).expect("valid time");
        let t1 = DateTime::from_timestamp(2_000, 0).expect("valid time");
        let mut keys = [
            QueueKey::new(0, t1, JobId(3)),
            QueueKey::new(0, t0, JobId(2)),
            QueueKey::new(5, t1, JobId(4)),
            QueueKey::new(0, t0, JobId(1)),
        ];
        keys.sort();
        let ids: Vec<u64> = keys.iter().map(|k| k.id().0).collect();
        assert_eq!(ids, vec![4, 1, 2, 3]);
    }
}
