//! Watching a running job until its script ends: the time limit, the
//! warning signal before it, cancels, signals, requeues, and the final kill
//! of whatever the script left behind.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use super::spawn::JobChild;
use rustix::process::{Pid, Signal};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, sleep_until};

use crate::daemon::containment::{JobCgroup, TreeSampler, processes};
use crate::daemon::end::{Ending, Outcome};
use crate::protocol::{ExitCode, SignalScope, WarnSignal};

/// A request to a running job's supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Control {
    /// End the job: SIGCONT and SIGTERM to the group, SIGKILL after the grace.
    Cancel { by_uid: u32 },
    /// End the job the same way and queue it again.
    Requeue,
    /// Deliver a signal and nothing more (`ccancel --signal`).
    Signal { signal: i32, scope: SignalScope },
}

/// The limits a supervisor enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    pub time_limit: Option<Duration>,
    pub warn_signal: Option<WarnSignal>,
    /// Grace between SIGTERM and SIGKILL.
    pub kill_wait: Duration,
    /// A memory limit no memory controller enforces, sampled instead.
    pub sampled_memory: Option<SampledMemory>,
    /// Without a cgroup: where to record the job's processes once a
    /// second, for the daemon to find them should this supervisor be lost.
    pub record_processes: Option<std::path::PathBuf>,
    /// Where the job's processes are, to signal its steps apart from the
    /// batch shell.
    pub members: Members,
    /// The node's heartbeat file and how old it may grow before the job
    /// is killed and ends as requeued (see `Fence`).
    pub fence: Option<(std::path::PathBuf, Duration)>,
}

/// How the supervisor finds every process of its job.
#[derive(Debug, Clone)]
pub enum Members {
    /// Everything in the job's cgroup.
    Cgroup(JobCgroup),
    /// The supervisor's descendants (it is their subreaper).
    Descendants,
}

impl Members {
    fn pids(&self) -> Vec<i32> {
        match self {
            Members::Cgroup(cgroup) => cgroup.pids(),
            Members::Descendants => processes::descendants_of(std::process::id() as i32),
        }
    }

    /// The process groups of the job, the batch shell's (led by the script,
    /// `leader`) first. A step is a group of its own: `crun` starts each of
    /// its tasks as a group leader.
    fn groups(&self, leader: Option<Pid>) -> Vec<Pid> {
        let mut groups: Vec<Pid> = leader.into_iter().collect();
        for pid in self.pids().into_iter().filter_map(Pid::from_raw) {
            if let Ok(group) = rustix::process::getpgid(Some(pid))
                && !groups.contains(&group)
            {
                groups.push(group);
            }
        }
        groups
    }
}

/// A memory limit the supervisor enforces itself, once a second, over the
/// job's cgroup (one without a memory controller) or its descendants.
#[derive(Debug, Clone)]
pub struct SampledMemory {
    pub limit_kb: u64,
    pub cgroup: Option<JobCgroup>,
}

/// How often a sampled memory limit is looked at.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// Where the supervisor is in stopping the job.
enum Stopping {
    No,
    /// SIGTERM sent; SIGKILL follows at this instant.
    Terminated {
        kill_at: Instant,
    },
    Killed,
}

/// Waits for the job's script to end, enforcing `limits` and obeying
/// `controls`. Processes of the job still alive when the script ends are
/// killed, so nothing of a finished job runs on.
pub async fn supervise(
    mut child: JobChild,
    limits: Limits,
    mut controls: UnboundedReceiver<Control>,
) -> Outcome {
    let leader = child.id().and_then(|pid| Pid::from_raw(pid as i32));
    let started = Instant::now();
    let deadline = limits.time_limit.map(|limit| started + limit);
    let mut warning = limits.warn_signal.and_then(|warn| {
        let limit = limits.time_limit?;
        let before = Duration::from_secs(warn.seconds_before);
        Some((started + limit.saturating_sub(before), warn))
    });
    let mut ending = Ending::Exited;
    let mut stopping = Stopping::No;
    let mut sampler = TreeSampler::default();
    // The first look comes a second in: a short job is never looked at.
    let mut samples = tokio::time::interval_at(started + SAMPLE_EVERY, SAMPLE_EVERY);
    samples.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fence_checks = tokio::time::interval(FENCE_CHECK_EVERY);
    fence_checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let status = loop {
        let kill_at = match stopping {
            Stopping::Terminated { kill_at } => Some(kill_at),
            _ => None,
        };
        let running = matches!(stopping, Stopping::No);
        tokio::select! {
            status = child.wait() => break status,
            () = sleep_until_some(warning.map(|(at, _)| at)), if running && warning.is_some() => {
                if let Some((_, warn)) = warning.take() {
                    deliver(&limits.members, leader, warn.signal, warn.scope);
                }
            }
            () = sleep_until_some(deadline), if running && deadline.is_some() => {
                ending = Ending::TimedOut;
                terminate(&limits.members, leader);
                stopping = Stopping::Terminated { kill_at: Instant::now() + limits.kill_wait };
            }
            () = sleep_until_some(kill_at), if kill_at.is_some() => {
                signal_all(&limits.members, leader, Signal::KILL);
                stopping = Stopping::Killed;
            }
            _ = samples.tick(), if running
                && (limits.sampled_memory.is_some() || limits.record_processes.is_some()) => {
                if let Some(path) = &limits.record_processes {
                    let me = std::process::id() as i32;
                    record(path, &processes::descendants_with_start(me));
                }
                let Some(memory) = &limits.sampled_memory else { continue };
                let pids = match &memory.cgroup {
                    Some(cgroup) => cgroup.pids(),
                    None => processes::descendants_of(std::process::id() as i32),
                };
                if sampler.sample(&pids) > memory.limit_kb {
                    // Over the limit: killed at once, as the kernel would.
                    ending = Ending::OutOfMemory;
                    signal_group(leader, Signal::KILL);
                    for pid in pids.into_iter().filter_map(Pid::from_raw) {
                        let _ = rustix::process::kill_process(pid, Signal::KILL);
                    }
                    stopping = Stopping::Killed;
                }
            }
            _ = fence_checks.tick(), if running && limits.fence.is_some() => {
                let Some((file, after)) = &limits.fence else { continue };
                if heartbeat_older_than(file, *after, started) {
                    // Killed at once: the grace could outlast the node
                    // timeout, after which the job may start elsewhere.
                    ending = Ending::Requeued;
                    signal_all(&limits.members, leader, Signal::KILL);
                    stopping = Stopping::Killed;
                }
            }
            Some(control) = controls.recv() => {
                let end_as = match control {
                    Control::Signal { signal, scope } => {
                        deliver(&limits.members, leader, signal, scope);
                        continue;
                    }
                    Control::Cancel { by_uid } => Ending::Cancelled { by_uid },
                    Control::Requeue => Ending::Requeued,
                };
                if running {
                    ending = end_as;
                    terminate(&limits.members, leader);
                    stopping = Stopping::Terminated { kill_at: Instant::now() + limits.kill_wait };
                }
            }
        }
    };
    // The script is gone; anything it started in its group goes too.
    signal_group(leader, Signal::KILL);
    let exit_code = match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => ExitCode { code, signal: 0 },
            (None, Some(signal)) => ExitCode { code: 0, signal },
            (None, None) => ExitCode { code: 1, signal: 0 },
        },
        Err(_) => ExitCode { code: 1, signal: 0 },
    };
    let usage = crate::protocol::Usage {
        max_rss_kb: (sampler.peak_kb > 0).then_some(sampler.peak_kb),
        ..Default::default()
    };
    Outcome {
        exit_code,
        ending,
        max_rss_kb: None,
        usage,
    }
}

/// How often a fenced job's supervisor looks at its node's heartbeat.
const FENCE_CHECK_EVERY: Duration = Duration::from_millis(250);

/// Whether the node's heartbeat `file` was last renewed more than `after`
/// ago; a file that cannot be read counts from the job's start.
fn heartbeat_older_than(file: &std::path::Path, after: Duration, started: Instant) -> bool {
    match std::fs::metadata(file).and_then(|m| m.modified()) {
        Ok(at) => at.elapsed().is_ok_and(|age| age > after),
        Err(_) => started.elapsed() > after,
    }
}

/// Writes the job's processes where the daemon looks for them (a
/// temporary file renamed over the last record, so it is never torn).
fn record(path: &std::path::Path, pids: &[(i32, u64)]) {
    let tmp = path.with_extension("tmp");
    if let Ok(bytes) = serde_json::to_vec(pids)
        && std::fs::write(&tmp, bytes).is_ok()
    {
        let _ = std::fs::rename(&tmp, path);
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// SIGCONT (so a stopped job can act on it) and SIGTERM to every process
/// group of the job, the batch shell's and each step's, as Slurm ends a job.
fn terminate(members: &Members, leader: Option<Pid>) {
    signal_all(members, leader, Signal::CONT);
    signal_all(members, leader, Signal::TERM);
}

/// `signal` to every process group of the job.
fn signal_all(members: &Members, leader: Option<Pid>, signal: Signal) {
    for group in members.groups(leader) {
        signal_group(Some(group), signal);
    }
}

/// A user's signal, to the processes `scope` names: the steps' groups
/// (never the batch shell's), the batch shell alone, or every group.
fn deliver(members: &Members, leader: Option<Pid>, signal: i32, scope: SignalScope) {
    let Some(signal) = Signal::from_named_raw(signal) else {
        return;
    };
    match scope {
        SignalScope::BatchShell => {
            if let Some(leader) = leader {
                // ESRCH only says the process is already gone.
                let _ = rustix::process::kill_process(leader, signal);
            }
        }
        SignalScope::All => signal_all(members, leader, signal),
        SignalScope::Steps => {
            for group in members
                .groups(leader)
                .into_iter()
                .filter(|g| Some(*g) != leader)
            {
                signal_group(Some(group), signal);
            }
        }
    }
}

fn signal_group(group: Option<Pid>, signal: Signal) {
    if let Some(group) = group {
        // ESRCH only says the group is already gone.
        let _ = rustix::process::kill_process_group(group, signal);
    }
}
