//! Backfill on a simulated clock: small random workloads run event by
//! event (a submission, a job's end at its start plus its actual run time,
//! never past its limit), with the daemon's indexed pass after each
//! event, as the daemon runs it, on one node or across several. Whatever
//! starts ahead of it, the job a reservation is made for starts no later
//! than the time that reservation first promised.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use proptest::test_runner::TestCaseError;

use super::backfill::{Backfill, RunningJob, Settings};
use super::{NodeSet, Pool, QueueKey, ShapeIndex, backfill_indexed};
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

/// A running job: when it started, when it really ends, and the place
/// of its node in the pool.
struct Run {
    start: i64,
    end: i64,
    node: usize,
}

/// Runs `work` to the end, event by event, with a pass after each, in
/// `pool` (`release` gives a job's resources back): every job runs, and
/// none reserved for starts after its first promise.
fn simulate<P: Pool>(
    pool: &mut P,
    release: impl Fn(&mut P, JobId),
    work: &[Work],
    max_job_test: usize,
) -> Result<(), TestCaseError> {
    let settings = Settings {
        max_job_test,
        ..Settings::default()
    };
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
            release(pool, JobId(n as u64));
        }
        for (n, job) in work.iter().enumerate().filter(|(_, job)| job.submit == now) {
            index.insert(key(n), job.request, None, Some(job.limit), Reason::None);
        }
        let holding: Vec<RunningJob> = running
            .iter()
            .map(|(n, run)| {
                RunningJob::new(work[*n].request, at(run.start), Some(work[*n].limit)).on(run.node)
            })
            .collect();
        let backfill = Backfill {
            now: at(now),
            settings,
            running: &holding,
        };
        let plan = backfill_indexed(
            std::iter::empty(),
            |_| None,
            &index,
            |_, _| Vec::new(),
            pool,
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
                    "job {} started at {} but was promised {}",
                    id,
                    now,
                    promise
                );
            }
            let n = id.0 as usize;
            index.remove(&key(n), &work[n].request, None);
            let run = Run {
                start: now,
                end: now + work[n].runs as i64,
                node: pool.node_index(*id),
            };
            running.insert(n, run);
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
    Ok(())
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
        simulate(&mut tracker, |t, id| { t.release(id); }, &work, max_job_test)?;
    }

    /// Across nodes each reservation is on one node, and a job that runs
    /// past it may start on another, or on that one within its spare.
    #[test]
    fn across_nodes_backfill_never_delays_the_reserved_job(
        (sizes, work) in proptest::collection::vec((1u32..=4, 0u32..=1), 1..=3)
            .prop_flat_map(|sizes| {
                let cpus = sizes.iter().map(|(c, _)| *c).max().unwrap_or(1);
                let gpus = sizes.iter().map(|(_, g)| *g).max().unwrap_or(0);
                (Just(sizes), workload(cpus, gpus))
            }),
        max_job_test in 1usize..8,
    ) {
        // Every job fits on some node: the largest has the most CPUs, and
        // a job asks for a GPU only where some node has one; drop those
        // that fit on none, which would wait for ever.
        let capacity = |&(cpus, gpus): &(u32, u32)| Capacity { cpus, memory_mb: 0, gpus };
        let work: Vec<Work> = work
            .into_iter()
            .filter(|w| sizes.iter().any(|s| capacity(s).can_ever_fit(&w.request)))
            .collect();
        let mut set = NodeSet::new(sizes.iter().enumerate().map(|(n, size)| {
            (format!("n{n}"), ResourceTracker::new(capacity(size)))
        }));
        simulate(&mut set, |s, id| { s.release(id); }, &work, max_job_test)?;
    }
}
