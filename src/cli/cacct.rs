//! `cacct` (sacct): the job history, finished jobs included, as sacct
//! prints it.
//!
//! The daemon returns every job it knows (`states=all`: the live ones and
//! the store's history); the selection by id, user, name, state, partition
//! and time window is made here, client side. A server-side history query
//! is a later optimisation, not a change of behaviour.
//!
//! Choices where Slurm versions differ or Conductor lacks the data:
//! - AllocCPUS and NCPUS are 0 until the job starts (sacct 26.x; 22.05
//!   printed 1): nothing is allocated to a pending job.
//! - TotalCPU, UserCPU and SystemCPU are the CPU time the job's
//!   containment measured, the same on the job and the batch line. Where
//!   nothing measured a job that ran (and while it runs) they are empty:
//!   elapsed × CPUs would report every job as perfectly efficient. A job
//!   that never started shows `00:00:00`, as in Slurm. CPUTime is
//!   elapsed × allocated CPUs, as in Slurm.
//! - `--json` prints Slurm's `openapi_slurmdbd_jobs_resp` (data_parser
//!   v0.0.40, or the version named), steps included, for the jobs the
//!   filters select; `--json=conductor` prints `{"jobs": [JobInfo...]}`,
//!   the API's shape.
//! - `-s` selects by the job's current state, within the usual window;
//!   Slurm's "was in that state during the window" is not modelled.
//! - Words that are not options are refused with one line (Snakemake's
//!   shell-less `sacct ... | tail -1` then fails, as with Slurm).
//! - `-M`/`-L` take any value: there is one cluster, this node.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use clap::Parser;

use crate::cli::filter::{JobFilter, States};
use crate::cli::{Connection, Outcome};
use crate::error::{Error, Result};
use crate::format::job_id::{JobSelector, split_ids};
use crate::format::pretty::{ColorChoice, Column, View, table};
use crate::format::sacct::{
    BRIEF_FIELDS, Context, DEFAULT_FIELDS, Field, LONG_FIELDS, Layout, Row, Table, Units,
    allocation_rows, field_list, find_field, parse_columns,
};
use crate::format::slurm_json::db_job::SlurmdbdJobsResponse;
use crate::format::slurm_json::{self, JsonFormat, parse_json_option};
use crate::format::state::parse_slurm_state;
use crate::format::time::{self, Toward};
use crate::protocol::{JobInfo, JobList, JobState, ListQuery};
use crate::users;

/// Show the accounting data of jobs, finished ones included (like sacct).
///
/// By default: your jobs that were pending, running or ended since
/// midnight, one line per job and one per batch step. With -j the
/// window is all time.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "cacct",
    version,
    max_term_width = 100,
    allow_negative_numbers = true,
    after_help = "FIELDS (-o): comma-separated names, any case, any unique prefix, each with an\n\
                  optional %WIDTH (negative = left-justified); `cacct -e` lists them.\n\
                  Default: JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode\n\
                  TotalCPU, UserCPU, SystemCPU: empty where nothing measured the CPU time.\n\
                  TIMES (-S/-E): YYYY-MM-DD[THH:MM[:SS]], HH:MM[:SS], MM/DD[/YY], now,\n\
                  now[+-]N[seconds|minutes|hours|days|weeks], today, midnight, noon, tomorrow;\n\
                  local time.\n\
                  --json prints Slurm's document (data_parser v0.0.40; =v0.0.39, =v0.0.41);\n\
                  --json=conductor prints {\"jobs\": [...]}, the jobs as the API shows them."
)]
pub struct CacctArgs {
    /// Only these jobs: ID, ID_INDEX (array task) or ID.STEP (comma-separated, repeatable)
    #[arg(short = 'j', long = "jobs", value_name = "JOBS")]
    pub jobs: Vec<String>,

    /// Only jobs with these names (comma-separated)
    #[arg(long = "name", value_name = "NAMES", value_delimiter = ',')]
    pub names: Vec<String>,

    /// Only jobs of these users (names or uids, comma-separated); default: you
    #[arg(
        short = 'u',
        long = "user",
        visible_alias = "uid",
        value_name = "USERS",
        value_delimiter = ','
    )]
    pub users: Vec<String>,

    /// Jobs of every user
    #[arg(short = 'a', long = "allusers")]
    pub all_users: bool,

    /// Only jobs in these states (long or compact names, comma-separated)
    #[arg(
        short = 's',
        long = "state",
        value_name = "STATES",
        value_delimiter = ','
    )]
    pub states: Vec<String>,

    /// Only jobs active at or after this time (default: midnight; all time with -j)
    #[arg(short = 'S', long = "starttime", value_name = "TIME")]
    pub start_time: Option<String>,

    /// Only jobs active at or before this time (default: now)
    #[arg(short = 'E', long = "endtime", value_name = "TIME")]
    pub end_time: Option<String>,

    /// Only the job lines, no steps
    #[arg(short = 'X', long = "allocations")]
    pub allocations: bool,

    /// Fields separated by `|`, none at the end of a line
    #[arg(short = 'P', long = "parsable2")]
    pub parsable2: bool,

    /// Fields separated by `|`, one at the end of each line too
    #[arg(short = 'p', long = "parsable")]
    pub parsable: bool,

    /// The separator of -p and -P instead of `|`
    #[arg(long = "delimiter", value_name = "TEXT")]
    pub delimiter: Option<String>,

    /// Do not print the header
    #[arg(short = 'n', long = "noheader")]
    pub noheader: bool,

    /// Fields to print (see FIELDS below; repeatable)
    #[arg(short = 'o', long = "format", value_name = "FIELDS")]
    pub format: Vec<String>,

    /// Print JobID, State and ExitCode
    #[arg(short = 'b', long = "brief")]
    pub brief: bool,

    /// Print the long list of fields
    #[arg(short = 'l', long = "long")]
    pub long: bool,

    /// List the fields -o accepts
    #[arg(short = 'e', long = "helpformat")]
    pub helpformat: bool,

    /// Print Slurm's JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor Conductor's own {"jobs": [...]}
    #[arg(
        long,
        value_name = "VERSION",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub json: Option<String>,

    /// A table for people: fitted to the terminal, states in colour (not Slurm's bytes)
    #[arg(
        long,
        conflicts_with_all = [
            "format", "json", "parsable2", "parsable", "delimiter", "brief", "long", "helpformat"
        ]
    )]
    pub pretty: bool,

    /// With --pretty: colour the states when (auto: on a terminal without NO_COLOR)
    #[arg(long, value_name = "WHEN", requires = "pretty")]
    pub color: Option<ColorChoice>,

    /// Clusters to ask (accepted; there is one, this node)
    #[arg(short = 'M', long = "clusters", value_name = "CLUSTERS")]
    pub clusters: Option<String>,

    /// Every cluster (accepted; there is one, this node)
    #[arg(short = 'L', long = "allclusters")]
    pub all_clusters: bool,

    /// Only jobs of these partitions (comma-separated)
    #[arg(
        short = 'r',
        long = "partition",
        value_name = "PARTITIONS",
        value_delimiter = ','
    )]
    pub partitions: Vec<String>,

    /// One line per array task, also for tasks not started yet
    #[arg(long = "array")]
    pub array: bool,

    /// Show sizes in this unit: K, M, G, T or P
    #[arg(long = "units", value_name = "UNIT")]
    pub units: Option<String>,

    /// Show sizes in their raw unit (KiB, MiB)
    #[arg(long = "noconvert")]
    pub noconvert: bool,

    /// Clip Start and End to the -S/-E window
    #[arg(short = 'T', long = "truncate")]
    pub truncate: bool,

    #[command(flatten)]
    pub connection: Connection,

    /// Words that are not options: refused (job ids go with -j)
    #[arg(value_name = "ARGS", hide = true)]
    pub extra: Vec<String>,
}

/// A `-j` item: a job-id selector (`12`, `12_3`, `12_[1-3]`, `12_*`),
/// optionally with `.step`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSelector {
    pub job: JobSelector,
    /// `batch`, `extern`, `0`, ...: only that step's line.
    pub step: Option<String>,
}

impl std::str::FromStr for StepSelector {
    type Err = Error;

    fn from_str(text: &str) -> Result<StepSelector> {
        let invalid = || Error::Invalid(format!("Invalid job id: {text}"));
        let (job, step) = match text.split_once('.') {
            Some((job, step)) if !step.is_empty() => (job, Some(step.to_string())),
            Some(_) => return Err(invalid()),
            None => (text, None),
        };
        let job = JobSelector::parse(job).ok_or_else(invalid)?;
        Ok(StepSelector { job, step })
    }
}

/// The jobs a cacct run selects; every given criterion must hold.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `-j`; empty: every job.
    pub steps: Vec<StepSelector>,
    /// `-u -n -s -r` (a `-s` state Slurm has and Conductor's jobs are never
    /// in, `PREEMPTED`, `COMPLETING`..., matches nothing).
    pub jobs: JobFilter,
    /// Jobs active (submitted and not ended before) in this window.
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Filter {
    /// Whether the job is selected.
    pub fn matches(&self, job: &JobInfo) -> bool {
        (self.steps.is_empty() || self.steps.iter().any(|s| s.job.matches(job)))
            && self.jobs.matches(job)
            && self.end.is_none_or(|end| job.submit_time <= end)
            && self
                .start
                .is_none_or(|start| job.end_time.is_none_or(|ended| ended >= start))
    }

    /// Which lines of a selected job to print: the job line, the batch
    /// line, and which of its steps' lines (`-j 12`, `12.batch`, `12.0`).
    fn lines(&self, job: &JobInfo) -> Lines {
        if self.steps.is_empty() {
            return Lines::all();
        }
        let mut lines = Lines::default();
        for selector in self.steps.iter().filter(|s| s.job.matches(job)) {
            match selector.step.as_deref() {
                None => lines = Lines::all(),
                Some("batch") => lines.batch = true,
                Some(step) => {
                    if let Ok(step) = step.parse() {
                        lines.steps.push(step);
                    }
                }
            }
        }
        lines
    }
}

/// The lines of one job that a run prints.
#[derive(Debug, Default)]
struct Lines {
    job: bool,
    batch: bool,
    /// Steps named one by one (`-j 12.0`).
    steps: Vec<u32>,
    all_steps: bool,
}

impl Lines {
    fn all() -> Lines {
        Lines {
            job: true,
            batch: true,
            steps: Vec::new(),
            all_steps: true,
        }
    }

    fn step(&self, id: u32) -> bool {
        self.all_steps || self.steps.contains(&id)
    }
}

/// Runs cacct: `-e` lists the fields; else the report, every option
/// checked before the daemon is asked anything.
pub fn run(prog: &str, args: CacctArgs) -> Outcome {
    if args.helpformat {
        return Outcome::printed(field_list());
    }
    match report(&args) {
        Ok(text) => Outcome::printed(text),
        Err(error) => Outcome::error(prog, &error),
    }
}

fn report(args: &CacctArgs) -> Result<String> {
    let report = args.report(Utc::now())?;
    let jobs = args.connection.client()?.list(&report.query())?;
    report.render(&jobs)
}

/// Everything one cacct run needs once its options are checked.
#[derive(Debug, Clone)]
pub struct Report {
    pub filter: Filter,
    pub table: Table,
    pub context: Context,
    /// `--json`: Slurm's document or Conductor's; the columns do not apply.
    pub json: Option<JsonFormat>,
    pub allocations_only: bool,
    pub expand_arrays: bool,
    pub truncate: bool,
    /// `--pretty`: the rows as a table for people, drawn this way.
    pub pretty: Option<View>,
}

/// `--pretty`'s columns, each with the sacct field that gives its text.
/// MaxRSS shows only when some row has one.
const PRETTY_COLUMNS: [(Column, &str); 8] = [
    (Column::left("JobID"), "JobID"),
    (Column::left("JobName").shrinks(), "JobName"),
    (Column::left("Partition").shrinks().hides(2), "Partition"),
    (Column::state("State"), "State"),
    (Column::right("ExitCode").hides(3), "ExitCode"),
    (Column::right("Elapsed"), "Elapsed"),
    (Column::right("AllocCPUS").hides(4), "AllocCPUS"),
    (Column::right("MaxRSS").hides(1), "MaxRSS"),
];

/// `--pretty`'s table of these rows.
fn pretty(rows: &[Row], context: &Context, header: bool, view: View) -> String {
    let fields: Vec<(Column, &Field)> = PRETTY_COLUMNS
        .iter()
        .filter_map(|(column, name)| Some((*column, find_field(name)?)))
        .collect();
    let mut cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            fields
                .iter()
                .map(|(_, field)| field.value(row, context))
                .collect()
        })
        .collect();
    let mut columns: Vec<Column> = fields.iter().map(|(column, _)| *column).collect();
    // A column no row has a value for says nothing (MaxRSS before any
    // job has ended with a measurement).
    if let Some(max_rss) = columns.iter().position(|c| c.header == "MaxRSS")
        && cells.iter().all(|row| row[max_rss].is_empty())
    {
        columns.remove(max_rss);
        for row in &mut cells {
            row.remove(max_rss);
        }
    }
    table(&columns, &cells, header, view)
}

impl CacctArgs {
    /// Checks every option and builds the report; `now` anchors the time
    /// window and running jobs' elapsed time.
    pub fn report(&self, now: DateTime<Utc>) -> Result<Report> {
        if !self.extra.is_empty() {
            return Err(Error::Invalid(format!(
                "Unknown arguments: {} (job ids go with -j)",
                self.extra.join(" ")
            )));
        }
        Ok(Report {
            table: self.table()?,
            filter: self.filter(now)?,
            context: Context {
                now,
                units: match &self.units {
                    Some(unit) => Units::parse(unit)?,
                    None if self.noconvert => Units::Unconverted,
                    None => Units::default(),
                },
            },
            json: parse_json_option(self.json.as_deref())?,
            allocations_only: self.allocations,
            expand_arrays: self.array,
            truncate: self.truncate,
            pretty: self
                .pretty
                .then(|| View::detect(self.color.unwrap_or_default())),
        })
    }

    /// The columns and layout: `-o` fields, then `-b`'s, then `-l`'s (as
    /// sacct appends them), or the default fields.
    pub fn table(&self) -> Result<Table> {
        let mut lists: Vec<&str> = self.format.iter().map(String::as_str).collect();
        if self.brief {
            lists.push(BRIEF_FIELDS);
        }
        if self.long {
            lists.push(LONG_FIELDS);
        }
        if lists.is_empty() {
            lists.push(DEFAULT_FIELDS);
        }
        let delimiter = || self.delimiter.clone().unwrap_or_else(|| "|".into());
        let layout = if self.parsable2 {
            Layout::Parsable {
                delimiter: delimiter(),
                trailing: false,
            }
        } else if self.parsable {
            Layout::Parsable {
                delimiter: delimiter(),
                trailing: true,
            }
        } else {
            Layout::Fixed
        };
        Ok(Table {
            columns: parse_columns(lists)?,
            layout,
            header: !self.noheader,
        })
    }

    /// The selection. Users default to the caller, except for root, with
    /// -a, or when jobs are named with -j. The window defaults to local
    /// midnight until now, or all time when -j names jobs and -s is not given.
    pub fn filter(&self, now: DateTime<Utc>) -> Result<Filter> {
        let jobs = split_ids(&self.jobs)
            .into_iter()
            .map(str::parse)
            .collect::<Result<Vec<StepSelector>>>()?;
        let uids = if !self.users.is_empty() {
            let uids = self
                .users
                .iter()
                .filter(|user| !user.is_empty())
                .map(|user| {
                    users::uid_of(user)
                        .ok_or_else(|| Error::Invalid(format!("Invalid user: {user}")))
                })
                .collect::<Result<Vec<u32>>>()?;
            Some(uids)
        } else if self.all_users || !jobs.is_empty() || users::current_uid() == 0 {
            None
        } else {
            Some(vec![users::current_uid()])
        };
        let states = if self.states.is_empty() {
            None
        } else {
            Some(parse_states(&self.states)?)
        };
        let local_now = now.with_timezone(&Local);
        let start = match &self.start_time {
            Some(text) => Some(parse_time(text, local_now)?),
            None if !jobs.is_empty() && self.states.is_empty() => None,
            None => Some(midnight(local_now.date_naive())?),
        };
        let end = self
            .end_time
            .as_deref()
            .map(|text| parse_time(text, local_now))
            .transpose()?;
        if let (Some(start), Some(end)) = (start, end)
            && start > end
        {
            return Err(Error::Invalid(format!(
                "Start time ({}) requested is after end time ({}).",
                start.format("%Y-%m-%dT%H:%M:%S"),
                end.format("%Y-%m-%dT%H:%M:%S")
            )));
        }
        // An empty list here is no filter at all.
        let listed = |list: Vec<String>| Some(list).filter(|list| !list.is_empty());
        Ok(Filter {
            steps: jobs,
            jobs: JobFilter {
                uids,
                names: listed(
                    self.names
                        .iter()
                        .filter(|n| !n.is_empty())
                        .cloned()
                        .collect(),
                ),
                partitions: listed(self.partitions.clone()),
                states: match states {
                    None => States::All,
                    Some(states) => States::Only(states.into_iter().collect()),
                },
                ..JobFilter::default()
            },
            start: start.map(|time| time.with_timezone(&Utc)),
            end: end.map(|time| time.with_timezone(&Utc)),
        })
    }
}

impl Report {
    /// What to ask the daemon: every job in every state (see the module doc).
    pub fn query(&self) -> ListQuery {
        // sacct reads the accounting store: every job, however long ago it ended.
        ListQuery {
            states: Some("all".into()),
            history: Some(true),
            ..ListQuery::default()
        }
    }

    /// The output for the jobs the daemon returned.
    pub fn render(&self, jobs: &[JobInfo]) -> Result<String> {
        let mut selected: Vec<JobInfo> = jobs
            .iter()
            .filter(|job| self.filter.matches(job))
            .cloned()
            .collect();
        if self.truncate {
            for job in &mut selected {
                self.clip(job);
            }
        }
        if let Some(JsonFormat::Slurm(version)) = self.json {
            let caller = crate::cli::json_caller();
            let document = SlurmdbdJobsResponse::new(
                &selected,
                version,
                &caller,
                self.context.now,
                &crate::users::group_name,
            );
            return slurm_json::to_text(&document)
                .map_err(|e| Error::Other(format!("cannot encode JSON: {e}")));
        }
        if self.json.is_some() {
            let list = JobList { jobs: selected };
            let mut text = serde_json::to_string_pretty(&list)
                .map_err(|e| Error::Other(format!("cannot encode JSON: {e}")))?;
            text.push('\n');
            return Ok(text);
        }
        let mut rows: Vec<Row> = Vec::new();
        for row in allocation_rows(&selected, self.expand_arrays) {
            let job = row.source();
            let lines = self.filter.lines(&row.job);
            if lines.job {
                rows.push(row);
            }
            let Some(job) = job.filter(|_| !self.allocations_only) else {
                continue;
            };
            rows.extend(Row::batch(job).filter(|_| lines.batch));
            rows.extend(
                job.steps
                    .iter()
                    .filter(|step| lines.step(step.step_id))
                    .map(|step| Row::step(job, step)),
            );
        }
        if let Some(view) = self.pretty {
            return Ok(pretty(&rows, &self.context, self.table.header, view));
        }
        Ok(self.table.render(&rows, &self.context))
    }

    /// `-T`: Start and End no wider than the window.
    fn clip(&self, job: &mut JobInfo) {
        if let (Some(start), Some(from)) = (job.start_time, self.filter.start) {
            job.start_time = Some(start.max(from));
        }
        if let (Some(end), Some(until)) = (job.end_time, self.filter.end) {
            job.end_time = Some(end.min(until));
        }
    }
}

/// Parses `-s`: Slurm's state names, long or compact, any case. A state
/// Slurm has and Conductor's jobs never are in (`PREEMPTED`, `COMPLETING`,
/// ...) selects nothing; a name that is no state is refused.
fn parse_states(texts: &[String]) -> Result<Vec<JobState>> {
    let mut states = Vec::new();
    for text in texts.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        match parse_slurm_state(text) {
            Some(Some(state)) => states.push(state),
            Some(None) => {}
            None => return Err(Error::Invalid(format!("Invalid state: {text}"))),
        }
    }
    Ok(states)
}

/// Parses a `-S`/`-E` time as sacct does: Slurm's time grammar, a time
/// that leaves its day or year open read as the past one.
pub fn parse_time(text: &str, now: DateTime<Local>) -> Result<DateTime<Local>> {
    time::parse_time(text, now, Toward::Past)
        .map_err(|_| Error::Invalid(format!("Invalid time specification: {text}")))
}

fn local(at: NaiveDateTime) -> Option<DateTime<Local>> {
    Local.from_local_datetime(&at).earliest()
}

fn midnight(date: NaiveDate) -> Result<DateTime<Local>> {
    local(date.and_time(NaiveTime::MIN))
        .ok_or_else(|| Error::Invalid(format!("{date} has no midnight here")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::job_id::{Tasks, sample_job};
    use crate::protocol::{JobId, Reason};

    fn now() -> DateTime<Local> {
        let at = NaiveDate::from_ymd_opt(2026, 11, 28)
            .and_then(|day| day.and_hms_opt(18, 30, 15))
            .expect("valid");
        local(at).expect("exists")
    }

    fn at(text: &str) -> DateTime<Local> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").expect("valid");
        local(naive).expect("exists")
    }

    fn parsed(text: &str) -> Option<DateTime<Local>> {
        parse_time(text, now()).ok()
    }

    #[test]
    fn absolute_times_parse_in_local_time() {
        assert_eq!(parsed("2026-11-26T18:00"), Some(at("2026-11-26T18:00:00")));
        assert_eq!(
            parsed("2026-11-26T18:00:07"),
            Some(at("2026-11-26T18:00:07"))
        );
        assert_eq!(parsed("2026-11-26"), Some(at("2026-11-26T00:00:00")));
        assert_eq!(parsed("11/20/25"), Some(at("2025-11-20T00:00:00")));
        assert_eq!(parsed("11/20"), Some(at("2026-11-20T00:00:00")));
        assert_eq!(parsed("12/20"), Some(at("2025-12-20T00:00:00")));
    }

    #[test]
    fn relative_and_named_times_count_from_now() {
        assert_eq!(parsed("now"), Some(now()));
        assert_eq!(parsed("NOW"), Some(now()));
        assert_eq!(parsed("now-2days"), Some(at("2026-11-26T18:30:15")));
        assert_eq!(parsed("now-3hours"), Some(at("2026-11-28T15:30:15")));
        assert_eq!(parsed("now+90"), Some(at("2026-11-28T18:31:45")));
        assert_eq!(parsed("now-1week"), Some(at("2026-11-21T18:30:15")));
        assert_eq!(parsed("now-5minutes"), Some(at("2026-11-28T18:25:15")));
        assert_eq!(parsed("midnight"), Some(at("2026-11-28T00:00:00")));
        assert_eq!(parsed("today"), Some(at("2026-11-28T00:00:00")));
        assert_eq!(parsed("tomorrow"), Some(at("2026-11-29T00:00:00")));
        assert_eq!(parsed("noon"), Some(at("2026-11-28T12:00:00")));
        assert_eq!(parsed("teatime"), Some(at("2026-11-28T16:00:00")));
    }

    #[test]
    fn a_time_of_day_still_to_come_means_yesterday() {
        assert_eq!(parsed("09:15"), Some(at("2026-11-28T09:15:00")));
        assert_eq!(parsed("20:00:30"), Some(at("2026-11-27T20:00:30")));
    }

    #[test]
    fn garbage_times_are_refused() {
        for text in [
            "",
            "soon",
            "now-",
            "now-2fortnights",
            "now*2",
            "2026-13-01",
            "25:00",
            "now-x",
        ] {
            assert_eq!(
                parse_time(text, now()).map_err(|e| e.to_string()).err(),
                Some(format!("Invalid time specification: {text}")),
                "{text}"
            );
        }
    }

    #[test]
    fn job_selectors_parse_ids_tasks_and_steps() {
        let selector = |text: &str| text.parse::<StepSelector>().ok();
        let make = |id, tasks, step: Option<&str>| {
            Some(StepSelector {
                job: JobSelector {
                    job: JobId(id),
                    tasks,
                },
                step: step.map(str::to_string),
            })
        };
        assert_eq!(selector("12"), make(12, Tasks::Job, None));
        assert_eq!(selector("12_3"), make(12, Tasks::Some(vec![3]), None));
        assert_eq!(selector("12.batch"), make(12, Tasks::Job, Some("batch")));
        assert_eq!(
            selector("12_3.0"),
            make(12, Tasks::Some(vec![3]), Some("0"))
        );
        for bad in ["", "x", "0", "12_", "12.", "12_x", "-1", "1 2"] {
            assert_eq!(selector(bad), None, "{bad}");
        }
    }

    fn job(id: u64, state: JobState) -> JobInfo {
        let mut job = sample_job(id);
        job.state = state;
        job.submit_time = utc("2026-11-28T10:00:00");
        if state != JobState::Pending {
            job.start_time = Some(job.submit_time + chrono::Duration::seconds(5));
            job.node = Some("box".into());
        }
        if state.is_terminal() {
            job.end_time = Some(job.submit_time + chrono::Duration::seconds(65));
        }
        job
    }

    fn args(argv: &[&str]) -> CacctArgs {
        CacctArgs::try_parse_from(std::iter::once("cacct").chain(argv.iter().copied()))
            .expect("valid arguments")
    }

    /// A local time, as the daemon would send it.
    fn utc(text: &str) -> DateTime<Utc> {
        at(text).with_timezone(&Utc)
    }

    #[test]
    fn selectors_match_jobs_array_tasks_and_their_arrays() {
        let mut task = job(15, JobState::Completed);
        task.array_job_id = Some(JobId(12));
        task.array_task_id = Some(3);
        let matches = |text: &str| {
            text.parse::<StepSelector>()
                .expect("valid")
                .job
                .matches(&task)
        };
        assert!(matches("15"));
        assert!(matches("12"));
        assert!(matches("12_3"));
        assert!(matches("12_3.batch"));
        assert!(!matches("12_4"));
        assert!(!matches("15_3"));
        assert!(!matches("13"));
    }

    #[test]
    fn filters_combine_names_states_partitions_users_and_the_window() {
        let now = utc("2026-11-28T12:00:00");
        let mut old = job(1, JobState::Completed);
        old.submit_time = utc("2026-11-20T10:00:00");
        old.end_time = Some(utc("2026-11-20T11:00:00"));
        let mut other = job(2, JobState::Failed);
        other.name = "other".into();
        other.uid = 1001;
        let pending = job(3, JobState::Pending);
        let mut future = job(4, JobState::Pending);
        future.submit_time = utc("2026-11-28T13:00:00");
        let oom = job(5, JobState::OutOfMemory);
        let lost = job(6, JobState::NodeFail);
        let jobs = [old, other, pending, future, oom, lost];
        let selected = |argv: &[&str]| -> Vec<u64> {
            let filter = args(argv).filter(now).expect("valid filter");
            jobs.iter()
                .filter(|job| filter.matches(job))
                .map(|job| job.job_id.0)
                .collect()
        };
        let window = ["-a", "-S", "2026-11-21", "-E", "2026-11-28T12:30"];
        assert_eq!(selected(&window), [2, 3, 5, 6]);
        assert_eq!(selected(&["-a", "-S", "2026-11-01"]), [1, 2, 3, 4, 5, 6]);
        assert_eq!(
            selected(&["-a", "-S", "2026-11-01", "--name", "job"]),
            [1, 3, 4, 5, 6]
        );
        assert_eq!(
            selected(&["-a", "-S", "2026-11-01", "-s", "PD,f"]),
            [2, 3, 4]
        );
        for states in ["OOM", "out_of_memory", "OUT_OF_MEMORY"] {
            assert_eq!(selected(&["-a", "-S", "2026-11-01", "-s", states]), [5]);
        }
        assert_eq!(
            selected(&["-a", "-S", "2026-11-01", "-s", "OUT_OF_MEMORY,NODE_FAIL"]),
            [5, 6]
        );
        assert_eq!(selected(&["-a", "-S", "2026-11-01", "-s", "nf"]), [6]);
        // States Slurm has and Conductor's jobs never are in select nothing.
        assert_eq!(
            selected(&["-a", "-S", "2026-11-01", "-s", "PR,CG,SE"]),
            [] as [u64; 0]
        );
        assert_eq!(selected(&["-a", "-S", "2026-11-01", "-u", "1001"]), [2]);
        assert_eq!(
            selected(&["-a", "-S", "2026-11-01", "-r", "gpu"]),
            [] as [u64; 0]
        );
        assert_eq!(selected(&["-j", "1", "-j", "4,2"]), [1, 2, 4], "all time");
        assert_eq!(
            selected(&["-j", "1,2", "-s", "CD,F"]),
            [2],
            "with -s, since midnight"
        );
    }

    #[test]
    fn users_default_to_the_caller_unless_jobs_are_named() {
        let now = Utc::now();
        let uids = |argv: &[&str]| args(argv).filter(now).expect("valid").jobs.uids;
        let me = users::current_uid();
        let default = if me == 0 { None } else { Some(vec![me]) };
        assert_eq!(uids(&[]), default);
        assert_eq!(uids(&["-a"]), None);
        assert_eq!(uids(&["-j", "5"]), None);
        assert_eq!(uids(&["-j", "5", "-u", "0"]), Some(vec![0]));
    }

    #[test]
    fn bad_options_give_one_clear_message() {
        let now = Utc::now();
        let error = |argv: &[&str]| {
            args(argv)
                .report(now)
                .map(|_| ())
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(error(&["-o", "JobID,x"]), "Invalid field requested: \"x\"");
        assert_eq!(error(&["-j", "abc"]), "Invalid job id: abc");
        assert_eq!(error(&["-s", "bogus"]), "Invalid state: bogus");
        assert_eq!(error(&["-S", "soon"]), "Invalid time specification: soon");
        assert!(error(&["--units", "Q"]).starts_with("Invalid unit type: Q"));
        assert!(error(&["-S", "now", "-E", "now-1day"]).starts_with("Start time ("));
        assert_eq!(
            error(&["-nu", "root", "-o", "Account%256", "|", "tail", "-1"]),
            "Unknown arguments: | tail -1 (job ids go with -j)"
        );
    }

    #[test]
    fn fields_come_from_format_brief_and_long_in_that_order() {
        let names = |argv: &[&str]| -> Vec<&str> {
            args(argv)
                .table()
                .expect("valid")
                .columns
                .iter()
                .map(|column| column.field.name)
                .collect()
        };
        assert_eq!(
            names(&[]),
            [
                "JobID",
                "JobName",
                "Partition",
                "Account",
                "AllocCPUS",
                "State",
                "ExitCode"
            ]
        );
        assert_eq!(names(&["-b"]), ["JobID", "State", "ExitCode"]);
        assert_eq!(
            names(&["-o", "user", "-b", "--format=jobidraw,st"]),
            ["User", "JobIDRaw", "Start", "JobID", "State", "ExitCode"]
        );
        assert!(names(&["-l"]).contains(&"MaxRSS"));
    }

    #[test]
    fn steps_follow_the_selectors_and_allocations_drop_them() {
        let done = job(7, JobState::Completed);
        let running = job(8, JobState::Running);
        let pending = job(9, JobState::Pending);
        let jobs = [done, running, pending];
        let out = |argv: &[&str]| {
            let mut argv = argv.to_vec();
            argv.extend(["-P", "-n", "-o", "JobID,State"]);
            args(&argv)
                .report(utc("2026-11-28T12:00:00"))
                .and_then(|report| report.render(&jobs))
                .expect("renders")
        };
        assert_eq!(
            out(&["-j", "7,8,9"]),
            "7|COMPLETED\n7.batch|COMPLETED\n8|RUNNING\n8.batch|RUNNING\n9|PENDING\n"
        );
        assert_eq!(
            out(&["-X", "-j", "7,8,9"]),
            "7|COMPLETED\n8|RUNNING\n9|PENDING\n"
        );
        assert_eq!(out(&["-j", "7.batch,9.batch"]), "7.batch|COMPLETED\n");
        assert_eq!(out(&["-j", "7.0"]), "");
        assert_eq!(
            out(&["-j", "7.batch", "-j", "7"]),
            "7|COMPLETED\n7.batch|COMPLETED\n"
        );
        assert_eq!(out(&["-j", "99"]), "");
    }

    #[test]
    fn json_is_an_object_with_the_selected_jobs() {
        let mut oom = job(8, JobState::OutOfMemory);
        oom.reason = Reason::OutOfMemory;
        oom.max_rss_kb = Some(2048);
        oom.total_cpu_usec = Some(1_500_000);
        oom.user_cpu_usec = Some(1_000_000);
        oom.system_cpu_usec = Some(500_000);
        let jobs = [job(7, JobState::Completed), oom];
        let report = args(&["--json=conductor", "-j", "8"])
            .report(Utc::now())
            .expect("valid");
        let text = report.render(&jobs).expect("renders");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["jobs"].as_array().map(Vec::len), Some(1));
        let job = &value["jobs"][0];
        assert_eq!(job["job_id"], 8);
        assert_eq!(job["state"], "OUT_OF_MEMORY");
        assert_eq!(job["reason"], "OutOfMemory");
        assert_eq!(job["max_rss_kb"], 2048);
        assert_eq!(job["total_cpu_usec"], 1_500_000);
        assert_eq!(job["user_cpu_usec"], 1_000_000);
        assert_eq!(job["system_cpu_usec"], 500_000);
    }

    #[test]
    fn pretty_is_a_table_for_people_with_max_rss_once_known() {
        let mut failed = job(8, JobState::Failed);
        failed.exit_code = Some(crate::protocol::ExitCode { code: 3, signal: 0 });
        let jobs = [job(7, JobState::Completed), failed];
        let render = |jobs: &[JobInfo], argv: &[&str]| {
            let mut report = args(argv)
                .report(utc("2026-11-28T12:00:00"))
                .expect("valid");
            assert!(report.pretty.is_some(), "--pretty gives a view");
            report.pretty = Some(View::default());
            report.render(jobs).expect("renders")
        };
        assert_eq!(
            render(&jobs, &["--pretty", "-X", "-j", "7,8"]),
            "JobID  JobName  Partition  State      ExitCode   Elapsed  AllocCPUS\n\
             7      job      normal     COMPLETED       0:0  00:01:00          1\n\
             8      job      normal     FAILED          3:0  00:01:00          1\n"
        );
        let mut measured = jobs.clone();
        measured[1].max_rss_kb = Some(2048);
        let text = render(&measured, &["--pretty", "-n", "-j", "8"]);
        assert_eq!(
            text,
            "8        job    normal  FAILED  3:0  00:01:00  1  2M\n\
             8.batch  batch          FAILED  3:0  00:01:00  1  2M\n"
        );
        for layout in ["-P", "-p", "-b", "-l", "-e", "--json", "-oJobID"] {
            assert!(
                CacctArgs::try_parse_from(["cacct", "--pretty", layout]).is_err(),
                "{layout}"
            );
        }
        assert!(CacctArgs::try_parse_from(["cacct", "--color=always"]).is_err());
    }

    #[test]
    fn truncate_clips_start_and_end_to_the_window() {
        let mut done = job(7, JobState::Completed);
        done.reason = Reason::None;
        let jobs = [done];
        let report = args(&[
            "-T",
            "-X",
            "-P",
            "-n",
            "-j",
            "7",
            "-o",
            "ElapsedRaw",
            "-S",
            "2026-11-28T10:00:30",
        ])
        .report(utc("2026-11-28T12:00:00"))
        .expect("valid");
        assert_eq!(report.render(&jobs).expect("renders"), "35\n");
    }
}
