//! Every running job has a supervisor: `conductord --supervise DIR`, a
//! process of its own that is never the daemon's child (it forks itself
//! away at once and leads its own session). It starts the job, enforces its time limit,
//! carries out the daemon's requests, and writes how the job ended to
//! `DIR/outcome.json` atomically. So a job outlives the daemon: a daemon
//! that starts again finds the supervisor (pid plus start time, so a reused
//! pid is never mistaken for it) or, if the job ended meanwhile, its outcome.
//!
//! The daemon talks to a supervisor through files in the job's directory and
//! a signal: it writes `control.json` and sends SIGTERM (cancel, requeue) or
//! SIGUSR1 (deliver a signal), through a pidfd so the signal cannot reach
//! another process.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rustix::fs::FlockOperation;
use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::unbounded_channel;

use super::spawn::{LaunchPlan, spawn};
use super::supervise::{Control, Limits, Outcome, supervise};

const PLAN: &str = "launch.json";
const IDENTITY: &str = "supervisor.json";
const OUTCOME: &str = "outcome.json";
const CONTROL: &str = "control.json";
/// Held (flock) by the supervisor for its whole life: whoever can take it
/// knows no supervisor runs for the job, and a supervisor that cannot take
/// it runs nothing.
const LOCK: &str = "lock";

/// How a supervised job ended, as its supervisor writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Report {
    Ran(Outcome),
    /// The job could not be started; the text says why.
    LaunchFailed(String),
}

/// Who a supervisor is: its pid and when it started, in clock ticks since
/// boot, which tells it apart from a later process with the same pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    pid: i32,
    start_ticks: u64,
    job_pid: Option<i32>,
}

/// The daemon's handle on a running supervisor.
#[derive(Debug, Clone)]
pub struct Supervisor {
    pid: Pid,
    pidfd: Arc<OwnedFd>,
    dir: PathBuf,
}

impl Supervisor {
    /// Writes the plan into `dir` and starts a supervisor for it with the
    /// `conductord` executable `exe`. Blocks for the few milliseconds until
    /// the supervisor has said its pid.
    pub fn start(exe: &Path, dir: &Path, plan: &LaunchPlan) -> io::Result<Supervisor> {
        write_json(&dir.join(PLAN), plan, Survive::ProcessCrash)?;
        let log = File::create(dir.join("supervisor.log"))?;
        let mut command = Command::new(exe);
        command
            .arg("--supervise")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        // No code runs between fork and exec here, so the standard library
        // spawns with posix_spawn and the daemon's page tables are never
        // copied; the supervisor detaches itself (see `run`).
        let mut intermediate = command.spawn()?;
        let stdout = intermediate
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no pipe from the supervisor"))?;
        // The intermediate process exits as soon as it has forked.
        intermediate.wait()?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let pid = line
            .trim()
            .parse::<i32>()
            .ok()
            .and_then(Pid::from_raw)
            .ok_or_else(|| io::Error::other(format!("the supervisor said {line:?}")))?;
        let pidfd = pidfd_open(pid, PidfdFlags::empty())?;
        Ok(Supervisor {
            pid,
            pidfd: Arc::new(pidfd),
            dir: dir.to_path_buf(),
        })
    }

    /// Finds the supervisor of a job started before the daemon's restart.
    /// `Ok(None)` means none is alive, and none can start any more: the
    /// returned lock keeps a supervisor that was still starting from
    /// running the job.
    pub fn reattach(dir: &Path) -> Result<Supervisor, Option<File>> {
        let lock = match File::options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(LOCK))
        {
            Ok(lock) => lock,
            Err(_) => return Err(None),
        };
        if rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive).is_ok() {
            return Err(Some(lock));
        }
        // A supervisor holds the lock; it writes who it is right after.
        for _ in 0..200 {
            if let Some(supervisor) = Supervisor::identified(dir) {
                return Ok(supervisor);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(None)
    }

    fn identified(dir: &Path) -> Option<Supervisor> {
        let identity: Identity = read_json(&dir.join(IDENTITY)).ok()?;
        let pid = Pid::from_raw(identity.pid)?;
        let pidfd = pidfd_open(pid, PidfdFlags::empty()).ok()?;
        // Checked after opening the pidfd: the pidfd now names this process
        // for good, and its start time proves it is the supervisor.
        if start_ticks(identity.pid)? != identity.start_ticks {
            return None;
        }
        Some(Supervisor {
            pid,
            pidfd: Arc::new(pidfd),
            dir: dir.to_path_buf(),
        })
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Asks the supervisor to carry out `control`.
    pub fn send(&self, control: Control) {
        let signal = match control {
            Control::Signal { .. } => Signal::USR1,
            _ => Signal::TERM,
        };
        if write_json(&self.dir.join(CONTROL), &control, Survive::ProcessCrash).is_ok() {
            // ESRCH only says the supervisor has just exited.
            let _ = pidfd_send_signal(self.pidfd.as_fd(), signal);
        }
    }

    /// Waits until the supervisor exits and returns its report; `None` if
    /// it died without writing one.
    pub async fn ended(self) -> Option<Report> {
        if let Ok(fd) = self.pidfd.try_clone()
            && let Ok(watch) = watch_readable(fd)
        {
            // A pidfd becomes readable when its process exits.
            let _ = watch.readable().await;
        }
        outcome(&self.dir)
    }
}

/// Registers an owned descriptor with the runtime to await readability.
#[allow(unsafe_code)]
fn watch_readable(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an `OwnedFd` is a valid open descriptor that stays open, and
    // names the same file, until the `AsyncFd` that owns it is dropped.
    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .map_err(|e| io::Error::other(e.to_string()))
}

/// True when a supervisor got as far as recording itself in `dir`, that
/// is, the job may have started.
pub fn may_have_started(dir: &Path) -> bool {
    dir.join(IDENTITY).exists()
}

/// The report left in `dir`, if the supervisor wrote one.
pub fn outcome(dir: &Path) -> Option<Report> {
    read_json(&dir.join(OUTCOME)).ok()
}

/// Detaches the supervisor from the daemon: it forks, the parent exits at
/// once (the daemon reaps it), and the child leads a new session, adopted
/// by init (or the nearest subreaper), never the daemon's child.
#[allow(unsafe_code)]
fn detach_self() -> io::Result<()> {
    // SAFETY: called first thing in the supervisor process, while it still
    // has a single thread; the parent only calls `_exit`.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            rustix::process::setsid()?;
            Ok(())
        }
        _ => unsafe { libc::_exit(0) },
    }
}

/// The supervisor process's whole life (`conductord --supervise DIR`);
/// returns its exit status.
pub fn run(dir: &Path) -> i32 {
    if let Err(e) = detach_self() {
        eprintln!("supervisor: cannot detach: {e}");
        return 1;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("supervisor: cannot start: {e}");
            return 1;
        }
    };
    runtime.block_on(supervise_job(dir))
}

async fn supervise_job(dir: &Path) -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    // Handlers first: a request may come as soon as the daemon has our pid.
    let (Ok(mut terminate), Ok(mut user1)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::user_defined1()),
    ) else {
        eprintln!("supervisor: cannot install signal handlers");
        return 1;
    };
    let Some(_lock) = take_lock(dir) else {
        eprintln!("supervisor: another process owns this job");
        return 1;
    };
    if announce_pid().is_err() {
        eprintln!("supervisor: cannot tell the daemon its pid");
        return 1;
    }
    let plan: LaunchPlan = match read_json(&dir.join(PLAN)) {
        Ok(plan) => plan,
        Err(e) => {
            return finish(
                dir,
                &Report::LaunchFailed(format!("cannot read the plan: {e}")),
            );
        }
    };
    // Who we are goes on disk before the job starts: a job directory
    // without it, and without a live supervisor, never started a job.
    let me = std::process::id() as i32;
    let mut identity = Identity {
        pid: me,
        start_ticks: start_ticks(me).unwrap_or(0),
        job_pid: None,
    };
    if let Err(e) = write_json(&dir.join(IDENTITY), &identity, Survive::ProcessCrash) {
        return finish(
            dir,
            &Report::LaunchFailed(format!("cannot record the supervisor: {e}")),
        );
    }
    let child = match spawn(&plan) {
        Ok(child) => child,
        Err(reason) => return finish(dir, &Report::LaunchFailed(reason)),
    };
    identity.job_pid = child.id().map(|pid| pid as i32);
    if let Err(e) = write_json(&dir.join(IDENTITY), &identity, Survive::ProcessCrash) {
        eprintln!("supervisor: cannot record the job's pid: {e}");
    }
    let (requests, controls) = unbounded_channel();
    let control_file = dir.join(CONTROL);
    tokio::spawn(async move {
        loop {
            let terminated = tokio::select! {
                Some(()) = terminate.recv() => true,
                Some(()) = user1.recv() => false,
                else => break,
            };
            // The daemon says what it wants in the control file; a SIGTERM
            // that comes without one (an administrator's `kill`) ends the
            // job as a cancel by root.
            let control = match read_json::<Control>(&control_file) {
                Ok(control) => control,
                Err(_) if terminated => Control::Cancel { by_uid: 0 },
                Err(_) => continue,
            };
            let _ = std::fs::remove_file(&control_file);
            if requests.send(control).is_err() {
                break;
            }
        }
    });
    let limits = Limits {
        time_limit: plan.time_limit.map(Duration::from_secs),
        warn_signal: plan.warn_signal,
        kill_wait: Duration::from_secs(plan.kill_wait),
    };
    let mut outcome = supervise(child, limits, controls).await;
    outcome.max_rss_kb = children_max_rss_kb();
    finish(dir, &Report::Ran(outcome))
}

fn finish(dir: &Path, report: &Report) -> i32 {
    match write_json(&dir.join(OUTCOME), report, Survive::MachineCrash) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("supervisor: cannot record the outcome: {e}");
            1
        }
    }
}

/// Takes the job's lock for the supervisor's life, or `None` if a daemon
/// (after a restart) or another supervisor holds it.
fn take_lock(dir: &Path) -> Option<File> {
    let lock = File::options()
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK))
        .ok()?;
    rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive).ok()?;
    Some(lock)
}

/// Writes our pid on stdout (the daemon's pipe), then lets go of the pipe.
fn announce_pid() -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{}", std::process::id())?;
    stdout.flush()?;
    let null = File::options().write(true).open("/dev/null")?;
    rustix::stdio::dup2_stdout(&null)?;
    Ok(())
}

/// The peak resident memory of this process's waited-for children in KiB:
/// the job's script is the supervisor's only child.
#[allow(unsafe_code)]
fn children_max_rss_kb() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the buffer it is given
    // and touches nothing else; the buffer is only read after it succeeded.
    let done = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    if done != 0 {
        return None;
    }
    // SAFETY: getrusage succeeded, so the buffer is initialised.
    let usage = unsafe { usage.assume_init() };
    u64::try_from(usage.ru_maxrss).ok().filter(|kb| *kb > 0)
}

/// When a process started, in clock ticks since boot (`/proc/PID/stat`).
fn start_ticks(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may itself hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// How a file written for the other side must survive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Survive {
    /// A crash of the daemon or of the supervisor: the page cache is
    /// enough, as every process sees it at once.
    ProcessCrash,
    /// A crash of the machine as well: fsync the file and its directory.
    MachineCrash,
}

/// Writes JSON to `path` so that readers see the old file or the whole new
/// one (a temporary file renamed over it). Only what must outlive the
/// machine (the job's outcome) pays for fsync: the rest describes processes
/// that a machine crash ends anyway.
fn write_json<T: Serialize>(path: &Path, value: &T, survive: Survive) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    serde_json::to_writer(&mut file, value)?;
    if survive == Survive::MachineCrash {
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if survive == Survive::MachineCrash
        && let Some(parent) = path.parent()
    {
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<T> {
    let bytes = fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_time_of_this_process_is_readable() {
        let me = std::process::id() as i32;
        assert!(start_ticks(me).is_some_and(|t| t > 0));
        assert_eq!(start_ticks(me), start_ticks(me));
    }

    #[test]
    fn atomic_writes_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("x.json");
        let report = Report::LaunchFailed("why".into());
        write_json(&path, &report, Survive::MachineCrash).expect("write");
        assert_eq!(read_json::<Report>(&path).expect("read"), report);
        assert!(!path.with_extension("tmp").exists());
    }
}
