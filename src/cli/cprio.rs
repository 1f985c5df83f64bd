//! `cprio` (sprio): the priority factors of the pending jobs, in sprio's
//! layouts, or the weights they are weighed with (`-w`).

use clap::{ArgAction, Parser};

use crate::cli::outcome::error_lines;
use crate::cli::{Connection, Outcome};
use crate::error::Error;
use crate::format::sprio::{self, Format};
use crate::format::squeue::CLUSTER_NAME;
use crate::protocol::PriorityReport;

/// Show the priority factors of pending jobs (like sprio).
///
/// Needs a daemon running --priority-type multifactor. By default every
/// pending job, by id, with each weighted factor whose weight is not 0.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "cprio",
    version,
    disable_help_flag = true,
    max_term_width = 100,
    after_help = "FORMAT (-o): text with %[.][width]<letter> fields; a width pads and cuts, a '.'\n\
                  right-justifies. Letters: %i job id, %r partition, %u user, %o account, %c cluster,\n\
                  %Y priority, %y priority normalized, %S site, %N nice, %A/%a age, %F/%f fair share,\n\
                  %J/%j job size, %P/%p partition factor, %Q/%q QOS, %n QOS name, %B/%b association,\n\
                  %T/%t TRES (upper case weighted, lower case normalized).\n\
                  Default: \"%.15i %9r %.10Y %.10S\" and %.10A %.10F %.10J %.10P for each weight not 0."
)]
pub struct CprioArgs {
    /// Do not print the header
    #[arg(short = 'h', long = "noheader")]
    pub noheader: bool,

    /// Only these jobs (comma-separated ids)
    #[arg(short = 'j', long = "jobs", value_name = "IDS", num_args = 0..=1, default_missing_value = "")]
    pub jobs: Option<String>,

    /// Show every factor, with the user and nice
    #[arg(short = 'l', long = "long")]
    pub long: bool,

    /// Show the factors normalized (0 to 1) rather than weighted
    #[arg(short = 'n', long = "norm")]
    pub norm: bool,

    /// Output format (see FORMAT below)
    #[arg(short = 'o', long = "format", value_name = "FORMAT")]
    pub format: Option<String>,

    /// Only jobs in these partitions (comma-separated)
    #[arg(short = 'p', long = "partition", value_name = "PARTITIONS")]
    pub partition: Option<String>,

    /// Only the jobs of these users (comma-separated names)
    #[arg(short = 'u', long = "user", alias = "users", value_name = "USERS")]
    pub user: Option<String>,

    /// Print the configured weight of each factor
    #[arg(short = 'w', long = "weights")]
    pub weights: bool,

    /// Clusters (there is one; accepted)
    #[arg(short = 'M', long = "clusters", value_name = "NAME")]
    pub clusters: Option<String>,

    #[command(flatten)]
    pub connection: Connection,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

fn list(text: Option<&str>) -> Option<Vec<String>> {
    text.map(|text| {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(String::from)
            .collect()
    })
}

/// What cprio prints: stdout, and the complaints sprio makes on stderr
/// before it goes on (an unknown `%` letter, an unknown user).
#[derive(Debug, Default)]
pub struct Rendered {
    pub stdout: String,
    pub warnings: Vec<Error>,
}

impl CprioArgs {
    /// What sprio prints for this report; under priority/basic, sprio's
    /// refusal (as [`Error::Usage`], printed as it is, exit 1); a `-j` id
    /// that is not a number is refused as sprio refuses it.
    pub fn render(&self, report: &PriorityReport) -> Result<Rendered, Error> {
        let ids = list(self.jobs.as_deref()).filter(|ids| !ids.is_empty());
        if let Some(bad) = ids
            .iter()
            .flatten()
            .find(|id| id.parse::<u32>().map_or(true, |id| id == 0))
        {
            return Err(Error::Invalid(format!("Invalid job id: {bad}")));
        }
        if report.plugin != "priority/multifactor" {
            let text = sprio::unsupported_plugin(&report.plugin);
            return Err(Error::Usage(text.trim_end().to_string()));
        }
        let format = match &self.format {
            Some(text) => Format::parse(text),
            None => Format::default_for(self.long, self.norm, self.user.is_some(), &report.weights),
        };
        let mut warnings = format.rejected();
        let users = list(self.user.as_deref());
        // sprio names a user it cannot find (followed by an empty line)
        // and shows the jobs of the others.
        for user in users.iter().flatten() {
            if crate::users::uid_of(user).is_none() && user.parse::<u32>().is_err() {
                warnings.push(Error::Invalid(format!("Invalid user: {user}\n")));
            }
        }
        let partitions = list(self.partition.as_deref());
        let jobs: Vec<_> = report
            .jobs
            .iter()
            .filter(|job| {
                ids.as_ref()
                    .is_none_or(|ids| ids.iter().any(|id| *id == job.job_id.to_string()))
                    && users.as_ref().is_none_or(|users| users.contains(&job.user))
                    && partitions
                        .as_ref()
                        .is_none_or(|parts| parts.contains(&job.partition))
            })
            .cloned()
            .collect();
        if self.jobs.is_some() && jobs.is_empty() && !self.weights {
            return Ok(Rendered {
                stdout: "Unable to find jobs matching user/id(s) specified\n".into(),
                warnings,
            });
        }
        let stdout = sprio::render(
            &format,
            &jobs,
            &report.weights,
            !self.noheader,
            self.weights,
            CLUSTER_NAME,
        );
        Ok(Rendered { stdout, warnings })
    }
}

/// Runs `cprio`: asks the daemon, renders, one outcome.
pub fn run(prog: &str, args: CprioArgs) -> Outcome {
    let rendered = args
        .connection
        .client()
        .and_then(|client| args.render(&client.priorities()?));
    match rendered {
        Ok(Rendered { stdout, warnings }) => {
            let mut outcome = Outcome::printed(stdout);
            for warning in &warnings {
                outcome.stderr.extend(error_lines(prog, warning));
                // An unknown user's line is followed by an empty one.
                if warning.to_string().ends_with('\n') {
                    outcome.stderr.push(String::new());
                }
            }
            outcome
        }
        Err(error) => Outcome::failure(prog, &error),
    }
}
