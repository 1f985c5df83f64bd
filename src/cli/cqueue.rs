//! `cqueue` (squeue): which jobs are queued and running, as squeue prints them.
//!
//! The command line becomes a [`Plan`] (filters, format, sort, iteration),
//! with squeue's `SQUEUE_*` environment variables filling in what the
//! command line leaves out. Each pass fetches the jobs from the daemon,
//! filters them here (the daemon filters only what `ListQuery` can say),
//! combines pending array tasks, sorts and renders them.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use clap::{ArgAction, Parser};

use crate::cli::filter::{JobFilter, States};
use crate::cli::{Connection, Outcome, print_stderr};
use crate::client::Client;
use crate::error::Error;
use crate::format::job_id::{JobSelector, Tasks, split_ids};
use crate::format::pretty::{CLEAR_SCREEN, ColorChoice, Column, View, human_mb, table};
use crate::format::slurm_json::job_info::{JobContext, JobInfoResponse};
use crate::format::slurm_json::{self, JsonFormat, Version, parse_json_option};
use crate::format::squeue::{
    self, DEFAULT, DEFAULT_SORT, Format, LONG, ONLY_STATE, START, SortKey,
};
use crate::format::state::{VALID_STATES, parse_slurm_state};
use crate::protocol::{FieldSet, JobInfo, ListFormat};
use crate::users;

/// Show the jobs in Conductor's queue (like squeue).
///
/// By default: pending and running jobs, in squeue's layout, pending array
/// tasks combined. Finished jobs show with -t all or by naming their
/// states.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "cqueue",
    version,
    disable_help_flag = true,
    args_override_self = true,
    max_term_width = 100,
    after_help = "FORMAT (-o): text with %[.][width]<letter> fields; a width pads (and cuts), a '.'\n\
                  right-justifies; %all shows every letter. Letters: %i job id (12_3, 12_[1-3%2]),\n\
                  %A unique id, %F array id, %K array index, %j name, %u user, %U uid, %a account,\n\
                  %t state (PD), %T state (PENDING), %M time used, %l time limit, %L time left,\n\
                  %D nodes, %C CPUs, %c CPUs per task, %m memory, %b GPUs, %R nodes or (reason),\n\
                  %r reason, %N nodes, %P partition, %V submit, %S start, %e end, %E dependency,\n\
                  %Z work dir, %o command, %k comment, %q QOS, %Q priority, %p normalized priority,\n\
                  %y nice, %w wckey, %g/%G group, %h oversubscribe, %B exec host.\n\
                  Default: \"%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R\"\n\n\
                  FORMAT (-O): name[:[.][width][suffix]],... (any case, width 20 by default, no\n\
                  separator), e.g. JobID,Name:30,State,TimeUsed,ReasonList, plus STDOUT, STDERR,\n\
                  STDIN, NumTasks, cpus-per-task, tres-alloc, exit_code, Cluster, PriorityLong.\n\n\
                  ENVIRONMENT: SQUEUE_FORMAT, SQUEUE_FORMAT2, SQUEUE_SORT, SQUEUE_STATES,\n\
                  SQUEUE_USERS, SQUEUE_NAMES, SQUEUE_PARTITION, SQUEUE_ACCOUNT, SQUEUE_QOS and\n\
                  SQUEUE_ARRAY stand in for options not given."
)]
pub struct CqueueArgs {
    /// Only these jobs: ids or array tasks (12, 12_3), comma-separated
    #[arg(
        short = 'j',
        long = "jobs",
        value_name = "IDS",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub jobs: Vec<String>,

    /// Only jobs of these users (comma-separated names or uids)
    #[arg(
        short = 'u',
        long = "user",
        visible_alias = "users",
        value_name = "USERS"
    )]
    pub users: Vec<String>,

    /// Only my jobs
    #[arg(long)]
    pub me: bool,

    /// Only jobs with these names (comma-separated)
    #[arg(short = 'n', long = "name", value_name = "NAMES")]
    pub names: Vec<String>,

    /// Only jobs in these partitions (comma-separated)
    #[arg(
        short = 'p',
        long = "partition",
        visible_alias = "partitions",
        value_name = "PARTITIONS"
    )]
    pub partitions: Vec<String>,

    /// Only jobs charged to these accounts (comma-separated)
    #[arg(
        short = 'A',
        long = "account",
        visible_alias = "accounts",
        value_name = "ACCOUNTS"
    )]
    pub accounts: Vec<String>,

    /// Only jobs with these QOS (comma-separated)
    #[arg(short = 'q', long = "qos", value_name = "QOS")]
    pub qos: Vec<String>,

    /// Only jobs running on these nodes (comma-separated)
    #[arg(
        short = 'w',
        long = "nodelist",
        visible_aliases = ["nodes", "node"],
        value_name = "NODES"
    )]
    pub nodes: Vec<String>,

    /// Only jobs in these states (PD,R,CD,F,CA,TO,OOM,NF or long names), or `all`
    #[arg(
        short = 't',
        long = "states",
        visible_alias = "state",
        value_name = "STATES"
    )]
    pub states: Option<String>,

    /// One line per array task, instead of one line for an array's pending tasks
    #[arg(short = 'r', long = "array")]
    pub array: bool,

    /// Sort by these fields: letters of -o, `-` for descending (default P,t,-p)
    #[arg(
        short = 'S',
        long = "sort",
        value_name = "FIELDS",
        allow_hyphen_values = true
    )]
    pub sort: Option<String>,

    /// Print again every SECONDS, with the date before each header, until interrupted
    #[arg(
        short = 'i',
        long = "iterate",
        value_name = "SECONDS",
        allow_hyphen_values = true
    )]
    pub iterate: Option<String>,

    /// Do not print the header line (nor the date line)
    #[arg(short = 'h', long = "noheader")]
    pub noheader: bool,

    /// squeue's long layout (long state names, time limits), after a date line
    #[arg(short = 'l', long = "long")]
    pub long: bool,

    /// Output format (see FORMAT (-o) below)
    #[arg(
        short = 'o',
        long = "format",
        value_name = "FORMAT",
        allow_hyphen_values = true
    )]
    pub format: Option<String>,

    /// Output format by field names (see FORMAT (-O) below)
    #[arg(short = 'O', long = "Format", value_name = "FIELDS")]
    pub format_long: Option<String>,

    /// Pending jobs and when they start (squeue --start)
    #[arg(long)]
    pub start: bool,

    /// Print Slurm's JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor Conductor's own job array
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
        conflicts_with_all = ["format", "format_long", "json", "long", "start", "only_job_state"]
    )]
    pub pretty: bool,

    /// With --pretty: colour the states when (auto: on a terminal without NO_COLOR)
    #[arg(long, value_name = "WHEN", requires = "pretty")]
    pub color: Option<ColorChoice>,

    /// Also jobs of hidden partitions (there are none; accepted)
    #[arg(short = 'a', long = "all")]
    pub all: bool,

    /// Clusters to ask (accepted; there is one)
    #[arg(
        short = 'M',
        long = "clusters",
        visible_alias = "cluster",
        value_name = "CLUSTERS"
    )]
    pub clusters: Option<String>,

    /// Only job ids and states, for a quick status query (Nextflow); default format "%.18i %.2t"
    #[arg(long = "only-job-state")]
    pub only_job_state: bool,

    #[command(flatten)]
    pub connection: Connection,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,

    /// Job ids may also be given as plain arguments
    #[arg(value_name = "IDS", hide = true)]
    pub positional_jobs: Vec<String>,
}

/// How the jobs are printed.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// `--json`: Slurm's document, or a JSON array of `JobInfo`
    /// (`--json=conductor`). Sort and format options do not apply.
    Json(JsonFormat),
    /// squeue's table.
    Table {
        format: Format,
        header: bool,
        /// A date line before the header (`-l`, `-i`).
        date: bool,
    },
    /// `--pretty`: a table for people (JOBID, PARTITION, NAME, USER,
    /// STATE, TIME, TIME_LIMIT, CPUS, MEM, GPUS, NODELIST(REASON)).
    Pretty {
        header: bool,
        /// A date line before the table (`-i`).
        date: bool,
        view: View,
    },
}

/// `--pretty`'s columns, each with the `-o` letter that gives its text
/// (memory and GPUs are the job's totals, not squeue's `%m` and `%b`).
const PRETTY_COLUMNS: [(Column, PrettyValue); 11] = [
    (Column::left("JOBID"), PrettyValue::Letter("%i")),
    (
        Column::left("PARTITION").shrinks().hides(4),
        PrettyValue::Letter("%P"),
    ),
    (Column::left("NAME").shrinks(), PrettyValue::Letter("%j")),
    (
        Column::left("USER").shrinks().hides(6),
        PrettyValue::Letter("%u"),
    ),
    (Column::state("STATE"), PrettyValue::Letter("%T")),
    (Column::right("TIME").hides(7), PrettyValue::Letter("%M")),
    (
        Column::right("TIME_LIMIT").hides(2),
        PrettyValue::Letter("%l"),
    ),
    (Column::right("CPUS").hides(5), PrettyValue::Letter("%C")),
    (Column::right("MEM").hides(3), PrettyValue::Memory),
    (Column::right("GPUS").hides(1), PrettyValue::Gpus),
    (
        Column::left("NODELIST(REASON)").shrinks(),
        PrettyValue::Letter("%R"),
    ),
];

/// Where a `--pretty` column's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrettyValue {
    /// squeue's field of this `-o` letter, unpadded.
    Letter(&'static str),
    /// The job's memory in total, for a person (`4G`, `1.5G`).
    Memory,
    /// The job's GPUs in total.
    Gpus,
}

/// Every field `--pretty` reads, as one `-o` format: what it asks the
/// daemon for.
const PRETTY_NEEDS: &str = "%i %P %j %u %T %M %l %C %m %b %R";

/// Everything one cqueue run does, from the command line and environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub filter: JobFilter,
    pub output: Output,
    pub sort: Vec<SortKey>,
    /// One line per array task (`-r`).
    pub one_per_task: bool,
    /// Seconds between passes (`-i`).
    pub iterate: Option<u64>,
    /// Lines for stderr that do not stop cqueue (bad format letters, users).
    pub warnings: Vec<String>,
}

/// A comma-separated option, repeatable, or else its environment variable.
fn list(given: &[String], env_value: Option<String>) -> Option<Vec<String>> {
    let items: Vec<String> = if given.is_empty() {
        env_value.into_iter().collect()
    } else {
        given.to_vec()
    };
    let items: Vec<String> = items
        .iter()
        .flat_map(|item| item.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(String::from)
        .collect();
    (!items.is_empty()).then_some(items)
}

impl CqueueArgs {
    /// The plan for these options; `env` reads the `SQUEUE_*` variables.
    /// An error is the lines to print before exiting with status 1.
    ///
    /// An unknown user is reported but is no error: live Slurm (22.05)
    /// prints `Invalid user: x` and exits 0, showing the jobs of the other
    /// users named (none if there are none).
    pub fn plan(
        &self,
        prog: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Plan, Vec<String>> {
        let error = |message: String| vec![format!("{prog}: error: {message}")];
        let mut warnings = Vec::new();

        let words: Vec<&String> = self.jobs.iter().chain(&self.positional_jobs).collect();
        let ids = split_ids(&words);
        let selectors = if ids.is_empty() {
            None
        } else {
            Some(
                ids.iter()
                    .map(|id| JobSelector::parse(id).ok_or_else(|| format!("Invalid job id: {id}")))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(error)?,
            )
        };

        let states_text = self
            .states
            .clone()
            .or_else(|| env("SQUEUE_STATES"))
            .or_else(|| self.start.then(|| "PD".to_string()));
        let states = match states_text {
            None => States::Active,
            Some(text) if text.trim().eq_ignore_ascii_case("all") => States::All,
            Some(text) => {
                let mut states = BTreeSet::new();
                for name in text.split(',').filter(|s| !s.trim().is_empty()) {
                    match parse_slurm_state(name) {
                        Some(Some(state)) => {
                            states.insert(state);
                        }
                        Some(None) => {}
                        None => {
                            return Err(vec![
                                format!("{prog}: error: Invalid job state specified: {name}"),
                                // squeue ends this error with an empty line.
                                format!(
                                    "{prog}: error: Valid job states include: {VALID_STATES}\n"
                                ),
                            ]);
                        }
                    }
                }
                States::Only(states)
            }
        };

        let mut user_names = list(&self.users, None).unwrap_or_default();
        if self.me {
            user_names.push(users::current_uid().to_string());
        }
        if user_names.is_empty() {
            user_names = list(&[], env("SQUEUE_USERS")).unwrap_or_default();
        }
        let uids = (!user_names.is_empty()).then(|| {
            user_names
                .iter()
                .filter_map(|user| {
                    let uid = users::uid_of(user);
                    if uid.is_none() {
                        // squeue ends this warning with an empty line.
                        warnings.push(format!("{prog}: error: Invalid user: {user}\n"));
                    }
                    uid
                })
                .collect()
        });

        let filter = JobFilter {
            selectors,
            uids,
            names: list(&self.names, env("SQUEUE_NAMES")),
            partitions: list(&self.partitions, env("SQUEUE_PARTITION")),
            accounts: list(&self.accounts, env("SQUEUE_ACCOUNT")),
            qos: list(&self.qos, env("SQUEUE_QOS")),
            nodes: list(&self.nodes, None),
            states,
        };

        if self.format.is_some() && self.format_long.is_some() {
            return Err(error(
                "-O (--Format) is incompatible with -o (--format)".into(),
            ));
        }
        let chosen = self.format.is_some()
            || self.format_long.is_some()
            || self.long
            || self.start
            || self.pretty;
        let env_format = || {
            (!chosen)
                .then(|| {
                    env("SQUEUE_FORMAT")
                        .map(|f| (f, false))
                        .or_else(|| env("SQUEUE_FORMAT2").map(|f| (f, true)))
                })
                .flatten()
        };
        let (text, by_name) = match (&self.format, &self.format_long) {
            (Some(format), _) => (format.clone(), false),
            (None, Some(format)) => (format.clone(), true),
            (None, None) => env_format().unwrap_or_else(|| {
                let text = if self.long {
                    LONG
                } else if self.start {
                    START
                } else if self.only_job_state {
                    ONLY_STATE
                } else {
                    DEFAULT
                };
                (text.to_string(), false)
            }),
        };
        let (format, invalid) = if by_name {
            Format::parse_long(&text)
        } else {
            Format::parse(&text)
        };
        warnings.extend(
            invalid
                .iter()
                .map(|spec| format!("{prog}: error: Invalid job format specification: {spec}")),
        );

        let sort_text = self
            .sort
            .clone()
            .or_else(|| env("SQUEUE_SORT"))
            .unwrap_or_else(|| if self.start { "S" } else { DEFAULT_SORT }.to_string());
        let sort = squeue::parse_sort(&sort_text)
            .map_err(|letter| error(format!("Invalid sort specification: {letter}")))?;

        let iterate = match &self.iterate {
            None => None,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(seconds) if seconds > 0 => Some(seconds),
                _ => return Err(error(format!("--iterate={text}"))),
            },
        };

        let json = parse_json_option(self.json.as_deref()).map_err(|e| e.lines(prog))?;
        let output = if let Some(json) = json {
            Output::Json(json)
        } else if self.pretty {
            Output::Pretty {
                header: !self.noheader,
                date: iterate.is_some() && !self.noheader,
                view: View::detect(self.color.unwrap_or_default()),
            }
        } else {
            Output::Table {
                format,
                header: !self.noheader,
                date: self.long || iterate.is_some(),
            }
        };
        Ok(Plan {
            filter,
            output,
            sort,
            one_per_task: self.array || env("SQUEUE_ARRAY").is_some(),
            iterate,
            warnings,
        })
    }
}

impl Plan {
    /// The `JobInfo` fields this plan reads (filter, columns, sort, lines),
    /// for a listing limited to them; `None` (every field) for `--json`.
    pub fn fields(&self) -> Option<FieldSet> {
        let pretty;
        let format = match &self.output {
            Output::Table { format, .. } => format,
            Output::Pretty { .. } => {
                pretty = Format::parse(PRETTY_NEEDS).0;
                &pretty
            }
            Output::Json(_) => return None,
        };
        let mut fields = self.filter.needs();
        fields.extend(squeue::ROW_NEEDS.iter().copied());
        fields.extend(format.needs());
        fields.extend(
            self.sort
                .iter()
                .flat_map(|key| squeue::sort_needs(key.letter))
                .copied(),
        );
        Some(fields)
    }
}

/// Why a pass found no jobs to print.
#[derive(Debug)]
pub enum FetchError {
    /// The one job named with `-j` is unknown to the daemon.
    NoSuchJob,
    Client(Error),
}

impl From<Error> for FetchError {
    fn from(error: Error) -> Self {
        FetchError::Client(error)
    }
}

impl FetchError {
    /// The line to print: squeue's `slurm_load_jobs error: ...` (which
    /// Cromwell-style checks rely on) or `prog: error: ...`.
    pub fn line(&self, prog: &str) -> String {
        match self {
            FetchError::NoSuchJob => "slurm_load_jobs error: Invalid job id specified".into(),
            FetchError::Client(error) => format!("{prog}: error: {error}"),
        }
    }
}

/// The jobs that pass the filter, in job id order, each with at least
/// `fields` (all when `None`).
///
/// With exactly one id named, the daemon is asked for that job first: an
/// unknown one is an error, as with squeue. Named ids go to the daemon as
/// an id filter, unless an array task is named or an array shows up; then
/// all jobs (of the other filters) are fetched and picked here, since the
/// daemon filters by unique job id only.
pub fn fetch(
    client: &Client,
    filter: &JobFilter,
    fields: Option<FieldSet>,
) -> Result<Vec<JobInfo>, FetchError> {
    // In place: a job the daemon sent is seldom dropped here, and then
    // none is moved.
    let keep = |mut jobs: Vec<JobInfo>| -> Vec<JobInfo> {
        jobs.retain(|job| filter.matches(job));
        jobs
    };
    if let Some([one]) = filter.selectors.as_deref() {
        match client.job(one.job) {
            Err(error) if error.is_not_found() => return Err(FetchError::NoSuchJob),
            Err(error) => return Err(error.into()),
            Ok(job) if one.tasks == Tasks::Job && job.array_job_id.is_none() => {
                return Ok(keep(vec![job]));
            }
            Ok(_) => {}
        }
    }
    let Some(mut query) = filter.list_query() else {
        return Ok(Vec::new());
    };
    if let Some(fields) = fields {
        query.fields = Some(fields.names());
        query.format = Some(ListFormat::Rows);
    }
    if let Some(selectors) = &filter.selectors
        && selectors.iter().all(JobSelector::is_whole_job)
    {
        let ids: Vec<String> = selectors.iter().map(|s| s.job.to_string()).collect();
        query.ids = Some(ids.join(","));
        let jobs = client.list(&query)?;
        let all_found = selectors
            .iter()
            .all(|s| jobs.iter().any(|job| s.matches(job)));
        if all_found && jobs.iter().all(|job| job.array_job_id.is_none()) {
            return Ok(keep(jobs));
        }
        query.ids = None;
    }
    Ok(keep(client.list(&query)?))
}

/// `--json` for a filter the daemon applies whole: the daemon's own
/// jobs, re-indented as `render` prints them, none decoded into a
/// `JobInfo` and encoded again.
pub fn json_listing(client: &Client, filter: &JobFilter) -> Result<String, FetchError> {
    let Some(query) = filter.list_query() else {
        return Ok("[]\n".into());
    };
    let bytes = client.list_bytes(&query)?;
    let mut text = Vec::with_capacity(bytes.len() * 2);
    pretty_jobs(&bytes, &mut text).map_err(|e| Error::Protocol(e.to_string()))?;
    text.push(b'\n');
    String::from_utf8(text).map_err(|e| Error::Protocol(e.to_string()).into())
}

/// Writes the `jobs` array of a listing reply as `serde_json::to_writer_pretty`
/// writes the `JobInfo`s it holds (the daemon writes them with the same
/// `Serialize`, so the values come out as they went in).
fn pretty_jobs(reply: &[u8], out: &mut Vec<u8>) -> serde_json::Result<()> {
    use serde::de::{
        DeserializeSeed, Deserializer as _, Error as _, IgnoredAny, MapAccess, Visitor,
    };

    struct Reply<'o>(&'o mut Vec<u8>);
    struct Jobs<'o>(&'o mut Vec<u8>);

    impl<'de> Visitor<'de> for Reply<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object with jobs")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = false;
            while let Some(key) = map.next_key::<&str>()? {
                if key == "jobs" && !seen {
                    map.next_value_seed(Jobs(&mut *self.0))?;
                    seen = true;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            seen.then_some(())
                .ok_or_else(|| A::Error::missing_field("jobs"))
        }
    }

    impl<'de> DeserializeSeed<'de> for Jobs<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, jobs: D) -> Result<(), D::Error> {
            let mut pretty = serde_json::Serializer::pretty(self.0);
            serde_transcode::transcode(jobs, &mut pretty).map_err(D::Error::custom)
        }
    }

    let mut deserializer = serde_json::Deserializer::from_slice(reply);
    (&mut deserializer).deserialize_map(Reply(out))?;
    deserializer.end()
}

/// squeue's `--json`: Slurm's `openapi_job_info_resp`, one record per
/// line squeue would print (pending array tasks combined unless `-r`).
fn slurm_json(
    plan: &Plan,
    jobs: &[JobInfo],
    version: Version,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let rows = squeue::rows(jobs, plan.one_per_task);
    let caller = crate::cli::json_caller();
    let context = JobContext {
        version,
        caller: &caller,
        now,
        group_name: &users::group_name,
    };
    slurm_json::to_text(&JobInfoResponse::new(&rows, &context))
        .map_err(|e| Error::Other(format!("cannot encode JSON: {e}")))
}

/// squeue's date line: `Mon Jan 05 12:00:00 2026`, local time.
pub fn date_line(now: DateTime<Utc>) -> String {
    now.with_timezone(&Local)
        .format("%a %b %d %H:%M:%S %Y")
        .to_string()
}

/// What one pass prints for these jobs.
pub fn render(plan: &Plan, jobs: &[JobInfo], now: DateTime<Utc>) -> Result<String, Error> {
    let (format, header, date) = match &plan.output {
        Output::Json(JsonFormat::Conductor) => {
            let mut text = serde_json::to_string_pretty(jobs)
                .map_err(|e| Error::Other(format!("cannot encode JSON: {e}")))?;
            text.push('\n');
            return Ok(text);
        }
        Output::Json(JsonFormat::Slurm(version)) => {
            return slurm_json(plan, jobs, *version, now);
        }
        Output::Table {
            format,
            header,
            date,
        } => (format, *header, *date),
        Output::Pretty { header, date, view } => {
            return Ok(pretty(plan, jobs, now, *header, *date, *view));
        }
    };
    let mut out = String::new();
    if header {
        if date {
            out.push_str(&date_line(now));
            out.push('\n');
        }
        out.push_str(&format.header());
        out.push('\n');
    }
    let mut rows = squeue::rows(jobs, plan.one_per_task);
    squeue::sort_rows(&mut rows, &plan.sort, now);
    out.reserve(rows.len() * 96);
    let mut scratch = String::new();
    for row in &rows {
        format.write_row(&mut out, &mut scratch, row, now);
        out.push('\n');
    }
    Ok(out)
}

/// `--pretty`'s table (after the date line with `-i`), the rows filtered,
/// combined and sorted as squeue's are.
fn pretty(
    plan: &Plan,
    jobs: &[JobInfo],
    now: DateTime<Utc>,
    header: bool,
    date: bool,
    view: View,
) -> String {
    let mut rows = squeue::rows(jobs, plan.one_per_task);
    squeue::sort_rows(&mut rows, &plan.sort, now);
    let letters: Vec<Option<Format>> = PRETTY_COLUMNS
        .iter()
        .map(|(_, value)| match value {
            PrettyValue::Letter(letter) => Some(Format::parse(letter).0),
            PrettyValue::Memory | PrettyValue::Gpus => None,
        })
        .collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            PRETTY_COLUMNS
                .iter()
                .zip(&letters)
                .map(|((_, value), format)| match (value, format) {
                    (_, Some(format)) => format.row(row, now),
                    (PrettyValue::Memory, None) => human_mb(row.job.memory_mb),
                    (_, None) => row.job.gpus.to_string(),
                })
                .collect()
        })
        .collect();
    let columns: Vec<Column> = PRETTY_COLUMNS.iter().map(|(column, _)| *column).collect();
    let mut out = String::new();
    if date {
        out.push_str(&date_line(now));
        out.push('\n');
    }
    out.push_str(&table(&columns, &cells, header, view));
    out
}

/// Runs cqueue: the plan for the options (its warnings said at once,
/// before the daemon is asked, as squeue says them), then the listing.
pub fn run(prog: &str, args: CqueueArgs) -> Outcome {
    let plan = match args.plan(prog, &|name| std::env::var(name).ok()) {
        Ok(plan) => plan,
        Err(lines) => return Outcome::failed(lines),
    };
    print_stderr(&plan.warnings);
    match args.connection.client() {
        Ok(client) => show(&client, &plan, prog),
        Err(error) => Outcome::error(prog, &error),
    }
}

/// Lists the jobs: one pass, or one every `-i` seconds until interrupted
/// (a blank line after each pass, as squeue prints), each pass written as
/// it is made. A closed stdout (`cqueue | head`) ends it quietly.
pub fn show(client: &Client, plan: &Plan, prog: &str) -> Outcome {
    let mut plan = plan.clone();
    loop {
        // A terminal resized between passes gets tables of its new width.
        if let Output::Pretty { view, .. } = &mut plan.output
            && plan.iterate.is_some()
        {
            *view = view.resized();
        }
        let plan = &plan;
        let fetched = match plan.output {
            Output::Json(JsonFormat::Conductor) if plan.filter.daemon_side() => {
                json_listing(client, &plan.filter).map(Listing::Text)
            }
            _ => fetch(client, &plan.filter, plan.fields()).map(Listing::Jobs),
        };
        let (text, failure) = match fetched {
            Ok(Listing::Text(text)) => (text, Vec::new()),
            Ok(Listing::Jobs(jobs)) => {
                let rendered = render(plan, &jobs, Utc::now());
                if plan.iterate.is_none() {
                    // The process ends after this one pass: freeing the
                    // jobs one string at a time would cost about a tenth
                    // of the run, for memory the exit returns anyway.
                    std::mem::forget(jobs);
                }
                match rendered {
                    Ok(text) => (text, Vec::new()),
                    Err(error) => return Outcome::failed(vec![format!("{prog}: error: {error}")]),
                }
            }
            Err(error) => (String::new(), vec![error.line(prog)]),
        };
        let Some(seconds) = plan.iterate else {
            return Outcome {
                stdout: text,
                code: u8::from(!failure.is_empty()),
                stderr: failure,
            };
        };
        print_stderr(&failure);
        // On a terminal `--pretty` redraws in place; elsewhere each pass
        // follows the last, a blank line between, as squeue prints them.
        let pass = match plan.output {
            Output::Pretty { view, .. } if view.terminal => format!("{CLEAR_SCREEN}{text}"),
            _ => format!("{text}\n"),
        };
        match write_stdout(&pass) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Outcome::exit(0),
            Err(_) => return Outcome::exit(1),
        }
        std::thread::sleep(Duration::from_secs(seconds));
    }
}

/// What one pass fetched.
enum Listing {
    Jobs(Vec<JobInfo>),
    /// Already the text to print.
    Text(String),
}

fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{JobId, JobState};

    fn args(argv: &[&str]) -> CqueueArgs {
        let mut full = vec!["cqueue"];
        full.extend_from_slice(argv);
        CqueueArgs::try_parse_from(full).expect("valid command line")
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn plan(argv: &[&str]) -> Result<Plan, Vec<String>> {
        args(argv).plan("cqueue", &no_env)
    }

    fn table(plan: &Plan) -> (String, bool, bool) {
        match &plan.output {
            Output::Table {
                format,
                header,
                date,
            } => (format.header(), *header, *date),
            Output::Json(_) | Output::Pretty { .. } => panic!("not a table"),
        }
    }

    #[test]
    fn job_ids_and_array_tasks_parse() {
        let p = plan(&["-j", "12,13_4", "15"]).expect("valid");
        assert_eq!(
            p.filter.selectors,
            Some(vec![
                JobSelector {
                    job: JobId(12),
                    tasks: Tasks::Job,
                },
                JobSelector {
                    job: JobId(13),
                    tasks: Tasks::Some(vec![4]),
                },
                JobSelector {
                    job: JobId(15),
                    tasks: Tasks::Job,
                },
            ])
        );
        // Task lists keep their commas; every tool reads the same ids.
        let p = plan(&["-j", "12_[1,3],14_*"]).expect("valid");
        assert_eq!(
            p.filter
                .selectors
                .map(|s| s.into_iter().map(|s| s.tasks).collect()),
            Some(vec![Tasks::Some(vec![1, 3]), Tasks::All])
        );
        assert_eq!(
            plan(&["-j", "1,x"]),
            Err(vec!["cqueue: error: Invalid job id: x".to_string()])
        );
        for bad in ["0", "-1", "12_", "12_x", "+3"] {
            assert!(JobSelector::parse(bad).is_none(), "{bad}");
        }
        // `-j` without a value takes the ids that follow as plain arguments.
        let p = plan(&["-j", "-h", "7"]).expect("valid");
        assert_eq!(p.filter.selectors.map(|s| s.len()), Some(1));
    }

    #[test]
    fn states_accept_every_slurm_name_and_all() {
        let p = plan(&["-t", "pd,RUNNING,suspended"]).expect("valid");
        assert_eq!(
            p.filter.states,
            States::Only([JobState::Pending, JobState::Running].into())
        );
        assert_eq!(
            plan(&["-t", "ALL"]).expect("valid").filter.states,
            States::All
        );
        // OUT_OF_MEMORY and NODE_FAIL are states Conductor's jobs end in,
        // under any of their names; the daemon is asked for them.
        let ended = plan(&["-t", "OOM,node_fail,out_of_memory"]).expect("valid");
        assert_eq!(
            ended.filter.states,
            States::Only([JobState::OutOfMemory, JobState::NodeFail].into())
        );
        assert_eq!(
            ended.filter.list_query().and_then(|query| query.states),
            Some("OUT_OF_MEMORY,NODE_FAIL".to_string())
        );
        // A state Slurm has and Conductor never does matches nothing, so
        // the daemon is not asked at all.
        assert_eq!(
            plan(&["-t", "CG,PR"]).expect("valid").filter.list_query(),
            None
        );
        assert_eq!(
            plan(&["-t", "R,bogus"]),
            Err(vec![
                "cqueue: error: Invalid job state specified: bogus".to_string(),
                format!("cqueue: error: Valid job states include: {VALID_STATES}\n"),
            ])
        );
    }

    #[test]
    fn unknown_users_are_reported_but_not_fatal() {
        let p = plan(&["-u", "no-such-user-xyz,0"]).expect("valid");
        assert_eq!(p.filter.uids, Some(vec![0]));
        assert_eq!(
            p.warnings,
            vec!["cqueue: error: Invalid user: no-such-user-xyz\n".to_string()]
        );
        let p = plan(&["-u", "no-such-user-xyz"]).expect("valid");
        assert_eq!(p.filter.uids, Some(vec![]));
        assert_eq!(p.filter.list_query(), None, "nobody's jobs: no query");
        let me = plan(&["--me"]).expect("valid");
        assert_eq!(me.filter.uids, Some(vec![users::current_uid()]));
    }

    #[test]
    fn formats_come_from_options_then_environment_then_defaults() {
        let env = |name: &str| match name {
            "SQUEUE_FORMAT" => Some("%i|%t".to_string()),
            "SQUEUE_FORMAT2" => Some("jobid:5".to_string()),
            "SQUEUE_SORT" => Some("-i".to_string()),
            "SQUEUE_STATES" => Some("all".to_string()),
            "SQUEUE_USERS" => Some("0".to_string()),
            "SQUEUE_NAMES" => Some("a,b".to_string()),
            "SQUEUE_PARTITION" => Some("normal".to_string()),
            _ => None,
        };
        let from_env = args(&[]).plan("cqueue", &env).expect("valid");
        assert_eq!(table(&from_env).0, "JOBID|ST");
        assert_eq!(
            from_env.sort,
            vec![SortKey {
                letter: 'i',
                descending: true
            }]
        );
        assert_eq!(from_env.filter.states, States::All);
        assert_eq!(from_env.filter.uids, Some(vec![0]));
        assert_eq!(
            from_env.filter.names,
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(from_env.filter.partitions, Some(vec!["normal".to_string()]));

        let given = args(&["-o", "%j", "-t", "R", "-n", "c", "-u", "root"])
            .plan("cqueue", &env)
            .expect("valid");
        assert_eq!(table(&given).0, "NAME");
        assert_eq!(given.filter.names, Some(vec!["c".to_string()]));
        assert_eq!(given.filter.uids, Some(vec![0]));
        // -l overrides the environment's format.
        let long = args(&["-l"]).plan("cqueue", &env).expect("valid");
        assert!(table(&long).0.contains("TIME_LIMI "));
        assert!(table(&long).2, "a date line with -l");
        let only_format2 = |name: &str| (name == "SQUEUE_FORMAT2").then(|| "jobid:5,name:3".into());
        let by_name = args(&[]).plan("cqueue", &only_format2).expect("valid");
        assert_eq!(table(&by_name).0, "JOBIDNAM");
    }

    #[test]
    fn default_formats_for_start_and_only_job_state() {
        assert_eq!(
            table(&plan(&[]).expect("valid")).0,
            Format::parse(DEFAULT).0.header()
        );
        let start = plan(&["--start"]).expect("valid");
        assert_eq!(table(&start).0, Format::parse(START).0.header());
        assert_eq!(
            start.filter.states,
            States::Only([JobState::Pending].into())
        );
        let only = plan(&["--only-job-state", "-h"]).expect("valid");
        assert_eq!(
            table(&only),
            (Format::parse(ONLY_STATE).0.header(), false, false)
        );
    }

    #[test]
    fn bad_formats_sorts_and_iterations_are_reported() {
        assert_eq!(
            plan(&["-o", "%i", "-O", "jobid"]),
            Err(vec![
                "cqueue: error: -O (--Format) is incompatible with -o (--format)".to_string()
            ])
        );
        assert_eq!(
            plan(&["-S", "i,%"]),
            Err(vec![
                "cqueue: error: Invalid sort specification: %".to_string()
            ])
        );
        for bad in ["0", "x", "-2"] {
            assert_eq!(
                plan(&["-i", bad]),
                Err(vec![format!("cqueue: error: --iterate={bad}")])
            );
        }
        let p = plan(&["-o", "%i %! %-5j", "-O", ""]);
        assert!(p.is_err());
        let p = plan(&["-o", "%i %! %-5j"]).expect("valid");
        assert_eq!(
            p.warnings,
            vec![
                "cqueue: error: Invalid job format specification: !".to_string(),
                "cqueue: error: Invalid job format specification: -".to_string(),
            ]
        );
        let p = plan(&["-O", "jobid,nosuchfield"]).expect("valid");
        assert_eq!(
            p.warnings,
            vec!["cqueue: error: Invalid job format specification: nosuchfield".to_string()]
        );
    }

    #[test]
    fn pretty_is_a_table_for_people_and_refuses_slurm_s_layouts() {
        let env = |name: &str| (name == "SQUEUE_FORMAT").then(|| "%i".to_string());
        let mut p = args(&["--pretty", "--color=never"])
            .plan("cqueue", &env)
            .expect("valid");
        assert!(p.warnings.is_empty());
        let Output::Pretty { header, date, view } = p.output else {
            panic!("--pretty is the pretty table, SQUEUE_FORMAT or not");
        };
        assert!(header && !date && !view.color);
        p.output = Output::Pretty {
            header,
            date,
            view: View::default(),
        };
        let now = Utc::now();
        let mut running = crate::format::job_id::sample_job(4);
        running.state = JobState::Running;
        running.start_time = Some(now - chrono::Duration::seconds(65));
        running.node = Some("box".into());
        running.cpus = 2;
        running.memory_mb = 1536;
        running.gpus = 1;
        running.time_limit = Some(600);
        let mut pending = crate::format::job_id::sample_job(5);
        pending.name = "a-name-longer-than-squeue-s-eight".into();
        pending.reason = crate::protocol::Reason::Resources;
        assert_eq!(
            render(&p, &[running, pending], now).expect("renders"),
            "JOBID  PARTITION  NAME                               USER   STATE    TIME  TIME_LIMIT  \
             CPUS   MEM  GPUS  NODELIST(REASON)\n\
             5      normal     a-name-longer-than-squeue-s-eight  alice  PENDING  0:00   UNLIMITED  \
             \x20  1     0     0  (Resources)\n\
             4      normal     job                                alice  RUNNING  1:05       10:00  \
             \x20  2  1.5G     1  box\n"
        );
        let fields = p.fields().expect("a limited listing");
        assert!(fields.names().contains("memory_mb"), "{}", fields.names());
        for layout in [
            &["-o", "%i"][..],
            &["-O", "jobid"],
            &["--json"],
            &["-l"],
            &["--start"],
            &["--only-job-state"],
        ] {
            let mut argv = vec!["cqueue", "--pretty"];
            argv.extend_from_slice(layout);
            assert!(CqueueArgs::try_parse_from(argv).is_err(), "{layout:?}");
        }
        assert!(CqueueArgs::try_parse_from(["cqueue", "--color=always"]).is_err());
        let iterating = args(&["--pretty", "-i", "5"])
            .plan("cqueue", &no_env)
            .expect("valid");
        assert!(matches!(
            iterating.output,
            Output::Pretty { date: true, .. }
        ));
    }

    #[test]
    fn iterate_adds_a_date_line_unless_headers_are_off() {
        let p = plan(&["-i", "2"]).expect("valid");
        assert_eq!(p.iterate, Some(2));
        assert!(table(&p).2);
        let quiet = plan(&["-i", "2", "-h"]).expect("valid");
        let now = Utc::now();
        assert_eq!(render(&quiet, &[], now).expect("render"), "");
        let loud = render(&p, &[], now).expect("render");
        assert_eq!(
            loud,
            format!(
                "{}\n{}\n",
                date_line(now),
                Format::parse(DEFAULT).0.header()
            )
        );
    }

    #[test]
    fn the_date_line_looks_like_ctime_with_a_padded_day() {
        let at = DateTime::parse_from_rfc3339("2026-01-05T12:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let line = date_line(at);
        let local = at
            .with_timezone(&Local)
            .format("%a %b %d %H:%M:%S %Y")
            .to_string();
        assert_eq!(line, local);
        assert_eq!(line.len(), "Mon Jan 05 12:00:00 2026".len());
    }
}
