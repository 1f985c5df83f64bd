//! `crun` (srun). Inside a job it runs a command as a step of that job:
//! as many tasks as srun would run (`-n`, else the job's `SLURM_NTASKS`),
//! each with its rank in `SLURM_PROCID`, on the job's own allocation (no
//! new resources are booked), and says how they ended in srun's words.
//! Outside a job it submits a job whose script is that same step (crun
//! itself, with the same options), and streams the job's output until it
//! ends, as srun allocates and then launches step 0.

mod exits;
mod shape;
mod tasks;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::Parser;

use crate::Client;
use crate::cli::cbatch::CbatchArgs;
use crate::cli::{Connection, Outcome};
use crate::error::{Error, Result};
use crate::format::pattern::{PatternValues, expand};
use crate::protocol::{JobId, JobState, StepEnd, StepStart};

use self::shape::{Asked, JobShape, StepShape, shape_step};
use self::tasks::{Sink, Step, Task};

/// Slurm's KillWait when the daemon cannot be asked for its own.
const DEFAULT_KILL_WAIT: Duration = Duration::from_secs(30);

/// Run a command as a job step inside a job, or as a new job (like srun).
///
/// Inside a batch job (SLURM_JOB_ID is set) the command runs at once on the
/// job's allocation, one copy per task (--ntasks, else the job's tasks).
/// Outside a job, crun submits it as a job, prints its output as it comes,
/// and exits with its exit code.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "crun", version, max_term_width = 100)]
pub struct CrunArgs {
    /// Number of copies (tasks) to run [default: the job's tasks, SLURM_NTASKS]
    #[arg(short = 'n', long, value_name = "N")]
    pub ntasks: Option<String>,

    /// CPUs per task [default: SLURM_CPUS_PER_TASK, else 1]
    #[arg(short = 'c', long = "cpus-per-task", value_name = "NCPUS")]
    pub cpus_per_task: Option<String>,

    /// Memory (a new job only)
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,

    /// Time limit (a new job only)
    #[arg(short = 't', long, value_name = "TIME")]
    pub time: Option<String>,

    /// Job name (a new job only)
    #[arg(short = 'J', long = "job-name", value_name = "NAME")]
    pub job_name: Option<String>,

    /// Partition (a new job only)
    #[arg(short = 'p', long, value_name = "NAME")]
    pub partition: Option<String>,

    /// Working directory
    #[arg(short = 'D', long, value_name = "DIR")]
    pub chdir: Option<String>,

    /// GPUs (a new job only)
    #[arg(short = 'G', long, value_name = "N")]
    pub gpus: Option<String>,

    /// File for each task's stdout, with %j %t %s %N %% patterns [default: the terminal]
    #[arg(short = 'o', long, value_name = "PATTERN")]
    pub output: Option<String>,

    /// File for each task's stderr [default: the terminal]
    #[arg(short = 'e', long, value_name = "PATTERN")]
    pub error: Option<String>,

    /// Put the task number in front of each line of output and errors (`0: `)
    #[arg(short = 'l', long)]
    pub label: bool,

    /// Do not buffer output (crun never does; accepted)
    #[arg(short = 'u', long)]
    pub unbuffered: bool,

    /// Nodes, MIN[-MAX]: the job's one node is all there is
    #[arg(short = 'N', long, value_name = "N")]
    pub nodes: Option<String>,

    /// Tasks per node (ignored, with srun's warning, where -n says otherwise)
    #[arg(long = "ntasks-per-node", value_name = "N")]
    pub ntasks_per_node: Option<String>,

    /// End the step when a task exits non-zero or is killed (0 turns it off)
    #[arg(
        short = 'K',
        long = "kill-on-bad-exit",
        value_name = "0|1",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "1"
    )]
    pub kill_on_bad_exit: Option<String>,

    /// Kill the other tasks this many seconds after the first one ends (0: never)
    #[arg(short = 'W', long = "wait", value_name = "SECONDS")]
    pub wait: Option<String>,

    /// Bind tasks to CPUs (accepted)
    #[arg(long = "cpu-bind", value_name = "TYPE")]
    pub cpu_bind: Option<String>,

    /// Environment for the tasks (accepted; the job's environment is used)
    #[arg(long, value_name = "ALL|NONE|VARS")]
    pub export: Option<String>,

    #[command(flatten)]
    pub connection: Connection,

    /// The command and its arguments
    #[arg(
        value_name = "COMMAND [ARGS]",
        trailing_var_arg = true,
        required = true
    )]
    pub command: Vec<String>,
}

/// Runs crun: inside a job, the command as one of its steps; outside,
/// as a new job whose output is streamed as it comes. The tasks' output
/// and srun's own lines are written as they happen; the outcome holds
/// the exit status, or the error that ended the run.
pub fn run(prog: &str, args: CrunArgs) -> Outcome {
    let result = match current_job() {
        Some(job) => args.run_step(prog, job),
        None => args
            .connection
            .client()
            .and_then(|client| args.run_job(&client)),
    };
    match result {
        Ok(code) => Outcome::status(code),
        Err(error) => Outcome::error(prog, &error),
    }
}

/// The job a process runs in, from its environment.
pub fn current_job() -> Option<u64> {
    std::env::var("SLURM_JOB_ID").ok()?.parse().ok()
}

impl CrunArgs {
    /// Runs the command as a step of job `job`, printing srun's lines under
    /// `prog`; returns srun's exit status (the highest exit code of the
    /// tasks, or 128 + the highest signal if a signal ended any).
    pub fn run_step(&self, prog: &str, job: u64) -> Result<i32> {
        let shape = shape_step(self.asked()?, job_shape(job))?;
        for warning in &shape.warnings {
            eprintln!("{prog}: {warning}");
        }
        let (kill_on_bad_exit, wait) = self.end_rules()?;
        let cwd = match &self.chdir {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_dir().map_err(|e| Error::io("cannot read", ".", e))?,
        };
        let client = self.connection.client()?;
        let start = StepStart {
            name: Path::new(&self.command[0]).file_name().map_or_else(
                || self.command[0].clone(),
                |n| n.to_string_lossy().into_owned(),
            ),
            ntasks: shape.ntasks,
        };
        let reply = client.next_step(JobId(job), &start)?;
        let step = reply.step;
        let node = std::env::var("SLURMD_NODENAME").unwrap_or_else(|_| crate::paths::hostname());
        let mut tasks = self.tasks(job, step, &shape, &node, &cwd)?;
        // Each task enters the step's cgroup between fork and exec; a step
        // without one still runs inside its job's.
        match crate::process::open_cgroup_entries(&reply.cgroup) {
            Ok(entries) if !entries.is_empty() => {
                let entries = std::sync::Arc::new(entries);
                for task in &mut tasks {
                    crate::process::enter_cgroup(&mut task.command, entries.clone());
                }
            }
            Ok(_) => {}
            Err(e) => eprintln!("{prog}: warning: step {job}.{step} runs in its job's cgroup: {e}"),
        }
        let kill_wait = || {
            client
                .config()
                .map_or(DEFAULT_KILL_WAIT, |c| Duration::from_secs(c.kill_wait_secs))
        };
        let status = tasks::run(
            &Step {
                prog,
                node: &node,
                job,
                step,
                kill_on_bad_exit,
                wait,
                kill_wait: &kill_wait,
            },
            tasks,
        )?;
        // For accounting only: a step whose end cannot be recorded still
        // ran, and its exit status is what the batch script sees.
        let end = StepEnd {
            exit_code: status.exit_code(),
            usage: crate::process::children_usage(),
        };
        let _ = client.end_step(JobId(job), step, &end);
        Ok(status.exit_status())
    }

    /// `-K` (else `SLURM_KILL_BAD_EXIT`) and `-W`: whether a bad end of
    /// one task ends the step, and how long the others may run on once the
    /// first has ended.
    fn end_rules(&self) -> Result<(bool, Option<Duration>)> {
        let kill_on_bad_exit = match self.kill_on_bad_exit.as_deref() {
            Some(text) => count("kill-on-bad-exit", text)? != 0,
            None => std::env::var("SLURM_KILL_BAD_EXIT").is_ok_and(|v| v.trim() != "0"),
        };
        let wait = self
            .wait
            .as_deref()
            .map(|text| count("wait", text))
            .transpose()?
            .filter(|secs| *secs > 0)
            .map(|secs| Duration::from_secs(secs.into()));
        Ok((kill_on_bad_exit, wait))
    }

    /// What the command line asks of the step.
    fn asked(&self) -> Result<Asked> {
        let number = |option, text: &Option<String>| -> Result<Option<u32>> {
            text.as_deref().map(|t| positive(option, t)).transpose()
        };
        let nodes = self
            .nodes
            .as_deref()
            .map(|text| {
                let least = text.split('-').next().unwrap_or(text);
                positive("nodes", least).map_err(|_| Error::InvalidNumber {
                    option: "nodes",
                    value: text.to_string(),
                })
            })
            .transpose()?;
        Ok(Asked {
            ntasks: number("ntasks", &self.ntasks)?,
            cpus_per_task: number("cpus-per-task", &self.cpus_per_task)?,
            nodes,
            ntasks_per_node: number("ntasks-per-node", &self.ntasks_per_node)?,
        })
    }

    /// The step's tasks, each with its variables, directory and output.
    fn tasks(
        &self,
        job: u64,
        step: u32,
        shape: &StepShape,
        node: &str,
        cwd: &Path,
    ) -> Result<Vec<Task>> {
        let name = std::env::var("SLURM_JOB_NAME").unwrap_or_default();
        let user = crate::users::user_name(crate::users::current_uid());
        let array = std::env::var("SLURM_ARRAY_JOB_ID")
            .ok()
            .and_then(|a| a.parse().ok())
            .zip(
                std::env::var("SLURM_ARRAY_TASK_ID")
                    .ok()
                    .and_then(|t| t.parse().ok()),
            );
        (0..shape.ntasks)
            .map(|task| {
                let values = PatternValues {
                    job_id: job,
                    array,
                    name: &name,
                    user: &user,
                    node,
                    task,
                    step: Some(step),
                };
                let mut command = Command::new(&self.command[0]);
                command
                    .args(&self.command[1..])
                    .current_dir(cwd)
                    .envs(step_environment(step, task, shape, node))
                    // Each task leads a process group of its own, the
                    // step's, so that a signal for the steps reaches it
                    // and not the batch shell (nor crun, which stays in
                    // the batch shell's group, as srun stays in Slurm's
                    // batch step).
                    .process_group(0)
                    .stdin(if task == 0 {
                        Stdio::inherit()
                    } else {
                        Stdio::null()
                    });
                let stdout = match &self.output {
                    Some(pattern) => Sink::File(open_for_task(cwd, &expand(pattern, &values))?),
                    None => Sink::Stdout,
                };
                let stderr = match &self.error {
                    Some(pattern) => Sink::File(open_for_task(cwd, &expand(pattern, &values))?),
                    None => Sink::Stderr,
                };
                Ok(Task {
                    command,
                    stdout,
                    stderr,
                    label: self.label,
                })
            })
            .collect()
    }

    /// Submits a job whose script runs the command as its step 0 (this same
    /// crun, with the step's options), streams the job's output, and
    /// returns its exit status.
    pub fn run_job(&self, client: &Client) -> Result<i32> {
        // The step's options are refused here, in srun's words, rather
        // than by the step once the job runs.
        self.asked()?;
        self.end_rules()?;
        let scratch = std::env::temp_dir().join(format!(
            "crun-{}-{}",
            crate::users::current_uid(),
            std::process::id()
        ));
        std::fs::create_dir_all(&scratch).map_err(|e| Error::io("cannot create", &scratch, e))?;
        let out_path = scratch.join("stdout");
        let err_path = scratch.join("stderr");
        let mut args = vec!["cbatch".to_string()];
        let mut push = |flag: &str, value: &Option<String>| {
            if let Some(value) = value {
                args.push(format!("{flag}={value}"));
            }
        };
        push("--ntasks", &self.ntasks);
        push("--cpus-per-task", &self.cpus_per_task);
        push("--nodes", &self.nodes);
        push("--ntasks-per-node", &self.ntasks_per_node);
        push("--mem", &self.mem);
        push("--time", &self.time);
        push("--partition", &self.partition);
        push("--chdir", &self.chdir);
        push("--gpus", &self.gpus);
        let name = self.job_name.clone().or_else(|| {
            Path::new(&self.command[0])
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        });
        push("--job-name", &name);
        args.push(format!("--output={}", out_path.display()));
        args.push(format!("--error={}", err_path.display()));
        let mut step = vec![own_path().display().to_string()];
        step.extend(self.step_args());
        args.push(format!("--wrap=exec {}", shell_quote(&step)));
        let submission = CbatchArgs::try_parse_from(args)
            .map_err(|e| Error::Invalid(crate::cli::first_line(&e)))?
            .into_submission(&mut std::io::empty())
            .map_err(allocation_refusal)?;
        let id = client
            .submit(&submission.request)
            .map_err(allocation_refusal)?;
        let result = stream_until_done(client, id, &out_path, &err_path);
        let _ = std::fs::remove_dir_all(&scratch);
        result
    }

    /// The options and command that make the same step inside the job;
    /// what only the job needs (its size, limits, directory) stays out.
    fn step_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (flag, value) in [
            ("--ntasks", &self.ntasks),
            ("--cpus-per-task", &self.cpus_per_task),
            ("--nodes", &self.nodes),
            ("--ntasks-per-node", &self.ntasks_per_node),
            ("--output", &self.output),
            ("--error", &self.error),
            ("--kill-on-bad-exit", &self.kill_on_bad_exit),
            ("--wait", &self.wait),
        ] {
            if let Some(value) = value {
                args.push(format!("{flag}={value}"));
            }
        }
        if self.label {
            args.push("--label".into());
        }
        args.push("--".into());
        args.extend(self.command.iter().cloned());
        args
    }
}

/// A refused submission in srun's words (`Unable to allocate resources:
/// ...`) rather than sbatch's (`Batch job submission failed: ...`).
fn allocation_refusal(error: Error) -> Error {
    let reason = match &error {
        Error::Invalid(text) => text.strip_prefix("Batch job submission failed: "),
        Error::Api { message, .. } => Some(message.as_str()),
        _ => None,
    };
    match reason {
        Some(reason) => Error::Invalid(format!("Unable to allocate resources: {reason}")),
        None => error,
    }
}

/// The job crun runs in, as its environment (the daemon's variables, and
/// srun's inputs) describes it.
fn job_shape(id: u64) -> JobShape {
    let number = |name: &str| -> Option<u32> { std::env::var(name).ok()?.trim().parse().ok() };
    JobShape {
        id,
        cpus: number("SLURM_JOB_CPUS_PER_NODE"),
        nodes: number("SLURM_JOB_NUM_NODES").unwrap_or(1),
        ntasks: number("SLURM_NTASKS"),
        cpus_per_task: number("SLURM_CPUS_PER_TASK"),
        ntasks_per_node: number("SLURM_NTASKS_PER_NODE"),
    }
}

/// This crun, by the path it was started as, so that the job's step runs
/// the same binary under the same name (`srun` where a link named so
/// started it, and its lines say `srun:`).
fn own_path() -> PathBuf {
    let started_as = std::env::args_os().next().map(PathBuf::from);
    if let Some(path) = &started_as {
        if path.components().count() > 1 {
            return std::path::absolute(path).unwrap_or_else(|_| path.clone());
        }
        let search = std::env::var_os("PATH").unwrap_or_default();
        for dir in std::env::split_paths(&search) {
            let candidate = dir.join(path);
            if candidate.is_file() {
                return std::path::absolute(&candidate).unwrap_or(candidate);
            }
        }
    }
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("crun"))
}

/// Follows the job's output files while it runs, then returns its status.
fn stream_until_done(client: &Client, id: JobId, out: &Path, err: &Path) -> Result<i32> {
    let mut out_pos = 0;
    let mut err_pos = 0;
    let mut pause = Duration::from_millis(5);
    loop {
        let job = client.job(id)?;
        out_pos = copy_new(out, out_pos, &mut std::io::stdout());
        err_pos = copy_new(err, err_pos, &mut std::io::stderr());
        if job.state.is_terminal() {
            // The job's last writes are in the files before its end is recorded.
            copy_new(out, out_pos, &mut std::io::stdout());
            copy_new(err, err_pos, &mut std::io::stderr());
            let exit = job.exit_code.unwrap_or_default();
            return Ok(match (exit.code, exit.signal, job.state) {
                (_, signal, _) if signal != 0 => 128 + signal,
                (0, _, JobState::Completed) => 0,
                (0, _, _) => 1,
                (code, _, _) => code,
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Copies what was appended to `path` since `from`; returns the new end.
fn copy_new(path: &Path, from: u64, to: &mut dyn Write) -> u64 {
    let Ok(mut file) = File::open(path) else {
        return from;
    };
    if file.seek(SeekFrom::Start(from)).is_err() {
        return from;
    }
    let mut buffer = Vec::new();
    let read = file.read_to_end(&mut buffer).unwrap_or(0);
    let _ = to.write_all(&buffer);
    let _ = to.flush();
    from + read as u64
}

/// The variables that tell a task who it is, and what its step is.
fn step_environment(
    step: u32,
    task: u32,
    shape: &StepShape,
    node: &str,
) -> BTreeMap<&'static str, String> {
    let ntasks = shape.ntasks.to_string();
    let mut env = BTreeMap::from([
        ("SLURM_STEP_ID", step.to_string()),
        ("SLURM_STEPID", step.to_string()),
        ("SLURM_PROCID", task.to_string()),
        ("SLURM_LOCALID", task.to_string()),
        ("SLURM_NODEID", "0".to_string()),
        ("SLURM_NTASKS", ntasks.clone()),
        ("SLURM_NPROCS", ntasks.clone()),
        ("SLURM_TASKS_PER_NODE", ntasks.clone()),
        ("SLURM_STEP_NUM_TASKS", ntasks.clone()),
        ("SLURM_STEP_NUM_NODES", "1".to_string()),
        ("SLURM_STEP_TASKS_PER_NODE", ntasks),
        ("SLURM_STEP_NODELIST", node.to_string()),
        (
            "SLURM_GTIDS",
            (0..shape.ntasks)
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ]);
    if shape.cpus_per_task_set {
        env.insert("SLURM_CPUS_PER_TASK", shape.cpus_per_task.to_string());
    }
    env
}

/// Opens (appending, creating its directory) a task's output file.
fn open_for_task(cwd: &Path, name: &str) -> Result<File> {
    let path = cwd.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io("cannot open", &path, e))
}

/// A count above zero (`-n 2`), or Slurm's refusal of it.
fn positive(option: &'static str, text: &str) -> Result<u32> {
    match count(option, text)? {
        0 => Err(Error::InvalidNumber {
            option,
            value: text.to_string(),
        }),
        n => Ok(n),
    }
}

/// A count, zero allowed (`-W 0`).
fn count(option: &'static str, text: &str) -> Result<u32> {
    text.trim()
        .parse::<u32>()
        .map_err(|_| Error::InvalidNumber {
            option,
            value: text.to_string(),
        })
}

/// Quotes words for `/bin/sh` so they reach the command unchanged.
fn shell_quote(words: &[String]) -> String {
    words
        .iter()
        .map(|word| {
            if !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_for_the_shell() {
        let words = ["echo", "a b", "it's", "$HOME", ""].map(String::from);
        assert_eq!(shell_quote(&words), r"echo 'a b' 'it'\''s' '$HOME' ''");
    }
}
