//! The lines of a listing: one per job, or the pending tasks of one array
//! combined into one (`12_[1-3,5%2]`), and the time a job has run, which
//! columns and sort keys both read.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::format::array::compress;
use crate::format::job_text::run_seconds;
use crate::protocol::{JobField, JobInfo, JobState};

/// One output line: a job, or the pending tasks of one array combined.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<'a> {
    /// The job shown; for combined tasks, the one with the lowest index.
    pub job: &'a JobInfo,
    /// For combined tasks, their indices compressed (`1-3,5%2`).
    pub tasks: Option<String>,
}

impl<'a> Row<'a> {
    /// A line for one job.
    pub fn single(job: &'a JobInfo) -> Row<'a> {
        Row { job, tasks: None }
    }

    /// The id squeue sorts by: the array's id, then the task's index.
    pub(super) fn sort_id(&self) -> (u64, u32) {
        let job = self.job;
        match (job.array_job_id, job.array_task_id) {
            (Some(array), Some(task)) => (array.0, task),
            _ => (job.job_id.0, 0),
        }
    }
}

/// The `JobInfo` fields that make the lines themselves: which pending
/// array tasks share one, and the job id order of equal lines.
pub const ROW_NEEDS: &[JobField] = &[
    JobField::JobId,
    JobField::ArrayJobId,
    JobField::ArrayTaskId,
    JobField::ArrayMaxRunning,
    JobField::State,
    JobField::Reason,
    JobField::Name,
    JobField::Partition,
];

/// The lines for these jobs. Unless each task is wanted on its own line
/// (`-r/--array`), the PENDING tasks of one array that wait for the same
/// reason (with the same name and partition) share one line, `12_[1-3,5%2]`,
/// placed where the first of them was; `%N` shows the array's throttle.
/// A pending task alone in its group is `12_[5]` too: Slurm keeps an
/// array's tasks that have not started in one record, and shows it so.
pub fn rows(jobs: &[JobInfo], one_per_task: bool) -> Vec<Row<'_>> {
    if one_per_task {
        return jobs.iter().map(Row::single).collect();
    }
    let key = group_key;
    let mut groups: HashMap<_, Vec<&JobInfo>> = HashMap::new();
    for job in jobs {
        if let Some(k) = key(job) {
            groups.entry(k).or_default().push(job);
        }
    }
    let mut out = Vec::new();
    for job in jobs {
        let Some(group) = key(job).and_then(|k| groups.remove(&k)) else {
            if key(job).is_none() {
                out.push(Row::single(job));
            }
            continue;
        };
        let mut indices: Vec<u32> = group.iter().filter_map(|j| j.array_task_id).collect();
        indices.sort_unstable();
        indices.dedup();
        let first = group
            .iter()
            .min_by_key(|j| j.array_task_id)
            .copied()
            .unwrap_or(job);
        let mut tasks = compress(&indices);
        if let Some(max) = group.iter().find_map(|j| j.array_max_running) {
            tasks.push_str(&format!("%{max}"));
        }
        out.push(Row {
            job: first,
            tasks: Some(tasks),
        });
    }
    out
}

/// The pending array tasks that may share a line: same array, reason,
/// name and partition.
fn group_key(job: &JobInfo) -> Option<(u64, crate::protocol::Reason, &str, &str)> {
    match (job.state, job.array_job_id, job.array_task_id) {
        (JobState::Pending, Some(array), Some(_)) => Some((
            array.0,
            job.reason,
            job.name.as_str(),
            job.partition.as_str(),
        )),
        _ => None,
    }
}

/// Seconds the job has run: none while pending (a requeued job's old
/// start included), up to now while running.
pub(super) fn elapsed(job: &JobInfo, now: DateTime<Utc>) -> i64 {
    if job.state == JobState::Pending {
        return 0;
    }
    i64::try_from(run_seconds(job.start_time, job.end_time, now)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::squeue::Format;
    use crate::format::squeue::test_jobs::{now, pending, task};
    use crate::protocol::Reason;

    #[test]
    fn pending_tasks_of_an_array_share_one_line() {
        let mut jobs = vec![
            task(12, 12, 1),
            task(13, 12, 2),
            task(14, 12, 3),
            task(16, 12, 5),
            pending(17),
        ];
        for j in &mut jobs[..4] {
            j.array_max_running = Some(2);
        }
        let mut running = task(15, 12, 4);
        running.state = JobState::Running;
        running.node = Some("box".into());
        jobs.insert(3, running);
        let (format, _) = Format::parse("%i|%A|%K|%t|%R");
        let lines: Vec<String> = rows(&jobs, false)
            .iter()
            .map(|row| format.row(row, now()))
            .collect();
        assert_eq!(
            lines,
            vec![
                "12_[1-3,5%2]|12|1-3,5%2|PD|(Priority)",
                "12_4|15|4|R|box",
                "17|17|N/A|PD|(Priority)",
            ]
        );
        let each: Vec<String> = rows(&jobs, true)
            .iter()
            .map(|row| Format::parse("%i").0.row(row, now()))
            .collect();
        assert_eq!(each, vec!["12_1", "12_2", "12_3", "12_4", "12_5", "17"]);
    }

    #[test]
    fn tasks_waiting_for_different_reasons_or_alone_keep_their_lines() {
        let mut first = task(12, 12, 0);
        first.reason = Reason::Resources;
        let jobs = vec![first, task(13, 12, 1), task(14, 12, 2), task(30, 30, 7)];
        let ids: Vec<String> = rows(&jobs, false)
            .iter()
            .map(|row| Format::parse("%i %r").0.row(row, now()))
            .collect();
        assert_eq!(
            ids,
            vec!["12_[0] Resources", "12_[1-2] Priority", "30_[7] Priority"]
        );
    }
}
