//! `cacct`: the job history, finished jobs included (like sacct).

use std::process::ExitCode;

use conductor::Error;
use conductor::cli::{self, cacct::CacctArgs};
use conductor::format::sacct::field_list;

fn main() -> ExitCode {
    let prog = cli::invoked_as("cacct");
    let args: CacctArgs = cli::parse_or_exit(&prog);
    if args.helpformat {
        return cli::print_stdout(&field_list());
    }
    match run(&args) {
        Ok(text) => cli::print_stdout(&text),
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}

fn run(args: &CacctArgs) -> Result<String, Error> {
    // Every option is checked before the daemon is asked anything.
    let report = args.report(chrono::Utc::now())?;
    let client = args.connection.client()?;
    let jobs = client.list(&report.query())?;
    report.render(&jobs)
}
