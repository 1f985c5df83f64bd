//! `cqueue` (squeue): which jobs are queued and running, as squeue prints them.

use clap::{ArgAction, Parser};

use crate::error::{Error, Result};
use crate::format::squeue::{DEFAULT, Format, LONG};
use crate::protocol::{JobInfo, JobState, ListQuery};
use crate::users;

/// Show the jobs in Conductor's queue (like squeue).
///
/// By default: pending and running jobs, in squeue's layout. Finished jobs
/// show with -t all or by naming their states.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "cqueue",
    version,
    disable_help_flag = true,
    max_term_width = 100,
    after_help = "FORMAT (-o): %[.][width]<letter>; a width pads and cuts, a '.' right-justifies.\n\
                  Letters: %i job id, %j name, %u user, %U uid, %t state (PD), %T state (PENDING),\n\
                  %M time used, %l time limit, %L time left, %D nodes, %C CPUs, %c CPUs per task,\n\
                  %m memory, %b GPUs, %R nodes or (reason), %r reason, %N nodes, %P partition,\n\
                  %V submit time, %S start time, %e end time, %Z work dir.\n\
                  Default: \"%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R\""
)]
pub struct CqueueArgs {
    /// Only these jobs (comma-separated ids)
    #[arg(short = 'j', long = "jobs", value_name = "IDS", value_delimiter = ',')]
    pub jobs: Vec<String>,

    /// Only jobs of these users (comma-separated names or uids)
    #[arg(
        short = 'u',
        long = "user",
        value_name = "USERS",
        value_delimiter = ','
    )]
    pub users: Vec<String>,

    /// Only my jobs
    #[arg(long)]
    pub me: bool,

    /// Only jobs in these states (PD,R,CD,F,CA,TO or long names), or `all`
    #[arg(short = 't', long = "states", value_name = "STATES")]
    pub states: Option<String>,

    /// Do not print the header line
    #[arg(short = 'h', long = "noheader")]
    pub noheader: bool,

    /// squeue's long layout (long state names and time limits)
    #[arg(short = 'l', long = "long")]
    pub long: bool,

    /// Output format (see FORMAT below)
    #[arg(short = 'o', long = "format", value_name = "FORMAT")]
    pub format: Option<String>,

    /// Print the jobs as a JSON array
    #[arg(long)]
    pub json: bool,

    /// Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]
    #[arg(long, value_name = "ADDRESS")]
    pub server: Option<String>,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,

    /// Job ids may also be given as plain arguments
    #[arg(value_name = "IDS", hide = true)]
    pub positional_jobs: Vec<String>,
}

impl CqueueArgs {
    /// The daemon query these options ask for.
    pub fn query(&self) -> Result<ListQuery> {
        let ids: Vec<&str> = self
            .jobs
            .iter()
            .chain(&self.positional_jobs)
            .flat_map(|list| list.split(','))
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .collect();
        for id in &ids {
            id.parse::<crate::protocol::JobId>()
                .map_err(|_| Error::Invalid(format!("Invalid job id: {id}")))?;
        }
        let mut users: Vec<String> = Vec::new();
        for user in &self.users {
            if users::uid_of(user).is_none() {
                return Err(Error::Invalid(format!("Invalid user: {user}")));
            }
            users.push(user.clone());
        }
        if self.me {
            users.push(users::current_uid().to_string());
        }
        if let Some(states) = &self.states
            && !states.eq_ignore_ascii_case("all")
        {
            for state in states.split(',').filter(|s| !s.is_empty()) {
                state.parse::<JobState>().map_err(Error::Invalid)?;
            }
        }
        Ok(ListQuery {
            ids: (!ids.is_empty()).then(|| ids.join(",")),
            users: (!users.is_empty()).then(|| users.join(",")),
            states: self.states.clone(),
            names: None,
        })
    }

    /// The output format and the letters in it that are not fields.
    pub fn output_format(&self) -> (Format, Vec<String>) {
        let text = match (&self.format, self.long) {
            (Some(format), _) => format.as_str(),
            (None, true) => LONG,
            (None, false) => DEFAULT,
        };
        Format::parse(text)
    }

    /// The table (or JSON) to print for these jobs.
    pub fn render(&self, jobs: &[JobInfo]) -> Result<String> {
        if self.json {
            let mut text = serde_json::to_string_pretty(jobs)
                .map_err(|e| Error::Other(format!("cannot encode JSON: {e}")))?;
            text.push('\n');
            return Ok(text);
        }
        let (format, _) = self.output_format();
        let now = chrono::Utc::now();
        let mut out = String::new();
        if !self.noheader {
            out.push_str(&format.header());
            out.push('\n');
        }
        for job in jobs {
            out.push_str(&format.row(job, now));
            out.push('\n');
        }
        Ok(out)
    }
}
