//! The daemon's HTTP/JSON API as plain serde types, with no I/O.
//!
//! Client and daemon both compile against this module, so the two sides of
//! the wire cannot drift apart. `docs/api.md` describes the routes that carry
//! these types.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Version prefix of every route.
pub const API_PREFIX: &str = "/v1";

/// A job's id: positive, assigned in increasing order, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for JobId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(JobId(n)),
            _ => Err(format!("Invalid job id: {s}")),
        }
    }
}

/// Where a job is in its life. Terminal states never change again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    Timeout,
}

impl JobState {
    /// Every state, in the order Slurm lists them.
    pub const ALL: [JobState; 6] = [
        JobState::Pending,
        JobState::Running,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Timeout,
    ];

    /// Slurm's long name (`%T`), e.g. `PENDING`.
    pub fn long(self) -> &'static str {
        match self {
            JobState::Pending => "PENDING",
            JobState::Running => "RUNNING",
            JobState::Completed => "COMPLETED",
            JobState::Failed => "FAILED",
            JobState::Cancelled => "CANCELLED",
            JobState::Timeout => "TIMEOUT",
        }
    }

    /// Slurm's compact code (`%t`), e.g. `PD`.
    pub fn short(self) -> &'static str {
        match self {
            JobState::Pending => "PD",
            JobState::Running => "R",
            JobState::Completed => "CD",
            JobState::Failed => "F",
            JobState::Cancelled => "CA",
            JobState::Timeout => "TO",
        }
    }

    /// True once the job has ended and will never change state again.
    pub fn is_terminal(self) -> bool {
        !matches!(self, JobState::Pending | JobState::Running)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.long())
    }
}

impl FromStr for JobState {
    type Err = String;

    /// Accepts the long or the compact name, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        JobState::ALL
            .into_iter()
            .find(|state| {
                state.long().eq_ignore_ascii_case(wanted)
                    || state.short().eq_ignore_ascii_case(wanted)
            })
            .ok_or_else(|| format!("Invalid job state specified: {s}"))
    }
}

impl Serialize for JobState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.long())
    }
}

impl<'de> Deserialize<'de> for JobState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a job is pending, or why it ended the way it did: Slurm's reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Nothing to report (running, completed, or not yet looked at).
    None,
    /// The job is next in line but the free resources are not enough.
    Resources,
    /// An earlier job is waiting for the same resources.
    Priority,
    /// The daemon stopped while the job ran and could not follow it.
    NodeFail,
    /// The script exited with a non-zero code.
    NonZeroExitCode,
    /// The script was killed by a signal the scheduler did not send.
    RaisedSignal(i32),
    /// The time limit was reached.
    TimeLimit,
    /// The job could not be started (working directory, output file, script).
    JobLaunchFailure,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::None => f.write_str("None"),
            Reason::Resources => f.write_str("Resources"),
            Reason::Priority => f.write_str("Priority"),
            Reason::NodeFail => f.write_str("NodeFail"),
            Reason::NonZeroExitCode => f.write_str("NonZeroExitCode"),
            Reason::RaisedSignal(signal) => {
                write!(f, "RaisedSignal:{signal}({})", signal_name(*signal))
            }
            Reason::TimeLimit => f.write_str("TimeLimit"),
            Reason::JobLaunchFailure => f.write_str("JobLaunchFailure"),
        }
    }
}

impl FromStr for Reason {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "None" => Reason::None,
            "Resources" => Reason::Resources,
            "Priority" => Reason::Priority,
            "NodeFail" => Reason::NodeFail,
            "NonZeroExitCode" => Reason::NonZeroExitCode,
            "TimeLimit" => Reason::TimeLimit,
            "JobLaunchFailure" => Reason::JobLaunchFailure,
            other => {
                let signal = other
                    .strip_prefix("RaisedSignal:")
                    .and_then(|rest| rest.split('(').next())
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| format!("unknown reason: {other}"))?;
                Reason::RaisedSignal(signal)
            }
        })
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The name Slurm prints for a signal number, e.g. `Killed` for 9.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "Hangup",
        2 => "Interrupt",
        3 => "Quit",
        4 => "Illegal instruction",
        6 => "Aborted",
        7 => "Bus error",
        8 => "Floating point exception",
        9 => "Killed",
        10 => "User defined signal 1",
        11 => "Segmentation fault",
        12 => "User defined signal 2",
        13 => "Broken pipe",
        14 => "Alarm clock",
        15 => "Terminated",
        _ => "Unknown signal",
    }
}

/// How a job's script ended, as Slurm writes it: `code:signal`, where at
/// most one side is non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitCode {
    pub code: i32,
    pub signal: i32,
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.code, self.signal)
    }
}

impl FromStr for ExitCode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (code, signal) = s
            .split_once(':')
            .ok_or_else(|| format!("exit code {s:?} is not code:signal"))?;
        let parse = |part: &str| {
            part.parse::<i32>()
                .map_err(|_| format!("exit code {s:?} is not code:signal"))
        };
        Ok(ExitCode {
            code: parse(code)?,
            signal: parse(signal)?,
        })
    }
}

impl Serialize for ExitCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ExitCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a job asks of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    /// CPUs in total (tasks × CPUs per task).
    pub cpus: u32,
    /// Memory in MiB; 0 asks for none.
    pub memory_mb: u64,
    /// GPUs in total.
    pub gpus: u32,
}

/// `POST /v1/jobs`: everything the daemon needs to run a batch job later,
/// captured by the client at submit time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The job's name (`-J`).
    pub name: String,
    /// The script's text, stored with the job: the file may vanish after submit.
    pub script: String,
    /// Arguments given to the script as `$1`, `$2`, ...
    #[serde(default)]
    pub args: Vec<String>,
    /// Absolute working directory of the job.
    pub work_dir: PathBuf,
    /// The directory cbatch ran in (`SLURM_SUBMIT_DIR`).
    pub submit_dir: PathBuf,
    /// Pattern of the stdout file (`%j %x %u %%`); `None` is `slurm-%j.out`.
    #[serde(default)]
    pub stdout: Option<String>,
    /// Pattern of the stderr file; `None` joins stderr to stdout.
    #[serde(default)]
    pub stderr: Option<String>,
    /// Number of tasks (`-n`).
    pub ntasks: u32,
    /// CPUs per task (`-c`).
    pub cpus_per_task: u32,
    /// Memory per node in MiB; `None` asks for none.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// GPUs in total.
    #[serde(default)]
    pub gpus: u32,
    /// Time limit in seconds; `None` is unlimited.
    #[serde(default)]
    pub time_limit: Option<u64>,
    /// Partition; `None` is the default one.
    #[serde(default)]
    pub partition: Option<String>,
    /// The submitter's environment, given to the job.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

impl SubmitRequest {
    /// The resources this request asks for.
    pub fn resources(&self) -> ResourceRequest {
        ResourceRequest {
            cpus: self.ntasks.saturating_mul(self.cpus_per_task),
            memory_mb: self.memory_mb.unwrap_or(0),
            gpus: self.gpus,
        }
    }
}

/// Reply to a submission: the id, returned only once the job is on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResponse {
    pub job_id: JobId,
}

/// One job as the API shows it (`cqueue --json` prints an array of these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    pub job_id: JobId,
    pub name: String,
    /// Owner's user name, as resolved by the daemon when the job was submitted.
    pub user: String,
    pub uid: u32,
    pub partition: String,
    pub state: JobState,
    pub reason: Reason,
    /// CPUs requested (allocated, once running).
    pub cpus: u32,
    pub ntasks: u32,
    pub cpus_per_task: u32,
    pub memory_mb: u64,
    pub gpus: u32,
    /// Concrete CPU ids while running or after the job ran.
    #[serde(default)]
    pub cpu_ids: Vec<u32>,
    /// Concrete GPU ids while running or after the job ran.
    #[serde(default)]
    pub gpu_ids: Vec<u32>,
    /// The node the job runs or ran on.
    pub node: Option<String>,
    pub submit_time: DateTime<Utc>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    /// Time limit in seconds; `None` is unlimited.
    pub time_limit: Option<u64>,
    /// `code:signal` once the job has ended.
    pub exit_code: Option<ExitCode>,
    pub work_dir: PathBuf,
    /// The stdout file, patterns expanded.
    pub stdout: PathBuf,
    /// The stderr file, patterns expanded (the stdout file when joined).
    pub stderr: PathBuf,
}

/// `GET /v1/jobs` filters; every given filter must match (an AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Comma-separated job ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<String>,
    /// Comma-separated user names or numeric uids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<String>,
    /// Comma-separated states (long or compact names) or `all`;
    /// the default is the active states, `PENDING,RUNNING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<String>,
}

/// Reply to `GET /v1/jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    pub jobs: Vec<JobInfo>,
}

/// Reply to `POST /v1/jobs/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelResponse {
    pub job_id: JobId,
    /// The state before the request: a terminal state means nothing was done.
    pub previous_state: JobState,
    /// The state now; a running job stays RUNNING until its processes are gone.
    pub state: JobState,
}

/// Reply to `GET /v1/node`: the node and its resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub name: String,
    pub partition: String,
    pub cpus_total: u32,
    pub cpus_free: u32,
    pub memory_mb_total: u64,
    pub memory_mb_free: u64,
    pub gpus_total: u32,
    pub gpus_free: u32,
    pub jobs_pending: usize,
    pub jobs_running: usize,
}

/// Reply to `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub pid: u32,
}

/// Every error reply has this body, with a matching HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable machine-readable code, e.g. `invalid_request`, `not_found`.
    pub code: String,
    /// One line for a person.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_from_short_and_long_names_in_any_case() {
        for state in JobState::ALL {
            assert_eq!(state.long().parse::<JobState>(), Ok(state));
            assert_eq!(state.short().to_lowercase().parse::<JobState>(), Ok(state));
        }
        assert!("bogus".parse::<JobState>().is_err());
    }

    #[test]
    fn reasons_round_trip_through_text() {
        for reason in [
            Reason::None,
            Reason::Resources,
            Reason::Priority,
            Reason::NodeFail,
            Reason::NonZeroExitCode,
            Reason::RaisedSignal(9),
            Reason::TimeLimit,
            Reason::JobLaunchFailure,
        ] {
            assert_eq!(reason.to_string().parse::<Reason>(), Ok(reason));
        }
        assert_eq!(
            Reason::RaisedSignal(9).to_string(),
            "RaisedSignal:9(Killed)"
        );
    }

    #[test]
    fn exit_codes_are_code_colon_signal() {
        let exit = ExitCode { code: 3, signal: 0 };
        assert_eq!(
            serde_json::to_string(&exit).ok().as_deref(),
            Some("\"3:0\"")
        );
        assert_eq!("0:9".parse(), Ok(ExitCode { code: 0, signal: 9 }));
        assert!("3".parse::<ExitCode>().is_err());
    }
}
