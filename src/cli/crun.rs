//! `crun` (srun), minimal and honest. Inside a job it runs a command as a
//! step of that job: `--ntasks` copies, each with its rank in
//! `SLURM_PROCID`, on the job's own allocation (no new resources are
//! booked). Outside a job it submits the command as a job and streams its
//! output until it ends, like `cbatch --wait` with the output attached.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use rustix::process::{Pid, Signal};

use crate::Client;
use crate::cli::cbatch::CbatchArgs;
use crate::error::{Error, Result};
use crate::format::pattern::{PatternValues, expand};
use crate::protocol::{ExitCode, JobId, JobState, StepEnd, StepStart};

/// Run a command as a job step inside a job, or as a new job (like srun).
///
/// Inside a batch job (SLURM_JOB_ID is set) the command runs at once on the
/// job's allocation, --ntasks copies of it. Outside a job, crun submits it
/// as a job, prints its output as it comes, and exits with its exit code.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "crun", version, max_term_width = 100)]
pub struct CrunArgs {
    /// Number of copies (tasks) to run
    #[arg(short = 'n', long, value_name = "N")]
    pub ntasks: Option<String>,

    /// CPUs per task
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

    /// Put the task number in front of each line of output (`0: `)
    #[arg(short = 'l', long)]
    pub label: bool,

    /// Do not buffer output (crun never does; accepted)
    #[arg(short = 'u', long)]
    pub unbuffered: bool,

    /// Nodes: 1 is all there is (accepted)
    #[arg(short = 'N', long, value_name = "N")]
    pub nodes: Option<String>,

    /// Bind tasks to CPUs (accepted)
    #[arg(long = "cpu-bind", value_name = "TYPE")]
    pub cpu_bind: Option<String>,

    /// Environment for the tasks (accepted; the job's environment is used)
    #[arg(long, value_name = "ALL|NONE|VARS")]
    pub export: Option<String>,

    /// Daemon to use: unix:/path, a socket path, http://host:port or https://host:port [env: CONDUCTOR_SERVER]
    #[arg(long, value_name = "ADDRESS")]
    pub server: Option<String>,

    /// The command and its arguments
    #[arg(
        value_name = "COMMAND [ARGS]",
        trailing_var_arg = true,
        required = true
    )]
    pub command: Vec<String>,
}

/// The job a process runs in, from its environment.
pub fn current_job() -> Option<u64> {
    std::env::var("SLURM_JOB_ID").ok()?.parse().ok()
}

impl CrunArgs {
    /// Runs the command as a step of job `job`; returns the highest exit
    /// status of the tasks (128 + N for a task killed by signal N).
    pub fn run_step(&self, job: u64) -> Result<i32> {
        let ntasks = positive("ntasks", self.ntasks.as_deref())?.unwrap_or(1);
        let client = Client::new(self.server.as_deref())?;
        let start = StepStart {
            name: Path::new(&self.command[0]).file_name().map_or_else(
                || self.command[0].clone(),
                |n| n.to_string_lossy().into_owned(),
            ),
            ntasks,
        };
        let reply = client.next_step(JobId(job), &start)?;
        let step = reply.step;
        // A step without its cgroup still runs inside the job's.
        let cgroup = crate::process::open_cgroup_entries(&reply.cgroup)
            .map(Arc::new)
            .map_err(|e| eprintln!("srun: warning: step {step} runs in its job's cgroup: {e}"))
            .ok();
        let node = std::env::var("SLURMD_NODENAME").unwrap_or_else(|_| crate::paths::hostname());
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
        let cwd = match &self.chdir {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_dir().map_err(|e| Error::io("cannot read", ".", e))?,
        };
        // Each task leads a process group of its own, the step's, so that
        // a signal for the steps reaches it and not the batch shell (and
        // crun, which stays in the batch shell's group, as srun stays in
        // Slurm's batch step). What crun itself is sent, it passes on.
        let groups = Arc::new(Mutex::new(Vec::with_capacity(ntasks as usize)));
        forward_signals(groups.clone())?;
        let mut children = Vec::with_capacity(ntasks as usize);
        let mut copiers = Vec::new();
        for task in 0..ntasks {
            let values = PatternValues {
                job_id: job,
                array,
                name: &name,
                user: &user,
                node: &node,
                task,
                step: Some(step),
            };
            let mut command = Command::new(&self.command[0]);
            command
                .args(&self.command[1..])
                .current_dir(&cwd)
                .envs(step_environment(step, task, ntasks))
                .process_group(0)
                .stdin(if task == 0 {
                    Stdio::inherit()
                } else {
                    Stdio::null()
                });
            let stdout = match &self.output {
                Some(pattern) => Sink::File(open_for_task(&cwd, &expand(pattern, &values))?),
                None => Sink::Stdout,
            };
            let stderr = match &self.error {
                Some(pattern) => Sink::File(open_for_task(&cwd, &expand(pattern, &values))?),
                None => Sink::Stderr,
            };
            // With --label the output passes through crun, line by line.
            let labelled = if self.label {
                command.stdout(Stdio::piped()).stderr(Stdio::piped());
                Some((stdout, stderr))
            } else {
                command.stdout(stdout.stdio()).stderr(stderr.stdio());
                None
            };
            if let Some(entries) = cgroup.as_ref().filter(|e| !e.is_empty()) {
                crate::process::enter_cgroup(&mut command, entries.clone());
            }
            let mut child = command
                .spawn()
                .map_err(|e| Error::Invalid(format!("cannot execute {}: {e}", self.command[0])))?;
            if let Some((stdout, stderr)) = labelled {
                let prefix = format!("{task}: ");
                if let Some(out) = child.stdout.take() {
                    copiers.push(label_lines(out, stdout, prefix.clone()));
                }
                if let Some(err) = child.stderr.take() {
                    copiers.push(label_lines(err, stderr, prefix));
                }
            }
            if let (Ok(mut groups), Some(pid)) = (groups.lock(), Pid::from_raw(child.id() as i32)) {
                groups.push(pid);
            }
            children.push(child);
        }
        let mut worst = 0;
        let mut exit_code = ExitCode::default();
        for mut child in children {
            let status = child
                .wait()
                .map_err(|e| Error::Other(format!("cannot wait for a task: {e}")))?;
            let (code, task_exit) = match (status.code(), status.signal()) {
                (Some(code), _) => (code, ExitCode { code, signal: 0 }),
                (None, signal) => {
                    let signal = signal.unwrap_or(0);
                    (128 + signal, ExitCode { code: 0, signal })
                }
            };
            if code > worst {
                worst = code;
                exit_code = task_exit;
            }
        }
        for copier in copiers {
            let _ = copier.join();
        }
        // For accounting only: a step whose end cannot be recorded still
        // ran, and its exit status is what the batch script sees.
        let end = StepEnd {
            exit_code,
            usage: crate::process::children_usage(),
        };
        let _ = client.end_step(JobId(job), step, &end);
        Ok(worst)
    }

    /// Submits the command as a new job, streams its output, and returns
    /// its exit status.
    pub fn run_job(&self, client: &Client) -> Result<i32> {
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
        let output = self
            .output
            .clone()
            .unwrap_or_else(|| out_path.display().to_string());
        let error = self
            .error
            .clone()
            .unwrap_or_else(|| err_path.display().to_string());
        args.push(format!("--output={output}"));
        args.push(format!("--error={error}"));
        args.push(format!("--wrap=exec {}", shell_quote(&self.command)));
        let submission = CbatchArgs::try_parse_from(args)
            .map_err(|e| Error::Invalid(crate::cli::first_line(&e)))?
            .into_submission(&mut std::io::empty())?;
        let id = client.submit(&submission.request)?;
        let result = stream_until_done(client, id, &out_path, &err_path);
        let _ = std::fs::remove_dir_all(&scratch);
        result
    }
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

/// The variables that tell a task who it is.
/// Where a task's output goes.
enum Sink {
    Stdout,
    Stderr,
    File(File),
}

impl Sink {
    fn stdio(self) -> Stdio {
        match self {
            Sink::Stdout | Sink::Stderr => Stdio::inherit(),
            Sink::File(file) => Stdio::from(file),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Stdout => std::io::stdout().lock().write_all(bytes),
            Sink::Stderr => std::io::stderr().lock().write_all(bytes),
            Sink::File(file) => file.write_all(bytes),
        }
    }
}

/// Copies `from` to `to` a line at a time, each line after `prefix`
/// (srun's `--label`), on a thread of its own; a last line without a
/// newline gets one, as srun gives it.
fn label_lines(
    from: impl Read + Send + 'static,
    mut to: Sink,
    prefix: String,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(from);
        let mut line = Vec::new();
        loop {
            line.clear();
            match std::io::BufRead::read_until(&mut reader, b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            let mut labelled = Vec::with_capacity(prefix.len() + line.len());
            labelled.extend_from_slice(prefix.as_bytes());
            labelled.extend_from_slice(&line);
            if to.write_all(&labelled).is_err() {
                return;
            }
        }
    })
}

/// The signals srun passes on to its tasks.
const FORWARDED: [i32; 9] = [
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGCONT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGALRM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPIPE,
];

/// Catches `FORWARDED` from now on, and sends each to every task's group.
fn forward_signals(groups: Arc<Mutex<Vec<Pid>>>) -> Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(FORWARDED)
        .map_err(|e| Error::Other(format!("cannot catch signals: {e}")))?;
    std::thread::Builder::new()
        .name("forward-signals".into())
        .spawn(move || {
            for number in signals.forever() {
                let Some(signal) = Signal::from_named_raw(number) else {
                    continue;
                };
                let Ok(groups) = groups.lock() else {
                    return;
                };
                for group in groups.iter() {
                    // ESRCH only says the task has ended.
                    let _ = rustix::process::kill_process_group(*group, signal);
                }
            }
        })
        .map_err(|e| Error::Other(format!("cannot catch signals: {e}")))?;
    Ok(())
}

fn step_environment(step: u32, task: u32, ntasks: u32) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("SLURM_STEP_ID", step.to_string()),
        ("SLURM_STEPID", step.to_string()),
        ("SLURM_PROCID", task.to_string()),
        ("SLURM_LOCALID", task.to_string()),
        ("SLURM_NODEID", "0".to_string()),
        ("SLURM_NTASKS", ntasks.to_string()),
        ("SLURM_NPROCS", ntasks.to_string()),
        ("SLURM_STEP_NUM_TASKS", ntasks.to_string()),
        ("SLURM_STEP_NUM_NODES", "1".to_string()),
        ("SLURM_STEP_TASKS_PER_NODE", ntasks.to_string()),
    ])
}

/// The next step id of a job (0, 1, 2, ...), from the daemon that runs it
/// (it names itself in the job's `CONDUCTOR_SERVER`), which counts them so
/// that steps started at once never share one.
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

fn positive(option: &'static str, text: Option<&str>) -> Result<Option<u32>> {
    match text {
        None => Ok(None),
        Some(text) => match text.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Error::InvalidNumber {
                option,
                value: text.to_string(),
            }),
        },
    }
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
