//! `ccancel` (scancel): cancel or signal jobs by id, by filter, or both.
//!
//! Ids may name array tasks (`12_3`, `12_[1-3]`, `12_*`); a plain array id
//! is the whole array. Filters (`-u`, `-n`, `-t`, `-p`, ...) are resolved
//! here: the active jobs are listed and the matches cancelled one by one,
//! pending ones first so that none starts in the room a cancelled one
//! leaves.

use std::io::{BufRead, Write};

use clap::{ArgAction, Parser};

use crate::cli::filter::{JobFilter, States};
use crate::cli::{Connection, Outcome};
use crate::client::Client;
use crate::error::Error;
use crate::format::job_id::{JobSelector, Tasks, split_ids};
use crate::format::signal::parse_signal;
use crate::format::state::parse_slurm_state;
use crate::protocol::{
    CancelResult, JobId, JobInfo, JobState, ListQuery, SignalRequest, SignalScope,
};
use crate::users;

/// Cancel or signal Conductor jobs (like scancel).
///
/// A pending job is cancelled at once; a running job's processes get
/// SIGTERM, then SIGKILL after the daemon's grace period. With only ids
/// given, an id whose job already ended is ignored; an id the daemon never
/// knew is reported after the others are cancelled (exit 1). With filters
/// or --signal, every id named must be an active job.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "ccancel",
    version,
    args_override_self = true,
    max_term_width = 100,
    after_help = "IDS: 12 (a job, or a whole array), 12_3 (one array task), 12_[1-3] or 12_[1,3,5]\n\
                  (several tasks), 12_* (every task); separated by spaces or commas.\n\
                  Filters are AND-ed; with ids they only narrow those ids.\n\n\
                  SIGNALS: --signal goes to the job's steps (what crun started inside it), not\n\
                  the batch shell; with --batch to the batch shell alone, with --full to every\n\
                  process of the job. The job's state does not change unless the signal ends\n\
                  it. --batch or --full without --signal cancels the job."
)]
pub struct CcancelArgs {
    /// Send this signal instead of cancelling: a name (USR1, SIGUSR1) or a number
    #[arg(short = 's', long = "signal", value_name = "SIGNAL")]
    pub signal: Option<String>,

    /// Signal only the batch shell, not the other processes of the job
    #[arg(short = 'b', long = "batch")]
    pub batch: bool,

    /// Signal every process of the job: the batch shell, its children and the steps
    #[arg(short = 'f', long = "full")]
    pub full: bool,

    /// Ask before each job (`Cancel job_id=... [y/n]? ` on stderr, answer on stdin)
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,

    /// Only jobs of this user (name or uid)
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Only my jobs
    #[arg(long)]
    pub me: bool,

    /// Only jobs with this name (comma-separated names)
    #[arg(
        short = 'n',
        long = "name",
        visible_alias = "jobname",
        value_name = "NAME"
    )]
    pub name: Option<String>,

    /// Only jobs in this state (PENDING, RUNNING or SUSPENDED)
    #[arg(short = 't', long = "state", value_name = "STATE")]
    pub state: Option<String>,

    /// Only jobs in this partition (comma-separated)
    #[arg(short = 'p', long = "partition", value_name = "PARTITION")]
    pub partition: Option<String>,

    /// Only jobs charged to this account
    #[arg(short = 'A', long = "account", value_name = "ACCOUNT")]
    pub account: Option<String>,

    /// Only jobs with this QOS
    #[arg(short = 'q', long = "qos", value_name = "QOS")]
    pub qos: Option<String>,

    /// Only jobs running on these nodes (comma-separated)
    #[arg(short = 'w', long = "nodelist", value_name = "NODES")]
    pub nodelist: Option<String>,

    /// Only jobs in this reservation (there are no reservations: nothing matches)
    #[arg(short = 'R', long = "reservation", value_name = "RESERVATION")]
    pub reservation: Option<String>,

    /// Only jobs with this wckey
    #[arg(long = "wckey", value_name = "WCKEY")]
    pub wckey: Option<String>,

    /// Do not report ids that are not active jobs (the exit status still does)
    #[arg(short = 'Q', long = "quiet")]
    pub quiet: bool,

    /// Say what is done to each job, on stderr
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,

    /// Skip burst buffer stage-out (accepted; there are no burst buffers)
    #[arg(short = 'H', long = "hurry")]
    pub hurry: bool,

    /// Clusters to act on (accepted; there is one)
    #[arg(
        short = 'M',
        long = "clusters",
        visible_alias = "cluster",
        value_name = "CLUSTERS"
    )]
    pub clusters: Option<String>,

    /// Send the request through the controller (accepted; it always is)
    #[arg(long)]
    pub ctld: bool,

    #[command(flatten)]
    pub connection: Connection,

    /// Ids of the jobs (see IDS below)
    #[arg(value_name = "JOB_ID")]
    pub ids: Vec<String>,
}

/// One id from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As given, for messages.
    pub text: String,
    pub selector: JobSelector,
}

/// The ids of the command line, each parsed or kept as the text that is
/// not an id. An argument may hold several ids separated by commas (not
/// the commas inside `[...]`).
pub fn parse_targets(args: &[String]) -> Vec<Result<Target, String>> {
    split_ids(args)
        .into_iter()
        .map(|piece| {
            JobSelector::parse(piece)
                .map(|selector| Target {
                    text: piece.to_string(),
                    selector,
                })
                .ok_or_else(|| piece.to_string())
        })
        .collect()
}

/// The job filters; every one given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// `-u -n -t -p -A -q -w` (a filter of ids is never set: ids are
    /// [`Target`]s, cancelled or narrowed on their own).
    pub jobs: JobFilter,
    /// Any reservation: no job is in one.
    pub reservation: bool,
    pub wckey: Option<String>,
}

impl Filter {
    /// Whether any filter is set.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether the job passes every filter.
    pub fn matches(&self, job: &JobInfo) -> bool {
        self.jobs.matches(job)
            && !self.reservation
            && self.wckey.as_deref().is_none_or(|w| {
                job.wckey
                    .as_deref()
                    .is_some_and(|k| k.trim_start_matches('*') == w.trim_start_matches('*'))
            })
    }
}

/// Everything one ccancel run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub targets: Vec<Result<Target, String>>,
    pub filter: Filter,
    pub signal: Option<i32>,
    /// Where a signal goes; `-b` or `-f` without one still cancels.
    pub scope: SignalScope,
    pub interactive: bool,
    pub quiet: bool,
    pub verbose: bool,
}

impl Plan {
    /// Only ids, nothing else: scancel's plain form, where an id whose job
    /// has ended is no error.
    pub fn is_plain(&self) -> bool {
        self.filter.is_empty()
            && self.signal.is_none()
            && self.scope != SignalScope::BatchShell
            && !self.interactive
    }
}

fn split_list(text: &Option<String>) -> Option<Vec<String>> {
    text.as_ref().map(|text| {
        text.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    })
}

impl CcancelArgs {
    /// The plan for these options. An error is the lines to print before
    /// exiting with status 1; like scancel, the signal and state messages
    /// carry no prefix.
    pub fn plan(&self, prog: &str) -> Result<Plan, Vec<String>> {
        let error = |message: String| vec![format!("{prog}: error: {message}")];
        let signal = match &self.signal {
            None => None,
            Some(text) => Some(
                parse_signal(text).ok_or_else(|| vec![format!("Unknown job signal: {text}")])?,
            ),
        };
        let state = match &self.state {
            None => None,
            Some(text) => Some(parse_slurm_state(text).ok_or_else(|| {
                vec![
                    format!("Invalid job state specified: {text}"),
                    "Valid job states are PENDING, RUNNING, and SUSPENDED".to_string(),
                ]
            })?),
        };
        let user = if self.me {
            Some(users::current_uid().to_string())
        } else {
            self.user.clone()
        };
        let uid = match &user {
            None => None,
            Some(user) => Some(
                users::uid_of(user).ok_or_else(|| error(format!("Invalid user name: {user}")))?,
            ),
        };
        let filter = Filter {
            jobs: JobFilter {
                selectors: None,
                uids: uid.map(|uid| vec![uid]),
                names: split_list(&self.name),
                partitions: split_list(&self.partition),
                accounts: self.account.clone().map(|account| vec![account]),
                qos: self.qos.clone().map(|qos| vec![qos]),
                nodes: split_list(&self.nodelist),
                states: match state {
                    None => States::All,
                    Some(state) => States::Only(state.into_iter().collect()),
                },
            },
            reservation: self.reservation.is_some(),
            wckey: self.wckey.clone(),
        };
        let targets = parse_targets(&self.ids);
        if targets.is_empty() && filter.is_empty() {
            return Err(error("No job identification provided".into()));
        }
        Ok(Plan {
            targets,
            filter,
            signal,
            scope: if self.batch {
                SignalScope::BatchShell
            } else if self.full {
                SignalScope::All
            } else {
                SignalScope::Steps
            },
            interactive: self.interactive,
            quiet: self.quiet,
            verbose: self.verbose > 0,
        })
    }
}

/// One thing to do to one job.
struct Action {
    job_id: JobId,
    /// The id as messages show it (`12`, `12_3`).
    label: String,
    /// Pending jobs go first.
    pending: bool,
}

/// Where the run writes its messages and reads its answers.
pub struct Console<'a> {
    pub input: &'a mut dyn BufRead,
    pub stderr: &'a mut dyn Write,
}

impl Console<'_> {
    fn say(&mut self, line: &str) {
        let _ = writeln!(self.stderr, "{line}");
    }

    /// scancel's `-i` question; end of input is a no.
    fn confirm(&mut self, job: &JobInfo) -> bool {
        loop {
            let _ = write!(
                self.stderr,
                "Cancel job_id={} name={} partition={} [y/n]? ",
                job.display_id(),
                job.name,
                job.partition
            );
            let _ = self.stderr.flush();
            let mut answer = String::new();
            match self.input.read_line(&mut answer) {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
            match answer.trim_start().chars().next() {
                Some('y' | 'Y') => return true,
                Some('n' | 'N') => return false,
                _ => {}
            }
        }
    }
}

/// scancel's exit status when the controller would not signal a job yet
/// (`ESLURM_TRANSITION_STATE_NO_UPDATE`, 2020, as an exit status).
pub const NOT_NOW_EXIT: u8 = 228;

/// Runs ccancel: the plan for the options, then its requests. What it
/// says as it goes (`-v`, `-i`'s questions, each failure) goes to stderr
/// at once; the outcome holds the exit status.
pub fn run(prog: &str, args: CcancelArgs) -> Outcome {
    let plan = match args.plan(prog) {
        Ok(plan) => plan,
        Err(lines) => return Outcome::failed(lines),
    };
    let client = match args.connection.client() {
        Ok(client) => client,
        Err(error) => return Outcome::error(prog, &error),
    };
    let mut console = Console {
        input: &mut std::io::stdin().lock(),
        stderr: &mut std::io::stderr().lock(),
    };
    Outcome::exit(execute(&plan, &client, prog, &mut console))
}

/// Runs the plan; returns scancel's exit status: 0 when every id was fine
/// and every request succeeded, [`NOT_NOW_EXIT`] when a job could not be
/// signalled yet, else 1.
pub fn execute(plan: &Plan, client: &Client, prog: &str, console: &mut Console<'_>) -> u8 {
    let outcome = if plan.is_plain() {
        cancel_by_id(plan, client, prog, console).map(u8::from)
    } else {
        act_on_matches(plan, client, prog, console)
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            console.say(&format!("{prog}: error: {error}"));
            1
        }
    }
}

/// The plain form: each id is cancelled; an ended job or an unknown id is
/// no error and, as in scancel, said only with `-v`. Returns whether
/// something failed.
fn cancel_by_id(
    plan: &Plan,
    client: &Client,
    prog: &str,
    console: &mut Console<'_>,
) -> Result<bool, Error> {
    // Only the named jobs (an array's id brings its tasks), not the queue.
    let named: Vec<String> = plan
        .targets
        .iter()
        .filter_map(|target| target.as_ref().ok().map(|t| t.selector.job.to_string()))
        .collect();
    let active = if named.is_empty() {
        Vec::new()
    } else {
        client.list(&ListQuery {
            ids: Some(named.join(",")),
            ..ListQuery::default()
        })?
    };
    let in_array = |target: &Target| -> Vec<&JobInfo> {
        active
            .iter()
            .filter(|job| {
                job.array_job_id == Some(target.selector.job) && target.selector.matches(job)
            })
            .collect()
    };
    let mut ok = true;
    let report = |console: &mut Console<'_>, ok: &mut bool, line: String| {
        *ok = false;
        if !plan.quiet {
            console.say(&format!("{prog}: error: {line}"));
        }
    };
    // scancel's plain cancel ignores an id the controller does not know
    // (it may have ended and been purged), saying so only when verbose.
    let unknown = |console: &mut Console<'_>, line: String| {
        if plan.verbose && !plan.quiet {
            console.say(&format!("{prog}: error: {line}"));
        }
    };
    // Pending jobs go first, then everything else in the order given.
    let mut later: Vec<Result<Action, String>> = Vec::new();
    let mut first: Vec<Action> = Vec::new();
    let mut unknown_tasks: Vec<(JobId, String)> = Vec::new();
    for target in &plan.targets {
        let target = match target {
            Ok(target) => target,
            Err(text) => {
                later.push(Err(format!("Invalid job id {text}")));
                continue;
            }
        };
        let members = in_array(target);
        match &target.selector.tasks {
            Tasks::Job | Tasks::All if members.is_empty() => {
                let action = Action {
                    job_id: target.selector.job,
                    label: target.selector.job.to_string(),
                    pending: active.iter().any(|job| {
                        job.job_id == target.selector.job && job.state == JobState::Pending
                    }),
                };
                if action.pending {
                    first.push(action);
                } else {
                    later.push(Ok(action));
                }
            }
            Tasks::Some(indices) => {
                for index in indices {
                    if !members.iter().any(|j| j.array_task_id == Some(*index)) {
                        unknown_tasks.push((
                            target.selector.job,
                            format!("{}_{index}", target.selector.job),
                        ));
                    }
                }
                queue(&members, &mut first, &mut later);
            }
            _ => queue(&members, &mut first, &mut later),
        }
    }
    let actions = first.into_iter().map(Ok).chain(later);
    for item in actions {
        match item {
            Err(line) => {
                ok = false;
                console.say(&format!("{prog}: error: {line}"));
            }
            Ok(action) => match cancel(client, &action, plan, prog, console) {
                Err(error) if error.is_unreachable() => return Err(error),
                Err(error) if error.is_not_found() => {
                    unknown(console, kill_error(&action.label, &error));
                }
                Err(error) => report(console, &mut ok, kill_error(&action.label, &error)),
                Ok(()) => {}
            },
        }
    }
    // A task that is not active ended, or never was: no error either way.
    for (array, label) in unknown_tasks {
        match client.job(array) {
            Err(error) if error.is_not_found() => {
                unknown(console, kill_error(&label, &error));
            }
            Err(error) => return Err(error),
            Ok(_) => {}
        }
    }
    Ok(!ok)
}

/// Splits active jobs into pending ones (cancelled first) and the rest.
fn queue(members: &[&JobInfo], first: &mut Vec<Action>, later: &mut Vec<Result<Action, String>>) {
    for job in members {
        let action = Action {
            job_id: job.job_id,
            label: job.display_id(),
            pending: job.state == JobState::Pending,
        };
        if action.pending {
            first.push(action);
        } else {
            later.push(Ok(action));
        }
    }
}

/// Cancels the chosen jobs with one request (one commit for the pending
/// ones), reporting each that could not be cancelled.
fn cancel_together(
    chosen: &[&JobInfo],
    plan: &Plan,
    client: &Client,
    prog: &str,
    console: &mut Console<'_>,
) -> Result<bool, Error> {
    if chosen.is_empty() {
        return Ok(true);
    }
    if plan.verbose {
        for job in chosen {
            console.say(&format!("{prog}: Terminating job {}", job.display_id()));
        }
    }
    let ids: Vec<JobId> = chosen.iter().map(|job| job.job_id).collect();
    let mut ok = true;
    for (job, result) in chosen.iter().zip(client.cancel_many(&ids)?) {
        if let CancelResult::Failed { error, .. } = result {
            ok = false;
            if !plan.quiet {
                console.say(&format!(
                    "{prog}: error: Kill job error on job id {}: {}",
                    job.display_id(),
                    error.message
                ));
            }
        }
    }
    Ok(ok)
}

fn kill_error(label: &str, error: &Error) -> String {
    format!("Kill job error on job id {label}: {error}")
}

fn cancel(
    client: &Client,
    action: &Action,
    plan: &Plan,
    prog: &str,
    console: &mut Console<'_>,
) -> Result<(), Error> {
    if plan.verbose {
        console.say(&format!("{prog}: Terminating job {}", action.label));
    }
    client.cancel(action.job_id).map(|_| ())
}

/// With filters or a signal: the active jobs are listed, every id named
/// must be one of them, and the jobs that match the ids and the filters
/// are cancelled or signalled, pending ones first. Returns the exit status.
fn act_on_matches(
    plan: &Plan,
    client: &Client,
    prog: &str,
    console: &mut Console<'_>,
) -> Result<u8, Error> {
    let query = ListQuery {
        users: plan.filter.jobs.uids.as_ref().map(|uids| {
            uids.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        }),
        ..ListQuery::default()
    };
    let jobs = client.list(&query)?;
    let mut ok = true;
    let mut targets = Vec::new();
    for target in &plan.targets {
        match target {
            Err(text) => {
                ok = false;
                console.say(&format!("{prog}: error: Invalid job id {text}"));
            }
            Ok(target) => {
                if !jobs.iter().any(|job| target.selector.matches(job)) {
                    ok = false;
                    if !plan.quiet {
                        console.say(&format!(
                            "{prog}: error: Kill job error on job id {}: Invalid job id specified",
                            target.text
                        ));
                    }
                }
                targets.push(target);
            }
        }
    }
    let named = !plan.targets.is_empty();
    let mut chosen: Vec<&JobInfo> = jobs
        .iter()
        .filter(|job| plan.filter.matches(job))
        .filter(|job| !named || targets.iter().any(|t| t.selector.matches(job)))
        .collect();
    chosen.sort_by_key(|job| (job.state != JobState::Pending, job.job_id));
    if plan.signal.is_none() && !plan.interactive {
        return cancel_together(&chosen, plan, client, prog, console)
            .map(|all| u8::from(!(ok && all)));
    }
    let mut code = u8::from(!ok);
    for job in chosen {
        if plan.interactive && !console.confirm(job) {
            continue;
        }
        let label = job.display_id();
        let result = match plan.signal {
            Some(signal) => {
                if plan.verbose {
                    console.say(&format!("{prog}: Signal {signal} to job {label}"));
                }
                let request = SignalRequest {
                    signal,
                    scope: plan.scope,
                };
                client.signal(job.job_id, &request).map(|_| ())
            }
            None => {
                let action = Action {
                    job_id: job.job_id,
                    label: label.clone(),
                    pending: job.state == JobState::Pending,
                };
                cancel(client, &action, plan, prog, console)
            }
        };
        if let Err(error) = result {
            if error.is_unreachable() {
                return Err(error);
            }
            // scancel asks again for 95 s (ten tries, 5 to 14 s apart)
            // before it gives up on a job in transition; a job that has
            // not started gives the same answer at once here.
            code = code.max(if error.is_not_now() { NOT_NOW_EXIT } else { 1 });
            if !plan.quiet {
                console.say(&format!("{prog}: error: {}", kill_error(&label, &error)));
            }
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(argv: &[&str]) -> Result<Plan, Vec<String>> {
        let mut full = vec!["ccancel"];
        full.extend_from_slice(argv);
        CcancelArgs::try_parse_from(full)
            .expect("valid command line")
            .plan("ccancel")
    }

    #[test]
    fn commas_separate_ids_but_not_inside_brackets() {
        let args = vec!["1,2_[3,4]".to_string(), "x".to_string(), "5".to_string()];
        let texts: Vec<Result<String, String>> = parse_targets(&args)
            .into_iter()
            .map(|t| t.map(|t| t.text))
            .collect();
        assert_eq!(
            texts,
            vec![
                Ok("1".to_string()),
                Ok("2_[3,4]".to_string()),
                Err("x".to_string()),
                Ok("5".to_string()),
            ]
        );
    }

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal("USR1"), Some(10));
        assert_eq!(parse_signal("sigusr2"), Some(12));
        assert_eq!(parse_signal("SIGTERM"), Some(15));
        assert_eq!(parse_signal("9"), Some(9));
        for bad in ["0", "65", "BOGUS", "SIG", ""] {
            assert_eq!(parse_signal(bad), None, "{bad}");
        }
    }

    #[test]
    fn option_errors_read_like_scancel() {
        assert_eq!(
            plan(&[]),
            Err(vec![
                "ccancel: error: No job identification provided".to_string()
            ])
        );
        assert_eq!(
            plan(&["-s", "USR1"]),
            Err(vec![
                "ccancel: error: No job identification provided".to_string()
            ])
        );
        assert_eq!(
            plan(&["-s", "BOGUS", "1"]),
            Err(vec!["Unknown job signal: BOGUS".to_string()])
        );
        assert_eq!(
            plan(&["-t", "nope", "1"]),
            Err(vec![
                "Invalid job state specified: nope".to_string(),
                "Valid job states are PENDING, RUNNING, and SUSPENDED".to_string(),
            ])
        );
        assert_eq!(
            plan(&["-u", "no-such-user-xyz"]),
            Err(vec![
                "ccancel: error: Invalid user name: no-such-user-xyz".to_string()
            ])
        );
    }

    #[test]
    fn plain_ids_differ_from_filters_and_signals() {
        assert!(plan(&["1", "2"]).expect("valid").is_plain());
        assert!(!plan(&["1", "-s", "USR1"]).expect("valid").is_plain());
        assert!(!plan(&["1", "-b"]).expect("valid").is_plain());
        assert!(!plan(&["1", "-i"]).expect("valid").is_plain());
        let filtered = plan(&["-n", "a,b", "-t", "PD", "-p", "normal", "--me"]).expect("valid");
        assert!(!filtered.is_plain());
        assert_eq!(
            filtered.filter.jobs.names,
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            filtered.filter.jobs.states,
            States::Only([JobState::Pending].into())
        );
        assert_eq!(filtered.filter.jobs.uids, Some(vec![users::current_uid()]));
        // Accepted and ignored.
        assert!(
            plan(&["-H", "-M", "all", "--ctld", "-f", "-v", "1"])
                .expect("valid")
                .is_plain()
        );
        let quiet = plan(&[
            "-Q",
            "--jobname",
            "x",
            "--wckey",
            "w",
            "-A",
            "a",
            "-q",
            "q",
            "-w",
            "n",
            "-R",
            "r",
        ])
        .expect("valid");
        assert!(quiet.quiet && quiet.filter.reservation);
    }

    #[test]
    fn interactive_answers_are_read_until_yes_or_no() {
        let job: JobInfo = serde_json::from_value(serde_json::json!({
            "job_id": 7, "name": "train", "user": "u", "uid": 1, "partition": "normal",
            "state": "RUNNING", "reason": "None", "cpus": 1, "ntasks": 1, "cpus_per_task": 1,
            "memory_mb": 0, "gpus": 0, "node": "box", "submit_time": "2026-01-05T12:00:00Z",
            "start_time": null, "end_time": null, "time_limit": null, "exit_code": null,
            "work_dir": "/", "stdout": "/o", "stderr": "/o"
        }))
        .expect("job");
        let ask = |answers: &str| {
            let mut input = answers.as_bytes();
            let mut stderr = Vec::new();
            let yes = Console {
                input: &mut input,
                stderr: &mut stderr,
            }
            .confirm(&job);
            (yes, String::from_utf8(stderr).expect("utf8"))
        };
        let prompt = "Cancel job_id=7 name=train partition=normal [y/n]? ";
        assert_eq!(ask("y\n"), (true, prompt.to_string()));
        assert_eq!(ask("maybe\nNo\n"), (false, prompt.repeat(2)));
        assert_eq!(ask(""), (false, prompt.to_string()));
    }
}
