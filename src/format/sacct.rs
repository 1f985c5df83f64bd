//! sacct's output, byte for byte: the field table (names, default widths
//! and values), the rows of a job (the allocation and its `.batch` step),
//! and the two layouts, fixed-width and parsable. Scripts parse these
//! bytes, so the renderer is small and hand-written like squeue's.
//!
//! Field names are matched case-insensitively by prefix, first match in
//! the table wins; the table is sorted the way Slurm's is (alphabetically),
//! so a full name always finds itself before a longer one (`JobID` before
//! `JobIDRaw`).

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::format::array::compress;
use crate::format::duration::{format_cpu_time, format_hms};
use crate::format::job_text::{Tres, run_seconds, timestamp, timestamp_or_unknown};
use std::borrow::Cow;

use crate::protocol::{ExitCode, JobInfo, JobState, Reason, StepInfo};

/// Fields shown without `-o`, `-b` or `-l`.
pub const DEFAULT_FIELDS: &str = "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode";
/// Fields of `-b/--brief`.
pub const BRIEF_FIELDS: &str = "JobID,State,ExitCode";
/// Fields of `-l/--long`: Slurm's long list, less the statistics we do
/// not collect (disk I/O, pages, CPU frequency, energy).
pub const LONG_FIELDS: &str = "JobID,JobIDRaw,JobName,Partition,MaxVMSize,MaxRSS,NTasks,AllocCPUS,\
                               Elapsed,State,ExitCode,ReqMem,ReqTRES,AllocTRES";

/// Which line of a job a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// The job's allocation: the line `-X` keeps.
    Job,
    /// The batch script's step, `<id>.batch`, once the job has started.
    Batch,
    /// A step `crun` ran inside the job, `<id>.<step>`.
    Step,
}

/// One output line: a job seen as its allocation, its batch step or one
/// of its steps. A step's row sees the job with the step's name, tasks,
/// times, state, exit code and usage in place of the job's, so every
/// field reads one shape.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub job: Cow<'a, JobInfo>,
    pub kind: RowKind,
    /// JobID as printed (`12`, `12_3`, `12_[4-9%2]`, `12.batch`).
    id: String,
    /// JobIDRaw as printed (`15`, `15.batch`).
    raw_id: String,
}

impl<'a> Row<'a> {
    /// The allocation line of a job.
    pub fn job(job: &'a JobInfo) -> Row<'a> {
        Row {
            job: Cow::Borrowed(job),
            kind: RowKind::Job,
            id: job.display_id(),
            raw_id: job.job_id.to_string(),
        }
    }

    /// The `.batch` step line of a job that has started; `None` before.
    pub fn batch(job: &'a JobInfo) -> Option<Row<'a>> {
        job.start_time.is_some().then(|| Row {
            job: Cow::Borrowed(job),
            kind: RowKind::Batch,
            id: format!("{}.batch", job.display_id()),
            raw_id: format!("{}.batch", job.job_id),
        })
    }

    /// The line of one of the job's steps.
    pub fn step(job: &JobInfo, step: &StepInfo) -> Row<'a> {
        let mut view = job.clone();
        view.steps = Vec::new();
        view.name.clone_from(&step.name);
        view.ntasks = step.ntasks;
        view.start_time = Some(step.start_time);
        view.end_time = step.end_time;
        view.state = step.state.unwrap_or(JobState::Running);
        view.exit_code = step.end_time.map(|_| step.exit_code.unwrap_or_default());
        view.cancelled_by = None;
        view.max_rss_kb = step.usage.max_rss_kb;
        view.total_cpu_usec = step.usage.total_cpu_usec;
        view.user_cpu_usec = step.usage.user_cpu_usec;
        view.system_cpu_usec = step.usage.system_cpu_usec;
        Row {
            job: Cow::Owned(view),
            kind: RowKind::Step,
            id: format!("{}.{}", job.display_id(), step.step_id),
            raw_id: format!("{}.{}", job.job_id, step.step_id),
        }
    }

    /// The job a job or batch line shows, as the listing holds it (a
    /// step's line shows a view of its own).
    pub fn source(&self) -> Option<&'a JobInfo> {
        match self.job {
            Cow::Borrowed(job) => Some(job),
            Cow::Owned(_) => None,
        }
    }

    /// JobID as printed.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A row's ExitCode: the script's on the `.batch` line; on the job line
/// too, except that a job the scheduler ended (cancelled, timed out)
/// shows `0:0` there, as 22.05's accounting records it (the signal stays
/// on the `.batch` line).
fn exit_code(row: &Row<'_>) -> ExitCode {
    let scheduler_ended = matches!(row.job.state, JobState::Cancelled | JobState::Timeout);
    match row.kind {
        RowKind::Job if scheduler_ended => ExitCode::default(),
        _ => row.job.exit_code.unwrap_or_default(),
    }
}

/// The allocation rows of `jobs`, in order. Unless `expand_arrays`, the
/// tasks of an array that have not started yet share one row, as sacct
/// prints them: `12_[4-9%2]` (in the place of the first such task).
pub fn allocation_rows(jobs: &[JobInfo], expand_arrays: bool) -> Vec<Row<'_>> {
    let unstarted_task = |job: &JobInfo| match (job.array_job_id, job.array_task_id) {
        (Some(array), Some(task)) if job.state == JobState::Pending && job.start_time.is_none() => {
            Some((array, task))
        }
        _ => None,
    };
    let mut rows = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    for job in jobs {
        let Some((array, _)) = unstarted_task(job).filter(|_| !expand_arrays) else {
            rows.push(Row::job(job));
            continue;
        };
        if !done.insert(array) {
            continue;
        }
        let mut tasks: Vec<u32> = jobs
            .iter()
            .filter_map(unstarted_task)
            .filter(|(other, _)| *other == array)
            .map(|(_, task)| task)
            .collect();
        tasks.sort_unstable();
        tasks.dedup();
        let throttle = job
            .array_max_running
            .map(|max| format!("%{max}"))
            .unwrap_or_default();
        rows.push(Row {
            job: Cow::Borrowed(job),
            kind: RowKind::Job,
            id: format!("{array}_[{}{throttle}]", compress(&tasks)),
            raw_id: array.to_string(),
        });
    }
    rows
}

/// How sizes (MaxRSS, ReqMem, TRES memory) are scaled (`--units`, `--noconvert`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Units {
    /// sacct's default: move up a unit while no precision is lost
    /// (`2048K` → `2M`, `1536M` → `1.50G`, `123456K` stays).
    #[default]
    Exact,
    /// `--noconvert`: the unit the value is kept in (KiB for MaxRSS, MiB for ReqMem).
    Unconverted,
    /// `--units=X`: this power of 1024 (1 = K, 2 = M, ... 5 = P).
    Fixed(u32),
}

impl Units {
    /// Parses `--units`: one of `K M G T P`, any case.
    pub fn parse(text: &str) -> Result<Units> {
        let power = match text.trim().to_ascii_uppercase().as_str() {
            "K" => 1,
            "M" => 2,
            "G" => 3,
            "T" => 4,
            "P" => 5,
            _ => {
                return Err(Error::Invalid(format!(
                    "Invalid unit type: {text} (use K, M, G, T or P)"
                )));
            }
        };
        Ok(Units::Fixed(power))
    }
}

/// What every value needs besides the job: the clock and the size units.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Running jobs' Elapsed counts up to this.
    pub now: DateTime<Utc>,
    pub units: Units,
}

/// Slurm's `convert_num_unit`: `value` in the unit `power` (1 = K, 2 = M)
/// as text with its unit letter; `0` stays `0`.
pub fn format_size(value: u64, power: u32, units: Units) -> String {
    const LETTERS: [&str; 6] = ["", "K", "M", "G", "T", "P"];
    if value == 0 {
        return "0".into();
    }
    let mut number = value as f64;
    let mut power = power;
    match units {
        Units::Unconverted => {}
        Units::Fixed(target) => {
            while power < target {
                number /= 1024.0;
                power += 1;
            }
            while power > target {
                number *= 1024.0;
                power -= 1;
            }
        }
        Units::Exact => {
            // Half units (2.5G) still count as exact, as in Slurm.
            while number >= 1024.0 && (number as u64).is_multiple_of(512) && power < 5 {
                number /= 1024.0;
                power += 1;
            }
        }
    }
    let letter = LETTERS.get(power as usize).copied().unwrap_or("?");
    if number.fract() == 0.0 {
        format!("{}{letter}", number as u64)
    } else {
        format!("{number:.2}{letter}")
    }
}

/// A field of the table: its canonical name, default width and value.
pub struct Field {
    pub name: &'static str,
    /// Negative widths left-justify.
    pub width: i32,
    value: fn(&Row, &Context) -> String,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Field({}%{})", self.name, self.width)
    }
}

impl Field {
    /// This field's value for a row.
    pub fn value(&self, row: &Row, context: &Context) -> String {
        (self.value)(row, context)
    }
}

/// Every field, sorted case-insensitively (prefix matching depends on it).
pub static FIELDS: &[Field] = &[
    field("Account", 10, |r, _| {
        r.job.account.clone().unwrap_or_default()
    }),
    field("AllocCPUS", 10, |r, _| alloc_cpus(&r.job).to_string()),
    field("AllocNodes", 10, |r, _| {
        u32::from(r.job.start_time.is_some()).to_string()
    }),
    field("AllocTRES", 10, |r, c| {
        if r.job.start_time.is_none() {
            return String::new();
        }
        tres(&r.job, r.job.cpus, r.kind == RowKind::Job, c.units)
    }),
    field("Comment", 14, |r, _| job_only(r, r.job.comment.clone())),
    field("CPUTime", 10, |r, c| format_hms(cpu_seconds(&r.job, c.now))),
    field("CPUTimeRAW", 10, |r, c| {
        cpu_seconds(&r.job, c.now).to_string()
    }),
    field("DerivedExitCode", 15, |r, _| {
        job_only(r, Some("0:0".into()))
    }),
    field("Elapsed", 10, |r, c| format_hms(elapsed(&r.job, c.now))),
    field("ElapsedRaw", 10, |r, c| elapsed(&r.job, c.now).to_string()),
    field("Eligible", 19, |r, _| eligible(&r.job)),
    field("End", 19, |r, _| timestamp_or_unknown(r.job.end_time)),
    field("ExitCode", 8, |r, _| exit_code(r).to_string()),
    field("GID", 6, |r, _| job_only(r, Some(r.job.gid.to_string()))),
    field("Group", 9, |r, _| job_only(r, Some(group_name(r.job.gid)))),
    field("JobID", -12, |r, _| r.id.clone()),
    field("JobIDRaw", -12, |r, _| r.raw_id.clone()),
    field("JobName", 10, |r, _| match r.kind {
        RowKind::Job | RowKind::Step => r.job.name.clone(),
        RowKind::Batch => "batch".into(),
    }),
    field("MaxRSS", 10, |r, c| {
        r.job
            .max_rss_kb
            .map(|kb| format_size(kb, 1, c.units))
            .unwrap_or_default()
    }),
    field("MaxVMSize", 10, |_, _| String::new()),
    field("NCPUS", 10, |r, _| alloc_cpus(&r.job).to_string()),
    field("NNodes", 8, |_, _| "1".into()),
    field("NodeList", 15, |r, _| {
        r.job.node.clone().unwrap_or_else(|| "None assigned".into())
    }),
    field("NTasks", 8, |r, _| match r.kind {
        RowKind::Job => String::new(),
        RowKind::Batch => "1".into(),
        RowKind::Step => r.job.ntasks.to_string(),
    }),
    field("Partition", 10, |r, _| {
        job_only(r, Some(r.job.partition.clone()))
    }),
    field("Priority", 10, |r, _| {
        job_only(r, Some(r.job.priority.to_string()))
    }),
    field("QOS", 10, |r, _| {
        job_only(
            r,
            Some(r.job.qos.clone().unwrap_or_else(|| "normal".into())),
        )
    }),
    field("Reason", 22, |r, _| r.job.reason.to_string()),
    field("ReqCPUS", 8, |r, _| r.job.cpus.to_string()),
    field("ReqMem", 10, |r, c| {
        format_size(requested_mb(&r.job), 2, c.units)
    }),
    field("ReqNodes", 8, |_, _| "1".into()),
    field("ReqTRES", 10, |r, c| {
        job_only(r, Some(tres(&r.job, r.job.cpus, true, c.units)))
    }),
    field("Restarts", 8, |r, _| {
        job_only(r, Some(r.job.restarts.to_string()))
    }),
    field("Start", 19, |r, _| timestamp_or_unknown(r.job.start_time)),
    field("State", 10, |r, _| state(r)),
    field("StdErr", 20, |r, _| {
        job_only(r, Some(r.job.stderr.display().to_string()))
    }),
    field("StdIn", 20, |r, _| {
        job_only(r, Some(r.job.stdin.display().to_string()))
    }),
    field("StdOut", 20, |r, _| {
        job_only(r, Some(r.job.stdout.display().to_string()))
    }),
    field("Submit", 19, |r, _| timestamp(Some(r.job.submit_time))),
    // The daemon does not keep the submitting command line.
    field("SubmitLine", 20, |_, _| String::new()),
    field("SystemCPU", 10, |r, _| {
        cpu_time(&r.job, r.job.system_cpu_usec)
    }),
    field("Timelimit", 10, |r, _| {
        job_only(
            r,
            Some(r.job.time_limit.map_or("UNLIMITED".into(), format_hms)),
        )
    }),
    field("TimelimitRaw", 12, |r, _| {
        job_only(
            r,
            Some(
                r.job
                    .time_limit
                    .map_or("UNLIMITED".into(), |secs| secs.div_ceil(60).to_string()),
            ),
        )
    }),
    field("TotalCPU", 10, |r, _| {
        cpu_time(&r.job, r.job.total_cpu_usec)
    }),
    field("UID", 6, |r, _| job_only(r, Some(r.job.uid.to_string()))),
    field("User", 9, |r, _| job_only(r, Some(r.job.user.clone()))),
    field("UserCPU", 10, |r, _| cpu_time(&r.job, r.job.user_cpu_usec)),
    field("WCKey", 10, |r, _| job_only(r, r.job.wckey.clone())),
    field("WorkDir", 20, |r, _| {
        job_only(r, Some(r.job.work_dir.display().to_string()))
    }),
];

const fn field(name: &'static str, width: i32, value: fn(&Row, &Context) -> String) -> Field {
    Field { name, width, value }
}

/// The first field whose name starts with `name`, ignoring case.
pub fn find_field(name: &str) -> Option<&'static Field> {
    if name.is_empty() {
        return None;
    }
    FIELDS.iter().find(|field| {
        field
            .name
            .get(..name.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(name))
    })
}

/// The field names, four to a line, as `sacct --helpformat` prints them.
pub fn field_list() -> String {
    let mut out = String::new();
    for chunk in FIELDS.chunks(4) {
        let line: String = chunk
            .iter()
            .map(|field| format!("{:<20}", field.name))
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A field chosen with `-o`, with its width.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub field: &'static Field,
    pub width: i32,
}

/// Parses `-o` lists: comma-separated `name[%width]` items; `ALL` is every field.
pub fn parse_columns<'s>(lists: impl IntoIterator<Item = &'s str>) -> Result<Vec<Column>> {
    let mut columns = Vec::new();
    for item in lists
        .into_iter()
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        if item.eq_ignore_ascii_case("ALL") {
            let every = FIELDS.iter().map(|field| Column {
                field,
                width: field.width,
            });
            columns.extend(every);
            continue;
        }
        let (name, width) = match item.split_once('%') {
            Some((name, width)) => (name, Some(width)),
            None => (item, None),
        };
        let invalid = || Error::Invalid(format!("Invalid field requested: \"{name}\""));
        let field = find_field(name).ok_or_else(invalid)?;
        let width = match width {
            Some(width) => width.parse::<i32>().map_err(|_| invalid())?,
            None => field.width,
        };
        columns.push(Column { field, width });
    }
    Ok(columns)
}

/// How the rows are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Padded columns and a dash line under the header.
    Fixed,
    /// Values joined by `delimiter`; `trailing` ends each line with one
    /// too (`-p`), `-P` does not.
    Parsable { delimiter: String, trailing: bool },
}

/// The columns and layout of one cacct run.
#[derive(Debug, Clone)]
pub struct Table {
    pub columns: Vec<Column>,
    pub layout: Layout,
    pub header: bool,
}

impl Table {
    /// The whole output: the header (unless `-n`) and one line per row.
    pub fn render(&self, rows: &[Row], context: &Context) -> String {
        let mut out = String::new();
        if self.header {
            self.line(&mut out, |column| column.field.name.to_string(), false);
            if self.layout == Layout::Fixed {
                for column in &self.columns {
                    let width = column.width.unsigned_abs() as usize;
                    out.extend(std::iter::repeat_n('-', width));
                    out.push(' ');
                }
                out.push('\n');
            }
        }
        for row in rows {
            self.line(&mut out, |column| column.field.value(row, context), true);
        }
        out
    }

    fn line(&self, out: &mut String, mut text: impl FnMut(&Column) -> String, mark_cut: bool) {
        let last = self.columns.len().saturating_sub(1);
        for (index, column) in self.columns.iter().enumerate() {
            let text = text(column);
            match &self.layout {
                Layout::Fixed => fixed_cell(out, &text, column.width, mark_cut),
                Layout::Parsable {
                    delimiter,
                    trailing,
                } => {
                    out.push_str(&text);
                    if index != last || *trailing {
                        out.push_str(delimiter);
                    }
                }
            }
        }
        out.push('\n');
    }
}

/// One fixed-width cell and its trailing space: cut to the width (values
/// end in `+` when cut, headers do not), padded on the left for a positive
/// width and on the right for a negative one.
fn fixed_cell(out: &mut String, text: &str, width: i32, mark_cut: bool) {
    let width_abs = width.unsigned_abs() as usize;
    let length = text.chars().count();
    let cell: String = if length > width_abs && mark_cut && width_abs > 0 {
        text.chars()
            .take(width_abs - 1)
            .chain(std::iter::once('+'))
            .collect()
    } else {
        text.chars().take(width_abs).collect()
    };
    let fill = width_abs - cell.chars().count();
    if width >= 0 {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(&cell);
    } else {
        out.push_str(&cell);
        out.extend(std::iter::repeat_n(' ', fill));
    }
    out.push(' ');
}

/// The value on the job line, empty on step lines (as sacct leaves them).
fn job_only(row: &Row, value: Option<String>) -> String {
    match row.kind {
        RowKind::Job => value.unwrap_or_default(),
        RowKind::Batch | RowKind::Step => String::new(),
    }
}

/// State: `CANCELLED by <uid>` on the job line of a cancelled job whose
/// canceller is known; the long state name otherwise (steps never say by whom).
fn state(row: &Row) -> String {
    let killed = row.job.exit_code.is_some_and(|e| e.signal == 9);
    match (row.kind, row.job.state, row.job.cancelled_by) {
        (RowKind::Job, JobState::Cancelled, Some(uid)) => format!("CANCELLED by {uid}"),
        // A batch step dead of SIGKILL is CANCELLED in Slurm's accounting,
        // whoever sent it; the job line keeps FAILED.
        (RowKind::Batch, JobState::Failed, _) if killed => "CANCELLED".into(),
        (_, state, _) => state.long().to_string(),
    }
}

/// CPU time used (TotalCPU, UserCPU, SystemCPU), the same on the job line
/// and the batch line: the batch step is all a Conductor job runs. A job
/// that never started used none (`00:00:00`, as sacct shows it); one that
/// ran where nothing measured it shows nothing rather than a guess.
fn cpu_time(job: &JobInfo, usec: Option<u64>) -> String {
    match usec {
        Some(usec) => format_cpu_time(usec),
        None if job.start_time.is_none() => format_cpu_time(0),
        None => String::new(),
    }
}

/// CPUs allocated. slurmdbd records a job's CPUs when it is submitted, so
/// a job that is pending, or was cancelled before it ran, shows the CPUs it
/// asked for (live 22.05: `-c 2`, cancelled pending, AllocCPUS 2).
fn alloc_cpus(job: &JobInfo) -> u32 {
    job.cpus
}

/// Seconds the job has run: none while pending, up to now while running.
fn elapsed(job: &JobInfo, now: DateTime<Utc>) -> u64 {
    run_seconds(job.start_time, job.end_time, now)
}

fn cpu_seconds(job: &JobInfo, now: DateTime<Utc>) -> u64 {
    elapsed(job, now) * u64::from(alloc_cpus(job))
}

/// Memory requested in MiB: per node, or per CPU times the CPUs.
fn requested_mb(job: &JobInfo) -> u64 {
    match job.memory_per_cpu_mb {
        Some(per_cpu) if job.memory_mb == 0 => per_cpu * u64::from(job.cpus),
        _ => job.memory_mb,
    }
}

/// A TRES string, names in order: `billing=2,cpu=2,mem=4G,node=1`; steps
/// have no billing.
fn tres(job: &JobInfo, cpus: u32, billing: bool, units: Units) -> String {
    let mb = requested_mb(job);
    Tres {
        cpus,
        memory: (mb > 0).then(|| format_size(mb, 2, units)),
        gpus: job.gpus,
        billing,
    }
    .accounting_text()
}

/// When the job could start: `Unknown` while held or waiting for a
/// dependency, else the later of its submission and its `--begin` time.
fn eligible(job: &JobInfo) -> String {
    let waiting = matches!(
        job.reason,
        Reason::Dependency | Reason::DependencyNeverSatisfied
    ) || job.reason.is_hold();
    if job.state == JobState::Pending && waiting {
        return "Unknown".into();
    }
    let time = job
        .begin_time
        .map_or(job.submit_time, |begin| begin.max(job.submit_time));
    timestamp(Some(time))
}

fn group_name(gid: u32) -> String {
    uzers::get_group_by_gid(gid)
        .map(|group| group.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| gid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::JobId;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("valid time")
    }

    fn context() -> Context {
        Context {
            now: at(100),
            units: Units::Exact,
        }
    }

    fn job(id: u64, state: JobState) -> JobInfo {
        let started = state != JobState::Pending;
        let ended = state.is_terminal();
        JobInfo {
            job_id: JobId(id),
            name: "train".into(),
            user: "alice".into(),
            uid: 1000,
            partition: "normal".into(),
            state,
            reason: Reason::None,
            cpus: 2,
            ntasks: 1,
            cpus_per_task: 2,
            memory_mb: 4096,
            gpus: 0,
            cpu_ids: if started { vec![0, 1] } else { vec![] },
            gpu_ids: vec![],
            node: started.then(|| "box".into()),
            submit_time: at(0),
            start_time: started.then(|| at(10)),
            end_time: ended.then(|| at(75)),
            time_limit: Some(3600),
            exit_code: ended.then_some(ExitCode::default()),
            work_dir: "/home/alice".into(),
            stdout: "/home/alice/slurm.out".into(),
            stderr: "/home/alice/slurm.out".into(),
            stdin: "/dev/null".into(),
            gid: 1000,
            submit_dir: "/home/alice".into(),
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

    fn table(fields: &str, layout: Layout) -> Table {
        Table {
            columns: parse_columns([fields]).expect("valid fields"),
            layout,
            header: true,
        }
    }

    fn parsable2() -> Layout {
        Layout::Parsable {
            delimiter: "|".into(),
            trailing: false,
        }
    }

    fn values(fields: &str, row: &Row) -> String {
        let table = Table {
            header: false,
            ..table(fields, parsable2())
        };
        table.render(std::slice::from_ref(row), &context())
    }

    #[test]
    fn the_table_is_sorted_so_prefixes_find_the_shortest_name_first() {
        for pair in FIELDS.windows(2) {
            assert!(
                pair[0].name.to_ascii_lowercase() < pair[1].name.to_ascii_lowercase(),
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn field_names_match_by_case_insensitive_prefix() {
        let name = |text: &str| find_field(text).map(|field| field.name);
        assert_eq!(name("jobid"), Some("JobID"));
        assert_eq!(name("JobIdRaw"), Some("JobIDRaw"));
        assert_eq!(name("state"), Some("State"));
        assert_eq!(name("nodelist"), Some("NodeList"));
        assert_eq!(name("NODEL"), Some("NodeList"));
        assert_eq!(name("elapsedraw"), Some("ElapsedRaw"));
        assert_eq!(name("user"), Some("User"));
        assert_eq!(name("acc"), Some("Account"));
        assert_eq!(name("x"), None);
        assert_eq!(name(""), None);
        assert_eq!(name("JobIDRawX"), None);
    }

    #[test]
    fn unknown_fields_and_bad_widths_are_refused_by_name() {
        let error = |text: &str| {
            parse_columns([text])
                .map(|_| ())
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(error("JobID,x"), "Invalid field requested: \"x\"");
        assert_eq!(error("nosuch%20"), "Invalid field requested: \"nosuch\"");
        assert_eq!(error("State%wide"), "Invalid field requested: \"State\"");
    }

    #[test]
    fn widths_come_from_the_table_or_the_percent_suffix() {
        let columns = parse_columns(["jobid,Account%256", "nodelist%-256,,state"]).expect("ok");
        let widths: Vec<(&str, i32)> = columns
            .iter()
            .map(|column| (column.field.name, column.width))
            .collect();
        assert_eq!(
            widths,
            [
                ("JobID", -12),
                ("Account", 256),
                ("NodeList", -256),
                ("State", 10)
            ]
        );
    }

    #[test]
    fn all_means_every_field_not_a_prefix() {
        let columns = parse_columns(["all"]).expect("ok");
        assert_eq!(columns.len(), FIELDS.len());
        assert_eq!(
            parse_columns(["al"]).expect("ok")[0].field.name,
            "AllocCPUS"
        );
    }

    #[test]
    fn the_default_fixed_width_layout_matches_sacct() {
        let done = job(42, JobState::Completed);
        let rows = [Row::job(&done), Row::batch(&done).expect("started")];
        let out = table(DEFAULT_FIELDS, Layout::Fixed).render(&rows, &context());
        assert_eq!(
            out,
            "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode \n\
             ------------ ---------- ---------- ---------- ---------- ---------- -------- \n\
             42                train     normal                     2  COMPLETED      0:0 \n\
             42.batch          batch                                2  COMPLETED      0:0 \n"
        );
    }

    #[test]
    fn long_values_are_cut_with_a_plus_and_headers_are_cut_bare() {
        let mut cancelled = job(7, JobState::Cancelled);
        cancelled.cancelled_by = Some(0);
        cancelled.name = "averyverylongname".into();
        let rows = [Row::job(&cancelled)];
        let out = table("JobName,State,JobID%4,DerivedExitCode%-5", Layout::Fixed)
            .render(&rows, &context());
        assert_eq!(
            out,
            "   JobName      State JobI Deriv \n\
             ---------- ---------- ---- ----- \n\
             averyvery+ CANCELLED+    7 0:0   \n"
        );
    }

    #[test]
    fn parsable_layouts_join_with_the_delimiter() {
        let done = job(42, JobState::Completed);
        let rows = [Row::job(&done)];
        let p2 = table("JobID,State,NodeList", parsable2()).render(&rows, &context());
        assert_eq!(p2, "JobID|State|NodeList\n42|COMPLETED|box\n");
        let p = table(
            "JobID,State",
            Layout::Parsable {
                delimiter: "|".into(),
                trailing: true,
            },
        )
        .render(&rows, &context());
        assert_eq!(p, "JobID|State|\n42|COMPLETED|\n");
        let custom = table(
            "JobID,State",
            Layout::Parsable {
                delimiter: "::".into(),
                trailing: false,
            },
        )
        .render(&rows, &context());
        assert_eq!(custom, "JobID::State\n42::COMPLETED\n");
    }

    #[test]
    fn cancelled_jobs_say_by_whom_on_the_job_line_only() {
        let mut cancelled = job(5, JobState::Cancelled);
        cancelled.cancelled_by = Some(1000);
        cancelled.exit_code = Some(ExitCode {
            code: 0,
            signal: 15,
        });
        assert_eq!(
            values("State,ExitCode", &Row::job(&cancelled)),
            "CANCELLED by 1000|0:0\n",
            "the signal is on the .batch line only"
        );
        let batch = Row::batch(&cancelled).expect("it ran");
        assert_eq!(values("State,ExitCode", &batch), "CANCELLED|0:15\n");
        cancelled.cancelled_by = None;
        assert_eq!(values("State", &Row::job(&cancelled)), "CANCELLED\n");
    }

    #[test]
    fn out_of_memory_and_node_fail_are_states_of_both_lines() {
        let mut oom = job(11, JobState::OutOfMemory);
        oom.reason = Reason::OutOfMemory;
        oom.exit_code = Some(ExitCode {
            code: 0,
            signal: 125,
        });
        let mut lost = job(12, JobState::NodeFail);
        lost.reason = Reason::NodeFail;
        let rows = [
            Row::job(&oom),
            Row::batch(&oom).expect("ran"),
            Row::job(&lost),
            Row::batch(&lost).expect("ran"),
        ];
        let p2 =
            table("JobID,State,ExitCode,Reason,NodeList", parsable2()).render(&rows, &context());
        assert_eq!(
            p2,
            "JobID|State|ExitCode|Reason|NodeList\n\
             11|OUT_OF_MEMORY|0:125|OutOfMemory|box\n\
             11.batch|OUT_OF_MEMORY|0:125|OutOfMemory|box\n\
             12|NODE_FAIL|0:0|NodeFail|box\n\
             12.batch|NODE_FAIL|0:0|NodeFail|box\n"
        );
        // Thirteen letters do not fit State's ten: cut with a plus, as sacct does.
        let fixed = table("JobID,State,ExitCode", Layout::Fixed).render(&rows[..1], &context());
        assert_eq!(
            fixed,
            "JobID             State ExitCode \n\
             ------------ ---------- -------- \n\
             11           OUT_OF_ME+    0:125 \n"
        );
    }

    #[test]
    fn pending_jobs_have_their_cpus_but_no_node_and_unknown_times() {
        let pending = job(9, JobState::Pending);
        assert!(Row::batch(&pending).is_none(), "no step before the start");
        assert_eq!(
            values(
                "AllocCPUS,NCPUS,ReqCPUS,NodeList,Start,End,Elapsed,ElapsedRaw,ExitCode,AllocTRES",
                &Row::job(&pending)
            ),
            "2|2|2|None assigned|Unknown|Unknown|00:00:00|0|0:0|\n"
        );
    }

    #[test]
    fn times_and_durations_render_like_sacct() {
        let mut done = job(3, JobState::Completed);
        done.time_limit = None;
        let row = Row::job(&done);
        assert_eq!(
            values("Submit,Start,End", &row),
            format!(
                "{}|{}|{}\n",
                timestamp(Some(at(0))),
                timestamp(Some(at(10))),
                timestamp(Some(at(75)))
            )
        );
        assert_eq!(
            values(
                "Elapsed,ElapsedRaw,CPUTime,CPUTimeRAW,Timelimit,TimelimitRaw",
                &row
            ),
            "00:01:05|65|00:02:10|130|UNLIMITED|UNLIMITED\n"
        );
        done.time_limit = Some(90_000);
        assert_eq!(
            values("Timelimit,TimelimitRaw", &Row::job(&done)),
            "1-01:00:00|1500\n"
        );
        let running = job(4, JobState::Running);
        assert_eq!(
            values("Elapsed,End", &Row::job(&running)),
            "00:01:30|Unknown\n"
        );
    }

    #[test]
    fn eligible_is_unknown_while_held_and_the_begin_time_otherwise() {
        let mut held = job(3, JobState::Pending);
        held.reason = Reason::JobHeldUser;
        assert_eq!(values("Eligible", &Row::job(&held)), "Unknown\n");
        held.reason = Reason::BeginTime;
        held.begin_time = Some(at(500));
        assert_eq!(
            values("Eligible", &Row::job(&held)),
            format!("{}\n", timestamp(Some(at(500))))
        );
        let done = job(4, JobState::Completed);
        assert_eq!(
            values("Eligible", &Row::job(&done)),
            format!("{}\n", timestamp(Some(at(0))))
        );
    }

    #[test]
    fn the_batch_step_repeats_the_outcome_and_leaves_job_fields_empty() {
        let mut failed = job(8, JobState::Failed);
        failed.exit_code = Some(ExitCode { code: 3, signal: 0 });
        failed.reason = Reason::NonZeroExitCode;
        failed.max_rss_kb = Some(123_456);
        failed.comment = Some("rule_a".into());
        let fields = "JobID,JobIDRaw,JobName,Partition,User,State,ExitCode,Elapsed,MaxRSS,\
                      Comment,DerivedExitCode,NTasks,Timelimit";
        assert_eq!(
            values(fields, &Row::job(&failed)),
            "8|8|train|normal|alice|FAILED|3:0|00:01:05|123456K|rule_a|0:0||01:00:00\n"
        );
        assert_eq!(
            values(fields, &Row::batch(&failed).expect("ran")),
            "8.batch|8.batch|batch|||FAILED|3:0|00:01:05|123456K|||1|\n"
        );
    }

    #[test]
    fn cpu_times_show_on_the_job_and_batch_lines_as_sacct_writes_them() {
        let mut done = job(8, JobState::Completed);
        done.total_cpu_usec = Some(3_723_456_789);
        done.user_cpu_usec = Some(3_599_999_999);
        done.system_cpu_usec = Some(123_456_789);
        let fields = "TotalCPU,UserCPU,SystemCPU";
        assert_eq!(
            values(fields, &Row::job(&done)),
            "01:02:03|59:59.999|02:03.456\n"
        );
        assert_eq!(
            values(fields, &Row::batch(&done).expect("ran")),
            "01:02:03|59:59.999|02:03.456\n"
        );
        let fixed = table(fields, Layout::Fixed).render(&[Row::job(&done)], &context());
        assert_eq!(
            fixed,
            concat!(
                "  TotalCPU    UserCPU  SystemCPU \n",
                "---------- ---------- ---------- \n",
                "  01:02:03  59:59.999  02:03.456 \n",
            )
        );
        // Nothing measured it: nothing shown, not a guess.
        let unmeasured = job(9, JobState::Completed);
        assert_eq!(values(fields, &Row::job(&unmeasured)), "||\n");
        assert_eq!(
            values(fields, &Row::job(&job(10, JobState::Running))),
            "||\n"
        );
        // A job that never started used none.
        let pending = job(11, JobState::Pending);
        assert_eq!(
            values(fields, &Row::job(&pending)),
            "00:00:00|00:00:00|00:00:00\n"
        );
        // Prefixes find them, as in sacct.
        let name = |text: &str| find_field(text).map(|field| field.name);
        assert_eq!(name("totalcpu"), Some("TotalCPU"));
        assert_eq!(name("usercpu"), Some("UserCPU"));
        assert_eq!(name("user"), Some("User"));
        assert_eq!(name("sys"), Some("SystemCPU"));
    }

    #[test]
    fn sizes_convert_while_exact_or_to_the_asked_unit() {
        assert_eq!(format_size(123_456, 1, Units::Exact), "123456K");
        assert_eq!(format_size(2048, 1, Units::Exact), "2M");
        assert_eq!(format_size(4096, 2, Units::Exact), "4G");
        assert_eq!(format_size(500, 2, Units::Exact), "500M");
        assert_eq!(format_size(1536, 2, Units::Exact), "1.50G");
        assert_eq!(format_size(0, 1, Units::Exact), "0");
        assert_eq!(format_size(4096, 2, Units::Unconverted), "4096M");
        assert_eq!(format_size(123_456, 1, Units::Fixed(2)), "120.56M");
        assert_eq!(format_size(3, 2, Units::Fixed(1)), "3072K");
        assert_eq!(Units::parse("g").ok(), Some(Units::Fixed(3)));
        assert!(Units::parse("X").is_err());
    }

    #[test]
    fn requested_memory_and_tres() {
        let mut done = job(2, JobState::Completed);
        done.gpus = 1;
        assert_eq!(
            values("ReqMem,ReqTRES,AllocTRES", &Row::job(&done)),
            "4G|billing=2,cpu=2,gres/gpu=1,mem=4G,node=1|billing=2,cpu=2,gres/gpu=1,mem=4G,node=1\n"
        );
        assert_eq!(
            values("AllocTRES", &Row::batch(&done).expect("ran")),
            "cpu=2,gres/gpu=1,mem=4G,node=1\n"
        );
        done.memory_mb = 0;
        done.memory_per_cpu_mb = Some(250);
        assert_eq!(values("ReqMem", &Row::job(&done)), "500M\n");
    }

    #[test]
    fn array_tasks_show_their_index_and_unstarted_ones_share_a_row() {
        let task = |id: u64, index: u32, state: JobState| {
            let mut job = job(id, state);
            job.array_job_id = Some(JobId(20));
            job.array_task_id = Some(index);
            job.array_max_running = Some(2);
            job
        };
        let jobs = vec![
            task(20, 0, JobState::Completed),
            task(21, 1, JobState::Running),
            task(22, 2, JobState::Pending),
            job(23, JobState::Pending),
            task(24, 3, JobState::Pending),
            task(25, 5, JobState::Pending),
        ];
        let ids = |rows: Vec<Row>| -> Vec<String> {
            rows.iter()
                .map(|row| values("JobID,JobIDRaw", row).trim_end().to_string())
                .collect()
        };
        assert_eq!(
            ids(allocation_rows(&jobs, false)),
            ["20_0|20", "20_1|21", "20_[2-3,5%2]|20", "23|23"]
        );
        assert_eq!(
            ids(allocation_rows(&jobs, true)),
            [
                "20_0|20", "20_1|21", "20_2|22", "23|23", "20_3|24", "20_5|25"
            ]
        );
        let started = Row::batch(&jobs[1]).expect("running");
        assert_eq!(values("JobID,JobIDRaw", &started), "20_1.batch|21.batch\n");
    }

    #[test]
    fn the_field_list_has_every_name() {
        let list = field_list();
        for field in FIELDS {
            assert!(list.contains(field.name), "{}", field.name);
        }
        assert!(list.starts_with("Account             AllocCPUS"));
    }
}
