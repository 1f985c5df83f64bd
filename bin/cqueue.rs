//! `cqueue`: show the queue (like squeue).

use std::process::ExitCode;

use conductor::cli::{self, cqueue::CqueueArgs};
use conductor::{Client, Error};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cqueue");
    let args: CqueueArgs = cli::parse_or_exit(&prog);
    let (_, invalid) = args.output_format();
    for letter in invalid {
        cli::print_error(
            &prog,
            &format!("Invalid job format specification: {letter}"),
        );
    }
    match run(&args) {
        Ok(text) => cli::print_stdout(&text),
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}

fn run(args: &CqueueArgs) -> Result<String, Error> {
    let client = Client::new(args.server.as_deref())?;
    let jobs = client.list(&args.query()?)?;
    args.render(&jobs)
}
