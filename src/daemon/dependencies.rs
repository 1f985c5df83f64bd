//! Bringing a pending job's dependency conditions up to date from the
//! states of the jobs they name: those in memory, else the store's record.
//! What those states mean for each condition is the scheduler's policy.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::job::{Dependencies, Job, Phase, Progress};
use super::scheduler::policy::judge;
use super::store::JobStore;
use crate::format::dependency::JobRef;
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

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
