//! `cprio`: the priority factors of pending jobs (like sprio).

use std::process::ExitCode;

use conductor::cli::{self, cprio::CprioArgs};
use conductor::{Client, Error};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cprio");
    let args: CprioArgs = cli::parse_or_exit(&prog);
    match run(&args) {
        Ok(text) => cli::print_stdout(&text),
        Err(Error::Usage(text)) => {
            eprintln!("{text}");
            ExitCode::FAILURE
        }
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}

fn run(args: &CprioArgs) -> Result<String, Error> {
    let client = Client::new(args.server.as_deref())?;
    args.render(&client.priorities()?)
}
