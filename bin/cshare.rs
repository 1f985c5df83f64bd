//! `cshare`: users' shares, usage and fair-share factors (like sshare).

use std::process::ExitCode;

use conductor::cli::{self, cshare, cshare::CshareArgs};
use conductor::{Client, Error};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cshare");
    let args: CshareArgs = cli::parse_or_exit(&prog);
    match run(&args) {
        Ok(text) => cli::print_stdout(&text),
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}

fn run(args: &CshareArgs) -> Result<String, Error> {
    let client = Client::new(args.server.as_deref())?;
    args.render(&client.shares()?, &cshare::me())
}
