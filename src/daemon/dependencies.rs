//! Bringing a pending job's dependency conditions up to date from the
//! states of the jobs they name: those in memory, else the store's record.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::job::{Dependencies, Job, Phase, Progress};
use super::store::JobStore;
use crate::format::dependency::{Condition, DependencyKind, JobRef};
use crate::protocol::{JobId, JobState};

/// The outcome of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    pub progress: Progress,
    /// Look again at this time (an `after:ID+minutes` delay runs out).
    pub recheck_at: Option<DateTime<Utc>>,
}

/// Updates each condition that was waiting and returns the combined
/// progress. Singleton conditions are left to the scheduler's group limit.
pub fn evaluate(
    dependencies: &mut Dependencies,
    jobs: &HashMap<JobId, Job>,
    store: &JobStore,
    now: DateTime<Utc>,
) -> Evaluation {
    let mut recheck_at = None;
    for (condition, progress) in &mut dependencies.conditions {
        if *progress != Progress::Waiting {
            continue;
        }
        let Some(job) = condition.job else {
            // Singleton: satisfiable now; the group limit lets one run.
            *progress = Progress::Satisfied;
            continue;
        };
        // The store unreadable: no verdict now (fail closed), look again.
        let Some(targets) = targets(job, jobs, store) else {
            recheck_at = earliest(recheck_at, Some(now + chrono::Duration::seconds(1)));
            continue;
        };
        // No such job (any more): nothing to wait for, and the condition
        // holds, as Slurm drops a dependency on an unknown job.
        let (next, at) = judge(condition, &targets, now);
        *progress = next;
        recheck_at = earliest(recheck_at, at);
    }
    Evaluation {
        progress: dependencies.progress(),
        recheck_at,
    }
}

/// The state and start time of every job a reference names: one job, or
/// the tasks of an array (or one of them); `None` when the store could not
/// be read.
fn targets(
    job: JobRef,
    jobs: &HashMap<JobId, Job>,
    store: &JobStore,
) -> Option<Vec<(JobState, Option<DateTime<Utc>>)>> {
    let matches = |candidate: &Job| {
        let in_array = candidate
            .spec
            .array
            .is_some_and(|a| a.array_id.0 == job.id && job.task.is_none_or(|t| t == a.index));
        in_array || (candidate.id.0 == job.id && job.task.is_none())
    };
    let mut found: HashMap<JobId, (JobState, Option<DateTime<Utc>>)> = HashMap::new();
    let known_alone = jobs
        .get(&JobId(job.id))
        .is_some_and(|j| j.spec.array.is_none());
    if !known_alone {
        for stored in store.related(JobId(job.id)).ok()? {
            if matches(&stored) {
                found.insert(stored.id, (stored.state(), start_of(&stored)));
            }
        }
    }
    for candidate in jobs.values().filter(|j| matches(j)) {
        found.insert(candidate.id, (candidate.state(), start_of(candidate)));
    }
    Some(found.into_values().collect())
}

fn start_of(job: &Job) -> Option<DateTime<Utc>> {
    match &job.phase {
        Phase::Running { start_time, .. } => Some(*start_time),
        Phase::Finished { start_time, .. } => *start_time,
        Phase::Pending { .. } => None,
    }
}

/// One condition against the states of its targets. Targets that are gone
/// (never existed or purged) cannot hold the job back. Only COMPLETED is a
/// success: every other end (FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY,
/// NODE_FAIL) fails `afterok` for good and counts for `afternotok`.
fn judge(
    condition: &Condition,
    targets: &[(JobState, Option<DateTime<Utc>>)],
    now: DateTime<Utc>,
) -> (Progress, Option<DateTime<Utc>>) {
    let ended = |s: JobState| s.is_terminal();
    let all = |f: &dyn Fn(JobState) -> bool| targets.iter().all(|(s, _)| f(*s));
    let any = |f: &dyn Fn(JobState) -> bool| targets.iter().any(|(s, _)| f(*s));
    match condition.kind {
        DependencyKind::After => {
            if !all(&|s| s != JobState::Pending) {
                return (Progress::Waiting, None);
            }
            let delay =
                chrono::Duration::minutes(condition.job.map_or(0, |j| i64::from(j.delay_minutes)));
            let ready_at = targets
                .iter()
                .filter_map(|(_, start)| start.map(|s| s + delay))
                .max();
            match ready_at {
                Some(at) if at > now => (Progress::Waiting, Some(at)),
                _ => (Progress::Satisfied, None),
            }
        }
        DependencyKind::AfterAny if all(&ended) => (Progress::Satisfied, None),
        DependencyKind::AfterOk if any(&|s| ended(s) && s != JobState::Completed) => {
            (Progress::Failed, None)
        }
        DependencyKind::AfterOk if all(&|s| s == JobState::Completed) => {
            (Progress::Satisfied, None)
        }
        DependencyKind::AfterNotOk if any(&|s| s == JobState::Completed) => {
            (Progress::Failed, None)
        }
        DependencyKind::AfterNotOk if all(&ended) => (Progress::Satisfied, None),
        _ => (Progress::Waiting, None),
    }
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(kind: DependencyKind) -> Condition {
        Condition {
            kind,
            job: Some(JobRef {
                id: 1,
                task: None,
                delay_minutes: 0,
            }),
        }
    }

    fn progress(kind: DependencyKind, states: &[JobState]) -> Progress {
        let targets: Vec<_> = states.iter().map(|s| (*s, None)).collect();
        judge(&condition(kind), &targets, Utc::now()).0
    }

    #[test]
    fn afterok_needs_every_target_completed() {
        use JobState::*;
        assert_eq!(
            progress(DependencyKind::AfterOk, &[Completed, Completed]),
            Progress::Satisfied
        );
        assert_eq!(
            progress(DependencyKind::AfterOk, &[Completed, Running]),
            Progress::Waiting
        );
        assert_eq!(
            progress(DependencyKind::AfterOk, &[Failed, Running]),
            Progress::Failed
        );
        assert_eq!(
            progress(DependencyKind::AfterOk, &[Cancelled]),
            Progress::Failed
        );
        // Ending in any other state than COMPLETED fails afterok for good.
        for ended in [OutOfMemory, NodeFail, Timeout] {
            assert_eq!(
                progress(DependencyKind::AfterOk, &[Completed, ended]),
                Progress::Failed,
                "{ended}"
            );
        }
    }

    #[test]
    fn afternotok_needs_every_target_failed() {
        use JobState::*;
        assert_eq!(
            progress(DependencyKind::AfterNotOk, &[Timeout, Failed]),
            Progress::Satisfied
        );
        assert_eq!(
            progress(DependencyKind::AfterNotOk, &[Completed]),
            Progress::Failed
        );
        assert_eq!(
            progress(DependencyKind::AfterNotOk, &[Pending]),
            Progress::Waiting
        );
        // Killed for its memory, or lost with its supervisor: a failure.
        assert_eq!(
            progress(DependencyKind::AfterNotOk, &[OutOfMemory]),
            Progress::Satisfied
        );
        assert_eq!(
            progress(DependencyKind::AfterNotOk, &[NodeFail, Cancelled]),
            Progress::Satisfied
        );
        assert_eq!(
            progress(DependencyKind::AfterNotOk, &[NodeFail, Running]),
            Progress::Waiting
        );
        assert_eq!(
            progress(DependencyKind::AfterNotOk, &[OutOfMemory, Completed]),
            Progress::Failed
        );
    }

    #[test]
    fn afterany_and_after() {
        use JobState::*;
        assert_eq!(
            progress(DependencyKind::AfterAny, &[Failed, Completed]),
            Progress::Satisfied
        );
        assert_eq!(
            progress(DependencyKind::AfterAny, &[OutOfMemory, NodeFail]),
            Progress::Satisfied
        );
        assert_eq!(
            progress(DependencyKind::AfterAny, &[Running]),
            Progress::Waiting
        );
        assert_eq!(
            progress(DependencyKind::After, &[Running]),
            Progress::Satisfied
        );
        assert_eq!(
            progress(DependencyKind::After, &[Pending]),
            Progress::Waiting
        );
    }

    #[test]
    fn after_with_a_delay_waits_from_the_start() {
        let mut delayed = condition(DependencyKind::After);
        if let Some(job) = &mut delayed.job {
            job.delay_minutes = 5;
        }
        let now = Utc::now();
        let started = now - chrono::Duration::minutes(1);
        let (progress, at) = judge(&delayed, &[(JobState::Running, Some(started))], now);
        assert_eq!(progress, Progress::Waiting);
        assert_eq!(at, Some(started + chrono::Duration::minutes(5)));
    }

    #[test]
    fn missing_targets_do_not_hold_a_job_back() {
        assert_eq!(progress(DependencyKind::AfterOk, &[]), Progress::Satisfied);
    }
}
