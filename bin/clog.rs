//! `clog`: a job's output, whole or followed until the job ends.

use std::process::ExitCode;

use conductor::cli::{self, clog};

fn main() -> ExitCode {
    let prog = cli::invoked_as("clog");
    let args = cli::parse_or_exit(&prog);
    clog::run(&prog, args).print()
}
