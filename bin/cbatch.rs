//! `cbatch`: submit a batch script (like sbatch).

use std::process::ExitCode;

use conductor::cli::{self, cbatch, cbatch::CbatchArgs};
use conductor::format::job_text::timestamp;

fn main() -> ExitCode {
    let prog = cli::invoked_as("cbatch");
    // sbatch exits 255 on a command line its option parser refuses.
    let args: CbatchArgs = cli::parse_or_exit_with(&prog, 255);
    match run(&prog, args) {
        Ok(code) => code,
        Err(error) => {
            cli::print_failure(&prog, &error);
            ExitCode::from(cbatch::exit_code_of(&error))
        }
    }
}

fn run(prog: &str, args: CbatchArgs) -> anyhow::Result<ExitCode> {
    let client = args.connection.client()?;
    let submission = args.into_submission(&mut std::io::stdin().lock())?;
    if submission.test_only {
        let estimate = client
            .test_submit(&submission.request)
            .map_err(|e| anyhow::anyhow!("allocation failure: {e}"))?;
        eprintln!(
            "{prog}: Job {} to start at {} using {} processors on nodes {} in partition {}",
            estimate.job_id,
            timestamp(Some(estimate.start_time)),
            estimate.cpus,
            estimate.node,
            estimate.partition
        );
        return Ok(ExitCode::SUCCESS);
    }
    let id = client
        .submit(&submission.request)
        .map_err(|e| anyhow::anyhow!(cbatch::submission_failed(&e.to_string())))?;
    let printed = match (submission.quiet, submission.parsable) {
        (true, _) => ExitCode::SUCCESS,
        (false, true) => cli::print_stdout(&format!("{id}\n")),
        (false, false) => cli::print_stdout(&format!("Submitted batch job {id}\n")),
    };
    if !submission.wait {
        return Ok(printed);
    }
    let code = cbatch::wait_for_end(&client, id)?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
