//! `ccancel`: cancel jobs by id (like scancel).

use std::process::ExitCode;

use conductor::Client;
use conductor::cli::{self, ccancel::CcancelArgs};

fn main() -> ExitCode {
    let prog = cli::invoked_as("ccancel");
    let args: CcancelArgs = cli::parse_or_exit(&prog);
    if args.ids.is_empty() {
        cli::print_error(&prog, &"No job identification provided");
        return ExitCode::FAILURE;
    }
    let client = match Client::new(args.server.as_deref()) {
        Ok(client) => client,
        Err(error) => {
            cli::print_error(&prog, &error);
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for id in args.parsed_ids() {
        let outcome = match id {
            Ok(id) => client
                .cancel(id)
                .map(|_| ())
                .map_err(|e| format!("Kill job error on job id {id}: {e}")),
            Err(text) => Err(format!("Invalid job id {text}")),
        };
        if let Err(message) = outcome {
            cli::print_error(&prog, &message);
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
