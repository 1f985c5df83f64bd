//! Watching a running job until its script ends: the time limit, cancels,
//! and the final kill of whatever the script left behind.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::process::Child;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::{Instant, sleep_until};

use crate::protocol::ExitCode;

/// A request to a running job's supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// End the job: SIGCONT and SIGTERM to the group, SIGKILL after the grace.
    Cancel { by_uid: u32 },
    /// The daemon is stopping: end the job the same way.
    Shutdown,
}

/// Why the script's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// On its own (or from a signal the scheduler did not send).
    Exited,
    /// Because it was cancelled.
    Cancelled { by_uid: u32 },
    /// Because it reached its time limit.
    TimedOut,
    /// Because the daemon stopped.
    Shutdown,
}

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub exit_code: ExitCode,
    pub ending: Ending,
}

/// Where the supervisor is in stopping the job.
enum Stopping {
    No,
    /// SIGTERM sent; SIGKILL follows at this instant.
    Terminated {
        kill_at: Instant,
    },
    Killed,
}

/// Waits for the job's script to end, enforcing `time_limit` and obeying
/// `controls`. Processes of the job still alive when the script ends are
/// killed, so nothing of a finished job runs on.
pub async fn supervise(
    mut child: Child,
    time_limit: Option<Duration>,
    kill_wait: Duration,
    mut controls: UnboundedReceiver<Control>,
) -> Outcome {
    let group = child.id().and_then(|pid| Pid::from_raw(pid as i32));
    let deadline = time_limit.map(|limit| Instant::now() + limit);
    let mut ending = Ending::Exited;
    let mut stopping = Stopping::No;
    let status = loop {
        let kill_at = match stopping {
            Stopping::Terminated { kill_at } => Some(kill_at),
            _ => None,
        };
        let running = matches!(stopping, Stopping::No);
        tokio::select! {
            status = child.wait() => break status,
            () = sleep_until_some(deadline), if running && deadline.is_some() => {
                ending = Ending::TimedOut;
                terminate(group);
                stopping = Stopping::Terminated { kill_at: Instant::now() + kill_wait };
            }
            () = sleep_until_some(kill_at), if kill_at.is_some() => {
                signal_group(group, Signal::KILL);
                stopping = Stopping::Killed;
            }
            Some(control) = controls.recv(), if running => {
                ending = match control {
                    Control::Cancel { by_uid } => Ending::Cancelled { by_uid },
                    Control::Shutdown => Ending::Shutdown,
                };
                terminate(group);
                stopping = Stopping::Terminated { kill_at: Instant::now() + kill_wait };
            }
        }
    };
    // The script is gone; anything it started in its group goes too.
    signal_group(group, Signal::KILL);
    let exit_code = match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => ExitCode { code, signal: 0 },
            (None, Some(signal)) => ExitCode { code: 0, signal },
            (None, None) => ExitCode { code: 1, signal: 0 },
        },
        Err(_) => ExitCode { code: 1, signal: 0 },
    };
    Outcome { exit_code, ending }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// SIGCONT (so a stopped job can act on it) and SIGTERM to the whole group.
fn terminate(group: Option<Pid>) {
    signal_group(group, Signal::CONT);
    signal_group(group, Signal::TERM);
}

fn signal_group(group: Option<Pid>, signal: Signal) {
    if let Some(group) = group {
        // ESRCH only says the group is already gone.
        let _ = rustix::process::kill_process_group(group, signal);
    }
}
