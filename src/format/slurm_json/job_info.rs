//! squeue's and `scontrol show job`'s document: `openapi_job_info_resp`,
//! `{"jobs": [job_info...], "last_backfill", "last_update", "meta",
//! "errors", "warnings"}`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Version;
use super::exit::ExitField;
use super::meta::{Caller, Meta, OpenapiError, OpenapiWarning};
use super::number::{FloatNoVal, NoVal, Time, limit_minutes};
use crate::format::job_text::{eligible_time, expected_end, job_tres};
use crate::format::squeue::{CLUSTER_NAME, Row};
use crate::protocol::{ExitCode, JobInfo, JobState, Reason};

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct JobInfoResponse {
    pub jobs: Vec<JobInfoJson>,
    /// From v0.0.40; v0.0.39 had none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_backfill: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update: Option<Time>,
    pub meta: Meta,
    pub errors: Vec<OpenapiError>,
    pub warnings: Vec<OpenapiWarning>,
}

/// What the document needs beyond the jobs.
pub struct JobContext<'a> {
    pub version: Version,
    pub caller: &'a Caller,
    pub now: DateTime<Utc>,
    /// The name of a group id.
    pub group_name: &'a dyn Fn(u32) -> String,
}

impl JobInfoResponse {
    /// The document for these lines (squeue's: pending array tasks may
    /// share one, as in Slurm's job records).
    pub fn new(rows: &[Row<'_>], context: &JobContext<'_>) -> JobInfoResponse {
        let version = context.version;
        let (last_backfill, last_update) = if version.has_number_times() {
            // There is no backfill pass: its time is unset, as in a Slurm
            // without the backfill scheduler.
            (
                Some(Time::Number(NoVal::UNSET)),
                Some(Time::new(version, Some(context.now))),
            )
        } else {
            (None, None)
        };
        JobInfoResponse {
            jobs: rows
                .iter()
                .map(|row| JobInfoJson::new(row, context))
                .collect(),
            last_backfill,
            last_update,
            meta: Meta::new(version, context.caller),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// A job's state: a string in v0.0.39, an array of flags from v0.0.40.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum JobStateField {
    Text(&'static str),
    Flags(Vec<&'static str>),
}

impl JobStateField {
    pub fn new(version: Version, state: JobState) -> JobStateField {
        if version.has_number_times() {
            JobStateField::Flags(vec![state.long()])
        } else {
            JobStateField::Text(state.long())
        }
    }
}

/// `power`: no power management.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Power {
    pub flags: Vec<&'static str>,
}

/// `job_info`: one job record. The fields follow the schema's order; those
/// for features one node has no use for (federation, burst buffers,
/// switches, ...) carry the values Slurm gives a job that uses none.
#[derive(Debug, Clone, Serialize)]
pub struct JobInfoJson {
    pub account: String,
    pub accrue_time: Time,
    pub admin_comment: String,
    pub allocating_node: String,
    pub array_job_id: NoVal,
    pub array_task_id: NoVal,
    pub array_max_tasks: NoVal,
    pub array_task_string: String,
    pub association_id: i64,
    pub batch_features: String,
    pub batch_flag: bool,
    pub batch_host: String,
    pub flags: Vec<&'static str>,
    pub burst_buffer: String,
    pub burst_buffer_state: String,
    pub cluster: String,
    pub cluster_features: String,
    pub command: String,
    pub comment: String,
    pub container: String,
    pub container_id: String,
    pub contiguous: bool,
    pub cores_per_socket: NoVal,
    pub billable_tres: FloatNoVal,
    pub cpus_per_task: NoVal,
    pub cpu_frequency_minimum: NoVal,
    pub cpu_frequency_maximum: NoVal,
    pub cpu_frequency_governor: NoVal,
    pub cpus_per_tres: String,
    pub cron: String,
    pub deadline: Time,
    pub delay_boot: NoVal,
    pub dependency: String,
    pub derived_exit_code: ExitField,
    pub eligible_time: Time,
    pub end_time: Time,
    pub excluded_nodes: String,
    pub exit_code: ExitField,
    pub extra: String,
    pub failed_node: String,
    pub features: String,
    pub federation_origin: String,
    pub federation_siblings_active: String,
    pub federation_siblings_viable: String,
    /// The GPUs a running job holds: `gpu:2(IDX:0-1)`.
    pub gres_detail: Vec<String>,
    pub group_id: u32,
    pub group_name: String,
    pub het_job_id: NoVal,
    pub het_job_id_set: String,
    pub het_job_offset: NoVal,
    pub job_id: u64,
    pub job_size_str: Vec<String>,
    pub job_state: JobStateField,
    pub last_sched_evaluation: Time,
    pub licenses: String,
    pub mail_type: Vec<&'static str>,
    pub mail_user: String,
    pub max_cpus: NoVal,
    pub max_nodes: NoVal,
    pub mcs_label: String,
    pub memory_per_tres: String,
    pub name: String,
    pub network: String,
    pub nodes: String,
    pub nice: i32,
    pub tasks_per_core: NoVal,
    pub tasks_per_tres: NoVal,
    pub tasks_per_node: NoVal,
    pub tasks_per_socket: NoVal,
    pub tasks_per_board: NoVal,
    pub cpus: NoVal,
    pub node_count: NoVal,
    pub tasks: NoVal,
    pub partition: String,
    pub prefer: String,
    /// MiB per CPU, set only when the job asked that way.
    pub memory_per_cpu: NoVal,
    /// MiB for the node, unset when the job asked per CPU.
    pub memory_per_node: NoVal,
    pub minimum_cpus_per_node: NoVal,
    pub minimum_tmp_disk_per_node: NoVal,
    pub power: Power,
    pub preempt_time: Time,
    pub preemptable_time: Time,
    pub pre_sus_time: Time,
    /// Held by its owner or an administrator.
    pub hold: bool,
    pub priority: NoVal,
    pub qos: String,
    pub reboot: bool,
    pub required_nodes: String,
    pub minimum_switches: i64,
    pub requeue: bool,
    pub resize_time: Time,
    pub restart_cnt: u32,
    pub resv_name: String,
    pub scheduled_nodes: String,
    pub selinux_context: String,
    pub shared: Vec<&'static str>,
    pub exclusive: Vec<&'static str>,
    pub oversubscribe: bool,
    pub show_flags: Vec<&'static str>,
    pub sockets_per_board: i64,
    pub sockets_per_node: NoVal,
    pub start_time: Time,
    pub state_description: String,
    pub state_reason: String,
    pub standard_error: String,
    pub standard_input: String,
    pub standard_output: String,
    pub submit_time: Time,
    pub suspend_time: Time,
    pub system_comment: String,
    /// Minutes; INFINITE for none.
    pub time_limit: NoVal,
    pub time_minimum: NoVal,
    pub threads_per_core: NoVal,
    pub tres_bind: String,
    pub tres_freq: String,
    pub tres_per_job: String,
    pub tres_per_node: String,
    pub tres_per_socket: String,
    pub tres_per_task: String,
    pub tres_req_str: String,
    pub tres_alloc_str: String,
    pub user_id: u32,
    pub user_name: String,
    pub maximum_switch_wait_time: i64,
    pub wckey: String,
    pub current_working_directory: String,
}

/// `state_reason` and `state_description`: Slurm names the reason alone
/// (`RaisedSignal`) and gives the details in the description.
pub fn reason_fields(reason: Reason) -> (String, String) {
    match reason {
        Reason::RaisedSignal(_) => ("RaisedSignal".into(), reason.to_string()),
        _ => (reason.to_string(), String::new()),
    }
}

/// The highest exit code of the job's steps (Slurm's derived exit code),
/// once the job has ended.
pub fn derived_exit(job: &JobInfo) -> Option<ExitCode> {
    if !job.state.is_terminal() {
        return None;
    }
    Some(
        job.steps
            .iter()
            .filter_map(|step| step.exit_code)
            .max_by_key(|exit| (exit.code, exit.signal))
            .unwrap_or_default(),
    )
}

/// A path as Slurm prints it, empty for none.
fn path_text(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// The script's path as scontrol shows it (`Command=`), empty for stdin
/// and `--wrap`.
pub fn command_text(job: &JobInfo) -> String {
    job.command.as_ref().map_or_else(String::new, |command| {
        if command.is_absolute() {
            path_text(command)
        } else {
            path_text(&job.submit_dir.join(command))
        }
    })
}

/// True once the job has had resources (running or ended after running).
pub fn has_run(job: &JobInfo) -> bool {
    job.start_time.is_some()
}

impl JobInfoJson {
    /// The record for one line: a job, or an array's pending tasks
    /// combined (then its id is the array's and its task unset, as in
    /// Slurm's record of an array's unsplit tasks).
    pub fn new(row: &Row<'_>, context: &JobContext<'_>) -> JobInfoJson {
        let job = row.job;
        let version = context.version;
        let time = |at: Option<DateTime<Utc>>| Time::new(version, at);
        let ran = has_run(job);
        let (job_id, array_task_id, array_task_string) = match (&row.tasks, job.array_job_id) {
            (Some(tasks), Some(array)) => (array.0, NoVal::UNSET, tasks.clone()),
            _ => (
                job.job_id.0,
                NoVal::or_unset(job.array_task_id.map(i64::from)),
                String::new(),
            ),
        };
        let (state_reason, state_description) = reason_fields(job.reason);
        let node = job.node.clone().filter(|_| ran).unwrap_or_default();
        let gres_detail = if ran && !job.gpu_ids.is_empty() {
            vec![format!(
                "gpu:{}(IDX:{})",
                job.gpu_ids.len(),
                crate::format::scontrol::id_ranges(&job.gpu_ids)
            )]
        } else {
            Vec::new()
        };
        let (memory_per_cpu, memory_per_node) = match job.memory_per_cpu_mb {
            Some(per_cpu) => (NoVal::of_u64(per_cpu), NoVal::UNSET),
            None => (NoVal::UNSET, NoVal::of_u64(job.memory_mb)),
        };
        let eligible = eligible_time(job);
        let stdin = if job.stdin.as_os_str().is_empty() {
            "/dev/null".to_string()
        } else {
            path_text(&job.stdin)
        };
        // What the job itself asked for: no estimate of the node's memory.
        let tres = job_tres(job, 0);
        JobInfoJson {
            account: job.account.clone().unwrap_or_default(),
            accrue_time: time(eligible),
            admin_comment: String::new(),
            allocating_node: crate::paths::hostname(),
            array_job_id: NoVal::of_u64(job.array_job_id.map_or(0, |id| id.0)),
            array_task_id,
            array_max_tasks: NoVal::of(job.array_max_running.unwrap_or(0)),
            array_task_string,
            association_id: 0,
            batch_features: String::new(),
            batch_flag: true,
            batch_host: node.clone(),
            flags: Vec::new(),
            burst_buffer: String::new(),
            burst_buffer_state: String::new(),
            cluster: CLUSTER_NAME.to_string(),
            cluster_features: String::new(),
            command: command_text(job),
            comment: job.comment.clone().unwrap_or_default(),
            container: String::new(),
            container_id: String::new(),
            contiguous: false,
            cores_per_socket: NoVal::UNSET,
            billable_tres: FloatNoVal::of(f64::from(job.cpus)),
            cpus_per_task: NoVal::of(job.cpus_per_task),
            cpu_frequency_minimum: NoVal::UNSET,
            cpu_frequency_maximum: NoVal::UNSET,
            cpu_frequency_governor: NoVal::UNSET,
            cpus_per_tres: String::new(),
            cron: String::new(),
            deadline: time(None),
            delay_boot: NoVal::of(0),
            dependency: job.dependency.clone().unwrap_or_default(),
            derived_exit_code: ExitField::job_info(version, derived_exit(job)),
            eligible_time: time(eligible),
            end_time: time(expected_end(job)),
            excluded_nodes: String::new(),
            exit_code: ExitField::job_info(version, job.exit_code),
            extra: String::new(),
            failed_node: String::new(),
            features: String::new(),
            federation_origin: String::new(),
            federation_siblings_active: String::new(),
            federation_siblings_viable: String::new(),
            gres_detail,
            group_id: job.gid,
            group_name: (context.group_name)(job.gid),
            het_job_id: NoVal::of(0),
            het_job_id_set: String::new(),
            het_job_offset: NoVal::UNSET,
            job_id,
            job_size_str: Vec::new(),
            job_state: JobStateField::new(version, job.state),
            last_sched_evaluation: time(Some(job.start_time.unwrap_or(job.submit_time))),
            licenses: String::new(),
            mail_type: Vec::new(),
            mail_user: job.user.clone(),
            max_cpus: NoVal::of(0),
            max_nodes: NoVal::of(0),
            mcs_label: String::new(),
            memory_per_tres: String::new(),
            name: job.name.clone(),
            network: String::new(),
            nodes: node,
            nice: job.nice,
            tasks_per_core: NoVal::UNSET,
            tasks_per_tres: NoVal::UNSET,
            tasks_per_node: NoVal::of(0),
            tasks_per_socket: NoVal::UNSET,
            tasks_per_board: NoVal::of(0),
            cpus: NoVal::of(job.cpus),
            node_count: NoVal::of(1),
            tasks: NoVal::of(job.ntasks),
            partition: job.partition.clone(),
            prefer: String::new(),
            memory_per_cpu,
            memory_per_node,
            minimum_cpus_per_node: NoVal::of(job.cpus_per_task),
            minimum_tmp_disk_per_node: NoVal::of(0),
            power: Power::default(),
            preempt_time: time(None),
            preemptable_time: time(None),
            pre_sus_time: time(None),
            hold: job.reason.is_hold(),
            priority: NoVal::of(job.priority.clamp(0, i64::from(u32::MAX))),
            qos: job.qos.clone().unwrap_or_else(|| "normal".into()),
            reboot: false,
            required_nodes: String::new(),
            minimum_switches: 0,
            requeue: true,
            resize_time: time(None),
            restart_cnt: job.restarts,
            resv_name: String::new(),
            scheduled_nodes: String::new(),
            selinux_context: String::new(),
            shared: Vec::new(),
            exclusive: if job.exclusive {
                vec!["true"]
            } else {
                Vec::new()
            },
            oversubscribe: !job.exclusive,
            show_flags: vec!["ALL", "DETAIL", "LOCAL"],
            sockets_per_board: 0,
            sockets_per_node: NoVal::UNSET,
            start_time: time(job.start_time),
            state_description,
            state_reason,
            standard_error: path_text(&job.stderr),
            standard_input: stdin,
            standard_output: path_text(&job.stdout),
            submit_time: time(Some(job.submit_time)),
            suspend_time: time(None),
            system_comment: String::new(),
            time_limit: limit_minutes(job.time_limit),
            time_minimum: NoVal::of(0),
            threads_per_core: NoVal::UNSET,
            tres_bind: String::new(),
            tres_freq: String::new(),
            tres_per_job: String::new(),
            tres_per_node: if job.gpus > 0 {
                format!("gres/gpu:{}", job.gpus)
            } else {
                String::new()
            },
            tres_per_socket: String::new(),
            tres_per_task: String::new(),
            tres_alloc_str: if ran { tres.clone() } else { String::new() },
            tres_req_str: tres,
            user_id: job.uid,
            user_name: job.user.clone(),
            maximum_switch_wait_time: 0,
            wckey: job.wckey.clone().unwrap_or_default(),
            current_working_directory: path_text(&job.work_dir),
        }
    }
}
