//! The pass's hook for the per-user limits (`scheduler::limits`): what each
//! user's running jobs hold, counted once a pass, and the limits each
//! pending job is held to. Nothing is counted when no limit is set.

use std::collections::HashMap;

use crate::daemon::Daemon;
use crate::daemon::job::Job;
use crate::daemon::scheduler::Candidate;
use crate::daemon::scheduler::limits::UserUsage;
use crate::protocol::JobId;

impl Daemon {
    /// What each user's running jobs hold; empty when no limit is set.
    pub(super) fn user_usage<'a>(&self, running: impl Iterator<Item = &'a Job>) -> UserUsage {
        if self.config.user_limits.is_empty() {
            return UserUsage::default();
        }
        UserUsage::count(running.map(|job| (job.spec.uid, job.spec.request)))
    }

    /// Holds a pending job to its user's limits, beside its other caps.
    pub(super) fn add_user_limits(
        &self,
        candidate: &mut Candidate,
        jobs: &HashMap<JobId, Job>,
        usage: &UserUsage,
    ) {
        let limits = &self.config.user_limits;
        if limits.is_empty() {
            return;
        }
        let Some(job) = jobs.get(&candidate.id) else {
            return;
        };
        let uid = job.spec.uid;
        candidate
            .limits
            .extend(limits.limits(uid, usage.of(uid), &job.spec.request));
    }
}
