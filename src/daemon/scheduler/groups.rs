//! Caps on how many jobs of a group run at once: an array's `%N` throttle,
//! and a singleton dependency (one job per name and user); and on what a
//! user's running jobs hold (`limits`). A running job counts in its groups;
//! a pending job is held to the caps of its own.

use std::collections::HashMap;

use super::limits::Counted;
use crate::protocol::{JobId, Reason};

/// A group of jobs whose running count may be capped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Group {
    /// The tasks of one array throttled by `%N`, by the array's id.
    Array(JobId),
    /// One user's jobs of one name, which a singleton of that name waits on.
    Singleton { uid: u32, name: String },
    /// One user's running jobs, counted one way (jobs, CPUs, memory, GPUs).
    User { uid: u32, counted: Counted },
}

/// A cap on what a group's running jobs hold at once: a count of jobs, or
/// a total of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Limit {
    pub group: Group,
    /// What the group's jobs held before the pass.
    pub running: u64,
    /// What the job would add (1 for a count of jobs).
    pub need: u64,
    pub max: u64,
    /// What a job held back by the cap shows.
    pub reason: Reason,
}

/// What places a job in groups.
#[derive(Debug, Clone, Copy)]
pub struct Membership<'a> {
    pub uid: u32,
    pub name: &'a str,
    /// The array's id and its `%N`, for a task of a throttled array.
    pub throttle: Option<(JobId, u32)>,
    /// Whether the job has a singleton dependency.
    pub singleton: bool,
}

impl Membership<'_> {
    /// The group of the user's jobs of this name.
    pub fn singleton_group(&self) -> Group {
        Group::Singleton {
            uid: self.uid,
            name: self.name.to_string(),
        }
    }

    /// The groups the job counts in while it runs: its array's when that is
    /// throttled, and always its name and user's, since a singleton waits
    /// for every job of its name, singleton or not.
    fn groups(&self) -> impl Iterator<Item = Group> {
        let array = self.throttle.map(|(array_id, _)| Group::Array(array_id));
        array.into_iter().chain([self.singleton_group()])
    }

    /// The caps the job is held to while it pends: its array's `%N`, and
    /// one at a time for a singleton (shown as `Dependency`, as Slurm does).
    pub fn limits(&self, running: &RunningGroups) -> Vec<Limit> {
        let mut limits = Vec::new();
        if let Some((array_id, max)) = self.throttle {
            let group = Group::Array(array_id);
            limits.push(Limit {
                running: u64::from(running.of(&group)),
                group,
                need: 1,
                max: u64::from(max),
                reason: Reason::JobArrayTaskLimit,
            });
        }
        if self.singleton {
            let group = self.singleton_group();
            limits.push(Limit {
                running: u64::from(running.of(&group)),
                group,
                need: 1,
                max: 1,
                reason: Reason::Dependency,
            });
        }
        limits
    }
}

/// How many jobs of each group run now.
#[derive(Debug, Default)]
pub struct RunningGroups(HashMap<Group, u32>);

impl RunningGroups {
    /// Counts the running jobs in their groups.
    pub fn count<'a>(running: impl IntoIterator<Item = Membership<'a>>) -> RunningGroups {
        let mut counts: HashMap<Group, u32> = HashMap::new();
        for job in running {
            for group in job.groups() {
                *counts.entry(group).or_default() += 1;
            }
        }
        RunningGroups(counts)
    }

    /// How many jobs of `group` run.
    pub fn of(&self, group: &Group) -> u32 {
        self.0.get(group).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str) -> Membership<'_> {
        Membership {
            uid: 1000,
            name,
            throttle: None,
            singleton: false,
        }
    }

    #[test]
    fn every_running_job_counts_for_the_singletons_of_its_name() {
        let running = RunningGroups::count([member("train"), member("train"), member("eval")]);
        assert_eq!(running.of(&member("train").singleton_group()), 2);
        assert_eq!(running.of(&member("eval").singleton_group()), 1);
        let other_user = Group::Singleton {
            uid: 1001,
            name: "train".into(),
        };
        assert_eq!(running.of(&other_user), 0);
    }

    #[test]
    fn only_tasks_of_a_throttled_array_count_for_its_cap() {
        let throttled = Membership {
            throttle: Some((JobId(7), 2)),
            ..member("a")
        };
        let running = RunningGroups::count([throttled, throttled, member("a")]);
        assert_eq!(running.of(&Group::Array(JobId(7))), 2);
        assert_eq!(running.of(&Group::Array(JobId(8))), 0);
        assert_eq!(running.of(&member("a").singleton_group()), 3);
    }

    #[test]
    fn a_pending_job_is_held_to_its_arrays_throttle_and_its_singleton() {
        let running = RunningGroups::count([Membership {
            throttle: Some((JobId(7), 2)),
            ..member("a")
        }]);
        let pending = Membership {
            throttle: Some((JobId(7), 2)),
            singleton: true,
            ..member("a")
        };
        assert_eq!(
            pending.limits(&running),
            vec![
                Limit {
                    group: Group::Array(JobId(7)),
                    running: 1,
                    need: 1,
                    max: 2,
                    reason: Reason::JobArrayTaskLimit,
                },
                Limit {
                    group: member("a").singleton_group(),
                    running: 1,
                    need: 1,
                    max: 1,
                    reason: Reason::Dependency,
                },
            ]
        );
        assert!(member("a").limits(&running).is_empty(), "no cap of its own");
    }
}
