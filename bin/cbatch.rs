//! `cbatch`: submit a batch script (like sbatch).

use std::process::ExitCode;

use conductor::Client;
use conductor::cli::{self, cbatch, cbatch::CbatchArgs};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cbatch");
    let args: CbatchArgs = cli::parse_or_exit(&prog);
    match run(args) {
        Ok(code) => code,
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}

fn run(args: CbatchArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(args.server.as_deref())?;
    let submission = args.into_submission(&mut std::io::stdin().lock())?;
    let id = client
        .submit(&submission.request)
        .map_err(|e| anyhow::anyhow!("Batch job submission failed: {e}"))?;
    let line = if submission.parsable {
        format!("{id}\n")
    } else {
        format!("Submitted batch job {id}\n")
    };
    let printed = cli::print_stdout(&line);
    if !submission.wait {
        return Ok(printed);
    }
    let code = cbatch::wait_for_end(&client, id)?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
