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
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

mod gpu;
mod priority;
mod rows;

pub use gpu::{Gpu, GpuVendor, gres_type};
pub use priority::{JobPriority, PriorityReport, PriorityWeights, ShareReport, UserShareInfo};
pub use rows::decode as decode_rows;

/// What a job used while it ran, as its cgroup (or, without one, its
/// supervisor) measured it; each figure is `None` where nothing measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Usage {
    /// Peak resident memory in KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rss_kb: Option<u64>,
    /// CPU time in user and system mode together, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cpu_usec: Option<u64>,
    /// CPU time in user mode, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_cpu_usec: Option<u64>,
    /// CPU time in system mode, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_cpu_usec: Option<u64>,
}

impl Usage {
    /// Each figure from `self` where it has one, else from `other`.
    pub fn or(self, other: Usage) -> Usage {
        Usage {
            max_rss_kb: self.max_rss_kb.or(other.max_rss_kb),
            total_cpu_usec: self.total_cpu_usec.or(other.total_cpu_usec),
            user_cpu_usec: self.user_cpu_usec.or(other.user_cpu_usec),
            system_cpu_usec: self.system_cpu_usec.or(other.system_cpu_usec),
        }
    }
}

/// Version prefix of every route.
pub const API_PREFIX: &str = "/v1";

/// A job's id: positive, assigned in increasing order, never reused.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    #[default]
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
    Timeout,
    /// Killed by the OOM killer inside its memory limit.
    OutOfMemory,
    /// Its supervisor was lost; its processes were killed.
    NodeFail,
}

impl JobState {
    /// Every state, in the order Slurm lists them.
    pub const ALL: [JobState; 8] = [
        JobState::Pending,
        JobState::Running,
        JobState::Completed,
        JobState::Failed,
        JobState::Cancelled,
        JobState::Timeout,
        JobState::OutOfMemory,
        JobState::NodeFail,
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
            JobState::OutOfMemory => "OUT_OF_MEMORY",
            JobState::NodeFail => "NODE_FAIL",
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
            JobState::OutOfMemory => "OOM",
            JobState::NodeFail => "NF",
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

/// The long names, which is what the wire carries (a request may also
/// give the compact ones, in any case, where it filters by state).
impl PartialSchema for JobState {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("Slurm's long state name."))
            .enum_values(Some(JobState::ALL.iter().map(|state| state.long())))
            .into()
    }
}

impl ToSchema for JobState {}

impl<'de> Deserialize<'de> for JobState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_text(deserializer)
    }
}

/// Why a job is pending, or why it ended the way it did: Slurm's reason codes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Nothing to report (running, completed, or not yet looked at).
    #[default]
    None,
    /// The job is next in line but the free resources are not enough.
    Resources,
    /// An earlier job is waiting for the same resources.
    Priority,
    /// Waiting for the jobs it depends on.
    Dependency,
    /// A dependency failed in a way that can never be satisfied.
    DependencyNeverSatisfied,
    /// Held by its owner (`cbatch --hold`, `ccontrol hold`).
    JobHeldUser,
    /// Held by root or an operator.
    JobHeldAdmin,
    /// Not eligible before its `--begin` time.
    BeginTime,
    /// Asks for more than the node (every partition's one node) has: it
    /// waits for ever, unless its request is changed.
    PartitionConfig,
    /// Its array already runs as many tasks as its `%N` throttle allows.
    JobArrayTaskLimit,
    /// Its time limit is over its partition's MaxTime: it waits for ever,
    /// unless the limit is lowered.
    PartitionTimeLimit,
    /// Its user already runs as many jobs as allowed (MaxJobsPerUser; the
    /// association's reason, since the limit is per user without a QOS).
    AssocMaxJobsLimit,
    /// Its CPUs would take its user's running jobs over MaxTRESPerUser's cpu.
    QOSMaxCpuPerUserLimit,
    /// Its memory would take its user's running jobs over MaxTRESPerUser's mem.
    QOSMaxMemoryPerUser,
    /// Its GPUs would take its user's running jobs over MaxTRESPerUser's gres/gpu.
    QOSMaxGRESPerUser,
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
    /// The OOM killer killed a process of the job inside its memory limit.
    OutOfMemory,
}

impl Reason {
    /// The reasons without a value, with their Slurm names.
    const NAMED: [(Reason, &'static str); 20] = [
        (Reason::None, "None"),
        (Reason::Resources, "Resources"),
        (Reason::Priority, "Priority"),
        (Reason::Dependency, "Dependency"),
        (Reason::DependencyNeverSatisfied, "DependencyNeverSatisfied"),
        (Reason::JobHeldUser, "JobHeldUser"),
        (Reason::JobHeldAdmin, "JobHeldAdmin"),
        (Reason::BeginTime, "BeginTime"),
        (Reason::PartitionConfig, "PartitionConfig"),
        (Reason::JobArrayTaskLimit, "JobArrayTaskLimit"),
        (Reason::PartitionTimeLimit, "PartitionTimeLimit"),
        (Reason::AssocMaxJobsLimit, "AssocMaxJobsLimit"),
        (Reason::QOSMaxCpuPerUserLimit, "QOSMaxCpuPerUserLimit"),
        (Reason::QOSMaxMemoryPerUser, "QOSMaxMemoryPerUser"),
        (Reason::QOSMaxGRESPerUser, "QOSMaxGRESPerUser"),
        (Reason::NodeFail, "NodeFail"),
        (Reason::NonZeroExitCode, "NonZeroExitCode"),
        (Reason::TimeLimit, "TimeLimit"),
        (Reason::JobLaunchFailure, "JobLaunchFailure"),
        (Reason::OutOfMemory, "OutOfMemory"),
    ];

    /// True for the reasons that keep a job from starting whatever is free.
    pub fn is_hold(self) -> bool {
        matches!(self, Reason::JobHeldUser | Reason::JobHeldAdmin)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Reason::RaisedSignal(signal) = self {
            return write!(f, "RaisedSignal:{signal}({})", signal_name(*signal));
        }
        let name = Reason::NAMED
            .iter()
            .find(|(reason, _)| reason == self)
            .map_or("None", |(_, name)| name);
        f.write_str(name)
    }
}

impl FromStr for Reason {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some((reason, _)) = Reason::NAMED.iter().find(|(_, name)| *name == s) {
            return Ok(*reason);
        }
        s.strip_prefix("RaisedSignal:")
            .and_then(|rest| rest.split('(').next())
            .and_then(|n| n.parse().ok())
            .map(Reason::RaisedSignal)
            .ok_or_else(|| format!("unknown reason: {s}"))
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Slurm's reason names, or `RaisedSignal:N(name)`.
impl PartialSchema for Reason {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Slurm's reason code: one of the named reasons (`None`, `Resources`, \
                 `Priority`, `Dependency`, `JobHeldUser`, `TimeLimit`, ...) or \
                 `RaisedSignal:N(name)`.",
            ))
            .examples([serde_json::json!("Resources")])
            .into()
    }
}

impl ToSchema for Reason {}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_text(deserializer)
    }
}

/// Parses a value from a JSON string without copying the string first (a
/// listing decodes a state and a reason for every job).
fn from_text<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    struct Text<T>(std::marker::PhantomData<T>);
    impl<T: FromStr<Err = String>> serde::de::Visitor<'_> for Text<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<T, E> {
            text.parse().map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Text(std::marker::PhantomData))
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

/// `code:signal`, as Slurm writes it.
impl PartialSchema for ExitCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("`code:signal`, as Slurm writes an exit code."))
            .pattern(Some("^-?[0-9]+:-?[0-9]+$"))
            .examples([serde_json::json!("0:0")])
            .into()
    }
}

impl ToSchema for ExitCode {}

impl<'de> Deserialize<'de> for ExitCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_text(deserializer)
    }
}

/// What a job asks of the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
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
    #[schema(value_type = String)]
    pub work_dir: PathBuf,
    /// The directory cbatch ran in (`SLURM_SUBMIT_DIR`).
    #[schema(value_type = String)]
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
    /// The script file as named to cbatch; `None` for stdin and `--wrap`.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub command: Option<PathBuf>,
    /// Submit held (`--hold`): pending with reason JobHeldUser until released.
    #[serde(default)]
    pub hold: bool,
    /// Not eligible to start before this time (`--begin`).
    #[serde(default)]
    pub begin_time: Option<DateTime<Utc>>,
    /// A Slurm dependency expression (`--dependency`), e.g. `afterok:12:13`.
    #[serde(default)]
    pub dependency: Option<String>,
    /// Cancel the job when its dependency can never be satisfied.
    #[serde(default)]
    pub kill_on_invalid_dep: bool,
    /// A Slurm array expression (`--array`), e.g. `0-9%2`.
    #[serde(default)]
    pub array: Option<String>,
    /// Priority adjustment (`--nice`): a higher value runs later.
    #[serde(default)]
    pub nice: i32,
    /// Take every CPU and GPU of the node (`--exclusive`).
    #[serde(default)]
    pub exclusive: bool,
    /// Memory per allocated CPU in MiB (`--mem-per-cpu`), instead of `memory_mb`.
    #[serde(default)]
    pub memory_per_cpu_mb: Option<u64>,
    /// Append to the output files rather than truncate them (`--open-mode=append`).
    #[serde(default)]
    pub append_output: bool,
    /// Pattern of the file read as the script's stdin (`--input`); `/dev/null` if unset.
    #[serde(default)]
    pub stdin: Option<String>,
    /// A signal to send some seconds before the time limit (`--signal`).
    #[serde(default)]
    pub warn_signal: Option<WarnSignal>,
    /// `--ntasks-per-node`, echoed to the job's environment.
    #[serde(default)]
    pub ntasks_per_node: Option<u32>,
    /// Whether `-n` was given: only then does the job see `SLURM_NTASKS`
    /// and `SLURM_NPROCS`, as in Slurm.
    #[serde(default)]
    pub ntasks_given: bool,
    /// Whether `-c` was given: only then does the job see
    /// `SLURM_CPUS_PER_TASK`.
    #[serde(default)]
    pub cpus_per_task_given: bool,
    /// `--comment`.
    #[serde(default)]
    pub comment: Option<String>,
    /// `-A/--account`, recorded.
    #[serde(default)]
    pub account: Option<String>,
    /// `-q/--qos`, recorded.
    #[serde(default)]
    pub qos: Option<String>,
    /// `--wckey`, recorded.
    #[serde(default)]
    pub wckey: Option<String>,
    /// `--export` as given, echoed to the job as `SLURM_EXPORT_ENV`.
    #[serde(default)]
    pub export: Option<String>,
    /// Options that mean nothing on one node (`--constraint`, `--exclude`,
    /// `--requeue`, ...), kept as given.
    #[serde(default)]
    pub recorded_options: BTreeMap<String, String>,
    /// Where the submission came from, as the seed's query shows it.
    #[serde(default, skip_serializing_if = "Origin::is_cli")]
    pub origin: Origin,
}

/// Where a submission came from: a command line (cbatch, crun), or an
/// HTTP client of one of the REST faces (the seed's `data_source`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Origin {
    #[default]
    Cli,
    Api,
    Web,
}

impl Origin {
    pub fn is_cli(&self) -> bool {
        *self == Origin::Cli
    }
}

/// `--signal=[{R|B}:]<sig>[@<secs>]`: a signal sent before the time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(from = "WarnSignalRecord")]
pub struct WarnSignal {
    pub signal: i32,
    /// Seconds before the time limit.
    pub seconds_before: u64,
    /// The steps, or with `B:` the batch shell alone.
    pub scope: SignalScope,
}

/// A [`WarnSignal`] as stored: jobs submitted before scopes say
/// `batch_only` instead (true: `B:`; false then meant the whole group,
/// read now as the steps, Slurm's meaning).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WarnSignalRecord {
    signal: i32,
    seconds_before: u64,
    #[serde(default)]
    scope: Option<SignalScope>,
    #[serde(default)]
    batch_only: bool,
}

impl From<WarnSignalRecord> for WarnSignal {
    fn from(record: WarnSignalRecord) -> WarnSignal {
        let scope = record.scope.unwrap_or(if record.batch_only {
            SignalScope::BatchShell
        } else {
            SignalScope::Steps
        });
        WarnSignal {
            signal: record.signal,
            seconds_before: record.seconds_before,
            scope,
        }
    }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    pub job_id: JobId,
}

/// One job as the API shows it (`cqueue --json` prints an array of these).
///
/// A field left out of the JSON takes its default (zero, empty, `None`):
/// a listing limited to some [`JobField`]s decodes into the same type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_ids: Vec<u32>,
    /// Concrete GPU ids while running or after the job ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
    #[schema(value_type = String)]
    pub work_dir: PathBuf,
    /// The stdout file, patterns expanded.
    #[schema(value_type = String)]
    pub stdout: PathBuf,
    /// The stderr file, patterns expanded (the stdout file when joined).
    #[schema(value_type = String)]
    pub stderr: PathBuf,
    /// The stdin file, patterns expanded.
    #[schema(value_type = String)]
    #[serde(default)]
    pub stdin: PathBuf,
    #[serde(default)]
    pub gid: u32,
    /// The directory cbatch ran in.
    #[schema(value_type = String)]
    #[serde(default)]
    pub submit_dir: PathBuf,
    /// The script file as named at submit; `None` for stdin and `--wrap`.
    #[schema(value_type = Option<String>)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<PathBuf>,
    /// For an array task: the array's job id (the id cbatch printed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_job_id: Option<JobId>,
    /// For an array task: its index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_task_id: Option<u32>,
    /// For an array task: the `%N` limit of tasks running at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub array_max_running: Option<u32>,
    /// Dependencies not yet satisfied, in Slurm's syntax; `None` when none remain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dependency: Option<String>,
    /// Not eligible before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_time: Option<DateTime<Utc>>,
    /// Scheduling priority: higher starts first.
    #[serde(default)]
    pub priority: i64,
    #[serde(default)]
    pub nice: i32,
    /// Times the job was requeued.
    #[serde(default)]
    pub restarts: u32,
    /// Who cancelled the job, for `CANCELLED by <uid>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<u32>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclusive: bool,
    /// Memory per CPU when it was asked that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_per_cpu_mb: Option<u64>,
    /// The script's peak resident memory in KiB, once it has ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rss_kb: Option<u64>,
    /// CPU time it used, user and system together, in microseconds, once
    /// it has ended and where something measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cpu_usec: Option<u64>,
    /// CPU time it used in user mode, in microseconds (as `total_cpu_usec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_cpu_usec: Option<u64>,
    /// CPU time it used in system mode, in microseconds (as `total_cpu_usec`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_cpu_usec: Option<u64>,
    /// The steps `crun` ran inside it, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wckey: Option<String>,
    /// For a pending job, when the scheduler expects it to start (its
    /// backfill reservation); squeue's `%S` shows it, `N/A` without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_start: Option<DateTime<Utc>>,
}

impl JobInfo {
    /// The id as Slurm shows it: `12_3` for an array task, else `12`.
    pub fn display_id(&self) -> String {
        match (self.array_job_id, self.array_task_id) {
            (Some(array), Some(task)) => format!("{array}_{task}"),
            _ => self.job_id.to_string(),
        }
    }
}

/// Declares [`JobField`] with the JSON name of each variant.
macro_rules! job_fields {
    ($($variant:ident => $name:literal,)*) => {
        /// One field of [`JobInfo`], by its JSON name: what a listing may be
        /// limited to (`GET /v1/jobs?fields=job_id,state`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum JobField {
            $($variant,)*
        }

        impl JobField {
            /// Every field, in `JobInfo`'s order.
            pub const ALL: &[JobField] = &[$(JobField::$variant,)*];

            /// The field's key in `JobInfo`'s JSON.
            pub fn name(self) -> &'static str {
                match self {
                    $(JobField::$variant => $name,)*
                }
            }
        }
    };
}

job_fields! {
    JobId => "job_id",
    Name => "name",
    User => "user",
    Uid => "uid",
    Partition => "partition",
    State => "state",
    Reason => "reason",
    Cpus => "cpus",
    Ntasks => "ntasks",
    CpusPerTask => "cpus_per_task",
    MemoryMb => "memory_mb",
    Gpus => "gpus",
    CpuIds => "cpu_ids",
    GpuIds => "gpu_ids",
    Node => "node",
    SubmitTime => "submit_time",
    StartTime => "start_time",
    EndTime => "end_time",
    TimeLimit => "time_limit",
    ExitCode => "exit_code",
    WorkDir => "work_dir",
    Stdout => "stdout",
    Stderr => "stderr",
    Stdin => "stdin",
    Gid => "gid",
    SubmitDir => "submit_dir",
    Command => "command",
    ArrayJobId => "array_job_id",
    ArrayTaskId => "array_task_id",
    ArrayMaxRunning => "array_max_running",
    Dependency => "dependency",
    BeginTime => "begin_time",
    Priority => "priority",
    Nice => "nice",
    Restarts => "restarts",
    CancelledBy => "cancelled_by",
    Exclusive => "exclusive",
    MemoryPerCpuMb => "memory_per_cpu_mb",
    MaxRssKb => "max_rss_kb",
    TotalCpuUsec => "total_cpu_usec",
    UserCpuUsec => "user_cpu_usec",
    SystemCpuUsec => "system_cpu_usec",
    Steps => "steps",
    Comment => "comment",
    Account => "account",
    Qos => "qos",
    Wckey => "wckey",
    ExpectedStart => "expected_start",
}

impl fmt::Display for JobField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for JobField {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        JobField::ALL
            .iter()
            .copied()
            .find(|field| field.name() == wanted)
            .ok_or_else(|| format!("Invalid job field: {wanted}"))
    }
}

/// A set of [`JobField`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FieldSet(u64);

impl FieldSet {
    /// Every field.
    pub fn all() -> FieldSet {
        JobField::ALL.iter().copied().collect()
    }

    pub fn insert(&mut self, field: JobField) {
        self.0 |= 1 << field as u64;
    }

    pub fn contains(self, field: JobField) -> bool {
        self.0 & (1 << field as u64) != 0
    }

    /// The fields in `JobInfo`'s order.
    pub fn iter(self) -> impl Iterator<Item = JobField> {
        JobField::ALL
            .iter()
            .copied()
            .filter(move |field| self.contains(*field))
    }

    /// The comma-separated names, as `ListQuery::fields` takes them.
    pub fn names(self) -> String {
        self.iter()
            .map(JobField::name)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl FromIterator<JobField> for FieldSet {
    fn from_iter<I: IntoIterator<Item = JobField>>(fields: I) -> FieldSet {
        let mut set = FieldSet::default();
        fields.into_iter().for_each(|field| set.insert(field));
        set
    }
}

impl Extend<JobField> for FieldSet {
    fn extend<I: IntoIterator<Item = JobField>>(&mut self, fields: I) {
        fields.into_iter().for_each(|field| self.insert(field));
    }
}

/// `GET /v1/diag`: the daemon's statistics, as `cdiag` (sdiag) shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DiagInfo {
    /// When these were read.
    pub now: DateTime<Utc>,
    /// Since when they count (the start, or the last reset).
    pub since: DateTime<Utc>,
    pub jobs_submitted: u64,
    pub jobs_started: u64,
    pub jobs_completed: u64,
    pub jobs_canceled: u64,
    pub jobs_failed: u64,
    /// The queue now.
    pub jobs_pending: u64,
    pub jobs_running: u64,
    /// Scheduling passes, and their times in microseconds.
    pub cycles: u64,
    pub cycle_last_us: u64,
    pub cycle_max_us: u64,
    pub cycle_sum_us: u64,
    /// Jobs looked at, summed over the passes.
    pub depth_sum: u64,
    /// Jobs waiting at the last pass.
    pub queue_len: u64,
    /// Requests by kind, named as the Slurm RPCs they stand for.
    pub rpc_by_type: Vec<RpcCount>,
    /// Requests by user (`name` the user's, `id` the uid).
    pub rpc_by_user: Vec<RpcCount>,
}

/// One row of sdiag's RPC tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RpcCount {
    pub name: String,
    pub id: u32,
    pub count: u64,
    /// Microseconds, summed.
    pub total_us: u64,
}

/// `POST /v1/jobs/{id}/signal`: deliver a signal to a running job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalRequest {
    pub signal: i32,
    /// Which of the job's processes get it (Slurm's default: the steps).
    #[serde(default)]
    pub scope: SignalScope,
}

/// Which of a running job's processes a user's signal goes to, as Slurm
/// chooses them (sbatch `--signal`, scancel `-s`, `-b`, `-f`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignalScope {
    /// The job's steps (what `crun` started inside it), never the batch
    /// shell: `--signal=SIG` and `scancel -s SIG`. A job without steps
    /// gets nothing.
    #[default]
    Steps,
    /// The batch shell alone, not its children: `--signal=B:SIG`,
    /// `scancel -b`.
    BatchShell,
    /// Every process of the job: `scancel -f`.
    All,
}

/// `POST /v1/jobs/{id}/hold` (the body is optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// A user hold (`JobHeldUser`) even when root asks; root's holds are
    /// otherwise admin holds (`JobHeldAdmin`).
    #[serde(default)]
    pub user: bool,
}

/// `PATCH /v1/jobs/{id}`: change a pending job. Unset fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Seconds; 0 is unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nice: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    /// Total CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub begin_time: Option<DateTime<Utc>>,
}

/// Reply to `POST /v1/jobs/test` (`cbatch --test-only`): when and where the
/// job would start; nothing is submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TestOnlyResponse {
    /// The id the job would get.
    pub job_id: JobId,
    pub start_time: DateTime<Utc>,
    pub cpus: u32,
    pub node: String,
    pub partition: String,
}

/// Reply to `GET /v1/config`: the daemon's settings (`ccontrol show config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DaemonConfig {
    pub version: String,
    pub node: String,
    pub partition: String,
    #[schema(value_type = String)]
    pub socket: PathBuf,
    /// The TCP listener as a client names it: `http://ADDR` or `https://ADDR`.
    pub listen: Option<String>,
    #[schema(value_type = String)]
    pub state_dir: PathBuf,
    pub cpus: u32,
    pub memory_mb: u64,
    pub gpus: u32,
    /// The GPUs offered, in the order a job's `gpu_ids` index them.
    #[serde(default)]
    pub gpu_devices: Vec<Gpu>,
    pub kill_wait_secs: u64,
    /// Seconds without a heartbeat before a node is DOWN (SlurmdTimeout);
    /// 0 from an older daemon.
    #[serde(default)]
    pub node_timeout_secs: u64,
    /// Seconds a finished job stays visible to cqueue and ccontrol (0:
    /// for ever), Slurm's MinJobAge.
    pub min_job_age_secs: u64,
    /// One more than the largest array index.
    pub max_array_size: u32,
    /// Jobs held at most (Slurm's MaxJobCount).
    #[serde(default)]
    pub max_job_count: usize,
    /// The id jobs count from (Slurm's FirstJobId).
    #[serde(default)]
    pub first_job_id: u64,
    pub started_at: DateTime<Utc>,
    /// How jobs are contained: `cgroup2`, `cgroup1` or `none`.
    #[serde(default)]
    pub containment: String,
    /// What the containment gives jobs, in a line (trees used, pinning,
    /// how memory is limited).
    #[serde(default)]
    pub containment_detail: String,
    /// The daemon's own directories in the cgroup trees it uses, where
    /// each job's `job_<id>` cgroup lives while it runs.
    #[schema(value_type = Vec<String>)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containment_dirs: Vec<PathBuf>,
    /// Whether jobs are pinned to their booked CPUs.
    #[serde(default)]
    pub cpu_bind: bool,
    /// Memory booked per CPU for jobs that ask for none (DefMemPerCPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub def_mem_per_cpu_mb: Option<u64>,
    /// How passes place jobs: `sched/backfill` or `sched/builtin`
    /// (SchedulerType); empty from a daemon that predates the choice.
    #[serde(default)]
    pub scheduler_type: String,
    /// Minutes ahead a backfill reservation may lie (bf_window).
    #[serde(default)]
    pub bf_window_minutes: u64,
    /// Jobs a pass tests behind its reservation (bf_max_job_test).
    #[serde(default)]
    pub bf_max_job_test: usize,
}

/// `POST /v1/jobs/{id}/steps`: the id of the job's next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StepResponse {
    pub step: u32,
    /// The files each task of the step writes `0` to, between fork and
    /// exec, to enter the step's cgroup (none without cgroups).
    #[schema(value_type = Vec<String>)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cgroup: Vec<PathBuf>,
}

/// The body of `POST /v1/jobs/{id}/steps` (optional): what the step runs,
/// for accounting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepStart {
    /// The command's name (sacct's JobName of the step).
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ntasks: u32,
}

/// `POST /v1/jobs/{id}/steps/{step}/end`: how a step ended and what its
/// tasks used (the kernel's accounting of crun's children).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepEnd {
    pub exit_code: ExitCode,
    #[serde(default)]
    pub usage: Usage,
}

/// A job step as accounting keeps it: what one `crun` inside the job ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StepInfo {
    pub step_id: u32,
    pub name: String,
    pub ntasks: u32,
    pub start_time: DateTime<Utc>,
    /// `None` while it runs.
    #[serde(default)]
    pub end_time: Option<DateTime<Utc>>,
    /// `None` while it runs, or when the job ended before the step said
    /// how it ended (then it ended as the job did).
    #[serde(default)]
    pub exit_code: Option<ExitCode>,
    /// The state it ended in; `None` while it runs.
    #[serde(default)]
    pub state: Option<JobState>,
    #[serde(default)]
    pub usage: Usage,
}

/// `POST /v1/tokens` (the body is optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Seconds the token is valid; 1800 when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifespan_secs: Option<u64>,
}

/// A token issued for the caller: shown once, kept by the daemon only as
/// a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub token: String,
    /// Whose it is: requests over TCP with it act as this user.
    pub uid: u32,
    pub expires_at: DateTime<Utc>,
}

/// `POST /v1/tokens/revoke`: how many of the caller's tokens were revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevokeResponse {
    pub revoked: usize,
}

/// `GET /v1/jobs/{id}/output`: which of a job's files, from where, and
/// whether to follow it until the job ends.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams,
)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutputQuery {
    #[serde(default)]
    pub stream: OutputStream,
    /// Keep the reply open and send what the job writes until it ends.
    #[serde(default)]
    pub follow: bool,
    /// Bytes of the file to skip: where an interrupted follow resumes.
    #[serde(default)]
    pub offset: u64,
}

/// One of a job's two output files (the same file when stderr is joined).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputStream {
    #[default]
    Stdout,
    Stderr,
}

/// `GET /v1/jobs` filters; every given filter must match (an AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
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
    /// Comma-separated job names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<String>,
    /// Comma-separated `JobInfo` field names: each job then carries only
    /// these, and none that is null or empty (a shorter reply to decode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// How each job is written; `None` is [`ListFormat::Objects`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<ListFormat>,
    /// Finished jobs of any age, as sacct reads them from the accounting
    /// store. Without it a finished job is listed for MinJobAge after it
    /// ended, as long as slurmctld keeps its record for squeue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<bool>,
}

/// How `GET /v1/jobs` writes each job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ListFormat {
    /// `{"jobs":[{...},...]}`: each job an object (the documented default).
    #[default]
    Objects,
    /// `{"fields":[...],"jobs":[[...],...]}`: each job an array of its
    /// values in the order of `fields`, no keys; decode with [`decode_rows`].
    Rows,
}

impl ListFormat {
    /// The query string value.
    pub fn name(self) -> &'static str {
        match self {
            ListFormat::Objects => "objects",
            ListFormat::Rows => "rows",
        }
    }
}

/// Reply to `GET /v1/jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobInfo>,
}

/// Reply to `POST /v1/jobs/{id}/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CancelResponse {
    pub job_id: JobId,
    /// The state before the request: a terminal state means nothing was done.
    pub previous_state: JobState,
    /// The state now; a running job stays RUNNING until its processes are gone.
    pub state: JobState,
}

/// `POST /v1/jobs/cancel`: cancel many jobs with one commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelManyRequest {
    pub ids: Vec<JobId>,
}

/// Reply to `POST /v1/jobs/cancel`: one result per id, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CancelManyResponse {
    pub results: Vec<CancelResult>,
}

/// What cancelling one job of a `CancelManyRequest` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelResult {
    Done(CancelResponse),
    Failed { job_id: JobId, error: ApiError },
}

/// Reply to `GET /v1/node`: the node and its resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NodeInfo {
    pub name: String,
    pub partition: String,
    pub cpus_total: u32,
    pub cpus_free: u32,
    pub memory_mb_total: u64,
    pub memory_mb_free: u64,
    pub gpus_total: u32,
    pub gpus_free: u32,
    /// The GPUs as Slurm's GRES string (`gpu:h200:2`, `gpu:2`); `None` without GPUs.
    #[serde(default)]
    pub gres: Option<String>,
    /// The GPUs offered, in the order a job's `gpu_ids` index them.
    #[serde(default)]
    pub gpu_devices: Vec<Gpu>,
    pub jobs_pending: usize,
    pub jobs_running: usize,
    /// Every partition, in definition order (each covers the one node);
    /// `partition` above is the default one's name. Empty from a daemon
    /// older than partitions: then `partition` is the only one.
    #[serde(default)]
    pub partitions: Vec<PartitionInfo>,
    /// What an administrator or the cluster made of the node beyond what
    /// its free CPUs say (up, down, drained); up from an older daemon.
    #[serde(default)]
    pub state: NodeState,
    /// Why the node is down or drained (scontrol's `Reason=`, sinfo's `%E`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The node's one-minute load average, as it last reported it (its
    /// own daemon, or its heartbeat on a cluster); `None` from an older
    /// daemon, or a node that has not reported one yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_load: Option<f64>,
}

/// A node's state as Slurm keeps it apart from its load: IDLE, MIXED and
/// ALLOCATED follow from the free CPUs of an `Up` node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// In service: IDLE, MIXED or ALLOCATED by its CPUs.
    #[default]
    Up,
    /// Out of service (not responding, or set down): DOWN.
    Down,
    /// Taking no new jobs: DRAINING while jobs still run, DRAINED after.
    Drain,
}

impl NodeInfo {
    /// The partitions this node is in, in definition order.
    pub fn member_partitions(&self) -> Vec<PartitionInfo> {
        self.partition_list()
            .into_iter()
            .filter(|partition| partition.covers(&self.name))
            .collect()
    }

    /// The partitions, or the one `partition` from a daemon that lists none.
    pub fn partition_list(&self) -> Vec<PartitionInfo> {
        if self.partitions.is_empty() {
            vec![PartitionInfo::named(&self.partition)]
        } else {
            self.partitions.clone()
        }
    }
}

/// One partition as slurm.conf defines it; every one covers the one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PartitionInfo {
    pub name: String,
    /// Where a job that names no partition goes (exactly one is).
    pub default: bool,
    /// The longest time limit a job may have here (MaxTime); `None` is UNLIMITED.
    pub max_time_secs: Option<u64>,
    /// The time limit of a job that gives none (DefaultTime); `None` falls
    /// back to `max_time_secs`.
    pub default_time_secs: Option<u64>,
    /// PriorityTier: jobs of a higher tier are considered first.
    pub priority_tier: u32,
    /// PriorityJobFactor: the partition's share of a job's priority.
    pub priority_job_factor: u32,
    /// The groups whose members may submit here (AllowGroups); `None` is ALL.
    pub allow_groups: Option<Vec<String>>,
    /// The accounts whose jobs may run here (AllowAccounts); `None` is ALL.
    #[serde(default)]
    pub allow_accounts: Option<Vec<String>>,
    /// The accounts whose jobs may not (DenyAccounts; ignored, as in Slurm,
    /// when AllowAccounts is set).
    #[serde(default)]
    pub deny_accounts: Option<Vec<String>>,
    /// MaxNodes: 1, or `None` for UNLIMITED (there is one node).
    pub max_nodes: Option<u32>,
    /// slurm.conf's `Nodes=`: the node names (hostlist expressions allowed);
    /// empty for every node, as on a single-node daemon.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
}

impl PartitionInfo {
    /// Whether the partition holds the node named so.
    pub fn covers(&self, node: &str) -> bool {
        self.nodes.is_empty()
            || self.nodes.iter().any(|entry| {
                entry.eq_ignore_ascii_case("ALL")
                    || crate::format::hostlist::expand(entry)
                        .is_ok_and(|names| names.iter().any(|name| name == node))
            })
    }

    /// The nodes among `nodes` that the partition holds, in their order.
    pub fn members<'a>(&self, nodes: &[&'a NodeInfo]) -> Vec<&'a NodeInfo> {
        nodes
            .iter()
            .copied()
            .filter(|node| self.covers(&node.name))
            .collect()
    }

    /// A partition with nothing but a name: the default, no limits, open to all.
    pub fn named(name: &str) -> PartitionInfo {
        PartitionInfo {
            name: name.to_string(),
            default: true,
            max_time_secs: None,
            default_time_secs: None,
            priority_tier: 1,
            priority_job_factor: 1,
            allow_groups: None,
            allow_accounts: None,
            deny_accounts: None,
            max_nodes: None,
            nodes: Vec::new(),
        }
    }
}

/// Reply to `GET /v1/debug`: the daemon's books, read under one lock, for
/// consistency checks and benchmarks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DebugState {
    /// What the resource tracker holds booked.
    pub booked: ResourceRequest,
    /// The sum of the allocations of the jobs the table says are running.
    pub held_by_running_jobs: ResourceRequest,
    pub running: usize,
    pub pending: usize,
    /// Jobs held in memory (active ones and just-finished ones).
    pub jobs_in_memory: usize,
    /// Scheduling passes run since start-up.
    pub passes: u64,
    /// How long the last pass took to decide (microseconds).
    pub last_pass_micros: u64,
}

/// Reply to `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
    pub pid: u32,
}

/// Every error reply has this body, with a matching HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    fn warning_signals_stored_before_scopes_read_with_slurms_meaning() {
        let read = |json: &str| serde_json::from_str::<WarnSignal>(json).expect("reads");
        let old_b = read(r#"{"signal":10,"seconds_before":60,"batch_only":true}"#);
        assert_eq!(old_b.scope, SignalScope::BatchShell);
        let old = read(r#"{"signal":10,"seconds_before":60}"#);
        assert_eq!(old.scope, SignalScope::Steps);
        let new = WarnSignal {
            signal: 12,
            seconds_before: 90,
            scope: SignalScope::BatchShell,
        };
        let json = serde_json::to_string(&new).expect("writes");
        assert_eq!(
            json,
            r#"{"signal":12,"seconds_before":90,"scope":"batch_shell"}"#
        );
        assert_eq!(read(&json), new);
    }
    use std::collections::BTreeSet;

    #[test]
    fn job_fields_name_every_key_of_a_job() {
        let info = JobInfo {
            cpu_ids: vec![0],
            gpu_ids: vec![0],
            command: Some("/bin/true".into()),
            array_job_id: Some(JobId(1)),
            array_task_id: Some(0),
            array_max_running: Some(1),
            dependency: Some("afterok:1(unfulfilled)".into()),
            begin_time: Some(DateTime::default()),
            cancelled_by: Some(0),
            exclusive: true,
            memory_per_cpu_mb: Some(1),
            max_rss_kb: Some(1),
            total_cpu_usec: Some(3),
            user_cpu_usec: Some(2),
            system_cpu_usec: Some(1),
            steps: vec![StepInfo {
                step_id: 0,
                name: "s".into(),
                ntasks: 1,
                start_time: DateTime::default(),
                end_time: None,
                exit_code: None,
                state: None,
                usage: Usage::default(),
            }],
            comment: Some("c".into()),
            account: Some("a".into()),
            qos: Some("q".into()),
            wckey: Some("w".into()),
            expected_start: Some(DateTime::default()),
            ..JobInfo::default()
        };
        let serde_json::Value::Object(keys) = serde_json::to_value(&info).expect("encodes") else {
            panic!("a job is an object");
        };
        let keys: BTreeSet<&str> = keys.keys().map(String::as_str).collect();
        let names: BTreeSet<&str> = JobField::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(keys, names);
        assert!(JobField::ALL.len() <= 64, "a FieldSet holds them all");
        for field in JobField::ALL {
            assert_eq!(field.name().parse::<JobField>(), Ok(*field));
            assert!(FieldSet::all().contains(*field));
        }
        assert!("bogus".parse::<JobField>().is_err());
        let set: FieldSet = [JobField::State, JobField::JobId].into_iter().collect();
        assert_eq!(set.names(), "job_id,state");
        // A job with only some fields decodes, the others at their defaults.
        let partial: JobInfo =
            serde_json::from_str(r#"{"job_id":3,"state":"RUNNING"}"#).expect("decodes");
        assert_eq!(partial.job_id, JobId(3));
        assert_eq!(partial.state, JobState::Running);
        assert_eq!(partial.name, "");
    }

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
        let named = Reason::NAMED.iter().map(|(reason, _)| *reason);
        for reason in named.chain([Reason::RaisedSignal(9)]) {
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
