//! How a started job ended: one type, whoever learns it (the job's
//! supervisor, which writes it to the job's directory, or the daemon, for a
//! job cancelled before its launch or one whose supervisor was lost), and
//! one mapping from it to what the books record, as Slurm records it.

use serde::{Deserialize, Serialize};

use super::job::FinalState;
use crate::protocol::{ExitCode, Reason, Usage};

/// The exit code's "signal" half of a job that failed to launch, as Slurm
/// 22.05 records it (`0:53`).
const LAUNCH_FAILURE_SIGNAL: i32 = 53;

/// How a started job ended.
///
/// The supervisor writes `Ran` and `LaunchFailed` as the job's outcome
/// file, in the JSON supervisors always wrote (`{"Ran":{...}}`,
/// `{"LaunchFailed":"why"}`): a daemon upgraded under running jobs reads
/// what the older supervisors leave. The other two only the daemon finds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum End {
    /// The script ran and ended, as its supervisor saw it.
    Ran(Outcome),
    /// It could not be started; the text says why.
    LaunchFailed(String),
    /// It was cancelled after its start was recorded but before its
    /// process ran.
    CancelledBeforeLaunch { by_uid: u32 },
    /// Its supervisor vanished without saying how the job ended.
    Lost,
}

/// How the script's process ended, as its supervisor saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub exit_code: ExitCode,
    pub ending: Ending,
    /// Peak resident memory of the script (and the children it waited
    /// for) in KiB, where the supervisor could measure it. Kept for
    /// outcomes written before `usage`; new outcomes repeat it there.
    #[serde(default)]
    pub max_rss_kb: Option<u64>,
    /// What the job used, as its cgroup or supervisor measured it.
    #[serde(default)]
    pub usage: Usage,
}

/// Why the script's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ending {
    /// On its own (or from a signal the scheduler did not send).
    Exited,
    /// Because it was cancelled.
    Cancelled { by_uid: u32 },
    /// Because it was requeued.
    Requeued,
    /// Because it reached its time limit.
    TimedOut,
    /// The OOM killer killed a process of the job inside its memory limit
    /// (the kernel's count, or the supervisor's own kill without cgroups).
    OutOfMemory,
}

/// What the books record of a job that ended for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub state: FinalState,
    pub reason: Reason,
    pub exit_code: ExitCode,
    /// Who cancelled it, for a cancelled job.
    pub cancelled_by: Option<u32>,
    pub usage: Usage,
}

impl End {
    /// A job a reboot interrupted that may run again (`--requeue`): it
    /// queues again as though requeued.
    pub fn interrupted() -> End {
        End::Ran(Outcome {
            exit_code: ExitCode::default(),
            ending: Ending::Requeued,
            max_rss_kb: None,
            usage: Usage::default(),
        })
    }

    /// Whether the job queues again rather than ends.
    pub fn requeued(&self) -> bool {
        matches!(
            self,
            End::Ran(Outcome {
                ending: Ending::Requeued,
                ..
            })
        )
    }

    /// What the books record of this end (for a requeue, which ends
    /// nothing, what a requeue that could not happen would be: FAILED).
    pub fn record(&self) -> Record {
        let (state, reason, exit_code, cancelled_by) = match self {
            // slurmstepd's failures before the script runs (a working
            // directory or an output file it cannot have) end the job with
            // `0:53`.
            End::LaunchFailed(_) => (
                FinalState::Failed,
                Reason::JobLaunchFailure,
                ExitCode {
                    code: 0,
                    signal: LAUNCH_FAILURE_SIGNAL,
                },
                None,
            ),
            End::Lost => (
                FinalState::NodeFail,
                Reason::NodeFail,
                ExitCode::default(),
                None,
            ),
            End::CancelledBeforeLaunch { by_uid } => (
                FinalState::Cancelled,
                Reason::None,
                ExitCode::default(),
                Some(*by_uid),
            ),
            End::Ran(Outcome {
                exit_code, ending, ..
            }) => match ending {
                Ending::Cancelled { by_uid } => (
                    FinalState::Cancelled,
                    Reason::None,
                    *exit_code,
                    Some(*by_uid),
                ),
                Ending::TimedOut => (FinalState::Timeout, Reason::TimeLimit, *exit_code, None),
                // Slurm's sacct shows an OOM-killed job's exit code as 0:125.
                Ending::OutOfMemory => (
                    FinalState::OutOfMemory,
                    Reason::OutOfMemory,
                    ExitCode {
                        code: 0,
                        signal: 125,
                    },
                    None,
                ),
                Ending::Requeued => (FinalState::Failed, Reason::NodeFail, *exit_code, None),
                Ending::Exited => match (exit_code.code, exit_code.signal) {
                    (0, 0) => (FinalState::Completed, Reason::None, *exit_code, None),
                    (_, 0) => (
                        FinalState::Failed,
                        Reason::NonZeroExitCode,
                        *exit_code,
                        None,
                    ),
                    // Slurm 22.05 gives a batch script dead of SIGKILL the
                    // reason JobLaunchFailure (slurmstepd cannot tell it
                    // from a launch that failed); other signals are
                    // RaisedSignal.
                    (_, 9) => (
                        FinalState::Failed,
                        Reason::JobLaunchFailure,
                        *exit_code,
                        None,
                    ),
                    (_, signal) => (
                        FinalState::Failed,
                        Reason::RaisedSignal(signal),
                        *exit_code,
                        None,
                    ),
                },
            },
        };
        let usage = match self {
            // Supervisors from before `usage` give the peak memory only
            // beside it.
            End::Ran(outcome) => Usage {
                max_rss_kb: outcome.usage.max_rss_kb.or(outcome.max_rss_kb),
                ..outcome.usage
            },
            _ => Usage::default(),
        };
        Record {
            state,
            reason,
            exit_code,
            cancelled_by,
            usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(code: i32, signal: i32, ending: Ending) -> End {
        End::Ran(Outcome {
            exit_code: ExitCode { code, signal },
            ending,
            max_rss_kb: None,
            usage: Usage::default(),
        })
    }

    fn recorded(end: &End) -> (FinalState, Reason, String, Option<u32>) {
        let record = end.record();
        (
            record.state,
            record.reason,
            record.exit_code.to_string(),
            record.cancelled_by,
        )
    }

    #[test]
    fn ends_are_recorded_as_slurm_records_them() {
        use FinalState::*;
        let cases = [
            (
                ran(0, 0, Ending::Exited),
                (Completed, Reason::None, "0:0", None),
            ),
            (
                ran(3, 0, Ending::Exited),
                (Failed, Reason::NonZeroExitCode, "3:0", None),
            ),
            (
                ran(0, 9, Ending::Exited),
                (Failed, Reason::JobLaunchFailure, "0:9", None),
            ),
            (
                ran(0, 11, Ending::Exited),
                (Failed, Reason::RaisedSignal(11), "0:11", None),
            ),
            (
                ran(0, 15, Ending::Cancelled { by_uid: 7 }),
                (Cancelled, Reason::None, "0:15", Some(7)),
            ),
            (
                ran(0, 15, Ending::TimedOut),
                (Timeout, Reason::TimeLimit, "0:15", None),
            ),
            (
                ran(0, 9, Ending::OutOfMemory),
                (OutOfMemory, Reason::OutOfMemory, "0:125", None),
            ),
            (
                End::LaunchFailed("no such directory".into()),
                (Failed, Reason::JobLaunchFailure, "0:53", None),
            ),
            (
                End::CancelledBeforeLaunch { by_uid: 7 },
                (Cancelled, Reason::None, "0:0", Some(7)),
            ),
            (End::Lost, (NodeFail, Reason::NodeFail, "0:0", None)),
        ];
        for (end, (state, reason, exit, by)) in cases {
            assert_eq!(
                recorded(&end),
                (state, reason, exit.to_string(), by),
                "{end:?}"
            );
        }
    }

    #[test]
    fn only_a_requeue_queues_again() {
        assert!(End::interrupted().requeued());
        assert!(ran(0, 15, Ending::Requeued).requeued());
        assert!(!ran(0, 0, Ending::Exited).requeued());
        assert!(!End::Lost.requeued());
    }

    #[test]
    fn the_peak_memory_of_an_older_supervisor_is_kept() {
        let mut outcome = Outcome {
            exit_code: ExitCode::default(),
            ending: Ending::Exited,
            max_rss_kb: Some(2048),
            usage: Usage::default(),
        };
        assert_eq!(End::Ran(outcome).record().usage.max_rss_kb, Some(2048));
        outcome.usage.max_rss_kb = Some(4096);
        outcome.usage.total_cpu_usec = Some(10);
        assert_eq!(End::Ran(outcome).record().usage, outcome.usage);
        assert_eq!(End::Lost.record().usage, Usage::default());
    }

    #[test]
    fn outcomes_keep_the_json_older_supervisors_wrote() {
        let written = [
            (
                ran(0, 0, Ending::Exited),
                r#"{"Ran":{"exit_code":"0:0","ending":"Exited","max_rss_kb":null,"usage":{}}}"#,
            ),
            (
                ran(0, 15, Ending::Cancelled { by_uid: 7 }),
                r#"{"Ran":{"exit_code":"0:15","ending":{"Cancelled":{"by_uid":7}},"max_rss_kb":null,"usage":{}}}"#,
            ),
            (End::LaunchFailed("why".into()), r#"{"LaunchFailed":"why"}"#),
        ];
        for (end, json) in written {
            assert_eq!(serde_json::to_string(&end).expect("written"), json);
            assert_eq!(serde_json::from_str::<End>(json).expect("read"), end);
        }
        // From before `usage`: the peak memory beside the exit code only.
        let old = r#"{"Ran":{"exit_code":"2:0","ending":"TimedOut","max_rss_kb":512}}"#;
        let end: End = serde_json::from_str(old).expect("read");
        assert_eq!(
            end.record(),
            Record {
                state: FinalState::Timeout,
                reason: Reason::TimeLimit,
                exit_code: ExitCode { code: 2, signal: 0 },
                cancelled_by: None,
                usage: Usage {
                    max_rss_kb: Some(512),
                    ..Usage::default()
                },
            }
        );
    }
}
