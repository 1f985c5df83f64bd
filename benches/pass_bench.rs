//! The scheduling pass alone, at 100,000 pending jobs: the pure function
//! the daemon runs (`backfill_indexed`, and `first_fit_indexed` for
//! comparison) over a `ShapeIndex`, without a daemon, a store or a lock.
//!
//! Run: `cargo bench --bench pass_bench` (`PASS_BENCH_JOBS` sets the queue
//! length, `PASS_BENCH_RUNS` the passes timed per case).
//!
//! Cases, each on 2 CPUs with one of them held by a job whose time limit
//! runs out in a minute:
//! * `reserved`: a 2-CPU job first, then 1-CPU jobs whose limits are all
//!   longer than the wait: the 2-CPU job is reserved for, and the pass
//!   tests `bf_max_job_test` (500) jobs behind it, refusing each.
//! * `backfilled`: the same, but the 1-CPU jobs end before the
//!   reservation: the first one starts in the free CPU and the pass stops.
//! * `wide`: 2-CPU jobs only: one reservation, and every other job is of a
//!   shape that does not fit (skipped whole).
//! * `first_fit`: the `reserved` queue under First Fit alone.
//! * `user_limited`: the `reserved` queue spread over 50 users with
//!   MaxJobsPerUser=2, where users 0-24 already run 2 jobs each: every
//!   job of theirs shows `AssocMaxJobsLimit`, and the index keeps each
//!   user's jobs of a shape apart so that the pass checks one head per
//!   (shape, user) against its user's limits.
//! * `all_capped`: the same with every user at their limit, so nothing can
//!   start and the walk never stops early: a pass that looked at each job
//!   would read all of them; the index looks at one head per (shape, user).
//!
//! The first pass changes the reasons the jobs show; the daemon then
//! records them, so the figure is the pass after that (the steady state of
//! a pass after each event), with the first one printed beside it.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use conductor::daemon::scheduler::backfill::Settings;
use conductor::daemon::scheduler::limits::{UserLimits, UserUsage};
use conductor::daemon::scheduler::{
    Backfill, Limit, Plan, QueueKey, RunningJob, ShapeIndex, backfill_indexed, first_fit_indexed,
};
use conductor::daemon::{Capacity, ResourceTracker};
use conductor::protocol::{JobId, Reason, ResourceRequest};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpus(n: u32) -> ResourceRequest {
    ResourceRequest {
        cpus: n,
        memory_mb: 0,
        gpus: 0,
    }
}

/// A queue: each job's request, time limit and (with user limits) user,
/// in queue order.
struct Queue {
    index: ShapeIndex,
    jobs: Vec<(QueueKey, ResourceRequest, Option<u64>, Option<u32>)>,
}

impl Queue {
    fn new(jobs: impl Iterator<Item = (ResourceRequest, Option<u64>)>, t0: DateTime<Utc>) -> Queue {
        Queue::of_users(jobs.map(|(request, limit)| (request, limit, None)), t0)
    }

    fn of_users(
        jobs: impl Iterator<Item = (ResourceRequest, Option<u64>, Option<u32>)>,
        t0: DateTime<Utc>,
    ) -> Queue {
        let mut index = ShapeIndex::default();
        let mut all = Vec::new();
        for (n, (request, limit, user)) in jobs.enumerate() {
            let key = QueueKey::new(0, t0, JobId(n as u64 + 1));
            index.insert(key, request, user, limit, Reason::None);
            all.push((key, request, limit, user));
        }
        Queue { index, jobs: all }
    }

    /// Records the reasons a pass reported, as the daemon does.
    fn show(&mut self, plan: &Plan) {
        for (id, reason) in &plan.reasons {
            let (key, request, limit, user) = self.jobs[id.0 as usize - 1];
            self.index.insert(key, request, user, limit, *reason);
        }
    }
}

struct Case {
    name: &'static str,
    queue: Queue,
    backfill: bool,
    /// Per-user limits, with what each user runs.
    limits: Option<(UserLimits, UserUsage)>,
}

/// The users of the `user_limited` case, and how many of them are at their
/// limit.
const USERS: u32 = 50;
const USERS_AT_LIMIT: u32 = 25;

fn main() {
    let jobs = env_num("PASS_BENCH_JOBS", 100_000);
    let runs = env_num("PASS_BENCH_RUNS", 50);
    let t0 = DateTime::from_timestamp(1_800_000_000, 0).expect("valid time");
    let mut tracker = ResourceTracker::new(Capacity {
        cpus: 2,
        memory_mb: 0,
        gpus: 0,
    });
    tracker
        .allocate(JobId(u64::MAX), &cpus(1))
        .expect("the busy job fits");
    let running = [RunningJob::new(cpus(1), t0, Some(60))];
    let long_limits = [300, 600, 3_600];
    let stream = |short: bool| {
        let first = std::iter::once((cpus(2), Some(60)));
        let rest = (1..jobs).map(move |n| {
            let limit = if short { 30 } else { long_limits[n % 3] };
            (cpus(1), Some(limit))
        });
        first.chain(rest)
    };
    // The `reserved` queue over USERS users with MaxJobsPerUser=2, the
    // first `at_limit` of them running 2 jobs each.
    let users_case = |name, at_limit: u32| Case {
        name,
        queue: Queue::of_users(
            stream(false)
                .zip((0..USERS).rev().cycle())
                .map(|((request, limit), uid)| (request, limit, Some(uid))),
            t0,
        ),
        backfill: true,
        limits: Some((
            UserLimits {
                max_jobs: Some(2),
                ..UserLimits::default()
            },
            UserUsage::count((0..at_limit).flat_map(|uid| [(uid, cpus(0)), (uid, cpus(0))])),
        )),
    };
    let mut cases = vec![
        Case {
            name: "reserved",
            queue: Queue::new(stream(false), t0),
            backfill: true,
            limits: None,
        },
        Case {
            name: "backfilled",
            queue: Queue::new(stream(true), t0),
            backfill: true,
            limits: None,
        },
        Case {
            name: "wide",
            queue: Queue::new((0..jobs).map(|_| (cpus(2), Some(60))), t0),
            backfill: true,
            limits: None,
        },
        Case {
            name: "first_fit",
            queue: Queue::new(stream(false), t0),
            backfill: false,
            limits: None,
        },
        users_case("user_limited", USERS_AT_LIMIT),
        users_case("all_capped", USERS),
    ];
    println!("pass over {jobs} pending jobs, 2 CPUs, 1 free; {runs} passes per case");
    println!(
        "{:<12} {:>12} {:>12} {:>12} {:>8} {:>8}",
        "case", "first_us", "median_us", "max_us", "starts", "reasons"
    );
    for case in &mut cases {
        let now = t0 + TimeDelta::seconds(1);
        let limits = &case.limits;
        let user_limits = |uid: u32, request: &ResourceRequest| -> Vec<Limit> {
            limits.as_ref().map_or_else(Vec::new, |(limits, usage)| {
                limits.limits(uid, usage.of(uid), request)
            })
        };
        let pass = |queue: &Queue| {
            let mut t = tracker.clone();
            let started = Instant::now();
            let plan = if case.backfill {
                let backfill = Backfill {
                    now,
                    settings: Settings::default(),
                    running: &running,
                };
                backfill_indexed(
                    std::iter::empty(),
                    |_| None,
                    &queue.index,
                    user_limits,
                    &mut t,
                    backfill,
                )
            } else {
                first_fit_indexed(
                    std::iter::empty(),
                    |_| None,
                    &queue.index,
                    user_limits,
                    &mut t,
                )
            };
            (started.elapsed(), plan)
        };
        let (first, plan) = pass(&case.queue);
        case.queue.show(&plan);
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut last = plan;
        for _ in 0..runs {
            let (took, plan) = pass(&case.queue);
            times.push(took);
            last = plan;
        }
        times.sort();
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "{:<12} {:>12.1} {:>12.1} {:>12.1} {:>8} {:>8}",
            case.name,
            micros(first),
            micros(times[times.len() / 2]),
            micros(times[times.len() - 1]),
            last.starts.len(),
            last.reasons.len(),
        );
    }
}
