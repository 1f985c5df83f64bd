//! `cbatch`: submit a batch script (like sbatch).

use std::process::ExitCode;

use anyhow::Context;
use conductor::Client;
use conductor::cli::{self, cbatch::CbatchArgs};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cbatch");
    let args: CbatchArgs = cli::parse_or_exit(&prog);
    match run(args) {
        Ok(line) => cli::print_stdout(&line),
        Err(error) => {
            cli::print_error(&prog, &format!("{error:#}"));
            ExitCode::FAILURE
        }
    }
}

fn run(args: CbatchArgs) -> anyhow::Result<String> {
    let client = Client::new(args.server.as_deref())?;
    let submission = args.into_submission(&mut std::io::stdin().lock())?;
    let id = client
        .submit(&submission.request)
        .context("Batch job submission failed")?;
    Ok(if submission.parsable {
        format!("{id}\n")
    } else {
        format!("Submitted batch job {id}\n")
    })
}
