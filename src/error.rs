//! The library's one error type. Each variant's message is the single line
//! a binary prints after its `prog: error: ` prefix.

use std::path::PathBuf;

/// Everything that can go wrong in the library, client side and daemon side.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Invalid --time specification")]
    InvalidTime(String),

    #[error("Invalid --mem specification")]
    InvalidMemory(String),

    /// A `--begin` time Slurm's time grammar refuses; the binary prints
    /// where the grammar gave up on a line of its own first.
    #[error("Invalid --begin specification")]
    InvalidBegin(crate::format::time::InvalidTime),

    #[error("Invalid numeric value \"{value}\" for --{option}.")]
    InvalidNumber { option: &'static str, value: String },

    /// A command line getopt refuses, in getopt's own words and lines
    /// (`sbatch: unrecognized option '--x'`, `Try "sbatch --help" ...`):
    /// printed as it is, without the `error:` prefix.
    #[error("{0}")]
    Usage(String),

    /// A value that is well formed but not acceptable, e.g. `--cpus-per-task=0`.
    #[error("{0}")]
    Invalid(String),

    /// A refusal Slurm words as `prog: fatal: ...` (its `fatal()`, not
    /// `error()`), e.g. two of sbatch's memory options.
    #[error("{0}")]
    Fatal(String),

    #[error("Unable to open file {}: {}", path.display(), io_reason(cause))]
    ScriptUnreadable {
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error("{0}")]
    BadScript(&'static str),

    #[error("{what} {}: {}", path.display(), io_reason(cause))]
    Io {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },

    #[error("Invalid job id specified")]
    NoSuchJob(crate::protocol::JobId),

    #[error("Access/permission denied")]
    PermissionDenied,

    /// A limit of the daemon's is reached; the same request may succeed
    /// later (Slurm's MaxJobCount).
    #[error("{0}")]
    Busy(String),

    /// The job is not in a state where the request makes sense.
    #[error("{0}")]
    Conflict(String),

    /// The job is in a state the request would have to wait out (a
    /// signal for a job that has not started): Slurm's
    /// `ESLURM_TRANSITION_STATE_NO_UPDATE`.
    #[error("Job can not be altered now, try again later")]
    NotNow,

    /// A socket, or the server behind it, that another user may control:
    /// refused before anything was sent.
    #[error("{0}")]
    Untrusted(String),

    /// The daemon could not be reached at all.
    #[error("cannot reach conductord at {server}: {reason}")]
    Unreachable { server: String, reason: String },

    /// The daemon answered with an error.
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },

    /// The daemon answered something that is not our protocol.
    #[error("unexpected reply from conductord: {0}")]
    Protocol(String),

    /// The job store's backend failed; its own error (SQLite's, say) is
    /// kept, boxed, so that this type names no backend.
    #[error("the job store failed: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),

    #[error("{0}")]
    Other(String),
}

impl Error {
    /// An I/O error with what was being done and to which path.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            cause: source,
        }
    }

    /// True when the daemon said the job does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api { status: 404, .. })
    }

    /// True when the daemon said the job cannot take the request yet
    /// ([`Error::NotNow`]).
    pub fn is_not_now(&self) -> bool {
        matches!(self, Error::Api { code, .. } if code == NOT_NOW_CODE)
    }

    /// True when the error is about reaching the daemon, not about what
    /// was asked of it: no use asking it anything else.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            Error::Unreachable { .. } | Error::Untrusted(_) | Error::Protocol(_)
        )
    }
}

/// An I/O error's text without the `(os error N)` suffix.
pub(crate) fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// sbatch's words (a `fatal:` line) for more than one of `--mem`,
/// `--mem-per-cpu` and `--mem-per-gpu`.
pub const MEMORY_OPTIONS_EXCLUSIVE: &str =
    "--mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive.";

/// The API's code for [`Error::NotNow`].
pub const NOT_NOW_CODE: &str = "not_now";
