//! `cdiag`: the scheduler's statistics (like sdiag).

use std::process::ExitCode;

use conductor::cli::{self, cdiag};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cdiag");
    let args = cli::parse_or_exit(&prog);
    cdiag::run(&prog, args).print()
}
