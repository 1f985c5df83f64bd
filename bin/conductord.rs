//! `conductord`: the daemon, in the foreground.

use std::process::ExitCode;

use conductor::cli::{self, conductord::ConductordArgs};

fn main() -> ExitCode {
    let prog = cli::invoked_as("conductord");
    let args: ConductordArgs = cli::parse_or_exit(&prog);
    if let Some(jobs) = &args.launcher {
        let code = conductor::daemon::run_launcher(jobs);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let result = args.config().and_then(conductor::daemon::run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}
