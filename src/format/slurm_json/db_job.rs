//! sacct's document: `openapi_slurmdbd_jobs_resp`, `{"jobs": [job...],
//! "meta", "errors", "warnings"}`, each job as the accounting database
//! keeps it, with its steps.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Version;
use super::exit::ExitField;
use super::job_info::{JobStateField, derived_exit, has_run, reason_fields};
use super::meta::{Caller, Meta, OpenapiError, OpenapiWarning};
use super::number::{NoVal, Time, epoch, limit_minutes};
use crate::format::job_text::{eligible_time, run_seconds};
use crate::format::squeue::CLUSTER_NAME;
use crate::protocol::{JobInfo, StepInfo};

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct SlurmdbdJobsResponse {
    pub jobs: Vec<DbJob>,
    pub meta: Meta,
    pub errors: Vec<OpenapiError>,
    pub warnings: Vec<OpenapiWarning>,
}

impl SlurmdbdJobsResponse {
    pub fn new(
        jobs: &[JobInfo],
        version: Version,
        caller: &Caller,
        now: DateTime<Utc>,
        group_name: &dyn Fn(u32) -> String,
    ) -> SlurmdbdJobsResponse {
        SlurmdbdJobsResponse {
            jobs: jobs
                .iter()
                .map(|job| DbJob::new(job, version, now, group_name))
                .collect(),
            meta: Meta::new(version, caller),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// `job`: one job of the history.
#[derive(Debug, Clone, Serialize)]
pub struct DbJob {
    pub account: String,
    pub comment: Comments,
    pub allocation_nodes: u32,
    pub array: DbArray,
    pub association: Association,
    pub block: String,
    pub cluster: String,
    pub constraints: String,
    pub container: String,
    pub derived_exit_code: ExitField,
    pub time: DbTimes,
    pub exit_code: ExitField,
    pub extra: String,
    pub failed_node: String,
    pub flags: Vec<&'static str>,
    pub group: String,
    pub het: Het,
    pub job_id: u64,
    pub name: String,
    pub licenses: String,
    pub mcs: Mcs,
    pub nodes: String,
    pub partition: String,
    pub hold: bool,
    pub priority: NoVal,
    pub qos: String,
    pub required: Required,
    pub kill_request_user: String,
    pub reservation: Reservation,
    pub script: String,
    pub state: DbState,
    pub steps: Vec<DbStep>,
    pub submit_line: String,
    pub tres: DbTres,
    pub used_gres: String,
    pub user: String,
    pub wckey: WckeyTag,
    pub working_directory: String,
}

/// `comment`: the job's own, and the administrator's and system's.
#[derive(Debug, Clone, Serialize)]
pub struct Comments {
    pub administrator: String,
    pub job: String,
    pub system: String,
}

/// `array`.
#[derive(Debug, Clone, Serialize)]
pub struct DbArray {
    /// The array's id, 0 for a job of no array.
    pub job_id: u64,
    pub limits: ArrayLimits,
    pub task_id: NoVal,
    pub task: String,
}

/// `array.limits`.
#[derive(Debug, Clone, Serialize)]
pub struct ArrayLimits {
    pub max: ArrayMax,
}

/// `array.limits.max`.
#[derive(Debug, Clone, Serialize)]
pub struct ArrayMax {
    pub running: ArrayRunning,
}

/// `array.limits.max.running`: the `%N` throttle, 0 for none.
#[derive(Debug, Clone, Serialize)]
pub struct ArrayRunning {
    pub tasks: u32,
}

/// `association` (`assoc_short`).
#[derive(Debug, Clone, Serialize)]
pub struct Association {
    pub account: String,
    pub cluster: String,
    pub partition: String,
    pub user: String,
    pub id: i64,
}

/// `time`: epoch seconds (0 when unset) and CPU times.
#[derive(Debug, Clone, Serialize)]
pub struct DbTimes {
    pub elapsed: u64,
    pub eligible: i64,
    pub end: i64,
    pub start: i64,
    pub submission: i64,
    pub suspended: u64,
    pub system: CpuTime,
    /// Minutes; INFINITE for none.
    pub limit: NoVal,
    pub total: CpuTime,
    pub user: CpuTime,
}

/// Seconds and microseconds of CPU time.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuTime {
    pub seconds: u64,
    pub microseconds: u64,
}

impl CpuTime {
    pub fn from_usec(usec: Option<u64>) -> CpuTime {
        let usec = usec.unwrap_or(0);
        CpuTime {
            seconds: usec / 1_000_000,
            microseconds: usec % 1_000_000,
        }
    }
}

/// `het`: no heterogeneous jobs.
#[derive(Debug, Clone, Serialize)]
pub struct Het {
    pub job_id: u64,
    pub job_offset: NoVal,
}

/// `mcs`.
#[derive(Debug, Clone, Serialize)]
pub struct Mcs {
    pub label: String,
}

/// `required`: what the job asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Required {
    #[serde(rename = "CPUs")]
    pub cpus: u32,
    pub memory_per_cpu: NoVal,
    pub memory_per_node: NoVal,
}

/// `reservation`: none.
#[derive(Debug, Clone, Serialize)]
pub struct Reservation {
    pub id: u32,
    pub name: String,
}

/// `state`: the state, and the reason it last waited or ended for.
#[derive(Debug, Clone, Serialize)]
pub struct DbState {
    pub current: JobStateField,
    pub reason: String,
}

/// `tres`.
#[derive(Debug, Clone, Serialize)]
pub struct DbTres {
    pub allocated: Vec<Tres>,
    pub requested: Vec<Tres>,
}

/// `tres`: one trackable resource and its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tres {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: &'static str,
    /// Slurm's ids: cpu 1, mem 2, node 4, billing 5, the first GRES 1001.
    pub id: u32,
    pub count: i64,
}

/// `wckey_tag_struct`.
#[derive(Debug, Clone, Serialize)]
pub struct WckeyTag {
    pub wckey: String,
    pub flags: Vec<&'static str>,
}

/// A job's or step's TRES list: CPUs, memory in MiB, the node, billing
/// (steps have none) and GPUs.
pub fn tres_list(cpus: u32, memory_mb: u64, gpus: u32, billing: bool) -> Vec<Tres> {
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let mut list = vec![Tres {
        kind: "cpu",
        name: "",
        id: 1,
        count: i64::from(cpus),
    }];
    if memory_mb > 0 {
        list.push(Tres {
            kind: "mem",
            name: "",
            id: 2,
            count: count(memory_mb),
        });
    }
    list.push(Tres {
        kind: "node",
        name: "",
        id: 4,
        count: 1,
    });
    if billing {
        list.push(Tres {
            kind: "billing",
            name: "",
            id: 5,
            count: i64::from(cpus),
        });
    }
    if gpus > 0 {
        list.push(Tres {
            kind: "gres",
            name: "gpu",
            id: 1001,
            count: i64::from(gpus),
        });
    }
    list
}

impl DbJob {
    pub fn new(
        job: &JobInfo,
        version: Version,
        now: DateTime<Utc>,
        group_name: &dyn Fn(u32) -> String,
    ) -> DbJob {
        let ran = has_run(job);
        let account = job.account.clone().unwrap_or_default();
        let (memory_per_cpu, memory_per_node) = match job.memory_per_cpu_mb {
            Some(per_cpu) => (NoVal::of_u64(per_cpu), NoVal::UNSET),
            None => (NoVal::UNSET, NoVal::of_u64(job.memory_mb)),
        };
        let (reason, _) = reason_fields(job.reason);
        let requested = tres_list(job.cpus, job.memory_mb, job.gpus, true);
        DbJob {
            account: account.clone(),
            comment: Comments {
                administrator: String::new(),
                job: job.comment.clone().unwrap_or_default(),
                system: String::new(),
            },
            allocation_nodes: 1,
            array: DbArray {
                job_id: job.array_job_id.map_or(0, |id| id.0),
                limits: ArrayLimits {
                    max: ArrayMax {
                        running: ArrayRunning {
                            tasks: job.array_max_running.unwrap_or(0),
                        },
                    },
                },
                task_id: NoVal::or_unset(job.array_task_id.map(i64::from)),
                task: String::new(),
            },
            association: Association {
                account,
                cluster: CLUSTER_NAME.to_string(),
                partition: job.partition.clone(),
                user: job.user.clone(),
                id: 0,
            },
            block: String::new(),
            cluster: CLUSTER_NAME.to_string(),
            constraints: String::new(),
            container: String::new(),
            derived_exit_code: ExitField::db_job(version, derived_exit(job)),
            time: DbTimes {
                elapsed: run_seconds(job.start_time, job.end_time, now),
                eligible: epoch(eligible_time(job)),
                end: epoch(job.end_time),
                start: epoch(job.start_time),
                submission: epoch(Some(job.submit_time)),
                suspended: 0,
                system: CpuTime::from_usec(job.system_cpu_usec),
                limit: limit_minutes(job.time_limit),
                total: CpuTime::from_usec(job.total_cpu_usec),
                user: CpuTime::from_usec(job.user_cpu_usec),
            },
            exit_code: ExitField::db_job(version, job.exit_code),
            extra: String::new(),
            failed_node: String::new(),
            flags: Vec::new(),
            group: group_name(job.gid),
            het: Het {
                job_id: 0,
                job_offset: NoVal::UNSET,
            },
            job_id: job.job_id.0,
            name: job.name.clone(),
            licenses: String::new(),
            mcs: Mcs {
                label: String::new(),
            },
            // sacct's words for a job that never had a node.
            nodes: job
                .node
                .clone()
                .filter(|_| ran)
                .unwrap_or_else(|| "None assigned".into()),
            partition: job.partition.clone(),
            hold: job.reason.is_hold(),
            priority: NoVal::of(job.priority.clamp(0, i64::from(u32::MAX))),
            qos: job.qos.clone().unwrap_or_else(|| "normal".into()),
            required: Required {
                cpus: job.cpus,
                memory_per_cpu,
                memory_per_node,
            },
            kill_request_user: job
                .cancelled_by
                .map(crate::users::user_name)
                .unwrap_or_default(),
            reservation: Reservation {
                id: 0,
                name: String::new(),
            },
            script: String::new(),
            state: DbState {
                current: JobStateField::new(version, job.state),
                reason,
            },
            steps: job
                .steps
                .iter()
                .map(|step| DbStep::new(job, step, version, now))
                .collect(),
            submit_line: String::new(),
            tres: DbTres {
                allocated: if ran { requested.clone() } else { Vec::new() },
                requested,
            },
            used_gres: String::new(),
            user: job.user.clone(),
            wckey: WckeyTag {
                wckey: job.wckey.clone().unwrap_or_default(),
                flags: Vec::new(),
            },
            working_directory: job.work_dir.display().to_string(),
        }
    }
}

/// `step`: one step the job ran (`crun` inside it).
#[derive(Debug, Clone, Serialize)]
pub struct DbStep {
    pub time: StepTimes,
    pub exit_code: ExitField,
    pub nodes: StepNodes,
    pub tasks: StepTasks,
    pub pid: String,
    pub kill_request_user: String,
    pub state: JobStateField,
    pub step: StepName,
    pub tres: StepTres,
}

/// A step's `time`.
#[derive(Debug, Clone, Serialize)]
pub struct StepTimes {
    pub elapsed: u64,
    pub end: Time,
    pub start: Time,
    pub suspended: u64,
    pub system: CpuTime,
    pub total: CpuTime,
    pub user: CpuTime,
}

/// A step's `nodes`.
#[derive(Debug, Clone, Serialize)]
pub struct StepNodes {
    pub count: u32,
    pub range: String,
    pub list: Vec<String>,
}

/// A step's `tasks`.
#[derive(Debug, Clone, Serialize)]
pub struct StepTasks {
    pub count: u32,
}

/// A step's `step`: `12.0` and the command's name.
#[derive(Debug, Clone, Serialize)]
pub struct StepName {
    pub id: String,
    pub name: String,
}

/// A step's `tres`.
#[derive(Debug, Clone, Serialize)]
pub struct StepTres {
    pub allocated: Vec<Tres>,
}

impl DbStep {
    pub fn new(job: &JobInfo, step: &StepInfo, version: Version, now: DateTime<Utc>) -> DbStep {
        let node = job.node.clone().unwrap_or_default();
        // A step that did not say how it ended ended as its job did.
        let state = step.state.unwrap_or(if step.end_time.is_some() {
            job.state
        } else {
            crate::protocol::JobState::Running
        });
        let exit = step.exit_code.or(step.end_time.and(job.exit_code));
        DbStep {
            time: StepTimes {
                elapsed: run_seconds(Some(step.start_time), step.end_time, now),
                end: Time::new(version, step.end_time),
                start: Time::new(version, Some(step.start_time)),
                suspended: 0,
                system: CpuTime::from_usec(step.usage.system_cpu_usec),
                total: CpuTime::from_usec(step.usage.total_cpu_usec),
                user: CpuTime::from_usec(step.usage.user_cpu_usec),
            },
            exit_code: ExitField::db_job(version, exit),
            nodes: StepNodes {
                count: 1,
                range: node.clone(),
                list: vec![node],
            },
            tasks: StepTasks { count: step.ntasks },
            pid: String::new(),
            kill_request_user: String::new(),
            state: JobStateField::new(version, state),
            step: StepName {
                id: format!("{}.{}", job.job_id, step.step_id),
                name: step.name.clone(),
            },
            tres: StepTres {
                allocated: tres_list(job.cpus, job.memory_mb, job.gpus, false),
            },
        }
    }
}
