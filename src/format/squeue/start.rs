//! What squeue's START_TIME (`%S`, and `--start`, which lists pending jobs
//! by it) shows: a job's start, or for a pending one the start the
//! scheduler's backfill reservation expects; `N/A` when neither is known.
//! Kept apart from the rest of squeue's columns so that the one column
//! backfill feeds reads in one place.

use chrono::{DateTime, Utc};

use crate::protocol::{JobField, JobInfo};

/// The start `%S` shows and `-S S` sorts by.
pub fn start_time(job: &JobInfo) -> Option<DateTime<Utc>> {
    job.start_time.or(job.expected_start)
}

/// The `JobInfo` fields [`start_time`] reads.
pub const NEEDS: &[JobField] = &[JobField::StartTime, JobField::ExpectedStart];

/// The fields sorting by start reads (the state too: a pending job's past
/// start sorts as now).
pub const SORT_NEEDS: &[JobField] = &[
    JobField::StartTime,
    JobField::ExpectedStart,
    JobField::State,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::JobState;

    #[test]
    fn a_pending_job_shows_its_expected_start_and_a_started_one_its_start() {
        let at = |s| DateTime::from_timestamp(s, 0);
        let mut job = JobInfo {
            state: JobState::Pending,
            ..JobInfo::default()
        };
        assert_eq!(start_time(&job), None);
        job.expected_start = at(500);
        assert_eq!(start_time(&job), at(500));
        job.start_time = at(400);
        assert_eq!(start_time(&job), at(400));
    }
}
