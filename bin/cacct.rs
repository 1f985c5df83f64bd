//! `cacct`: the job history, finished jobs included (like sacct).

use std::process::ExitCode;

use conductor::cli::{self, cacct};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cacct");
    let args = cli::parse_or_exit(&prog);
    cacct::run(&prog, args).print()
}
