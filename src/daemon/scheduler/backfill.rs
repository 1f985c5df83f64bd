//! EASY backfill, Slurm's sched/backfill with one reservation: the first
//! job in queue order that may start but does not fit gets a reservation
//! at the earliest time enough resources will be free, reckoned from the
//! running jobs' time limits; a later job may then start now only if it
//! cannot delay that start: it ends before it, or it fits in what the
//! reserved job leaves over then (`spare`).
//!
//! These are the pure pieces the pass uses: when the reservation is
//! ([`reserve`]) and whether a later job may go ahead of it
//! ([`Reservation::admits`]). Counts of CPUs, memory and GPUs are enough
//! on one node, since any free CPU serves any job.

use chrono::{DateTime, TimeDelta, Utc};

use crate::protocol::{JobId, ResourceRequest};

/// Slurm's `bf_window` default: reservations reach at most a day ahead.
pub const DEFAULT_WINDOW_MINUTES: u64 = 1440;

/// Slurm's `bf_max_job_test` default: jobs a pass tests once it reserved.
pub const DEFAULT_MAX_JOB_TEST: usize = 500;

/// How far backfill looks and how much a pass does
/// (slurm.conf's `SchedulerParameters`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// A reservation later than this from now is not made (`bf_window`):
    /// the pass then places jobs First Fit.
    pub window: TimeDelta,
    /// Jobs a pass tests for backfill once it has made its reservation
    /// (`bf_max_job_test`); the rest wait for the next pass, so a pass
    /// over a long queue stays cheap.
    pub max_job_test: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            window: TimeDelta::minutes(DEFAULT_WINDOW_MINUTES as i64),
            max_job_test: DEFAULT_MAX_JOB_TEST,
        }
    }
}

/// A job that holds resources, as the reservation sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunningJob {
    /// What it holds.
    pub holds: ResourceRequest,
    /// When its time limit runs out; `None` for a job without one, which
    /// may hold its resources for ever.
    pub ends_by: Option<DateTime<Utc>>,
    /// Which of the pass's nodes it runs on (see
    /// [`Pool`](super::Pool)); 0 on one node.
    pub node: usize,
}

impl RunningJob {
    /// A job started at `start` with a limit of `time_limit` seconds, on
    /// the first (or only) node.
    pub fn new(holds: ResourceRequest, start: DateTime<Utc>, time_limit: Option<u64>) -> Self {
        RunningJob {
            holds,
            ends_by: time_limit.and_then(|limit| after(start, limit)),
            node: 0,
        }
    }

    /// The same job on the pass's `node`th node.
    pub fn on(self, node: usize) -> Self {
        RunningJob { node, ..self }
    }
}

/// What a pass with backfill knows besides the queue and the tracker.
#[derive(Debug, Clone, Copy)]
pub struct Backfill<'a> {
    pub now: DateTime<Utc>,
    pub settings: Settings,
    /// The jobs that hold resources as the pass begins.
    pub running: &'a [RunningJob],
}

/// The one reservation of a pass: the job it is for, when that job will
/// start at the latest, and what is left over then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    pub job: JobId,
    /// The earliest time enough will be free for the job (Slurm's `T`).
    pub start: DateTime<Utc>,
    /// What will be free at `start` beyond what the job needs, on its
    /// node; jobs that run past `start` there may take it, and it shrinks
    /// by what they take.
    pub spare: ResourceRequest,
    /// Which of the pass's nodes the job will start on; 0 on one node.
    /// Jobs on the other nodes cannot delay it.
    pub node: usize,
}

impl Reservation {
    /// Whether a job that fits now may start on the reserved node without
    /// delaying the reserved job: its time limit ends it by the
    /// reservation's start, or else it fits in what is spare then (and
    /// takes it). A job without a time limit can only use the spare.
    pub fn admits(
        &mut self,
        request: &ResourceRequest,
        time_limit: Option<u64>,
        now: DateTime<Utc>,
    ) -> bool {
        self.ends_before(time_limit, now) || self.take_spare(request)
    }

    /// Whether a job started `now` with `time_limit` has ended by the
    /// reservation's start, wherever it runs.
    pub fn ends_before(&self, time_limit: Option<u64>, now: DateTime<Utc>) -> bool {
        time_limit
            .and_then(|limit| after(now, limit))
            .is_some_and(|end| end <= self.start)
    }

    /// Takes `request` from what is spare at the start, if it fits there.
    pub fn take_spare(&mut self, request: &ResourceRequest) -> bool {
        let fit = fits(request, &self.spare);
        if fit {
            self.spare = minus(&self.spare, request);
        }
        fit
    }
}

/// When `request` can start at the earliest, with what is spare then:
/// adds to what is `free` now what each running job holds, in the order
/// their limits run out, until the request fits. `None` when a job it
/// needs has no limit (it may run for ever), or when that time lies
/// beyond the window.
pub fn reserve(
    request: &ResourceRequest,
    free: ResourceRequest,
    running: impl IntoIterator<Item = RunningJob>,
    now: DateTime<Utc>,
    window: TimeDelta,
) -> Option<(DateTime<Utc>, ResourceRequest)> {
    if fits(request, &free) {
        return Some((now, minus(&free, request)));
    }
    let mut ends: Vec<RunningJob> = running.into_iter().collect();
    // No limit sorts last: such a job is reached only if all the others
    // are not enough.
    ends.sort_by_key(|job| (job.ends_by.is_none(), job.ends_by));
    let mut free_then = free;
    let mut start = None;
    for job in &ends {
        match (start, job.ends_by) {
            (None, None) => return None,
            // Jobs that end with the last one needed free theirs too.
            (Some(at), Some(end)) if end > at => break,
            (Some(_), None) => break,
            _ => {}
        }
        free_then = plus(&free_then, &job.holds);
        if start.is_none() && fits(request, &free_then) {
            start = job.ends_by;
        }
    }
    // Never before now: a job past its limit is being killed.
    let start = start?.max(now);
    let limit = now.checked_add_signed(window)?;
    (start <= limit).then(|| (start, minus(&free_then, request)))
}

/// `start` plus `seconds`, `None` past what a time can hold.
fn after(start: DateTime<Utc>, seconds: u64) -> Option<DateTime<Utc>> {
    let seconds = i64::try_from(seconds).ok()?;
    start.checked_add_signed(TimeDelta::try_seconds(seconds)?)
}

/// Whether `request` fits in `room`.
pub(super) fn fits(request: &ResourceRequest, room: &ResourceRequest) -> bool {
    request.cpus <= room.cpus && request.memory_mb <= room.memory_mb && request.gpus <= room.gpus
}

fn plus(a: &ResourceRequest, b: &ResourceRequest) -> ResourceRequest {
    ResourceRequest {
        cpus: a.cpus.saturating_add(b.cpus),
        memory_mb: a.memory_mb.saturating_add(b.memory_mb),
        gpus: a.gpus.saturating_add(b.gpus),
    }
}

fn minus(a: &ResourceRequest, b: &ResourceRequest) -> ResourceRequest {
    ResourceRequest {
        cpus: a.cpus.saturating_sub(b.cpus),
        memory_mb: a.memory_mb.saturating_sub(b.memory_mb),
        gpus: a.gpus.saturating_sub(b.gpus),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_000_000 + seconds, 0).expect("valid time")
    }

    fn cpus(n: u32) -> ResourceRequest {
        ResourceRequest {
            cpus: n,
            memory_mb: 0,
            gpus: 0,
        }
    }

    fn running(n: u32, ends: Option<i64>) -> RunningJob {
        RunningJob {
            holds: cpus(n),
            ends_by: ends.map(at),
            node: 0,
        }
    }

    fn day() -> TimeDelta {
        Settings::default().window
    }

    #[test]
    fn the_reservation_is_when_enough_running_jobs_have_ended() {
        // 4 CPUs: 1 free, three jobs of 1 CPU ending at 30, 10 and 20.
        let jobs = [
            running(1, Some(30)),
            running(1, Some(10)),
            running(1, Some(20)),
        ];
        assert_eq!(
            reserve(&cpus(3), cpus(1), jobs, at(0), day()),
            Some((at(20), cpus(0)))
        );
        assert_eq!(
            reserve(&cpus(2), cpus(1), jobs, at(0), day()),
            Some((at(10), cpus(0)))
        );
        assert_eq!(
            reserve(&cpus(4), cpus(1), jobs, at(0), day()),
            Some((at(30), cpus(0)))
        );
    }

    #[test]
    fn jobs_ending_with_the_last_one_needed_are_spare() {
        let jobs = [
            running(2, Some(10)),
            running(1, Some(10)),
            running(1, Some(50)),
        ];
        assert_eq!(
            reserve(&cpus(2), cpus(0), jobs, at(0), day()),
            Some((at(10), cpus(1)))
        );
    }

    #[test]
    fn every_resource_must_fit() {
        let gpu = |gpus, memory_mb| ResourceRequest {
            cpus: 1,
            memory_mb,
            gpus,
        };
        let jobs = [
            RunningJob {
                holds: gpu(0, 500),
                ends_by: Some(at(5)),
                node: 0,
            },
            RunningJob {
                holds: gpu(1, 0),
                ends_by: Some(at(40)),
                node: 0,
            },
        ];
        // Memory frees at 5, the GPU only at 40.
        assert_eq!(
            reserve(&gpu(1, 500), gpu(0, 100), jobs, at(0), day()),
            Some((
                at(40),
                ResourceRequest {
                    cpus: 2,
                    memory_mb: 100,
                    gpus: 0
                }
            ))
        );
    }

    #[test]
    fn no_reservation_when_a_needed_job_has_no_limit() {
        let jobs = [running(1, None), running(1, Some(10))];
        assert_eq!(reserve(&cpus(2), cpus(0), jobs, at(0), day()), None);
        // The limited job alone is enough for one CPU.
        assert_eq!(
            reserve(&cpus(1), cpus(0), jobs, at(0), day()),
            Some((at(10), cpus(0)))
        );
    }

    #[test]
    fn no_reservation_beyond_the_window() {
        let jobs = [running(1, Some(3_600))];
        let hour = TimeDelta::minutes(60);
        assert_eq!(
            reserve(&cpus(1), cpus(0), jobs, at(0), hour),
            Some((at(3_600), cpus(0)))
        );
        assert_eq!(
            reserve(&cpus(1), cpus(0), jobs, at(0), TimeDelta::minutes(59)),
            None
        );
    }

    #[test]
    fn a_job_past_its_limit_frees_its_resources_now() {
        // Killed at its limit, it has not ended yet: the soonest is now.
        let jobs = [running(1, Some(-5))];
        assert_eq!(
            reserve(&cpus(1), cpus(0), jobs, at(0), day()),
            Some((at(0), cpus(0)))
        );
    }

    #[test]
    fn a_request_that_never_fits_gets_no_reservation() {
        let jobs = [running(1, Some(5))];
        assert_eq!(reserve(&cpus(4), cpus(1), jobs, at(0), day()), None);
    }

    fn reservation(start: i64, spare: u32) -> Reservation {
        Reservation {
            job: JobId(1),
            start: at(start),
            spare: cpus(spare),
            node: 0,
        }
    }

    #[test]
    fn a_job_that_ends_before_the_reservation_goes_ahead() {
        let mut r = reservation(100, 0);
        assert!(r.admits(&cpus(1), Some(100), at(0)), "ends exactly then");
        assert!(!r.admits(&cpus(1), Some(101), at(0)));
        assert!(!r.admits(&cpus(1), Some(60), at(50)), "later, less time");
        assert_eq!(r.spare, cpus(0));
    }

    #[test]
    fn a_job_that_runs_past_it_takes_the_spare() {
        let mut r = reservation(100, 2);
        assert!(r.admits(&cpus(1), Some(500), at(0)));
        assert_eq!(r.spare, cpus(1));
        assert!(r.admits(&cpus(1), None, at(0)), "no limit: spare only");
        assert_eq!(r.spare, cpus(0));
        assert!(!r.admits(&cpus(1), None, at(0)));
        // Ending before the reservation takes nothing from the spare.
        assert!(r.admits(&cpus(1), Some(10), at(0)));
        assert_eq!(r.spare, cpus(0));
    }

    // The rules as the pass applies them.

    use crate::daemon::scheduler::{Candidate, Plan, backfill_walk, first_fit};
    use crate::daemon::tracker::{Capacity, ResourceTracker};
    use crate::protocol::Reason;

    fn node(total: u32, busy: &[(u32, Option<i64>)]) -> (ResourceTracker, Vec<RunningJob>) {
        let mut tracker = ResourceTracker::new(Capacity {
            cpus: total,
            memory_mb: 0,
            gpus: 0,
        });
        let mut holding = Vec::new();
        for (n, (held, ends)) in busy.iter().enumerate() {
            tracker
                .allocate(JobId(1_000 + n as u64), &cpus(*held))
                .expect("the busy jobs fit");
            holding.push(running(*held, *ends));
        }
        (tracker, holding)
    }

    fn job(id: u64, n: u32, limit: Option<u64>) -> Candidate {
        Candidate {
            id: JobId(id),
            request: cpus(n),
            time_limit: limit,
            reason: Reason::None,
            blocked: None,
            limits: Vec::new(),
            recheck_at: None,
        }
    }

    fn with(running: &[RunningJob], settings: Settings) -> Backfill<'_> {
        Backfill {
            now: at(0),
            settings,
            running,
        }
    }

    fn started(plan: &Plan) -> Vec<u64> {
        plan.starts.iter().map(|(id, _)| id.0).collect()
    }

    #[test]
    fn a_job_that_would_delay_the_reservation_waits_one_that_ends_before_goes() {
        // 2 CPUs, one busy until 60: the 2-CPU job is reserved for 60.
        let (mut t, running) = node(2, &[(1, Some(60))]);
        let queue = [
            job(1, 2, Some(60)),
            job(2, 1, Some(120)),
            job(3, 1, Some(30)),
        ];
        let plan = backfill_walk(queue.clone(), &mut t, with(&running, Settings::default()));
        assert_eq!(started(&plan), vec![3], "ends at 30, before 60");
        assert_eq!(
            plan.reasons,
            vec![(JobId(1), Reason::Resources), (JobId(2), Reason::Priority)]
        );
        assert_eq!(
            plan.reservation,
            Some(Reservation {
                job: JobId(1),
                start: at(60),
                spare: cpus(0),
                node: 0,
            })
        );
        // First Fit starts the first small job, which runs past 60.
        let (mut t, _) = node(2, &[(1, Some(60))]);
        assert_eq!(started(&first_fit(queue, &mut t)), vec![2]);
    }

    #[test]
    fn jobs_that_run_past_the_reservation_share_its_spare() {
        // 4 CPUs, 2 busy until 60: the 3-CPU job leaves 1 spare then.
        let (mut t, running) = node(4, &[(2, Some(60))]);
        let queue = [job(1, 3, None), job(2, 1, None), job(3, 1, None)];
        let plan = backfill_walk(queue, &mut t, with(&running, Settings::default()));
        assert_eq!(started(&plan), vec![2], "no limit: the spare only");
        assert_eq!(plan.reasons[1], (JobId(3), Reason::Priority));
        assert_eq!(plan.reservation.map(|r| r.spare), Some(cpus(0)));
    }

    #[test]
    fn no_reservation_when_a_needed_job_may_run_for_ever() {
        let (mut t, running) = node(2, &[(1, None)]);
        let plan = backfill_walk(
            [job(1, 2, Some(60)), job(2, 1, Some(600))],
            &mut t,
            with(&running, Settings::default()),
        );
        assert_eq!(plan.reservation, None);
        assert_eq!(started(&plan), vec![2], "First Fit, as without backfill");
    }

    #[test]
    fn no_reservation_beyond_the_window_either() {
        let (mut t, running) = node(2, &[(1, Some(7_200))]);
        let hour = Settings {
            window: TimeDelta::minutes(60),
            ..Settings::default()
        };
        let plan = backfill_walk(
            [job(1, 2, Some(60)), job(2, 1, Some(600))],
            &mut t,
            with(&running, hour),
        );
        assert_eq!(plan.reservation, None);
        assert_eq!(started(&plan), vec![2]);
    }

    #[test]
    fn jobs_started_earlier_in_the_pass_count_for_the_reservation() {
        let (mut t, running) = node(2, &[]);
        let plan = backfill_walk(
            [job(1, 1, Some(100)), job(2, 2, None), job(3, 1, Some(50))],
            &mut t,
            with(&running, Settings::default()),
        );
        assert_eq!(started(&plan), vec![1, 3]);
        assert_eq!(
            plan.reservation.map(|r| (r.job, r.start)),
            Some((JobId(2), at(100)))
        );
    }

    #[test]
    fn the_reservation_is_made_even_when_no_cpu_is_free() {
        let (mut t, running) = node(1, &[(1, Some(30))]);
        let mut held = job(1, 1, None);
        held.blocked = Some(Reason::JobHeldUser);
        let plan = backfill_walk(
            [held, job(2, 1, None), job(3, 1, Some(5))],
            &mut t,
            with(&running, Settings::default()),
        );
        assert_eq!(
            plan.reservation.map(|r| (r.job, r.start)),
            Some((JobId(2), at(30)))
        );
        assert_eq!(
            plan.reasons,
            vec![
                (JobId(1), Reason::JobHeldUser),
                (JobId(2), Reason::Resources)
            ],
            "the pass stops there: job 3 keeps its reason"
        );
    }

    #[test]
    fn a_pass_tests_at_most_max_job_test_jobs_behind_its_reservation() {
        let (mut t, running) = node(2, &[(1, Some(60))]);
        let queue = [
            job(1, 2, None),
            job(2, 1, Some(600)),
            job(3, 1, Some(600)),
            job(4, 1, Some(10)),
        ];
        let two = Settings {
            max_job_test: 2,
            ..Settings::default()
        };
        let plan = backfill_walk(queue.clone(), &mut t, with(&running, two));
        assert!(plan.starts.is_empty(), "job 4 is not reached");
        assert_eq!(plan.reasons.len(), 3);
        let (mut t, _) = node(2, &[(1, Some(60))]);
        let plan = backfill_walk(queue, &mut t, with(&running, Settings::default()));
        assert_eq!(started(&plan), vec![4]);
    }
}
