//! `crun`: run a command as a job step, or as a new job (like srun).

use std::process::ExitCode;

use conductor::cli::{self, crun::CrunArgs};

fn main() -> ExitCode {
    let prog = cli::invoked_as("crun");
    let args: CrunArgs = cli::parse_or_exit(&prog);
    let result = match cli::crun::current_job() {
        Some(job) => args.run_step(&prog, job),
        None => args
            .connection
            .client()
            .and_then(|client| args.run_job(&client)),
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}
