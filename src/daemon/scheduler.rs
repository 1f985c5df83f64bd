//! First Fit: walk the pending jobs in queue order and start every one that
//! fits in what is free at that moment. A job that does not fit is passed
//! over, so it never blocks smaller jobs behind it.
//!
//! The pass is a pure function over the queue and the tracker, so tests
//! drive it without processes, and the daemon calls it on events (submit,
//! job end, cancel, start-up), never on a timer.

use std::cmp::Reverse;
use std::collections::HashMap;

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

/// A cap on how many jobs of a group run at once: an array's `%N`
/// throttle, or a singleton dependency (one job per name and user).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Limit {
    /// The group, e.g. `array:12` or `singleton:1000:train`.
    pub group: String,
    /// Jobs of the group running before the pass.
    pub running: u32,
    pub max: u32,
    /// What a job held back by the cap shows.
    pub reason: Reason,
}

/// A pending job as the pass sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: JobId,
    pub request: ResourceRequest,
    /// The reason the job shows now, so the pass reports only changes.
    pub reason: Reason,
    /// `Some(reason)` when the job may not start now whatever is free
    /// (held, before its begin time, waiting for a dependency).
    pub blocked: Option<Reason>,
    pub limits: Vec<Limit>,
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
/// It stops as soon as no CPU is free, so its cost is the jobs it looks at.
pub fn first_fit(
    pending: impl IntoIterator<Item = Candidate>,
    tracker: &mut ResourceTracker,
) -> Plan {
    let mut plan = Plan::default();
    let mut waiting = Waiting::default();
    let mut started_in: HashMap<String, u32> = HashMap::new();
    for job in pending {
        // Every job asks for at least one CPU: once none is free, nothing
        // more can start in this pass, and the rest keep their reasons.
        if tracker.free().cpus == 0 {
            break;
        }
        let capped = job.limits.iter().find(|limit| {
            limit.running + started_in.get(&limit.group).copied().unwrap_or(0) >= limit.max
        });
        let reason = if let Some(blocked) = job.blocked {
            blocked
        } else if let Some(limit) = capped {
            limit.reason
        } else {
            match tracker.allocate(job.id, &job.request) {
                Ok(allocation) => {
                    plan.starts.push((job.id, allocation));
                    for limit in &job.limits {
                        *started_in.entry(limit.group.clone()).or_default() += 1;
                    }
                    continue;
                }
                Err(_) => waiting.place(&job.request, tracker.free()),
            }
        };
        if reason != job.reason {
            plan.reasons.push((job.id, reason));
        }
    }
    plan
}

impl Waiting {
    /// The reason of a job that does not fit in `free`, noting which
    /// resources it now waits for.
    fn place(&mut self, request: &ResourceRequest, free: ResourceRequest) -> Reason {
        let short = Waiting {
            cpus: request.cpus > free.cpus,
            memory: request.memory_mb > free.memory_mb,
            gpus: request.gpus > free.gpus,
        };
        let behind =
            (short.cpus && self.cpus) || (short.memory && self.memory) || (short.gpus && self.gpus);
        self.cpus |= short.cpus;
        self.memory |= short.memory;
        self.gpus |= short.gpus;
        if behind {
            Reason::Priority
        } else {
            Reason::Resources
        }
    }
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
            blocked: None,
            limits: Vec::new(),
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
        let mut t = tracker(3, 1000, 1);
        let plan = first_fit(
            [
                job(1, 2, 0, 0),
                job(2, 2, 0, 0),
                job(3, 2, 0, 0),
                job(4, 1, 0, 1),
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
    fn the_pass_stops_once_no_cpu_is_free() {
        let mut t = tracker(1, 0, 0);
        let plan = first_fit([job(1, 1, 0, 0), job(2, 1, 0, 0), job(3, 1, 0, 0)], &mut t);
        assert_eq!(started(&plan), vec![1]);
        assert!(
            plan.reasons.is_empty(),
            "jobs after the stop keep their reasons"
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
    fn blocked_jobs_keep_their_reason_and_take_nothing() {
        let mut t = tracker(2, 0, 0);
        let mut held = job(1, 1, 0, 0);
        held.blocked = Some(Reason::JobHeldUser);
        let plan = first_fit([held, job(2, 2, 0, 0)], &mut t);
        assert_eq!(started(&plan), vec![2]);
        assert_eq!(plan.reasons, vec![(JobId(1), Reason::JobHeldUser)]);
    }

    #[test]
    fn a_group_limit_caps_starts_within_the_pass() {
        let mut t = tracker(8, 0, 0);
        let task = |id| {
            let mut c = job(id, 1, 0, 0);
            c.limits.push(Limit {
                group: "array:1".into(),
                running: 1,
                max: 3,
                reason: Reason::JobArrayTaskLimit,
            });
            c
        };
        let plan = first_fit([task(2), task(3), task(4)], &mut t);
        assert_eq!(started(&plan), vec![2, 3]);
        assert_eq!(plan.reasons, vec![(JobId(4), Reason::JobArrayTaskLimit)]);
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
