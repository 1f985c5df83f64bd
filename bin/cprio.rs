//! `cprio`: the priority factors of pending jobs (like sprio).

use std::process::ExitCode;

use conductor::cli::{self, cprio};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cprio");
    let args = cli::parse_or_exit(&prog);
    cprio::run(&prog, args).print()
}
