//! Backfill against a real daemon on 2 CPUs: a 2-CPU job queued behind
//! two running 1-CPU jobs and ahead of a stream of 1-CPU jobs. With
//! backfill (the default) it is reserved the CPUs the running jobs' time
//! limits free, the stream waits behind it, and it starts before any of
//! the stream; with `--scheduler-type builtin` (First Fit alone) every job
//! of the stream goes first and it starts last.

use std::time::Duration;

use chrono::{DateTime, Utc};
use conductor::protocol::{JobId, JobInfo, JobState, Reason};

use crate::support::{TestDaemon, wait_until};

const SHORT: Duration = Duration::from_secs(10);
/// Long enough for the whole stream on a loaded machine.
const LONG: Duration = Duration::from_secs(60);

/// Jobs in the stream behind the 2-CPU job.
const STREAM: usize = 6;

/// The 2-CPU job and the stream behind it, queued while two 1-CPU jobs
/// run. The two end half a second apart, and every job of the stream runs
/// a second, so the two CPUs never free at the same moment: under First
/// Fit, each end lets the next 1-CPU job through.
struct Queued {
    d: TestDaemon,
    running: [JobId; 2],
    wide: JobId,
    stream: Vec<JobId>,
}

fn queue_behind_two_jobs(scheduler: &[&str]) -> Queued {
    let mut args = vec!["--cpus", "2", "--kill-wait", "1"];
    args.extend_from_slice(scheduler);
    let d = TestDaemon::start(&args);
    let first = d.submit(&["-J", "first", "-t", "1", "--wrap", "sleep 1"]);
    let second = d.submit(&["-J", "second", "-t", "1", "--wrap", "sleep 1.5"]);
    d.wait_for(first, JobState::Running, SHORT);
    d.wait_for(second, JobState::Running, SHORT);
    let wide = d.submit(&["-J", "wide", "-c", "2", "-t", "1", "--wrap", "true"]);
    let stream = (0..STREAM)
        .map(|_| d.submit(&["-J", "small", "-t", "1", "--wrap", "sleep 1"]))
        .collect();
    Queued {
        d,
        running: [first, second],
        wide,
        stream,
    }
}

fn started(job: &JobInfo) -> DateTime<Utc> {
    job.start_time.expect("the job ran")
}

#[test]
fn backfill_reserves_the_cpus_a_wide_job_waits_for() {
    let Queued {
        d,
        running,
        wide,
        stream,
    } = queue_behind_two_jobs(&[]);
    // Reserved for when the later of the two running jobs' minute is up.
    let limit_ends = running
        .iter()
        .map(|id| started(&d.job(*id)) + chrono::Duration::minutes(1))
        .max()
        .expect("two jobs");
    wait_until(SHORT, "a pass has looked at the wide job", || {
        let job = d.job(wide);
        job.state != JobState::Pending || job.expected_start.is_some()
    });
    let waiting = d.job(wide);
    if waiting.state == JobState::Pending {
        assert_eq!(waiting.reason, Reason::Resources, "{waiting:?}");
        assert_eq!(waiting.expected_start, Some(limit_ends), "{waiting:?}");
    }
    let wide = d.wait_ended(wide, LONG);
    assert_eq!(wide.state, JobState::Completed, "{wide:?}");
    assert!(started(&wide) <= limit_ends, "{wide:?}");
    assert_eq!(wide.expected_start, None, "only a pending job has one");
    // No job of the stream could end before the reservation: none went ahead.
    for id in stream {
        let small = d.wait_ended(id, LONG);
        assert!(
            started(&small) >= started(&wide),
            "{small:?} started before {wide:?}"
        );
    }
    let config = d.client().config().expect("config");
    assert_eq!(config.scheduler_type, "sched/backfill");
    assert_eq!(
        (config.bf_window_minutes, config.bf_max_job_test),
        (1440, 500)
    );
    let shown = d.run("ccontrol", &["show", "config"]);
    assert!(
        shown
            .ok()
            .contains("\nSchedulerType           = sched/backfill\n"),
        "{}",
        shown.stdout
    );
}

#[test]
fn builtin_lets_the_stream_pass_a_wide_job_by() {
    let Queued {
        d, wide, stream, ..
    } = queue_behind_two_jobs(&["--scheduler-type", "sched/builtin"]);
    // While the stream runs, the wide job waits, and is never reserved for.
    let last = *stream.last().expect("a stream");
    d.wait_for(last, JobState::Running, LONG);
    let waiting = d.job(wide);
    assert_eq!(waiting.state, JobState::Pending, "{waiting:?}");
    assert_eq!(waiting.expected_start, None);
    let wide = d.wait_ended(wide, LONG);
    for id in stream {
        let small = d.job(id);
        assert!(
            started(&small) <= started(&wide),
            "{small:?} started after {wide:?}"
        );
    }
    let config = d.client().config().expect("config");
    assert_eq!(config.scheduler_type, "sched/builtin");
    let shown = d.run("ccontrol", &["show", "config"]);
    assert!(
        shown
            .ok()
            .contains("\nSchedulerType           = sched/builtin\n"),
        "{}",
        shown.stdout
    );
}
