//! scontrol's `Key=Value` records (`show job`, `show node`, `show
//! partition`) and its `show config` listing, rendered byte for byte:
//! Snakemake and shell scripts split these on spaces and `=`.
//!
//! A record's first line starts at column 0, the others are indented three
//! spaces, and every record ends with a blank line; `-o/--oneliner` joins a
//! record's pairs with single spaces on one line. The renderers here are
//! pure: whatever they need from the system comes in as arguments.

use chrono::{DateTime, Utc};

use crate::format::duration::format_hms;
use crate::format::job_text::{
    eligible_time, expected_end, job_tres, run_seconds, timestamp, timestamp_or_unknown,
};
use crate::format::memory::format_memory_mb;
use crate::protocol::{DaemonConfig, Gpu, JobInfo, NodeInfo, NodeState, PartitionInfo};

/// What Slurm prints for an unset string.
pub const NULL: &str = "(null)";

/// One `Key=Value` record: lines of pairs, each line with its indent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    lines: Vec<(&'static str, Vec<(String, String)>)>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// Adds a line of pairs at the usual indent (none for the first line).
    pub fn line<K: Into<String>, V: Into<String>>(
        &mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Record {
        let indent = if self.lines.is_empty() { "" } else { "   " };
        self.indented(indent, pairs)
    }

    /// Adds a line of pairs with its own indent (`-d`'s node lines use five).
    pub fn indented<K: Into<String>, V: Into<String>>(
        &mut self,
        indent: &'static str,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Record {
        let pairs = pairs
            .into_iter()
            .map(|(key, value)| (key.into(), value.into()))
            .collect();
        self.lines.push((indent, pairs));
        self
    }

    /// The value of `key`, if the record has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .flat_map(|(_, pairs)| pairs)
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The record as scontrol prints it, ending with its separator: a
    /// blank line, or just the newline of the one line with `oneliner`.
    pub fn render(&self, oneliner: bool) -> String {
        let joined = |pairs: &[(String, String)]| {
            pairs
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if oneliner {
            let all: Vec<String> = self.lines.iter().map(|(_, pairs)| joined(pairs)).collect();
            return format!("{}\n", all.join(" "));
        }
        let mut out = String::new();
        for (indent, pairs) in &self.lines {
            out.push_str(indent);
            out.push_str(&joined(pairs));
            out.push('\n');
        }
        out.push('\n');
        out
    }
}

/// What a job record needs beyond the job itself.
pub struct JobContext<'a> {
    pub now: DateTime<Utc>,
    /// The node's memory (MiB): what a job that asked for none and has not
    /// run yet is shown to request, as Slurm estimates it.
    pub node_memory_mb: u64,
    /// `-d/--details`: `DerivedExitCode` and the per-node allocation line.
    pub details: bool,
    /// The name of a group id.
    pub group_name: &'a dyn Fn(u32) -> String,
}

/// `scontrol show job`'s record for one job, in Slurm 22.05's layout (one
/// `TRES=` line, a trailing `Power=`).
pub fn job_record(job: &JobInfo, context: &JobContext<'_>) -> Record {
    let mut record = Record::new();
    let mut first = vec![("JobId", job.job_id.to_string())];
    if let (Some(array), Some(task)) = (job.array_job_id, job.array_task_id) {
        first.push(("ArrayJobId", array.to_string()));
        first.push(("ArrayTaskId", task.to_string()));
        if let Some(max) = job.array_max_running {
            first.push(("ArrayTaskThrottle", max.to_string()));
        }
    }
    first.push(("JobName", job.name.clone()));
    record.line(first);
    record.line([
        ("UserId", format!("{}({})", job.user, job.uid)),
        (
            "GroupId",
            format!("{}({})", (context.group_name)(job.gid), job.gid),
        ),
        ("MCS_label", "N/A".into()),
    ]);
    let mut priority = vec![
        ("Priority", job.priority.to_string()),
        ("Nice", job.nice.to_string()),
        ("Account", or_null(job.account.as_deref())),
        ("QOS", job.qos.clone().unwrap_or_else(|| "normal".into())),
    ];
    if let Some(wckey) = &job.wckey {
        priority.push(("WCKey", wckey.clone()));
    }
    record.line(priority);
    record.line([
        ("JobState", job.state.long().to_string()),
        ("Reason", job.reason.to_string()),
        ("Dependency", or_null(job.dependency.as_deref())),
    ]);
    let exit = job.exit_code.unwrap_or_default();
    record.line([
        ("Requeue", "1".to_string()),
        ("Restarts", job.restarts.to_string()),
        ("BatchFlag", "1".into()),
        ("Reboot", "0".into()),
        ("ExitCode", exit.to_string()),
    ]);
    if context.details {
        record.line([("DerivedExitCode", "0:0")]);
    }
    record.line([
        (
            "RunTime",
            format_hms(run_seconds(job.start_time, job.end_time, context.now)),
        ),
        ("TimeLimit", time_limit(job.time_limit)),
        ("TimeMin", "N/A".into()),
    ]);
    let eligible = eligible_time(job);
    record.line([
        ("SubmitTime", timestamp(Some(job.submit_time))),
        ("EligibleTime", timestamp_or_unknown(eligible)),
    ]);
    record.line([("AccrueTime", timestamp_or_unknown(eligible))]);
    record.line([
        (
            "StartTime",
            timestamp_or_unknown(job.start_time.or(job.expected_start)),
        ),
        ("EndTime", timestamp_or_unknown(expected_end(job))),
        ("Deadline", "N/A".into()),
    ]);
    record.line([
        ("SuspendTime", "None".to_string()),
        ("SecsPreSuspend", "0".into()),
        (
            "LastSchedEval",
            timestamp(Some(job.start_time.unwrap_or(job.submit_time))),
        ),
        ("Scheduler", "Main".into()),
    ]);
    // slurmctld names the submitting host by the address it connected
    // from, which for a client on the node is the loopback: `localhost`.
    record.line([
        ("Partition", job.partition.clone()),
        ("AllocNode:Sid", "localhost:0".to_string()),
    ]);
    record.line([("ReqNodeList", NULL), ("ExcNodeList", NULL)]);
    record.line([("NodeList", job.node.clone().unwrap_or_default())]);
    if let Some(node) = &job.node {
        record.line([("BatchHost", node.as_str())]);
    }
    record.line([
        ("NumNodes", "1".to_string()),
        ("NumCPUs", job.cpus.to_string()),
        ("NumTasks", job.ntasks.to_string()),
        ("CPUs/Task", job.cpus_per_task.to_string()),
        ("ReqB:S:C:T", "0:0:*:*".into()),
    ]);
    record.line([("TRES", job_tres(job, context.node_memory_mb))]);
    record.line([
        ("Socks/Node", "*"),
        ("NtasksPerN:B:S:C", "0:0:*:*"),
        ("CoreSpec", "*"),
    ]);
    if context.details
        && let Some(node) = &job.node
    {
        let gres = if job.gpu_ids.is_empty() {
            String::new()
        } else {
            format!("gpu:{}(IDX:{})", job.gpu_ids.len(), id_ranges(&job.gpu_ids))
        };
        record.indented(
            "     ",
            [
                ("Nodes", node.clone()),
                ("CPU_IDs", id_ranges(&job.cpu_ids)),
                ("Mem", job.memory_mb.to_string()),
                ("GRES", gres),
            ],
        );
    }
    let memory = match job.memory_per_cpu_mb {
        Some(per_cpu) => ("MinMemoryCPU", format_memory_mb(per_cpu)),
        None => ("MinMemoryNode", format_memory_mb(job.memory_mb)),
    };
    record.line([
        ("MinCPUsNode", job.cpus_per_task.to_string()),
        memory,
        ("MinTmpDiskNode", "0".into()),
    ]);
    record.line([("Features", NULL), ("DelayBoot", "00:00:00")]);
    record.line([
        ("OverSubscribe", if job.exclusive { "NO" } else { "OK" }),
        ("Contiguous", "0"),
        ("Licenses", NULL),
        ("Network", NULL),
    ]);
    let command = job.command.as_ref().map(|command| {
        if command.is_absolute() {
            command.display().to_string()
        } else {
            job.submit_dir.join(command).display().to_string()
        }
    });
    record.line([("Command", or_null(command.as_deref()))]);
    record.line([("WorkDir", job.work_dir.display().to_string())]);
    if let Some(comment) = &job.comment {
        record.line([("Comment", comment.as_str())]);
    }
    let stdin = if job.stdin.as_os_str().is_empty() {
        "/dev/null".to_string()
    } else {
        job.stdin.display().to_string()
    };
    record.line([("StdErr", job.stderr.display().to_string())]);
    record.line([("StdIn", stdin)]);
    record.line([("StdOut", job.stdout.display().to_string())]);
    if job.gpus > 0 {
        record.line([("TresPerNode", format!("gres/gpu:{}", job.gpus))]);
    }
    record.line([("Power", "")]);
    // 22.05 ends the record with a line of nothing but the indent (a space
    // on the one line of `-o`).
    record.line(Vec::<(String, String)>::new());
    record
}

/// A time limit in scontrol's form: `01:00:00`, or `UNLIMITED`.
pub fn time_limit(limit: Option<u64>) -> String {
    limit.map_or_else(|| "UNLIMITED".into(), format_hms)
}

fn or_null(text: Option<&str>) -> String {
    text.unwrap_or(NULL).to_string()
}

/// Ids as Slurm's ranges: `0-3,6`.
pub fn id_ranges(ids: &[u32]) -> String {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    crate::format::array::compress(&sorted)
}

/// Facts about the machine that `show node` prints and the daemon does
/// not report; the caller reads them from the system.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeFacts {
    /// `x86_64`.
    pub arch: String,
    /// `Linux 6.1.0 #1 SMP ...`.
    pub os: String,
    /// The one-minute load average of the machine the command runs on,
    /// for a node that reports none of its own.
    pub cpu_load: Option<f64>,
    pub boot_time: Option<DateTime<Utc>>,
}

/// Slurm's base node state: `DOWN`, else for the CPUs in use `IDLE`,
/// `MIXED` or `ALLOCATED` (a drained node keeps its base state).
pub fn node_state(node: &NodeInfo) -> &'static str {
    if node.state == NodeState::Down {
        "DOWN"
    } else if node.cpus_free >= node.cpus_total {
        "IDLE"
    } else if node.cpus_free == 0 {
        "ALLOCATED"
    } else {
        "MIXED"
    }
}

/// The base state and its flags, as Slurm's JSON lists them: `["IDLE",
/// "DRAIN"]`.
pub fn node_state_flags(node: &NodeInfo) -> Vec<&'static str> {
    let mut flags = vec![node_state(node)];
    if node.state == NodeState::Drain {
        flags.push("DRAIN");
    }
    flags
}

/// scontrol's `State=`: the base state and its flags joined by `+`
/// (`IDLE+DRAIN`, `MIXED+DRAIN`, `DOWN`).
pub fn node_state_complete(node: &NodeInfo) -> String {
    node_state_flags(node).join("+")
}

/// A load average the way Slurm prints it (`0.50`), `N/A` when unknown.
pub fn cpu_load(load: Option<f64>) -> String {
    load.map_or_else(|| "N/A".into(), |load| format!("{load:.2}"))
}

/// `scontrol show node`'s record.
pub fn node_record(node: &NodeInfo, config: &DaemonConfig, facts: &NodeFacts) -> Record {
    let alloc_cpus = node.cpus_total.saturating_sub(node.cpus_free);
    let alloc_mem = node.memory_mb_total.saturating_sub(node.memory_mb_free);
    let alloc_gpus = node.gpus_total.saturating_sub(node.gpus_free);
    let gres = node.gres.as_deref().unwrap_or(NULL);
    let mut cfg_tres = format!(
        "cpu={0},mem={1}M,billing={0}",
        node.cpus_total, node.memory_mb_total
    );
    if node.gpus_total > 0 {
        cfg_tres.push_str(&format!(",gres/gpu={}", node.gpus_total));
    }
    let mut alloc_tres = Vec::new();
    if alloc_cpus > 0 {
        alloc_tres.push(format!("cpu={alloc_cpus}"));
    }
    if alloc_mem > 0 {
        alloc_tres.push(format!("mem={}", format_memory_mb(alloc_mem)));
    }
    if alloc_gpus > 0 {
        alloc_tres.push(format!("gres/gpu={alloc_gpus}"));
    }
    let mut record = Record::new();
    record.line([
        ("NodeName", node.name.clone()),
        ("Arch", facts.arch.clone()),
        ("CoresPerSocket", node.cpus_total.to_string()),
    ]);
    record.line([
        ("CPUAlloc", alloc_cpus.to_string()),
        ("CPUEfctv", node.cpus_total.to_string()),
        ("CPUTot", node.cpus_total.to_string()),
        ("CPULoad", cpu_load(node.cpu_load.or(facts.cpu_load))),
    ]);
    record.line([("AvailableFeatures", NULL)]);
    record.line([("ActiveFeatures", NULL)]);
    record.line([("Gres", gres)]);
    record.line([
        ("NodeAddr", node.name.clone()),
        ("NodeHostName", node.name.clone()),
        ("Version", config.version.clone()),
    ]);
    record.line([("OS", facts.os.clone())]);
    record.line([
        ("RealMemory", node.memory_mb_total.to_string()),
        ("AllocMem", alloc_mem.to_string()),
        ("FreeMem", node.memory_mb_free.to_string()),
        ("Sockets", "1".into()),
        ("Boards", "1".into()),
    ]);
    record.line([
        ("State", node_state_complete(node)),
        ("ThreadsPerCore", "1".into()),
        ("TmpDisk", "0".into()),
        ("Weight", "1".into()),
        ("Owner", "N/A".into()),
        ("MCS_label", "N/A".into()),
    ]);
    let partitions: Vec<String> = node
        .member_partitions()
        .into_iter()
        .map(|p| p.name)
        .collect();
    record.line([("Partitions", partitions.join(","))]);
    record.line([
        ("BootTime", timestamp_or_unknown(facts.boot_time)),
        ("SlurmdStartTime", timestamp(Some(config.started_at))),
    ]);
    record.line([("CfgTRES", cfg_tres)]);
    record.line([("AllocTRES", alloc_tres.join(","))]);
    record.line([("CapWatts", "n/a")]);
    record.line([("CurrentWatts", "0"), ("AveWatts", "0")]);
    record.line([
        ("ExtSensorsJoules", "n/s"),
        ("ExtSensorsWatts", "0"),
        ("ExtSensorsTemp", "n/s"),
    ]);
    // scontrol prints the reason only when there is one; this node has no
    // record of who set it or when, so no `[user@time]` follows.
    if let Some(reason) = node.reason.as_deref().filter(|r| !r.is_empty()) {
        record.line([("Reason", reason)]);
    }
    record
}

/// `scontrol show partition`'s record for one partition, which covers
/// the node, is up, and has the limits of its definition.
pub fn partition_record(nodes: &[&NodeInfo], partition: &PartitionInfo) -> Record {
    let members = partition.members(nodes);
    let names: Vec<&str> = members.iter().map(|node| node.name.as_str()).collect();
    let cpus: u32 = members.iter().map(|node| node.cpus_total).sum();
    let memory_mb: u64 = members.iter().map(|node| node.memory_mb_total).sum();
    let gpus: u32 = members.iter().map(|node| node.gpus_total).sum();
    let yes_no = |yes: bool| if yes { "YES" } else { "NO" };
    let time = |limit: Option<u64>, none: &str| limit.map_or_else(|| none.to_string(), format_hms);
    let groups = partition
        .allow_groups
        .as_ref()
        .map_or_else(|| "ALL".to_string(), |groups| groups.join(","));
    // As info_part.c prints them: DenyAccounts in AllowAccounts' place,
    // and only when AllowAccounts is not set.
    let accounts = match (&partition.allow_accounts, &partition.deny_accounts) {
        (Some(allow), _) => ("AllowAccounts", allow.join(",")),
        (None, Some(deny)) => ("DenyAccounts", deny.join(",")),
        (None, None) => ("AllowAccounts", "ALL".to_string()),
    };
    let mut record = Record::new();
    record.line([("PartitionName", partition.name.as_str())]);
    record.line([
        ("AllowGroups", groups.as_str()),
        (accounts.0, accounts.1.as_str()),
        ("AllowQos", "ALL"),
    ]);
    record.line([
        ("AllocNodes", "ALL"),
        ("Default", yes_no(partition.default)),
        ("QoS", "N/A"),
    ]);
    record.line([
        ("DefaultTime", time(partition.default_time_secs, "NONE")),
        ("DisableRootJobs", "NO".into()),
        ("ExclusiveUser", "NO".into()),
        ("GraceTime", "0".into()),
        ("Hidden", "NO".into()),
    ]);
    record.line([
        (
            "MaxNodes",
            partition
                .max_nodes
                .map_or_else(|| "UNLIMITED".into(), |n| n.to_string()),
        ),
        ("MaxTime", time(partition.max_time_secs, "UNLIMITED")),
        ("MinNodes", "0".into()),
        ("LLN", "NO".into()),
        ("MaxCPUsPerNode", "UNLIMITED".into()),
    ]);
    record.line([("Nodes", crate::format::hostlist::compress(&names))]);
    record.line([
        (
            "PriorityJobFactor",
            partition.priority_job_factor.to_string(),
        ),
        ("PriorityTier", partition.priority_tier.to_string()),
        ("RootOnly", "NO".into()),
        ("ReqResv", "NO".into()),
        ("OverSubscribe", "NO".into()),
    ]);
    record.line([("OverTimeLimit", "NONE"), ("PreemptMode", "OFF")]);
    record.line([
        ("State", "UP".to_string()),
        ("TotalCPUs", cpus.to_string()),
        ("TotalNodes", members.len().to_string()),
        ("SelectTypeParameters", "NONE".into()),
    ]);
    record.line([("JobDefaults", NULL)]);
    record.line([
        ("DefMemPerNode", "UNLIMITED"),
        ("MaxMemPerNode", "UNLIMITED"),
    ]);
    let mut tres = format!(
        "cpu={cpus},mem={memory_mb}M,node={},billing={cpus}",
        members.len()
    );
    if gpus > 0 {
        tres.push_str(&format!(",gres/gpu={gpus}"));
    }
    record.line([("TRES", tres)]);
    record
}

/// The cluster name Conductor gives jobs (`SLURM_CLUSTER_NAME`).
pub const CLUSTER_NAME: &str = "conductor";

/// `scontrol show config`: the date line, then `%-23s = %s` lines, then
/// the controller's status line, as Slurm ends the listing.
pub fn config_listing(config: &DaemonConfig, now: DateTime<Utc>) -> String {
    let listen = config.listen.clone().unwrap_or_else(|| NULL.to_string());
    let pairs: Vec<(&str, String)> = vec![
        ("BOOT_TIME", timestamp(Some(config.started_at))),
        ("ClusterName", CLUSTER_NAME.into()),
        ("CompleteWait", "0 sec".into()),
        ("ConductorContainment", config.containment_detail.clone()),
        ("ConductorGpus", gpu_list(&config.gpu_devices)),
        ("ConductorListen", listen),
        ("ConductorSocket", config.socket.display().to_string()),
        match config.def_mem_per_cpu_mb {
            Some(mb) => ("DefMemPerCPU", mb.to_string()),
            None => ("DefMemPerNode", "UNLIMITED".into()),
        },
        ("FirstJobId", config.first_job_id.to_string()),
        ("GresTypes", gres_types(&config.gpu_devices).into()),
        ("KillWait", format!("{} sec", config.kill_wait_secs)),
        ("MaxArraySize", config.max_array_size.to_string()),
        ("MaxJobCount", config.max_job_count.to_string()),
        ("MinJobAge", format!("{} sec", config.min_job_age_secs)),
        ("OverTimeLimit", "0 min".into()),
        ("PartitionName", config.partition.clone()),
        (
            "ProctrackType",
            match config.containment.as_str() {
                "cgroup1" | "cgroup2" => "proctrack/cgroup",
                _ => "proctrack/linuxproc",
            }
            .into(),
        ),
        ("SchedulerParameters", scheduler_parameters(config)),
        (
            "SchedulerType",
            if config.scheduler_type.is_empty() {
                "sched/builtin".into()
            } else {
                config.scheduler_type.clone()
            },
        ),
        ("SelectType", "select/cons_tres".into()),
        ("SLURM_VERSION", config.version.clone()),
        ("SlurmctldHost[0]", config.node.clone()),
        ("SlurmdTimeout", format!("{} sec", config.node_timeout_secs)),
        ("StateSaveLocation", config.state_dir.display().to_string()),
        (
            "TaskPlugin",
            match (config.containment.as_str(), config.cpu_bind) {
                ("cgroup1" | "cgroup2", true) => "task/affinity,task/cgroup",
                ("cgroup1" | "cgroup2", false) => "task/cgroup",
                (_, true) => "task/affinity",
                (_, false) => "task/none",
            }
            .into(),
        ),
    ];
    let mut out = format!("Configuration data as of {}\n", timestamp(Some(now)));
    for (key, value) in pairs {
        out.push_str(&format!("{key:<23} = {value}\n"));
    }
    out.push('\n');
    out.push_str(&ping_line(&config.node, true));
    out.push('\n');
    out
}

/// `SchedulerParameters`: backfill's window and test bound, as slurm.conf
/// spells them; `(null)` without backfill.
fn scheduler_parameters(config: &DaemonConfig) -> String {
    if config.scheduler_type == "sched/backfill" {
        format!(
            "bf_window={},bf_max_job_test={}",
            config.bf_window_minutes, config.bf_max_job_test
        )
    } else {
        NULL.to_string()
    }
}

/// `GresTypes`: `gpu` when the node has GPUs, `(null)` otherwise.
fn gres_types(gpus: &[Gpu]) -> &'static str {
    if gpus.is_empty() { NULL } else { "gpu" }
}

/// `ConductorGpus`: each GPU with what is known of it,
/// `0 (NVIDIA H200, GPU-..., /dev/nvidia0), 2 (configured)`; `(null)` without.
fn gpu_list(gpus: &[Gpu]) -> String {
    if gpus.is_empty() {
        return NULL.to_string();
    }
    gpus.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Slurmctld(primary) at host is UP` (or `DOWN`).
pub fn ping_line(host: &str, up: bool) -> String {
    let status = if up { "UP" } else { "DOWN" };
    format!("Slurmctld(primary) at {host} is {status}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ExitCode, JobId, JobState, Reason};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("valid")
    }

    fn job() -> JobInfo {
        JobInfo {
            job_id: JobId(1234),
            name: "train".into(),
            user: "alice".into(),
            uid: 1000,
            partition: "normal".into(),
            state: JobState::Running,
            reason: Reason::None,
            cpus: 4,
            ntasks: 1,
            cpus_per_task: 4,
            memory_mb: 8192,
            gpus: 1,
            cpu_ids: vec![0, 1, 2, 3],
            gpu_ids: vec![0],
            node: Some("box".into()),
            submit_time: at(1_000),
            start_time: Some(at(1_001)),
            end_time: None,
            time_limit: Some(3600),
            exit_code: None,
            work_dir: "/home/alice".into(),
            stdout: "/home/alice/slurm-1234.out".into(),
            stderr: "/home/alice/slurm-1234.out".into(),
            stdin: "/dev/null".into(),
            gid: 1000,
            submit_dir: "/home/alice".into(),
            command: Some("train.sh".into()),
            array_job_id: None,
            array_task_id: None,
            array_max_running: None,
            dependency: None,
            begin_time: None,
            priority: 4_294_901_758,
            nice: 0,
            restarts: 0,
            cancelled_by: None,
            exclusive: false,
            memory_per_cpu_mb: None,
            max_rss_kb: None,
            total_cpu_usec: None,
            user_cpu_usec: None,
            system_cpu_usec: None,
            steps: Vec::new(),
            comment: None,
            account: None,
            qos: None,
            wckey: None,
            expected_start: None,
        }
    }

    fn context(details: bool) -> JobContext<'static> {
        JobContext {
            now: at(1_011),
            node_memory_mb: 64_000,
            details,
            group_name: &|_| "alice".to_string(),
        }
    }

    #[test]
    fn a_job_that_asked_no_memory_requests_the_nodes_until_it_runs() {
        let mut pending = job();
        pending.memory_mb = 0;
        let running = job_record(&pending, &context(false));
        assert_eq!(
            running.get("TRES"),
            Some("cpu=4,node=1,billing=4,gres/gpu=1")
        );
        pending.node = None;
        let waiting = job_record(&pending, &context(false));
        assert_eq!(
            waiting.get("TRES"),
            Some("cpu=4,mem=64000M,node=1,billing=4,gres/gpu=1")
        );
    }

    #[test]
    fn a_running_job_renders_in_slurm_s_layout() {
        let text = job_record(&job(), &context(false)).render(false);
        let t = |time: i64| timestamp(Some(at(time)));
        let expected = format!(
            "JobId=1234 JobName=train\n   \
             UserId=alice(1000) GroupId=alice(1000) MCS_label=N/A\n   \
             Priority=4294901758 Nice=0 Account=(null) QOS=normal\n   \
             JobState=RUNNING Reason=None Dependency=(null)\n   \
             Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0\n   \
             RunTime=00:00:10 TimeLimit=01:00:00 TimeMin=N/A\n   \
             SubmitTime={submit} EligibleTime={submit}\n   \
             AccrueTime={submit}\n   \
             StartTime={start} EndTime={end} Deadline=N/A\n   \
             SuspendTime=None SecsPreSuspend=0 LastSchedEval={start} Scheduler=Main\n   \
             Partition=normal AllocNode:Sid=localhost:0\n   \
             ReqNodeList=(null) ExcNodeList=(null)\n   \
             NodeList=box\n   \
             BatchHost=box\n   \
             NumNodes=1 NumCPUs=4 NumTasks=1 CPUs/Task=4 ReqB:S:C:T=0:0:*:*\n   \
             TRES=cpu=4,mem=8G,node=1,billing=4,gres/gpu=1\n   \
             Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=*\n   \
             MinCPUsNode=4 MinMemoryNode=8G MinTmpDiskNode=0\n   \
             Features=(null) DelayBoot=00:00:00\n   \
             OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)\n   \
             Command=/home/alice/train.sh\n   \
             WorkDir=/home/alice\n   \
             StdErr=/home/alice/slurm-1234.out\n   \
             StdIn=/dev/null\n   \
             StdOut=/home/alice/slurm-1234.out\n   \
             TresPerNode=gres/gpu:1\n   \
             Power=\n   \n\n",
            submit = t(1_000),
            start = t(1_001),
            end = t(4_601),
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn a_pending_held_array_task_has_unknown_times_and_null_strings() {
        let mut pending = job();
        pending.state = JobState::Pending;
        pending.reason = Reason::JobHeldAdmin;
        pending.start_time = None;
        pending.node = None;
        pending.cpu_ids.clear();
        pending.array_job_id = Some(JobId(1230));
        pending.array_task_id = Some(4);
        pending.array_max_running = Some(2);
        pending.command = None;
        pending.memory_per_cpu_mb = Some(2048);
        pending.time_limit = None;
        let record = job_record(&pending, &context(true));
        let text = record.render(false);
        assert!(
            text.starts_with(
                "JobId=1234 ArrayJobId=1230 ArrayTaskId=4 ArrayTaskThrottle=2 JobName=train\n"
            ),
            "{text}"
        );
        for line in [
            "   JobState=PENDING Reason=JobHeldAdmin Dependency=(null)\n",
            "   DerivedExitCode=0:0\n",
            "   RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A\n",
            "   AccrueTime=Unknown\n",
            "   StartTime=Unknown EndTime=Unknown Deadline=N/A\n",
            "   NodeList=\n",
            "   MinCPUsNode=4 MinMemoryCPU=2G MinTmpDiskNode=0\n",
            "   Command=(null)\n",
        ] {
            assert!(text.contains(line), "{line:?} in\n{text}");
        }
        assert!(!text.contains("BatchHost"));
        assert!(text.contains(" EligibleTime=Unknown\n"));
        assert_eq!(record.get("Reason"), Some("JobHeldAdmin"));
    }

    #[test]
    fn out_of_memory_and_node_fail_show_their_state_reason_and_exit_code() {
        let mut oom = job();
        oom.state = JobState::OutOfMemory;
        oom.reason = Reason::OutOfMemory;
        oom.end_time = Some(at(1_100));
        oom.exit_code = Some(ExitCode {
            code: 0,
            signal: 125,
        });
        let text = job_record(&oom, &context(false)).render(false);
        assert!(
            text.contains("\n   JobState=OUT_OF_MEMORY Reason=OutOfMemory Dependency=(null)\n"),
            "{text}"
        );
        assert!(text.contains(" ExitCode=0:125\n"), "{text}");
        assert!(text.contains("\n   RunTime=00:01:39 "), "{text}");
        let mut lost = oom;
        lost.state = JobState::NodeFail;
        lost.reason = Reason::NodeFail;
        lost.exit_code = Some(ExitCode::default());
        let text = job_record(&lost, &context(false)).render(false);
        assert!(
            text.contains("\n   JobState=NODE_FAIL Reason=NodeFail Dependency=(null)\n"),
            "{text}"
        );
        assert!(text.contains(" ExitCode=0:0\n"), "{text}");
    }

    #[test]
    fn details_add_the_allocation_line_and_oneliner_joins_everything() {
        let mut ended = job();
        ended.state = JobState::Completed;
        ended.end_time = Some(at(1_100));
        ended.exit_code = Some(ExitCode { code: 0, signal: 0 });
        ended.cpu_ids = vec![0, 1, 2, 5];
        let record = job_record(&ended, &context(true));
        let text = record.render(false);
        assert!(
            text.contains("\n     Nodes=box CPU_IDs=0-2,5 Mem=8192 GRES=gpu:1(IDX:0)\n"),
            "{text}"
        );
        assert!(text.contains("RunTime=00:01:39 "));
        let one = record.render(true);
        assert_eq!(one.lines().count(), 1);
        assert!(one.starts_with("JobId=1234 JobName=train UserId=alice(1000) "));
        assert!(one.ends_with(" Power= \n"));
        assert!(!one.contains("  "));
    }

    #[test]
    fn ranges_compress_consecutive_ids() {
        assert_eq!(id_ranges(&[3, 0, 1, 2, 6, 8, 9]), "0-3,6,8-9");
        assert_eq!(id_ranges(&[]), "");
    }

    fn node() -> NodeInfo {
        NodeInfo {
            name: "box".into(),
            partition: "normal".into(),
            cpus_total: 16,
            cpus_free: 12,
            memory_mb_total: 64000,
            memory_mb_free: 55808,
            gpus_total: 2,
            gpus_free: 1,
            gres: Some("gpu:2".into()),
            gpu_devices: vec![Gpu::configured(0), Gpu::configured(1)],
            jobs_pending: 0,
            jobs_running: 1,
            partitions: Vec::new(),
            state: crate::protocol::NodeState::Up,
            reason: None,
            cpu_load: None,
        }
    }

    fn config() -> DaemonConfig {
        DaemonConfig {
            version: "0.1.0".into(),
            node: "box".into(),
            partition: "normal".into(),
            socket: "/run/c.sock".into(),
            listen: None,
            state_dir: "/var/lib/conductor".into(),
            cpus: 16,
            memory_mb: 64000,
            gpus: 2,
            gpu_devices: vec![Gpu::configured(0), Gpu::configured(2)],
            kill_wait_secs: 30,
            node_timeout_secs: 60,
            min_job_age_secs: 300,
            max_array_size: 1001,
            max_job_count: 100_000,
            first_job_id: 1,
            started_at: at(1_000),
            containment: "cgroup2".into(),
            containment_detail: "cgroup2 (CPUs pinned, memory limited; /sys/fs/cgroup/c)".into(),
            containment_dirs: vec!["/sys/fs/cgroup/c".into()],
            cpu_bind: true,
            def_mem_per_cpu_mb: None,
            scheduler_type: "sched/backfill".into(),
            bf_window_minutes: 1440,
            bf_max_job_test: 500,
        }
    }

    #[test]
    fn node_records_show_the_allocation() {
        let facts = NodeFacts {
            arch: "x86_64".into(),
            os: "Linux 6.1".into(),
            cpu_load: Some(0.5),
            boot_time: None,
        };
        let text = node_record(&node(), &config(), &facts).render(false);
        let started = timestamp(Some(at(1_000)));
        let expected = format!(
            "NodeName=box Arch=x86_64 CoresPerSocket=16\n   \
             CPUAlloc=4 CPUEfctv=16 CPUTot=16 CPULoad=0.50\n   \
             AvailableFeatures=(null)\n   \
             ActiveFeatures=(null)\n   \
             Gres=gpu:2\n   \
             NodeAddr=box NodeHostName=box Version=0.1.0\n   \
             OS=Linux 6.1\n   \
             RealMemory=64000 AllocMem=8192 FreeMem=55808 Sockets=1 Boards=1\n   \
             State=MIXED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A\n   \
             Partitions=normal\n   \
             BootTime=Unknown SlurmdStartTime={started}\n   \
             CfgTRES=cpu=16,mem=64000M,billing=16,gres/gpu=2\n   \
             AllocTRES=cpu=4,mem=8G,gres/gpu=1\n   \
             CapWatts=n/a\n   \
             CurrentWatts=0 AveWatts=0\n   \
             ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s\n\n"
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn drained_and_down_nodes_show_slurm_s_state_and_reason() {
        // scontrol 22.05 joins a node's base state and flags with `+`
        // (`IDLE+DRAIN`, `MIXED+DRAIN`) and ends the record with `Reason=`.
        let facts = NodeFacts::default();
        let gpu = PartitionInfo {
            default: false,
            nodes: vec!["gpu[01-02]".into()],
            ..PartitionInfo::named("gpu")
        };
        let cluster = |name: &str, free: u32, state: NodeState, reason: Option<&str>| NodeInfo {
            name: name.into(),
            cpus_free: free,
            state,
            reason: reason.map(str::to_string),
            partitions: vec![PartitionInfo::named("normal"), gpu.clone()],
            ..node()
        };
        let cases = [
            (
                cluster("n1", 16, NodeState::Up, None),
                "IDLE",
                "normal",
                None,
            ),
            (
                cluster("n2", 0, NodeState::Up, None),
                "ALLOCATED",
                "normal",
                None,
            ),
            (
                cluster("gpu01", 16, NodeState::Drain, Some("maintenance")),
                "IDLE+DRAIN",
                "normal,gpu",
                Some("maintenance"),
            ),
            (
                cluster("gpu02", 8, NodeState::Drain, Some("disk")),
                "MIXED+DRAIN",
                "normal,gpu",
                Some("disk"),
            ),
            (
                cluster("n3", 16, NodeState::Down, Some("Not responding")),
                "DOWN",
                "normal",
                Some("Not responding"),
            ),
        ];
        for (n, state, partitions, reason) in cases {
            let record = node_record(&n, &config(), &facts);
            assert_eq!(record.get("State"), Some(state), "{}", n.name);
            assert_eq!(record.get("Partitions"), Some(partitions), "{}", n.name);
            assert_eq!(record.get("Reason"), reason, "{}", n.name);
        }
        let drained = node_record(
            &cluster("gpu01", 16, NodeState::Drain, Some("maintenance")),
            &config(),
            &facts,
        )
        .render(false);
        assert!(
            drained.ends_with("ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s\n   Reason=maintenance\n\n"),
            "{drained}"
        );
    }

    #[test]
    fn a_partition_record_sums_the_nodes_it_holds() {
        let named = |name: &str| NodeInfo {
            name: name.into(),
            ..node()
        };
        let (n1, n2, n3, gpu01) = (named("n1"), named("n2"), named("n3"), named("gpu01"));
        let nodes = [&n1, &n2, &n3, &gpu01];
        let record = partition_record(&nodes, &PartitionInfo::named("normal"));
        assert_eq!(record.get("Nodes"), Some("gpu01,n[1-3]"));
        assert_eq!(record.get("TotalNodes"), Some("4"));
        assert_eq!(record.get("TotalCPUs"), Some("64"));
        assert_eq!(
            record.get("TRES"),
            Some("cpu=64,mem=256000M,node=4,billing=64,gres/gpu=8")
        );
        let gpu = PartitionInfo {
            nodes: vec!["gpu01".into()],
            ..PartitionInfo::named("gpu")
        };
        let record = partition_record(&nodes, &gpu);
        assert_eq!(record.get("Nodes"), Some("gpu01"));
        assert_eq!(record.get("TotalNodes"), Some("1"));
    }

    #[test]
    fn node_records_name_the_gpu_type_or_none() {
        let facts = NodeFacts {
            arch: "x86_64".into(),
            os: "Linux".into(),
            cpu_load: None,
            boot_time: None,
        };
        let mut n = node();
        n.gres = Some("gpu:h200:1".into());
        let record = node_record(&n, &config(), &facts);
        assert_eq!(record.get("Gres"), Some("gpu:h200:1"));
        n.gres = None;
        n.gpus_total = 0;
        n.gpus_free = 0;
        let record = node_record(&n, &config(), &facts);
        assert_eq!(record.get("Gres"), Some("(null)"));
        assert_eq!(record.get("CfgTRES"), Some("cpu=16,mem=64000M,billing=16"));
    }

    #[test]
    fn config_names_the_gpus() {
        let text = config_listing(&config(), at(2_000));
        assert!(text.contains("\nGresTypes               = gpu\n"), "{text}");
        assert!(
            text.contains("\nConductorGpus           = 0 (configured), 2 (configured)\n"),
            "{text}"
        );
        let mut none = config();
        none.gpu_devices.clear();
        let text = config_listing(&none, at(2_000));
        assert!(
            text.contains("\nGresTypes               = (null)\n"),
            "{text}"
        );
        assert!(
            text.contains("\nConductorGpus           = (null)\n"),
            "{text}"
        );
    }

    #[test]
    fn node_states_follow_the_free_cpus() {
        let mut n = node();
        n.cpus_free = 16;
        assert_eq!(node_state(&n), "IDLE");
        n.cpus_free = 0;
        assert_eq!(node_state(&n), "ALLOCATED");
    }

    #[test]
    fn the_partition_is_the_default_and_unlimited() {
        let record = partition_record(&[&node()], &PartitionInfo::named("normal"));
        let text = record.render(false);
        assert!(text.starts_with("PartitionName=normal\n   AllowGroups=ALL "));
        assert!(text.contains("\n   AllocNodes=ALL Default=YES QoS=N/A\n"));
        assert!(text.contains(" MaxTime=UNLIMITED "));
        assert!(text.contains("\n   State=UP TotalCPUs=16 TotalNodes=1 "));
        assert_eq!(record.get("Nodes"), Some("box"));
    }

    #[test]
    fn a_partitions_definition_fills_its_record() {
        let debug = PartitionInfo {
            default: false,
            max_time_secs: Some(1800),
            default_time_secs: Some(600),
            priority_tier: 2,
            priority_job_factor: 5,
            allow_groups: Some(vec!["hpc".into(), "ops".into()]),
            max_nodes: Some(1),
            ..PartitionInfo::named("debug")
        };
        let text = partition_record(&[&node()], &debug).render(false);
        assert!(
            text.starts_with(
                "PartitionName=debug\n   AllowGroups=hpc,ops AllowAccounts=ALL AllowQos=ALL\n"
            ),
            "{text}"
        );
        let denying = PartitionInfo {
            deny_accounts: Some(vec!["bio".into()]),
            ..debug.clone()
        };
        let denied = partition_record(&[&node()], &denying).render(false);
        assert!(
            denied.contains(" DenyAccounts=bio AllowQos=ALL\n"),
            "{denied}"
        );
        let allowing = PartitionInfo {
            allow_accounts: Some(vec!["phys".into(), "chem".into()]),
            ..denying
        };
        let allowed = partition_record(&[&node()], &allowing).render(false);
        assert!(
            allowed.contains(" AllowAccounts=phys,chem AllowQos="),
            "{allowed}"
        );
        assert!(text.contains(" Default=NO "), "{text}");
        assert!(
            text.contains("\n   DefaultTime=00:10:00 DisableRootJobs=NO "),
            "{text}"
        );
        assert!(
            text.contains("\n   MaxNodes=1 MaxTime=00:30:00 MinNodes=0 "),
            "{text}"
        );
        assert!(
            text.contains("\n   PriorityJobFactor=5 PriorityTier=2 "),
            "{text}"
        );
    }

    #[test]
    fn config_lines_pad_names_to_23() {
        let text = config_listing(&config(), at(2_000));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("Configuration data as of {}", timestamp(Some(at(2_000))))
        );
        for line in [
            "MinJobAge               = 300 sec",
            "MaxArraySize            = 1001",
            "KillWait                = 30 sec",
            "ClusterName             = conductor",
            "SLURM_VERSION           = 0.1.0",
            "SlurmctldHost[0]        = box",
            "SlurmdTimeout           = 60 sec",
            "StateSaveLocation       = /var/lib/conductor",
            "ConductorSocket         = /run/c.sock",
            "ConductorListen         = (null)",
            "SchedulerType           = sched/backfill",
            "SchedulerParameters     = bf_window=1440,bf_max_job_test=500",
        ] {
            assert!(lines.contains(&line), "{line:?} in\n{text}");
        }
        assert_eq!(lines.last(), Some(&"Slurmctld(primary) at box is UP"));
    }
}
