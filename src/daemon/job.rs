//! A job as the daemon keeps it: what was asked at submit (`JobSpec`) and
//! where it is in its life (`Phase`). The phase carries exactly the data that
//! is true in it, so a pending job cannot have an exit code and a finished
//! one cannot hold resources.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::daemon::tracker::Allocation;
use crate::format::dependency::{Condition, Dependency};
use crate::format::pattern::{self, PatternValues};
use crate::protocol::{
    ExitCode, JobId, JobInfo, JobState, Origin, Reason, ResourceRequest, StepInfo, Usage,
    WarnSignal,
};

/// Default stdout pattern, relative to the working directory.
pub const DEFAULT_OUTPUT: &str = "slurm-%j.out";

/// What the submitter asked for; fixed once the job is accepted.
///
/// A queue holds many jobs that repeat the same user, directories, output
/// patterns and options, so those are shared (`Arc`) and the daemon keeps
/// one copy of each (see `interner`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub user: Arc<str>,
    pub partition: Arc<str>,
    pub request: ResourceRequest,
    pub ntasks: u32,
    pub cpus_per_task: u32,
    /// Whether `--mem` was given (decides `SLURM_MEM_PER_NODE`).
    pub memory_requested: bool,
    pub time_limit: Option<u64>,
    pub work_dir: Arc<Path>,
    pub submit_dir: Arc<Path>,
    pub stdout_pattern: Option<Arc<str>>,
    pub stderr_pattern: Option<Arc<str>>,
    pub args: Vec<String>,
    /// Higher runs first among pending jobs.
    #[serde(default)]
    pub priority: i64,
    /// Set by `ccontrol update priority=`: the priority stays as given
    /// and priority/multifactor no longer recomputes it (Slurm's direct
    /// priority).
    #[serde(default)]
    pub priority_fixed: bool,
    #[serde(default)]
    pub nice: i32,
    pub submit_time: DateTime<Utc>,
    /// Not eligible before this time.
    #[serde(default)]
    pub begin_time: Option<DateTime<Utc>>,
    /// What the job waits for, with each condition's progress.
    #[serde(default)]
    pub dependency: Option<Dependencies>,
    /// Cancel rather than wait when the dependency can never be satisfied.
    #[serde(default)]
    pub kill_on_invalid_dep: bool,
    /// Set for the tasks of an array job.
    #[serde(default)]
    pub array: Option<ArrayTask>,
    /// Times the job was requeued.
    #[serde(default)]
    pub restarts: u32,
    /// Everything else asked at submit that does not steer scheduling.
    #[serde(default)]
    pub options: Arc<JobOptions>,
}

/// Submit options recorded with a job that do not steer the scheduler.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobOptions {
    pub command: Option<PathBuf>,
    pub comment: Option<String>,
    pub account: Option<String>,
    pub qos: Option<String>,
    pub wckey: Option<String>,
    pub export: Option<String>,
    pub recorded: BTreeMap<String, String>,
    pub ntasks_per_node: Option<u32>,
    pub memory_per_cpu_mb: Option<u64>,
    pub exclusive: bool,
    pub append_output: bool,
    pub stdin_pattern: Option<String>,
    pub warn_signal: Option<WarnSignal>,
    /// `--dependency` as given, for `SLURM_JOB_DEPENDENCY`.
    pub dependency_text: Option<String>,
    /// `-n` and `-c` were given (the environment names them only then).
    #[serde(default)]
    pub ntasks_given: bool,
    #[serde(default)]
    pub cpus_per_task_given: bool,
    #[serde(default, skip_serializing_if = "Origin::is_cli")]
    pub origin: Origin,
}

/// A job's place in its array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayTask {
    /// The array's id: the id of its first task, the one cbatch printed.
    pub array_id: JobId,
    pub index: u32,
    /// `%N`: at most this many tasks of the array run at once.
    pub max_running: Option<u32>,
    pub count: u32,
    pub min: u32,
    pub max: u32,
    pub step: u32,
}

/// Where one dependency condition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Progress {
    Waiting,
    Satisfied,
    /// Can never be satisfied.
    Failed,
}

/// A job's dependency expression and the progress of each condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependencies {
    pub any: bool,
    pub conditions: Vec<(Condition, Progress)>,
}

impl Dependencies {
    pub fn new(dependency: Dependency) -> Dependencies {
        Dependencies {
            any: dependency.any,
            conditions: dependency
                .conditions
                .into_iter()
                .map(|c| (c, Progress::Waiting))
                .collect(),
        }
    }

    /// The combined progress: all (or, with `?`, any) conditions satisfied.
    pub fn progress(&self) -> Progress {
        let mut states = self.conditions.iter().map(|(_, p)| *p);
        if self.any {
            if states.clone().any(|p| p == Progress::Satisfied) {
                Progress::Satisfied
            } else if states.all(|p| p == Progress::Failed) {
                Progress::Failed
            } else {
                Progress::Waiting
            }
        } else if states.clone().any(|p| p == Progress::Failed) {
            Progress::Failed
        } else if states.all(|p| p == Progress::Satisfied) {
            Progress::Satisfied
        } else {
            Progress::Waiting
        }
    }

    /// Sets the progress of the singleton conditions (they depend on the
    /// other jobs of the same name, which the scheduler knows).
    pub fn set_singleton(&mut self, progress: Progress) {
        for (condition, state) in &mut self.conditions {
            if condition.kind == crate::format::dependency::DependencyKind::Singleton {
                *state = progress;
            }
        }
    }

    /// The conditions not yet satisfied, as squeue's `%E` shows them:
    /// `afterok:12(unfulfilled)`; `None` when nothing remains.
    pub fn remaining(&self) -> Option<String> {
        let separator = if self.any { "?" } else { "," };
        let parts: Vec<String> = self
            .conditions
            .iter()
            .filter(|(_, p)| *p != Progress::Satisfied)
            .map(|(c, p)| match p {
                Progress::Failed => format!("{c}(failed)"),
                _ => format!("{c}(unfulfilled)"),
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(separator))
    }
}

/// Who holds a pending job back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Hold {
    User,
    Admin,
}

impl Hold {
    pub fn reason(self) -> Reason {
        match self {
            Hold::User => Reason::JobHeldUser,
            Hold::Admin => Reason::JobHeldAdmin,
        }
    }
}

/// How a job that ran or was cancelled ended for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FinalState {
    Completed,
    Failed,
    Cancelled,
    Timeout,
    /// The OOM killer killed a process of the job inside its memory limit.
    OutOfMemory,
    /// The job's supervisor was lost; its processes were killed before its
    /// resources were given back.
    NodeFail,
}

impl From<FinalState> for JobState {
    fn from(state: FinalState) -> JobState {
        match state {
            FinalState::Completed => JobState::Completed,
            FinalState::Failed => JobState::Failed,
            FinalState::Cancelled => JobState::Cancelled,
            FinalState::Timeout => JobState::Timeout,
            FinalState::OutOfMemory => JobState::OutOfMemory,
            FinalState::NodeFail => JobState::NodeFail,
        }
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Pending {
        reason: Reason,
        /// Held jobs are never started until released.
        #[serde(default)]
        hold: Option<Hold>,
    },
    Running {
        allocation: Allocation,
        start_time: DateTime<Utc>,
        /// The machine's boot id when the job started: a daemon that finds
        /// the job running after a reboot knows it may have run, and never
        /// starts it again as though it had not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        boot_id: Option<String>,
        /// The node it runs on; `None` in a record written before nodes
        /// were named here, by a daemon that was its store's one node.
        /// A cluster's scheduler follows a job on another node through
        /// the ends that node writes (`lifecycle::nodes`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
        /// The steps `crun` started so far (kept with the job's next
        /// record; a daemon restart keeps those already written).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        steps: Vec<StepInfo>,
    },
    Finished {
        state: FinalState,
        reason: Reason,
        exit_code: ExitCode,
        /// What it held while it ran; `None` if it never started.
        allocation: Option<Allocation>,
        start_time: Option<DateTime<Utc>>,
        end_time: DateTime<Utc>,
        /// Who cancelled it, for a cancelled job.
        #[serde(default)]
        cancelled_by: Option<u32>,
        /// What it used while it ran. Its figures sit beside the other
        /// keys of the stored phase, where `max_rss_kb` always was, so a
        /// row written before the CPU times were kept still reads.
        #[serde(flatten)]
        usage: Usage,
        /// The steps it ran, each ended.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        steps: Vec<StepInfo>,
        /// The node it ran on, as it ran there (`None`: it never started,
        /// or its record is from before ends kept it; then it ran on the
        /// node that reads it, the only one there was).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<String>,
    },
}

impl Phase {
    /// The node the job runs or ran on, where its record names one.
    pub fn node(&self) -> Option<&str> {
        match self {
            Phase::Running { node, .. } | Phase::Finished { node, .. } => node.as_deref(),
            Phase::Pending { .. } => None,
        }
    }

    /// A job cancelled before it ever started: it held nothing and has no
    /// exit code of its own.
    pub fn cancelled_before_start(
        reason: Reason,
        cancelled_by: Option<u32>,
        end_time: DateTime<Utc>,
    ) -> Phase {
        Phase::Finished {
            state: FinalState::Cancelled,
            reason,
            exit_code: ExitCode::default(),
            allocation: None,
            start_time: None,
            end_time,
            cancelled_by,
            usage: Usage::default(),
            steps: Vec::new(),
            node: None,
        }
    }
}

/// One job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub spec: JobSpec,
    pub phase: Phase,
    /// When the scheduler expects this pending job to start: the time of
    /// the backfill reservation it holds. Set by each pass and kept in
    /// memory only (a restart's first pass sets it again).
    pub expected_start: Option<DateTime<Utc>>,
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
            array: self.spec.array.map(|a| (a.array_id.0, a.index)),
            name: &self.spec.name,
            user: &self.spec.user,
            node,
            task: 0,
            step: None,
        };
        resolve(&self.spec.work_dir, &pattern::expand(pattern, &values))
    }

    /// The priority squeue (`%Q`, `%p`) and `show job` report: 0 while
    /// the job is held, as Slurm keeps 0 for held jobs, else the one the
    /// queue orders it by (the hold itself is what keeps it from running).
    pub fn shown_priority(&self) -> i64 {
        match &self.phase {
            Phase::Pending { hold: Some(_), .. } => 0,
            _ => self.spec.priority,
        }
    }

    /// The API's view of the job: its node as its record names it, else
    /// `node` (the one reading it, where records did not name theirs).
    pub fn info(&self, node: &str) -> JobInfo {
        let node = self.phase.node().unwrap_or(node);
        let spec = &self.spec;
        let (reason, allocation, start_time, end_time, exit_code) = match &self.phase {
            Phase::Pending { reason, .. } => (*reason, None, None, None, None),
            Phase::Running {
                allocation,
                start_time,
                ..
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
        let (cancelled_by, usage) = match &self.phase {
            Phase::Finished {
                cancelled_by,
                usage,
                ..
            } => (*cancelled_by, *usage),
            _ => (None, Usage::default()),
        };
        let steps = match &self.phase {
            Phase::Running { steps, .. } | Phase::Finished { steps, .. } => steps.clone(),
            Phase::Pending { .. } => Vec::new(),
        };
        let options = &spec.options;
        JobInfo {
            job_id: self.id,
            name: spec.name.clone(),
            user: spec.user.to_string(),
            uid: spec.uid,
            partition: spec.partition.to_string(),
            state: self.state(),
            reason,
            cpus: allocation.map_or(spec.request.cpus, |a| a.cpu_ids.len() as u32),
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
            work_dir: spec.work_dir.to_path_buf(),
            stdout: self.stdout_path(node),
            stderr: self.stderr_path(node),
            stdin: self.stdin_path(node),
            gid: spec.gid,
            submit_dir: spec.submit_dir.to_path_buf(),
            command: options.command.clone(),
            array_job_id: spec.array.map(|a| a.array_id),
            array_task_id: spec.array.map(|a| a.index),
            array_max_running: spec.array.and_then(|a| a.max_running),
            dependency: spec.dependency.as_ref().and_then(Dependencies::remaining),
            begin_time: spec.begin_time,
            priority: self.shown_priority(),
            nice: spec.nice,
            restarts: spec.restarts,
            cancelled_by,
            exclusive: options.exclusive,
            memory_per_cpu_mb: options.memory_per_cpu_mb,
            max_rss_kb: usage.max_rss_kb,
            total_cpu_usec: usage.total_cpu_usec,
            user_cpu_usec: usage.user_cpu_usec,
            system_cpu_usec: usage.system_cpu_usec,
            steps,
            comment: options.comment.clone(),
            account: options.account.clone(),
            qos: options.qos.clone(),
            wckey: options.wckey.clone(),
            expected_start: self.expected_start(),
        }
    }

    /// The reservation's start, while the job is pending.
    /// Without one, a begin time still to come is the earliest start, and
    /// Slurm shows it as the start (`%S`, `StartTime=`), held or not.
    pub fn expected_start(&self) -> Option<DateTime<Utc>> {
        if !matches!(self.phase, Phase::Pending { .. }) {
            return None;
        }
        self.expected_start
            .or_else(|| self.spec.begin_time.filter(|begin| *begin > Utc::now()))
    }

    /// The stdin file: `/dev/null` unless `--input` named one.
    pub fn stdin_path(&self, node: &str) -> PathBuf {
        match &self.spec.options.stdin_pattern {
            Some(pattern) => self.expand(pattern, node),
            None => PathBuf::from("/dev/null"),
        }
    }
}

fn resolve(base: &Path, path: &str) -> PathBuf {
    base.join(path)
}

impl JobSpec {
    /// Whether the job may run again after its run was cut short
    /// (`--requeue`): after a reboot, or on another node after its own
    /// was lost.
    pub fn requeues(&self) -> bool {
        self.options.recorded.contains_key("requeue")
    }
}

/// A plain pending job's spec for unit tests: one task of `cpus` CPUs by
/// user `uid`, in `normal`, no limit, submitted now; tests change what
/// they look at with `..JobSpec::for_test(..)`.
#[cfg(test)]
impl JobSpec {
    pub fn for_test(uid: u32, cpus: u32) -> JobSpec {
        JobSpec {
            name: "j".into(),
            uid,
            gid: uid,
            user: "u".into(),
            partition: "normal".into(),
            request: ResourceRequest {
                cpus,
                memory_mb: 0,
                gpus: 0,
            },
            ntasks: 1,
            cpus_per_task: cpus,
            memory_requested: false,
            time_limit: None,
            work_dir: Path::new("/").into(),
            submit_dir: Path::new("/").into(),
            stdout_pattern: None,
            stderr_pattern: None,
            args: Vec::new(),
            priority: 0,
            priority_fixed: false,
            nice: 0,
            submit_time: Utc::now(),
            begin_time: None,
            dependency: None,
            kill_on_invalid_dep: false,
            array: None,
            restarts: 0,
            options: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(usage: Usage) -> Phase {
        Phase::Finished {
            state: FinalState::OutOfMemory,
            reason: Reason::OutOfMemory,
            exit_code: ExitCode {
                code: 0,
                signal: 125,
            },
            allocation: None,
            start_time: None,
            end_time: DateTime::from_timestamp(1_800_000_000, 0).expect("valid"),
            cancelled_by: None,
            usage,
            steps: Vec::new(),
            node: None,
        }
    }

    #[test]
    fn a_finished_phase_stored_before_cpu_times_still_reads() {
        // A row as conductord wrote it when the peak memory was the only
        // figure kept.
        let old = r#"{"phase":"finished","state":"Completed","reason":"None",
            "exit_code":"0:0","allocation":null,"start_time":null,
            "end_time":"2027-01-15T08:00:00Z","cancelled_by":null,"max_rss_kb":2048}"#;
        let Phase::Finished { usage, state, .. } =
            serde_json::from_str::<Phase>(old).expect("an old row decodes")
        else {
            panic!("a finished phase");
        };
        assert_eq!(state, FinalState::Completed);
        assert_eq!(
            usage,
            Usage {
                max_rss_kb: Some(2048),
                ..Usage::default()
            }
        );
        // Unmeasured (written as null), and older still: no figure at all.
        for other in [
            old.replace(r#""max_rss_kb":2048"#, r#""max_rss_kb":null"#),
            old.replace(r#","max_rss_kb":2048"#, ""),
        ] {
            let Phase::Finished { usage, .. } = serde_json::from_str(&other).expect("decodes")
            else {
                panic!("a finished phase");
            };
            assert_eq!(usage, Usage::default(), "{other}");
        }
    }

    #[test]
    fn a_finished_phase_keeps_its_usage_beside_its_other_keys() {
        let usage = Usage {
            max_rss_kb: Some(4096),
            total_cpu_usec: Some(1_500_000),
            user_cpu_usec: Some(1_000_000),
            system_cpu_usec: Some(500_000),
        };
        let text = serde_json::to_string(&finished(usage)).expect("encodes");
        assert!(text.contains(r#""max_rss_kb":4096"#), "{text}");
        assert!(text.contains(r#""total_cpu_usec":1500000"#), "{text}");
        assert!(!text.contains("usage"), "flat, as old rows are: {text}");
        assert_eq!(
            serde_json::from_str::<Phase>(&text).expect("decodes"),
            finished(usage)
        );
        // Figures nothing measured are left out.
        let unmeasured = serde_json::to_string(&finished(Usage::default())).expect("encodes");
        assert!(!unmeasured.contains("cpu_usec"), "{unmeasured}");
        assert!(!unmeasured.contains("max_rss_kb"), "{unmeasured}");
    }
}
