//! Which pending jobs may start at all, and what a waiting one shows: pure
//! decisions over what the pass gathers (holds, begin times, the states of
//! the jobs a dependency names), before First Fit places the jobs that may.
//! The order of the checks is Slurm's: a hold shows before a begin time,
//! and a begin time before a dependency, which is not looked at meanwhile.

use chrono::{DateTime, Utc};

use crate::daemon::job::{Hold, Progress};
use crate::format::dependency::{Condition, DependencyKind};
use crate::protocol::{JobState, Reason};

/// What keeps a pending job back before its dependency is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldBack {
    /// Held by its user or an administrator, until released.
    Held(Hold),
    /// Not eligible before its begin time.
    Until(DateTime<Utc>),
}

impl HeldBack {
    /// What the job shows meanwhile.
    pub fn reason(self) -> Reason {
        match self {
            HeldBack::Held(hold) => hold.reason(),
            HeldBack::Until(_) => Reason::BeginTime,
        }
    }

    /// When it may end by itself: the begin time (a hold waits for a release).
    pub fn until(self) -> Option<DateTime<Utc>> {
        match self {
            HeldBack::Held(_) => None,
            HeldBack::Until(begin) => Some(begin),
        }
    }
}

/// Whether a hold or a begin time still to come keeps a job back at `now`;
/// a held job shows its hold whatever its begin time.
pub fn held_back(
    hold: Option<Hold>,
    begin_time: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<HeldBack> {
    match (hold, begin_time) {
        (Some(hold), _) => Some(HeldBack::Held(hold)),
        (None, Some(begin)) if begin > now => Some(HeldBack::Until(begin)),
        _ => None,
    }
}

/// What a job does once its dependency has come to some progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterDependency {
    /// Nothing but resources and caps holds it back.
    Eligible,
    /// It waits whatever is free, showing this reason.
    Waits(Reason),
    /// It can never start and asked to be cancelled then
    /// (`--kill-on-invalid-dep=yes`).
    Cancel,
}

/// What a job whose dependency stands at `progress` does: it waits
/// (`Dependency`) until the dependency is satisfied; one that can never be
/// is cancelled if it asked for that, else pends for ever
/// (`DependencyNeverSatisfied`), as in Slurm.
pub fn after_dependency(progress: Progress, kill_on_invalid_dep: bool) -> AfterDependency {
    match progress {
        Progress::Satisfied => AfterDependency::Eligible,
        Progress::Waiting => AfterDependency::Waits(Reason::Dependency),
        Progress::Failed if kill_on_invalid_dep => AfterDependency::Cancel,
        Progress::Failed => AfterDependency::Waits(Reason::DependencyNeverSatisfied),
    }
}

/// Where a singleton condition stands: it waits while a job of its name
/// and user runs (`running` of them), or else while one submitted before it
/// still pends (Slurm's rule); `earlier_pending` is asked only then.
pub fn singleton(running: u32, earlier_pending: impl FnOnce() -> bool) -> Progress {
    if running > 0 || earlier_pending() {
        Progress::Waiting
    } else {
        Progress::Satisfied
    }
}

/// One dependency condition against the state and start time of each job
/// it names, with the time to look again (an `after:ID+minutes` delay
/// running out). Targets that are gone (never existed or purged) cannot
/// hold the job back. Only COMPLETED is a success: every other end (FAILED,
/// TIMEOUT, CANCELLED, OUT_OF_MEMORY, NODE_FAIL) fails `afterok` for good
/// and counts for `afternotok`.
pub fn judge(
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

/// What a job shows once queued, before a pass looks at it: nothing, or
/// `PartitionConfig` for one that asks for more than the node has, or
/// `PartitionTimeLimit` for one over its partition's MaxTime, which no
/// pass looks at.
pub fn queued(can_ever_fit: bool, over_time_limit: bool) -> Reason {
    if !can_ever_fit {
        Reason::PartitionConfig
    } else if over_time_limit {
        Reason::PartitionTimeLimit
    } else {
        Reason::None
    }
}

/// What a job queued since the last pass shows when that pass stopped
/// before it: first in line, it waits for `Resources`; else behind the
/// jobs the pass did reach (`Priority`). A held job, or one that shows a
/// reason already, keeps it (`None`).
pub fn unreached(hold: Option<Hold>, shown: Reason, first_in_line: bool) -> Option<Reason> {
    (hold.is_none() && shown == Reason::None).then_some(if first_in_line {
        Reason::Resources
    } else {
        Reason::Priority
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::dependency::JobRef;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_000_000 + seconds, 0).expect("valid time")
    }

    #[test]
    fn a_hold_shows_before_a_begin_time_which_shows_until_it_passes() {
        let now = at(0);
        assert_eq!(
            held_back(Some(Hold::User), Some(at(60)), now).map(HeldBack::reason),
            Some(Reason::JobHeldUser)
        );
        assert_eq!(
            held_back(Some(Hold::Admin), None, now).map(HeldBack::reason),
            Some(Reason::JobHeldAdmin)
        );
        assert_eq!(
            held_back(None, Some(at(60)), now),
            Some(HeldBack::Until(at(60)))
        );
        assert_eq!(HeldBack::Until(at(60)).reason(), Reason::BeginTime);
        assert_eq!(HeldBack::Until(at(60)).until(), Some(at(60)));
        assert_eq!(HeldBack::Held(Hold::User).until(), None);
        assert_eq!(held_back(None, Some(now), now), None, "due now");
        assert_eq!(held_back(None, Some(at(-5)), now), None);
        assert_eq!(held_back(None, None, now), None);
    }

    #[test]
    fn a_dependency_that_can_never_be_satisfied_pends_or_cancels_as_asked() {
        assert_eq!(
            after_dependency(Progress::Satisfied, true),
            AfterDependency::Eligible
        );
        assert_eq!(
            after_dependency(Progress::Waiting, true),
            AfterDependency::Waits(Reason::Dependency)
        );
        assert_eq!(
            after_dependency(Progress::Failed, false),
            AfterDependency::Waits(Reason::DependencyNeverSatisfied)
        );
        assert_eq!(
            after_dependency(Progress::Failed, true),
            AfterDependency::Cancel
        );
    }

    #[test]
    fn a_singleton_waits_for_running_and_earlier_jobs_of_its_name() {
        assert_eq!(singleton(0, || false), Progress::Satisfied);
        assert_eq!(singleton(0, || true), Progress::Waiting);
        assert_eq!(
            singleton(1, || unreachable!("not asked while one runs")),
            Progress::Waiting
        );
    }

    #[test]
    fn reasons_before_and_beyond_the_pass() {
        assert_eq!(queued(true, false), Reason::None);
        assert_eq!(queued(false, false), Reason::PartitionConfig);
        assert_eq!(queued(false, true), Reason::PartitionConfig);
        assert_eq!(queued(true, true), Reason::PartitionTimeLimit);
        assert_eq!(unreached(None, Reason::None, true), Some(Reason::Resources));
        assert_eq!(unreached(None, Reason::None, false), Some(Reason::Priority));
        assert_eq!(unreached(Some(Hold::User), Reason::None, true), None);
        assert_eq!(unreached(None, Reason::BeginTime, false), None);
    }

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
