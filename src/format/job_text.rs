//! The words about a job that squeue, sacct and scontrol (and their JSON)
//! print alike: timestamps in Slurm's local `2026-12-02T10:00:00` form,
//! the seconds a job has run, its (expected) end, when it became
//! eligible, and its TRES string in the controller's or the accounting's
//! order.

use chrono::{DateTime, Local, TimeDelta, Utc};

use crate::format::memory::format_memory_mb;
use crate::protocol::{JobInfo, JobState};

/// Slurm's timestamp: local time, ISO 8601 without a zone; `N/A` if unset
/// (squeue's word).
pub fn timestamp(time: Option<DateTime<Utc>>) -> String {
    time.map_or_else(
        || "N/A".into(),
        |t| {
            t.with_timezone(&Local)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
        },
    )
}

/// A [`timestamp`], `Unknown` if unset (sacct's and scontrol's word).
pub fn timestamp_or_unknown(time: Option<DateTime<Utc>>) -> String {
    time.map_or_else(|| "Unknown".into(), |t| timestamp(Some(t)))
}

/// Seconds from `start` to `end` (or `now` while it runs); 0 before it
/// starts, and never less than 0.
pub fn run_seconds(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> u64 {
    start.map_or(0, |start| {
        u64::try_from((end.unwrap_or(now) - start).num_seconds()).unwrap_or(0)
    })
}

/// The end, or the expected end of a running job with a time limit.
pub fn expected_end(job: &JobInfo) -> Option<DateTime<Utc>> {
    match (job.end_time, job.start_time, job.time_limit) {
        (Some(end), _, _) => Some(end),
        (None, Some(start), Some(limit)) => i64::try_from(limit)
            .ok()
            .and_then(TimeDelta::try_seconds)
            .and_then(|limit| start.checked_add_signed(limit)),
        _ => None,
    }
}

/// When the job could start: unknown while held or waiting for other
/// jobs, else the later of its submission and its `--begin` time.
pub fn eligible_time(job: &JobInfo) -> Option<DateTime<Utc>> {
    let waiting =
        job.state == JobState::Pending && (job.reason.is_hold() || job.dependency.is_some());
    if waiting {
        return None;
    }
    Some(
        job.begin_time
            .map_or(job.submit_time, |begin| begin.max(job.submit_time)),
    )
}

/// The trackable resources of a job or step, as its TRES string counts
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tres {
    pub cpus: u32,
    /// Already in the printing tool's units (`4G`, `100M`); `None`: no
    /// `mem=`.
    pub memory: Option<String>,
    pub gpus: u32,
    /// Jobs are billed (one per CPU); steps are not.
    pub billing: bool,
}

impl Tres {
    /// The controller's order (squeue, scontrol):
    /// `cpu=2,mem=4G,node=1,billing=2,gres/gpu=1`.
    pub fn controller_text(&self) -> String {
        let mut parts = vec![format!("cpu={}", self.cpus)];
        parts.extend(self.memory.iter().map(|memory| format!("mem={memory}")));
        parts.push("node=1".into());
        if self.billing {
            parts.push(format!("billing={}", self.cpus));
        }
        if self.gpus > 0 {
            parts.push(format!("gres/gpu={}", self.gpus));
        }
        parts.join(",")
    }

    /// The accounting's order (sacct), by name:
    /// `billing=2,cpu=2,gres/gpu=1,mem=4G,node=1`.
    pub fn accounting_text(&self) -> String {
        let mut parts = Vec::new();
        if self.billing {
            parts.push(format!("billing={}", self.cpus));
        }
        parts.push(format!("cpu={}", self.cpus));
        if self.gpus > 0 {
            parts.push(format!("gres/gpu={}", self.gpus));
        }
        parts.extend(self.memory.iter().map(|memory| format!("mem={memory}")));
        parts.push("node=1".into());
        parts.join(",")
    }
}

/// A job's TRES in the controller's order. A job that asked for no memory
/// and has not run is shown to request the whole node's, as Slurm
/// estimates such a request (pass the node's memory; 0 leaves it out);
/// once it runs, memory is not a resource it holds (CR_Core).
pub fn job_tres(job: &JobInfo, node_memory_mb: u64) -> String {
    let memory = match job.memory_mb {
        0 if job.node.is_none() && job.memory_per_cpu_mb.is_none() => node_memory_mb,
        memory => memory,
    };
    Tres {
        cpus: job.cpus,
        memory: (memory > 0).then(|| format_memory_mb(memory)),
        gpus: job.gpus,
        billing: true,
    }
    .controller_text()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("valid time")
    }

    #[test]
    fn unset_times_read_as_each_tool_words_them() {
        assert_eq!(timestamp(None), "N/A");
        assert_eq!(timestamp_or_unknown(None), "Unknown");
        let shown = at(0)
            .with_timezone(&Local)
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        assert_eq!(timestamp(Some(at(0))), shown);
        assert_eq!(timestamp_or_unknown(Some(at(0))), shown);
    }

    #[test]
    fn run_time_counts_to_the_end_or_now() {
        assert_eq!(run_seconds(None, None, at(50)), 0);
        assert_eq!(run_seconds(Some(at(10)), None, at(50)), 40);
        assert_eq!(run_seconds(Some(at(10)), Some(at(20)), at(50)), 10);
        assert_eq!(run_seconds(Some(at(60)), None, at(50)), 0);
    }

    #[test]
    fn a_running_job_is_expected_to_end_at_its_limit() {
        let mut job = crate::format::job_id::sample_job(1);
        assert_eq!(expected_end(&job), None);
        job.start_time = Some(at(0));
        assert_eq!(expected_end(&job), None);
        job.time_limit = Some(60);
        assert_eq!(expected_end(&job), Some(at(60)));
        job.end_time = Some(at(5));
        assert_eq!(expected_end(&job), Some(at(5)));
    }

    #[test]
    fn tres_strings_follow_each_daemon_s_order() {
        let tres = Tres {
            cpus: 2,
            memory: Some("4G".into()),
            gpus: 1,
            billing: true,
        };
        assert_eq!(
            tres.controller_text(),
            "cpu=2,mem=4G,node=1,billing=2,gres/gpu=1"
        );
        assert_eq!(
            tres.accounting_text(),
            "billing=2,cpu=2,gres/gpu=1,mem=4G,node=1"
        );
        let step = Tres {
            memory: None,
            gpus: 0,
            billing: false,
            ..tres
        };
        assert_eq!(step.accounting_text(), "cpu=2,node=1");
    }
}
