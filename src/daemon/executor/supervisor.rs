//! Every running job has a supervisor: a process of its own, forked by the
//! launcher (see `launcher`) and never the daemon's child, that leads its own
//! session. It starts the job, enforces its time limit, carries out the
//! daemon's requests, and writes how the job ended to `DIR/outcome.json`,
//! durably. So a job outlives the daemon: a daemon that starts again finds
//! the supervisor (pid plus start time, so a reused pid is never mistaken
//! for it) or, if the job ended meanwhile, its outcome.
//!
//! `DIR/supervisor.json` is both the supervisor's lock and its identity: the
//! daemon creates it empty before asking for a supervisor; the supervisor
//! holds a `flock` on it for its whole life and writes who it is into it
//! before it starts the job. A daemon that can take the lock knows no
//! supervisor runs, and an empty file says the job never started.
//!
//! The daemon talks to a supervisor through files in the job's directory and
//! a signal: it writes one file per request under `requests/` and sends
//! SIGTERM (cancel, requeue) or SIGUSR1 (deliver a signal), through a pidfd
//! so the signal cannot reach another process. Signals fold together; the
//! files do not, so every request arrives, in order.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustix::fs::FlockOperation;
use rustix::process::{Pid, PidfdFlags, Signal, pidfd_open, pidfd_send_signal};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::clone_into::watch_readable;
use tokio::sync::mpsc::unbounded_channel;

use super::spawn::{LaunchPlan, spawn};
use super::supervise::{Control, Limits, Members, SampledMemory, supervise};
use crate::daemon::containment::{JobContainment, kill_descendants};
use crate::daemon::end::{End, Ending, Outcome};
use crate::protocol::Usage;

const IDENTITY: &str = "supervisor.json";
const OUTCOME: &str = "outcome.json";
/// The daemon's requests to the supervisor, one file each, named so that
/// they sort in the order they were made.
const REQUESTS: &str = "requests";
/// The job's processes as a subreaper supervisor last saw them.
const PROCESSES: &str = "processes.json";
/// Where a supervisor says what went wrong, made only when something did.
const LOG: &str = "supervisor.log";
/// The lock of supervisors from before `supervisor.json` was the lock,
/// still honoured so a daemon upgraded under running jobs follows them.
const OLD_LOCK: &str = "lock";
/// The identity record is padded to this many bytes, so each rewrite covers
/// the whole of the previous one.
const IDENTITY_BYTES: usize = 128;

/// Who a supervisor is: its pid and when it started, in clock ticks since
/// boot, which tells it apart from a later process with the same pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    pid: i32,
    start_ticks: u64,
    job_pid: Option<i32>,
    /// When the job's first process started, so that a daemon that lost
    /// the supervisor can tell the job's process group from a later one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job_start_ticks: Option<u64>,
}

/// The daemon's handle on a running supervisor.
#[derive(Debug, Clone)]
pub struct Supervisor {
    pid: Pid,
    pidfd: Arc<OwnedFd>,
    dir: PathBuf,
}

/// Makes a job's directory with its empty identity file, before the daemon
/// asks for a supervisor: the supervisor only opens that file, never makes
/// it, so once the daemon has removed it no late supervisor can run the job.
pub fn prepare_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir)?;
    // Traversable, never listable: a job run as its user reads its script
    // by name; every other file here is the daemon's alone (umask 077).
    if rustix::process::getuid().is_root() {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o711))?;
    }
    File::create_new(dir.join(IDENTITY))?;
    Ok(())
}

/// Makes sure no supervisor can start the job in `dir` any more; called
/// with its lock held (see `reattach`), for a job that never started.
pub fn forbid_start(dir: &Path) {
    let _ = fs::remove_file(dir.join(IDENTITY));
}

impl Supervisor {
    /// The handle on a supervisor the launcher has just forked.
    pub(super) fn forked(pid: Pid, pidfd: OwnedFd, dir: &Path) -> Supervisor {
        Supervisor {
            pid,
            pidfd: Arc::new(pidfd),
            dir: dir.to_path_buf(),
        }
    }

    /// Finds the supervisor of a job started before the daemon's restart.
    /// `Err` means none is alive, and none can start any more: the returned
    /// lock keeps a supervisor that was still starting from running the job
    /// (until the job's directory is gone).
    pub fn reattach(dir: &Path) -> Result<Supervisor, Option<File>> {
        let old = dir.join(OLD_LOCK);
        let path = if old.exists() {
            old
        } else {
            dir.join(IDENTITY)
        };
        let Ok(lock) = File::options().write(true).open(path) else {
            // The daemon makes this file before it asks for a supervisor:
            // without it, none was ever asked for.
            return Err(None);
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

    /// The job's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Asks the supervisor to carry out `control`. Every request is kept
    /// until the supervisor has read it (a file of its own), so requests
    /// sent back to back all arrive, in order, even when their signals
    /// fold into one.
    pub fn send(&self, control: Control) {
        let signal = match control {
            Control::Signal { .. } => Signal::USR1,
            _ => Signal::TERM,
        };
        if queue_request(&self.dir, &control).is_ok() {
            // ESRCH only says the supervisor has just exited.
            let _ = pidfd_send_signal(self.pidfd.as_fd(), signal);
        }
    }

    /// Waits until the supervisor exits and returns how the job ended, as
    /// the supervisor wrote it; `None` if it died without writing it.
    ///
    /// Only the supervisor's exit ends the wait: when the runtime cannot
    /// watch the pidfd (out of descriptors, say), the pidfd is polled
    /// instead, never taken for an exit.
    pub async fn ended(self) -> Option<End> {
        let watched = match self.pidfd.try_clone() {
            Ok(fd) => watch_readable(fd).ok(),
            Err(_) => None,
        };
        match watched {
            // A pidfd becomes readable when its process exits.
            Some(watch) => {
                let _ = watch.readable().await;
            }
            None => {
                while self.alive() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        outcome(&self.dir)
    }

    /// Whether the supervisor still runs: its pidfd is readable once it
    /// has exited (a poll that does not wait, and needs no new descriptor).
    fn alive(&self) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let mut fds = [PollFd::new(&*self.pidfd, PollFlags::IN)];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        !matches!(poll(&mut fds, Some(&now)), Ok(n) if n > 0)
    }
}

/// Writes one request where the supervisor takes it from: a file named for
/// when it was made (and a counter, for two in the same nanosecond).
fn queue_request(dir: &Path, control: &Control) -> io::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SENT: AtomicU64 = AtomicU64::new(0);
    let requests = dir.join(REQUESTS);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!(
        "{nanos:024}-{:012}.json",
        SENT.fetch_add(1, Ordering::Relaxed)
    );
    match write_json(&requests.join(&name), control) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(&requests)?;
            write_json(&requests.join(&name), control)
        }
        other => other,
    }
}

/// Takes every request waiting in `dir`, oldest first; each is removed as
/// it is read, so none is carried out twice.
fn take_requests(dir: &Path) -> Vec<Control> {
    let Ok(entries) = fs::read_dir(dir.join(REQUESTS)) else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|path| {
            let control = read_json::<Control>(&path).ok();
            let _ = fs::remove_file(&path);
            control
        })
        .collect()
}

/// True when a supervisor got as far as recording itself in `dir`, that
/// is, the job may have started.
pub fn may_have_started(dir: &Path) -> bool {
    fs::metadata(dir.join(IDENTITY)).is_ok_and(|m| m.len() > 0)
}

/// What the supervisor recorded of the job's processes, for killing what is
/// left of a job whose supervisor was lost when no cgroup holds it.
pub fn recorded_processes(dir: &Path) -> Option<RecordedProcesses> {
    let identity: Identity = read_json(&dir.join(IDENTITY)).ok()?;
    Some(RecordedProcesses {
        leader: (identity.job_pid?, identity.job_start_ticks?),
        supervisor: (identity.pid, identity.start_ticks),
        others: read_json(&dir.join(PROCESSES)).unwrap_or_default(),
    })
}

/// A job's processes as its supervisor recorded them, each as (pid, start
/// time in clock ticks).
pub struct RecordedProcesses {
    /// The job's first process, the leader of its process group.
    pub leader: (i32, u64),
    /// The supervisor, whose session the job's processes share.
    pub supervisor: (i32, u64),
    /// Every descendant at the supervisor's last look (once a second).
    pub others: Vec<(i32, u64)>,
}

/// How the job ended, as its supervisor left it in `dir`, if it did.
pub fn outcome(dir: &Path) -> Option<End> {
    read_json(&dir.join(OUTCOME)).ok()
}

/// When the supervisor wrote the job's outcome in `dir`: the job's end,
/// for a daemon that learns of it only later (it was stopped meanwhile).
pub fn outcome_time(dir: &Path) -> Option<chrono::DateTime<chrono::Utc>> {
    let modified = std::fs::metadata(dir.join(OUTCOME)).ok()?.modified().ok()?;
    Some(modified.into())
}

/// The supervisor process's whole life, in the child the launcher forked
/// for `dir`; returns its exit status.
pub(super) fn run(dir: &Path, plan: LaunchPlan) -> i32 {
    if let Err(e) = rustix::process::setsid() {
        complain(dir, format_args!("cannot start a session: {e}"));
        return 1;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            complain(dir, format_args!("cannot start: {e}"));
            return 1;
        }
    };
    runtime.block_on(supervise_job(dir, plan))
}

async fn supervise_job(dir: &Path, plan: LaunchPlan) -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    // The daemon's requests wait (blocked since the fork) until the
    // handlers are in place.
    let (Ok(mut terminate), Ok(mut user1)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::user_defined1()),
    ) else {
        complain(dir, format_args!("cannot install signal handlers"));
        return 1;
    };
    super::signal_mask::allow_requests();
    let Some(lock) = take_lock(dir) else {
        complain(dir, format_args!("another process owns this job"));
        return 1;
    };
    // Who we are goes on disk before the job starts: a job directory
    // whose identity is empty, and without a live supervisor, never started
    // a job.
    let me = std::process::id() as i32;
    let mut identity = Identity {
        pid: me,
        start_ticks: start_ticks(me).unwrap_or(0),
        job_pid: None,
        job_start_ticks: None,
    };
    if let Err(e) = record_identity(&lock, &identity) {
        return finish(
            dir,
            &End::LaunchFailed(format!("cannot record the supervisor: {e}")),
        );
    }
    let contained = &plan.containment;
    if contained.subreaper
        && let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
    {
        complain(dir, format_args!("cannot become a subreaper: {e}"));
    }
    let attached = match contained.attach_cgroup() {
        Some(Ok(attached)) => Some(attached),
        Some(Err(e)) => {
            if let Some(cgroup) = &contained.cgroup {
                cgroup.remove();
            }
            let reason = format!("cannot set up the job's cgroup: {e}");
            return finish(dir, &End::LaunchFailed(reason));
        }
        None => None,
    };
    let child = match spawn(&plan, attached) {
        Ok(child) => child,
        Err(reason) => {
            if let Some(cgroup) = &contained.cgroup {
                cgroup.remove();
            }
            return finish(dir, &End::LaunchFailed(reason));
        }
    };
    identity.job_pid = child.id().map(|pid| pid as i32);
    identity.job_start_ticks = identity.job_pid.and_then(start_ticks);
    if let Err(e) = record_identity(&lock, &identity) {
        complain(dir, format_args!("cannot record the job's pid: {e}"));
    }
    let (requests, controls) = unbounded_channel();
    let job_dir = dir.to_path_buf();
    tokio::spawn(async move {
        loop {
            let terminated = tokio::select! {
                Some(()) = terminate.recv() => true,
                Some(()) = user1.recv() => false,
                else => break,
            };
            // The daemon says what it wants in request files; a SIGTERM
            // that comes without one (an administrator's `kill`) ends the
            // job as a cancel by root.
            let mut taken = take_requests(&job_dir);
            if taken.is_empty() && terminated {
                taken.push(Control::Cancel { by_uid: 0 });
            }
            if taken
                .into_iter()
                .any(|control| requests.send(control).is_err())
            {
                break;
            }
        }
    });
    let sampled_memory = contained
        .memory_limit_bytes
        .filter(|_| contained.sample_memory)
        .map(|bytes| SampledMemory {
            limit_kb: bytes / 1024,
            cgroup: contained.cgroup.clone(),
        });
    let limits = Limits {
        time_limit: plan.time_limit.map(Duration::from_secs),
        warn_signal: plan.warn_signal,
        kill_wait: Duration::from_secs(plan.kill_wait),
        sampled_memory,
        record_processes: contained.subreaper.then(|| dir.join(PROCESSES)),
        members: match &contained.cgroup {
            Some(cgroup) => Members::Cgroup(cgroup.clone()),
            None => Members::Descendants,
        },
        fence: plan.fence.as_ref().map(|fence| {
            (
                fence.heartbeat.clone(),
                Duration::from_millis(fence.after_ms),
            )
        }),
    };
    let mut outcome = supervise(child, limits, controls).await;
    clean_up(dir, contained, &mut outcome);
    finish(dir, &End::Ran(outcome))
}

/// How long the supervisor waits for the last processes of a job to die
/// before it reports the job ended all the same.
const KILL_PATIENCE: Duration = Duration::from_secs(60);

/// After the script ended: kills whatever the job left running (its
/// cgroup, or as a subreaper every descendant), reads what the job used,
/// tells an OOM kill from other ends, and removes the job's cgroup, all
/// before the outcome is written, so that a job is never reported ended
/// while a process of it runs.
fn clean_up(dir: &Path, contained: &JobContainment, outcome: &mut Outcome) {
    let sampled_peak = outcome.usage.max_rss_kb;
    let mut usage = Usage::default();
    if let Some(cgroup) = &contained.cgroup {
        if let Err(e) = cgroup.kill_all(KILL_PATIENCE) {
            complain(dir, format_args!("cannot empty the job's cgroup: {e}"));
        }
        usage = cgroup.usage().unwrap_or_default();
        if cgroup.oom_kills() > 0 && outcome.ending == Ending::Exited {
            outcome.ending = Ending::OutOfMemory;
        }
        cgroup.remove();
    }
    if contained.subreaper && !kill_descendants(KILL_PATIENCE) {
        complain(dir, format_args!("processes of the job outlived it"));
    }
    // What the kernel counted for the children this supervisor waited for
    // (as a subreaper: every descendant) fills what no cgroup measured.
    // The job's script is the supervisor's only child (and, as a
    // subreaper, every orphan of the job is its child too).
    let children = crate::process::children_usage();
    outcome.max_rss_kb = children.max_rss_kb;
    usage.max_rss_kb = usage.max_rss_kb.or(children.max_rss_kb.max(sampled_peak));
    if usage.total_cpu_usec.is_none() {
        usage.total_cpu_usec = children.total_cpu_usec;
        usage.user_cpu_usec = children.user_cpu_usec;
        usage.system_cpu_usec = children.system_cpu_usec;
    }
    outcome.usage = usage;
}

fn finish(dir: &Path, end: &End) -> i32 {
    match write_outcome(dir, end) {
        Ok(()) => 0,
        Err(e) => {
            complain(dir, format_args!("cannot record the outcome: {e}"));
            1
        }
    }
}

/// Writes the outcome so that it outlives a crash of the machine: written
/// whole to a temporary file, synced, renamed over the name the daemon
/// reads, and the directory synced, so that after a power loss the outcome
/// is there whole or not at all (never a torn file read as "no outcome").
fn write_outcome(dir: &Path, end: &End) -> io::Result<()> {
    let bytes = serde_json::to_vec(end)?;
    let tmp = dir.join("outcome.tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(OUTCOME))?;
    File::open(dir)?.sync_all()
}

/// Writes the identity in place (the file is the lock, so it is never
/// replaced), padded so a longer record always covers a shorter one. A
/// reader that catches it half written fails to parse it and looks again.
fn record_identity(lock: &File, identity: &Identity) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(identity)?;
    if bytes.len() < IDENTITY_BYTES {
        bytes.resize(IDENTITY_BYTES, b' ');
    }
    lock.write_all_at(&bytes, 0)
}

/// Appends a line to the job's `supervisor.log`: the supervisor's stderr
/// goes nowhere, so that it never holds the daemon's.
fn complain(dir: &Path, what: std::fmt::Arguments<'_>) {
    if let Ok(mut log) = File::options()
        .append(true)
        .create(true)
        .open(dir.join(LOG))
    {
        let _ = writeln!(log, "supervisor: {what}");
    }
}

/// Takes the job's lock for the supervisor's life, or `None` if a daemon
/// (after a restart) or another supervisor holds it, or the daemon has
/// already given the job up (the file is gone, or was unlinked while this
/// supervisor waited for it).
fn take_lock(dir: &Path) -> Option<File> {
    let lock = File::options().write(true).open(dir.join(IDENTITY)).ok()?;
    rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive).ok()?;
    if lock.metadata().ok()?.nlink() == 0 {
        return None;
    }
    Some(lock)
}

/// When a process started, in clock ticks since boot (`/proc/PID/stat`).
fn start_ticks(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may itself hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Writes JSON to `path` so that readers see the old file or the whole new
/// one (a temporary file renamed over it). Not synced: what it says (a
/// request to a running supervisor) means nothing after a machine crash.
fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, serde_json::to_vec(value)?)?;
    fs::rename(&tmp, path)
}

fn read_json<T: DeserializeOwned>(path: &Path) -> io::Result<T> {
    let bytes = fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::SignalScope;

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
        let control = Control::Cancel { by_uid: 7 };
        write_json(&path, &control).expect("write");
        assert_eq!(read_json::<Control>(&path).expect("read"), control);
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn outcomes_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let end = End::LaunchFailed("why".into());
        write_outcome(dir.path(), &end).expect("write");
        assert_eq!(outcome(dir.path()), Some(end));
        assert!(!dir.path().join("outcome.tmp").exists());
    }

    #[test]
    fn requests_are_kept_and_read_in_order() {
        let dir = tempfile::tempdir().expect("dir");
        let sent = [
            Control::Signal {
                signal: 10,
                scope: SignalScope::Steps,
            },
            Control::Cancel { by_uid: 7 },
            Control::Signal {
                signal: 12,
                scope: SignalScope::BatchShell,
            },
        ];
        for control in sent {
            queue_request(dir.path(), &control).expect("queued");
        }
        assert_eq!(take_requests(dir.path()), sent.to_vec());
        assert!(take_requests(dir.path()).is_empty(), "each is read once");
    }

    #[test]
    fn a_rewritten_identity_reads_back_whole() {
        let dir = tempfile::tempdir().expect("dir");
        prepare_dir(dir.path()).expect("prepare");
        assert!(!may_have_started(dir.path()));
        let lock = take_lock(dir.path()).expect("lock");
        let long = Identity {
            pid: 1_234_567,
            start_ticks: 99_999_999_999,
            job_pid: Some(7_654_321),
            job_start_ticks: Some(99_999_999_999),
        };
        let short = Identity {
            pid: 1,
            start_ticks: 2,
            job_pid: Some(3),
            job_start_ticks: None,
        };
        record_identity(&lock, &long).expect("write");
        record_identity(&lock, &short).expect("rewrite");
        assert_eq!(
            read_json::<Identity>(&dir.path().join(IDENTITY)).expect("read"),
            short
        );
        assert!(may_have_started(dir.path()));
    }

    #[test]
    fn no_supervisor_runs_a_job_the_daemon_gave_up() {
        let dir = tempfile::tempdir().expect("dir");
        prepare_dir(dir.path()).expect("prepare");
        let Err(Some(held)) = Supervisor::reattach(dir.path()) else {
            panic!("the daemon takes the free lock");
        };
        assert!(take_lock(dir.path()).is_none(), "held by the daemon");
        fs::remove_file(dir.path().join(IDENTITY)).expect("give up");
        drop(held);
        assert!(take_lock(dir.path()).is_none(), "gone for good");
    }
}
