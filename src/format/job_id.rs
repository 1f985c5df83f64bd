//! Job-id selectors, as every tool takes them on its command line: `12`
//! (the job, or every task of array 12), `12_3` (one task), `12_[1-3,5]`
//! (these tasks) and `12_*` (every task), several in one word separated by
//! commas outside the brackets (`1,2_[3,4]`).

use crate::format::array::{LARGEST_MAX_ARRAY_SIZE, parse_array};
use crate::protocol::{JobId, JobInfo};

/// Which tasks of an id are meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tasks {
    /// `12`: the job, or every task of array 12.
    Job,
    /// `12_*`: every task of the array.
    All,
    /// `12_3`, `12_[1-3]`: these tasks.
    Some(Vec<u32>),
}

/// One job id as given, and the tasks it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSelector {
    pub job: JobId,
    pub tasks: Tasks,
}

impl JobSelector {
    /// Parses `12`, `12_3`, `12_[1-3,5]` or `12_*`; `None` if it is none of
    /// them (a throttle `%N` in the brackets included).
    pub fn parse(text: &str) -> Option<JobSelector> {
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let job = text[..digits].parse::<JobId>().ok()?;
        let rest = &text[digits..];
        let tasks = if rest.is_empty() {
            Tasks::Job
        } else if rest == "_*" {
            Tasks::All
        } else if let Some(list) = rest.strip_prefix("_[").and_then(|r| r.strip_suffix(']')) {
            if list.contains('%') {
                return None;
            }
            // Any task a daemon may have, whatever its MaxArraySize.
            Tasks::Some(parse_array(list, LARGEST_MAX_ARRAY_SIZE).ok()?.indices)
        } else {
            let index = rest.strip_prefix('_')?;
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Tasks::Some(vec![index.parse().ok()?])
        };
        Some(JobSelector { job, tasks })
    }

    /// Whether this names the job: its own id or its array's (as squeue's
    /// `_filter_job` looks), or one of the tasks named.
    pub fn matches(&self, job: &JobInfo) -> bool {
        match &self.tasks {
            Tasks::Job | Tasks::All => job.job_id == self.job || job.array_job_id == Some(self.job),
            Tasks::Some(indices) => {
                job.array_job_id == Some(self.job)
                    && job.array_task_id.is_some_and(|t| indices.contains(&t))
            }
        }
    }

    /// Whether this names a job id only, no tasks of it in particular.
    pub fn is_whole_job(&self) -> bool {
        matches!(self.tasks, Tasks::Job | Tasks::All)
    }
}

/// The ids in command-line words: each word split at the commas outside
/// `[...]`, empty pieces (and blanks around a piece) dropped.
pub fn split_ids<S: AsRef<str>>(words: &[S]) -> Vec<&str> {
    let mut pieces = Vec::new();
    for word in words {
        let word = word.as_ref();
        let mut depth = 0usize;
        let mut start = 0;
        for (at, c) in word.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    pieces.push(&word[start..at]);
                    start = at + 1;
                }
                _ => {}
            }
        }
        pieces.push(&word[start..]);
    }
    pieces
        .into_iter()
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .collect()
}

/// A pending job of user 1000's (`alice`), named `job`, for tests.
#[cfg(test)]
pub(crate) fn sample_job(id: u64) -> JobInfo {
    let value = serde_json::json!({
        "job_id": id, "name": "job", "user": "alice", "uid": 1000,
        "partition": "normal", "state": "PENDING", "reason": "None",
        "cpus": 1, "ntasks": 1, "cpus_per_task": 1, "memory_mb": 0, "gpus": 0,
        "node": null, "submit_time": "2000-01-01T00:00:00Z",
        "start_time": null, "end_time": null, "time_limit": null, "exit_code": null,
        "work_dir": "/w", "stdout": "/w/o", "stderr": "/w/o",
    });
    serde_json::from_value(value).expect("a JobInfo")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(text: &str) -> Option<(u64, Tasks)> {
        JobSelector::parse(text).map(|s| (s.job.0, s.tasks))
    }

    #[test]
    fn ids_name_jobs_tasks_and_task_sets() {
        assert_eq!(selector("12"), Some((12, Tasks::Job)));
        assert_eq!(selector("12_3"), Some((12, Tasks::Some(vec![3]))));
        assert_eq!(selector("12_[1-3]"), Some((12, Tasks::Some(vec![1, 2, 3]))));
        assert_eq!(
            selector("12_[1,3,5]"),
            Some((12, Tasks::Some(vec![1, 3, 5])))
        );
        assert_eq!(selector("12_*"), Some((12, Tasks::All)));
        for bad in [
            "", "x1", "0", "12_", "12_x", "12_+3", "+12", "12_[", "12_[3-1]", "12_[1%2]", "12.0",
            "-3", "1 2",
        ] {
            assert_eq!(selector(bad), None, "{bad}");
        }
    }

    #[test]
    fn commas_separate_ids_but_not_inside_brackets() {
        let words = ["1,2_[3,4]", "x", " 5 ,,"];
        assert_eq!(split_ids(&words), ["1", "2_[3,4]", "x", "5"]);
    }

    #[test]
    fn matching_follows_arrays() {
        let mut task = sample_job(14);
        task.array_job_id = Some(JobId(12));
        task.array_task_id = Some(2);
        let matches = |text: &str| JobSelector::parse(text).expect("valid").matches(&task);
        assert!(matches("12"));
        assert!(matches("14"));
        assert!(matches("12_*"));
        assert!(matches("12_2"));
        assert!(matches("12_[1-3]"));
        assert!(!matches("12_3"));
        assert!(!matches("14_2"));
        assert!(!matches("13"));
    }
}
