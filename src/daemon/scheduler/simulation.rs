//! Backfill on a simulated clock: small random workloads run event by
//! event (a submission, a job's end at its start plus its actual run time,
//! never past its limit), with the daemon's indexed pass after each
//! event, as the daemon runs it. Whatever starts ahead of it, the job a
//! reservation is made for starts no later than the time that reservation
//! first promised.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::backfill::{Backfill, RunningJob, Settings};
use super::{QueueKey, ShapeIndex, backfill_indexed};
use crate::daemon::tracker::{Capacity, ResourceTracker};
use crate::protocol::{JobId, Reason, ResourceRequest};

/// One job of a workload.
#[derive(Debug, Clone)]
struct Work {
    request: ResourceRequest,
    /// Its time limit, in seconds.
    limit: u64,
    /// How long it really runs: at most its limit.
    runs: u64,
    submit: i64,
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_000_000 + seconds, 0).expect("valid time")
}

fn seconds(time: DateTime<Utc>) -> i64 {
    time.timestamp() - 1_000_000
}

fn workload(cpus: u32, gpus: u32) -> impl Strategy<Value = Vec<Work>> {
    proptest::collection::vec((1..=cpus, 0..=gpus, 1u64..=20, 1u64..=100, 0i64..30), 1..12)
        .prop_map(|jobs| {
            jobs.into_iter()
                .map(|(cpus, gpus, limit, percent, submit)| Work {
                    request: ResourceRequest {
                        cpus,
                        memory_mb: 0,
                        gpus,
                    },
                    limit,
                    runs: (limit * percent).div_ceil(100),
                    submit,
                })
                .collect()
        })
}

/// A running job: where it started and when it really ends.
struct Run {
    start: i64,
    end: i64,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn backfill_never_delays_the_reserved_job(
        (cpus, gpus, work) in (1u32..=4, 0u32..=1)
            .prop_flat_map(|(c, g)| (Just(c), Just(g), workload(c, g))),
        max_job_test in 1usize..8,
    ) {
        let mut tracker = ResourceTracker::new(Capacity { cpus, memory_mb: 0, gpus });
        let settings = Settings { max_job_test, ..Settings::default() };
        let key = |n: usize| QueueKey::new(0, at(work[n].submit), JobId(n as u64));
        let mut index = ShapeIndex::default();
        let mut running: HashMap<usize, Run> = HashMap::new();
        // When each reserved job was first promised its start.
        let mut promised: HashMap<JobId, i64> = HashMap::new();
        let mut started = 0;
        let mut now = 0;
        loop {
            let ended: Vec<usize> = running
                .iter()
                .filter(|(_, run)| run.end <= now)
                .map(|(n, _)| *n)
                .collect();
            for n in ended {
                running.remove(&n);
                tracker.release(JobId(n as u64));
            }
            for (n, job) in work.iter().enumerate().filter(|(_, job)| job.submit == now) {
                index.insert(key(n), job.request, None, Some(job.limit), Reason::None);
            }
            let holding: Vec<RunningJob> = running
                .iter()
                .map(|(n, run)| RunningJob::new(work[*n].request, at(run.start), Some(work[*n].limit)))
                .collect();
            let backfill = Backfill { now: at(now), settings, running: &holding };
            let plan = backfill_indexed(
                std::iter::empty(),
                |_| None,
                &index,
                |_, _| Vec::new(),
                &mut tracker,
                backfill,
            );
            for (id, reason) in &plan.reasons {
                let n = id.0 as usize;
                index.insert(key(n), work[n].request, None, Some(work[n].limit), *reason);
            }
            if let Some(reservation) = plan.reservation {
                let start = seconds(reservation.start);
                prop_assert!(start >= now);
                promised.entry(reservation.job).or_insert(start);
            }
            for (id, _) in &plan.starts {
                if let Some(promise) = promised.get(id) {
                    prop_assert!(
                        now <= *promise,
                        "job {} started at {} but was promised {}", id, now, promise
                    );
                }
                let n = id.0 as usize;
                index.remove(&key(n), &work[n].request, None);
                running.insert(n, Run { start: now, end: now + work[n].runs as i64 });
                started += 1;
            }
            let next_submit = work.iter().map(|job| job.submit).filter(|s| *s > now).min();
            let next_end = running.values().map(|run| run.end).min();
            match next_submit.into_iter().chain(next_end).min() {
                Some(next) => now = next,
                None => break,
            }
        }
        prop_assert_eq!(started, work.len(), "every job ran");
        prop_assert!(index.is_empty());
    }
}
