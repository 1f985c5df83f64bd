//! A step's tasks on this node, from start to the last one's end: each
//! leads a process group of its own (the step's, so that a signal for the
//! job's steps reaches it and not the batch shell); signals crun is sent
//! are passed on to every group; as tasks end, srun's lines for them are
//! printed, and srun's `--kill-on-bad-exit` and `--wait` are acted on.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::exits::{StepStatus, TaskEnd, exit_lines, task_ranges};
use crate::cli::print_error;
use crate::error::{Error, Result};

/// How long after one task ends crun waits for others that end with it,
/// so that they share one line, as slurmstepd reaps all the tasks that
/// have ended before it reports.
const TOGETHER: Duration = Duration::from_millis(100);

/// Slurm's `STEP_ABORT_TIME`: what srun adds to KillWait when it says how
/// long it waits for an aborted step.
const STEP_ABORT_SECS: u64 = 2;

/// The step the tasks belong to, and srun's options about their ends.
pub struct Step<'a> {
    /// The name crun prints its lines under (`srun`).
    pub prog: &'a str,
    pub node: &'a str,
    pub job: u64,
    pub step: u32,
    /// `-K`: end the step when a task ends badly.
    pub kill_on_bad_exit: bool,
    /// `-W`: end the step this long after the first task ends.
    pub wait: Option<Duration>,
    /// The daemon's KillWait, asked only when a step is ended.
    pub kill_wait: &'a dyn Fn() -> Duration,
}

/// One task, ready to start.
pub struct Task {
    pub command: Command,
    pub stdout: Sink,
    pub stderr: Sink,
    /// With `-l`, its output passes through crun, each line labelled.
    pub label: bool,
}

/// Where a task's output goes.
pub enum Sink {
    Stdout,
    Stderr,
    File(std::fs::File),
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

/// The process groups of the tasks still running, by task number: what
/// signals go to. A task's slot is emptied once it has been reaped.
type Groups = Arc<Mutex<Vec<Option<Pid>>>>;

/// Starts the tasks, waits for all of them, and returns the step's status.
pub fn run(step: &Step, tasks: Vec<Task>) -> Result<StepStatus> {
    let ntasks = tasks.len();
    let groups: Groups = Arc::new(Mutex::new(vec![None; ntasks]));
    forward_signals(groups.clone())?;
    let (ended_tx, ended) = mpsc::channel::<(u32, std::io::Result<TaskEnd>)>();
    let mut copiers = Vec::new();
    let width = label_width(ntasks);
    for (task, spec) in (0u32..).zip(tasks) {
        let program = spec.command.get_program().to_string_lossy().into_owned();
        match start(spec, task, width, &mut copiers) {
            Ok(child) => {
                if let (Ok(mut groups), Some(pid)) =
                    (groups.lock(), Pid::from_raw(child.id() as i32))
                {
                    groups[task as usize] = Some(pid);
                }
                let groups = groups.clone();
                let ended_tx = ended_tx.clone();
                std::thread::spawn(move || {
                    let mut child = child;
                    let end = child.wait().map(TaskEnd::from_status);
                    if let Ok(mut groups) = groups.lock() {
                        groups[task as usize] = None;
                    }
                    let _ = ended_tx.send((task, end));
                });
            }
            // What slurmstepd says when it cannot exec a task; the task
            // then exits with the errno, as slurmstepd's do.
            Err(cause) => {
                eprintln!(
                    "slurmstepd-{}: error: execve(): {program}: {}",
                    step.node,
                    crate::error::io_reason(&cause)
                );
                let errno = cause.raw_os_error().unwrap_or(1);
                let _ = ended_tx.send((task, Ok(TaskEnd::Exited(errno))));
            }
        }
    }
    drop(ended_tx);
    let status = watch(step, &groups, &ended, ntasks);
    for copier in copiers {
        let _ = copier.join();
    }
    status
}

/// Starts one task; with `-l` its output passes through labelling threads.
fn start(
    spec: Task,
    task: u32,
    width: usize,
    copiers: &mut Vec<std::thread::JoinHandle<()>>,
) -> std::io::Result<Child> {
    let Task {
        mut command,
        stdout,
        stderr,
        label,
    } = spec;
    let labelled = if label {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        Some((stdout, stderr))
    } else {
        command.stdout(stdout.stdio()).stderr(stderr.stdio());
        None
    };
    let mut child = command.spawn()?;
    if let Some((stdout, stderr)) = labelled {
        let prefix = format!("{task:>width$}: ");
        if let Some(out) = child.stdout.take() {
            copiers.push(label_lines(out, stdout, prefix.clone()));
        }
        if let Some(err) = child.stderr.take() {
            copiers.push(label_lines(err, stderr, prefix));
        }
    }
    Ok(child)
}

/// The width srun pads task numbers to in labels: that of the highest.
fn label_width(ntasks: usize) -> usize {
    ntasks.saturating_sub(1).to_string().len()
}

/// Where each task stands, for `--wait`'s report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Running,
    Abnormal,
    Normal,
}

/// Waits until `ntasks` tasks have ended, saying how as they do, and ends
/// the step early where `-K` or `-W` says so.
fn watch(
    step: &Step,
    groups: &Groups,
    ended: &mpsc::Receiver<(u32, std::io::Result<TaskEnd>)>,
    ntasks: usize,
) -> Result<StepStatus> {
    let mut status = StepStatus::default();
    let mut standing = vec![Standing::Running; ntasks];
    let mut remaining = ntasks;
    let mut deadline: Option<Instant> = None;
    let mut ending = false;
    let mut aborted = false;
    let mut forced = false;
    while remaining > 0 {
        let first = match deadline {
            Some(at) => match ended.recv_timeout(at.saturating_duration_since(Instant::now())) {
                Ok(first) => first,
                Err(RecvTimeoutError::Timeout) => {
                    deadline = None;
                    aborted = true;
                    abort_after_wait(step, groups, &standing);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match ended.recv() {
                Ok(first) => first,
                Err(_) => break,
            },
        };
        let mut batch = vec![first];
        while batch.len() < remaining {
            match ended.recv_timeout(TOGETHER) {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        remaining -= batch.len();
        let mut ends = Vec::with_capacity(batch.len());
        for (task, end) in batch {
            let end = end.map_err(|e| Error::Other(format!("cannot wait for task {task}: {e}")))?;
            standing[task as usize] = if end.is_abnormal() {
                Standing::Abnormal
            } else {
                Standing::Normal
            };
            forced |= matches!(
                end,
                TaskEnd::Signaled {
                    signal: libc::SIGKILL | libc::SIGTERM,
                    ..
                }
            );
            status.add(end);
            ends.push((task, end));
        }
        for line in exit_lines(step.node, &ends) {
            print_error(step.prog, &line);
        }
        if remaining == 0 || ending {
            continue;
        }
        if step.kill_on_bad_exit && ends.iter().any(|(_, end)| end.is_abnormal()) {
            ending = true;
            terminate(step, groups);
        } else if !aborted
            && deadline.is_none()
            && let Some(wait) = step.wait
        {
            deadline = Some(Instant::now() + wait);
        }
    }
    // srun says so of a step whose tasks TERM or KILL ended, unless it
    // ended the step itself on --wait (the step's end reaches it first).
    if forced && !aborted {
        eprintln!(
            "{}: Force Terminated StepId={}.{}",
            step.prog, step.job, step.step
        );
    }
    Ok(status)
}

/// `-K`: what slurmstepd does to a step it is told to end (SIGCONT and
/// SIGTERM, SIGKILL after KillWait), with srun's and slurmstepd's lines.
fn terminate(step: &Step, groups: &Groups) {
    announce_end(step);
    signal_all(groups, Signal::CONT);
    signal_all(groups, Signal::TERM);
    let kill_wait = (step.kill_wait)();
    let groups = groups.clone();
    std::thread::spawn(move || {
        std::thread::sleep(kill_wait);
        signal_all(&groups, Signal::KILL);
    });
}

/// `-W`: the time after the first end is up; srun reports where each task
/// stands and kills the rest.
fn abort_after_wait(step: &Step, groups: &Groups, standing: &[Standing]) {
    let seconds = step.wait.map_or(0, |wait| wait.as_secs());
    eprintln!("{}: First task exited {seconds}s ago", step.prog);
    for (which, words) in [
        (Standing::Running, "running"),
        (Standing::Abnormal, "exited abnormally"),
        (Standing::Normal, "exited"),
    ] {
        let tasks: Vec<u32> = (0u32..)
            .zip(standing)
            .filter(|(_, s)| **s == which)
            .map(|(task, _)| task)
            .collect();
        if !tasks.is_empty() {
            let noun = if tasks.len() == 1 { "task" } else { "tasks" };
            eprintln!(
                "{}: StepId={}.{} {noun} {}: {words}",
                step.prog,
                step.job,
                step.step,
                task_ranges(&tasks)
            );
        }
    }
    announce_end(step);
    eprintln!(
        "{}: Job step aborted: Waiting up to {} seconds for job step to finish.",
        step.prog,
        (step.kill_wait)().as_secs() + STEP_ABORT_SECS
    );
    signal_all(groups, Signal::KILL);
}

/// srun's and slurmstepd's lines for a step being ended.
fn announce_end(step: &Step) {
    let (job, id, node) = (step.job, step.step, step.node);
    eprintln!(
        "{}: launch/slurm: _step_signal: Terminating StepId={job}.{id}",
        step.prog
    );
    let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S");
    eprintln!("slurmstepd-{node}: error: *** STEP {job}.{id} ON {node} CANCELLED AT {now} ***");
}

/// Sends `signal` to every task's group still running.
fn signal_all(groups: &Groups, signal: Signal) {
    let Ok(groups) = groups.lock() else {
        return;
    };
    for group in groups.iter().flatten() {
        // ESRCH only says the task has just ended.
        let _ = rustix::process::kill_process_group(*group, signal);
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
fn forward_signals(groups: Groups) -> Result<()> {
    let mut signals = signal_hook::iterator::Signals::new(FORWARDED)
        .map_err(|e| Error::Other(format!("cannot catch signals: {e}")))?;
    std::thread::Builder::new()
        .name("forward-signals".into())
        .spawn(move || {
            for number in signals.forever() {
                if let Some(signal) = Signal::from_named_raw(number) {
                    signal_all(&groups, signal);
                }
            }
        })
        .map_err(|e| Error::Other(format!("cannot catch signals: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_as_wide_as_the_highest_task_number() {
        assert_eq!(label_width(1), 1);
        assert_eq!(label_width(10), 1);
        assert_eq!(label_width(11), 2);
    }
}
