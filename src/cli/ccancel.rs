//! `ccancel` (scancel): cancel jobs by id.

use clap::Parser;

use crate::protocol::JobId;

/// Cancel Conductor jobs by id (like scancel).
///
/// A pending job is cancelled at once; a running job's processes get
/// SIGTERM, then SIGKILL after the daemon's grace period. Cancelling a job
/// that already ended does nothing and is not an error.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "ccancel", version, max_term_width = 100)]
pub struct CcancelArgs {
    /// Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]
    #[arg(long, value_name = "ADDRESS")]
    pub server: Option<String>,

    /// Ids of the jobs to cancel
    #[arg(value_name = "JOB_ID")]
    pub ids: Vec<String>,
}

impl CcancelArgs {
    /// The ids, each parsed or kept as the text that is not an id.
    pub fn parsed_ids(&self) -> Vec<Result<JobId, String>> {
        self.ids
            .iter()
            .map(|text| text.parse::<JobId>().map_err(|_| text.clone()))
            .collect()
    }
}
