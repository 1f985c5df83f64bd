//! A job as the daemon keeps it: what was asked at submit (`JobSpec`) and
//! where it is in its life (`Phase`). The phase carries exactly the data that
//! is true in it, so a pending job cannot have an exit code and a finished
//! one cannot hold resources.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::daemon::tracker::Allocation;
use crate::format::pattern::{self, PatternValues};
use crate::protocol::{ExitCode, JobId, JobInfo, JobState, Reason, ResourceRequest};

/// Default stdout pattern, relative to the working directory.
pub const DEFAULT_OUTPUT: &str = "slurm-%j.out";

/// What the submitter asked for; fixed once the job is accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub user: String,
    pub partition: String,
    pub request: ResourceRequest,
    pub ntasks: u32,
    pub cpus_per_task: u32,
    /// Whether `--mem` was given (decides `SLURM_MEM_PER_NODE`).
    pub memory_requested: bool,
    pub time_limit: Option<u64>,
    pub work_dir: PathBuf,
    pub submit_dir: PathBuf,
    pub stdout_pattern: Option<String>,
    pub stderr_pattern: Option<String>,
    pub args: Vec<String>,
    /// Higher runs first among pending jobs.
    #[serde(default)]
    pub priority: i64,
    pub submit_time: DateTime<Utc>,
}

/// How a job that ran or was cancelled ended for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinalState {
    Completed,
    Failed,
    Cancelled,
    Timeout,
}

impl From<FinalState> for JobState {
    fn from(state: FinalState) -> JobState {
        match state {
            FinalState::Completed => JobState::Completed,
            FinalState::Failed => JobState::Failed,
            FinalState::Cancelled => JobState::Cancelled,
            FinalState::Timeout => JobState::Timeout,
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Pending {
        reason: Reason,
    },
    Running {
        allocation: Allocation,
        start_time: DateTime<Utc>,
    },
    Finished {
        state: FinalState,
        reason: Reason,
        exit_code: ExitCode,
        /// What it held while it ran; `None` if it never started.
        allocation: Option<Allocation>,
        start_time: Option<DateTime<Utc>>,
        end_time: DateTime<Utc>,
    },
}

/// One job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub spec: JobSpec,
    pub phase: Phase,
}

impl Job {
    pub fn state(&self) -> JobState {
        match &self.phase {
            Phase::Pending { .. } => JobState::Pending,
            Phase::Running { .. } => JobState::Running,
            Phase::Finished { state, .. } => (*state).into(),
        }
    }

    /// The stdout file with its pattern expanded, relative to the working dir.
    pub fn stdout_path(&self, node: &str) -> PathBuf {
        let pattern = self
            .spec
            .stdout_pattern
            .as_deref()
            .unwrap_or(DEFAULT_OUTPUT);
        self.expand(pattern, node)
    }

    /// The stderr file; the stdout file when the two are joined.
    pub fn stderr_path(&self, node: &str) -> PathBuf {
        match &self.spec.stderr_pattern {
            Some(pattern) => self.expand(pattern, node),
            None => self.stdout_path(node),
        }
    }

    fn expand(&self, pattern: &str, node: &str) -> PathBuf {
        let values = PatternValues {
            job_id: self.id.0,
            name: &self.spec.name,
            user: &self.spec.user,
            node,
        };
        resolve(&self.spec.work_dir, &pattern::expand(pattern, &values))
    }

    /// The API's view of the job.
    pub fn info(&self, node: &str) -> JobInfo {
        let spec = &self.spec;
        let (reason, allocation, start_time, end_time, exit_code) = match &self.phase {
            Phase::Pending { reason } => (*reason, None, None, None, None),
            Phase::Running {
                allocation,
                start_time,
            } => (
                Reason::None,
                Some(allocation),
                Some(*start_time),
                None,
                None,
            ),
            Phase::Finished {
                reason,
                exit_code,
                allocation,
                start_time,
                end_time,
                ..
            } => (
                *reason,
                allocation.as_ref(),
                *start_time,
                Some(*end_time),
                Some(*exit_code),
            ),
        };
        JobInfo {
            job_id: self.id,
            name: spec.name.clone(),
            user: spec.user.clone(),
            uid: spec.uid,
            partition: spec.partition.clone(),
            state: self.state(),
            reason,
            cpus: spec.request.cpus,
            ntasks: spec.ntasks,
            cpus_per_task: spec.cpus_per_task,
            memory_mb: spec.request.memory_mb,
            gpus: spec.request.gpus,
            cpu_ids: allocation.map(|a| a.cpu_ids.clone()).unwrap_or_default(),
            gpu_ids: allocation.map(|a| a.gpu_ids.clone()).unwrap_or_default(),
            node: allocation.map(|_| node.to_string()),
            submit_time: spec.submit_time,
            start_time,
            end_time,
            time_limit: spec.time_limit,
            exit_code,
            work_dir: spec.work_dir.clone(),
            stdout: self.stdout_path(node),
            stderr: self.stderr_path(node),
        }
    }
}

fn resolve(base: &Path, path: &str) -> PathBuf {
    base.join(path)
}
