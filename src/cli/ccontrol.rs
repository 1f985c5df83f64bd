//! `ccontrol` (scontrol): show jobs, the node, the partition and the
//! daemon's configuration as scontrol prints them; hold, release, requeue
//! and update jobs; and install links under Slurm's names.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Local, Utc};
use clap::{ArgAction, Parser};

use crate::cli::{Connection, Outcome};
use crate::client::{Client, SERVER_ENV};
use crate::error::Error;
use crate::format::duration::parse_time_limit;
use crate::format::hostlist;
use crate::format::job_id::{JobSelector, Tasks, split_ids};
use crate::format::memory::parse_memory_mb;
use crate::format::scontrol::{
    JobContext, NodeFacts, config_listing, job_record, node_record, partition_record, ping_line,
};
use crate::format::slurm_json::job_info::{JobContext as JsonJobContext, JobInfoResponse};
use crate::format::slurm_json::node::{NodeContext, NodesResponse};
use crate::format::slurm_json::{self, JsonFormat, Version, parse_json_option};
use crate::format::squeue::Row;
use crate::format::time::{self, Toward};
use crate::paths;
use crate::protocol::{
    JobId, JobInfo, JobState, ListQuery, NodeInfo, PartitionInfo, TokenRequest, UpdateRequest,
};
use crate::users;

/// Control Conductor and look inside it (like scontrol).
///
/// Records print in scontrol's Key=Value layout; actions print nothing
/// when they succeed.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "ccontrol",
    version,
    max_term_width = 100,
    after_help = "COMMANDS:\n  \
    show job [ID]              jobs (pending and running), or one job: 12 or 12_3\n  \
    show node [NAME]           the node\n  \
    show partition [NAME]      the partitions, or the one named\n  \
    show config                the daemon's settings\n  \
    ping                       whether the daemon answers (exit 1 if not)\n  \
    version                    the version\n  \
    hold IDS / holdu IDS       keep pending jobs from starting (uhold = holdu)\n  \
    release IDS                let held jobs start\n  \
    requeue IDS                run running or finished jobs again, same id\n  \
    update JobId=ID KEY=VALUE  change a pending job: TimeLimit= JobName= Priority= Nice=\n  \
                               NumCPUs= MinMemoryNode= Comment= StartTime=\n  \
    install-slurm-links DIR    link sbatch, squeue, scancel, sacct, scontrol, sinfo,\n  \
                               srun, sdiag, sprio and sshare in DIR to Conductor's\n  \
                               binaries\n  \
    token [lifespan=SECONDS]   a token acting as you over TCP (default 1800 s):\n  \
                               prints CONDUCTOR_TOKEN=...\n  \
    token revoke               revoke all your tokens\n  \
    write batch_script ID [FILE]  the job's script into FILE (slurm-ID.sh; - prints it)\n\n\
    IDS are job ids, separated by spaces or commas."
)]
pub struct CcontrolArgs {
    /// Print each record on one line
    #[arg(short = 'o', long = "oneliner")]
    pub oneliner: bool,

    /// Show more details (the exit code of the job's steps, CPU ids)
    #[arg(short = 'd', long = "details", action = ArgAction::Count)]
    pub details: u8,

    /// Accepted for compatibility: everything is always shown
    #[arg(short = 'a', long = "all")]
    pub all: bool,

    /// Accepted for compatibility: errors are still printed
    #[arg(short = 'Q', long = "quiet")]
    pub quiet: bool,

    /// show job/node: print Slurm's JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another
    #[arg(
        long,
        value_name = "VERSION",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub json: Option<String>,

    #[command(flatten)]
    pub connection: Connection,

    /// The command and its arguments (see COMMANDS below)
    #[arg(value_name = "COMMAND")]
    pub words: Vec<String>,
}

/// What a command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    ShowJobs(Option<String>),
    ShowNode(Option<String>),
    ShowPartition(Option<String>),
    ShowConfig,
    Ping,
    Version,
    /// `token [lifespan=SECONDS]`: a token for the caller, for TCP.
    Token {
        lifespan: Option<u64>,
    },
    /// `token revoke`: revokes every token of the caller.
    TokenRevoke,
    /// `write batch_script ID [FILE]`: the job's script into FILE
    /// (`slurm-ID.sh` by default; `-` is standard output).
    WriteBatchScript {
        id: String,
        file: Option<String>,
    },
    /// `hold` (root's holds are admin holds) or `holdu`/`uhold`.
    Hold {
        ids: Vec<String>,
        user: bool,
    },
    Release(Vec<String>),
    Requeue(Vec<String>),
    Update {
        ids: Vec<String>,
        request: UpdateRequest,
        /// Values scontrol passes over with a line on stderr (a
        /// `StartTime` its time parser refuses), the rest still applied.
        ignored: Vec<String>,
    },
    InstallSlurmLinks(PathBuf),
}

/// True when `word` names `command`: the same word in any case, or (for
/// commands that allow it) a prefix at least `min` long, as scontrol allows.
fn names(word: &str, command: &str, min: usize) -> bool {
    let word = word.to_ascii_lowercase();
    word == command || (word.len() >= min && command.starts_with(&word))
}

/// Job ids from words that may also hold comma-separated lists.
fn id_list(words: &[String]) -> Vec<String> {
    split_ids(words).into_iter().map(str::to_string).collect()
}

impl Command {
    /// Parses the words after the options.
    pub fn parse(words: &[String]) -> Result<Command, String> {
        let Some((first, rest)) = words.split_first() else {
            return Err("no command given; see ccontrol --help".into());
        };
        let too_many = |rest: &[String], limit: usize| {
            if rest.len() > limit {
                Err(format!("too many arguments for keyword:{first}"))
            } else {
                Ok(())
            }
        };
        let need_some = |ids: Vec<String>| {
            if ids.is_empty() {
                Err(format!("too few arguments for keyword:{first}"))
            } else {
                Ok(ids)
            }
        };
        let word = first.to_ascii_lowercase();
        if names(&word, "show", 3) {
            let Some((entity, args)) = rest.split_first() else {
                return Err(format!("too few arguments for keyword:{first}"));
            };
            too_many(args, 1)?;
            let name = args.first().cloned();
            return if entity.eq_ignore_ascii_case("jobid") || names(entity, "jobs", 1) {
                Ok(Command::ShowJobs(name))
            } else if names(entity, "nodes", 1) {
                Ok(Command::ShowNode(name))
            } else if names(entity, "partitions", 1) {
                Ok(Command::ShowPartition(name))
            } else if names(entity, "configuration", 1) {
                too_many(args, 0)?;
                Ok(Command::ShowConfig)
            } else {
                Err(format!("invalid entity:{entity} for keyword:{first}"))
            };
        }
        match word.as_str() {
            "hold" => Ok(Command::Hold {
                ids: need_some(id_list(rest))?,
                user: false,
            }),
            "holdu" | "uhold" => Ok(Command::Hold {
                ids: need_some(id_list(rest))?,
                user: true,
            }),
            "requeue" => Ok(Command::Requeue(need_some(id_list(rest))?)),
            "install-slurm-links" => match rest {
                [dir] => Ok(Command::InstallSlurmLinks(PathBuf::from(dir))),
                [] => Err(format!("too few arguments for keyword:{first}")),
                _ => Err(format!("too many arguments for keyword:{first}")),
            },
            _ if names(&word, "release", 3) => Ok(Command::Release(need_some(id_list(rest))?)),
            "write" => match rest {
                [what, id] if what.eq_ignore_ascii_case("batch_script") => {
                    Ok(Command::WriteBatchScript {
                        id: id.clone(),
                        file: None,
                    })
                }
                [what, id, file] if what.eq_ignore_ascii_case("batch_script") => {
                    Ok(Command::WriteBatchScript {
                        id: id.clone(),
                        file: Some(file.clone()),
                    })
                }
                [what, ..] if what.eq_ignore_ascii_case("batch_script") => {
                    Err(format!("too many arguments for keyword:{first}"))
                }
                _ => Err(format!("invalid write option: {}", rest.join(" "))),
            },
            "token" => match rest {
                [] => Ok(Command::Token { lifespan: None }),
                [word] if word.eq_ignore_ascii_case("revoke") => Ok(Command::TokenRevoke),
                [word] => match word.split_once('=') {
                    Some((key, value)) if key.eq_ignore_ascii_case("lifespan") => value
                        .parse::<u64>()
                        .ok()
                        .filter(|secs| *secs > 0)
                        .map(|secs| Command::Token {
                            lifespan: Some(secs),
                        })
                        .ok_or_else(|| format!("Invalid lifespan value: {value}")),
                    _ => Err(format!("Invalid parameter: {word}")),
                },
                _ => Err(format!("too many arguments for keyword:{first}")),
            },
            _ if names(&word, "ping", 3) => {
                too_many(rest, 0)?;
                Ok(Command::Ping)
            }
            _ if names(&word, "version", 3) => {
                too_many(rest, 0)?;
                Ok(Command::Version)
            }
            _ if names(&word, "update", 3) => parse_update(rest, Local::now()),
            _ => Err(format!("invalid keyword: {first}")),
        }
    }
}

/// `update JobId=N Key=Value ...` into the ids and the request.
/// scontrol's refusal of an update key it does not know; `run` prints it
/// bare and gives up on the request, as scontrol does.
const UNSUPPORTED_UPDATE: &str = "Update of this parameter is not supported";

/// scontrol's bare last line for an update that changes nothing.
const NO_CHANGES: &str = "No changes specified";

fn parse_update(tokens: &[String], now: DateTime<Local>) -> Result<Command, String> {
    let mut ids = Vec::new();
    let mut request = UpdateRequest::default();
    let mut ignored = Vec::new();
    for token in tokens {
        let Some((key, value)) = token.split_once('=') else {
            return Err(format!("Invalid input: {token}"));
        };
        let invalid = || format!("Invalid {key} value: {value}");
        match key.to_ascii_lowercase().as_str() {
            "jobid" => ids.extend(id_list(&[value.to_string()])),
            "timelimit" => {
                // scontrol names the key but not the value here.
                let limit = parse_time_limit(value).map_err(|_| format!("Invalid {key} value"))?;
                request.time_limit = Some(limit.unwrap_or(0));
            }
            "jobname" | "name" => request.name = Some(value.to_string()),
            "priority" => request.priority = Some(value.parse().map_err(|_| invalid())?),
            "nice" => request.nice = Some(value.parse().map_err(|_| invalid())?),
            "numcpus" => {
                // Slurm takes `min[-max]`; one node has no use for a maximum.
                let min = value.split('-').next().unwrap_or_default();
                request.cpus = Some(min.parse().map_err(|_| invalid())?);
            }
            "minmemorynode" => {
                request.memory_mb = Some(parse_memory_mb(value).map_err(|_| invalid())?);
            }
            "comment" => request.comment = Some(value.to_string()),
            "starttime" | "begintime" => {
                match parse_start_time(value, now) {
                    Ok(at) => request.begin_time = Some(at),
                    // scontrol says where its time parser gave up and
                    // goes on without the key.
                    Err(refused) => ignored.push(refused.to_string()),
                }
            }
            _ => {
                return Err(format!("{UNSUPPORTED_UPDATE}: {token}"));
            }
        }
    }
    if ids.is_empty() {
        return Err("No job id given: update JobId=<id> Key=Value ...".into());
    }
    if request == UpdateRequest::default() {
        ignored.push(NO_CHANGES.into());
        return Err(ignored.join("\n"));
    }
    Ok(Command::Update {
        ids,
        request,
        ignored,
    })
}

/// `StartTime=` values, in Slurm's time grammar: a time that leaves its
/// day or year open is the next one, as scontrol reads it.
pub fn parse_start_time(
    text: &str,
    now: DateTime<Local>,
) -> Result<DateTime<Utc>, time::InvalidTime> {
    time::parse_time(text, now, Toward::Future).map(|at| at.with_timezone(&Utc))
}

/// A run that ends in this one line on stderr (prefixes included), exit
/// status 1.
fn refused(line: String) -> Outcome {
    Outcome::failed(vec![line])
}

/// Runs the command line; `prog` is the name for error prefixes.
pub fn run(prog: &str, args: CcontrolArgs) -> Outcome {
    let args = &args;
    let error = |message: &dyn std::fmt::Display| refused(format!("{prog}: error: {message}"));
    let command = match Command::parse(&args.words) {
        Ok(command) => command,
        // scontrol's update refuses a key bare, then gives up on the rest.
        Err(message) if message.starts_with(UNSUPPORTED_UPDATE) => {
            return refused(format!("{message}\nRequest aborted"));
        }
        Err(message) if message.ends_with(NO_CHANGES) => return refused(message),
        Err(message) => return error(&message),
    };
    match &command {
        Command::Version => {
            return Outcome::printed(format!("slurm {}\n", env!("CARGO_PKG_VERSION")));
        }
        Command::InstallSlurmLinks(dir) => return install_links_command(dir, prog),
        Command::Ping => return ping(args.connection.server.as_deref(), prog),
        _ => {}
    }
    let json = match parse_json_option(args.json.as_deref()) {
        // Conductor's own shape is the API's; scontrol has none to offer.
        Ok(Some(JsonFormat::Conductor)) => {
            return error(&"--json=conductor: use cqueue --json=conductor or the API");
        }
        Ok(Some(JsonFormat::Slurm(version))) => Some(version),
        Ok(None) => None,
        Err(unknown) => {
            return Outcome {
                stderr: unknown.lines(prog),
                code: 1,
                ..Outcome::default()
            };
        }
    };
    let client = match args.connection.client() {
        Ok(client) => client,
        Err(e) => return error(&e),
    };
    let result = match command {
        Command::ShowJobs(id) => match json {
            Some(version) => show_jobs_json(&client, id.as_deref(), version),
            None => show_jobs(&client, id.as_deref(), args),
        },
        Command::ShowNode(name) => match json {
            Some(version) => show_node_json(&client, name.as_deref(), version),
            None => show_node(&client, name.as_deref(), args.oneliner),
        },
        Command::ShowPartition(name) => show_partition(&client, name.as_deref(), args.oneliner),
        Command::ShowConfig => client
            .config()
            .map(|config| Outcome::printed(config_listing(&config, Utc::now()))),
        Command::Hold { ids, user } => Ok(act(&client, &ids, Action::Hold { user }, prog)),
        Command::Release(ids) => Ok(act(&client, &ids, Action::Release, prog)),
        Command::Requeue(ids) => Ok(act(&client, &ids, Action::Requeue, prog)),
        Command::Update {
            ids,
            request,
            ignored,
        } => {
            let mut outcome = act(&client, &ids, Action::Update(&request), prog);
            outcome.stderr.splice(0..0, ignored);
            Ok(outcome)
        }
        Command::Token { lifespan } => client
            .issue_token(&TokenRequest {
                lifespan_secs: lifespan,
            })
            .map(|issued| Outcome::printed(format!("CONDUCTOR_TOKEN={}\n", issued.token))),
        Command::WriteBatchScript { id, file } => write_batch_script(&client, &id, file.as_deref()),
        Command::TokenRevoke => client
            .revoke_tokens()
            .map(|revoked| Outcome::printed(format!("{} tokens revoked\n", revoked.revoked))),
        Command::Version | Command::Ping | Command::InstallSlurmLinks(_) => Ok(Outcome::default()),
    };
    result.unwrap_or_else(|e| error(&e))
}

/// Why an id named no job.
enum Lookup {
    NoSuchJob,
    Failed(Error),
}

impl From<Error> for Lookup {
    fn from(error: Error) -> Lookup {
        if error.is_not_found() {
            Lookup::NoSuchJob
        } else {
            Lookup::Failed(error)
        }
    }
}

/// The jobs an id names: one job, array tasks (`12_3`, `12_[1-3]`), or
/// every task of an array named by its id (`12`, `12_*`).
fn resolve(client: &Client, text: &str) -> Result<Vec<JobInfo>, Lookup> {
    let selector = JobSelector::parse(text).ok_or(Lookup::NoSuchJob)?;
    let id = selector.job;
    let array_tasks = || -> Result<Vec<JobInfo>, Lookup> {
        let query = ListQuery {
            ids: Some(id.to_string()),
            states: Some("all".into()),
            ..ListQuery::default()
        };
        Ok(client
            .list(&query)?
            .into_iter()
            .filter(|job| job.array_job_id == Some(id))
            .collect())
    };
    match selector.tasks {
        Tasks::Some(_) => {
            let found: Vec<JobInfo> = array_tasks()?
                .into_iter()
                .filter(|job| selector.matches(job))
                .collect();
            if found.is_empty() {
                Err(Lookup::NoSuchJob)
            } else {
                Ok(found)
            }
        }
        Tasks::Job | Tasks::All => {
            let job = client.job(id)?;
            if job.array_job_id == Some(id) {
                let tasks = array_tasks()?;
                if !tasks.is_empty() {
                    return Ok(tasks);
                }
            }
            Ok(vec![job])
        }
    }
}

fn show_jobs(client: &Client, id: Option<&str>, args: &CcontrolArgs) -> Result<Outcome, Error> {
    let jobs = match id {
        Some(id) => match resolve(client, id) {
            Ok(jobs) => jobs,
            Err(Lookup::NoSuchJob) => {
                return Ok(refused(
                    "slurm_load_jobs error: Invalid job id specified".into(),
                ));
            }
            Err(Lookup::Failed(e)) => return Err(e),
        },
        None => client.list(&ListQuery::default())?,
    };
    if jobs.is_empty() {
        return Ok(Outcome::printed("No jobs in the system\n".into()));
    }
    // Only a job that asked for no memory and has not run needs the node's.
    let node_memory_mb = if jobs.iter().any(|j| j.node.is_none() && j.memory_mb == 0) {
        client.node()?.memory_mb_total
    } else {
        0
    };
    let group_name = |gid: u32| {
        uzers::get_group_by_gid(gid)
            .map(|group| group.name().to_string_lossy().into_owned())
            .unwrap_or_else(|| gid.to_string())
    };
    let context = JobContext {
        now: Utc::now(),
        node_memory_mb,
        details: args.details > 0,
        group_name: &group_name,
    };
    let text = jobs
        .iter()
        .map(|job| job_record(job, &context).render(args.oneliner))
        .collect();
    Ok(Outcome::printed(text))
}

/// `show job --json`: the jobs `show job` would print, as Slurm's
/// `openapi_job_info_resp` (no jobs is an empty list, not a sentence).
fn show_jobs_json(client: &Client, id: Option<&str>, version: Version) -> Result<Outcome, Error> {
    let jobs = match id {
        Some(id) => match resolve(client, id) {
            Ok(jobs) => jobs,
            Err(Lookup::NoSuchJob) => {
                return Ok(refused(
                    "slurm_load_jobs error: Invalid job id specified".into(),
                ));
            }
            Err(Lookup::Failed(e)) => return Err(e),
        },
        None => client.list(&ListQuery::default())?,
    };
    let rows: Vec<Row<'_>> = jobs.iter().map(Row::single).collect();
    let caller = crate::cli::json_caller();
    let context = JsonJobContext {
        version,
        caller: &caller,
        now: Utc::now(),
        group_name: &users::group_name,
    };
    encoded(&JobInfoResponse::new(&rows, &context))
}

/// Each name `show node` shows, with its node (`None`: the daemon has none).
type NamedNodes = Vec<(String, Option<NodeInfo>)>;

/// The nodes `show node [NAME|hostlist]` shows: every node in the
/// daemon's order (scontrol prints the controller's table), or each name
/// of the hostlist in its order, `None` for one the daemon does not have.
/// A list that does not parse is refused as scontrol refuses it.
fn named_nodes(client: &Client, name: Option<&str>) -> Result<Result<NamedNodes, Outcome>, Error> {
    let nodes = client.nodes()?;
    let Some(name) = name else {
        return Ok(Ok(nodes
            .into_iter()
            .map(|node| (node.name.clone(), Some(node)))
            .collect()));
    };
    let Ok(wanted) = hostlist::expand(name) else {
        return Ok(Err(Outcome {
            stderr: vec![format!("unable to parse node list {name}")],
            code: 1,
            ..Outcome::default()
        }));
    };
    Ok(Ok(wanted
        .into_iter()
        .map(|wanted| {
            let node = nodes.iter().find(|node| node.name == wanted).cloned();
            (wanted, node)
        })
        .collect()))
}

/// scontrol's line for a name it does not know, on stdout, exit 1.
fn node_not_found(name: &str) -> Outcome {
    Outcome {
        stdout: format!("Node {name} not found\n"),
        code: 1,
        ..Outcome::default()
    }
}

/// `show node --json`: Slurm's `openapi_nodes_resp`; an unknown name
/// is refused as `show node` refuses it.
fn show_node_json(client: &Client, name: Option<&str>, version: Version) -> Result<Outcome, Error> {
    let named = match named_nodes(client, name)? {
        Ok(named) => named,
        Err(refusal) => return Ok(refusal),
    };
    if let Some((unknown, _)) = named.iter().find(|(_, node)| node.is_none()) {
        return Ok(node_not_found(unknown));
    }
    let config = client.config()?;
    let caller = crate::cli::json_caller();
    let context = NodeContext {
        version,
        caller: &caller,
        now: Utc::now(),
        config: &config,
        facts: &node_facts(),
    };
    let nodes: Vec<&NodeInfo> = named.iter().filter_map(|(_, node)| node.as_ref()).collect();
    encoded(&NodesResponse::new(&nodes, &context))
}

/// A document printed.
fn encoded<T: serde::Serialize>(document: &T) -> Result<Outcome, Error> {
    slurm_json::to_text(document)
        .map(Outcome::printed)
        .map_err(|e| Error::Other(format!("cannot encode JSON: {e}")))
}

/// `show node [NAME|hostlist]`: a record per node, each ending in a
/// blank line as scontrol prints them (one line each with `-o`); a name
/// the daemon does not have is scontrol's `Node NAME not found` line in
/// its place, and the exit status 1.
fn show_node(client: &Client, name: Option<&str>, oneliner: bool) -> Result<Outcome, Error> {
    let named = match named_nodes(client, name)? {
        Ok(named) => named,
        Err(refusal) => return Ok(refusal),
    };
    let config = client.config()?;
    let facts = node_facts();
    let mut outcome = Outcome::default();
    for (name, node) in &named {
        match node {
            Some(node) => outcome
                .stdout
                .push_str(&node_record(node, &config, &facts).render(oneliner)),
            None => {
                outcome.stdout.push_str(&node_not_found(name).stdout);
                outcome.code = 1;
            }
        }
    }
    Ok(outcome)
}

/// Every partition's record in definition order, or the one named.
fn show_partition(client: &Client, name: Option<&str>, oneliner: bool) -> Result<Outcome, Error> {
    let nodes = client.nodes()?;
    let members: Vec<&NodeInfo> = nodes.iter().collect();
    let partitions: Vec<PartitionInfo> = crate::cli::cinfo::all_partitions(&nodes)
        .into_iter()
        .filter(|partition| name.is_none_or(|name| name == partition.name))
        .collect();
    if let (Some(name), true) = (name, partitions.is_empty()) {
        return Ok(Outcome {
            stdout: format!("Partition {name} not found\n"),
            code: 1,
            ..Outcome::default()
        });
    }
    let records: Vec<String> = partitions
        .iter()
        .map(|partition| partition_record(&members, partition).render(oneliner))
        .collect();
    Ok(Outcome::printed(records.concat()))
}

/// What `show node` says about this machine beyond what the daemon reports.
pub fn node_facts() -> NodeFacts {
    let uname = rustix::system::uname();
    let os = [uname.sysname(), uname.release(), uname.version()]
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let boot_time = std::fs::read_to_string("/proc/stat").ok().and_then(|stat| {
        stat.lines()
            .find_map(|line| line.strip_prefix("btime "))
            .and_then(|secs| secs.trim().parse::<i64>().ok())
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
    });
    NodeFacts {
        arch: std::env::consts::ARCH.to_string(),
        os,
        cpu_load: load_average(),
        boot_time,
    }
}

pub use crate::daemon::node::load_average;

/// `write batch_script ID [FILE]`: as scontrol, the script goes to
/// `slurm-ID.sh` in the current directory unless FILE says otherwise, and
/// `-` prints it.
fn write_batch_script(client: &Client, id: &str, file: Option<&str>) -> Result<Outcome, Error> {
    let job: JobId = id
        .parse()
        .map_err(|_| Error::Invalid(format!("Invalid job id specified: {id}")))?;
    let script = client.batch_script(job)?;
    let path = file.map_or_else(|| format!("slurm-{job}.sh"), str::to_string);
    if path == "-" {
        return Ok(Outcome::printed(script));
    }
    std::fs::write(&path, &script).map_err(|e| Error::io("cannot write", &path, e))?;
    Ok(Outcome::printed(format!(
        "batch script for job {job} written to {path}\n"
    )))
}

/// Whether the daemon answers. Never starts one: asking whether the
/// daemon is up must not change the answer.
fn ping(server: Option<&str>, prog: &str) -> Outcome {
    let address = server
        .map(str::to_string)
        .or_else(|| std::env::var(SERVER_ENV).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| paths::default_socket().display().to_string());
    let client = match Client::new(Some(&address)) {
        Ok(client) => client,
        Err(e) => return refused(format!("{prog}: error: {e}")),
    };
    let up = client.health().is_ok();
    Outcome {
        stdout: format!("{}\n", ping_line(&paths::hostname(), up)),
        stderr: Vec::new(),
        code: u8::from(!up),
    }
}

#[derive(Debug, Clone, Copy)]
enum Action<'a> {
    /// `user`: a user hold even when root asks (`uhold`).
    Hold {
        user: bool,
    },
    Release,
    Requeue,
    Update(&'a UpdateRequest),
}

impl Action<'_> {
    /// Whether the action applies to this task of an array named whole:
    /// holds and updates touch only its pending tasks, as in Slurm.
    fn applies_to(self, job: &JobInfo) -> bool {
        match self {
            Action::Requeue => true,
            _ => job.state == JobState::Pending,
        }
    }

    fn apply(self, client: &Client, id: JobId) -> Result<(), Error> {
        match self {
            Action::Hold { user } => client.hold_with(id, &crate::protocol::HoldRequest { user }),
            Action::Release => client.release(id),
            Action::Requeue => client.requeue(id),
            Action::Update(request) => client.update(id, request),
        }
        .map(|_| ())
    }
}

/// Applies an action to each id; reports each failure on its own line and
/// goes on with the other ids.
fn act(client: &Client, ids: &[String], action: Action<'_>, prog: &str) -> Outcome {
    let mut outcome = Outcome::default();
    // scontrol prints what went wrong with a job bare; a daemon that
    // cannot be reached is our own error, with the prefix.
    let mut fail = |line: String, about_the_daemon: bool| {
        outcome.stderr.push(if about_the_daemon {
            format!("{prog}: error: {line}")
        } else {
            line
        });
        outcome.code = 1;
    };
    for text in ids {
        let jobs = match resolve(client, text) {
            Ok(jobs) => jobs,
            Err(Lookup::NoSuchJob) => {
                let mut line = format!("Invalid job id specified for job {text}");
                if matches!(action, Action::Hold { .. } | Action::Release) {
                    // scontrol's hold and release end with slurm_perror's
                    // line too (both go through its suspend call).
                    line.push_str("\nslurm_suspend error: Invalid job id specified");
                }
                fail(line, false);
                continue;
            }
            Err(Lookup::Failed(e)) => {
                fail(e.to_string(), e.is_unreachable());
                if matches!(e, Error::Unreachable { .. } | Error::Untrusted(_)) {
                    break;
                }
                continue;
            }
        };
        // A task named alone gets the action whatever its state (the
        // daemon says why it cannot); an array named whole gets it on the
        // tasks it applies to, or on its first so the daemon says why not.
        let applicable: Vec<&JobInfo> = jobs.iter().filter(|j| action.applies_to(j)).collect();
        let chosen = if jobs.len() > 1 && !applicable.is_empty() {
            applicable
        } else {
            jobs.iter().take(1).collect()
        };
        for job in chosen {
            // Holding a running job does nothing and says nothing, exit
            // 0 (live Slurm 22.05).
            if matches!(action, Action::Hold { .. }) && job.state == JobState::Running {
                continue;
            }
            if let Err(e) = action.apply(client, job.job_id) {
                fail(describe_failure(&e, job), e.is_unreachable());
                if matches!(e, Error::Unreachable { .. } | Error::Untrusted(_)) {
                    return outcome;
                }
            }
        }
    }
    outcome
}

/// The daemon's message about a job, naming it as Slurm does (`12_3`).
fn describe_failure(error: &Error, job: &JobInfo) -> String {
    let display = job.display_id();
    match error {
        e if e.is_not_found() => format!("Invalid job id specified for job {display}"),
        Error::Api { message, .. } => {
            let suffix = format!(" for job {}", job.job_id);
            match message.strip_suffix(&suffix) {
                Some(start) => format!("{start} for job {display}"),
                None => format!("{message} for job {display}"),
            }
        }
        other => other.to_string(),
    }
}

/// The Slurm names `install-slurm-links` creates, and their targets.
pub const SLURM_LINKS: [(&str, &str); 10] = [
    ("sbatch", "cbatch"),
    ("squeue", "cqueue"),
    ("scancel", "ccancel"),
    ("sacct", "cacct"),
    ("scontrol", "ccontrol"),
    ("sinfo", "cinfo"),
    ("srun", "crun"),
    ("sdiag", "cdiag"),
    ("sprio", "cprio"),
    ("sshare", "cshare"),
];

fn install_links_command(dir: &Path, prog: &str) -> Outcome {
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .and_then(|dir| dir.canonicalize().ok());
    let Some(bin_dir) = bin_dir else {
        return refused(format!(
            "{prog}: error: cannot tell where the ccontrol executable is"
        ));
    };
    match install_slurm_links(dir, &bin_dir) {
        Ok(lines) => Outcome::printed(lines.concat()),
        Err(errors) => Outcome {
            stderr: errors
                .into_iter()
                .map(|e| format!("{prog}: error: {e}"))
                .collect(),
            code: 1,
            ..Outcome::default()
        },
    }
}

/// Creates `dir` if needed and links each Slurm name in it to the Conductor
/// binary in `bin_dir`. A link there already is replaced when it points to
/// that binary's name; anything else stops the whole installation before
/// any link is made. Returns one line per link made.
pub fn install_slurm_links(dir: &Path, bin_dir: &Path) -> Result<Vec<String>, Vec<String>> {
    let mut conflicts = Vec::new();
    let mut replace = Vec::new();
    for (slurm, ours) in SLURM_LINKS {
        let link = dir.join(slurm);
        match std::fs::symlink_metadata(&link) {
            Err(_) => replace.push(false),
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&link).unwrap_or_default();
                if target.file_name() == Some(std::ffi::OsStr::new(ours)) {
                    replace.push(true);
                } else {
                    conflicts.push(format!(
                        "{} is a link to {}, not one ccontrol made; remove it first",
                        link.display(),
                        target.display()
                    ));
                }
            }
            Ok(_) => conflicts.push(format!(
                "{} exists and is not a link; not overwriting it",
                link.display()
            )),
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| vec![format!("cannot create {}: {e}", dir.display())])?;
    let mut made = Vec::new();
    for ((slurm, ours), existed) in SLURM_LINKS.into_iter().zip(replace) {
        let link = dir.join(slurm);
        let target = bin_dir.join(ours);
        if existed {
            std::fs::remove_file(&link)
                .map_err(|e| vec![format!("cannot replace {}: {e}", link.display())])?;
        }
        std::os::unix::fs::symlink(&target, &link)
            .map_err(|e| vec![format!("cannot create {}: {e}", link.display())])?;
        made.push(format!("{} -> {}\n", link.display(), target.display()));
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    fn parse(text: &str) -> Result<Command, String> {
        Command::parse(&words(text))
    }

    #[test]
    fn show_accepts_slurm_s_spellings() {
        assert_eq!(
            parse("show job 12"),
            Ok(Command::ShowJobs(Some("12".into())))
        );
        assert_eq!(
            parse("show jobid 12_3"),
            Ok(Command::ShowJobs(Some("12_3".into())))
        );
        assert_eq!(parse("SHOW JOBS"), Ok(Command::ShowJobs(None)));
        assert_eq!(parse("show node"), Ok(Command::ShowNode(None)));
        assert_eq!(
            parse("show partition normal"),
            Ok(Command::ShowPartition(Some("normal".into())))
        );
        assert_eq!(parse("show config"), Ok(Command::ShowConfig));
        assert_eq!(parse("sho part"), Ok(Command::ShowPartition(None)));
        assert!(parse("show").is_err());
        assert_eq!(
            parse("show bogus"),
            Err("invalid entity:bogus for keyword:show".into())
        );
        assert_eq!(
            parse("frobnicate"),
            Err("invalid keyword: frobnicate".into())
        );
    }

    #[test]
    fn actions_take_spaced_and_comma_lists() {
        assert_eq!(
            parse("hold 1,2 3"),
            Ok(Command::Hold {
                ids: words("1 2 3"),
                user: false
            })
        );
        assert_eq!(
            parse("uhold 4"),
            Ok(Command::Hold {
                ids: words("4"),
                user: true
            })
        );
        assert_eq!(parse("release 5_1"), Ok(Command::Release(words("5_1"))));
        assert_eq!(parse("requeue 6"), Ok(Command::Requeue(words("6"))));
        assert_eq!(
            parse("hold"),
            Err("too few arguments for keyword:hold".into())
        );
    }

    #[test]
    fn update_maps_keys_to_the_request() {
        let Ok(Command::Update { ids, request, .. }) = parse(
            "update JobId=7,8 TimeLimit=1-2:30 Name=x Priority=9 Nice=-5 NumCPUs=3-4 \
             MinMemoryNode=2G Comment=hi",
        ) else {
            panic!("parses");
        };
        assert_eq!(ids, words("7 8"));
        assert_eq!(
            request,
            UpdateRequest {
                name: Some("x".into()),
                time_limit: Some(95_400),
                nice: Some(-5),
                priority: Some(9),
                cpus: Some(3),
                memory_mb: Some(2048),
                comment: Some("hi".into()),
                begin_time: None,
            }
        );
        let Ok(Command::Update { request, .. }) = parse("update jobid=1 timelimit=UNLIMITED")
        else {
            panic!("parses");
        };
        assert_eq!(request.time_limit, Some(0));
        assert_eq!(
            parse("update JobId=1 TimeLimit=abc"),
            Err("Invalid TimeLimit value".into())
        );
        assert_eq!(
            parse("update JobId=1 Partition=x"),
            Err("Update of this parameter is not supported: Partition=x".into())
        );
        assert!(parse("update TimeLimit=5").is_err());
        assert_eq!(parse("update JobId=1"), Err("No changes specified".into()));
        assert_eq!(
            parse("update JobId=1 StartTime=now+5m"),
            Err("Invalid time specification (pos=4): now+5m\nNo changes specified".into())
        );
        let Ok(Command::Update { ignored, .. }) = parse("update JobId=1 StartTime=x Comment=c")
        else {
            panic!("an update with a comment");
        };
        assert_eq!(ignored, ["Invalid time specification (pos=0): x"]);
    }

    #[test]
    fn start_times_are_local() {
        let now = Local
            .with_ymd_and_hms(2026, 1, 5, 12, 0, 0)
            .earliest()
            .expect("valid");
        let local = |y, mo, d, h, mi, s| {
            Local
                .with_ymd_and_hms(y, mo, d, h, mi, s)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        };
        assert_eq!(
            parse_start_time("2026-02-01T10:30:05", now).ok(),
            local(2026, 2, 1, 10, 30, 5)
        );
        assert_eq!(
            parse_start_time("2026-02-01T10:30", now).ok(),
            local(2026, 2, 1, 10, 30, 0)
        );
        assert_eq!(
            parse_start_time("2026-02-01", now).ok(),
            local(2026, 2, 1, 0, 0, 0)
        );
        assert_eq!(
            parse_start_time("13:00", now).ok(),
            local(2026, 1, 5, 13, 0, 0)
        );
        assert_eq!(
            parse_start_time("11:00", now).ok(),
            local(2026, 1, 6, 11, 0, 0)
        );
        assert_eq!(
            parse_start_time("now+2hours", now).ok(),
            local(2026, 1, 5, 14, 0, 0)
        );
        assert_eq!(
            parse_start_time("now+30", now).ok(),
            local(2026, 1, 5, 12, 0, 30)
        );
        assert_eq!(parse_start_time("garbage", now).ok(), None);
        // Slurm has no abbreviated units (`--begin` and cacct agree).
        assert_eq!(parse_start_time("now+5m", now).ok(), None);
    }

    #[test]
    fn links_are_made_replaced_and_never_overwrite_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let links = dir.path().join("new/bin");
        let made = install_slurm_links(&links, Path::new("/opt/conductor/bin")).expect("made");
        assert_eq!(made.len(), SLURM_LINKS.len());
        assert_eq!(
            made[0],
            format!("{}/sbatch -> /opt/conductor/bin/cbatch\n", links.display())
        );
        assert_eq!(
            std::fs::read_link(links.join("sinfo")).ok(),
            Some(PathBuf::from("/opt/conductor/bin/cinfo"))
        );
        // Again, from elsewhere: our links are replaced.
        install_slurm_links(&links, Path::new("/usr/local/bin")).expect("replaced");
        assert_eq!(
            std::fs::read_link(links.join("srun")).ok(),
            Some(PathBuf::from("/usr/local/bin/crun"))
        );
        // A real file stops everything before anything changes.
        std::fs::remove_file(links.join("sacct")).expect("remove");
        std::fs::write(links.join("sacct"), "#!/bin/sh\n").expect("write");
        let errors = install_slurm_links(&links, Path::new("/elsewhere")).expect_err("refused");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("exists and is not a link"), "{errors:?}");
        assert_eq!(
            std::fs::read_link(links.join("sbatch")).ok(),
            Some(PathBuf::from("/usr/local/bin/cbatch"))
        );
    }
}
