//! `ccancel`: cancel or signal jobs (like scancel).

use std::process::ExitCode;

use conductor::cli::{self, ccancel};

fn main() -> ExitCode {
    let prog = cli::invoked_as("ccancel");
    let args = cli::parse_or_exit(&prog);
    ccancel::run(&prog, args).print()
}
