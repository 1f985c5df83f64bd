//! `cbatch` (sbatch): reads the script, applies its `#SBATCH` directives
//! under the command line, and builds the submission.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{Connection, Outcome, getopt, print_stdout};
use crate::directives::directive_words;
use crate::error::{Error, Result};
use crate::format::array::{LARGEST_MAX_ARRAY_SIZE, parse_array};
use crate::format::dependency::parse_dependency;
use crate::format::duration::parse_time_limit;
use crate::format::job_text::timestamp;
use crate::format::memory::parse_memory_mb;
use crate::format::signal::parse_signal;
use crate::format::time::{Toward, parse_time};
use crate::protocol::{OutputStream, SignalScope, SubmitRequest, WarnSignal};

/// Submit a batch script to Conductor (like sbatch).
///
/// The script comes from the file argument, from standard input, or from
/// --wrap. `#SBATCH` lines at its top are read as options; `SBATCH_*`
/// environment variables override them, and the command line overrides both.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "cbatch", version, max_term_width = 100)]
pub struct CbatchArgs {
    /// Job name [default: the script's file name; `sbatch` for stdin; `wrap` for --wrap]
    #[arg(short = 'J', long = "job-name", value_name = "NAME")]
    pub job_name: Option<String>,

    /// File for the job's stdout, with %j %J %A %a %x %u %N %% patterns [default: slurm-%j.out]
    #[arg(short = 'o', long, value_name = "PATTERN")]
    pub output: Option<String>,

    /// File for the job's stderr [default: the stdout file]
    #[arg(short = 'e', long, value_name = "PATTERN")]
    pub error: Option<String>,

    /// File for the job's stdin [default: /dev/null]
    #[arg(short = 'i', long, value_name = "PATTERN")]
    pub input: Option<String>,

    /// Truncate or append to the output files: truncate (default) or append
    #[arg(long = "open-mode", value_name = "MODE")]
    pub open_mode: Option<String>,

    /// CPUs per task
    #[arg(short = 'c', long = "cpus-per-task", value_name = "NCPUS")]
    pub cpus_per_task: Option<String>,

    /// Number of tasks; CPUs allocated = ntasks × cpus-per-task
    #[arg(short = 'n', long, value_name = "N")]
    pub ntasks: Option<String>,

    /// Tasks per node; on one node, the number of tasks
    #[arg(long = "ntasks-per-node", value_name = "N")]
    pub ntasks_per_node: Option<String>,

    /// Nodes: 1 (or 1-N) is all a single node can give
    #[arg(short = 'N', long, value_name = "MIN[-MAX]")]
    pub nodes: Option<String>,

    /// Memory for the job: 500M, 4G, or MiB as a plain number; 0 = all of the node
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,

    /// Memory per allocated CPU
    #[arg(long = "mem-per-cpu", value_name = "SIZE")]
    pub mem_per_cpu: Option<String>,

    /// Memory per GPU (recorded)
    #[arg(long = "mem-per-gpu", value_name = "SIZE")]
    pub mem_per_gpu: Option<String>,

    /// GPUs for the job: N or TYPE:N
    #[arg(short = 'G', long, value_name = "[TYPE:]N")]
    pub gpus: Option<String>,

    /// GPUs per node: N or TYPE:N
    #[arg(long = "gpus-per-node", value_name = "[TYPE:]N")]
    pub gpus_per_node: Option<String>,

    /// GPUs per task: N or TYPE:N
    #[arg(long = "gpus-per-task", value_name = "[TYPE:]N")]
    pub gpus_per_task: Option<String>,

    /// Generic resources: gpu, gpu:N or gpu:TYPE:N
    #[arg(long, value_name = "LIST")]
    pub gres: Option<String>,

    /// CPUs per GPU (recorded)
    #[arg(long = "cpus-per-gpu", value_name = "N")]
    pub cpus_per_gpu: Option<String>,

    /// Take the whole node's CPUs and GPUs
    #[arg(long, value_name = "user|mcs|topo", num_args = 0..=1, default_missing_value = "")]
    pub exclusive: Option<String>,

    /// Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED
    #[arg(short = 't', long, value_name = "TIME", allow_hyphen_values = true)]
    pub time: Option<String>,

    /// Minimum time limit (recorded)
    #[arg(long = "time-min", value_name = "TIME")]
    pub time_min: Option<String>,

    /// Partition [default: the node's one partition]
    #[arg(short = 'p', long, value_name = "NAME")]
    pub partition: Option<String>,

    /// Working directory of the job [default: the current directory]
    #[arg(short = 'D', long, value_name = "DIR")]
    pub chdir: Option<String>,

    /// Job array indices: 0-9, 1,3,5, 1-9:2, with %N to run at most N at once
    #[arg(short = 'a', long, value_name = "INDICES")]
    pub array: Option<String>,

    /// Start only after these jobs: afterok:ID[:ID], afterany, afternotok, after[+min], singleton; ',' = all, '?' = any
    #[arg(short = 'd', long, value_name = "LIST")]
    pub dependency: Option<String>,

    /// Cancel the job when its dependency can never be satisfied: yes or no
    #[arg(long = "kill-on-invalid-dep", value_name = "yes|no")]
    pub kill_on_invalid_dep: Option<String>,

    /// Submit the job held; `ccontrol release` lets it run
    #[arg(short = 'H', long)]
    pub hold: bool,

    /// Start no earlier than: now+1hour, 16:00, 2026-12-24T08:00, tomorrow, ...
    #[arg(short = 'b', long, value_name = "TIME")]
    pub begin: Option<String>,

    /// Environment given to the job: ALL (default), NONE, or [ALL,]VAR[=value],...
    #[arg(long, value_name = "ALL|NONE|VARS")]
    pub export: Option<String>,

    /// File of NUL-separated NAME=value pairs added to the job's environment
    #[arg(long = "export-file", value_name = "FILE")]
    pub export_file: Option<String>,

    /// Lower the job's priority by this much (default 100)
    #[arg(long, value_name = "ADJUSTMENT", num_args = 0..=1, default_missing_value = "100", allow_hyphen_values = true)]
    pub nice: Option<String>,

    /// Requested priority (recorded)
    #[arg(long, value_name = "N")]
    pub priority: Option<String>,

    /// Signal to send before the time limit: [B:]SIG[@SECONDS] (default 60 s)
    #[arg(long, value_name = "[B:]SIG[@SECS]")]
    pub signal: Option<String>,

    /// A comment kept with the job
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,

    /// Account (recorded)
    #[arg(short = 'A', long, value_name = "NAME")]
    pub account: Option<String>,

    /// Quality of service (recorded)
    #[arg(short = 'q', long, value_name = "NAME")]
    pub qos: Option<String>,

    /// Workload characterization key (recorded)
    #[arg(long, value_name = "KEY")]
    pub wckey: Option<String>,

    /// Clusters (recorded; there is one)
    #[arg(short = 'M', long, value_name = "NAMES")]
    pub clusters: Option<String>,

    /// Required node features (recorded)
    #[arg(short = 'C', long, value_name = "LIST")]
    pub constraint: Option<String>,

    /// Nodes to avoid (recorded)
    #[arg(short = 'x', long, value_name = "NODES")]
    pub exclude: Option<String>,

    /// Nodes to use (recorded)
    #[arg(short = 'w', long, value_name = "NODES")]
    pub nodelist: Option<String>,

    /// Reservation (recorded)
    #[arg(long, value_name = "NAME")]
    pub reservation: Option<String>,

    /// Mail events (recorded; no mail is sent)
    #[arg(long = "mail-type", value_name = "TYPES")]
    pub mail_type: Option<String>,

    /// Mail recipient (recorded; no mail is sent)
    #[arg(long = "mail-user", value_name = "USER")]
    pub mail_user: Option<String>,

    /// Let the job be requeued (recorded)
    #[arg(long)]
    pub requeue: bool,

    /// Do not requeue the job (recorded)
    #[arg(long = "no-requeue")]
    pub no_requeue: bool,

    /// Share the node with other jobs (recorded)
    #[arg(short = 's', long)]
    pub oversubscribe: bool,

    /// Resource limits to propagate (recorded)
    #[arg(long, value_name = "RLIMITS", num_args = 0..=1, default_missing_value = "ALL")]
    pub propagate: Option<String>,

    /// Load the user's login environment (recorded)
    #[arg(long = "get-user-env", value_name = "TIMEOUT", num_args = 0..=1, default_missing_value = "")]
    pub get_user_env: Option<String>,

    /// Check the job and say when it would start; submit nothing
    #[arg(long = "test-only")]
    pub test_only: bool,

    /// Print only the job id
    #[arg(long)]
    pub parsable: bool,

    /// Print nothing on success
    #[arg(short = 'Q', long)]
    pub quiet: bool,

    /// More messages (accepted)
    #[arg(short = 'v', long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Wait for the job to end; exit with its exit code (1 if a signal ended it)
    #[arg(short = 'W', long)]
    pub wait: bool,

    /// Wait as --wait does, printing the job's output as it writes it (Conductor's own; see clog)
    #[arg(long)]
    pub follow: bool,

    /// Run this shell command as the job's script
    #[arg(long, value_name = "COMMAND")]
    pub wrap: Option<String>,

    #[command(flatten)]
    pub connection: Connection,

    /// The script and the arguments passed to it
    #[arg(value_name = "SCRIPT [ARGS]", trailing_var_arg = true)]
    pub script: Vec<String>,
}

/// `SBATCH_*` variables that stand for an option with a value.
const ENV_OPTIONS: [(&str, &str); 27] = [
    ("SBATCH_JOB_NAME", "--job-name"),
    ("SBATCH_PARTITION", "--partition"),
    ("SBATCH_TIMELIMIT", "--time"),
    ("SBATCH_OUTPUT", "--output"),
    ("SBATCH_ERROR", "--error"),
    ("SBATCH_INPUT", "--input"),
    ("SBATCH_ACCOUNT", "--account"),
    ("SBATCH_QOS", "--qos"),
    ("SBATCH_ARRAY_INX", "--array"),
    ("SBATCH_MEM_PER_NODE", "--mem"),
    ("SBATCH_MEM_PER_CPU", "--mem-per-cpu"),
    ("SBATCH_MEM_PER_GPU", "--mem-per-gpu"),
    ("SBATCH_GRES", "--gres"),
    ("SBATCH_GPUS", "--gpus"),
    ("SBATCH_GPUS_PER_NODE", "--gpus-per-node"),
    ("SBATCH_GPUS_PER_TASK", "--gpus-per-task"),
    ("SBATCH_CPUS_PER_GPU", "--cpus-per-gpu"),
    ("SBATCH_EXPORT", "--export"),
    ("SBATCH_OPEN_MODE", "--open-mode"),
    ("SBATCH_SIGNAL", "--signal"),
    ("SBATCH_WCKEY", "--wckey"),
    ("SBATCH_RESERVATION", "--reservation"),
    ("SBATCH_CONSTRAINT", "--constraint"),
    ("SBATCH_CLUSTERS", "--clusters"),
    ("SLURM_CLUSTERS", "--clusters"),
    ("SBATCH_DEPENDENCY", "--dependency"),
    ("SBATCH_BEGIN", "--begin"),
];

/// `SBATCH_*` variables that stand for a flag: on when empty, `yes`, or a
/// non-zero number.
const ENV_FLAGS: [(&str, &str); 5] = [
    ("SBATCH_EXCLUSIVE", "--exclusive"),
    ("SBATCH_NO_REQUEUE", "--no-requeue"),
    ("SBATCH_REQUEUE", "--requeue"),
    ("SBATCH_WAIT", "--wait"),
    ("SBATCH_HOLD", "--hold"),
];

/// Runs cbatch: builds the submission and sends it, or with
/// `--test-only` asks when it would start. A refusal is worded as sbatch
/// words it and exits with sbatch's status for it ([`exit_code_of`]).
pub fn run(prog: &str, args: CbatchArgs) -> Outcome {
    submit(prog, args).unwrap_or_else(|error| Outcome {
        code: exit_code_of(&error),
        ..Outcome::failure(prog, &error)
    })
}

fn submit(prog: &str, args: CbatchArgs) -> Result<Outcome> {
    let client = args.connection.client()?;
    let submission = args.into_submission(&mut std::io::stdin().lock())?;
    if submission.test_only {
        let estimate = client
            .test_submit(&submission.request)
            .map_err(|e| Error::Other(format!("allocation failure: {e}")))?;
        return Ok(Outcome {
            stderr: vec![format!(
                "{prog}: Job {} to start at {} using {} processors on nodes {} in partition {}",
                estimate.job_id,
                timestamp(Some(estimate.start_time)),
                estimate.cpus,
                estimate.node,
                estimate.partition
            )],
            ..Outcome::default()
        });
    }
    let id = client
        .submit(&submission.request)
        .map_err(|e| Error::Other(submission_failed(&e.to_string())))?;
    let said = match (submission.quiet, submission.parsable) {
        (true, _) => String::new(),
        (false, true) => format!("{id}\n"),
        (false, false) => format!("Submitted batch job {id}\n"),
    };
    if !submission.wait {
        return Ok(Outcome::printed(said));
    }
    // The id is said before the wait, which may be long, as sbatch says it.
    print_stdout(&said);
    if submission.follow {
        crate::cli::clog::write_output(&client, id, OutputStream::Stdout, true)?;
    }
    Ok(Outcome::status(wait_for_end(&client, id)?))
}

/// A submission ready to send, with how cbatch should report it.
#[derive(Debug, Clone)]
pub struct Submission {
    pub request: SubmitRequest,
    /// Print the bare id.
    pub parsable: bool,
    /// Print nothing on success.
    pub quiet: bool,
    /// Wait for the job to end.
    pub wait: bool,
    /// While waiting, print the job's output as it comes.
    pub follow: bool,
    /// Only say when the job would start.
    pub test_only: bool,
}

impl CbatchArgs {
    /// Builds the submission: reads the script (from `stdin` when no file
    /// or `--wrap` is given), checks it like sbatch, applies its directives
    /// and the `SBATCH_*` variables under these options, and captures the
    /// environment.
    pub fn into_submission(self, stdin: &mut dyn Read) -> Result<Submission> {
        let environment: BTreeMap<String, String> = std::env::vars().collect();
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", ".", e))?;
        let source = self.read_script(&cwd, stdin)?;
        check_script(&source.text)?;
        let directives = parse_directives(&source.text)?;
        let from_env = parse_environment(&environment)?;
        let options = self.over(from_env.over(directives));
        options.build(source, cwd, environment)
    }

    fn build(
        self,
        source: ScriptSource,
        cwd: PathBuf,
        environment: BTreeMap<String, String>,
    ) -> Result<Submission> {
        let work_dir = match &self.chdir {
            Some(dir) => cwd.join(dir),
            None => cwd.clone(),
        };
        // A directory that does not exist is the job's failure, not sbatch's:
        // it ends FAILED (JobLaunchFailure, 0:53), as in Slurm.
        if let Some(nodes) = &self.nodes {
            check_nodes(nodes)?;
        }
        let ntasks_per_node = count("ntasks-per-node", self.ntasks_per_node.as_deref())?;
        let ntasks = count("ntasks", self.ntasks.as_deref())?
            .or(ntasks_per_node)
            .unwrap_or(1);
        let cpus_per_task = count("cpus-per-task", self.cpus_per_task.as_deref())?.unwrap_or(1);
        let memory_mb = self.mem.as_deref().map(parse_memory_mb).transpose()?;
        let memory_per_cpu_mb = self
            .mem_per_cpu
            .as_deref()
            .map(parse_memory_mb)
            .transpose()?;
        let memory_options = [&self.mem, &self.mem_per_cpu, &self.mem_per_gpu];
        if memory_options.iter().filter(|o| o.is_some()).count() > 1 {
            return Err(Error::Fatal(crate::error::MEMORY_OPTIONS_EXCLUSIVE.into()));
        }
        let gpus = self.gpu_count(ntasks)?;
        // --mem-per-gpu books (and limits) memory for the job's GPUs, as a
        // whole-job figure; without GPUs it books nothing, as in Slurm.
        let memory_per_gpu_mb = self
            .mem_per_gpu
            .as_deref()
            .map(parse_memory_mb)
            .transpose()?;
        let memory_mb = match (memory_mb, memory_per_cpu_mb, memory_per_gpu_mb) {
            (None, None, Some(per_gpu)) if gpus > 0 => {
                Some(per_gpu.saturating_mul(u64::from(gpus)))
            }
            (memory_mb, ..) => memory_mb,
        };
        let time_limit = match self.time.as_deref() {
            Some(text) => parse_time_limit(text)?,
            None => None,
        };
        // Slurm's controller refuses these, so they read as its refusals.
        let refused = |e: Error| Error::Invalid(submission_failed(&e.to_string()));
        if let Some(array) = &self.array {
            // The form only: the daemon holds its tasks to its own limit.
            parse_array(array, LARGEST_MAX_ARRAY_SIZE).map_err(refused)?;
        }
        if let Some(dependency) = &self.dependency {
            parse_dependency(dependency).map_err(refused)?;
        }
        let begin_time = self
            .begin
            .as_deref()
            .map(|text| parse_time(text, chrono::Local::now(), Toward::Future))
            .transpose()
            .map_err(Error::InvalidBegin)?
            .map(|time| time.with_timezone(&chrono::Utc));
        let kill_on_invalid_dep = match self.kill_on_invalid_dep.as_deref() {
            None | Some("no") => false,
            Some("yes") => true,
            Some(_) => {
                return Err(Error::Invalid(
                    "Invalid --kill-on-invalid-dep specification".into(),
                ));
            }
        };
        let append_output = match self.open_mode.as_deref() {
            None | Some("truncate") => false,
            Some("append") => true,
            Some(_) => return Err(Error::Invalid("Invalid --open-mode specification".into())),
        };
        let nice = match self.nice.as_deref() {
            None => 0,
            Some(text) => text
                .parse::<i32>()
                .map_err(|_| Error::Invalid(format!("Invalid --nice value: {text}")))?,
        };
        let warn_signal = self.signal.as_deref().map(parse_warn_signal).transpose()?;
        let stdout = self
            .output
            .clone()
            .or_else(|| self.array.as_ref().map(|_| "slurm-%A_%a.out".to_string()));
        let job_environment = export_environment(
            &environment,
            self.export.as_deref(),
            self.export_file.as_deref(),
        )?;
        let recorded_options = self.recorded_options();
        let request = SubmitRequest {
            name: self.job_name.clone().unwrap_or(source.default_name),
            script: source.text,
            args: source.args,
            work_dir,
            submit_dir: cwd,
            stdout,
            stderr: self.error.clone(),
            ntasks,
            cpus_per_task,
            memory_mb,
            gpus,
            time_limit,
            partition: self.partition.clone(),
            environment: job_environment,
            command: source.command,
            hold: self.hold,
            begin_time,
            dependency: self.dependency.clone(),
            kill_on_invalid_dep,
            array: self.array.clone(),
            nice,
            exclusive: self.exclusive.is_some(),
            memory_per_cpu_mb,
            append_output,
            stdin: self.input.clone(),
            warn_signal,
            ntasks_per_node,
            ntasks_given: self.ntasks.is_some(),
            cpus_per_task_given: self.cpus_per_task.is_some(),
            comment: self.comment.clone(),
            account: self.account.clone(),
            qos: self.qos.clone(),
            wckey: self.wckey.clone(),
            export: self.export.clone(),
            recorded_options,
            origin: crate::protocol::Origin::Cli,
        };
        Ok(Submission {
            request,
            parsable: self.parsable,
            quiet: self.quiet,
            wait: self.wait || self.follow,
            follow: self.follow,
            test_only: self.test_only,
        })
    }

    /// The GPUs asked for by `--gpus`, `--gpus-per-node`, `--gpus-per-task`
    /// or `--gres=gpu[:type]:N`; on one node these all count the same GPUs.
    fn gpu_count(&self, ntasks: u32) -> Result<u32> {
        let count_of = |option: &'static str, text: &str| -> Result<u32> {
            let number = text.rsplit(':').next().unwrap_or(text);
            Ok(count_allowing_zero(option, Some(number))?.unwrap_or(0))
        };
        let mut gpus = 0;
        if let Some(text) = &self.gpus {
            gpus = gpus.max(count_of("gpus", text)?);
        }
        if let Some(text) = &self.gpus_per_node {
            gpus = gpus.max(count_of("gpus-per-node", text)?);
        }
        if let Some(text) = &self.gpus_per_task {
            gpus = gpus.max(count_of("gpus-per-task", text)?.saturating_mul(ntasks));
        }
        if let Some(gres) = &self.gres {
            for item in gres.split(',') {
                let mut parts = item.split(':');
                if parts.next() != Some("gpu") {
                    return Err(Error::Invalid(
                        "Invalid generic resource (gres) specification".into(),
                    ));
                }
                let count = match parts.next_back() {
                    None => 1,
                    Some(last) => last.parse::<u32>().or_else(|_| {
                        // `gpu:TYPE` alone asks for one GPU of that type.
                        if last.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                            Ok(1)
                        } else {
                            Err(Error::Invalid(
                                "Invalid generic resource (gres) specification".into(),
                            ))
                        }
                    })?,
                };
                gpus = gpus.max(count);
            }
        }
        Ok(gpus)
    }

    /// Options that mean nothing on one node, kept as given.
    fn recorded_options(&self) -> BTreeMap<String, String> {
        let flag = |on: bool| on.then(String::new);
        [
            ("clusters", self.clusters.clone()),
            ("constraint", self.constraint.clone()),
            ("exclude", self.exclude.clone()),
            ("nodelist", self.nodelist.clone()),
            ("nodes", self.nodes.clone()),
            ("reservation", self.reservation.clone()),
            ("mail-type", self.mail_type.clone()),
            ("mail-user", self.mail_user.clone()),
            ("requeue", flag(self.requeue)),
            ("no-requeue", flag(self.no_requeue)),
            ("oversubscribe", flag(self.oversubscribe)),
            ("propagate", self.propagate.clone()),
            ("get-user-env", self.get_user_env.clone()),
            ("time-min", self.time_min.clone()),
            ("cpus-per-gpu", self.cpus_per_gpu.clone()),
            ("mem-per-gpu", self.mem_per_gpu.clone()),
            ("priority", self.priority.clone()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name.to_string(), v)))
        .collect()
    }

    fn read_script(&self, cwd: &Path, stdin: &mut dyn Read) -> Result<ScriptSource> {
        if let Some(command) = &self.wrap {
            if !self.script.is_empty() {
                return Err(Error::Invalid(
                    "Script arguments not permitted with --wrap option".into(),
                ));
            }
            return Ok(ScriptSource {
                text: format!(
                    "#!/bin/sh\n# This script was created by sbatch --wrap.\n\n{command}\n"
                ),
                args: Vec::new(),
                default_name: "wrap".into(),
                command: None,
            });
        }
        let Some((file, args)) = self.script.split_first() else {
            let mut text = String::new();
            stdin
                .read_to_string(&mut text)
                .map_err(|cause| Error::ScriptUnreadable {
                    path: "standard input".into(),
                    cause,
                })?;
            return Ok(ScriptSource {
                text,
                args: Vec::new(),
                default_name: "sbatch".into(),
                command: None,
            });
        };
        let path = locate_script(file, cwd, self.chdir.as_deref());
        let text = if path == Path::new("/dev/stdin") || file == "-" {
            let mut text = String::new();
            stdin.read_to_string(&mut text).map(|_| text)
        } else {
            std::fs::read(&path).and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")
                })
            })
        }
        .map_err(|cause| Error::ScriptUnreadable {
            path: PathBuf::from(file),
            cause,
        })?;
        let default_name = Path::new(file)
            .file_name()
            .map_or_else(|| "sbatch".into(), |n| n.to_string_lossy().into_owned());
        let from_stdin = path == Path::new("/dev/stdin") || file == "-";
        Ok(ScriptSource {
            text,
            args: args.to_vec(),
            default_name,
            command: (!from_stdin).then_some(path),
        })
    }

    /// These options over `lower` ones: each option given here wins.
    fn over(self, lower: CbatchArgs) -> CbatchArgs {
        macro_rules! overlay {
            (values: $($value:ident),*; flags: $($flag:ident),*) => {
                CbatchArgs {
                    $($value: self.$value.or(lower.$value),)*
                    $($flag: self.$flag || lower.$flag,)*
                    verbose: self.verbose.max(lower.verbose),
                    wrap: self.wrap,
                    connection: self.connection,
                    script: self.script,
                }
            };
        }
        overlay!(
            values: job_name, output, error, input, open_mode, cpus_per_task, ntasks,
                ntasks_per_node, nodes, mem, mem_per_cpu, mem_per_gpu, gpus, gpus_per_node,
                gpus_per_task, gres, cpus_per_gpu, exclusive, time, time_min, partition, chdir,
                array, dependency, kill_on_invalid_dep, begin, export, export_file, nice,
                priority, signal, comment, account, qos, wckey, clusters, constraint, exclude,
                nodelist, reservation, mail_type, mail_user, propagate, get_user_env;
            flags: hold, requeue, no_requeue, oversubscribe, test_only, parsable, quiet, wait,
                follow
        )
    }
}

struct ScriptSource {
    text: String,
    args: Vec<String>,
    default_name: String,
    /// The script file, when it came from one.
    command: Option<PathBuf>,
}

/// Waits until the job (every task, for an array) has ended and returns
/// sbatch `--wait`'s exit status: the highest exit code, or 1 when a signal
/// ended a task or it ended without running.
pub fn wait_for_end(client: &crate::Client, id: crate::protocol::JobId) -> Result<i32> {
    let query = crate::protocol::ListQuery {
        ids: Some(id.to_string()),
        states: Some("all".into()),
        // Its end must be seen however short MinJobAge is.
        history: Some(true),
        ..Default::default()
    };
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        let jobs = client.list(&query)?;
        if !jobs.is_empty() && jobs.iter().all(|job| job.state.is_terminal()) {
            return Ok(jobs.iter().map(wait_status).max().unwrap_or(0));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(250));
    }
}

fn wait_status(job: &crate::protocol::JobInfo) -> i32 {
    let exit = job.exit_code.unwrap_or_default();
    match (exit.code, exit.signal, job.state) {
        (_, signal, _) if signal != 0 => 1,
        (0, _, crate::protocol::JobState::Completed) => 0,
        (0, _, _) => 1,
        (code, _, _) => code,
    }
}

/// Options from `SBATCH_*` variables, parsed like the command line.
fn parse_environment(environment: &BTreeMap<String, String>) -> Result<CbatchArgs> {
    let mut words = vec!["cbatch".to_string()];
    for (name, option) in ENV_OPTIONS {
        if let Some(value) = environment.get(name) {
            words.push(format!("{option}={value}"));
        }
    }
    for (name, option) in ENV_FLAGS {
        if let Some(value) = environment.get(name) {
            let on = value.is_empty()
                || value.eq_ignore_ascii_case("yes")
                || value.parse::<i64>().is_ok_and(|n| n != 0);
            if on {
                words.push(option.to_string());
            }
        }
    }
    // Building clap's parser costs more than the rest of the submission's
    // client side: skip it when no SBATCH_ variable is set.
    if words.len() == 1 {
        return Ok(CbatchArgs::default());
    }
    CbatchArgs::try_parse_from(words).map_err(|e| {
        Error::Invalid(format!(
            "Invalid SBATCH_ variable: {}",
            crate::cli::first_line(&e)
        ))
    })
}

/// `-N/--nodes`: one node is all there is.
fn check_nodes(text: &str) -> Result<()> {
    let min = text.split('-').next().unwrap_or(text);
    match min.trim().parse::<u32>() {
        Ok(0 | 1) => Ok(()),
        Ok(_) => Err(Error::Invalid(
            "Batch job submission failed: Requested node configuration is not available".into(),
        )),
        Err(_) => Err(Error::InvalidNumber {
            option: "nodes",
            value: text.to_string(),
        }),
    }
}

/// `--signal=[{R|B}:]<sig>[@<secs>]`.
fn parse_warn_signal(text: &str) -> Result<WarnSignal> {
    let invalid = || Error::Invalid("Invalid --signal specification".into());
    // `R:` (a reservation's end) has no meaning without reservations.
    let (scope, rest) = match text.split_once(':') {
        Some((flags, rest)) if flags.chars().all(|c| c == 'B' || c == 'R') => {
            let scope = if flags.contains('B') {
                SignalScope::BatchShell
            } else {
                SignalScope::Steps
            };
            (scope, rest)
        }
        Some(_) => return Err(invalid()),
        None => (SignalScope::Steps, text),
    };
    let (signal, seconds) = match rest.split_once('@') {
        Some((signal, seconds)) => (signal, seconds.parse::<u64>().map_err(|_| invalid())?),
        None => (rest, 60),
    };
    if seconds > 65_535 {
        return Err(invalid());
    }
    Ok(WarnSignal {
        signal: parse_signal(signal).ok_or_else(invalid)?,
        seconds_before: seconds,
        scope,
    })
}

/// The job's environment per `--export` (and `--export-file`): everything
/// by default; with `NONE` (or a list without `ALL`) only the `SLURM_*`
/// variables and those listed.
fn export_environment(
    environment: &BTreeMap<String, String>,
    export: Option<&str>,
    export_file: Option<&str>,
) -> Result<BTreeMap<String, String>> {
    let mut job = BTreeMap::new();
    let items: Vec<&str> = export
        .map(|e| e.split(',').filter(|i| !i.is_empty()).collect())
        .unwrap_or_default();
    let all = export.is_none() || items.iter().any(|i| i.eq_ignore_ascii_case("ALL"));
    if all {
        job.clone_from(environment);
    } else {
        job.extend(
            environment
                .iter()
                .filter(|(name, _)| name.starts_with("SLURM_"))
                .map(|(n, v)| (n.clone(), v.clone())),
        );
    }
    for item in items {
        if ["ALL", "NONE", "NIL"]
            .iter()
            .any(|w| item.eq_ignore_ascii_case(w))
        {
            continue;
        }
        match item.split_once('=') {
            Some((name, value)) => {
                job.insert(name.to_string(), value.to_string());
            }
            None => {
                if let Some(value) = environment.get(item) {
                    job.insert(item.to_string(), value.clone());
                }
            }
        }
    }
    if let Some(file) = export_file {
        let bytes = std::fs::read(file).map_err(|e| Error::io("cannot read", file, e))?;
        for pair in bytes.split(|b| *b == 0).filter(|p| !p.is_empty()) {
            let text = String::from_utf8_lossy(pair);
            if let Some((name, value)) = text.split_once('=') {
                job.insert(name.to_string(), value.to_string());
            }
        }
    }
    Ok(job)
}

/// Finds the script file as sbatch does: relative to `--chdir` if it is
/// there, else to the current directory, else (a bare name) on PATH.
fn locate_script(file: &str, cwd: &Path, chdir: Option<&str>) -> PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    if let Some(dir) = chdir {
        let candidate = cwd.join(dir).join(path);
        if candidate.is_file() {
            return candidate;
        }
    }
    let in_cwd = cwd.join(path);
    if in_cwd.is_file() || file.contains('/') {
        return in_cwd;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(path))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or(in_cwd)
}

/// sbatch's sanity checks of a script's text.
fn check_script(text: &str) -> Result<()> {
    if text.is_empty() {
        return Err(Error::BadScript("Batch script is empty!"));
    }
    if text.trim().is_empty() {
        return Err(Error::BadScript("Batch script contains only whitespace!"));
    }
    if text.contains('\0') {
        return Err(Error::BadScript("The job script contains a NUL character"));
    }
    if !text.starts_with("#!") {
        return Err(Error::BadScript(
            "This does not look like a batch script.  The first\n\
             line must start with #! followed by the path to an interpreter.\n\
             For instance: #!/bin/sh",
        ));
    }
    if text.contains("\r\n") {
        return Err(Error::BadScript(
            "Batch script contains DOS line breaks (\\r\\n)\n\
             instead of expected UNIX line breaks (\\n).",
        ));
    }
    Ok(())
}

/// A refused submission in sbatch's words: the reason's last line after
/// `Batch job submission failed: `, the lines before it (what could not
/// be had) as they are.
pub fn submission_failed(reason: &str) -> String {
    match reason.rsplit_once('\n') {
        Some((before, last)) => format!("{before}\nBatch job submission failed: {last}"),
        None => format!("Batch job submission failed: {reason}"),
    }
}

/// sbatch's exit code for an error: 255 for what its option parser
/// refuses (an unknown option, a bad `--time`, `--mem` or `--begin`), as
/// live Slurm 22.05 exits; else `$SLURM_EXIT_ERROR`, else 1.
pub fn exit_code_of(error: &Error) -> u8 {
    match error {
        Error::Usage(_)
        | Error::InvalidTime(_)
        | Error::InvalidMemory(_)
        | Error::InvalidBegin(_) => 255,
        _ => std::env::var("SLURM_EXIT_ERROR")
            .ok()
            .and_then(|v| v.parse::<u8>().ok())
            .unwrap_or(1),
    }
}

/// The script's directives, parsed with the command line's own parser.
fn parse_directives(script: &str) -> Result<CbatchArgs> {
    let words = directive_words(script);
    if words.is_empty() {
        return Ok(CbatchArgs::default());
    }
    let prog = crate::cli::invoked_as("cbatch");
    // getopt reads the directives too: the same prefixes, the same refusals.
    let mut command = <CbatchArgs as clap::CommandFactory>::command();
    let words = getopt::resolve_prefixes(&mut command, words.into_iter().map(Into::into).collect())
        .map_err(|a| {
            Error::Usage(getopt::ambiguous_option(
                &prog,
                "cbatch",
                &a.given,
                &a.possibilities,
            ))
        })?;
    let argv = std::iter::once(std::ffi::OsString::from("cbatch")).chain(words);
    let parsed = CbatchArgs::try_parse_from(argv).map_err(|e| {
        // An option sbatch does not know gets getopt's words there too.
        if e.kind() == clap::error::ErrorKind::UnknownArgument
            && let Some(clap::error::ContextValue::String(option)) =
                e.get(clap::error::ContextKind::InvalidArg)
        {
            return Error::Usage(crate::cli::unrecognized_option(&prog, "cbatch", option));
        }
        Error::Invalid(format!(
            "Invalid directive found in batch script: {}",
            crate::cli::first_line(&e)
        ))
    })?;
    if let Some(word) = parsed.script.first() {
        return Err(Error::Invalid(format!(
            "Invalid directive found in batch script: {word}"
        )));
    }
    Ok(parsed)
}

/// A positive count such as `-c 4`, with Slurm's `k` and `m` suffixes.
fn count(option: &'static str, text: Option<&str>) -> Result<Option<u32>> {
    match count_allowing_zero(option, text)? {
        Some(0) => Err(Error::Invalid(format!(
            "Invalid --{option} value: 0 (it must be at least 1)"
        ))),
        other => Ok(other),
    }
}

fn count_allowing_zero(option: &'static str, text: Option<&str>) -> Result<Option<u32>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let invalid = || Error::InvalidNumber {
        option,
        value: text.to_string(),
    };
    let lower = text.trim().to_ascii_lowercase();
    let (digits, factor) = match lower.strip_suffix('k') {
        Some(digits) => (digits, 1024),
        None => match lower.strip_suffix('m') {
            Some(digits) => (digits, 1024 * 1024),
            None => (lower.as_str(), 1),
        },
    };
    let value: u32 = digits.parse().map_err(|_| invalid())?;
    value.checked_mul(factor).map(Some).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> CbatchArgs {
        CbatchArgs::try_parse_from(std::iter::once("cbatch").chain(argv.iter().copied()))
            .expect("valid command line")
    }

    fn submit(argv: &[&str], stdin: &str) -> Result<Submission> {
        args(argv).into_submission(&mut stdin.as_bytes())
    }

    #[test]
    fn the_command_line_wins_over_directives() {
        let script = "#!/bin/sh\n#SBATCH -J fromscript\n#SBATCH --time 5 -c 2\necho\n";
        let sub = submit(&["-c", "3"], script).expect("valid");
        assert_eq!(sub.request.name, "fromscript");
        assert_eq!(sub.request.cpus_per_task, 3);
        assert_eq!(sub.request.time_limit, Some(300));
    }

    #[test]
    fn wrap_builds_sbatch_s_script() {
        let sub = submit(&["--wrap", "echo hi"], "").expect("valid");
        assert_eq!(
            sub.request.script,
            "#!/bin/sh\n# This script was created by sbatch --wrap.\n\necho hi\n"
        );
        assert_eq!(sub.request.name, "wrap");
        assert!(submit(&["--wrap", "true", "x.sh"], "").is_err());
    }

    #[test]
    fn stdin_scripts_are_named_sbatch() {
        let sub = submit(&[], "#!/bin/sh\ntrue\n").expect("valid");
        assert_eq!(sub.request.name, "sbatch");
    }

    #[test]
    fn bad_scripts_and_values_are_refused() {
        assert!(submit(&[], "").is_err());
        assert!(submit(&[], "  \n").is_err());
        assert!(submit(&[], "echo no shebang\n").is_err());
        assert!(submit(&[], "#!/bin/sh\r\ntrue\r\n").is_err());
        assert!(submit(&["-c", "0"], "#!/bin/sh\n").is_err());
        assert!(submit(&["-c", "x"], "#!/bin/sh\n").is_err());
        assert!(submit(&["--mem", "lots"], "#!/bin/sh\n").is_err());
        assert!(submit(&["-t", "soon"], "#!/bin/sh\n").is_err());
        // A missing -D is the job's failure at launch, not sbatch's.
        assert!(submit(&["-D", "/no/such/dir"], "#!/bin/sh\n").is_ok());
        assert!(submit(&[], "#!/bin/sh\n#SBATCH --bogus\n").is_err());
        assert!(submit(&[], "#!/bin/sh\n#SBATCH stray\n").is_err());
    }

    #[test]
    fn counts_take_slurm_suffixes() {
        assert_eq!(count("ntasks", Some("2k")).ok().flatten(), Some(2048));
        assert!(count("ntasks", Some("-1")).is_err());
    }
}
