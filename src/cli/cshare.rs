//! `cshare` (sshare): the fair-share tree, the `root` account over each
//! user, in sshare's fixed-width or parsable layouts.

use clap::{ArgAction, Parser};

use crate::cli::{Connection, Outcome};
use crate::error::Error;
use crate::format::squeue::CLUSTER_NAME;
use crate::format::sshare::{self, Layout};
use crate::protocol::{ShareReport, UserShareInfo};
use crate::users;

/// Show each user's shares, usage and fair-share factor (like sshare).
///
/// By default the root account and the calling user; -a shows every user
/// with jobs, usage or configured shares. Usage is billed TRES-seconds
/// (--tres-billing-weights), decayed with the daemon's half-life.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "cshare",
    version,
    disable_help_flag = true,
    max_term_width = 100,
    after_help = "FIELDS (-o): comma-separated names, any case, any unambiguous prefix, name%width\n\
                  for a width: Account, Cluster, EffectvUsage, FairShare, GrpTRESMins, GrpTRESRaw, ID,\n\
                  LevelFS, NormShares, NormUsage, Partition, RawShares, RawUsage, TRESRunMins, User.\n\
                  Default: Account,User,RawShares,NormShares,RawUsage,EffectvUsage,FairShare"
)]
pub struct CshareArgs {
    /// Show every user
    #[arg(short = 'a', long = "all")]
    pub all: bool,

    /// Accounts to show (there is one, root; accepted)
    #[arg(short = 'A', long = "accounts", value_name = "ACCOUNTS")]
    pub accounts: Option<String>,

    /// Show the long layout (NormUsage and the TRES columns too)
    #[arg(short = 'l', long = "long")]
    pub long: bool,

    /// Clusters (there is one; accepted)
    #[arg(short = 'M', long = "clusters", value_name = "NAME")]
    pub clusters: Option<String>,

    /// Do not print the header
    #[arg(short = 'n', long = "noheader")]
    pub noheader: bool,

    /// Fields to show (see FIELDS below)
    #[arg(short = 'o', long = "format", value_name = "FIELDS")]
    pub format: Option<String>,

    /// Parsable: fields separated by '|', one at the end of each line too
    #[arg(short = 'p', long = "parsable")]
    pub parsable: bool,

    /// Parsable: fields separated by '|', none at the end
    #[arg(short = 'P', long = "parsable2")]
    pub parsable2: bool,

    /// Only these users (comma-separated names; -1 is every user)
    #[arg(
        short = 'u',
        long = "users",
        value_name = "USERS",
        allow_hyphen_values = true
    )]
    pub users: Option<String>,

    /// Show the users' lines only, not the account's
    #[arg(short = 'U', long = "Users")]
    pub users_only: bool,

    #[command(flatten)]
    pub connection: Connection,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

impl CshareArgs {
    /// What sshare prints for this tree, as seen by the user `me`.
    pub fn render(&self, report: &ShareReport, me: &str) -> Result<String, Error> {
        let fields = match (&self.format, self.long) {
            (Some(text), _) => text.as_str(),
            (None, true) => sshare::LONG_FIELDS,
            (None, false) => sshare::DEFAULT_FIELDS,
        };
        let columns = sshare::parse_fields(fields)?;
        let wanted: Option<Vec<&str>> = match self.users.as_deref() {
            _ if self.all => None,
            Some("-1") => None,
            Some(text) => Some(text.split(',').map(str::trim).collect()),
            None => Some(vec![me]),
        };
        let users: Vec<&UserShareInfo> = report
            .users
            .iter()
            .filter(|user| {
                wanted
                    .as_ref()
                    .is_none_or(|names| names.contains(&user.user.as_str()))
            })
            .collect();
        let layout = if self.parsable2 {
            Layout::Parsable { trailing: false }
        } else if self.parsable {
            Layout::Parsable { trailing: true }
        } else {
            Layout::Fixed
        };
        Ok(sshare::render(
            report,
            &users,
            &columns,
            layout,
            !self.noheader,
            self.users_only,
            CLUSTER_NAME,
        ))
    }
}

/// The calling user's name, whose line sshare shows by default.
pub fn me() -> String {
    users::user_name(users::current_uid())
}

/// Runs `cshare`: asks the daemon, renders, one outcome.
pub fn run(prog: &str, args: CshareArgs) -> Outcome {
    let rendered = args
        .connection
        .client()
        .and_then(|client| args.render(&client.shares()?, &me()));
    match rendered {
        Ok(text) => Outcome::printed(text),
        Err(error) => Outcome::failure(prog, &error),
    }
}
