//! How a process ended, as the data_parser writes it.
//!
//! From v0.0.40: `{"status": ["SUCCESS"|"ERROR"|"SIGNALED"|"PENDING"],
//! "return_code": {number}, "signal": {"id": {number}, "name": "KILL"}}`.
//! v0.0.39 wrote squeue's exit codes as the raw wait status in a number
//! object, and sacct's as `{"status": "...", "return_code": N}` with a
//! `signal {signal_id, name}` when signalled.

use serde::Serialize;

use super::Version;
use super::number::NoVal;
use crate::format::signal::signal_abbrev;
use crate::protocol::ExitCode;

/// `process_exit_code_verbose`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessExitCode {
    pub status: Vec<&'static str>,
    pub return_code: NoVal,
    pub signal: ExitSignal,
}

/// The signal part of [`ProcessExitCode`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExitSignal {
    pub id: NoVal,
    /// The name without `SIG` (`KILL`), empty when no signal.
    pub name: String,
}

impl ProcessExitCode {
    /// `None` (not ended yet) is PENDING; a signal is SIGNALED with no
    /// return code; a non-zero code is ERROR; else SUCCESS.
    pub fn new(exit: Option<ExitCode>) -> ProcessExitCode {
        let no_signal = ExitSignal {
            id: NoVal::UNSET,
            name: String::new(),
        };
        match exit {
            None => ProcessExitCode {
                status: vec!["PENDING"],
                return_code: NoVal::UNSET,
                signal: no_signal,
            },
            Some(exit) if exit.signal != 0 => ProcessExitCode {
                status: vec!["SIGNALED"],
                return_code: NoVal::UNSET,
                signal: ExitSignal {
                    id: NoVal::of(exit.signal),
                    name: signal_abbrev(exit.signal).unwrap_or_default().to_string(),
                },
            },
            Some(exit) => ProcessExitCode {
                status: vec![if exit.code == 0 { "SUCCESS" } else { "ERROR" }],
                return_code: NoVal::of(exit.code),
                signal: no_signal,
            },
        }
    }
}

/// v0.0.39's sacct exit code (`JOB_EXIT_CODE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobExitCode39 {
    pub status: &'static str,
    pub return_code: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal39>,
}

/// The signal of a [`JobExitCode39`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signal39 {
    pub signal_id: i64,
    pub name: String,
}

/// An exit code in the version's encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ExitField {
    Verbose(ProcessExitCode),
    /// v0.0.39 squeue/scontrol: the wait status, as a number object.
    WaitStatus(NoVal),
    /// v0.0.39 sacct.
    Job39(JobExitCode39),
}

/// The wait status a shell would see: the code in the high byte, or the
/// signal in the low one.
pub fn wait_status(exit: ExitCode) -> i64 {
    if exit.signal != 0 {
        i64::from(exit.signal & 0x7f)
    } else {
        i64::from(exit.code & 0xff) << 8
    }
}

impl ExitField {
    /// squeue's and scontrol's `exit_code` in the version's encoding.
    pub fn job_info(version: Version, exit: Option<ExitCode>) -> ExitField {
        if version.has_number_times() {
            ExitField::Verbose(ProcessExitCode::new(exit))
        } else {
            ExitField::WaitStatus(exit.map_or(NoVal::UNSET, |exit| NoVal::of(wait_status(exit))))
        }
    }

    /// sacct's `exit_code` in the version's encoding.
    pub fn db_job(version: Version, exit: Option<ExitCode>) -> ExitField {
        if version.has_number_times() {
            return ExitField::Verbose(ProcessExitCode::new(exit));
        }
        let job39 = match exit {
            None => JobExitCode39 {
                status: "PENDING",
                return_code: 0,
                signal: None,
            },
            Some(exit) if exit.signal != 0 => JobExitCode39 {
                status: "SIGNALED",
                return_code: -127,
                signal: Some(Signal39 {
                    signal_id: i64::from(exit.signal),
                    name: signal_abbrev(exit.signal).unwrap_or_default().to_string(),
                }),
            },
            Some(exit) => JobExitCode39 {
                status: if exit.code == 0 { "SUCCESS" } else { "ERROR" },
                return_code: i64::from(exit.code),
                signal: None,
            },
        };
        ExitField::Job39(job39)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_say_how_the_process_ended() {
        let code = |code, signal| Some(ExitCode { code, signal });
        let done = ProcessExitCode::new(code(0, 0));
        assert_eq!(
            (done.status, done.return_code),
            (vec!["SUCCESS"], NoVal::of(0))
        );
        let failed = ProcessExitCode::new(code(3, 0));
        assert_eq!(
            (failed.status, failed.return_code),
            (vec!["ERROR"], NoVal::of(3))
        );
        let killed = ProcessExitCode::new(code(0, 9));
        assert_eq!(killed.status, vec!["SIGNALED"]);
        assert_eq!(killed.return_code, NoVal::UNSET);
        assert_eq!(killed.signal.id, NoVal::of(9));
        assert_eq!(killed.signal.name, "KILL");
        assert_eq!(ProcessExitCode::new(None).status, vec!["PENDING"]);
    }

    #[test]
    fn v0_0_39_writes_the_wait_status() {
        let exit = |code, signal| ExitCode { code, signal };
        assert_eq!(wait_status(exit(3, 0)), 768);
        assert_eq!(wait_status(exit(0, 9)), 9);
        assert_eq!(
            ExitField::job_info(Version::V0039, Some(exit(1, 0))),
            ExitField::WaitStatus(NoVal::of(256))
        );
    }
}
