//! The job filter that the listing and cancelling tools share (cqueue's
//! `-j -u -n -p -A -q -w -t`, scancel's and sacct's like options): every
//! criterion given must hold. What one tool adds (sacct's time window,
//! scancel's reservation and wckey) stays with that tool.

use std::collections::BTreeSet;

use crate::format::job_id::JobSelector;
use crate::protocol::{FieldSet, JobField, JobInfo, JobState, ListQuery};

/// Which states to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum States {
    /// Every state: no `-t`/`-s` given (scancel, sacct) or `-t all`.
    #[default]
    All,
    /// squeue's default: the active states (PENDING, RUNNING, ...).
    Active,
    /// These states (possibly none Conductor has).
    Only(BTreeSet<JobState>),
}

impl States {
    pub fn matches(&self, state: JobState) -> bool {
        match self {
            States::Active => !state.is_terminal(),
            States::All => true,
            States::Only(states) => states.contains(&state),
        }
    }
}

/// Which jobs to show; every given filter must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// `-j`: `None` for every job.
    pub selectors: Option<Vec<JobSelector>>,
    pub uids: Option<Vec<u32>>,
    pub names: Option<Vec<String>>,
    pub partitions: Option<Vec<String>>,
    pub accounts: Option<Vec<String>>,
    pub qos: Option<Vec<String>>,
    pub nodes: Option<Vec<String>>,
    pub states: States,
}

impl JobFilter {
    /// Whether the job passes every filter.
    pub fn matches(&self, job: &JobInfo) -> bool {
        let any = |list: &Option<Vec<String>>, wanted: &dyn Fn(&String) -> bool| {
            list.as_ref().is_none_or(|list| list.iter().any(wanted))
        };
        let qos = job.qos.as_deref().unwrap_or("normal");
        self.states.matches(job.state)
            && self
                .selectors
                .as_ref()
                .is_none_or(|selectors| selectors.iter().any(|s| s.matches(job)))
            && self
                .uids
                .as_ref()
                .is_none_or(|uids| uids.contains(&job.uid))
            && any(&self.names, &|name| *name == job.name)
            && any(&self.partitions, &|partition| *partition == job.partition)
            && any(&self.accounts, &|account| {
                job.account
                    .as_deref()
                    .is_some_and(|a| a.eq_ignore_ascii_case(account))
            })
            && any(&self.qos, &|wanted| wanted.eq_ignore_ascii_case(qos))
            && any(&self.nodes, &|node| job.node.as_deref() == Some(node))
    }

    /// The daemon query that returns (at least) the jobs that can match;
    /// `None` when no job can.
    pub fn list_query(&self) -> Option<ListQuery> {
        let states = match &self.states {
            States::Active => None,
            States::All => Some("all".to_string()),
            States::Only(states) if states.is_empty() => return None,
            States::Only(states) => Some(
                states
                    .iter()
                    .map(|s| s.long())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        };
        let users = match &self.uids {
            Some(uids) if uids.is_empty() => return None,
            Some(uids) => Some(
                uids.iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            None => None,
        };
        Some(ListQuery {
            users,
            states,
            names: self.names.as_ref().map(|names| names.join(",")),
            ..ListQuery::default()
        })
    }

    /// Whether the daemon's filter ([`JobFilter::list_query`]) is this
    /// whole filter, so that its reply needs no second look here.
    pub fn daemon_side(&self) -> bool {
        self.selectors.is_none()
            && self.partitions.is_none()
            && self.accounts.is_none()
            && self.qos.is_none()
            && self.nodes.is_none()
    }

    /// The `JobInfo` fields [`JobFilter::matches`] reads.
    pub fn needs(&self) -> FieldSet {
        let mut fields: FieldSet = [JobField::State, JobField::JobId].into_iter().collect();
        fields.extend([JobField::ArrayJobId, JobField::ArrayTaskId]);
        let given = [
            (self.uids.is_some(), JobField::Uid),
            (self.names.is_some(), JobField::Name),
            (self.partitions.is_some(), JobField::Partition),
            (self.accounts.is_some(), JobField::Account),
            (self.qos.is_some(), JobField::Qos),
            (self.nodes.is_some(), JobField::Node),
        ];
        fields.extend(
            given
                .into_iter()
                .filter(|(given, _)| *given)
                .map(|(_, f)| f),
        );
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState, account: Option<&str>) -> JobInfo {
        let mut job = crate::format::job_id::sample_job(7);
        job.state = state;
        job.account = account.map(str::to_string);
        job
    }

    #[test]
    fn every_given_criterion_must_hold() {
        let pending = job(JobState::Pending, Some("Physics"));
        let done = job(JobState::Completed, None);
        assert!(JobFilter::default().matches(&done));
        let active = JobFilter {
            states: States::Active,
            ..JobFilter::default()
        };
        assert!(active.matches(&pending) && !active.matches(&done));
        let physics = JobFilter {
            accounts: Some(vec!["physics".into()]),
            uids: Some(vec![1000]),
            ..JobFilter::default()
        };
        assert!(physics.matches(&pending) && !physics.matches(&done));
        let nothing = JobFilter {
            states: States::Only(BTreeSet::new()),
            ..JobFilter::default()
        };
        assert!(!nothing.matches(&pending));
        let ids = JobFilter {
            selectors: JobSelector::parse("8").map(|s| vec![s]),
            ..JobFilter::default()
        };
        assert!(!ids.matches(&pending));
    }
}
