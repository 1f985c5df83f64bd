//! `clog`: a job's output, whole or followed until the job ends, like
//! `tail -f slurm-<id>.out` but from wherever the daemon can be reached
//! (over TCP too), and for the job's owner only. Slurm has no such
//! command: its users tail the file on a node that can see it.

use std::io::Write;

use clap::Parser;

use crate::cli::{Connection, Outcome};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::protocol::{JobId, ListQuery, OutputStream};

/// Show a job's output; with -f, follow it until the job ends.
///
/// Reads the job's stdout file (or its stderr with -e) through the daemon,
/// so it works where the file cannot be seen, e.g. over --server
/// https://... with a token. Only the job's owner (or an operator) may.
#[derive(Debug, Clone, Parser)]
#[command(name = "clog", version, max_term_width = 100)]
pub struct ClogArgs {
    /// The job: its id, or an array task as ARRAYID_TASK
    #[arg(value_name = "JOBID")]
    pub job: String,

    /// Keep writing what the job writes until it ends (like tail -f)
    #[arg(short = 'f', long)]
    pub follow: bool,

    /// Show the job's stderr file instead of its stdout
    #[arg(short = 'e', long)]
    pub stderr: bool,

    #[command(flatten)]
    pub connection: Connection,
}

pub fn run(prog: &str, args: ClogArgs) -> Outcome {
    let written = args.connection.client().and_then(|client| {
        let id = resolve(&client, &args.job)?;
        let stream = if args.stderr {
            OutputStream::Stderr
        } else {
            OutputStream::Stdout
        };
        write_output(&client, id, stream, args.follow)
    });
    match written {
        Ok(()) => Outcome::default(),
        Err(error) => Outcome::failure(prog, &error),
    }
}

/// Writes a job's output to stdout as it arrives.
pub fn write_output(client: &Client, id: JobId, stream: OutputStream, follow: bool) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    client.output(id, stream, follow, &mut stdout)?;
    let _ = stdout.flush();
    Ok(())
}

/// The job an id names: a plain id, or the task `ARRAY_TASK` of an array.
fn resolve(client: &Client, text: &str) -> Result<JobId> {
    let invalid = || Error::Invalid(format!("Invalid job id specified: {text}"));
    let Some((array, task)) = text.split_once('_') else {
        return text.parse().map_err(|_| invalid());
    };
    let (array, task): (u64, u32) = (
        array.parse().map_err(|_| invalid())?,
        task.parse().map_err(|_| invalid())?,
    );
    let tasks = client.list(&ListQuery {
        ids: Some(array.to_string()),
        states: Some("all".into()),
        ..ListQuery::default()
    })?;
    tasks
        .into_iter()
        .find(|job| job.array_job_id == Some(JobId(array)) && job.array_task_id == Some(task))
        .map(|job| job.job_id)
        .ok_or_else(|| Error::Invalid(format!("Invalid job id specified: {text}")))
}
