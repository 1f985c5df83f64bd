//! squeue's output, byte for byte: the `-o/--format` letters, the
//! `-O/--Format` long names, the combining of pending array tasks into one
//! line, and the `-S/--sort` keys. Scripts parse these columns, so this is a
//! small fixed-width renderer of our own, written after squeue's `print.c`,
//! `opts.c` and `sort.c`.
//!
//! A `-o` format is literal text with `%[.][width]<letter>` fields. A width
//! pads; a `.` right-justifies. Like squeue's `_print_str`, a left-justified
//! field is always cut to its width, a right-justified one too except for
//! times and node lists. An unknown letter is printed as it was written and
//! reported. A `-O` format is a comma list of `name[:[.][width][suffix]]`
//! with a default width of 20 and no separator between fields.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::format::array::compress;
use crate::format::job_text::{expected_end, job_tres, run_seconds, timestamp};
use crate::format::memory::format_memory_mb;
use crate::protocol::{JobField, JobInfo, JobState};

/// squeue's default format.
pub const DEFAULT: &str = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R";
/// squeue's `-l/--long` format.
pub const LONG: &str = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R";
/// squeue's `--start` format.
pub const START: &str = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R";
/// squeue's format with `--only-job-state`: the id and the state only.
pub const ONLY_STATE: &str = "%.18i %.2t";
/// squeue's default sort: partition, compact state, priority (highest first).
pub const DEFAULT_SORT: &str = "P,t,-p";
/// The cluster name squeue's `Cluster` field shows (`SLURM_CLUSTER_NAME` in jobs).
pub const CLUSTER_NAME: &str = "conductor";

/// One column squeue can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Account,
    JobId,
    TresPerNode,
    BatchHost,
    MinCpus,
    NumCpus,
    MinTmpDisk,
    NumNodes,
    EndTime,
    Dependency,
    Features,
    ArrayJobId,
    GroupName,
    GroupId,
    OverSubscribe,
    Sockets,
    JobArrayId,
    Cores,
    Name,
    Threads,
    Comment,
    ArrayTaskId,
    TimeLimit,
    TimeLeft,
    MinMemory,
    TimeUsed,
    ReqNodes,
    NodeList,
    Command,
    Contiguous,
    Priority,
    Partition,
    Qos,
    PriorityLong,
    Reason,
    ReasonList,
    SelectJobInfo,
    StartTime,
    StateCompact,
    State,
    UserName,
    UserId,
    Reservation,
    SubmitTime,
    Wckey,
    Licenses,
    ExcNodes,
    CoreSpec,
    Nice,
    SchedNodes,
    Sct,
    WorkDir,
    NumTasks,
    CpusPerTask,
    Stdout,
    Stderr,
    Stdin,
    ExitCode,
    Cluster,
    TresAlloc,
    EligibleTime,
    RestartCount,
    PendingTime,
    BatchFlag,
    Requeue,
    MaxCpus,
    MaxNodes,
}

/// Each field with its `-o` letter, its `-O` names (lower case) and its header.
const FIELDS: &[(Field, Option<char>, &[&str], &str)] = &[
    (Field::Account, Some('a'), &["account"], "ACCOUNT"),
    (Field::JobId, Some('A'), &["jobid"], "JOBID"),
    (
        Field::TresPerNode,
        Some('b'),
        &["tres-per-node", "gres"],
        "TRES_PER_NODE",
    ),
    (Field::BatchHost, Some('B'), &["batchhost"], "EXEC_HOST"),
    (Field::MinCpus, Some('c'), &["mincpus"], "MIN_CPUS"),
    (Field::NumCpus, Some('C'), &["numcpus"], "CPUS"),
    (
        Field::MinTmpDisk,
        Some('d'),
        &["mintmpdisk"],
        "MIN_TMP_DISK",
    ),
    (Field::NumNodes, Some('D'), &["numnodes"], "NODES"),
    (Field::EndTime, Some('e'), &["endtime"], "END_TIME"),
    (Field::Dependency, Some('E'), &["dependency"], "DEPENDENCY"),
    (Field::Features, Some('f'), &["feature"], "FEATURES"),
    (
        Field::ArrayJobId,
        Some('F'),
        &["arrayjobid"],
        "ARRAY_JOB_ID",
    ),
    (Field::GroupName, Some('g'), &["groupname"], "GROUP"),
    (Field::GroupId, Some('G'), &["groupid"], "GROUP"),
    (
        Field::OverSubscribe,
        Some('h'),
        &["oversubscribe", "shared"],
        "OVER_SUBSCRIBE",
    ),
    (Field::Sockets, Some('H'), &["sockets"], "SOCKETS_PER_NODE"),
    (Field::JobArrayId, Some('i'), &["jobarrayid"], "JOBID"),
    (Field::Cores, Some('I'), &["cores"], "CORES_PER_SOCKET"),
    (Field::Name, Some('j'), &["name"], "NAME"),
    (Field::Threads, Some('J'), &["threads"], "THREADS_PER_CORE"),
    (Field::Comment, Some('k'), &["comment"], "COMMENT"),
    (
        Field::ArrayTaskId,
        Some('K'),
        &["arraytaskid"],
        "ARRAY_TASK_ID",
    ),
    (Field::TimeLimit, Some('l'), &["timelimit"], "TIME_LIMIT"),
    (Field::TimeLeft, Some('L'), &["timeleft"], "TIME_LEFT"),
    (Field::MinMemory, Some('m'), &["minmemory"], "MIN_MEMORY"),
    (Field::TimeUsed, Some('M'), &["timeused"], "TIME"),
    (Field::ReqNodes, Some('n'), &["reqnodes"], "REQ_NODES"),
    (Field::NodeList, Some('N'), &["nodelist"], "NODELIST"),
    (Field::Command, Some('o'), &["command"], "COMMAND"),
    (Field::Contiguous, Some('O'), &["contiguous"], "CONTIGUOUS"),
    (Field::Priority, Some('p'), &["priority"], "PRIORITY"),
    (Field::Partition, Some('P'), &["partition"], "PARTITION"),
    (Field::Qos, Some('q'), &["qos"], "QOS"),
    (
        Field::PriorityLong,
        Some('Q'),
        &["prioritylong"],
        "PRIORITY",
    ),
    (Field::Reason, Some('r'), &["reason"], "REASON"),
    (
        Field::ReasonList,
        Some('R'),
        &["reasonlist"],
        "NODELIST(REASON)",
    ),
    (Field::SelectJobInfo, Some('s'), &["selectjobinfo"], ""),
    (Field::StartTime, Some('S'), &["starttime"], "START_TIME"),
    (Field::StateCompact, Some('t'), &["statecompact"], "ST"),
    (Field::State, Some('T'), &["state"], "STATE"),
    (Field::UserName, Some('u'), &["username"], "USER"),
    (Field::UserId, Some('U'), &["userid"], "UID"),
    (
        Field::Reservation,
        Some('v'),
        &["reservation"],
        "RESERVATION",
    ),
    (Field::SubmitTime, Some('V'), &["submittime"], "SUBMIT_TIME"),
    (Field::Wckey, Some('w'), &["wckey"], "WCKEY"),
    (Field::Licenses, Some('W'), &["licenses"], "LICENSES"),
    (Field::ExcNodes, Some('x'), &[], "EXC_NODES"),
    (Field::CoreSpec, Some('X'), &["corespec"], "CORE_SPEC"),
    (Field::Nice, Some('y'), &["nice"], "NICE"),
    (Field::SchedNodes, Some('Y'), &["schednodes"], "SCHEDNODES"),
    (Field::Sct, Some('z'), &["sct"], "S:C:T"),
    (Field::WorkDir, Some('Z'), &["workdir"], "WORK_DIR"),
    (Field::NumTasks, None, &["numtasks", "numtask"], "TASKS"),
    (
        Field::CpusPerTask,
        None,
        &["cpus-per-task", "cpuspertask"],
        "CPUS_PER_TASK",
    ),
    (Field::Stdout, None, &["stdout"], "STDOUT"),
    (Field::Stderr, None, &["stderr"], "STDERR"),
    (Field::Stdin, None, &["stdin"], "STDIN"),
    (Field::ExitCode, None, &["exit_code"], "EXIT_CODE"),
    (Field::Cluster, None, &["cluster"], "CLUSTER"),
    (
        Field::TresAlloc,
        None,
        &["tres-alloc", "tres"],
        "TRES_ALLOC",
    ),
    (
        Field::EligibleTime,
        None,
        &["eligibletime"],
        "ELIGIBLE_TIME",
    ),
    (Field::RestartCount, None, &["restartcnt"], "RESTART_COUNT"),
    (Field::PendingTime, None, &["pendingtime"], "PENDING_TIME"),
    (Field::BatchFlag, None, &["batchflag"], "BATCH_FLAG"),
    (Field::Requeue, None, &["requeue"], "REQUEUE"),
    (Field::MaxCpus, None, &["maxcpus"], "MAX_CPUS"),
    (Field::MaxNodes, None, &["maxnodes"], "MAX_NODES"),
];

impl Field {
    /// The field of a `-o` letter.
    pub fn from_letter(letter: char) -> Option<Field> {
        FIELDS
            .iter()
            .find(|(_, l, _, _)| *l == Some(letter))
            .map(|(field, ..)| *field)
    }

    /// The field of a `-O` name, in any case.
    pub fn from_name(name: &str) -> Option<Field> {
        let name = name.to_ascii_lowercase();
        // squeue takes any name that starts with "numtask".
        if name.starts_with("numtask") {
            return Some(Field::NumTasks);
        }
        FIELDS
            .iter()
            .find(|(_, _, names, _)| names.contains(&name.as_str()))
            .map(|(field, ..)| *field)
    }

    /// The header squeue prints for this field.
    pub fn header(self) -> &'static str {
        FIELDS
            .iter()
            .find(|(field, ..)| *field == self)
            .map_or("", |(.., header)| header)
    }

    /// The `JobInfo` fields this column reads: a listing limited to them
    /// (and to [`ROW_NEEDS`]) renders the column as the whole job does.
    pub fn needs(self) -> &'static [JobField] {
        use JobField as J;
        const ELAPSED: &[JobField] = &[J::State, J::StartTime, J::EndTime];
        match self {
            Field::Account => &[J::Account],
            Field::JobId => &[J::JobId],
            Field::TresPerNode => &[J::Gpus],
            Field::BatchHost | Field::NodeList => &[J::Node],
            Field::MinCpus | Field::CpusPerTask => &[J::CpusPerTask],
            Field::NumCpus | Field::MaxCpus => &[J::Cpus],
            Field::EndTime => &[J::EndTime, J::StartTime, J::TimeLimit],
            Field::Dependency => &[J::Dependency],
            Field::ArrayJobId | Field::JobArrayId | Field::ArrayTaskId => ROW_NEEDS,
            Field::GroupName | Field::GroupId => &[J::Gid],
            Field::OverSubscribe => &[J::Exclusive],
            Field::Name => &[J::Name],
            Field::Comment => &[J::Comment],
            Field::TimeLimit => &[J::TimeLimit],
            Field::TimeLeft => &[J::TimeLimit, J::State, J::StartTime, J::EndTime],
            Field::MinMemory => &[J::MemoryPerCpuMb, J::MemoryMb],
            Field::TimeUsed => ELAPSED,
            Field::Command => &[J::Command],
            Field::Priority | Field::PriorityLong => &[J::Priority],
            Field::Partition => &[J::Partition],
            Field::Qos => &[J::Qos],
            Field::Reason => &[J::Reason],
            Field::ReasonList => &[J::State, J::Reason, J::Node],
            Field::StartTime => super::squeue_start::NEEDS,
            Field::StateCompact | Field::State => &[J::State],
            Field::UserName => &[J::User],
            Field::UserId => &[J::Uid],
            Field::SubmitTime => &[J::SubmitTime],
            Field::Wckey => &[J::Wckey],
            Field::Nice => &[J::Nice],
            Field::WorkDir => &[J::WorkDir],
            Field::NumTasks => &[J::Ntasks],
            Field::Stdout => &[J::Stdout],
            Field::Stderr => &[J::Stderr],
            Field::Stdin => &[J::Stdin],
            Field::ExitCode => &[J::ExitCode],
            Field::TresAlloc => &[J::Cpus, J::MemoryMb, J::Gpus],
            Field::EligibleTime => &[J::BeginTime, J::SubmitTime],
            Field::RestartCount => &[J::Restarts],
            Field::PendingTime => &[J::StartTime, J::SubmitTime],
            Field::MinTmpDisk
            | Field::Contiguous
            | Field::NumNodes
            | Field::MaxNodes
            | Field::BatchFlag
            | Field::Requeue
            | Field::Features
            | Field::Licenses
            | Field::Reservation
            | Field::Sockets
            | Field::Cores
            | Field::Threads
            | Field::ReqNodes
            | Field::ExcNodes
            | Field::SelectJobInfo
            | Field::CoreSpec
            | Field::SchedNodes
            | Field::Sct
            | Field::Cluster => &[],
        }
    }

    /// Whether squeue cuts this field's header to a right-justified width
    /// (node lists keep their whole header).
    fn header_cut(self) -> bool {
        !matches!(
            self,
            Field::NodeList | Field::ReasonList | Field::SchedNodes
        )
    }

    /// For the columns of squeue's default line that are computed (the id,
    /// the time used, a pending job's reason): writes the text to `text`
    /// and returns whether a right-justified width cuts it, as
    /// [`Field::value`] does; `None` for every other column.
    fn write_value(self, row: &Row<'_>, now: DateTime<Utc>, text: &mut String) -> Option<bool> {
        let job = row.job;
        match self {
            Field::JobId => text.push_str(itoa::Buffer::new().format(job.job_id.0)),
            Field::JobArrayId if job.array_job_id.is_none() => {
                text.push_str(itoa::Buffer::new().format(job.job_id.0));
            }
            Field::TimeUsed => {
                write_secs(text, elapsed(job, now));
                return Some(false);
            }
            Field::ReasonList if reason_in_list(job.state) => {
                text.push('(');
                // Writing to a String cannot fail.
                let _ = write!(text, "{}", job.reason);
                text.push(')');
            }
            _ => return None,
        }
        Some(true)
    }

    /// The text of this field for one line, and whether a right-justified
    /// width cuts it (squeue never cuts times and node lists).
    fn value<'a>(self, row: &Row<'a>, now: DateTime<Utc>) -> (Cow<'a, str>, bool) {
        let job = row.job;
        let node = || Cow::Borrowed(job.node.as_deref().unwrap_or_default());
        let or_null = |text: &'a Option<String>| Cow::Borrowed(text.as_deref().unwrap_or("(null)"));
        let text = match self {
            Field::Account => or_null(&job.account),
            Field::JobId => number(job.job_id.0),
            Field::TresPerNode => match job.gpus {
                0 => "N/A".into(),
                n => format!("gres/gpu:{n}").into(),
            },
            Field::BatchHost => job.node.as_deref().unwrap_or("n/a").into(),
            Field::MinCpus => job.cpus_per_task.to_string().into(),
            Field::NumCpus | Field::MaxCpus => job.cpus.to_string().into(),
            Field::MinTmpDisk | Field::Contiguous => "0".into(),
            Field::NumNodes | Field::MaxNodes | Field::BatchFlag | Field::Requeue => "1".into(),
            Field::EndTime => timestamp(expected_end(job)).into(),
            Field::Dependency => or_null(&job.dependency),
            Field::Features | Field::Licenses | Field::Reservation => "(null)".into(),
            Field::ArrayJobId => job.array_job_id.unwrap_or(job.job_id).to_string().into(),
            Field::GroupName => uzers::get_group_by_gid(job.gid).map_or_else(
                || job.gid.to_string().into(),
                |group| group.name().to_string_lossy().into_owned().into(),
            ),
            Field::GroupId => job.gid.to_string().into(),
            Field::OverSubscribe => if job.exclusive { "NO" } else { "OK" }.into(),
            Field::Sockets | Field::Cores | Field::Threads => "*".into(),
            Field::JobArrayId => match (&row.tasks, job.array_job_id) {
                (Some(tasks), Some(array)) => format!("{array}_[{tasks}]").into(),
                _ => match (job.array_job_id, job.array_task_id) {
                    (Some(_), Some(_)) => job.display_id().into(),
                    _ => number(job.job_id.0),
                },
            },
            Field::Name => job.name.as_str().into(),
            Field::Comment => or_null(&job.comment),
            Field::ArrayTaskId => match (&row.tasks, job.array_task_id) {
                (Some(tasks), _) => tasks.clone().into(),
                (None, Some(task)) => task.to_string().into(),
                (None, None) => "N/A".into(),
            },
            Field::TimeLimit => {
                return (
                    job.time_limit
                        .map_or_else(|| "UNLIMITED".into(), |limit| secs(limit as i64).into()),
                    false,
                );
            }
            Field::TimeLeft => {
                return (
                    job.time_limit.map_or_else(
                        || "UNLIMITED".into(),
                        |limit| secs(limit as i64 - elapsed(job, now)).into(),
                    ),
                    false,
                );
            }
            Field::MinMemory => {
                format_memory_mb(job.memory_per_cpu_mb.unwrap_or(job.memory_mb)).into()
            }
            Field::TimeUsed => return (secs(elapsed(job, now)).into(), false),
            Field::ReqNodes | Field::ExcNodes | Field::SelectJobInfo => "".into(),
            Field::NodeList => return (node(), false),
            Field::Command => job
                .command
                .as_ref()
                .map_or_else(|| "(null)".into(), |path| path.display().to_string().into()),
            Field::Priority => {
                let priority = job.priority.clamp(0, i64::from(u32::MAX)) as f64;
                format!("{:16.14}", priority / f64::from(u32::MAX)).into()
            }
            Field::Partition => job.partition.as_str().into(),
            Field::Qos => job.qos.as_deref().unwrap_or("normal").into(),
            Field::PriorityLong => job.priority.to_string().into(),
            Field::Reason => job.reason.to_string().into(),
            Field::ReasonList if reason_in_list(job.state) => {
                let mut text = String::with_capacity(32);
                text.push('(');
                // Writing to a String cannot fail.
                let _ = write!(text, "{}", job.reason);
                text.push(')');
                text.into()
            }
            Field::ReasonList => return (node(), false),
            Field::StartTime => timestamp(super::squeue_start::start_time(job)).into(),
            Field::StateCompact => job.state.short().into(),
            Field::State => job.state.long().into(),
            Field::UserName => job.user.as_str().into(),
            Field::UserId => job.uid.to_string().into(),
            Field::SubmitTime => timestamp(Some(job.submit_time)).into(),
            Field::Wckey => or_null(&job.wckey),
            Field::CoreSpec => "N/A".into(),
            Field::Nice => job.nice.to_string().into(),
            Field::SchedNodes => return ("(null)".into(), false),
            Field::Sct => "*:*:*".into(),
            Field::WorkDir => job.work_dir.display().to_string().into(),
            Field::NumTasks => job.ntasks.to_string().into(),
            Field::CpusPerTask => job.cpus_per_task.to_string().into(),
            Field::Stdout => job.stdout.display().to_string().into(),
            Field::Stderr => job.stderr.display().to_string().into(),
            Field::Stdin => job.stdin.display().to_string().into(),
            // The raw wait status, as squeue prints it: code * 256 + signal.
            Field::ExitCode => job
                .exit_code
                .map_or(0, |exit| exit.code * 256 + exit.signal)
                .to_string()
                .into(),
            Field::Cluster => CLUSTER_NAME.into(),
            Field::TresAlloc => job_tres(job, 0).into(),
            Field::EligibleTime => {
                timestamp(Some(job.begin_time.unwrap_or(job.submit_time))).into()
            }
            Field::RestartCount => job.restarts.to_string().into(),
            Field::PendingTime => {
                let until = job.start_time.filter(|start| *start < now).unwrap_or(now);
                (until - job.submit_time).num_seconds().to_string().into()
            }
        };
        (text, true)
    }
}

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
    fn sort_id(&self) -> (u64, u32) {
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

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Text(String),
    Field {
        field: Field,
        width: usize,
        right: bool,
    },
}

/// A parsed `-o` or `-O` format.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    items: Vec<Item>,
}

impl Format {
    /// Parses a `-o` format; the second value lists the letters that are
    /// not fields (kept literally, to be reported by the caller). `%all`
    /// alone is every letter, `|`-separated.
    pub fn parse(text: &str) -> (Format, Vec<String>) {
        if text.eq_ignore_ascii_case("%all") {
            let letters = ('a'..='z').chain('A'..='Z');
            let all: Vec<String> = letters.map(|letter| format!("%{letter}")).collect();
            return Format::parse(&all.join("|"));
        }
        let mut items = Vec::new();
        let mut invalid = Vec::new();
        let mut pieces = text.split('%');
        if let Some(prefix) = pieces.next().filter(|p| !p.is_empty()) {
            items.push(Item::Text(prefix.to_string()));
        }
        // squeue splits on runs of '%' (strtok), so empty pieces vanish.
        for token in pieces.filter(|p| !p.is_empty()) {
            let right = token.starts_with('.');
            let spec = if right { &token[1..] } else { token };
            let digits = spec.len() - spec.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let width = spec[..digits].parse().unwrap_or(0);
            let rest = &spec[digits..];
            let mut chars = rest.chars();
            let letter = chars.next();
            match letter.and_then(Field::from_letter) {
                Some(field) => {
                    items.push(Item::Field {
                        field,
                        width,
                        right,
                    });
                    let suffix = chars.as_str();
                    if !suffix.is_empty() {
                        items.push(Item::Text(suffix.to_string()));
                    }
                }
                None => {
                    invalid.push(letter.map(String::from).unwrap_or_default());
                    items.push(Item::Text(format!("%{token}")));
                }
            }
        }
        (Format { items }, invalid)
    }

    /// Parses a `-O` format, `name[:[.][width][suffix]],...`; the second
    /// value lists the names that are not fields (they print nothing).
    pub fn parse_long(text: &str) -> (Format, Vec<String>) {
        let mut items = Vec::new();
        let mut invalid = Vec::new();
        for token in text.split(',').filter(|t| !t.is_empty()) {
            let (name, width, right, suffix) = match token.split_once(':') {
                None => (token, 20, false, ""),
                Some((name, spec)) => {
                    let right = spec.starts_with('.');
                    let spec = if right { &spec[1..] } else { spec };
                    let digits =
                        spec.len() - spec.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                    (
                        name,
                        spec[..digits].parse().unwrap_or(0),
                        right,
                        &spec[digits..],
                    )
                }
            };
            match Field::from_name(name) {
                Some(field) => items.push(Item::Field {
                    field,
                    width,
                    right,
                }),
                None => invalid.push(name.to_string()),
            }
            if !suffix.is_empty() {
                items.push(Item::Text(suffix.to_string()));
            }
        }
        (Format { items }, invalid)
    }

    /// The header line.
    pub fn header(&self) -> String {
        self.render(|field| (field.header().into(), field.header_cut()))
    }

    /// One line.
    pub fn row(&self, row: &Row<'_>, now: DateTime<Utc>) -> String {
        let mut line = String::new();
        self.write_row(&mut line, &mut String::new(), row, now);
        line
    }

    /// Appends one job's line, without its newline, to `out`. `scratch`
    /// holds the text of a computed column (ids, times, reasons) on its
    /// way into the line: kept by the caller from line to line, it spares
    /// each line an allocation per such column.
    pub fn write_row(
        &self,
        out: &mut String,
        scratch: &mut String,
        row: &Row<'_>,
        now: DateTime<Utc>,
    ) {
        for item in &self.items {
            match item {
                Item::Text(text) => out.push_str(text),
                Item::Field {
                    field,
                    width,
                    right,
                } => {
                    scratch.clear();
                    if let Some(cut) = field.write_value(row, now, scratch) {
                        pad(out, scratch, *width, *right, cut);
                    } else {
                        let (text, cut) = field.value(row, now);
                        pad(out, &text, *width, *right, cut);
                    }
                }
            }
        }
    }

    /// The `JobInfo` fields this format's columns read.
    pub fn needs(&self) -> impl Iterator<Item = JobField> + '_ {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::Field { field, .. } => Some(field.needs()),
                Item::Text(_) => None,
            })
            .flatten()
            .copied()
    }

    fn render<'a>(&self, cell: impl FnMut(Field) -> (Cow<'a, str>, bool)) -> String {
        let mut line = String::new();
        self.render_into(&mut line, cell);
        line
    }

    fn render_into<'a>(
        &self,
        line: &mut String,
        mut cell: impl FnMut(Field) -> (Cow<'a, str>, bool),
    ) {
        for item in &self.items {
            match item {
                Item::Text(text) => line.push_str(text),
                Item::Field {
                    field,
                    width,
                    right,
                } => {
                    let (text, cut) = cell(*field);
                    pad(line, &text, *width, *right, cut);
                }
            }
        }
    }
}

/// squeue's `_print_str`: a width pads; a left-justified field is always
/// cut to it, a right-justified one only when `cut`.
fn pad(line: &mut String, text: &str, width: usize, right: bool, cut: bool) {
    if width == 0 {
        line.push_str(text);
        return;
    }
    let keep = right && !cut;
    // Most text is ASCII: its characters are its bytes, looked at once.
    let (text, chars) = if text.is_ascii() {
        let text = if keep {
            text
        } else {
            &text[..text.len().min(width)]
        };
        (text, text.len())
    } else {
        let text = if keep {
            text
        } else {
            // The first `width` characters.
            text.char_indices()
                .nth(width)
                .map_or(text, |(end, _)| &text[..end])
        };
        (text, text.chars().count())
    };
    let fill = width.saturating_sub(chars);
    if right {
        spaces(line, fill);
        line.push_str(text);
    } else {
        line.push_str(text);
        spaces(line, fill);
    }
}

/// Appends `count` spaces.
fn spaces(line: &mut String, mut count: usize) {
    const SPACES: &str = "                                ";
    while count > 0 {
        let n = count.min(SPACES.len());
        line.push_str(&SPACES[..n]);
        count -= n;
    }
}

/// A number's digits, without `format!`'s machinery.
fn number<'a>(n: impl itoa::Integer) -> Cow<'a, str> {
    Cow::Owned(itoa::Buffer::new().format(n).to_owned())
}

/// squeue's `_print_secs`: `M:SS`, `H:MM:SS` or `D-HH:MM:SS`; `INVALID`
/// when negative or over a year.
fn secs(seconds: i64) -> String {
    let mut text = String::with_capacity(16);
    write_secs(&mut text, seconds);
    text
}

/// Appends [`secs`]'s text to `text`.
fn write_secs(text: &mut String, seconds: i64) {
    if !(0..=365 * 86_400).contains(&seconds) {
        text.push_str("INVALID");
        return;
    }
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    // Written by hand: this is every line's `%M`, and `format!` costs more
    // than the rest of the line.
    let two = |text: &mut String, n: i64| {
        text.push(char::from(b'0' + (n / 10) as u8));
        text.push(char::from(b'0' + (n % 10) as u8));
    };
    if days > 0 {
        text.push_str(itoa::Buffer::new().format(days));
        text.push('-');
        two(text, hours);
        text.push(':');
    } else if hours > 0 {
        text.push_str(itoa::Buffer::new().format(hours));
        text.push(':');
    }
    if days > 0 || hours > 0 {
        two(text, minutes);
    } else {
        text.push_str(itoa::Buffer::new().format(minutes));
    }
    text.push(':');
    two(text, secs);
}

/// Whether `%R` shows the job's `(Reason)` rather than its node: squeue
/// does for a pending job and for one that ended in a failure of its own
/// (FAILED, TIMEOUT, OUT_OF_MEMORY). A job ended by NODE_FAIL, like a
/// cancelled or completed one, shows the node it ran on.
fn reason_in_list(state: JobState) -> bool {
    matches!(
        state,
        JobState::Pending | JobState::Failed | JobState::Timeout | JobState::OutOfMemory
    )
}

/// Seconds the job has run: none while pending (a requeued job's old
/// start included), up to now while running.
fn elapsed(job: &JobInfo, now: DateTime<Utc>) -> i64 {
    if job.state == JobState::Pending {
        return 0;
    }
    i64::try_from(run_seconds(job.start_time, job.end_time, now)).unwrap_or(i64::MAX)
}

/// One `-S/--sort` key: a field letter, ascending unless prefixed with `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub letter: char,
    pub descending: bool,
}

/// Letters squeue sorts by; `b c f h n O` and `cluster` are accepted and
/// change nothing, as in squeue.
const SORT_LETTERS: &str = "BCdDegGHiIjJlLmMNpPQStTuUvVzbcfhnO";

/// Parses a `-S` list such as `P,t,-p` or `-i`; the error is the first
/// letter that is not a sort key.
pub fn parse_sort(text: &str) -> Result<Vec<SortKey>, char> {
    let mut keys = Vec::new();
    let mut descending = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case("cluster") {
            rest = &rest[7..];
            descending = false;
            continue;
        }
        rest = &rest[c.len_utf8()..];
        match c {
            ',' | '+' => descending = false,
            '-' => descending = true,
            c if SORT_LETTERS.contains(c) => {
                keys.push(SortKey {
                    letter: c,
                    descending,
                });
                descending = false;
            }
            other => return Err(other),
        }
    }
    Ok(keys)
}

/// The `JobInfo` fields sorting by `letter` reads.
pub fn sort_needs(letter: char) -> &'static [JobField] {
    use JobField as J;
    match letter {
        'B' | 'N' => &[J::Node],
        'C' => &[J::Cpus],
        'e' => &[J::EndTime],
        'g' | 'G' => &[J::Gid],
        'i' => ROW_NEEDS,
        'j' => &[J::Name],
        'l' => &[J::TimeLimit],
        'L' => &[J::TimeLimit, J::State, J::StartTime, J::EndTime],
        'm' => &[J::MemoryMb],
        'M' => &[J::State, J::StartTime, J::EndTime],
        'p' | 'Q' => &[J::Priority],
        'P' => &[J::Partition],
        'S' => super::squeue_start::SORT_NEEDS,
        't' | 'T' => &[J::State],
        'u' => &[J::User],
        'U' => &[J::Uid],
        'V' => &[J::SubmitTime],
        _ => &[],
    }
}

/// Sorts lines by the keys, the first key first; lines equal on every key
/// keep job id order.
pub fn sort_rows(rows: &mut [Row<'_>], keys: &[SortKey], now: DateTime<Utc>) {
    rows.sort_by(|a, b| {
        keys.iter()
            .map(|key| {
                let order = compare(key.letter, a, b, now);
                if key.descending {
                    order.reverse()
                } else {
                    order
                }
            })
            .find(|order| order.is_ne())
            .unwrap_or_else(|| a.sort_id().cmp(&b.sort_id()))
    });
}

fn compare(letter: char, a: &Row<'_>, b: &Row<'_>, now: DateTime<Utc>) -> Ordering {
    let (x, y) = (a.job, b.job);
    // A missing limit is INFINITE in squeue, which sorts after every limit.
    let limit = |job: &JobInfo| job.time_limit.unwrap_or(u64::MAX);
    let left = |job: &JobInfo| {
        job.time_limit
            .map_or(i64::MAX, |l| l as i64 - elapsed(job, now))
    };
    // squeue: no start time sorts last; a pending job's past start is now.
    let start = |job: &JobInfo| match super::squeue_start::start_time(job) {
        None => now + chrono::Duration::seconds(100),
        Some(start) if job.state == JobState::Pending && start < now => now,
        Some(start) => start,
    };
    let group = |job: &JobInfo| {
        uzers::get_group_by_gid(job.gid)
            .map(|g| g.name().to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    match letter {
        'B' | 'N' => x.node.cmp(&y.node),
        'C' => x.cpus.cmp(&y.cpus),
        'e' => x.end_time.cmp(&y.end_time),
        'g' => group(x).cmp(&group(y)),
        'G' => x.gid.cmp(&y.gid),
        'i' => a.sort_id().cmp(&b.sort_id()),
        'j' => x.name.cmp(&y.name),
        'l' => limit(x).cmp(&limit(y)),
        'L' => left(x).cmp(&left(y)),
        'm' => x.memory_mb.cmp(&y.memory_mb),
        'M' => elapsed(x, now).cmp(&elapsed(y, now)),
        'p' | 'Q' => x.priority.cmp(&y.priority),
        'P' => x.partition.cmp(&y.partition),
        'S' => start(x).cmp(&start(y)),
        't' => x.state.short().cmp(y.state.short()),
        'T' => x.state.long().cmp(y.state.long()),
        'u' => x.user.cmp(&y.user),
        'U' => x.uid.cmp(&y.uid),
        'V' => x.submit_time.cmp(&y.submit_time),
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ExitCode, FieldSet, JobId, Reason};

    fn job() -> JobInfo {
        JobInfo {
            job_id: JobId(1234),
            name: "averyverylongname".into(),
            user: "alice".into(),
            uid: 1000,
            partition: "normal".into(),
            state: JobState::Running,
            reason: Reason::None,
            cpus: 2,
            ntasks: 1,
            cpus_per_task: 2,
            memory_mb: 4096,
            gpus: 0,
            cpu_ids: vec![0, 1],
            gpu_ids: vec![],
            node: Some("box".into()),
            submit_time: DateTime::from_timestamp(1_000, 0).expect("valid"),
            start_time: DateTime::from_timestamp(1_000, 0),
            end_time: None,
            time_limit: Some(3600),
            exit_code: None,
            work_dir: "/tmp".into(),
            stdout: "/tmp/slurm-1234.out".into(),
            stderr: "/tmp/slurm-1234.err".into(),
            stdin: "/dev/null".into(),
            gid: 1000,
            submit_dir: "/tmp".into(),
            command: None,
            array_job_id: None,
            array_task_id: None,
            array_max_running: None,
            dependency: None,
            begin_time: None,
            priority: 0,
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

    fn pending(id: u64) -> JobInfo {
        JobInfo {
            job_id: JobId(id),
            state: JobState::Pending,
            reason: Reason::Priority,
            node: None,
            start_time: None,
            ..job()
        }
    }

    fn task(id: u64, array: u64, index: u32) -> JobInfo {
        JobInfo {
            array_job_id: Some(JobId(array)),
            array_task_id: Some(index),
            ..pending(id)
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_005, 0).expect("valid")
    }

    fn render(format: &str, job: &JobInfo) -> String {
        Format::parse(format).0.row(&Row::single(job), now())
    }

    fn header(format: &str) -> String {
        Format::parse(format).0.header()
    }

    #[test]
    fn times_read_as_squeue_prints_them() {
        let reference = |seconds: i64| {
            let (days, hours, minutes, secs) = (
                seconds / 86_400,
                seconds / 3600 % 24,
                seconds / 60 % 60,
                seconds % 60,
            );
            if !(0..=365 * 86_400).contains(&seconds) {
                "INVALID".to_string()
            } else if days > 0 {
                format!("{days}-{hours:02}:{minutes:02}:{secs:02}")
            } else if hours > 0 {
                format!("{hours}:{minutes:02}:{secs:02}")
            } else {
                format!("{minutes}:{secs:02}")
            }
        };
        let samples = (-2..4000)
            .chain((0..400).map(|n| n * 3599 + 7))
            .chain((0..400).map(|n| n * 86_399 + 13))
            .chain([86_400, 86_399, 365 * 86_400, 365 * 86_400 + 1, i64::MAX]);
        for seconds in samples {
            assert_eq!(secs(seconds), reference(seconds), "{seconds}");
        }
        assert_eq!(secs(3 * 86_400 + 4 * 3600 + 5 * 60 + 6), "3-04:05:06");
        assert_eq!(secs(65), "1:05");
    }

    #[test]
    fn the_default_layout_matches_squeue() {
        let (format, invalid) = Format::parse(DEFAULT);
        assert!(invalid.is_empty());
        assert_eq!(
            format.header(),
            "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)"
        );
        assert_eq!(
            format.row(&Row::single(&job()), now()),
            "              1234    normal averyver    alice  R       0:05      1 box"
        );
    }

    #[test]
    fn the_long_layout_cuts_the_time_limit_header() {
        assert_eq!(
            header(LONG),
            "             JOBID PARTITION     NAME     USER    STATE       TIME TIME_LIMI  NODES NODELIST(REASON)"
        );
        assert_eq!(
            render(LONG, &job()),
            "              1234    normal averyver    alice  RUNNING       0:05   1:00:00      1 box"
        );
    }

    #[test]
    fn separators_are_copied_and_pending_jobs_show_their_reason() {
        let mut pending = job();
        pending.state = JobState::Pending;
        pending.reason = Reason::Resources;
        assert_eq!(
            render("%i|%T %t %R", &pending),
            "1234|PENDING PD (Resources)"
        );
        assert_eq!(render("id=%i.", &pending), "id=1234.");
        assert_eq!(header("id=%i."), "id=JOBID.");
    }

    #[test]
    fn widths_without_a_dot_left_justify_and_always_cut() {
        assert_eq!(render("%5t|%3C|%.4m", &job()), "R    |2  |  4G");
        assert_eq!(render("%3j|%.3j|%0j", &job()), "ave|ave|averyverylongname");
    }

    #[test]
    fn right_justified_times_and_nodes_are_never_cut() {
        let mut long = job();
        long.start_time = DateTime::from_timestamp(1_005 - 754, 0);
        assert_eq!(render("%.2M|%2M|%.1N|%.1R", &long), "12:34|12|box|box");
        assert_eq!(header("%.4R|%4R|%.4N"), "NODELIST(REASON)|NODE|NODELIST");
    }

    #[test]
    fn unknown_letters_stay_literal_and_are_reported() {
        let (format, invalid) = Format::parse("a%-10jb%");
        assert_eq!(invalid, vec!["-".to_string()]);
        assert_eq!(format.row(&Row::single(&job()), now()), "a%-10jb");
        let (format, invalid) = Format::parse("%i %5! x");
        assert_eq!(invalid, vec!["!".to_string()]);
        assert_eq!(format.header(), "JOBID %5! x");
    }

    #[test]
    fn every_letter_has_a_header_and_all_lists_them() {
        let (format, invalid) = Format::parse("%all");
        assert!(invalid.is_empty());
        assert_eq!(
            format.header(),
            "ACCOUNT|TRES_PER_NODE|MIN_CPUS|MIN_TMP_DISK|END_TIME|FEATURES|GROUP|OVER_SUBSCRIBE|\
             JOBID|NAME|COMMENT|TIME_LIMIT|MIN_MEMORY|REQ_NODES|COMMAND|PRIORITY|QOS|REASON||\
             ST|USER|RESERVATION|WCKEY|EXC_NODES|NICE|S:C:T|JOBID|EXEC_HOST|CPUS|NODES|\
             DEPENDENCY|ARRAY_JOB_ID|GROUP|SOCKETS_PER_NODE|CORES_PER_SOCKET|THREADS_PER_CORE|\
             ARRAY_TASK_ID|TIME_LEFT|TIME|NODELIST|CONTIGUOUS|PARTITION|PRIORITY|\
             NODELIST(REASON)|START_TIME|STATE|UID|SUBMIT_TIME|LICENSES|CORE_SPEC|SCHEDNODES|\
             WORK_DIR"
        );
        assert_eq!(Format::parse("%ALL").0, format);
    }

    #[test]
    fn the_letters_show_slurm_s_values() {
        let mut j = job();
        j.gpus = 2;
        j.exclusive = true;
        j.priority = 4_294_901_758;
        j.nice = -5;
        j.comment = Some("rule_a".into());
        j.qos = Some("high".into());
        j.account = Some("physics".into());
        j.wckey = Some("wk".into());
        j.command = Some("/home/alice/run.sh".into());
        j.dependency = Some("afterok:12(unfulfilled)".into());
        assert_eq!(
            render("%a|%b|%B|%c|%C|%d|%D|%E|%f|%F|%G|%h|%H|%I|%J|%k|%K", &j),
            "physics|gres/gpu:2|box|2|2|0|1|afterok:12(unfulfilled)|(null)|1234|1000|NO|*|*|*|\
             rule_a|N/A"
        );
        assert_eq!(
            render(
                "%l|%L|%m|%M|%n|%N|%o|%O|%p|%q|%Q|%r|%s|%u|%U|%v|%w|%W|%x|%X|%y|%Y|%z|%Z",
                &j
            ),
            "1:00:00|59:55|4G|0:05||box|/home/alice/run.sh|0|0.99998474097810|high|4294901758|\
             None||alice|1000|(null)|wk|(null)||N/A|-5|(null)|*:*:*|/tmp"
        );
    }

    #[test]
    fn unset_values_print_like_slurm() {
        let j = pending(7);
        assert_eq!(
            render("%a|%E|%k|%o|%q|%w|%p|%S|%e|%N|%B|%h|%L", &j),
            "(null)|(null)|(null)|(null)|normal|(null)|0.00000000000000|N/A|N/A||n/a|OK|1:00:00"
        );
        let mut unlimited = j.clone();
        unlimited.time_limit = None;
        assert_eq!(render("%l %L", &unlimited), "UNLIMITED UNLIMITED");
    }

    #[test]
    fn time_left_past_the_limit_is_invalid() {
        let mut over = job();
        over.time_limit = Some(2);
        assert_eq!(render("%L|%.10L", &over), "INVALID|   INVALID");
        over.time_limit = Some(400 * 86_400);
        assert_eq!(render("%l", &over), "INVALID");
    }

    #[test]
    fn finished_jobs_show_end_times_and_failure_reasons() {
        let mut done = job();
        done.state = JobState::Failed;
        done.reason = Reason::NonZeroExitCode;
        done.end_time = DateTime::from_timestamp(1_065, 0);
        done.exit_code = Some(ExitCode { code: 3, signal: 0 });
        assert_eq!(
            render("%T|%R|%M|%e", &done),
            format!(
                "FAILED|(NonZeroExitCode)|1:05|{}",
                timestamp(DateTime::from_timestamp(1_065, 0))
            )
        );
        let (format, _) = Format::parse_long("exit_code:4,state:.10");
        assert_eq!(format.row(&Row::single(&done), now()), "768     FAILED");
        done.state = JobState::Cancelled;
        assert_eq!(render("%t|%R", &done), "CA|box");
    }

    /// A job that ran from 1000 to 1065 and ended in `state`.
    fn ended(state: JobState, reason: Reason) -> JobInfo {
        JobInfo {
            state,
            reason,
            end_time: DateTime::from_timestamp(1_065, 0),
            exit_code: Some(ExitCode::default()),
            ..job()
        }
    }

    #[test]
    fn out_of_memory_shows_its_reason_and_node_fail_its_node() {
        for (state, reason, expected) in [
            (
                JobState::OutOfMemory,
                Reason::OutOfMemory,
                "OOM|OUT_OF_MEMORY|(OutOfMemory)|OutOfMemory",
            ),
            (
                JobState::NodeFail,
                Reason::NodeFail,
                "NF|NODE_FAIL|box|NodeFail",
            ),
            (
                JobState::Timeout,
                Reason::TimeLimit,
                "TO|TIMEOUT|(TimeLimit)|TimeLimit",
            ),
            (JobState::Completed, Reason::None, "CD|COMPLETED|box|None"),
        ] {
            let job = ended(state, reason);
            assert_eq!(render("%t|%T|%R|%r", &job), expected);
            // The default line writes %R its own way: to the same bytes.
            let (format, _) = Format::parse(DEFAULT);
            let mut line = String::new();
            format.write_row(&mut line, &mut String::new(), &Row::single(&job), now());
            assert_eq!(line, format.row(&Row::single(&job), now()), "{state}");
        }
        // squeue's default `%.2t` cuts the three-letter OOM to OO.
        assert_eq!(
            render(DEFAULT, &ended(JobState::OutOfMemory, Reason::OutOfMemory)),
            "              1234    normal averyver    alice OO       1:05      1 (OutOfMemory)"
        );
        assert_eq!(
            render(DEFAULT, &ended(JobState::NodeFail, Reason::NodeFail)),
            "              1234    normal averyver    alice NF       1:05      1 box"
        );
    }

    #[test]
    fn array_tasks_show_array_and_index() {
        let mut t = task(20, 12, 3);
        t.state = JobState::Running;
        assert_eq!(render("%i|%A|%F|%K", &t), "12_3|20|12|3");
        assert_eq!(render("%i|%A|%F|%K", &job()), "1234|1234|1234|N/A");
    }

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

    #[test]
    fn long_names_pad_to_twenty_without_separators() {
        let (format, invalid) = Format::parse_long("JobID,state,REASONLIST");
        assert!(invalid.is_empty());
        assert_eq!(
            format.header(),
            "JOBID               STATE               NODELIST(REASON)    "
        );
        assert_eq!(
            format.row(&Row::single(&job()), now()),
            "1234                RUNNING             box                 "
        );
    }

    #[test]
    fn long_names_take_widths_justification_and_suffixes() {
        let (format, invalid) = Format::parse_long("jobid:.8 ,name:5|,numtasks,bogus:3,timeused:0");
        assert_eq!(invalid, vec!["bogus".to_string()]);
        assert_eq!(format.header(), "   JOBID NAME |TASKS               TIME");
        assert_eq!(
            format.row(&Row::single(&job()), now()),
            "    1234 avery|1                   0:05"
        );
    }

    #[test]
    fn long_names_cover_the_files_and_resources() {
        let mut j = job();
        j.gpus = 1;
        let (format, invalid) = Format::parse_long(
            "stdout:0 ,stderr:0 ,stdin:0 ,cpus-per-task:0 ,tres-alloc:0 ,cluster:0 ,\
             arrayjobid:0 ,arraytaskid:0 ,PriorityLong:0 ,tres-per-node:0",
        );
        assert!(invalid.is_empty());
        assert_eq!(
            format.header(),
            "STDOUT STDERR STDIN CPUS_PER_TASK TRES_ALLOC CLUSTER ARRAY_JOB_ID ARRAY_TASK_ID \
             PRIORITY TRES_PER_NODE"
        );
        assert_eq!(
            format.row(&Row::single(&j), now()),
            "/tmp/slurm-1234.out /tmp/slurm-1234.err /dev/null 2 \
             cpu=2,mem=4G,node=1,billing=2,gres/gpu=1 conductor 1234 N/A 0 gres/gpu:1"
        );
    }

    #[test]
    fn sort_keys_parse_with_their_direction() {
        let key = |letter, descending| SortKey { letter, descending };
        assert_eq!(
            parse_sort(DEFAULT_SORT),
            Ok(vec![key('P', false), key('t', false), key('p', true)])
        );
        assert_eq!(
            parse_sort("-i,+j"),
            Ok(vec![key('i', true), key('j', false)])
        );
        assert_eq!(parse_sort("cluster,-V"), Ok(vec![key('V', true)]));
        assert_eq!(parse_sort("i,x"), Err('x'));
    }

    #[test]
    fn the_default_sort_puts_pending_first_then_priority() {
        let mut high = pending(3);
        high.priority = 10;
        let low = pending(2);
        let run = job();
        let jobs = vec![run, low, high];
        let mut lines = rows(&jobs, false);
        sort_rows(&mut lines, &parse_sort(DEFAULT_SORT).expect("valid"), now());
        let ids: Vec<u64> = lines.iter().map(|r| r.job.job_id.0).collect();
        assert_eq!(ids, vec![3, 2, 1234]);

        let mut lines = rows(&jobs, false);
        sort_rows(&mut lines, &parse_sort("-i").expect("valid"), now());
        let ids: Vec<u64> = lines.iter().map(|r| r.job.job_id.0).collect();
        assert_eq!(ids, vec![1234, 3, 2]);
    }

    #[test]
    fn sorting_by_array_id_keeps_tasks_in_index_order() {
        let jobs = vec![task(40, 12, 2), pending(13), task(12, 12, 10)];
        let mut lines = rows(&jobs, true);
        sort_rows(&mut lines, &parse_sort("i").expect("valid"), now());
        let ids: Vec<String> = lines.iter().map(|r| r.job.display_id()).collect();
        assert_eq!(ids, vec!["12_2", "12_10", "13"]);
    }

    /// Jobs that differ in every field some column or sort key reads.
    fn varied_jobs() -> Vec<JobInfo> {
        let full = JobInfo {
            job_id: JobId(77),
            gpus: 1,
            gpu_ids: vec![0],
            cpus: 4,
            memory_mb: 1024,
            memory_per_cpu_mb: Some(256),
            end_time: DateTime::from_timestamp(1_003, 0),
            state: JobState::Failed,
            reason: Reason::NonZeroExitCode,
            exit_code: Some(ExitCode { code: 3, signal: 0 }),
            command: Some("/bin/run.sh".into()),
            dependency: Some("afterok:1(unfulfilled)".into()),
            begin_time: DateTime::from_timestamp(900, 0),
            priority: 12,
            nice: 5,
            restarts: 2,
            cancelled_by: Some(0),
            exclusive: true,
            max_rss_kb: Some(10),
            comment: Some("c".into()),
            account: Some("acct".into()),
            qos: Some("high".into()),
            wckey: Some("w".into()),
            gid: 0,
            uid: 0,
            user: "root".into(),
            partition: "other".into(),
            ..job()
        };
        let mut throttled = task(50, 48, 3);
        throttled.array_max_running = Some(2);
        vec![
            job(),
            pending(5),
            full,
            task(48, 48, 1),
            task(49, 48, 2),
            throttled,
            task(60, 60, 0),
            ended(JobState::OutOfMemory, Reason::OutOfMemory),
            ended(JobState::NodeFail, Reason::NodeFail),
        ]
    }

    #[test]
    fn computed_columns_write_what_their_values_say() {
        let mut long_ago = job();
        long_ago.start_time = DateTime::from_timestamp(1_005 - 2 * 86_400 - 3_725, 0);
        let mut jobs = varied_jobs();
        jobs.push(long_ago);
        for job in &jobs {
            for one_per_task in [false, true] {
                for row in rows(std::slice::from_ref(job), one_per_task) {
                    for (field, ..) in FIELDS {
                        let mut text = String::new();
                        if let Some(cut) = field.write_value(&row, now(), &mut text) {
                            let (value, value_cut) = field.value(&row, now());
                            assert_eq!((text.as_str(), cut), (&*value, value_cut), "{field:?}");
                        }
                    }
                }
            }
        }
    }

    /// The job as a listing limited to `fields` delivers it.
    fn only(job: &JobInfo, fields: FieldSet) -> JobInfo {
        let serde_json::Value::Object(all) = serde_json::to_value(job).expect("encodes") else {
            panic!("a job is an object");
        };
        let kept = all
            .into_iter()
            .filter(|(key, _)| fields.iter().any(|field| field.name() == key))
            .collect();
        serde_json::from_value(serde_json::Value::Object(kept)).expect("decodes")
    }

    #[test]
    fn each_column_and_sort_key_reads_only_the_fields_it_names() {
        let jobs = varied_jobs();
        for (field, ..) in FIELDS {
            let mut needs: FieldSet = field.needs().iter().copied().collect();
            needs.extend(ROW_NEEDS.iter().copied());
            let limited: Vec<JobInfo> = jobs.iter().map(|job| only(job, needs)).collect();
            let format = Format {
                items: vec![Item::Field {
                    field: *field,
                    width: 0,
                    right: false,
                }],
            };
            for one_per_task in [false, true] {
                let lines = |jobs| -> Vec<String> {
                    rows(jobs, one_per_task)
                        .iter()
                        .map(|row| format.row(row, now()))
                        .collect()
                };
                assert_eq!(lines(&limited), lines(&jobs), "{field:?}");
            }
        }
        for letter in SORT_LETTERS.chars() {
            let mut needs: FieldSet = sort_needs(letter).iter().copied().collect();
            needs.extend(ROW_NEEDS.iter().copied());
            let limited: Vec<JobInfo> = jobs.iter().map(|job| only(job, needs)).collect();
            for descending in [false, true] {
                let key = [SortKey { letter, descending }];
                let order = |jobs| -> Vec<JobId> {
                    let mut lines = rows(jobs, true);
                    sort_rows(&mut lines, &key, now());
                    lines.iter().map(|row| row.job.job_id).collect()
                };
                assert_eq!(order(&limited), order(&jobs), "sort by {letter}");
            }
        }
    }
}
