//! The columns squeue can show: each field's `-o` letter, `-O` names and
//! header, the `JobInfo` fields it reads, and the text it shows for one
//! line (squeue's `print.c`).

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::format::job_text::{expected_end, job_tres, timestamp};
use crate::format::memory::format_memory_mb;
use crate::protocol::{JobField, JobState};

use super::CLUSTER_NAME;
use super::rows::{ROW_NEEDS, Row, elapsed};

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
pub(super) const FIELDS: &[(Field, Option<char>, &[&str], &str)] = &[
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
            Field::StartTime => super::start::NEEDS,
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
    pub(super) fn header_cut(self) -> bool {
        !matches!(
            self,
            Field::NodeList | Field::ReasonList | Field::SchedNodes
        )
    }

    /// For the columns of squeue's default line that are computed (the id,
    /// the time used, a pending job's reason): writes the text to `text`
    /// and returns whether a right-justified width cuts it, as
    /// [`Field::value`] does; `None` for every other column.
    pub(super) fn write_value(
        self,
        row: &Row<'_>,
        now: DateTime<Utc>,
        text: &mut String,
    ) -> Option<bool> {
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
    pub(super) fn value<'a>(self, row: &Row<'a>, now: DateTime<Utc>) -> (Cow<'a, str>, bool) {
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
            Field::StartTime => timestamp(super::start::start_time(job)).into(),
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

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::format::squeue::test_jobs::{ended, job, now, pending, render, task, varied_jobs};
    use crate::format::squeue::{DEFAULT, Format, rows};
    use crate::protocol::{ExitCode, Reason};

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
}
