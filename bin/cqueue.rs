//! `cqueue`: show the queue (like squeue).

use std::process::ExitCode;

use conductor::cli::{self, cqueue};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cqueue");
    let args = cli::parse_or_exit(&prog);
    cqueue::run(&prog, args).print()
}
